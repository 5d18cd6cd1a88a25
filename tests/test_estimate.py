"""estimate(): hand-worked totals on a small universe, conservation, coverage, creations."""

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lev_flows import DayReturns, InputError, estimate
from tests.conftest import SMALL_RETURNS

M = 1e6


def test_small_universe_hand_worked(small_universe):
    est = estimate(small_universe, SMALL_RETURNS, date="2026-02-04")
    flows = est.by_etf["rebalance_usd"]
    assert flows["AAA"] == pytest.approx(-120 * M)  # 1B x 3 x 2 x -2 %
    assert flows["BBB"] == pytest.approx(-120 * M)  # 0.5B x -3 x -4 x -2 %
    assert flows["EEE"] == pytest.approx(-4 * M)  # 0.1B x -1 x -2 x -2 %
    assert flows["CCC"] == pytest.approx(-20 * M)  # 0.2B x 2 x 1 x -5 %
    assert flows["DDD"] == pytest.approx(2 * M)  # gold, 0.1B x 2 x 1 x +1 %
    assert flows["FFF"] == 0.0  # monthly reset: no trade today
    assert est.by_etf.loc["FFF", "status"] == "no reset today"
    assert est.total.rebalance_usd == pytest.approx(-262 * M)
    assert est.total.equity_rebalance_usd == pytest.approx(-264 * M)

    stocks = est.by_stock
    assert stocks.loc["STK1", "flow_usd"] == pytest.approx(0.6 * -244 * M - 20 * M)
    assert stocks.loc["STK1", "single_stock_usd"] == pytest.approx(-20 * M)
    assert stocks.loc["STK2", "flow_usd"] == pytest.approx(0.4 * -244 * M)
    assert est.total.lookthrough_usd == pytest.approx(-264 * M)  # gold is not a stock flow

    sectors = est.by_sector["flow_usd"]
    assert sectors["Information Technology"] == pytest.approx(-166.4 * M)
    assert sectors["Financials"] == pytest.approx(-97.6 * M)
    assert est.by_sector.index[0] == "Information Technology"

    idx = est.by_index
    assert idx.loc["Test index", "rebalance_usd"] == pytest.approx(-244 * M)
    assert idx.loc["Test index", "inverse_aum_usd"] == pytest.approx(600 * M)
    ac = est.by_asset_class["flow_usd"]
    assert ac["commodity"] == pytest.approx(2 * M)
    assert ac.sum() == pytest.approx(est.total.flow_usd)
    assert est.coverage.aum_with_return == 1.0
    assert est.coverage.equity_aum_with_composition == 1.0


def test_missing_return_is_reported_never_zero(small_universe):
    est = estimate(small_universe, {"IDX": -0.02, "GOLD": 0.01})  # STK1 missing
    row = est.by_etf.loc["CCC"]
    assert math.isnan(row["rebalance_usd"]) and row["status"] == "no return"
    assert est.coverage.n_funds_missing_return == 1  # FFF has no reset today but also no return
    assert est.coverage.missing_returns[0][0] in {"CCC", "FFF"}
    assert est.coverage.aum_with_return < 1.0
    assert any("CCC" in w for w in est.warnings)
    assert est.total.rebalance_usd == pytest.approx(-242 * M)


def test_fund_return_key_means_fund_return(small_universe):
    # AAA's own return -6 % is an underlying move of -2 %: same flow as the underlying key
    a = estimate(small_universe, {"AAA": -0.06}).by_etf
    assert a.loc["AAA", "rebalance_usd"] == pytest.approx(-120 * M)
    assert a.loc["AAA", "return_source"] == "fund"
    assert math.isnan(a.loc["BBB", "rebalance_usd"])


def test_creations_are_separate(small_universe):
    est = estimate(small_universe, SMALL_RETURNS, creations={"AAA": 100 * M, "BBB": -10 * M})
    row = est.by_etf
    assert row.loc["AAA", "creation_usd"] == pytest.approx(300 * M)
    assert row.loc["BBB", "creation_usd"] == pytest.approx(30 * M)  # redemption from a -3x fund buys back
    assert est.total.creation_usd == pytest.approx(330 * M)
    assert est.total.rebalance_usd == pytest.approx(-262 * M)
    assert est.total.flow_usd == pytest.approx(68 * M)
    with pytest.raises(InputError, match="ZZZ"):
        estimate(small_universe, SMALL_RETURNS, creations={"ZZZ": 1.0})


