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
        return (est.to_json(top=None) + "\n").encode("utf-8", "backslashreplace")  # a non-UTF-8 file name: \udce9
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
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8", "backslashreplace")


def recorded_text(show, width: int = 200) -> bytes:
    """What ``show(console)`` prints on a rich console ``width`` columns wide, as plain text
    (for ``--output x.txt``)."""
    from lev_flows.present.text import safe_console

    with open(os.devnull, "w") as sink:
        console = safe_console(record=True, width=width, file=sink)
        show(console)
        return console.export_text().encode("utf-8", "backslashreplace")


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
        t.add_column(c, justify="left" if i == 0 or c in ("name", "sector", "underlying", "method", "value") else "right",
                     min_width=max((len(w) for w in str(c).split()), default=1), overflow="fold")
    return t


def fund_label(r) -> str:
    """A fund's ticker, marked when it is an exchange-traded note (the issuer's debt) or resets
    on a schedule other than daily: ``FNGU (ETN)``, ``QQQP (quarterly)``."""
    marks = [m for m in (getattr(r, "structure", "ETF") if getattr(r, "structure", "ETF") == "ETN" else None,
                         getattr(r, "reset", "daily") if getattr(r, "reset", "daily") != "daily" else None) if m]
    return f"{r.ticker} ({', '.join(marks)})" if marks else r.ticker


#: a console this wide or wider gets the full layout (every table, column and row); a narrower one
#: gets the summary that fits one screen (about 50 lines at 80 columns), unless ``wide=True``
#: (``--wide``: the full layout, its lines as wide as they need)
WIDE_COLUMNS = 120
#: the full layout's rows: top funds, top stocks
WIDE_ROWS = {"funds": 15, "stocks": 25}
#: the summary's rows: the largest index buckets and sectors (the rest in one "other" row, so each
#: table still adds up to the total), the top funds and stocks
SUMMARY_ROWS = {"index": 5, "sector": 3, "funds": 6, "stocks": 5}
#: the summary's last line: how to see the rest
MORE_HINT = "More: --wide (every table and column), --top N (more funds and stocks)."


def is_wide(console: Console, wide: bool | None = None) -> bool:
    """The layout to print: ``wide`` when given (``--wide``), else by the console's width
    (:data:`WIDE_COLUMNS` or more: the full layout)."""
    return console.width >= WIDE_COLUMNS if wide is None else bool(wide)


def print_tables(est: "FlowEstimate", console: Console, top: int | None = None, stocks: int | None = None,
                 scope: str | None = None, wide: bool | None = None, more: str = MORE_HINT) -> None:
    """The estimate as rich tables, the headline first: the total (US equity funds first, then all
    funds), then the index buckets (the estimate's warnings are the caller's to print, on stderr).
    ``scope``: the run was restricted to that scope (``--scope``).

    The full layout (a console :data:`WIDE_COLUMNS` wide or more, or ``wide=True``) goes on with
    every scope, every index bucket and sector, the top ``top`` ETFs (15) and ``stocks`` stocks
    (25, or ``top`` if more) with every column, and the coverage. The summary (a narrower console,
    or ``wide=False``) fits 80 columns and one screen: the largest buckets and sectors with the rest
    in one row, the top funds (``top``, 6) and stocks (``stocks``, else ``top``, 5) in fewer columns,
    one line of coverage and ``more`` (how to see the rest)."""
    wide = is_wide(console, wide)
    rows = WIDE_ROWS if wide else SUMMARY_ROWS
    _print_total(est, console, scope, header=wide)
    if wide:
        from lev_flows.model.scope import scope_totals

        scoped = scope is not None and scope != "all"
        print_scopes([s for s in scope_totals(est.tables["by_etf"].columns) if not (scoped and s.scope == "all")], console)
    _print_index(est, console, None if wide else rows["index"])
    _print_sectors(est, console, None if wide else rows["sector"])
    _print_funds(est, console, top or rows["funds"], wide)
    _print_stocks(est, console, stocks or (max(rows["stocks"], top) if top and wide else top or rows["stocks"]), wide)
    if wide:
        _print_coverage(est, console)
    else:
        console.print(coverage_line(est), highlight=False)
        if more:
            console.print(more, highlight=False)


