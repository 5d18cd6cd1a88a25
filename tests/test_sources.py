"""Online providers against real HTTP servers on 127.0.0.1: Yahoo-format charts, issuer
holdings files, and every fault the brief names. No test touches the internet."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lev_flows.errors import DataSourceError
from lev_flows.inputs.sources.base import PriceQuery, QuoteQuery
from lev_flows.inputs.sources.http import (
    HttpClient,
    HttpSettings,
    SourceUnavailable,
    retry_after_seconds,
)
from lev_flows.inputs.sources.issuers import (
    IssuerHoldings,
    parse_direxion,
    parse_proshares,
)
from lev_flows.inputs.sources.yahoo import YahooChart
from lev_flows.model import formula
from lev_flows.model.estimate import estimate

from .conftest import SMALL_RETURNS
from .servers import FakeYahoo, serve_text

CHART = re.compile(r"^/v8/finance/(chart/.+|spark)$")

#: hand-made closes for the small universe: on 2026-02-04 STK1 -5 %, STK2 +2.5 %, DDD +2 %
SMALL_CLOSES = pd.DataFrame(
    {"STK1": [100.0, 100.0, 95.0], "STK2": [40.0, 40.0, 41.0], "DDD": [50.0, 50.0, 51.0],
     "BRK.B": [500.0, 505.0, 510.0], "^GSPC": [6900.0, 6910.0, 6850.0]},
    index=pd.DatetimeIndex(["2026-02-02", "2026-02-03", "2026-02-04"], name="date"),
)
#: the small universe's hand-worked total on those returns (see test_estimate): -262 M
SMALL_TOTAL = -120e6 - 120e6 - 20e6 + 2e6 - 4e6


class Sleeps(list):
    """Stands in for time.sleep: records each wait instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def make_client(tmp_path: Path | None = None, **settings) -> tuple[HttpClient, Sleeps]:
    sleeps = Sleeps()
    base = {"timeout_s": 2.0, "deadline_s": 5.0, "attempts": 3, "backoff_s": 0.5, "concurrency": 4}
    base.update(settings)
    if tmp_path is not None:
        base["cache_dir"] = tmp_path / "cache"
    return HttpClient(HttpSettings(**base), sleep=sleeps), sleeps


def yahoo(server, faults=None, quote_at=None, closes=SMALL_CLOSES) -> FakeYahoo:
    fake = FakeYahoo(closes, faults, quote_at)
    server.expect_request(CHART).respond_with_handler(fake)
    return fake


def fetch(server, client, symbols=("STK1", "STK2"), batch=None):
    source = YahooChart(client, server.url_for("/"), batch=batch)
    q = PriceQuery(symbols=list(symbols), start="2026-02-03", end="2026-02-04")
    return source.closes(q)


# ---- success --------------------------------------------------------------------------------


def test_closes_come_back_as_new_york_dated_columns(server):
    fake = yahoo(server)
    client, sleeps = make_client()
    table = fetch(server, client, ["STK1", "BRK.B", "^GSPC"])
    assert table.failed == {}
    assert list(table.closes.index.date.astype(str)) == ["2026-02-03", "2026-02-04"]
    assert table.closes.loc["2026-02-04", "STK1"] == 95.0
    assert table.closes.loc["2026-02-04", "BRK.B"] == 510.0  # asked as BRK-B
    assert table.closes.loc["2026-02-03", "^GSPC"] == 6910.0
    assert fake.hits["BRK.B"] == 1 and sleeps == []
    (asked, _), = server.log  # one spark batch for the three, BRK.B asked as BRK-B
    assert asked.path == "/v8/finance/spark" and asked.args["symbols"] == "BRK-B,STK1,^GSPC"
    assert asked.args["interval"] == "1d" and asked.args["range"] in ("5d", "1mo", "3mo", "6mo", "1y", "2y", "5y")
    per_symbol = fetch(server, client, ["STK1", "BRK.B", "^GSPC"], batch=1)  # the chart endpoint only
    pd.testing.assert_frame_equal(per_symbol.closes, table.closes)
    assert sorted(req.path for req, _ in server.log[1:]) == [
        "/v8/finance/chart/BRK-B", "/v8/finance/chart/STK1", "/v8/finance/chart/^GSPC"]


def test_quotes_are_previous_close_and_last_price(server):
    yahoo(server, quote_at="2026-02-04T15:30")
    client, _ = make_client()
    table = YahooChart(client, server.url_for("/")).quotes(QuoteQuery(symbols=["STK1", "DDD"]))
    assert table.basis == "live 15:30 New York"
    assert table.closes.to_dict("list") == {"STK1": [100.0, 95.0], "DDD": [50.0, 51.0]}
    assert list(table.closes.index.date.astype(str)) == ["2026-02-03", "2026-02-04"]


# ---- faults, one by one -----------------------------------------------------------------------


def test_timeout_then_success(server):
    fake = yahoo(server, {"STK1": ["sleep:1.5", "ok"]})
    client, sleeps = make_client(timeout_s=0.5)
    table = fetch(server, client)
    assert table.failed == {}
    assert table.closes.loc["2026-02-04", "STK1"] == 95.0
    assert fake.hits["STK1"] == 2 and len(sleeps) == 1


def test_429_honours_retry_after(server):
    fake = yahoo(server, {"STK2": ["429:7", "429:3", "ok"]})
    client, sleeps = make_client()
    table = fetch(server, client)
    assert table.failed == {}
    assert sleeps == [5.0, 3.0]  # 7 s is more than the request's 5 s budget: it waits 5
    assert fake.hits["STK2"] == 3


def test_retry_after_is_capped_and_read_as_date():
    assert retry_after_seconds("12") == 12.0
    assert retry_after_seconds("Wed, 04 Feb 2026 21:00:30 GMT", now=pd.Timestamp("2026-02-04T21:00:00Z").timestamp()) == 30.0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


def test_500_every_time_gives_up_naming_symbol_and_url(server):
    fake = yahoo(server, {"STK2": ["500"]})
    client, sleeps = make_client(attempts=3, backoff_s=0.5)
    table = fetch(server, client)
    msg = table.failed["STK2"]
    assert msg.startswith("STK2: HTTP 500 server error after 3 tries (")
    assert server.url_for("/v8/finance/chart/STK2") in msg
    assert "STK1" not in table.failed and table.closes["STK1"].notna().all()
    assert "STK2" not in table.closes.columns  # never a column of zeros or NaN
    assert fake.hits["STK2"] == 3
    # exponential backoff with jitter: 0.5 s (+ up to 0.5), then 1 s (+ up to 0.5)
    assert len(sleeps) == 2 and 0.5 <= sleeps[0] <= 1.0 and 1.0 <= sleeps[1] <= 1.5


