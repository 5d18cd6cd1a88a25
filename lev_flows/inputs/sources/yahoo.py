"""Yahoo Finance's public chart endpoint: daily closes and live quotes over HTTP.

``GET {base}/v8/finance/chart/{symbol}?period1=..&period2=..&interval=1d`` answers::

    {"chart": {"result": [{"meta": {"symbol": "NVDA", "regularMarketPrice": 171.2,
                                    "chartPreviousClose": 180.3, "regularMarketTime": 1770233400, ...},
                           "timestamp": [1770129000, ...],
                           "indicators": {"quote": [{"close": [...]}], "adjclose": [{"adjclose": [...]}]}}],
               "error": null}}

and for an unknown symbol HTTP 404 with ``{"chart": {"result": null, "error": {"code": "Not Found",
"description": "No data found, symbol may be delisted"}}}``.

Closes and live quotes are batched on the spark endpoint:
``GET {base}/v8/finance/spark?symbols=A,B,...&range=R&interval=1d`` (at most 20 symbols a
request; ``range=1d`` for live quotes, else the smallest of Yahoo's ranges that reaches back to
the first close needed, counted from today, see :func:`spark_range`) answers
``{"spark": {"result": [{"symbol": "A", "response": [<one chart result as above>]}, ...],
"error": null}}``, or, the flatter shape Yahoo also serves,
``{"A": {"symbol": "A", "timestamp": [...], "close": [...], "chartPreviousClose": ...}, ...}``
(read too; it has no adjusted closes and no live price). A symbol a batch does not answer, or a
batch that fails, is asked again one by one on the chart endpoint (and so is every symbol of a
history older than the largest range). A spark answer without adjusted closes gives closes
adjusted for splits only: the table lists those symbols (``PriceTable.unadjusted``) and the
estimate says so.

Timestamps are the session's start in UTC; they are read as New York dates. Adjusted closes are used when present (the
shared price tables are adjusted too). The base URL comes from ``LEV_FLOWS_YAHOO_URL`` or the
constructor, so tests and mirrors can stand in for the real service.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import httpx
import numpy as np
import pandas as pd

from lev_flows.inputs.sources.base import PriceQuery, PriceTable, Progress, QuoteQuery
from lev_flows.inputs.sources.http import BadResponse, HttpClient

BASE_URL_ENV = "LEV_FLOWS_YAHOO_URL"
#: symbols per spark request, 1 to use the chart endpoint only (a mirror without spark; the
#: benchmarks' per-symbol baseline); default ``SPARK_BATCH``
BATCH_ENV = "LEV_FLOWS_YAHOO_BATCH"
DEFAULT_BASE_URL = "https://query1.finance.yahoo.com"
NEW_YORK = "America/New_York"
_NEW_YORK_ZONE = ZoneInfo(NEW_YORK)

#: cache lifetimes: finished sessions barely change; live quotes go stale in a minute
CLOSES_TTL_S = 12 * 3600.0
QUOTES_TTL_S = 60.0


def to_yahoo(symbol: str) -> str:
    """Our canonical ticker -> Yahoo's (``BRK.B`` -> ``BRK-B``; indexes keep their ``^``)."""
    return symbol if symbol.startswith("^") else symbol.replace(".", "-")


@dataclass(frozen=True)
class Chart:
    symbol: str
    dates: list[dt.date]
    closes: list[float]
    last_price: float | None
    previous_close: float | None
    market_time: dt.datetime | None
    #: the closes are adjusted for dividends too (the answer had ``adjclose``, or no bars)
    adjusted: bool = True


def _json_body(status: int, body: bytes) -> object:
    """The JSON document of an answer; an empty body, an HTML page or broken JSON is a
    :class:`BadResponse` saying which."""
    if not body.strip():
        raise BadResponse(f"empty body (HTTP {status})")
    if body.lstrip()[:1] == b"<":
        raise BadResponse(f"HTML page instead of JSON (HTTP {status}; blocked, or an error page)")
    try:
        return json.loads(body)
    except ValueError:
        raise BadResponse(f"malformed or truncated JSON ({len(body):,} bytes)") from None


