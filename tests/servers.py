"""Stand-ins for the real data services, served over HTTP on 127.0.0.1 inside the tests.

:class:`FakeYahoo` answers ``/v8/finance/chart/{symbol}`` in Yahoo's chart JSON from a price
table, and ``/v8/finance/spark?symbols=A,B&range=R&interval=1d`` (up to 20 symbols) in its spark
JSON: ``range=1d`` with ``quote_at`` set is a live quote (last price, previous close); any other
range (``5d``, ``1mo``, ``3mo``, ``6mo``, ``1y``, ``2y``, ``5y``, ``10y``) the daily bars from
``today`` less the range on, as Yahoo counts it. ``spark_shape="flat"`` answers the flatter shape
Yahoo also serves (``{"A": {"symbol", "timestamp", "close", "chartPreviousClose", ...}}``, no
adjusted closes, no live price). ``latency_s`` delays every answer (a distant service);
``quote_at`` is the clock of live quotes and may be moved between requests; ``today`` is the
service's date ranges count back from (default the machine's, as a real service's would be).
It can be told to misbehave per symbol (or, with the key ``"spark"``, for the whole spark
endpoint), request by request:

    "ok"          the chart JSON
    "500"         HTTP 500 with a text body
    "429:7"       HTTP 429 with ``Retry-After: 7``
    "sleep:1.5"   wait 1.5 s, then the chart (a read timeout for a short-timeout client)
    "cut"         HTTP 200 with the JSON cut in half (a complete response with a broken body)
    "short"       Content-Length of the whole JSON but only half sent, then the connection closes
    "html"        HTTP 200 with an HTML error page
    "empty"       HTTP 200 with no body
    "unknown"     HTTP 404 with Yahoo's "No data found" JSON
    "drip"        the chart JSON one small piece every 0.2 s

A list of actions is played in order, its last action repeating.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import threading
import time
from collections import Counter

import pandas as pd
from werkzeug import Request, Response

NEW_YORK = "America/New_York"


#: Yahoo's ranges, as it counts them back from today
RANGES = {"1d": pd.DateOffset(days=1), "5d": pd.DateOffset(days=5), "1mo": pd.DateOffset(months=1),
          "3mo": pd.DateOffset(months=3), "6mo": pd.DateOffset(months=6), "1y": pd.DateOffset(years=1),
          "2y": pd.DateOffset(years=2), "5y": pd.DateOffset(years=5), "10y": pd.DateOffset(years=10)}


@functools.lru_cache(maxsize=100_000)
def _epoch(day: dt.date) -> int:
    return int(pd.Timestamp(day).tz_localize(NEW_YORK).replace(hour=9, minute=30).timestamp())


def _session_epoch(day: pd.Timestamp) -> int:
    """Yahoo stamps a daily bar with the session's 09:30 New York open, in UTC seconds."""
    return _epoch(day.date())


