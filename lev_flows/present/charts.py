"""Charts: matplotlib figures of an estimate, the ladder, the history, the Monte Carlo
distribution, an afternoon's path, the scorecard and a fund's AUM, as PNG, SVG or PDF bytes
(file writes are :mod:`lev_flows.io`).

Nothing here computes flows; it draws results it is given.
"""

from __future__ import annotations

import io as _io

import numpy as np

from lev_flows.errors import OutputError

# "FlowEstimate" in annotations is lev_flows.model.estimate.FlowEstimate; presentation sits above the
# estimate and does not import it, not even for annotations (the estimate's plot() and to_html()
# import this stage lazily, and the import-cycle check counts every import)


# --------------------------------------------------------------------------------------------
# exports

def _pyplot():
    """matplotlib's pyplot on the Agg backend (no screen needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


#: the chart formats, told by the file's extension
CHART_FORMATS = ("png", "svg", "pdf")


def chart_format(path) -> str:
    """``png``, ``svg`` or ``pdf`` from a chart file's extension; any other is an error (a PNG
    under a ``.svg`` name would be a silent lie)."""
    from pathlib import Path

    fmt = Path(path).suffix.lower().lstrip(".")
    if fmt not in CHART_FORMATS:
        raise OutputError(f"--chart {path}: a chart file ends in .png, .svg or .pdf (the format is taken from it)")
    return fmt


def save_chart(draw, path=None, fmt: str | None = None, *, force: bool = False) -> bytes:
    """``draw(fmt)``'s bytes, in ``fmt`` (default: from ``path``'s extension, else PNG), written
    atomically to ``path`` when given (an existing file needs ``force``)."""
    fmt = fmt or (chart_format(path) if path is not None else "png")
    data = draw(fmt)
    if path is not None:
        from lev_flows.io import atomic_write_bytes

        atomic_write_bytes(path, data, force=force)
    return data


def save_figure(fig, path=None, fmt: str | None = None, *, force: bool = False):
    """``fig`` (a matplotlib Figure), written atomically to ``path`` when given, in ``fmt``
    (default: from ``path``'s extension; an existing file needs ``force``); returned, released
    from pyplot (so a notebook shows it once and a loop of charts does not pile up figures)."""
    import matplotlib.pyplot as plt

    if fmt is not None and path is None:
        plt.close(fig)
        raise OutputError(f"chart format {fmt!r} without a path: give the file to write, e.g. plot('flows.{fmt}')")
    try:
        if path is not None:
            from lev_flows.io import atomic_write_bytes

            fmt = fmt or chart_format(path)
            if fmt not in CHART_FORMATS:
                raise OutputError(f"chart format {fmt!r}: use a .png, .svg or .pdf file")
            buf = _io.BytesIO()
            fig.savefig(buf, format=fmt, dpi=110)
            atomic_write_bytes(path, buf.getvalue(), force=force)
    finally:
        plt.close(fig)
    return fig


def _png(fig, fmt: str = "png") -> bytes:
    """Render a figure to PNG (or ``fmt``: ``svg``, ``pdf``) bytes and release it."""
    import io

    import matplotlib.pyplot as plt

    if fmt not in CHART_FORMATS:
        raise OutputError(f"chart format {fmt!r}: use a .png, .svg or .pdf file")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=110)
    plt.close(fig)
    return buf.getvalue()


def chart_png(est: "FlowEstimate", top: int = 15, fmt: str = "png") -> bytes:
    """A PNG with the top stock flows and the sector flows of an estimate (USD billions)."""
    return _png(chart_figure(est, top), fmt)


def chart_figure(est: "FlowEstimate", top: int = 15):
    """The matplotlib Figure of :func:`chart_png`."""
    _check_bars(top)
    plt = _pyplot()
    stocks = est.by_stock.head(top).iloc[::-1].reset_index()
    sectors = est.by_sector.iloc[::-1].reset_index()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 0.32 * max(top, len(sectors)) + 1.8))
    for ax, labels, values, title in (
        (ax1, stocks["ticker"], stocks["flow_usd"] / 1e9, f"Top {top} stocks"),
        (ax2, sectors["sector"], sectors["flow_usd"] / 1e9, "GICS sectors"),
    ):
        colors = ["#c0392b" if v < 0 else "#1e8449" for v in values]
        ax.barh(list(labels), list(values), color=colors)
        ax.axvline(0, color="black", linewidth=0.6)
        ax.set_title(title)
        ax.set_xlabel("USD billions (+ buy / - sell at the close)")
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle(
        f"Leveraged ETF rebalancing {est.date or ''} ({est.basis}): total {est.total.rebalance_usd / 1e9:+,.1f}B"
    )
    fig.tight_layout()
    return fig


def ladder_png(table, fmt: str = "png") -> bytes:
    """A PNG of the ladder: total and the largest buckets against the move."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(9, 5.5))
    buckets = [c for c in table.columns if c != "total"]
    largest = sorted(buckets, key=lambda c: -abs(table[c]).max())[:5]
    moves = table.index.to_numpy() * 100
    ax.plot(moves, table["total"] / 1e9, color="black", linewidth=2.5, label="total")
    for col in largest:
        ax.plot(moves, table[col] / 1e9, linewidth=1.3, label=col)
    ax.axhline(0, color="grey", linewidth=0.6)
    ax.axvline(0, color="grey", linewidth=0.6)
    ax.set_xlabel("move of every equity underlying (%)")
    ax.set_ylabel("rebalance at the close (USD billions)")
    ax.set_title("Leveraged ETF rebalancing ladder")
    ax.grid(alpha=0.3)
    ax.legend()
    return _png(fig, fmt)


def history_png(result, marked: int = 5, highlight: tuple[str, ...] = ("2026-02-04",), fmt: str = "png") -> bytes:
    """A PNG of the daily net flow (bars) with the ``marked`` largest days labelled and the
    ``highlight`` days (default: the 2026-02-04 replay) labelled in blue."""
    return _png(history_figure(result, marked, highlight), fmt)


def history_figure(result, marked: int = 5, highlight: tuple[str, ...] = ("2026-02-04",)):
    """The matplotlib Figure of :func:`history_png`."""
    import pandas as pd

    plt = _pyplot()
    daily = result.daily
    fig, ax = plt.subplots(figsize=(12, 5))
    values = daily["rebalance_usd"] / 1e9
    ax.bar(daily.index, values, width=1.0, color=np.where(values < 0, "#c0392b", "#1e8449"))
    labels = [(day, "black") for day in result.largest_days(marked).index]
    labels += [(pd.Timestamp(d), "#1f4e9c") for d in highlight if pd.Timestamp(d) in daily.index]
    for day, color in labels:
        v = values.loc[day]
        ax.annotate(
            f"{day:%Y-%m-%d}\n{v:+.1f}B", (day, v), xytext=(0, 10 if v >= 0 else -22),
            textcoords="offset points", ha="center", fontsize=8, color=color,
            arrowprops={"arrowstyle": "-", "color": "grey", "linewidth": 0.6},
        )
    ax.margins(y=0.18)
    ax.axhline(0, color="black", linewidth=0.6)
    ax.set_ylabel("rebalance at the close (USD billions)")
    ax.set_title(
        f"Leveraged ETF rebalancing, {daily.index[0]:%Y-%m-%d} .. {daily.index[-1]:%Y-%m-%d} "
        f"(AUM point in time)"
    )
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


def montecarlo_png(result, fmt: str = "png") -> bytes:
    """A PNG histogram of the simulated total flow with its quantiles marked."""
    return _png(montecarlo_figure(result), fmt)


def montecarlo_figure(result):
    """The matplotlib Figure of :func:`montecarlo_png`."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(9, 5))
    ax.hist(result.totals / 1e9, bins=120, color="#2e86c1", alpha=0.85)
    top = ax.get_ylim()[1]
    for i, (q, v) in enumerate(result.quantiles["total"].items()):
        if q not in (0.01, 0.05, 0.5, 0.95, 0.99):
            continue
        ax.axvline(v / 1e9, color="black", linewidth=0.7, linestyle="--")
        ax.annotate(f"q{q:g}: {v / 1e9:+.1f}B", (v / 1e9, top * (0.95 - 0.07 * (i % 2))), ha="center", fontsize=8,
                    bbox={"boxstyle": "round", "fc": "white", "ec": "none", "alpha": 0.8})
    ax.set_xlabel("the next close's rebalance (USD billions)")
    ax.set_ylabel("scenarios")
    vol = "EWMA-scaled" if result.vol.startswith("EWMA") else "raw days"
    given = ", given " + ", ".join(f"{k} {v:+.1%}" for k, v in result.given.items()) if result.given else ""
    ax.set_title(f"Monte Carlo, {len(result.totals):,} scenarios ({result.method}, {vol}, demeaned; "
                 f"window {result.window[0]} .. {result.window[1]}{given})", fontsize=10)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def intraday_chart(path, session, fmt: str = "png", buckets: int = 4) -> bytes:
    """The live estimate through an afternoon (:func:`lev_flows.jobs.watch.intraday_path`): the total
    and the ``buckets`` largest index buckets, USD billions, stale refreshes marked."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(10, 4.8))
    good = path[path["ok"].astype(bool)]
    ax.plot(good["at"], good["total_usd"] / 1e9, marker="o", markersize=3, color="black", label="total")
    cols = [c for c in path.columns if c.startswith("index: ")]
    largest = sorted(cols, key=lambda c: -good[c].abs().max() if len(good) else 0)[:buckets]
    for c in largest:
        ax.plot(good["at"], good[c] / 1e9, linewidth=1, label=c.removeprefix("index: "))
    for t in path.loc[~path["ok"].astype(bool), "at"]:
        ax.axvline(t, color="#c0392b", alpha=0.3, linewidth=3)
    if (~path["ok"].astype(bool)).any():
        ax.plot([], [], color="#c0392b", alpha=0.3, linewidth=3, label="stale (source down)")
    ax.axhline(0, color="black", linewidth=0.6)
    ax.set_ylabel("USD billions (+ buy / - sell at the close)")
    ax.set_title(f"Live leveraged ETF rebalancing estimate, {session} (New York time)")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    import matplotlib.dates as mdates

    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))
    return _png(fig, fmt)


