"""Issuer fund data: the daily holdings files ProShares and Direxion publish, parsed into
:class:`FundHoldings` (net assets, exposure, shares outstanding).

* ProShares, ``{base}/etfdata/ByFund/{TICKER}-psdlyhld.csv``: a few preamble lines (one reads
  ``AS OF MM/DD/YYYY``), then ``Fund Ticker,Fund Name,Security Ticker,Sedol,Description,
  Coupon,Maturity,Shares,Exposure Value,Market Value``. ``Exposure Value`` is the notional
  of each stock, swap and futures line, so the fund's exposure ``E`` is their sum and its net
  assets ``N`` the sum of ``Market Value`` (cash and bills included): enough for the exact
  re-leveraging trade (see :func:`lev_flows.model.formula.holdings_rebalance_usd`). Columns are
  matched by their stable prefix (``Exposure Value (Notional + G/L)`` is the exposure too);
  cash, bills, repurchase agreements, money-market and collateral lines never count toward
  ``E`` even when they carry an exposure value (they are set aside and reported), and the
  futures lines' share of ``E`` is kept (that part of the trade does not reach the stocks'
  closing auctions). Whether ``E / N`` is close to the fund's leverage is checked where the
  leverage is known (:func:`lev_flows.model.estimate.estimate`), not here.
* Direxion, ``{base}/holdings/{TICKER}.csv``: fund name, ticker, ``Shares Outstanding: N``,
  blank lines, then ``TradeDate,AccountTicker,StockTicker,SecurityDescription,Shares,Price,
  MarketValue,Cusip,HoldingsPercent``. Its swap lines carry market values, not notionals, so
  only net assets and shares outstanding are taken from it (for creations), not exposure.

Base URLs: ``LEV_FLOWS_PROSHARES_URL`` and ``LEV_FLOWS_DIREXION_URL`` (or the constructor).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
import statistics

from pydantic import BaseModel

from lev_flows.inputs.sources.base import Progress
from lev_flows.inputs.sources.http import BadResponse, HttpClient
from lev_flows.inputs.sources.issuer_aum.base import number, us_date

PROSHARES_URL_ENV = "LEV_FLOWS_PROSHARES_URL"
DIREXION_URL_ENV = "LEV_FLOWS_DIREXION_URL"
PROSHARES_URL = "https://accounts.profunds.com"
DIREXION_URL = "https://www.direxion.com"
HOLDINGS_TTL_S = 6 * 3600.0  # published once a day, before the open


class FundHoldings(BaseModel):
    """One fund's published position: USD amounts as of the close of ``as_of``."""

    ticker: str
    issuer: str
    as_of: dt.date | None
    nav_usd: float
    exposure_usd: float | None = None
    shares_outstanding: float | None = None
    positions: int
    source_url: str = ""
    #: exposure (USD) of the futures lines, part of ``exposure_usd``
    futures_exposure_usd: float | None = None
    #: exposure values found on cash / bill / collateral lines and left out of ``exposure_usd``
    set_aside_exposure_usd: float = 0.0


#: lines that are the fund's cash and collateral, never its exposure
CASH_LINE = re.compile(
    r"\b(CASH|TREASURY BILLS?|T-?BILLS?|REPURCHASE|REPO|MONEY MARKET|COLLATERAL|NET OTHER ASSETS|RECEIVABLE|PAYABLE|"
    r"GOVT OBLIGATIONS? FUND|GOVERNMENT (?:MONEY|OBLIGATIONS))\b",
    re.IGNORECASE,
)
FUTURES_LINE = re.compile(r"\bFUTURES?\b|\bFUT\b", re.IGNORECASE)


def _column(row: dict, prefix: str) -> str | None:
    """The column whose name starts with ``prefix`` (issuers append units or notes to it)."""
    for name in row:
        if name and name.strip().lower().startswith(prefix.lower()):
            return name
    return None


def _number(text: str | None) -> float:
    """``"1,234.5"``, ``"$1,234"``, ``"(12.5)"`` -> float; blank -> 0."""
    t = (text or "").strip().replace(",", "").replace("$", "")
    if not t or t in ("-", "--"):
        return 0.0
    neg = t.startswith("(") and t.endswith(")")
    try:
        v = float(t.strip("()"))
    except ValueError:
        raise BadResponse(f"not a number: {text!r}") from None
    return -v if neg else v


def _text(body: bytes, kind: str) -> str:
    if not body.strip():
        raise BadResponse("empty body")
    if body.lstrip()[:1] == b"<":
        raise BadResponse(f"HTML page instead of {kind} CSV (the fund may not exist, or the site blocked us)")
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError:
        return body.decode("latin-1")


