"""SEC EDGAR N-PORT: month-end net assets of each fund from its NPORT-P filings (observations of
``source_kind = "nport"``), back to 2019, as anchors for the daily issuer figures. A fund files
one public NPORT-P per fiscal quarter (the reports of the other months are not public), some 60
days after the quarter end: the figures are history, with ``published`` = the filing date.

Three public files, read in turn (base URLs ``$LEV_FLOWS_SEC_URL``, default
``https://www.sec.gov``, and ``$LEV_FLOWS_SEC_DATA_URL``, default ``https://data.sec.gov``, or
the constructor: the tests point both at a loopback server):

1. ``{www}/files/company_tickers_mf.json``: every fund ticker's registrant, series and class,
   columnar JSON ``{"fields": ["cik", "seriesId", "classId", "symbol"], "data": [[1174610,
   "S000014258", "C000038817", "USD"], ...]}`` (``cik`` a number). A trust (ProShares Trust,
   Direxion Shares ETF Trust) is one CIK with many series; a series may have several classes.
2. ``{data}/submissions/CIK##########.json`` (CIK zero-padded to 10 digits): the registrant's
   filings, ``filings.recent`` holding parallel arrays ``accessionNumber``, ``form``,
   ``filingDate``, ``reportDate`` (ISO dates), ``primaryDocument``...; older filings are in the
   pages that ``filings.files`` lists (``[{"name": "CIK##########-submissions-001.json",
   "filingCount", "filingFrom", "filingTo"}]``, served at ``{data}/submissions/{name}``, the
   same parallel arrays at the top level). A page whose ``filingTo`` is before ``since`` is not
   asked for. The index does not say which series a filing is for.
3. ``{www}/Archives/edgar/data/{cik}/{accession without dashes}/primary_doc.xml``: the filing's
   raw XML (``primaryDocument`` in the index names the XSL-rendered view,
   ``xslFormNPORT-P_X01/primary_doc.xml``; the raw file is always ``primary_doc.xml``). Root
   ``edgarSubmission`` in the namespace ``http://www.sec.gov/edgar/nport``, then:

   * ``headerData/submissionType``: ``NPORT-P`` (or ``NPORT-P/A``, an amendment);
   * ``formData/genInfo``: ``seriesId`` (``S`` + 9 digits; also in
     ``headerData/filerInfo/seriesClassInfo``), ``repPdEnd`` (the fiscal year end, not used),
     ``repPdDate`` (the date the report is as of: the end of the fiscal quarter), ISO dates;
   * ``formData/fundInfo``: ``totAssets``, ``totLiabs``, ``netAssets`` (USD, the series', all
     classes); ``returnInfo/monthlyTotReturns/monthlyTotReturn`` one per class with attributes
     ``classId`` and ``rtn1``, ``rtn2``, ``rtn3`` (percent, e.g. ``"-.05"``; ``"N/A"`` for a month
     before the class existed); ``mon1Flow``, ``mon2Flow``, ``mon3Flow`` with attributes
     ``sales``, ``reinvestment``, ``redemption`` (USD). Month 1 is the first month of the
     quarter, month 3 the month of ``repPdDate``.

   Evidence: a whole real NPORT-P ``primary_doc.xml`` in dgunning/edgartools
   (``data/NPORT.Dupree.xml``: namespace, element and attribute names, ``rtn1="-.05"``); SEC's
   rendered view of a real filing,
   https://sec.gov/Archives/edgar/data/1082744/000108274424000051/xslFormNPORT-P_X01/primary_doc.xml
   (Item A.3.b "Date as of which information is reported" = ``repPdDate``, Item B.1.c net
   assets), and SEC's NPORT-P stylesheet ("Monthly total returns ... for each of the preceding
   three months - Month 1"). Confirmed only from public EDGAR clients found by string search
   (their repositories not named by the search tool): the ticker file's columnar layout (and
   ``[1174610, "S000014258", "C000038817", "USD"]``), the ``filings.files`` pages, and the
   month order (``mon1``/``rtn1`` dated two months before ``repPdDate``), which the N-PORT
   data-set field descriptions ("the first month") agree with.

What is stored, per fund and filing (all dates are the calendar month ends; the store maps them
to sessions later; ``published`` is the filing date, when the figures became public):

* the quarter end (``repPdDate``): ``netAssets``, exact; ``source`` = the XML's URL;
* the two earlier month ends of the quarter, **derived backwards** from the month's total return
  ``r_m`` (percent, the fund's class) and net flow ``F_m = sales + reinvestment - redemption``,
  assuming the flows happen at the month end::

      N_{m-1} = (N_m - F_m) / (1 + r_m / 100)

  Estimates, marked by ``source`` = the URL + ``#derived``. A month whose return is ``N/A`` or
  not a number, whose flows are missing, or whose result is not positive (a fund launched that
  quarter) stops the chain.

When several filings give the same month end (an amendment, a fund that changed its fiscal
year), an exact figure beats a derived one, then the figure derived from the nearer quarter end,
then the later filing. The return of a multi-class series is its ticker's class; with no such
class and one return row, that row; else nothing is derived.

One filing is downloaded per NPORT-P of each registrant asked for (the series is read from the
XML), newest first, at most ``requests_per_second`` requests a second (SEC's fair-access limit is
10; the shared client's concurrency applies within that); every parsed filing is cached for a
year (a filing never changes), so an interrupted back-fill resumes. SEC refuses requests without
a contact e-mail in the User-Agent (HTTP 403): give one in ``HttpSettings.user_agent``.

Failures, one line each in ``AumFetch.failed``: a ticker not in the ticker file, a registrant's
index that cannot be read, a series with no NPORT-P filing, a filing of the fund in another layout
(a day-first date, no net assets) or dated in the future (the fund fails, as in
:func:`~lev_flows.inputs.sources.issuer_aum.base.check_fund`); a filing that cannot be read at all
(an HTML page, another XML, HTTP 404) is listed under its accession number, and the funds of that
registrant keep the quarters that could be read.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
import os
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pandas as pd

from lev_flows.clock import system_now
from lev_flows.errors import DataSourceError
from lev_flows.inputs.sources.base import Progress
from lev_flows.inputs.sources.http import BadResponse, HttpClient, SourceUnavailable
from lev_flows.inputs.sources.issuer_aum.base import (
    AumFetch,
    Observation,
    check_fund,
    number,
    observation_frame,
    us_date,
)

SEC_URL = "https://www.sec.gov"
SEC_URL_ENV = "LEV_FLOWS_SEC_URL"
SEC_DATA_URL = "https://data.sec.gov"
SEC_DATA_URL_ENV = "LEV_FLOWS_SEC_DATA_URL"
NPORT_NS = "http://www.sec.gov/edgar/nport"
NPORT_FORMS = ("NPORT-P", "NPORT-P/A")
SOURCE_KIND = "nport"
DERIVED_SUFFIX = "#derived"
DEFAULT_SINCE = dt.date(2019, 1, 1)
TICKERS_TTL_S = 24 * 3600.0
SUBMISSIONS_TTL_S = 6 * 3600.0
FILING_TTL_S = 365 * 24 * 3600.0  # an accepted filing never changes


@dataclass(frozen=True)
class FundSeries:
    """A ticker's registrant (CIK), series and class, from the SEC's fund ticker file."""

    ticker: str
    cik: int
    series_id: str
    class_id: str


@dataclass(frozen=True)
class FilingRef:
    """One NPORT-P in a registrant's index (dates ISO; ``report_date`` may be unknown)."""

    cik: int
    accession: str
    form: str
    filing_date: dt.date
    report_date: dt.date | None


