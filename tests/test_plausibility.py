"""The plausibility layer: impossible inputs are one-line errors naming the value and its
source, implausible ones warnings (errors with --strict), and a genuine big day of one stock
does not stop a partial daily run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lev_flows import InputError, estimate, load_universe
from lev_flows.inputs import plausibility as pl
from tests.conftest import SMALL_UNIVERSE, run_cli

SMALL_RETURNS = {"IDX": -0.02, "STK1": -0.05, "GOLD": 0.01}
CLOSES = pd.DataFrame(
    {"STK1": [100.0, 100.0, 95.0], "STK2": [40.0, 40.0, 41.0], "DDD": [50.0, 50.0, 51.0]},
    index=pd.DatetimeIndex(["2026-02-02", "2026-02-03", "2026-02-04"], name="date"),
)


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def _one_line_exit2(res, *needles):
    assert res.returncode == 2, (res.stdout, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert lines[-1].startswith("lev-flows: error: ") and "Traceback" not in res.stderr, res.stderr
    for needle in needles:
        assert needle in lines[-1], lines[-1]


# ---- impossible: one line, exit 2, the value and where it came from ---------------------------

def _universe_variant(tmp_path, old, new):
    return _write(tmp_path, "u.yaml", SMALL_UNIVERSE.replace(old, new, 1))


IMPOSSIBLE = {
    # returns files
    "json true": ("r.json", '{"IDX": true}', ["r.json: IDX: return True is not a number"]),
    "json duplicate key": ("r.json", '{"IDX": -0.01, "IDX": -0.5}', ["r.json: IDX appears twice"]),
    "a percent given as a fraction": ("r.csv", "underlying,return\nIDX,-0.8\n",
                                      ["AAA: a +3x fund on a -80.0% day would lose all of its NAV", "(return from IDX: ", "r.csv)"]),
    # price tables
    "negative close": ("p.csv", "date,STK1,STK2\n2026-02-03,100,40\n2026-02-04,-95,41\n",
                       ["p.csv: STK1 has a close of -95 on 2026-02-04; a close is positive"]),
    "thousands separator": ("p.csv", 'date,STK1,STK2\n2026-02-03,100,40\n2026-02-04,"1,095.5",41\n',
                            ["p.csv: STK1 on 2026-02-04: '1,095.5' is not a number"]),
    "a gap read as one day": ("p.csv", "date,STK1,STK2,DDD\n2026-01-20,100,40,50\n2026-02-04,95,41,51\n",
                              ["the session before 2026-02-04 (2026-02-03) is missing from the price table; "
                               "its row before 2026-02-04 is 2026-01-20"]),
}


@pytest.mark.parametrize("case", sorted(IMPOSSIBLE))
def test_impossible_inputs_are_one_line_errors(tmp_path, case):
    name, text, needles = IMPOSSIBLE[case]
    uni = _write(tmp_path, "u.yaml", SMALL_UNIVERSE)
    path = _write(tmp_path, name, text)
    if name.startswith("p."):
        res = run_cli("estimate", "-u", uni, "--date", "2026-02-04", "--prices", path, "--format", "json")
    else:
        res = run_cli("estimate", "-u", uni, "--returns", path, "--format", "json")
    _one_line_exit2(res, *needles)


@pytest.mark.parametrize("field,value,needle", [
    ("aum_usd: 1.0e9", "aum_usd: true", "(AAA).aum_usd: True is not a number"),
    ("aum_usd: 1.0e9", "aum_usd: 2.0e15", "(AAA).aum_usd: Input should be less than or equal to 1000000000000"),
    ("leverage: 3,", "leverage: true,", "(AAA).leverage: True is not a number"),
    ("as_of: 2026-02-04\n", "as_of: 2026-02-04\nreference: Packaged\n", "reference: Input should be 'packaged' or 'none'"),
])
def test_impossible_catalog_values(tmp_path, field, value, needle):
    _one_line_exit2(run_cli("universe", "validate", _universe_variant(tmp_path, field, value)), needle)


def test_a_what_if_that_wipes_out_a_fund_is_refused_before_any_output(tmp_path):
    res = run_cli("ladder", "--move", "NDX=-99.9")
    _one_line_exit2(res, "TQQQ: a +3x fund on a -99.9% day would lose all of its NAV", "(return from NDX: what-if)")
    assert res.stdout == ""


def test_an_aum_file_in_thousands_is_refused_and_changes_nothing(tmp_path):
    obs = _write(tmp_path, "obs.csv", "ticker,date,aum_usd,source_kind,source\nTQQQ,2026-02-02,2.8e13,user,mine\n")
    res = run_cli("aum", "import", obs, "--db", tmp_path / "s.duckdb")
    _one_line_exit2(res, "aum_usd 28,000,000,000,000 is over $1T")


# ---- implausible: a warning, listed; --strict makes it an error --------------------------------

def test_an_implausible_move_warns_and_strict_refuses_it(tmp_path):
    uni = _write(tmp_path, "u.yaml", SMALL_UNIVERSE)
    rets = _write(tmp_path, "r.csv", "underlying,return\nIDX,-0.3\nSTK1,-0.05\nGOLD,0.01\n")
    res = run_cli("estimate", "-u", uni, "--returns", rets, "--format", "json")
    assert res.returncode == 0, res.stderr
    warning = "IDX: a return of -30.0% in one day is implausible (beyond 25%); was it given in percent?"
    assert f"lev-flows: warning: {warning}" in res.stderr
    strict = run_cli("estimate", "-u", uni, "--returns", rets, "--strict")
    _one_line_exit2(strict, f"--strict: 1 implausible input; first: {warning}")


def test_implausible_aum_and_a_nav_in_thousands(small_universe):
    from lev_flows.inputs.sources.issuers import FundHoldings

    est = estimate(small_universe, SMALL_RETURNS, aum={"AAA": 3e11})
    assert est.implausible == ["AAA: AUM of $300.00B is implausible for one leveraged fund (over $100B; a unit slip?)"]
    slip = FundHoldings(ticker="AAA", issuer="ProShares", as_of=None, nav_usd=1e12, exposure_usd=3e12, positions=3)
    est = estimate(small_universe, SMALL_RETURNS, holdings={"AAA": slip})
    row = est.by_etf.loc["AAA"]
    assert row["rebalance_method"] == "A*L*(L-1)*r" and row["rebalance_usd"] == pytest.approx(-120e6)  # the catalog AUM
    assert est.implausible[0].startswith("AAA: issuer net assets $1,000.00B against an AUM of $1.00B (a unit slip?)")


def test_a_genuine_big_day_of_one_stock_does_not_stop_a_partial_daily_run(small_universe):
    """STK1 +150 % takes IDX (60 % STK1) +91 %: the -3x BBB on IDX and a -1x GGG on STK1 would be
    wiped out. Without allow_partial that stops the run (naming the largest, BBB); with it they
    are left out and listed, the rest is estimated, and the move is flagged."""
    from lev_flows.inputs.sources.local import LocalPrices
    from lev_flows.jobs.daily import run_daily

    text = SMALL_UNIVERSE.replace(
        "  - {ticker: FFF,",
        "  - {ticker: GGG, name: One Bear Stock, leverage: -1, underlying: STK1, asset_class: equity, aum_usd: 1.0e8, aum_as_of: 2026-02-04}\n  - {ticker: FFF,")
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        uni = load_universe(_write(Path(tmp), "u.yaml", text))
        closes = CLOSES.copy()
        closes.loc["2026-02-04", "STK1"] = 250.0
        table = Path(tmp) / "p.parquet"
        closes.to_parquet(table)
        day = pd.Timestamp("2026-02-04").date()
        with pytest.raises(InputError, match=r"BBB: a -3x fund on a \+91.0% day would lose all of its NAV .*\(and 1 more funds\)"):
            run_daily(uni, LocalPrices(table), as_of=day, observations=pd.DataFrame())
        res = run_daily(uni, LocalPrices(table), as_of=day, allow_partial=True, observations=pd.DataFrame())
    est = res.estimate
    etf = est.by_etf
    assert etf.loc[["BBB", "GGG"], "rebalance_usd"].isna().all() and etf.loc["CCC", "rebalance_usd"] == pytest.approx(2e8 * 2 * 1.5)
    assert any(w.startswith("GGG: a -1x fund on a +150.0% day") and w.endswith("; left out") for w in est.warnings)
    assert any(w.startswith("STK1: a return of +150.0% in one day is implausible (beyond 100%)") for w in est.implausible)


# ---- the math the layer pins -------------------------------------------------------------------

@settings(max_examples=200, deadline=None)
@given(lev=st.sampled_from([-3.0, -2.0, -1.0, -0.5, 1.5, 2.0, 3.0]), r=st.floats(-0.99, 2.0))
def test_a_fund_day_is_impossible_exactly_when_its_nav_would_not_stay_positive(lev, r):
    """negative_nav is 1 + L*r <= 0; every estimate either refuses such a day or has none."""
    assert bool(pl.negative_nav(np.array([lev]), np.array([r]))[0]) == (1 + lev * r <= 0)


@settings(max_examples=60, deadline=None)
@given(st.floats(-0.6, 0.6), st.floats(-0.6, 0.6))
def test_every_estimate_is_of_possible_days_or_refused(small_universe, r_idx, r_stk):
    rets = {"IDX": r_idx, "STK1": r_stk, "GOLD": 0.0}
    lev = {f.ticker: (f.leverage, rets[f.underlying]) for f in small_universe.funds if f.reset == "daily"}
    wiped = sorted(t for t, (L, r) in lev.items() if 1 + L * r <= 0)
    if wiped:
        with pytest.raises(InputError, match="would lose all of its NAV"):
            estimate(small_universe, rets)
        dropped = estimate(small_universe, rets, on_impossible="drop")
        assert dropped.by_etf.loc[wiped, "rebalance_usd"].isna().all()
    else:
        est = estimate(small_universe, rets)
        assert np.isfinite(est.total.rebalance_usd)


def test_a_chart_of_more_bars_than_drawable_is_refused_before_any_work(tmp_path):
    """--top 10000 --chart once drew a 300,000-pixel PNG for a minute; the table may be that long."""
    res = run_cli("estimate", "--top", "150", "--chart", tmp_path / "x.png")
    _one_line_exit2(res, "--chart draws at most 100 bars and --top asks for 150")
    assert not (tmp_path / "x.png").exists()
    ok = run_cli("estimate", "--top", "150", "--output", tmp_path / "x.csv")
    assert ok.returncode == 0 and len(pd.read_csv(tmp_path / "x.csv")) > 100


def test_a_monte_carlo_conditioned_on_an_impossible_move_is_refused(shared):
    res = run_cli("montecarlo", "--given", "NDX=-99.9", "--scenarios", "1000")
    _one_line_exit2(res, "monte carlo: --given NDX: TQQQ: a +3x fund on a -99.9% day would lose all of its NAV")


def test_a_300_character_file_name_is_one_line(tmp_path):
    name = "x" * 300
    _one_line_exit2(run_cli("estimate", "--output", tmp_path / f"{name}.csv"), "a name of 304 characters is longer than")
    _one_line_exit2(run_cli("estimate", "--returns", tmp_path / f"{name}.csv"), "a name of 304 characters is longer than")
