"""Direxion's daily holdings files over HTTP on 127.0.0.1: one request per fund, net assets as
the sum of market values, shares from the preamble, and every fault (retry, 404, HTML, empty,
another layout, a fund not listed, market values in thousands, a future date, a day-first
date), each failing its fund alone."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from werkzeug import Response

from lev_flows.inputs.sources.http import BadResponse, HttpClient
from lev_flows.inputs.sources.issuer_aum.direxion import (
    PROVIDER,
    DirexionAum,
    parse_holdings,
)
from tests.servers import issuer_client

FIXTURES = Path(__file__).parent / "fixtures" / "issuers" / "direxion"
SPXL = (FIXTURES / "SPXL.csv").read_text()
SOXS = (FIXTURES / "SOXS.csv").read_text()
TNA = (FIXTURES / "TNA.csv").read_text()
SPXL_THOUSANDS = (FIXTURES / "SPXL_thousands.csv").read_text()
#: ProShares' holdings layout: another issuer's file at a Direxion URL
OTHER_LAYOUT = ("PORTFOLIO HOLDINGS INFORMATION\nAS OF 02/03/2026\n\n"
                "Fund Ticker,Fund Name,Security Ticker,Sedol,Description,Coupon,Maturity,Shares,Exposure Value,Market Value\n")

#: hand-summed from the fixtures (USD): every MarketValue, cash and swaps included
SPXL_AUM = 266903200.00 + 231752800.00 + 177815400.00 + 164647800.00 + 48210554.36 - 12874301.18 + 3905000000.00 + 729911377.04
SOXS_AUM = -3512840.11 - 2961277.45 + 350000000.00 + 111286302.56
TNA_AUM = 7835450.00 + 20448731.92 + 1410000000.00 + 407771622.13


def client() -> HttpClient:
    return issuer_client(attempts=3)


def path(ticker: str) -> str:
    return f"/holdings/{ticker}.csv"


def serve(server, ticker: str, text: str, status: int = 200, content_type: str = "text/csv") -> None:
    server.expect_request(path(ticker)).respond_with_data(text, status=status, content_type=content_type)


def fetch(server, tickers):
    return DirexionAum(client(), server.url_for("/")).fetch(tickers)


def observed(result):
    frame = result.observations.sort_values("ticker")
    return [(r.ticker, r.date, r.aum_usd, r.nav, r.shares_outstanding) for r in frame.itertuples()]


def edited(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new)


def test_hand_summed_net_assets():
    assert SPXL_AUM == pytest.approx(5511366830.22, abs=1e-3)
    assert SOXS_AUM == pytest.approx(454812185.00, abs=1e-3)
    assert TNA_AUM == pytest.approx(1846055804.05, abs=1e-3)


def test_good_files_give_one_observation_per_fund(server):
    serve(server, "SPXL", SPXL)
    serve(server, "SOXS", SOXS)
    result = fetch(server, ["spxl", "SOXS"])
    assert result.failed == {}
    got = observed(result)
    assert [(t, d, s) for t, d, _, _, s in got] == [
        ("SOXS", dt.date(2026, 2, 3), 98450000.0), ("SPXL", dt.date(2026, 2, 3), 26150000.0)]
    (_, _, soxs_aum, soxs_nav, _), (_, _, spxl_aum, spxl_nav, _) = got
    assert spxl_aum == pytest.approx(5511366830.22, abs=1e-3) and spxl_nav == pytest.approx(210.759726, abs=1e-6)
    assert soxs_aum == pytest.approx(454812185.00, abs=1e-3) and soxs_nav == pytest.approx(4.619728, abs=1e-6)
    assert set(result.observations["source"]) == {server.url_for(path("SOXS")), server.url_for(path("SPXL"))}
    assert set(result.observations["source_kind"]) == {"issuer_nav"}


def test_one_request_per_fund_at_the_real_path(server):
    serve(server, "SPXL", SPXL)
    serve(server, "SOXS", SOXS)
    fetch(server, ["SPXL", "SOXS"])
    assert sorted(req.path for req, _ in server.log) == ["/holdings/SOXS.csv", "/holdings/SPXL.csv"]
    provider = DirexionAum(client(), "https://www.direxion.com")
    assert provider.requests(["SPXL", "TNA"]) == [("SPXL", "https://www.direxion.com/holdings/SPXL.csv"),
                                                 ("TNA", "https://www.direxion.com/holdings/TNA.csv")]
    assert (PROVIDER.issuer, PROVIDER.url_env, PROVIDER.default_url) == (
        "Direxion", "LEV_FLOWS_DIREXION_URL", "https://www.direxion.com")


def test_shares_line_with_a_space_and_separators():
    body = edited(TNA, "Shares Outstanding:21900000", '"Shares Outstanding: 21,900,000"').encode()
    obs = parse_holdings("TNA", body)
    assert (obs.ticker, obs.date, obs.shares_outstanding) == ("TNA", dt.date(2026, 2, 3), 21900000.0)
    assert obs.aum_usd == pytest.approx(1846055804.05, abs=1e-3)


def test_http_500_then_success_is_retried(server):
    answers = iter([Response("busy", status=500), Response(TNA, content_type="text/csv")])
    server.expect_request(path("TNA")).respond_with_handler(lambda request: next(answers))
    result = fetch(server, ["TNA"])
    assert result.failed == {}
    assert observed(result)[0][:2] == ("TNA", dt.date(2026, 2, 3))
    assert observed(result)[0][2] == pytest.approx(1846055804.05, abs=1e-3)
    assert [req.path for req, _ in server.log] == [path("TNA"), path("TNA")]


def test_each_fault_fails_its_fund_and_keeps_the_others(server):
    serve(server, "SPXL", SPXL)
    serve(server, "FAS", "Not Found", status=404, content_type="text/plain")
    serve(server, "LABU", "<!DOCTYPE html><html><body>Request blocked</body></html>", content_type="text/html")
    serve(server, "TZA", "")
    serve(server, "YINN", OTHER_LAYOUT)
    serve(server, "ZZZZ", SOXS)  # the site answers another fund's file for a ticker it does not list
    result = fetch(server, ["SPXL", "FAS", "LABU", "TZA", "YINN", "ZZZZ"])
    url = server.url_for
    assert result.failed == {
        "FAS": f"FAS: not found (HTTP 404) ({url(path('FAS'))})",
        "LABU": "LABU: HTML page instead of Direxion holdings CSV (the fund may not exist, or the site blocked us) "
                f"({url(path('LABU'))})",
        "TZA": f"TZA: empty body ({url(path('TZA'))})",
        "YINN": f"YINN: no 'TradeDate,AccountTicker,StockTicker,...' header: not a Direxion holdings file ({url(path('YINN'))})",
        "ZZZZ": f"ZZZZ: the file is for SOXS: ZZZZ is not listed by Direxion ({url(path('ZZZZ'))})",
    }
    assert [t for t, *_ in observed(result)] == ["SPXL"]


def test_market_values_in_thousands_fail_that_fund(server):
    serve(server, "SPXL", SPXL_THOUSANDS)
    serve(server, "SOXS", SOXS)
    result = fetch(server, ["SPXL", "SOXS"])
    assert result.failed == {"SPXL": "SPXL: market values look given in thousands (Shares x Price is 1,000 x MarketValue "
                                     f"on 4 stock lines) ({server.url_for(path('SPXL'))})"}
    assert [t for t, *_ in observed(result)] == ["SOXS"]


def test_a_future_trade_date_fails_that_fund(server):
    serve(server, "SPXL", SPXL)
    serve(server, "SOXS", SOXS.replace("02/03/2026,SOXS", "02/05/2026,SOXS"))
    result = fetch(server, ["SPXL", "SOXS"])
    assert result.failed == {
        "SOXS": f"SOXS: date 2026-02-05 is in the future (today is 2026-02-04) ({server.url_for(path('SOXS'))})"}
    assert [t for t, *_ in observed(result)] == ["SPXL"]


def test_a_day_first_trade_date_fails_naming_the_fund_and_url(server):
    serve(server, "SPXL", SPXL)
    serve(server, "SOXS", SOXS.replace("02/03/2026,SOXS", "13/01/2026,SOXS"))
    result = fetch(server, ["SPXL", "SOXS"])
    assert result.failed == {"SOXS": "SOXS: TradeDate: '13/01/2026' is a day-first date (expected month/day/year) "
                                     f"({server.url_for(path('SOXS'))})"}
    assert [t for t, *_ in observed(result)] == ["SPXL"]


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        ("Shares Outstanding:98450000\n", "\n", "no 'Shares Outstanding:' line in the preamble"),
        ("Shares Outstanding:98450000", "Shares Outstanding:0", "shares outstanding '0' is not a positive number"),
        (",MarketValue,", ",Value,", "Direxion holdings header lacks MarketValue"),
        ("02/03/2026,SOXS,Cash", "02/02/2026,SOXS,Cash", "the rows carry 2 trade dates (2026-02-02, 2026-02-03)"),
    ],
)
def test_a_file_missing_what_we_read_is_refused(old, new, reason):
    with pytest.raises(BadResponse) as exc:
        parse_holdings("SOXS", edited(SOXS, old, new).encode())
    assert str(exc.value) == reason


def test_the_holdings_reader_and_the_aum_reader_are_one():
    """The exact re-leveraging's holdings reader and the AUM provider read a Direxion file with
    the same function: the same net assets, date and shares; the same refusals."""
    from lev_flows.inputs.sources.issuers import parse_direxion

    for ticker, text in (("SPXL", SPXL), ("SOXS", SOXS), ("TNA", TNA)):
        obs, held = parse_holdings(ticker, text.encode()), parse_direxion(ticker, 200, text.encode())
        assert (held.as_of, held.nav_usd, held.shares_outstanding) == (obs.date, obs.aum_usd, obs.shares_outstanding)
    day_first = SPXL.replace("02/03/2026", "13/02/2026")
    for read in (lambda b: parse_holdings("SPXL", b), lambda b: parse_direxion("SPXL", 200, b)):
        with pytest.raises(BadResponse, match="day-first"):
            read(day_first.encode())
