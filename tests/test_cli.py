"""The real `lev-flows` entry point: the default replay, outputs, and bad input -> one line, exit 2."""

import json

import pandas as pd
import pytest

from tests.conftest import SMALL_UNIVERSE, run_cli


def test_default_replay_prints_every_table():
    res = run_cli("estimate")
    assert res.returncode == 0, res.stderr
    out = res.stdout
    for title in ["Leveraged ETF rebalancing, 2026-02-04", "By index", "By GICS sector", "Top 15 ETFs", "Top 25 stocks", "Coverage"]:
        assert title in out
    assert "SOXL" in out and "TQQQ" in out and "NVDA" in out
    assert "Intraday, 14:43 New York" in out and "about $18B" in out


def test_json_and_csv_outputs(tmp_path):
    res = run_cli("estimate", "--format", "json")
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["date"] == "2026-02-04"
    assert -23.4e9 <= data["total"]["rebalance_usd"] <= -12.6e9
    out = tmp_path / "flows.csv"
    res = run_cli("estimate", "--format", "csv", "--output", out)
    assert res.returncode == 0, res.stderr
    frame = pd.read_csv(out)
    assert set(frame["level"]) >= {"etf", "stock", "sector", "index", "total"}
    res = run_cli("estimate", "--format", "csv", "--output", out)  # no clobber
    assert res.returncode == 2 and "--force" in res.stderr
    assert run_cli("estimate", "--format", "csv", "--output", out, "--force").returncode == 0
    pq = tmp_path / "flows.parquet"
    assert run_cli("estimate", "--format", "parquet", "--output", pq).returncode == 0
    assert len(pd.read_parquet(pq)) == len(frame)


def test_user_universe_and_returns(tmp_path):
    uni = tmp_path / "u.yaml"
    uni.write_text(SMALL_UNIVERSE)
    rets = tmp_path / "r.csv"
    rets.write_text("underlying,return\nIDX,-0.02\nSTK1,-0.05\nGOLD,0.01\n")
    res = run_cli("estimate", "--universe", uni, "--returns", rets, "--format", "json")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["total"]["rebalance_usd"] == pytest.approx(-262e6)
    rj = tmp_path / "r.json"
    rj.write_text(json.dumps({"returns": {"IDX": -0.02, "STK1": -0.05, "GOLD": 0.01}}))
    res = run_cli("estimate", "--universe", uni, "--returns", rj, "--format", "json")
    assert json.loads(res.stdout)["total"]["rebalance_usd"] == pytest.approx(-262e6)


def test_prices_for_another_day(shared):
    res = run_cli("estimate", "--prices", shared / "prices", "--date", "2026-02-05", "--format", "json")
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["date"] == "2026-02-05"
    assert data["total"]["rebalance_usd"] < 0  # S&P 500 -1.2 %, Nasdaq -1.6 % that day


def test_universe_validate_and_import(tmp_path, shared):
    ok = run_cli("universe", "validate", "etf_universe.yaml")
    assert ok.returncode == 0 and "ok" in ok.stdout
    out = tmp_path / "u.yaml"
    res = run_cli("universe", "import", shared / "letf_snapshots/leveraged_etfs_2026-06-01.csv", "--output", out)
    assert res.returncode == 0, res.stderr
    assert "excluded" in res.stdout and out.exists()


# ---- bad input: one line on stderr, exit 2, no traceback, no output file ---------------------

BAD_YAML = {
    "not_yaml": "funds: [\n  - {ticker: A\n",
    "empty": "",
    "list": "- 1\n- 2\n",
    "typo": SMALL_UNIVERSE.replace("leverage: 3,", "leverge: 3,", 1),
    "dup_ticker": SMALL_UNIVERSE.replace("ticker: BBB", "ticker: AAA"),
    "dup_key": "funds: []\nfunds: []\n",
    "python_tag": "funds: !!python/object/apply:os.system ['true']\n",
    "leverage_text": SMALL_UNIVERSE.replace("leverage: 3,", "leverage: three,", 1),
    "leverage_zero": SMALL_UNIVERSE.replace("leverage: 3,", "leverage: 0,", 1),
    "leverage_big": SMALL_UNIVERSE.replace("leverage: 3,", "leverage: 9,", 1),
    "nan_leverage": SMALL_UNIVERSE.replace("leverage: 3,", "leverage: .nan,", 1),
    "inf_aum": SMALL_UNIVERSE.replace("aum_usd: 1.0e9", "aum_usd: .inf", 1),
    "negative_aum": SMALL_UNIVERSE.replace("aum_usd: 1.0e9", "aum_usd: -5", 1),
    "aum_commas": SMALL_UNIVERSE.replace("aum_usd: 1.0e9", "aum_usd: '1,000,000'", 1),
    "no_as_of": SMALL_UNIVERSE.replace("aum_usd: 1.0e9, aum_as_of: 2026-02-04", "aum_usd: 1.0e9", 1),
    "future": SMALL_UNIVERSE.replace("aum_as_of: 2026-02-04}", "aum_as_of: 2999-02-04}", 1),
    "unknown_underlying": SMALL_UNIVERSE.replace("underlying: GOLD", "underlying: SILVER"),
    "weights_negative": SMALL_UNIVERSE.replace("STK2: 0.4", "STK2: -0.4"),
    "weights_half": SMALL_UNIVERSE.replace("STK1: 0.6, STK2: 0.4", "STK1: 0.3, STK2: 0.2"),
    "weights_150": SMALL_UNIVERSE.replace("STK1: 0.6, STK2: 0.4", "STK1: 0.9, STK2: 0.6"),
}


