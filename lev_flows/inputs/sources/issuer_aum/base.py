"""The one small interface every issuer AUM provider implements, and the checks they share.

A provider knows one issuer's public files: which URL(s) to ask for a set of funds, and how to
read each answer into **observations**: a fund's net assets (USD) at the close of a date, with
its NAV (USD per share) and shares outstanding where the file gives them::

    aum_usd = shares_outstanding * nav          (checked within NAV_SHARES_TOLERANCE)

Subclasses set ``issuer`` (the catalog's canonical issuer name, see
:func:`lev_flows.inputs.catalog.normalize_issuer`), ``name``, ``url_env`` / ``default_url``
(the base URL, overridable by the environment variable or the constructor: the tests point it at
a loopback server) and implement two methods:

* :meth:`IssuerAumProvider.requests` -> ``[(key, url), ...]``: one request per fund
  (``key`` = the ticker) or one for many funds (``key`` = any label: an all-funds file);
* :meth:`IssuerAumProvider.parse` ``(key, status, body, url)`` -> a list of
  :class:`Observation` (and :class:`Refused` for a fund of a many-funds file whose rows cannot
  be read; ``self.wanted`` holds the funds asked for) (raise :class:`~lev_flows.inputs.sources.http.BadResponse` with a short
  reason for a file that is not in the issuer's layout: another layout, an HTML error page, ...).

:meth:`IssuerAumProvider.fetch` (shared) runs the requests on the shared HTTP client, checks
every fund's rows (:func:`check_fund`) and returns an :class:`AumFetch`: the observations of the
funds that passed, in the store's columns, and one line per fund that did not (a fund the issuer
does not list, net assets in thousands, a date in the future, a failed request...).
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import pandas as pd

from lev_flows.clock import system_now, today
from lev_flows.inputs.sources.base import Progress
from lev_flows.inputs.sources.http import BadResponse, HttpClient
from lev_flows.inputs.store import (  # one tolerance for every reader
    COLUMNS,
    NAV_SHARES_TOLERANCE,
)

#: issuer files are published once a day after the close: cached this long (seconds)
ISSUER_TTL_S = 6 * 3600.0


@dataclass(frozen=True)
class Observation:
    """One fund's net assets at the close of ``date`` as its issuer published them (USD)."""

    ticker: str
    date: dt.date
    aum_usd: float
    nav: float | None = None
    shares_outstanding: float | None = None


@dataclass(frozen=True)
class Refused:
    """A fund whose rows in a many-funds file cannot be read: ``parse`` returns it among the
    observations, and the fund (only it) fails with ``reason``."""

    ticker: str
    reason: str


@dataclass
class AumFetch:
    """What one provider's run returned: ``observations`` (store columns plus ``fetched_at``) of
    the funds that passed, ``failed`` (ticker or request -> one line naming the file), the funds
    asked for, and those the source does not cover (``not_covered``)."""

    provider: str
    observations: pd.DataFrame
    failed: dict[str, str] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)
    #: funds this source does not cover at all (not failures): ticker -> why
    not_covered: dict[str, str] = field(default_factory=dict)


def us_date(text: str, where: str) -> dt.date:
    """A US month-first date (``MM/DD/YYYY``, ``M/D/YY``) or ISO ``YYYY-MM-DD``; anything else,
    and a first field above 12 (a day-first date), is a :class:`BadResponse` naming ``where``."""
    t = (text or "").strip()
    m = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T].*)?", t)
    if m:
        y, mo, d = int(m[1]), int(m[2]), int(m[3])
    else:
        m = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{2}|\d{4})(?: .*)?", t)
        if not m:
            raise BadResponse(f"{where}: {text!r} is not a date")
        mo, d, y = int(m[1]), int(m[2]), int(m[3])
        y += 2000 if y < 100 else 0
        if mo > 12:
            raise BadResponse(f"{where}: {text!r} is a day-first date (expected month/day/year)")
    try:
        return dt.date(y, mo, d)
    except ValueError:
        raise BadResponse(f"{where}: {text!r} is not a date") from None


def number(text: object, where: str) -> float | None:
    """``"1,234.5"``, ``"$1,234"``, ``"(12.5)"``, ``"12.3%"`` -> float; blank or ``-`` -> None;
    anything else a :class:`BadResponse` naming ``where``."""
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return None
    if isinstance(text, (int, float)):
        return float(text)
    t = str(text).strip().replace(",", "").replace("$", "").rstrip("%").strip()
    if not t or t in ("-", "--", "N/A", "n/a", "NA"):
        return None
    neg = t.startswith("(") and t.endswith(")")
    try:
        v = float(t.strip("()"))
    except ValueError:
        raise BadResponse(f"{where}: {text!r} is not a number") from None
    return -v if neg else v


