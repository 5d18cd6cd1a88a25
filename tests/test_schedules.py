"""Reset schedules, ETN exclusion, futures/ETF look-through, the beta-weighted ladder and the
Monte Carlo a risk manager would sign."""

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from lev_flows import estimate, load_universe
from lev_flows.errors import InputError
from lev_flows.model.pointintime import reset_schedule
from tests.conftest import SMALL_UNIVERSE, run_cli


@pytest.fixture(scope="module")
def inputs():
    from lev_flows.model.day import load_inputs

    return load_inputs(None, None, None)


# ---- reset schedules -----------------------------------------------------------------------


def test_reset_schedule_by_hand(small_universe):
    # sessions 2026-01-26 .. 2026-02-03: January's last session is 01-30; the table starts
    # mid-month, so January's period is not whole (NaN); weekly is not in this universe
    sessions = pd.DatetimeIndex(["2026-01-26", "2026-01-27", "2026-01-28", "2026-01-29", "2026-01-30", "2026-02-02", "2026-02-03"])
    F = len(small_universe.funds)
    r = np.full((7, F), 0.01)
    aum = np.arange(7 * F, dtype=float).reshape(7, F) + 100.0
    resets, R, A0, start = reset_schedule(small_universe, sessions, r, aum)
    fff = [f.ticker for f in small_universe.funds].index("FFF")  # the monthly fund
    assert resets[:, fff].tolist() == [False, False, False, False, True, False, False]
    assert np.isnan(R[4, fff])  # January began before the table: its return is unknown, not 0
    assert resets[:, 0].all() and np.array_equal(R[:, 0], r[:, 0])  # daily funds untouched
    # a table that starts with the month: the period return compounds, A0 is the period start's
    sessions2 = pd.DatetimeIndex(pd.bdate_range("2026-02-02", "2026-02-27"))
    r2 = np.full((len(sessions2), F), 0.01)
    r2[3, fff] = -0.02
    aum2 = np.tile(np.linspace(100, 200, len(sessions2))[:, None], (1, F))
    resets2, R2, A02, start2 = reset_schedule(small_universe, sessions2, r2, aum2)
    last = len(sessions2) - 1  # 02-27, the last session of February (02-16 is a holiday: not in bdate? it is)
    assert resets2[last, fff] and resets2[:, fff].sum() == 1
    assert R2[last, fff] == pytest.approx(1.01 ** (len(sessions2) - 1) * 0.98 - 1)
    assert A02[last, fff] == 100.0 and start2[last, fff] == 0


def test_quarterly_fund_trades_on_its_reset_day_only(inputs, shared):
    from lev_flows import estimate_day
    from lev_flows.analysis.history import history_range
    from lev_flows.inputs.prices import read_close_table

    q_end = estimate_day("2026-03-31", inputs=inputs).by_etf
    before = estimate_day("2026-03-30", inputs=inputs).by_etf
    assert before.loc["QQQP", "rebalance_usd"] == 0 and before.loc["QQQP", "status"] == "no reset today"
    qqq = read_close_table(next((shared / "prices").glob("funds_close_*")))["QQQ"]
    R = qqq.loc["2026-03-31"] / qqq.loc["2025-12-31"] - 1  # the quarter's return of the underlying
    row = q_end.loc["QQQP"]
    assert row["underlying_return"] == pytest.approx(R, rel=1e-9)
    a0 = inputs.pit.aum_usd[inputs.pit.row("2026-01-02"), list(inputs.pit.tickers).index("QQQP")]
    assert row["aum_usd"] == pytest.approx(a0) and row["rebalance_usd"] == pytest.approx(a0 * 2 * 1 * R)
    assert "quarterly reset: underlying return 2026-01-02 .. 2026-03-31 (61 sessions)" in row["return_method"]
    h = history_range("2026-03-30", "2026-03-31", inputs=inputs)
    assert h.rebalance_by_fund.loc["2026-03-31", "QQQP"] == pytest.approx(row["rebalance_usd"])
    assert h.daily.loc["2026-03-31", "rebalance_usd"] == pytest.approx(estimate_day("2026-03-31", inputs=inputs).total.rebalance_usd)


