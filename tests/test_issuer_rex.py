"""REX / T-REX fund pages over HTTP on 127.0.0.1: the real page text, the URL asked for per
fund, and every fault (each fails its own fund, never the others)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from werkzeug import Request, Response

from lev_flows.inputs.sources.http import HttpClient
from lev_flows.inputs.sources.issuer_aum.rex import RexProvider
from tests.servers import issuer_client, observation_rows

FIXTURES = Path(__file__).parent / "fixtures" / "issuers" / "rex"
PAGES = {t: (FIXTURES / f"{t.lower()}.html").read_text() for t in ("MSTU", "NVDX", "TSLT", "BMNU")}
DAY = dt.date(2026, 2, 3)
#: (ticker, date, aum_usd = NAV x shares, nav, shares_outstanding), by ticker
EXPECTED = {
    "BMNU": ("BMNU", DAY, 22865500.0, 9.73, 2350000.0),
    "MSTU": ("MSTU", DAY, 602514000.0, 6.12, 98450000.0),
    "NVDX": ("NVDX", DAY, 605088000.0, 15.84, 38200000.0),
    "TSLT": ("TSLT", DAY, 414576250.0, 27.41, 15125000.0),
}
HOME = """<!DOCTYPE html><html><head><title>REX Shares | Innovative ETFs</title></head>
<body><h1>REX Shares</h1><p>Explore our ETFs: T-REX 2X Long and Inverse, Growth &amp; Income.</p></body></html>"""
CHALLENGE = """<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title></head>
<body><div id="challenge-running">Checking your browser before accessing www.rexshares.com.</div></body></html>"""


def client(attempts: int = 1) -> HttpClient:
    return issuer_client(attempts)


def provider(server, attempts: int = 1) -> RexProvider:
    return RexProvider(client(attempts), server.url_for("/"))


def page(server, ticker: str, body: str, status: int = 200, content_type: str = "text/html; charset=UTF-8") -> None:
    server.expect_request(f"/{ticker.lower()}/").respond_with_data(body, status=status, content_type=content_type)


def test_good_pages_give_exact_observations(server):
    for ticker, body in PAGES.items():
        page(server, ticker, body)
    got = provider(server).fetch(["MSTU", "nvdx", "TSLT", "BMNU"])
    assert observation_rows(got.observations) == [EXPECTED[t] for t in ("BMNU", "MSTU", "NVDX", "TSLT")]
    assert got.failed == {}
    # one page per fund, lower case, with the trailing slash of the real site
    assert sorted(req.path for req, _ in server.log) == ["/bmnu/", "/mstu/", "/nvdx/", "/tslt/"]
    sources = dict(zip(got.observations["ticker"], got.observations["source"]))
    assert sources["MSTU"] == server.url_for("/mstu/")


def test_default_url_and_environment_override(monkeypatch):
    monkeypatch.delenv("LEV_FLOWS_REX_URL", raising=False)
    assert RexProvider(client()).requests(["MSTU", "BMNU"]) == [
        ("MSTU", "https://www.rexshares.com/mstu/"), ("BMNU", "https://www.rexshares.com/bmnu/")]
    monkeypatch.setenv("LEV_FLOWS_REX_URL", "http://127.0.0.1:9/")
    assert RexProvider(client()).url("TSLT") == "http://127.0.0.1:9/tslt/"


def test_the_nav_date_is_the_one_opening_the_fund_data(server):
    # the page's other "As of" dates (a blank 01/01/1970 distribution rate, the holdings'
    # 02/04/2026, the SEC yield's 12/31/2025) are not the close the figures are of
    page(server, "MSTU", PAGES["MSTU"])
    got = provider(server).fetch(["MSTU"])
    assert list(got.observations["date"]) == [DAY]


def test_http_500_then_success_is_retried(server):
    answers = iter([Response("upstream error", status=500), Response(PAGES["NVDX"], status=200, content_type="text/html")])

    def handler(request: Request) -> Response:
        return next(answers)

    server.expect_request("/nvdx/").respond_with_handler(handler)
    got = provider(server, attempts=2).fetch(["NVDX"])
    assert observation_rows(got.observations) == [EXPECTED["NVDX"]]
    assert got.failed == {}
    assert [req.path for req, _ in server.log] == ["/nvdx/", "/nvdx/"]


def test_404_for_one_fund_keeps_the_others(server):
    page(server, "MSTU", PAGES["MSTU"])
    page(server, "TSLT", "<html><body><h1>Page not found</h1></body></html>", status=404)
    got = provider(server).fetch(["MSTU", "TSLT"])
    assert observation_rows(got.observations) == [EXPECTED["MSTU"]]
    assert got.failed == {"TSLT": f"TSLT: not found (HTTP 404) ({server.url_for('/tslt/')})"}


def test_html_page_instead_of_the_fund_page(server):
    page(server, "MSTU", CHALLENGE)
    page(server, "NVDX", PAGES["NVDX"])
    got = provider(server).fetch(["MSTU", "NVDX"])
    assert observation_rows(got.observations) == [EXPECTED["NVDX"]]
    assert got.failed == {"MSTU": "MSTU: HTML page without fund data (no 'As of ... NAV'; the fund may not be listed) "
                                  f"({server.url_for('/mstu/')})"}


def test_empty_body(server):
    page(server, "BMNU", "")
    got = provider(server).fetch(["BMNU"])
    assert got.failed == {"BMNU": f"BMNU: empty body ({server.url_for('/bmnu/')})"}


def test_another_layout_is_refused(server):
    # a CSV where the page should be, and a page whose fund-data labels changed
    page(server, "TSLT", "Date,Account,StockTicker,CUSIP,SecurityName,Shares,Price,MarketValue\n", content_type="text/csv")
    page(server, "NVDX", PAGES["NVDX"].replace("NAV</div>", "Net Asset Value</div>"))
    got = provider(server).fetch(["TSLT", "NVDX"])
    assert got.observations.empty
    assert got.failed["TSLT"] == ("TSLT: not a REX fund page (not HTML: 'Date,Account,StockTicker,CUSIP,SecurityName,"
                                  f"Shares,Price,Mar') ({server.url_for('/tslt/')})")
    assert got.failed["NVDX"] == ("NVDX: the fund-data block has no 'As of <date> NAV <price>' (layout changed?) "
                                  f"({server.url_for('/nvdx/')})")


def test_fund_the_issuer_does_not_list(server):
    # the site answers an unknown fund with its home page
    page(server, "ZZZU", HOME)
    page(server, "BMNU", PAGES["BMNU"])
    got = provider(server).fetch(["ZZZU", "BMNU"])
    assert observation_rows(got.observations) == [EXPECTED["BMNU"]]
    assert got.failed["ZZZU"].startswith("ZZZU: HTML page without fund data")
    assert server.url_for("/zzzu/") in got.failed["ZZZU"]


def test_another_funds_page_is_refused(server):
    page(server, "SNDU", PAGES["BMNU"])
    got = provider(server).fetch(["SNDU"])
    assert got.failed == {"SNDU": f"SNDU: the page is for BMNU, not SNDU ({server.url_for('/sndu/')})"}


def test_fund_assets_in_thousands(server):
    page(server, "BMNU", PAGES["BMNU"].replace("$22,889,000.00", "$22,889.00"))
    page(server, "MSTU", PAGES["MSTU"])
    got = provider(server).fetch(["BMNU", "MSTU"])
    assert observation_rows(got.observations) == [EXPECTED["MSTU"]]
    assert got.failed == {"BMNU": "BMNU: Fund Assets $22,889.00 look given in thousands (shares x price = $22,889,000) "
                                  f"({server.url_for('/bmnu/')})"}


def test_fund_assets_that_are_not_shares_x_price(server):
    page(server, "TSLT", PAGES["TSLT"].replace("$414,273,750.00", "$380,000,000.00"))
    got = provider(server).fetch(["TSLT"])
    assert got.failed["TSLT"].startswith("TSLT: Fund Assets $380,000,000.00 disagree with shares x price ($414,273,750)")


def test_date_in_the_future(server):
    page(server, "NVDX", PAGES["NVDX"].replace("As of 02/03/2026", "As of 02/05/2026"))
    page(server, "TSLT", PAGES["TSLT"])
    got = provider(server).fetch(["NVDX", "TSLT"])
    assert observation_rows(got.observations) == [EXPECTED["TSLT"]]
    assert got.failed == {"NVDX": f"NVDX: date 2026-02-05 is in the future (today is 2026-02-04) ({server.url_for('/nvdx/')})"}


def test_day_first_date_names_the_fund_and_url(server):
    page(server, "MSTU", PAGES["MSTU"].replace("As of 02/03/2026", "As of 13/01/2026"))
    page(server, "BMNU", PAGES["BMNU"])
    got = provider(server).fetch(["MSTU", "BMNU"])
    assert observation_rows(got.observations) == [EXPECTED["BMNU"]]
    assert got.failed == {"MSTU": "MSTU: MSTU NAV date: '13/01/2026' is a day-first date (expected month/day/year) "
                                  f"({server.url_for('/mstu/')})"}


def test_many_faults_at_once_never_drop_the_good_funds(server):
    page(server, "MSTU", PAGES["MSTU"])
    page(server, "NVDX", "", status=200)
    page(server, "TSLT", PAGES["TSLT"])
    page(server, "BMNU", PAGES["BMNU"].replace("$22,889,000.00", "$22,889.00"))
    page(server, "MSTZ", CHALLENGE)
    got = provider(server).fetch(["MSTU", "NVDX", "TSLT", "BMNU", "MSTZ"])
    assert observation_rows(got.observations) == [EXPECTED["MSTU"], EXPECTED["TSLT"]]
    assert sorted(got.failed) == ["BMNU", "MSTZ", "NVDX"]