@pytest.mark.parametrize(
    "action, reason, tries",
    [
        ("cut", "malformed or truncated JSON", 1),
        ("short", "body truncated", 3),
        ("html", "HTML page instead of JSON", 1),
        ("empty", "empty body (HTTP 200)", 1),
        ("unknown", "unknown symbol (No data found, symbol may be delisted)", 1),
    ],
)
def test_bad_bodies_fail_that_symbol_with_the_reason(server, action, reason, tries):
    fake = yahoo(server, {"STK2": [action]})
    client, _ = make_client()
    table = fetch(server, client)
    assert reason in table.failed["STK2"]
    assert "/v8/finance/chart/STK2" in table.failed["STK2"]
    assert fake.hits["STK2"] == tries  # broken answers are not retried; a cut connection is
    assert list(table.closes.columns) == ["STK1"]


def test_slow_drip_hits_the_deadline(server):
    yahoo(server, {"STK1": ["drip"]})
    client, _ = make_client(timeout_s=1.0, deadline_s=0.5, attempts=1)
    table = fetch(server, client)
    assert "too slow" in table.failed["STK1"]
    assert "STK2" not in table.failed


def test_a_source_that_is_down_is_not_hammered():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client, sleeps = make_client(concurrency=2)
    symbols = [f"S{i:03d}" for i in range(200)]
    # 200 symbols are 10 spark batches: the first 8 fail, the other 2 are never sent
    with pytest.raises(SourceUnavailable, match=r"not answering: the first 8 requests all failed; last: S[\dS,]+: connection failed"):
        fetch_url = YahooChart(client, f"http://127.0.0.1:{port}")
        fetch_url.closes(PriceQuery(symbols=symbols, start="2026-02-03", end="2026-02-04"))
    assert len(sleeps) < 40  # 8 to 10 batches x 2 waits, not 200 x 2


# ---- the cache ---------------------------------------------------------------------------------


def cache_entries(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "cache").rglob("*.json"))


def test_a_spark_batch_is_cached_only_when_it_answered_every_symbol(server, tmp_path):
    faults = {"STK2": ["short"], "DDD": ["cut"]}  # left out of the batch, then failing alone
    fake = yahoo(server, faults)
    symbols = ["STK1", "STK2", "DDD"]
    first = fetch(server, make_client(tmp_path)[0], symbols)
    assert sorted(first.failed) == ["DDD", "STK2"] and first.closes.loc["2026-02-04", "STK1"] == 95.0
    assert cache_entries(tmp_path) == []  # the batch left two symbols out: used, not kept
    fake.faults = {}  # the service recovers
    second = fetch(server, make_client(tmp_path)[0], symbols)
    assert second.failed == {}
    (entry,) = cache_entries(tmp_path)
    entry = json.loads(entry.read_text())
    assert "/v8/finance/spark" in entry["url"] and len(json.loads(entry["body"])["spark"]["result"]) == 3
    before = fake.requests
    third = fetch(server, make_client(tmp_path)[0], symbols)
    assert fake.requests == before  # all three from the one kept batch
    pd.testing.assert_frame_equal(third.closes, second.closes)


def test_cache_holds_only_complete_entries_and_is_reused(server, tmp_path):
    faults = {"STK2": ["short"], "DDD": ["cut"], "^GSPC": ["500"], "BRK.B": ["html"]}
    fake = yahoo(server, faults)
    symbols = ["STK1", "STK2", "DDD", "^GSPC", "BRK.B"]
    client, _ = make_client(tmp_path)
    first = fetch(server, client, symbols, batch=1)  # the chart endpoint, one entry a symbol
    assert sorted(first.failed) == ["BRK.B", "DDD", "STK2", "^GSPC"]
    entries = cache_entries(tmp_path)
    assert len(entries) == 1  # STK1 only
    entry = json.loads(entries[0].read_text())
    assert "/chart/STK1" in entry["url"] and json.loads(entry["body"])["chart"]["result"]
    assert not list((tmp_path / "cache").rglob("*.tmp"))

    hits = dict(fake.hits)
    fake.faults = {}  # the service recovers
    client2, _ = make_client(tmp_path)
    second = fetch(server, client2, symbols, batch=1)
    assert second.failed == {}
    assert fake.hits["STK1"] == hits["STK1"]  # served from the cache, no request
    assert all(fake.hits[s] == hits[s] + 1 for s in faults)
    assert len(cache_entries(tmp_path)) == 5
    pd.testing.assert_series_equal(first.closes["STK1"], second.closes["STK1"])


def test_corrupt_cache_entry_is_dropped_and_refetched(server, tmp_path):
    fake = yahoo(server)
    client, _ = make_client(tmp_path)
    fetch(server, client, ["STK1"])
    (entry,) = cache_entries(tmp_path)
    entry.write_text(entry.read_text()[:40])  # as if a foreign tool had cut it
    table = fetch(server, client, ["STK1"])
    assert table.closes.loc["2026-02-04", "STK1"] == 95.0
    assert fake.hits["STK1"] == 2
    assert json.loads(entry.read_text())["url"].endswith("includeAdjustedClose=true")


# ---- issuer holdings ---------------------------------------------------------------------------

PROSHARES_AAA = """\
ProShares UltraPro Test Index
AAA
AS OF 02/03/2026

Fund Ticker,Fund Name,Security Ticker,Sedol,Description,Coupon,Maturity,Shares,Exposure Value,Market Value
AAA,ProShares UltraPro Test,STK1,1234567,STOCK ONE,,,"6,000,000","600,000,000.00","600,000,000.00"
AAA,ProShares UltraPro Test,STK2,7654321,STOCK TWO,,,"10,000,000","400,000,000.00","400,000,000.00"
AAA,ProShares UltraPro Test,,,TEST INDEX SWAP GOLDMAN SACHS INTERNATIONAL,,,"285,000","1,950,000,000.00","25,000,000.00"
AAA,ProShares UltraPro Test,,,E-MINI TEST INDEX FUTURES MAR26,,03/20/2026,"40","100,000,000.00",0.00
AAA,ProShares UltraPro Test,,,UNITED STATES TREASURY BILL,0,03/05/2026,"200,000,000",,"200,000,000.00"
AAA,ProShares UltraPro Test,,,NET OTHER ASSETS (LIABILITIES) / CASH,,,,,"(225,000,000.00)"
"""

DIREXION_BBB = """\
Direxion Daily Test Bear 3X Shares
BBB
Shares Outstanding: 10,000,000


TradeDate,AccountTicker,StockTicker,SecurityDescription,Shares,Price,MarketValue,Cusip,HoldingsPercent
02/03/2026,BBB,TESTSWAP,TEST INDEX SWAP,-285000,0,-10000000.00,,-2.5
02/03/2026,BBB,Cash,CASH,410000000,1,410000000.00,,102.5
"""


def test_proshares_file_hand_worked():
    h = parse_proshares("AAA", 200, PROSHARES_AAA.encode())
    assert (h.issuer, str(h.as_of), h.positions) == ("ProShares", "2026-02-03", 6)
    assert h.nav_usd == 1_000_000_000.0  # 600 + 400 + 25 + 0 + 200 - 225 (M)
    assert h.exposure_usd == 3_050_000_000.0  # stocks + swap + futures notionals


