"""Point in time: AUM carried between observations (hand-worked and properties), the issuer's own
figures reproduced exactly, no AUM before inception, returns in order of directness, and one
answer per day whichever path computes it."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lev_flows import estimate_day, load_universe
from lev_flows.analysis.history import history
from lev_flows.inputs.prices import load_price_dir
from lev_flows.jobs.reference import packaged_observations
from lev_flows.model.day import load_inputs
from lev_flows.model.pointintime import (
    AUM_CARRIED_INVERSE,
    AUM_CARRIED_LONG,
    AUM_INTERPOLATED,
    AUM_NONE,
    AUM_OBSERVED,
    RET_ETF,
    RET_OWN,
    carry_aum,
    point_in_time,
)
from lev_flows.model.returns import composition_label
from tests.conftest import run_cli

PROSHARES = ("TQQQ", "SQQQ", "QLD", "QID", "SSO", "SDS", "UPRO", "SPXU")


# ---- the carry, by hand ---------------------------------------------------------------------


def test_carry_hand_worked_long_and_inverse():
    prices = np.array([100.0, 110.0, 99.0, 99.0, 108.9])
    log_nav = np.log(np.c_[prices, prices])  # the same path for a long and an inverse fund
    observed = np.full((5, 2), np.nan)
    observed[1], observed[3] = 1000.0, 1200.0
    value, method, used, gap = carry_aum(observed, log_nav, np.array([2.0, -2.0]))
    long, inv = value[:, 0], value[:, 1]
    # before the first observation: AUM ~ price^0.75 (long), ^0.15 (inverse)
    assert long[0] == pytest.approx(1000 * (100 / 110) ** 0.75)
    assert inv[0] == pytest.approx(1000 * (100 / 110) ** 0.15)
    # observations are kept as they are
    assert long[1] == inv[1] == 1000.0 and long[3] == inv[3] == 1200.0
    # between: carried by price from 1000 (-> 900) and reconciled with 1200 half-way: 900 x (4/3)^0.5
    assert long[2] == pytest.approx(900 * (1200 / 900) ** 0.5)
    assert inv[2] == pytest.approx(long[2])
    # after the last one
    assert long[4] == pytest.approx(1200 * 1.1**0.75)
    assert inv[4] == pytest.approx(1200 * 1.1**0.15)
    assert method[:, 0].tolist() == [AUM_CARRIED_LONG, AUM_OBSERVED, AUM_INTERPOLATED, AUM_OBSERVED, AUM_CARRIED_LONG]
    assert method[0, 1] == AUM_CARRIED_INVERSE
    assert gap[:, 0].tolist() == [1, 0, 1, 0, 1]
    assert used[:, 0].tolist() == [1, 1, 1, 3, 3]


def test_carry_without_observations_is_unknown_not_zero():
    value, method, _, gap = carry_aum(np.full((3, 1), np.nan), np.zeros((3, 1)), np.array([3.0]))
    assert np.isnan(value).all() and (method == AUM_NONE).all() and (gap == -1).all()


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(min_value=-0.3, max_value=0.3), min_size=3, max_size=40),
    st.floats(min_value=1e6, max_value=1e11),
    st.data(),
)
def test_carry_properties(returns, shares_value, data):
    """Observations come back unchanged; when every observation is the same share count times
    the price, every interpolated day is that share count times the price too."""
    prices = 50.0 * np.cumprod(1.0 + np.array(returns))
    n = len(prices)
    at = sorted(data.draw(st.sets(st.integers(0, n - 1), min_size=2, max_size=n)))
    observed = np.full((n, 1), np.nan)
    observed[at, 0] = shares_value * prices[at] / prices[0]
    value, method, _, gap = carry_aum(observed, np.log(prices)[:, None], np.array([2.0]))
    assert value[at, 0] == pytest.approx(observed[at, 0], rel=1e-12)
    inside = np.arange(at[0], at[-1] + 1)
    assert value[inside, 0] == pytest.approx(shares_value * prices[inside] / prices[0], rel=1e-9)
    assert (gap[at, 0] == 0).all() and (method[at, 0] == AUM_OBSERVED).all()


# ---- the real data: issuer figures, inception, returns -----------------------------------------


@pytest.fixture(scope="module")
def closes(shared):
    return load_price_dir(shared / "prices")


@pytest.fixture(scope="module")
def pit(closes):
    return point_in_time(load_universe(), closes, packaged_observations())


def test_proshares_funds_start_each_day_with_the_issuers_net_assets(pit, shared):
    """Done-when of the point-in-time issue: for the eight funds of the issuer file, the
    start-of-day AUM of every session equals the issuer's net assets at the previous close."""
    issuer = pd.read_csv(shared / "fund_history/proshares_nav_2023-12-29_2026-10-01.csv", parse_dates=["date"])
    net = issuer.pivot(index="date", columns="ticker", values="aum_usd")
    prev_close = net.shift(1).reindex(pit.sessions)  # issuer rows are sessions: shift = previous close
    for t in PROSHARES:
        i = int(np.flatnonzero(pit.tickers == t)[0])
        got = pit.aum_usd[:, i]
        assert np.isfinite(got).all(), t
        np.testing.assert_allclose(got, prev_close[t].to_numpy(), rtol=1e-12, err_msg=t)
        assert (pit.aum_gap[:, i] == 0).all() and (pit.aum_method[:, i] == AUM_OBSERVED).all()
    # and the figures the issue quotes: TQQQ on 2025-04-09 started with $15.90B, on 2026-02-04 $28.57B
    tqqq = int(np.flatnonzero(pit.tickers == "TQQQ")[0])
    assert pit.aum_usd[pit.row("2025-04-09"), tqqq] == pytest.approx(15.9022e9, rel=1e-5)
    assert pit.aum_usd[pit.row("2026-02-04"), tqqq] == pytest.approx(28.5671e9, rel=1e-5)