def check_fund(ticker: str, rows: list[Observation], url: str) -> str | None:
    """Why ``ticker``'s rows from ``url`` cannot be stored, or None when they can:

    * a net assets figure that is not a positive finite number;
    * ``shares x NAV`` that disagrees with net assets by more than 1 % (when both are given):
      about 1,000x is "net assets in thousands", otherwise "disagree";
    * a date after today (New York; the one clock);
    * the same date twice with different figures.
    """
    seen: dict[dt.date, float] = {}
    now = today()
    for r in rows:
        if not (isinstance(r.aum_usd, (int, float)) and math.isfinite(r.aum_usd) and r.aum_usd > 0):
            return f"{ticker} {r.date}: net assets {r.aum_usd!r} is not a positive number ({url})"
        if r.date > now:
            return f"{ticker}: date {r.date} is in the future (today is {now}) ({url})"
        if r.nav and r.shares_outstanding and r.nav > 0 and r.shares_outstanding > 0:
            ratio = r.nav * r.shares_outstanding / r.aum_usd
            if abs(ratio - 1) > NAV_SHARES_TOLERANCE:
                what = "net assets look given in thousands" if 500 < ratio < 2000 else "net assets disagree with"
                return (f"{ticker} {r.date}: {what} NAV x shares ({r.nav:g} x {r.shares_outstanding:,.0f} = "
                        f"{r.nav * r.shares_outstanding:,.0f} against {r.aum_usd:,.0f}) ({url})")
        if r.date in seen and seen[r.date] != r.aum_usd:
            return f"{ticker}: {r.date} is given twice with different net assets ({url})"
        seen[r.date] = r.aum_usd
    return None


def observation_frame(rows: list[Observation], url: str | list[str], fetched_at: dt.datetime) -> pd.DataFrame:
    """Observations -> the store's columns (``source_kind = issuer_nav``, ``source`` = the URL of
    the file, or one URL per row) plus ``fetched_at`` (UTC, naive)."""
    frame = pd.DataFrame(
        {
            "ticker": [r.ticker.upper() for r in rows],
            "date": [r.date for r in rows],
            "aum_usd": [float(r.aum_usd) for r in rows],
            "nav": [r.nav for r in rows],
            "shares_outstanding": [r.shares_outstanding for r in rows],
        }
    )
    frame = frame.assign(timing="close", source_kind="issuer_nav", source=url, published=None,
                         fetched_at=pd.Timestamp(fetched_at).tz_convert("UTC").tz_localize(None))
    return frame[[*COLUMNS, "fetched_at"]]


class IssuerAumProvider:
    """Base class of the issuer providers (see the module docstring)."""

    issuer: ClassVar[str]
    name: ClassVar[str]
    url_env: ClassVar[str]
    default_url: ClassVar[str]
    ttl_s: ClassVar[float] = ISSUER_TTL_S
    #: limits of one answer, when the issuer's file is larger or slower than the client's
    #: defaults allow (None: the client's settings)
    max_bytes: ClassVar[int | None] = None
    deadline_s: ClassVar[float | None] = None

    def __init__(self, client: HttpClient, base_url: str | None = None):
        self.client = client
        #: the funds the current :meth:`fetch` asks for (upper case)
        self.wanted: set[str] = set()
        base = base_url if base_url is not None else (os.environ.get(self.url_env) or self.default_url)
        if not base.strip():
            raise BadResponse(f"{self.name}: the base URL is empty")
        self.base_url = base.rstrip("/")

    # ---- what a subclass implements --------------------------------------------------------

    def requests(self, tickers: Sequence[str]) -> list[tuple[str, str]]:
        """``[(key, url), ...]`` that answer for ``tickers`` (upper case)."""
        raise NotImplementedError

    def parse(self, key: str, status: int, body: bytes, url: str) -> list[Observation]:
        """One answer -> observations (of any fund the file holds; others are dropped)."""
        raise NotImplementedError

    # ---- shared --------------------------------------------------------------------------------

    def fetch(self, tickers: Sequence[str], progress: Progress | None = None) -> AumFetch:
        """Observations of ``tickers`` from the issuer; every fund asked for that no file lists,
        or whose rows fail :func:`check_fund`, is in ``failed`` with one line."""
        wanted = sorted({t.strip().upper() for t in tickers if t and t.strip()})
        self.wanted = set(wanted)
        requests = self.requests(wanted)
        urls = dict(requests)

        def parse(key: str, status: int, body: bytes) -> list[Observation]:
            if status == 404:
                raise BadResponse("not found (HTTP 404)")
            if status >= 400:
                raise BadResponse(f"HTTP {status}")
            return self.parse(key, status, body, urls[key])

        got, failed = self.client.get_many(((k, u, None) for k, u in requests), parse, ttl_s=self.ttl_s, progress=progress,
                                           max_bytes=self.max_bytes, deadline_s=self.deadline_s)
        fetched_at = system_now()
        by_fund: dict[str, list[tuple[Observation, str]]] = {}  # each row with the file it came from
        errors = {k: v for k, v in failed.items()}
        for key in sorted(got):
            for r in got[key]:
                t = r.ticker.upper()
                if t not in self.wanted:
                    continue
                if isinstance(r, Refused):
                    errors[t] = r.reason
                else:
                    by_fund.setdefault(t, []).append((r, urls[key]))
        frames = []
        for t in wanted:
            if t in errors:
                continue
            if t not in by_fund:
                lost = [k for k in failed if k not in wanted]  # an all-funds file that failed
                errors[t] = failed[lost[0]] if lost else f"{t}: not listed by {self.issuer} ({', '.join(sorted(set(urls.values())))})"
                continue
            rows, where = [r for r, _ in by_fund[t]], [u for _, u in by_fund[t]]
            why = check_fund(t, rows, ", ".join(sorted(set(where))))
            if why:
                errors[t] = why
            else:
                frames.append(observation_frame(rows, where, fetched_at))
        frame = pd.concat(frames, ignore_index=True) if frames else observation_frame([], "", fetched_at)
        return AumFetch(self.name, frame, {k: v for k, v in errors.items() if k in wanted}, wanted)


__all__ = ["IssuerAumProvider", "Observation", "Refused", "AumFetch", "check_fund", "observation_frame", "us_date", "number",
           "NAV_SHARES_TOLERANCE", "ISSUER_TTL_S"]
