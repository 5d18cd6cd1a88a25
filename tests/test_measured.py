"""Every accuracy figure the documentation states is what the repo's command measures today: the
held-out AUM tables of ``docs/pointintime.md`` are recomputed here (``benchmarks.validate_aum``,
about 3 s) and compared with the page's text at the precision it shows, so a change to the model
that moves them fails until the page is regenerated."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: the page with the held-out AUM tables (it was the README's "Point in time" section)
PAGE = ROOT / "docs" / "pointintime.md"


@pytest.fixture(scope="module")
def measured(shared):
    from benchmarks import validate_aum as v
    from lev_flows.inputs.prices import load_price_dir

    closes = load_price_dir(shared / "prices")
    net = v.issuer_net_assets()
    pairs = v._snapshot_pairs(closes)
    return {"rules": v.carry_rule_errors(closes, net), "held": v.held_out_errors(closes, net),
            "monthly": v.month_end_errors(closes, net), "kinds": v.carry_by_kind_errors(pairs), "launch": v.launch_rule_errors(pairs)}


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def test_the_readme_states_the_measured_month_end_anchor_errors(measured):
    readme = PAGE.read_text("utf-8")
    for _, row in measured["monthly"].iterrows():
        line = f"| {row['direction']} | {row['fund_days']:,} | {_pct(row['median_abs_error'])} | {_pct(row['p90_abs_error'])} |"
        assert line in readme, line


def test_the_readme_states_the_measured_screener_held_out_errors(measured):
    readme = PAGE.read_text("utf-8")
    held = measured["held"]
    for _, row in held[held["direction"] == "all"].iterrows():
        gap = row["gap_sessions"].replace(">250", "over 250")
        line = f"| {gap} | {row['fund_days']:,} | {_pct(row['median_abs_error'])} | {_pct(row['p90_abs_error'])} |"
        assert line in readme, line


def test_the_readme_leads_with_the_held_out_carry_error(measured):
    readme = PAGE.read_text("utf-8")
    rules = measured["rules"]["rules"]
    loo = {d: rules[d]["least squares, fund left out"] for d in ("long", "inverse")}
    row = (f"| **least squares fitted without the fund itself (held out)** | **{loo['long']['median']:.3f} / "
           f"{loo['long']['p90']:.3f}** | **{loo['inverse']['median']:.3f} / {loo['inverse']['p90']:.3f}** |")
    assert row in readme
    first = re.search(r"\| rule \| long funds.*?\n\|---.*?\n(\|.*?)\n", readme, re.DOTALL)
    assert first and first.group(1) == row  # the held-out figure is the table's first row


def test_the_readme_states_the_measured_carry_by_kind_and_launch_rule(measured):
    readme = PAGE.read_text("utf-8")
    for _, k in measured["kinds"].iterrows():
        line = (f"| {k['kind']} | {k['pairs']:,} | {_pct(k['rule_median'])} / {_pct(k['rule_p90'])} | "
                f"{_pct(k['kind_held_out_median'])} / {_pct(k['kind_held_out_p90'])} |")
        assert line in readme, line
    launch = measured["launch"]
    assert f"median {_pct(launch['held_out_median'])} against {_pct(launch['price_only_median'])}" in readme
    assert f"over {launch['pairs']:,} pairs of snapshots of {launch['funds']} funds" in " ".join(readme.lower().split())
    assert round(launch["gamma_fitted"], 2) == 0.39  # the shipped LAUNCH_GROWTH is the fitted value
    first = launch["sizes_by_age"][0]
    assert first["age_sessions"] == "1-5" and f"{first['observations']} observations within 5 sessions" in readme