def test_direxion_file_hand_worked():
    h = parse_direxion("BBB", 200, DIREXION_BBB.encode())
    assert (h.issuer, str(h.as_of), h.positions) == ("Direxion", "2026-02-03", 2)
    assert h.nav_usd == 400_000_000.0 and h.shares_outstanding == 10_000_000.0
    assert h.exposure_usd is None  # swap lines carry market values, not notionals


def test_exact_releveraging_from_holdings(small_universe):
    aaa = parse_proshares("AAA", 200, PROSHARES_AAA.encode())
    bbb = parse_direxion("BBB", 200, DIREXION_BBB.encode())
    est = estimate(small_universe, SMALL_RETURNS, holdings={"AAA": aaa, "BBB": bbb})
    row = est.by_etf
    # AAA: L*(N0 + E0 r) - E0 (1 + r) = 3 (1000 - 61) - 3050 * 0.98 = 2817 - 2989 = -172 M
    assert row.loc["AAA", "rebalance_usd"] == pytest.approx(-172e6, abs=1e-3)
    assert row.loc["AAA", "rebalance_method"] == "holdings L*N1-E1"
    # BBB: the Direxion NAV as A: 400M * -3 * -4 * -2 % = -96 M
    assert row.loc["BBB", "rebalance_usd"] == pytest.approx(-96e6, abs=1e-3)
    assert row.loc["BBB", "aum_usd"] == 400e6
    assert row.loc["BBB", "rebalance_method"] == "A*L*(L-1)*r, A = issuer NAV"
    assert row.loc["CCC", "rebalance_method"] == "A*L*(L-1)*r"
    assert est.total.rebalance_usd == pytest.approx(SMALL_TOTAL + 120e6 - 172e6 + 120e6 - 96e6, abs=1e-3)


@given(
    nav=st.floats(1e6, 1e11),
    lev=st.sampled_from([-3.0, -2.0, -1.0, 1.5, 2.0, 3.0]),
    r=st.floats(-0.3, 0.3),
    drift=st.floats(-0.1, 0.1),
)
def test_holdings_formula_reduces_to_the_aum_formula_on_target(nav, lev, r, drift):
    on_target = formula.holdings_rebalance_usd(nav, lev * nav, lev, r)
    assert on_target == pytest.approx(float(formula.rebalance_usd(nav, lev, r)), rel=1e-9, abs=1e-3)
    # a fund that starts off target by d of exposure also trades the gap: exactly -d on a flat day
    gap = drift * nav
    assert formula.holdings_rebalance_usd(nav, lev * nav + gap, lev, 0.0) == pytest.approx(-gap, rel=1e-9, abs=1e-3)


def test_issuer_holdings_over_http_with_faults(server):
    server.expect_request("/etfdata/ByFund/AAA-psdlyhld.csv").respond_with_handler(serve_text(PROSHARES_AAA))
    server.expect_request("/holdings/BBB.csv").respond_with_handler(serve_text(DIREXION_BBB))
    server.expect_request("/holdings/EEE.csv").respond_with_handler(
        serve_text("<html><body>Page not found</body></html>", content_type="text/html")
    )
    server.expect_request("/etfdata/ByFund/CCC-psdlyhld.csv").respond_with_handler(serve_text("", status=200))
    client, _ = make_client()
    src = IssuerHoldings(client, server.url_for("/"), server.url_for("/"))
    got, errors = src.fetch({"AAA": "ProShares", "BBB": "Direxion", "EEE": "Direxion", "CCC": "ProShares", "ZZZ": "Other"})
    assert sorted(got) == ["AAA", "BBB"]
    assert got["AAA"].exposure_usd == 3.05e9 and got["AAA"].source_url.endswith("/etfdata/ByFund/AAA-psdlyhld.csv")
    assert errors["EEE"].startswith("EEE: HTML page instead of Direxion holdings CSV")
    assert server.url_for("/holdings/EEE.csv") in errors["EEE"]
    assert errors["CCC"].startswith("CCC: empty body")


# ---- the daily run -----------------------------------------------------------------------------


def small_source(server, client, faults=None, quote_at=None):
    yahoo(server, faults, quote_at)
    return YahooChart(client, server.url_for("/"))


def test_daily_run_over_http_hand_worked(server, small_universe):
    from lev_flows.jobs.daily import run_daily

    client, _ = make_client()
    result = run_daily(small_universe, small_source(server, client), as_of=pd.Timestamp("2026-02-04").date())
    assert result.mode == "close" and result.failed == {}
    # first round: the six funds' own prices and GLD (gold's tracking ETF) in one spark batch;
    # this server has only DDD of them, so the other six are asked alone on the chart endpoint
    # (404), and a second round of one batch fetches STK1 (CCC's stock) and STK2 (IDX's other member)
    assert result.symbols == 9 and result.requests == 1 + 6 + 1
    assert result.estimate.total.rebalance_usd == pytest.approx(SMALL_TOTAL, abs=1e-3)
    assert result.estimate.as_of["returns_basis"] == "close-to-close"


def test_daily_live_uses_quotes(server, small_universe):
    from lev_flows.jobs.daily import run_daily

    client, _ = make_client()
    source = small_source(server, client, quote_at="2026-02-04T15:30")
    now = pd.Timestamp("2026-02-04T15:30", tz="America/New_York")
    result = run_daily(small_universe, source, now=now, force_live=True)
    assert (result.mode, str(result.session)) == ("live", "2026-02-04")
    assert result.estimate.total.rebalance_usd == pytest.approx(SMALL_TOTAL, abs=1e-3)
    assert "live 15:30 New York" in result.estimate.as_of["returns_basis"]
    after = pd.Timestamp("2026-02-04T16:05", tz="America/New_York")
    with pytest.raises(Exception, match="not in a session now"):
        run_daily(small_universe, source, now=after, force_live=True)


def test_live_run_carries_aum_from_observations_before_the_fetched_days(server, small_universe):
    """A live run fetches two days of prices; a fund whose last AUM observation is weeks older
    still gets it, carried (flat: no prices in between) with the gap counted in sessions."""
    from lev_flows.jobs.daily import run_daily

    obs = pd.DataFrame({"ticker": ["AAA"], "date": [pd.Timestamp("2026-01-15")], "aum_usd": [7e8], "timing": ["close"],
                        "source_kind": ["screener"], "precedence": [10]})
    client, _ = make_client()
    source = small_source(server, client, quote_at="2026-02-04T15:30")
    now = pd.Timestamp("2026-02-04T15:30", tz="America/New_York")
    result = run_daily(small_universe, source, now=now, force_live=True, observations=obs)
    row = result.estimate.by_etf.loc["AAA"]
    assert row["aum_usd"] == pytest.approx(7e8)
    assert row["aum_gap_sessions"] == 12 and row["aum_date"] == "2026-01-15"  # 01-16 .. 02-03, MLK day skipped
    assert row["rebalance_usd"] == pytest.approx(7e8 * 6 * (0.6 * -0.05 + 0.4 * 0.025))


