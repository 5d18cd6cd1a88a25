"""Defiance ETFs (RKLX, IONX, ORCX, OKLL, MSTX, SMCX, AVGX, ...): each fund's own web page.

**Source.** Defiance publishes no NAV-history or all-funds download of net assets. Each fund's
page, ``{base}/{ticker}/`` (lower case: ``https://www.defianceetfs.com/mstx/``), has a **Fund
Details** section for the last close. Its text, tags aside::

    Fund Details
    Data as of 01/30/2026
    MSTX  Market Price ...
    Net Assets $1,284,512,790.12        (or rounded with a suffix: $1.28B, $68.70M)
    NAV $40.27
    Shares Outstanding 31,898,000
    ...
    Top Holdings / Distributions / Performance

* date: the ``Data as of MM/DD/YYYY`` of the Fund Details section (month first);
* net assets: USD, in full or rounded with ``K`` / ``M`` / ``B`` (thousand / million /
  billion; a three-digit rounding stays within the 1 % NAV x shares check);
* NAV: USD per share; shares outstanding: a count of shares.

One page gives **one day** (the latest close): no history, and past days cannot be back-filled
(the URL has no date).

**Evidence.** Confirmed: the section and its date line, from a stored capture of the real MSTX
page (``https://www.defianceetfs.com/mstx/``: "Fund Details / Data as of 04/16/2025 / MSTX /
Market Price", then "Performance"; the SMST page has the same "Fund Details / Data as of"); the
labels and their order, from a public NAV/AUM scraper (a GitHub ``etf_providers.py``, class
``DefianceProvider``, found by code search; index id 53953344748) that reads
``https://defianceetfs.com/{ticker}/`` as tag-stripped text with "Net Assets $X[KMB] ... NAV $Y
... Shares Outstanding N" between "Fund Details" and "Top Holdings" / "Distributions".
Assumed: the tags around labels and values (not known, so the page is read as text only), and
that the date of the section is the NAV's (another public scraper notes that Defiance stamps
its *holdings* page with the next business day; a date after today is refused by the shared
checks, never stored). Ruled out: ``/{ticker}-full-holdings/`` (positions and weights, no market
values or net assets), the dated ``wp-content/uploads/xls/{ticker}-{MM-DD-YYYY}.xlsx`` holdings
workbooks (weights only; no xlsx reader is installed) and ``wp-content/uploads/marketmaker/
Defiance-IntraDay.csv`` (layout unknown: no public reader of it was found).

Base URL: ``$LEV_FLOWS_DEFIANCE_URL`` or the constructor.
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

#: the Fund Details section: from its heading to the next section (or BLOCK_CHARS characters)
FUND_DETAILS = re.compile(r"\bFund Details\b(.*?)(?=\bTop Holdings\b|\bDistributions\b|$)")
BLOCK_CHARS = 1200
DATA_AS_OF = re.compile(r"\bData as of\s+" + DATE)
NET_ASSETS = re.compile(r"\bNet Assets\s*" + MONEY + r"(?:\s?([KMB])(?![A-Za-z]))?", re.IGNORECASE)
#: "NAV $40.27" (not "NAV (%)" or "NAV Change": a figure must follow)
NAV = re.compile(r"\bNAV\s*" + MONEY)
SHARES = re.compile(r"\bShares Outstanding\s*([\d,]+)")


def _details(text: str) -> str:
    """The Fund Details section holding the net assets (a page may repeat the heading)."""
    for found in FUND_DETAILS.finditer(text):
        block = found[1][:BLOCK_CHARS]
        if NET_ASSETS.search(block):
            return block
    if "Fund Details" in text:
        raise BadResponse("the Fund Details section has no 'Net Assets' figure (layout changed?)")
    raise BadResponse("HTML page without fund data (no 'Fund Details'; the fund may not be listed)")


def parse_fund_page(text: str, ticker: str, where: str) -> Observation:
    """The Fund Details section of one Defiance page's text -> one observation: ``aum_usd``
    the net assets (suffix applied), ``nav``, ``shares_outstanding``, ``date`` the "Data as of"."""
    block = _details(text)
    if not re.search(rf"(?<![A-Z0-9]){re.escape(ticker)}(?![A-Z0-9])", text):
        raise BadResponse(f"the page does not name {ticker} (another fund's page?)")
    as_of, assets, nav, shares = DATA_AS_OF.search(block), NET_ASSETS.search(block), NAV.search(block), SHARES.search(block)
    missing = [label for label, m in (("Data as of", as_of), ("NAV", nav), ("Shares Outstanding", shares)) if not m]
    if missing:
        raise BadResponse(f"the Fund Details section has no {' / '.join(missing)} (layout changed?)")
    return Observation(
        ticker=ticker,
        date=us_date(as_of[1], f"{where} Data as of"),
        aum_usd=dollars(assets[1], assets[2], f"{where} net assets"),
        nav=number(nav[1], f"{where} NAV"),
        shares_outstanding=number(shares[1], f"{where} shares outstanding"),
    )


class DefianceProvider(FundPageProvider):
    """Net assets, NAV and shares of Defiance funds, one fund page per fund."""

    issuer = "Defiance"
    name = "Defiance fund pages"
    url_env = "LEV_FLOWS_DEFIANCE_URL"
    default_url = "https://www.defianceetfs.com"
    page = "/{ticker}/"
    label = "Defiance"
    read_page = staticmethod(parse_fund_page)


PROVIDER = DefianceProvider

__all__ = ["PROVIDER", "DefianceProvider", "parse_fund_page"]