def parse_chart(symbol: str, status: int, body: bytes) -> Chart:
    """Parse one chart response; raise :class:`BadResponse` with the reason otherwise."""
    doc = _json_body(status, body)
    chart = doc.get("chart") if isinstance(doc, dict) else None
    if not isinstance(chart, dict):
        raise BadResponse("JSON without a 'chart' object")
    error = chart.get("error")
    if error or status == 404:
        desc = error.get("description") if isinstance(error, dict) else None
        code = error.get("code") if isinstance(error, dict) else None
        if status == 404 or code == "Not Found":
            raise BadResponse(f"unknown symbol ({desc or 'not found'})")
        raise BadResponse(f"source error {code}: {desc}")
    if status >= 400:
        raise BadResponse(f"HTTP {status}")
    try:
        result = chart["result"][0]
    except (KeyError, IndexError, TypeError):
        raise BadResponse("chart result missing") from None
    return _chart(symbol, result)


def _chart(symbol: str, result: object) -> Chart:
    """One chart result (``meta``, ``timestamp``, ``indicators``) -> :class:`Chart`; an answer
    for another symbol than the one asked is rejected."""
    meta = result.get("meta") if isinstance(result, dict) else None
    if not isinstance(meta, dict):
        raise BadResponse("chart result missing")
    answered = meta.get("symbol")
    if isinstance(answered, str) and to_yahoo(answered.upper()) != to_yahoo(symbol.upper()):
        raise BadResponse(f"the answer is for {answered}, not {symbol}")
    stamps = result.get("timestamp") or []
    indicators = result.get("indicators") or {}
    try:
        adj = (indicators.get("adjclose") or [{}])[0].get("adjclose")
        raw = (indicators.get("quote") or [{}])[0].get("close")
    except (AttributeError, IndexError, TypeError):
        raise BadResponse("chart indicators malformed") from None
    values = adj if adj is not None else raw
    if not isinstance(stamps, list) or (values is not None and not isinstance(values, list)):
        raise BadResponse("chart timestamps or closes are not lists")
    if stamps and (values is None or len(values) != len(stamps)):
        raise BadResponse("chart has timestamps without matching closes")
    try:
        dates = [_ny_date(t) for t in stamps]
    except (ValueError, TypeError, OverflowError, OSError):
        raise BadResponse("a timestamp is not a time (out of range or not a number)") from None
    closes = [_close(v) for v in (values or [])]
    if closes and all(np.isnan(closes)):
        raise BadResponse("every close in the answer is null (an outage, not a quiet day)")
    prev = meta.get("regularMarketPreviousClose", meta.get("chartPreviousClose", meta.get("previousClose")))
    t = meta.get("regularMarketTime")
    if t is not None and (isinstance(t, bool) or not isinstance(t, (int, float)) or not 0 < t < 4e9):
        raise BadResponse(f"regularMarketTime {t!r} is not a time")
    return Chart(
        symbol=symbol,
        dates=dates,
        closes=closes,
        last_price=_num(meta.get("regularMarketPrice")),
        previous_close=_num(prev),
        market_time=pd.Timestamp(t, unit="s", tz="UTC").tz_convert(NEW_YORK).to_pydatetime() if t else None,
        adjusted=adj is not None or not stamps,
    )


class SparkAnswer(dict):
    """The charts of one spark batch by symbol; ``asked``: how many symbols the batch asked (an
    answer with fewer is used, never cached)."""

    asked: int = 0


def parse_spark(batch: str, status: int, body: bytes) -> SparkAnswer:
    """Parse one spark response for the comma-separated symbols ``batch``: a :class:`Chart` per
    symbol answered (symbols not asked are ignored, a malformed entry is left out so that its
    symbol is asked again on the chart endpoint); raise :class:`BadResponse` for the whole."""
    doc = _json_body(status, body)
    if status >= 400:
        raise BadResponse(f"HTTP {status}")
    asked = {to_yahoo(s): s for s in batch.split(",")}
    spark = doc.get("spark") if isinstance(doc, dict) else None
    out = SparkAnswer()
    out.asked = len(asked)
    if spark is None and isinstance(doc, dict) and any(isinstance(v, dict) and "close" in v for v in doc.values()):
        out.update(_flat_spark(asked, doc))
        return out
    if not isinstance(spark, dict) or not isinstance(spark.get("result"), list):
        raise BadResponse("JSON without a 'spark' result list")
    for item in spark["result"]:
        sym = asked.get(item.get("symbol")) if isinstance(item, dict) else None
        response = item.get("response") if sym else None
        if not isinstance(response, list) or not response:
            continue
        try:
            out[sym] = _chart(sym, response[0])
        except BadResponse:
            continue
    return out


