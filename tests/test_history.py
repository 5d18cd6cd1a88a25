"""History (point in time), tracking validation, creations and Monte Carlo: hand-worked numbers,
properties, and the real 2024-2026 prices."""

from __future__ import annotations

import datetime as dt
import json
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lev_flows import InputError, estimate, load_universe
from lev_flows.analysis.creations import (
    creation_offset,
    creations_at_daily_nav,
    creations_from_aum,
    creations_from_shares,
    implied_creations,
    offset_share,
    read_creations_file,
)
from lev_flows.analysis.history import HEADLINE_FUNDS, history, tracking
from lev_flows.analysis.montecarlo import monte_carlo, sensitivity_by_underlying
from lev_flows.inputs.prices import load_price_dir
from tests.conftest import run_cli

DATES = pd.DatetimeIndex(["2026-02-02", "2026-02-03", "2026-02-04", "2026-02-05"])


def small_closes() -> pd.DataFrame:
    """Closes of the small universe's stocks and gold (GLD, its tracking ETF); IDX = 0.6 STK1 + 0.4 STK2."""
    return pd.DataFrame(
        {"STK1": [100.0, 110.0, 99.0, 99.0], "STK2": [50.0, 50.0, 52.0, 51.0], "GLD": [10.0, 10.0, 10.0, 10.5]},
        index=DATES,
    )


# ---- history on point-in-time AUM ------------------------------------------------------------


def test_history_hand_worked_on_catalog_aum(small_universe):
    """No store observations: the catalog AUM (as of 2026-02-04, read as the close of 02-03) is the
    one observation, carried with AUM ~ price^beta of the fund's kind either side (index funds:
    0.8707 long, 0.2675 inverse, the shipped fit of ``lev-flows reference build``)."""
    from lev_flows.inputs.packaged import carry_elasticity_table

    kinds = carry_elasticity_table()["kinds"]
    b_long, b_inv = kinds["index, long"]["beta"], kinds["index, inverse"]["beta"]
    assert (b_long, b_inv) == (0.8707, 0.2675)
    h = history(small_universe, small_closes(), observations=None)
    assert list(h.daily.index) == list(DATES[1:])
    r_idx = {"2026-02-03": 0.06, "2026-02-04": -0.044}
    # start of 2026-02-04 = the observation itself
    assert h.aum_usd.loc["2026-02-04", "AAA"] == pytest.approx(1e9)
    # start of 2026-02-03 (close of 02-02): carried back over 02-03's +6 % (AAA +18 %, BBB -18 %)
    assert h.aum_usd.loc["2026-02-03", "AAA"] == pytest.approx(1e9 / 1.18**b_long)
    assert h.aum_usd.loc["2026-02-03", "BBB"] == pytest.approx(5e8 / 0.82**b_inv)
    # start of 2026-02-05: carried forward over 02-04's -4.4 %
    assert h.aum_usd.loc["2026-02-05", "AAA"] == pytest.approx(1e9 * (1 - 3 * 0.044) ** b_long)
    # hand-worked flow of 2026-02-04: IDX = 0.6 x -10 % + 0.4 x +4 % = -4.4 %, STK1 -10 %, GLD 0
    expected = 1e9 * 6 * r_idx["2026-02-04"] + 5e8 * 12 * r_idx["2026-02-04"] + 1e8 * 2 * r_idx["2026-02-04"] + 2e8 * 2 * -0.10
    assert h.daily.loc["2026-02-04", "rebalance_usd"] == pytest.approx(expected)
    assert h.daily.loc["2026-02-04", "aum_median_gap"] == 0
    with pytest.raises(InputError, match="after end"):
        history(small_universe, small_closes(), start="2026-02-05", end="2026-02-03")
    with pytest.raises(InputError, match="outside the price table"):
        history(small_universe, small_closes(), start="2020-01-01", end="2020-02-01")


def test_history_does_not_depend_on_the_range(small_universe):
    full = history(small_universe, small_closes())
    part = history(small_universe, small_closes(), start="2026-02-05")
    assert part.daily.loc["2026-02-05", "rebalance_usd"] == full.daily.loc["2026-02-05", "rebalance_usd"]


@pytest.fixture(scope="module")
def closes(shared):
    return load_price_dir(shared / "prices")


def _packaged_observations():
    from lev_flows.jobs.reference import packaged_observations

    return packaged_observations()


