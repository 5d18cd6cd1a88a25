"""Issuer AUM for the whole universe: issuer names, coverage of the catalog's AUM by the
providers, the store's fetch times, what a day's AUM rests on (``aum coverage``) and the
estimate's own account of it."""

from __future__ import annotations

import json

import duckdb
import pandas as pd
import pytest

from lev_flows import estimate_day, load_universe
from lev_flows.inputs.catalog import ISSUER_ALIASES, normalize_issuer
from lev_flows.inputs.days import aum_basis, basis_shares
from lev_flows.inputs.sources.issuer_aum import provider_classes
from lev_flows.inputs.store import Store

from .conftest import run_cli


def test_issuer_spellings_are_one_name():
    assert normalize_issuer("Direxion Funds") == "Direxion"
    assert normalize_issuer("  direxion   funds ") == "Direxion"
    assert normalize_issuer("Tradr ETFs") == normalize_issuer("Tradr") == "Tradr"
    assert normalize_issuer("VS TRUST") == normalize_issuer("Volatility Shares LLC") == "Volatility Shares"
    assert normalize_issuer("BMO Capital Markets") == normalize_issuer("REX Microsectors") == "MicroSectors"
    assert normalize_issuer("T-Rex") == "REX"
    assert normalize_issuer("Someone New") == "Someone New" and normalize_issuer(None) is None
    issuers = {f.issuer for f in load_universe().funds}
    aliases = {a for names in ISSUER_ALIASES.values() for a in names}
    assert not issuers & aliases  # the packaged catalog spells each issuer one way
    assert None not in issuers  # every fund names its issuer


def test_the_providers_cover_ninety_percent_of_the_catalogs_aum():
    funds = load_universe().funds
    total = sum(f.aum_usd or 0 for f in funds)
    classes = provider_classes()
    covered = sum(f.aum_usd or 0 for f in funds if f.issuer in classes)
    assert covered / total >= 0.90
    for issuer, cls in classes.items():  # one module per issuer, each with its own base URL variable
        assert cls.issuer == issuer and cls.url_env.startswith("LEV_FLOWS_") and cls.default_url.startswith("https://")
    assert len({cls.url_env for cls in classes.values()}) == len(classes)


def test_a_day_of_aum_by_source_and_age():
    family, age = aum_basis(["issuer_nav", "screener", "nport", None, "holdings"], [0, 3, 30, -1, 70])
    assert list(family) == ["issuer", "screener", "SEC N-PORT", "none", "issuer"]
    assert list(age) == ["previous close", "1-5 sessions", "22-63 sessions", "n/a", "over 63 sessions"]
    shares = basis_shares([60.0, 30.0, 10.0, float("nan")], ["issuer_nav", "screener", "issuer_nav", "screener"], [0, 2, 0, 0])
    assert shares == {"issuer, previous close": 0.7, "screener, 1-5 sessions": 0.3}


def test_the_estimate_says_what_its_aum_rests_on(shared):
    est = estimate_day("2026-02-04", prices=shared / "prices")
    basis = est.coverage.aum_basis
    assert sum(basis.values()) == pytest.approx(1.0)
    # the eight ProShares funds of the issuer file: 36 % of the day's AUM (the issue's figure)
    assert est.coverage.aum_issuer_previous_close == pytest.approx(0.3626, abs=0.0005)
    assert basis["screener, 1-5 sessions"] == pytest.approx(0.6372, abs=0.0005)
    doc = json.loads(est.to_json())
    assert doc["coverage"]["aum_basis"]["issuer, previous close"] == pytest.approx(0.3626, abs=0.0005)


def test_cli_aum_coverage_by_basis_and_by_issuer(shared):
    res = run_cli("aum", "coverage", "--date", "2026-02-04", "--prices", shared / "prices", "--format", "json")
    assert res.returncode == 0, res.stderr
    rows = pd.DataFrame(json.loads(res.stdout))
    fresh = rows[(rows["source"] == "issuer") & (rows["age"] == "previous close")]
    assert fresh["funds"].tolist() == [8] and fresh["share"].iat[0] == pytest.approx(0.3626, abs=0.0005)
    assert rows["share"].sum() == pytest.approx(1.0) and set(rows["date"]) == {"2026-02-04"}
    table = run_cli("aum", "coverage", "--date", "2026-02-04", "--prices", shared / "prices")
    assert "36.3% of the AUM rests on an issuer figure of the previous close." in table.stdout
    by = run_cli("aum", "coverage", "--date", "2025-04-09", "--by", "issuer", "--prices", shared / "prices", "--format", "csv")
    issuers = pd.read_csv(__import__("io").StringIO(by.stdout)).set_index("issuer")
    assert issuers.loc["Direxion", "issuer_previous_close"] == 0.0
    assert issuers.loc["ProShares", "issuer_previous_close"] == pytest.approx(0.76, abs=0.01)
    assert issuers.loc["Direxion", "weakest"] == "screener, over 63 sessions"
    weekend = run_cli("aum", "coverage", "--date", "2026-02-07", "--prices", shared / "prices")
    assert weekend.returncode == 2 and "not a session" in weekend.stderr
    bad = run_cli("aum", "coverage", "--by", "fund", "--prices", shared / "prices")
    assert bad.returncode == 2 and "--by 'fund' is not 'basis' or 'issuer'" in bad.stderr


