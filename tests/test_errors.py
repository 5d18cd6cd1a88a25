"""The rest of the bad-input matrix: huge files, price tables, screener imports, outputs that
cannot be written, and fuzzing for tracebacks. (The YAML/returns/option cases are in test_cli.)"""

import errno
import os
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lev_flows import LevFlowsError, estimate, load_universe
from lev_flows.errors import InputError, OutputError
from lev_flows.inputs.catalog import parse_yaml, universe_from_data
from lev_flows.inputs.prices import read_returns_file
from lev_flows.inputs.sources.screener import import_snapshot
from lev_flows.io import atomic_write_text
from tests.conftest import SHARED, SMALL_UNIVERSE, run_cli


def _one_line_exit2(res, *needles):
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert len(res.stderr.strip().splitlines()) == 1 and "Traceback" not in res.stderr, res.stderr
    for needle in needles:
        assert str(needle) in res.stderr, res.stderr


def test_200mb_yaml_is_refused_without_reading(tmp_path):
    big = tmp_path / "big.yaml"
    with open(big, "wb") as fh:  # sparse: 200 MB on paper, nothing on disk
        fh.truncate(200 * 1024 * 1024)
    _one_line_exit2(run_cli("universe", "validate", big), big, "200 MB", "limit")


def test_stock_without_sector_is_reported_not_an_error(tmp_path):
    uni = tmp_path / "u.yaml"
    uni.write_text(SMALL_UNIVERSE.replace("STK2: {name: Stock Two, sector: Financials}", "STK2: {name: Stock Two}"))
    est = estimate(load_universe(uni), {"IDX": -0.02, "STK1": -0.05, "GOLD": 0.01})
    assert est.by_sector.loc["Unknown", "flow_usd"] == pytest.approx(0.4 * -244e6)
    assert est.coverage.equity_aum_with_sector < 1.0


def test_missing_return_for_large_fund_warns(tmp_path):
    uni = tmp_path / "u.yaml"
    uni.write_text(SMALL_UNIVERSE)
    rets = tmp_path / "r.csv"
    rets.write_text("underlying,return\nSTK1,-0.05\nGOLD,0.01\n")  # IDX missing: AAA ($1B) has none
    res = run_cli("estimate", "--universe", uni, "--returns", rets)
    assert res.returncode == 0, res.stderr
    # warnings go to stderr, in every output format
    assert "lev-flows: warning: no return for AAA" in res.stderr and "not counted as zero" in res.stderr
    assert "no return for AAA" not in res.stdout


def _price_dir(tmp_path: Path, body: str) -> Path:
    d = tmp_path / "prices"
    d.mkdir()
    (d / "us_stocks_close_x.csv").write_text(body)
    return d


@pytest.mark.parametrize(
    "body, match",
    [
        ("date,AAPL\n2026-02-03,10\n2026-02-03,11\n", "duplicate date 2026-02-03"),
        ("date,AAPL\nnot-a-date,10\n", "not a date"),
        ("", "cannot read"),
        ("ticker,AAPL\n2026-02-03,10\n", "expected 'date'"),
    ],
)
def test_bad_price_tables(tmp_path, body, match):
    d = _price_dir(tmp_path, body)
    _one_line_exit2(run_cli("estimate", "--prices", d, "--date", "2026-02-04"), match)


def test_price_dir_without_tables(tmp_path):
    (tmp_path / "empty").mkdir()
    _one_line_exit2(run_cli("estimate", "--prices", tmp_path / "empty", "--date", "2026-02-04"), "no close tables")


SNAP_HEADER = "ticker,name,underlying_asset,underlying_ticker,leverage,direction,aum,fund_type,asset_class\n"


