"""MicroSectors ETNs over HTTP on 127.0.0.1: the Daily Market Data block of each note's BMO page
(hand-written pages in the real text layout, see the provider's docstring): notes outstanding x
closing indicative value, and the faults a real site answers with. The clock is pinned at
2026-02-04 17:00 New York (conftest)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from werkzeug import Request, Response

from lev_flows.inputs.sources.http import HttpClient
from lev_flows.inputs.sources.issuer_aum.microsectors import (
    PROVIDER,
    MicroSectorsProvider,
    as_of_date,
)
from tests.servers import issuer_client

FIXTURES = Path(__file__).parent / "fixtures" / "issuers" / "microsectors"
DAY = dt.date(2026, 2, 3)
#: ticker -> (market capitalization USD, closing indicative note value, ETNs outstanding)
EXPECTED = {
    "BULZ": (1_114_571_875.0, 178.3315, 6_250_000.0),
    "FNGD": (129_893_400.0, 4.1236, 31_500_000.0),
    "FNGU": (1_682_166_080.0, 21.4562, 78_400_000.0),
    "GDXU": (1_400_135_800.0, 142.8710, 9_800_000.0),
}


def page(name: str) -> str:
    return (FIXTURES / name).read_text()


def make_client(attempts: int = 1) -> HttpClient:
    return issuer_client(attempts)


def path(ticker: str) -> str:
    return f"/ETN/{ticker}.P/"


def serve(server, ticker: str, text: str, status: int = 200, content_type: str = "text/html") -> None:
    server.expect_request(path(ticker)).respond_with_data(text, status=status, content_type=content_type)


def serve_all(server, tickers=("FNGU", "BULZ", "GDXU", "FNGD")) -> None:
    for t in tickers:
        serve(server, t, page(f"{t}.html"))


def fetch(server, tickers, attempts: int = 1):
    return MicroSectorsProvider(make_client(attempts), server.url_for("/")).fetch(tickers)


def rows(result) -> dict[str, tuple]:
    frame = result.observations
    return {r.ticker: (r.date, r.aum_usd, r.nav, r.shares_outstanding) for r in frame.itertuples()}


# ---- a good page ------------------------------------------------------------------------------


def test_note_pages_give_notes_outstanding_times_indicative_value(server):
    serve_all(server)
    result = fetch(server, ["fngu", "BULZ", "GDXU", "FNGD"])
    assert result.failed == {}
    assert result.asked == ["BULZ", "FNGD", "FNGU", "GDXU"]
    assert rows(result) == {t: (DAY, *v) for t, v in EXPECTED.items()}
    frame = result.observations.set_index("ticker")
    assert frame.loc["FNGU", "source"] == server.url_for("/ETN/FNGU.P/")
    assert frame.loc["FNGU", "source_kind"] == "issuer_nav"


def test_one_request_per_note_at_its_bmo_page(server):
    serve_all(server, ["FNGU", "GDXU"])
    fetch(server, ["GDXU", "FNGU"])
    assert sorted(req.path for req, _ in server.log) == ["/ETN/FNGU.P/", "/ETN/GDXU.P/"]
    assert PROVIDER is MicroSectorsProvider and PROVIDER.issuer == "MicroSectors"
    assert PROVIDER.default_url == "https://www.bmoetns.com"


def test_base_url_from_the_environment(monkeypatch):
    monkeypatch.setenv("LEV_FLOWS_MICROSECTORS_URL", "http://127.0.0.1:9/bmo/")
    provider = MicroSectorsProvider(make_client())
    assert provider.requests(["SHNY"]) == [("SHNY", "http://127.0.0.1:9/bmo/ETN/SHNY.P/")]


def test_a_page_without_market_capitalization_uses_notes_times_value(server):
    text = page("GDXU.html").replace("<tr><td>Market Capitalization</td><td>$1,400,135,800</td></tr>", "")
    serve(server, "GDXU", text)
    result = fetch(server, ["GDXU"])
    assert rows(result) == {"GDXU": (DAY, 1_400_135_800.0, 142.871, 9_800_000.0)}


def test_as_of_dates_with_month_names():
    assert as_of_date("Feb 3, 2026", "X") == DAY
    assert as_of_date("February 3, 2026", "X") == DAY
    assert as_of_date("Nov 1,2024", "X") == dt.date(2024, 11, 1)
    assert as_of_date("02/03/2026", "X") == DAY


# ---- faults -----------------------------------------------------------------------------------


def test_http_500_then_success_is_retried(server):
    calls = []

    def flaky(request: Request) -> Response:
        calls.append(request.path)
        if len(calls) == 1:
            return Response("Service Unavailable", status=503)
        return Response(page("FNGU.html"), content_type="text/html")

    server.expect_request(path("FNGU")).respond_with_handler(flaky)
    result = fetch(server, ["FNGU"], attempts=2)
    assert calls == [path("FNGU"), path("FNGU")]
    assert result.failed == {}
    assert rows(result) == {"FNGU": (DAY, *EXPECTED["FNGU"])}


def test_404_for_one_note_keeps_the_others(server):
    serve_all(server, ["FNGU", "BULZ"])
    serve(server, "OILU", "<html><body>404 - File or directory not found.</body></html>", status=404)
    result = fetch(server, ["FNGU", "BULZ", "OILU"])
    assert rows(result) == {t: (DAY, *EXPECTED[t]) for t in ("BULZ", "FNGU")}
    assert result.failed == {"OILU": f"OILU: not found (HTTP 404) ({server.url_for(path('OILU'))})"}


def test_html_error_page_instead_of_the_note_page(server):
    serve_all(server, ["FNGU"])
    serve(server, "FNGD", "<html><head><title>Maintenance</title></head><body><p>We'll be back soon.</p></body></html>")
    result = fetch(server, ["FNGU", "FNGD"])
    assert list(rows(result)) == ["FNGU"]
    assert result.failed["FNGD"] == (
        "FNGD: HTML page without ETN market data (no 'Daily Market Data'; the note may not be listed) "
        f"({server.url_for(path('FNGD'))})"
    )


def test_empty_body(server):
    serve_all(server, ["BULZ"])
    serve(server, "GDXU", "")
    result = fetch(server, ["GDXU", "BULZ"])
    assert list(rows(result)) == ["BULZ"]
    assert result.failed == {"GDXU": f"GDXU: empty body ({server.url_for(path('GDXU'))})"}


def test_a_file_in_another_layout(server):
    serve_all(server, ["BULZ"])
    serve(server, "FNGU", page("FNGU_components.csv"), content_type="text/csv")  # an index-components file
    result = fetch(server, ["FNGU", "BULZ"])
    assert list(rows(result)) == ["BULZ"]
    assert result.failed["FNGU"] == (
        f"FNGU: not a BMO ETN fund page (not HTML: 'Ticker,Name,Weight,Shares,Price') ({server.url_for(path('FNGU'))})"
    )


def test_a_page_whose_block_lost_its_notes_outstanding(server):
    serve_all(server, ["FNGU"])
    serve(server, "BULZ", page("BULZ.html").replace("ETNs Outstanding", "Units"))
    result = fetch(server, ["FNGU", "BULZ"])
    assert list(rows(result)) == ["FNGU"]
    assert result.failed["BULZ"] == (
        f"BULZ: no ETNs Outstanding line in Daily Market Data (layout changed?) ({server.url_for(path('BULZ'))})")


def test_a_page_for_another_note(server):
    serve(server, "FNGO", page("FNGU.html"))  # a retired note's address sent to its successor's page
    result = fetch(server, ["FNGO"])
    assert result.failed == {"FNGO": f"FNGO: the page is for FNGU, not FNGO ({server.url_for(path('FNGO'))})"}


def test_a_note_the_issuer_does_not_list(server):
    """BMO's site sends an unknown note's address to its home page (the product list)."""
    serve_all(server, ["GDXU"])
    server.expect_request(path("ZZZZ")).respond_with_data("", status=302, headers={"Location": "/"})
    server.expect_request("/").respond_with_data(page("home.html"), content_type="text/html")
    result = fetch(server, ["GDXU", "ZZZZ"])
    assert list(rows(result)) == ["GDXU"]
    assert result.failed == {"ZZZZ": (
        "ZZZZ: HTML page without ETN market data (no 'Daily Market Data'; the note may not be listed) "
        f"({server.url_for(path('ZZZZ'))})"
    )}


def test_market_capitalization_in_thousands_is_refused(server):
    serve_all(server, ["BULZ"])
    serve(server, "FNGU", page("FNGU.html").replace("$1,682,166,080", "$1,682,166"))
    result = fetch(server, ["FNGU", "BULZ"])
    assert list(rows(result)) == ["BULZ"]
    assert result.failed["FNGU"] == (
        "FNGU 2026-02-03: net assets look given in thousands NAV x shares (21.4562 x 78,400,000 = 1,682,166,080 "
        f"against 1,682,166) ({server.url_for(path('FNGU'))})"
    )


def test_a_date_in_the_future_is_refused(server):
    serve_all(server, ["FNGU"])
    serve(server, "FNGD", page("FNGD.html").replace("(as of Feb 3, 2026)", "(as of Feb 5, 2026)"))
    result = fetch(server, ["FNGD", "FNGU"])
    assert list(rows(result)) == ["FNGU"]
    assert result.failed["FNGD"] == (
        f"FNGD: date 2026-02-05 is in the future (today is 2026-02-04) ({server.url_for(path('FNGD'))})")


def test_a_day_first_date_names_the_note_and_the_url(server):
    serve_all(server, ["BULZ"])
    serve(server, "GDXU", page("GDXU.html").replace("(as of Feb 3, 2026)", "(as of 13/01/2026)"))
    result = fetch(server, ["GDXU", "BULZ"])
    assert list(rows(result)) == ["BULZ"]
    assert result.failed["GDXU"] == (
        "GDXU: GDXU market data date: '13/01/2026' is a day-first date (expected month/day/year) "
        f"({server.url_for(path('GDXU'))})"
    )