@pytest.mark.parametrize(
    "returns, match",
    [
        ({"IDX": float("nan")}, "IDX.*NaN"),
        ({"IDX": float("inf")}, "IDX"),
        ({"IDX": -1.0}, "-100%"),
        ({"IDX": 2.5}, "percent"),
        ({"IDX": "abc"}, "not a number"),
    ],
)
def test_bad_returns_raise_with_key(small_universe, returns, match):
    with pytest.raises(InputError, match=match):
        estimate(small_universe, returns)


def test_series_with_nan_is_refused(small_universe):
    with pytest.raises(InputError, match="STK1"):
        estimate(small_universe, pd.Series({"IDX": -0.02, "STK1": np.nan}))


def test_outputs_json_and_frame(small_universe):
    est = estimate(small_universe, DayReturns(SMALL_RETURNS, basis="test basis"))
    data = json.loads(est.to_json())
    assert data["basis"] == "test basis"
    assert data["total"]["rebalance_usd"] == pytest.approx(-262 * M)
    assert data["as_of"]["compositions"]["IDX"] == "2025-10-04"
    frame = est.to_frame()
    assert set(frame["level"]) == {"etf", "stock", "sector", "index", "asset_class", "total"}
    assert frame[frame.level == "etf"]["flow_usd"].sum() == pytest.approx(est.total.flow_usd)
    assert "selling" in est.summary()


returns_st = st.fixed_dictionaries(
    {
        "IDX": st.floats(min_value=-0.2, max_value=0.2),
        "STK1": st.floats(min_value=-0.45, max_value=0.45),  # a 2x fund at -50 % would lose all of its NAV
        "GOLD": st.floats(min_value=-0.1, max_value=0.1),
    }
)


@settings(max_examples=60, deadline=None)
@given(returns_st)
def test_conservation_and_aggregation(small_universe, returns):
    est = estimate(small_universe, returns)
    equity = est.by_etf[est.by_etf["asset_class"] == "equity"]["flow_usd"].sum()
    assert est.by_stock["flow_usd"].sum() == pytest.approx(equity, rel=1e-9, abs=1e-3)
    assert est.by_sector["flow_usd"].sum() == pytest.approx(equity, rel=1e-9, abs=1e-3)
    assert est.by_index["flow_usd"].sum() == pytest.approx(est.total.flow_usd, rel=1e-9, abs=1e-3)
    assert est.by_asset_class["flow_usd"].sum() == pytest.approx(est.total.flow_usd, rel=1e-9, abs=1e-3)
    assert est.by_etf["flow_usd"].sum() == pytest.approx(est.total.flow_usd, rel=1e-9, abs=1e-3)


def test_unknown_return_keys_are_an_error_not_a_zero(small_universe, tmp_path):
    """A misspelt key must not read as "no move": it is an error naming the nearest ids, or,
    asked for, skipped and listed."""
    from lev_flows import InputError
    from tests.conftest import run_cli

    with pytest.raises(InputError, match=r"unknown key idx \(did you mean IDX\?\)"):
        estimate(small_universe, {"idx": -0.02})
    est = estimate(small_universe, {"idx": -0.02, "IDX": -0.02}, ignore_unknown=True)
    assert est.coverage.unused_return_keys == 1 and any("unknown key idx" in w for w in est.warnings)
    uni = tmp_path / "u.yaml"
    from tests.conftest import SMALL_UNIVERSE

    uni.write_text(SMALL_UNIVERSE)
    rets = tmp_path / "r.csv"
    rets.write_text("underlying,return\nidx,-0.02\nSTK1,-0.05\n")
    res = run_cli("estimate", "--universe", uni, "--returns", rets)
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1
    assert "unknown key idx (did you mean IDX?)" in res.stderr
    ok = run_cli("estimate", "--universe", uni, "--returns", rets, "--ignore-unknown", "--format", "json")
    assert ok.returncode == 0, ok.stderr
    assert "lev-flows: warning: returns: unknown key idx" in ok.stderr


