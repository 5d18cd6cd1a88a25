"""``watch``: the live estimate refreshed into the close, over a loopback Yahoo with a fake clock
(refreshes, a dropped source that goes stale and recovers, Ctrl-C keeping the record)."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd
import pytest

from lev_flows.inputs.sources.http import HttpClient, HttpSettings
from lev_flows.inputs.sources.yahoo import YahooChart
from lev_flows.jobs.watch import MarketClosed, intraday_path, watch

from .servers import FakeYahoo
from .test_sources import SMALL_CLOSES, SMALL_TOTAL

NY = "America/New_York"
pytestmark = pytest.mark.clock
SPARK_OR_CHART = re.compile(r"^/v8/finance/(chart/.+|spark)$")


class FakeClock:
    """Starts at ``start``; ``sleep`` moves it on (and the server's quote time with it) and runs
    ``at_sleep(n)`` hooks keyed by the sleep's number, for faults that begin mid-session."""

    def __init__(self, start: str, fake: FakeYahoo, at_sleep=None):
        self.t = pd.Timestamp(start, tz=NY)
        self.fake = fake
        self.fake.quote_at = self.t
        self.sleeps: list[float] = []
        self.at_sleep = at_sleep or {}

    def now(self) -> pd.Timestamp:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t = self.t + pd.Timedelta(seconds=seconds)
        self.fake.quote_at = self.t
        hook = self.at_sleep.get(len(self.sleeps))
        if hook is not None:
            hook()


@pytest.fixture
def live(server):
    fake = FakeYahoo(SMALL_CLOSES.copy())
    server.expect_request(SPARK_OR_CHART).respond_with_handler(fake)
    client = HttpClient(HttpSettings(attempts=1, timeout_s=2.0, concurrency=4))
    yield fake, YahooChart(client, server.url_for("/"), quotes_ttl_s=0)
    client.close()


def test_watch_refreshes_to_the_close_and_records_each(live, small_universe, tmp_path):
    fake, source = live
    db = tmp_path / "store.duckdb"
    clock = FakeClock("2026-02-04 15:57:30", fake, {1: lambda: fake.live_prices.update({"STK1": 90.0})})
    seen = []
    refreshes = watch(small_universe, source, clock=clock, db=db, interval_s=60, on_refresh=lambda r, all_: seen.append(r.at))
    # 15:57:30, 15:58:30, 15:59:30; the next would be at 16:00:30, past the close
    assert [f"{r.at:%H:%M:%S}" for r in refreshes] == ["15:57:30", "15:58:30", "15:59:30"] and seen == [r.at for r in refreshes]
    assert all(r.ok for r in refreshes) and clock.sleeps == [60.0, 60.0]
    assert refreshes[0].total_usd == pytest.approx(SMALL_TOTAL, abs=1e-3)
    # STK1 at 90 (-10 %) from the second refresh: CCC trades 2e8 * 2 * 1 * -10 % = -40 M instead of -20 M,
    # and IDX (60 % STK1) moves from -2 % to -5 %: AAA 1e9*6*-5% = -300 M, BBB 5e8*12*-5% = -300 M, EEE 1e8*2*-5% = -10 M
    assert refreshes[1].total_usd == pytest.approx(-300e6 - 300e6 - 40e6 + 2e6 - 10e6, abs=1e-3)
    assert refreshes[1].change_usd(refreshes[0]) == pytest.approx(refreshes[1].total_usd - SMALL_TOTAL)
    path = intraday_path(dt.date(2026, 2, 4), db)
    assert len(path) == 3 and path["ok"].all()
    assert path["total_usd"].tolist() == pytest.approx([r.total_usd for r in refreshes])
    assert np.isnan(path["change_usd"].iloc[0]) and path["change_usd"].iloc[2] == pytest.approx(0.0)
    assert path["index: Test index"].iloc[0] == pytest.approx(-120e6 - 120e6 - 4e6)


def test_a_refresh_reads_no_note_context(live, small_universe, tmp_path, monkeypatch):
    """A refresh needs the estimate only: not the published desk figures, history or liquidity a
    daily report's note shows (each refresh used to read the published-estimates file)."""
    import lev_flows.analysis.scorecard
    import lev_flows.jobs.daily

    def refuse(*args, **kwargs):
        raise AssertionError("a watch refresh read the note context")

    monkeypatch.setattr(lev_flows.analysis.scorecard, "published_for", refuse)
    monkeypatch.setattr(lev_flows.jobs.daily, "_note_context", refuse)
    fake, source = live
    refreshes = watch(small_universe, source, clock=FakeClock("2026-02-04 15:59:00", fake), db=tmp_path / "s.duckdb", interval_s=60)
    assert len(refreshes) == 1 and refreshes[0].ok, refreshes[0].error


def test_a_dropped_source_shows_stale_and_recovers(live, small_universe, tmp_path):
    fake, source = live
    db = tmp_path / "store.duckdb"

    def drop():
        fake.faults = {s: ["500"] for s in [*SMALL_CLOSES.columns, "spark"]}

    def back():
        fake.faults = {}

    clock = FakeClock("2026-02-04 15:30", fake, {1: drop, 3: back})
    refreshes = watch(small_universe, source, clock=clock, db=db, interval_s=60, count=4)
    assert [r.ok for r in refreshes] == [True, False, False, True]
    stale = refreshes[1]
    assert stale.stale_since == refreshes[0].at and stale.total_usd == refreshes[0].total_usd  # the last good numbers
    assert "no prices for 2026-02-04" in stale.error
    assert refreshes[3].stale_since is None and refreshes[3].total_usd == pytest.approx(SMALL_TOTAL, abs=1e-3)
    path = intraday_path(dt.date(2026, 2, 4), db)
    assert path["ok"].tolist() == [True, False, False, True]
    assert path["total_usd"].isna().tolist() == [False, True, True, False]  # a stale refresh records no number
    assert path["change_usd"].iloc[3] == pytest.approx(0.0)  # against the last good one, 15:30


def test_ctrl_c_keeps_what_was_recorded(live, small_universe, tmp_path):
    fake, source = live
    db = tmp_path / "store.duckdb"

    def interrupt():
        raise KeyboardInterrupt

    clock = FakeClock("2026-02-04 15:30", fake, {2: interrupt})
    with pytest.raises(KeyboardInterrupt):
        watch(small_universe, source, clock=clock, db=db, interval_s=30)
    path = intraday_path(dt.date(2026, 2, 4), db)
    assert [f"{t:%H:%M:%S}" for t in path["at"]] == ["15:30:00", "15:30:30"]


def test_outside_market_hours_it_says_when_the_next_session_opens(live, small_universe, tmp_path):
    fake, source = live
    with pytest.raises(MarketClosed, match=r"the next session opens Thu 2026-02-05 09:30 New York"):
        watch(small_universe, source, clock=FakeClock("2026-02-04 16:05", fake), db=tmp_path / "s.duckdb")
    with pytest.raises(MarketClosed, match=r"\(Sat 2026-02-07 .*opens Mon 2026-02-09 09:30"):
        watch(small_universe, source, clock=FakeClock("2026-02-07 12:00", fake), db=tmp_path / "s.duckdb")
    assert MarketClosed.exit_code == 0


def test_before_the_start_it_waits_for_it(live, small_universe, tmp_path):
    fake, source = live
    clock = FakeClock("2026-02-04 14:58:20", fake)
    waited = []
    refreshes = watch(small_universe, source, clock=clock, db=tmp_path / "s.duckdb", count=1, on_wait=waited.append)
    assert clock.sleeps == [100.0] and [f"{r.at:%H:%M:%S}" for r in refreshes] == ["15:00:00"]
    assert f"{waited[0]:%H:%M}" == "15:00"


def test_nothing_recorded_is_an_error_naming_the_sessions(tmp_path):
    with pytest.raises(Exception, match=r"no watch refreshes recorded for 2026-02-04 .*sessions recorded: none yet"):
        intraday_path(dt.date(2026, 2, 4), tmp_path / "empty.duckdb")


# ---- the command ---------------------------------------------------------------------------------


def _cli(server, tmp_path, *args, **popen):
    import os
    import subprocess

    from .conftest import cli_executable

    env = {k: v for k, v in os.environ.items() if k != "LEV_FLOWS_DEBUG"}
    env.update(COLUMNS="160", LEV_FLOWS_YAHOO_URL=server.url_for("/"), LEV_FLOWS_DB=str(tmp_path / "store.duckdb"))
    cmd = [*cli_executable(), *args]
    if popen:
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path)