def _flat_spark(asked: dict[str, str], doc: dict) -> dict[str, Chart]:
    """The flat spark shape, ``{"A": {"symbol", "timestamp", "close", "chartPreviousClose",
    "previousClose", ...}}``: closes adjusted for splits only, no live price (a live quote of
    it is asked again on the chart endpoint)."""
    out: dict[str, Chart] = {}
    for key, item in doc.items():
        sym = asked.get(key)
        if sym is None or not isinstance(item, dict):
            continue
        meta = {"symbol": item.get("symbol", key), "chartPreviousClose": item.get("chartPreviousClose"),
                "previousClose": item.get("previousClose")}
        try:
            out[sym] = _chart(sym, {"meta": meta, "timestamp": item.get("timestamp"),
                                    "indicators": {"quote": [{"close": item.get("close")}]}})
        except BadResponse:
            continue
    return out


@functools.lru_cache(maxsize=1 << 16)
def _ny_date(stamp) -> dt.date:
    """A bar's UTC epoch seconds as its New York date (remembered: a thousand symbols share the
    same few hundred session stamps)."""
    if isinstance(stamp, bool) or not isinstance(stamp, (int, float)) or not -1e11 < stamp < 1e11:
        raise ValueError("not a time")
    return dt.datetime.fromtimestamp(stamp, _NEW_YORK_ZONE).date()


def _close(v) -> float:
    """One close of a chart: a number (or null: no trade); text or a bool is a bad answer."""
    if v is None:
        return np.nan
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise BadResponse(f"a close is {v!r}, not a number")
    return float(v)


def _num(v) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if np.isfinite(f) and f > 0 else None


#: symbols per spark request (Yahoo answers at most 20)
SPARK_BATCH = 20
#: Yahoo's spark ranges and the fewest calendar days each reaches back, shortest first
SPARK_RANGES = (("5d", 5), ("1mo", 28), ("3mo", 89), ("6mo", 181), ("1y", 365), ("2y", 730), ("5y", 1826))
#: days added to a history before its range is chosen (the service's today may be ours + 1)
SPARK_MARGIN_DAYS = 7


def spark_range(first: dt.date, today: dt.date) -> str | None:
    """The shortest spark range that reaches back from ``today`` (the service's: the machine's
    date, not a pinned market clock) to ``first`` with ``SPARK_MARGIN_DAYS`` to spare; None when
    even five years do not (the chart endpoint's period1/period2 is asked then)."""
    need = (today - first).days + SPARK_MARGIN_DAYS
    return next((name for name, days in SPARK_RANGES if days >= need), None)


def _service_today() -> dt.date:
    """Today where the service counts its ranges from: the machine's clock, in New York."""
    from lev_flows.clock import system_now

    return pd.Timestamp(system_now()).tz_convert(NEW_YORK).date()


