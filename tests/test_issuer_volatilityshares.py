"""Volatility Shares fund pages over HTTP on 127.0.0.1: the Fund Data & Pricing block of each
fund's page (hand-written pages in the real text layout, see the provider's docstring), and the
faults a real site answers with. The clock is pinned at 2026-02-04 17:00 New York (conftest)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from werkzeug import Request, Response

from lev_flows.inputs.sources.http import HttpClient
from lev_flows.inputs.sources.issuer_aum.volatilityshares import (
    PROVIDER,
    VolatilitySharesProvider,
)
from tests.servers import issuer_client

FIXTURES = Path(__file__).parent / "fixtures" / "issuers" / "volatilityshares"
DAY = dt.date(2026, 2, 3)
#: (ticker, net assets USD, NAV, shares) as the fixture pages give them
EXPECTED = {
    "BITX": (2_035_112_842.16, 28.14, 72_310_000.0),
    "ETHU": (1_499_563_210.40, 61.25, 24_480_000.0),
    "SVIX": (226_690_000.0, 19.85, 11_420_000.0),  # "$226.69m": net assets in millions
    "UVIX": (441_380_127.55, 11.42, 38_650_000.0),
}


def page(name: str) -> str:
    return (FIXTURES / name).read_text()


def make_client(attempts: int = 1) -> HttpClient:
    return issuer_client(attempts)


def serve(server, ticker: str, text: str, status: int = 200, content_type: str = "text/html") -> None:
    server.expect_request(f"/{ticker.lower()}").respond_with_data(text, status=status, content_type=content_type)


def serve_all(server, tickers=("UVIX", "SVIX", "BITX", "ETHU")) -> None:
    for t in tickers:
        serve(server, t, page(f"{t.lower()}.html"))


def fetch(server, tickers, attempts: int = 1):
    return VolatilitySharesProvider(make_client(attempts), server.url_for("/")).fetch(tickers)


def rows(result) -> dict[str, tuple]:
    frame = result.observations
    return {r.ticker: (r.date, r.aum_usd, r.nav, r.shares_outstanding) for r in frame.itertuples()}


# ---- a good page ------------------------------------------------------------------------------


def test_fund_pages_give_net_assets_nav_and_shares(server):
    serve_all(server)
    result = fetch(server, ["uvix", "SVIX", "BITX", "ETHU"])
    assert result.failed == {}
    assert result.asked == ["BITX", "ETHU", "SVIX", "UVIX"]
    assert rows(result) == {t: (DAY, *v) for t, v in EXPECTED.items()}
    frame = result.observations
    assert set(frame["source_kind"]) == {"issuer_nav"} and set(frame["timing"]) == {"close"}
    assert frame.set_index("ticker").loc["UVIX", "source"] == server.url_for("/uvix")


def test_one_request_per_fund_at_the_lower_case_page(server):
    serve_all(server, ["UVIX", "BITX"])
    fetch(server, ["BITX", "UVIX"])
    assert sorted(req.path for req, _ in server.log) == ["/bitx", "/uvix"]
    assert PROVIDER is VolatilitySharesProvider and PROVIDER.issuer == "Volatility Shares"
    assert PROVIDER.default_url == "https://www.volatilityshares.com"


def test_base_url_from_the_environment(monkeypatch):
    monkeypatch.setenv("LEV_FLOWS_VOLATILITYSHARES_URL", "http://127.0.0.1:9/vs/")
    provider = VolatilitySharesProvider(make_client())
    assert provider.requests(["SOLT"]) == [("SOLT", "http://127.0.0.1:9/vs/solt")]


# ---- faults -----------------------------------------------------------------------------------


def test_http_500_then_success_is_retried(server):
    calls = []

    def flaky(request: Request) -> Response:
        calls.append(request.path)
        if len(calls) == 1:
            return Response("upstream error", status=500)
        return Response(page("bitx.html"), content_type="text/html")

    server.expect_request("/bitx").respond_with_handler(flaky)
    result = fetch(server, ["BITX"], attempts=2)
    assert calls == ["/bitx", "/bitx"]
    assert result.failed == {}
    assert rows(result) == {"BITX": (DAY, *EXPECTED["BITX"])}


def test_404_for_one_fund_keeps_the_others(server):
    serve_all(server, ["UVIX", "SVIX"])
    serve(server, "XRPT", "<html><body>Not Found</body></html>", status=404)
    result = fetch(server, ["UVIX", "SVIX", "XRPT"])
    assert rows(result) == {t: (DAY, *EXPECTED[t]) for t in ("SVIX", "UVIX")}
    assert result.failed == {"XRPT": f"XRPT: not found (HTTP 404) ({server.url_for('/xrpt')})"}


def test_html_error_page_instead_of_the_fund_page(server):
    serve_all(server, ["UVIX"])
    serve(server, "SVIX", "<html><head><title>Just a moment...</title></head><body><p>Checking your browser</p></body></html>")
    result = fetch(server, ["UVIX", "SVIX"])
    assert list(rows(result)) == ["UVIX"]
    assert result.failed["SVIX"] == (
        "SVIX: HTML page without fund data (no 'Net Assets as of'; the fund may not be listed) "
        f"({server.url_for('/svix')})"
    )


def test_empty_body(server):
    serve_all(server, ["ETHU"])
    serve(server, "BITX", "")
    result = fetch(server, ["BITX", "ETHU"])
    assert list(rows(result)) == ["ETHU"]
    assert result.failed == {"BITX": f"BITX: empty body ({server.url_for('/bitx')})"}


def test_a_file_in_another_layout(server):
    serve_all(server, ["BITX"])
    serve(server, "UVIX", page("uvix_holdings.csv"), content_type="text/csv")  # the holdings download
    result = fetch(server, ["UVIX", "BITX"])
    assert list(rows(result)) == ["BITX"]
    assert result.failed["UVIX"] == (
        "UVIX: not a Volatility Shares fund page (not HTML: 'Date,Account,StockTicker,CUSIP,SecurityName,Shares,"
        f"Price,Mar') ({server.url_for('/uvix')})"
    )


def test_a_page_whose_block_lost_its_net_assets_line(server):
    serve_all(server, ["UVIX"])
    serve(server, "ETHU", page("ethu.html").replace("Net Assets as of 02/03/2026", "Total Assets"))
    result = fetch(server, ["UVIX", "ETHU"])
    assert list(rows(result)) == ["UVIX"]
    assert result.failed["ETHU"].startswith(
        "ETHU: the Fund Data & Pricing block has no 'Net Assets as of' line (layout changed?) (")


def test_a_page_for_another_fund(server):
    serve(server, "SOLT", page("ethu.html"))  # a retired page sent to another fund's
    result = fetch(server, ["SOLT"])
    assert result.failed == {"SOLT": f"SOLT: the page is for ETHU, not SOLT ({server.url_for('/solt')})"}


def test_a_fund_the_issuer_does_not_list(server):
    """The site sends an unknown fund's address to its home page."""
    serve_all(server, ["UVIX"])
    server.expect_request("/zzzz").respond_with_data("", status=302, headers={"Location": "/"})
    serve(server, "", page("home.html"))
    result = fetch(server, ["UVIX", "ZZZZ"])
    assert list(rows(result)) == ["UVIX"]
    assert result.failed == {"ZZZZ": (
        "ZZZZ: HTML page without fund data (no 'Net Assets as of'; the fund may not be listed) "
        f"({server.url_for('/zzzz')})"
    )}


