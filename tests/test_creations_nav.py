"""Issue 27 items 5 and 6: a fund's own return is its issuer NAV return where the issuer publishes
one, and each day's creations (the issuer's shares change x NAV x L) stand beside the rebalance
and are netted in the flow, with coverage; the ``creations`` command values each day's creations
at that day's NAV.

Every expected figure is computed here by hand from the issuer's own file,
``../shared/data/fund_history/proshares_nav_2023-12-29_2026-10-01.csv`` (shares in thousands),
never read back from the code under test.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from lev_flows.analysis.creations import (
    creations_at_daily_nav,
    creations_from_aum,
    implied_creations,
)
from lev_flows.analysis.history import history_range
from lev_flows.model.day import estimate_day, load_inputs
from lev_flows.model.issuer_nav import (
    creation_usd,
    known_share,
    nav_grid,
    nav_observations,
    nav_returns,
)

EIGHT = {"TQQQ": 3, "SQQQ": -3, "QLD": 2, "QID": -2, "SSO": 2, "SDS": -2, "UPRO": 3, "SPXU": -3}
B = 1e9


@pytest.fixture(scope="module")
def issuer(shared) -> pd.DataFrame:
    """The issuer's file, one row per fund and date, shares in shares."""
    df = pd.read_csv(shared / "fund_history/proshares_nav_2023-12-29_2026-10-01.csv", parse_dates=["date"])
    df["shares"] = df["shares_outstanding_000"] * 1000.0
    return df.set_index(["ticker", "date"]).sort_index()


@pytest.fixture(scope="module")
def inputs(shared):
    return load_inputs(prices=shared / "prices")


def _row(issuer, ticker, day) -> pd.Series:
    return issuer.loc[(ticker, pd.Timestamp(day))]


def _hand(issuer, day, prev) -> dict[str, dict[str, float]]:
    """Per fund: creation = (S_t - S_t-1) * NAV_t * L, rebalance = A_t-1 * (L - 1) * R_nav."""
    out = {}
    for t, lev in EIGHT.items():
        now, before = _row(issuer, t, day), _row(issuer, t, prev)
        out[t] = {
            "creation": (now["shares"] - before["shares"]) * now["nav"] * lev,
            "rebalance": before["aum_usd"] * (lev - 1) * (now["nav"] / before["nav"] - 1),
            "aum": before["aum_usd"],
        }
    return out


# ---- item 5: NAV returns ---------------------------------------------------------------------


def test_tqqq_return_on_2025_04_09_is_its_issuer_nav_return(inputs, issuer):
    pit, i = inputs.pit, {t: k for k, t in enumerate(inputs.pit.tickers)}
    row = pit.row("2025-04-09")
    nav_r = 26.4193 / 19.42375 - 1  # the file's NAV on 04-09 and 04-08
    assert _row(issuer, "TQQQ", "2025-04-09")["nav"] == 26.4193 and _row(issuer, "TQQQ", "2025-04-08")["nav"] == 19.42375
    assert pit.underlying_return[row, i["TQQQ"]] * 3 == pytest.approx(nav_r, rel=1e-12)
    price_r = inputs.closes.loc["2025-04-09", "TQQQ"] / inputs.closes.loc["2025-04-08", "TQQQ"] - 1
    assert abs(price_r - nav_r) > 1e-4  # the closing price says something else: the test can fail
    methods = pit.day_returns(inputs.universe, row).fund_methods
    assert methods["TQQQ"] == "NAV (issuer) (TQQQ) / 3"
    assert methods["SOXL"] == "own price (SOXL) / 3"  # no issuer NAV in the store: its closing price
    est = estimate_day("2025-04-09", inputs=inputs)
    assert est.by_etf.loc["TQQQ", "return_method"] == "NAV (issuer) (TQQQ) / 3"


def test_closing_price_returns_run_below_nav_returns(inputs, issuer):
    """The issue's 0.981-0.991x: least-squares slope of each fund's price return on its NAV return."""
    slopes = {}
    for t in EIGHT:
        nav = issuer.loc[t]["nav"]
        both = pd.concat([inputs.closes[t].pct_change(), nav.pct_change()], axis=1, keys=["px", "nav"], sort=True).dropna()
        both = both[both["px"] != 0]
        slopes[t] = float(both["px"] @ both["nav"] / (both["nav"] @ both["nav"]))
    assert 0.980 < min(slopes.values()) < 0.983 and 0.990 < max(slopes.values()) < 0.992


# ---- item 6: creations per fund-day ----------------------------------------------------------