class YahooChart:
    """Daily closes and live quotes from Yahoo's spark endpoint (``batch`` symbols a request),
    the chart endpoint one symbol a request for what a batch did not answer (``batch=1``: the
    chart endpoint only, the per-symbol baseline of the benchmarks). ``quotes_ttl_s`` is how long
    a quote is served from the cache (0 for a watch that refreshes)."""

    name = "yahoo"

    def __init__(self, client: HttpClient, base_url: str | None = None, *, batch: int | None = None,
                 quotes_ttl_s: float = QUOTES_TTL_S):
        from lev_flows.errors import InputError

        self.client = client
        if batch is None:
            text = os.environ.get(BATCH_ENV, "").strip()
            if text and not text.isdigit():
                raise InputError(f"${BATCH_ENV} {text!r}: expected a number of symbols per request (1 to {SPARK_BATCH})")
            batch = int(text) if text else SPARK_BATCH
        self.batch = max(1, min(int(batch), SPARK_BATCH))
        self.quotes_ttl_s = quotes_ttl_s
        if base_url is not None and not base_url.strip():  # an empty --base-url is a mistake, not "the default"
            raise InputError("--base-url is empty; leave it out for the default service")
        self.base_url = (base_url or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL).rstrip("/")
        if not self.base_url.startswith(("http://", "https://")):
            raise InputError(f"--base-url {self.base_url!r}: not an http(s) URL")
        try:
            if not httpx.URL(self.base_url).host:
                raise ValueError("no host")
        except (httpx.InvalidURL, ValueError) as exc:
            raise InputError(f"--base-url {self.base_url!r}: not a usable URL ({exc})") from None

    @property
    def label(self) -> str:
        """How tables and errors name this source."""
        return f"yahoo ({self.base_url})"

    def url(self, symbol: str) -> str:
        return f"{self.base_url}/v8/finance/chart/{to_yahoo(symbol)}"

    def closes(self, query: PriceQuery, progress: Progress | None = None) -> PriceTable:
        """Closes from ``query.start`` to ``query.end`` (New York dates), one column per symbol:
        spark batches over the shortest range that reaches ``query.start``, then the chart
        endpoint (period1/period2) one by one for what the batches did not answer."""
        last_day = pd.Timestamp(query.end).date()

        def complete(ch) -> bool:  # an answer without the last session's bar (fetched just after
            # 16:00) is used but not cached: a rerun must see the bar when it is published
            return bool(ch.dates) and max(ch.dates) >= last_day

        rest, charts = list(query.symbols), {}
        span = spark_range(query.start, _service_today()) if self.batch > 1 and len(rest) > 1 else None
        if span is not None:
            charts = self._spark(rest, {"range": span, "interval": "1d", "includeAdjustedClose": "true"}, CLOSES_TTL_S,
                                 cache_if=lambda answer: _whole(answer) and all(complete(ch) for ch in answer.values()))
            if progress is not None:
                for sym in charts:
                    progress(sym, True)
            rest = [s for s in rest if s not in charts]
        failed: dict[str, str] = {}
        if rest:
            p1 = int(pd.Timestamp(query.start, tz=NEW_YORK).timestamp())
            p2 = int((pd.Timestamp(query.end, tz=NEW_YORK) + pd.Timedelta(days=1)).timestamp())
            params = {"period1": p1, "period2": p2, "interval": "1d", "events": "div,split", "includeAdjustedClose": "true"}
            more, failed = self.client.get_many(((s, self.url(s), params) for s in rest), parse_chart, ttl_s=CLOSES_TTL_S,
                                                progress=progress, cache_if=complete)
            charts.update(more)
        return PriceTable(closes=_close_frame(charts, query), failed=dict(sorted(failed.items())), source=self.label,
                          unadjusted=sorted(s for s, ch in charts.items() if not ch.adjusted))

    def quotes(self, query: QuoteQuery, progress: Progress | None = None) -> PriceTable:
        """Previous close and last price per symbol, as a two-row table (previous session, today)."""
        from lev_flows.inputs.calendar import previous_session

        charts, failed = self._quote_charts(query.symbols, progress)
        last, prev, times = {}, {}, []
        for sym, ch in charts.items():
            if ch.last_price is None or ch.previous_close is None or ch.market_time is None:
                failed[sym] = f"{sym}: quote without a last price or a previous close ({self.url(sym)})"
                continue
            last[sym], prev[sym] = ch.last_price, ch.previous_close
            times.append(ch.market_time)
        if not times:
            return PriceTable(closes=pd.DataFrame(), failed=dict(sorted(failed.items())), source=self.label)
        stamp = max(times)  # the session is the newest quote's; an older quote is last session's close
        for sym, t in list(zip(last, times)):  # a quote from another session is not today's move
            if t.date() < stamp.date():
                failed[sym] = f"{sym}: quote from {t:%Y-%m-%d %H:%M}, not today's session ({self.url(sym)})"
                del last[sym], prev[sym]
        session = stamp.date()
        index = pd.DatetimeIndex([pd.Timestamp(previous_session(session)), pd.Timestamp(session)], name="date")
        frame = pd.DataFrame([prev, last], index=index)
        return PriceTable(
            closes=frame,
            failed=dict(sorted(failed.items())),
            source=self.label,
            basis=f"live {stamp:%H:%M} New York",
        )

    def _spark(self, symbols: list[str], params: dict, ttl_s: float, cache_if=None) -> dict[str, Chart]:
        """The charts the spark batches of ``symbols`` answered (a failed batch answers none). A
        batch's answer is cached only when it answered every symbol asked (``cache_if`` may ask
        more): one that left symbols out is asked again next time."""
        batches = [",".join(symbols[i : i + self.batch]) for i in range(0, len(symbols), self.batch)]
        got, _ = self.client.get_many(
            ((b, f"{self.base_url}/v8/finance/spark", {**params, "symbols": ",".join(map(to_yahoo, b.split(",")))}) for b in batches),
            parse_spark, ttl_s=ttl_s, progress=None, cache_if=cache_if or _whole,
        )
        charts: dict[str, Chart] = {}
        for answer in got.values():
            charts.update(answer)
        return charts

    def _quote_charts(self, symbols: list[str], progress: Progress | None) -> tuple[dict[str, Chart], dict[str, str]]:
        """Live charts of ``symbols``: spark batches first, then the chart endpoint one by one
        for what a batch did not answer (a failed batch, a symbol left out, an answer without a
        live price: the flat spark shape)."""
        params = {"range": "1d", "interval": "1d"}
        charts: dict[str, Chart] = {}
        rest = list(symbols)
        if self.batch > 1 and len(rest) > 1:
            charts = {s: ch for s, ch in self._spark(rest, params, self.quotes_ttl_s).items()
                      if ch.last_price is not None and ch.market_time is not None}
            if progress is not None:
                for sym in charts:
                    progress(sym, True)
            rest = [s for s in rest if s not in charts]
        if rest:
            more, failed = self.client.get_many(
                ((s, self.url(s), params) for s in rest), parse_chart, ttl_s=self.quotes_ttl_s, progress=progress
            )
            charts.update(more)
        else:
            failed = {}
        return charts, failed