@dataclass(frozen=True)
class NportFiling:
    """What one NPORT-P says of its series: net assets (USD) at ``rep_date``; per class the
    three monthly total returns (percent, month 1 first; None = not given); per month the net
    flow ``sales + reinvestment - redemption`` (USD; None = not given)."""

    series_id: str
    rep_date: dt.date
    net_assets: float
    returns: dict[str, tuple[float | None, float | None, float | None]]
    net_flows: tuple[float | None, float | None, float | None]


@dataclass(frozen=True)
class FilingProblem:
    """A filing of a known series that is not in the layout (the series' fund fails)."""

    series_id: str
    reason: str


@dataclass(frozen=True)
class _Candidate:
    """One month-end figure a filing gives a fund, with what ranks it against other filings'."""

    date: dt.date
    aum_usd: float
    source: str
    published: dt.date
    exact: bool
    distance: int  # months back from the filing's quarter end


# ---- small helpers ----------------------------------------------------------------------------


def month_end(day: dt.date, back: int = 0) -> dt.date:
    """The calendar end of ``day``'s month, or of the month ``back`` months before it."""
    index = day.year * 12 + (day.month - 1) - back
    year, month = divmod(index, 12)
    return dt.date(year, month + 1, calendar.monthrange(year, month + 1)[1])