@pytest.fixture(scope="module")
def real_history(closes):
    return history(load_universe(), closes, observations=_packaged_observations())


def test_history_real_prices(real_history, closes):
    h = real_history
    assert h.daily.index[0] == pd.Timestamp("2024-01-03") and h.daily.index[-1] == pd.Timestamp("2026-08-21")
    assert pd.Timestamp("2026-05-25") not in h.daily.index  # Memorial Day row of the index table dropped
    # the tariff-pause rally (Nasdaq-100 +12 %) is the largest buying day of the range
    top = h.largest_days(3)
    buy = h.daily["rebalance_usd"].idxmax()
    assert buy == pd.Timestamp("2025-04-09") and pd.Timestamp("2025-04-09") in top.index
    assert top["rank"].tolist() == [1, 2, 3]
    # 2026-02-04 stands out: top 15 % of all days by size
    so = h.stand_out("2026-02-04")
    assert so["abs_percentile"] < 0.15 and so["rebalance_usd"] < 0
    # the number of funds alive grows: 329 catalog funds launched after 2024-01-02
    assert h.daily["funds_launched"].iloc[0] < h.daily["funds_launched"].iloc[-1] - 250
    assert set(h.top_stocks.columns[:3]) <= {"PLTR", "TSLA", "NVDA", "AVGO", "AMD", "MU"}


def test_history_chart(real_history):
    fig = real_history.plot()
    assert type(fig).__name__ == "Figure" and fig.axes[0].get_ylabel() == "rebalance at the close (USD billions)"


# ---- tracking -----------------------------------------------------------------------------


def test_tracking_on_real_prices(closes):
    t = tracking(load_universe(), closes).set_index("ticker")
    for ticker in HEADLINE_FUNDS:
        row = t.loc[ticker]
        assert row["days"] >= 450, ticker
        assert np.sign(row["realised_leverage"]) == np.sign(row["leverage"])
        assert abs(row["realised_leverage"] / row["leverage"] - 1) < 0.05, ticker
        index_fund = row["underlying"] in ("NDX", "SPX", "RTY", "SOX")
        # index funds track within 20 bp on a median day and 75 bp at the 95th percentile;
        # single-stock funds within 15 bp and 150 bp (their swaps reset on wider spreads)
        assert row["median_abs_error"] < (0.0020 if index_fund else 0.0015), ticker
        assert row["p95_abs_error"] < (0.0075 if index_fund else 0.0150), ticker
    assert t.loc["TQQQ", "median_abs_error"] == pytest.approx(0.000492, abs=2e-6)
    assert t.loc["TQQQ", "reference"] == "QQQ" and t.loc["SOXL", "reference"] == "SOXX"


def test_tracking_hand_worked(small_universe):
    # AAA (3x IDX) is not priced; CCC (2x STK1) tracks exactly but for a 10 bp miss on one day
    closes = pd.DataFrame(
        {"STK1": 100 * np.cumprod(np.r_[1, np.full(70, 1.01)]), "CCC": 50 * np.cumprod(np.r_[1, np.full(70, 1.02)])},
        index=pd.bdate_range("2026-01-02", periods=71),
    )
    closes.iloc[10:, 1] *= 1.001
    t = tracking(small_universe, closes)
    assert t["ticker"].tolist() == ["CCC"]
    assert t["median_abs_error"].iloc[0] == pytest.approx(0.0, abs=1e-12)
    assert t["p95_abs_error"].iloc[0] == pytest.approx(0.0, abs=1e-12)
    err = np.abs(closes["CCC"].pct_change() - 2 * closes["STK1"].pct_change()).max()
    assert err == pytest.approx(0.001 * 1.02**10 / (1.02**9), rel=1e-3)


# ---- creations ----------------------------------------------------------------------------


def test_creations_hand_worked():
    shares = pd.DataFrame({"TQQQ": [100.0, 110.0, 105.0]}, index=DATES[:3])
    nav = pd.DataFrame({"TQQQ": [50.0, 52.0, 51.0]}, index=DATES[:3])
    c = creations_from_shares(shares, nav)["TQQQ"]
    assert np.isnan(c.iloc[0])  # unknown, not zero
    assert c.iloc[1:].tolist() == [520.0, -255.0]
    # AUM 100 -> 130 while the fund returned +20 %: 10 of creations
    assert creations_from_aum(100.0, 130.0, 0.20) == pytest.approx(10.0)
    assert offset_share(np.array([-10.0, 5.0]), np.array([4.0, 5.0])) == pytest.approx([0.4, -1.0])