def test_screener_rows_excluded_with_reasons(tmp_path):
    snap = tmp_path / "leveraged_etfs_2026-02-04.csv"
    snap.write_text(
        SNAP_HEADER
        + "AAAU,Alpha 2x Long AAPL Daily ETF,Apple Inc,AAPL,2x,long,1000000,Single Stock,equity\n"
        + "WEIRD,Weird ETF,Apple Inc,AAPL,two-ish,long,1000000,Single Stock,equity\n"
        + ",No Ticker ETF,Apple Inc,AAPL,2x,long,1000000,Single Stock,equity\n"
        + "SPUU,Direxion Daily S&P 500Â® Bull 2X,S&P 500Â®,SPX,2x,long,2000000,Index,equity\n"
        + "NOAUM,GraniteShares 2x Long NVDA Daily ETF,NVIDIA Corp,NVDA,2x,long,,Single Stock,equity\n"
    )
    res = import_snapshot(snap)
    reasons = {e["ticker"]: e["reason"] for e in res.excluded}
    assert reasons["WEIRD"] == "unknown leverage text 'two-ish'"
    assert reasons["?"] == "blank ticker"
    funds = {f["ticker"]: f for f in res.funds}
    assert funds["SPUU"]["underlying"] == "SPX" and "Â" not in funds["SPUU"]["name"]
    assert funds["SPUU"]["name"] == "Direxion Daily S&P 500® Bull 2X"
    assert "aum_usd" not in funds["NOAUM"] and funds["NOAUM"]["notes"] == "no AUM in the snapshot"


@pytest.mark.parametrize(
    "body, match",
    [
        ("ticker,name\nAAA,x\n", "missing column"),
        (SNAP_HEADER + "AAA,A 2x,Apple Inc,AAPL,2x,long,,Single Stock,equity\n", "aum column is empty"),
        (SNAP_HEADER, "no rows"),
    ],
)
def test_bad_screener_files(tmp_path, body, match):
    snap = tmp_path / "snap_2026-02-04.csv"
    snap.write_text(body)
    out = tmp_path / "u.yaml"
    _one_line_exit2(run_cli("universe", "import", snap, "--output", out), snap, match)
    assert not out.exists()


def test_output_parent_is_a_file(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    _one_line_exit2(run_cli("estimate", "--format", "json", "--output", blocker / "out.json"), "not a directory")


def test_unwritable_directory():
    with pytest.raises(OutputError, match="cannot write"):
        atomic_write_text(Path("/proc/lev_flows_test.json"), "{}")


def test_disk_full_leaves_no_partial_file(tmp_path, monkeypatch):
    target = tmp_path / "report.json"
    target.write_text("old complete report")

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OutputError, match="No space left"):
        atomic_write_text(target, "new report", force=True)
    assert target.read_text() == "old complete report"  # the old file is intact
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]  # no temp file left behind


# ---- fuzzing: random documents never end in anything but our own errors --------------------

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=8))
docs = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)),
    max_leaves=20,
)
fund_like = st.fixed_dictionaries(
    {"ticker": st.text(max_size=6), "leverage": scalars, "underlying": st.text(max_size=4), "aum_usd": scalars},
    optional={"asset_class": st.text(max_size=8), "aum_as_of": scalars, "name": scalars},
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(docs, st.fixed_dictionaries({"funds": st.lists(fund_like, max_size=4)}, optional={"underlyings": docs})))
def test_fuzz_universe_documents(doc):
    text = yaml.safe_dump(doc, allow_unicode=True)
    try:
        universe_from_data(parse_yaml(text, "fuzz.yaml"), "fuzz.yaml")
    except LevFlowsError as exc:
        assert "fuzz.yaml" in str(exc)


@settings(max_examples=80, deadline=None)
@given(st.text(max_size=200))
def test_fuzz_yaml_text(text):
    try:
        universe_from_data(parse_yaml(text, "fuzz.yaml"), "fuzz.yaml")
    except LevFlowsError:
        pass


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.text(max_size=6), st.text(max_size=8)), max_size=5))
def test_fuzz_returns_csv(tmp_path, rows):
    path = tmp_path / "r.csv"
    path.write_text("underlying,return\n" + "".join(f"{k.replace(',', '')},{v.replace(',', '')}\n" for k, v in rows))
    try:
        read_returns_file(path)
    except InputError as exc:
        assert str(path) in str(exc)


