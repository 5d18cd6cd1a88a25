"""Tradr's dated all-funds NAV files (``NSDEAXS2.{MMDDYYYY}.csv``) over HTTP on 127.0.0.1: one
request per date for every fund, the rows dated by the file's name, a back-fill of past days, and
every fault (retry, 404, HTML, empty, another layout, a fund not listed, thousands, a future date,
a day-first date, a blank figure). Fixtures: three business days of late January / early February
2026 in the file's layout (AXS's KNO is in the file too, as in the real one)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from werkzeug import Response

from lev_flows.inputs.sources.http import HttpClient
from lev_flows.inputs.sources.issuer_aum.base import Observation
from lev_flows.inputs.sources.issuer_aum.tradr import PROVIDER, TradrProvider
from tests.servers import issuer_client, observation_rows

FIXTURES = Path(__file__).parent / "fixtures" / "issuers" / "tradr"
FEB3 = (FIXTURES / "NSDEAXS2.02032026.csv").read_text()
FEB2 = (FIXTURES / "NSDEAXS2.02022026.csv").read_text()
JAN30 = (FIXTURES / "NSDEAXS2.01302026.csv").read_text()
HOLDINGS = (FIXTURES / "BBH_AXS_ETF_PVAL_WEB.20260203.csv").read_text()
PATH = "/assets/data/NSDEAXS2.{}.csv"
D = dt.date
FEB3_ONLY = (D(2026, 2, 3),)


def client() -> HttpClient:
    return issuer_client(attempts=2)


def serve(server, mmddyyyy: str, text: str, status: int = 200, content_type: str = "text/csv") -> str:
    path = PATH.format(mmddyyyy)
    server.expect_request(path).respond_with_data(text, status=status, content_type=content_type)
    return server.url_for(path)


def fetch(server, tickers, dates=FEB3_ONLY):
    return TradrProvider(client(), server.url_for("/"), dates=dates).fetch(tickers)


def edited(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def with_date_column(text: str, dates: dict[str, str], default: str) -> str:
    """The file with a leading ``Date`` column: ``dates`` per ticker, else ``default``."""
    lines = text.strip().splitlines()
    out = ["Date," + lines[0]]
    out += [f"{dates.get(line.split(',')[0], default)},{line}" for line in lines[1:]]
    return "\n".join(out) + "\n"


# ---- good files ---------------------------------------------------------------------------------


def test_good_file_gives_each_fund_asked_dated_by_the_file_name(server):
    url = serve(server, "02032026", FEB3)
    result = fetch(server, ["snxx", "AAOX", "TSLQ", "NEBX"])
    assert result.failed == {} and result.asked == ["AAOX", "NEBX", "SNXX", "TSLQ"]
    assert len(result.observations) == 4  # KNO, LITX, AXTX are in the file, not asked
    assert observation_rows(result.observations, "SNXX") == [("SNXX", D(2026, 2, 3), 142441193.27, 41.2873, 3450000.0)]
    assert observation_rows(result.observations, "AAOX") == [("AAOX", D(2026, 2, 3), 35113524.43, 28.6641, 1225000.0)]
    assert observation_rows(result.observations, "TSLQ") == [("TSLQ", D(2026, 2, 3), 260152442.35, 12.1142, 21475000.0)]
    assert observation_rows(result.observations, "NEBX") == [("NEBX", D(2026, 2, 3), 55410453.05, 24.0915, 2300000.0)]
    frame = result.observations
    assert set(frame["source"]) == {url} and set(frame["source_kind"]) == {"issuer_nav"}


def test_one_request_per_date_at_the_real_path(server):
    serve(server, "02032026", FEB3)
    fetch(server, ["SNXX", "AAOX", "LITX"])
    assert [req.path for req, _ in server.log] == ["/assets/data/NSDEAXS2.02032026.csv"]
    provider = TradrProvider(client(), "https://axsetf.filepoint.live/", dates=[D(2026, 1, 30)])
    assert provider.requests(["SNXX"]) == [
        ("2026-01-30", "https://axsetf.filepoint.live/assets/data/NSDEAXS2.01302026.csv")]
    assert (PROVIDER.issuer, PROVIDER.url_env, PROVIDER.default_url) == (
        "Tradr", "LEV_FLOWS_TRADR_URL", "https://axsetf.filepoint.live")


def test_by_default_the_last_two_sessions_are_asked_for(server):
    # the clock is pinned at 2026-02-04 17:00 New York (a Wednesday): Tuesday's and today's files
    provider = TradrProvider(client(), "https://axsetf.filepoint.live")
    assert [key for key, _ in provider.requests(["SNXX"])] == ["2026-02-03", "2026-02-04"]
    serve(server, "02032026", FEB3)
    serve(server, "02042026", "Not Found", status=404, content_type="text/plain")  # not out yet
    result = TradrProvider(client(), server.url_for("/")).fetch(["SNXX"])
    assert result.failed == {}
    assert observation_rows(result.observations, "SNXX") == [("SNXX", D(2026, 2, 3), 142441193.27, 41.2873, 3450000.0)]
    assert sorted(req.path for req, _ in server.log) == [PATH.format("02032026"), PATH.format("02042026")]


def test_two_past_days_are_back_filled_from_their_dated_files(server):
    url_jan30 = serve(server, "01302026", JAN30)
    url_feb2 = serve(server, "02022026", FEB2)
    result = fetch(server, ["SNXX", "LITX"], dates=[D(2026, 2, 2), D(2026, 1, 30)])
    assert result.failed == {}
    assert observation_rows(result.observations, "SNXX") == [
        ("SNXX", D(2026, 1, 30), 130535464.72, 39.5562, 3300000.0),
        ("SNXX", D(2026, 2, 2), 148718717.09, 43.7408, 3400000.0),
    ]
    assert observation_rows(result.observations, "LITX") == [
        ("LITX", D(2026, 1, 30), 19168621.28, 31.9477, 600000.0),
        ("LITX", D(2026, 2, 2), 20755435.55, 34.0253, 610000.0),
    ]
    assert sorted(req.path for req, _ in server.log) == [PATH.format("01302026"), PATH.format("02022026")]
    by_date = result.observations.set_index("date")["source"].to_dict()
    assert by_date == {D(2026, 1, 30): url_jan30, D(2026, 2, 2): url_feb2}


def test_a_date_column_wins_over_the_file_name():
    provider = TradrProvider(client(), "http://127.0.0.1:1")
    text = with_date_column(FEB3, {}, "02/03/2026")
    got = provider.parse("2026-02-04", 200, text.encode(), "u")
    assert got[0] == Observation("AAOX", D(2026, 2, 3), 35113524.43, 28.6641, 1225000.0)
    assert len(got) == 7


# ---- faults -------------------------------------------------------------------------------------


def test_http_500_then_success_is_retried(server):
    answers = iter([Response("busy", status=500), Response(FEB3, content_type="text/csv")])
    server.expect_request(PATH.format("02032026")).respond_with_handler(lambda request: next(answers))
    result = fetch(server, ["SNXX"])
    assert result.failed == {} and len(result.observations) == 1
    assert [req.path for req, _ in server.log] == [PATH.format("02032026")] * 2


def test_a_missing_day_fails_only_when_no_other_day_answers(server):
    serve(server, "02022026", FEB2)
    url = serve(server, "02032026", "Not Found", status=404, content_type="text/plain")
    result = fetch(server, ["SNXX", "AAOX"], dates=[D(2026, 2, 2), D(2026, 2, 3)])
    assert result.failed == {} and [r[1] for r in observation_rows(result.observations, "SNXX")] == [D(2026, 2, 2)]
    alone = fetch(server, ["SNXX", "AAOX"])
    assert alone.failed == {t: f"2026-02-03: not found (HTTP 404) ({url})" for t in ("AAOX", "SNXX")}


LAYOUT_FAULTS = [
    ("<!DOCTYPE html><html><body><h1>Tradr ETFs</h1></body></html>", "text/html",
     "2026-02-03: HTML page instead of the Tradr / AXS NAV CSV (no file for that date?) ("),
    ("", "text/csv", "2026-02-03: empty body ("),
    (HOLDINGS, "text/csv", ("2026-02-03: not the Tradr / AXS NAV file: no Ticker Symbol, NAV column (header: "
                            "ETF Ticker, Date, ISIN, CUSIP, SEDOL, Ticker, Description,")),
    ("Ticker Symbol,NAV,Base TNA (Fund Level),Shrs Out (Fund Level)\n", "text/csv",
     "2026-02-03: header only, no rows ("),
]


@pytest.mark.parametrize(("body", "content_type", "reason"), LAYOUT_FAULTS)
def test_a_file_not_in_the_layout_fails_every_fund_with_the_reason(server, body, content_type, reason):
    url = serve(server, "02032026", body, content_type=content_type)
    result = fetch(server, ["SNXX", "AAOX"])
    assert result.observations.empty and sorted(result.failed) == ["AAOX", "SNXX"]
    for why in result.failed.values():
        assert why.startswith(reason) and why.endswith(f"({url})")


def test_a_fund_the_files_do_not_list_is_failed_the_others_kept(server):
    url = serve(server, "02032026", FEB3)
    result = fetch(server, ["SNXX", "ZZZZ"])
    assert result.failed == {"ZZZZ": f"ZZZZ: not listed by Tradr ({url})"}
    assert observation_rows(result.observations, "SNXX") == [("SNXX", D(2026, 2, 3), 142441193.27, 41.2873, 3450000.0)]


def test_net_assets_in_thousands_fail_that_fund_only(server):
    url = serve(server, "02032026", edited(FEB3, "142441193.27", "142441.19"))
    result = fetch(server, ["SNXX", "AAOX"])
    assert list(result.failed) == ["SNXX"]
    assert result.failed["SNXX"].startswith("SNXX 2026-02-03: net assets look given in thousands NAV x shares "
                                            "(41.2873 x 3,450,000 = 142,441,185 against 142,441)")
    assert result.failed["SNXX"].endswith(f"({url})")
    assert observation_rows(result.observations, "AAOX") == [("AAOX", D(2026, 2, 3), 35113524.43, 28.6641, 1225000.0)]


def test_a_future_date_fails_that_fund_only(server):
    url = serve(server, "02032026", with_date_column(FEB3, {"NEBX": "02/05/2026"}, "02/03/2026"))
    result = fetch(server, ["NEBX", "SNXX"])
    assert result.failed == {"NEBX": f"NEBX: date 2026-02-05 is in the future (today is 2026-02-04) ({url})"}
    assert observation_rows(result.observations, "NEBX") == [] and len(observation_rows(result.observations, "SNXX")) == 1


def test_a_day_first_date_fails_that_fund_naming_it_and_the_url(server):
    url = serve(server, "01132026", with_date_column(FEB3, {"AXTX": "13/01/2026"}, "01/13/2026"))
    result = fetch(server, ["AXTX", "SNXX", "TSLQ"], dates=[D(2026, 1, 13)])
    assert result.failed == {
        "AXTX": f"AXTX Date: '13/01/2026' is a day-first date (expected month/day/year) ({url})"}
    assert observation_rows(result.observations, "AXTX") == []
    assert observation_rows(result.observations, "TSLQ") == [("TSLQ", D(2026, 1, 13), 260152442.35, 12.1142, 21475000.0)]


def test_a_refused_row_fails_its_fund_on_every_day(server):
    serve(server, "02022026", FEB2)
    url = serve(server, "02032026", edited(FEB3, "LITX,33.1508,20221986.10", "LITX,33.1508,"))
    result = fetch(server, ["LITX", "SNXX"], dates=[D(2026, 2, 2), D(2026, 2, 3)])
    assert result.failed == {"LITX": f"LITX: no net assets (Base TNA (Fund Level) is blank) ({url})"}
    assert observation_rows(result.observations, "LITX") == [] and len(observation_rows(result.observations, "SNXX")) == 2


def test_a_figure_that_is_not_a_number_names_fund_and_column(server):
    url = serve(server, "02032026", edited(FEB3, "AXTX,19.4467", "AXTX,n/a*"))
    result = fetch(server, ["AXTX", "KNO"])
    assert result.failed == {"AXTX": f"AXTX NAV: 'n/a*' is not a number ({url})"}
    assert observation_rows(result.observations, "KNO") == [("KNO", D(2026, 2, 3), 66526322.48, 47.5188, 1400000.0)]
