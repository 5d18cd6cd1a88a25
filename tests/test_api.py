"""The Python API reads like pandas and yfinance (issue 30, items 2 and 5): result tables indexed by
their natural key, the universe as a mapping of funds, plots that return the Figure, entry points
whose keyword arguments ``help()`` shows, one default (point in time) from Python and the CLI, a
version; and the small CLI gaps (did you mean, a fraction given as a percent, the what-if's AUM
label, whole numbers, the scorecard chart's labels)."""

from __future__ import annotations

import csv
import importlib.metadata
import inspect
import io
import json
import tomllib

import pytest

import lev_flows
from lev_flows.errors import InputError, OutputError
from tests.conftest import ROOT, run_cli

DAY = "2026-02-04"


@pytest.fixture(scope="module")
def est(shared):
    return lev_flows.estimate_day(DAY, prices=shared / "prices")


@pytest.fixture(scope="module")
def universe():
    return lev_flows.load_universe()


# ---- result tables indexed by their key ---------------------------------------------------------


def test_every_table_is_indexed_by_its_natural_key(est):
    """``est.by_stock.loc["NVDA"]`` and its siblings, on the 2026-02-04 point-in-time estimate
    (USD billions, rounded to the million)."""
    cases = [
        ("by_etf", "ticker", "SOXL", "TQQQ", "rebalance_usd", -3.043),
        ("by_stock", "ticker", "NVDA", "NVDA", "flow_usd", -1.287),
        ("by_sector", "sector", "Information Technology", "Information Technology", "flow_usd", -9.001),
        ("by_index", "bucket", "Semiconductors", "Nasdaq-100", "rebalance_usd", -3.926),
        ("by_asset_class", "asset_class", "equity", "equity", "rebalance_usd", -13.016),
        ("by_underlying", "underlying", "SOX", "SOX", "flow_usd", -3.727),
    ]
    for name, key, first, row, column, billions in cases:
        frame = getattr(est, name)
        assert frame.index.name == key and key not in frame.columns, name  # the key moved to the index
        assert frame.index[0] == first and frame.index.is_unique, name  # largest |flow| first
        assert round(frame.loc[row, column] / 1e9, 3) == billions, (name, row)
    assert est.by_etf.loc["TQQQ"]["leverage"] == 3.0 and est.by_etf.loc["SQQQ", "leverage"] == -3.0
    assert est.by_index.loc["Nasdaq-100", "n_funds"] == 10
    with pytest.raises(KeyError):
        est.by_etf.loc["NOPE"]


def test_the_tidy_outputs_keep_the_key_as_a_column(est):
    """CSV, JSON and Parquet are unchanged: each record leads with its key, ``to_frame()`` carries
    a ``key`` column, ``reset_index()`` gives back the numpy table's columns in order."""
    doc = est.to_dict()
    for name in ("by_etf", "by_stock", "by_sector", "by_index", "by_asset_class"):
        tidy = est.tables[name].frame()  # the 0..n-1 table the outputs were written from
        assert doc[name] == json.loads(tidy.to_json(orient="records", date_format="iso")), name
        assert list(getattr(est, name).reset_index().columns) == list(est.tables[name].columns), name
    assert list(doc["by_etf"][0])[:2] == ["ticker", "name"] and doc["by_etf"][0]["ticker"] == "SOXL"
    assert next(iter(doc["by_sector"][0])) == "sector" and next(iter(doc["by_index"][0])) == "bucket"
    frame = est.to_frame()
    assert list(frame.columns) == ["level", "key", "flow_usd"]
    first = frame.groupby("level", sort=False).head(1).set_index("level")["key"].to_dict()
    assert first == {"etf": "SOXL", "stock": "NVDA", "sector": "Information Technology", "index": "Semiconductors",
                     "asset_class": "equity", "total": "total"}
    assert frame.set_index(["level", "key"]).loc[("stock", "NVDA"), "flow_usd"] == est.by_stock.loc["NVDA", "flow_usd"]


def test_the_daily_report_csv_files_lead_with_the_key(shared, tmp_path):
    """The report's CSV files are as before: the key is their first column; a second write of
    the same report from Python asks for ``force=True``."""
    import datetime as dt

    from lev_flows.inputs.sources.local import LocalPrices
    from lev_flows.jobs.daily import run_daily, write_report

    result = run_daily(lev_flows.load_universe(), LocalPrices(shared / "prices"), as_of=dt.date(2026, 2, 4))
    out = write_report(result, tmp_path)
    for name, key, first in (("by_etf", "ticker", "SOXL"), ("by_stock", "ticker", "NVDA"),
                             ("by_sector", "sector", "Information Technology"), ("by_index", "bucket", "Semiconductors")):
        header, row = list(csv.reader(io.StringIO((out / f"{name}.csv").read_text())))[:2]
        assert (header[0], row[0]) == (key, first), name
        assert header == list(result.estimate.tables[name].columns), name
    with pytest.raises(OutputError, match="report folder already exists; pass force=True to overwrite"):
        write_report(result, tmp_path)