def test_tqqq_creation_on_2025_04_04_is_the_issuer_shares_change_x_nav_x_l(inputs, issuer):
    pit, i = inputs.pit, {t: k for k, t in enumerate(inputs.pit.tickers)}
    row = pit.row("2025-04-04")
    # the file: 708,500 thousand shares on 04-03, 781,100 thousand on 04-04, NAV 20.52975
    by_hand = (781_100 - 708_500) * 1000 * 20.52975 * 3
    assert by_hand == pytest.approx(4.47137955e9, rel=1e-12)
    assert pit.creation_usd[row, i["TQQQ"]] == pytest.approx(by_hand, rel=1e-12)
    assert pit.creation_usd[row, i["SSO"]] == 0.0  # no unit traded: a known zero
    assert math.isnan(pit.creation_usd[row, i["SOXL"]])  # shares not known: unknown, never 0


def test_the_issue_figures_2025_04_03_and_04_04(inputs, issuer):
    """+5.85B of creations against -11.61B of rebalance on the eight funds (50 %), 26 % on 04-03."""
    for day, prev, creation, rebalance, offset in (("2025-04-04", "2025-04-03", 5.85, -11.61, 0.50),
                                                   ("2025-04-03", "2025-04-02", 2.90, -10.96, 0.26)):
        hand = _hand(issuer, day, prev)
        c_hand = sum(v["creation"] for v in hand.values())
        r_hand = sum(v["rebalance"] for v in hand.values())
        assert round(c_hand / B, 2) == creation and round(r_hand / B, 2) == rebalance
        assert round(-c_hand / r_hand, 2) == offset
        etf = estimate_day(day, inputs=inputs).by_etf.loc[list(EIGHT)]
        assert etf["creation_usd"].sum() == pytest.approx(c_hand, rel=1e-9)
        assert etf["rebalance_usd"].sum() == pytest.approx(r_hand, rel=1e-9)  # NAV returns, issuer AUM
        assert (etf["flow_usd"] - etf["rebalance_usd"] - etf["creation_usd"]).abs().max() < 1e-3


def test_estimate_day_nets_creations_with_coverage_unless_the_caller_gives_its_own(inputs, issuer):
    est = estimate_day("2025-04-04", inputs=inputs)
    hand = _hand(issuer, "2025-04-04", "2025-04-03")
    aum = est.by_etf["aum_usd"]
    assert est.coverage.aum_with_creations == pytest.approx(sum(v["aum"] for v in hand.values()) / aum.sum(), rel=1e-9)
    assert 0.3 < est.coverage.aum_with_creations < 0.45
    assert est.total.flow_usd == pytest.approx(est.total.rebalance_usd + est.total.creation_usd, rel=1e-12)
    assert f"x L add ${est.total.creation_usd / B:,.2f}B (known for {est.coverage.aum_with_creations:.0%} of the AUM)" in est.summary()
    own = estimate_day("2025-04-04", inputs=inputs, creations={"TQQQ": 1e9})
    assert own.total.creation_usd == pytest.approx(3e9)
    assert own.coverage.aum_with_creations == pytest.approx(aum["TQQQ"] / aum.sum(), rel=1e-9)


def test_history_carries_creations_and_the_net_flow(inputs, issuer):
    h = history_range("2025-04-01", "2025-04-10", inputs=inputs)
    day = h.daily.loc["2025-04-04"]
    c_hand = sum(v["creation"] for v in _hand(issuer, "2025-04-04", "2025-04-03").values())
    assert day["creation_usd"] == pytest.approx(c_hand, rel=1e-9)
    assert day["flow_usd"] == pytest.approx(day["rebalance_usd"] + c_hand, rel=1e-9)
    est = estimate_day("2025-04-04", inputs=inputs)
    assert day["flow_usd"] == pytest.approx(est.total.flow_usd, abs=1.0)  # the same day whichever asks
    # (the estimate's AUM takes a monthly fund's at its period start, the history's its start of day)
    assert day["aum_with_creations"] == pytest.approx(est.coverage.aum_with_creations, rel=1e-3)
    assert h.creation_by_fund.loc["2025-04-04", "TQQQ"] == pytest.approx(4.47137955e9, rel=1e-12)
    assert h.creation_by_fund["SOXL"].isna().all()


# ---- the pieces, on hand-made arrays -------------------------------------------------------------


