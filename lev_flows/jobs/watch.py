"""Live into the close: refresh the live estimate every N seconds and record its path.

    refresh  = run_daily(universe, source, now=clock.now(), force_live=True)   # one live estimate
    record   = Store.add_refresh(refresh_row(refresh))                          # committed at once
    view     = on_refresh(refresh, history)                                     # the CLI's rich Live

From ``start`` (default 15:00 New York, or the open if later) to the session's close (the
calendar's) or ``until``; on an early close (13:00) the start moves with the close (12:00). A refresh that fails as a whole (the source
drops, no price for the session) is recorded as not ok and shown as **stale**: the last good
numbers stay on screen with the time they are from and the reason, and the next refresh that
works clears the marker. Each refresh is committed to the store before the next one starts, so
an interrupt (Ctrl-C) keeps every refresh recorded until then. The path is read back with
:func:`intraday_path` (``lev-flows watch --replay DATE``).

The clock is an object with ``now()`` (an aware timestamp) and ``sleep(seconds)``; tests pass
a fake one that advances on ``sleep``; the default reads the one clock (:mod:`lev_flows.clock`),
which ``--now`` / ``$LEV_FLOWS_NOW`` pin to a replayed afternoon running at wall-clock speed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from lev_flows import clock
from lev_flows.errors import DataSourceError, InputError
from lev_flows.inputs.calendar import NEW_YORK, market_state, next_open, session_hours
from lev_flows.inputs.catalog import Universe

#: the default start of a watch, New York time
WATCH_START = dt.time(15, 0)
#: rows of the top-funds and top-stocks lists kept per refresh
TOP = 25


class SystemClock:
    """The one clock (:func:`lev_flows.clock.now`: ``--now`` / ``$LEV_FLOWS_NOW`` when pinned,
    else the system's), with a real sleep."""

    def now(self) -> pd.Timestamp:
        return clock.now()

    def sleep(self, seconds: float) -> None:
        time.sleep(max(0.0, seconds))


class MarketClosed(InputError):
    """Outside the hours a watch can run; says when the next session opens."""

    exit_code = 0


@dataclass(frozen=True)
class Refresh:
    """One refresh of the live estimate. Amounts in USD; ``at`` in New York time.

    When ``ok`` is False the numbers are the last good refresh's (``stale_since`` its time) and
    ``error`` says why this one failed."""

    session: dt.date
    at: pd.Timestamp
    ok: bool
    total_usd: float | None = None
    gross_usd: float | None = None
    auction_usd: float | None = None
    funds_priced: int | None = None
    by_index: dict[str, float] = field(default_factory=dict)
    top_funds: list[tuple[str, float]] = field(default_factory=list)
    top_stocks: list[tuple[str, float]] = field(default_factory=list)
    basis: str = ""
    source: str = ""
    requests: int | None = None
    error: str | None = None
    stale_since: pd.Timestamp | None = None
    failed: int = 0
    #: committed to the store (False when the store could not take it: locked, read-only, full)
    recorded: bool = True

    def change_usd(self, previous: Refresh | None) -> float | None:
        """Total minus the previous good refresh's total (None for the first, or a stale one)."""
        if previous is None or not self.ok or previous.total_usd is None or self.total_usd is None:
            return None
        return self.total_usd - previous.total_usd

    def row(self) -> dict[str, Any]:
        """The store's row (:meth:`lev_flows.inputs.store.Store.add_refresh`)."""
        return {
            "session": self.session, "refreshed_at": self.at.tz_convert(NEW_YORK).tz_localize(None).floor("ms").to_pydatetime(), "ok": self.ok,
            "total_usd": self.total_usd if self.ok else None, "gross_usd": self.gross_usd if self.ok else None,
            "auction_usd": self.auction_usd if self.ok else None, "funds_priced": self.funds_priced if self.ok else None,
            "by_index": json.dumps(self.by_index) if self.ok else None,
            "top_funds": json.dumps(self.top_funds) if self.ok else None,
            "top_stocks": json.dumps(self.top_stocks) if self.ok else None,
            "basis": self.basis, "source": self.source, "requests": self.requests, "error": self.error,
        }


def refresh_from(result: Any, at: pd.Timestamp) -> Refresh:
    """A :class:`Refresh` from a :class:`lev_flows.jobs.daily.DailyResult`."""
    est = result.estimate
    by_index = {str(b): float(v) for b, v in est.by_index["rebalance_usd"].dropna().items()}
    etf = est.by_etf.dropna(subset=["rebalance_usd"])
    etf = etf.reindex(etf["rebalance_usd"].abs().sort_values(ascending=False).index).head(TOP)
    stocks = est.by_stock.reindex(est.by_stock["flow_usd"].abs().sort_values(ascending=False).index).head(TOP)
    return Refresh(
        session=result.session, at=at, ok=True, total_usd=float(est.total.rebalance_usd),
        gross_usd=float(est.total.gross_rebalance_usd), auction_usd=_auction(est),
        funds_priced=int(est.total.n_funds_with_flow), by_index=by_index,
        top_funds=[(str(t), float(v)) for t, v in etf["rebalance_usd"].items()],
        top_stocks=[(str(t), float(v)) for t, v in stocks["flow_usd"].items()],
        basis=est.basis, source=result.source, requests=result.requests, failed=len(result.failed),
    )


def _auction(est: Any) -> float | None:
    value = getattr(est.total, "auction_usd", None)
    return float(value) if value is not None else None


def watch_window(now: pd.Timestamp, start: dt.time = WATCH_START, until: dt.time | None = None) -> tuple[dt.date, pd.Timestamp, pd.Timestamp]:
    """``(session, first refresh, end)`` of the watch ``now`` belongs to; :class:`MarketClosed`
    (exit 0, with the next open) when New York is not in a session or its close has passed."""
    session, closed, _ = market_state(now)
    today = now.tz_convert(NEW_YORK).date()
    if closed or session != today:
        nxt = next_open(now)
        raise MarketClosed(f"New York is not in a session now ({now.tz_convert(NEW_YORK):%a %Y-%m-%d %H:%M}); "
                           f"the next session opens {nxt:%a %Y-%m-%d %H:%M} New York")
    opens, closes = session_hours(session)
    first = pd.Timestamp(dt.datetime.combine(session, start), tz=NEW_YORK)
    regular = pd.Timestamp(dt.datetime.combine(session, dt.time(16, 0)), tz=NEW_YORK)
    if closes < regular:  # an early close (13:00): the same time before the close as on a full day
        first = first - (regular - closes)
    first = max(opens, first)
    end = closes if until is None else min(closes, pd.Timestamp(dt.datetime.combine(session, until), tz=NEW_YORK))
    if end <= now:
        raise MarketClosed(f"--until {until:%H:%M} has passed ({now.tz_convert(NEW_YORK):%H:%M} New York)")
    return session, first, end


def watch(
    universe: Universe,
    source: Any,
    *,
    start: dt.time = WATCH_START,
    until: dt.time | None = None,
    interval_s: float = 60.0,
    count: int | None = None,
    clock: Any = None,
    db: str | Path | None = None,
    observations: pd.DataFrame | None = None,
    exclude_etns: bool = False,
    on_refresh: Callable[[Refresh, list[Refresh]], None] | None = None,
    on_wait: Callable[[pd.Timestamp], None] | None = None,
    scope: str = "all",
) -> list[Refresh]:
    """Refresh the live estimate every ``interval_s`` seconds from ``start`` to the close (or
    ``until``, or ``count`` refreshes), recording each in the store at ``db``; returns the
    refreshes. ``on_refresh(refresh, all so far)`` is called after each (the live view),
    ``on_wait(first)`` once when the watch waits for its start. Raises :class:`MarketClosed`
    outside a session. The observations (AUM) are read once, at the start. ``scope`` names the
    funds of ``universe`` (:func:`lev_flows.model.scope.in_scope`) in each recorded row, so that a
    replay reads one scope's path back."""
    from lev_flows.inputs.store import load_best_observations

    if interval_s <= 0:
        raise InputError("--interval must be more than 0 seconds")
    clock = clock or SystemClock()
    now = clock.now()
    session, first, end = watch_window(now, start, until)
    if now < first:
        if on_wait is not None:
            on_wait(first)
        clock.sleep((first - now).total_seconds())
    if observations is None:
        observations = load_best_observations(db)
    with _interrupt_flag() as interrupted:
        return _refresh_loop(universe, source, clock, session, end, interval_s, count, observations, db, exclude_etns,
                             on_refresh, interrupted, scope)


@contextlib.contextmanager
def _interrupt_flag():
    """A Ctrl-C (SIGINT) sets the flag as well as raising KeyboardInterrupt, so that an interrupt
    swallowed on its way up (a library that turns it into an error, a worker thread) still ends
    the watch at the next refresh instead of letting it run on. Only in the main thread (where
    Python delivers signals); elsewhere the flag is never set."""
    flag = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return

    def on_sigint(signum, frame):  # noqa: ARG001 - the signal handler's signature
        flag.set()
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)


