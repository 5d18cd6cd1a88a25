"""How uncertain an estimate is because its AUM is: a p10-p90 interval for each fund-day's AUM
and the band it gives the rebalance, per fund, per index bucket and in total.

**The AUM interval.** ``lev-flows reference build`` models the eight ProShares funds of the
issuer file from the screener snapshots alone and measures, against the issuer's net assets at
the previous close, the signed log error ``e = log(V_true / V_model)`` by how far the fund-day is
from its nearest observation (sessions) and how it was modelled (interpolated between two
observations, or carried beyond them): its 10th and 90th percentiles ``q10, q90`` by cell
(``lev_flows/data/aum_error_bands.json``). A fund-day's interval is ``[A e^q10, A e^q90]``;
an issuer figure of the previous close has none (``[A, A]``); a figure given by the caller has
none either (n/a: nothing says how good it is).

**The band.** The rebalance ``A L (L - 1) r`` is linear in ``A``, so a fund's rebalance interval
is its rebalance times the same factors. Errors of different funds are taken as moving together
(they share the snapshots' dating and the same carry rule: comonotonic), so the total's band is
the sum of the funds' low ends and of their high ends, whichever is smaller first::

    p10 = min(sum_i x_i e^q10_i, sum_i x_i e^q90_i),   p90 = max(...),   x_i = rebalance_i

which is wider than independence would give: a band, not a confidence interval. Index buckets
likewise. The returns are taken as known (a close-to-close day); an intraday estimate is as
uncertain as the rest of the day, which no band here describes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: sources whose figure at the previous close is the fund's net assets exactly
EXACT_SOURCES = ("issuer_nav", "holdings")


def gap_cell(gap: float, table: dict[str, Any]) -> int | None:
    """The index of the table's gap bucket holding ``gap`` sessions (None: no bucket)."""
    for k, (lo, hi) in enumerate(table["gaps"]):
        if lo <= gap <= hi:
            return k
    return None


def aum_factors(source: np.ndarray, gap: np.ndarray, method: np.ndarray, table: dict[str, Any] | None) -> tuple[np.ndarray, np.ndarray]:
    """``(lo, hi)`` multiplicative factors (same shape as ``gap``) of each fund-day's AUM: 1 for
    an exact source at gap 0, ``e^q10`` / ``e^q90`` of its (gap, method) cell otherwise, NaN where
    nothing says (no table, a figure given by the caller, no AUM)."""
    src = np.asarray(source, dtype=object)
    g = np.asarray(gap, dtype=float)
    meth = np.asarray(method, dtype=object)
    lo = np.full(g.shape, np.nan)
    hi = np.full(g.shape, np.nan)
    if not table:
        return lo, hi
    exact = np.isin(src, EXACT_SOURCES) & (g == 0)
    lo[exact] = hi[exact] = 1.0
    between = np.array([isinstance(m, str) and m == "interpolated" for m in meth.ravel()]).reshape(g.shape)
    known = np.isin(src, ("issuer_nav", "holdings", "nport", "screener", "user", "catalog")) & np.isfinite(g) & ~exact
    for k, (a, b) in enumerate(table["gaps"]):
        cell = known & (g >= a) & (g <= b)
        for kind, mask in (("interpolated", between), ("carried", ~between)):
            q = table["cells"].get(f"{k}:{kind}") or table["cells"].get(f"{k}:all")
            if q is not None:
                sel = cell & mask
                lo[sel], hi[sel] = np.exp(q["q10"]), np.exp(q["q90"])
    return lo, hi


def rebalance_band(rebalance: np.ndarray, lo: np.ndarray, hi: np.ndarray, axis: int | None = None) -> tuple[Any, Any]:
    """The p10 and p90 ends of ``sum(rebalance)`` with every fund's AUM at the low and at the high
    end of its interval together (see the module doc); NaN when any fund with a flow has no
    interval. ``axis``: sum over it (history: per session), else over everything."""
    x = np.asarray(rebalance, dtype=float)
    flows = np.isfinite(x) & (x != 0)
    unknown = (flows & ~(np.isfinite(lo) & np.isfinite(hi))).any(axis=axis)
    a = np.nansum(np.where(flows, x * lo, 0.0), axis=axis)
    b = np.nansum(np.where(flows, x * hi, 0.0), axis=axis)
    p10, p90 = np.minimum(a, b), np.maximum(a, b)
    return np.where(unknown, np.nan, p10), np.where(unknown, np.nan, p90)


__all__ = ["EXACT_SOURCES", "aum_factors", "gap_cell", "rebalance_band"]