def test_no_fund_has_aum_before_its_inception(pit):
    uni = load_universe()
    late = 0
    for i, f in enumerate(uni.funds):
        if f.inception_date is None:
            continue
        before = pit.sessions <= pd.Timestamp(f.inception_date)
        assert not np.isfinite(pit.aum_usd[before, i]).any(), f.ticker
        assert not pit.launched[before, i].any(), f.ticker
        late += f.inception_date > dt.date(2024, 1, 2)
    assert late >= 300  # the issue counts 329 catalog funds launched after 2024-01-02
    # a fund launched in the range: first AUM the session after its inception
    i = int(np.flatnonzero(pit.tickers == "AALG")[0])
    first = pit.sessions[np.isfinite(pit.aum_usd[:, i])][0]
    assert first == pd.Timestamp("2025-07-14")  # incepted Friday 2025-07-11


def test_every_fund_day_says_where_its_aum_came_from(pit):
    has = np.isfinite(pit.aum_usd)
    assert (pit.aum_method[has] != AUM_NONE).all()
    assert (pit.aum_source[has] != 0).all()
    assert (pit.aum_gap[has] >= 0).all()
    assert not np.isnat(pit.aum_obs_date[has]).any()


def test_returns_in_order_of_directness(pit, closes):
    uni = load_universe()
    row = pit.row("2026-02-04")
    i = {t: int(np.flatnonzero(pit.tickers == t)[0]) for t in ("TQQQ", "SOXL", "SPXL")}
    assert pit.return_method[row, i["TQQQ"]] == RET_OWN and pit.return_method[row, i["SOXL"]] == RET_OWN
    # TQQQ's issuer NAV went 52.5227 -> 49.7253 (its close 52.3129 -> 49.5637): r = R_NAV / 3
    assert pit.underlying_return[row, i["TQQQ"]] == pytest.approx((49.7253 / 52.5227 - 1) / 3, rel=1e-9)
    # SOXL has no issuer NAV in the store: its close 61.20 -> 53.19
    assert pit.underlying_return[row, i["SOXL"]] == pytest.approx((53.19 / 61.20 - 1) / 3, rel=1e-9)
    # without the funds' own prices (nor their issuers' NAV), the index level, then the tracking ETF (QQQ for NDX)
    no_funds = closes.drop(columns=[f.ticker for f in uni.funds if f.ticker in closes.columns])
    no_nav = packaged_observations().drop(columns=["nav", "shares_outstanding"])
    bare = point_in_time(uni, no_funds.loc["2025-01-02":"2025-01-10"], no_nav)
    r = bare.row("2025-01-07")
    day = bare.day_returns(uni, r)
    assert day.fund_methods["TQQQ"] == "tracking ETF (QQQ)"
    assert day.fund_methods["SPXL"] == "price (^GSPC)"
    assert bare.return_method[r, i["TQQQ"]] == RET_ETF
    qqq = no_funds["QQQ"]
    assert day.per_fund["TQQQ"] == pytest.approx(qqq.loc["2025-01-07"] / qqq.loc["2025-01-06"] - 1, rel=1e-12)


