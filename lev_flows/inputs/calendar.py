"""The NYSE calendar (exchange-calendars): trading days, the close time, and the session a
daily estimate is about. No hand-written holiday lists.

Every question here is answered from :class:`Sessions`: exchange-calendars' XNYS sessions from
:data:`FIRST_DAY` to :func:`last_day` (:data:`PACKAGED_LAST`, or a year ahead of today once that
is nearer than a year away) with their open and close times. Importing exchange-calendars and
building the calendar takes 0.3-0.7 s, so the sessions come, in this order, from

1. the package's own copy, ``lev_flows/data/xnys_sessions.npz``, written by ``lev-flows reference
   build`` from exchange-calendars and used only when the installed exchange-calendars is the
   version that wrote it and the range it covers is the range asked for (a test checks it
   against the installed library); a newer exchange-calendars, which may know a holiday declared
   since, is always asked itself;
2. the copy kept in ``$LEV_FLOWS_CACHE/calendar`` (keyed by the library's version and the range);
3. exchange-calendars, building the calendar (and keeping the copy of 2.).

All three give the same sessions: one answer whichever path.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from lev_flows.clock import NEW_YORK
from lev_flows.errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pandas as pd



FIRST_DAY = dt.date(2000, 1, 1)
"""The calendar's first day (its first session is 2000-01-03)."""
PACKAGED_LAST = dt.date(2028, 12, 31)
"""The last day of the packaged sessions (``lev_flows/data/xnys_sessions.npz``)."""
PACKAGED = "data/xnys_sessions.npz"
_NS_PER = {"days": 86_400 * 10**9, "opens": 60 * 10**9, "closes": 60 * 10**9}


def last_day(today: dt.date) -> dt.date:
    """The calendar's last day: :data:`PACKAGED_LAST`, or a year ahead of ``today`` once that is
    later (the calendar always reaches at least a year ahead, as exchange-calendars' own does)."""
    return max(PACKAGED_LAST, today + dt.timedelta(days=366))


@lru_cache(maxsize=4)
def nyse(first: dt.date = FIRST_DAY, last: dt.date | None = None):
    """The XNYS calendar from ``first`` to ``last`` (default :func:`last_day` of the system
    clock's today), built once (it takes a few hundred milliseconds)."""
    import warnings

    import exchange_calendars as xcals

    from lev_flows.clock import system_now

    last = last or last_day(system_now().date())
    with warnings.catch_warnings():  # its own pandas deprecation notices, not ours to fix
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*Series.values.*")
        return xcals.get_calendar("XNYS", start=first.isoformat(), end=last.isoformat())


def session_arrays(cal) -> dict[str, "np.ndarray"]:
    """A calendar's sessions as int64 nanoseconds: ``days`` (naive midnights), ``opens`` and
    ``closes`` (UTC)."""
    import pandas as pd

    naive = cal.sessions.tz_localize(None) if cal.sessions.tz is not None else cal.sessions
    opens, closes = (pd.DatetimeIndex(t).tz_convert("UTC").as_unit("ns").asi8 for t in (cal.opens, cal.closes))
    return {"days": naive.as_unit("ns").asi8, "opens": opens, "closes": closes}


def packaged_meta() -> dict[str, str]:
    """What the packaged sessions must say of themselves: the library and version that built
    them and the range (:data:`FIRST_DAY` .. :data:`PACKAGED_LAST`)."""
    from importlib.metadata import version

    return {"kind": "XNYS sessions", "exchange_calendars": version("exchange-calendars"),
            "first": FIRST_DAY.isoformat(), "last": PACKAGED_LAST.isoformat()}


