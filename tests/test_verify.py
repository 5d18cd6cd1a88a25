"""`universe verify`: the catalog checked against the funds' own prices, and the fixes it found."""

import json

import numpy as np
import pandas as pd
import pytest

from lev_flows import load_universe
from lev_flows.analysis.verify import regression_stats, verify
from lev_flows.inputs.catalog import universe_from_data
from lev_flows.inputs.sources.screener import import_snapshot, parse_leverage
from tests.conftest import SMALL_UNIVERSE, run_cli


@pytest.fixture(scope="module")
def shipped(shared):
    from lev_flows.inputs.prices import load_price_dir

    return verify(load_universe(), load_price_dir(shared / "prices"))


def test_shipped_catalog_has_no_unexplained_flag(shipped):
    assert shipped.flagged.empty, shipped.flagged[["ticker", "flags", "suggestion"]].to_string()
    explained = shipped.explained
    assert len(explained) >= 5 and explained["note"].str.len().gt(20).all()
    # a note on a fund that verifies fine is stale and must go
    stale = shipped.table[(shipped.table["status"] == "ok") & shipped.table["note"].notna()]
    assert stale.empty, stale[["ticker", "note"]].to_string()
    assert (shipped.table["status"] == "ok").sum() > 400


@pytest.mark.parametrize(
    "ticker, underlying, beta_lo, beta_hi",
    [
        ("GUSH", "SPSIOP", 1.9, 2.1),  # oil & gas producers (XOP), not crude
        ("DRIP", "SPSIOP", -2.1, -1.9),
        ("HIBL", "SP5HB", 2.4, 3.1),  # S&P 500 High Beta, not the S&P 500 (beta 4.7 there)
        ("JNUG", "GDMJ", 1.9, 2.1),  # junior miners (GDXJ), not GDX
        ("JDST", "GDMJ", -2.1, -1.9),
        ("BRZU", "MSCIBR", 1.9, 2.1),  # 2x, not 3x
        ("NAIL", "DJUSHB", 2.8, 3.2),  # through ITB, not the proxy composition (3.44)
        ("TYD", "UST", 2.7, 3.2),  # "7-10 Year" is not a minus sign: a bull fund
        ("URSP", "SPXEW", 1.8, 2.1),  # S&P 500 equal weight (RSP)
    ],
)
def test_reviewer_fixes_regress_on_the_new_underlying(shipped, ticker, underlying, beta_lo, beta_hi):
    row = shipped.table.set_index("ticker").loc[ticker]
    assert row["underlying"] == underlying
    assert row["status"] == "ok"
    assert beta_lo <= row["beta"] <= beta_hi
    assert row["correlation"] * np.sign(row["leverage"]) > 0.9


def test_catalog_entries_fixed():
    u = load_universe()
    f = u.fund_by_ticker
    assert f["TSLR"].leverage == 2.0 and "2x" in f["TSLR"].notes
    assert f["OILU"].underlying == f["OILD"].underlying == "MSOGEP" and f["OILU"].asset_class == "equity"
    assert f["HIBS"].leverage == -3 and f["HIBS"].underlying == "SP5HB"
    assert f["QQQP"].reset == f["SPYQ"].reset == "quarterly"
    assert f["RGTZ"].leverage == -2.0  # "2x Short" in the name; the screener says long
    assert f["UVXY"].leverage == 1.5 and f["SVXY"].leverage == -0.5 and f["UVXY"].underlying == "VIXF"
    fang = u.underlying_by_id["NYFANG"].composition.weights
    assert "NOW" in fang and "TSLA" not in fang
    excluded = {e.ticker: e.reason for e in u.excluded}
    for t in ("TWOX", "XBJA", "XDSQ", "QTJA", "COIO", "TSLO", "MST", "XQQI", "ZVOL"):
        assert t in excluded and t not in f, t
    assert "outcome" in excluded["TWOX"] and "income" in excluded["MST"]
    # funds gone from a later snapshot are closed, not "without AUM"
    closed = [x for x in u.funds if x.closed_on]
    assert len(closed) > 50 and all(x.closed_on.isoformat() >= "2026-03-01" for x in closed)


def test_closed_funds_leave_the_no_aum_count():
    from lev_flows import estimate_day

    est = estimate_day("2026-08-03")
    status = est.by_etf["status"]
    closed = [f.ticker for f in load_universe().funds if f.closed_on]
    assert (status.reindex(closed) == "closed").all()
    assert est.coverage.n_funds_closed == len(closed)
    assert est.coverage.n_funds_without_aum < 15