def test_outputs_and_inputs_that_are_not_regular_files(tmp_path):
    import os

    target = tmp_path / "real.csv"
    target.write_text("keep me")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    res = run_cli("estimate", "--output", link, "--force")
    assert res.returncode == 2 and "not a regular file" in res.stderr and target.read_text() == "keep me"
    res = run_cli("estimate", "--format", "csv", "--output", "/dev/null", "--force")
    assert res.returncode == 2 and "not a regular file" in res.stderr
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    res = run_cli("universe", "validate", fifo)  # would block forever if read
    assert res.returncode == 2 and "not a regular file" in res.stderr
    res = run_cli("universe", "validate", "/dev/zero")
    assert res.returncode == 2 and "not a regular file" in res.stderr
    same = tmp_path / "s.csv"
    same.write_text("x")
    res = run_cli("universe", "import", same, "--output", same, "--fresh")
    assert res.returncode == 2 and "same file" in res.stderr and same.read_text() == "x"


def test_empty_base_url_does_not_fall_back_to_the_real_service(tmp_path):
    res = run_cli("daily", "--base-url", "", "--output-dir", tmp_path)
    assert res.returncode == 2 and "--base-url is empty" in res.stderr
    res = run_cli("daily", "--base-url", "not a url", "--output-dir", tmp_path)
    assert res.returncode == 2 and "not an http(s) URL" in res.stderr


# ---- reports are all or nothing ---------------------------------------------------------------


@pytest.fixture(scope="module")
def daily_result(shared):
    import datetime as dt

    from lev_flows import load_universe
    from lev_flows.inputs.sources.local import LocalPrices
    from lev_flows.jobs.daily import run_daily

    return run_daily(load_universe(), LocalPrices(shared / "prices"), as_of=dt.date(2026, 2, 4))


def test_a_failure_mid_report_leaves_nothing_and_a_forced_rerun_never_mixes(tmp_path, monkeypatch, daily_result):
    from lev_flows.jobs import daily
    from lev_flows.present import charts as report

    root = tmp_path / "reports"

    def broken_chart(*a, **k):
        raise RuntimeError("disk full while drawing")

    monkeypatch.setattr(report, "chart_png", broken_chart)
    with pytest.raises(RuntimeError):
        daily.write_report(daily_result, root)
    assert not (root / "2026-02-04").exists() and not [p for p in root.iterdir() if p.name.startswith(".2026")]
    monkeypatch.undo()
    out = daily.write_report(daily_result, root)  # the failed run blocks nothing
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    monkeypatch.setattr(report, "chart_png", broken_chart)
    with pytest.raises(RuntimeError):
        daily.write_report(daily_result, root, force=True)  # a failed --force rerun: the old report intact
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    monkeypatch.undo()
    assert "2026-02-04" in (root / "index.html").read_text()


def test_two_writers_into_one_report_root_do_not_mix(tmp_path, daily_result):
    from lev_flows.io import exclusive_lock
    from lev_flows.jobs import daily

    root = tmp_path / "reports"
    root.mkdir()
    with exclusive_lock(root / ".lev-flows.lock"):  # another run holds the root
        with pytest.raises(OutputError, match="another lev-flows run is writing here"):
            daily.write_report(daily_result, root, force=True)
    assert daily.write_report(daily_result, root).name == "2026-02-04"


def test_api_bad_arguments_are_input_errors_and_a_changed_universe_is_recompiled(small_universe):
    from lev_flows import estimate, load_universe, replay
    from lev_flows.inputs.catalog import LeveragedETF
    from tests.conftest import SMALL_RETURNS

    with pytest.raises(InputError, match="creations: AAA: None is not a number"):
        estimate(small_universe, SMALL_RETURNS, creations={"AAA": None})
    with pytest.raises(InputError, match="aum: AAA: 'lots' is not a number"):
        estimate(small_universe, SMALL_RETURNS, aum={"AAA": "lots"})
    with pytest.raises(InputError, match="basis must be 'close' or 'intraday'"):
        replay(basis="Intraday")
    u = load_universe()
    before = estimate(u, {"NDX": -0.02}).total.n_funds
    extra = LeveragedETF(ticker="ZZZQ", name="A late fund", leverage=3, underlying="NDX", asset_class="equity",
                         aum_usd=1e9, aum_as_of="2026-02-04")
    u.funds.append(extra)  # changed in place after it was compiled
    after = estimate(u, {"NDX": -0.02})
    assert after.total.n_funds == before + 1 and "ZZZQ" in set(after.by_etf.index)