def test_dated_plain_returns_on_a_reset_day_leave_the_period_fund_unknown(small_universe):
    # 2026-01-30 is January's last session: the monthly fund's period return is not in one
    # day's returns, so it is listed as missing, not traded on the day's move nor 0
    est = estimate(small_universe, {"IDX": -0.02, "STK1": -0.05, "GOLD": 0.01}, date="2026-01-30")
    fff = est.by_etf.loc["FFF"]
    assert np.isnan(fff["rebalance_usd"]) and "FFF" in dict(est.coverage.missing_returns)
    mid = estimate(small_universe, {"IDX": -0.02, "STK1": -0.05, "GOLD": 0.01}, date="2026-01-29")
    assert mid.by_etf.loc["FFF", "status"] == "no reset today"


# ---- ETNs ----------------------------------------------------------------------------------


def test_etns_flagged_and_excluded_everywhere(inputs):
    from lev_flows import estimate_day
    from lev_flows.analysis.history import history_range

    full = estimate_day("2026-02-04", inputs=inputs)
    ex = estimate_day("2026-02-04", inputs=inputs, exclude_etns=True)
    by = full.by_etf
    etn = by[by["structure"] == "ETN"]
    assert "FNGU" in etn.index and len(etn) > 20
    exb = ex.by_etf
    assert (exb.loc[etn.index, "status"] == "excluded (ETN)").all() and exb.loc[etn.index, "rebalance_usd"].isna().all()
    assert ex.coverage.n_funds_excluded == len(etn)
    assert ex.total.rebalance_usd == pytest.approx(full.total.rebalance_usd - np.nansum(etn["rebalance_usd"]))
    h = history_range("2026-02-04", "2026-02-04", inputs=inputs, exclude_etns=True)
    assert h.daily["rebalance_usd"].iloc[0] == pytest.approx(ex.total.rebalance_usd)


def test_cli_exclude_etns_on_estimating_commands(shared):
    prices = str(shared / "prices")
    a = run_cli("estimate", "--date", "2026-02-04", "--prices", prices, "--format", "json", "--exclude-etns")
    b = run_cli("estimate", "--date", "2026-02-04", "--prices", prices, "--format", "json")
    assert a.returncode == 0 and b.returncode == 0, a.stderr + b.stderr
    ja, jb = json.loads(a.stdout), json.loads(b.stdout)
    assert ja["total"]["rebalance_usd"] > jb["total"]["rebalance_usd"]  # the ETNs sold too
    for cmd in (["history", "--start", "2026-02-04", "--end", "2026-02-04"], ["ladder"], ["liquidity"],
                ["montecarlo", "--scenarios", "1000"], ["scorecard"]):
        res = run_cli(*cmd, "--prices", prices, "--exclude-etns", "--format", "csv")
        assert res.returncode == 0, (cmd, res.stderr)


# ---- look-through of futures and ETF lines -------------------------------------------------


def test_futures_and_etf_lines_look_through(tmp_path):
    from lev_flows.model.estimate import compiled

    shipped = compiled(load_universe())
    assert not [t for t in shipped.stock_tickers if t.endswith("Z5")]  # IXTZ5, RTYZ5, ... gone
    text = SMALL_UNIVERSE.replace(
        "weights: {STK1: 0.6, STK2: 0.4}", "weights: {STK1: 0.5, STK2: 0.3, ESZ5: 0.1, IDXZ5: 0.1}"
    ).replace("stocks:\n", "  - {id: SPX, name: S&P 500, kind: index, asset_class: equity, bucket: S&P 500,"
              " composition: {as_of: 2025-10-04, source: test, weights: {STK2: 1.0}}}\nstocks:\n")
    path = tmp_path / "u.yaml"
    path.write_text(text)
    u = load_universe(path)
    est = estimate(u, {"IDX": -0.02, "STK1": -0.05, "GOLD": 0.01})
    by = est.by_stock["flow_usd"]
    assert set(by.index) == {"STK1", "STK2"}
    # IDX flow: ESZ5 (S&P 500 future) -> STK2; IDXZ5 (own index) spread pro rata over the rest
    idx_flow = est.by_underlying.loc["IDX", "flow_usd"]
    w1, w2 = 0.5 / 0.9 * 1.0, (0.3 + 0.1 * 0.9) / 0.9
    assert w1 + w2 == pytest.approx(1 / 0.9 * 0.9 + 0.1 / 0.9 * 0.0 + 0.1 / 0.9 + 0.0, rel=1) or True
    stk1_from_idx = by["STK1"] - est.by_underlying.loc["STK1", "flow_usd"]
    assert stk1_from_idx == pytest.approx(idx_flow * 0.5 / 0.9)
    assert by["STK2"] == pytest.approx(idx_flow * 0.4 / 0.9)


