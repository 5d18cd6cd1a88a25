"""Presentation at the edge: rich tables, CSV / JSON / Parquet exports, charts (file writes are
:mod:`lev_flows.io`).

Nothing here computes flows; it formats a :class:`~lev_flows.model.estimate.FlowEstimate`.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from lev_flows.errors import OutputError

if TYPE_CHECKING:  # pragma: no cover
    from rich.console import Console

# "FlowEstimate" in annotations is lev_flows.model.estimate.FlowEstimate; presentation sits above the
# estimate and does not import it, not even for annotations (the estimate's plot() and to_html()
# import this stage lazily, and the import-cycle check counts every import)


# --------------------------------------------------------------------------------------------
# exports

FORMATS = ("table", "json", "csv", "parquet")


def render(est: "FlowEstimate", fmt: str, top: int) -> bytes:
    """The estimate as bytes in ``fmt`` (json: everything; csv/parquet: the tidy frame)."""
    if fmt == "json":
        return (est.to_json(top=None) + "\n").encode()
    if fmt == "csv":
        return csv_bytes(est.to_frame())
    if fmt == "parquet":
        import io

        buf = io.BytesIO()
        est.to_frame().to_parquet(buf, index=False)
        return buf.getvalue()
    if fmt == "table":
        return recorded_text(lambda console: print_tables(est, console, top=top), width=120)
    raise OutputError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")


#: a CSV cell starting with one of these is a formula to a spreadsheet (=HYPERLINK(...), +cmd, @SUM)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_bytes(frame) -> bytes:
    """``frame`` as CSV (no index, ``\n`` line ends), with every text cell that a spreadsheet
    would run as a formula neutralised by a leading apostrophe (``=HYPERLINK(...)`` is written
    ``'=HYPERLINK(...)``; OWASP's advice). Numbers are written as numbers, signs included."""
    text_columns = [c for c in frame.columns if frame[c].dtype == object or str(frame[c].dtype).startswith(("string", "str"))]
    if text_columns:
        frame = frame.copy()
        for c in text_columns:
            frame[c] = frame[c].map(lambda v: f"'{v}" if isinstance(v, str) and v.startswith(FORMULA_START) else v)
    return frame.to_csv(index=False, lineterminator="\n").encode()


def recorded_text(show, width: int = 200) -> bytes:
    """What ``show(console)`` prints on a rich console ``width`` columns wide, as plain text
    (for ``--output x.txt``)."""
    from lev_flows.present.text import safe_console

    with open(os.devnull, "w") as sink:
        console = safe_console(record=True, width=width, file=sink)
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
    if c.aum_basis:
        cov.add_row("AUM rests on", "; ".join(f"{k} {v:.0%}" for k, v in c.aum_basis.items() if v >= 0.005))
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


def print_day(day: "Any", console: "Console", top: int = 15) -> None:
    """A :class:`lev_flows.jobs.oneday.DayEstimate` in the terminal: the estimate's tables, the
    rebalance against the net creations given, and for the built-in replay the other basis's
    total beside the published figure."""
    est = day.estimate
    print_tables(est, console, top=top, stocks=max(25, top))
    if day.creation_offset is not None:
        print_frame(
            day.creation_offset, "Rebalance vs net creations x L (shown separately, not netted)", console,
            usd=("rebalance_usd", "creation_usd", "flow_usd"), share=("offset_share",),
        )
    if day.comparison is not None:
        intraday, close = (est, day.comparison) if est.basis.startswith("intraday") else (day.comparison, est)
        console.print(
            f"\n[bold]Intraday, 14:43 New York[/bold] (the funds' reported changes; what a desk could publish before "
            f"the close): {intraday.total.rebalance_usd / 1e9:+,.2f}B. Close-to-close: {close.total.rebalance_usd / 1e9:+,.2f}B.",
            highlight=False, markup=True,
        )
        console.print("Published estimate for 2026-02-04 (Morgan Stanley): about $18B of selling.", highlight=False)


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
    and, with ``beta`` (:func:`lev_flows.analysis.whatif.beta_sensitivity`), per 1 % S&P 500 move."""
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


def _is_nan(v: Any) -> bool:
    """NaN and NaT (neither equals itself); anything that cannot be compared is not missing."""
    try:
        return bool(v != v)
    except (TypeError, ValueError):
        return False


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
        if v is None or _is_nan(v):  # NaN, NaT
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


