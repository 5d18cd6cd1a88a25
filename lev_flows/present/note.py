"""The daily note as one self-contained HTML page: headline, breakdowns, top funds and stocks
with their method and AUM source, liquidity, where the day ranks, the scorecard, coverage and
every warning. Charts are inline SVG drawn here (no matplotlib, no network, no external script
or font); tables sort with a few lines of inline JavaScript. Every piece of text from outside
(fund names, warnings, sources) is escaped.

Presentation only: it formats a :class:`lev_flows.model.estimate.FlowEstimate` and what comes with it.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
from urllib.parse import quote
from pathlib import Path
from typing import Any

import pandas as pd

from lev_flows.clock import system_now
from lev_flows.present.tables import fund_label

#: rows in the funds and stocks tables (the full tables are in the report folder's CSV files)
TOP_ROWS = 40


def esc(value: Any) -> str:
    """Text for HTML: escaped, quotes included (attributes and bodies alike)."""
    return html.escape("" if value is None else str(value), quote=True)


def usd(v: float | None) -> str:
    """``-$13.06B`` / ``+$642M`` / ``n/a`` (never -0)."""
    if v is None or not math.isfinite(v):
        return "n/a"
    a = abs(v)
    sign = "-" if v < 0 else "+"
    if a >= 1e9:
        return f"{sign}${a / 1e9:,.2f}B"
    if a >= 1e6:
        return f"{sign}${a / 1e6:,.0f}M"
    if a >= 1e3:
        return f"{sign}${a / 1e3:,.0f}K"
    return "$0"


def pct(v: float | None, digits: int = 1) -> str:
    if v is None or not math.isfinite(v):
        return "n/a"
    text = f"{v * 100:+.{digits}f}%"
    return text.replace("-0.0%", "0.0%").replace("+0.0%", "0.0%")


# ---- SVG charts -----------------------------------------------------------------------------


def svg_bars(labels: list[str], values: list[float], *, chart_id: str, title: str, width: int = 560) -> str:
    """Horizontal bars (one ``rect.bar`` each, ``data-value`` in USD), negative red, positive green."""
    n = len(values)
    row, left, right = 22, 160, 70
    height = row * n + 30
    finite = [v for v in values if v is not None and math.isfinite(v)]
    scale = max((abs(v) for v in finite), default=0.0) or 1.0
    has_neg, has_pos = any(v < 0 for v in finite), any(v > 0 for v in finite)
    plot = width - left - right
    # the zero axis: in the middle when both signs occur, else at the side the bars grow from
    mid, span = (left + plot / 2, plot / 2) if has_neg and has_pos else ((width - right, plot) if has_neg else (left, plot))
    parts = [
        f'<svg class="chart" id="{esc(chart_id)}" role="img" aria-label="{esc(title)}" viewBox="0 0 {width} {height}" '
        f'width="{width}" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">',
        f'<title>{esc(title)}</title>',
        f'<line x1="{mid:.1f}" y1="18" x2="{mid:.1f}" y2="{height - 6}" class="axis"/>',
    ]
    for i, (label, v) in enumerate(zip(labels, values)):
        y = 20 + i * row
        value = v if v is not None and math.isfinite(v) else 0.0
        w = abs(value) / scale * span if scale else 0.0
        x = mid - w if value < 0 else mid
        cls = "neg" if value < 0 else "pos"
        parts.append(f'<text x="{left - 6}" y="{y + 14}" class="label" text-anchor="end">{esc(label[:28])}</text>')
        parts.append(
            f'<rect class="bar {cls}" data-value="{value:.0f}" x="{x:.1f}" y="{y + 3}" width="{max(w, 0.5):.1f}" height="{row - 7}">'
            f"<title>{esc(label)}: {esc(usd(v))}</title></rect>"
        )
        tx = (mid + 4) if value < 0 else (x + w + 4)  # beside the axis for selling, past the bar for buying
        parts.append(f'<text x="{tx:.1f}" y="{y + 14}" class="value">{esc(usd(v))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def svg_columns(dates: list[str], values: list[float], *, highlight: str, chart_id: str, title: str, width: int = 760) -> str:
    """Daily columns (one ``rect.bar`` a day), the ``highlight`` day in blue, on a y-axis of round
    USD ticks (``text.tick``, :func:`axis_ticks`) with the first and the last day under it."""
    n = max(len(values), 1)
    height, top, bottom, left = 200, 12, 24, 70
    scale = max((abs(v) for v in values if math.isfinite(v)), default=1.0) or 1.0
    mid = top + (height - top - bottom) / 2
    half = (height - top - bottom) / 2
    bw = (width - left - 10) / n
    parts = [
        f'<svg class="chart" id="{esc(chart_id)}" role="img" aria-label="{esc(title)}" viewBox="0 0 {width} {height}" '
        f'width="100%" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg"><title>{esc(title)}</title>',
    ]
    for tick in axis_ticks(scale):
        y = mid - tick / scale * half
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - 10}" y2="{y:.1f}" class="gridline"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" class="tick" text-anchor="end">{esc(short_usd(tick))}</text>')
    parts.append(f'<line x1="{left}" y1="{mid}" x2="{width - 10}" y2="{mid}" class="axis"/>')
    for i, (d, v) in enumerate(zip(dates, values)):
        value = v if math.isfinite(v) else 0.0
        h = abs(value) / scale * half
        y = mid - h if value > 0 else mid
        cls = "hl" if d == highlight else ("neg" if value < 0 else "pos")
        parts.append(
            f'<rect class="bar {cls}" data-value="{value:.0f}" x="{left + i * bw:.2f}" y="{y:.1f}" width="{max(bw - 0.3, 0.3):.2f}" '
            f'height="{max(h, 0.3):.1f}"><title>{esc(d)}: {esc(usd(v))}</title></rect>'
        )
    if dates:
        parts.append(f'<text x="{left}" y="{height - 6}" class="tick">{esc(dates[0])}</text>')
        parts.append(f'<text x="{width - 10}" y="{height - 6}" class="tick" text-anchor="end">{esc(dates[-1])}</text>')
    parts.append("</svg>")
    return "".join(parts)


def axis_ticks(scale: float) -> list[float]:
    """Round ticks for an axis from ``-scale`` to ``+scale``: zero and the multiples of one step
    (1, 2, 2.5 or 5 x 10^k, the smallest of them at least half the scale) inside the range.

    >>> axis_ticks(8.4e9)
    [-5000000000.0, 0.0, 5000000000.0]
    >>> axis_ticks(3e9)
    [-2000000000.0, 0.0, 2000000000.0]
    """
    if not (math.isfinite(scale) and scale > 0):
        return [0.0]
    raw = scale / 2
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    k = int(scale // step)
    return [float(i * step) for i in range(-k, k + 1)]


def short_usd(v: float) -> str:
    """An axis label: ``$0``, ``+$5B``, ``-$2.5B``, ``+$500M``."""
    if v == 0:
        return "$0"
    sign, a = ("-" if v < 0 else "+"), abs(v)
    for unit, size in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if a >= size:
            return f"{sign}${a / size:g}{unit}"
    return f"{sign}${a:g}"


# ---- tables ---------------------------------------------------------------------------------


def table(rows: list[list[tuple[str, Any]]], headers: list[tuple[str, ...]], *, table_id: str) -> str:
    """A sortable table: ``headers`` are (label, kind) or (label, kind, classes) with kind ``num``
    or ``text`` and classes ``wrap`` (long text wraps) and ``opt`` (a column left out at phone
    width); each cell is (shown text, sort value)."""
    head = "".join(f'<th data-kind="{h[1]}" tabindex="0"{_classes(h)}>{esc(h[0])}</th>' for h in headers)
    body = []
    for row in rows:
        cells = []
        for (text, key), h in zip(row, headers):
            sort = "" if key is None or (isinstance(key, float) and not math.isfinite(key)) else key
            cells.append(f'<td{_classes(h, "num" if h[1] == "num" else "")} data-v="{esc(sort)}">{esc(text)}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f'<div class="scroll"><table class="sortable" id="{esc(table_id)}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def _classes(header: tuple[str, ...], *more: str) -> str:
    """The ``class`` attribute of a header's cells: ``more`` and the header's own classes."""
    names = " ".join(n for n in (*more, *(header[2:3] or ("",))) if n)
    return f' class="{names}"' if names else ""


def text_or_na(value: Any) -> str:
    """A text cell: the value, or ``n/a`` for a missing one (None, NaN, blank: never ``nan``)."""
    return value.strip() if isinstance(value, str) and value.strip() else "n/a"


def method_label(method: Any, ticker: str) -> str:
    """A fund's return method, short: the fund's own ticker left out (``own price (SOXL) / 3``
    -> ``own price / 3``, ``NAV (issuer) (TQQQ) / 3`` -> ``NAV (issuer) / 3``); ``n/a`` for none."""
    return text_or_na(method).replace(f" ({ticker})", "")


def auction_flag(flow_pct_auction: Any, over_half: Any) -> str:
    """The liquidity flag: ``over the auction`` where the flow exceeds the whole estimated closing
    auction (|flow / auction| over 100 %), ``over half`` where it exceeds half of it, else empty."""
    if not bool(over_half):
        return ""
    return "over the auction" if abs(_f(flow_pct_auction)) > 1.0 else "over half"


def _f(v: Any) -> float:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return float("nan")
    return x


# ---- the page -------------------------------------------------------------------------------

CSS = """
:root{--neg:#c0392b;--pos:#1e8449;--hl:#1f6fb2;--ink:#1b1b1b;--mute:#666;--line:#ddd}
*{box-sizing:border-box}body{font:15px/1.45 -apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:var(--ink);
margin:0 auto;max-width:1100px;padding:16px}h1{font-size:1.35em;margin:.2em 0}h2{font-size:1.1em;margin:1.4em 0 .4em;
border-bottom:1px solid var(--line)}.headline{font-size:1.6em;font-weight:600}.neg{color:var(--neg);fill:var(--neg)}
.pos{color:var(--pos);fill:var(--pos)}.hl{fill:var(--hl)}.meta,.small{color:var(--mute);font-size:.9em}
.grid{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:18px}section{min-width:0}.scroll{overflow-x:auto}table{border-collapse:collapse;width:100%;
font-size:.9em}th,td{padding:3px 8px;border-bottom:1px solid var(--line);text-align:left;white-space:nowrap}
th{white-space:normal;vertical-align:bottom}td.wrap{white-space:normal;min-width:9em}
td.num{text-align:right;font-variant-numeric:tabular-nums}th{cursor:pointer;user-select:none;background:#f6f6f6}
th[aria-sort=ascending]::after{content:" \\25B2"}th[aria-sort=descending]::after{content:" \\25BC"}
svg.chart{max-width:100%;height:auto}svg .label,svg .value{font-size:11px;fill:var(--ink)}svg .axis{stroke:#999;stroke-width:1}
ul.warnings li{color:#8a5a00}svg .tick{font-size:11px;fill:var(--mute)}svg .gridline{stroke:#e4e4e4;stroke-width:1}
@media (max-width:700px){.grid{grid-template-columns:minmax(0,1fr)}body{font-size:14px;padding:8px}
.headline{font-size:1.3em}.opt{display:none}th,td{padding:3px 4px}td.wrap{min-width:6em}
svg .label,svg .value{font-size:13px}svg .tick{font-size:20px}}@media print{th{cursor:auto}th::after{content:""!important}.scroll{overflow:visible}
h2{break-after:avoid}table,svg{break-inside:avoid}body{max-width:none}}
"""

SCRIPT = """
document.querySelectorAll("table.sortable th").forEach(function(th){
  function sort(){var table=th.closest("table"),body=table.tBodies[0],num=th.dataset.kind==="num",col=th.cellIndex;
    var dir=th.getAttribute("aria-sort")==="descending"?1:-1;
    table.querySelectorAll("th").forEach(function(o){o.removeAttribute("aria-sort")});
    th.setAttribute("aria-sort",dir===1?"ascending":"descending");
    var rows=Array.prototype.slice.call(body.rows);
    rows.sort(function(a,b){var x=a.cells[col].dataset.v,y=b.cells[col].dataset.v;
      if(num){x=x===""?-Infinity:parseFloat(x);y=y===""?-Infinity:parseFloat(y);return (x-y)*dir;}
      return x.localeCompare(y)*dir;});
    rows.forEach(function(r){body.appendChild(r)});}
  th.addEventListener("click",sort);
  th.addEventListener("keydown",function(e){if(e.key==="Enter"){sort();}});
});
"""


def render_note(
    est: Any,
    *,
    fetch: dict[str, Any] | None = None,
    history: Any | None = None,
    liquidity: pd.DataFrame | None = None,
    scorecard: pd.DataFrame | None = None,
    sensitivity: Any | None = None,
    generated: dt.datetime | None = None,
) -> str:
    """The desk note for one estimate (see the module doc). ``history`` is a
    :class:`lev_flows.analysis.history.HistoryResult` containing the day; ``liquidity`` the table of
    :func:`lev_flows.analysis.whatif.liquidity`; ``scorecard`` published figures for the day
    (:func:`lev_flows.analysis.scorecard.published_for`); ``sensitivity`` the day's
    :class:`lev_flows.analysis.whatif.DaySensitivity`."""
    day = est.date.isoformat() if est.date else "scenario"
    out = _head(est, day, fetch, generated or system_now())
    out += _buckets(est)
    out += _sensitivity(sensitivity)
    out += _funds_and_stocks(est)
    out += _liquidity(liquidity)
    out += _rank(est, history, day)
    out += _published(scorecard)
    out += _caveats(est, history, liquidity, fetch)
    out.append(f"<script>{SCRIPT}</script></body></html>")
    return "\n".join(out)


def _headline(est: Any) -> str:
    """The headline: US equity funds first, then all funds (or the one scope the run kept)."""
    from lev_flows.model.scope import SCOPES, scope_total

    t = est.total
    side = "buying" if t.rebalance_usd > 0 else "selling"
    total = (f'<span id="headline-total" class="{"neg" if t.rebalance_usd < 0 else "pos"}" '
             f'data-usd="{t.rebalance_usd:.2f}">{esc(usd(t.rebalance_usd))}</span>')
    scope = est.as_of.get("scope") or "all"
    if scope != "all":
        return f'<p class="headline">{esc(SCOPES.get(scope, scope))}: {total} of {side} at the close</p>'
    us = scope_total(est.tables["by_etf"].columns, "us_equity").rebalance_usd
    us_side = "buying" if us > 0 else "selling"
    return (f'<p class="headline"><span id="headline-us-equity" class="{"neg" if us < 0 else "pos"}" data-usd="{_f(us):.2f}">'
            f'{esc(usd(us))}</span> of {us_side} at the close by US equity funds; {total} by all funds</p>')


def _head(est: Any, day: str, fetch: dict[str, Any] | None, generated: dt.datetime) -> list[str]:
    """The page's head, title, headline and the line of inputs."""
    t = est.total
    title = f"Leveraged-ETF rebalancing {day}"
    return [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        # nothing may leave the file: no network fetch of any kind
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
        "script-src 'unsafe-inline'; img-src data:\">",
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{esc(title)}</h1>",
        _headline(est),
        f'<p class="meta">{esc(est.basis)}; {t.n_funds_with_flow} of {t.n_funds} funds with a flow; gross '
        f"{esc(usd(t.gross_rebalance_usd).lstrip('+'))}; equity funds {esc(usd(t.equity_rebalance_usd))}; "
        f"looked through to stocks {esc(usd(t.lookthrough_usd))}"
        + (f"; net creations x L {esc(usd(t.creation_usd))} (beside the rebalance, netted in the flow)" if t.creation_usd else "")
        + ".</p>",
        f'<p class="meta">Session {esc(day)}; prices: {esc(est.as_of.get("returns_source"))} '
        f'({esc(est.as_of.get("returns_basis"))}); AUM: {esc(est.as_of.get("aum"))}; '
        + (f'fetched: {esc(fetch.get("mode"))} from {esc(fetch.get("source"))}; ' if fetch else "")
        + f"generated {esc(generated.strftime('%Y-%m-%d %H:%M UTC'))}.</p>",
    ]


def _buckets(est: Any) -> list[str]:
    """The index buckets and GICS sectors: bars and sortable tables."""
    out: list[str] = []
    idx = est.by_index.reset_index()  # the key (bucket, sector) as a column
    sec = est.by_sector.reset_index()
    out.append('<div class="grid"><section><h2>By index</h2>')
    out.append(svg_bars(list(idx["bucket"]), [_f(v) for v in idx["rebalance_usd"]], chart_id="chart-index", title="Rebalance by index bucket"))
    out.append(table(
        [[(r.bucket, r.bucket), (str(r.n_funds), r.n_funds), (usd(r.aum_usd).lstrip("+"), r.aum_usd),
          (pct(r.aum_with_return, 0).lstrip("+") if math.isfinite(_f(r.aum_with_return)) else "n/a", _f(r.aum_with_return)),
          (usd(_f(r.rebalance_usd)), _f(r.rebalance_usd))] for r in idx.itertuples()],
        [("bucket", "text"), ("funds", "num"), ("AUM", "num"), ("AUM priced", "num", "opt"), ("rebalance", "num")],
        table_id="table-index",
    ))
    out.append('</section><section><h2>By GICS sector (look-through)</h2>')
    out.append(svg_bars(list(sec["sector"]), [_f(v) for v in sec["flow_usd"]], chart_id="chart-sector", title="Flow by GICS sector"))
    out.append(table(
        [[(r.sector, r.sector), (usd(r.flow_usd), r.flow_usd), (pct(r.share).lstrip("+"), _f(r.share))] for r in sec.itertuples()],
        [("sector", "text"), ("flow", "num"), ("share of |flow|", "num")], table_id="table-sector",
    ))
    out.append('<p class="small" id="sector-share">Share of |flow|: the sector\'s flow, buying or selling, over the sum '
               "of every sector's |flow| (the shares add up to 100 %; the sign is the flow's).</p>")
    out.append("</section></div>")

    return out


def _funds_and_stocks(est: Any) -> list[str]:
    """The top funds and the top stocks of the look-through."""
    out: list[str] = []
    etf = est.by_etf.head(TOP_ROWS).reset_index()
    out.append(f"<h2>Top {len(etf)} funds</h2>")
    out.append(table(
        [[(fund_label(r), r.ticker), (text_or_na(r.name), text_or_na(r.name)), (f"{r.leverage:+g}", r.leverage),
          (r.underlying, r.underlying), (usd(r.aum_usd).lstrip("+"), _f(r.aum_usd)),
          (_aum_source(r), _f(getattr(r, "aum_gap_sessions", float("nan")))), (pct(r.underlying_return, 2), _f(r.underlying_return)),
          (usd(_f(r.rebalance_usd)), _f(r.rebalance_usd)), (method_label(r.return_method, r.ticker), r.return_method)]
         for r in etf.itertuples()],
        [("ticker", "text"), ("name", "text", "wrap opt"), ("L", "num"), ("underlying", "text"), ("AUM", "num"),
         ("AUM source (sessions old)", "num", "opt"), ("return", "num"), ("rebalance", "num"), ("method", "text", "wrap opt")],
        table_id="table-funds",
    ))
    stk = est.by_stock.head(TOP_ROWS).reset_index()
    out.append(f"<h2>Top {len(stk)} stocks (look-through)</h2>")
    top_chart = stk.head(15)
    out.append(svg_bars(list(top_chart["ticker"]), [_f(v) for v in top_chart["flow_usd"]], chart_id="chart-stocks", title="Top stock flows"))
    out.append(table(
        [[(r.ticker, r.ticker), (text_or_na(r.name), text_or_na(r.name)), (r.sector, r.sector), (usd(r.flow_usd), r.flow_usd),
          (usd(r.single_stock_usd), r.single_stock_usd), (usd(r.index_usd), r.index_usd)] for r in stk.itertuples()],
        [("ticker", "text"), ("name", "text", "wrap opt"), ("sector", "text", "opt"), ("flow", "num"),
         ("single-stock funds", "num"), ("index funds", "num")],
        table_id="table-stocks",
    ))

    return out


def _liquidity(liquidity: pd.DataFrame | None) -> list[str]:
    """Where the flow weighs most against ADV and the closing auction."""
    out: list[str] = []
    if liquidity is not None and len(liquidity):
        liq = liquidity.head(15)
        out.append("<h2>Where the flow weighs most: share of ADV and of the closing auction</h2>")
        out.append(table(
            [[(r.ticker, r.ticker), (r.sector, r.sector), (usd(r.flow_usd), r.flow_usd), (usd(r.adv_usd).lstrip("+"), _f(r.adv_usd)),
              (pct(r.flow_pct_adv), _f(r.flow_pct_adv)), (pct(_f(getattr(r, "auction_share", float("nan")))).lstrip("+"),
                                                          _f(getattr(r, "auction_share", float("nan")))),
              (usd(r.auction_usd).lstrip("+"), _f(r.auction_usd)), (pct(r.flow_pct_auction), _f(r.flow_pct_auction)),
              (auction_flag(r.flow_pct_auction, getattr(r, "over_half_auction", False)),
               int(bool(getattr(r, "over_half_auction", False))) * (1 + (abs(_f(r.flow_pct_auction)) > 1.0)))]
             for r in liq.itertuples()],
            [("ticker", "text"), ("sector", "text", "opt"), ("flow", "num"), ("20-day ADV", "num", "opt"), ("flow / ADV", "num"),
             ("auction share (est.)", "num", "opt"), ("auction (est.)", "num", "opt"), ("flow / auction", "num"), ("flag", "num")],
            table_id="table-liquidity",
        ))
        out.append('<p class="small">The closing auction is an estimate: its share of the day\'s dollar volume modelled from '
                   "the stock's size, 7 % for the largest names to 10 % for the smallest (US closing auctions were about "
                   "7-9 % of consolidated volume in 2025); flagged where the funds' flow exceeds half of it, and where it exceeds "
                   "all of it.</p>")

    return out


def _sensitivity(s: Any | None) -> list[str]:
    """The $ per 1 % move (uniform and S&P-beta-weighted) and the day's dispersion: what an S&P
    rule predicts against what the funds trade, by index bucket."""
    if s is None:
        return []
    out = ["<h2>Sensitivity and the day's dispersion</h2>"]
    out.append(
        f'<p id="sensitivity">{"Equity funds" if s.scope in ("all", "equity") else esc(s.scope.replace("_", " ")) + " funds"}: '
        f"{esc(usd(s.usd_per_1pct))} per 1 % move of every "
        f"underlying; {esc(usd(s.usd_per_1pct_beta))} per 1 % move of the S&amp;P 500, each underlying by its beta "
        f"({s.beta_coverage:.0%} of the sensitivity has a beta). The S&amp;P 500 moved {esc(pct(s.market_return, 2))}: "
        f"an S&amp;P rule predicts {esc(usd(s.rule_usd))}, the funds trade {esc(usd(s.actual_usd))}; "
        f"{esc(usd(s.dispersion_usd))} is dispersion, underlyings moving apart from their beta.</p>"
    )
    rows = s.by_bucket.head(8)
    out.append(table(
        [[(r.bucket, r.bucket), (usd(r.actual_usd), r.actual_usd), (usd(r.rule_usd), r.rule_usd),
          (usd(r.dispersion_usd), r.dispersion_usd)] for r in rows.itertuples()],
        [("bucket", "text"), ("the funds trade", "num"), ("S&P rule (beta)", "num"), ("dispersion", "num")],
        table_id="table-sensitivity",
    ))
    return out


#: sessions in the note's history chart (the last ones up to the note's day)
HISTORY_BARS = 260


def _rank(est: Any, history: Any | None, day: str) -> list[str]:
    """Where the day ranks among the sessions of the history up to it, and the chart of the last
    :data:`HISTORY_BARS` of them: nothing after the note's day (a note of 2026-02-04 shows what
    was known that evening, even when the history runs on)."""
    if history is None or est.date is None or pd.Timestamp(est.date) not in history.daily.index:
        return []
    from dataclasses import replace

    known = replace(history, daily=history.daily.loc[: pd.Timestamp(est.date)])
    so = known.stand_out(est.date)
    series = known.daily["rebalance_usd"].iloc[-HISTORY_BARS:]
    side = "selling" if so["rebalance_usd"] < 0 else "buying"
    z = f'{so["z"]:+.1f}' if math.isfinite(so["z"]) else "n/a (one value)"
    return [
        "<h2>Where the day ranks</h2>",
        f'<p id="rank">{esc(usd(so["rebalance_usd"]))}: rank {so["abs_rank"]} by size of the {plural(so["days"], "session")} '
        f'to {esc(day)} (top {so["abs_percentile"]:.0%}), rank {so["same_side_rank"]} among the {side} ones, z = {z}.</p>',
        svg_columns([d.date().isoformat() for d in series.index], [float(v) for v in series], highlight=day,
                    chart_id="chart-history", title=f"Daily net rebalance (USD), the {plural(len(series), 'session')} to {day}"),
    ]


def plural(n: int, word: str) -> str:
    """``1 session``, ``2 sessions``, ``0 sessions``."""
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _published(scorecard: pd.DataFrame | None) -> list[str]:
    """The published estimates of the day beside ours."""
    out: list[str] = []
    if scorecard is not None and len(scorecard):
        out.append("<h2>Against published estimates (same scope and basis)</h2>")
        out.append(table(
            [[(r.source, r.source), (r.scope_label, r.scope_label), (r.published_basis, r.published_basis),
              (usd(r.published_usd), r.published_usd), (usd(_f(r.ours_usd)), _f(r.ours_usd)),
              (usd(_f(r.ours_beside_usd)), _f(r.ours_beside_usd)),
              (f"{_f(r.ratio):.2f}" if math.isfinite(_f(r.ratio)) else "n/a", _f(r.ratio)),
              ("yes" if r.comparable else f"no: {r.not_comparable}", int(bool(r.comparable)))]
             for r in scorecard.itertuples()],
            [("source", "text", "wrap"), ("scope", "text", "opt"), ("basis", "text", "opt"), ("published", "num"), ("ours, same scope", "num"),
             ("ours, all funds", "num", "opt"), ("ours / published", "num"), ("like with like", "num", "wrap")],
            table_id="table-scorecard",
        ))

    return out


def _caveats(est: Any, history: Any | None, liquidity: pd.DataFrame | None, fetch: dict[str, Any] | None) -> list[str]:
    """Coverage, caveats and every warning."""
    c = est.coverage
    out: list[str] = []
    out.append("<h2>Coverage and caveats</h2><ul>")
    out.append(f"<li>AUM with a return: {c.aum_with_return:.1%} of {esc(usd(c.aum_usd).lstrip('+'))}; "
               f"funds without AUM: {c.n_funds_without_aum}; not launched yet: {c.n_funds_not_launched}; closed: {c.n_funds_closed}; ETNs excluded: {c.n_funds_excluded}.</li>")
    if c.aum_median_gap_sessions is not None:
        out.append(f"<li>AUM rests on observations an AUM-weighted median of "
                   f"{plural(round(c.aum_median_gap_sessions), 'session')} old.</li>")
    if c.aum_basis:
        parts = "; ".join(f"{k} {v:.0%}" for k, v in c.aum_basis.items() if v >= 0.005)
        out.append(f"<li>AUM by source and age: {esc(parts)}.</li>")
    out.append(f"<li>Equity AUM with a composition {c.equity_aum_with_composition:.1%}, with a GICS sector "
               f"{c.equity_aum_with_sector:.1%}.</li>")
    later = est.as_of.get("compositions_after_date") or []
    if later:
        dates = est.as_of.get("compositions", {})
        named = ", ".join(f"{u} ({dates[u]})" if u in dates else u for u in later)
        out.append("<li>Compositions dated after the day (their weights were known only later; no earlier holdings "
                   f"are at hand): {esc(named)}.</li>")
    if history is None:
        out.append("<li>Where the day ranks: not in this note (it needs the price tables: <code>daily --prices DIR</code>).</li>")
    if liquidity is None:
        out.append("<li>Flow against ADV and the closing auction: not in this note (it needs local volume tables).</li>")
    t = est.total
    if t.auction_known_usd is not None and t.auction_assumed_usd is not None:
        known = "n/a" if t.auction_timing_known is None else f"{t.auction_timing_known:.1%}"
        out.append(f"<li id=\"timing\">Execution timing is known for {known} of the look-through flow: "
                   f"{esc(usd(t.auction_known_usd))} of it in the stocks' closing auctions; the rest, "
                   f"{esc(usd(t.auction_assumed_usd))}, is assumed at the close.</li>")
    out.append("<li>Rebalance = A·L·(L−1)·r per daily fund; fees and financing are ignored.</li></ul>")
    warnings = list(est.warnings) + [f"fetch: {w}" for w in (fetch or {}).get("failed", {}).values()]
    out.append(f'<h2>Warnings ({len(warnings)})</h2><ul class="warnings" id="warnings">')
    out.extend(f"<li>{esc(w)}</li>" for w in warnings)
    out.append("</ul>")
    return out


def _aum_source(row: Any) -> str:
    source = getattr(row, "aum_source", None)
    if not isinstance(source, str) or not source:
        return "n/a"
    date = getattr(row, "aum_date", None)
    gap = _f(getattr(row, "aum_gap_sessions", float("nan")))
    return f"{source} {date or ''}".strip() + (f" (+{gap:.0f})" if math.isfinite(gap) and gap > 0 else "")


def render_index(root: str | Path) -> str:
    """The report root's index: every dated report folder with its total, newest first."""
    root = Path(root)
    rows = []
    for doc_path in sorted(root.glob("*/estimate.json"), reverse=True):
        if doc_path.parent.name.startswith("."):  # a report being written (or swapped out)
            continue
        try:
            doc = json.loads(doc_path.read_text("utf-8"))
            total = float(doc["total"]["rebalance_usd"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        folder = doc_path.parent.name
        page = "report.html" if (doc_path.parent / "report.html").exists() else "estimate.json"
        link = f"./{quote(folder, safe='')}/{page}"  # a relative file link, whatever the folder is named (javascript:...)
        rows.append((folder, link, doc.get("date") or "", doc.get("basis") or "", total, (doc.get("fetch") or {}).get("mode", "")))
    body = "".join(
        f'<tr><td data-v="{esc(d)}"><a href="{esc(link)}">{esc(folder)}</a></td><td data-v="{esc(b)}">{esc(b)}</td>'
        f'<td data-v="{esc(m)}">{esc(m)}</td><td class="num" data-v="{tot:.2f}">{esc(usd(tot))}</td></tr>'
        for folder, link, d, b, tot, m in rows
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'\">"
        f"<title>lev_flows reports</title><style>{CSS}</style></head><body><h1>lev_flows daily reports</h1>"
        f'<p class="meta">{len(rows)} reports in {esc(root.name)}.</p>'
        '<div class="scroll"><table class="sortable" id="table-reports"><thead><tr><th data-kind="text">session</th>'
        '<th data-kind="text">basis</th><th data-kind="text">mode</th><th data-kind="num">rebalance</th></tr></thead>'
        f"<tbody>{body}</tbody></table></div><script>{SCRIPT}</script></body></html>"
    )


__all__ = ["render_note", "render_index", "svg_bars", "svg_columns", "esc"]