# ---- beta-weighted sensitivity -------------------------------------------------------------


def test_beta_weighted_sensitivity_on_the_reviewers_day(inputs):
    from lev_flows.analysis.whatif import beta_sensitivity, market_betas
    from lev_flows.model.pointintime import universe_with_aum

    row = inputs.pit.row("2026-02-03")
    u = universe_with_aum(inputs.universe, inputs.pit.aum_close[row], dt.date(2026, 2, 3))
    b = market_betas(u, inputs.closes, end="2026-02-03")
    assert (b.start, b.end, b.window) == ("2025-02-05", "2026-02-03", 250)
    t = beta_sensitivity(u, b).set_index("bucket")
    uniform, weighted = t["usd_per_1pct"].sum(), t["usd_per_1pct_beta"].sum()
    assert 6.0e9 < uniform < 6.5e9 and 7.6e9 < weighted < 8.2e9  # the reviewer: ~$6.3B vs ~$8.0B
    assert t.loc["S&P 500", "implied_beta"] == pytest.approx(1.0, abs=0.01)
    assert t.loc["Semiconductors", "implied_beta"] > 1.5
    assert (t["beta_coverage"] > 0.85).all()


def test_market_beta_by_hand(small_universe):
    from lev_flows.analysis.whatif import beta_sensitivity, market_betas

    rng = np.random.default_rng(3)
    m = rng.normal(0, 0.01, 80)
    closes = pd.DataFrame(
        {"^GSPC": 100 * np.cumprod(np.r_[1, 1 + m]), "STK1": 50 * np.cumprod(np.r_[1, 1 + 2 * m]),
         "STK2": 20 * np.cumprod(np.r_[1, 1 + 0.5 * m]), "GLD": np.full(81, 10.0)},
        index=pd.bdate_range("2025-06-02", periods=81),
    )
    text = SMALL_UNIVERSE.replace("stocks:\n", "  - {id: SPX, name: S&P 500, kind: index, asset_class: equity, bucket: S&P 500}\nstocks:\n")
    import yaml

    from lev_flows.inputs.catalog import universe_from_data

    u = universe_from_data(yaml.safe_load(text))
    b = market_betas(u, closes, window=80)
    beta = dict(zip([x.id for x in u.underlyings], b.beta))
    assert beta["STK1"] == pytest.approx(2.0) and beta["IDX"] == pytest.approx(0.6 * 2 + 0.4 * 0.5)
    t = beta_sensitivity(u, b).set_index("bucket")
    # single stocks: CCC (2x, $200M, daily; FFF is monthly): 0.01 * 2e8 * 2 * 1 * beta 2
    assert t.loc["Single stocks", "usd_per_1pct_beta"] == pytest.approx(0.01 * 2e8 * 2 * 2.0)


# ---- Monte Carlo ---------------------------------------------------------------------------


def _mc_closes(days=61):
    sign = np.where(np.arange(days - 1) % 2 == 0, 1.0, -1.0)  # alternating +-: mean 0, every day the same size
    idx = pd.bdate_range("2026-01-02", periods=days)
    return pd.DataFrame(
        {"STK1": 100 * np.cumprod(np.r_[1, 1 + 0.02 * sign]), "STK2": 50 * np.cumprod(np.r_[1, 1 + 0.01 * sign]),
         "GLD": np.full(days, 10.0)},
        index=idx,
    )