@settings(max_examples=60, deadline=None)
@given(st.floats(min_value=-1e9, max_value=1e9), st.floats(min_value=-0.1, max_value=0.1))
def test_creations_add_l_times_c(small_universe, c, r):
    """Creations of C into an L fund add exactly L * C, beside an unchanged rebalance."""
    base = estimate(small_universe, {"IDX": r})
    with_c = estimate(small_universe, {"IDX": r}, creations={"BBB": c})
    assert with_c.total.rebalance_usd == pytest.approx(base.total.rebalance_usd, rel=1e-12, abs=1e-6)
    assert with_c.total.creation_usd == pytest.approx(-3 * c, rel=1e-12, abs=1e-6)
    off = creation_offset(with_c.by_index).set_index("bucket")
    assert off.loc["total", "creation_usd"] == pytest.approx(-3 * c, rel=1e-12, abs=1e-6)


def test_read_creations_file(tmp_path):
    good = tmp_path / "c.csv"
    good.write_text("ticker,shares_change,nav\ntqqq,1000,50\nSOXL,-200,40\n")
    assert read_creations_file(good) == {"TQQQ": 50000.0, "SOXL": -8000.0}
    for text, msg in [
        ("ticker,usd\nTQQQ,1\n", "creations_usd"),
        ("ticker,creations_usd\nTQQQ,abc\n", "line 2: TQQQ"),
        ("ticker,creations_usd\nTQQQ,1\nTQQQ,2\n", "twice"),
        ("", "empty creations CSV"),
    ]:
        bad = tmp_path / "bad.csv"
        bad.write_text(text)
        with pytest.raises(InputError, match=msg):
            read_creations_file(bad)


def test_implied_creations_hand_worked(small_universe):
    # AAA: 1B at the start of 2026-02-03; IDX +6 % then -4.4 %: performance (1.18)(0.868) - 1
    start = {"AAA": (1e9, dt.date(2026, 2, 3)), "CCC": (2e8, dt.date(2026, 2, 3))}
    end = {"AAA": (1.1e9, dt.date(2026, 2, 5)), "CCC": (2e8, dt.date(2026, 2, 5))}
    t = implied_creations(small_universe, small_closes(), start, end).set_index("ticker")
    perf = 1.18 * (1 - 3 * 0.044) - 1
    assert t.loc["AAA", "performance"] == pytest.approx(perf)
    # each day's creations at that day's NAV, on the point in time's share path (its start-of-day
    # AUM of 02-03, 02-04 and 02-05) shifted to meet the snapshots (worked by hand, with observed
    # closes, in tests/test_creations_nav.py)
    path = history(small_universe, small_closes()).aum_usd["AAA"].to_numpy()[:, None]
    R = np.array([[0.18], [-3 * 0.044]])
    assert t.loc["AAA", "creations_usd"] == pytest.approx(creations_at_daily_nav(np.array([1e9]), np.array([1.1e9]), R, path)[0])
    assert t.loc["AAA", "creations_basis"] == "AUM path x NAV"
    assert t.loc["AAA", "creation_exposure_usd"] == pytest.approx(3 * t.loc["AAA", "creations_usd"])
    # the rebalance is on the point-in-time AUM (the catalog's 1B at the close of 02-03)
    reb = 1e9 / 1.18**0.8707 * 6 * 0.06 + 1e9 * 6 * -0.044  # carried back at the index funds' 0.8707
    assert t.loc["AAA", "rebalance_usd"] == pytest.approx(reb)
    with pytest.raises(InputError, match="must come after"):
        implied_creations(small_universe, small_closes(), end, start)