def _iso(text: object, where: str) -> dt.date | None:
    t = str(text or "").strip()
    if not t:
        return None
    try:
        return dt.date.fromisoformat(t[:10])
    except ValueError:
        raise BadResponse(f"{where}: {text!r} is not an ISO date") from None


def _status(status: int) -> None:
    if status == 404:
        raise BadResponse("not found (HTTP 404)")
    if status == 403:
        raise BadResponse("HTTP 403 (SEC refuses a User-Agent without a contact e-mail, or too many requests)")
    if status >= 400:
        raise BadResponse(f"HTTP {status}")


def _looks_html(body: bytes) -> bool:
    head = body.lstrip()[:512].lower()
    return head.startswith((b"<!doctype html", b"<html")) or b"<html" in head


def _json(body: bytes, what: str) -> dict:
    if not body.strip():
        raise BadResponse("empty body")
    if _looks_html(body):
        raise BadResponse(f"an HTML page, not the {what}")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadResponse(f"not JSON, not the {what} ({exc})") from None
    if not isinstance(data, dict):
        raise BadResponse(f"a JSON {type(data).__name__}, not the {what}")
    return data


# ---- the three files ----------------------------------------------------------------------------


def parse_fund_tickers(body: bytes) -> dict[str, FundSeries]:
    """``company_tickers_mf.json`` -> ticker (upper case) -> :class:`FundSeries` (the first row of
    a ticker listed twice)."""
    data = _json(body, "SEC fund ticker file")
    fields = data.get("fields")
    if not isinstance(fields, list) or not {"cik", "seriesId", "classId", "symbol"} <= set(fields):
        raise BadResponse(f"fields {fields!r} are not cik, seriesId, classId, symbol (another layout)")
    at = {name: fields.index(name) for name in ("cik", "seriesId", "classId", "symbol")}
    out: dict[str, FundSeries] = {}
    for row in data.get("data") or []:
        try:
            symbol = str(row[at["symbol"]] or "").strip().upper()
            fund = FundSeries(symbol, int(row[at["cik"]]), str(row[at["seriesId"]] or ""), str(row[at["classId"]] or ""))
        except (TypeError, ValueError, IndexError):
            continue  # one odd row is not the file's failure
        if symbol and fund.series_id and symbol not in out:
            out[symbol] = fund
    if not out:
        raise BadResponse("no fund rows")
    return out


