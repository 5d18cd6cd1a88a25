"""The benchmark's naive baseline and the engine agree (timings live in benchmarks/, not here)."""

import pytest

from benchmarks.run import (
    agree,
    engine_stock_flows,
    naive_stock_flows,
    synthetic_universe,
)
from tests.conftest import SMALL_RETURNS


def test_engine_matches_naive_baseline_small(small_universe):
    naive = naive_stock_flows(small_universe, SMALL_RETURNS)
    assert naive["STK1"] == pytest.approx(0.6 * -244e6 - 20e6)
    assert agree(engine_stock_flows(small_universe, SMALL_RETURNS), naive) <= 1e-9


def test_engine_matches_naive_baseline_synthetic():
    uni, returns = synthetic_universe(n_funds=60, n_stocks=200, n_indexes=4, seed=3)
    assert agree(engine_stock_flows(uni, returns), naive_stock_flows(uni, returns)) <= 1e-9


def test_benchmarks_show_progress_and_keep_the_committed_results(tmp_path, monkeypatch, capsys):
    from benchmarks import run, tables

    doc = tmp_path / "doc.md"
    doc.write_text("before\n<!-- benchmarks:readme -->\nold\n<!-- /benchmarks:readme -->\nafter\n")
    monkeypatch.setattr(tables, "TABLES", {"readme": (doc, lambda payload: f"{len(payload['results'])} cases")})
    monkeypatch.setattr(run, "RESULTS", tmp_path / "latest.json")
    monkeypatch.setattr(run, "CASES", {"tiny": lambda quick: {"engine_s": 0.001, "baseline_s": 0.1}})
    monkeypatch.setattr(run, "SCALING", lambda: [])
    assert run.main(["--quick"]) == 0
    err = capsys.readouterr().err
    assert "[1/1] tiny ..." in err  # progress while it runs
    written = list(tmp_path.glob("run-*.json"))
    assert len(written) == 1 and not (tmp_path / "latest.json").exists()  # a new file, the committed one untouched
    assert doc.read_text() == "before\n<!-- benchmarks:readme -->\nold\n<!-- /benchmarks:readme -->\nafter\n"
    assert run.main(["--quick", "--save"]) == 0 and (tmp_path / "latest.json").exists()
    assert doc.read_text() == "before\n<!-- benchmarks:readme -->\n2 cases\n<!-- /benchmarks:readme -->\nafter\n"


def test_the_readme_and_performance_tables_are_the_committed_run():
    """README.md's and docs/performance.md's benchmark tables are rendered from
    benchmarks/results/latest.json (`python -m benchmarks --save` writes all three): a table
    edited by hand, or a run whose tables were not written, fails here."""
    import json

    from benchmarks import tables

    payload = json.loads(tables.LATEST.read_text())
    for name, (path, render) in tables.TABLES.items():
        assert tables.current(name) == render(payload), f"{path.name}: run `python -m benchmarks.tables`"
    readme = tables.readme_table(payload)
    daily = payload["results"]["daily"]
    assert f"{daily['requests']} requests" in readme and f"{daily['baseline_requests']} requests" in readme
    assert f"{payload['results']['daily']['engine_s']:.2f} s" in readme