def _date(text: str) -> dt.date | None:
    m = re.search(r"(\d{1,2})/(\d{1,2})/(\d{4})", text)
    if not m:
        return None
    try:
        return dt.date(int(m[3]), int(m[1]), int(m[2]))
    except ValueError:
        raise BadResponse(f"date {m[0]} is not a date") from None


def _check_status(status: int) -> None:
    if status == 404:
        raise BadResponse("unknown fund (HTTP 404)")
    if status >= 400:
        raise BadResponse(f"HTTP {status}")


def _fund_rows(ticker: str, status: int, body: bytes, issuer: str, header: str, column: str) -> tuple[list[str], list[dict]]:
    """The file's lines and its CSV rows for ``ticker``; the table starts at the line beginning
    with ``header`` and rows belong to the fund named in ``column``."""
    _check_status(status)
    lines = _text(body, issuer).splitlines()
    start = next((i for i, line in enumerate(lines) if line.lower().startswith(header.lower())), None)
    if start is None:
        raise BadResponse(f"no '{header},...' header: not a {issuer} holdings file")
    table = csv.DictReader(io.StringIO("\n".join(lines[start:])))
    rows = [r for r in table if (r.get(column) or "").strip().upper() == ticker.upper()]
    if not rows:
        raise BadResponse(f"no holdings rows for {ticker}")
    return lines, rows


def parse_proshares(ticker: str, status: int, body: bytes) -> FundHoldings:
    """N = sum of ``Market Value`` (cash and bills included), E = sum of ``Exposure Value`` over
    the stock, swap and futures lines (cash and collateral lines set aside)."""
    lines, rows = _fund_rows(ticker, status, body, "ProShares", "Fund Ticker", "Fund Ticker")
    exposure_col, market_col = _column(rows[0], "Exposure Value"), _column(rows[0], "Market Value")
    if exposure_col is None or market_col is None:
        raise BadResponse("missing 'Exposure Value' or 'Market Value' columns")
    exposure = futures = set_aside = 0.0
    for r in rows:
        value = _number(r[exposure_col])
        description = f"{r.get('Description') or ''} {r.get('Security Ticker') or ''}"
        if CASH_LINE.search(description):
            set_aside += value
        else:
            exposure += value
            if FUTURES_LINE.search(description):
                futures += value
    return FundHoldings(
        ticker=ticker.upper(),
        issuer="ProShares",
        as_of=next((_date(line) for line in lines if line.upper().startswith("AS OF")), None),
        nav_usd=sum(_number(r[market_col]) for r in rows),
        exposure_usd=exposure,
        futures_exposure_usd=futures,
        set_aside_exposure_usd=set_aside,
        positions=len(rows),
    )


DIREXION_HEADER = ("TradeDate", "AccountTicker", "StockTicker", "SecurityDescription", "Shares", "Price", "MarketValue")
#: the preamble is this many lines at most before the header
DIREXION_PREAMBLE_LINES = 8
#: median Shares x Price / MarketValue of the stock lines in this band: market values in thousands
DIREXION_THOUSANDS_BAND = (500.0, 2000.0)
DIREXION_SHARES_LINE = re.compile(r'^\W*shares outstanding\s*:\s*"?\s*([\d,.]+)', re.IGNORECASE)


def direxion_table(text: str) -> tuple[list[str], list[dict[str, str]]]:
    """The preamble lines and the holdings rows; a file without the ``TradeDate,...`` header
    (another layout) is a :class:`BadResponse`."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.replace('"', "").strip().lower().startswith("tradedate,")), None)
    if start is None:
        raise BadResponse(f"no '{','.join(DIREXION_HEADER[:3])},...' header: not a Direxion holdings file")
    reader = csv.DictReader(io.StringIO("\n".join(lines[start:])))
    missing = [c for c in DIREXION_HEADER if c not in (reader.fieldnames or [])]
    if missing:
        raise BadResponse(f"Direxion holdings header lacks {', '.join(missing)}")
    rows = [r for r in reader if any((v or "").strip() for v in r.values() if isinstance(v, str))]
    return lines[:start], rows


def direxion_shares(preamble: list[str]) -> float:
    """The ``Shares Outstanding: N`` preamble line as a number of shares (positive); no such line
    is a :class:`BadResponse`."""
    for line in preamble[:DIREXION_PREAMBLE_LINES]:
        m = DIREXION_SHARES_LINE.match(line)
        if m:
            shares = number(m[1], "Shares Outstanding")
            if not shares or shares <= 0:
                raise BadResponse(f"shares outstanding {m[1]!r} is not a positive number")
            return shares
    raise BadResponse("no 'Shares Outstanding:' line in the preamble")


def direxion_trade_date(rows: list[dict[str, str]]) -> dt.date:
    """The one ``TradeDate`` of the file's rows (month-first; a day-first date is refused)."""
    days = {us_date(r.get("TradeDate") or "", "TradeDate") for r in rows}
    if len(days) != 1:
        raise BadResponse(f"the rows carry {len(days)} trade dates ({', '.join(sorted(map(str, days)))})")
    return days.pop()