class FakeYahoo:
    def __init__(self, closes: pd.DataFrame, faults: dict[str, list[str]] | None = None, quote_at: str | None = None,
                 latency_s: float = 0.0, flat_unknown: bool = False, spark_shape: str = "result",
                 today: str | None = None):
        self.closes = closes
        self.spark_shape = spark_shape
        machine = pd.Timestamp(dt.datetime.now(dt.UTC)).tz_convert(NEW_YORK).tz_localize(None).normalize()
        self.today = pd.Timestamp(today) if today else machine
        #: spark requests by range (``{"1d": 49, "6mo": 49}``)
        self.spark_ranges: Counter[str] = Counter()
        self._bars: dict = {}
        #: a real service knows every symbol: give one the table lacks a flat price
        self.flat_unknown = flat_unknown
        self.faults = dict(faults or {})
        self.quote_at = pd.Timestamp(quote_at, tz=NEW_YORK) if quote_at else None
        self.latency_s = latency_s
        self.requests = 0
        #: symbol -> last price now, over the table's (a market that moves between refreshes)
        self.live_prices: dict[str, float] = {}
        self._quotes: dict = {}
        self.hits: Counter[str] = Counter()
        self._lock = threading.Lock()

    # ---- the chart JSON ------------------------------------------------------------------

    def _quote(self, symbol: str) -> tuple[float, float, pd.Timestamp]:
        """(last, previous close, last bar's date) at ``quote_at``; ``live_prices`` overrides the last."""
        key = (symbol, self.quote_at, id(self.closes))
        hit = self._quotes.get(key)
        if hit is None:
            today = self.closes[symbol].dropna().loc[: pd.Timestamp(self.quote_at.date())]
            hit = self._quotes[key] = (float(today.iloc[-1]), float(today.iloc[-2]), today.index[-1])
        return self.live_prices.get(symbol, hit[0]), hit[1], hit[2]

    def _history(self, symbol: str, first: pd.Timestamp, end: pd.Timestamp | None) -> tuple[list[int], list[float], float | None]:
        """(bar stamps, closes, the close before the first bar) from ``first`` to before ``end``."""
        key = (symbol, first, end, id(self.closes))
        hit = self._bars.get(key)
        if hit is None:
            col = self.closes[symbol].dropna()
            rows = col[(col.index >= first) & (col.index < end)] if end is not None else col[col.index >= first]
            before = col[col.index < first]
            hit = self._bars[key] = ([_session_epoch(d) for d in rows.index], [round(float(v), 6) for v in rows],
                                     float(before.iloc[-1]) if len(before) else None)
        return hit

    def chart(self, symbol: str, args) -> dict:
        span = args.get("range")
        if span == "1d" and self.quote_at is not None:  # a live quote: last price now, previous close
            now = self.quote_at
            last, prev, day = self._quote(symbol)
            meta = {"symbol": symbol, "regularMarketPrice": last, "chartPreviousClose": prev,
                    "regularMarketTime": int(now.timestamp())}
            stamps, closes = [_session_epoch(day)], [round(float(last), 6)]
        elif span is not None:  # daily bars over a range counted back from the service's today
            end = pd.Timestamp(self.quote_at.date()) + pd.Timedelta(days=1) if self.quote_at is not None else None
            stamps, closes, prev = self._history(symbol, self.today - RANGES[span], end)
            meta = {"symbol": symbol, "chartPreviousClose": prev}
        else:
            p1 = pd.Timestamp(int(args["period1"]), unit="s", tz="UTC").tz_convert(NEW_YORK).tz_localize(None)
            p2 = pd.Timestamp(int(args["period2"]), unit="s", tz="UTC").tz_convert(NEW_YORK).tz_localize(None)
            stamps, closes, _ = self._history(symbol, p1.normalize(), p2)
            meta = {"symbol": symbol}  # a range without trades: a result with no bars
        return {
            "chart": {
                "result": [
                    {
                        "meta": meta,
                        "timestamp": stamps,
                        "indicators": {"quote": [{"close": closes}], "adjclose": [{"adjclose": closes}]},
                    }
                ],
                "error": None,
            }
        }

    # ---- the HTTP handler ----------------------------------------------------------------

    def spark(self, request: Request) -> Response:
        """Up to 20 symbols in one answer (live quotes, or daily bars over a range); unknown
        symbols are left out."""
        span = request.args.get("range", "1d")
        with self._lock:
            n = self.hits["spark"]
            self.hits["spark"] += 1
            self.spark_ranges[span] += 1
        actions = self.faults.get("spark", ["ok"])
        action = actions[min(n, len(actions) - 1)]
        if action == "500":
            return Response("Internal Server Error", status=500)
        if action == "html":
            return Response("<!DOCTYPE html><html><body>blocked</body></html>", content_type="text/html")
        asked = [s if s.startswith("^") else s.replace("-", ".") for s in request.args.get("symbols", "").split(",") if s]
        if len(asked) > 20:
            return Response('{"spark":{"result":null,"error":{"code":"Bad Request","description":"too many symbols"}}}', status=400)
        if span not in RANGES:
            return Response('{"spark":{"result":null,"error":{"code":"Bad Request","description":"invalid range"}}}', status=400)
        result, flat = [], {}
        for sym in asked:
            if sym in self.closes.columns and sym not in self.faults:
                with self._lock:
                    self.hits[sym] += 1
                chart = self.chart(sym, {"range": span})["chart"]["result"][0]
                chart["meta"]["symbol"] = sym if sym.startswith("^") else sym.replace(".", "-")
                result.append({"symbol": chart["meta"]["symbol"], "response": [chart]})
                flat[chart["meta"]["symbol"]] = {
                    "symbol": chart["meta"]["symbol"], "timestamp": chart["timestamp"],
                    "close": chart["indicators"]["quote"][0]["close"], "chartPreviousClose": chart["meta"].get("chartPreviousClose"),
                    "previousClose": None, "dataGranularity": 86400, "start": None, "end": None,
                }
        doc = flat if self.spark_shape == "flat" else {"spark": {"result": result, "error": None}}
        return Response(json.dumps(doc), content_type="application/json")

    def _know(self, symbols: list[str]) -> None:
        with self._lock:
            new = sorted({s for s in symbols if s and s not in self.closes.columns})
            if new:
                flat = pd.DataFrame(100.0, index=self.closes.index, columns=new)
                self.closes = pd.concat([self.closes, flat], axis=1)

    def __call__(self, request: Request) -> Response:
        if request.path == "/_stats":  # the benchmarks' count of what was asked (not counted itself)
            return Response(json.dumps({"requests": self.requests, "spark_ranges": dict(self.spark_ranges)}),
                            content_type="application/json")
        with self._lock:
            self.requests += 1
        if self.flat_unknown:
            raw = request.args.get("symbols", "").split(",") if request.path.endswith("/spark") else [request.path.rsplit("/", 1)[1]]
            self._know([s if s.startswith("^") else s.replace("-", ".") for s in raw])
        if self.latency_s:
            time.sleep(self.latency_s)
        if request.path.endswith("/spark"):
            return self.spark(request)
        symbol = request.path.rsplit("/", 1)[1]
        symbol = symbol if symbol.startswith("^") else symbol.replace("-", ".")
        with self._lock:
            n = self.hits[symbol]
            self.hits[symbol] += 1
        actions = self.faults.get(symbol, ["ok"])
        action = actions[min(n, len(actions) - 1)]
        if symbol not in self.closes.columns or action == "unknown":
            body = {"chart": {"result": None, "error": {"code": "Not Found", "description": "No data found, symbol may be delisted"}}}
            return Response(json.dumps(body), status=404, content_type="application/json")
        if action == "500":
            return Response("Internal Server Error", status=500)
        if action.startswith("429:"):
            return Response('{"finance":{"error":"Too Many Requests"}}', status=429, headers={"Retry-After": action[4:]})
        if action == "html":
            return Response("<!DOCTYPE html><html><body><h1>Will be right back</h1></body></html>", content_type="text/html")
        if action == "empty":
            return Response(b"", content_type="application/json")
        if action.startswith("sleep:"):
            time.sleep(float(action[6:]))
        body = json.dumps(self.chart(symbol, request.args)).encode()
        if action == "cut":
            return Response(body[: len(body) // 2], content_type="application/json")
        if action == "short":
            resp = Response(body[: len(body) // 2], content_type="application/json")
            resp.headers["Content-Length"] = str(len(body))
            resp.headers["Connection"] = "close"
            return resp
        if action == "drip":
            def pieces():
                for i in range(0, len(body), max(1, len(body) // 10)):
                    time.sleep(0.2)
                    yield body[i : i + max(1, len(body) // 10)]

            return Response(pieces(), content_type="application/json", direct_passthrough=True)
        return Response(body, content_type="application/json")


def main(argv: list[str] | None = None) -> None:
    """``python -m tests.servers TABLE.parquet [--latency S] [--quote-at T] [--today D]``: a
    FakeYahoo over the table on 127.0.0.1 in its own process (so the benchmarks time the client,
    not the server's Python sharing its interpreter); prints ``port N`` once it listens."""
    import argparse
    import logging

    from werkzeug.serving import make_server

    ap = argparse.ArgumentParser()
    ap.add_argument("table")
    ap.add_argument("--latency", type=float, default=0.0)
    ap.add_argument("--quote-at", default=None)
    ap.add_argument("--today", default=None)
    args = ap.parse_args(argv)
    fake = FakeYahoo(pd.read_parquet(args.table), quote_at=args.quote_at, latency_s=args.latency, today=args.today)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = make_server("127.0.0.1", 0, Request.application(fake), threaded=True)
    print(f"port {server.server_port}", flush=True)
    server.serve_forever()


def serve_text(text: str | bytes, status: int = 200, content_type: str = "text/csv"):
    """A handler answering every request with the same body."""

    def handler(request: Request) -> Response:
        return Response(text, status=status, content_type=content_type)

    return handler


if __name__ == "__main__":
    main()


# ---- issuer providers' tests: one client and one row shape for every issuer --------------------------


def issuer_client(attempts: int = 1, concurrency: int = 2):
    """The HTTP client an issuer provider's test uses: no cache, no waiting between attempts,
    2 s a request and 5 s a run (a loopback server answers in milliseconds)."""
    from lev_flows.inputs.sources.http import HttpClient, HttpSettings

    settings = HttpSettings(attempts=attempts, backoff_s=0, timeout_s=2.0, deadline_s=5.0, concurrency=concurrency, cache_dir=None)
    return HttpClient(settings, sleep=lambda _s: None)


def observation_rows(frame: pd.DataFrame, ticker: str | None = None) -> list[tuple]:
    """A provider's observations as ``(ticker, date, aum_usd, nav, shares_outstanding)`` tuples,
    by ticker then date (only ``ticker``'s when given)."""
    if ticker is not None:
        frame = frame[frame["ticker"] == ticker]
    frame = frame.sort_values(["ticker", "date"], kind="stable")
    return list(zip(frame["ticker"], frame["date"], frame["aum_usd"], frame["nav"], frame["shares_outstanding"]))
