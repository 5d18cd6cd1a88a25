"""Leverage Shares (the US "Leverage Shares 2X Long XXX Daily ETF" funds of the Themes ETF Trust:
AALG, AAOG, SNDG, SKHX, ...): each fund's "Full Holdings" CSV on leverageshares.com.

**Source.** ``{base}/us/storage/holdings/{TICKER}_Holdings.csv`` (base
``https://leverageshares.com``), one file per fund, the positions of one day. No preamble; the
layout is the U.S. Bank "Filepoint" holdings export that Tidal-administered funds share::

    Date,Account,StockTicker,CUSIP,SecurityName,Shares,Price,MarketValue,Weightings,NetAssets,
    SharesOutstanding,CreationUnits,MoneyMarketFlag
    02/03/2026,AAOG,AAOI US TRS 020527,03823U102 TRS,APPLIED OPTOELECTRONICS INC SWAP,...,200.07%,
    18420615.37,750000,30,

* ``Date``: ``MM/DD/YYYY``, the close of the positions; ``Account``: the fund's ticker;
* ``NetAssets``: the fund's net assets, USD in full, repeated on every row; ``SharesOutstanding``:
  the fund's shares, repeated likewise (read when the column is there);
* ``MarketValue`` (USD) and ``Weightings`` (``MarketValue / NetAssets`` in %, signed, above 100 %
  for the swap): the swap line's market value is its **exposure** (notional), so the sum of
  ``MarketValue`` is *not* the net assets of a swap-based fund and is not used for them. They
  serve as a check instead: ``MarketValue / Weightings`` of the line with the largest weight must
  agree with ``NetAssets`` (about 1000x is "net assets given in thousands").

The file has no NAV (``nav`` stays empty). It gives **one day** per fund, and its URL is not
dated: past days cannot be back-filled from it (nor from the fund page, which shows today only).
The file may lag the fund page by days, and once carried a date after the day it was read (one
fund): the shared checks refuse a future date.

**Evidence.** The URL pattern: a public research hand-off note on US SK hynix funds (code-search
id 70568439977: "Full Holdings CSV ... ``.../us/storage/holdings/{ticker}_Holdings.csv``" for
SKHX, SKHZ, SKHQ, with the lag and future-date remarks). The columns ``Date`` (``%m/%d/%Y``),
``Account``, ``StockTicker``, ``SecurityName``, ``Shares``, ``MarketValue``, ``Weightings`` (signed,
``200%``), ``NetAssets``: the same project's parser of these files (``parse_themes_holdings`` in
``market_microstructure/overseas_letf.py``, id 70120432186, and its test, id 70351925870: "MarketValue
for a swap is the publisher's exposure-style column, not its fair value"). *Assumed*: the rest of
the header (``CUSIP, Price, SharesOutstanding, CreationUnits, MoneyMarketFlag``), taken from the
same Filepoint export as published by Roundhill, YieldMax and Pacer (ids 61992271748, 70930129960);
``SharesOutstanding`` is read only when present.

Base URL: ``$LEV_FLOWS_LEVERAGESHARES_URL`` or the constructor.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from lev_flows.inputs.sources.http import BadResponse
from lev_flows.inputs.sources.issuer_aum.base import (
    IssuerAumProvider,
    Observation,
    number,
    us_date,
)

HOLDINGS_FILE = "/us/storage/holdings/{ticker}_Holdings.csv"
REQUIRED = ("Date", "Account", "MarketValue", "Weightings", "NetAssets")
#: a line weighing less than this (percent) is too coarsely rounded to check net assets with
CHECK_MIN_WEIGHT = 1.0
#: MarketValue / Weightings over NetAssets outside this range: the figures disagree
CHECK_RANGE = (0.8, 1.25)


def holdings_rows(body: bytes) -> list[dict[str, str]]:
    """The holdings CSV -> its rows (names stripped); an empty body, an HTML page (the site's
    answer for a fund it does not have) or another header is a BadResponse."""
    if not body.strip():
        raise BadResponse("empty body")
    if body.lstrip()[:1] == b"<":
        raise BadResponse("HTML page instead of the Leverage Shares holdings CSV")
    table = csv.DictReader(io.StringIO(body.decode("utf-8-sig", errors="replace")))
    header = [(name or "").strip() for name in (table.fieldnames or [])]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise BadResponse(f"not a Leverage Shares holdings file: no {', '.join(missing)} column "
                          f"(header: {', '.join(header)[:120]})")
    return [{(k or "").strip(): (v or "").strip() for k, v in row.items() if k is not None} for row in table]


def fund_rows(rows: list[dict[str, str]], ticker: str) -> list[dict[str, str]]:
    """The rows of ``ticker``'s account; a file of another fund (or none) is a BadResponse."""
    mine = [r for r in rows if r["Account"].upper() == ticker]
    if not mine:
        others = sorted({r["Account"].upper() for r in rows if r["Account"]})
        raise BadResponse(f"the file is for {', '.join(others)}, not {ticker}" if others else "no holdings rows")
    return mine