def parse_submissions(body: bytes, cik: int) -> tuple[list[FilingRef], list[tuple[str, dt.date | None]]]:
    """A submissions file (the main one or an older page) -> its NPORT-P filings, and the older
    pages it lists as ``(name, filingTo)``."""
    data = _json(body, "submissions file")
    if "filings" in data:
        table, pages = (data["filings"] or {}).get("recent"), (data["filings"] or {}).get("files") or []
    elif "accessionNumber" in data:
        table, pages = data, []
    else:
        raise BadResponse("no filings.recent (not a submissions file)")
    columns = ("accessionNumber", "form", "filingDate", "reportDate")
    if not isinstance(table, dict) or any(not isinstance(table.get(c), list) for c in columns):
        raise BadResponse(f"filings lack the arrays {', '.join(columns)} (another layout)")
    if len({len(table[c]) for c in columns}) != 1:
        raise BadResponse("the filings arrays are of different lengths")
    refs = []
    for acc, form, filed, report in zip(*(table[c] for c in columns)):
        if str(form).strip().upper() in NPORT_FORMS:
            refs.append(FilingRef(cik, str(acc).strip(), str(form).strip().upper(), _iso(filed, "filingDate"),
                                  _iso(report, "reportDate")))
    older = [(str(p.get("name")), _iso(p.get("filingTo"), "filingTo")) for p in pages if isinstance(p, dict) and p.get("name")]
    return refs, older


def _q(path: str) -> str:
    """``"formData/genInfo"`` -> the same path in the N-PORT namespace."""
    return "/".join(f"{{{NPORT_NS}}}{part}" for part in path.split("/"))


def _text(node: ET.Element | None, path: str) -> str:
    found = node.find(_q(path)) if node is not None else None
    return (found.text or "").strip() if found is not None else ""


def _nport_root(body: bytes) -> ET.Element:
    """The filing's root element; a :class:`BadResponse` for anything but an NPORT-P XML."""
    if not body.strip():
        raise BadResponse("empty body")
    if _looks_html(body):
        raise BadResponse("an HTML page, not an N-PORT XML")
    if b"<!DOCTYPE" in body[:4096] or b"<!ENTITY" in body[:4096]:
        raise BadResponse("an XML with a DTD, not an N-PORT XML")
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise BadResponse(f"not XML ({exc})") from None
    if root.tag != f"{{{NPORT_NS}}}edgarSubmission":
        raise BadResponse(f"not an N-PORT XML (root {root.tag})")
    kind = _text(root, "headerData/submissionType").upper()
    if kind and kind not in NPORT_FORMS:
        raise BadResponse(f"a {kind} filing, not NPORT-P")
    return root


def _optional(text: str | None, where: str) -> float | None:
    """A return or flow figure: a number, or None when blank, ``N/A`` or not a number (it only
    feeds the derived months, never the exact figure)."""
    try:
        return number(text, where)
    except BadResponse:
        return None


def _read_fund_info(root: ET.Element, series_id: str) -> NportFiling:
    rep_date = us_date(_text(root, "formData/genInfo/repPdDate"), "repPdDate")
    net_assets = number(_text(root, "formData/fundInfo/netAssets"), "netAssets")
    if net_assets is None:
        raise BadResponse("no netAssets in fundInfo")
    fund = root.find(_q("formData/fundInfo"))
    returns: dict[str, tuple[float | None, float | None, float | None]] = {}
    for row in fund.iterfind(_q("returnInfo/monthlyTotReturns/monthlyTotReturn")):
        cls = (row.get("classId") or "").strip()
        returns.setdefault(cls, tuple(_optional(row.get(f"rtn{i}"), f"rtn{i}") for i in (1, 2, 3)))
    flows = []
    for i in (1, 2, 3):
        el = fund.find(_q(f"mon{i}Flow"))
        parts = [_optional(el.get(k), k) if el is not None else None for k in ("sales", "reinvestment", "redemption")]
        given = el is not None and any(p is not None for p in parts)
        flows.append((parts[0] or 0.0) + (parts[1] or 0.0) - (parts[2] or 0.0) if given else None)
    return NportFiling(series_id, rep_date, net_assets, returns, tuple(flows))


def parse_nport(body: bytes) -> NportFiling | FilingProblem:
    """An NPORT-P ``primary_doc.xml`` -> its series' figures; a :class:`FilingProblem` when the
    series is known but the figures are not in the layout; a :class:`BadResponse` when the file
    is not an N-PORT XML at all."""
    root = _nport_root(body)
    series_id = _text(root, "formData/genInfo/seriesId") or _text(root, "headerData/filerInfo/seriesClassInfo/seriesId")
    if not series_id:
        raise BadResponse("no seriesId in genInfo")
    try:
        return _read_fund_info(root, series_id)
    except BadResponse as exc:
        return FilingProblem(series_id, str(exc))