def test_implied_creations_real_snapshots(shared, closes):
    from lev_flows.inputs.sources.screener import import_snapshot

    def aum(name):
        snap = import_snapshot(shared / "letf_snapshots" / name)
        return {f["ticker"]: (f.get("aum_usd"), f.get("aum_as_of")) for f in snap.funds}

    t = implied_creations(
        load_universe(), closes, aum("leveraged_etfs_2026-03-01.csv"), aum("leveraged_etfs_2026-06-01.csv"),
        observations=_packaged_observations(),
    )
    assert t.attrs["start"] == "2026-02-20" and t.attrs["end"] == "2026-06-01"
    soxl = t.set_index("ticker").loc["SOXL"]
    # SOXL more than tripled on performance but its AUM only doubled: $18.6B redeemed at the
    # end-of-period NAV, $8.8B at the NAVs of the days the units went (its point-in-time share
    # path, pinned by the monthly snapshots), offsetting over half its rebalancing buying (the
    # Ivanov-Lenkey effect)
    assert soxl["performance"] == pytest.approx(2.439, abs=0.01)
    assert creations_from_aum(soxl["aum_start_usd"], soxl["aum_end_usd"], soxl["performance"]) / 1e9 == pytest.approx(-18.6, abs=0.1)
    assert soxl["creations_usd"] / 1e9 == pytest.approx(-8.8, abs=0.1)
    assert 0.5 < soxl["offset_share"] < 0.7
    total = -t["creation_exposure_usd"].sum() / t["rebalance_usd"].sum()
    assert 0.4 < total < 0.6


# ---- Monte Carlo --------------------------------------------------------------------------


def test_monte_carlo_hand_worked(small_universe):
    # the same day repeated: demeaned, every scenario is zero (a drift is not a forecast)
    closes = pd.DataFrame(
        {"STK1": 100 * 0.99 ** np.arange(31), "STK2": 50 * 1.01 ** np.arange(31), "GLD": 10 * 1.02 ** np.arange(31)},
        index=pd.bdate_range("2026-01-02", periods=31),
    )
    for vol in ("none", "ewma"):
        res = monte_carlo(small_universe, closes, n=1000, lookback=30, vol=vol)
        assert res.totals == pytest.approx(np.zeros(1000), abs=1e-3)
        assert res.coverage == 1.0 and res.left_out == []
    s = sensitivity_by_underlying(small_universe)
    assert s.sum() == pytest.approx(1e9 * 6 + 5e8 * 12 + 1e8 * 2 + 2e8 * 2 + 1e8 * 2)


def test_monte_carlo_real(closes):
    uni = load_universe()
    a = monte_carlo(uni, closes, n=20_000, seed=7, end="2026-08-03")
    b = monte_carlo(uni, closes, n=20_000, seed=7, end="2026-08-03")
    assert np.array_equal(a.totals, b.totals)  # same seed, same draw
    q = a.quantiles["total"]
    assert q.is_monotonic_increasing
    # a 1-in-100 down day sells more than $15B, and the buckets add up to the total
    assert q.loc[0.01] < -15e9 and q.loc[0.99] > 15e9
    assert a.quantiles.drop(columns=["total", "total_lo", "total_hi"]).sum(axis=1).loc[0.5] == pytest.approx(
        np.quantile(a.totals, 0.5), rel=0.5
    )
    assert a.coverage > 0.95  # the funds' own prices stand in where no index or ETF series exists
    normal = monte_carlo(uni, closes, n=20_000, method="normal", seed=7, end="2026-08-03")
    assert abs(normal.quantiles.loc[0.5, "total"]) < 0.5e9  # zero-mean normal
    assert np.std(normal.totals) == pytest.approx(np.std(a.totals), rel=0.25)
    for kwargs, msg in [({"method": "garch"}, "method"), ({"n": 0}, "scenarios"), ({"lookback": 5}, "too short")]:
        with pytest.raises(InputError, match=msg):
            monte_carlo(uni, closes, **kwargs)


# ---- CLI ----------------------------------------------------------------------------------


