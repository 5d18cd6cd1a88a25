"""Every command and Python block of the README runs as written.

The README's shell lines (``bash`` blocks, and ``$ ...`` lines of the output examples) and its
``python`` blocks are extracted and run, each in a fresh folder laid out like a clone (``../shared``
beside it), with one AUM store shared by them in order. Offline ones run for real. Network ones
run against loopback servers standing in for the services: the README's example addresses
(``https://screener.example/...``, ``http://127.0.0.1:8080`` ...) are mapped to them, and
``LEV_FLOWS_NOW`` replays 2026-02-04 17:00 New York. Two set-up lines are not run: ``pip install``
(the suite runs inside that install) and ``python -m pytest`` (this suite itself).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import ROOT, SHARED

README = ROOT / "README.md"
NOT_RUN = ("pip install", "python -m pytest")
NETWORK = re.compile(r"lev-flows (daily(?!.*--prices)|estimate --live|aum update|universe update)")


def readme_snippets() -> list[tuple[str, str]]:
    """``(kind, code)`` in README order: kind ``sh`` (one command, continuations joined) or ``py``."""
    out: list[tuple[str, str]] = []
    for lang, body in re.findall(r"```(\w*)\n(.*?)```", README.read_text(), re.S):
        if lang == "python":
            out.append(("py", body))
            continue
        lines = body.splitlines()
        if lang == "bash":
            cmds = [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
        else:
            cmds = []
            for i, line in enumerate(lines):
                if line.startswith("$ "):
                    cmd = line[2:]
                    j = i
                    while cmd.rstrip().endswith("\\") and j + 1 < len(lines):
                        j += 1
                        cmd = cmd.rstrip()[:-1] + " " + lines[j].strip()
                    cmds.append(cmd)
        for cmd in cmds:  # `a && b` runs as one snippet, without the set-up parts (pip, pytest)
            parts = [re.split(r"\s{2,}#", part)[0].strip() for part in cmd.split("&&")]
            parts = [p for p in parts if p and not p.startswith(NOT_RUN)]
            if parts:
                out.append(("sh", " && ".join(parts)))
    return out


SNIPPETS = readme_snippets()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Servers, the folder layout and the environment the README's commands run in."""
    from pytest_httpserver import HTTPServer
    from werkzeug import Response

    from lev_flows.returns import load_price_dir
    from tests.test_store import nav_file

    base = tmp_path_factory.mktemp("readme")
    (base / "shared").symlink_to(SHARED.parent, target_is_directory=True)  # clones in base/: ../shared/data
    srv = HTTPServer(host="127.0.0.1", threaded=True)
    srv.start()
    closes = load_price_dir(SHARED / "prices")
    closes = closes[closes.index <= "2026-02-04"]
    closes = closes.loc[:, closes.notna().sum() >= 2].copy()  # a quote needs a previous close
    from tests.servers import FakeYahoo

    # a real service knows every symbol: those the tables lack get a flat price (the estimate's
    # numbers are not what this test checks)
    yahoo = FakeYahoo(closes, quote_at="2026-02-04 15:30", flat_unknown=True)
    srv.expect_request(re.compile(r"^/v8/finance/(chart/.*|spark)$")).respond_with_handler(yahoo)

    def nav(request):  # the issuer's NAV history download, for any fund
        ticker = request.path.rsplit("/", 1)[-1].split("-")[0]
        return Response(nav_file([("02/03/2026", ticker, 50.0, 1_000, 50_000_000.0)]), content_type="text/csv")

    srv.expect_request(re.compile(r"^/etfdata/ByFund/.*-historical_nav\.csv$")).respond_with_handler(nav)
    snapshot = (SHARED / "letf_snapshots/leveraged_etfs_2026-06-01.csv").read_bytes()
    srv.expect_request("/screener/leveraged-etfs.csv").respond_with_data(snapshot, content_type="text/csv")
    srv.expect_request(re.compile(".*")).respond_with_data("not here", status=404)  # holdings files and the rest
    url = srv.url_for("/").rstrip("/")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEV_FLOWS_")}
    env.update({
        "LEV_FLOWS_DB": str(base / "store.duckdb"),
        "LEV_FLOWS_CACHE": str(base / "cache"),
        "LEV_FLOWS_YAHOO_URL": url,
        "LEV_FLOWS_PROSHARES_URL": url,
        "LEV_FLOWS_DIREXION_URL": url,
        "LEV_FLOWS_NOW": "2026-02-04T17:00",  # after that close: `daily` fetches the session's closes
        "COLUMNS": "160",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    })
    addresses = {
        "https://screener.example/leveraged-etfs.csv": f"{url}/screener/leveraged-etfs.csv",
        "http://127.0.0.1:8080": url,
        "http://127.0.0.1:8081": url,
        "/data/lev_flows_cache": str(base / "cache2"),
    }
    yield {"base": base, "env": env, "addresses": addresses}
    srv.clear()
    srv.stop()


def _map(code: str, world) -> str:
    for old, new in world["addresses"].items():
        code = code.replace(old, new)
    return code


def test_readme_has_what_this_test_runs():
    kinds = [k for k, _ in SNIPPETS]
    assert kinds.count("sh") >= 25 and kinds.count("py") >= 4
    assert any(NETWORK.search(c) for k, c in SNIPPETS if k == "sh")


def _run(world, i: int) -> subprocess.CompletedProcess:
    kind, code = SNIPPETS[i]
    clone = world["base"] / f"clone{i}"
    clone.mkdir()
    shutil.copy(ROOT / "etf_universe.yaml", clone / "etf_universe.yaml")
    code = _map(code, world)
    cmd = ["bash", "-c", f"set -e; {code}"] if kind == "sh" else [sys.executable, "-c", code]
    env = dict(world["env"])
    env["LEV_FLOWS_DB"] = str(clone / "store.duckdb")  # DuckDB has one writer: a store per clone
    if "--live" in code:
        env["LEV_FLOWS_NOW"] = "2026-02-04T15:30"  # live quotes: during that session
    return subprocess.run(cmd, cwd=clone, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def results(world):
    """Every snippet run once, two at a time (each in its own clone; none depends on another)."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(lambda i: _run(world, i), range(len(SNIPPETS))))


@pytest.mark.parametrize("i", range(len(SNIPPETS)), ids=[f"{k}{i}:{c.splitlines()[0][:48]}" for i, (k, c) in enumerate(SNIPPETS)])
def test_readme_snippet_runs(results, i):
    proc = results[i]
    assert proc.returncode == 0, f"{SNIPPETS[i][1]}\n--- stderr ---\n{proc.stderr[-3000:]}"
    assert "Traceback" not in proc.stderr
