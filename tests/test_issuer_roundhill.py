"""Roundhill's all-funds DailyNAV file over HTTP on 127.0.0.1: the real layout, the URL asked
for, and every fault (file-level ones fail every fund; a bad row fails its fund alone)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from werkzeug import Request, Response

from lev_flows.inputs.sources.http import HttpClient
from lev_flows.inputs.sources.issuer_aum.roundhill import (
    DAILY_NAV_PATH,
    RoundhillProvider,
)
from tests.servers import issuer_client, observation_rows

FIXTURES = Path(__file__).parent / "fixtures" / "issuers" / "roundhill"
GOOD = (FIXTURES / "FilepointRoundhill.40RU.RU_DailyNAV.csv").read_bytes()
FAULTY = (FIXTURES / "FilepointRoundhill.40RU.RU_DailyNAV-faulty.csv").read_bytes()
HOLDINGS = (FIXTURES / "FilepointRoundhill.40RU.RU_Holdings_02032026.csv").read_bytes()
WEEKLYPAY = ["PLTW", "HOOW", "NVDW", "TSLW", "MAGX"]
DAY = dt.date(2026, 2, 3)
#: (ticker, date, aum_usd, nav, shares_outstanding) from the good file, by ticker
EXPECTED = [
    ("HOOW", DAY, 140751118.35, 61.87, 2275000.0),
    ("MAGX", DAY, 57482903.15, 41.06, 1400000.0),
    ("NVDW", DAY, 62806221.90, 33.95, 1850000.0),
    ("PLTW", DAY, 159437512.64, 38.42, 4150000.0),
    ("TSLW", DAY, 97281447.06, 29.48, 3300000.0),
]


def client(attempts: int = 1) -> HttpClient:
    return issuer_client(attempts)


def provider(server, attempts: int = 1) -> RoundhillProvider:
    return RoundhillProvider(client(attempts), server.url_for("/"))


def serve(server, body: bytes | str, status: int = 200, content_type: str = "application/octet-stream") -> None:
    server.expect_request(DAILY_NAV_PATH).respond_with_data(body, status=status, content_type=content_type)


def test_good_file_gives_exact_observations_from_one_request(server):
    serve(server, GOOD)
    got = provider(server).fetch(WEEKLYPAY)
    assert observation_rows(got.observations) == EXPECTED
    assert got.failed == {}
    assert sorted(got.asked) == sorted(WEEKLYPAY)
    # one request answers every fund: the all-funds file, at its real path
    assert [req.path for req, _ in server.log] == ["/assets/data/FilepointRoundhill.40RU.RU_DailyNAV.csv"]
    assert set(got.observations["source"]) == {server.url_for(DAILY_NAV_PATH)}
    assert set(got.observations["source_kind"]) == {"issuer_nav"}
    assert set(got.observations["timing"]) == {"close"}


def test_default_url_and_environment_override(monkeypatch):
    monkeypatch.delenv("LEV_FLOWS_ROUNDHILL_URL", raising=False)
    assert RoundhillProvider(client()).url() == (
        "https://www.roundhillinvestments.com/assets/data/FilepointRoundhill.40RU.RU_DailyNAV.csv")
    monkeypatch.setenv("LEV_FLOWS_ROUNDHILL_URL", "http://127.0.0.1:9/rh/")
    assert RoundhillProvider(client()).url() == "http://127.0.0.1:9/rh/assets/data/FilepointRoundhill.40RU.RU_DailyNAV.csv"


def test_http_500_then_success_is_retried(server):
    answers = iter([Response("busy", status=500), Response(GOOD, status=200, content_type="text/csv")])

    def handler(request: Request) -> Response:
        return next(answers)

    server.expect_request(DAILY_NAV_PATH).respond_with_handler(handler)
    got = provider(server, attempts=2).fetch(["PLTW", "TSLW"])
    assert observation_rows(got.observations) == [EXPECTED[3], EXPECTED[4]]
    assert got.failed == {}
    assert len(server.log) == 2


def test_404_of_the_file_fails_every_fund_with_the_reason(server):
    serve(server, "<html><body>Not Found</body></html>", status=404, content_type="text/html")
    got = provider(server).fetch(["PLTW", "NVDW"])
    assert got.observations.empty
    url = server.url_for(DAILY_NAV_PATH)
    assert got.failed == {
        "NVDW": f"Roundhill DailyNAV: not found (HTTP 404) ({url})",
        "PLTW": f"Roundhill DailyNAV: not found (HTTP 404) ({url})",
    }


def test_html_page_instead_of_the_file(server):
    # the site answers a missing file with its single-page app, HTTP 200
    serve(server, "<!doctype html><html><head><title>Roundhill Investments</title></head><body><div id=app></div></body></html>",
          content_type="text/html")
    got = provider(server).fetch(["PLTW"])
    assert got.observations.empty
    assert got.failed["PLTW"].startswith("Roundhill DailyNAV: HTML page instead of the DailyNAV CSV")
    assert server.url_for(DAILY_NAV_PATH) in got.failed["PLTW"]


def test_empty_body(server):
    serve(server, b"")
    got = provider(server).fetch(["HOOW"])
    assert got.failed == {"HOOW": f"Roundhill DailyNAV: empty body ({server.url_for(DAILY_NAV_PATH)})"}


def test_file_in_another_layout_is_refused(server):
    # the dated holdings master is a real Roundhill file, but not the DailyNAV layout
    serve(server, HOLDINGS)
    got = provider(server).fetch(["PLTW"])
    assert got.observations.empty
    why = got.failed["PLTW"]
    assert why.startswith("Roundhill DailyNAV: not Roundhill's DailyNAV file: no Fund Ticker, Net Assets, "
                          "Shares Outstanding, NAV, Rate Date column (header: Date, Account, StockTicker")


def test_header_only_file(server):
    serve(server, GOOD.splitlines()[0] + b"\n")
    got = provider(server).fetch(["PLTW"])
    assert got.failed["PLTW"].startswith("Roundhill DailyNAV: header only, no rows")


def test_fund_the_issuer_does_not_list(server):
    serve(server, GOOD)
    got = provider(server).fetch(["PLTW", "ZZZW"])
    assert observation_rows(got.observations) == [EXPECTED[3]]
    assert got.failed == {"ZZZW": f"ZZZW: not listed by Roundhill ({server.url_for(DAILY_NAV_PATH)})"}


def test_bad_rows_fail_their_fund_alone(server):
    """HOOW's net assets in thousands, NVDW dated after today (2026-02-04), TSLW day-first:
    each fails with its reason and the URL; PLTW and MAGX are kept."""
    serve(server, FAULTY)
    got = provider(server).fetch(WEEKLYPAY)
    url = server.url_for(DAILY_NAV_PATH)
    assert observation_rows(got.observations) == [EXPECTED[1], EXPECTED[3]]
    assert sorted(got.failed) == ["HOOW", "NVDW", "TSLW"]
    assert "net assets look given in thousands" in got.failed["HOOW"] and url in got.failed["HOOW"]
    assert got.failed["HOOW"].startswith("HOOW 2026-02-03: net assets look given in thousands NAV x shares "
                                         "(61.87 x 2,275,000 = 140,754,250 against 140,751)")
    assert got.failed["NVDW"] == f"NVDW: date 2026-02-05 is in the future (today is 2026-02-04) ({url})"
    assert got.failed["TSLW"] == (f"TSLW: TSLW Rate Date: '13/01/2026' is a day-first date "
                                  f"(expected month/day/year) ({url})")


@pytest.mark.parametrize("ticker", ["MAGX", "PLTW"])
def test_a_good_fund_of_a_faulty_file_is_exact(server, ticker):
    serve(server, FAULTY)
    got = provider(server).fetch([ticker])
    assert observation_rows(got.observations) == [e for e in EXPECTED if e[0] == ticker]
    assert got.failed == {}