def _reader_case(tmp_path, name):
    import gzip

    d = tmp_path / "d"
    d.mkdir()
    if name == "dir-returns":
        return ["estimate", "--returns", d], "is a directory, expected a returns file"
    if name == "dir-creations":
        return ["estimate", "--creations", d], "is a directory, expected a creations CSV"
    if name == "dir-snapshot":
        return ["creations", "--from", d, "--to", d], "is a directory, expected a screener snapshot"
    if name == "huge-int":
        f = tmp_path / "r.json"
        f.write_text('{"NDX": ' + "1" * 5000 + "}")
        return ["estimate", "--returns", f], "unreadable JSON"
    if name == "deep-json":
        f = tmp_path / "r.json"
        f.write_text("[" * 100_000 + "]" * 100_000)
        return ["estimate", "--returns", f], "unreadable JSON"
    if name == "corrupt-gzip":
        px = tmp_path / "px"
        px.mkdir()
        data = bytearray(gzip.compress(b"date,AAA\n2026-02-03,1\n2026-02-04,2\n" * 50))
        data[30:40] = b"\x00" * 10  # corrupt, not truncated
        (px / "us_stocks_close_x.csv.gz").write_bytes(bytes(data))
        return ["estimate", "--date", "2026-02-04", "--prices", px], "cannot read the price table"
    if name == "old-date":
        return ["daily", "--date", "1990-01-05", "--prices", SHARED / "prices"], "outside the NYSE calendar"
    if name == "old-clock":
        return ["daily", "--now", "1970-01-01T10:00", "--prices", SHARED / "prices"], "outside the NYSE calendar"
    raise AssertionError(name)


@pytest.mark.parametrize("name", ["dir-returns", "dir-creations", "dir-snapshot", "huge-int", "deep-json", "corrupt-gzip",
                                  "old-date", "old-clock"])
def test_every_reader_gives_one_line(tmp_path, name):
    args, needle = _reader_case(tmp_path, name)
    _one_line_exit2(run_cli(*args), needle)


def test_timezone_aware_and_mixed_dates_in_a_price_table(tmp_path):
    from lev_flows.inputs.prices import read_close_table

    f = tmp_path / "us_stocks_close_x.csv"
    f.write_text("date,AAA\n2026-02-03T00:00:00+00:00,1\n2026-02-04 00:00:00-05:00,2\n2026-02-05,3\n")
    table = read_close_table(f)
    assert [d.date().isoformat() for d in table.index] == ["2026-02-03", "2026-02-04", "2026-02-05"]  # as written


def test_an_existing_daily_report_is_refused_before_any_work(tmp_path):
    """The report folder is checked before the prices are read: with a price folder that does not
    exist, the clash is what is reported (a second README run says so at once, not after the work)."""
    (tmp_path / "reports" / "2026-02-04").mkdir(parents=True)
    (tmp_path / "reports" / "2026-02-04" / "estimate.json").write_text("{}")
    res = run_cli("daily", "--date", "2026-02-04", "--prices", tmp_path / "no such folder", "--output-dir", tmp_path / "reports")
    assert res.returncode == 2
    assert "2026-02-04: report folder already exists; pass --force to overwrite" in res.stderr
    forced = run_cli("daily", "--date", "2026-02-04", "--prices", tmp_path / "no such folder", "--output-dir",
                     tmp_path / "reports", "--force")
    assert forced.returncode == 2 and "no such folder" in forced.stderr  # with --force the work starts (and fails here)