def _print_total(est: Any, console: Console, scope: str | None, header: bool = True) -> None:
    """The headline table: the rebalance (US equity funds, then all funds; or the one scope
    kept), its look-through, timing, creations, gross and the fund count."""
    from lev_flows.model.scope import SCOPES, scope_total

    t, c = est.total, est.coverage
    when = f", {est.date}" if est.date else ""
    scoped = scope is not None and scope != "all"
    title = f"Leveraged ETF rebalancing{when}: {est.basis}" + (f", {SCOPES[scope]} only" if scoped else "")
    total = _table(f"{title}; USD, + = buy at the close", ["", "USD"])
    total.show_header = header
    if scoped:
        total.add_row(f"rebalance, {SCOPES[scope]}", _usd(t.rebalance_usd))
    else:
        total.add_row("rebalance, US equity funds", _usd(scope_total(est.tables["by_etf"].columns, "us_equity").rebalance_usd))
        total.add_row("rebalance, all funds", _usd(t.rebalance_usd))
    total.add_row("  looked through to stocks", _usd(t.lookthrough_usd))
    for label, value in timing_rows(t):
        total.add_row(label, value)
    if c.aum_with_creations is None:
        total.add_row("net creations x L", _usd(t.creation_usd) if t.creation_usd else "not given")
    else:  # known for part of the AUM (the issuer's shares outstanding): the rest unknown, not zero
        total.add_row(f"net creations x L (known for {pct_text(c.aum_with_creations, signed=False)} of AUM)", _usd(t.creation_usd))
        total.add_row("flow, rebalance + creations", _usd(t.flow_usd))
    total.add_row("gross |rebalance|", _usd(t.gross_rebalance_usd).lstrip("+"))
    total.add_row("funds with a flow / in catalog", f"{t.n_funds_with_flow} / {t.n_funds}")
    console.print(total)


def _print_index(est: Any, console: Console, n: int | None) -> None:
    """By index bucket: every bucket and column, or (``n``) the ``n`` largest and the rest in
    one row, without the priced share."""
    rows = est.tables["by_index"].head()  # the numpy tables: the terminal view needs no pandas
    shown, rest = (rows, []) if n is None or len(rows) <= n + 1 else (rows[:n], rows[n:])
    heads = ["bucket", "funds", "AUM"] + (["AUM priced"] if n is None else []) + ["rebalance", "band p10..p90"]
    idx = _table("By index", heads)
    for r in shown:
        priced = ["n/a" if _is_nan(r.aum_with_return) else f"{r.aum_with_return:.0%}"] if n is None else []
        idx.add_row(r.bucket, str(r.n_funds), _usd(r.aum_usd).lstrip("+"), *priced, _usd(r.rebalance_usd), _band_text(r))
    if rest:
        idx.add_row(f"{len(rest)} other buckets", str(sum(r.n_funds for r in rest)),
                    _usd(sum(r.aum_usd for r in rest if not _is_nan(r.aum_usd))).lstrip("+"),
                    _usd(sum(r.rebalance_usd for r in rest if not _is_nan(r.rebalance_usd))), "")
    console.print(idx)


def _print_sectors(est: Any, console: Console, n: int | None) -> None:
    """The look-through by GICS sector, each with its share of the gross (``|flow|``) sector
    flow; with ``n``, the ``n`` largest and the rest in one row."""
    rows = est.tables["by_sector"].head()
    shown, rest = (rows, []) if n is None or len(rows) <= n + 1 else (rows[:n], rows[n:])
    sec = _table("By GICS sector (look-through)", ["sector", "flow", "share of |flow|"])
    for r in shown:
        sec.add_row(r.sector, _usd(r.flow_usd), "n/a" if _is_nan(r.share) else pct_text(r.share, signed=False))
    if rest:
        share = sum(r.share for r in rest)
        sec.add_row(f"{len(rest)} other sectors", _usd(sum(r.flow_usd for r in rest)),
                    "n/a" if _is_nan(share) else pct_text(share, signed=False))
    console.print(sec)


