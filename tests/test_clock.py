"""One clock: ``--now`` and ``$LEV_FLOWS_NOW`` pin every market-time decision, and nothing else
in the package reads the system clock. ``.ci/run`` runs these (marker ``clock``) again under two
fake system clocks (libfaketime: a weekday at 10:00 New York, a Saturday), where a read that
bypassed the one clock would change the answers."""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from lev_flows import clock
from lev_flows.errors import InputError

pytestmark = pytest.mark.clock
PACKAGE = Path(__file__).resolve().parents[1] / "lev_flows"


@pytest.fixture
def pinned(monkeypatch):
    def at(text):
        monkeypatch.setenv(clock.NOW_ENV, text)
        clock.pin(None)

    yield at
    clock.pin(None)


def test_the_environment_pins_the_clock_and_a_naive_time_is_new_york(pinned):
    pinned("2026-02-04T15:30")
    now = clock.now()
    assert str(now.tz) == "America/New_York" and now.floor("min") == pd.Timestamp("2026-02-04 15:30", tz="America/New_York")
    assert clock.today() == dt.date(2026, 2, 4) and clock.pinned_by() == "LEV_FLOWS_NOW"
    pinned("2026-02-04T20:30:00+00:00")  # an aware time is taken as given
    assert clock.now().floor("min") == pd.Timestamp("2026-02-04 15:30", tz="America/New_York")


def test_a_pinned_clock_runs_on_from_the_pin(pinned):
    pinned("2026-02-04T15:58")
    first = clock.now()
    assert pd.Timedelta(0) <= clock.now() - first < pd.Timedelta(seconds=5)
    assert first - pd.Timestamp("2026-02-04 15:58", tz="America/New_York") < pd.Timedelta(seconds=5)


def test_now_option_wins_over_the_environment_and_ends_with_the_command(pinned):
    pinned("2026-02-04T17:00")
    clock.pin("2026-02-06T11:00", "--now")
    assert clock.now().floor("min") == pd.Timestamp("2026-02-06 11:00", tz="America/New_York") and clock.pinned_by() == "--now"
    clock.pin(None)
    assert clock.now().date() == dt.date(2026, 2, 4)


def test_a_bad_pinned_time_is_one_line_naming_its_source(pinned):
    pinned("yesterday-ish")
    with pytest.raises(InputError, match=r"\$LEV_FLOWS_NOW: 'yesterday-ish' is not a timestamp"):
        clock.now()


@pytest.mark.parametrize("now, expected", [
    ("2026-02-04T17:00", ("2026-02-04", False)),   # after the close: the day's closes
    ("2026-02-04T15:30", ("2026-02-04", True)),    # during the session: live
    ("2026-02-04T08:00", ("2026-02-04", True)),    # before the open of a session day: that session, not closed
    ("2026-02-07T10:00", ("2026-02-06", False)),   # a Saturday: Friday's closes
    ("2026-11-27T13:30", ("2026-11-27", False)),   # after a 13:00 early close
])
def test_daily_session_choice_follows_the_pinned_clock(pinned, now, expected):
    from lev_flows.jobs.daily import resolve_session

    pinned(now)
    session, live = resolve_session(None)
    assert (session.isoformat(), live) == expected


def test_watch_outside_market_hours_follows_the_pinned_clock(pinned):
    from lev_flows.jobs.watch import MarketClosed, watch_window

    pinned("2026-02-07T10:00")
    with pytest.raises(MarketClosed, match=r"\(Sat 2026-02-07 10:00\); the next session opens Mon 2026-02-09 09:30"):
        watch_window(clock.now())


#: calls that read the system clock; only clock.system_now may make them
SYSTEM_CLOCK_CALLS = {("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"), ("date", "today"), ("time", "time"),
                      ("Timestamp", "now"), ("Timestamp", "today"), ("Timestamp", "utcnow"), ("time", "time_ns")}


def test_nothing_but_the_clock_module_reads_the_system_clock():
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "clock.py" and path.parent == PACKAGE:
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                owner = node.func.value
                name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", None)
                if (name, node.func.attr) in SYSTEM_CLOCK_CALLS:
                    found.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {name}.{node.func.attr}()")
            if isinstance(node, ast.Constant) and node.value in ("now", "today"):
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno} the string {node.value!r} (pd.Timestamp('now'))")
    assert not found, "read the clock through lev_flows.clock: " + ", ".join(found)