# ---- from filings to observations -----------------------------------------------------------------


def _class_returns(filing: NportFiling, class_id: str) -> tuple[float | None, float | None, float | None] | None:
    if class_id in filing.returns:
        return filing.returns[class_id]
    return next(iter(filing.returns.values())) if len(filing.returns) == 1 else None


def filing_candidates(filing: NportFiling, class_id: str, url: str, published: dt.date) -> list[_Candidate]:
    """The exact quarter-end figure of one filing and the month ends derived back from it."""
    end = month_end(filing.rep_date)
    out = [_Candidate(end, filing.net_assets, url, published, True, 0)]
    returns = _class_returns(filing, class_id)
    n = filing.net_assets
    for back, month in ((1, 3), (2, 2)):  # N at the end of month 2, then of month 1
        r = returns[month - 1] if returns else None
        flow = filing.net_flows[month - 1]
        if r is None or flow is None or 1 + r / 100 <= 0:
            break
        n = (n - flow) / (1 + r / 100)
        if not n > 0:
            break
        out.append(_Candidate(month_end(end, back), round(n, 2), url + DERIVED_SUFFIX, published, False, back))
    return out


def best_per_month(candidates: list[_Candidate], since: dt.date) -> list[_Candidate]:
    """One figure per month end on or after ``since``: exact first, then the nearest quarter
    end's, then the latest filed."""
    best: dict[dt.date, _Candidate] = {}
    for c in sorted(candidates, key=lambda c: (not c.exact, c.distance, -c.published.toordinal(), c.source)):
        if c.date >= since:
            best.setdefault(c.date, c)
    return [best[d] for d in sorted(best)]


def _frame(ticker: str, rows: list[_Candidate], fetched_at: dt.datetime) -> pd.DataFrame:
    """The store's columns (``source_kind = nport``, ``published`` = the filing date)."""
    groups: dict[tuple[str, dt.date], list[Observation]] = {}
    for c in rows:
        groups.setdefault((c.source, c.published), []).append(Observation(ticker, c.date, c.aum_usd))
    frames = [observation_frame(obs, source, fetched_at).assign(source_kind=SOURCE_KIND, published=published)
              for (source, published), obs in groups.items()]
    return pd.concat(frames, ignore_index=True).sort_values("date", ignore_index=True)


def _empty_frame(fetched_at: dt.datetime) -> pd.DataFrame:
    return observation_frame([], "", fetched_at).assign(source_kind=SOURCE_KIND)


# ---- the provider ---------------------------------------------------------------------------------


