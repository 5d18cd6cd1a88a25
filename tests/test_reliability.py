"""Outside text is printed as text (issue 28, class 1) and exports cannot run (class 10): markup
and escape sequences from the catalog, servers and files reach the terminal as visible text;
spreadsheet formulas in CSV cells are neutralised; report links are relative file links."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lev_flows.present.text import visible
from tests.conftest import SMALL_UNIVERSE, run_cli

HOSTILE = SMALL_UNIVERSE.replace("bucket: Test index", "bucket: \"Test [/bold] index \\x1b[2J\"").replace(
    "{name: Stock One, sector: Information Technology}", "{name: '=HYPERLINK(\"http://x\")', sector: '@SUM(A1) [/] IT'}").replace(
    "name: Three Bull,", "name: '=cmd|calc', ")


@given(st.text())
def test_visible_text_has_no_control_characters_left(text):
    shown = visible(text)
    assert not any((ord(ch) < 0x20 and ch not in "\t\n") or 0x7F <= ord(ch) <= 0x9F or 0x202A <= ord(ch) <= 0x202E
                   or 0x2066 <= ord(ch) <= 0x2069 for ch in shown)
    assert visible("plain [b]text[/b]") == "plain [b]text[/b]" and visible("\x1b[2J") == "\\x1b[2J"
    assert visible("a\u202eb") == "a\\u202eb"


@pytest.fixture
def hostile(tmp_path):
    path = tmp_path / "hostile.yaml"
    path.write_text(HOSTILE)
    (tmp_path / "r.json").write_text(json.dumps({"IDX": -0.02, "STK1": -0.05, "GOLD": 0.01}))
    return path


def test_markup_and_escapes_in_the_catalog_print_as_text(hostile, tmp_path):
    res = run_cli("estimate", "-u", hostile, "-r", tmp_path / "r.json")
    assert res.returncode == 0, res.stderr
    assert "Test [/bold] index \\x1b[2J" in res.stdout  # the whole bucket, markup and escape visible
    assert "@SUM(A1) [/] IT" in res.stdout and "\x1b" not in res.stdout and "internal error" not in res.stderr


def test_csv_cells_a_spreadsheet_would_run_are_neutralised(hostile, tmp_path):
    import pandas as pd

    res = run_cli("estimate", "-u", hostile, "-r", tmp_path / "r.json", "--format", "csv", "--output", tmp_path / "f.csv")
    assert res.returncode == 0, res.stderr
    text = (tmp_path / "f.csv").read_text()
    assert "'@SUM(A1) [/] IT" in text and "\n@" not in text and ",@" not in text
    frame = pd.read_csv(tmp_path / "f.csv")
    assert not frame.select_dtypes(["object", "string"]).map(lambda v: isinstance(v, str) and v[:1] in "=+@").any().any()
    assert (frame.select_dtypes("number") < 0).any().any()  # numbers keep their sign: only text is touched


def test_report_links_are_relative_file_links(tmp_path):
    from lev_flows.present.note import render_index

    for name in ("javascript:alert(15)", "2026-02-04"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "estimate.json").write_text(json.dumps({"total": {"rebalance_usd": -1e9}, "date": "2026-02-04"}))
        (tmp_path / name / "report.html").write_text("<html></html>")
    page = render_index(tmp_path)
    assert 'href="./javascript%3Aalert%2815%29/report.html"' in page and 'href="./2026-02-04/report.html"' in page
    assert 'href="javascript' not in page


def test_a_watch_that_records_nothing_says_so(monkeypatch):
    """The "not recorded" marker is printed (it was eaten as markup), and a watch whose every
    refresh the store refused ends with an error, not "3 refreshes recorded"."""
    import datetime as dt
    import io

    import pandas as pd

    from lev_flows.cli.live import _line, _View
    from lev_flows.errors import OutputError
    from lev_flows.jobs.watch import Refresh

    at = pd.Timestamp("2026-02-04 15:30", tz="America/New_York")
    refresh = Refresh(session=dt.date(2026, 2, 4), at=at, ok=True, total_usd=-1e9, gross_usd=1e9, auction_usd=-1e9,
                      funds_priced=3, requests=2, error="not recorded: [Errno 30] Read-only file system", recorded=False)
    line = _line(refresh, None)
    view = _View(top=5, interval=60, db="/ro/store.duckdb")
    view.out.file = io.StringIO()
    view.update(refresh, [refresh])
    assert "[not recorded: [Errno 30] Read-only file system]" in line and "not recorded: [Errno 30]" in view.out.file.getvalue()
    view.refreshes = [refresh] * 3
    with pytest.raises(OutputError, match="none of the 3 refreshes of 2026-02-04 could be recorded in /ro/store.duckdb"):
        view.summary()
    ok = Refresh(session=dt.date(2026, 2, 4), at=at, ok=True, total_usd=-1e9)
    view.refreshes = [ok, refresh, ok]
    out = io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    view.summary()
    assert out.getvalue().startswith("2 of 3 refreshes of 2026-02-04 recorded in /ro/store.duckdb")


def test_errors_and_warnings_show_control_characters(tmp_path):
    bad = tmp_path / "r\x1b[31m.json"
    bad.write_text("{}")
    res = run_cli("estimate", "-r", bad)
    assert res.returncode == 2 and "\x1b" not in res.stderr and "\\x1b[31m" in res.stderr


def test_csv_bytes_neutralises_text_only():
    import pandas as pd

    from lev_flows.present.tables import csv_bytes

    frame = pd.DataFrame({"name": ["=HYPERLINK(\"x\")", "+1 fund", "Direxion", None], "flow_usd": [-1.5, 2.0, 0.0, float("nan")]})
    assert csv_bytes(frame).decode().splitlines() == [
        "name,flow_usd", "\"'=HYPERLINK(\"\"x\"\")\",-1.5", "'+1 fund,2.0", "Direxion,0.0", ",",
    ]


def test_outputs_are_checked_before_any_work_and_never_overwrite_an_input(tmp_path):
    """Issue 28, class 5: an output that is the store, a link where the report index goes, a
    folder that does not exist: one line, before any work; an option error before any loading."""
    import time

    from lev_flows.inputs.store import Store

    db = tmp_path / "S"
    with Store(db):
        pass
    before = db.read_bytes()
    res = run_cli("aum", "show", "SOXL", "--db", db, "-o", db, "-f", "csv", "--force")
    assert res.returncode == 2 and f"{db}: is the AUM store" in res.stderr and db.read_bytes() == before
    snap = tmp_path / "S.best.csv"
    res = run_cli("history", "--db", db, "-o", snap, "--force")
    assert res.returncode == 2 and "the AUM store's read snapshot" in res.stderr
    res = run_cli("estimate", "-r", tmp_path / "r.json", "-o", tmp_path / "r.json", "--force")
    assert res.returncode == 2 and "an output cannot overwrite an input" in res.stderr
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "index.html").symlink_to(tmp_path / "elsewhere.html")
    started = time.monotonic()
    res = run_cli("daily", "--date", "2026-02-04", "--prices", tmp_path / "no prices", "--output-dir", reports)
    assert res.returncode == 2 and "index.html: not a regular file" in res.stderr and not (tmp_path / "elsewhere.html").exists()
    res = run_cli("universe", "update", "--url", "http://127.0.0.1:9/x.csv", "--output", tmp_path / "nodir" / "u.yaml", "--db", db)
    assert res.returncode == 2 and "nodir" in res.stderr and "does not exist" in res.stderr and db.read_bytes() == before
    res = run_cli("ladder", "--move", "NDX")
    assert res.returncode == 2 and res.stderr == "lev-flows: error: --move 'NDX': expected ID=PERCENT, e.g. NDX=-3\n"  # no catalog warning first
    assert time.monotonic() - started < 30


# ---- issue 28, class 3: special and huge input files are refused unread -------------------------


def _special_files(tmp_path):
    """A link to /dev/zero, a FIFO and a sparse 5 GB file: none may be read."""
    import os

    zero = tmp_path / "zero.csv"
    zero.symlink_to("/dev/zero")
    fifo = tmp_path / "fifo.csv"
    os.mkfifo(fifo)
    huge = tmp_path / "huge.csv"
    with open(huge, "wb") as fh:
        fh.truncate(5 * 2**30)
    return {"a link to /dev/zero": zero, "a FIFO": fifo, "a 5 GB file": huge}


@pytest.mark.parametrize("kind", ["a link to /dev/zero", "a FIFO", "a 5 GB file"])
def test_special_and_huge_inputs_are_refused_unread_by_every_reader(tmp_path, kind):
    """Issue 28, class 3: every reader of a user file refuses a device, a FIFO or a file over its
    kind's limit from the file's metadata, in well under a second (before: MemoryError, or a hang)."""
    import shutil
    import time

    from lev_flows.analysis.creations import read_creations_file
    from lev_flows.analysis.scorecard import read_published
    from lev_flows.errors import LevFlowsError
    from lev_flows.inputs.prices import (
        load_price_dir,
        read_close_table,
        read_returns_file,
    )
    from lev_flows.inputs.sources.aumfiles import read_bytes
    from lev_flows.inputs.sources.screener import read_snapshot
    from lev_flows.inputs.store import Store

    path = _special_files(tmp_path)[kind]
    folder = tmp_path / "prices"
    folder.mkdir()
    table = folder / "us_stocks_close_2026.csv"
    if kind == "a 5 GB file":
        shutil.move(path, table)
        path = table
    else:
        table.symlink_to(path)  # the price folder's table is the special file, through a link
    why = {"a link to /dev/zero": "not a regular file (a link to /dev/zero)", "a FIFO": "not a regular file",
           "a 5 GB file": "5.0 GB, over the"}[kind]
    readers = [lambda: load_price_dir(folder), lambda: read_close_table(path), lambda: read_returns_file(path),
               lambda: read_creations_file(path), lambda: read_published(path), lambda: read_bytes(path),
               lambda: read_snapshot(path), lambda: Store(path, read_only=True)]
    for read in readers:
        started = time.monotonic()
        with pytest.raises(LevFlowsError) as err:
            read()
        assert time.monotonic() - started < 0.5
        assert why in str(err.value) and str(table if read is readers[0] else path) in str(err.value)


def test_special_and_huge_inputs_are_one_line_exit_2_on_the_command_line(tmp_path):
    import time

    files = _special_files(tmp_path)
    folder = tmp_path / "prices"
    folder.mkdir()
    (folder / "funds_close_2026.csv").symlink_to(files["a FIFO"])
    started = time.monotonic()
    cases = [
        (("estimate", "--date", "2026-02-04", "--prices", folder), "funds_close_2026.csv: not a regular file"),
        (("estimate", "-r", files["a 5 GB file"]), "huge.csv: 5.0 GB, over the 16 MB limit for a returns file"),
        (("estimate", "--creations", files["a link to /dev/zero"]), "zero.csv: not a regular file (a link to /dev/zero)"),
        (("universe", "import", files["a 5 GB file"], "-o", tmp_path / "u.yaml"), "over the 32 MB limit for a screener snapshot"),
        (("scorecard", "--published", files["a 5 GB file"]), "over the 16 MB limit for a published-estimates file"),
        (("aum", "show", "SOXL", "--db", files["a FIFO"]), "fifo.csv: not a regular file"),
    ]
    for args, message in cases:
        res = run_cli(*args)
        assert res.returncode == 2 and message in res.stderr, (args, res.stderr)
        assert res.stderr.strip().splitlines()[-1].startswith("lev-flows: error: ")
    assert time.monotonic() - started < 60  # six commands, none hanging on the FIFO


def test_a_table_over_the_shape_limits_is_refused_before_it_is_parsed(tmp_path):
    """A million-column table of 5 rows (before: still parsing after 60 s) and a returns file of
    more rows than the limit are refused in well under a second; a gzipped table that unpacks
    past its limit too."""
    import gzip
    import time

    from lev_flows.errors import InputError
    from lev_flows.inputs.prices import read_close_table, read_returns_file

    wide = tmp_path / "us_stocks_close_wide.csv"
    with open(wide, "w") as fh:
        fh.write("date," + ",".join(f"S{i}" for i in range(1_000_000)) + "\n")
        fh.writelines(f"2026-02-0{day + 2}," + ",".join(["1"] * 1_000_000) + "\n" for day in range(5))
    rows = tmp_path / "returns.csv"
    rows.write_text("underlying,return\n" + "X,0.01\n" * 100_001)
    bomb = tmp_path / "returns.csv.gz"
    bomb.write_bytes(gzip.compress(b"underlying,return\n" + b"X,0.01\n" * 12_000_000))  # 84 MB unpacked, 0.1 MB packed
    for read, path, message in [(read_close_table, wide, "over the limit for a price table"),
                                (read_returns_file, rows, "more than 100,000 rows, over the limit for a returns file"),
                                (read_returns_file, bomb, "unpacks to more than 64 MB, over the limit for a returns file")]:
        started = time.monotonic()
        with pytest.raises(InputError, match=message):
            read(path)
        assert time.monotonic() - started < 0.5


# ---- issue 28, class 6: derived caches are checked against their source, written atomically -----


def _prices_folder(folder, scale: float = 1.0):
    folder.mkdir()
    closes = "date,AAA,BBB\n2026-02-02,10,20\n2026-02-03,11,21\n2026-02-04,12,22\n"
    rows = closes.splitlines()
    body = [rows[0], *[",".join([r.split(",")[0], *(f"{float(v) * scale:g}" for v in r.split(",")[1:])]) for r in rows[1:]]]
    (folder / "us_stocks_close_2026.csv").write_text("\n".join(body) + "\n")
    return folder


def test_a_parsed_price_copy_is_used_only_for_its_own_files_and_content(tmp_path, monkeypatch):
    """Another table's parsed copy put in this one's place (its modification time kept) is not
    taken: the copy names the files it was made from and carries its own checksum (before: the
    totals changed silently, -13.08B -> -41.38B)."""
    import os
    import shutil

    import pandas as pd

    from lev_flows.inputs.prices import load_price_dir

    monkeypatch.setenv("LEV_FLOWS_CACHE", str(tmp_path / "cache"))
    kept = tmp_path / "cache" / "prices"
    a = load_price_dir(_prices_folder(tmp_path / "a"))
    (copy_a,) = list(kept.iterdir())
    b = load_price_dir(_prices_folder(tmp_path / "b", scale=3.0))
    (copy_b,) = [p for p in kept.iterdir() if p != copy_a]
    stat = copy_a.stat()
    shutil.copyfile(copy_b, copy_a)  # a's copy now holds b's prices, its time put back
    os.utime(copy_a, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    again = load_price_dir(tmp_path / "a")
    pd.testing.assert_frame_equal(again, a)
    assert again.loc["2026-02-04", "AAA"] == 12.0 and b.loc["2026-02-04", "AAA"] == 36.0
    data = bytearray(copy_a.read_bytes())  # rewritten from the files; now flip one byte of its prices
    data[-3] ^= 0x40
    copy_a.write_bytes(bytes(data))
    pd.testing.assert_frame_equal(load_price_dir(tmp_path / "a"), a)
    table = tmp_path / "a" / "us_stocks_close_2026.csv"  # a table edited to the same size, its time put back
    stat = table.stat()
    table.write_text(table.read_text().replace("12,22", "13,22"))
    os.utime(table, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert load_price_dir(tmp_path / "a").loc["2026-02-04", "AAA"] == 13.0
    assert not [p for p in kept.iterdir() if p.name.startswith(".")]  # no temporary file left behind


def test_a_parsed_catalog_copy_is_used_only_for_its_own_text(tmp_path, monkeypatch):
    import os
    import shutil

    from lev_flows.inputs.catalog import load_universe

    monkeypatch.setenv("LEV_FLOWS_CACHE", str(tmp_path / "cache"))
    one, three = tmp_path / "one.yaml", tmp_path / "three.yaml"
    one.write_text(SMALL_UNIVERSE)
    three.write_text(SMALL_UNIVERSE.replace("aum_usd: 1.0e9", "aum_usd: 3.0e9", 1))
    aum = load_universe(one).funds[0].aum_usd
    (copy_one,) = list((tmp_path / "cache" / "catalog").iterdir())
    assert load_universe(three).funds[0].aum_usd == 3 * aum
    (copy_three,) = [p for p in (tmp_path / "cache" / "catalog").iterdir() if p != copy_one]
    stat = copy_one.stat()
    shutil.copyfile(copy_three, copy_one)
    os.utime(copy_one, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert load_universe(one).funds[0].aum_usd == aum  # the other text's copy is not taken


def test_the_stores_read_snapshot_is_checked_and_never_left_stale_by_a_racing_reader(tmp_path, monkeypatch):
    """An edited snapshot (its time kept) is not taken; and a reader that read the store just
    before a writer changed it, and would write its snapshot after, leaves none taken as fresh."""
    import os

    from lev_flows.inputs import store as S

    db = tmp_path / "s.duckdb"
    S.load_best_observations(db)
    truth = S.load_best_observations(db)  # the snapshot is written now
    snap = S.best_snapshot_path(db)
    value = f"{truth['aum_usd'].iloc[0]:.0f}".encode()
    data = snap.read_bytes()
    assert value in data
    stat = snap.stat()
    snap.write_bytes(data.replace(value, b"9" * len(value), 1))  # an edited figure, same size, same time
    os.utime(snap, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert S.load_best_observations(db)["aum_usd"].iloc[0] == truth["aum_usd"].iloc[0]

    snap.unlink()
    row = S.read_observation_csv(b"ticker,date,aum_usd,timing,source_kind,source\nTQQQ,2026-11-30,12300000000,close,user,t\n", "t")
    close, writing = S.Store.close, []

    def close_then_a_writer(self):  # between the reader's close and its snapshot's write
        close(self)
        if self.read_only and not writing:
            writing.append(True)
            with S.Store(db) as writer:
                writer.add(row, source_label="a writer")

    monkeypatch.setattr(S.Store, "close", close_then_a_writer)
    stale = S.load_best_observations(db)
    monkeypatch.setattr(S.Store, "close", close)
    assert writing and not ((stale["ticker"] == "TQQQ") & (stale["date"] == "2026-11-30")).any()
    fresh = S.load_best_observations(db)
    assert ((fresh["ticker"] == "TQQQ") & (fresh["date"] == "2026-11-30")).sum() == 1


# ---- issue 28, class 2: --timeout and --deadline bound every phase of a request -----------------


@pytest.fixture
def dripping_headers():
    """A raw HTTP server on 127.0.0.1 that answers ``HTTP/1.1 200 OK`` and then one header byte
    every 0.4 s (at most 60 bytes: 24 s), which passes every per-read timeout; yields its URL."""
    import socket
    import threading
    import time

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)

    def drip(conn):
        try:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\n")
            for _ in range(60):
                conn.sendall(b"X")
                time.sleep(0.4)
        except OSError:
            pass
        finally:
            conn.close()

    def serve():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=drip, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    listener.close()


def _client(**settings):
    from lev_flows.inputs.sources.http import HttpClient, HttpSettings

    return HttpClient(HttpSettings(**{"attempts": 1, **settings}), sleep=lambda s: None)


def test_response_headers_dripping_in_are_cut_at_the_timeout(dripping_headers):
    """The header phase was unbounded: one byte every 0.4 s held a 1 s-timeout request for 24 s."""
    import time

    from lev_flows.inputs.sources.http import SourceUnavailable

    with _client(timeout_s=0.5, deadline_s=5.0) as client:
        t0 = time.monotonic()
        with pytest.raises(SourceUnavailable, match=r"X: no complete response headers within 0.5 s \(--timeout; too slow\)"):
            client.get(f"{dripping_headers}/x", lambda status, body: body, what="X")
        assert time.monotonic() - t0 < 1.5


def test_the_run_deadline_cuts_a_request_in_flight(dripping_headers):
    import time

    from lev_flows.inputs.sources.http import RunDeadline

    with _client(timeout_s=5.0, deadline_s=10.0, run_deadline_s=0.8) as client:
        t0 = time.monotonic()
        with pytest.raises(RunDeadline, match=r"X: cut off mid-request: the run's deadline of 0.8 s has passed"):
            client.get(f"{dripping_headers}/x", lambda status, body: body, what="X")
        assert time.monotonic() - t0 < 1.5


def test_a_name_lookup_that_hangs_is_bounded_by_the_timeout(monkeypatch):
    """``getaddrinfo`` has no timeout of its own: the lookup is waited for at most the budget."""
    import time

    from lev_flows.inputs.sources import http
    from lev_flows.inputs.sources.http import SourceUnavailable

    monkeypatch.setattr(http.socket, "getaddrinfo", lambda *a, **k: time.sleep(3) or [])
    with _client(timeout_s=0.4, deadline_s=5.0) as client:
        t0 = time.monotonic()
        with pytest.raises(SourceUnavailable, match=r"looking up slow-dns.invalid took over 0\.[34]\d* s"):
            client.get("http://slow-dns.invalid/x", lambda status, body: body, what="X")
        assert time.monotonic() - t0 < 1.5


def test_daily_and_universe_update_against_a_dripping_server_end_within_the_timeout(dripping_headers, small_yaml, tmp_path):
    """``daily --timeout 1 --retries 0`` and ``universe update`` were held 46-48 s."""
    import time

    t0 = time.monotonic()
    res = run_cli("daily", "-u", small_yaml, "--base-url", dripping_headers, "--timeout", "0.5", "--retries", "0",
                  "--as-of", "2026-02-04", "--output-dir", tmp_path, "--no-cache")
    assert res.returncode == 2 and "no complete response headers within 0.5 s" in res.stderr, res.stderr
    assert time.monotonic() - t0 < 30  # start-up on a busy machine included; each request drips for 24 s
    t0 = time.monotonic()
    res = run_cli("universe", "update", "--url", f"{dripping_headers}/screener.csv", "-o", tmp_path / "u.yaml",
                  "--timeout", "0.5", "--retries", "0")
    assert res.returncode == 2 and "screener export: no complete response headers within 0.5 s" in res.stderr, res.stderr
    assert time.monotonic() - t0 < 20


# ---- issue 28, class 7: no silent wrong numbers -------------------------------------------------

#: the small universe's table on which AAA (3x IDX) halves on 2026-02-04: an unadjusted 2:1 split;
#: STK1 -0.33 %, STK2 -0.40 %, its siblings BBB (-3x) +1 % and EEE (-1x) +0.66 %
SPLIT_CLOSES = """date,AAA,BBB,CCC,DDD,EEE,FFF,STK1,STK2,GLD
2026-02-02,100,50,10,20,30,10,100,50,200
2026-02-03,99,50.5,10.1,20,30.1,10,99.67,49.8,200
2026-02-04,49.005,51.0,10.0,20.1,30.3,10,99.34,49.6,201
"""


def test_an_unadjusted_split_in_a_funds_own_close_is_said(small_yaml, tmp_path):
    """AAA's own close halves while its two siblings say IDX fell about 0.5 %: AAA's change is
    refused against its daily funds' median (three of them: one split cannot move it), the
    underlying's return, which the ladder took from AAA (the largest), becomes that median, and
    the estimate says so; never a silent -1.01B."""
    from lev_flows import estimate_day, load_universe

    prices = tmp_path / "closes.csv"
    prices.write_text(SPLIT_CLOSES)
    est = estimate_day("2026-02-04", universe=load_universe(small_yaml), prices=prices, db=tmp_path / "s.duckdb")
    said = [w for w in est.warnings if w.startswith("AAA: its own close changed -50.5% on 2026-02-04, -16.8% as r")]
    assert len(said) == 1 and "while its underlying IDX moved -0.7%" in said[0] and "Not used as the day's move (r = -0.7%" in said[0]
    assert not any(w.startswith(("BBB", "EEE")) for w in est.warnings)
    # the median of -16.8 % (AAA), -0.33 % (BBB +1 % / -3) and -0.66 % (EEE +0.66 % / -1): EEE's
    aaa = est.by_etf.loc["AAA"]
    r = -(30.3 / 30.1 - 1)
    assert aaa["underlying_return"] == pytest.approx(r, rel=1e-9)
    assert aaa["rebalance_usd"] == pytest.approx(1e9 * 3 * 2 * r, rel=1e-9)  # -39.9M, not -1.01B
    assert aaa["return_method"].startswith("median of its daily funds' changes / L")
    res = run_cli("estimate", "-u", small_yaml, "--prices", prices, "--date", "2026-02-04", "--strict", "--db", tmp_path / "s.duckdb")
    assert res.returncode == 0 and "AAA: its own close changed -50.5%" in res.stderr  # handled, and said


def test_a_split_with_one_sibling_is_said_and_strict_refuses_it(small_yaml, tmp_path):
    """With one sibling there is no median to trust (which of the two is off?): AAA's change
    stays the day's move, warned as a split's jump, an error with --strict."""
    from lev_flows import estimate_day, load_universe

    prices = tmp_path / "closes.csv"
    prices.write_text(SPLIT_CLOSES.replace(",EEE,", ",XEEE,"))  # EEE unpriced: two daily funds on IDX
    est = estimate_day("2026-02-04", universe=load_universe(small_yaml), prices=prices, db=tmp_path / "s.duckdb")
    said = [w for w in est.warnings if w.startswith("AAA: its own close changed -50.5% on 2026-02-04, the jump of a 2:1 split")]
    assert len(said) == 1 and said == [w for w in est.implausible if w.startswith("AAA")]
    res = run_cli("estimate", "-u", small_yaml, "--prices", prices, "--date", "2026-02-04", "--strict", "--db", tmp_path / "s.duckdb")
    assert res.returncode == 2 and "--strict: 1 implausible input; first: AAA: its own close changed -50.5%" in res.stderr


def _aum_file(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text)
    return path


NAV_HEAD = "Date,Ticker,NAV,Prior NAV,Shares Outstanding (000),Assets Under Management\n"


def test_dates_are_read_one_way_per_file_and_an_ambiguous_one_is_refused(tmp_path):
    from lev_flows.inputs.sources.aumfiles import read_aum_file
    from lev_flows.inputs.store import StoreError

    ambiguous = _aum_file(tmp_path, "mine.csv", "ticker,date,aum_usd\nTQQQ,04/02/2026,2.8e10\n")
    with pytest.raises(StoreError, match=r"row 1 \(TQQQ\): date '04/02/2026' is ambiguous .* write dates as YYYY-MM-DD"):
        read_aum_file(ambiguous)
    # a day-first NAV history is read day-first throughout (it was read both ways: 13 January, 1 February)
    day_first = _aum_file(tmp_path, "nav.csv", NAV_HEAD + "13/01/2026,TQQQ,50,50,1000,50000000\n"
                                                          "02/01/2026,TQQQ,50,50,1000,50000000\n")
    frame, kind, _ = read_aum_file(day_first)
    assert kind == "issuer_nav" and [str(d) for d in frame["date"]] == ["2026-01-13", "2026-01-02"]
    both = _aum_file(tmp_path, "both.csv", NAV_HEAD + "13/01/2026,TQQQ,50,50,1000,50000000\n"
                                                      "01/14/2026,TQQQ,50,50,1000,50000000\n")
    with pytest.raises(StoreError, match=r"dates are written both ways: line 2 '13/01/2026' is day-first, line 3 '01/14/2026' month-first"):
        read_aum_file(both)
    # the issuer's own US download stays month-first
    us = _aum_file(tmp_path, "us.csv", NAV_HEAD + "02/04/2026,TQQQ,50,50,1000,50000000\n")
    assert [str(d) for d in read_aum_file(us)[0]["date"]] == ["2026-02-04"]


def test_an_observation_of_a_day_to_come_is_refused(tmp_path):
    future = _aum_file(tmp_path, "mine.csv", "ticker,date,aum_usd\nTQQQ,2099-01-02,2.8e10\n")
    res = run_cli("aum", "import", future, "--db", tmp_path / "s.duckdb")
    assert res.returncode == 2 and "row 1 (TQQQ): date 2099-01-02 is in the future" in res.stderr, res.stderr


def test_net_assets_in_thousands_are_refused_before_they_win_on_precedence(tmp_path):
    from lev_flows.inputs.sources.aumfiles import read_aum_file
    from lev_flows.inputs.store import Store, StoreError

    nav = _aum_file(tmp_path, "nav.csv", NAV_HEAD + "02/03/2026,TQQQ,52.31,52.0,546100,28567096\n")
    with pytest.raises(StoreError, match=r"net assets look given in thousands: aum_usd 28,567,096 against 52.31 x 546,100,000"):
        read_aum_file(nav)
    db = tmp_path / "s.duckdb"
    with Store(db) as store:
        before = store.count()
    mine = _aum_file(tmp_path, "mine.csv", "ticker,date,aum_usd\nTQQQ,2026-02-03,28567096\n")  # the seed has 28.57B
    res = run_cli("aum", "import", mine, "--db", db)
    assert res.returncode == 2 and "TQQQ 2026-02-03: net assets 28,567,096 are 1,000x the issuer_nav figure" in res.stderr, res.stderr
    assert "a unit slip (in thousands?)" in res.stderr
    with Store(db) as store:
        assert store.count() == before
    fine = _aum_file(tmp_path, "fine.csv", "ticker,date,aum_usd\nTQQQ,2026-02-03,2.85e10\n")
    assert run_cli("aum", "import", fine, "--db", db).returncode == 0


def test_a_column_given_twice_is_refused(tmp_path):
    from lev_flows.errors import InputError
    from lev_flows.inputs.prices import read_close_table
    from lev_flows.inputs.sources.aumfiles import read_aum_file
    from lev_flows.inputs.store import StoreError

    rows = "2026-02-03,1,2,3\n2026-02-04,1,2,3\n"
    case = _aum_file(tmp_path, "case.csv", "date,ZQA,zqa,BBB\n" + rows)
    with pytest.raises(InputError, match=r"columns 'ZQA' and 'zqa' are the same ticker ZQA"):
        read_close_table(case)
    twice = _aum_file(tmp_path, "twice.csv", "date,STK1,STK1,BBB\n" + rows)
    with pytest.raises(InputError, match=r"column 'STK1' appears twice in the header"):
        read_close_table(twice)
    aum = _aum_file(tmp_path, "aum.csv", "ticker,date,aum_usd,aum_usd\nTQQQ,2026-02-03,2.8e10,3e10\n")
    with pytest.raises(StoreError, match=r"column 'aum_usd' appears twice in the header"):
        read_aum_file(aum)


def test_impossible_inputs_are_one_line(tmp_path, small_yaml):
    """An infinite close, a 1e308 creation, a negative NAV, a corrupt deflate stream, an alias bomb,
    a catalog to refresh whose fund has no ticker: each one line, exit 2."""
    import gzip
    import time

    inf = _aum_file(tmp_path, "inf.csv", "date,AAA,BBB\n2026-02-03,1,2\n2026-02-04,inf,3\n")
    res = run_cli("estimate", "-u", small_yaml, "--prices", inf, "--date", "2026-02-04")
    assert res.returncode == 2 and "AAA has a close of inf on 2026-02-04; a close is a finite number" in res.stderr
    returns = _aum_file(tmp_path, "r.json", json.dumps({"IDX": -0.02, "STK1": -0.05, "GOLD": 0.01}))
    for text, needle in (("ticker,creations_usd\nAAA,1e308\n", "line 2: AAA: creation 1e+308 USD is beyond $1T"),
                         ("ticker,shares_change,nav\nAAA,1000,-5\n", "line 2: AAA: nav '-5' is not a positive number")):
        creations = _aum_file(tmp_path, "c.csv", text)
        res = run_cli("estimate", "-u", small_yaml, "-r", returns, "--creations", creations)
        assert res.returncode == 2 and needle in res.stderr and len(res.stderr.splitlines()) == 1, res.stderr
    packed = gzip.compress(b"date,AAA\n" + b"2026-02-03,1\n" * 500)
    damaged = tmp_path / "damaged.csv.gz"
    damaged.write_bytes(packed[:12] + b"\xff" * 30 + packed[42:])  # the header intact, the deflate stream not
    res = run_cli("estimate", "-u", small_yaml, "--prices", damaged, "--date", "2026-02-04")
    assert res.returncode == 2 and "damaged.csv.gz: cannot read the price table (corrupt gzip: Error -3 while decompressing data" in res.stderr, res.stderr
    bomb = "a: &a [" + ",".join(["x"] * 10) + "]\n" + "".join(
        f"b{i}: &b{i} [" + ",".join([f"*{'a' if i == 1 else f'b{i - 1}'}"] * 10) + "]\n" for i in range(1, 25))
    t0 = time.monotonic()
    res = run_cli("universe", "validate", _aum_file(tmp_path, "bomb.yaml", bomb))
    assert res.returncode == 2 and "its aliases expand to over 5,000,000 values (an alias bomb?)" in res.stderr
    assert time.monotonic() - t0 < 10
    no_ticker = _aum_file(tmp_path, "u.yaml", SMALL_UNIVERSE.replace("{ticker: AAA, name: Three Bull,", "{name: Three Bull,"))
    res = run_cli("universe", "import", "../shared/data/letf_snapshots/leveraged_etfs_2026-06-01.csv", "--output", no_ticker,
                  cwd=Path(__file__).resolve().parents[1])
    assert res.returncode == 2 and "u.yaml: funds[0].ticker: Field required (cannot refresh it" in res.stderr, res.stderr


def test_a_recursive_alias_is_refused():
    from lev_flows.errors import CatalogError
    from lev_flows.inputs.catalog import parse_yaml

    with pytest.raises(CatalogError, match="an alias refers to a value that holds it"):
        parse_yaml("a: &a [1, *a]\n", "rec.yaml")
    assert parse_yaml("a: &a [1, 2]\nb: *a\n", "ok.yaml") == {"a": [1, 2], "b": [1, 2]}


def test_a_live_estimate_counts_a_catalog_aum_of_the_previous_session(server, tmp_path):
    """``estimate --live`` left out every fund whose catalog ``aum_as_of`` was the previous session
    (total 0.0): the two fetched days do not reach the close before it."""
    from tests.test_sources import SMALL_TOTAL, run_online, yahoo

    uni = tmp_path / "u.yaml"
    uni.write_text(SMALL_UNIVERSE.replace("aum_as_of: 2026-02-04", "aum_as_of: 2026-02-03"))
    yahoo(server, quote_at="2026-02-04T15:30")
    res = run_online(server, tmp_path, "estimate", "--live", "-u", str(uni), "--now", "2026-02-04T15:30", "--format", "json")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["total"]["rebalance_usd"] == pytest.approx(SMALL_TOTAL, abs=1e-3) and "have no AUM" not in res.stderr


def test_a_price_table_without_a_date_header_names_its_first_column(tmp_path):
    from lev_flows.errors import InputError
    from lev_flows.inputs.prices import read_close_table

    blank, other = tmp_path / "blank.csv", tmp_path / "other.csv"
    blank.write_text(",AAA,BBB\n2026-02-03,1,2\n")
    other.write_text("day,AAA\n2026-02-03,1\n")
    with pytest.raises(InputError, match=r"first column is 'Unnamed: 0', expected 'date'"):
        read_close_table(blank)
    with pytest.raises(InputError, match=r"first column is 'day', expected 'date'"):
        read_close_table(other)