def test_cli_watch_to_the_close_then_replay_as_table_csv_and_chart(live, tmp_path, small_yaml, server):
    fake, _ = live
    fake.quote_at = pd.Timestamp("2026-02-04 15:59", tz=NY)
    res = _cli(server, tmp_path, "watch", "-u", str(small_yaml), "--now", "2026-02-04T15:58", "--interval", "1", "--count", "3")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert all(re.match(r"15:58:0\d  total ", line) for line in lines[:3]) and len(lines) == 4
    assert "total -262.0M  change n/a" in lines[0] and "change 0  " in lines[1]
    assert lines[3].startswith("3 refreshes of 2026-02-04 recorded in ") and "--replay 2026-02-04" in lines[3]
    rep = _cli(server, tmp_path, "watch", "--replay", "2026-02-04", "--output", "path.csv", "--chart", "path.svg")
    assert rep.returncode == 0, rep.stderr
    path = pd.read_csv(tmp_path / "path.csv")
    assert len(path) == 3 and path["total_usd"].tolist() == pytest.approx([SMALL_TOTAL] * 3)
    assert (tmp_path / "path.svg").read_text().lstrip().startswith("<?xml")
    table = _cli(server, tmp_path, "watch", "--replay", "2026-02-04")
    assert "Live estimate through the afternoon of 2026-02-04" in table.stdout and "-262.0M" in table.stdout