@pytest.mark.parametrize(
    "lev, direction, name, expected",
    [
        ("3x", "long", "Direxion Daily 7-10 Year Treasury Bull 3X Shares", 3.0),
        ("2x", "long", "ProShares Ultra Copper K-1 Free ETF", 2.0),
        ("2x", "long", "Defiance Daily Target 2x Short RGTI ETF", -2.0),
        ("3x", "short", "Direxion Daily 7-10 Year Treasury Bear 3X Shares", -3.0),
        ("3x", None, "MicroSectors Oil & Gas Exploration & Production -3x Inverse Leveraged ETN", -3.0),
    ],
)
def test_direction_from_the_fund_name(lev, direction, name, expected):
    assert parse_leverage(lev, direction, name) == expected


def test_import_maps_by_fund_name_and_excludes_outcome_funds(shared):
    result = import_snapshot(shared / "letf_snapshots/leveraged_etfs_2026-06-01.csv")
    funds = {f["ticker"]: f for f in result.funds}
    assert funds["GUSH"]["underlying"] == "SPSIOP" and funds["JNUG"]["underlying"] == "GDMJ"
    assert funds["WEBL"]["underlying"] == "DJINET" and funds["TSLR"]["leverage"] == 2.0
    assert "UVXY" in funds and "XBJA" not in funds


# ---- the statistics, by hand --------------------------------------------------------------


def _table(**cols):
    idx = pd.bdate_range("2025-01-02", periods=len(next(iter(cols.values()))))
    return pd.DataFrame(cols, index=idx)


def _small():
    data = __import__("yaml").safe_load(SMALL_UNIVERSE)
    return universe_from_data(data)


def test_regression_stats_exact():
    x = np.array([[0.01], [-0.02], [0.03], [0.0], [-0.01]])
    y = 3 * x + 0.001
    s = regression_stats(y, x, min_days=3)
    assert s["beta"][0] == pytest.approx(3.0) and s["corr"][0] == pytest.approx(1.0) and s["n"][0] == 5
    assert np.isnan(regression_stats(y, x, min_days=6)["beta"][0])  # too few days: NaN, not a number
    assert np.isnan(regression_stats(y, np.zeros_like(x), min_days=3)["beta"][0])  # constant x


def _closes(n=120, seed=1):
    rng = np.random.default_rng(seed)
    r = rng.normal(0, 0.01, n)
    stk1 = 100 * np.cumprod(1 + r)
    return r, stk1


def test_wrong_sign_and_wrong_leverage_are_flagged():
    r, stk1 = _closes()
    u = _small()
    closes = _table(
        STK1=stk1,
        CCC=50 * np.cumprod(1 - 2 * r),  # declared +2: moves -2x -> wrong sign
        FFF=50 * np.cumprod(1 + 1.0 * r),  # declared +2 (monthly): moves 1x -> wrong leverage
    )
    res = verify(u, closes, min_days=60).table.set_index("ticker")
    assert res.loc["CCC", "status"] == "flagged" and "wrong sign" in res.loc["CCC", "flags"]
    assert res.loc["CCC", "beta"] == pytest.approx(-2.0, abs=1e-6)
    assert res.loc["FFF", "status"] == "flagged" and "leverage: beta +1.00" in res.loc["FFF", "flags"]
    assert res.loc["CCC", "suggestion"].startswith("STK1")


@pytest.mark.parametrize(
    "closes_of, reason",
    [
        (lambda stk1: {"STK1": stk1}, "no prices in the table"),
        (lambda stk1: {"STK1": stk1, "CCC": [np.nan] * 117 + [1.0, 1.1, 1.2]}, "only 3 prices"),
        (lambda stk1: {"STK1": stk1, "CCC": np.full(120, 20.0)}, "constant price"),
        (lambda stk1: {"STK1": np.r_[stk1[:50], [np.nan] * 70], "CCC": np.r_[[np.nan] * 50, stk1[50:]]},
         "no days in common"),
    ],
)
def test_bad_input_is_reported_per_fund(closes_of, reason):
    _, stk1 = _closes()
    res = verify(_small(), _table(**closes_of(stk1)), min_days=60).table.set_index("ticker")
    row = res.loc["CCC"]
    assert row["status"] == "not checked" and reason in row["flags"]
    assert row["beta"] is None and row["correlation"] is None


def test_unknown_ticker_is_an_error():
    from lev_flows.errors import InputError

    _, stk1 = _closes()
    with pytest.raises(InputError, match="not in the catalog: ZZZ"):
        verify(_small(), _table(STK1=stk1), tickers=["ZZZ"])


