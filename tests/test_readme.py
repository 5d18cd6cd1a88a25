"""Every shell, output and Python block of the README and of the documentation pages
(``docs/*.md``) runs as written, prints what the page shows, and writes nothing outside
``reports/``, ``$HOME``, a temp folder or what ``.gitignore`` covers.

Each block runs in a fresh folder laid out like a clone (``../shared`` beside it, its own
``$HOME`` so its store is new). The README's blocks run twice in a row (a newcomer runs them
again: an import is idempotent, ``--force`` overwrites); the documentation pages' blocks run
**once**, to keep the suite within its time budget (their heavy commands, ``history``,
``montecarlo``, ``universe verify``, the scorecard, would cost about a minute more run twice), except
the shell blocks, which are cheap and are the ones that write (``aum import``, ``daily``,
``universe update``): they run twice too. The first run's output is compared with the lines the
page claims (:mod:`tests.readme_runner`: numbers at the precision shown). Offline commands run
for real. Network ones run against loopback servers standing in for the services: the pages'
example addresses (``https://screener.example/...``, ``http://127.0.0.1:8080`` ...) are mapped to
them, and the clock is pinned (``LEV_FLOWS_NOW``) after the close of 2026-02-04, or at 15:30 for
``--live``. The set-up lines ``pip install`` and ``python -m pytest`` are not run (the suite runs
inside that install, and is that test command).
"""

from __future__ import annotations

import csv
import gzip
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import ROOT, SHARED
from tests.readme_runner import find_claims, snippets

README = ROOT / "README.md"
#: the README and every page of the documentation site, in that order
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]
NETWORK = re.compile(r"lev-flows (daily(?!.*--prices)|estimate --live|aum update|universe update)")
SNIPPETS = [s for page in PAGES for s in snippets(page, page.relative_to(ROOT).as_posix())]


def attempts(snippet) -> tuple[int, ...]:
    """How many times a block runs in a row (see the module's docstring)."""
    return (1, 2) if snippet.page == "README.md" or snippet.kind == "sh" else (1,)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Servers, the folder layout and the environment the README's commands run in."""
    from pytest_httpserver import HTTPServer
    from werkzeug import Response

    from lev_flows.inputs.prices import load_price_dir
    from lev_flows.inputs.sources.issuer_aum import provider_classes
    from tests.servers import FakeYahoo
    from tests.test_store import nav_file

    base = tmp_path_factory.mktemp("readme")
    (base / "shared").symlink_to(SHARED.parent, target_is_directory=True)  # clones in base/: ../shared/data
    srv = HTTPServer(host="127.0.0.1", threaded=True)
    srv.start()
    closes = load_price_dir(SHARED / "prices")
    closes = closes[closes.index <= "2026-02-04"]
    closes = closes.loc[:, closes.notna().sum() >= 2].copy()  # a quote needs a previous close
    # a real service knows every symbol: those the tables lack get a flat price
    yahoo = FakeYahoo(closes, quote_at="2026-02-04 15:30", flat_unknown=True)
    srv.expect_request(re.compile(r"^/v8/finance/(chart/.*|spark)$")).respond_with_handler(yahoo)

    # each fund's net assets of 2026-02-03 as the store's seed last saw them (a figure 300x off the
    # seed's would be refused as a unit slip), $50M for a fund the seed lacks; NAV $50
    seed: dict[str, tuple[str, float]] = {}
    with gzip.open(ROOT / "lev_flows" / "data" / "aum_observations.csv.gz", "rt", encoding="utf-8") as fh:
        for obs in csv.DictReader(fh):
            if obs["date"] <= "2026-02-03" and float(obs["aum_usd"] or 0) > 0 and obs["date"] >= seed.get(obs["ticker"], ("",))[0]:
                seed[obs["ticker"]] = (obs["date"], float(obs["aum_usd"]))

    def nav_row(ticker: str) -> tuple[str, str, float, float, float]:
        shares = max(round(seed.get(ticker, ("", 50_000_000.0))[1] / 50_000, 2), 0.01)  # thousands, as the file has them
        return ("02/03/2026", ticker, 50.0, shares, shares * 50_000)

    def nav(request):  # the issuer's NAV history download, for any fund
        ticker = request.path.rsplit("/", 1)[-1].split("-")[0]
        return Response(nav_file([nav_row(ticker)]), content_type="text/csv")

    srv.expect_request(re.compile(r"^/etfdata/ByFund/.*-historical_nav\.csv$")).respond_with_handler(nav)
    from lev_flows import load_universe

    proshares = [f.ticker for f in load_universe().funds if f.issuer == "ProShares" and f.closed_on is None]
    everyone = nav_file([nav_row(t) for t in sorted(proshares)])
    srv.expect_request("/etfdata/historical_nav.csv").respond_with_data(everyone, content_type="text/csv")
    snapshot = (SHARED / "letf_snapshots/leveraged_etfs_2026-06-01.csv").read_bytes()
    srv.expect_request("/screener/leveraged-etfs.csv").respond_with_data(snapshot, content_type="text/csv")
    srv.expect_request(re.compile(".*")).respond_with_data("not here", status=404)  # holdings files and the rest
    url = srv.url_for("/").rstrip("/")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEV_FLOWS_", "XDG_"))}
    env.update({
        "LEV_FLOWS_CACHE": str(base / "cache"),  # parsed tables shared by the clones (a cache: same answers)
        "LEV_FLOWS_YAHOO_URL": url,
        "LEV_FLOWS_PROSHARES_URL": url,
        "LEV_FLOWS_DIREXION_URL": url,
        # every other issuer's site is this server too (its files answer 404 here): a command's
        # issuer update fails at once, as it would offline, instead of waiting on real addresses
        **{cls.url_env: url for cls in provider_classes().values()},
        "LEV_FLOWS_NOW": "2026-02-04T17:00",  # after that close: `daily` fetches the session's closes
        "COLUMNS": "160",
        "PYTHONUNBUFFERED": "1",  # stdout and stderr interleave as a terminal shows them
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    })
    addresses = {
        "https://screener.example/leveraged-etfs.csv": f"{url}/screener/leveraged-etfs.csv",
        "http://127.0.0.1:8080": url,
        "http://127.0.0.1:8081": url,
        "lev-flows estimate --live": "LEV_FLOWS_NOW=2026-02-04T15:30 lev-flows estimate --live",  # live: during that session
    }
    yield {"base": base, "env": env, "addresses": addresses}
    srv.clear()
    srv.stop()


