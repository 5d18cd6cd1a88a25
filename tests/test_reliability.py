"""Outside text is printed as text (issue 28, class 1) and exports cannot run (class 10): markup
and escape sequences from the catalog, servers and files reach the terminal as visible text;
spreadsheet formulas in CSV cells are neutralised; report links are relative file links."""

from __future__ import annotations

import json

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