def _print_funds(est: Any, console: Console, n: int, wide: bool) -> None:
    """The top ``n`` funds: with the AUM's source and the return's method when ``wide``."""
    heads = ["ticker", "L", "underlying", "AUM"] + (["AUM source"] if wide else []) + ["return", "rebalance"]
    etf = _table(f"Top {n} ETFs", heads + (["method"] if wide else []))
    for r in est.tables["by_etf"].head(n):
        ret = "n/a" if _is_nan(r.underlying_return) else f"{r.underlying_return:+.2%}"
        cells = [fund_label(r), f"{r.leverage:+g}", r.underlying, _usd(r.aum_usd).lstrip("+")]
        cells += [aum_source_label(r)] if wide else []
        etf.add_row(*cells, ret, _usd(r.rebalance_usd), *([r.return_method] if wide else []))
    console.print(etf)


def _print_stocks(est: Any, console: Console, n: int, wide: bool) -> None:
    """The top ``n`` stocks of the look-through: their flow from single-stock and from index
    funds, and (``wide``) the part at the close."""
    heads = ["ticker", "sector", "flow", "single-stock funds", "index funds"] + (["at the close"] if wide else [])
    stk = _table(f"Top {n} stocks (look-through)", heads)
    for r in est.tables["by_stock"].head(n):
        stk.add_row(r.ticker, r.sector, _usd(r.flow_usd), _usd(r.single_stock_usd), _usd(r.index_usd),
                    *([_usd(r.auction_usd)] if wide else []))
    console.print(stk)


def _print_coverage(est: Any, console: Console) -> None:
    """What the estimate rests on: AUM, its sources, returns, compositions, sectors, funds left out."""
    c = est.coverage
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


def coverage_line(est: Any) -> str:
    """The coverage in one line (the summary layout): the AUM, the share of it with a return,
    and the funds left out."""
    c = est.coverage
    parts = [f"Coverage: AUM {_usd(c.aum_usd).lstrip('+')}, {c.aum_with_return:.1%} priced",
             f"no AUM: {c.n_funds_without_aum} fund{'s' if c.n_funds_without_aum != 1 else ''}",
             f"no return: {c.n_funds_missing_return}"]
    if c.n_funds_excluded:
        parts.append(f"ETNs excluded: {c.n_funds_excluded}")
    return "; ".join(parts) + "."


def timing_rows(t: Any) -> list[tuple[str, str]]:
    """The total's execution-timing lines: the auction figure only for the part of the
    look-through whose timing is known, the rest "assumed at the close" (never a closing-auction
    figure that rests on an assumption)."""
    if t.auction_known_usd is None or t.auction_assumed_usd is None:
        return []
    known = "n/a" if t.auction_timing_known is None else pct_text(t.auction_timing_known, signed=False)
    return [(f"    in the closing auctions, timing known ({known} of the flow)", _usd(t.auction_known_usd)),
            ("    assumed at the close, timing not known", _usd(t.auction_assumed_usd))]


def _band_text(row: Any) -> str:
    """``-13.61B..-12.63B`` from a row's ``rebalance_p10_usd`` / ``rebalance_p90_usd`` (or a
    scope's ``band_*``); ``n/a`` where it has none."""
    lo = getattr(row, "rebalance_p10_usd", getattr(row, "band_p10_usd", None))
    hi = getattr(row, "rebalance_p90_usd", getattr(row, "band_p90_usd", None))
    if lo is None or hi is None or lo != lo or hi != hi:
        return "n/a"
    return f"{_usd(lo)}..{_usd(hi)}"


