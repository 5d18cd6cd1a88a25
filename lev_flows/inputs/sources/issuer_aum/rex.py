"""REX Shares, T-REX included (NVDX, MSTU, MSTZ, TSLT, BTCL, BMNU, SNDU, RDWU, ...): each fund's
own web page.

**Source.** REX publishes no NAV-history or all-funds download. Each fund's page,
``{base}/{ticker}/`` (lower case: ``https://www.rexshares.com/btcl/``; upper-case links such as
``/BMAX/`` reach the same page), carries a fund-data block for the last close. Its text, tags
aside (the BTCL page of 10/03/2024)::

    Ticker BTCL  CUSIP 98148L753  Asset Class U.S. Equity  Fund Inception 07/10/2024  Exchange ...
    As of 10/03/2024
    NAV $24.23
    NAV Change ($) 0.65
    NAV Change (%) 2.76
    Closing Price $24.22
    Medium Bid/Ask Spread 0.25%
    Discount/Premium -0.050000%
    Fund Assets $13,078,800.00
    Shares Outstanding 540,000

* date: the ``As of MM/DD/YYYY`` right before ``NAV`` (month first). The page has other "As of"
  dates (distribution rate, SEC yield; a blank one reads ``01/01/1970``): only the one that
  opens the NAV block is the close the figures are of;
* NAV and closing price: USD per share; shares outstanding: a count of shares;
* **Fund Assets is shares x closing price** (market value), not net assets: 540,000 x $24.22 =
  $13,078,800.00 exactly, and the same holds in the second capture below (11,000,000 x $8.41 =
  $92,510,000.00). So ``aum_usd`` here is **NAV x shares outstanding** (the fund's net assets at
  NAV, to the cent), and Fund Assets is kept as a cross-check: about 1/1000 of shares x price
  means it is given in thousands (the page is refused, "thousands"), a gap of more than 3 % means
  the block is not what it seems (refused too).

One page gives **one day** (the latest close): no history, and past days cannot be back-filled
(the URL has no date).

**Evidence.** Confirmed: the text of the real BTCL page (``https://www.rexshares.com/btcl/``,
stored page capture, numbers above; the NVDQ, BMAX and NVII pages have the same site and the
blank "As of 01/01/1970" distribution date). A public NAV/AUM scraper (a GitHub
``etf_providers.py``, class ``REXSharesProvider``, found by code search; index id 53953344748)
reads ``https://www.rexshares.com/{TICKER}/`` from ``<div class="t-col t-label">Fund
Assets</div><div class="t-col t-data">$92,510,000.00</div>`` label/value pairs (Fund Assets,
Shares Outstanding 11,000,000, Closing Price $8.41, As of). Assumed: that the T-REX 2X funds
launched since (BMNU, SNDU, RDWU, ...) use the same page template. The complete holdings CSV
behind the page's "Download CSV" button is a POST form (``CSV=Download CSV``), which the shared
GET client cannot send, and it gives positions, not net assets: not used.

Base URL: ``$LEV_FLOWS_REX_URL`` or the constructor.
"""

from __future__ import annotations

import re

from lev_flows.inputs.sources.http import BadResponse
from lev_flows.inputs.sources.issuer_aum._pagetext import (
    DATE,
    MONEY,
    FundPageProvider,
    dollars,
)
from lev_flows.inputs.sources.issuer_aum.base import (
    Observation,
    number,
    us_date,
)

#: "As of 10/03/2024 NAV $24.23" (not "NAV Change ($) 0.65": a figure must follow "NAV")
AS_OF_NAV = re.compile(r"\bAs of\s+" + DATE + r"\s+NAV\s*" + MONEY)
CLOSING_PRICE = re.compile(r"\bClosing Price\s*" + MONEY)
FUND_ASSETS = re.compile(r"\bFund Assets\s*" + MONEY + r"(?:\s?([KMB])(?![A-Za-z]))?", re.IGNORECASE)
SHARES = re.compile(r"\bShares Outstanding\s*([\d,]+)")
TICKER = re.compile(r"\bTicker\s+([A-Z][A-Z0-9]{1,5})\b")
#: how far after the "As of ... NAV" the other lines of the block are looked for (characters)
BLOCK_CHARS = 500
#: Fund Assets may differ this much from shares x closing price (it is their product, rounded)
FUND_ASSETS_TOLERANCE = 0.03


def _check_ticker(text: str, ticker: str) -> None:
    named = set(TICKER.findall(text))
    if named and ticker not in named:
        raise BadResponse(f"the page is for {', '.join(sorted(named))}, not {ticker}")


def _check_fund_assets(fund_assets: float, shares: float, price: float) -> None:
    """Fund Assets against shares x price (closing price, else NAV): thousands, or a mismatch."""
    if fund_assets <= 0 or shares <= 0 or price <= 0:
        raise BadResponse(f"Fund Assets ${fund_assets:,.2f}, shares {shares:,.0f} or price {price:g} is not positive")
    ratio = shares * price / fund_assets
    if 500 < ratio < 2000:
        raise BadResponse(f"Fund Assets ${fund_assets:,.2f} look given in thousands "
                          f"(shares x price = ${shares * price:,.0f})")
    if abs(ratio - 1) > FUND_ASSETS_TOLERANCE:
        raise BadResponse(f"Fund Assets ${fund_assets:,.2f} disagree with shares x price "
                          f"(${shares * price:,.0f}): not the fund-data block?")


def parse_fund_page(text: str, ticker: str, where: str) -> Observation:
    """The fund-data block of one REX page's text -> one observation.

    ``aum_usd`` = NAV x shares outstanding (see the module docstring: the page's Fund Assets is
    a market value, checked against shares x closing price), ``date`` the NAV's "As of" date.
    """
    found = AS_OF_NAV.search(text)
    if not found:
        if "Fund Assets" in text:
            raise BadResponse("the fund-data block has no 'As of <date> NAV <price>' (layout changed?)")
        raise BadResponse("HTML page without fund data (no 'As of ... NAV'; the fund may not be listed)")
    _check_ticker(text, ticker)
    date = us_date(found[1], f"{where} NAV date")
    nav = number(found[2], f"{where} NAV")
    block = text[found.end(): found.end() + BLOCK_CHARS]
    assets, shares_m, closing = FUND_ASSETS.search(block), SHARES.search(block), CLOSING_PRICE.search(block)
    if not assets or not shares_m:
        raise BadResponse(f"no {'Fund Assets' if not assets else 'Shares Outstanding'} line after the NAV (layout changed?)")
    shares = number(shares_m[1], f"{where} shares outstanding") or 0.0
    price = number(closing[1], f"{where} closing price") if closing else nav
    _check_fund_assets(dollars(assets[1], assets[2], f"{where} Fund Assets"), shares, price or 0.0)
    return Observation(ticker=ticker, date=date, aum_usd=round((nav or 0.0) * shares, 2), nav=nav,
                       shares_outstanding=shares)


class RexProvider(FundPageProvider):
    """Net assets, NAV and shares of REX / T-REX funds, one fund page per fund."""

    issuer = "REX"
    name = "REX fund pages"
    url_env = "LEV_FLOWS_REX_URL"
    default_url = "https://www.rexshares.com"
    page = "/{ticker}/"
    label = "REX"
    read_page = staticmethod(parse_fund_page)


PROVIDER = RexProvider

__all__ = ["PROVIDER", "RexProvider", "parse_fund_page"]
