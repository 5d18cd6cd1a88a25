"""The built-in replay's packaged inputs (``data/replay_<date>.csv``), read without pandas, and
filled into :class:`~lev_flows.inputs.days.DayReturns` and :class:`~lev_flows.inputs.days.AumDay`.

The file has one row per input: ``key, kind, basis, value, method`` with ``kind`` one of
``fund`` (a fund's underlying return ``r``, fraction, for ``basis`` ``close`` or ``intraday``),
``underlying`` (an underlying's close-to-close return, for funds outside the packaged catalog),
``reset`` (a weekly / monthly fund that resets that close) and ``aum`` (start-of-day AUM, USD;
``method`` = ``source|method|observation date|gap in sessions``). It is written by
:func:`lev_flows.jobs.reference.write_replay` from the shared prices by the same point-in-time code that
:func:`lev_flows.estimate_day` runs, so the replay and ``estimate --date`` agree.

Reading it needs neither pandas nor the price tables, and importing this module not even numpy
(the command line takes ``REPLAY_DATE`` from here): the default ``lev-flows estimate`` runs in
about the time of a bare ``import pandas``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from importlib import resources
from typing import TYPE_CHECKING

from lev_flows.errors import InputError
from lev_flows.inputs.days import AumDay, weighted_median

if TYPE_CHECKING:  # pragma: no cover

    from lev_flows.inputs.catalog import Universe
    from lev_flows.inputs.days import DayReturns

REPLAY_DATE = "2026-02-04"


def _rows(date: str) -> list[dict[str, str]]:
    try:
        text = resources.files("lev_flows").joinpath(f"data/replay_{date}.csv").read_text("utf-8")
    except FileNotFoundError:
        raise InputError(f"replay: no built-in replay for {date} (there is one for {REPLAY_DATE})") from None
    return list(csv.DictReader(io.StringIO(text)))


def _value(row: dict[str, str]) -> float:
    """A row's value as a float (an empty cell: NaN)."""
    return float(row["value"]) if row["value"] else math.nan


def load_replay(date: str = REPLAY_DATE, basis: str = "close", universe: "Universe | None" = None) -> "DayReturns":
    """The packaged replay's returns for ``basis`` ``close`` (point in time: per fund, and per
    underlying for funds the packaged catalog does not have) or ``intraday`` (the funds' 14:43
    reported changes). With ``universe``, per-fund values are kept for its funds only."""
    from lev_flows.inputs.days import DayReturns

    if basis not in ("close", "intraday"):
        raise InputError(f"replay: basis must be 'close' or 'intraday', not {basis!r}")
    rows = _rows(date)
    funds = [r for r in rows if r["kind"] == "fund" and r["basis"] == basis
             and (universe is None or r["key"] in universe.fund_by_ticker)]
    values = {r["key"]: _value(r) for r in funds}
    methods = {r["key"]: r["method"] for r in funds}
    day = dt.date.fromisoformat(date)
    if basis == "close":
        und = [r for r in rows if r["kind"] == "underlying"
               and (universe is None or r["key"] in universe.underlying_by_id)]  # another universe: the underlyings it knows
        return DayReturns(values={r["key"]: _value(r) for r in und}, date=day, basis="close-to-close",
                          source=f"built-in replay {date}", methods={r["key"]: r["method"] for r in und},
                          per_fund=values, fund_methods=methods, resets=frozenset(r["key"] for r in rows if r["kind"] == "reset"))
    return DayReturns(
        values=values, date=day, basis="intraday 14:43 New York (funds' reported changes)",
        source=f"built-in replay {date}", methods=methods, resets=frozenset(),
    )


def load_replay_aum(date: str = REPLAY_DATE, universe: "Universe | None" = None) -> AumDay:
    """The packaged replay's point-in-time start-of-day AUM, aligned to ``universe`` (default: the
    packaged one; funds it does not know have none)."""
    import numpy as np

    from lev_flows.inputs.catalog import load_universe

    aum = {r["key"]: r for r in _rows(date) if r["kind"] == "aum"}
    tickers = [f.ticker for f in (universe if universe is not None else load_universe()).funds]
    none = {"value": "", "method": "none|none||-1"}
    rows = [aum.get(t, none) for t in tickers]
    parts = [(r["method"] or none["method"]).split("|") for r in rows]
    value = np.array([_value(r) for r in rows], dtype=float)
    method = np.array([p[1] for p in parts], dtype=object)
    launched = method != "not launched"
    gap = np.array([int(p[3]) for p in parts], dtype=np.int64)
    obs = np.array([p[2] or "NaT" for p in parts], dtype="datetime64[D]")
    return AumDay(
        aum_usd=value, method=np.where(launched, method, "none"), source=np.array([p[0] for p in parts], dtype=object),
        obs_date=obs, gap_sessions=gap, median_gap=weighted_median(gap, value), launched=launched,
        label=f"point in time (packaged replay {date}, from the package's AUM observations)",
    )


__all__ = ["REPLAY_DATE", "load_replay", "load_replay_aum"]


CARRY_FILE = "data/carry_elasticity.json"
BANDS_FILE = "data/aum_error_bands.json"
_TABLES: dict[str, dict | None] = {}


def _packaged_json(name: str) -> dict | None:
    """A packaged JSON table (read once), or None when the package has none."""
    if name not in _TABLES:
        import json

        try:
            _TABLES[name] = json.loads(resources.files("lev_flows").joinpath(name).read_text("utf-8"))
        except FileNotFoundError:
            _TABLES[name] = None
    return _TABLES[name]


def carry_elasticity_table() -> dict | None:
    """The carry elasticities ``lev-flows reference build`` fitted on the shared data
    (:func:`lev_flows.model.carry.fit_elasticity`), or None when the package has none."""
    return _packaged_json(CARRY_FILE)


def aum_error_bands() -> dict | None:
    """The AUM error quantiles by gap and method (:mod:`lev_flows.model.band`), built by
    ``lev-flows reference build``; None when the package has none."""
    return _packaged_json(BANDS_FILE)