def test_the_store_keeps_fetch_times_and_takes_nport_rows(tmp_path):
    db = tmp_path / "old.duckdb"
    con = duckdb.connect(str(db))  # a store made before fetch times were kept
    con.execute("CREATE TABLE aum_observations (ticker VARCHAR NOT NULL, date DATE NOT NULL, aum_usd DOUBLE NOT NULL, "
                "nav DOUBLE, shares_outstanding DOUBLE, timing VARCHAR NOT NULL, source_kind VARCHAR NOT NULL, "
                "precedence INTEGER NOT NULL, source VARCHAR NOT NULL, published DATE, imported_at TIMESTAMP NOT NULL, "
                "PRIMARY KEY (ticker, date, source_kind, source))")
    con.close()
    rows = pd.DataFrame({"ticker": ["TQQQ", "TQQQ"], "date": ["2025-12-31", "2026-01-30"], "aum_usd": [3.0e10, 3.1e10],
                         "source_kind": ["nport", "issuer_nav"], "source": ["https://sec.example/a.xml", "https://issuer.example/f.csv"],
                         "fetched_at": [pd.Timestamp("2026-02-01 10:00"), pd.Timestamp("2026-02-01 10:05")]})
    with Store(db, seed=False) as store:
        assert store.add(rows, source_label="test") == 2
        assert store.add(rows.assign(fetched_at=pd.Timestamp("2026-02-03 09:00")), source_label="again") == 0
        obs = store.observations(["TQQQ"]).set_index("source_kind")
    assert obs.loc["nport", "precedence"] == 35 and obs.loc["issuer_nav", "precedence"] == 40
    # the same figure fetched again keeps the time it was first known
    assert obs.loc["nport", "fetched_at"] == pd.Timestamp("2026-02-01 10:00")


# ---- aum update across providers, on one loopback server ------------------------------------------

FIXTURES = __import__("pathlib").Path(__file__).parent / "fixtures" / "issuers"
#: one fund per provider whose fixture is a plain file at the path the provider asks for
FILES = {
    "TQQQ": ("ProShares", "proshares/historical_nav.csv"),
    "SPXL": ("Direxion", "direxion/SPXL.csv"),
    "ETHU": ("Volatility Shares", "volatilityshares/ethu.html"),
    "FNGU": ("MicroSectors", "microsectors/FNGU.html"),
    "NVDX": ("REX", "rex/nvdx.html"),
    "RKLX": ("Defiance", "defiance/rklx.html"),
    "HOOW": ("Roundhill", "roundhill/FilepointRoundhill.40RU.RU_DailyNAV.csv"),
}


def serve_fixtures(server, fail: str | None = None) -> None:
    """Each fund's fixture at the path its provider requests (``fail``: that fund's file is a 500)."""
    from werkzeug import Response

    from tests.test_sources import make_client

    client, _ = make_client()
    classes = provider_classes()
    for ticker, (issuer, name) in FILES.items():
        provider = classes[issuer](client, server.url_for("/"))
        for _, url in provider.requests([ticker]):
            path = url.removeprefix(server.url_for("/").rstrip("/"))
            body = (FIXTURES / name).read_bytes()
            kind = "text/html" if name.endswith(".html") else "text/csv"
            if ticker == fail:
                server.expect_request(path).respond_with_response(Response("down", status=500))
            else:
                server.expect_request(path).respond_with_data(body, content_type=kind)


