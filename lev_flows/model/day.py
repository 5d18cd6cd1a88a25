"""Entry points that read the store and the price tables, then call the engine: one day
(:func:`estimate_day`), a range (:func:`history_range`), the scorecard against published
figures (:func:`scorecard`).

Each builds the point-in-time inputs once (:func:`lev_flows.model.pointintime.point_in_time` over the
whole price table, AUM observations from the store) and hands them down, so ``estimate --date
D``, the ``history`` row for D, ``daily --date D --prices ...`` and the scorecard agree.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lev_flows.errors import InputError
from lev_flows.inputs.catalog import Universe, load_universe

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from lev_flows.model.estimate import FlowEstimate
    from lev_flows.model.pointintime import PointInTime

PRICES_ENV = "LEV_FLOWS_PRICES"
SHARED_PRICES = Path("../shared/data/prices")


def default_prices() -> Path:
    """``$LEV_FLOWS_PRICES``, else ``../shared/data/prices`` when it exists, else an error."""
    env = os.environ.get(PRICES_ENV)
    if env:
        return Path(env)
    if SHARED_PRICES.is_dir():
        return SHARED_PRICES
    raise InputError(
        f"no price tables: pass --prices DIR (or set ${PRICES_ENV}); {SHARED_PRICES} does not exist here"
    )


@dataclass(frozen=True)
class Inputs:
    """What a point-in-time run reads once: the universe, the close table, the AUM observations
    and the point-in-time panel built from them."""

    universe: Universe
    closes: "pd.DataFrame"
    observations: "pd.DataFrame"
    pit: "PointInTime"
    prices: str


def load_inputs(
    universe: Universe | str | Path | None = None,
    prices: str | Path | "pd.DataFrame" | None = None,
    db: str | Path | None = None,
) -> Inputs:
    """Universe (a path or None for the packaged one), closes (a folder, one table file, or a
    frame; default :func:`default_prices`) and the store's observations -> :class:`Inputs`."""
    import pandas as pd

    from lev_flows.inputs.prices import (
        drop_non_sessions,
        load_price_dir,
        read_close_table,
    )
    from lev_flows.inputs.store import load_best_observations
    from lev_flows.model.pointintime import point_in_time

    uni = universe if isinstance(universe, Universe) else load_universe(universe)
    if isinstance(prices, pd.DataFrame):
        closes, label = prices, "given table"
    else:
        path = Path(prices) if prices is not None else default_prices()
        closes = drop_non_sessions(read_close_table(path)) if path.is_file() else load_price_dir(path)
        label = str(path)
    obs = load_best_observations(db)
    return Inputs(uni, closes, obs, point_in_time(uni, closes, obs), label)


def estimate_day(
    date: dt.date | str,
    *,
    universe: Universe | str | Path | None = None,
    prices: str | Path | "pd.DataFrame" | None = None,
    db: str | Path | None = None,
    creations: dict[str, float] | None = None,
    inputs: Inputs | None = None,
    exclude_etns: bool = False,
    on_impossible: str = "raise",
) -> "FlowEstimate":
    """The point-in-time estimate of one past session: AUM from the store's observations as
    they stood at the previous close, returns fund by fund in order of directness.
    ``on_impossible``: as in :func:`lev_flows.model.estimate` (``"drop"`` leaves out a fund whose NAV
    the day's return would take below zero, listing it).

    From the repository root, with the shared data beside it:

    >>> est = estimate_day("2025-04-09", prices="../shared/data/prices")
    >>> round(est.total.rebalance_usd / 1e9, 2)
    45.21
    """
    from lev_flows.model.estimate import estimate

    day = _as_date(date)
    inp = inputs or load_inputs(universe, prices, db)
    row = inp.pit.row(day)
    from lev_flows.model.returns import check_previous_session

    check_previous_session(inp.closes.index, day, inp.prices)
    returns = inp.pit.day_returns(inp.universe, row, source=inp.prices)
    return estimate(inp.universe, returns, aum=inp.pit.aum_day(row), creations=creations, exclude_etns=exclude_etns,
                    on_impossible=on_impossible)


def _as_date(value: dt.date | str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise InputError(f"--date: {value!r} is not a date (expected YYYY-MM-DD)") from None


__all__ = ["estimate_day", "load_inputs", "Inputs", "default_prices"]