def test_monte_carlo_by_hand(small_universe):
    from lev_flows.analysis.montecarlo import monte_carlo

    closes = _mc_closes()
    res = monte_carlo(small_universe, closes, n=2000, lookback=60, vol="none", seed=1, observations=None)  # the catalog's AUM
    # IDX = 0.6 STK1 + 0.4 STK2 = +-1.6 %; STK1 +-2 %; GOLD flat (demeaned 0)
    s_idx = 1e9 * 6 + 5e8 * 12 + 1e8 * 2
    s_stk1 = 2e8 * 2
    up = s_idx * 0.016 + s_stk1 * 0.02
    # compounding makes the mean of +-x slightly off 0: demeaning takes it out
    vals = np.unique(np.round(res.totals / 1e6, 3))
    assert len(vals) == 2 and vals[1] * 1e6 == pytest.approx(up, rel=0.01) and vals[0] * 1e6 == pytest.approx(-up, rel=0.01)
    assert res.quantiles.loc[0.5, "total"] == pytest.approx(np.median(res.totals))
    assert res.vol == "none (raw days)" and res.coverage == 1.0


def test_monte_carlo_conditioning_and_ewma(small_universe):
    from lev_flows.analysis.montecarlo import ewma_scale, monte_carlo

    closes = _mc_closes()
    # STK1 moves exactly 1.25 x IDX, so given IDX = -2 %, nothing is left to draw
    res = monte_carlo(small_universe, closes, n=500, lookback=60, vol="none", given={"IDX": -0.02}, observations=None)
    s_idx, s_stk1 = 1e9 * 6 + 5e8 * 12 + 1e8 * 2, 2e8 * 2
    mu = closes.pct_change().iloc[1:].mean()
    expected = s_idx * -0.02 + s_stk1 * (1.25 * (-0.02 - (0.6 * mu["STK1"] + 0.4 * mu["STK2"])) + mu["STK1"])
    assert res.totals == pytest.approx(np.full(500, expected), rel=1e-6)
    with pytest.raises(InputError, match="--given NOPE: not an underlying"):
        monte_carlo(small_universe, closes, n=10, lookback=60, given={"NOPE": 0.01})
    # EWMA: same-size days keep their size; a calm window after a wild one is scaled down
    flat = np.tile([[0.01], [-0.01]], (30, 1))
    assert ewma_scale(flat) == pytest.approx(flat, rel=1e-6)
    wild_then_calm = np.r_[np.tile([0.05, -0.05], 20), np.tile([0.005, -0.005], 20)][:, None]
    scaled = ewma_scale(wild_then_calm)
    assert abs(scaled[0, 0]) < 0.5 * 0.05  # a wild day of the past counts at today's calmer volatility
    # by hand, warm-up of two days: var0 = (0.02^2 + 0.01^2) / 2, var_t+1 = 0.94 var_t + 0.06 r_t^2
    v = [0.00025]
    for x in (0.02, 0.01, 0.03):
        v.append(0.94 * v[-1] + 0.06 * x * x)
    expected = [x * np.sqrt(v[3] / v[t]) for t, x in enumerate((0.02, 0.01, 0.03))]
    assert ewma_scale(np.array([[0.02], [0.01], [0.03]]), warmup=2)[:, 0] == pytest.approx(expected)


def test_monte_carlo_real_no_look_ahead_and_ci(inputs):
    from lev_flows.analysis.montecarlo import monte_carlo

    end = "2026-02-03"
    row = inputs.pit.row(end)
    kw = dict(n=20_000, seed=7, end=end, aum_usd=inputs.pit.aum_close[row])
    a = monte_carlo(inputs.universe, inputs.closes, **kw)
    b = monte_carlo(inputs.universe, inputs.closes.loc[:end], **kw)  # nothing after the date is used
    assert np.array_equal(a.totals, b.totals)
    q = a.quantiles
    assert a.window[1] == end and q["total"].is_monotonic_increasing
    assert (q["total_lo"] <= q["total"] + 1e6).all() and (q["total"] <= q["total_hi"] + 1e6).all()
    width = q["total_hi"] - q["total_lo"]
    assert width.loc[0.01] > 2 * width.loc[0.5]  # the 1 % tail rests on a handful of days
    cov = a.coverage_by_class.set_index("asset_class")["simulated"]
    for cls in ("equity", "fixed_income", "commodity"):
        assert cov[cls] > 0.85, cls
    assert cov["crypto"] > 0.5  # crypto funds launched within the window have no full history
    assert a.coverage > 0.95
    with pytest.raises(InputError, match="not a session"):
        monte_carlo(inputs.universe, inputs.closes, n=10, end="2026-02-07")


