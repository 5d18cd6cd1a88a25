"""Direxion: a fund's net assets and shares outstanding at one close, from its daily holdings
file (one request per fund, one day per request).

* URL: ``{base}/holdings/{TICKER}.csv``, base ``https://www.direxion.com``
  (``$LEV_FLOWS_DIREXION_URL`` or the constructor). Only the current file is online: the URL
  carries no date, so past days cannot be back-filled (they build up from daily fetches).
* Layout: five preamble lines, then the holdings table::

      Direxion Daily S&P 500 Bull 3X Shares            <- fund name
      SPXL                                              <- ticker
      Shares Outstanding:26150000                       <- shares (a space after the colon and
                                                           thousands separators are accepted)
                                                        <- two blank lines
      TradeDate,AccountTicker,StockTicker,SecurityDescription,Shares,Price,MarketValue,Cusip,HoldingsPercent
      02/03/2026,SPXL,NVDA,NVIDIA CORP,1480000,180.34,266903200.00,67066G104,4.76

  ``TradeDate`` is month-first (``MM/DD/YYYY``, a trailing time is ignored) and the same on
  every row; ``Shares`` (units or contracts), ``Price`` and ``MarketValue`` are USD;
  ``HoldingsPercent`` is the line's share of net assets in percent. Swap lines carry their
  market value (gain or loss), not their notional, so no exposure is read here (see
  :mod:`lev_flows.inputs.sources.issuers`).
* Read: ``aum_usd`` = the sum of ``MarketValue`` over every line (stocks, swaps, money-market
  funds, cash); ``shares_outstanding`` from the preamble; ``nav`` = ``aum_usd /
  shares_outstanding`` (the file gives no NAV, so the shared NAV x shares check cannot catch a
  unit error: :func:`market_value_units` does it instead, from each stock line's ``Shares x
  Price`` against its ``MarketValue``). The observation is dated ``TradeDate``, taken as the
  close the positions are of (the convention of :func:`~lev_flows.inputs.sources.issuers.parse_direxion`).

Evidence: URL and preamble from public scrapers, e.g. a ``DirexionProvider`` documenting
``L0 fund name, L1 ticker, L2 Shares Outstanding:<N>, L3-L4 blank, L5 header`` and reading
``aum = sum(MarketValue)``, ``nav = aum / shares``; a crawler reading the table with
``skiprows=5`` and the shares as ``float(line 3 after ':')``; the header and column order in
JavaScript readers (``c[1]`` = AccountTicker, ``c[6]`` = MarketValue). Confirmed: URL, preamble
order, header. Assumed: the number format of the shares line (parsed leniently), that the file
has no NAV (no scraper reads one; Direxion's NAVs are on its web pages, not in a file), and
that ``TradeDate`` is the close the figures are of. No Direxion historical-NAV or fund-data
download (CSV/XLSX with net assets and shares) was found in public code; research notes report
"no free historical series" (Direxion's site answers bots with HTTP 403).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import statistics
from collections.abc import Sequence

from lev_flows.inputs.sources.http import BadResponse
from lev_flows.inputs.sources.issuer_aum.base import (
    IssuerAumProvider,
    Observation,
    number,
    us_date,
)
from lev_flows.inputs.sources.issuers import (
    CASH_LINE,
    DIREXION_URL,
    DIREXION_URL_ENV,
    _text,
)

HEADER = ("TradeDate", "AccountTicker", "StockTicker", "SecurityDescription", "Shares", "Price", "MarketValue")
#: the preamble is this many lines at most before the header
PREAMBLE_LINES = 8
#: median Shares x Price / MarketValue of the stock lines in this band: market values in thousands
THOUSANDS_BAND = (500.0, 2000.0)
SHARES_LINE = re.compile(r'^\W*shares outstanding\s*:\s*"?\s*([\d,.]+)', re.IGNORECASE)


def table(text: str) -> tuple[list[str], list[dict[str, str]]]:
    """The preamble lines and the holdings rows; a file without the ``TradeDate,...`` header
    (another layout) is a :class:`BadResponse`."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.replace('"', "").strip().lower().startswith("tradedate,")), None)
    if start is None:
        raise BadResponse(f"no '{','.join(HEADER[:3])},...' header: not a Direxion holdings file")
    reader = csv.DictReader(io.StringIO("\n".join(lines[start:])))
    missing = [c for c in HEADER if c not in (reader.fieldnames or [])]
    if missing:
        raise BadResponse(f"Direxion holdings header lacks {', '.join(missing)}")
    rows = [r for r in reader if any((v or "").strip() for v in r.values() if isinstance(v, str))]
    return lines[:start], rows