# ---- the universe as a mapping of funds ---------------------------------------------------------


def test_the_universe_gives_a_fund_by_ticker_its_length_and_its_funds(universe):
    tqqq = universe["TQQQ"]
    assert (tqqq.ticker, tqqq.leverage, tqqq.underlying) == ("TQQQ", 3.0, "NDX")
    assert "TQQQ" in universe and "NOPE" not in universe and 3 not in universe
    assert len(universe) == len(universe.funds) == 707
    assert [f.ticker for f in universe] == [f.ticker for f in universe.funds]
    with pytest.raises(KeyError, match=r"TQQQQ: not a fund of the universe; did you mean TQQQ or "):
        universe["TQQQQ"]
    with pytest.raises(KeyError, match=r"tqqq: not a fund of the universe; did you mean TQQQ"):
        universe["tqqq"]
    with pytest.raises(KeyError, match=r"ZZZZZZZZ: not a fund of the universe \(707 funds\)"):
        universe["ZZZZZZZZ"]
    assert universe.model_dump()["funds"][0]["ticker"] == universe.funds[0].ticker  # pydantic still dumps


def test_funds_on_a_day_are_those_launched_and_listed_with_that_days_facts(universe):
    early, replay = universe.funds_on("2024-01-02"), universe.funds_on(DAY)
    assert (len(early), len(replay)) == (300, 626)
    assert {f.ticker: f.leverage for f in early}["TSLL"] == 1.5  # 1.5x until 2024-04
    assert {f.ticker: f.leverage for f in replay}["TSLL"] == 2.0
    for f in replay:
        assert f.inception_date is None or f.inception_date <= lev_flows.inputs.args.date_arg(DAY, "x")
        assert f.closed_on is None or f.closed_on > lev_flows.inputs.args.date_arg(DAY, "x")
    late = [f for f in universe if f.inception_date is not None and str(f.inception_date) > DAY]
    assert late and not {f.ticker for f in late} & {f.ticker for f in replay}
    with pytest.raises(InputError, match="funds_on: day: expected a date .*, not int 20260204"):
        universe.funds_on(20260204)


# ---- plots return the Figure; the overwrite error speaks Python ---------------------------------


def test_plots_return_the_figure_and_write_the_file(tmp_path, small_universe):
    import pandas as pd

    from lev_flows.analysis.history import history
    from lev_flows.analysis.montecarlo import monte_carlo

    est = lev_flows.replay()
    fig = est.plot()
    assert type(fig).__name__ == "Figure" and [ax.get_title() for ax in fig.axes] == ["Top 15 stocks", "GICS sectors"]
    path = tmp_path / "flows.svg"
    assert est.plot(path, top=5).axes[0].get_title() == "Top 5 stocks" and b"<svg" in path.read_bytes()[:1000]
    with pytest.raises(OutputError, match=r"flows.svg: already exists; pass force=True to overwrite$"):
        est.plot(path)
    est.plot(path, force=True)
    with pytest.raises(OutputError, match="without a path"):
        est.plot(fmt="png")
    closes = pd.DataFrame({"STK1": [100.0 * 0.99**i for i in range(31)], "STK2": [50.0 * 1.01**i for i in range(31)],
                           "GLD": [10.0 * 1.02**i for i in range(31)]}, index=pd.bdate_range("2026-01-02", periods=31))
    h = history(small_universe, closes, observations=None)
    assert type(h.plot()).__name__ == "Figure"
    h.plot(tmp_path / "h.png")
    assert (tmp_path / "h.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    mc = monte_carlo(small_universe, closes, n=200, lookback=30, observations=None)
    assert mc.plot().axes[0].get_ylabel() == "scenarios"


def test_the_overwrite_error_says_force_true_in_python_and_force_in_the_cli(tmp_path):
    from lev_flows.io import atomic_write_text

    target = tmp_path / "x.txt"
    target.write_text("old")
    with pytest.raises(OutputError) as err:
        atomic_write_text(target, "new")
    assert str(err.value) == f"{target}: already exists; pass force=True to overwrite"
    assert err.value.cli_message() == f"{target}: already exists; pass --force to overwrite"
    chart = tmp_path / "c.png"
    chart.write_bytes(b"old")
    res = run_cli("estimate", "--chart", chart)
    assert res.returncode == 2 and f"lev-flows: error: {chart}: already exists; pass --force to overwrite" in res.stderr
    assert "force=True" not in res.stderr


# ---- entry points that declare their keyword arguments; one default -----------------------------


def test_the_entry_points_declare_their_keyword_arguments():
    for fn, names in ((lev_flows.estimate_day, ["date", "universe", "prices", "db", "creations", "inputs", "exclude_etns",
                                                "on_impossible"]),
                      (lev_flows.history_range, ["start", "end", "universe", "prices", "db", "top_stocks", "inputs",
                                                 "exclude_etns"])):
        params = inspect.signature(fn).parameters
        assert list(params) == names, fn
        assert not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()), fn
        assert "prices" in (fn.__doc__ or "") or "price" in (fn.__doc__ or ""), fn
    assert "history_range" in lev_flows.__all__ and "history_range" in dir(lev_flows)


