"""What enters the estimate for one day besides the catalog: the day's returns with where each
came from (:class:`DayReturns`) and the start-of-day AUM per fund with its provenance
(:class:`AumDay`). Plain data: no pandas and no numpy at import.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np


@dataclass(frozen=True)
class DayReturns:
    """Returns for one day keyed by underlying id or fund ticker, with where each came from.

    ``values`` are fractions (0.01 = +1 %). ``methods`` says how each was obtained (``price``,
    ``composition``, ``fund change / L`` ...). ``basis`` says what the returns span, for example
    ``close-to-close`` or ``intraday 14:43 New York``.
    """

    values: Mapping[str, float]
    date: dt.date | None = None
    basis: str = "close-to-close"
    source: str = "user"
    methods: Mapping[str, str] = field(default_factory=dict)
    #: per-fund underlying return ``r`` (fractions) by fund ticker, chosen fund by fund (see
    #: :mod:`lev_flows.model.pointintime`); it wins over ``values`` for that fund
    per_fund: Mapping[str, float] = field(default_factory=dict)
    fund_methods: Mapping[str, str] = field(default_factory=dict)
    #: weekly / monthly / quarterly funds that reset at this close (their ``per_fund`` value is
    #: the return since the last reset); None = not known (told by the calendar from ``date``)
    resets: frozenset[str] | None = None


@dataclass(frozen=True)
class AumDay:
    """One session's start-of-day AUM per fund (universe order, USD) with its provenance: the
    method (carried, interpolated, observed ...), the source of the observation, its date and
    its distance in sessions; ``median_gap`` is the AUM-weighted median of that distance."""

    aum_usd: np.ndarray
    method: np.ndarray
    source: np.ndarray
    obs_date: np.ndarray
    gap_sessions: np.ndarray
    median_gap: float = float("nan")
    launched: np.ndarray | None = None
    closed: np.ndarray | None = None  # (F,) bool: closed (catalog closed_on) by this session
    label: str = "point in time (store observations)"


def weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    """The ``weights``-weighted median of ``values`` (NaN weights count as 0; NaN when no weight):
    the smallest value whose cumulative weight reaches half the total."""
    import numpy as np

    w = np.where(np.isfinite(weights), weights, 0.0)
    if w.sum() <= 0:
        return float("nan")
    v = np.asarray(values, dtype=float)
    order = np.argsort(v, kind="stable")
    cum = np.cumsum(w[order])
    return float(v[order][np.searchsorted(cum, 0.5 * cum[-1])])


#: what a fund-day's AUM rests on: the observation's source, by family
SOURCE_FAMILY = {"issuer_nav": "issuer", "holdings": "issuer", "nport": "SEC N-PORT", "user": "user file",
                 "screener": "screener", "catalog": "catalog"}
#: its age: sessions between the observation's close and the session's start (0 = the previous close)
AGE_CLASSES = ((0, 0, "previous close"), (1, 5, "1-5 sessions"), (6, 21, "6-21 sessions"), (22, 63, "22-63 sessions"),
               (64, 10**9, "over 63 sessions"))


def aum_basis(source: np.ndarray, gap_sessions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per fund: the family of the observation its AUM rests on (:data:`SOURCE_FAMILY`; ``"none"``
    without one) and the age class (:data:`AGE_CLASSES`; ``"n/a"`` without one)."""
    import numpy as np

    src = np.asarray(source, dtype=object)
    family = np.array([SOURCE_FAMILY.get(s, "none") if isinstance(s, str) else "none" for s in src], dtype=object)
    gap = np.asarray(gap_sessions, dtype=float)
    age = np.full(len(gap), "n/a", dtype=object)
    for lo, hi, label in AGE_CLASSES:
        age[np.isfinite(gap) & (gap >= lo) & (gap <= hi)] = label
    age[family == "none"] = "n/a"
    return family, age


def basis_shares(aum_usd: np.ndarray, source: np.ndarray, gap_sessions: np.ndarray) -> dict[str, float]:
    """Share of the AUM (0..1) resting on each ``"family, age"`` (see :func:`aum_basis`), largest
    first; funds without AUM do not count. ``{"issuer, previous close": 0.62, ...}``."""
    import numpy as np

    aum = np.asarray(aum_usd, dtype=float)
    ok = np.isfinite(aum) & (aum > 0)
    total = aum[ok].sum()
    if total <= 0:
        return {}
    family, age = aum_basis(source, gap_sessions)
    out: dict[str, float] = {}
    for f, a, v in zip(family[ok], age[ok], aum[ok]):
        key = f if a == "n/a" else f"{f}, {a}"
        out[key] = out.get(key, 0.0) + float(v) / total
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


__all__ = ["DayReturns", "AumDay", "weighted_median", "aum_basis", "basis_shares", "SOURCE_FAMILY", "AGE_CLASSES"]