def shares_outstanding(preamble: list[str]) -> float:
    """The ``Shares Outstanding: N`` preamble line as a number of shares (positive)."""
    for line in preamble[:PREAMBLE_LINES]:
        m = SHARES_LINE.match(line)
        if m:
            shares = number(m[1], "Shares Outstanding")
            if not shares or shares <= 0:
                raise BadResponse(f"shares outstanding {m[1]!r} is not a positive number")
            return shares
    raise BadResponse("no 'Shares Outstanding:' line in the preamble")


def trade_date(rows: list[dict[str, str]]) -> dt.date:
    """The one ``TradeDate`` of the file's rows (month-first; a day-first date is refused)."""
    days = {us_date(r.get("TradeDate") or "", "TradeDate") for r in rows}
    if len(days) != 1:
        raise BadResponse(f"the rows carry {len(days)} trade dates ({', '.join(sorted(map(str, days)))})")
    return days.pop()


def market_value_units(rows: list[dict[str, str]]) -> None:
    """Refuse a file whose market values are in thousands: on stock lines (not swaps, cash or
    money-market funds) ``Shares x Price`` is the market value, so a median ratio near 1,000
    says the ``MarketValue`` column is in thousands of dollars."""
    ratios = []
    for r in rows:
        text = f"{r.get('SecurityDescription') or ''} {r.get('StockTicker') or ''}"
        if "SWAP" in text.upper() or CASH_LINE.search(text):
            continue
        shares, price = number(r.get("Shares"), "Shares"), number(r.get("Price"), "Price")
        value = number(r.get("MarketValue"), "MarketValue")
        if shares and price and value:
            ratios.append(abs(shares * price / value))
    if ratios and THOUSANDS_BAND[0] < statistics.median(ratios) < THOUSANDS_BAND[1]:
        raise BadResponse(f"market values look given in thousands (Shares x Price is {statistics.median(ratios):,.0f} x "
                          f"MarketValue on {len(ratios)} stock lines)")


def parse_holdings(ticker: str, body: bytes) -> Observation:
    """A fund's holdings file -> its observation (see the module docstring for the layout)."""
    preamble, rows = table(_text(body, "Direxion holdings"))
    funds = sorted({(r.get("AccountTicker") or "").strip().upper() for r in rows} - {""})
    if ticker.upper() not in funds:
        listed = f"the file is for {', '.join(funds)}" if funds else "the file has no holdings rows"
        raise BadResponse(f"{listed}: {ticker.upper()} is not listed by Direxion")
    rows = [r for r in rows if (r.get("AccountTicker") or "").strip().upper() == ticker.upper()]
    day = trade_date(rows)
    shares = shares_outstanding(preamble)
    market_value_units(rows)
    aum_usd = sum(number(r.get("MarketValue"), "MarketValue") or 0.0 for r in rows)
    return Observation(ticker.upper(), day, aum_usd, aum_usd / shares, shares)


class DirexionAum(IssuerAumProvider):
    """A Direxion fund's net assets from its daily holdings file (one request per fund)."""

    issuer = "Direxion"
    name = "Direxion holdings"
    url_env = DIREXION_URL_ENV
    default_url = DIREXION_URL

    def requests(self, tickers: Sequence[str]) -> list[tuple[str, str]]:
        return [(t, f"{self.base_url}/holdings/{t.upper()}.csv") for t in tickers]

    def parse(self, key: str, status: int, body: bytes, url: str) -> list[Observation]:
        return [parse_holdings(key, body)]


PROVIDER = DirexionAum

__all__ = ["HEADER", "PROVIDER", "DirexionAum", "market_value_units", "parse_holdings", "shares_outstanding", "table",
           "trade_date"]