def _whole(answer: SparkAnswer) -> bool:
    """A spark batch answered every symbol it asked."""
    return len(answer) == answer.asked


def _close_frame(charts: dict[str, Chart], query: PriceQuery) -> pd.DataFrame:
    """The charts' closes as one table (sorted dates x symbols, in the query's order, whatever
    order the answers came in) cut to the query's span; where a chart has a date twice, its last
    close. Built as one array: the symbols share a few date lists, each mapped to rows once."""
    charts = {s: charts[s] for s in query.symbols if s in charts}
    days = sorted({d for ch in charts.values() for d in ch.dates})
    row = {d: i for i, d in enumerate(days)}
    values = np.full((len(days), len(charts)), np.nan)
    rows_of: dict[tuple, np.ndarray] = {}
    for j, ch in enumerate(charts.values()):
        key, closes = tuple(ch.dates), ch.closes
        if len(set(key)) < len(key):  # a date twice: its last close
            last = dict(zip(key, closes))
            key, closes = tuple(last), list(last.values())
        if key not in rows_of:
            rows_of[key] = np.fromiter((row[d] for d in key), dtype=np.intp, count=len(key))
        values[rows_of[key], j] = closes
    frame = pd.DataFrame(values, index=pd.DatetimeIndex(pd.to_datetime(days), name="date"), columns=list(charts))
    return frame.loc[pd.Timestamp(query.start) : pd.Timestamp(query.end)] if len(frame) else frame


__all__ = [
    "BASE_URL_ENV",
    "BATCH_ENV",
    "DEFAULT_BASE_URL",
    "SPARK_BATCH",
    "SPARK_RANGES",
    "YahooChart",
    "parse_chart",
    "parse_spark",
    "spark_range",
    "to_yahoo",
]