def test_net_assets_in_thousands_are_refused(server):
    serve_all(server, ["UVIX"])
    serve(server, "BITX", page("bitx.html").replace("$2,035,112,842.16", "$2,035,112.84"))
    result = fetch(server, ["BITX", "UVIX"])
    assert list(rows(result)) == ["UVIX"]
    assert result.failed["BITX"] == (
        "BITX 2026-02-03: net assets look given in thousands NAV x shares (28.14 x 72,310,000 = 2,034,803,400 "
        f"against 2,035,113) ({server.url_for('/bitx')})"
    )


def test_a_date_in_the_future_is_refused(server):
    serve_all(server, ["ETHU"])
    serve(server, "SVIX", page("svix.html").replace("as of 02/03/2026", "as of 02/05/2026"))
    result = fetch(server, ["SVIX", "ETHU"])
    assert list(rows(result)) == ["ETHU"]
    assert result.failed["SVIX"] == (
        f"SVIX: date 2026-02-05 is in the future (today is 2026-02-04) ({server.url_for('/svix')})")


def test_a_day_first_date_names_the_fund_and_the_url(server):
    serve_all(server, ["BITX"])
    serve(server, "UVIX", page("uvix.html").replace("as of 02/03/2026", "as of 13/01/2026"))
    result = fetch(server, ["UVIX", "BITX"])
    assert list(rows(result)) == ["BITX"]
    assert result.failed["UVIX"] == (
        "UVIX: UVIX net assets date: '13/01/2026' is a day-first date (expected month/day/year) "
        f"({server.url_for('/uvix')})"
    )


@pytest.mark.parametrize("figure, expected", [("$130.07m", 130_070_000.0), ("$2.04b", 2_040_000_000.0),
                                              ("$906,512.50k", 906_512_500.0)])
def test_net_assets_with_a_unit_suffix(server, figure, expected):
    nav, shares = {"m": ("$34.78", "3,740,000"), "b": ("$28.14", "72,310,000"), "k": ("$61.25", "14,800,000")}[figure[-1]]
    text = (page("svix.html").replace("$226.69m", figure).replace("$19.85", nav)
            .replace("11,420,000", shares))
    serve(server, "SVIX", text)
    result = fetch(server, ["SVIX"])
    assert result.failed == {}
    assert rows(result)["SVIX"][1] == expected
