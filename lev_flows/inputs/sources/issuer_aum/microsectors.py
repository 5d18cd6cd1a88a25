"""MicroSectors ETNs (BMO, with REX: BULZ, FNGU, FNGO, FNGD, GDXU, GDXD, SHNY, OILU, OILD, WTIU,
SPYU, NRGU, BNKU, ...): each note's page on BMO's ETN site.

**Source.** An ETN has no fund NAV or shares. ``microsectors.com`` (REX's marketing site: suite
pages such as ``/big-banks`` list symbols and documents, no daily figures) sends readers to BMO's
ETN site, where each note has a product page ``{base}/ETN/{TICKER}.P/``
(``https://www.bmoetns.com/ETN/FNGS.P/``). Its **Daily Market Data** block, tags aside::

    Product Details
    Primary Exchange                 NYSE Arca
    ETN Ticker                       FNGS
    Intraday Indicative Value Ticker FNGSIV
    ...
    Daily Market Data (as of Nov 1, 2024)
    Closing Indicative Note Value    $50.7500
    Market Capitalization            $380,625,000
    ETNs Outstanding                 7,500,000

* date: ``Mon D, YYYY`` (month name, in English) in the "(as of ...)" label; a numeric date is
  read month first (:func:`~lev_flows.inputs.sources.issuer_aum.base.us_date`);
* closing indicative note value: USD per note -> ``nav``;
* ETNs outstanding: a count of notes -> ``shares_outstanding``;
* market capitalization: USD, = notes outstanding x closing indicative value (exactly so on the
  FNGS page above) -> ``aum_usd``: the issuer's own figure, checked against notes x value by the
  shared checks (so a figure in thousands is caught); a page without it gives
  ``aum_usd = notes x value`` (the note's net assets for the rebalancing formula).

One page gives **one day** (the last close): no history; past days cannot be back-filled (the URL
has no date).

**Evidence.** The URL pattern and the labels are from a capture of the real FNGS page,
``https://www.bmoetns.com/ETN/FNGS.P/`` (pages corpus: "Daily Market Data (as of Nov 1, 2024)
Closing Indicative Note Value $50.7500 Market Capitalization $380,625,000 ETNs Outstanding
7,500,000"); the ``{TICKER}.P`` form is confirmed again by ``https://www.bmoetns.com/ETN/SHNY.P/``
cited in a public fund note (code corpus), and ``https://www.microsectors.com/big-banks`` (pages
corpus) shows that the REX site itself carries no note values. Assumed: that every leveraged
MicroSectors note's page has the same block (seen for FNGS, a 1x note of the same suite), and the
HTML tags around the labels (unknown; the page is read as text only). No HTML library is
installed (no lxml / bs4), so :class:`html.parser.HTMLParser` and :mod:`re` read it.

Base URL: ``$LEV_FLOWS_MICROSECTORS_URL`` or the constructor.
"""

from __future__ import annotations

import datetime as dt
import re

from lev_flows.inputs.sources.http import BadResponse
from lev_flows.inputs.sources.issuer_aum._pagetext import MONEY as _MONEY
from lev_flows.inputs.sources.issuer_aum._pagetext import FundPageProvider, page_text
from lev_flows.inputs.sources.issuer_aum.base import (
    Observation,
    number,
    us_date,
)

AS_OF = re.compile(r"Daily Market Data\s*\(\s*as of\s+([^)]*?)\s*\)", re.IGNORECASE)
NOTE_VALUE = re.compile(r"Closing Indicative Note Value\s*" + _MONEY, re.IGNORECASE)
MARKET_CAP = re.compile(r"Market Capitalization\s*" + _MONEY, re.IGNORECASE)
NOTES = re.compile(r"ETNs Outstanding\s*([\d,]+)", re.IGNORECASE)
TICKER = re.compile(r"\bETN Ticker\s+([A-Z]{2,6})\b")
#: how far after the "Daily Market Data" label its three figures are looked for (characters)
BLOCK_CHARS = 400


def as_of_date(text: str, where: str) -> dt.date:
    """``"Nov 1, 2024"`` / ``"November 1, 2024"`` -> a date; a numeric date goes to
    :func:`us_date` (month first; a day-first date is refused there)."""
    t = " ".join(text.replace(",", ", ").split())
    for fmt in ("%b %d, %Y", "%B %d, %Y", "%b. %d, %Y"):
        try:
            return dt.datetime.strptime(t, fmt).date()
        except ValueError:
            continue
    return us_date(text, where)


def parse_note_page(text: str, ticker: str, where: str) -> Observation:
    """The Daily Market Data block of one ETN page's text -> one observation (see the module
    docstring for the columns)."""
    found = AS_OF.search(text)
    if not found:
        if "Closing Indicative" in text:
            raise BadResponse("no 'Daily Market Data (as of ...)' label (layout changed?)")
        raise BadResponse("HTML page without ETN market data (no 'Daily Market Data'; the note may not be listed)")
    named = set(TICKER.findall(text))
    if named and ticker not in named:
        raise BadResponse(f"the page is for {', '.join(sorted(named))}, not {ticker}")
    date = as_of_date(found[1], f"{where} market data date")
    block = text[found.end(): found.end() + BLOCK_CHARS]
    value, notes, cap = NOTE_VALUE.search(block), NOTES.search(block), MARKET_CAP.search(block)
    if not value or not notes:
        missing = "Closing Indicative Note Value" if not value else "ETNs Outstanding"
        raise BadResponse(f"no {missing} line in Daily Market Data (layout changed?)")
    nav = number(value[1], f"{where} closing indicative note value") or 0.0
    count = number(notes[1], f"{where} ETNs outstanding") or 0.0
    aum = number(cap[1], f"{where} market capitalization") if cap else None
    return Observation(ticker=ticker, date=date, aum_usd=aum if aum is not None else round(nav * count, 2),
                       nav=nav, shares_outstanding=count)


class MicroSectorsProvider(FundPageProvider):
    """Notes outstanding x closing indicative value of MicroSectors ETNs, one BMO page per note."""

    issuer = "MicroSectors"
    name = "MicroSectors ETN pages (BMO)"
    url_env = "LEV_FLOWS_MICROSECTORS_URL"
    default_url = "https://www.bmoetns.com"
    page = "/ETN/{TICKER}.P/"
    label = "BMO ETN"
    read_page = staticmethod(parse_note_page)


PROVIDER = MicroSectorsProvider

__all__ = ["PROVIDER", "MicroSectorsProvider", "as_of_date", "page_text", "parse_note_page"]
