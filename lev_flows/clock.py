"""The one clock: every "what time is it" in lev_flows reads :func:`now` (market time) or
:func:`system_now` (when something really happened: a fetch, an import, a cache entry).

    now()         = pinned + (monotonic() - monotonic at the pin)   when a time is pinned
                  = the system clock                                 otherwise

A time is pinned by ``--now`` on the command line (:func:`pin`) or by ``$LEV_FLOWS_NOW``
(ISO; a naive time is New York). A pinned clock runs at wall-clock speed from the pinned instant,
so a replayed afternoon (``watch --now 2026-02-04T15:58``) refreshes as it would have; the
market decisions (which session, before or after the close, when to refresh) therefore never
depend on the machine's clock or time zone when a time is pinned, and the tests pin one.

:func:`system_now` is the only reader of the system clock in the package (a test greps for it).
Durations (deadlines, retries' backoff) use ``time.monotonic``, which says how long, not when.

This module is on the ground floor: it imports nothing of lev_flows but :mod:`errors`, and no
pandas at import.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from typing import Any

from lev_flows.errors import InputError

#: the environment variable that pins the clock (ISO timestamp; naive = New York)
NOW_ENV = "LEV_FLOWS_NOW"
NEW_YORK = "America/New_York"

_pinned: dict[str, Any] = {}  # {"at": aware datetime, "mono": monotonic seconds at the pin, "label": source}


def system_now() -> dt.datetime:
    """The machine's clock, aware, UTC: when something really happened (a fetch, an import)."""
    return dt.datetime.now(dt.timezone.utc)


def parse_instant(text: str, what: str) -> dt.datetime:
    """An ISO timestamp as an aware datetime (naive = New York); an :class:`InputError` naming
    ``what`` (``--now``, ``$LEV_FLOWS_NOW``) when it is not one."""
    from zoneinfo import ZoneInfo

    try:
        stamp = dt.datetime.fromisoformat(str(text).strip())
    except ValueError:
        raise InputError(f"{what}: {text!r} is not a timestamp (expected e.g. 2026-02-04T15:30)") from None
    return stamp.replace(tzinfo=ZoneInfo(NEW_YORK)) if stamp.tzinfo is None else stamp


def pin(when: Any, label: str = "--now") -> None:
    """Pin the clock at ``when`` (an ISO string, a datetime or a pandas Timestamp; naive = New
    York) from this moment on; ``None`` unpins it (back to ``$LEV_FLOWS_NOW`` or the system)."""
    if when is None:
        _pinned.clear()
        return
    at = parse_instant(when, label) if isinstance(when, str) else when
    if getattr(at, "tzinfo", None) is None:
        from zoneinfo import ZoneInfo

        at = at.replace(tzinfo=ZoneInfo(NEW_YORK))
    if hasattr(at, "to_pydatetime"):
        at = at.to_pydatetime()
    _pinned.update(at=at, mono=time.monotonic(), label=label, env=None)


def _from_env() -> None:
    """Pin from ``$LEV_FLOWS_NOW`` on first use (and again if the variable changes)."""
    text = os.environ.get(NOW_ENV) or None
    if _pinned.get("label") not in (None, NOW_ENV):
        return  # pinned by --now: wins over the environment
    if text is None:
        _pinned.clear()
    elif _pinned.get("env") != text:
        at = parse_instant(text, f"${NOW_ENV}")
        _pinned.update(at=at, mono=time.monotonic(), label=NOW_ENV, env=text)


def now() -> "Any":
    """Market time: an aware ``pd.Timestamp`` in New York, from the pinned clock (``--now``,
    ``$LEV_FLOWS_NOW``) when there is one, else the system clock."""
    import pandas as pd

    _from_env()
    if _pinned:
        at = _pinned["at"] + dt.timedelta(seconds=time.monotonic() - _pinned["mono"])
    else:
        at = system_now()
    return pd.Timestamp(at).tz_convert(NEW_YORK)


def today() -> dt.date:
    """The date in New York by :func:`now`."""
    return now().date()


def pinned_by() -> str | None:
    """What pins the clock (``--now`` or ``$LEV_FLOWS_NOW``), or None for the system clock."""
    _from_env()
    return _pinned.get("label")


__all__ = ["now", "today", "system_now", "pin", "pinned_by", "parse_instant", "NOW_ENV", "NEW_YORK"]
