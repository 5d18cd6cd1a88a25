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
  unit error: :func:`~lev_flows.inputs.sources.issuers.direxion_market_value_units` does it instead, from each stock line's ``Shares x
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

from collections.abc import Sequence

from lev_flows.inputs.sources.issuer_aum.base import IssuerAumProvider, Observation
from lev_flows.inputs.sources.issuers import DIREXION_URL, DIREXION_URL_ENV, read_direxion


def parse_holdings(ticker: str, body: bytes) -> Observation:
    """A fund's holdings file -> its observation (see the module docstring for the layout; the
    file is read by :func:`lev_flows.inputs.sources.issuers.read_direxion`, which the exact
    re-leveraging's holdings reader shares)."""
    day, rows, shares, aum_usd = read_direxion(ticker, body)
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

__all__ = ["PROVIDER", "DirexionAum", "parse_holdings"]