def test_daily_failure_stops_or_reduces_coverage(server, small_universe):
    from lev_flows.jobs.daily import run_daily

    client, _ = make_client(attempts=2)
    source = small_source(server, client, {"DDD": ["500"]})
    day = pd.Timestamp("2026-02-04").date()
    with pytest.raises(DataSourceError, match=r"^1 of 9 symbols failed; first: DDD: HTTP 500 server error after 2 tries \(http://127\.0\.0\.1"):
        run_daily(small_universe, source, as_of=day)
    result = run_daily(small_universe, source, as_of=day, allow_partial=True)
    assert list(result.failed) == ["DDD"]
    est = result.estimate
    row = est.by_etf
    assert row.loc["DDD", "status"] == "no return" and np.isnan(row.loc["DDD", "rebalance_usd"])
    assert est.total.rebalance_usd == pytest.approx(SMALL_TOTAL - 2e6, abs=1e-3)  # gold left out, not zero
    assert est.coverage.aum_with_return == pytest.approx(1.9e9 / 2.0e9)
    assert est.warnings[0].startswith("1 symbols could not be fetched and are left out: DDD")


def test_daily_over_http_equals_local_files(server, shared, tmp_path):
    """The whole catalog on 2026-02-04 through a Yahoo-format server fed the shared prices
    gives the same estimate as reading the same closes from a local file."""
    from lev_flows.inputs.catalog import load_universe
    from lev_flows.inputs.prices import load_price_dir
    from lev_flows.inputs.sources.local import LocalPrices
    from lev_flows.jobs.daily import run_daily

    uni = load_universe()
    day = pd.Timestamp("2026-02-04").date()
    closes = load_price_dir(shared / "prices").loc["2026-01-30":"2026-02-05"]
    yahoo(server, closes=closes)
    client, _ = make_client(concurrency=8)
    online = run_daily(uni, YahooChart(client, server.url_for("/")), as_of=day, allow_partial=True)
    window = tmp_path / "window.parquet"
    closes.to_parquet(window)
    local = run_daily(uni, LocalPrices(window), as_of=day)
    assert sorted(online.failed) == sorted(local.missing)  # 404 unknown symbol <-> no column
    assert all("unknown symbol" in m for m in online.failed.values())
    assert online.estimate.total.rebalance_usd == pytest.approx(local.estimate.total.rebalance_usd, rel=1e-9)
    # only a week of closes: AUM carried from the 2026-02-02 observations, returns fund by fund
    assert online.estimate.total.rebalance_usd == pytest.approx(-13.09e9, abs=0.01e9)
    a = online.estimate.by_stock["flow_usd"]
    b = local.estimate.by_stock["flow_usd"]
    pd.testing.assert_series_equal(a.sort_index(), b.sort_index(), rtol=1e-9)


# ---- the command line, against the local server ------------------------------------------------


def run_online(server, tmp_path, *args):
    """The real console script with its providers pointed at the test server."""
    import os
    import subprocess

    from .conftest import cli_executable

    env = {k: v for k, v in os.environ.items() if k != "LEV_FLOWS_DEBUG"}
    env.update(COLUMNS="160", LEV_FLOWS_YAHOO_URL=server.url_for("/"), LEV_FLOWS_CACHE=str(tmp_path / "cache"))
    return subprocess.run([*cli_executable(), *args], capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path)