def test_cli_verify_check_and_json(shared):
    proc = run_cli("universe", "verify", "--check", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert rows and {r["status"] for r in rows} == {"explained"}
    assert "0 flagged" in proc.stderr
    one = run_cli("universe", "verify", "GUSH", "--all", "--format", "csv")
    assert one.returncode == 0 and "GUSH" in one.stdout and "XOP (tracking ETF)" in one.stdout


# ---- universe update: the screener export over HTTP -----------------------------------------


@pytest.fixture(scope="module")
def february_catalog(shared, tmp_path_factory):
    from lev_flows.jobs.catalog_update import import_universe

    path = tmp_path_factory.mktemp("cat") / "feb.yaml"
    import_universe(shared / "letf_snapshots/leveraged_etfs_2026-02-04.csv", path, fresh=True)
    return path


def _copy(src, tmp_path):
    dst = tmp_path / "u.yaml"
    dst.write_bytes(src.read_bytes())
    return dst


def test_universe_update_refreshes_closes_verifies_and_stores(server, shared, february_catalog, tmp_path):
    from lev_flows.inputs.store import Store
    from lev_flows.jobs.catalog_update import update_universe
    from tests.test_sources import make_client

    march = (shared / "letf_snapshots/leveraged_etfs_2026-03-01.csv").read_bytes()
    hits = []

    def busy_then_ok(request):  # one 503, then the export: retried, not a failure
        from werkzeug import Response

        hits.append(1)
        return Response("busy", status=503) if len(hits) == 1 else Response(march, content_type="text/csv")

    server.expect_request("/export.csv").respond_with_handler(busy_then_ok)
    out, db = _copy(february_catalog, tmp_path), tmp_path / "s.duckdb"
    client, sleeps = make_client()
    lines = update_universe(client, out, url=server.url_for("/export.csv"), db=db)
    assert sleeps and len(hits) == 2
    text = "\n".join(lines)
    assert "19 added" in text and "22 funds not in this snapshot marked closed on 2026-02-20" in text
    assert "verify: 19 new or changed funds: 11 ok, 8 not checked" in text and "flagged" not in text
    u = load_universe(out)
    # the export's updated_at (2026-02-20) dates it, as for the file (SOURCES.md)
    assert u.fund_by_ticker["DVHL"].closed_on.isoformat() == "2026-02-20"
    with Store(db) as store:
        obs = store.observations(["TQQQ"])
    assert (obs["source"] == server.url_for("/export.csv")).sum() == 1
    # the same export again: nothing new in the store, the file unchanged
    before = out.read_bytes()
    client, _ = make_client()
    again = "\n".join(update_universe(client, out, url=server.url_for("/export.csv"), db=db))
    assert "0 observations new or changed" in again and out.read_bytes() == before


def test_universe_update_refuses_a_flagged_change_and_writes_nothing(server, shared, february_catalog, tmp_path):
    from lev_flows.errors import InputError
    from lev_flows.inputs.store import Store
    from lev_flows.jobs.catalog_update import update_universe
    from tests.test_sources import make_client

    rows = pd.read_csv(shared / "letf_snapshots/leveraged_etfs_2026-02-04.csv")
    rows.loc[rows["ticker"] == "TQQQ", "direction"] = "short"  # a screener error: TQQQ as a bear fund
    server.expect_request("/bad.csv").respond_with_data(rows.to_csv(index=False), content_type="text/csv")
    server.expect_request("/page.csv").respond_with_data("<html><body>log in</body></html>", content_type="text/html")
    from lev_flows import save_universe

    feb = load_universe(february_catalog)  # a catalog without TQQQ: the export brings it in as new
    out, db = tmp_path / "u.yaml", tmp_path / "s.duckdb"
    save_universe(feb.model_copy(update={"funds": [f for f in feb.funds if f.ticker != "TQQQ"]}), out)
    before = out.read_bytes()
    client, _ = make_client()
    with pytest.raises(InputError, match=r"verify flags 1 changed fund.*TQQQ: wrong sign.*nothing written|nothing written.*TQQQ"):
        update_universe(client, out, url=server.url_for("/bad.csv"), db=db)
    with pytest.raises(Exception, match="an HTML page"):
        update_universe(client, out, url=server.url_for("/page.csv"), db=db)
    assert out.read_bytes() == before
    with Store(db) as store:
        assert (store.observations(["TQQQ"])["source"].str.contains("127.0.0.1")).sum() == 0
    client, _ = make_client()
    lines = update_universe(client, out, url=server.url_for("/bad.csv"), db=db, accept_flags=True)
    assert any("accepted with flags" in line for line in lines)
    assert load_universe(out).fund_by_ticker["TQQQ"].leverage == -3.0  # written as the export says, flag listed


def test_cli_universe_update_needs_a_url(tmp_path):
    proc = run_cli("universe", "update", "--output", tmp_path / "u.yaml")
    assert proc.returncode == 2 and "no screener URL" in proc.stderr and "LEV_FLOWS_SCREENER_URL" in proc.stderr
    bad = run_cli("universe", "update", "--url", "ftp://x", "--output", tmp_path / "u.yaml")
    assert bad.returncode == 2 and "not an http(s) URL" in bad.stderr
