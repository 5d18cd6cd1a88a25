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

    from lev_flows.inputs.args import closes_arg, path_arg, universe_or_path
    from lev_flows.inputs.prices import (
        drop_non_sessions,
        load_price_dir,
        read_close_table,
    )
    from lev_flows.inputs.store import load_best_observations
    from lev_flows.model.pointintime import point_in_time

    universe = universe_or_path(universe, "load_inputs")
    db = path_arg(db, "db") if db is not None else None
    uni = universe if isinstance(universe, Universe) else load_universe(universe)
    if isinstance(prices, pd.DataFrame):
        closes, label = closes_arg(prices, "prices"), "given table"
    else:
        path = path_arg(prices, "prices") if prices is not None else default_prices()
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
    they stood at the previous close, returns fund by fund in order of directness (a fund's
    issuer NAV return where the issuer publishes one). ``creations`` (net creations, USD by fund)
    default to the day's from the issuer's shares outstanding, ``(S_t - S_{t-1}) * NAV_t`` for each
    fund whose shares are known on both closes (:func:`pit_creations`); the estimate shows
    ``L`` times them beside the rebalance, nets them in ``flow_usd`` and says in
    ``coverage.aum_with_creations`` what share of the AUM they cover.
    ``on_impossible``: as in :func:`lev_flows.model.estimate` (``"drop"`` leaves out a fund whose NAV
    the day's return would take below zero, listing it). A fund whose own close jumps by a split's
    ratio that its siblings do not show is warned (:func:`split_warnings`). ``date`` may be a date,
    ``"YYYY-MM-DD"`` or a datetime (its New York date when timezone-aware); arguments of another
    type are an InputError naming them.

    From the repository root, with the shared data beside it:

    >>> est = estimate_day("2025-04-09", prices="../shared/data/prices")
    >>> round(est.total.rebalance_usd / 1e9, 2)
    45.17
    """
    from lev_flows.inputs.args import flag_arg, mapping_arg
    from lev_flows.model.estimate import estimate

    day = _as_date(date)
    creations = mapping_arg(creations, "estimate_day: creations", optional=True)
    flag_arg(exclude_etns, "estimate_day: exclude_etns")
    if inputs is not None and not isinstance(inputs, Inputs):
        raise InputError(f"estimate_day: inputs must be the Inputs of load_inputs(), not {type(inputs).__name__}")
    inp = inputs or load_inputs(universe, prices, db)
    row = inp.pit.row(day)
    from lev_flows.model.returns import check_previous_session

    check_previous_session(inp.closes.index, day, inp.prices)
    returns = inp.pit.day_returns(inp.universe, row, source=inp.prices)
    if creations is None:
        creations = pit_creations(inp.pit, row)
    est = estimate(inp.universe, returns, aum=inp.pit.aum_day(row), creations=creations, exclude_etns=exclude_etns,
                   on_impossible=on_impossible)
    suspects, contradicted = split_warnings(inp.universe, inp.pit, row)  # a fund's unadjusted split is said, never silent
    est.warnings.extend(suspects)
    est.implausible.extend(contradicted)
    return est


def pit_creations(pit: PointInTime, row: int) -> dict[str, float] | None:
    """The net creations (USD, ``(S_t - S_{t-1}) * NAV_t``: the point in time's ``creation_usd``
    over ``L``) of session ``row`` by fund, for the funds whose shares outstanding are known on
    both closes (a known 0 is kept: no unit traded); None when the point in time has none."""
    import numpy as np

    if pit.creation_usd is None:
        return None
    exposure, lev = pit.creation_usd[row], pit.leverage[row]
    return {str(pit.tickers[i]): float(exposure[i] / lev[i]) for i in np.flatnonzero(np.isfinite(exposure))}


#: the split ratios a fund's close can jump by when a table has not adjusted it (2:1 halves the
#: price; a 1:2 reverse split doubles it; larger reverse splits exceed +100 % and are blanked)
SPLIT_RATIOS = (2.0, 3.0, 4.0, 5.0, 8.0, 10.0, 20.0, 25.0, 50.0, 100.0, 0.5)
#: the most a fund's change / L may stray from its siblings' before it is questioned (as pointintime)
SPLIT_MISMATCH = 0.05


def split_warnings(universe: Universe, pit: "PointInTime", row: int) -> tuple[list[str], list[str]]:
    """The funds whose own close-to-close change, taken as the day's move on session ``row`` of a
    point in time ``pit``, looks like an unadjusted split: the change is a split's jump (``1 + R``
    near ``(1 + L r) / k`` for a ratio ``k`` of :data:`SPLIT_RATIOS`) and disagrees with the
    other funds on its underlying by more than :data:`SPLIT_MISMATCH` of ``r`` (with no other
    fund, a change of 30 % or more that a split explains). One warning per fund naming the ratio;
    the estimate keeps the fund's change (a split adjusted in the table removes the warning).
    Returns ``(warnings, implausible)``: the second, those its siblings contradict, are errors
    with ``--strict``; a fund alone on its underlying may have truly moved that much.

    A 3x fund whose table halves (2:1) on a day its index fell 0.5 % reads ``r = -16.8 %``; its
    one inverse sibling says ``-0.5 %``: warned. With two siblings or more the point in time
    already refuses such a change against their median (:func:`lev_flows.model.pointintime.
    _fund_returns`); that refusal is warned here too, naming what replaced it."""
    import numpy as np

    from lev_flows.model.estimate import compiled
    from lev_flows.model.pointintime import RET_OWN

    c = compiled(universe)
    own = np.asarray(pit.fund_return[row], dtype=float)  # the fund's own change R (NaN: not used)
    lev = np.asarray(c.leverage if pit.leverage is None else pit.leverage[row], dtype=float)
    used = (np.asarray(pit.return_method[row]) == RET_OWN) & np.isfinite(own)
    with np.errstate(invalid="ignore", divide="ignore"):
        own_r = own / lev
    out: tuple[list[str], list[str]] = ([], [])
    for i in np.flatnonzero(used):
        siblings = used & (c.fund_underlying == c.fund_underlying[i]) & (np.arange(len(own)) != i)
        ref = float(np.median(own_r[siblings])) if siblings.any() else None
        expected = 0.0 if ref is None else lev[i] * ref
        if ref is not None and abs(own_r[i] - ref) <= SPLIT_MISMATCH:
            continue
        if ref is None and abs(own[i]) < 0.3:
            continue
        undone = [(k, (1.0 + own[i]) * k - 1.0) for k in SPLIT_RATIOS]
        k, move = min(undone, key=lambda kv: abs(kv[1] - expected))
        if abs(move - expected) > SPLIT_MISMATCH * abs(lev[i]):
            continue
        ratio = f"{k:g}:1 split" if k >= 1 else f"1:{1 / k:g} reverse split"
        others = (f"the other funds on {c.fund_underlying_ids[i]} imply {expected:+.1%}" if ref is not None
                  else f"no other fund on {c.fund_underlying_ids[i]} to compare")
        out[ref is not None].append(f"{c.tickers[i]}: its own close changed {own[i]:+.1%} on {pit.sessions[row].date()}, the jump of a "
                   f"{ratio} ({move:+.1%} with it undone), while {others}: an unadjusted split in the price table? "
                   f"Its change is used as the day's move (r = {own_r[i]:+.1%}); adjust the table")
    out[0].extend(_refused_warnings(c, pit, row, lev))
    return out[0] + out[1], out[1]


def _refused_warnings(c, pit: "PointInTime", row: int, lev) -> list[str]:
    """One warning per fund whose own close change on session ``row`` was there but refused as
    the day's move (:attr:`PointInTime.refused_return`): what it was, what the reference said,
    and that the fund's move came from elsewhere."""
    import numpy as np

    if pit.refused_return is None:
        return []
    refused = np.asarray(pit.refused_return[row], dtype=float)
    reference = np.asarray(pit.refused_reference[row], dtype=float)
    r = np.asarray(pit.underlying_return[row], dtype=float)
    day = pit.sessions[row].date()
    out = []
    for i in np.flatnonzero(np.isfinite(refused)):
        used = f"r = {r[i]:+.1%} from the rest of the ladder" if np.isfinite(r[i]) else "no return left for it"
        out.append(f"{c.tickers[i]}: its own close changed {refused[i]:+.1%} on {day}, {refused[i] / lev[i]:+.1%} as r, "
                   f"while its underlying {c.fund_underlying_ids[i]} moved {reference[i]:+.1%} (its price, ETF or "
                   f"composition, else its daily funds' median): an unadjusted split or a bad print? Not used as the "
                   f"day's move ({used}); adjust the table")
    return out


def _as_date(value: object) -> dt.date:
    """A session from a date, ``"YYYY-MM-DD"`` or a datetime (its New York date when
    timezone-aware); anything else an InputError (:func:`lev_flows.inputs.args.date_arg`)."""
    from lev_flows.inputs.args import date_arg

    return date_arg(value, "estimate_day: date")


__all__ = ["estimate_day", "load_inputs", "Inputs", "default_prices", "pit_creations", "split_warnings"]