def test_history_from_python_is_point_in_time_as_the_cli(shared):
    """``history()`` reads the store's observations by default, as ``lev-flows history``: the same
    -13.14B for 2026-02-04 (the catalog's AUM alone gives another figure: asked for by name)."""
    from lev_flows.analysis.history import history
    from lev_flows.inputs.prices import load_price_dir

    closes = load_price_dir(shared / "prices")
    py = history(lev_flows.load_universe(), closes, start="2026-02-02", end="2026-02-06")
    res = run_cli("history", "--start", "2026-02-02", "--end", "2026-02-06", "--format", "csv", "--prices", shared / "prices")
    assert res.returncode == 0, res.stderr
    cli = {r["date"][:10]: float(r["rebalance_usd"]) for r in csv.DictReader(io.StringIO(res.stdout))}
    assert sorted(cli) == [f"2026-02-0{d}" for d in (2, 3, 4, 5, 6)]
    for day, usd in cli.items():
        assert py.daily.loc[day, "rebalance_usd"] == pytest.approx(usd, rel=1e-12), day
    assert round(cli[DAY] / 1e9, 2) == -13.14
    catalog = history(lev_flows.load_universe(), closes, start=DAY, end=DAY, observations=None)
    assert round(catalog.daily.loc[DAY, "rebalance_usd"] / 1e9, 2) == -12.60  # not the default any more
    with pytest.raises(InputError, match="observations must be 'store', None"):
        history(lev_flows.load_universe(), closes, observations="catalog")
    with pytest.raises(InputError, match="db names the store"):
        history(lev_flows.load_universe(), closes, observations=None, db="x.duckdb")


def test_monte_carlo_from_python_is_point_in_time_as_the_cli(shared):
    """``monte_carlo()`` applies the point-in-time AUM at the close of the last session with the
    funds' prices (2026-08-03), as ``lev-flows montecarlo``: the median close given NDX -2 % is
    the same -15.32B from both (catalog AUM: -21.03B on the same window)."""
    from lev_flows.analysis.montecarlo import monte_carlo
    from lev_flows.inputs.prices import load_price_dir

    uni, closes = lev_flows.load_universe(), load_price_dir(shared / "prices")
    py = monte_carlo(uni, closes, n=20_000, given={"NDX": -0.02})
    res = run_cli("montecarlo", "--given", "NDX=-2", "--scenarios", "20000", "--format", "csv", "--prices", shared / "prices")
    assert res.returncode == 0, res.stderr
    cli = {float(r["quantile"]): float(r["total"]) for r in csv.DictReader(io.StringIO(res.stdout))}
    assert py.window == ("2024-08-05", "2026-08-03")
    for q, usd in cli.items():
        assert py.quantiles.loc[q, "total"] == pytest.approx(usd, rel=1e-12), q
    assert round(cli[0.5] / 1e9, 2) == -15.32
    catalog = monte_carlo(uni, closes, n=20_000, given={"NDX": -0.02}, observations=None, end="2026-08-03")
    assert round(catalog.quantiles.loc[0.5, "total"] / 1e9, 2) == -21.03


def test_the_version_comes_from_the_package_metadata():
    with open(ROOT / "pyproject.toml", "rb") as fh:
        declared = tomllib.load(fh)["project"]["version"]
    assert lev_flows.__version__ == importlib.metadata.version("lev_flows") == declared
    res = run_cli("--version")
    assert res.returncode == 0 and res.stdout == f"lev-flows {declared}\n"


def test_the_version_falls_back_to_pyproject(monkeypatch):
    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", missing)
    with open(ROOT / "pyproject.toml", "rb") as fh:
        assert lev_flows._version() == tomllib.load(fh)["project"]["version"]


# ---- the small CLI gaps (issue 30, item 5) -------------------------------------------------------


def test_a_misspelt_move_names_the_nearest_underlying(small_universe):
    from lev_flows.analysis.whatif import what_if

    res = run_cli("ladder", "--move", "NDQ=-3")
    assert res.returncode == 2
    assert res.stderr.strip().splitlines()[-1] == (
        "lev-flows: error: --move: unknown key NDQ (did you mean NDX or SNDQ?): not an underlying id or fund ticker of the "
        "universe")  # the fewest edits, an underlying before a fund
    with pytest.raises(InputError, match=r"what-if: unknown key IDY \(did you mean IDX\?\)"):
        what_if(small_universe, {"IDY": -0.02})
    with pytest.raises(InputError, match=r"unknown key SOXLL \(did you mean SOXL or SOX\?\)"):
        lev_flows.estimate(lev_flows.load_universe(), {"SOXLL": -0.02})


