"""One day's estimate, whichever way its inputs are given: the one function behind ``lev-flows
estimate``.

    returns file   -> estimate(universe, DayReturns(file), aum=point in time for --date, else catalog)
    --prices/--date -> estimate_day(date)          (point in time from the store and the price tables)
    --live         -> run_daily(force_live=True)    (live quotes against the previous close)
    nothing        -> the built-in replay of 2026-02-04 (close, or --intraday), with the other basis
                      beside it for comparison

Every path ends in :func:`lev_flows.model.estimate.estimate`, so a day's figure is the same
whichever command computes it (the tests hold ``estimate --date``, ``daily --prices`` and
``history`` to the dollar).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lev_flows.errors import InputError
from lev_flows.inputs.packaged import REPLAY_DATE


@dataclass(frozen=True)
class DayEstimate:
    """The estimate of the day, and for the built-in replay the estimate on the other basis
    (close-to-close beside the 14:43 changes, or the reverse); ``creations_usd`` the net creations
    given (USD by fund), if any, and ``creation_offset`` the rebalance against them by index
    bucket (:func:`lev_flows.analysis.creations.creation_offset`)."""

    estimate: Any
    comparison: Any | None = None
    creations_usd: Mapping[str, float] | None = None

    @property
    def creation_offset(self) -> Any | None:
        if not self.creations_usd:
            return None
        from lev_flows.analysis.creations import creation_offset

        return creation_offset(self.estimate.by_index)


def check_request(*, returns: Path | None, day: dt.date | None, prices: Path | None, intraday: bool, live: bool) -> None:
    """The ways of giving a day's inputs that cannot be combined (an :class:`InputError` naming the
    options, before any work)."""
    if live and (returns is not None or prices is not None or day is not None or intraday):
        raise InputError("--live cannot be combined with --returns, --prices, --date or --intraday")
    if returns is not None and prices is not None and day is not None:
        raise InputError("--returns gives the day's returns; it cannot be combined with --prices --date, which computes them")
    if intraday and (prices is not None or returns is not None or (day is not None and day.isoformat() != REPLAY_DATE)):
        raise InputError("--intraday is the built-in replay's 14:43 view; it cannot be combined with --prices, --returns or another --date")


def estimate_one(
    universe: Any,
    *,
    returns: Path | None = None,
    day: dt.date | None = None,
    prices: Path | None = None,
    intraday: bool = False,
    creations: Path | Mapping[str, float] | None = None,
    db: Path | None = None,
    live: Any | None = None,
    ignore_unknown: bool = False,
    exclude_etns: bool = False,
    on_aum_fallback: Any = None,
    compare: bool = True,
) -> DayEstimate:
    """The day's :class:`DayEstimate` (see the module doc). ``returns``: a CSV or JSON file of
    returns; ``creations``: a CSV of net creations or a mapping ticker -> USD; ``live``: a
    callable ``live(creations_usd) -> FlowEstimate`` that runs the live estimate (the CLI's, with
    its HTTP client and progress bar); ``on_aum_fallback(message)`` is told when a returns file
    for a day without price tables falls back to catalog AUM. ``compare=False`` skips the
    replay's other basis (an export does not show it)."""
    from lev_flows.inputs.days import DayReturns
    from lev_flows.model.estimate import estimate

    check_request(returns=returns, day=day, prices=prices, intraday=intraday, live=live is not None)
    creations_usd = _creations(creations)
    if live is not None:
        return DayEstimate(live(creations_usd), creations_usd=creations_usd)
    if returns is not None:
        from lev_flows.inputs.prices import read_returns_file

        day_returns = DayReturns(values=read_returns_file(returns), date=day, source=str(returns))
        aum_day = _aum_for_day(universe, day, prices, db, on_aum_fallback) if day is not None else None
        est = estimate(universe, day_returns, date=day, creations=creations_usd, aum=aum_day,
                       ignore_unknown=ignore_unknown, exclude_etns=exclude_etns)
        return DayEstimate(est, creations_usd=creations_usd)
    if prices is not None or (day is not None and day.isoformat() != REPLAY_DATE):
        from lev_flows.inputs.calendar import check_trading_day
        from lev_flows.model.day import estimate_day

        if day is None:
            raise InputError("--prices needs --date YYYY-MM-DD")
        check_trading_day(day)
        est = estimate_day(day, universe=universe, prices=prices, db=db, creations=creations_usd, exclude_etns=exclude_etns)
        return DayEstimate(est, creations_usd=creations_usd)
    from lev_flows.inputs.packaged import load_replay, load_replay_aum

    aum_day = load_replay_aum(REPLAY_DATE, universe)
    shown, other = ("intraday", "close") if intraday else ("close", "intraday")
    est = estimate(universe, load_replay(REPLAY_DATE, shown, universe), date=day, creations=creations_usd, aum=aum_day,
                   ignore_unknown=ignore_unknown, exclude_etns=exclude_etns)
    comparison = (estimate(universe, load_replay(REPLAY_DATE, other, universe), date=day, aum=aum_day, exclude_etns=exclude_etns)
                  if compare else None)
    return DayEstimate(est, comparison, creations_usd)


def _creations(creations: Path | Mapping[str, float] | None) -> Mapping[str, float] | None:
    if creations is None or isinstance(creations, Mapping):
        return creations
    from lev_flows.analysis.creations import read_creations_file

    return read_creations_file(creations)


def _aum_for_day(universe: Any, day: dt.date, prices: Path | None, db: Path | None, on_fallback: Any):
    """Point-in-time AUM for ``day`` (needs the price tables to carry observations); without
    prices, the catalog AUM, said through ``on_fallback``."""
    from lev_flows.model.day import load_inputs

    try:
        inp = load_inputs(universe, prices, db)
        return inp.pit.aum_day(inp.pit.row(day))
    except InputError as exc:
        if prices is not None:
            raise
        if on_fallback is not None:
            on_fallback(f"AUM from the catalog, not point in time ({exc})")
        return None


__all__ = ["DayEstimate", "estimate_one", "check_request"]