def _map(code: str, world) -> str:
    for old, new in world["addresses"].items():
        code = code.replace(old, new)
    return code


def test_readme_has_what_this_test_runs():
    kinds = [s.kind for s in SNIPPETS]
    assert kinds.count("sh") >= 8 and kinds.count("out") >= 10 and kinds.count("py") >= 4
    assert any(NETWORK.search(s.code) for s in SNIPPETS if s.kind == "sh")
    claimed = sum(len(lines) for s in SNIPPETS for _, lines in s.claims)
    assert claimed >= 60  # the output blocks' lines are checked, not only run
    readme = [s for s in SNIPPETS if s.page == "README.md"]
    assert {s.kind for s in readme} == {"sh", "out", "py"} and all(s.claims[0][1] for s in readme if s.kind != "sh")
    assert len({s.page for s in SNIPPETS}) >= 10  # the pages' blocks run too, not only the README's


def test_readme_writes_only_to_its_own_places():
    """No command of the README names an absolute path outside a temp folder or $HOME."""
    for s in SNIPPETS:
        text = s.code + " ".join(c for c, _ in s.claims)
        for path in re.findall(r"(?<![\w.:/~])/(?:[\w.-]+/)*[\w.-]+", text):
            assert path.startswith(("/tmp", "/v8/")), f"{s.label}: {path} is outside the clone, $HOME and /tmp"


def _commands(snippet) -> list[tuple[list[str], list[str]]]:
    """``[(argv, claimed lines)]`` to run for one block."""
    if snippet.kind == "sh":
        return [(["bash", "-c", f"set -e\n{snippet.code}"], [])]
    if snippet.kind == "py":
        return [([sys.executable, "-c", snippet.code], snippet.claims[0][1])]
    return [(["bash", "-c", f"set -e\n{cmd}"], lines) for cmd, lines in snippet.claims]


