"""Defiance fund pages over HTTP on 127.0.0.1: the Fund Details text, the URL asked for per fund,
and every fault (each fails its own fund, never the others)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from werkzeug import Request, Response

from lev_flows.inputs.sources.http import HttpClient
from lev_flows.inputs.sources.issuer_aum.defiance import DefianceProvider
from tests.servers import issuer_client, observation_rows

FIXTURES = Path(__file__).parent / "fixtures" / "issuers" / "defiance"
PAGES = {t: (FIXTURES / f"{t.lower()}.html").read_text() for t in ("RKLX", "IONX", "ORCX", "MSTX")}
DAY = dt.date(2026, 2, 3)
#: (ticker, date, aum_usd, nav, shares_outstanding), by ticker; IONX and MSTX are rounded on the
#: page ("$212.37M", "$1.28B")
EXPECTED = {
    "IONX": ("IONX", DAY, 212370000.0, 28.91, 7345000.0),
    "MSTX": ("MSTX", DAY, 1280000000.0, 40.27, 31850000.0),
    "ORCX": ("ORCX", DAY, 61287904.10, 19.46, 3150000.0),
    "RKLX": ("RKLX", DAY, 198412336.57, 47.78, 4152500.0),
}
HOME = """<!DOCTYPE html><html><head><title>Defiance ETFs</title></head>
<body><h1>Defiance ETFs</h1><p>Leveraged, income and thematic ETFs.</p></body></html>"""
CHALLENGE = """<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title></head>
<body><div id="challenge-running">Checking your browser before accessing www.defianceetfs.com.</div></body></html>"""


def client(attempts: int = 1) -> HttpClient:
    return issuer_client(attempts)


def provider(server, attempts: int = 1) -> DefianceProvider:
    return DefianceProvider(client(attempts), server.url_for("/"))


def page(server, ticker: str, body: str, status: int = 200, content_type: str = "text/html; charset=UTF-8") -> None:
    server.expect_request(f"/{ticker.lower()}/").respond_with_data(body, status=status, content_type=content_type)


def test_good_pages_give_exact_observations(server):
    for ticker, body in PAGES.items():
        page(server, ticker, body)
    got = provider(server).fetch(["RKLX", "ionx", "ORCX", "MSTX"])
    assert observation_rows(got.observations) == [EXPECTED[t] for t in ("IONX", "MSTX", "ORCX", "RKLX")]
    assert got.failed == {}
    assert sorted(req.path for req, _ in server.log) == ["/ionx/", "/mstx/", "/orcx/", "/rklx/"]
    sources = dict(zip(got.observations["ticker"], got.observations["source"]))
    assert sources["RKLX"] == server.url_for("/rklx/")


def test_default_url_and_environment_override(monkeypatch):
    monkeypatch.delenv("LEV_FLOWS_DEFIANCE_URL", raising=False)
    assert DefianceProvider(client()).requests(["RKLX", "OKLL"]) == [
        ("RKLX", "https://www.defianceetfs.com/rklx/"), ("OKLL", "https://www.defianceetfs.com/okll/")]
    monkeypatch.setenv("LEV_FLOWS_DEFIANCE_URL", "http://127.0.0.1:9/")
    assert DefianceProvider(client()).url("SMCX") == "http://127.0.0.1:9/smcx/"


def test_http_500_then_success_is_retried(server):
    answers = iter([Response("bad gateway", status=502), Response(PAGES["ORCX"], status=200, content_type="text/html")])

    def handler(request: Request) -> Response:
        return next(answers)

    server.expect_request("/orcx/").respond_with_handler(handler)
    got = provider(server, attempts=2).fetch(["ORCX"])
    assert observation_rows(got.observations) == [EXPECTED["ORCX"]]
    assert got.failed == {}
    assert [req.path for req, _ in server.log] == ["/orcx/", "/orcx/"]


def test_404_for_one_fund_keeps_the_others(server):
    page(server, "RKLX", PAGES["RKLX"])
    page(server, "IONX", "<html><body><h1>Page not found</h1></body></html>", status=404)
    got = provider(server).fetch(["RKLX", "IONX"])
    assert observation_rows(got.observations) == [EXPECTED["RKLX"]]
    assert got.failed == {"IONX": f"IONX: not found (HTTP 404) ({server.url_for('/ionx/')})"}


def test_html_page_instead_of_the_fund_page(server):
    page(server, "MSTX", CHALLENGE)
    page(server, "ORCX", PAGES["ORCX"])
    got = provider(server).fetch(["MSTX", "ORCX"])
    assert observation_rows(got.observations) == [EXPECTED["ORCX"]]
    assert got.failed == {"MSTX": "MSTX: HTML page without fund data (no 'Fund Details'; the fund may not be listed) "
                                  f"({server.url_for('/mstx/')})"}


def test_empty_body(server):
    page(server, "RKLX", "")
    got = provider(server).fetch(["RKLX"])
    assert got.failed == {"RKLX": f"RKLX: empty body ({server.url_for('/rklx/')})"}


def test_another_layout_is_refused(server):
    # JSON where the page should be, and a Fund Details section whose labels changed
    page(server, "ORCX", '{"ticker": "ORCX", "nav": 19.46}', content_type="application/json")
    page(server, "RKLX", PAGES["RKLX"].replace("<td>Shares Outstanding</td>", "<td>Units</td>"))
    page(server, "IONX", PAGES["IONX"].replace("<td>Net Assets</td>", "<td>Total Assets</td>"))
    got = provider(server).fetch(["ORCX", "RKLX", "IONX"])
    assert got.observations.empty
    assert got.failed["ORCX"] == ("ORCX: not a Defiance fund page (not HTML: '{\"ticker\": \"ORCX\", \"nav\": 19.46}') "
                                  f"({server.url_for('/orcx/')})")
    assert got.failed["RKLX"] == ("RKLX: the Fund Details section has no Shares Outstanding (layout changed?) "
                                  f"({server.url_for('/rklx/')})")
    assert got.failed["IONX"] == ("IONX: the Fund Details section has no 'Net Assets' figure (layout changed?) "
                                  f"({server.url_for('/ionx/')})")


def test_fund_the_issuer_does_not_list(server):
    # the site answers an unknown fund with its home page
    page(server, "ZZZX", HOME)
    page(server, "MSTX", PAGES["MSTX"])
    got = provider(server).fetch(["ZZZX", "MSTX"])
    assert observation_rows(got.observations) == [EXPECTED["MSTX"]]
    assert got.failed["ZZZX"].startswith("ZZZX: HTML page without fund data")
    assert server.url_for("/zzzx/") in got.failed["ZZZX"]


def test_another_funds_page_is_refused(server):
    page(server, "OKLL", PAGES["RKLX"])
    got = provider(server).fetch(["OKLL"])
    assert got.failed == {"OKLL": f"OKLL: the page does not name OKLL (another fund's page?) ({server.url_for('/okll/')})"}


def test_net_assets_in_thousands(server):
    page(server, "RKLX", PAGES["RKLX"].replace("$198,412,336.57", "$198,412.34"))
    page(server, "IONX", PAGES["IONX"])
    got = provider(server).fetch(["RKLX", "IONX"])
    assert observation_rows(got.observations) == [EXPECTED["IONX"]]
    assert got.failed == {"RKLX": "RKLX 2026-02-03: net assets look given in thousands NAV x shares "
                                  "(47.78 x 4,152,500 = 198,406,450 against 198,412) "
                                  f"({server.url_for('/rklx/')})"}


def test_date_in_the_future(server):
    page(server, "IONX", PAGES["IONX"].replace("Data as of 02/03/2026", "Data as of 02/05/2026"))
    page(server, "ORCX", PAGES["ORCX"])
    got = provider(server).fetch(["IONX", "ORCX"])
    assert observation_rows(got.observations) == [EXPECTED["ORCX"]]
    assert got.failed == {"IONX": f"IONX: date 2026-02-05 is in the future (today is 2026-02-04) ({server.url_for('/ionx/')})"}


def test_day_first_date_names_the_fund_and_url(server):
    page(server, "MSTX", PAGES["MSTX"].replace("Data as of 02/03/2026", "Data as of 13/01/2026"))
    page(server, "RKLX", PAGES["RKLX"])
    got = provider(server).fetch(["MSTX", "RKLX"])
    assert observation_rows(got.observations) == [EXPECTED["RKLX"]]
    assert got.failed == {"MSTX": "MSTX: MSTX Data as of: '13/01/2026' is a day-first date (expected month/day/year) "
                                  f"({server.url_for('/mstx/')})"}


def test_the_holdings_date_below_is_not_the_funds_date(server):
    # "Top Holdings ... Data as of 02/04/2026" (next business day) is outside Fund Details
    page(server, "RKLX", PAGES["RKLX"])
    got = provider(server).fetch(["RKLX"])
    assert list(got.observations["date"]) == [DAY]


def test_many_faults_at_once_never_drop_the_good_funds(server):
    page(server, "RKLX", PAGES["RKLX"])
    page(server, "IONX", "", status=200)
    page(server, "ORCX", PAGES["ORCX"].replace("$61,287,904.10", "$61,287.90"))
    page(server, "MSTX", PAGES["MSTX"])
    page(server, "AVGX", CHALLENGE)
    got = provider(server).fetch(["RKLX", "IONX", "ORCX", "MSTX", "AVGX"])
    assert observation_rows(got.observations) == [EXPECTED["MSTX"], EXPECTED["RKLX"]]
    assert sorted(got.failed) == ["AVGX", "IONX", "ORCX"]
