"""Stand-ins for the real data services, served over HTTP on 127.0.0.1 inside the tests.

:class:`FakeYahoo` answers ``/v8/finance/chart/{symbol}`` in Yahoo's chart JSON from a price
table, and ``/v8/finance/spark?symbols=A,B&range=1d`` (live quotes, up to 20 symbols) in its
spark JSON. ``latency_s`` delays every answer (a distant service); ``quote_at`` is the clock of
live quotes and may be moved between requests. It can be told to misbehave per symbol (or, with
the key ``"spark"``, for the whole spark endpoint), request by request:

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

import json
import threading
import time
from collections import Counter

import pandas as pd
from werkzeug import Request, Response

NEW_YORK = "America/New_York"


def _session_epoch(day: pd.Timestamp) -> int:
    """Yahoo stamps a daily bar with the session's 09:30 New York open, in UTC seconds."""
    return int(pd.Timestamp(day.date()).tz_localize(NEW_YORK).replace(hour=9, minute=30).timestamp())


class FakeYahoo:
    def __init__(self, closes: pd.DataFrame, faults: dict[str, list[str]] | None = None, quote_at: str | None = None,
                 latency_s: float = 0.0, flat_unknown: bool = False):
        self.closes = closes
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

    def chart(self, symbol: str, args) -> dict:
        if "range" in args:  # a live quote: last price now, previous close
            now = self.quote_at
            last, prev, day = self._quote(symbol)
            meta = {"symbol": symbol, "regularMarketPrice": last, "chartPreviousClose": prev,
                    "regularMarketTime": int(now.timestamp())}
            rows = pd.Series([last], index=[day])
        else:
            col = self.closes[symbol].dropna()
            p1 = pd.Timestamp(int(args["period1"]), unit="s", tz="UTC").tz_convert(NEW_YORK).tz_localize(None)
            p2 = pd.Timestamp(int(args["period2"]), unit="s", tz="UTC").tz_convert(NEW_YORK).tz_localize(None)
            rows = col[(col.index >= p1.normalize()) & (col.index < p2)]
            meta = {"symbol": symbol}  # a range without trades: a result with no bars
        closes = [round(float(v), 6) for v in rows]
        return {
            "chart": {
                "result": [
                    {
                        "meta": meta,
                        "timestamp": [_session_epoch(d) for d in rows.index],
                        "indicators": {"quote": [{"close": closes}], "adjclose": [{"adjclose": closes}]},
                    }
                ],
                "error": None,
            }
        }

    # ---- the HTTP handler ----------------------------------------------------------------

    def spark(self, request: Request) -> Response:
        """Live quotes of up to 20 symbols in one answer; unknown symbols are left out."""
        with self._lock:
            n = self.hits["spark"]
            self.hits["spark"] += 1
        actions = self.faults.get("spark", ["ok"])
        action = actions[min(n, len(actions) - 1)]
        if action == "500":
            return Response("Internal Server Error", status=500)
        if action == "html":
            return Response("<!DOCTYPE html><html><body>blocked</body></html>", content_type="text/html")
        asked = [s if s.startswith("^") else s.replace("-", ".") for s in request.args.get("symbols", "").split(",") if s]
        if len(asked) > 20:
            return Response('{"spark":{"result":null,"error":{"code":"Bad Request","description":"too many symbols"}}}', status=400)
        result = []
        for sym in asked:
            if sym in self.closes.columns and sym not in self.faults:
                with self._lock:
                    self.hits[sym] += 1
                chart = self.chart(sym, {"range": "1d"})["chart"]["result"][0]
                chart["meta"]["symbol"] = sym if sym.startswith("^") else sym.replace(".", "-")
                result.append({"symbol": chart["meta"]["symbol"], "response": [chart]})
        return Response(json.dumps({"spark": {"result": result, "error": None}}), content_type="application/json")

    def _know(self, symbols: list[str]) -> None:
        with self._lock:
            new = sorted({s for s in symbols if s and s not in self.closes.columns})
            if new:
                flat = pd.DataFrame(100.0, index=self.closes.index, columns=new)
                self.closes = pd.concat([self.closes, flat], axis=1)

    def __call__(self, request: Request) -> Response:
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


def serve_text(text: str | bytes, status: int = 200, content_type: str = "text/csv"):
    """A handler answering every request with the same body."""

    def handler(request: Request) -> Response:
        return Response(text, status=status, content_type=content_type)

    return handler