def test_cli_watch_outside_market_hours_exits_0_with_the_next_open(live, tmp_path, small_yaml, server):
    res = _cli(server, tmp_path, "watch", "-u", str(small_yaml), "--now", "2026-02-04T17:00")
    assert res.returncode == 0 and res.stdout == (
        "lev-flows: New York is not in a session now (Wed 2026-02-04 17:00); the next session opens Thu 2026-02-05 09:30 New York\n")
    bad = _cli(server, tmp_path, "watch", "--chart", "x.png")
    assert bad.returncode == 2 and "give --replay DATE" in bad.stderr


def test_cli_watch_ctrl_c_exits_130_and_keeps_the_record(live, tmp_path, small_yaml, server):
    import signal

    fake, _ = live
    fake.quote_at = pd.Timestamp("2026-02-04 15:30", tz=NY)
    proc = _cli(server, tmp_path, "watch", "-u", str(small_yaml), "--now", "2026-02-04T15:30", "--interval", "1", popen=True)
    seen = [proc.stdout.readline(), proc.stdout.readline()]  # two refreshes on record
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert all(line.startswith("15:30:0") for line in seen)
    assert err.splitlines()[-1] == "lev-flows: interrupted" and "stopped; " in err
    path = intraday_path(dt.date(2026, 2, 4), tmp_path / "store.duckdb")
    assert len(path) >= 2 and path["ok"].all()


def test_on_an_early_close_the_watch_starts_as_long_before_it(live, small_universe, tmp_path):
    """2026-11-27, the day after Thanksgiving, closes at 13:00: the 15:00 default becomes 12:00."""
    from lev_flows.jobs.watch import watch_window

    session, first, end = watch_window(pd.Timestamp("2026-11-27 11:00", tz=NY))
    assert (str(session), f"{first:%H:%M}", f"{end:%H:%M}") == ("2026-11-27", "12:00", "13:00")
    _, first, end = watch_window(pd.Timestamp("2026-11-25 11:00", tz=NY))
    assert (f"{first:%H:%M}", f"{end:%H:%M}") == ("15:00", "16:00")


def test_a_store_locked_by_another_process_does_not_end_the_watch(live, small_universe, tmp_path, monkeypatch):
    from lev_flows.inputs.store import Store, StoreError

    fake, source = live
    db = tmp_path / "store.duckdb"
    calls = {"n": 0}
    real = Store.add_refresh

    def locked_once(self, row):  # the second refresh finds the store locked (after its wait)
        calls["n"] += 1
        if calls["n"] == 2:
            raise StoreError(f"{db}: the store is locked by another lev-flows process; try again when it ends")
        return real(self, row)

    monkeypatch.setattr(Store, "add_refresh", locked_once)
    refreshes = watch(small_universe, source, clock=FakeClock("2026-02-04 15:30", fake), db=db, interval_s=60, count=3)
    assert [r.ok for r in refreshes] == [True, True, True]
    assert refreshes[1].error.startswith("not recorded: ") and "locked by another" in refreshes[1].error
    assert len(intraday_path(dt.date(2026, 2, 4), db)) == 2  # the first and the third


def test_a_scoped_watch_records_its_scope_and_replays_apart(live, small_universe, tmp_path):
    """``watch --scope``: the refreshes of one scope are recorded as that scope's and read back
    apart from the all-funds path of the same afternoon."""
    from lev_flows.errors import InputError
    from lev_flows.model.scope import in_scope

    fake, source = live
    db = tmp_path / "store.duckdb"
    watch(small_universe, source, clock=FakeClock("2026-02-04 15:58:30", fake), db=db, interval_s=60, count=1)
    equity = in_scope(small_universe, "equity")  # DDD (gold) is out
    scoped = watch(equity, source, clock=FakeClock("2026-02-04 15:59:00", fake), db=db, interval_s=60, count=1,
                   scope="equity")
    assert scoped[0].total_usd == pytest.approx(SMALL_TOTAL - 1e8 * 2 * 1 * 0.01, abs=1e-3)  # without DDD's +2M
    everything, only = intraday_path(dt.date(2026, 2, 4), db), intraday_path(dt.date(2026, 2, 4), db, "equity")
    assert len(everything) == 1 and everything["total_usd"].iloc[0] == pytest.approx(SMALL_TOTAL, abs=1e-3)
    assert len(only) == 1 and only["total_usd"].iloc[0] == pytest.approx(scoped[0].total_usd)
    with pytest.raises(InputError, match="no watch refreshes recorded for 2026-02-04 on scope crypto"):
        intraday_path(dt.date(2026, 2, 4), db, "crypto")