def test_moves_that_all_look_like_fractions_are_warned():
    from lev_flows.analysis.whatif import fraction_warning, parse_moves

    assert fraction_warning(parse_moves(["NDX=-0.03"])) == (
        "--move NDX=-0.03 is a move of -0.03 %: moves are in percent (NDX=-3 is -3 %); was a fraction meant?")
    assert fraction_warning(parse_moves(["NDX=-0.03", "SOX=-0.05"]), "--given").startswith(
        "--given NDX=-0.03 is a move of -0.03 %: every move is under 0.1 %;")
    assert fraction_warning(parse_moves(["NDX=-0.03", "SOX=-3"])) is None  # one real move: a mix is meant
    assert fraction_warning(parse_moves(["NDX=0"])) is None and fraction_warning(parse_moves(["NDX=0.1"])) is None
    res = run_cli("ladder", "--move", "NDX=-0.03")
    assert res.returncode == 0
    assert "lev-flows: warning: --move NDX=-0.03 is a move of -0.03 %: moves are in percent" in res.stderr


def test_the_what_if_table_says_its_aum_is_point_in_time():
    res = run_cli("ladder", "--move", "NDX=-3")
    assert res.returncode == 0, res.stderr
    assert "AUM: point in time, at the close of 2026-08-03" in res.stderr
    aum_from = [line for line in res.stdout.splitlines() if line.strip().startswith("AUM from")]
    assert len(aum_from) == 1 and "point in time, at the close of 2026-08-03 (store observations" in aum_from[0]
    assert "catalog" not in aum_from[0]
    tqqq = [line for line in res.stdout.splitlines() if line.strip().startswith("TQQQ ")]
    assert tqqq and "catalog" not in tqqq[0] and "2026-08-03" in tqqq[0]


def test_the_what_if_aum_at_a_close_is_that_closes_point_in_time(shared):
    from lev_flows.analysis.whatif import aum_at_close, what_if

    inp = lev_flows.load_inputs(prices=shared / "prices")
    row = inp.pit.row("2026-02-03")
    est = what_if(inp.universe, {"NDX": -0.03}, aum=aum_at_close(inp.pit, row))
    tqqq = est.by_etf.loc["TQQQ"]
    assert tqqq["aum_usd"] == inp.pit.aum_close[row][list(inp.pit.tickers).index("TQQQ")]
    assert tqqq["aum_usd"] == inp.pit.aum_usd[row + 1][list(inp.pit.tickers).index("TQQQ")]  # the next start of day
    # what the figure rests on at that close: the issuer's net assets of that very close
    assert (tqqq["aum_method"], tqqq["aum_source"], tqqq["aum_date"]) == ("observed", "issuer_nav", "2026-02-03")
    assert est.as_of["aum"].startswith("point in time, at the close of 2026-02-03 (store observations")
    assert tqqq["rebalance_usd"] == pytest.approx(tqqq["aum_usd"] * 3 * 2 * -0.03, rel=1e-12)


def test_whole_numbers_print_without_decimals():
    import pandas as pd

    from lev_flows.present.tables import print_frame, recorded_text

    frame = pd.DataFrame({"source": ["a", "b"], "aum_median_gap": [209.0, float("nan")], "ratio": [1.0, 0.981]})
    text = recorded_text(lambda out: print_frame(frame, "t", out), width=80).decode()
    rows = [line.split("│") for line in text.splitlines() if "│" in line]
    assert [[c.strip() for c in r] for r in rows] == [["a", "209", "1.000"], ["b", "n/a", "0.981"]]


def test_the_scorecard_chart_labels_break_between_words():
    from lev_flows.analysis.scorecard import PUBLISHED_FILE, read_published
    from lev_flows.present.charts import scorecard_label

    published = read_published(PUBLISHED_FILE)
    for r in published.itertuples():
        label = scorecard_label(r.date, r.source, "us equity", "close")
        *lines, last = label.split("\n")
        assert last == "(us equity, close)" and 1 <= len(lines) <= 2 and all(len(x) <= 30 for x in lines)
        words = f"{r.date} {r.source}".split()
        shown = " ".join(lines).removesuffix(" ...").split()
        assert shown == words[: len(shown)], label  # whole words, in order: none cut
    assert scorecard_label("2026-02-12", "Morgan Stanley QDS (via the TightSpreads market wrap)", "us equity", "unstated") == (
        "2026-02-12 Morgan Stanley QDS\n(via the TightSpreads ...\n(us equity, unstated)")