def test_a_bucket_of_funds_without_a_return_is_na_not_zero(small_universe):
    """FFF resets monthly (it trades 0 today whatever the move); with no return for STK1 and its
    bucket otherwise empty of returns, the bucket is unknown, not +0."""
    import math

    funds = [f.model_copy(update={"underlying": "GOLD", "asset_class": "commodity"}) if f.ticker == "FFF" else f
             for f in small_universe.funds if f.ticker in ("AAA", "FFF")]
    uni = small_universe.model_copy(update={"funds": funds})
    est = estimate(uni, {"IDX": -0.02})  # GOLD has no return
    row = est.by_index.loc["Commodities"]
    assert math.isnan(row["rebalance_usd"]) and math.isnan(row["flow_usd"]) and row["aum_with_return"] == 0


@settings(max_examples=30, deadline=None)
@given(returns_st)
def test_the_numpy_tables_are_the_dataframes(small_universe, returns):
    """One table, two views: the rows the terminal prints (``tables[...].head()``, no pandas)
    are the DataFrame's rows, in the same order, for every table."""
    est = estimate(small_universe, returns)
    for name, table in est.tables.items():
        frame = getattr(est, name).reset_index()  # indexed by its key: the key is the first column again
        assert list(frame.columns) == list(table.columns) and len(frame) == len(table)
        for row, expected in zip(table.head(), frame.itertuples(index=False)):
            for got, want in zip(row, expected):
                assert got == want or (got != got and want != want) or (got is None and want != want), (name, row)


def test_the_numpy_tables_are_read_only(small_universe):
    """Some columns are the compiled universe's own arrays: writing into a result must not
    change the next estimate's tickers."""
    est = estimate(small_universe, SMALL_RETURNS)
    with pytest.raises(ValueError, match="read-only"):
        est.tables["by_etf"].columns["ticker"][0] = "ZZZ"
    assert "ZZZ" not in set(estimate(small_universe, SMALL_RETURNS).by_etf.index)


def test_every_by_etf_column_is_on_its_own_fund_row():
    """futures_share, swap_reset and auction_usd were once put on the flow-sorted rows in catalog
    order, so UVXY's futures share (1.0) showed on another fund. Each is now a column of the fund's
    row: UVXY and SVXY trade none of their flow in the stocks' auctions, every fund with unknown
    timing all of it."""
    from lev_flows import replay

    etf = replay().by_etf
    assert etf.loc[["UVXY", "SVXY"], "futures_share"].tolist() == [1.0, 1.0]
    assert (etf.loc[["UVXY", "SVXY"], "auction_usd"].fillna(0.0) == 0.0).all()
    unknown = etf["futures_share"].isna() & etf["swap_reset"].isna()
    assert unknown.sum() > 600
    np.testing.assert_array_equal(etf.loc[unknown, "auction_usd"].to_numpy(), etf.loc[unknown, "flow_usd"].to_numpy())


def test_funds_without_aum_are_named_in_the_warning():
    from lev_flows import replay

    est = replay()
    (warning,) = [w for w in est.warnings if "have no AUM" in w]
    assert warning.startswith(f"{est.coverage.n_funds_without_aum} funds have no AUM and are left out: ")
    named = warning.split(": ", 1)[1].split(" and ")[0].split(", ")
    status = est.by_etf["status"]
    assert len(named) == 8 and all(status[t] == "no AUM" for t in named)
    assert (status == "no AUM").sum() == est.coverage.n_funds_without_aum


def test_compositions_dated_after_the_day_are_named():
    """One dated composition per index: an estimate of an earlier day splits its flows with
    weights known only later, and says which (JSON, terminal coverage and the note)."""
    from lev_flows import replay
    from lev_flows.present.note import render_note
    from lev_flows.present.tables import _composition_dates

    est = replay()
    assert est.as_of["compositions"]["SOX"] == "2026-08-03" and est.as_of["compositions"]["NDX"] == "2025-10-04"
    assert est.as_of["compositions_after_date"] == ["DJUSSC", "SOX"]  # NDX's weights predate the day
    assert "2 dated after the day (DJUSSC, SOX: weights known only later)" in _composition_dates(est)
    assert "SOX (2026-08-03)" in render_note(est)
    from lev_flows import load_universe

    undated = estimate(load_universe(), {"NDX": -0.02, "SOX": -0.05})
    assert undated.as_of["compositions_after_date"] == []
