"""The rebalancing formulas: hand-worked numbers and properties that pin the math."""

import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from lev_flows.model import formula as F

aum = st.floats(min_value=1e3, max_value=1e11)
ret = st.floats(min_value=-0.3, max_value=0.3)
lev_gt1 = st.sampled_from([1.25, 1.5, 2.0, 3.0, 4.0, 5.0])
lev_neg = st.sampled_from([-1.0, -1.5, -2.0, -3.0, -5.0])
any_lev = st.one_of(lev_gt1, lev_neg, st.sampled_from([0.5, 1.0]))


@pytest.mark.parametrize(
    "aum_usd, leverage, r, expected",
    [
        (1e9, 3, 0.05, 300e6),  # $1B 3x, +5 %: buys $300M
        (1e9, -3, -0.02, -240e6),  # $1B 3x inverse, -2 %: sells $240M (12 x -2 % x $1B)
        (500e6, 2, -0.10, -100e6),  # 2x, -10 %: 2 x 1 x -10 % x $500M
        (200e6, -1, 0.03, 12e6),  # plain inverse trades: -1 x -2 x 3 % x $200M
        (100e6, 1.5, 0.04, 3e6),  # 1.5 x 0.5 x 4 %
        (100e6, 1, 0.07, 0.0),  # 1x long never trades
        (100e6, 0.5, 0.04, -1e6),  # 0 < L < 1 trades against the move
        (29.972e9, 3, -0.0151, -2.7154632e9),  # TQQQ on 2026-02-04, NDX -1.51 %
    ],
)
def test_rebalance_hand_worked(aum_usd, leverage, r, expected):
    assert float(F.rebalance_usd(aum_usd, leverage, r)) == pytest.approx(expected, rel=1e-12, abs=1e-6)


def test_equivalent_forms_and_exact_releverage():
    # 3x fund, underlying +5 %: fund +15 %, exposure 3.15B, NAV 1.15B, needs 3.45B: buys 300M
    assert float(F.rebalance_usd_from_fund_return(1e9, 3, 0.15)) == pytest.approx(300e6)
    assert float(F.exposure_after_move(1e9, 3, 0.05)) == pytest.approx(3.15e9)
    assert float(F.nav_after_move(1e9, 3, 0.05)) == pytest.approx(1.15e9)
    assert float(F.releverage_usd(3.15e9, 1.15e9, 3)) == pytest.approx(300e6)
    assert float(F.underlying_return_from_fund_return(-0.06, 3)) == pytest.approx(-0.02)
    assert float(F.creation_exposure_usd(100e6, -3)) == pytest.approx(-300e6)
    assert float(F.creation_exposure_usd(-50e6, 2)) == pytest.approx(-100e6)


def test_schedule_zero_for_non_daily_and_nan_propagates():
    out = F.scheduled_rebalance_usd([1e9, 1e9, 1e9], [3, 3, 3], [0.01, 0.01, np.nan], [True, False, True])
    assert out[0] == pytest.approx(60e6)
    assert out[1] == 0.0
    assert math.isnan(out[2])


def test_vectorized_matches_scalar():
    a = np.array([1e9, 2e9, 3e8])
    lev = np.array([3.0, -2.0, 1.5])
    r = np.array([0.01, -0.03, 0.02])
    out = F.rebalance_usd(a, lev, r)
    assert out.shape == (3,)
    for i in range(3):
        assert out[i] == pytest.approx(float(F.rebalance_usd(a[i], lev[i], r[i])))


@given(aum, any_lev)
def test_zero_return_zero_flow(a, lev):
    assert F.rebalance_usd(a, lev, 0.0) == 0.0


@given(aum, ret)
def test_unit_leverage_never_trades(a, r):
    assert F.rebalance_usd(a, 1.0, r) == 0.0


@given(aum, st.one_of(lev_gt1, lev_neg), ret)
def test_sign_follows_return(a, lev, r):
    assume(abs(r) > 1e-9)
    assert np.sign(F.rebalance_usd(a, lev, r)) == np.sign(r)


@given(aum, st.floats(min_value=0.01, max_value=100), any_lev, ret)
def test_linear_in_aum(a, k, lev, r):
    assert float(F.rebalance_usd(k * a, lev, r)) == pytest.approx(k * float(F.rebalance_usd(a, lev, r)), rel=1e-9, abs=1e-6)


@given(st.sampled_from([1.25, 1.5, 2.0, 3.0, 4.0, 5.0]), ret)
def test_inverse_trades_more_per_dollar(lev, r):
    assume(abs(r) > 1e-6)
    ratio = float(F.rebalance_usd(1.0, -lev, r)) / float(F.rebalance_usd(1.0, lev, r))
    assert ratio == pytest.approx((lev + 1) / (lev - 1), rel=1e-9)
    if lev == 3.0:
        assert ratio == pytest.approx(2.0)


@given(aum, any_lev, st.floats(min_value=-0.9, max_value=0.9))
def test_leverage_restored_after_trade(a, lev, r):
    nav = float(F.nav_after_move(a, lev, r))
    assume(nav > 1e-6 * a)  # r > -1/L: the fund is not wiped out
    exposure = float(F.exposure_after_move(a, lev, r)) + float(F.rebalance_usd(a, lev, r))
    assert exposure / nav == pytest.approx(lev, rel=1e-9)
    assert float(F.releverage_usd(F.exposure_after_move(a, lev, r), nav, lev)) == pytest.approx(
        float(F.rebalance_usd(a, lev, r)), rel=1e-9, abs=1e-3
    )
