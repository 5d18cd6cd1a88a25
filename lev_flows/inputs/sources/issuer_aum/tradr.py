"""Tradr (Tradr ETFs, the leveraged single-stock line that AXS Investments launched: SNXX, AAOX,
LITX, AXTX, NEBX, TSLQ, ...): the dated all-funds daily NAV file of the funds' administrator.

**Source.** ``{base}/assets/data/NSDEAXS2.{MMDDYYYY}.csv`` (base ``https://axsetf.filepoint.live``,
the U.S. Bank "Filepoint" host the tradretfs.com / axsinvestments.com fund pages load their data
from): one CSV per business day, one row per fund, for every AXS **and** Tradr fund (the file
also lists AXS funds such as KNO: a fund not asked for is dropped). Columns are found by name::

    Ticker Symbol            the fund's ticker
    NAV                      USD per share
    Base TNA (Fund Level)    net assets, USD in full    (also read: ``Total Net Assets``)
    Shrs Out (Fund Level)    shares outstanding, count  (also read: ``Shares Outstanding``)

Other columns are ignored. The **date** of the rows is the file's: the ``MMDDYYYY`` in its name
(the close the NAV was struck at). A date column, if the file has one (``Date``, ``NAV Date``,
``Rate Date``, ``As Of Date``), is read month-first and wins over the name.

**History and back-fill.** Each file gives one day; the files are dated and old ones stay
reachable, so past days are back-filled by asking for their dates::

    TradrProvider(client, dates=[dt.date(2026, 1, 30), dt.date(2026, 2, 2)]).fetch(["SNXX"])

By default (``dates=None``) the last two NYSE sessions up to today are asked for (today's file
appears after the close; until then the previous session's answers). A missing day's file is an
HTTP 404 or the site's HTML page; it fails that day's request only.

**Sibling file, not read.** ``{base}/assets/data/BBH_AXS_ETF_PVAL_WEB.{YYYYMMDD}.csv`` is the
dated all-funds holdings file (``ETF Ticker,Date,ISIN,CUSIP,SEDOL,Ticker,Description,Security
Type,Market Value,Maturity Date,Shares,Security Price,Asset Currency,Shares Outstanding,Total Net
Assets,Market Value Weight``, dates ``M/D/YYYY``). Its swap / CFD lines carry notionals
(shares x price of the stock), so the sum of ``Market Value`` is not net assets; it has no NAV.

**Evidence.** The two URL patterns, the date formats in the names and the column names above come
from a public dashboard's provider ``TradrAxsProvider`` (GoldmanDrew/etf-dashboard,
``scripts/etf_providers.py``: reads ``Ticker Symbol``, ``NAV``, ``Total Net Assets`` or ``Base TNA
(Fund Level)``, ``Shares Outstanding`` or ``Shrs Out (Fund Level)``, and treats the name's date as
the rows' date) and its back-fill script (``scripts/backfill_tradr_axs_dated_csvs.py``: "Tradr
keeps historical NSDEAXS2.MMDDYYYY.csv / holdings files reachable"); a test of a holdings
collector (code-search id 61992271748) serves ``BBH_AXS_ETF_PVAL_WEB.{YYYYMMDD}.csv`` with the
header above; its notes (id 61919183978) describe the FilePoint iframe of the AXS fund pages.
*Confirmed*: host, paths, name dates, the four columns (each under one of its two names).
*Assumed*: which of the two names the live file uses (both are read), that numbers are plain
(``1234.5``; ``$``, ``,`` are tolerated), and the optional date column.

A row the file cannot vouch for (a figure that is not a number, a day-first date) fails that fund
alone, with the row's reason; the other funds' rows are kept.

Base URL: ``$LEV_FLOWS_TRADR_URL`` or the constructor.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence

from lev_flows.clock import today
from lev_flows.inputs.sources.http import BadResponse, HttpClient
from lev_flows.inputs.sources.issuer_aum.base import (
    IssuerAumProvider,
    Observation,
    Refused,
    number,
    us_date,
)

NAV_FILE = "/assets/data/NSDEAXS2.{mmddyyyy}.csv"
#: our name -> the file's names for it, first found wins
COLUMNS = {
    "ticker": ("Ticker Symbol",),
    "nav": ("NAV",),
    "aum_usd": ("Base TNA (Fund Level)", "Total Net Assets"),
    "shares_outstanding": ("Shrs Out (Fund Level)", "Shares Outstanding"),
}
#: an optional column giving the rows' date (else the file name's date)
DATE_COLUMNS = ("Date", "NAV Date", "Rate Date", "As Of Date")
#: sessions asked for by default, ending today
DEFAULT_SESSIONS = 2


def default_dates(n: int = DEFAULT_SESSIONS) -> list[dt.date]:
    """The last ``n`` NYSE sessions up to today (New York, the one clock), oldest first."""
    from lev_flows.inputs.calendar import sessions

    cal = sessions()
    day = cal.at_or_before(today())
    out = [day]
    while len(out) < n:
        out.insert(0, cal.before(out[0]))
    return out


def _find(header: list[str], names: Sequence[str]) -> str | None:
    lower = {h.lower(): h for h in header}
    return next((lower[n.lower()] for n in names if n.lower() in lower), None)


def nav_rows(body: bytes) -> tuple[dict[str, str], list[dict[str, str]]]:
    """The NAV CSV -> (our name -> the file's column, the rows); an empty body, an HTML page or
    another layout (no ``Ticker Symbol`` / ``NAV`` / net assets / shares column) is a BadResponse."""
    if not body.strip():
        raise BadResponse("empty body")
    if body.lstrip()[:1] == b"<":
        raise BadResponse("HTML page instead of the Tradr / AXS NAV CSV (no file for that date?)")
    table = csv.DictReader(io.StringIO(body.decode("utf-8-sig", errors="replace")))
    header = [(name or "").strip() for name in (table.fieldnames or [])]
    found = {ours: _find(header, theirs) for ours, theirs in COLUMNS.items()}
    missing = [theirs[0] for ours, theirs in COLUMNS.items() if found[ours] is None]
    if missing:
        raise BadResponse(f"not the Tradr / AXS NAV file: no {', '.join(missing)} column "
                          f"(header: {', '.join(header)[:120]})")
    date_column = _find(header, DATE_COLUMNS)
    if date_column:
        found["date"] = date_column
    rows = [{(k or "").strip(): (v or "").strip() for k, v in row.items() if k is not None} for row in table]
    if not rows:
        raise BadResponse("header only, no rows")
    return found, rows


def row_observation(row: dict[str, str], columns: dict[str, str], file_date: dt.date) -> Observation:
    """One fund's row -> an observation (a BadResponse names the fund and the field)."""
    ticker = row[columns["ticker"]].upper()
    day = us_date(row[columns["date"]], f"{ticker} {columns['date']}") if "date" in columns else file_date
    aum = number(row[columns["aum_usd"]], f"{ticker} {columns['aum_usd']}")
    if aum is None:
        raise BadResponse(f"{ticker}: no net assets ({columns['aum_usd']} is blank)")
    return Observation(
        ticker=ticker,
        date=day,
        aum_usd=aum,
        nav=number(row[columns["nav"]], f"{ticker} {columns['nav']}"),
        shares_outstanding=number(row[columns["shares_outstanding"]], f"{ticker} {columns['shares_outstanding']}"),
    )


class TradrProvider(IssuerAumProvider):
    """Net assets, NAV and shares of every Tradr (and AXS) fund from the dated all-funds NAV
    files; ``dates`` (default: the last two sessions) are the days asked for."""

    issuer = "Tradr"
    name = "Tradr NAV files"
    url_env = "LEV_FLOWS_TRADR_URL"
    default_url = "https://axsetf.filepoint.live"

    def __init__(self, client: HttpClient, base_url: str | None = None, dates: Iterable[dt.date] | None = None):
        super().__init__(client, base_url)
        self.dates = sorted(set(dates)) if dates is not None else None

    def url(self, day: dt.date) -> str:
        return self.base_url + NAV_FILE.format(mmddyyyy=day.strftime("%m%d%Y"))

    def requests(self, tickers: Sequence[str]) -> list[tuple[str, str]]:
        """One request per date (key: the ISO date), whatever the funds: each file lists all."""
        days = self.dates if self.dates is not None else default_dates()
        return [(day.isoformat(), self.url(day)) for day in days]

    def parse(self, key: str, status: int, body: bytes, url: str) -> list[Observation | Refused]:
        """Every fund's row of one dated file; a row that cannot be read refuses its fund (in any
        file: none of its rows is kept), naming the file."""
        columns, rows = nav_rows(body)
        file_date = dt.date.fromisoformat(key)
        out: list[Observation | Refused] = []
        for row in rows:
            ticker = row.get(columns["ticker"], "").upper()
            if not ticker:
                continue
            try:
                out.append(row_observation(row, columns, file_date))
            except BadResponse as exc:
                out.append(Refused(ticker, f"{exc} ({url})"))
        return out


PROVIDER = TradrProvider

__all__ = ["NAV_FILE", "PROVIDER", "TradrProvider", "default_dates", "nav_rows", "row_observation"]
