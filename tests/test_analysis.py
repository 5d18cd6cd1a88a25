"""Ladder, what-if and liquidity: hand-worked numbers and the properties the issue names."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lev_flows import InputError, estimate
from lev_flows.analysis.whatif import (
    ladder,
    liquidity,
    parse_moves,
    sensitivity_usd,
    what_if,
)
from tests.conftest import SMALL_RETURNS, run_cli


def test_sensitivity_hand_worked(small_universe):
    sens = sensitivity_usd(small_universe).set_index("bucket")
    # Test index: 1B x 3 x 2 + 0.5B x -3 x -4 + 0.1B x -1 x -2 = 6B + 6B + 0.2B per unit move
    assert sens.loc["Test index", "usd_per_1pct"] == pytest.approx(122e6)
    # Single stocks: CCC 0.2B x 2 x 1 (FFF resets monthly: excluded)
    assert sens.loc["Single stocks", "usd_per_1pct"] == pytest.approx(4e6)
    assert "Commodities" not in sens.index  # equity only by default


@settings(max_examples=40, deadline=None)
@given(st.floats(min_value=-0.3, max_value=0.3), st.floats(min_value=-1.1, max_value=1.1))
def test_ladder_linear_in_move(small_universe, m, k):
    """Linear in the move wherever every fund survives it (3x funds: |move| under 1/3)."""
    table = ladder(small_universe, [m, k * m if abs(k * m) < 0.33 else m])
    if abs(k * m) < 0.33:
        assert table["total"].iloc[1] == pytest.approx(k * table["total"].iloc[0], rel=1e-9, abs=1e-3)
    single = ladder(small_universe, [m])["Single stocks"].iloc[0]
    assert single == pytest.approx(0.2e9 * 2 * 1 * m, rel=1e-9, abs=1e-6)


def test_a_ladder_move_that_wipes_out_a_fund_is_refused(small_universe):
    with pytest.raises(InputError, match=r"a move of 34% would take the 3x funds to zero NAV or below \(1 \+ L\*r <= 0 from 33.3%\)"):
        ladder(small_universe, [-0.34, 0.01])
    assert ladder(small_universe, [-0.33])["total"].iloc[0] < 0  # just inside: still a number


def test_ladder_matches_estimate(small_universe):
    table = ladder(small_universe, [-0.02])
    est = estimate(small_universe, {"IDX": -0.02, "STK1": -0.02})
    assert table["total"].iloc[0] == pytest.approx(est.total.equity_rebalance_usd)
    with pytest.raises(InputError):
        ladder(small_universe, [1.5])


def test_what_if(small_universe):
    est = what_if(small_universe, {"IDX": -0.02})
    assert est.total.rebalance_usd == pytest.approx(-244e6)
    assert est.coverage.aum_with_return == 1.0  # a scenario: the others are unchanged, not missing
    assert "others unchanged" in est.basis
    with pytest.raises(InputError, match="NOPE"):
        what_if(small_universe, {"NOPE": 0.01})
    assert parse_moves(["NDX=-3", "sox=-6.5"]) == {"NDX": -0.03, "SOX": -0.065}
    for bad in ["NDX", "NDX=abc", "=3", "NDX=-150"]:
        with pytest.raises(InputError):
            parse_moves([bad])


def test_liquidity_shares_are_flow_over_volume(small_universe):
    days = pd.bdate_range("2026-01-05", periods=22)
    closes = pd.DataFrame({"STK1": 10.0, "STK2": 20.0}, index=days)
    volumes = pd.DataFrame({"STK1": 1e6, "STK2": 5e5}, index=days)
    volumes.iloc[-1] = [2e6, 1e6]  # the day itself: twice the usual volume
    est = estimate(small_universe, SMALL_RETURNS, date=days[-1].date())
    out = liquidity(est, closes, volumes, window=20, auction_share=0.1, top=None).set_index("ticker")
    stk1 = est.by_stock.loc["STK1", "flow_usd"]
    assert out.loc["STK1", "adv_usd"] == pytest.approx(10e6)
    assert out.loc["STK1", "flow_pct_adv"] == pytest.approx(stk1 / 10e6)
    assert out.loc["STK1", "auction_usd"] == pytest.approx(0.1 * 20e6)
    assert out.loc["STK1", "flow_pct_auction"] == pytest.approx(stk1 / 2e6)
    assert out.loc["STK2", "adv_usd"] == pytest.approx(10e6)
    with pytest.raises(InputError, match="fewer than 20"):
        liquidity(estimate(small_universe, SMALL_RETURNS, date=days[5].date()), closes, volumes)
    with pytest.raises(InputError, match="no volume"):
        liquidity(estimate(small_universe, SMALL_RETURNS, date=dt.date(2030, 1, 2)), closes, volumes)


def test_cli_ladder_and_liquidity(shared, tmp_path):
    res = run_cli("ladder", "--format", "csv")
    assert res.returncode == 0, res.stderr
    table = pd.read_csv(__import__("io").StringIO(res.stdout))
    assert len(table) == 21 and table["total"].iloc[0] == pytest.approx(-table["total"].iloc[-1])
    assert np.all(np.diff(table["total"]) > 0)
    res = run_cli("ladder", "--move", "NDX=-3", "--move", "SOX=-6")
    assert res.returncode == 0 and "what-if" in res.stdout
    bad = run_cli("ladder", "--move", "NDX")
    assert bad.returncode == 2 and "ID=PERCENT" in bad.stderr
    png = tmp_path / "ladder.png"
    assert run_cli("ladder", "--chart", png).returncode == 0 and png.read_bytes()[:4] == b"\x89PNG"
    res = run_cli("liquidity", "--prices", shared / "prices", "--format", "json", "--top", "5")
    assert res.returncode == 0, res.stderr
    rows = pd.read_json(__import__("io").StringIO(res.stdout))
    assert len(rows) == 5
    assert np.allclose(rows["flow_pct_adv"], rows["flow_usd"] / rows["adv_usd"])


def test_a_what_if_on_the_aum_at_a_close_has_the_next_sessions_band(shared):
    """The close of a session is the start of the next: the what-if's AUM at the close of
    2026-02-03 rests on what the start of 2026-02-04 rests on (figure, method, source, date, gap,
    daily funds), so it carries the same AUM band as that day's estimate would on the same moves."""
    import numpy as np

    from lev_flows.analysis.whatif import aum_at_close, what_if
    from lev_flows.model.day import load_inputs
    from lev_flows.model.estimate import compiled

    inp = load_inputs(prices=shared / "prices")
    row = inp.pit.row(dt.date(2026, 2, 3))
    close, start = aum_at_close(inp.pit, row), inp.pit.aum_day(row + 1)
    daily = compiled(inp.universe).resets_daily & np.isfinite(start.aum_usd)
    assert daily.sum() > 400
    np.testing.assert_allclose(close.aum_usd[daily], start.aum_usd[daily], rtol=1e-12)
    for field in ("method", "source", "obs_date", "gap_sessions"):
        assert (np.asarray(getattr(close, field))[daily] == np.asarray(getattr(start, field))[daily]).all(), field
    assert close.median_gap == start.median_gap
    est = what_if(inp.universe, {"NDX": -0.03}, aum=close)
    t = est.total
    assert t.band_p10_usd is not None and t.band_p10_usd < t.rebalance_usd < t.band_p90_usd