def test_an_unadjusted_split_is_not_a_move(pit, closes):
    """SOXS's table drops 95 % on 2026-05-26 (a reverse split not adjusted) while SOXX rose:
    the fund's own price is skipped and the tracking ETF used."""
    i = int(np.flatnonzero(pit.tickers == "SOXS")[0])
    row = pit.row("2026-05-26")
    assert closes.loc["2026-05-26", "SOXS"] / closes.loc["2026-05-22", "SOXS"] - 1 < -0.9
    assert pit.return_method[row, i] == RET_ETF
    assert pit.underlying_return[row, i] == pytest.approx(closes.loc["2026-05-26", "SOXX"] / closes.loc["2026-05-22", "SOXX"] - 1)


def test_composition_label_marks_look_ahead():
    uni = load_universe()
    assert composition_label(uni, "NDX", 0.95, dt.date(2026, 2, 4)) == "composition (95% of weight priced, as of 2025-10-04)"
    soxx = uni.composition_of("SOX").as_of
    assert composition_label(uni, "SOX", 0.82, dt.date(2026, 2, 4)).endswith(f"as of {soxx}, look-ahead)")


# ---- one answer per day ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def inputs(shared):
    return load_inputs(prices=shared / "prices")


@pytest.mark.parametrize("day", ["2024-03-15", "2025-04-03", "2025-04-09", "2026-02-04", "2026-06-05"])
def test_estimate_day_equals_the_history_row(inputs, day):
    h = history(inputs.universe, inputs.closes, pit=inputs.pit)
    est = estimate_day(day, inputs=inputs)
    assert est.total.rebalance_usd == pytest.approx(h.daily.loc[day, "rebalance_usd"], abs=1.0)
    # and not on where the history starts
    short = history(inputs.universe, inputs.closes, start=day, end=day, pit=inputs.pit)
    assert short.daily.loc[day, "rebalance_usd"] == h.daily.loc[day, "rebalance_usd"]
    # and every fund-day of the history says how old its AUM is, as the estimate does
    gaps = est.by_etf["aum_gap_sessions"]
    hist_gaps = h.aum_gap.loc[day].replace(-1, np.nan)
    pd.testing.assert_series_equal(hist_gaps.reindex(gaps.index).astype(float), gaps.astype(float), check_names=False)


def test_cli_estimate_date_equals_cli_history(shared):
    prices = str(shared / "prices")
    one = run_cli("estimate", "--date", "2025-04-09", "--prices", prices, "--format", "json")
    assert one.returncode == 0, one.stderr
    rows = run_cli("history", "--start", "2025-04-01", "--end", "2025-04-15", "--prices", prices, "--format", "json")
    assert rows.returncode == 0, rows.stderr
    day = {r["date"][:10]: r for r in json.loads(rows.stdout)}["2025-04-09"]
    doc = json.loads(one.stdout)
    assert doc["total"]["rebalance_usd"] == pytest.approx(day["rebalance_usd"], abs=1.0)
    assert doc["total"]["rebalance_usd"] / 1e9 == pytest.approx(45.17, abs=0.01)
    # every fund row says where its AUM came from and how old it is
    tqqq = next(r for r in doc["by_etf"] if r["ticker"] == "TQQQ")
    assert (tqqq["aum_source"], tqqq["aum_date"], tqqq["aum_gap_sessions"]) == ("issuer_nav", "2025-04-08", 0.0)
    # far from any observation for most funds in 2025: the warning says so, on stderr
    assert any("sessions from its nearest observation" in w for w in doc["warnings"])
    assert "lev-flows: warning: AUM is 205 sessions from its nearest observation" in one.stderr
    assert doc["coverage"]["n_funds_not_launched"] > 200


def test_funds_not_launched_are_not_counted_as_missing_aum(inputs):
    est = estimate_day("2024-03-15", inputs=inputs)
    by = est.by_etf
    assert (by["status"] == "not launched").sum() == est.coverage.n_funds_not_launched > 100
    assert np.isnan(by.loc[by["status"] == "not launched", "rebalance_usd"]).all()


def test_no_aum_after_a_fund_closes(small_universe):
    from tests.test_history import small_closes

    funds = [f.model_copy(update={"closed_on": dt.date(2026, 2, 4)}) if f.ticker == "AAA" else f for f in small_universe.funds]
    uni = small_universe.model_copy(update={"funds": funds})
    p = point_in_time(uni, small_closes())
    i = int(np.flatnonzero(p.tickers == "AAA")[0])
    # it trades on 02-03, its last day; from 02-04, the first day it no longer trades, it has none
    assert np.isfinite(p.aum_usd[p.row("2026-02-03"), i])
    for day in ("2026-02-04", "2026-02-05"):
        assert np.isnan(p.aum_usd[p.row(day), i]) and not p.launched[p.row(day), i]