def test_nav_grid_returns_and_creations_by_hand():
    grid = pd.DatetimeIndex(["2025-01-02", "2025-01-03", "2025-01-06", "2025-01-07"])
    obs = pd.DataFrame({
        "ticker": ["AAA", "AAA", "AAA", "AAA", "AAA", "BBB"],
        "date": pd.to_datetime(["2025-01-02", "2025-01-03", "2025-01-04", "2025-01-06", "2025-01-07", "2025-01-03"]),
        "aum_usd": [1000.0, 1320.0, 1.0, 1100.0, 1.0, 5.0],
        "nav": [10.0, 11.0, 99.0, 10.0, np.nan, 5.0],
        "shares_outstanding": [100.0, 120.0, 1.0, 110.0, 100.0, np.nan],
        "timing": "close", "source_kind": ["issuer_nav"] * 5 + ["screener"], "source": "x",
    })
    rows = nav_observations(obs)
    assert len(rows) == 4  # the screener row and the row without a NAV are no NAV observations
    nav, shares = nav_grid(np.array(["AAA", "BBB"]), grid, rows)
    assert nav[:, 0].tolist()[:3] == [10.0, 11.0, 10.0] and math.isnan(nav[3, 0])  # a Saturday's row is no close's
    assert np.isnan(nav[:, 1]).all()
    r = nav_returns(nav)
    assert r[:2, 0].tolist() == pytest.approx([0.1, 10 / 11 - 1]) and math.isnan(r[2, 0])
    usable = np.isfinite(r)
    c = creation_usd(shares, nav, np.array([3.0, -2.0]), usable)
    assert c[:, 0].tolist()[:2] == [(120 - 100) * 11.0 * 3, (110 - 120) * 10.0 * 3]
    assert math.isnan(c[2, 0]) and np.isnan(c[:, 1]).all()  # no NAV on the last close; no shares at all
    assert known_share(c, np.array([[300.0, 100.0]] * 3)).tolist() == [0.75, 0.75, 0.0]
    assert nav_observations(obs.drop(columns=["nav", "shares_outstanding"])).empty  # no NAV columns: none known


def test_an_unadjusted_split_is_not_a_creation(small_universe):
    """NAV halves and shares double on one close (a 2:1 split the file did not restate): the NAV
    return is a defect against the index, so neither the return nor a creation is taken from it."""
    from lev_flows.model.pointintime import point_in_time

    dates = pd.bdate_range("2025-03-03", periods=4)
    closes = pd.DataFrame({"STK1": [50.0, 50.5, 51.0, 50.5], "GOLD": 20.0}, index=dates)  # IDX: its composition
    obs = pd.DataFrame({
        "ticker": "AAA", "date": dates, "aum_usd": [1e9, 1.03e9, 1.06e9, 1.03e9],
        "nav": [10.0, 10.3, 5.3, 5.15], "shares_outstanding": [1e8, 1e8, 2e8, 2e8],
        "timing": "close", "source_kind": "issuer_nav", "source": "test", "precedence": 40,
    })
    pit = point_in_time(small_universe, closes, obs)
    a = list(pit.tickers).index("AAA")
    assert pit.nav_return[:, a].tolist() == [True, False, True]
    assert pit.underlying_return[0, a] == pytest.approx(0.01)  # NAV +3 % / 3 (the index: +1 %)
    assert pit.underlying_return[1, a] == pytest.approx(51 / 50.5 - 1)  # the index's, not -48.5 % / 3
    assert pit.creation_usd[:, a][[0, 2]].tolist() == [0.0, 0.0] and math.isnan(pit.creation_usd[1, a])


def test_the_store_reads_nav_and_shares_with_the_best_observations():
    from lev_flows.inputs.store import load_best_observations

    for _ in range(2):  # the store, then its read snapshot
        obs = load_best_observations()
        row = obs[(obs["ticker"] == "TQQQ") & (obs["date"] == "2025-04-04")].iloc[0]
        assert (row["nav"], row["shares_outstanding"]) == (20.52975, 781_100_000.0)


# ---- the creations command: each day's creations at that day's NAV -------------------------------


def test_creations_at_daily_nav_by_hand():
    g = math.sqrt(1.5)  # shares x1.5 over two days, at a constant rate: g per day
    assert creations_at_daily_nav(np.array([100.0]), np.array([300.0]), np.array([[0.0], [1.0]]))[0] == pytest.approx(
        100 * (g - 1) * (1 + 2 * g))  # 77.53: half the new shares came before the NAV doubled
    assert creations_from_aum(100.0, 300.0, 1.0) == 100.0  # every unit at the end-of-period NAV
    flat = creations_at_daily_nav(np.array([100.0]), np.array([130.0]), np.zeros((5, 1)))[0]
    assert flat == pytest.approx(30.0)
    # a path that knows the shares (10 -> 12 -> 15 at NAVs 10, 20, 10): exactly 2 x 20 + 3 x 10
    path = np.array([[100.0], [240.0], [150.0]])
    assert creations_at_daily_nav(np.array([100.0]), np.array([150.0]), np.array([[1.0], [-0.5]]), path)[0] == pytest.approx(70.0)


