"""Shared fixtures: the raw data folder, a small hand-worked universe, the real CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"

# every test, and every CLI it starts, uses one fresh AUM store of its own (seeded on first use)
_STORE_DIR = tempfile.mkdtemp(prefix="lev_flows_test_store_")
os.environ["LEV_FLOWS_DB"] = str(Path(_STORE_DIR) / "store.duckdb")
os.environ.pop("LEV_FLOWS_PRICES", None)
# one clock: every test, and every CLI it starts, reads a pinned clock (after the close of
# 2026-02-04) unless it pins its own, so nothing depends on the machine's clock or time zone; the
# clock-sensitive tests also run under libfaketime (.ci/run), which catches a read that bypasses it
os.environ["LEV_FLOWS_NOW"] = "2026-02-04T17:00"
# no issuer sites here: online runs do not fetch issuer AUM first unless a test serves it
os.environ["LEV_FLOWS_AUM_UPDATE"] = "off"
# and one cache folder of their own (parsed catalog and price tables, HTTP answers), never the user's
os.environ["LEV_FLOWS_CACHE"] = str(Path(_STORE_DIR) / "cache")

SMALL_UNIVERSE = """\
source: hand-made test universe
as_of: 2026-02-04
funds:
  - {ticker: AAA, name: Three Bull, leverage: 3, underlying: IDX, asset_class: equity, aum_usd: 1.0e9, aum_as_of: 2026-02-04}
  - {ticker: BBB, name: Three Bear, leverage: -3, underlying: IDX, asset_class: equity, aum_usd: 5.0e8, aum_as_of: 2026-02-04}
  - {ticker: CCC, name: Two Bull Stock, leverage: 2, underlying: STK1, asset_class: equity, aum_usd: 2.0e8, aum_as_of: 2026-02-04}
  - {ticker: DDD, name: Two Bull Gold, leverage: 2, underlying: GOLD, asset_class: commodity, aum_usd: 1.0e8, aum_as_of: 2026-02-04}
  - {ticker: EEE, name: One Bear, leverage: -1, underlying: IDX, asset_class: equity, aum_usd: 1.0e8, aum_as_of: 2026-02-04}
  - {ticker: FFF, name: Monthly Two Bull, leverage: 2, underlying: STK1, asset_class: equity, reset: monthly, aum_usd: 1.0e8, aum_as_of: 2026-02-04}
underlyings:
  - id: IDX
    name: Test index
    kind: index
    asset_class: equity
    bucket: Test index
    composition: {as_of: 2025-10-04, source: test, weights: {STK1: 0.6, STK2: 0.4}}
  - {id: STK1, name: Stock One, kind: single_stock, asset_class: equity, bucket: Single stocks}
  - {id: GOLD, name: Gold, kind: commodity, asset_class: commodity, bucket: Commodities}
stocks:
  STK1: {name: Stock One, sector: Information Technology}
  STK2: {name: Stock Two, sector: Financials}
"""
SMALL_RETURNS = {"IDX": -0.02, "STK1": -0.05, "GOLD": 0.01}


@pytest.fixture
def small_yaml(tmp_path: Path) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(SMALL_UNIVERSE)
    return path


@pytest.fixture(scope="session")
def small_universe(tmp_path_factory):
    from lev_flows import load_universe

    path = tmp_path_factory.mktemp("small") / "small.yaml"
    path.write_text(SMALL_UNIVERSE)
    return load_universe(path)


@pytest.fixture
def server():
    """A real HTTP server on 127.0.0.1 (pytest-httpserver), threaded, for the providers."""
    from pytest_httpserver import HTTPServer

    srv = HTTPServer(host="127.0.0.1", threaded=True)
    srv.start()
    yield srv
    srv.clear()
    if srv.is_running():
        srv.stop()


@pytest.fixture(scope="session")
def shared() -> Path:
    if not SHARED.is_dir():
        pytest.fail(f"raw data folder {SHARED} is missing; tests read ../shared/data")
    return SHARED


def cli_executable() -> list[str]:
    """The installed console script, next to this interpreter."""
    script = Path(sys.executable).parent / "lev-flows"
    return [str(script)] if script.exists() else [sys.executable, "-m", "lev_flows.cli"]


def run_cli(*args: str, cwd: Path | None = None, input: str | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """The installed CLI in a subprocess (``env`` adds to or, with an empty value, removes from
    this process's environment)."""
    extra = env or {}
    env = {k: v for k, v in os.environ.items() if k != "LEV_FLOWS_DEBUG"}
    env["COLUMNS"] = "160"
    for k, v in extra.items():
        if v:
            env[k] = v
        else:
            env.pop(k, None)
    return subprocess.run(
        [*cli_executable(), *map(str, args)], capture_output=True, text=True, cwd=cwd, env=env, input=input, timeout=120
    )
