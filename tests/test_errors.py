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
    assert est.by_sector.set_index("sector").loc["Unknown", "flow_usd"] == pytest.approx(0.4 * -244e6)
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
    assert after.total.n_funds == before + 1 and "ZZZQ" in set(after.by_etf["ticker"])


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
    with pytest.raises(OutputError, match="already exists; pass --force"):  # the restored report is not overwritten
        daily.write_report(daily_result, root)
    assert _report_state(root) == ([], '{"old": true}')