def _refresh_loop(universe, source, clock, session, end, interval_s, count, observations, db, exclude_etns,
                  on_refresh, interrupted, scope="all") -> list[Refresh]:
    """The refreshes of :func:`watch` from its first one to ``end`` (or ``count``)."""
    from lev_flows.jobs.daily import run_daily

    refreshes: list[Refresh] = []
    last_ok: Refresh | None = None
    while True:
        if interrupted.is_set():
            raise KeyboardInterrupt
        at = clock.now()
        if at >= end:
            break
        try:
            result = run_daily(universe, source, now=at, force_live=True, allow_partial=True, observations=observations,
                               db=db, exclude_etns=exclude_etns, note_context=False)
            refresh = refresh_from(result, at)
            last_ok = refresh
        except DataSourceError as exc:
            refresh = _stale(session, at, last_ok, str(exc))
        refresh = _record(refresh, db, scope)
        refreshes.append(refresh)
        if on_refresh is not None:
            on_refresh(refresh, refreshes)
        if interrupted.is_set():
            raise KeyboardInterrupt
        if count is not None and len(refreshes) >= count:
            break
        now, due = clock.now(), at + pd.Timedelta(seconds=interval_s)
        if max(now, due) >= end:  # the next refresh would come at or after the close
            break
        clock.sleep((due - now).total_seconds())
    return refreshes


