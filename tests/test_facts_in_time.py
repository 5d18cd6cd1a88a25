"""Catalog facts in time (a fund's leverage before a change), the carry by kind of product, the
launch rule and the AUM error band, on the shared data."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from lev_flows import estimate, estimate_day, load_universe
from lev_flows.errors import CatalogError
from lev_flows.inputs.catalog import Universe


@pytest.fixture(scope="module")
def inputs(shared):
    from lev_flows.model.day import load_inputs

    return load_inputs(None, shared / "prices", None)


def _fund(est, ticker):
    return est.by_etf.loc[ticker]


# ---- facts in time ----------------------------------------------------------------------------------


def test_tsll_is_booked_at_1_5x_before_its_change_and_2x_after(inputs):
    before = _fund(estimate_day("2024-02-01", inputs=inputs), "TSLL")
    after = _fund(estimate_day("2024-08-01", inputs=inputs), "TSLL")
    assert before["leverage"] == 1.5 and after["leverage"] == 2.0
    # A L (L - 1) r with the leverage of the day, and r = the fund's own move / that leverage
    assert before["rebalance_usd"] == pytest.approx(before["aum_usd"] * 1.5 * 0.5 * before["underlying_return"], rel=1e-12)
    assert before["return_method"] == "own price (TSLL) / 1.5"
    closes = inputs.closes["TSLL"]
    own = closes.loc["2024-02-01"] / closes.loc[:"2024-01-31"].iloc[-1] - 1
    assert before["underlying_return"] == pytest.approx(own / 1.5, rel=1e-9)


def test_history_takes_the_facts_of_each_day_as_the_days_estimate_does(inputs):
    from lev_flows.analysis.history import history

    h = history(inputs.universe, inputs.closes, pit=inputs.pit, start="2024-01-30", end="2024-02-02")
    for day in ("2024-01-31", "2024-02-01"):
        est = estimate_day(day, inputs=inputs)
        assert h.rebalance_by_fund.loc[day, "TSLL"] == pytest.approx(_fund(est, "TSLL")["rebalance_usd"], rel=1e-12)
        assert h.daily.loc[day, "rebalance_usd"] == pytest.approx(est.total.rebalance_usd, rel=1e-9)


def test_verify_finds_the_leverage_changes_on_the_funds_own_prices(inputs):
    from lev_flows.analysis.verify import leverage_changes

    found = leverage_changes(inputs.universe, inputs.closes).set_index("ticker")
    tsll = found.loc["TSLL"]
    assert (tsll["leverage_before"], tsll["leverage_after"]) == (1.5, 2.0)
    assert tsll["effective"] == dt.date(2024, 4, 2) and tsll["in_catalog"]
    assert found.loc["CONI", "effective"] == dt.date(2025, 5, 5) and found.loc["CONI", "leverage_before"] == -1.0
    assert found.loc["TSLQ", "leverage_before"] == -1.0
    assert found["in_catalog"].all()  # every change the prices show is in the catalog's history
    # a fund that never changed is not reported
    assert "TQQQ" not in found.index and "SOXL" not in found.index


def test_a_history_out_of_order_is_a_catalog_error(tmp_path):
    from tests.conftest import SMALL_UNIVERSE

    bad = SMALL_UNIVERSE.replace(
        "aum_usd: 2.0e8, aum_as_of: 2026-02-04}",
        "aum_usd: 2.0e8, aum_as_of: 2026-02-04, history: [{until: 2025-06-02, leverage: 1.5}, {until: 2024-01-02, leverage: 1.0}]}", 1)
    path = tmp_path / "bad.yaml"
    path.write_text(bad)
    with pytest.raises(CatalogError, match="history: until 2024-01-02 is not after 2025-06-02"):
        load_universe(path)


def test_universe_on_a_day_shares_one_copy_per_set_of_facts():
    u = load_universe()
    assert u.on(dt.date(2026, 2, 4)) is u  # nothing differed then
    early = u.on(dt.date(2024, 2, 1))
    assert early is u.on(dt.date(2024, 3, 1)) and early is not u
    assert early.fund_by_ticker["TSLL"].leverage == 1.5 and early.fund_by_ticker["TQQQ"] is u.fund_by_ticker["TQQQ"]
    assert u.on(dt.date(2024, 8, 1)).fund_by_ticker["CONI"].leverage == -1.0
    assert isinstance(early, Universe) and len(early.funds) == len(u.funds)


# ---- carry by kind, launch -----------------------------------------------------------------------------


def test_the_pooled_elasticity_leans_on_its_prior_by_the_pairs_it_has():
    from lev_flows.model.carry import PRIOR_PAIRS, fit_elasticity

    dx = np.linspace(-0.2, 0.2, 8)
    pairs = pd.DataFrame({"ticker": ["X"] * 8, "kind": ["crypto"] * 8, "direction": ["long"] * 8, "dx": dx, "dy": 0.5 * dx})
    table = fit_elasticity(pairs)
    assert PRIOR_PAIRS == 8
    assert table["kinds"]["crypto, long"] == {"beta": 0.625, "fitted": 0.5, "pairs": 8, "funds": 1, "prior": 0.75}  # (8 x 0.5 + 8 x 0.75) / 16
    assert table["kinds"]["volatility, long"]["beta"] == 0.0  # no pairs: the kind's prior (dollars constant)
    assert "funds" not in table  # no elasticity fund by fund: a fund carries with its kind's


def test_uvix_is_not_carried_past_its_decay(inputs):
    uvix = _fund(estimate_day("2025-04-09", inputs=inputs), "UVIX")
    assert uvix["aum_usd"] < 1e9  # every 2026 snapshot has $0.35-0.52B; shares-like carry gave $2.98B
    assert -0.5e9 < uvix["rebalance_usd"] < 0


def test_no_fund_starts_above_fifty_million_unless_observed(inputs):
    from lev_flows.model.pointintime import AUM_METHODS, LAUNCH_CAP_USD

    pit = inputs.pit
    starts = []
    for i, t in enumerate(pit.tickers):
        alive = np.flatnonzero(np.isfinite(pit.aum_usd[:, i]))
        if len(alive) and alive[0] > 0:
            starts.append((t, pit.aum_usd[alive[0], i], AUM_METHODS[pit.aum_method[alive[0], i]]))
    first = pd.DataFrame(starts, columns=["ticker", "aum", "method"]).set_index("ticker")
    assert len(first) > 300
    successors = [f.ticker for f in inputs.universe.funds if f.continues]
    assert successors == ["FNGU"]
    unobserved = first[(first["method"] != "observed") & ~first.index.isin(successors)]
    assert (unobserved["aum"] <= LAUNCH_CAP_USD * (1 + 1e-9)).all()
    assert first.loc["ETHU", "aum"] <= 50e6 and first.loc["ETHU", "method"] == "grown from launch"
    # FNGU took over an older note's holders: carried, not grown from launch
    assert first.loc["FNGU", "method"] == "carried, long" and first.loc["FNGU", "aum"] > 1e9


# ---- the band ---------------------------------------------------------------------------------------------


def test_the_band_brackets_the_estimate_and_is_narrow_where_the_issuer_said(inputs):
    est = estimate_day("2026-02-04", inputs=inputs)
    t = est.total
    assert t.band_p10_usd < t.rebalance_usd < t.band_p90_usd
    idx = est.by_index
    ndx = idx.loc["Nasdaq-100"]
    semis = idx.loc["Semiconductors"]
    width = lambda r: (r["rebalance_p90_usd"] - r["rebalance_p10_usd"]) / abs(r["rebalance_usd"])  # noqa: E731
    assert width(ndx) < 0.01 < width(semis)  # TQQQ / SQQQ rest on the issuer's previous close
    tqqq = _fund(est, "TQQQ")
    assert tqqq["aum_p10_usd"] == tqqq["aum_usd"] == tqqq["aum_p90_usd"]
    soxl = _fund(est, "SOXL")
    assert soxl["aum_p10_usd"] < soxl["aum_usd"] < soxl["aum_p90_usd"]


def test_the_band_comes_from_the_packaged_error_table(inputs):
    from lev_flows.inputs.packaged import aum_error_bands
    from lev_flows.model.band import aum_factors

    table = aum_error_bands()
    q = table["cells"]["1:interpolated"]
    lo, hi = aum_factors(np.array(["screener", "issuer_nav", "user"]), np.array([3.0, 0.0, np.nan]),
                         np.array(["interpolated", "observed", "given"]), table)
    assert lo[0] == pytest.approx(np.exp(q["q10"])) and hi[0] == pytest.approx(np.exp(q["q90"]))
    assert lo[1] == hi[1] == 1.0 and np.isnan(lo[2]) and np.isnan(hi[2])


def test_a_callers_aum_has_no_band_rather_than_a_made_up_one():
    est = estimate(load_universe(), {"NDX": -0.02})
    assert est.total.band_p10_usd is None and est.total.band_p90_usd is None