def test_aum_update_runs_every_provider_and_imports_all_or_nothing(server, tmp_path):
    from lev_flows.errors import DataSourceError
    from lev_flows.jobs.aum import update_from_issuers
    from tests.test_sources import make_client

    uni = load_universe()
    db = tmp_path / "s.duckdb"
    serve_fixtures(server, fail="NVDX")
    client, _ = make_client(attempts=1)
    with pytest.raises(DataSourceError, match=r"^aum update: 1 of 7 funds failed; nothing was imported") as err:
        update_from_issuers(uni, client, db=db, tickers=list(FILES), base_urls={"*": server.url_for("/")})
    assert len(err.value.details) == 1 and err.value.details[0].startswith("NVDX (REX")
    assert "HTTP 500" in err.value.details[0]
    with Store(db) as store:
        seeded = store.count()
        assert not len(store.observations(list(FILES)).query("source.str.contains('127.0.0.1')"))  # nothing half-imported
    server.clear()
    serve_fixtures(server)
    seen: list[str] = []
    report = update_from_issuers(uni, client, db=db, tickers=list(FILES), base_urls={"*": server.url_for("/")},
                                 progress=lambda key, ok: seen.append(key))
    assert not report.skipped and len(report.files) == 7  # one line per provider
    with Store(db) as store:
        obs = store.observations(list(FILES))
        assert store.count() > seeded
    mine = obs[obs["source"].str.contains("127.0.0.1")]
    assert set(mine["ticker"]) == set(FILES)
    assert mine["fetched_at"].notna().all() and (mine["source_kind"] == "issuer_nav").all()
    assert any(k.startswith("Roundhill") for k in seen)  # progress names each provider's requests
    again = update_from_issuers(uni, client, db=db, tickers=list(FILES), base_urls={"*": server.url_for("/")})
    assert again.changed == 0  # idempotent


def test_an_online_estimate_updates_issuer_aum_first(server, tmp_path, small_yaml):
    from tests.test_sources import run_online, yahoo
    from tests.test_store import nav_file

    text = small_yaml.read_text().replace("{ticker: AAA, name: Three Bull,", "{ticker: AAA, name: Three Bull, issuer: ProShares,")
    small_yaml.write_text(text.replace("{ticker: BBB, name: Three Bear,", "{ticker: BBB, name: Three Bear, issuer: ProShares,"))
    yahoo(server, quote_at="2026-02-04T15:30")
    server.expect_request("/etfdata/historical_nav.csv").respond_with_data(
        nav_file([("02/03/2026", "AAA", 40.0, 30_000, 1.2e9), ("02/03/2026", "BBB", 10.0, 60_000, 6.0e8)]), content_type="text/csv")
    import os

    os.environ["LEV_FLOWS_PROSHARES_URL"] = server.url_for("/")
    try:
        res = run_online(server, tmp_path, "estimate", "--live", "-u", str(small_yaml), "--now", "2026-02-04T15:30",
                         "--format", "json", "--aum-update", "--db", str(tmp_path / "s.duckdb"))
        off = run_online(server, tmp_path, "estimate", "--live", "-u", str(small_yaml), "--now", "2026-02-04T15:30",
                         "--format", "json", "--db", str(tmp_path / "other.duckdb"))
    finally:
        os.environ.pop("LEV_FLOWS_PROSHARES_URL")
    assert res.returncode == 0, res.stderr
    assert "issuer AUM: 2 funds updated, 2 observations new or changed" in res.stderr
    doc = json.loads(res.stdout)
    etf = {r["ticker"]: r for r in doc["by_etf"]}
    assert etf["AAA"]["aum_usd"] == pytest.approx(1.2e9) and etf["BBB"]["aum_usd"] == pytest.approx(6.0e8)
    assert doc["coverage"]["aum_basis"]["issuer, previous close"] == pytest.approx(1.8e9 / (1.8e9 + 5e8))
    assert off.returncode == 0 and "issuer AUM" not in off.stderr  # $LEV_FLOWS_AUM_UPDATE=off: not fetched
    assert "issuer, previous close" not in json.loads(off.stdout)["coverage"]["aum_basis"]  # and the estimate says so


def test_nport_month_ends_anchor_the_history(tmp_path, shared):
    """SOXL has no observation before 2026-02 in the shipped data: an N-PORT month-end makes
    2025-04-09 rest on it (6 sessions away) instead of a screener snapshot ten months later."""
    db = tmp_path / "s.duckdb"
    before = estimate_day("2025-04-09", prices=shared / "prices", db=db).by_etf.loc["SOXL"]
    rows = pd.DataFrame({"ticker": ["SOXL"], "date": ["2025-03-31"], "aum_usd": [9.0e9], "source_kind": ["nport"],
                         "source": ["https://www.sec.gov/Archives/edgar/data/1424958/000000000025000001/primary_doc.xml"]})
    with Store(db) as store:
        store.add(rows, source_label="test N-PORT")
    after = estimate_day("2025-04-09", prices=shared / "prices", db=db).by_etf.loc["SOXL"]
    assert before["aum_source"] == "screener" and before["aum_gap_sessions"] > 200
    assert after["aum_source"] == "nport" and after["aum_date"] == "2025-03-31"
    assert after["aum_gap_sessions"] == 6  # 03-31 close -> 04-09 start: Apr 1, 2, 3, 4, 7, 8