def test_creations_command_values_tqqq_at_each_days_nav(inputs, issuer, shared):
    from lev_flows.inputs.sources.screener import import_snapshot

    def aum_of(name):
        path = shared / f"letf_snapshots/leveraged_etfs_{name}.csv"
        return {f["ticker"]: (f.get("aum_usd"), f.get("aum_as_of")) for f in import_snapshot(path).funds}

    table = implied_creations(inputs.universe, inputs.closes, aum_of("2026-03-01"), aum_of("2026-06-01"), pit=inputs.pit)
    tqqq = table.set_index("ticker").loc["TQQQ"]
    # the snapshots' AUM is as of the start of 2026-02-20 and of 2026-06-01: the closes 02-20 .. 05-29
    t = issuer.loc["TQQQ"]
    by_hand = float((t["shares"].diff() * t["nav"]).loc["2026-02-20":"2026-05-29"].sum())
    assert round(by_hand / B, 2) == -5.75
    assert tqqq["creations_usd"] == pytest.approx(by_hand, rel=1e-9)
    assert tqqq["creations_basis"] == "issuer shares x NAV"
    # what the command said before: every unit at the end-of-period price (-8.40B on the closing
    # prices it then took the performance from, -8.33B on the NAV's)
    price = inputs.closes["TQQQ"]
    on_price = price.loc["2026-05-29"] / price.loc["2026-02-19"] - 1
    assert round(creations_from_aum(tqqq["aum_start_usd"], tqqq["aum_end_usd"], on_price) / B, 2) == -8.40
    on_nav = t["nav"].loc["2026-05-29"] / t["nav"].loc["2026-02-19"] - 1
    assert tqqq["performance"] == pytest.approx(on_nav, rel=1e-9)
    assert round(creations_from_aum(tqqq["aum_start_usd"], tqqq["aum_end_usd"], on_nav) / B, 2) == -8.33
    soxl = table.set_index("ticker").loc["SOXL"]
    assert soxl["creations_basis"] == "AUM path x NAV"
    assert abs(soxl["creations_usd"]) < abs(creations_from_aum(soxl["aum_start_usd"], soxl["aum_end_usd"], soxl["performance"]))


def test_creations_command_follows_the_observed_aum_path_by_hand(small_universe):
    """AAA observed at every close (1B, 1.25B, 1.1B) while it returned +18 % and -13.2 %: the
    units created on 02-03 are worth 1.25B - 1.18B = 70M at that close, those of 02-04
    1.1B - 1.25B x 0.868 = 15M at its close: 85M, where the end-of-period NAV says 75.76M."""
    closes = pd.DataFrame({"STK1": [100.0, 110.0, 99.0, 99.0], "STK2": [50.0, 50.0, 52.0, 51.0], "GLD": 10.0},
                          index=pd.DatetimeIndex(["2026-02-02", "2026-02-03", "2026-02-04", "2026-02-05"]))
    obs = pd.DataFrame({"ticker": "AAA", "date": pd.to_datetime(["2026-02-02", "2026-02-03", "2026-02-04"]),
                        "aum_usd": [1e9, 1.25e9, 1.1e9], "timing": "close", "source_kind": "screener", "source": "t",
                        "precedence": 10})
    start = {"AAA": (1e9, pd.Timestamp("2026-02-03").date())}
    end = {"AAA": (1.1e9, pd.Timestamp("2026-02-05").date())}
    row = implied_creations(small_universe, closes, start, end, observations=obs).set_index("ticker").loc["AAA"]
    assert row["performance"] == pytest.approx(1.18 * 0.868 - 1)
    assert row["creations_usd"] == pytest.approx((1.25e9 - 1.18e9) + (1.1e9 - 1.25e9 * 0.868), rel=1e-9)
    assert row["creations_usd"] == pytest.approx(85e6, rel=1e-9)
    assert creations_from_aum(1e9, 1.1e9, row["performance"]) == pytest.approx(75.76e6, rel=1e-9)


def test_daily_on_local_prices_nets_the_same_creations_as_estimate_date(inputs, shared):
    from lev_flows.inputs.sources.local import LocalPrices
    from lev_flows.jobs.daily import run_daily

    day = pd.Timestamp("2025-04-04").date()
    daily = run_daily(inputs.universe, LocalPrices(shared / "prices"), as_of=day, note_context=False).estimate
    one = estimate_day(day, inputs=inputs)
    assert daily.total.creation_usd == pytest.approx(one.total.creation_usd, abs=1.0)
    assert daily.total.flow_usd == pytest.approx(one.total.flow_usd, abs=1.0)
    assert daily.coverage.aum_with_creations == pytest.approx(one.coverage.aum_with_creations, rel=1e-12)
