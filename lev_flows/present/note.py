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
    """Daily columns (one ``rect.bar`` a day), the ``highlight`` day in blue."""
    n = max(len(values), 1)
    height, top, bottom = 200, 12, 24
    scale = max((abs(v) for v in values if math.isfinite(v)), default=1.0) or 1.0
    mid = top + (height - top - bottom) / 2
    bw = (width - 20) / n
    parts = [
        f'<svg class="chart" id="{esc(chart_id)}" role="img" aria-label="{esc(title)}" viewBox="0 0 {width} {height}" '
        f'width="100%" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg"><title>{esc(title)}</title>',
        f'<line x1="10" y1="{mid}" x2="{width - 10}" y2="{mid}" class="axis"/>',
    ]
    for i, (d, v) in enumerate(zip(dates, values)):
        value = v if math.isfinite(v) else 0.0
        h = abs(value) / scale * (height - top - bottom) / 2
        y = mid - h if value > 0 else mid
        cls = "hl" if d == highlight else ("neg" if value < 0 else "pos")
        parts.append(
            f'<rect class="bar {cls}" data-value="{value:.0f}" x="{10 + i * bw:.2f}" y="{y:.1f}" width="{max(bw - 0.3, 0.3):.2f}" '
            f'height="{max(h, 0.3):.1f}"><title>{esc(d)}: {esc(usd(v))}</title></rect>'
        )
    if dates:
        parts.append(f'<text x="10" y="{height - 6}" class="label">{esc(dates[0])}</text>')
        parts.append(f'<text x="{width - 10}" y="{height - 6}" class="label" text-anchor="end">{esc(dates[-1])}</text>')
    parts.append("</svg>")
    return "".join(parts)


# ---- tables ---------------------------------------------------------------------------------