def write_packaged_sessions(path=None):
    """Write the packaged sessions (``lev-flows reference build``) from the installed
    exchange-calendars over :data:`FIRST_DAY` .. :data:`PACKAGED_LAST`; returns the path."""
    import json
    from importlib import resources
    from pathlib import Path

    import numpy as np

    path = Path(path) if path is not None else Path(str(resources.files("lev_flows").joinpath(PACKAGED)))
    arrays = session_arrays(nyse(FIRST_DAY, PACKAGED_LAST))
    # compact: days as int32 days since the epoch, opens and closes as int32 minutes
    small = {"days": arrays["days"] // _NS_PER["days"], "opens": arrays["opens"] // _NS_PER["opens"],
             "closes": arrays["closes"] // _NS_PER["closes"]}
    for name, values in small.items():
        if not (values * _NS_PER[name] == arrays[name]).all():  # pragma: no cover - a session at a second
            raise ValueError(f"XNYS {name}: not whole {'days' if name == 'days' else 'minutes'}")
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        np.savez_compressed(fh, meta=np.array(json.dumps(packaged_meta(), sort_keys=True)),
                            **{k: v.astype(np.int32) for k, v in small.items()})
    tmp.replace(path)
    return path


def _packaged_sessions(last: dt.date):
    """The packaged sessions' arrays if they cover exactly ``FIRST_DAY .. last`` and were built by
    the installed exchange-calendars, else None."""
    import json
    from importlib import resources

    import numpy as np

    if last != PACKAGED_LAST:
        return None
    try:
        with resources.files("lev_flows").joinpath(PACKAGED).open("rb") as fh, np.load(fh) as kept:
            if json.loads(str(kept["meta"])) != packaged_meta():
                return None
            return tuple(kept[k].astype(np.int64) * _NS_PER[k] for k in ("days", "opens", "closes"))
    except (OSError, ValueError, KeyError):
        return None


@dataclass(frozen=True)
class Sessions:
    """The NYSE sessions (``days``: naive midnight timestamps, ascending) with each one's open and
    close (UTC; early closes included), as exchange-calendars gives them."""

    days: "pd.DatetimeIndex"
    opens: "pd.DatetimeIndex"
    closes: "pd.DatetimeIndex"

    @property
    def first(self) -> dt.date:
        return self.days[0].date()

    @property
    def last(self) -> dt.date:
        return self.days[-1].date()

    def _at(self, day: dt.date, side: str = "left") -> int:
        import pandas as pd

        return int(self.days.searchsorted(pd.Timestamp(day), side=side))

    def is_session(self, day: dt.date) -> bool:
        i = self._at(day)
        return i < len(self.days) and self.days[i].date() == day

    def at_or_before(self, day: dt.date) -> dt.date:
        """``day`` if it is a session, else the session before it."""
        return self.days[self._at(day, "right") - 1].date()

    def at_or_after(self, day: dt.date) -> dt.date:
        """``day`` if it is a session, else the session after it."""
        return self.days[self._at(day)].date()

    def before(self, day: dt.date) -> dt.date:
        """The session before ``day``."""
        return self.days[self._at(day) - 1].date()

    def after(self, day: dt.date) -> dt.date:
        """The session after ``day``."""
        return self.days[self._at(day, "right")].date()

    def open(self, day: dt.date) -> "pd.Timestamp":
        return self.opens[self._at(day)]

    def close(self, day: dt.date) -> "pd.Timestamp":
        return self.closes[self._at(day)]

    def between(self, first: "pd.Timestamp", last: "pd.Timestamp") -> "pd.DatetimeIndex":
        """The sessions from ``first`` to ``last``, both included."""
        return self.days[(self.days >= first) & (self.days <= last)]


@lru_cache(maxsize=1)
def sessions() -> Sessions:
    """The XNYS sessions from :data:`FIRST_DAY` to :func:`last_day`: the packaged copy when the
    installed exchange-calendars built it and it covers that range, else the copy kept for this
    version and range (its header says so and its content has the SHA-256 it was written with:
    :func:`lev_flows.io.read_cache`), else built (and kept) from :func:`nyse`."""
    from importlib.metadata import version

    import numpy as np
    import pandas as pd

    from lev_flows.clock import system_now

    last = last_day(system_now().date())
    got = _packaged_sessions(last)
    if got is None:
        got = _kept_sessions(last, version("exchange-calendars"))
    days, opens, closes = got
    return Sessions(days=pd.DatetimeIndex(np.asarray(days, dtype="datetime64[ns]")),
                    opens=pd.DatetimeIndex(np.asarray(opens, dtype="datetime64[ns]")).tz_localize("UTC"),
                    closes=pd.DatetimeIndex(np.asarray(closes, dtype="datetime64[ns]")).tz_localize("UTC"))


def _kept_sessions(last: dt.date, xcals_version: str):
    """The sessions from the copy in ``$LEV_FLOWS_CACHE/calendar``, else built and kept."""
    import io

    import numpy as np

    from lev_flows.io import default_cache_dir, prune_cache, read_cache, write_cache

    span = f"{FIRST_DAY.isoformat()}-{last.isoformat()}"
    path = default_cache_dir() / "calendar" / f"xnys-{xcals_version}-{span}.npz"
    meta = {"kind": "XNYS sessions", "exchange_calendars": xcals_version, "range": span}
    try:
        payload, _ = read_cache(path, meta)
        with np.load(io.BytesIO(payload)) as kept:
            return kept["days"], kept["opens"], kept["closes"]
    except Exception:  # noqa: BLE001 - a missing, edited or damaged copy: built again
        arrays = session_arrays(nyse(FIRST_DAY, last))
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        if write_cache(path, buf.getvalue(), meta):  # a cache that cannot be written is no error
            prune_cache(path.parent, "xnys-*.npz", keep=2)
        return arrays["days"], arrays["opens"], arrays["closes"]


def in_range(day: dt.date) -> bool:
    s = sessions()
    return s.first <= day <= s.last


def check_trading_day(day: dt.date, what: str = "--date") -> None:
    """Refuse weekends and NYSE holidays with the reason. Days outside the calendar's range
    pass (the price data decides)."""
    if in_range(day) and not sessions().is_session(day):
        why = day.strftime("%A") if day.weekday() >= 5 else "an NYSE holiday"
        raise InputError(f"{what} {day}: not a trading day ({why})")


def session_rows(index: pd.DatetimeIndex) -> "pd.Series[bool]":
    """True for the dates of ``index`` that are NYSE sessions (or outside the calendar)."""
    import pandas as pd

    days_ = sessions().days
    days = pd.DatetimeIndex(index).normalize()
    inside = (days >= days_[0]) & (days <= days_[-1])
    is_session = days.isin(days_)
    return pd.Series(~inside | is_session, index=index)


def on_sessions(table: "pd.DataFrame", start: "pd.Timestamp | None" = None) -> "pd.DataFrame":
    """``table`` (dates x anything) reindexed onto every NYSE session from ``start`` (default its
    first date) to its last, empty rows where it had none; its own dates are all kept."""
    import pandas as pd

    first = table.index[0] if start is None else min(pd.Timestamp(start).normalize(), table.index[0])
    out = table.reindex(sessions().between(first, table.index[-1]).union(table.index))
    out.index.name = table.index.name
    return out


def market_state(now: pd.Timestamp | None = None) -> tuple[dt.date, bool, pd.Timestamp]:
    """``(session, closed, close_time)`` for ``now`` (UTC; default: the clock).

    ``session`` is today's session if New York is in one (``closed`` False before its close,
    True after), otherwise the last session (``closed`` True). Early closes (13:00) come from
    the calendar. ``$LEV_FLOWS_NOW`` (ISO, naive = New York) stands in for the clock, to replay
    a session's afternoon.
    """
    import pandas as pd

    from lev_flows import clock

    cal = sessions()
    now = clock.now() if now is None else pd.Timestamp(now)
    now = now.tz_localize("UTC") if now.tzinfo is None else now.tz_convert("UTC")
    first, last = cal.first, cal.last
    if not first <= now.tz_convert(NEW_YORK).date() <= last:
        raise InputError(f"the clock ({now:%Y-%m-%d %H:%M} UTC) is outside the NYSE calendar ({first} .. {last})")
    session = cal.at_or_before(now.tz_convert(NEW_YORK).date())
    close = cal.close(session)
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
    all_days = sessions().days
    days = pd.DatetimeIndex(days).normalize()
    pos = all_days.searchsorted(days, side="right")  # index of the next session after each day
    nxt = all_days[np.minimum(pos, len(all_days) - 1)]
    beyond = pos >= len(all_days)
    ends = (days.to_period(freq) != nxt.to_period(freq)) | beyond
    prev = all_days[max(int(all_days.searchsorted(days[0])) - 1, 0)] if len(days) else None
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
    cal = sessions()
    return cal.open(day).tz_convert(NEW_YORK), cal.close(day).tz_convert(NEW_YORK)


def next_open(now: "pd.Timestamp") -> "pd.Timestamp":
    """The next session's open after ``now`` (today's when it has not opened yet), New York time."""
    import pandas as pd

    cal = sessions()
    now = pd.Timestamp(now)
    now = now.tz_localize(NEW_YORK) if now.tzinfo is None else now
    today = now.tz_convert(NEW_YORK).date()
    if cal.is_session(today) and now < cal.open(today):
        return cal.open(today).tz_convert(NEW_YORK)
    return cal.open(cal.after(today)).tz_convert(NEW_YORK)


def previous_session(day: dt.date) -> dt.date:
    """The session before ``day``."""
    return sessions().before(day)


__all__ = ["Sessions", "sessions", "session_hours", "next_open", "period_end_sessions", "is_reset_day", "RESET_PERIODS", "nyse", "check_trading_day", "session_rows", "on_sessions", "market_state", "previous_session", "NEW_YORK"]