def print_scopes(totals: list, console: "Console") -> None:
    """The total of every scope with funds (:func:`lev_flows.model.scope.scope_totals`)."""
    table = _table("By scope (lev_flows.model.scope)", ["scope", "funds", "AUM", "AUM priced", "rebalance", "band p10..p90"])
    for s in totals:
        if s.n_funds:
            priced = "n/a" if s.aum_with_return != s.aum_with_return else pct_text(s.aum_with_return, signed=False)
            table.add_row(s.label, str(s.n_funds), _usd(s.aum_usd).lstrip("+"), priced, _usd(s.rebalance_usd), _band_text(s))
    console.print(table)


def print_day(day: Any, console: Console, top: int | None = None, scope: str | None = None,
              wide: bool | None = None, more: str = MORE_HINT) -> None:
    """A :class:`lev_flows.jobs.oneday.DayEstimate` in the terminal: the estimate's tables
    (:func:`print_tables`: the full layout or the one-screen summary), the rebalance against the
    net creations given, and for the built-in replay the other basis's total beside the
    published figure."""
    est = day.estimate
    print_tables(est, console, top=top, scope=scope, wide=wide, more="")
    if day.creation_offset is not None:
        print_frame(
            day.creation_offset, "Rebalance vs net creations x L (beside it; flow = rebalance + creations)", console,
            usd=("rebalance_usd", "creation_usd", "flow_usd"), share=("offset_share",),
        )
    if day.comparison is not None:
        from lev_flows.model.scope import SCOPES, scope_total

        intraday, close = (est, day.comparison) if est.basis.startswith("intraday") else (day.comparison, est)
        shown = ("us_equity", "all") if scope in (None, "all") else (scope,)

        def both(e) -> str:
            return ", ".join(f"{SCOPES[s]} {scope_total(e.tables['by_etf'].columns, s).rebalance_usd / 1e9:+,.2f}B"
                             for s in shown)

        console.print(
            f"{chr(10) if is_wide(console, wide) else ''}[bold]Intraday, 14:43 New York[/bold] (the funds' reported changes; "
            f"what a desk could publish before the close): {both(intraday)}. Close-to-close: {both(close)}.",
            highlight=False, markup=True,
        )
        console.print("Published estimate for 2026-02-04 (Morgan Stanley, US equity leveraged ETFs, after the close): "
                      "about $18B of selling (lev-flows scorecard compares it on the same scope and basis).", highlight=False)
    if more and not is_wide(console, wide):
        console.print(more, highlight=False)


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


def print_liquidity(table, est: "FlowEstimate", auction_share: float | None, console: "Console") -> None:
    """The liquidity table: flow against ADV and against the estimated closing auction (its share
    modelled from the stock's size, or the flat ``auction_share`` given), flagged over half."""
    how = (f"{auction_share:.0%} of the day's volume (given)" if auction_share is not None
           else "modelled share of the day's volume, 7-10 % by size (an estimate)")
    t = _table(
        f"Liquidity pressure {est.date} ({est.basis}); closing auction = {how}",
        ["ticker", "sector", "flow", "20d ADV", "flow/ADV", "auction share", "auction (est.)", "flow/auction", "flag"],
    )
    for r in table.itertuples():
        t.add_row(
            r.ticker, r.sector, _usd(r.flow_usd), _usd(r.adv_usd).lstrip("+"),
            "n/a" if r.flow_pct_adv != r.flow_pct_adv else f"{r.flow_pct_adv:+.1%}",
            "n/a" if r.auction_share != r.auction_share else f"{r.auction_share:.1%}", _usd(r.auction_usd).lstrip("+"),
            "n/a" if r.flow_pct_auction != r.flow_pct_auction else f"{r.flow_pct_auction:+.1%}",
            "over half" if r.over_half_auction else "",
        )
    console.print(t)


