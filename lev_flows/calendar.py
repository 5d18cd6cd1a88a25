"""The NYSE calendar (exchange-calendars): trading days, the close time, and the session a
daily estimate is about. No hand-written holiday lists."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

from typing import TYPE_CHECKING

from .errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pandas as pd

NEW_YORK = "America/New_York"
#: the clock's stand-in (a replay of a past afternoon)
NOW_ENV = "LEV_FLOWS_NOW"


@lru_cache(maxsize=1)
def nyse():
    """The XNYS calendar (built once; it takes a few hundred milliseconds)."""
    import warnings

    import exchange_calendars as xcals

    with warnings.catch_warnings():  # its own pandas deprecation notices, not ours to fix
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*Series.values.*")
        return xcals.get_calendar("XNYS")


def in_range(day: dt.date) -> bool:
    cal = nyse()
    return cal.first_session.date() <= day <= cal.last_session.date()


def check_trading_day(day: dt.date, what: str = "--date") -> None:
    """Refuse weekends and NYSE holidays with the reason. Days outside the calendar's range
    pass (the price data decides)."""
    if in_range(day) and not nyse().is_session(day.isoformat()):
        why = day.strftime("%A") if day.weekday() >= 5 else "an NYSE holiday"
        raise InputError(f"{what} {day}: not a trading day ({why})")


def session_rows(index: pd.DatetimeIndex) -> "pd.Series[bool]":
    """True for the dates of ``index`` that are NYSE sessions (or outside the calendar)."""
    import pandas as pd

    sessions = nyse().sessions.tz_localize(None) if nyse().sessions.tz is not None else nyse().sessions
    days = pd.DatetimeIndex(index).normalize()
    inside = (days >= sessions[0]) & (days <= sessions[-1])
    is_session = days.isin(sessions)
    return pd.Series(~inside | is_session, index=index)


def on_sessions(table: "pd.DataFrame", start: "pd.Timestamp | None" = None) -> "pd.DataFrame":
    """``table`` (dates x anything) reindexed onto every NYSE session from ``start`` (default its
    first date) to its last, empty rows where it had none; its own dates are all kept."""
    import pandas as pd

    first = table.index[0] if start is None else min(pd.Timestamp(start).normalize(), table.index[0])
    sessions = pd.DatetimeIndex(nyse().sessions_in_range(first, table.index[-1]))
    sessions = sessions.tz_localize(None) if sessions.tz is not None else sessions
    out = table.reindex(sessions.union(table.index))
    out.index.name = table.index.name
    return out


def market_state(now: pd.Timestamp | None = None) -> tuple[dt.date, bool, pd.Timestamp]:
    """``(session, closed, close_time)`` for ``now`` (UTC; default: the clock).

    ``session`` is today's session if New York is in one (``closed`` False before its close,
    True after), otherwise the last session (``closed`` True). Early closes (13:00) come from
    the calendar. ``$LEV_FLOWS_NOW`` (ISO, naive = New York) stands in for the clock, to replay
    a session's afternoon.
    """
    import os

    import pandas as pd

    cal = nyse()
    if now is None and os.environ.get(NOW_ENV):
        try:
            now = pd.Timestamp(os.environ[NOW_ENV])
        except ValueError:
            raise InputError(f"${NOW_ENV}: {os.environ[NOW_ENV]!r} is not a timestamp (expected e.g. 2026-02-04T15:30)") from None
        now = now.tz_localize(NEW_YORK) if now.tzinfo is None else now
    now = pd.Timestamp.now(tz="UTC") if now is None else pd.Timestamp(now)
    now = now.tz_localize("UTC") if now.tzinfo is None else now.tz_convert("UTC")
    first, last = cal.first_session.date(), cal.last_session.date()
    if not first <= now.tz_convert(NEW_YORK).date() <= last:
        raise InputError(f"the clock ({now:%Y-%m-%d %H:%M} UTC) is outside the NYSE calendar ({first} .. {last})")
    today = now.tz_convert(NEW_YORK).date()
    if cal.is_session(today.isoformat()):
        session = today
    else:
        session = cal.date_to_session(today.isoformat(), direction="previous").date()
    close = cal.session_close(session.isoformat())
    return session, bool(now >= close), close


#: pandas period codes of the reset schedules other than daily
RESET_PERIODS = {"weekly": "W-FRI", "monthly": "M", "quarterly": "Q"}


def period_end_sessions(days: "pd.DatetimeIndex", reset: str) -> "tuple[np.ndarray, bool]":
    """For a reset schedule (``weekly``, ``monthly``, ``quarterly``): which of ``days`` are the
    last NYSE session of their week / month / quarter (the fund resets at that close), and
    whether ``days[0]`` is the first session of its period (so a period starting there is whole).
    """
    import numpy as np
    import pandas as pd

    freq = RESET_PERIODS[reset]
    cal = nyse()
    sessions = cal.sessions.tz_localize(None) if cal.sessions.tz is not None else cal.sessions
    days = pd.DatetimeIndex(days).normalize()
    pos = sessions.searchsorted(days, side="right")  # index of the next session after each day
    nxt = sessions[np.minimum(pos, len(sessions) - 1)]
    beyond = pos >= len(sessions)
    ends = (days.to_period(freq) != nxt.to_period(freq)) | beyond
    prev = sessions[max(int(sessions.searchsorted(days[0])) - 1, 0)] if len(days) else None
    starts_period = bool(len(days)) and prev.to_period(freq) != days[0].to_period(freq)
    return np.asarray(ends, dtype=bool), starts_period


def is_reset_day(day: dt.date, reset: str) -> bool:
    """True when ``day`` is the close at which a fund on the ``reset`` schedule resets."""
    import pandas as pd

    if reset == "daily":
        return True
    return bool(period_end_sessions(pd.DatetimeIndex([pd.Timestamp(day)]), reset)[0][0])


def session_hours(day: dt.date) -> "tuple[pd.Timestamp, pd.Timestamp]":
    """``(open, close)`` of the session ``day`` in New York time (early closes included)."""
    cal = nyse()
    return (cal.session_open(day.isoformat()).tz_convert(NEW_YORK), cal.session_close(day.isoformat()).tz_convert(NEW_YORK))


def next_open(now: "pd.Timestamp") -> "pd.Timestamp":
    """The next session's open after ``now`` (today's when it has not opened yet), New York time."""
    import pandas as pd

    cal = nyse()
    now = pd.Timestamp(now)
    now = now.tz_localize(NEW_YORK) if now.tzinfo is None else now
    today = now.tz_convert(NEW_YORK).date()
    if cal.is_session(today.isoformat()) and now < cal.session_open(today.isoformat()):
        return cal.session_open(today.isoformat()).tz_convert(NEW_YORK)
    nxt = cal.date_to_session(today.isoformat(), direction="next")
    if nxt.date() == today:
        nxt = cal.next_session(today.isoformat())
    return cal.session_open(nxt).tz_convert(NEW_YORK)


def previous_session(day: dt.date) -> dt.date:
    return nyse().previous_session(day.isoformat()).date()


__all__ = ["session_hours", "next_open", "period_end_sessions", "is_reset_day", "RESET_PERIODS", "nyse", "check_trading_day", "session_rows", "on_sessions", "market_state", "previous_session", "NEW_YORK"]
