"""Presentation at the edge: rich tables, CSV / JSON / Parquet exports, charts (file writes are
:mod:`lev_flows.io`).

Nothing here computes flows; it formats a :class:`~lev_flows.estimate.FlowEstimate`.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import numpy as np

from .errors import OutputError

if TYPE_CHECKING:  # pragma: no cover
    from rich.console import Console

# "FlowEstimate" in annotations is lev_flows.estimate.FlowEstimate; presentation sits above the
# estimate and does not import it (the estimate's plot() imports this module)


# --------------------------------------------------------------------------------------------
# exports

FORMATS = ("table", "json", "csv", "parquet")


def render(est: "FlowEstimate", fmt: str, top: int) -> bytes:
    """The estimate as bytes in ``fmt`` (json: everything; csv/parquet: the tidy frame)."""
    if fmt == "json":
        return (est.to_json(top=None) + "\n").encode()
    if fmt == "csv":
        return est.to_frame().to_csv(index=False, lineterminator="\n").encode()
    if fmt == "parquet":
        import io

        buf = io.BytesIO()
        est.to_frame().to_parquet(buf, index=False)
        return buf.getvalue()
    if fmt == "table":
        return recorded_text(lambda console: print_tables(est, console, top=top), width=120)
    raise OutputError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")


def recorded_text(show, width: int = 200) -> bytes:
    """What ``show(console)`` prints on a rich console ``width`` columns wide, as plain text
    (for ``--output x.txt``)."""
    from rich.console import Console

    with open(os.devnull, "w") as sink:
        console = Console(record=True, width=width, file=sink)
        show(console)
        return console.export_text().encode()


# --------------------------------------------------------------------------------------------
# rich tables


def _usd(v: float) -> str:
    """``+1.23B`` / ``-45.6M`` / ``+789K``; NaN is ``n/a`` and an exact zero ``0`` (never ``+0K``)."""
    if v != v:  # NaN
        return "n/a"
    if v == 0:
        return "0"
    a = abs(v)
    if a >= 1e9:
        return f"{v / 1e9:+,.2f}B"
    if a >= 1e6:
        return f"{v / 1e6:+,.1f}M"
    return f"{v / 1e3:+,.0f}K"


def _table(title: str, columns: list[str]):
    from rich.table import Table

    # at least as wide as its title (up to 120 columns), so the title reads on one line
    t = Table(title=title, title_justify="left", show_edge=False, header_style="bold", min_width=min(len(title), 120))
    for i, c in enumerate(columns):
        # a header is never cut: each word keeps its width, cells wrap instead
        t.add_column(c, justify="left" if i == 0 or c in ("name", "sector", "underlying", "method") else "right",
                     min_width=max((len(w) for w in str(c).split()), default=1), overflow="fold")
    return t


def fund_label(r) -> str:
    """A fund's ticker, marked when it is an exchange-traded note (the issuer's debt) or resets
    on a schedule other than daily: ``FNGU (ETN)``, ``QQQP (quarterly)``."""
    marks = [m for m in (getattr(r, "structure", "ETF") if getattr(r, "structure", "ETF") == "ETN" else None,
                         getattr(r, "reset", "daily") if getattr(r, "reset", "daily") != "daily" else None) if m]
    return f"{r.ticker} ({', '.join(marks)})" if marks else r.ticker


def print_tables(est: "FlowEstimate", console: "Console", top: int = 15, stocks: int = 25) -> None:
    """Total, by index, by sector, top ETFs, top stocks and coverage, as rich tables (the
    estimate's warnings are the caller's to print, on stderr)."""
    t, c = est.total, est.coverage
    when = f", {est.date}" if est.date else ""
    total = _table(f"Leveraged ETF rebalancing{when}: {est.basis}; USD, + = buy at the close", ["", "USD"])
    total.add_row("rebalance (all funds)", _usd(t.rebalance_usd))
    total.add_row("  of which equity funds", _usd(t.equity_rebalance_usd))
    total.add_row("  looked through to stocks", _usd(t.lookthrough_usd))
    if t.auction_usd is not None:
        known = "n/a" if t.auction_timing_known is None else pct_text(t.auction_timing_known, signed=False)
        total.add_row(f"    in the stocks' closing auctions (timing known for {known}, the rest assumed there)", _usd(t.auction_usd))
    total.add_row("net creations x L", _usd(t.creation_usd) if t.creation_usd else "not given")
    total.add_row("gross |rebalance|", _usd(t.gross_rebalance_usd).lstrip("+"))
    total.add_row("funds with a flow / in catalog", f"{t.n_funds_with_flow} / {t.n_funds}")
    console.print(total)

    idx = _table("By index", ["bucket", "funds", "AUM", "AUM priced", "rebalance"])
    for r in est.tables["by_index"].head():  # the numpy tables: the terminal view needs no pandas
        priced = "n/a" if r.aum_with_return != r.aum_with_return else f"{r.aum_with_return:.0%}"
        idx.add_row(r.bucket, str(r.n_funds), _usd(r.aum_usd).lstrip("+"), priced, _usd(r.rebalance_usd))
    console.print(idx)

    sec = _table("By GICS sector (look-through)", ["sector", "flow", "share"])
    for r in est.tables["by_sector"].head():
        sec.add_row(r.sector, _usd(r.flow_usd), "n/a" if r.share != r.share else pct_text(r.share, signed=False))
    console.print(sec)

    etf = _table(f"Top {top} ETFs", ["ticker", "L", "underlying", "AUM", "AUM source", "return", "rebalance", "method"])
    for r in est.tables["by_etf"].head(top):
        ret = "n/a" if r.underlying_return != r.underlying_return else f"{r.underlying_return:+.2%}"
        etf.add_row(
            fund_label(r), f"{r.leverage:+g}", r.underlying, _usd(r.aum_usd).lstrip("+"), aum_source_label(r), ret,
            _usd(r.rebalance_usd), r.return_method,
        )
    console.print(etf)

    stk = _table(f"Top {stocks} stocks (look-through)", ["ticker", "sector", "flow", "single-stock funds", "index funds",
                                                          "closing auction"])
    for r in est.tables["by_stock"].head(stocks):
        stk.add_row(r.ticker, r.sector, _usd(r.flow_usd), _usd(r.single_stock_usd), _usd(r.index_usd), _usd(r.auction_usd))
    console.print(stk)

    cov = _table("Coverage", ["", "value"])
    cov.add_row("AUM (start of day)", _usd(c.aum_usd).lstrip("+"))
    cov.add_row("AUM from", str(est.as_of.get("aum", "catalog")))
    cov.add_row("AUM with a return", f"{c.aum_with_return:.1%}")
    cov.add_row("equity AUM with a composition", f"{c.equity_aum_with_composition:.1%}")
    cov.add_row("equity AUM with a GICS sector", f"{c.equity_aum_with_sector:.1%}")
    cov.add_row("funds without AUM", str(c.n_funds_without_aum))
    if c.n_funds_not_launched:
        cov.add_row("funds not launched yet", str(c.n_funds_not_launched))
    if c.n_funds_closed:
        cov.add_row("funds closed", str(c.n_funds_closed))
    if c.n_funds_excluded:
        cov.add_row("ETNs excluded (--exclude-etns)", str(c.n_funds_excluded))
    missing = ", ".join(f"{tk} ({_usd(a).lstrip('+')})" for tk, a in c.missing_returns[:6])
    cov.add_row("funds missing a return", f"{c.n_funds_missing_return}" + (f": {missing}" if missing else ""))
    cov.add_row("compositions as of", _composition_dates(est))
    console.print(cov)


def aum_source_label(row) -> str:
    """``issuer_nav 2026-02-03`` / ``screener 2026-02-02 +1`` (sessions from the observation)."""
    source = getattr(row, "aum_source", None)
    if not isinstance(source, str) or not source:
        return "n/a"
    date = getattr(row, "aum_date", None)
    gap = getattr(row, "aum_gap_sessions", float("nan"))
    text = source if not isinstance(date, str) else f"{source} {date}"
    return text + (f" +{gap:.0f}" if gap == gap and gap > 0 else "")


def print_ladder(table, sensitivity, console: "Console", *, beta=None, betas=None) -> None:
    """The ladder (rows: moves, columns: the largest buckets and the total), $ per 1 % uniform
    and, with ``beta`` (:func:`lev_flows.analysis.beta_sensitivity`), per 1 % S&P 500 move."""
    heads = ["bucket", "AUM", "USD per 1% (uniform)"]
    by_beta = {}
    if beta is not None:
        heads += ["USD per 1% S&P 500 (beta)", "beta"]
        by_beta = {r.bucket: r for r in beta.itertuples()}
    title = "Rebalance per 1% move of all equity underlyings"
    if betas is not None:
        title += f"; beta to the S&P 500 over {betas.window} sessions {betas.start} .. {betas.end}"
    sens = _table(title, heads)
    for r in sensitivity.itertuples():
        row = [r.bucket, _usd(r.aum_usd).lstrip("+"), _usd(r.usd_per_1pct)]
        if beta is not None:
            b = by_beta.get(r.bucket)
            row += ["n/a", "n/a"] if b is None else [_usd(b.usd_per_1pct_beta), f"{b.implied_beta:.2f}"]
        sens.add_row(*row)
    total = ["total", "", _usd(sensitivity["usd_per_1pct"].sum())]
    if beta is not None:
        bt = beta["usd_per_1pct_beta"].sum()
        total += [_usd(bt), f"{bt / sensitivity['usd_per_1pct'].sum():.2f}"]
    sens.add_row(*total)
    console.print(sens)
    cols = list(sensitivity["bucket"].head(5)) + ["total"]
    lad = _table("Ladder: rebalance if every equity underlying moves by", ["move"] + cols)
    for move, row in table[cols].iterrows():
        lad.add_row(f"{move:+.0%}", *[_usd(v) for v in row])
    console.print(lad)


def print_liquidity(table, est: "FlowEstimate", auction_share: float, console: "Console") -> None:
    t = _table(
        f"Liquidity pressure {est.date} ({est.basis}); auction = {auction_share:.0%} of the day's volume (assumed)",
        ["ticker", "sector", "flow", "20d ADV", "flow/ADV", "flow/auction"],
    )
    for r in table.itertuples():
        t.add_row(
            r.ticker, r.sector, _usd(r.flow_usd), _usd(r.adv_usd).lstrip("+"),
            "n/a" if r.flow_pct_adv != r.flow_pct_adv else f"{r.flow_pct_adv:+.1%}",
            "n/a" if r.flow_pct_auction != r.flow_pct_auction else f"{r.flow_pct_auction:+.1%}",
        )
    console.print(t)


#: column names -> what a person reads (the frames keep their names in csv / json / parquet)
_WORDS = {"aum": "AUM", "adv": "ADV", "usd": "$", "etf": "ETF", "pct": "%", "bp": "bp", "l": "L"}


def human_label(column: str) -> str:
    """``gross_rebalance_usd`` -> ``gross rebalance $``, ``aum_with_return`` -> ``AUM with return``."""
    if not column.islower() or "_" not in column and column not in _WORDS:
        return column
    return " ".join(_WORDS.get(w, w) for w in column.split("_"))


def pct_text(v: float, signed: bool = True) -> str:
    """A fraction as a percentage, never ``-0.0%``; ``signed=False`` for shares (``88.8%``)."""
    text = f"{float(v):+.1%}" if signed else f"{float(v):.1%}"
    return text.replace("-0.0%", "0.0%").replace("+0.0%", "0.0%")


def print_frame(
    df, title: str, console: "Console", *, usd: tuple[str, ...] = (), pct: tuple[str, ...] = (),
    share: tuple[str, ...] = (), bp: tuple[str, ...] = (), index: str | None = None,
) -> None:
    """Any analysis table as a rich table with human column labels: ``usd`` columns as +1.23B,
    ``pct`` (signed changes) as +1.2%, ``share`` (parts of a whole) as 88.8%, ``bp`` (fractions)
    as basis points, the rest as text (floats to 3 decimals); NaN and None as n/a."""
    frame = df.reset_index().rename(columns={df.index.name or "index": index}) if index else df
    cols = [str(c) for c in frame.columns]
    t = _table(title, [human_label(c) for c in cols])

    def cell(col, v):
        if v is None or (isinstance(v, float) and v != v):
            return "n/a"
        if col in usd:  # amounts of AUM carry no sign; flows do
            return _usd(float(v)).lstrip("+") if col.lower().startswith("aum") else _usd(float(v))
        if col in pct or col in share:
            return pct_text(v, signed=col in pct)
        if col in bp:
            return f"{float(v) * 1e4:.1f}"
        if hasattr(v, "strftime"):
            return f"{v:%Y-%m-%d}"
        if isinstance(v, float):
            return f"{v:,.3f}".replace("-0.000", "0.000")
        return str(v)

    for row in frame.itertuples(index=False):
        t.add_row(*[cell(c, v) for c, v in zip(cols, row)])
    console.print(t)


def _composition_dates(est: "FlowEstimate") -> str:
    dates = sorted(set(est.as_of.get("compositions", {}).values()))
    if not dates:
        return "n/a"
    return dates[0] if len(dates) == 1 else f"{dates[0]} .. {dates[-1]}"


# --------------------------------------------------------------------------------------------
# charts (matplotlib, no screen needed; imported only when a chart is asked for)


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
        from .io import atomic_write_bytes

        atomic_write_bytes(path, data, force=force)
    return data


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
    _check_bars(top)
    plt = _pyplot()
    stocks = est.by_stock.head(top).iloc[::-1]
    sectors = est.by_sector.iloc[::-1]
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
    return _png(fig, fmt)


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
    return _png(fig, fmt)


def montecarlo_png(result, fmt: str = "png") -> bytes:
    """A PNG histogram of the simulated total flow with its quantiles marked."""
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
    return _png(fig, fmt)


def intraday_chart(path, session, fmt: str = "png", buckets: int = 4) -> bytes:
    """The live estimate through an afternoon (:func:`lev_flows.watch.intraday_path`): the total
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
        from .errors import InputError

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


def scorecard_png(table, fmt: str = "png") -> bytes:
    """Horizontal bars: each published figure and ours for the same day (USD billions)."""
    plt = _pyplot()
    when = table["published_basis"].astype(str).str.split("(").str[0].str.strip()
    labels = [f"{d} {s[:24]}\n({w})" for d, s, w in zip(table["date"], table["source"], when)]
    y = np.arange(len(table))
    fig, ax = plt.subplots(figsize=(9, 0.8 * len(table) + 1.6))
    ax.barh(y + 0.2, table["published_usd"] / 1e9, height=0.38, color="#888888", label="published")
    ours = table["ours_usd"].to_numpy(dtype=float)
    ax.barh(y - 0.2, np.nan_to_num(ours) / 1e9, height=0.38, color="#1f77b4", label="lev_flows (close-to-close, point in time)")
    for k in np.flatnonzero(~np.isfinite(ours)):
        ax.text(0, y[k] - 0.2, " n/a", va="center", fontsize=8)
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
