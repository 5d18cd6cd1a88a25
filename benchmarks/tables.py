"""The benchmark tables of README.md and docs/performance.md, rendered from one benchmark run.

    python -m benchmarks --save        # runs the cases, writes results/latest.json and both tables
    python -m benchmarks.tables        # rewrites both tables from the committed latest.json

Each table sits between ``<!-- benchmarks:NAME -->`` and ``<!-- /benchmarks:NAME -->`` in its
file; tests/test_benchmarks.py renders them from latest.json and compares, so a table edited by
hand, or left behind by a new run, fails the suite.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
LATEST = Path(__file__).parent / "results" / "latest.json"


def _t(seconds: float | None) -> str:
    """A duration as people read it: 2.3 ms, 371 ms, 1.16 s."""
    if seconds is None:
        return ""
    if seconds < 0.01:
        return f"{seconds * 1e3:.1f} ms"
    if seconds < 1:
        return f"{seconds * 1e3:.0f} ms"
    return f"{seconds:.2f} s"


def _x(ratio: float) -> str:
    return f"{ratio:,.0f}x" if ratio >= 10 else f"{ratio:.1f}x"


def _target(res: dict[str, Any], limit: float, text: str) -> str:
    return f"{text} ({'met' if res['engine_s'] < limit else 'missed'})"


def _rows_full(r: dict[str, Any]) -> list[list[str]]:
    rows = []
    if "one_day" in r:
        c = r["one_day"]
        rows.append([f"one day, shipped universe ({c['funds']} funds), look-through (numpy tables)", _t(c["engine_s"]),
                     _t(c["baseline_s"]), _x(c["baseline_s"] / c["engine_s"]), _target(c, 0.05, "≥100x, <50 ms")])
        rows.append(["the same with its six DataFrames built (`est.by_etf` ... on first access)", _t(c["with_dataframes_s"]),
                     _t(c["baseline_s"]), _x(c["baseline_s"] / c["with_dataframes_s"]), ""])
    if "one_day_pit" in r:
        c = r["one_day_pit"]
        rows.append(["one day on point-in-time inputs (`estimate(..., aum=AumDay)`)", _t(c["engine_s"]), "", "",
                     _target(c, 0.02, "<20 ms")])
    if "synthetic_10x" in r:
        c = r["synthetic_10x"]
        rows.append([f"synthetic 10x ({c['funds']:,} funds, {c['stocks']:,} stocks)", _t(c["engine_s"]), _t(c["baseline_s"]),
                     _x(c["baseline_s"] / c["engine_s"]), ""])
    if "history" in r:
        c = r["history"]
        rows.append([f"`history()` over the shared prices ({c['days']} days, point-in-time AUM and returns, look-through)",
                     f"{_t(c['engine_s'])} (of which `point_in_time` {_t(c['point_in_time_s'])})", "", "",
                     _target(c, 1.0, "<1 s")])
    if "store_read" in r:
        c = r["store_read"]
        extra = c["cold_with_s"] - c["cold_without_s"]
        rows.append(["reading the store in a cold command (`load_best_observations`, vs not reading it)",
                     f"{extra * 1e3:+.0f} ms of {_t(c['cold_without_s'])}", "", "", "<100 ms"])
    if "monte_carlo" in r:
        c = r["monte_carlo"]
        rows.append([f"`monte_carlo()`, {c['scenarios']:,} bootstrap scenarios", _t(c["engine_s"]), "", "",
                     _target(c, 2.0, "<2 s")])
    if "cli" in r:
        c = r["cli"]
        rows.append(["`lev-flows --help`, cold", _t(c["help_s"]), f"a bare `import pandas`: {_t(c['baseline_s'])}",
                     f"**{c['help_ratio']:.2f}x**", "<0.5x"])
        rows.append(["`lev-flows estimate` (the replay), cold", _t(c["engine_s"]), f"a bare `import pandas`: {_t(c['baseline_s'])}",
                     f"**{c['estimate_ratio']:.2f}x**", "<1.3x"])
    rows += _rows_fetch(r)
    if "analysis_cli" in r:
        c = r["analysis_cli"]
        rows.append(["`lev-flows ladder` on the shared prices, parsed tables kept", _t(c["engine_s"]),
                     f"an empty cache folder: {_t(c['baseline_s'])}", _x(c["baseline_s"] / c["engine_s"]), ""])
    return rows


def _rows_fetch(r: dict[str, Any]) -> list[list[str]]:
    """The rows of the end-of-day and live fetches and of the cold price-table estimate (the
    README's table)."""
    rows = []
    if "live" in r:
        c = r["live"]
        rows.append([f"live estimate of the catalog, a server {c['latency_ms']} ms away: warm `watch` refresh, "
                     f"{c['in_flight']} in flight (cold CLI)",
                     f"{_t(c['engine_s'])} ({_t(c['cold_s'])}), {c['warm_requests']} requests",
                     f"one chart request per symbol: {_t(c['baseline_s'])}, {c['baseline_requests']} requests",
                     _x(c["baseline_s"] / c["engine_s"]), _target(c, 1.0, "<1 s (<15 s)")])
    if "daily" in r:
        c = r["daily"]
        rows.append(["`lev-flows daily --as-of 2026-02-04 --no-cache` after the close, the same server, cold CLI",
                     f"{_t(c['engine_s'])}, {c['requests']} requests",
                     f"one chart request per symbol: {_t(c['baseline_s'])}, {c['baseline_requests']} requests",
                     _x(c["baseline_s"] / c["engine_s"]),
                     f"<5 s, <80 requests ({'met' if c['engine_s'] < 5 and c['requests'] < 80 else 'missed'})"])
    if "estimate_prices" in r:
        c = r["estimate_prices"]
        rows.append(["`lev-flows estimate --date 2026-02-04 --prices ../shared/data/prices`, an empty cache folder",
                     f"{_t(c['engine_s'])} (median {_t(c['cold_median_s'])})", f"the cache kept: {_t(c['warm_s'])}", "",
                     _target(c, 1.5, "<1.5 s")])
    return rows


def _markdown(head: list[str], rows: list[list[str]], align: str) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---:" if a == "r" else "---" for a in align) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _stamp(payload: dict[str, Any]) -> str:
    return (f"Measured {payload['date']} on {payload['cores']} cores (Python {payload['python']}, numpy "
            f"{payload['numpy']}, pandas {payload['pandas']}) by `python -m benchmarks --save`; compare ratios, not "
            "milliseconds, across machines.")


def performance_table(payload: dict[str, Any]) -> str:
    """docs/performance.md: every case, then the scaling table."""
    r = payload["results"]
    main = _markdown(["case", "engine", "baseline", "ratio", "target"], _rows_full(r), "lrrrr")
    scaling = _markdown(["funds", "stocks", "holdings", "time"],
                        [[f"{s['funds']:,}", f"{s['stocks']:,}", f"{s['holdings']:,}", _t(s["engine_s"])] for s in r.get("scaling", [])],
                        "rrrr")
    return f"{_stamp(payload)}\n\n{main}\n\nEngine time as the universe grows (one day with look-through):\n\n{scaling}"


def readme_table(payload: dict[str, Any]) -> str:
    """README.md: the fetches a desk runs every day, and the cold estimate on price tables."""
    return f"{_stamp(payload)}\n\n" + _markdown(["case", "ours", "baseline", "ratio", "target"], _rows_fetch(payload["results"]), "lrrrr")


TABLES: dict[str, tuple[Path, Callable[[dict[str, Any]], str]]] = {
    "readme": (ROOT / "README.md", readme_table),
    "performance": (ROOT / "docs" / "performance.md", performance_table),
}


def _span(name: str) -> re.Pattern[str]:
    return re.compile(rf"(<!-- benchmarks:{name} -->)\n(.*?)\n?(<!-- /benchmarks:{name} -->)", re.S)


def current(name: str) -> str:
    """The table as the file holds it (between its markers)."""
    path, _ = TABLES[name]
    m = _span(name).search(path.read_text("utf-8"))
    if m is None:
        raise ValueError(f"{path}: no <!-- benchmarks:{name} --> ... <!-- /benchmarks:{name} --> markers")
    return m.group(2)


def write_tables(payload: dict[str, Any]) -> list[Path]:
    """Rewrite every table from ``payload`` (a run's JSON); returns the files written."""
    written = []
    for name, (path, render) in TABLES.items():
        text = path.read_text("utf-8")
        current(name)  # the markers are there
        new = _span(name).sub(lambda m: f"{m.group(1)}\n{render(payload)}\n{m.group(3)}", text)
        if new != text:
            path.write_text(new, "utf-8")
            written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    payload = json.loads(LATEST.read_text("utf-8"))
    for path in write_tables(payload):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
