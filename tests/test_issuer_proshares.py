"""ProShares' all-funds historical-NAV file over HTTP on 127.0.0.1: one request for every fund,
net assets kept on every row, NAV and shares only where they agree with them, and every fault
(retry, 404, HTML, empty, another layout, a fund not listed, thousands, a future date, a
day-first date). The fixture holds real rows of late January / early February 2026."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import pytest
from werkzeug import Response

from lev_flows.inputs.sources.http import HttpClient
from lev_flows.inputs.sources.issuer_aum.base import Observation
from lev_flows.inputs.sources.issuer_aum.proshares import PROVIDER, ProSharesAum
from tests.servers import issuer_client, observation_rows

FIXTURES = Path(__file__).parent / "fixtures" / "issuers" / "proshares"
GOOD = (FIXTURES / "historical_nav.csv").read_text()
PATH = "/etfdata/historical_nav.csv"
#: the daily holdings file: another ProShares layout
HOLDINGS_FILE = ("PORTFOLIO HOLDINGS INFORMATION\nAS OF 02/03/2026\n\nFund Ticker,Fund Name,Security Ticker\n"
                 "TQQQ,ProShares UltraPro QQQ,AAPL\n")


def client() -> HttpClient:
    return issuer_client(attempts=3)


def serve(server, text: str | bytes, status: int = 200, content_type: str = "text/csv") -> None:
    server.expect_request(PATH).respond_with_data(text, status=status, content_type=content_type)


def fetch(server, tickers):
    return ProSharesAum(client(), server.url_for("/")).fetch(tickers)


def edited(old: str, new: str) -> str:
    assert GOOD.count(old) == 1, old
    return GOOD.replace(old, new)


def nan_to_none(value):
    return None if math.isnan(value) else value


def test_good_file_gives_every_row_of_the_funds_asked(server):
    serve(server, GOOD)
    result = fetch(server, ["tqqq", "SQQQ", "UPRO"])
    assert result.failed == {} and result.asked == ["SQQQ", "TQQQ", "UPRO"]
    assert len(result.observations) == 19  # 7 TQQQ + 6 SQQQ + 6 UPRO; QLD is in the file, not asked
    tqqq = [(t, d, a, nan_to_none(n), nan_to_none(s)) for t, d, a, n, s in observation_rows(result.observations, "TQQQ")]
    assert tqqq == [
        # NAV restated for the 2:1 split of 2025-11-20, shares not: net assets kept, NAV and shares dropped
        ("TQQQ", dt.date(2025, 11, 19), 27900259410.0, None, None),
        ("TQQQ", dt.date(2026, 1, 27), 30653717850.0, 56.5306, 542250000.0),
        ("TQQQ", dt.date(2026, 1, 28), 30621892980.0, 57.0612, 536650000.0),
        ("TQQQ", dt.date(2026, 1, 29), 30134195775.0, 56.1315, 536850000.0),
        ("TQQQ", dt.date(2026, 1, 30), 28955193450.0, 53.9454, 536750000.0),
        ("TQQQ", dt.date(2026, 2, 2), 29627579605.0, 55.1057, 537650000.0),
        ("TQQQ", dt.date(2026, 2, 3), 28567096530.0, 52.5227, 543900000.0),
    ]
    sqqq = observation_rows(result.observations, "SQQQ")
    assert sqqq[0] == ("SQQQ", dt.date(2026, 1, 27), 2335489211.5686, 63.3762, 36851200.0)
    assert sqqq[-1] == ("SQQQ", dt.date(2026, 2, 3), 2154220378.5417, 67.9539, 31701200.0)
    upro = observation_rows(result.observations, "UPRO")
    assert upro[-1] == ("UPRO", dt.date(2026, 2, 3), 4678104515.0, 118.2833, 39550000.0)
    frame = result.observations
    assert set(frame["source_kind"]) == {"issuer_nav"} and set(frame["timing"]) == {"close"}
    assert set(frame["source"]) == {server.url_for(PATH)}


def test_one_request_for_all_funds_at_the_real_path(server):
    serve(server, GOOD)
    fetch(server, ["TQQQ", "SQQQ", "UPRO", "QLD"])
    assert [req.path for req, _ in server.log] == [PATH]
    provider = ProSharesAum(client(), "https://accounts.profunds.com/")
    assert provider.requests(["TQQQ", "SQQQ"]) == [("all", "https://accounts.profunds.com/etfdata/historical_nav.csv")]
    assert (PROVIDER.issuer, PROVIDER.url_env, PROVIDER.default_url) == (
        "ProShares", "LEV_FLOWS_PROSHARES_URL", "https://accounts.profunds.com")


def test_parse_reads_every_fund_when_not_told_which():
    provider = ProSharesAum(client(), "http://127.0.0.1:1")
    got = provider.parse("all", 200, GOOD.encode(), "u")
    assert sorted({r.ticker for r in got}) == ["QLD", "SQQQ", "TQQQ", "UPRO"] and len(got) == 21
    assert got[0] == Observation("QLD", dt.date(2026, 2, 3), 10532125500.0, 70.449, 149500000.0)


def test_http_500_then_success_is_retried(server):
    answers = iter([Response("busy", status=500), Response(GOOD, content_type="text/csv")])
    server.expect_request(PATH).respond_with_handler(lambda request: next(answers))
    result = fetch(server, ["UPRO"])
    assert result.failed == {} and len(result.observations) == 6
    assert [req.path for req, _ in server.log] == [PATH, PATH]


SHORT_HEADER = "Date,ProShares Name,Ticker,NAV,Prior NAV\n02/03/2026,ProShares UltraPro QQQ,TQQQ,52.5227,55.1057\n"
NOT_THE_FILE = "all: not the ProShares historical-NAV file: no "
LAYOUT_FAULTS = [
    ("Not Found", 404, "text/plain", "all: not found (HTTP 404) ("),
    ("<!DOCTYPE html><html><body>Access denied</body></html>", 200, "text/html",
     "all: HTML page instead of ProShares historical-NAV CSV"),
    ("", 200, "text/csv", "all: empty body ("),
    (HOLDINGS_FILE, 200, "text/csv", NOT_THE_FILE + "'Date', 'Ticker', 'NAV', 'Shares Outstanding (000)', "
     + "'Assets Under Management' column (header: PORTFOLIO HOLDINGS INFORMATION)"),
    (SHORT_HEADER, 200, "text/csv", NOT_THE_FILE + "'Shares Outstanding (000)', 'Assets Under Management' column "
     + "(header: Date, ProShares Name, Ticker, NAV, Prior NAV)"),
]


@pytest.mark.parametrize(("body", "status", "content_type", "reason"), LAYOUT_FAULTS)
def test_a_file_not_in_the_layout_fails_every_fund_with_the_reason(server, body, status, content_type, reason):
    serve(server, body, status, content_type)
    result = fetch(server, ["TQQQ", "SQQQ"])
    assert result.observations.empty and sorted(result.failed) == ["SQQQ", "TQQQ"]
    for why in result.failed.values():
        assert why.startswith(reason) and why.endswith(f"({server.url_for(PATH)})")


def test_a_fund_not_in_the_file_is_failed_the_others_kept(server):
    serve(server, GOOD)
    result = fetch(server, ["TQQQ", "ZZZZ"])
    assert result.failed == {"ZZZZ": f"ZZZZ: not listed by ProShares ({server.url_for(PATH)})"}
    assert len(observation_rows(result.observations, "TQQQ")) == 7


def test_net_assets_in_thousands_fail_that_fund_only(server):
    serve(server, edited("39550,4678104515", "39550,4678104.515"))
    result = fetch(server, ["TQQQ", "UPRO"])
    assert list(result.failed) == ["UPRO"]
    assert result.failed["UPRO"].startswith("UPRO 2026-02-03: net assets look given in thousands NAV x shares")
    assert server.url_for(PATH) in result.failed["UPRO"]
    assert observation_rows(result.observations, "UPRO") == [] and len(observation_rows(result.observations, "TQQQ")) == 7


def test_a_future_date_fails_that_fund_only(server):
    serve(server, edited("02/03/2026,ProShares UltraPro Short QQQ", "02/05/2026,ProShares UltraPro Short QQQ"))
    result = fetch(server, ["SQQQ", "TQQQ"])
    assert result.failed == {
        "SQQQ": f"SQQQ: date 2026-02-05 is in the future (today is 2026-02-04) ({server.url_for(PATH)})"}
    assert observation_rows(result.observations, "SQQQ") == [] and len(observation_rows(result.observations, "TQQQ")) == 7


def test_a_day_first_date_fails_that_fund_naming_it_and_the_url(server):
    serve(server, edited("01/30/2026,ProShares UltraPro Short QQQ", "30/01/2026,ProShares UltraPro Short QQQ"))
    result = fetch(server, ["SQQQ", "TQQQ", "UPRO"])
    assert result.failed == {
        "SQQQ": "SQQQ: line 6 Date: '30/01/2026' is a day-first date (expected month/day/year) "
                f"({server.url_for(PATH)})"}
    assert observation_rows(result.observations, "SQQQ") == []
    assert len(observation_rows(result.observations, "TQQQ")) == 7 and len(observation_rows(result.observations, "UPRO")) == 6


def test_a_cut_row_fails_its_fund_only(server):
    serve(server, GOOD + "02/03/2026,ProShares Ultra S&P500,SSO,101.2\n")
    result = fetch(server, ["SSO", "UPRO"])
    assert result.failed == {
        "SSO": f"SSO: line 23: 4 fields, expected at least 9 (a cut row?) ({server.url_for(PATH)})"}
    assert len(observation_rows(result.observations, "UPRO")) == 6