def direxion_market_value_units(rows: list[dict[str, str]]) -> None:
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
    if ratios and DIREXION_THOUSANDS_BAND[0] < statistics.median(ratios) < DIREXION_THOUSANDS_BAND[1]:
        raise BadResponse(f"market values look given in thousands (Shares x Price is {statistics.median(ratios):,.0f} x "
                          f"MarketValue on {len(ratios)} stock lines)")


def read_direxion(ticker: str, body: bytes, *, need_shares: bool = True) -> tuple[dt.date, list[dict[str, str]], float | None, float]:
    """A Direxion daily holdings file (layout: :mod:`lev_flows.inputs.sources.issuer_aum.direxion`)
    -> ``(trade date, the fund's rows, shares outstanding, net assets USD)``: net assets are the
    sum of ``MarketValue`` over every line; the rows must name ``ticker``, carry one month-first
    trade date and market values in dollars (not thousands). Without ``need_shares`` a file with
    no shares line gives None for them. Every defect is a :class:`BadResponse`."""
    preamble, rows = direxion_table(_text(body, "Direxion holdings"))
    funds = sorted({(r.get("AccountTicker") or "").strip().upper() for r in rows} - {""})
    if ticker.upper() not in funds:
        listed = f"the file is for {', '.join(funds)}" if funds else "the file has no holdings rows"
        raise BadResponse(f"{listed}: {ticker.upper()} is not listed by Direxion")
    rows = [r for r in rows if (r.get("AccountTicker") or "").strip().upper() == ticker.upper()]
    day = direxion_trade_date(rows)
    try:
        shares: float | None = direxion_shares(preamble)
    except BadResponse:
        if need_shares:
            raise
        shares = None
    direxion_market_value_units(rows)
    aum_usd = sum(number(r.get("MarketValue"), "MarketValue") or 0.0 for r in rows)
    return day, rows, shares, aum_usd


def parse_direxion(ticker: str, status: int, body: bytes) -> FundHoldings:
    """N = the file's net assets (:func:`read_direxion`, the reader the AUM provider uses); shares
    from the ``Shares Outstanding:`` preamble line when it has one."""
    _check_status(status)
    day, rows, shares, nav_usd = read_direxion(ticker, body, need_shares=False)
    return FundHoldings(ticker=ticker.upper(), issuer="Direxion", as_of=day, nav_usd=nav_usd,
                        shares_outstanding=shares, positions=len(rows))


class IssuerHoldings:
    """Daily holdings of ProShares and Direxion funds over HTTP."""

    name = "issuer holdings"

    def __init__(self, client: HttpClient, proshares_url: str | None = None, direxion_url: str | None = None):
        self.client = client
        self.proshares_url = (proshares_url or os.environ.get(PROSHARES_URL_ENV) or PROSHARES_URL).rstrip("/")
        self.direxion_url = (direxion_url or os.environ.get(DIREXION_URL_ENV) or DIREXION_URL).rstrip("/")

    def url(self, ticker: str, issuer: str) -> str:
        if issuer == "ProShares":
            return f"{self.proshares_url}/etfdata/ByFund/{ticker.upper()}-psdlyhld.csv"
        return f"{self.direxion_url}/holdings/{ticker.upper()}.csv"

    def fetch(
        self, funds: dict[str, str], progress: Progress | None = None
    ) -> tuple[dict[str, FundHoldings], dict[str, str]]:
        """``funds`` maps ticker -> issuer (``ProShares`` or ``Direxion``; others are skipped).

        Returns (holdings by ticker, error by ticker)."""
        results: dict[str, FundHoldings] = {}
        errors: dict[str, str] = {}
        for issuer, parser in (("ProShares", parse_proshares), ("Direxion", parse_direxion)):
            tickers = sorted(t for t, i in funds.items() if i == issuer)
            if not tickers:
                continue
            got, failed = self.client.get_many(
                ((t, self.url(t, issuer), None) for t in tickers), parser, ttl_s=HOLDINGS_TTL_S, progress=progress
            )
            results.update({t: h.model_copy(update={"source_url": self.url(t, issuer)}) for t, h in got.items()})
            errors.update(failed)
        return results, errors


__all__ = ["FundHoldings", "IssuerHoldings", "parse_proshares", "parse_direxion", "read_direxion"]
