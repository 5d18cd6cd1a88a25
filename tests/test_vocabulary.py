"""One command line: every command's options checked against one vocabulary, and the readable
output rules (labels, n/a, no "None" or "-0.0%", short reprs)."""

import json

import pandas as pd
import pytest
import typer

from lev_flows.cli import app
from tests.conftest import run_cli


def _commands():
    root = typer.main.get_command(app)
    out = {}

    def walk(cmd, path):
        if hasattr(cmd, "commands"):  # a group (typer may carry its own copy of click)
            for name, sub in cmd.commands.items():
                walk(sub, [*path, name])
        else:
            out[" ".join(path)] = cmd

    walk(root, [])
    return out


COMMANDS = _commands()

#: which part of the vocabulary each command must speak
TABLES = {"estimate", "ladder", "liquidity", "history", "tracking", "creations", "montecarlo", "scorecard",
          "aum show", "universe verify", "watch"}
CATALOG = TABLES - {"universe verify"} | {"daily", "universe verify", "aum import", "aum update", "aum coverage"}
PRICES = {"estimate", "daily", "ladder", "liquidity", "history", "tracking", "creations", "montecarlo", "scorecard",
          "aum show", "aum coverage", "universe verify", "universe update"}
CHARTS = {"estimate", "ladder", "liquidity", "history", "tracking", "creations", "montecarlo", "scorecard", "aum show",
          "watch"}
ONE_DAY = {"estimate", "daily", "ladder", "liquidity", "montecarlo"}
RANGES = {"history", "tracking", "aum show", "universe verify"}
TOP = {"estimate", "daily", "liquidity", "history", "tracking", "creations", "watch"}
ETNS = {"estimate", "daily", "ladder", "liquidity", "history", "montecarlo", "scorecard", "watch"}


def _options(cmd):
    return {name: p for p in cmd.params if type(p).__name__.endswith("Option") for name in p.opts}


def test_every_command_is_in_the_matrix():
    known = TABLES | CATALOG | PRICES | CHARTS | {"universe validate", "universe import", "reference build", "reference replay"}
    assert set(COMMANDS) <= known, set(COMMANDS) - known


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_option_vocabulary(name):
    cmd = COMMANDS[name]
    opts = _options(cmd)
    required = set()
    if name in TABLES:
        required |= {"--format", "-f", "--output", "-o", "--force"}
    if name in CATALOG:
        required |= {"--universe"}
    if name in PRICES:
        required |= {"--prices"}
    if name in CHARTS:
        required |= {"--chart", "--force"}
    if name in ONE_DAY:
        required |= {"--date", "-d"}
    if name in RANGES:
        required |= {"--start", "--end"}
    if name in TOP:
        required |= {"--top", "-n"}
    if name in ETNS:
        required |= {"--exclude-etns"}
    missing = required - set(opts)
    assert not missing, f"{name}: missing {sorted(missing)}"
    for opt in {id(p): p for p in opts.values()}.values():
        if getattr(opt, "hidden", False):
            continue
        assert opt.help and opt.help.strip(), f"{name} {opt.opts}: no help text"
    if "--as-of" in opts:
        assert opts["--as-of"] is opts["--date"]  # an alias, not a second option
    shown = run_cli(*name.split(), "--help")
    assert shown.returncode == 0, shown.stderr
    option_lines = [line for line in shown.stdout.splitlines() if line.lstrip().startswith("-")]
    for line in option_lines:  # an option says what it takes: a choice list, a range, FILE, YYYY-MM-DD ...
        assert "<str>" not in line and "<bool>" not in line and "<list[str]>" not in line, line
    if "--format" in opts:
        assert "table|csv|json|parquet" in shown.stdout


def test_help_shows_choices_and_no_bool_metavar():
    res = run_cli("montecarlo", "--help")
    assert res.returncode == 0
    assert "[table|csv|json|parquet]" in res.stdout or "<table|csv|json|parquet>" in res.stdout
    assert "<bootstrap|normal>" in res.stdout and "<bool>" not in res.stdout and "<str>" not in res.stdout
    bare = run_cli()
    assert bare.returncode == 0 and "Usage: lev-flows" in bare.stdout and "error" not in bare.stderr


def test_as_of_is_an_alias_of_date(shared):
    a = run_cli("daily", "--as-of", "2026-13-45", "--prices", shared / "prices")
    b = run_cli("daily", "--date", "2026-13-45", "--prices", shared / "prices")
    assert a.returncode == b.returncode == 2 and "is not a date" in a.stderr and "is not a date" in b.stderr


@pytest.mark.parametrize("cmd", [["ladder"], ["history", "--start", "2026-02-02", "--end", "2026-02-06"],
                                 ["tracking"], ["scorecard"], ["montecarlo", "--scenarios", "2000"],
                                 ["liquidity"], ["aum", "show", "TQQQ", "--start", "2026-07-01"]])