def test_cli_daily_writes_the_report_folder(server, tmp_path, small_yaml):
    yahoo(server)
    res = run_online(server, tmp_path, "daily", "--as-of", "2026-02-04", "-u", str(small_yaml), "--output-dir", "out")
    assert res.returncode == 0, res.stderr
    folder = tmp_path / "out" / "2026-02-04"
    assert sorted(p.name for p in folder.iterdir()) == [
        "by_etf.csv", "by_index.csv", "by_sector.csv", "by_stock.csv", "chart.png", "estimate.json", "report.html"]
    assert (tmp_path / "out" / "index.html").exists()
    doc = json.loads((folder / "estimate.json").read_text())
    assert doc["total"]["rebalance_usd"] == pytest.approx(SMALL_TOTAL, abs=1e-3)
    assert doc["fetch"]["failed"] == {} and doc["fetch"]["mode"] == "close"
    assert (folder / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "wrote out/2026-02-04/" in res.stdout
    # the first round's spark batch left six symbols out (this server does not know them): used,
    # not kept; the second round's one symbol, asked alone on the chart endpoint, is kept
    (kept,) = cache_entries(tmp_path)
    assert "/v8/finance/chart/STK2?" in json.loads(kept.read_text())["url"]


def test_cli_daily_failure_is_one_line_exit_2(server, tmp_path, small_yaml):
    yahoo(server, {"STK2": ["500"], "DDD": ["cut"]})
    res = run_online(server, tmp_path, "daily", "--as-of", "2026-02-04", "-u", str(small_yaml), "--retries", "1")
    assert res.returncode == 2
    lines = res.stderr.splitlines()
    assert len(lines) == 1 and res.stderr.endswith("\n")  # one line, nothing before or after
    assert lines[0].startswith("lev-flows: error: 2 of 9 symbols failed; first: ")
    assert "--allow-partial" in lines[0] and "http://127.0.0.1:" in lines[0]
    assert not (tmp_path / "reports").exists()
    assert cache_entries(tmp_path) == []  # the failures, and the batches that left them out, left nothing behind


def test_cli_daily_allow_partial_lists_failures(server, tmp_path, small_yaml):
    yahoo(server, {"DDD": ["html"]})
    res = run_online(server, tmp_path, "daily", "--as-of", "2026-02-04", "-u", str(small_yaml), "--allow-partial")
    assert res.returncode == 0, res.stderr
    assert "1 of 9 symbols failed and were left out" in res.stdout
    assert "DDD: HTML page instead of JSON" in res.stdout
    doc = json.loads((tmp_path / "reports" / "2026-02-04" / "estimate.json").read_text())
    assert list(doc["fetch"]["failed"]) == ["DDD"]
    assert doc["total"]["rebalance_usd"] == pytest.approx(SMALL_TOTAL - 2e6, abs=1e-3)
    assert doc["coverage"]["aum_with_return"] == pytest.approx(0.95)


def test_cli_estimate_live(server, tmp_path, small_yaml):
    yahoo(server, quote_at="2026-02-04T15:30")
    res = run_online(server, tmp_path, "estimate", "--live", "-u", str(small_yaml), "--now", "2026-02-04T15:30", "--format", "json")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["total"]["rebalance_usd"] == pytest.approx(SMALL_TOTAL, abs=1e-3)
    assert doc["as_of"]["returns_basis"] == "live 15:30 New York vs previous close"
    closed = run_online(server, tmp_path, "estimate", "--live", "-u", str(small_yaml), "--now", "2026-02-04T16:30")
    assert closed.returncode == 2
    assert closed.stderr == (
        "lev-flows: error: --live: New York is not in a session now (the last session, 2026-02-04, has closed)\n")


def test_cli_daily_offline_on_shared_prices(tmp_path, shared):
    from .conftest import run_cli

    res = run_cli("daily", "--as-of", "2026-02-04", "--prices", str(shared / "prices"), "--output-dir", str(tmp_path / "rep"))
    assert res.returncode == 0, res.stderr
    doc = json.loads((tmp_path / "rep" / "2026-02-04" / "estimate.json").read_text())
    from lev_flows import estimate_day

    # the daily run on local tables is the point-in-time estimate of the day, to the dollar
    same = estimate_day("2026-02-04", prices=shared / "prices").total.rebalance_usd
    assert doc["total"]["rebalance_usd"] == pytest.approx(same, abs=1.0)
    assert doc["total"]["rebalance_usd"] == pytest.approx(-13.14e9, abs=0.01e9)
    assert doc["fetch"]["source"].startswith("local files")
    again = run_cli("daily", "--as-of", "2026-02-04", "--prices", str(shared / "prices"), "--output-dir", str(tmp_path / "rep"))
    assert again.returncode == 2 and "already exists; pass --force" in again.stderr
    weekend = run_cli("daily", "--as-of", "2026-02-07", "--prices", str(shared / "prices"), "--output-dir", str(tmp_path / "rep"))
    assert weekend.returncode == 2 and weekend.stderr.strip() == "lev-flows: error: --date 2026-02-07: not a trading day (Saturday)"


def test_local_prices_from_parquet_file_and_folder(tmp_path, small_universe):
    from lev_flows.inputs.sources.local import LocalPrices
    from lev_flows.jobs.daily import run_daily

    one = tmp_path / "closes.parquet"
    SMALL_CLOSES.to_parquet(one)  # date as the index
    folder = tmp_path / "prices"
    folder.mkdir()
    SMALL_CLOSES.reset_index().to_parquet(folder / "us_stocks_close_2026.parquet", index=False)
    day = pd.Timestamp("2026-02-04").date()
    for path in (one, folder):
        result = run_daily(small_universe, LocalPrices(path), as_of=day)
        assert result.estimate.total.rebalance_usd == pytest.approx(SMALL_TOTAL, abs=1e-3)
        assert result.missing == [] and result.failed == {}
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(Exception, match=r"bad.parquet: cannot read the price table"):
        LocalPrices(tmp_path / "bad.parquet").closes(PriceQuery(symbols=["STK1"], start="2026-02-03", end="2026-02-04"))


def test_daily_with_issuer_holdings(server, small_universe, tmp_path):
    from lev_flows.inputs.store import Store
    from lev_flows.jobs.daily import run_daily

    issuers = {"AAA": "ProShares", "BBB": "Direxion", "EEE": "Direxion"}
    uni = small_universe.model_copy(
        update={"funds": [f.model_copy(update={"issuer": issuers.get(f.ticker, "Other")}) for f in small_universe.funds]}
    )
    stale = DIREXION_BBB.replace("BBB", "EEE").replace("02/03/2026", "01/30/2026")
    server.expect_request("/etfdata/ByFund/AAA-psdlyhld.csv").respond_with_handler(serve_text(PROSHARES_AAA))
    server.expect_request("/holdings/BBB.csv").respond_with_handler(serve_text(DIREXION_BBB))
    server.expect_request("/holdings/EEE.csv").respond_with_handler(serve_text(stale))
    client, _ = make_client()
    holdings = IssuerHoldings(client, server.url_for("/"), server.url_for("/"))
    db = tmp_path / "store.duckdb"
    result = run_daily(uni, small_source(server, client), as_of=pd.Timestamp("2026-02-04").date(), holdings_source=holdings, db=db)
    assert result.holdings_used == ["AAA", "BBB"]
    # the files' net assets are stored as observations of the close of 2026-02-03 for later days
    with Store(db) as store:
        obs = store.observations(["AAA", "BBB"])
    assert set(obs["source_kind"]) == {"holdings"} and sorted(obs["ticker"]) == ["AAA", "BBB"]
    assert {str(d)[:10] for d in obs["date"]} == {"2026-02-03"}
    assert result.holdings_failed == {"EEE": "EEE: holdings as of 2026-01-30, not the previous close 2026-02-03; catalog AUM used"}
    assert result.estimate.total.rebalance_usd == pytest.approx(SMALL_TOTAL + 120e6 - 172e6 + 120e6 - 96e6, abs=1e-3)
    assert any(w.startswith("1 issuer holdings files unusable") for w in result.estimate.warnings)


def test_retry_after_is_bounded_by_the_request_budget(server):
    # a 429 with Retry-After: 30 on a 1-second timeout waits at most the request's own budget
    fake = yahoo(server, {"STK2": ["429:30", "429:30", "ok"]})
    client, sleeps = make_client(timeout_s=1.0, deadline_s=3.0)
    table = fetch(server, client)
    assert table.failed == {} and sleeps == [3.0, 3.0] and fake.hits["STK2"] == 3


def test_run_deadline_finishes_partial_with_the_reason(server):
    import time as _time

    yahoo(server, {"STK1": ["sleep:0.6"], "STK2": ["sleep:0.6"], "DDD": ["sleep:0.6"], "BRK.B": ["sleep:0.6"], "^GSPC": ["sleep:0.6"]})
    client, _ = make_client(concurrency=1, run_deadline_s=1.0)
    t0 = _time.monotonic()
    table = fetch(server, client, symbols=("STK1", "STK2", "DDD", "BRK.B", "^GSPC"))
    assert _time.monotonic() - t0 < 3.0  # not five slow answers in a row
    assert table.failed and all("deadline of 1 s has passed" in why for why in table.failed.values())
    assert len(table.failed) >= 2


def test_an_answer_without_the_sessions_bar_is_not_cached(server, tmp_path):
    # just after 16:00 the service has not published 2026-02-04 yet: that answer is used, not kept
    early = SMALL_CLOSES.loc[:"2026-02-03"]
    fake = FakeYahoo(early)
    server.expect_request(CHART).respond_with_handler(fake)
    client, _ = make_client(tmp_path)
    first = fetch(server, client, ["STK1"])
    assert "2026-02-04" not in first.closes.index.strftime("%Y-%m-%d")
    assert cache_entries(tmp_path) == []
    fake.closes = SMALL_CLOSES  # the bar is published
    second = fetch(server, make_client(tmp_path)[0], ["STK1"])
    assert second.closes.loc["2026-02-04", "STK1"] == 95.0 and fake.hits["STK1"] == 2
    assert len(cache_entries(tmp_path)) == 1  # the complete answer is cached


def _edit_cached_body(server, tmp_path, edit):
    """Fetch STK1 once (so one answer is cached), then rewrite that cache entry's body with
    ``edit(body)``; returns the fake server and the client."""
    fake = yahoo(server)
    client, _ = make_client(tmp_path)
    fetch(server, client, ["STK1"])
    (entry,) = cache_entries(tmp_path)
    doc = json.loads(entry.read_text())
    doc["body"] = edit(doc["body"])
    entry.write_text(json.dumps(doc))
    return fake, client


def test_a_cache_entry_edited_into_other_valid_json_is_not_trusted(server, tmp_path):
    fake, _ = _edit_cached_body(server, tmp_path, lambda body: body.replace("95.0", "9.5"))  # valid JSON, another price
    table = fetch(server, make_client(tmp_path)[0], ["STK1"])
    assert table.closes.loc["2026-02-04", "STK1"] == 95.0 and fake.hits["STK1"] == 2


# ---- holdings path made safe: the file must agree with the fund before L*N1 - E1 is used ------

def _proshares(ticker: str, lines: list[str], exposure_header: str = "Exposure Value") -> bytes:
    head = (f"ProShares Test\n{ticker}\nAS OF 02/03/2026\n\n"
            f"Fund Ticker,Fund Name,Security Ticker,Sedol,Description,Coupon,Maturity,Shares,{exposure_header},Market Value\n")
    return (head + "\n".join(f"{ticker},ProShares Test,{line}" for line in lines) + "\n").encode()


def test_a_bill_line_carrying_an_exposure_value_is_set_aside():
    """The reviewer's TQQQ file: a T-bill line with an exposure value. Summed, it made E/N 3.55
    (and TQQQ's -$2.7B a -$18.1B); it is collateral, never exposure."""
    body = _proshares("AAA", [
        ',,TEST INDEX SWAP GOLDMAN SACHS,,,"1","3,000,000,000.00","10,000,000.00"',
        ',,UNITED STATES TREASURY BILL,0,03/05/2026,"1","550,000,000.00","550,000,000.00"',
        ',,NET OTHER ASSETS (LIABILITIES) / CASH,,,,,"440,000,000.00"',
    ])
    h = parse_proshares("AAA", 200, body)
    assert (h.nav_usd, h.exposure_usd, h.set_aside_exposure_usd) == (1e9, 3e9, 5.5e8)


def test_the_exposure_column_is_found_by_its_stable_prefix():
    body = _proshares("AAA", [
        'STK1,1,STOCK ONE,,,"1","1,000,000,000.00","1,000,000,000.00"',
        ',,E-MINI TEST INDEX FUTURES MAR26,,03/20/2026,"40","2,000,000,000.00",0.00',
    ], exposure_header="Exposure Value (Notional + G/L)")
    h = parse_proshares("AAA", 200, body)
    assert (h.exposure_usd, h.futures_exposure_usd) == (3e9, 2e9)


def test_holdings_that_contradict_the_fund_fall_back_and_are_listed(small_universe):
    """Unsigned swap notionals on a -3x fund (E/N = +3) and a x10 exposure both fall back to
    A*L*(L-1)*r with the issuer NAV, named in the warnings; a consistent file is used."""
    from lev_flows.inputs.sources.issuers import FundHoldings

    def h(t, nav, exp):
        return FundHoldings(ticker=t, issuer="ProShares", as_of=None, nav_usd=nav, exposure_usd=exp, positions=2)

    lev = {f.ticker: f.leverage for f in small_universe.funds}
    inverse = next(t for t, L in lev.items() if L == -3)
    est = estimate(small_universe, SMALL_RETURNS, holdings={"AAA": h("AAA", 1e9, 3.05e9), inverse: h(inverse, 4e8, 1.2e9)})
    row = est.by_etf
    assert row.loc["AAA", "rebalance_method"] == "holdings L*N1-E1"
    assert row.loc[inverse, "rebalance_method"] == "A*L*(L-1)*r, A = issuer NAV (holdings E/N +3.00, not L)"
    r = row.loc[inverse, "underlying_return"]
    assert row.loc[inverse, "rebalance_usd"] == pytest.approx(4e8 * -3 * -4 * r)
    assert any(w.startswith(f"{inverse}: holdings exposure / net assets = +3.00, not -3") for w in est.warnings)
    tenfold = estimate(small_universe, SMALL_RETURNS, holdings={"AAA": h("AAA", 1e9, 30.5e9)})
    assert tenfold.by_etf.loc["AAA", "rebalance_method"].endswith("(holdings E/N +30.50, not L)")


# ---- fetch what the estimate needs: batched quotes, funds first ---------------------------------


def test_live_quotes_come_in_spark_batches_with_the_chart_endpoint_as_fallback(server):
    fake = yahoo(server, quote_at="2026-02-04T15:30")
    client, _ = make_client()
    source = YahooChart(client, server.url_for("/"), batch=2)
    table = source.quotes(QuoteQuery(symbols=["STK1", "STK2", "DDD", "BRK.B", "NOPE"]))
    assert fake.hits["spark"] == 3  # five symbols, two a request
    assert table.closes.loc["2026-02-04", "BRK.B"] == 510.0 and table.closes.loc["2026-02-03", "STK1"] == 100.0
    assert list(table.failed) == ["NOPE"] and "/v8/finance/chart/NOPE" in table.failed["NOPE"]  # asked once more, alone
    assert client.requests == 4


def test_a_failing_spark_endpoint_falls_back_to_one_request_per_symbol(server):
    fake = yahoo(server, {"spark": ["html"]}, quote_at="2026-02-04T15:30")
    client, _ = make_client()
    table = YahooChart(client, server.url_for("/")).quotes(QuoteQuery(symbols=["STK1", "STK2", "DDD"]))
    assert fake.hits["spark"] == 1 and table.failed == {}
    assert table.closes.loc["2026-02-04"].to_dict() == {"STK1": 95.0, "STK2": 41.0, "DDD": 51.0}


def test_an_answer_for_another_symbol_is_rejected():
    from lev_flows.inputs.sources.http import BadResponse
    from lev_flows.inputs.sources.yahoo import parse_chart, parse_spark

    body = json.dumps({"chart": {"result": [{"meta": {"symbol": "MSFT", "regularMarketPrice": 1.0}}], "error": None}})
    with pytest.raises(BadResponse, match="the answer is for MSFT, not AAPL"):
        parse_chart("AAPL", 200, body.encode())
    spark = {"spark": {"result": [{"symbol": "BRK-B", "response": [{"meta": {"symbol": "BRK-B"}}]},
                                  {"symbol": "ZZZ", "response": [{"meta": {"symbol": "ZZZ"}}]}], "error": None}}
    assert list(parse_spark("BRK.B,AAPL", 200, json.dumps(spark).encode())) == ["BRK.B"]  # ZZZ was not asked


def test_spark_range_is_the_shortest_that_reaches_the_first_close():
    import datetime as dt

    from lev_flows.inputs.sources.yahoo import spark_range

    today = dt.date(2026, 2, 4)
    assert spark_range(dt.date(2026, 2, 3), today) == "1mo"  # 1 day + 7 to spare: past 5d
    assert spark_range(dt.date(2026, 1, 30), today) == "1mo"  # 5 + 7 = 12 days
    assert spark_range(dt.date(2026, 1, 1), today) == "3mo"  # 34 + 7 = 41 days: more than a month
    assert spark_range(dt.date(2025, 10, 7), today) == "6mo"  # 120 + 7 (the AUM carry's reach)
    assert spark_range(dt.date(2025, 2, 4), today) == "2y"  # 365 + 7
    assert spark_range(dt.date(2021, 2, 1), today) is None  # over five years: the chart endpoint


def test_closes_come_in_spark_batches_and_only_the_unanswered_go_one_by_one(server):
    """Daily closes over the spark endpoint, 20 symbols a request over a range, with the chart
    endpoint only for the symbols a batch left out (issue 31)."""
    import datetime as dt

    from lev_flows.inputs.sources.yahoo import spark_range

    names = [f"S{i:02d}" for i in range(45)]
    closes = pd.DataFrame({n: [10.0 + i, 11.0 + i, 12.0 + i] for i, n in enumerate(names)}, index=SMALL_CLOSES.index)
    fake = yahoo(server, {"S07": ["ok"]}, closes=closes)  # S07: left out of its batch, answered alone
    client, _ = make_client()
    table = fetch(server, client, [*names, "NOPE"])
    assert fake.hits["spark"] == 3 and client.requests == 3 + 2  # 46 symbols: 20 + 20 + 6; S07 and NOPE alone
    span = spark_range(dt.date(2026, 2, 3), fake.today.date())
    assert dict(fake.spark_ranges) == {span: 3}
    assert list(table.failed) == ["NOPE"] and "unknown symbol" in table.failed["NOPE"] and "/chart/NOPE" in table.failed["NOPE"]
    assert table.closes.shape == (2, 45) and table.closes.loc["2026-02-04", "S07"] == 19.0
    assert table.closes.loc["2026-02-03", "S44"] == 55.0 and table.unadjusted == []
    assert list(table.closes.index.date.astype(str)) == ["2026-02-03", "2026-02-04"]  # cut to the query's span


def test_the_flat_spark_shape_reads_too_and_says_its_closes_are_split_adjusted_only(server, small_universe):
    """Yahoo's other spark shape (``{"A": {"symbol", "timestamp", "close", ...}}``) has no
    adjusted closes and no live price: its closes are used and listed as adjusted for splits
    only; its live quotes are asked again on the chart endpoint."""
    from lev_flows.inputs.sources.yahoo import parse_spark
    from lev_flows.jobs.daily import run_daily

    body = {"BRK-B": {"symbol": "BRK-B", "timestamp": [1770129000, 1770215400], "close": [505.0, 510.0],
                      "chartPreviousClose": 500.0, "previousClose": None, "dataGranularity": 86400, "start": None, "end": None},
            "ZZZ": {"symbol": "ZZZ", "timestamp": [1770215400], "close": [1.0]}}
    (chart,) = parse_spark("BRK.B,AAPL", 200, json.dumps(body).encode()).values()  # ZZZ was not asked
    assert chart.symbol == "BRK.B" and [str(d) for d in chart.dates] == ["2026-02-03", "2026-02-04"]
    assert chart.closes == [505.0, 510.0] and chart.previous_close == 500.0 and not chart.adjusted
    assert chart.last_price is None and chart.market_time is None

    fake = FakeYahoo(SMALL_CLOSES, spark_shape="flat")
    server.expect_request(CHART).respond_with_handler(fake)
    client, _ = make_client()
    result = run_daily(small_universe, YahooChart(client, server.url_for("/")), as_of=pd.Timestamp("2026-02-04").date())
    assert result.estimate.total.rebalance_usd == pytest.approx(SMALL_TOTAL, abs=1e-3)
    warning = next(w for w in result.estimate.warnings if "adjusted for splits, not dividends" in w)
    assert warning.startswith("2 symbols' closes from yahoo") and "(DDD, STK1)" in warning  # the first round's batch
    fake.quote_at = pd.Timestamp("2026-02-04T15:30", tz="America/New_York")
    before = fake.requests
    quotes = YahooChart(client, server.url_for("/")).quotes(QuoteQuery(symbols=["STK1", "DDD"]))
    assert quotes.closes.loc["2026-02-04"].to_dict() == {"STK1": 95.0, "DDD": 51.0}
    assert fake.requests - before == 1 + 2  # the batch had no live price: both asked alone


def test_a_live_estimate_fetches_funds_first_and_equals_the_offline_estimate(server, shared, tmp_path):
    """The whole catalog live at 15:30 on 2026-02-04: the funds' own quotes, index symbols,
    tracking ETFs and single stocks in batches (no composition stock), and the same estimate as
    reading those two rows of prices from a local file."""
    from lev_flows.inputs.catalog import load_universe
    from lev_flows.inputs.prices import load_price_dir
    from lev_flows.inputs.sources.local import LocalPrices
    from lev_flows.jobs.daily import fetch_plan, run_daily

    uni = load_universe()
    closes = load_price_dir(shared / "prices").loc["2026-02-03":"2026-02-04"]
    closes = closes.loc[:, closes.notna().all()]  # a quote has a last price and a previous close
    fake = yahoo(server, quote_at="2026-02-04T15:30", closes=closes)
    client, _ = make_client(concurrency=4)
    now = pd.Timestamp("2026-02-04T15:30", tz="America/New_York")
    live = run_daily(uni, YahooChart(client, server.url_for("/")), now=now, force_live=True, allow_partial=True, observations=pd.DataFrame())
    plan = fetch_plan(uni)
    assert live.symbols == len(plan.first)  # no second round: every underlying priced without its members
    members = {s for m in plan.fallback.values() for s in m} - set(plan.first)
    assert not members & set(fake.hits)  # not one composition stock asked
    unknown = [s for s in plan.first if s not in closes.columns]
    assert fake.hits["spark"] == -(-len(plan.first) // 20) and live.requests == fake.hits["spark"] + len(unknown)
    two_rows = tmp_path / "two_rows.parquet"
    closes.to_parquet(two_rows)
    offline = run_daily(uni, LocalPrices(two_rows), as_of=now.date(), allow_partial=True, observations=pd.DataFrame())
    assert live.estimate.total.rebalance_usd == offline.estimate.total.rebalance_usd
    a = live.estimate.by_etf["rebalance_usd"]
    pd.testing.assert_series_equal(a, offline.estimate.by_etf["rebalance_usd"])


# ---- issuer execution timing: the part of the trade in the stocks' closing auctions -------------


def test_closing_auction_part_hand_worked(small_yaml):
    """AAA holds a quarter of its exposure in futures, BBB's swaps reset at 15:00. Flows: AAA
    -120 M, BBB -120 M, CCC -20 M, EEE -4 M (SMALL_TOTAL's terms). In the auctions: AAA 0.75 *
    -120 = -90 M, BBB none, CCC and EEE all: -114 M of the -264 M looked through."""
    from lev_flows import load_universe

    text = small_yaml.read_text()
    text = text.replace("aum_usd: 1.0e9, aum_as_of: 2026-02-04}", "aum_usd: 1.0e9, aum_as_of: 2026-02-04, futures_share: 0.25}", 1)
    text = text.replace("leverage: -3, underlying: IDX, asset_class: equity, aum_usd: 5.0e8, aum_as_of: 2026-02-04}",
                        "leverage: -3, underlying: IDX, asset_class: equity, aum_usd: 5.0e8, aum_as_of: 2026-02-04, swap_reset: 15:00}")
    small_yaml.write_text(text)
    uni = load_universe(small_yaml)
    assert uni.fund_by_ticker["BBB"].swap_reset == "15:00"  # unquoted 15:00 is 900 to YAML 1.1, read back as a time
    est = estimate(uni, SMALL_RETURNS)
    etf = est.by_etf
    assert etf.loc["AAA", "auction_usd"] == pytest.approx(-90e6) and etf.loc["BBB", "auction_usd"] == 0.0
    assert est.total.lookthrough_usd == pytest.approx(-264e6)
    assert est.total.auction_usd == pytest.approx(-90e6 - 20e6 - 4e6)
    # timing known for AAA and BBB: 240 M of the 264 M gross look-through
    assert est.total.auction_timing_known == pytest.approx(240 / 264)
    stock = est.by_stock
    # STK1: 60 % of the IDX funds (AAA -90 M auction, EEE -4 M) + CCC -20 M
    assert stock.loc["STK1", "auction_usd"] == pytest.approx(0.6 * (-90e6 - 4e6) - 20e6)
    assert stock["auction_usd"].sum() == pytest.approx(est.total.auction_usd)


def test_an_issuer_file_gives_the_futures_share(small_universe):
    h = parse_proshares("AAA", 200, PROSHARES_AAA.encode())  # 100 M of futures in 3,050 M of exposure
    est = estimate(small_universe, SMALL_RETURNS, holdings={"AAA": h})
    row = est.by_etf.loc["AAA"]
    assert row["futures_share"] == pytest.approx(100 / 3050)
    assert row["auction_usd"] == pytest.approx(row["rebalance_usd"] * (1 - 100 / 3050))


def test_a_swap_reset_at_or_after_the_close_is_refused(small_yaml):
    from lev_flows import load_universe
    from lev_flows.errors import CatalogError

    small_yaml.write_text(small_yaml.read_text().replace("aum_as_of: 2026-02-04}", "aum_as_of: 2026-02-04, swap_reset: '16:30'}", 1))
    with pytest.raises(CatalogError, match="swap_reset 16:30: only a reset before the 16:00 close"):
        load_universe(small_yaml)


# ---- one odd answer is that symbol's listed failure, never the run's (issue 15, class 3) --------

def _chart_body(meta=None, stamps=(1770215400,), closes=(51.0,)):
    return json.dumps({"chart": {"result": [{"meta": {"symbol": "DDD"} if meta is None else meta,
                                             "timestamp": list(stamps),
                                             "indicators": {"quote": [{"close": list(closes)}]}}], "error": None}})


ODD_ANSWERS = {
    "meta is a list": (_chart_body(meta=[1, 2]), "chart result missing"),
    "closes as text": (_chart_body(closes=("abc",)), "a close is 'abc', not a number"),
    "timestamp out of range": (_chart_body(stamps=(10 ** 20,)), "a timestamp is not a time"),
    "every close null": (_chart_body(closes=(None,)), "every close in the answer is null (an outage, not a quiet day)"),
    "another symbol": (_chart_body(meta={"symbol": "MSFT"}), "the answer is for MSFT, not DDD"),
    "redirect loop": (None, "redirect loop (too many redirects)"),
}


@pytest.mark.parametrize("case", sorted(ODD_ANSWERS))
def test_an_odd_answer_is_the_symbols_failure(server, small_universe, case):
    from werkzeug import Response

    from lev_flows.jobs.daily import run_daily

    body, reason = ODD_ANSWERS[case]
    if body is None:
        server.expect_request("/v8/finance/chart/DDD").respond_with_handler(
            lambda req: Response("", status=302, headers={"Location": "/v8/finance/chart/DDD"}))
    else:
        server.expect_request("/v8/finance/chart/DDD").respond_with_data(body, content_type="application/json")
    client, _ = make_client(attempts=1)
    source = small_source(server, client, faults={"DDD": ["ok"]})  # left out of the spark batch: asked on the chart endpoint
    result = run_daily(small_universe, source, as_of=pd.Timestamp("2026-02-04").date(), allow_partial=True)
    assert list(result.failed) == ["DDD"] and reason in result.failed["DDD"] and "/v8/finance/chart/DDD" in result.failed["DDD"]
    assert result.estimate.total.rebalance_usd == pytest.approx(SMALL_TOTAL - 2e6, abs=1e-3)  # the rest is estimated


def test_when_every_symbol_fails_the_error_gives_the_reason_and_a_url(server, small_universe):
    from lev_flows.jobs.daily import run_daily

    yahoo(server, {s: ["html"] for s in [*SMALL_CLOSES.columns, "spark"]})
    client, _ = make_client(attempts=1)
    with pytest.raises(DataSourceError, match=r"no prices for 2026-02-04: \d+ of \d+ symbols failed; first: \w+: HTML page instead of JSON .*http://127\.0\.0\.1"):
        run_daily(small_universe, small_source(server, client), as_of=pd.Timestamp("2026-02-04").date(), allow_partial=True)


def test_a_cache_entry_with_a_null_body_is_dropped_and_fetched_again(server, tmp_path):
    fake, client = _edit_cached_body(server, tmp_path, lambda body: None)
    table = fetch(server, client, ["STK1"])
    assert table.closes.loc["2026-02-04", "STK1"] == 95.0 and fake.hits["STK1"] == 2


def test_a_holdings_file_with_an_impossible_date_is_that_funds_failure(server):
    bad = PROSHARES_AAA.replace("AS OF 02/03/2026", "AS OF 13/45/2026")
    server.expect_request("/etfdata/ByFund/AAA-psdlyhld.csv").respond_with_data(bad, content_type="text/csv")
    server.expect_request("/holdings/BBB.csv").respond_with_data(DIREXION_BBB, content_type="text/csv")
    client, _ = make_client()
    got, errors = IssuerHoldings(client, server.url_for("/"), server.url_for("/")).fetch({"AAA": "ProShares", "BBB": "Direxion"})
    assert list(got) == ["BBB"] and errors["AAA"].startswith("AAA: date 13/45/2026 is not a date")


def test_an_unparseable_base_url_is_one_line(tmp_path):
    from lev_flows.errors import InputError

    client, _ = make_client()
    with pytest.raises(InputError, match=r"--base-url 'http://\[::1': not a usable URL"):
        YahooChart(client, "http://[::1")