def table(rows: list[list[tuple[str, Any]]], headers: list[tuple[str, str]], *, table_id: str) -> str:
    """A sortable table: ``headers`` are (label, kind) with kind ``num`` or ``text``; each cell
    is (shown text, sort value)."""
    head = "".join(f'<th data-kind="{kind}" tabindex="0">{esc(label)}</th>' for label, kind in headers)
    body = []
    for row in rows:
        cells = []
        for (text, key), (_, kind) in zip(row, headers):
            sort = "" if key is None or (isinstance(key, float) and not math.isfinite(key)) else key
            cls = ' class="num"' if kind == "num" else ""
            cells.append(f'<td{cls} data-v="{esc(sort)}">{esc(text)}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f'<div class="scroll"><table class="sortable" id="{esc(table_id)}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


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
td.num{text-align:right;font-variant-numeric:tabular-nums}th{cursor:pointer;user-select:none;background:#f6f6f6}
th[aria-sort=ascending]::after{content:" \\25B2"}th[aria-sort=descending]::after{content:" \\25BC"}
svg.chart{max-width:100%;height:auto}svg .label,svg .value{font-size:11px;fill:var(--ink)}svg .axis{stroke:#999;stroke-width:1}
ul.warnings li{color:#8a5a00}@media (max-width:700px){.grid{grid-template-columns:minmax(0,1fr)}body{font-size:14px;padding:8px}
.headline{font-size:1.3em}}@media print{th{cursor:auto}th::after{content:""!important}.scroll{overflow:visible}
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
    generated: dt.datetime | None = None,
) -> str:
    """The desk note for one estimate (see the module doc). ``history`` is a
    :class:`lev_flows.analysis.history.HistoryResult` containing the day; ``liquidity`` the table of
    :func:`lev_flows.analysis.whatif.liquidity`; ``scorecard`` published figures for the day."""
    day = est.date.isoformat() if est.date else "scenario"
    out = _head(est, day, fetch, generated or system_now())
    out += _buckets(est)
    out += _funds_and_stocks(est)
    out += _liquidity(liquidity)
    out += _rank(est, history, day)
    out += _published(scorecard)
    out += _caveats(est, history, liquidity, fetch)
    out.append(f"<script>{SCRIPT}</script></body></html>")
    return "\n".join(out)


def _head(est: Any, day: str, fetch: dict[str, Any] | None, generated: dt.datetime) -> list[str]:
    """The page's head, title, headline and the line of inputs."""
    t = est.total
    side = "buying" if t.rebalance_usd > 0 else "selling"
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
        f'<p class="headline"><span id="headline-total" class="{"neg" if t.rebalance_usd < 0 else "pos"}" '
        f'data-usd="{t.rebalance_usd:.2f}">{esc(usd(t.rebalance_usd))}</span> of {side} at the close</p>',
        f'<p class="meta">{esc(est.basis)}; {t.n_funds_with_flow} of {t.n_funds} funds with a flow; gross '
        f"{esc(usd(t.gross_rebalance_usd).lstrip('+'))}; equity funds {esc(usd(t.equity_rebalance_usd))}; "
        f"looked through to stocks {esc(usd(t.lookthrough_usd))}"
        + (f"; net creations x L {esc(usd(t.creation_usd))} (shown separately)" if t.creation_usd else "")
        + ".</p>",
        f'<p class="meta">Session {esc(day)}; prices: {esc(est.as_of.get("returns_source"))} '
        f'({esc(est.as_of.get("returns_basis"))}); AUM: {esc(est.as_of.get("aum"))}; '
        + (f'fetched: {esc(fetch.get("mode"))} from {esc(fetch.get("source"))}; ' if fetch else "")
        + f"generated {esc(generated.strftime('%Y-%m-%d %H:%M UTC'))}.</p>",
    ]


def _buckets(est: Any) -> list[str]:
    """The index buckets and GICS sectors: bars and sortable tables."""
    out: list[str] = []
    idx = est.by_index
    sec = est.by_sector
    out.append('<div class="grid"><section><h2>By index</h2>')
    out.append(svg_bars(list(idx["bucket"]), [_f(v) for v in idx["rebalance_usd"]], chart_id="chart-index", title="Rebalance by index bucket"))
    out.append(table(
        [[(r.bucket, r.bucket), (str(r.n_funds), r.n_funds), (usd(r.aum_usd).lstrip("+"), r.aum_usd),
          (pct(r.aum_with_return, 0).lstrip("+") if math.isfinite(_f(r.aum_with_return)) else "n/a", _f(r.aum_with_return)),
          (usd(_f(r.rebalance_usd)), _f(r.rebalance_usd))] for r in idx.itertuples()],
        [("bucket", "text"), ("funds", "num"), ("AUM", "num"), ("AUM priced", "num"), ("rebalance", "num")],
        table_id="table-index",
    ))
    out.append('</section><section><h2>By GICS sector (look-through)</h2>')
    out.append(svg_bars(list(sec["sector"]), [_f(v) for v in sec["flow_usd"]], chart_id="chart-sector", title="Flow by GICS sector"))
    out.append(table(
        [[(r.sector, r.sector), (usd(r.flow_usd), r.flow_usd), (pct(r.share).lstrip("+"), _f(r.share))] for r in sec.itertuples()],
        [("sector", "text"), ("flow", "num"), ("share", "num")], table_id="table-sector",
    ))
    out.append("</section></div>")

    return out


def _funds_and_stocks(est: Any) -> list[str]:
    """The top funds and the top stocks of the look-through."""
    out: list[str] = []
    etf = est.by_etf.head(TOP_ROWS)
    out.append(f"<h2>Top {len(etf)} funds</h2>")
    out.append(table(
        [[(fund_label(r), r.ticker), (r.name, r.name), (f"{r.leverage:+g}", r.leverage), (r.underlying, r.underlying),
          (usd(r.aum_usd).lstrip("+"), _f(r.aum_usd)), (_aum_source(r), _f(getattr(r, "aum_gap_sessions", float("nan")))),
          (pct(r.underlying_return, 2), _f(r.underlying_return)), (usd(_f(r.rebalance_usd)), _f(r.rebalance_usd)),
          (r.return_method, r.return_method)] for r in etf.itertuples()],
        [("ticker", "text"), ("name", "text"), ("L", "num"), ("underlying", "text"), ("AUM", "num"),
         ("AUM source (sessions old)", "num"), ("return", "num"), ("rebalance", "num"), ("method", "text")],
        table_id="table-funds",
    ))
    stk = est.by_stock.head(TOP_ROWS)
    out.append(f"<h2>Top {len(stk)} stocks (look-through)</h2>")
    top_chart = stk.head(15)
    out.append(svg_bars(list(top_chart["ticker"]), [_f(v) for v in top_chart["flow_usd"]], chart_id="chart-stocks", title="Top stock flows"))
    out.append(table(
        [[(r.ticker, r.ticker), (r.name, r.name), (r.sector, r.sector), (usd(r.flow_usd), r.flow_usd),
          (usd(r.single_stock_usd), r.single_stock_usd), (usd(r.index_usd), r.index_usd)] for r in stk.itertuples()],
        [("ticker", "text"), ("name", "text"), ("sector", "text"), ("flow", "num"), ("single-stock funds", "num"), ("index funds", "num")],
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
              (pct(r.flow_pct_adv), _f(r.flow_pct_adv)), (pct(r.flow_pct_auction), _f(r.flow_pct_auction))] for r in liq.itertuples()],
            [("ticker", "text"), ("sector", "text"), ("flow", "num"), ("20-day ADV", "num"), ("flow / ADV", "num"), ("flow / auction", "num")],
            table_id="table-liquidity",
        ))
        out.append('<p class="small">Closing auction assumed at 10 % of the day\'s dollar volume.</p>')

    return out