def _run_block(world, i: int) -> dict:
    """Block ``i`` run (twice, or once: :func:`attempts`) in its own clone: the runs, and the files it left."""
    snippet = SNIPPETS[i]
    clone, home = world["base"] / f"clone{i}", world["base"] / f"home{i}"
    clone.mkdir()
    home.mkdir()
    shutil.copy(ROOT / "etf_universe.yaml", clone / "etf_universe.yaml")
    env = dict(world["env"], HOME=str(home))
    runs = []
    for attempt in attempts(snippet):
        for argv, claims in _commands(snippet):
            argv = [*argv[:-1], _map(argv[-1], world)]
            proc = subprocess.run(argv, check=False, cwd=clone, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                  timeout=600)
            runs.append({"attempt": attempt, "cmd": argv[-1], "rc": proc.returncode, "out": proc.stdout, "claims": claims})
    left = sorted(str(p.relative_to(clone)) for p in clone.rglob("*") if p.is_file() and p.name != "etf_universe.yaml")
    return {"runs": runs, "left": left}


@pytest.fixture(scope="module")
def results(world, request):
    """The blocks this session's selected tests ask for (all of them, or the clock-sensitive ones
    under ``-m clock``), each in its own clone, two blocks at a time."""
    wanted = sorted({item.callspec.params["i"] for item in request.session.items
                     if item.module is sys.modules[__name__] and hasattr(item, "callspec")})
    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(wanted, pool.map(lambda i: _run_block(world, i), wanted)))


IDS = [s.label for s in SNIPPETS]
#: blocks whose answer depends on what time it is: run again under the fake system clocks
CLOCK_SENSITIVE = re.compile(r"lev-flows (watch|daily(?!.*--date)|estimate --live)|LEV_FLOWS_NOW|--now|run_daily")


def _cases(keep=lambda s: True):
    return [pytest.param(i, id=IDS[i], marks=[pytest.mark.clock] if CLOCK_SENSITIVE.search(s.code + " ".join(c for c, _ in s.claims)) else [])
            for i, s in enumerate(SNIPPETS) if keep(s)]


@pytest.mark.parametrize("i", _cases())
def test_readme_block_runs_twice(results, i):
    for run in results[i]["runs"]:
        where = f"{SNIPPETS[i].where}, run {run['attempt']}: {run['cmd']}"
        assert run["rc"] == 0, f"{where}\n--- output ---\n{run['out'][-3000:]}"
        assert "Traceback" not in run["out"], where


@pytest.mark.parametrize("i", _cases(lambda s: s.kind != "sh"))
def test_readme_output_is_what_the_command_prints(results, i):
    for run in results[i]["runs"]:
        if run["attempt"] == 1 and run["claims"]:
            missing = find_claims(run["claims"], run["out"])
            assert not missing, (f"{SNIPPETS[i].where}: `{run['cmd']}` does not print these lines as shown:\n"
                                 + "\n".join(missing) + f"\n--- it printed ---\n{run['out'][-4000:]}")


@pytest.mark.parametrize("i", _cases())
def test_readme_block_leaves_files_only_where_ignored(results, i):
    left = [p for p in results[i]["left"] if not p.startswith("reports/")]
    if not left:
        return
    ignored = subprocess.run(["git", "-C", str(ROOT), "check-ignore", "--no-index", "--stdin"], input="\n".join(left) + "\n",
                             capture_output=True, text=True, check=False).stdout.split()
    stray = sorted(set(left) - set(ignored))
    assert not stray, f"{SNIPPETS[i].where} leaves files that .gitignore does not cover: {stray}"


def test_claimed_lines_are_compared_as_numbers_at_the_shown_precision():
    from tests.readme_runner import line_matches

    assert line_matches("XBI (corr 0.822, beta 1.99)", "    best match: XBI (corr 0.822, beta 1.99)") is False  # text before
    assert line_matches("best match: XBI (corr 0.822, beta 1.99)", "best match:   XBI (corr 0.822, beta 1.99)")
    assert not line_matches("best match: XBI (corr 0.829, beta 2.00)", "best match: XBI (corr 0.822, beta 1.99)")  # drifted
    assert line_matches("total -13.1B", "total -13.08B") and not line_matches("total -13.1B", "total -13.18B")
    assert not line_matches("total -13.08B", "total -13.08M")  # the unit is text: it must agree
    assert line_matches("15:58:…  total -12.64B", "15:58:03  total -12.64B")
    assert line_matches("left out: SNDK (+0.03B per 1%), ...", "left out: SNDK (+0.03B per 1%), MSTR (+0.02B per 1%)")
    assert find_claims(["a 1", "...", "c 3"], "a 1\nb 2\nc 3\n") == [] and find_claims(["c 3", "a 1"], "a 1\nc 3") == ["a 1"]
