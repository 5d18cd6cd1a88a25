"""ProShares: every ProShares fund's daily net assets, with NAV and shares outstanding, from one
request: the issuer's all-funds historical-NAV download.

* URL: ``{base}/etfdata/historical_nav.csv``, base ``https://accounts.profunds.com``
  (``$LEV_FLOWS_PROSHARES_URL`` or the constructor). ProShares links it from
  proshares.com/resources/data-downloads as "Historical NAVs for all ProShares ETFs"; it is large
  (about 53 MB in 2026) and gives each fund's whole history, so past days are never fetched one
  by one (there is no dated URL: every answer restates the whole history).
* Layout: a plain CSV, no preamble, one header line::

      Date,ProShares Name,Ticker,NAV,Prior NAV,NAV Change (%),NAV Change ($),Shares Outstanding (000),Assets Under Management
      02/03/2026,ProShares UltraPro QQQ,TQQQ,52.5227,55.1057,-4.68736,-2.583,543900,28567096530

  ``Date`` is month-first (``MM/DD/YYYY``), the close the row is of; ``NAV`` is USD per share;
  ``Shares Outstanding (000)`` is in **thousands** of shares; ``Assets Under Management`` is the
  fund's net assets in USD (end of day). Rows are grouped by ticker (tickers in order), each
  fund's newest first. Columns are found by name, so added or moved columns do not matter.
* Splits: ProShares restates the NAV and shares columns of past rows after a split, while net
  assets stay as they were. Net assets are therefore always kept (``aum_usd``); a row's NAV and
  shares are kept only where ``NAV x shares`` agrees with net assets within
  :data:`~lev_flows.inputs.sources.issuer_aum.base.NAV_SHARES_TOLERANCE` (1 %), else both are
  set to None (the row is still stored). A ratio near 1,000 is not a split but net assets given
  in thousands: NAV and shares are then kept, so the shared check refuses the fund.
* A fund's row that cannot be read (a day-first date such as ``13/01/2026``, a short row, a
  number that is not one) fails that fund alone, naming it and the URL; the file's other funds
  are kept. A file that is not this layout (HTML page, empty body, another header) fails every
  fund asked for.

Evidence (URL and layout): the all-funds URL is used by public collectors, e.g.
``millbo01/IPF-data`` ``research/vix_etp_flow/collect_public_holdings.py`` (``PROSHARES_NAV``) and
others that read its ``Date``, ``Ticker``, ``NAV``, ``Shares Outstanding (000)`` and ``Assets Under
Management`` columns (one reads ``Date`` as field 1, ``Ticker`` as field 3, ``NAV`` as field 4, as
in the per-fund file) and describe it as "per-day rows for every ProShares fund", ~50-53 MB,
``MM/DD/YYYY`` dates. The header line itself is confirmed for the per-fund file
``{base}/etfdata/ByFund/{TICKER}-historical_nav.csv`` (e.g. ``millbo01/IPF-data``
``data/equity_letf_rebalance/tqqq_historical_nav_raw.csv``, whose rows match
``../shared/data/fund_history``); that the all-funds file has the same header is inferred from
the positional reader and the column names above, not seen verbatim.

The file is larger than the client's default ``max_bytes`` (20 MiB) and slow to arrive: the
provider raises both limits for its one request (``max_bytes``, ``deadline_s``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from lev_flows.inputs.sources.http import BadResponse
from lev_flows.inputs.sources.issuer_aum.base import (
    NAV_SHARES_TOLERANCE,
    IssuerAumProvider,
    Observation,
    Refused,
    number,
    us_date,
)
from lev_flows.inputs.sources.issuers import PROSHARES_URL, PROSHARES_URL_ENV, _text

#: the all-funds historical-NAV file, under the base URL
ALL_FUNDS_PATH = "/etfdata/historical_nav.csv"
#: the file's header name -> our name; all five are required (matched case-insensitively)
COLUMNS = {
    "Date": "date",
    "Ticker": "ticker",
    "NAV": "nav",
    "Shares Outstanding (000)": "shares_000",
    "Assets Under Management": "aum_usd",
}
_BY_LOWER = {name.lower(): ours for name, ours in COLUMNS.items()}
#: NAV x shares / net assets in this band is "net assets in thousands", not a split restatement
THOUSANDS_BAND = (500.0, 2000.0)


def header_columns(header: list[str]) -> dict[str, int]:
    """Our column name -> its position in the file's header; a header without all five is a
    :class:`BadResponse` naming what is missing."""
    found = {_BY_LOWER[h.strip().lower()]: i for i, h in enumerate(header) if h.strip().lower() in _BY_LOWER}
    missing = [f"'{name}'" for name, ours in COLUMNS.items() if ours not in found]
    if missing:
        shown = ", ".join(h.strip() for h in header[:6]) or "(blank)"
        raise BadResponse(f"not the ProShares historical-NAV file: no {', '.join(missing)} column (header: {shown})")
    return found


def nav_and_shares(nav: float | None, shares: float | None, aum_usd: float) -> tuple[float | None, float | None]:
    """The row's NAV and shares when they agree with its net assets (or look like net assets in
    thousands, for the shared check to refuse); None for both when a split restated them."""
    if not nav or not shares or aum_usd <= 0:
        return None, None
    ratio = nav * shares / aum_usd
    if abs(ratio - 1) <= NAV_SHARES_TOLERANCE or THOUSANDS_BAND[0] < ratio < THOUSANDS_BAND[1]:
        return nav, shares
    return None, None


def row_observation(ticker: str, row: list[str], cols: dict[str, int], line: int) -> Observation | None:
    """One CSV row -> an observation; None for a row without net assets (blank or zero)."""
    where = f"line {line}"
    if len(row) <= max(cols.values()):
        raise BadResponse(f"{where}: {len(row)} fields, expected at least {max(cols.values()) + 1} (a cut row?)")
    aum_usd = number(row[cols["aum_usd"]], f"{where} Assets Under Management")
    if not aum_usd:
        return None
    day = us_date(row[cols["date"]], f"{where} Date")
    nav = number(row[cols["nav"]], f"{where} NAV")
    shares_000 = number(row[cols["shares_000"]], f"{where} Shares Outstanding (000)")
    nav, shares = nav_and_shares(nav, shares_000 * 1000.0 if shares_000 is not None else None, aum_usd)
    return Observation(ticker, day, aum_usd, nav, shares)


def fund_rows(text: str, wanted: set[str] | None) -> tuple[dict[str, int], dict[str, list[tuple[int, list[str]]]]]:
    """The header's columns, and the file's rows by ticker with their line numbers (only the
    ``wanted`` funds when given; a row too short to name its fund is left out)."""
    lines = csv.reader(io.StringIO(text))
    header = next((r for r in lines if any(c.strip() for c in r)), None)
    if header is None:
        raise BadResponse("no header line")
    cols = header_columns(header)
    groups: dict[str, list[tuple[int, list[str]]]] = {}
    for row in lines:
        ticker = row[cols["ticker"]].strip().upper() if len(row) > cols["ticker"] else ""
        if ticker and (wanted is None or ticker in wanted):
            groups.setdefault(ticker, []).append((lines.line_num, row))
    return cols, groups


class ProSharesAum(IssuerAumProvider):
    """Daily net assets of every ProShares fund from the all-funds historical-NAV file."""

    issuer = "ProShares"
    name = "ProShares historical NAV (all funds)"
    url_env = PROSHARES_URL_ENV
    default_url = PROSHARES_URL

    #: the file is about 53 MB (2026) and slow to arrive: more than the client's defaults allow
    max_bytes = 160 * 2**20
    deadline_s = 300.0

    def requests(self, tickers: Sequence[str]) -> list[tuple[str, str]]:
        """One request answers for every fund."""
        return [("all", f"{self.base_url}{ALL_FUNDS_PATH}")]

    def parse(self, key: str, status: int, body: bytes, url: str) -> list[Observation | Refused]:
        """Every wanted fund's rows; a fund whose rows cannot be read is :class:`Refused` (its
        failure never drops the other funds)."""
        cols, groups = fund_rows(_text(body, "ProShares historical-NAV"), self.wanted or None)
        out: list[Observation | Refused] = []
        for ticker, rows in groups.items():
            try:
                fund = [row_observation(ticker, row, cols, line) for line, row in rows]
            except BadResponse as exc:
                out.append(Refused(ticker, f"{ticker}: {exc} ({url})"))
                continue
            out.extend(r for r in fund if r is not None)
        return out


PROVIDER = ProSharesAum

__all__ = ["ALL_FUNDS_PATH", "PROVIDER", "ProSharesAum", "header_columns", "nav_and_shares", "row_observation"]