def _rank(est: Any, history: Any | None, day: str) -> list[str]:
    """Where the day ranks in the history that contains it."""
    out: list[str] = []
    if history is not None and est.date is not None and pd.Timestamp(est.date) in history.daily.index:
        so = history.stand_out(est.date)
        series = history.daily["rebalance_usd"].iloc[-260:]
        out.append("<h2>Where the day ranks</h2>")
        out.append(
            f'<p id="rank">{esc(usd(so["rebalance_usd"]))}: rank {so["abs_rank"]} of {so["days"]} days by size '
            f'(top {so["abs_percentile"]:.0%}), rank {so["same_side_rank"]} among {"selling" if so["rebalance_usd"] < 0 else "buying"} '
            f'days, z = {so["z"]:+.1f}.</p>'
        )
        out.append(svg_columns([d.date().isoformat() for d in series.index], [float(v) for v in series], highlight=day,
                               chart_id="chart-history", title="Daily net rebalance, last 260 sessions"))

    return out


def _published(scorecard: pd.DataFrame | None) -> list[str]:
    """The published estimates of the day beside ours."""
    out: list[str] = []
    if scorecard is not None and len(scorecard):
        out.append("<h2>Against published estimates</h2>")
        out.append(table(
            [[(r.source, r.source), (r.published_basis, r.published_basis), (usd(r.published_usd), r.published_usd),
              (usd(_f(r.ours_usd)), _f(r.ours_usd)), (f"{_f(r.ratio):.2f}" if math.isfinite(_f(r.ratio)) else "n/a", _f(r.ratio))]
             for r in scorecard.itertuples()],
            [("source", "text"), ("published when", "text"), ("published", "num"), ("ours", "num"), ("ours / published", "num")],
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
        out.append(f"<li>AUM rests on observations an AUM-weighted median of {c.aum_median_gap_sessions:.0f} sessions old.</li>")
    if c.aum_basis:
        parts = "; ".join(f"{k} {v:.0%}" for k, v in c.aum_basis.items() if v >= 0.005)
        out.append(f"<li>AUM by source and age: {esc(parts)}.</li>")
    out.append(f"<li>Equity AUM with a composition {c.equity_aum_with_composition:.1%}, with a GICS sector "
               f"{c.equity_aum_with_sector:.1%}.</li>")
    if history is None:
        out.append("<li>Where the day ranks: not in this note (it needs the price tables: <code>daily --prices DIR</code>).</li>")
    if liquidity is None:
        out.append("<li>Flow against ADV and the closing auction: not in this note (it needs local volume tables).</li>")
    out.append("<li>Rebalance = A·L·(L−1)·r per daily fund; fees, financing and swaps resetting before 16:00 are ignored.</li></ul>")
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