class EdgarNport:
    """Month-end net assets of funds from their NPORT-P filings on SEC EDGAR (see the module)."""

    name = "SEC EDGAR N-PORT"
    #: requests sent per second at most (SEC allows 10 per second and per machine)
    requests_per_second = 8

    def __init__(self, client: HttpClient, base_url: str | None = None, data_url: str | None = None):
        self.client = client
        www = base_url if base_url is not None else (os.environ.get(SEC_URL_ENV) or SEC_URL)
        data = data_url if data_url is not None else (os.environ.get(SEC_DATA_URL_ENV) or SEC_DATA_URL)
        if not www.strip() or not data.strip():
            raise BadResponse(f"{self.name}: the base URL is empty")
        self.base_url, self.data_url = www.rstrip("/"), data.rstrip("/")

    # ---- URLs -------------------------------------------------------------------------------------

    def tickers_url(self) -> str:
        return f"{self.base_url}/files/company_tickers_mf.json"

    def submissions_url(self, cik: int) -> str:
        return f"{self.data_url}/submissions/CIK{cik:010d}.json"

    def page_url(self, name: str) -> str:
        return f"{self.data_url}/submissions/{name}"

    def filing_url(self, cik: int, accession: str) -> str:
        return f"{self.base_url}/Archives/edgar/data/{cik}/{accession.replace('-', '')}/primary_doc.xml"

    # ---- the run ----------------------------------------------------------------------------------

    def fetch(self, tickers: Sequence[str], since: dt.date = DEFAULT_SINCE, progress: Progress | None = None) -> AumFetch:
        """Month-end observations of ``tickers`` from ``since`` on; every fund that has none, or
        whose filings fail the checks, is in ``failed`` with one line, and so is every filing that
        could not be read (under its accession number). ``progress(accession, ok)`` is called as
        each filing's XML finishes."""
        wanted = sorted({t.strip().upper() for t in tickers if t and t.strip()})
        failed: dict[str, str] = {}
        not_covered: dict[str, str] = {}
        funds = self._find_series(wanted, failed, not_covered)
        ciks = sorted({f.cik for f in funds.values()})
        refs = self._list_filings(ciks, funds, since, failed)
        docs = self._read_filings([r for cik in ciks for r in refs.get(cik, [])], progress, failed)
        fetched_at = system_now()
        frames = []
        for fund in funds.values():
            if fund.ticker in failed:
                continue
            rows, why = self._fund_rows(fund, refs[fund.cik], docs, since, failed)
            if why:
                failed[fund.ticker] = why
            else:
                frames.append(_frame(fund.ticker, rows, fetched_at))
        frame = pd.concat(frames, ignore_index=True) if frames else _empty_frame(fetched_at)
        return AumFetch(self.name, frame, failed, wanted, not_covered)

    def _find_series(self, wanted: list[str], failed: dict[str, str], not_covered: dict[str, str]) -> dict[str, FundSeries]:
        """Ticker -> series from the SEC's ticker file; a ticker it lacks files no N-PORT (an
        ETN, a commodity pool: not a registered fund) and is ``not_covered``."""
        url = self.tickers_url()

        def parse(status: int, body: bytes) -> dict[str, FundSeries]:
            _status(status)
            return parse_fund_tickers(body)

        try:
            table = self.client.get(url, parse, what="SEC fund ticker file", ttl_s=TICKERS_TTL_S)
        except DataSourceError as exc:  # SourceUnavailable included: every fund fails with it
            failed.update({t: f"{t}: {exc}" for t in wanted})
            return {}
        for t in wanted:
            if t not in table:
                not_covered[t] = f"{t}: not in the SEC fund ticker file ({url})"
        return {t: table[t] for t in wanted if t in table}

    def _list_filings(self, ciks: list[int], funds: dict[str, FundSeries], since: dt.date,
                      failed: dict[str, str]) -> dict[int, list[FilingRef]]:
        """Each registrant's NPORT-P filings reported on or after ``since`` (older pages too);
        the funds of a registrant whose index cannot be read fail."""
        first = [(f"CIK{cik:010d}.json", self.submissions_url(cik), cik) for cik in ciks]
        got, errors = self._submissions(first)
        refs: dict[int, list[FilingRef]] = {}
        pages = []
        for name, _, cik in first:
            if name in errors:
                for fund in funds.values():
                    if fund.cik == cik:
                        failed[fund.ticker] = f"{fund.ticker}: the filing index of CIK {cik} cannot be read: {errors[name]}"
                continue
            refs[cik] = list(got[name][0])
            pages += [(page, self.page_url(page), cik) for page, to in got[name][1] if to is None or to >= since]
        more, errors = self._submissions(pages)
        failed.update(errors)  # a missing older page: the funds keep the newer quarters
        for name, _, cik in pages:
            refs[cik] += more.get(name, ([], []))[0]
        for cik, listed in refs.items():
            kept = {r.accession: r for r in listed if r.report_date is None or r.report_date >= since}
            refs[cik] = sorted(kept.values(), key=lambda r: (r.filing_date, r.accession), reverse=True)
        return refs

    def _submissions(self, pages: list[tuple[str, str, int]]) -> tuple[dict, dict[str, str]]:
        cik_of = {name: cik for name, _, cik in pages}

        def parse(name: str, status: int, body: bytes):
            _status(status)
            return parse_submissions(body, cik_of[name])

        return self._polite([(name, url) for name, url, _ in pages], parse, SUBMISSIONS_TTL_S)

    def _read_filings(self, refs: list[FilingRef], progress: Progress | None,
                      failed: dict[str, str]) -> dict[str, NportFiling | FilingProblem]:
        """Accession -> the parsed filing; an unreadable one is in ``failed`` under its accession."""

        def parse(accession: str, status: int, body: bytes) -> NportFiling | FilingProblem:
            _status(status)
            return parse_nport(body)

        requests = [(r.accession, self.filing_url(r.cik, r.accession)) for r in refs]
        got, errors = self._polite(requests, parse, FILING_TTL_S, progress,
                                   cache_if=lambda result: isinstance(result, NportFiling))
        failed.update(errors)
        return got

    def _polite(self, requests: list[tuple[str, str]], parse: Callable, ttl_s: float, progress: Progress | None = None,
                cache_if: Callable | None = None) -> tuple[dict, dict[str, str]]:
        """``client.get_many`` in slices, so no more than ``requests_per_second`` requests are
        sent each second (answers from the cache do not count). A source that stops answering
        fails the rest with its reason."""
        got: dict = {}
        errors: dict[str, str] = {}
        step = max(1, int(self.requests_per_second))
        for i in range(0, len(requests), step):
            start, sent = time.monotonic(), self.client.requests
            try:
                g, e = self.client.get_many(((k, u, None) for k, u in requests[i:i + step]), parse, ttl_s=ttl_s,
                                            progress=progress, cache_if=cache_if)
            except SourceUnavailable as exc:
                errors.update({k: str(exc) for k, _ in requests[i:]})
                break
            got.update(g)
            errors.update(e)
            wait = (self.client.requests - sent) / step - (time.monotonic() - start)
            if wait > 0 and i + step < len(requests):
                time.sleep(wait)
        return got, errors

    def _fund_rows(self, fund: FundSeries, refs: list[FilingRef], docs: dict[str, NportFiling | FilingProblem],
                   since: dt.date, failed: dict[str, str]) -> tuple[list[_Candidate], str | None]:
        """One fund's month-end figures from its series' filings, or why there are none."""
        candidates: list[_Candidate] = []
        for ref in refs:
            doc = docs.get(ref.accession)
            if doc is None or doc.series_id != fund.series_id:
                continue  # unreadable (listed under its accession), or another series' filing
            url = self.filing_url(ref.cik, ref.accession)
            if isinstance(doc, FilingProblem):
                return [], f"{fund.ticker}: {ref.form} {ref.accession}: {doc.reason} ({url})"
            rows = filing_candidates(doc, fund.class_id, url, ref.filing_date)
            why = check_fund(fund.ticker, [Observation(fund.ticker, c.date, c.aum_usd) for c in rows], url)
            if why:
                return [], why
            candidates += rows
        rows = best_per_month(candidates, since)
        if rows:
            return rows, None
        where = self.submissions_url(fund.cik)
        if not refs:
            return [], f"{fund.ticker}: CIK {fund.cik} has no NPORT-P filing reported since {since} ({where})"
        unread = [r.accession for r in refs if r.accession in failed]
        note = f"; {len(unread)} could not be read ({', '.join(unread[:3])})" if unread else ""
        return [], (f"{fund.ticker}: none of the {len(refs)} NPORT-P filings of CIK {fund.cik} since {since} "
                    f"is for series {fund.series_id}{note} ({where})")


__all__ = [
    "DERIVED_SUFFIX",
    "SEC_DATA_URL",
    "SEC_DATA_URL_ENV",
    "SEC_URL",
    "SEC_URL_ENV",
    "SOURCE_KIND",
    "EdgarNport",
    "FilingProblem",
    "FilingRef",
    "FundSeries",
    "NportFiling",
    "best_per_month",
    "filing_candidates",
    "month_end",
    "parse_fund_tickers",
    "parse_nport",
    "parse_submissions",
]