#: a chart draws at most this many bars
MAX_BARS = 100


def _check_bars(n: int) -> None:
    if n > MAX_BARS:
        from lev_flows.errors import InputError

        raise InputError(f"a chart draws at most {MAX_BARS} bars, not {n:,} (the tables can have them)")


def bars_png(labels: list[str], values: list[float], title: str, xlabel: str, fmt: str = "png") -> bytes:
    """Horizontal bars, one per label (largest first as given), negatives in red; a NaN value
    has its label and no bar (never a zero)."""
    _check_bars(len(labels))
    plt = _pyplot()
    vals = [float(v) for v in values]
    fig, ax = plt.subplots(figsize=(9, 0.32 * len(vals) + 1.6))
    y = np.arange(len(vals))[::-1]
    ax.barh(y, vals, color=["#c0392b" if v < 0 else "#1e8449" for v in vals])
    ax.set_yticks(y, labels, fontsize=8)
    ax.axvline(0, color="black", linewidth=0.6)
    ax.set_xlabel(xlabel)
    ax.set_title(title, fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    return _png(fig, fmt)


def scorecard_label(date, source: str, scope: str, when: str, width: int = 30) -> str:
    """A scorecard bar's label: the date and the source wrapped at word boundaries (at most two
    lines of ``width`` characters, never cut inside a word: a longer source ends in "..."), then
    the scope and basis.

    >>> print(scorecard_label("2026-02-04", "Morgan Stanley quantitative trading desk", "us equity", "close"))
    2026-02-04 Morgan Stanley
    quantitative trading desk
    (us equity, close)
    """
    import textwrap

    lines = textwrap.wrap(f"{date} {source}", width, max_lines=2, placeholder=" ...", break_long_words=False)
    return "\n".join([*lines, f"({scope}, {when})"])


def scorecard_png(table, fmt: str = "png") -> bytes:
    """Horizontal bars: each published figure and ours for the same day (USD billions)."""
    plt = _pyplot()
    when = table["published_basis"].astype(str).str.split("(").str[0].str.strip()
    scope = table["scope"].astype(str).str.replace("_", " ") if "scope" in table else [""] * len(table)
    labels = [scorecard_label(d, s, sc, w) for d, s, sc, w in zip(table["date"], table["source"], scope, when)]
    y = np.arange(len(table))
    fig, ax = plt.subplots(figsize=(9, 0.95 * len(table) + 1.6))
    ax.barh(y + 0.2, table["published_usd"] / 1e9, height=0.38, color="#888888", label="published")
    ours = table["ours_usd"].to_numpy(dtype=float)
    ax.barh(y - 0.2, np.nan_to_num(ours) / 1e9, height=0.38, color="#1f77b4", label="lev_flows, same scope and basis (point in time)")
    for k in np.flatnonzero(~np.isfinite(ours)):
        ax.text(0, y[k] - 0.2, " n/a", va="center", fontsize=8)
    if "band_p10_usd" in table:  # our p10-p90 band on the figure's scope, where there is one
        lo, hi = table["band_p10_usd"].to_numpy(dtype=float) / 1e9, table["band_p90_usd"].to_numpy(dtype=float) / 1e9
        has = np.isfinite(lo) & np.isfinite(hi)
        ax.hlines(y[has] - 0.2, lo[has], hi[has], color="black", linewidth=1.4, label="our p10-p90 band")
    ax.set_yticks(y, labels, fontsize=8)
    ax.invert_yaxis()
    ax.axvline(0, color="black", linewidth=0.6)
    ax.set_xlabel("leveraged-ETF rebalancing, USD billions (+ = buy)")
    ax.set_title("Scorecard: published desk estimates vs lev_flows")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2, frameon=False)
    fig.tight_layout()
    return _png(fig, fmt)


def aum_png(ticker: str, modelled, observed, fmt: str = "png") -> bytes:
    """Modelled start-of-day AUM (line) against every stored observation (markers by source)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(10, 4.2))
    ax.plot(modelled.index, modelled["aum_usd"] / 1e9, color="#1f77b4", linewidth=1.2, label="modelled (start of day)")
    styles = {"issuer_nav": ("#2ca02c", "."), "holdings": ("#9467bd", "s"), "user": ("#8c564b", "D"), "screener": ("#d62728", "o")}
    for kind, group in observed.groupby("source_kind"):
        color, marker = styles.get(kind, ("#7f7f7f", "x"))
        size = 3 if kind == "issuer_nav" else 28
        ax.scatter(pd_dates(group["date"]), group["aum_usd"] / 1e9, s=size, color=color, marker=marker, label=f"observed: {kind}", zorder=3)
    ax.set_ylabel("USD billions")
    ax.set_title(f"{ticker}: AUM observed vs modelled (point in time)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return _png(fig, fmt)


def pd_dates(values):
    import pandas as pd

    return pd.to_datetime(values)