@pytest.mark.parametrize("case", sorted(BAD_YAML))
def test_bad_universe(tmp_path, case):
    uni = tmp_path / f"{case}.yaml"
    uni.write_text(BAD_YAML[case])
    out = tmp_path / "out.json"
    res = run_cli("estimate", "--universe", uni, "--returns", tmp_path / "none.csv", "--output", out)
    assert res.returncode == 2, (res.stdout, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.stderr
    assert str(uni) in lines[0]
    assert not out.exists()
    assert run_cli("universe", "validate", uni).returncode == 2


BAD_RETURNS = {
    "nan.csv": ("underlying,return\nIDX,nan\n", "IDX"),
    "text.csv": ("underlying,return\nIDX,abc\n", "IDX"),
    "percent.csv": ("underlying,return\nIDX,-2.0\n", "percent|-100%"),
    "wipeout.csv": ("underlying,return\nIDX,-1.0\n", "-100%"),
    "header.csv": ("underlying,return\n", "header only"),
    "columns.csv": ("name,value\nIDX,-0.02\n", "key column"),
    "dups.csv": ("underlying,return\nIDX,-0.02\nIDX,-0.03\n", "twice"),
    "empty.csv": ("", "empty"),
    "bad.json": ('{"IDX": ', "invalid JSON"),
    "list.json": ("[1, 2]", "JSON object"),
}


@pytest.mark.parametrize("name", sorted(BAD_RETURNS))
def test_bad_returns(tmp_path, name):
    body, match = BAD_RETURNS[name]
    uni = tmp_path / "u.yaml"
    uni.write_text(SMALL_UNIVERSE)
    rets = tmp_path / name
    rets.write_text(body)
    out = tmp_path / "out.json"
    res = run_cli("estimate", "--universe", uni, "--returns", rets, "--output", out)
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert len(res.stderr.strip().splitlines()) == 1 and "Traceback" not in res.stderr
    assert str(rets) in res.stderr
    assert pytest.importorskip("re").search(match, res.stderr), res.stderr
    assert not out.exists()


@pytest.mark.parametrize(
    "args, match",
    [
        (["estimate", "--returns", "/nonexistent/r.csv"], "not found"),
        (["estimate", "--universe", "/nonexistent/u.yaml"], "not found"),
        (["estimate", "--date", "2026-02-07"], "not a trading day"),
        (["estimate", "--date", "2026-02-05", "--prices", "/nonexistent/prices"], "not a directory"),
        (["estimate", "--date", "yesterday"], "not a date"),
        (["estimate", "--output", "/nonexistent/dir/out.json"], "does not exist"),
        (["estimate", "--format", "xml"], "xml"),
        (["estimate", "--format", "parquet"], "--output"),
        (["universe", "import", "/nonexistent/snap.csv", "--output", "/tmp/never.yaml"], "not found"),
    ],
)
def test_bad_options(args, match):
    res = run_cli(*args)
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert len(res.stderr.strip().splitlines()) == 1 and "Traceback" not in res.stderr
    assert match in res.stderr


def test_prices_non_trading_day(shared):
    res = run_cli("estimate", "--prices", shared / "prices", "--date", "2026-02-07")
    assert res.returncode == 2 and "not a trading day (Saturday)" in res.stderr
    res = run_cli("estimate", "--prices", shared / "prices", "--date", "2026-01-19")
    assert res.returncode == 2 and "holiday" in res.stderr
    res = run_cli("estimate", "--prices", shared / "prices", "--date", "2030-01-02")
    assert res.returncode == 2 and "outside the price table" in res.stderr


def test_chart_png(tmp_path):
    png = tmp_path / "flows.png"
    res = run_cli("estimate", "--chart", png, "--format", "json")
    assert res.returncode == 0, res.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    again = run_cli("estimate", "--chart", png)
    assert again.returncode == 2 and "--force" in again.stderr


def test_plain_estimate_imports_nothing_heavy():
    import subprocess
    import sys

    code = (
        "import sys; from lev_flows import replay; import lev_flows.cli; replay(); "
        "print(sorted(m for m in ('matplotlib', 'httpx', 'scipy', 'exchange_calendars') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_default_estimate_runs_without_pandas():
    """`lev-flows estimate` (the built-in replay, as tables) runs on numpy alone: the engine is
    arrays, the replay is read with csv, the terminal tables print the numpy tables; pandas is
    imported only when a DataFrame is asked for (issue 16, start-up)."""
    import subprocess
    import sys

    code = (
        "import sys; from lev_flows.cli import main; sys.argv = ['lev-flows', 'estimate']\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
        "print('heavy:', sorted(m for m in ('pandas', 'pyarrow', 'matplotlib', 'httpx', 'duckdb') if m in sys.modules))"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert "Leveraged ETF rebalancing, 2026-02-04" in res.stdout and "-13.14B" in res.stdout
    assert res.stdout.strip().splitlines()[-1] == "heavy: []"


def test_ctrl_c_is_exit_130_not_success(monkeypatch, capsys):
    """Ctrl-C during a command: one line and exit code 130 (typer hands it back as a return code,
    which the entry point used to drop, exiting 0)."""
    import sys

    import lev_flows.model.day
    from lev_flows import cli

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(lev_flows.model.day, "load_inputs", interrupted)
    monkeypatch.setattr(sys, "argv", ["lev-flows", "history"])
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    assert exit_info.value.code == 130
    assert capsys.readouterr().err.strip() == "lev-flows: interrupted"


# ---- the terminal at 80 columns (issue 30, item 3) -------------------------------------------------


def test_estimate_at_80_columns_fits_one_screen_headline_first():
    res = run_cli("estimate", env={"COLUMNS": "80"})
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert max(len(ln) for ln in lines) <= 80 and len(lines) <= 50, (len(lines), max(len(ln) for ln in lines))
    # the headline first, then the buckets
    assert lines[0] == "Leveraged ETF rebalancing, 2026-02-04: close-to-close; USD, + = buy at the close"
    assert lines[1].split() == ["rebalance,", "US", "equity", "funds", "│", "-12.88B"]
    assert lines[2].split() == ["rebalance,", "all", "funds", "│", "-13.14B"]
    titles = [ln.rstrip() for ln in lines if ln and not ln.startswith((" ", "━"))]
    assert titles[:6] == [lines[0], "By index", "By GICS sector (look-through)", "Top 6 ETFs", "Top 5 stocks (look-through)",
                          "Coverage: AUM 150.82B, 100.0% priced; no AUM: 49 funds; no return: 23."]
    # the five largest buckets (three sectors), the others in one row: each table still adds up to the total
    rows = {ln.split("│")[0].strip(): ln.split("│") for ln in lines if "│" in ln}
    assert rows["12 other buckets"][1].strip() == "273" and rows["12 other buckets"][3].strip() == "-858.8M"
    assert [c.strip() for c in rows["9 other sectors"]] == ["9 other sectors", "-1.34B", "10.9%"]  # of the gross |flow|
    # fewer columns: no AUM source, method, priced share or scope table; one line says how to see them
    assert "By scope" not in res.stdout and "own price (SOXL)" not in res.stdout and "AUM priced" not in res.stdout
    assert [c.strip() for c in rows["SOXL"]] == ["SOXL", "+3", "SOX", "12.01B", "-4.36%", "-3.14B"]
    assert lines[-1] == "More: --wide (every table and column), --top N (more funds and stocks)."


def test_estimate_at_160_columns_and_wide_print_every_table_and_column():
    wide = run_cli("estimate")  # run_cli: COLUMNS=160
    assert wide.returncode == 0, wide.stderr
    for title in ("By scope (lev_flows.model.scope)", "By index", "Top 15 ETFs", "Top 25 stocks (look-through)", "Coverage"):
        assert any(ln.startswith(title) for ln in wide.stdout.splitlines()), title
    soxl = next(ln for ln in wide.stdout.splitlines() if ln.startswith(" SOXL "))
    assert [c.strip() for c in soxl.split("│")] == ["SOXL", "+3", "SOX", "12.01B", "screener 2026-02-02 +1", "-4.36%", "-3.14B",
                                                   "own price (SOXL) / 3"]
    assert "More: --wide" not in wide.stdout and "other buckets" not in wide.stdout
    forced = run_cli("estimate", "--wide", env={"COLUMNS": "80"})  # --wide in 80 columns: the full layout, 120 wide
    assert forced.returncode == 0, forced.stderr
    lines = forced.stdout.splitlines()
    assert soxl.rstrip() in [ln.rstrip() for ln in lines] and "By scope (lev_flows.model.scope)" in forced.stdout
    assert max(len(ln) for ln in lines) == 120 and "More: --wide" not in forced.stdout


def test_top_in_the_summary_sets_funds_and_stocks():
    res = run_cli("estimate", "--top", "3", env={"COLUMNS": "80"})
    assert res.returncode == 0, res.stderr
    titles = [ln.rstrip() for ln in res.stdout.splitlines() if ln.startswith("Top ")]
    assert titles == ["Top 3 ETFs", "Top 3 stocks (look-through)"]
    assert max(len(ln) for ln in res.stdout.splitlines()) <= 80