def test_cli_history_tracking_creations_montecarlo(tmp_path, shared):
    prices = str(shared / "prices")
    out = run_cli("history", "--start", "2026-01-02", "--end", "2026-02-27", "--prices", prices, "--format", "json")
    assert out.returncode == 0, out.stderr
    rows = {r["date"][:10]: r for r in json.loads(out.stdout)}
    assert rows["2026-02-04"]["rebalance_usd"] / 1e9 == pytest.approx(-13.14, abs=0.01)
    chart = tmp_path / "h.png"
    out = run_cli("history", "--prices", prices, "--top", "3", "--chart", chart)
    assert out.returncode == 0, out.stderr
    assert "2025-04-09" in out.stdout and "2026-02-04: -13.14B" in out.stdout
    assert "exceeds 10 sessions" in out.stderr  # 2024-2025 days are far from any AUM observation
    assert chart.read_bytes()[:4] == b"\x89PNG"
    out = run_cli("tracking", "--prices", prices, "--format", "csv")
    assert out.returncode == 0 and out.stdout.splitlines()[1].startswith("TQQQ,3.0,NDX,QQQ")
    snaps = shared / "letf_snapshots"
    out = run_cli(
        "creations", "--from", snaps / "leveraged_etfs_2026-03-01.csv", "--to", snaps / "leveraged_etfs_2026-06-01.csv",
        "--prices", prices,
    )
    assert out.returncode == 0, out.stderr
    assert "offset 49%" in out.stdout and "SOXL" in out.stdout
    out = run_cli("montecarlo", "--prices", prices, "--scenarios", "5000", "--format", "json")
    assert out.returncode == 0, out.stderr
    assert [r["quantile"] for r in json.loads(out.stdout)] == [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99]


@pytest.mark.parametrize(
    "args, message",
    [
        (["history", "--start", "2026-13-01"], "is not a date"),
        (["history", "--start", "2026-03-01", "--end", "2026-02-01"], "after end"),
        (["history", "--prices", "/nonexistent"], "not a directory"),
        (["montecarlo", "--method", "garch"], "garch.*is not one of"),
        (["montecarlo", "--scenarios", "0"], "--scenarios.*greater than or equal to 1"),
        (["creations", "--from", "/nonexistent.csv", "--to", "/nonexistent.csv"], "nonexistent"),
    ],
)
def test_cli_analysis_bad_input(args, message, shared):
    out = run_cli(*args)
    assert out.returncode == 2, out.stderr
    assert re.search(message, out.stderr) and len(out.stderr.strip().splitlines()) == 1


def test_parsed_price_tables_are_kept_and_equal_the_parse(tmp_path, monkeypatch, shared):
    """The joined, session-checked price tables are kept in the cache, keyed by the files'
    names and identity (size, times, inode; nothing read) and checked by their own SHA-256:
    the copy equals the parse (values, dtypes, order, dropped dates), an edited file misses it,
    and a damaged copy is parsed again and rewritten."""
    import shutil

    from lev_flows.inputs.prices import _parsed_path, load_price_dir
    from lev_flows.io import CACHE_MAGIC

    monkeypatch.setenv("LEV_FLOWS_CACHE", str(tmp_path / "cache"))
    prices = tmp_path / "prices"
    prices.mkdir()
    for f in (shared / "prices").glob("*_close_*"):
        shutil.copy(f, prices / f.name)
    parsed = load_price_dir(prices)
    kept = list((tmp_path / "cache" / "prices").glob("*.prices"))
    assert len(kept) == 1
    again = load_price_dir(prices)
    pd.testing.assert_frame_equal(again, parsed, check_freq=True)
    assert again.attrs == parsed.attrs == {"dropped_dates": ["2026-05-25"]}
    kept[0].write_bytes(b"not a copy")  # damaged: parsed again, and the copy rewritten
    pd.testing.assert_frame_equal(load_price_dir(prices), parsed)
    assert kept[0].read_bytes().startswith(CACHE_MAGIC)
    indexes = next(prices.glob("us_indexes_close_*"))
    frame = pd.read_csv(indexes, index_col=0)
    (frame * 2).to_csv(indexes.with_suffix(""), lineterminator="\n")  # an edited file is a new key
    indexes.unlink()
    edited = load_price_dir(prices)
    assert len(list((tmp_path / "cache" / "prices").glob("*.prices"))) == 2
    pd.testing.assert_series_equal(edited["^VIX"], parsed["^VIX"] * 2)
    monkeypatch.setenv("LEV_FLOWS_CACHE", str(tmp_path / "other"))  # a parse with no copy to read
    pd.testing.assert_frame_equal(load_price_dir(prices), edited)
    assert _parsed_path("x").parent == tmp_path / "other" / "prices"
    import lev_flows.inputs.prices

    monkeypatch.setattr(lev_flows.inputs.prices, "PARSED_KEEP", 1)  # only the newest copies are kept
    (frame * 3).to_csv(indexes.with_suffix(""), lineterminator="\n")
    load_price_dir(prices)
    assert len(list((tmp_path / "other" / "prices").glob("*.prices"))) == 1