def test_output_format_from_the_extension(tmp_path, shared, cmd):
    prices = ["--prices", str(shared / "prices")]
    out = tmp_path / "t.csv"
    res = run_cli(*cmd, *prices, "--output", out)
    assert res.returncode == 0, res.stderr
    frame = pd.read_csv(out)  # a CSV, not a text table
    assert len(frame.columns) > 2 and len(frame) > 0
    if cmd[0] != "ladder":
        return
    js = tmp_path / "t.json"
    assert run_cli(*cmd, *prices, "-o", js).returncode == 0 and json.loads(js.read_text())
    pq = tmp_path / "t.parquet"
    assert run_cli(*cmd, *prices, "--output", pq).returncode == 0 and len(pd.read_parquet(pq)) == len(frame)
    again = run_cli(*cmd, *prices, "--output", out)
    assert again.returncode == 2 and "--force" in again.stderr


def test_parquet_needs_output_and_unknown_extension_is_refused(tmp_path):
    res = run_cli("ladder", "--format", "parquet")
    assert res.returncode == 2 and "--output" in res.stderr
    res = run_cli("ladder", "--output", tmp_path / "t.xlsx")
    assert res.returncode == 2 and "extension" in res.stderr
    res = run_cli("ladder", "--output", tmp_path / "same.png", "--chart", tmp_path / "same.png")
    assert res.returncode == 2 and "same file" in res.stderr


@pytest.mark.parametrize("cmd", [["liquidity"], ["tracking"],
                                 ["creations", "--from", "{snaps}/leveraged_etfs_2026-03-01.csv", "--to", "{snaps}/leveraged_etfs_2026-06-01.csv"]])
def test_charts_where_there_is_something_to_draw(tmp_path, shared, cmd):
    png = tmp_path / "c.png"
    args = [a.format(snaps=shared / "letf_snapshots") for a in cmd]
    res = run_cli(*args, "--prices", shared / "prices", "--chart", png, "--format", "csv")
    assert res.returncode == 0, res.stderr
    assert png.read_bytes()[:4] == b"\x89PNG"


# ---- readable output ---------------------------------------------------------------------


def test_tables_have_human_labels_and_whole_headers():
    res = run_cli("history", "--start", "2026-02-02", "--end", "2026-02-06", "--top", "3")
    assert res.returncode == 0, res.stderr
    assert "gross rebalance $" in res.stdout and "AUM with return" in res.stdout
    assert "gross_rebalance_u" not in res.stdout and "…" not in res.stdout
    assert "lev-flows: warning" not in res.stdout  # warnings go to stderr


def test_titles_and_numbers_read_well(tmp_path):
    from lev_flows.present.tables import human_label, pct_text

    assert pct_text(-0.00001) == "0.0%" and pct_text(0.888, signed=False) == "88.8%" and pct_text(-0.02) == "-2.0%"
    assert human_label("aum_with_return") == "AUM with return" and human_label("flow_pct_adv") == "flow % ADV"
    what_if = run_cli("ladder", "--move", "NDX=-3")
    assert what_if.returncode == 0, what_if.stderr
    flat = " ".join(what_if.stdout.split())
    assert "None" not in flat and "rebalancing: what-if: NDX -3.0%" in flat
    rets = tmp_path / "r.csv"
    rets.write_text("underlying,return\nNDX,-0.02\n")
    res = run_cli("estimate", "--returns", rets)
    assert res.returncode == 0 and "None" not in res.stdout and "((" not in res.stdout
    replay = run_cli("estimate")
    assert replay.returncode == 0 and "-0.0%" not in replay.stdout and "+0K" not in replay.stdout
    assert "gross |rebalance| 15.21B" in " ".join(replay.stdout.replace("│", " ").split())  # unsigned
    ladder = run_cli("montecarlo", "--scenarios", "2000")
    assert "+97" not in ladder.stdout and "-0.0%" not in ladder.stdout  # shares are unsigned


def test_short_reprs():
    from lev_flows import load_universe, replay

    u = load_universe()
    assert len(repr(u)) < 200 and repr(u).startswith("<Universe") and "707 funds" in repr(u)
    est = replay()
    assert len(repr(est)) < 250 and "rebalance -$13.14B" in repr(est)
    assert "<table>" in est._repr_html_() and "Semiconductors" in est._repr_html_()


def test_returns_from_prices_keeps_its_date(shared):
    from lev_flows import estimate, load_universe
    from lev_flows.inputs.prices import load_price_dir
    from lev_flows.jobs.reference import load_replay_aum
    from lev_flows.model.returns import returns_from_prices

    u = load_universe()
    rets = returns_from_prices(u, load_price_dir(shared / "prices"), "2026-02-05")
    est = estimate(u, rets, aum=load_replay_aum("2026-02-04", u))
    assert str(est.date) == "2026-02-05" and "2026-02-05" in est.summary()
    assert json.loads(est.to_json())["date"] == "2026-02-05"


def test_one_try_is_singular():
    from lev_flows.errors import DataSourceError
    from lev_flows.inputs.sources.http import HttpClient, HttpSettings

    with HttpClient(HttpSettings(attempts=1, timeout_s=0.5)) as client:
        with pytest.raises(DataSourceError, match="after 1 try "):
            client.get("http://127.0.0.1:9/x", lambda s, b: b, what="x")


