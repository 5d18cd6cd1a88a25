"""GraniteShares (the US 2x / -2x / 1.25x single-stock ETFs: NVDL, AMDL, MULL, CONL, PTIR, TSLR,
...): each fund's NAV and net assets from the product data behind its page on graniteshares.com.

**Source.** Two requests per fund, the second found from the first:

1. the fund page ``{base}/etfs/{ticker}/`` (ticker in lower case; base
   ``https://www.graniteshares.com``), HTML. It holds the fund's numeric **product id** in a
   ``data-id="NNNN"`` attribute: on the fund's ticker cell (``<span data-id="1084" ...
   class="etf-table-cell ... etf-table-cell--ticker"><a href=".../etfs/tsl/">``) and on the site's
   scrolling ticker (``<div class="stocks-scrolling-ticker pId" data-id="1084"> ...
   <span ...>TSL</span>``); either is read;
2. the product data ``{base}/product/{id}/en-us/``, JSON, which the page's script loads into its
   NAV / AUM fields. Fields read::

       "Nav"      NAV, USD per share          (number or numeric string)
       "AUM"      net assets, USD in full
       "NavDate"  the close of both, ISO ``YYYY-MM-DD`` (a time part, ``T00:00:00``, is ignored)

   Shares outstanding are not in the payload as far as known (the scraper below derives them);
   if a ``SharesOutstanding`` field is present it is read (assumed name).

The endpoint answers JSON only to a client that has loaded a graniteshares.com page first (a
cookie): the shared HTTP client keeps cookies, and the page is always asked first. Any other
answer (the site's HTML) is refused as "HTML page instead of the product JSON".

**History.** One day per fund (the last NAV); no dated files, no back-fill.

**Not used.** The page also links each fund's holdings workbook,
``/media/{hash}/{ticker}_holdings_file[_{YYYYMMDD}].xls`` (``Position Date, ETF Ticker,
Ticker/Cusip, Security Description, Shares/Par, Asset Group, Mat/Exp Date, Market/Notional Value,
[Contract Size, Value 1 Pt, Shares Outstanding,] Percentage Weighting[, NAV/Share]``; swap lines
carry notionals). It is a binary Excel file and reading it needs ``xlrd``, not a dependency.

**Evidence.** The product-id patterns, the JSON URL, the cookie remark and the fields ``Nav``,
``AUM``, ``NavDate`` (ISO), ``ClosingPrice``: ``GraniteSharesProvider`` in a public dashboard
(GoldmanDrew/etf-dashboard, ``scripts/etf_providers.py``). The fund-page URLs and the listing
markup (``data-id``, ``etf-table-cell--ticker``, ``pNav`` / ``pAum`` / ``pDate`` fields): a public
"GraniteShares ETF Scraping Guide" (code-search id 10791155352). The holdings workbook links and
columns: two holdings adapters' tests (ids 61992271748, 61922662583, 57074877492). *Confirmed*:
page URL, id attributes, JSON URL and the three fields. *Assumed*: number formats (plain numbers,
``$`` / ``,`` tolerated) and the ``SharesOutstanding`` name.

Base URL: ``$LEV_FLOWS_GRANITESHARES_URL`` or the constructor.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from lev_flows.inputs.sources.http import BadResponse
from lev_flows.inputs.sources.issuer_aum.base import (
    IssuerAumProvider,
    Observation,
    number,
    us_date,
)

FUND_PAGE = "/etfs/{slug}/"
PRODUCT_DATA = "/product/{product_id}/en-us/"
REQUIRED = ("Nav", "AUM", "NavDate")
#: the shares field, if the payload carries one (assumed names)
SHARES_FIELDS = ("SharesOutstanding", "Shares Outstanding")


def product_id(page: bytes, ticker: str) -> str:
    """The fund's product id on its page: the ``data-id`` of the cell linking to
    ``/etfs/{ticker}/`` or of the scrolling-ticker block naming it; a BadResponse otherwise."""
    if not page.strip():
        raise BadResponse("empty body")
    html = page.decode("utf-8", errors="replace")
    if not re.match(r"\s*<", html):
        raise BadResponse(f"not a GraniteShares fund page (not HTML: {html.strip()[:40]!r})")
    slug = re.escape(ticker.lower())
    cell = re.search(rf'data-id="(\d+)"[^>]*>\s*<a\b[^>]*href="[^"]*/etfs/{slug}/"', html, re.IGNORECASE)
    if cell:
        return cell.group(1)
    # the nearest block before the ticker's name, never crossing into another block
    block = re.search(rf'\bpId\b[^>]*data-id="(\d+)"(?:(?!data-id=)[\s\S]){{0,600}}?>\s*{re.escape(ticker)}\s*</span>',
                      html)
    if block:
        return block.group(1)
    raise BadResponse(f"no product id for {ticker} on the fund page (not a fund page, or its layout changed)")


def product_payload(status: int, body: bytes) -> dict:
    """The product-data answer -> its JSON object; an error status, an empty body, an HTML page
    or another layout (a field of :data:`REQUIRED` missing) is a BadResponse."""
    if status == 404:
        raise BadResponse("product data not found (HTTP 404)")
    if status >= 400:
        raise BadResponse(f"product data: HTTP {status}")
    if not body.strip():
        raise BadResponse("empty product data")
    if body.lstrip()[:1] == b"<":
        raise BadResponse("HTML page instead of the product JSON (it answers JSON only after a fund page)")
    try:
        payload = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        raise BadResponse(f"product data is not JSON ({body[:40]!r})") from None
    if not isinstance(payload, dict):
        raise BadResponse("product data is not a JSON object")
    missing = [f for f in REQUIRED if f not in payload]
    if missing:
        raise BadResponse(f"not GraniteShares product data: no {', '.join(missing)} field "
                          f"(fields: {', '.join(sorted(map(str, payload)))[:100]})")
    return payload


def product_observation(ticker: str, payload: dict) -> Observation:
    """The product data -> the fund's observation (NAV, net assets; shares if given). A
    BadResponse names the field (the shared client puts the fund and the data URL around it)."""
    aum = number(payload["AUM"], "AUM")
    if aum is None:
        raise BadResponse("no AUM in the product data")
    shares_field = next((f for f in SHARES_FIELDS if f in payload), None)
    return Observation(
        ticker=ticker,
        date=us_date(str(payload["NavDate"] or ""), "NavDate"),
        aum_usd=aum,
        nav=number(payload["Nav"], "Nav"),
        shares_outstanding=number(payload[shares_field], shares_field) if shares_field else None,
    )


class GraniteSharesProvider(IssuerAumProvider):
    """NAV and net assets of each GraniteShares fund: its page, then its product data."""

    issuer = "GraniteShares"
    name = "GraniteShares product data"
    url_env = "LEV_FLOWS_GRANITESHARES_URL"
    default_url = "https://www.graniteshares.com"

    def page_url(self, ticker: str) -> str:
        return self.base_url + FUND_PAGE.format(slug=ticker.lower())

    def data_url(self, pid: str) -> str:
        return self.base_url + PRODUCT_DATA.format(product_id=pid)

    def requests(self, tickers: Sequence[str]) -> list[tuple[str, str]]:
        return [(t.upper(), self.page_url(t)) for t in tickers]

    def parse(self, key: str, status: int, body: bytes, url: str) -> list[Observation]:
        """The fund page -> its product id -> the product data (fetched here, on the same client:
        retried, cached, and its failure this fund's, naming the data URL)."""
        ticker = key.upper()
        data_url = self.data_url(product_id(body, ticker))

        def read(data_status: int, data_body: bytes) -> list[Observation]:
            return [product_observation(ticker, product_payload(data_status, data_body))]

        return self.client.get(data_url, read, what=ticker, ttl_s=self.ttl_s)


PROVIDER = GraniteSharesProvider

__all__ = ["FUND_PAGE", "PRODUCT_DATA", "PROVIDER", "GraniteSharesProvider", "product_id", "product_observation",
           "product_payload"]
