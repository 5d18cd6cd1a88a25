"""The built-in 2026-02-04 replay against the published figure, and the shipped data against
what the project's own commands rebuild from ../shared/data."""

import io
import json
import shutil
from importlib import resources

import pandas as pd
import pytest

from lev_flows import load_universe, replay
from lev_flows.jobs.catalog_update import import_universe
from lev_flows.jobs.reference import build_reference, build_replay
from tests.conftest import ROOT

PUBLISHED_USD = -18e9  # Morgan Stanley note: about $18B of selling on 2026-02-04


def _check_headline(est):
    assert 1.3 * PUBLISHED_USD <= est.total.rebalance_usd <= 0.7 * PUBLISHED_USD, est.total.rebalance_usd
    assert set(est.by_etf.index[:2]) == {"SOXL", "TQQQ"}
    top15 = set(est.by_stock.index[:15])
    assert {"NVDA", "AMD", "MU", "AVGO"} <= top15, top15
    assert est.by_sector.index[0] == "Information Technology"
    assert est.by_sector["flow_usd"].iloc[0] < 0
    # Nasdaq-100 and the semiconductor funds sell the most, within 2 % of each other
    assert set(est.by_index.index[:2]) == {"Nasdaq-100", "Semiconductors"}
    assert (est.by_index["rebalance_usd"].iloc[:2] < 0).all()


def test_close_to_close_replay_matches_published_figure():
    est = replay(basis="close")
    _check_headline(est)
    assert est.basis == "close-to-close"
    assert est.coverage.aum_with_return > 0.999
    assert est.coverage.equity_aum_with_composition >= 0.95
    by = est.by_etf
    # returns fund by fund: the issuer's NAV where it publishes one, else the fund's own close
    assert by.loc["TQQQ", "return_method"] == "NAV (issuer) (TQQQ) / 3"
    assert by.loc["SPXL", "return_method"] == "own price (SPXL) / 3"
    # TQQQ's NAV return that day was -5.3261 % (its close -5.2553 %): r = R / 3
    assert by.loc["TQQQ", "underlying_return"] == pytest.approx(-0.0177536, abs=1e-7)
    # start-of-day AUM point in time: TQQQ = the issuer's net assets at the close of 2026-02-03
    assert by.loc["TQQQ", "aum_usd"] == pytest.approx(28_567_096_530.0, rel=1e-9)
    assert by.loc["TQQQ", "aum_source"] == "issuer_nav" and by.loc["TQQQ", "aum_date"] == "2026-02-03"
    # a fund known only from the screener: its 2026-02-02 observation carried one session
    assert by.loc["SOXL", "aum_source"] == "screener" and by.loc["SOXL", "aum_gap_sessions"] == 1
    # the packaged replay is exactly the point-in-time estimate of the day
    from lev_flows import estimate_day

    assert estimate_day("2026-02-04").total.rebalance_usd == pytest.approx(est.total.rebalance_usd, abs=1.0)


def test_intraday_view_at_snapshot_time():
    est = replay(basis="intraday")
    _check_headline(est)
    row = est.by_etf.loc["TQQQ"]
    # TQQQ reported -5.854912 % at 14:43: A * (L - 1) * R with A = issuer net assets at 02-03's close
    assert row["rebalance_usd"] == pytest.approx(28_567_096_530.0 * 2 * -0.05854912, rel=1e-6)


def test_shipped_universe_covers_equity_aum():
    uni = load_universe()
    equity = [f for f in uni.funds if f.asset_class == "equity" and f.aum_usd]
    total = sum(f.aum_usd for f in equity)
    covered = sum(f.aum_usd for f in equity if uni.composition_of(f.underlying) is not None)
    assert covered / total >= 0.95
    by = uni.fund_by_ticker
    assert by["TQQQ"].underlying == "NDX" and by["TQQQ"].leverage == 3
    assert by["SQQQ"].leverage == -3
    assert by["SOXL"].underlying == "SOX"
    assert by["SSO"].underlying == "SPX"
    assert by["TNA"].underlying == "RTY"
    assert by["FNGU"].underlying == "NYFANG"
    assert by["MUU"].underlying == "MU"  # screener name is wrong ('Muni Bond'); curated override
    assert by["TSMX"].underlying == "TSM"
    assert by["SH"].leverage == -1
    assert uni.underlying_by_id["SPX"].composition.as_of.isoformat() == "2025-11-01"
    assert "NTSX" in {e.ticker for e in uni.excluded}  # variable leverage, excluded with a reason


