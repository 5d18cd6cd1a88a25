"""Every accuracy figure the README states is what the repo's command measures today: the
held-out AUM tables are recomputed here (``benchmarks.validate_aum``, about 3 s) and compared with
the README's text at the precision it shows, so a change to the model that moves them fails until
the README is regenerated."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def measured(shared):
    from benchmarks import validate_aum as v
    from lev_flows.inputs.prices import load_price_dir

    closes = load_price_dir(shared / "prices")
    net = v.issuer_net_assets()
    return {"rules": v.carry_rule_errors(closes, net), "held": v.held_out_errors(closes, net),
            "monthly": v.month_end_errors(closes, net)}


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def test_the_readme_states_the_measured_month_end_anchor_errors(measured):
    readme = (ROOT / "README.md").read_text()
    for _, row in measured["monthly"].iterrows():
        line = f"| {row['direction']} | {row['fund_days']:,} | {_pct(row['median_abs_error'])} | {_pct(row['p90_abs_error'])} |"
        assert line in readme, line


def test_the_readme_states_the_measured_screener_held_out_errors(measured):
    readme = (ROOT / "README.md").read_text()
    held = measured["held"]
    for _, row in held[held["direction"] == "all"].iterrows():
        gap = row["gap_sessions"].replace(">250", "over 250")
        line = f"| {gap} | {row['fund_days']:,} | {_pct(row['median_abs_error'])} | {_pct(row['p90_abs_error'])} |"
        assert line in readme, line


def test_the_readme_leads_with_the_held_out_carry_error(measured):
    readme = (ROOT / "README.md").read_text()
    rules = measured["rules"]["rules"]
    loo = {d: rules[d]["least squares, fund left out"] for d in ("long", "inverse")}
    row = (f"| **least squares fitted without the fund itself (held out)** | **{loo['long']['median']:.3f} / "
           f"{loo['long']['p90']:.3f}** | **{loo['inverse']['median']:.3f} / {loo['inverse']['p90']:.3f}** |")
    assert row in readme
    first = re.search(r"\| rule \| long funds.*?\n\|---.*?\n(\|.*?)\n", readme, re.S)
    assert first and first.group(1) == row  # the held-out figure is the table's first row
