"""The AUM store and its imports: seeding, idempotence, precedence, atomic failure, corrupt and
locked files, bad NAV files, snapshot dating, the issuer NAV provider on a loopback server, and
the aum / scorecard commands."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from lev_flows import load_universe
from lev_flows.inputs.sources.aumfiles import (
    measure_lag,
    parse_nav_history,
    snapshot_observations,
)
from lev_flows.inputs.store import Store, StoreError
from lev_flows.jobs.aum import import_files, update_from_issuers
from lev_flows.jobs.reference import build_observations
from tests.conftest import ROOT, run_cli

NAV_HEADER = "Date,ProShares Name,Ticker,NAV,Prior NAV,NAV Change (%),NAV Change ($),Shares Outstanding (000),Assets Under Management"


def nav_file(rows: list[tuple[str, str, float, float, float]]) -> str:
    """The issuer's format, newest first: (date MM/DD/YYYY, ticker, nav, shares 000, net assets)."""
    lines = [NAV_HEADER]
    for date, ticker, nav, shares, aum in rows:
        lines.append(f'{date},ProShares Test {ticker},{ticker},{nav},{nav},0.00%,0.00,"{shares:,.2f}","${aum:,.2f}"')
    return "\n".join(lines) + "\n"


GOOD = nav_file([
    ("02/04/2026", "TQQQ", 49.56, 576_000, 28_560_000_000.0),
    ("02/03/2026", "TQQQ", 52.31, 546_100, 28_567_096_530.0),
])


@pytest.fixture
def db(tmp_path) -> Path:
    return tmp_path / "store.duckdb"


def test_a_fresh_store_is_seeded_once(db):
    with Store(db) as store:
        n = store.count()
        summary = store.summary().set_index("source_kind")
    assert n == 8972
    assert summary.loc["issuer_nav", "funds"] == 8 and summary.loc["screener", "rows"] == 3444
    with Store(db) as store:  # opening again imports nothing
        assert store.count() == n
        assert store._con.execute("SELECT count(*) FROM imports").fetchone()[0] == 1


def test_packaged_observations_rebuild_from_raw_data(shared):
    import gzip

    frame, notes = build_observations(shared)
    shipped = gzip.decompress((ROOT / "lev_flows/data/aum_observations.csv.gz").read_bytes()).decode()
    assert frame.to_csv(index=False, lineterminator="\n") == shipped
    # each snapshot dated by what it is: the 14:43 snapshot of 2026-02-04 holds 2026-02-02's figures
    dated = {k: v["date"] for k, v in notes["snapshots"].items()}
    assert dated == {
        "leveraged_etfs_2026-02-04.csv": "2026-02-02",
        "leveraged_etfs_2026-03-01.csv": "2026-02-19",
        "leveraged_etfs_2026-04-01.csv": "2026-03-26",
        "leveraged_etfs_2026-05-01.csv": "2026-04-28",
        "leveraged_etfs_2026-06-01.csv": "2026-05-29",
    }
    assert json.loads((ROOT / "lev_flows/data/aum_sources.json").read_text()) == json.loads(json.dumps(notes))


def test_measure_lag_hand_worked():
    issuer = pd.DataFrame(
        {"A": [100.0, 110.0, 120.0], "B": [50.0, 55.0, 60.0], "C": [10.0, 11.0, 12.0]},
        index=pd.to_datetime(["2026-01-05", "2026-01-06", "2026-01-07"]),
    )
    snap = pd.Series({"A": 110.5, "B": 55.0, "C": 11.2, "Z": 5.0})
    date, score, funds = measure_lag(snap, issuer, pd.Timestamp("2026-01-07").date())
    assert str(date) == "2026-01-06" and funds == 3 and score == pytest.approx(abs(__import__("math").log(110.5 / 110)))
    # never after the snapshot was published
    assert str(measure_lag(pd.Series({"A": 120.0, "B": 60.0, "C": 12.0}), issuer, pd.Timestamp("2026-01-06").date())[0]) == "2026-01-06"
    assert measure_lag(pd.Series({"A": 1.0}), issuer, pd.Timestamp("2026-01-07").date()) is None