# ---- shipped data == what the project's commands rebuild from the raw files -----------------


def test_reference_rebuilds_from_raw_data(shared):
    rebuilt = build_reference(shared)
    shipped = json.loads(resources.files("lev_flows").joinpath("data/reference.json").read_text())
    assert rebuilt == shipped


def test_universe_import_rebuilds_shipped_yaml_exactly(shared, tmp_path):
    # the shipped catalog: the 2026-02-04 snapshot, then each later one refreshing it in place
    # (funds added, funds gone marked closed on the snapshot's date)
    snaps = [shared / f"letf_snapshots/leveraged_etfs_2026-{d}.csv" for d in ("02-04", "03-01", "04-01", "05-01", "06-01")]
    fresh = tmp_path / "fresh.yaml"
    import_universe(snaps[0], fresh, fresh=True)
    for snap in snaps[1:]:
        import_universe(snap, fresh)
    assert fresh.read_text() == (ROOT / "etf_universe.yaml").read_text()
    snap = snaps[-1]
    # refreshing the shipped file with its own snapshot changes nothing
    again = tmp_path / "again.yaml"
    shutil.copy(ROOT / "etf_universe.yaml", again)
    import_universe(snap, again)
    assert again.read_text() == (ROOT / "etf_universe.yaml").read_text()


def test_replay_rebuilds_from_raw_data(shared):
    rebuilt = build_replay(shared, "2026-02-04")
    text = resources.files("lev_flows").joinpath("data/replay_2026-02-04.csv").read_text()
    shipped = pd.read_csv(io.StringIO(text), keep_default_na=False)
    shipped["value"] = pd.to_numeric(shipped["value"].replace("", None))  # funds not launched yet: no AUM
    pd.testing.assert_frame_equal(rebuilt.reset_index(drop=True), shipped, check_dtype=False)


def test_headline_recomputed_from_raw_prices(shared):
    from lev_flows import estimate
    from lev_flows.inputs.prices import load_price_dir
    from lev_flows.inputs.sources.screener import import_snapshot
    from lev_flows.model.returns import returns_from_prices

    uni = load_universe()
    changes = import_snapshot(shared / "letf_snapshots/leveraged_etfs_2026-02-04.csv").reported_change
    from lev_flows.jobs.reference import load_replay_aum

    rets = returns_from_prices(uni, load_price_dir(shared / "prices"), "2026-02-04", fund_changes=changes)
    _check_headline(estimate(uni, rets, aum=load_replay_aum("2026-02-04", uni)))
    # the catalog's own AUM is dated after the day: said, not silently used
    assert any("look-ahead" in w for w in estimate(uni, rets).warnings)


@pytest.mark.parametrize("day", ["2026-03-01", "2026-06-01"])
def test_newer_snapshots_import_with_same_rules(shared, tmp_path, day):
    out = tmp_path / f"u_{day}.yaml"
    result, summary = import_universe(shared / f"letf_snapshots/leveraged_etfs_{day}.csv", out, fresh=True)
    uni = load_universe(out)
    assert len(uni.funds) > 600
    assert uni.fund_by_ticker["TQQQ"].underlying == "NDX"
    assert uni.fund_by_ticker["SOXL"].underlying == "SOX"
    assert "excluded" in summary


def test_refresh_keeps_curated_fields_and_comments(shared, tmp_path):
    path = tmp_path / "u.yaml"
    text = (ROOT / "etf_universe.yaml").read_text()
    text = text.replace(
        "  - ticker: TQQQ\n", "  # desk note: the largest fund, watch it\n  - ticker: TQQQ\n    notes: hand-curated\n", 1
    )
    path.write_text(text)
    import_universe(shared / "letf_snapshots/leveraged_etfs_2026-03-01.csv", path)
    out = path.read_text()
    assert "# desk note: the largest fund, watch it" in out
    tqqq = load_universe(path).fund_by_ticker["TQQQ"]
    assert tqqq.notes == "hand-curated"
    raw = pd.read_csv(shared / "letf_snapshots/leveraged_etfs_2026-03-01.csv").set_index("ticker")
    assert tqqq.aum_usd == pytest.approx(raw.loc["TQQQ", "aum"])