def _report_state(root):
    return sorted(p.name for p in root.iterdir() if p.name.startswith(".2026")), (root / "2026-02-04" / "estimate.json").read_text()


def test_a_forced_rerun_swaps_the_report_in_one_exchange(tmp_path, daily_result):
    from lev_flows.jobs import daily

    root = tmp_path / "reports"
    out = daily.write_report(daily_result, root)
    (out / "estimate.json").write_text('{"old": true}')
    daily.write_report(daily_result, root, force=True)
    dots, text = _report_state(root)
    assert dots == [] and '"old"' not in text and (out / "chart.png").exists()


def test_a_full_disk_between_the_renames_keeps_the_old_report(tmp_path, monkeypatch, daily_result):
    """Where the atomic exchange is not available: the old report steps aside, the new one fails
    to take its place (ENOSPC): the old one is put back, and the error is one line."""
    import errno

    from lev_flows.jobs import daily

    root = tmp_path / "reports"
    out = daily.write_report(daily_result, root)
    (out / "estimate.json").write_text('{"old": true}')
    monkeypatch.setattr(daily, "_exchange", lambda a, b: False)
    real, calls = os.replace, []

    def replace(src, dst):
        calls.append(Path(src).name)
        if Path(src).name.startswith(".2026-02-04.tmp-"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(src, dst)

    monkeypatch.setattr(daily.os, "replace", replace)
    with pytest.raises(OutputError, match=r"2026-02-04: cannot write the report \(No space left on device\); the previous report is kept"):
        daily.write_report(daily_result, root, force=True)
    assert _report_state(root) == ([], '{"old": true}') and "2026-02-04" in calls  # set aside, then put back


def test_a_run_killed_between_the_renames_is_recovered_by_the_next(tmp_path, daily_result):
    from lev_flows.jobs import daily

    root = tmp_path / "reports"
    out = daily.write_report(daily_result, root)
    (out / "estimate.json").write_text('{"old": true}')
    os.rename(out, root / ".2026-02-04.old-999999")  # killed after setting the old report aside
    (root / ".2026-02-04.tmp-999998").mkdir()  # and another run killed while writing
    assert daily.recover_reports(root) == ["restored 2026-02-04", "removed .2026-02-04.tmp-999998"]
    assert _report_state(root) == ([], '{"old": true}')
    os.rename(out, root / ".2026-02-04.old-999999")
    with pytest.raises(OutputError, match="already exists; pass force=True"):  # the restored report is not overwritten
        daily.write_report(daily_result, root)
    assert _report_state(root) == ([], '{"old": true}')


# ---- issue 28, class 8: paths and names the operating system refuses or cannot print -----------


def test_paths_the_system_refuses_are_one_line(tmp_path, small_yaml):
    """A 5,200-character --output-dir or --prices (a raw OSError), or a path of 26 x 200
    characters (over the system's 4,095 bytes), is one line naming it, before any work."""
    long_name = "/tmp/" + "a" * 5200
    deep = "/tmp/" + "/".join(["b" * 200] * 26)
    returns = tmp_path / "r.json"
    returns.write_text('{"IDX": -0.02, "STK1": -0.05, "GOLD": 0.01}')
    closes = tmp_path / "closes.csv"
    closes.write_text("date,AAA\n2026-02-03,1\n2026-02-04,1\n")
    for args, needle in (
        (("daily", "-u", small_yaml, "--prices", closes, "--date", "2026-02-04", "--output-dir", long_name),
         "a name of 5200 characters is longer than the file system allows (255 bytes)"),
        (("estimate", "-u", small_yaml, "--prices", long_name, "--date", "2026-02-04"), "a name of 5200 characters"),
        (("daily", "-u", small_yaml, "--prices", deep, "--date", "2026-02-04"),
         "a path of 5,230 bytes is longer than the operating system allows (4,095)"),
    ):
        _one_line_exit2(run_cli(*args), needle)


def test_names_that_are_not_utf8_are_shown_escaped(tmp_path, small_yaml):
    """A price file and a report folder named in Latin-1 (``caf\\xe9``) were a UnicodeEncodeError:
    the report is written, the name shown as ``caf\\udce9`` in the terminal, the HTML and the JSON."""
    import json

    root = os.fsencode(tmp_path)
    prices = os.fsdecode(root + b"/x\xe9.csv")
    Path(prices).write_text("date,AAA,BBB,STK1,STK2\n2026-02-03,10,20,100,50\n2026-02-04,10.3,19.4,99,50.5\n")
    out = os.fsdecode(root + b"/caf\xe9")
    os.mkdir(out)
    res = run_cli("daily", "-u", small_yaml, "--prices", prices, "--date", "2026-02-04", "--output-dir", out)
    assert res.returncode == 0, res.stderr
    assert "caf\\udce9/2026-02-04/" in res.stdout and "internal error" not in res.stderr
    report = Path(out) / "2026-02-04"
    assert "x\\udce9.csv" in (report / "report.html").read_text("utf-8")
    assert "x\udce9.csv)" in json.loads((report / "estimate.json").read_text("utf-8"))["as_of"]["returns_source"]
    res = run_cli("estimate", "-u", small_yaml, "--prices", prices, "--date", "2026-02-04", "--format", "json")
    assert res.returncode == 0 and json.loads(res.stdout)["as_of"]["returns_source"].endswith("x\udce9.csv")


def test_path_arguments_of_the_api_are_checked():
    from lev_flows.inputs.prices import load_price_dir, read_close_table

    with pytest.raises(InputError, match=r"price folder must be a path \(str or pathlib.Path\), not int 123"):
        load_price_dir(123)
    with pytest.raises(InputError, match=r"price table: expected a path \(str or pathlib.Path\), not int 123"):
        read_close_table(123)
    with pytest.raises(InputError, match="a path cannot contain a NUL character"):
        load_price_dir("prices\0x")


# ---- issue 28, class 9: every public function checks its arguments -----------------------------


@pytest.fixture(scope="module")
def api_world(tmp_path_factory):
    import pandas as pd

    from lev_flows.inputs.prices import read_close_table

    folder = tmp_path_factory.mktemp("api")
    (folder / "u.yaml").write_text(SMALL_UNIVERSE)
    (folder / "closes.csv").write_text("date,AAA,BBB,CCC,DDD,EEE,FFF,STK1,STK2,GLD\n"
                                       "2026-02-02,100,50,10,20,30,10,100,50,200\n"
                                       "2026-02-03,99,50.5,10.1,20,30.1,10,99.67,49.8,200\n"
                                       "2026-02-04,98,51.0,10.0,20.1,30.3,10,99.34,49.6,201\n")
    closes = read_close_table(folder / "closes.csv")
    assert isinstance(closes.index, pd.DatetimeIndex)
    return {"universe": load_universe(folder / "u.yaml"), "closes": closes, "prices": folder / "closes.csv",
            "db": folder / "s.duckdb", "yaml": str(folder / "u.yaml")}


RETURNS = {"IDX": -0.02, "STK1": -0.05, "GOLD": 0.01}


def _api_calls(w):
    import datetime as dt

    import numpy as np
    import pandas as pd

    from lev_flows import estimate_day, replay, save_universe
    from lev_flows.analysis.history import history
    from lev_flows.analysis.montecarlo import monte_carlo

    u = w["universe"]
    return [
        (lambda: estimate(u, None), "estimate: returns: expected a mapping of key -> value, not None"),
        (lambda: estimate(u, [("IDX", -0.02)]), "not list [('IDX', -0.02)] (dict(pairs) makes one from a list of pairs)"),
        (lambda: estimate(w["yaml"], RETURNS), "estimate: universe must be a Universe (lev_flows.load_universe(path) reads a file)"),
        (lambda: estimate(u, RETURNS, date=20260204), "estimate: date: expected a date (datetime.date or 'YYYY-MM-DD'), not int 20260204"),
        (lambda: estimate(u, {}), "estimate: returns: empty: no value given"),
        (lambda: estimate(u, pd.Series([-0.02, 0.5], index=["IDX", "IDX"])), "estimate: returns: 'IDX' appears twice in the Series index"),
        (lambda: estimate(u, {"IDX": np.bool_(True)}), "returns: IDX: return np.True_ is not a number"),
        (lambda: estimate(u, RETURNS, creations=pd.Series([1e6, 2e6], index=["AAA", "AAA"])), "estimate: creations: 'AAA' appears twice"),
        (lambda: estimate(u, RETURNS, aum="lots"), "estimate: aum: expected a mapping of key -> value, not str 'lots'"),
        (lambda: estimate(u, RETURNS, holdings=[1]), "estimate: holdings: expected a mapping"),
        (lambda: estimate(u, RETURNS, exclude_etns="yes"), "estimate: exclude_etns must be True or False, not str 'yes'"),
        (lambda: estimate_day(20260204, universe=u, prices=w["prices"], db=w["db"]), "estimate_day: date: expected a date"),
        (lambda: estimate_day("2026-02-04", universe=u, prices=123, db=w["db"]), "prices must be a path (str or pathlib.Path), not int 123"),
        (lambda: estimate_day(dt.date(2026, 2, 4), universe=u, prices=pd.concat([w["closes"], w["closes"].iloc[-1:]]), db=w["db"]),
         "prices: date 2026-02-04 appears twice"),
        (lambda: replay(20260204), "replay: date: expected a date"),
        (lambda: load_universe({"funds": []}), "load_universe: path must be a path (str or pathlib.Path), not dict"),
        (lambda: save_universe({"funds": []}, "x.yaml"), "save_universe: universe must be a Universe"),
        (lambda: monte_carlo(u, w["closes"], n=2000.5), "monte_carlo: n must be a whole number, not float 2000.5"),
        (lambda: history(u, w["closes"].assign(AAA="x")), "history: closes: column 'AAA' is not numeric"),
        (lambda: history(u, pd.concat([w["closes"], w["closes"].iloc[-1:]])), "history: closes: date 2026-02-04 appears twice"),
        (lambda: history(u, w["closes"].replace(98.0, np.inf)), "history: closes: AAA has a close of inf on 2026-02-04"),
    ]


def test_api_arguments_are_checked_and_named(api_world):
    """Raw AttributeError / TypeError / ValueError before, or a silent reading (a duplicated index
    keeping its last value, np.bool_ as +100 %, an empty mapping as a total of 0.0)."""
    for call, message in _api_calls(api_world):
        with pytest.raises(InputError) as info:
            call()
        assert message in str(info.value), (message, str(info.value))


def test_api_dates_given_as_datetimes_mean_their_session(api_world):
    """``estimate_day(datetime(2026, 2, 4, 10))`` said "2026-02-04 is not a session"; a tz-aware
    index of ``history`` was a raw error: both mean the dates they show."""
    import datetime as dt

    import pandas as pd

    from lev_flows import estimate_day
    from lev_flows.analysis.history import history

    w = api_world
    kw = {"universe": w["universe"], "prices": w["prices"], "db": w["db"]}
    day = estimate_day("2026-02-04", **kw).total.rebalance_usd
    assert estimate_day(dt.datetime(2026, 2, 4, 10), **kw).total.rebalance_usd == day
    assert estimate_day(pd.Timestamp("2026-02-04 10:00", tz="America/New_York"), **kw).total.rebalance_usd == day
    est = estimate(w["universe"], RETURNS, date=dt.datetime(2026, 2, 4, 10))
    assert est.date == dt.date(2026, 2, 4) and est.total.rebalance_usd == pytest.approx(-262e6)
    aware = w["closes"].copy()
    aware.index = aware.index.tz_localize("UTC")
    naive = history(w["universe"], w["closes"]).daily
    pd.testing.assert_frame_equal(history(w["universe"], aware).daily, naive)
