"""Fund web pages read as text, for the providers whose issuer publishes net assets only on each
fund's HTML page (REX, Defiance): the page's visible text, and its dollar figures.

The tags around an issuer's labels change with every site redesign while the labels ("Net
Assets", "Shares Outstanding") rarely do, so the page is reduced to its text (scripts and styles
left out, one space between text pieces) and read with regular expressions. No HTML library is
installed (no lxml / bs4): the standard library's :class:`html.parser.HTMLParser` does it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from html.parser import HTMLParser
from typing import ClassVar

from lev_flows.inputs.sources.http import BadResponse
from lev_flows.inputs.sources.issuer_aum.base import (
    IssuerAumProvider,
    Observation,
    number,
)

#: a dollar figure on a page: "$13,078,800.00", "$ 24.23", "-0.65"
MONEY = r"\$?\s*(-?[\d,]+(?:\.\d+)?)"
#: a suffix right after a figure: "$68.70M", "$1.28B", "$950.5K" (thousand / million / billion)
SCALE = {"": 1.0, "k": 1e3, "m": 1e6, "b": 1e9}
#: a month-first date token ("01/30/2026"); a day-first one is refused later by ``us_date``
DATE = r"(\d{1,4}[/-]\d{1,2}[/-]\d{1,4})"


class _PageText(HTMLParser):
    """The visible text pieces of an HTML page (scripts and styles left out)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.pieces: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in ("script", "style"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.pieces.append(data.strip())


def page_text(body: bytes, issuer: str) -> str:
    """An HTML answer -> its visible text on one line; an empty body, or a body that is not an
    HTML page (a CSV, JSON, a plain-text error), is a :class:`BadResponse`."""
    if not body.strip():
        raise BadResponse("empty body")
    text = body.decode("utf-8", errors="replace")
    if not re.match(r"\s*<", text) or not re.search(r"<(html|body|div|table|p)\b", text, re.IGNORECASE):
        first = text.strip().splitlines()[0][:60]
        raise BadResponse(f"not a {issuer} fund page (not HTML: {first!r})")
    parser = _PageText()
    parser.feed(text)
    parser.close()
    return " ".join(" ".join(parser.pieces).split())


def dollars(amount: str, suffix: str | None, where: str) -> float:
    """A page's dollar figure and its optional ``K``/``M``/``B`` suffix -> USD (cents kept)."""
    value = number(amount, where)
    if value is None:
        raise BadResponse(f"{where}: no figure")
    return round(value * SCALE[(suffix or "").lower()], 2)


class FundPageProvider(IssuerAumProvider):
    """An issuer that publishes each fund's figures on the fund's own HTML page: one request per
    fund at ``page`` (a path with ``{ticker}``, lower case, or ``{TICKER}``), its visible text
    read by ``read_page(text, ticker, where) -> Observation``; ``label`` names the issuer's
    pages in errors ("not a REX fund page")."""

    page: ClassVar[str]
    label: ClassVar[str]
    read_page: ClassVar[Callable[[str, str, str], Observation]]

    def url(self, ticker: str) -> str:
        return self.base_url + self.page.format(ticker=ticker.lower(), TICKER=ticker.upper())

    def requests(self, tickers: Sequence[str]) -> list[tuple[str, str]]:
        return [(t, self.url(t)) for t in tickers]

    def parse(self, key: str, status: int, body: bytes, url: str) -> list[Observation]:
        return [type(self).read_page(page_text(body, self.label), key.upper(), key.upper())]


__all__ = ["DATE", "MONEY", "SCALE", "FundPageProvider", "dollars", "page_text"]