def test_import_is_idempotent_and_precedence_decides(db, tmp_path):
    uni = load_universe()
    f = tmp_path / "TQQQ-historical_nav.csv"
    f.write_text(GOOD)
    first = import_files([f], uni, db=db)
    assert first.changed == 2
    again = import_files([f], uni, db=db)
    assert again.changed == 0
    with Store(db) as store:
        n = store.count()
        best = store.best_observations()
    row = best[(best["ticker"] == "TQQQ") & (best["date"].astype(str) == "2026-02-04")]
    assert row["source_kind"].tolist() == ["issuer_nav"] and row["aum_usd"].iloc[0] == 28_560_000_000.0
    # a user's figure for the same fund-day loses to the issuer's, wins over the screener's
    user = tmp_path / "mine.csv"
    user.write_text("ticker,date,aum_usd\nTQQQ,2026-02-04,1.0e9\nSOXL,2026-02-02,1.3e10\n")
    import_files([user], uni, db=db)
    with Store(db) as store:
        best = store.best_observations().set_index(["ticker", best["date"].dtype.name and "date"])
        assert store.count() == n + 2
    b = best.reset_index()
    b["date"] = b["date"].astype(str)
    pick = b.set_index(["ticker", "date"])
    assert pick.loc[("TQQQ", "2026-02-04"), "source_kind"] == "issuer_nav"
    assert pick.loc[("SOXL", "2026-02-02"), "source_kind"] == "user"
    assert pick.loc[("SOXL", "2026-02-02"), "aum_usd"] == 1.3e10


BAD_FILES = [
    ("wrong header", "Date,Ticker,NAV,Prior NAV\n02/03/2026,TQQQ,52.3,52.0\n", "not an issuer NAV history: missing column(s) shares_000, aum_usd"),
    ("unknown format", "Date,Ticker,Price\n02/03/2026,TQQQ,52.3\n", "unknown AUM file format"),
    ("duplicate date", nav_file([("02/03/2026", "TQQQ", 52.3, 546_100, 2.8e10), ("02/03/2026", "TQQQ", 52.3, 546_100, 2.8e10)]), "appears twice"),
    ("out of order", nav_file([("02/04/2026", "TQQQ", 49.5, 1, 2.8e10), ("02/02/2026", "TQQQ", 54.8, 1, 2.9e10), ("02/03/2026", "TQQQ", 52.3, 1, 2.8e10)]), "out of order"),
    ("negative aum", nav_file([("02/03/2026", "TQQQ", 52.3, 546_100, -2.8e10)]), "aum_usd"),
    ("negative shares", nav_file([("02/03/2026", "TQQQ", 52.3, -546_100, 2.8e10)]), "shares_outstanding"),
    ("unknown ticker", nav_file([("02/03/2026", "ZZZZZ", 52.3, 546_100, 2.856103e10)]), "unknown ticker ZZZZZ"),
    ("not a date", nav_file([("13/45/2026", "TQQQ", 52.3, 546_100, 2.8e10)]), "is not a date"),
]


