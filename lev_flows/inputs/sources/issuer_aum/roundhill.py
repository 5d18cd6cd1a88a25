"""Roundhill (the WeeklyPay 1.2x funds PLTW, HOOW, NVDW, TSLW, MAGX, ... and every other
Roundhill ETF): the one all-funds daily NAV file its fund administrator publishes.

**Source.** ``{base}/assets/data/FilepointRoundhill.40RU.RU_DailyNAV.csv`` (base
``https://www.roundhillinvestments.com``): a U.S. Bank "Filepoint" feed, one CSV for all
Roundhill funds, one row per fund, the last close. No preamble; the header is::

    Fund Name,Fund Ticker,CUSIP,Net Assets,Shares Outstanding,NAV,NAV Change Dollars,
    NAV Change Percentage,Market Price,Market Price Change Dollars,
    Market Price Change Percentage,Premium/Discount,Rate Date

    Roundhill Memory ETF,DRAM,77926X320,25910762038.87,357990000.000,72.38,1.05,1.48,73.85,...,06/30/2026

* ``Net Assets``: USD, in full; ``Shares Outstanding``: a count of shares (three decimals);
  ``NAV``: USD per share; ``Rate Date``: ``MM/DD/YYYY``, the close the row is of;
* columns are found by name (the same feed of other sponsors adds ``Median 30 Day Spread
  Percentage`` or spells ``Premium/Discount Percentage``); the five above are required.

The file gives **one day** (the latest close) per fund. Past days *can* be back-filled from the
dated all-funds holdings files ``{base}/assets/data/FilepointRoundhill.40RU.RU_Holdings_
{MMDDYYYY}.csv`` (``Date,Account,StockTicker,CUSIP,SecurityName,Shares,Price,MarketValue,
Weightings,NetAssets,SharesOutstanding,CreationUnits,MoneyMarketFlag``, fund-level NetAssets and
SharesOutstanding repeated on every row; a missing date answers HTTP 200 with the site's HTML
page); not read here. ``.../FilepointRoundhill.40RU.RU_{TICKER}_Daily.csv`` is a per-fund
history of NAV and market price only (no net assets or shares).

**Evidence.** Confirmed by public code (found by code search): a Java test of a Roundhill
ingestion service serving ``/FilepointRoundhill.40RU.RU_DailyNAV.csv`` with exactly the header
and DRAM row above (index id 57975940377); a PHP test with the same header and the row
``Roundhill AMD WeeklyPay ETF,AMDW,77926X783,148357191.93,2700000,54.95,...,05/29/2026`` (id
60194597580); a Python provider (``etf_providers.py``, class ``RoundhillProvider``, id
53953344748) and a Korean briefing script that parses ``Rate Date`` with ``%m/%d/%Y`` (id
70209577996); the holdings-file URL and columns from a multi-sponsor holdings collector (id
63907690255) and a DRAM fetcher (id 61489791288).

A row the file cannot vouch for (a day-first date, a figure that is not a number) fails that
fund alone, with the row's reason; the other funds' rows are kept.

Base URL: ``$LEV_FLOWS_ROUNDHILL_URL`` or the constructor.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from lev_flows.inputs.sources.http import BadResponse
from lev_flows.inputs.sources.issuer_aum.base import (
    IssuerAumProvider,
    Observation,
    Refused,
    number,
    us_date,
)

DAILY_NAV_PATH = "/assets/data/FilepointRoundhill.40RU.RU_DailyNAV.csv"
#: the one request's key (an all-funds file, not a ticker)
KEY = "Roundhill DailyNAV"
REQUIRED = ("Fund Ticker", "Net Assets", "Shares Outstanding", "NAV", "Rate Date")


def daily_nav_rows(body: bytes) -> list[dict[str, str]]:
    """The DailyNAV CSV -> its rows (column names stripped); an empty body, an HTML page (the
    site answers a missing file with its HTML app, HTTP 200) or another header is a BadResponse."""
    if not body.strip():
        raise BadResponse("empty body")
    if body.lstrip()[:1] == b"<":
        raise BadResponse("HTML page instead of the DailyNAV CSV (the file may have moved)")
    text = body.decode("utf-8-sig", errors="replace")
    table = csv.DictReader(io.StringIO(text))
    header = [(name or "").strip() for name in (table.fieldnames or [])]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise BadResponse(f"not Roundhill's DailyNAV file: no {', '.join(missing)} column "
                          f"(header: {', '.join(header)[:120]})")
    rows = [{(k or "").strip(): (v or "").strip() for k, v in row.items() if k is not None} for row in table]
    if not rows:
        raise BadResponse("header only, no rows")
    return rows


def row_observation(row: dict[str, str]) -> Observation:
    """One fund's row -> an observation (a BadResponse names the fund and the field)."""
    ticker = row["Fund Ticker"].upper()
    return Observation(
        ticker=ticker,
        date=us_date(row["Rate Date"], f"{ticker} Rate Date"),
        aum_usd=number(row["Net Assets"], f"{ticker} Net Assets") or 0.0,
        nav=number(row["NAV"], f"{ticker} NAV"),
        shares_outstanding=number(row["Shares Outstanding"], f"{ticker} Shares Outstanding"),
    )


class RoundhillProvider(IssuerAumProvider):
    """Net assets, NAV and shares of every Roundhill fund from one all-funds DailyNAV file."""

    issuer = "Roundhill"
    name = "Roundhill DailyNAV"
    url_env = "LEV_FLOWS_ROUNDHILL_URL"
    default_url = "https://www.roundhillinvestments.com"

    def url(self) -> str:
        return f"{self.base_url}{DAILY_NAV_PATH}"

    def requests(self, tickers: Sequence[str]) -> list[tuple[str, str]]:
        return [(KEY, self.url())]

    def parse(self, key: str, status: int, body: bytes, url: str) -> list[Observation | Refused]:
        """Every fund's row; a row that cannot be read refuses its fund alone (with the URL)."""
        out: list[Observation | Refused] = []
        for row in daily_nav_rows(body):
            if not row.get("Fund Ticker"):
                continue
            try:
                out.append(row_observation(row))
            except BadResponse as exc:
                ticker = row["Fund Ticker"].upper()
                out.append(Refused(ticker, f"{ticker}: {exc} ({url})"))
        return out


PROVIDER = RoundhillProvider

__all__ = ["DAILY_NAV_PATH", "PROVIDER", "RoundhillProvider", "daily_nav_rows", "row_observation"]