def test_estimate_output_format_from_extension_and_intraday_line(tmp_path):
    out = tmp_path / "flows.csv"
    res = run_cli("estimate", "--output", out)
    assert res.returncode == 0, res.stderr
    assert set(pd.read_csv(out)["level"]) >= {"etf", "stock", "total"}  # the tidy frame, not the text table
    txt = tmp_path / "flows.txt"
    assert run_cli("estimate", "-o", txt).returncode == 0 and "By index" in txt.read_text()
    intraday = run_cli("estimate", "--intraday")
    flat = " ".join(intraday.stdout.split())
    # the intraday figure stands beside the words that describe it
    assert ("Intraday, 14:43 New York (the funds' reported changes; what a desk could publish before the close): "
            "US equity funds -15.12B, all funds -15.97B" in flat)


def test_liquidity_on_another_day_and_conflicting_options(tmp_path, shared):
    res = run_cli("liquidity", "--date", "2026-02-05", "--format", "csv")
    assert res.returncode == 0, res.stderr  # was "no volume data for 1970-01-01" for every day but the replay
    assert pd.read_csv(__import__("io").StringIO(res.stdout))["adv_usd"].notna().any()
    rets = tmp_path / "r.csv"
    rets.write_text("underlying,return\nNDX,-0.02\n")
    both = run_cli("estimate", "--returns", rets, "--prices", shared / "prices", "--date", "2026-02-05")
    assert both.returncode == 2 and "cannot be combined" in both.stderr  # --prices was silently ignored
    intraday = run_cli("estimate", "--intraday", "--prices", shared / "prices", "--date", "2026-02-05")
    assert intraday.returncode == 2 and "--intraday" in intraday.stderr
    steps = run_cli("ladder", "--step", "0.01", "--span", "99")
    assert steps.returncode == 2 and "at most 2,001" in steps.stderr


FLOAT_OPTIONS = sorted((name, p.opts[0]) for name, cmd in COMMANDS.items() for p in cmd.params
                       if type(p).__name__.endswith("Option") and isinstance(p.default, float) and p.min is not None)


def test_every_float_option_refuses_nan_as_not_a_number():
    """A range check alone called ``--step nan`` "less than or equal to 50"; every ranged float
    option of every command now says what is wrong with it (and still checks the range)."""
    from typer.testing import CliRunner

    assert ("ladder", "--step") in FLOAT_OPTIONS and len(FLOAT_OPTIONS) >= 8
    runner = CliRunner()
    for name, opt in FLOAT_OPTIONS:
        for value, message in (("nan", "'nan' is not a finite number"), ("inf", "'inf' is not a finite number"),
                               ("1e9", "1e9 is not in the range"), ("x", "'x' is not a number")):
            res = runner.invoke(app, [*name.split(), opt, value])
            assert res.exit_code == 2 and message in " ".join(res.output.split()), (name, opt, value, res.output)
    one = run_cli("ladder", "--step", "nan")
    assert one.returncode == 2 and one.stderr.strip() == "lev-flows: error: Invalid value for '--step': 'nan' is not a finite number"


def test_a_bad_date_names_the_option_given_as_an_alias():
    res = run_cli("montecarlo", "--end", "2026-13-01")
    assert res.returncode == 2 and "--date/--end: '2026-13-01' is not a date" in res.stderr


CHART_ARGS = {"aum show": ["TQQQ"], "watch": ["--replay", "2026-02-04"], "creations": ["--from", "x.csv", "--to", "y.csv"]}


def test_a_chart_file_says_its_format_by_its_extension(tmp_path, monkeypatch, capsys):
    """``--chart`` writes PNG, SVG or PDF as the file's extension says; any other extension is one
    line before any work (a PNG used to be written under a .svg name). In process: the entry
    point itself, every command that draws."""
    import sys

    from lev_flows.cli import main

    target = tmp_path / "chart.jpg"
    for name in sorted(CHARTS):
        monkeypatch.setattr(sys, "argv", ["lev-flows", *name.split(), *CHART_ARGS.get(name, []), "--chart", str(target)])
        with pytest.raises(SystemExit) as stop:
            main()
        err = capsys.readouterr().err
        assert stop.value.code == 2 and "a chart file ends in .png, .svg or .pdf" in err, (name, err)
        assert not target.exists()


def test_charts_in_svg_and_pdf(tmp_path):
    from lev_flows import replay
    from lev_flows.present.charts import chart_format

    svg = tmp_path / "flows.svg"
    res = run_cli("estimate", "--chart", svg)
    assert res.returncode == 0, res.stderr
    assert svg.read_bytes().startswith(b"<?xml") and b"<svg" in svg.read_bytes()[:1000]
    est = replay()
    fig = est.plot(tmp_path / "f.PDF")  # the Figure back, the file in the extension's format
    assert type(fig).__name__ == "Figure" and (tmp_path / "f.PDF").read_bytes().startswith(b"%PDF")
    est.plot(tmp_path / "g.png")
    assert (tmp_path / "g.png").read_bytes().startswith(b"\x89PNG") and chart_format("a.Svg") == "svg"