def _record(refresh: Refresh, db: str | Path | None, scope: str = "all") -> Refresh:
    """Commit one refresh to the store. Another lev-flows process may hold the store for a
    moment (DuckDB has one writer; opening it waits up to ``store.LOCK_WAIT_S``); if it stays
    locked, keep watching with the refresh marked as not recorded, rather than ending the
    afternoon."""
    import dataclasses

    from lev_flows.inputs.store import Store, StoreError

    try:
        with Store(db) as store:
            store.add_refresh({**refresh.row(), "scope": scope})
        return refresh
    except StoreError as exc:
        note = f"not recorded: {exc}"
        return dataclasses.replace(refresh, error=f"{refresh.error}; {note}" if refresh.error else note, recorded=False)


def _stale(session: dt.date, at: pd.Timestamp, last_ok: Refresh | None, error: str) -> Refresh:
    """A failed refresh: the last good numbers, marked stale since that refresh's time."""
    if last_ok is None:
        return Refresh(session=session, at=at, ok=False, error=error)
    keep = {k: getattr(last_ok, k) for k in ("total_usd", "gross_usd", "auction_usd", "funds_priced", "by_index",
                                             "top_funds", "top_stocks", "basis", "source")}
    return Refresh(session=session, at=at, ok=False, error=error, stale_since=last_ok.at, **keep)


def intraday_path(session: dt.date, db: str | Path | None = None, scope: str = "all") -> pd.DataFrame:
    """The recorded refreshes of ``session``: ``at`` (New York), ``ok``, ``total_usd``,
    ``change_usd`` (since the previous good refresh), ``gross_usd``, ``auction_usd``,
    ``funds_priced``, ``requests``, ``error``, and one ``index: <bucket>`` column per index
    bucket (USD). An error when nothing was recorded for that session."""
    from lev_flows.inputs.store import Store

    with Store(db) as store:
        frame = store.intraday(session, scope).rename(columns={"refreshed_at": "at"})
        sessions = store.intraday_sessions()
    if frame.empty:
        known = ", ".join(str(d) for d in sessions[-5:]) or "none yet"
        raise InputError(f"no watch refreshes recorded for {session}" + ("" if scope == "all" else f" on scope {scope}")
                         + f" in {db or 'the default store'} "
                         f"(sessions recorded: {known}); run lev-flows watch during that session")
    good = frame["ok"].astype(bool)
    prev_total = frame["total_usd"].where(good).ffill().shift()
    frame["change_usd"] = (frame["total_usd"] - prev_total).where(good)
    buckets = frame["by_index"].map(lambda s: json.loads(s) if isinstance(s, str) else {})
    wide = pd.DataFrame(list(buckets), index=frame.index).add_prefix("index: ")
    cols = ["at", "ok", "total_usd", "change_usd", "gross_usd", "auction_usd", "funds_priced", "requests", "error"]
    return pd.concat([frame[cols], wide], axis=1)


__all__ = ["watch", "Refresh", "refresh_from", "intraday_path", "watch_window", "SystemClock",
           "MarketClosed", "WATCH_START"]
