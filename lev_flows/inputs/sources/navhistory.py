"""Issuer NAV histories over HTTP: the daily NAV, shares outstanding and net assets a fund's
issuer publishes as a CSV download, parsed into AUM observations (``source_kind =
issuer_nav``, the highest precedence in the store).

* ProShares, ``{base}/etfdata/ByFund/{TICKER}-historical_nav.csv`` with ``Date, ProShares
  Name, Ticker, NAV, Prior NAV, NAV Change (%), NAV Change ($), Shares Outstanding (000),
  Assets Under Management`` (newest first). Base URL: ``$LEV_FLOWS_PROSHARES_URL`` (the same
  host as the holdings files) or the constructor.

Parsing is :func:`lev_flows.inputs.sources.aumfiles.parse_nav_history`, the same reader as for a
downloaded file, so a file imported by hand and one fetched here give the same rows.
"""

from __future__ import annotations

import os

import pandas as pd

from lev_flows.inputs.sources.aumfiles import parse_nav_history
from lev_flows.inputs.sources.base import Progress
from lev_flows.inputs.sources.http import BadResponse, HttpClient
from lev_flows.inputs.sources.issuers import PROSHARES_URL, PROSHARES_URL_ENV
from lev_flows.inputs.store import StoreError

NAV_TTL_S = 6 * 3600.0  # published once a day, after the close


class ProSharesNavHistory:
    """Daily NAV history of ProShares funds (one request per fund)."""

    name = "ProShares NAV history"

    def __init__(self, client: HttpClient, base_url: str | None = None):
        self.client = client
        base = base_url if base_url is not None else (os.environ.get(PROSHARES_URL_ENV) or PROSHARES_URL)
        if not base.strip():
            raise StoreError("ProShares NAV history: the base URL is empty")
        self.base_url = base.rstrip("/")

    def url(self, ticker: str) -> str:
        return f"{self.base_url}/etfdata/ByFund/{ticker.upper()}-historical_nav.csv"

    def fetch(self, tickers: list[str], progress: Progress | None = None) -> tuple[pd.DataFrame, dict[str, str]]:
        """Observations of every fund that answered, and an error per fund that did not."""

        def parse(ticker: str, status: int, body: bytes) -> pd.DataFrame:
            if status == 404:
                raise BadResponse("unknown fund (HTTP 404)")
            if status >= 400:
                raise BadResponse(f"HTTP {status}")
            try:
                frame = parse_nav_history(body, self.url(ticker), ticker=ticker)
            except StoreError as exc:
                raise BadResponse(str(exc).replace(self.url(ticker) + ": ", "")) from None
            other = sorted(set(frame["ticker"]) - {ticker.upper()})
            if other:
                raise BadResponse(f"the file is for {', '.join(other)}, not {ticker}")
            return frame

        got, failed = self.client.get_many(
            ((t, self.url(t), None) for t in sorted(set(tickers))), parse, ttl_s=NAV_TTL_S, progress=progress
        )
        frames = [got[t] for t in sorted(got)]
        return (pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()), failed


__all__ = ["ProSharesNavHistory", "NAV_TTL_S"]