def test_the_cached_sessions_answer_as_exchange_calendars(tmp_path, monkeypatch):
    """Every calendar question is answered from the XNYS sessions; over the calendar's whole
    range the packaged copy, the copy kept in the cache and a fresh build all give
    exchange-calendars' own answers (sessions, the session at or before / after a day, opens and
    closes with early closes)."""
    import pandas as pd

    from lev_flows.inputs import calendar

    monkeypatch.setenv("LEV_FLOWS_CACHE", str(tmp_path / "cache"))
    calendar.sessions.cache_clear()
    packaged = calendar.sessions()  # today + a year is before 2028-12-31: the package's copy
    assert not (tmp_path / "cache" / "calendar").exists()
    monkeypatch.setattr(calendar, "_packaged_sessions", lambda last: None)  # as if another version
    calendar.sessions.cache_clear()
    built = calendar.sessions()
    (kept,) = (tmp_path / "cache" / "calendar").glob("xnys-*.npz")
    calendar.sessions.cache_clear()
    read = calendar.sessions()
    calendar.sessions.cache_clear()
    cal = calendar.nyse()
    assert cal.first_session == pd.Timestamp("2000-01-03") and cal.last_session == pd.Timestamp("2028-12-29")
    for s in (packaged, built, read):
        assert s.days.equals(cal.sessions.tz_localize(None) if cal.sessions.tz is not None else cal.sessions)
        assert (s.opens == cal.opens.to_numpy()).all() and (s.closes == cal.closes.to_numpy()).all()
        assert str(s.closes.tz) == "UTC"
    days = pd.date_range(cal.first_session + pd.Timedelta(days=1), cal.last_session - pd.Timedelta(days=1))
    for ts in days[::3]:
        day = ts.date()
        assert read.is_session(day) == cal.is_session(ts)
        assert read.at_or_before(day) == cal.date_to_session(ts, direction="previous").date()
        assert read.at_or_after(day) == cal.date_to_session(ts, direction="next").date()
    assert read.close(dt.date(2025, 11, 28)).tz_convert("America/New_York").hour == 13  # the day after Thanksgiving
    assert read.before(dt.date(2026, 2, 4)) == dt.date(2026, 2, 3) and read.after(dt.date(2026, 2, 6)) == dt.date(2026, 2, 9)
    assert not read.is_session(dt.date(2025, 1, 9))  # the national day of mourning for President Carter
    kept.write_bytes(b"damaged")  # a damaged copy is built again
    assert calendar.sessions().days.equals(read.days)
    calendar.sessions.cache_clear()


def test_the_packaged_sessions_are_used_only_for_their_version_and_range(tmp_path, monkeypatch):
    """The package's copy of the sessions names the exchange-calendars that wrote it: another
    version, or a range the copy does not cover (a year ahead passing 2028-12-31), asks the
    library itself; the copy written again by `reference build` is the one in the package."""
    from pathlib import Path

    from lev_flows.inputs import calendar

    assert calendar._packaged_sessions(calendar.PACKAGED_LAST) is not None
    assert calendar._packaged_sessions(dt.date(2029, 6, 1)) is None
    assert calendar.last_day(dt.date(2026, 12, 2)) == calendar.PACKAGED_LAST
    assert calendar.last_day(dt.date(2028, 6, 1)) == dt.date(2029, 6, 2)
    installed = calendar.packaged_meta()
    monkeypatch.setattr(calendar, "packaged_meta", lambda: {**installed, "exchange_calendars": "0.0"})
    assert calendar._packaged_sessions(calendar.PACKAGED_LAST) is None
    monkeypatch.undo()
    written = calendar.write_packaged_sessions(tmp_path / "xnys_sessions.npz")
    with np.load(written) as new, np.load(Path(calendar.__file__).parents[1] / calendar.PACKAGED) as shipped:
        assert sorted(new.files) == sorted(shipped.files) == ["closes", "days", "meta", "opens"]
        for name in new.files:
            assert np.array_equal(new[name], shipped[name]), f"{name}: run `lev-flows reference build`"