@pytest.mark.parametrize("name, text, message", BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_nav_files_fail_in_one_line_and_change_nothing(name, text, message, tmp_path):
    db = tmp_path / "s.duckdb"
    good = tmp_path / "good.csv"
    good.write_text(GOOD)
    bad = tmp_path / "bad.csv"
    bad.write_text(text)
    with Store(db) as store:
        before = store.count()
    res = run_cli("aum", "import", good, bad, "--db", db)
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lev-flows: error: ") and "bad.csv" in lines[0] and message in lines[0], lines
    with Store(db) as store:
        assert store.count() == before  # the good file of the same command was not imported either
    partial = run_cli("aum", "import", good, bad, "--db", db, "--allow-partial")
    assert partial.returncode == 0, partial.stderr
    assert "skipped" in partial.stderr and "bad.csv" in partial.stderr
    with Store(db) as store:
        assert store.count() == before + 2


def test_corrupt_and_locked_store_files(tmp_path):
    corrupt = tmp_path / "corrupt.duckdb"
    corrupt.write_bytes(b"this is not a database" * 100)
    res = run_cli("aum", "show", "TQQQ", "--db", corrupt)
    assert res.returncode == 2
    assert res.stderr.strip().startswith(f"lev-flows: error: {corrupt}: not a readable lev_flows store")
    assert len(res.stderr.strip().splitlines()) == 1
    assert corrupt.read_bytes() == b"this is not a database" * 100  # left as it was
    with pytest.raises(StoreError, match="is a directory"):
        Store(tmp_path)

    locked = tmp_path / "locked.duckdb"
    Store(locked).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb, time; c = duckdb.connect({str(locked)!r}); print('ok', flush=True); time.sleep(30)"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ok"
        good = tmp_path / "good.csv"
        good.write_text(GOOD)
        res = run_cli("aum", "import", good, "--db", locked)
        assert res.returncode == 2
        assert "locked by another lev-flows process" in res.stderr and len(res.stderr.strip().splitlines()) == 1
    finally:
        holder.kill()
        holder.wait()
    with Store(locked) as store:
        assert store.count() == 8972  # the refused import wrote nothing


def test_a_store_held_for_a_moment_is_waited_for(tmp_path, monkeypatch):
    """Another lev-flows process writing (a watch refresh, an import) holds the store for a moment;
    a command opening it then waits instead of failing (up to store.LOCK_WAIT_S)."""
    import time

    import lev_flows.inputs.store

    monkeypatch.setattr(lev_flows.inputs.store, "LOCK_WAIT_S", 20.0)  # a loaded machine must not end the wait early
    locked = tmp_path / "busy.duckdb"
    Store(locked).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb, time; c = duckdb.connect({str(locked)!r}); print('ok', flush=True); "
                               "time.sleep(1.5); c.close()"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ok"
        t0 = time.monotonic()
        with Store(locked, read_only=True) as store:
            assert store.count() == 8972
        assert time.monotonic() - t0 > 0.1  # it did wait for the other process
    finally:
        holder.kill()
        holder.wait()


def test_snapshot_import_is_dated_against_issuer_figures(db, shared, tmp_path):
    uni = load_universe()
    report = import_files([shared / "letf_snapshots/leveraged_etfs_2026-04-01.csv"], uni, db=db)
    kind, rows, first, last, note = next(iter(report.files.values()))
    assert kind == "screener" and first == last == "2026-03-26"
    assert "measured against issuer net assets" in note
    # without issuer figures to measure against: the last close before the snapshot's updated_at
    frame, note = snapshot_observations(shared / "letf_snapshots/leveraged_etfs_2026-05-01.csv")
    assert note["how"] == "last close before the snapshot's updated_at" and note["date"] == "2026-04-28"


def test_parse_nav_history_reads_the_shared_file(shared):
    path = shared / "fund_history/proshares_nav_2023-12-29_2026-10-01.csv"
    frame = parse_nav_history(path.read_bytes(), path.name)
    assert len(frame) == 8 * 691 and set(frame["source_kind"]) == {"issuer_nav"}
    tqqq = frame[(frame["ticker"] == "TQQQ") & (frame["date"].astype(str) == "2026-01-29")].iloc[0]
    assert tqqq["aum_usd"] == pytest.approx(30.1e9, rel=0.01)  # the "$30.1B on 01-29"


# ---- the issuer NAV provider on a loopback server ------------------------------------------------


ALL_FUNDS = nav_file([
    ("02/03/2026", "SQQQ", 70.1, 30_000, 2.1e9),
    ("02/03/2026", "SVXY", 45.2, 10_000, 4.52e8),
    ("02/04/2026", "TQQQ", 49.56, 576_000, 28_560_000_000.0),
    ("02/03/2026", "TQQQ", 52.31, 546_100, 28_567_096_530.0),
    ("02/03/2026", "UVXY", 24.0, 25_000, 6.0e8),
])


def test_aum_update_fetches_every_proshares_fund_in_one_request(server, db, tmp_path, shared):
    from werkzeug import Response

    from lev_flows.errors import DataSourceError
    from tests.test_sources import make_client

    hits = []

    def busy_then_ok(request):  # one 503, then the file: retried, not a failure
        hits.append(1)
        return Response("busy", status=503) if len(hits) == 1 else Response(ALL_FUNDS, content_type="text/csv")

    server.expect_request("/etfdata/historical_nav.csv").respond_with_handler(busy_then_ok)
    client, sleeps = make_client()
    uni = load_universe()
    funds = ["TQQQ", "SQQQ", "QLD", "UVXY", "SVXY"]
    with pytest.raises(DataSourceError, match=r"^aum update: 1 of 5 funds failed; nothing was imported") as err:
        update_from_issuers(uni, client, db=db, tickers=funds, base_urls={"*": server.url_for("/")})
    assert err.value.details == (f"QLD (ProShares historical NAV (all funds)): QLD: not listed by ProShares "
                                 f"({server.url_for('/etfdata/historical_nav.csv')})",)
    assert sleeps and len(hits) == 2  # the 503 was retried after a backoff
    with Store(db) as store:
        before = store.count()
    client, sleeps = make_client()
    report = update_from_issuers(uni, client, db=db, tickers=funds, base_urls={"*": server.url_for("/")}, allow_partial=True)
    assert report.changed == 5 and list(report.skipped) == ["QLD (ProShares historical NAV (all funds))"]
    assert len(hits) == 3  # one request answered for every fund
    with Store(db) as store:
        assert store.count() == before + 5
        obs = store.observations(["SQQQ", "UVXY"])
    mine = obs[obs["source"].str.contains("127.0.0.1")].set_index("ticker")
    assert mine.loc["SQQQ", "aum_usd"] == 2.1e9 and mine.loc["SQQQ", "shares_outstanding"] == 30_000_000.0
    assert mine.loc["UVXY", "nav"] == 24.0 and pd.notna(mine.loc["UVXY", "fetched_at"])
    # UVXY, which no screener lists, now has AUM and its own page (issue 27: no crash)
    show = run_cli("aum", "show", "UVXY", "--db", db, "--prices", shared / "prices", "--start", "2026-02-02", "--format", "csv")
    assert show.returncode == 0, show.stderr
    rows = pd.read_csv(__import__("io").StringIO(show.stdout)).set_index("session")
    assert rows.loc["2026-02-04", "aum_usd"] == pytest.approx(6.0e8) and rows.loc["2026-02-04", "method"] == "observed"
    # and it is in the day's estimate: its return from the VIX futures ETF, its AUM the issuer's
    from lev_flows import estimate_day

    uvxy = estimate_day("2026-02-04", prices=shared / "prices", db=db).by_etf.loc["UVXY"]
    assert uvxy["aum_usd"] == pytest.approx(6.0e8) and uvxy["return_method"] == "tracking ETF (VIXY)"
    assert uvxy["rebalance_usd"] == pytest.approx(6.0e8 * 1.5 * 0.5 * uvxy["underlying_return"])


def test_cli_aum_update_against_the_loopback_server(server, tmp_path):
    server.expect_request("/etfdata/historical_nav.csv").respond_with_data(GOOD, content_type="text/csv")
    db = tmp_path / "s.duckdb"
    res = run_cli("aum", "update", "--ticker", "TQQQ", "--db", db, "--base-url", server.url_for("/"), "--no-cache")
    assert res.returncode == 0, res.stderr
    assert "ProShares historical NAV (all funds): issuer_nav, 2 observations 2026-02-03 .. 2026-02-04; 1 of 1 funds" in res.stdout
    again = run_cli("aum", "update", "--ticker", "TQQQ", "--db", db, "--base-url", f"ProShares={server.url_for('/')}", "--no-cache")
    assert again.returncode == 0 and "0 observations new or changed" in again.stdout  # idempotent
    unknown = run_cli("aum", "update", "--ticker", "NOPE", "--db", db, "--base-url", server.url_for("/"))
    assert unknown.returncode == 2 and "unknown ticker NOPE" in unknown.stderr
    empty = run_cli("aum", "update", "--ticker", "TQQQ", "--db", db, "--base-url", "")
    assert empty.returncode == 2 and "base URL is empty" in empty.stderr
    nobody = run_cli("aum", "update", "--issuer", "Nobody", "--db", db)
    assert nobody.returncode == 2 and "no provider for issuer Nobody" in nobody.stderr
    sec = run_cli("aum", "update", "--nport", "--db", db, env={"LEV_FLOWS_SEC_CONTACT": ""})
    assert sec.returncode == 2 and "contact e-mail" in sec.stderr


# ---- aum show and the scorecard ------------------------------------------------------------------


def test_cli_aum_show_table_and_chart(tmp_path, shared):
    chart = tmp_path / "tqqq.png"
    res = run_cli("aum", "show", "TQQQ", "--prices", shared / "prices", "--chart", chart, "--start", "2026-01-02")
    assert res.returncode == 0, res.stderr
    assert "issuer_nav" in res.stdout and chart.read_bytes()[:4] == b"\x89PNG"
    csv = run_cli("aum", "show", "SOXL", "--prices", shared / "prices", "--format", "csv")
    rows = pd.read_csv(__import__("io").StringIO(csv.stdout))
    assert set(rows["method"]) >= {"observed", "interpolated", "carried, long"}
    bad = run_cli("aum", "show", "TQQ", "--prices", shared / "prices")
    assert bad.returncode == 2 and "did you mean TQQQ" in bad.stderr


def test_scorecard_against_published_figures(tmp_path, shared):
    chart = tmp_path / "score.png"
    res = run_cli("scorecard", "--prices", shared / "prices", "--format", "json", "--chart", chart)
    assert res.returncode == 0, res.stderr
    rows = json.loads(res.stdout)
    assert [r["date"][:10] for r in rows] == ["2026-02-12", "2026-02-04", "2026-02-03", "2025-04-03", "2025-04-03"]
    from lev_flows import estimate_day
    from lev_flows.model.scope import scope_total

    est = estimate_day("2026-02-04", prices=shared / "prices")
    ms = rows[1]  # Morgan Stanley's US-equity figure after the close, against ours on the same scope
    assert ms["scope"] == "us_equity" and ms["comparable"]
    assert ms["ours_usd"] == pytest.approx(scope_total(est.by_etf, "us_equity").rebalance_usd, abs=1.0)
    assert ms["ours_beside_usd"] == pytest.approx(est.total.rebalance_usd, abs=1.0)
    assert ms["published_usd"] == -18e9 and 0.6 < ms["ratio"] < 0.9
    assert chart.read_bytes()[:4] == b"\x89PNG"
    bad = tmp_path / "pub.csv"
    bad.write_text("date,estimate_usd,scope,basis,source\n2026-02-04,lots,all,close,me\n")
    res = run_cli("scorecard", "--prices", shared / "prices", "--published", bad)
    assert res.returncode == 2 and "line 2: estimate_usd 'lots' is not a number" in res.stderr
