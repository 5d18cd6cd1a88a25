"""Volatility Shares (UVIX, SVIX, BITX, ETHU, SOLT, XRPT, ...): each fund's own web page.

**Source.** Volatility Shares publishes no daily NAV-history file. Each fund's page,
``{base}/{ticker}`` (lower case; ``https://www.volatilityshares.com/ethu``, older links end in
``/svix/``), has a **Fund Data & Pricing** block for the last close. Its text, tags aside::

    Fund Data & Pricing
    Net Assets as of 08/30/2024   $106,529,570.79
    NAV                           $5.57
    Shares Outstanding            19,140,000
    Premium/discount Percentage   -0.10%
    Closing Price                 $5.56
    Median 30 Day Spread          0.17%
    Data as of 08/30/2024
    ...
    Fund Details
    Ticker ETHU   (older pages: "Trading Symbol SVIX")

* date: ``MM/DD/YYYY``, month first, in the "Net Assets as of" label;
* net assets: USD, in full (``$106,529,570.79``) or in millions with a suffix (``$130.07m`` on
  a 2023 SVIX page); ``k`` / ``m`` / ``b`` are read as thousand / million / billion;
* NAV: USD per share; shares outstanding: a count of shares.

One page gives **one day** (the latest close): no history, and past days cannot be back-filled
(the URL has no date; only web-archive captures hold old values).

**Evidence.** The text layout is confirmed by captures of the real pages: the ETHU page of
2024-09-02 (``megalodon.jp/ref/2024-0902-1433-28/https://www.volatilityshares.com:443/ethu``,
numbers above), the SVIX page of 2023-12 (``https://www.volatilityshares.com/svix/``: "Net Assets
as of 12/01/2023 $130.07m NAV $34.78 Shares Outstanding 3,740,000", "Trading Symbol SVIX"), and
a public BITX study that reads ``https://www.volatilityshares.com/bitx`` with the regular
expression "Net Assets as of (MM/DD/YYYY) $X NAV $Y Shares Outstanding Z" on tag-stripped text
(a ``letf_reset_lab/fetch.py`` found by code search). The HTML tags around the labels are *not*
known (assumed a label cell next to a value cell), so the page is read as text only. The other
downloads were ruled out: ``download-holdings-usbanks.php?fund=bitx`` (``-1933.php`` for UVIX /
SVIX) is an old-format XLS of holdings, reported without date or shares; and
``download-premium-discount.php?ukey=bitx`` is a PDF chart.

No HTML library is installed (no lxml / bs4), so the standard library's
:class:`html.parser.HTMLParser` turns the page into text and :mod:`re` reads the labels.

Base URL: ``$LEV_FLOWS_VOLATILITYSHARES_URL`` or the constructor.
"""

from __future__ import annotations

import re

from lev_flows.inputs.sources.http import BadResponse
from lev_flows.inputs.sources.issuer_aum._pagetext import MONEY as _MONEY
from lev_flows.inputs.sources.issuer_aum._pagetext import (
    SCALE,
    FundPageProvider,
    page_text,
)
from lev_flows.inputs.sources.issuer_aum.base import (
    Observation,
    number,
    us_date,
)

#: "Net Assets as of 08/30/2024 $106,529,570.79" or "... $130.07m"
NET_ASSETS = re.compile(r"Net Assets as of\s+(\d{1,4}[/-]\d{1,2}[/-]\d{1,4})\s*" + _MONEY + r"([kmb])?\b", re.IGNORECASE)
NAV = re.compile(r"\bNAV\s*" + _MONEY, re.IGNORECASE)
SHARES = re.compile(r"Shares Outstanding\s*([\d,]+)", re.IGNORECASE)
#: "Fund Details Ticker ETHU" / "Trading Symbol SVIX" (not "(Ticker: LONGVOL)", an index symbol)
TICKER = re.compile(r"\b(?:Ticker|Trading Symbol)\s+([A-Z]{2,6})\b")
#: how far after the net assets figure the NAV and shares lines are looked for (characters)
BLOCK_CHARS = 400


def _check_ticker(text: str, ticker: str) -> None:
    named = set(TICKER.findall(text))
    if named and ticker not in named:
        raise BadResponse(f"the page is for {', '.join(sorted(named))}, not {ticker}")


def parse_fund_page(text: str, ticker: str, where: str) -> Observation:
    """The Fund Data & Pricing block of one fund page's text -> one observation.

    ``aum_usd`` is the net assets figure (suffix ``k``/``m``/``b`` applied), ``nav`` the NAV per
    share, ``shares_outstanding`` the share count, ``date`` the "Net Assets as of" date.
    """
    found = NET_ASSETS.search(text)
    if not found:
        if "Fund Data" in text:
            raise BadResponse("the Fund Data & Pricing block has no 'Net Assets as of' line (layout changed?)")
        raise BadResponse("HTML page without fund data (no 'Net Assets as of'; the fund may not be listed)")
    _check_ticker(text, ticker)
    date = us_date(found[1], f"{where} net assets date")
    aum = number(found[2], f"{where} net assets") or 0.0
    block = text[found.end(): found.end() + BLOCK_CHARS]
    nav, shares = NAV.search(block), SHARES.search(block)
    if not nav or not shares:
        raise BadResponse(f"no {'NAV' if not nav else 'Shares Outstanding'} line after the net assets (layout changed?)")
    return Observation(
        ticker=ticker,
        date=date,
        aum_usd=round(aum * SCALE[(found[3] or "").lower()], 2),
        nav=number(nav[1], f"{where} NAV"),
        shares_outstanding=number(shares[1], f"{where} shares outstanding"),
    )


class VolatilitySharesProvider(FundPageProvider):
    """Net assets, NAV and shares of Volatility Shares funds, one fund page per fund."""

    issuer = "Volatility Shares"
    name = "Volatility Shares fund pages"
    url_env = "LEV_FLOWS_VOLATILITYSHARES_URL"
    default_url = "https://www.volatilityshares.com"
    page = "/{ticker}"
    label = "Volatility Shares"
    read_page = staticmethod(parse_fund_page)


PROVIDER = VolatilitySharesProvider

__all__ = ["PROVIDER", "VolatilitySharesProvider", "page_text", "parse_fund_page"]