def _one(rows: list[dict[str, str]], column: str, where: str) -> float | None:
    """A fund-level figure repeated on every row: the same on all of them, or a BadResponse."""
    values = {number(r.get(column), f"{where} {column}") for r in rows} - {None}
    if len(values) > 1:
        raise BadResponse(f"{where}: {column} differs between rows ({', '.join(f'{v:,.2f}' for v in sorted(values))})")
    return values.pop() if values else None


def check_net_assets(rows: list[dict[str, str]], aum: float, where: str) -> None:
    """``MarketValue / Weightings`` of the heaviest line against ``NetAssets``: about 1000x is
    net assets in thousands, outside :data:`CHECK_RANGE` a disagreement (both BadResponse)."""
    weighted = [(number(r["Weightings"], f"{where} Weightings"), number(r["MarketValue"], f"{where} MarketValue"))
                for r in rows]
    weighted = [(w, mv) for w, mv in weighted if w and mv and abs(w) >= CHECK_MIN_WEIGHT]
    if not weighted:
        return
    weight, market_value = max(weighted, key=lambda p: abs(p[0]))
    implied = market_value / (weight / 100.0)
    ratio = implied / aum
    if 500 < ratio < 2000:
        raise BadResponse(f"{where}: net assets look given in thousands (NetAssets {aum:,.2f} against "
                          f"MarketValue / Weightings {implied:,.0f})")
    if not CHECK_RANGE[0] <= ratio <= CHECK_RANGE[1]:
        raise BadResponse(f"{where}: NetAssets {aum:,.2f} disagree with MarketValue / Weightings {implied:,.0f}")


def day_observation(ticker: str, date_text: str, rows: list[dict[str, str]]) -> Observation:
    """One fund's rows of one date -> its observation (net assets and shares from the rows). A
    BadResponse names the date and field (the shared client puts the fund and URL around it)."""
    day = us_date(date_text, "Date")
    where = str(day)
    aum = _one(rows, "NetAssets", where)
    if aum is None or aum <= 0:
        raise BadResponse(f"{where}: no NetAssets")
    check_net_assets(rows, aum, where)
    shares = _one(rows, "SharesOutstanding", where) if "SharesOutstanding" in rows[0] else None
    return Observation(ticker=ticker, date=day, aum_usd=aum, nav=None, shares_outstanding=shares)


class LeverageSharesProvider(IssuerAumProvider):
    """Net assets and shares of each Leverage Shares US fund from its Full Holdings CSV."""

    issuer = "Leverage Shares"
    name = "Leverage Shares holdings"
    url_env = "LEV_FLOWS_LEVERAGESHARES_URL"
    default_url = "https://leverageshares.com"

    def url(self, ticker: str) -> str:
        return self.base_url + HOLDINGS_FILE.format(ticker=ticker.upper())

    def requests(self, tickers: Sequence[str]) -> list[tuple[str, str]]:
        return [(t.upper(), self.url(t)) for t in tickers]

    def parse(self, key: str, status: int, body: bytes, url: str) -> list[Observation]:
        ticker = key.upper()
        by_date: dict[str, list[dict[str, str]]] = {}
        for row in fund_rows(holdings_rows(body), ticker):
            by_date.setdefault(row["Date"], []).append(row)
        return [day_observation(ticker, day, rows) for day, rows in by_date.items()]


PROVIDER = LeverageSharesProvider

__all__ = ["HOLDINGS_FILE", "PROVIDER", "LeverageSharesProvider", "check_net_assets", "day_observation",
           "fund_rows", "holdings_rows"]