def print_scorecard(table, summary: dict, console: "Console") -> None:
    """The scorecard (:func:`lev_flows.analysis.scorecard.scorecard`): each published figure
    against ours on its scope and basis, ours on the beside scope, the band and the S&P rule,
    then the hit rate (:func:`~lev_flows.analysis.scorecard.hit_rate`) and what is not counted."""
    beside = str(table["beside_scope"].iloc[0]) if len(table) else "all"
    t = _table("Published leveraged-ETF figures vs lev_flows on the same scope and basis, point in time (USD, + = buy)",
               ["date", "source", "scope", "basis", "published", "ours", "ours on", f"ours, {beside.replace('_', ' ')}",
                "ours / published", "band p10..p90", "in band", "S&P 500", "S&P rule", "dispersion"])
    for r in table.itertuples():
        band = "n/a" if r.band_p10_usd != r.band_p10_usd else f"{_usd(r.band_p10_usd)}..{_usd(r.band_p90_usd)}"
        inside = "excluded" if not r.comparable else ("n/a" if r.in_band is None else ("yes" if r.in_band else "no"))
        ours_on = "n/a" if r.ours_basis == "n/a" else ("close" if str(r.ours_basis).startswith("close") else "intraday")
        t.add_row(
            f"{r.date}", str(r.source).split(" (")[0], str(r.scope).replace("_", " "), str(r.published_basis),
            _usd(r.published_usd), _usd(r.ours_usd), ours_on, _usd(r.ours_beside_usd),
            "n/a" if r.ratio != r.ratio else f"{r.ratio:.3f}", band, inside,
            "n/a" if r.sens_market_return != r.sens_market_return else pct_text(r.sens_market_return),
            _usd(r.sens_rule_usd), _usd(r.sens_dispersion_usd),
        )
    console.print(t)
    for line in scorecard_summary(table, summary):
        console.print(line, highlight=False)


def scorecard_summary(table, summary: dict) -> list[str]:
    """The hit rate in words, and each figure left out of it with the reason."""
    n = summary["comparable"]
    if summary["rate"] is None:
        rate = (f"n/a: no error band on our estimates yet ({n} comparable figure{'s' if n != 1 else ''}"
                + (f", median ours / published {summary['median_ratio']:.2f})" if n else ")"))
    else:
        rate = (f"{summary['inside']} of {summary['with_band']} inside our p10-p90 band ({summary['rate']:.0%}), "
                f"{summary['outside']} outside" + (f"; {summary['without_band']} without a band" if summary["without_band"] else ""))
    lines = [f"Hit rate (same scope and basis): {rate}."]
    lines += [f"Not counted: {r.date} {r.source}: {r.not_comparable}." for r in table.itertuples() if not r.comparable]
    return lines


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
    whole = set(_whole_columns(frame, cols))  # counts (sessions, funds) as 209, not 209.000

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
            return f"{v:,.0f}" if col in whole else f"{v:,.3f}".replace("-0.000", "0.000")
        return str(v)

    for row in frame.itertuples(index=False):
        t.add_row(*[cell(c, v) for c, v in zip(cols, row)])
    console.print(t)


def _whole_columns(frame, cols: list[str]) -> list[str]:
    """The float columns whose every finite value is a whole number (a gap in sessions, a count
    kept as float because of a NaN): printed without decimals."""
    import numpy as np

    out = []
    for col, name in zip(frame.columns, cols):
        if str(frame[col].dtype).startswith("float"):
            v = frame[col].to_numpy(dtype=float)
            v = v[np.isfinite(v)]
            if len(v) and (v == np.round(v)).all():
                out.append(name)
    return out


def _composition_dates(est: "FlowEstimate") -> str:
    dates = sorted(set(est.as_of.get("compositions", {}).values()))
    if not dates:
        return "n/a"
    span = dates[0] if len(dates) == 1 else f"{dates[0]} .. {dates[-1]}"
    later = est.as_of.get("compositions_after_date") or []
    if later:
        span += f"; {len(later)} dated after the day ({', '.join(later[:4])}{' ...' if len(later) > 4 else ''}: weights known only later)"
    return span


# --------------------------------------------------------------------------------------------
# charts (matplotlib, no screen needed; imported only when a chart is asked for)


