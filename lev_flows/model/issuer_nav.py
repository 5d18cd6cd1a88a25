"""The issuer's NAV per share and shares outstanding on the session grid: each fund's NAV
return, and the day's creations valued at the day's NAV.

**NAV returns.** A fund's closing price drifts from its NAV (premium, a stale print); on the
eight ProShares funds of ``../shared/data/fund_history`` the closing-price returns run
0.982-0.991x their NAV returns (least-squares slope, 2024-2026), so a rebalance on price returns
comes out 1-2 % low. Where the issuer published a NAV on both closes, the fund's own return is
``NAV_t / NAV_{t-1} - 1``.

**Creations.** The day's net creations of a fund with shares outstanding ``S`` known on both
closes, as exposure its close trade adds (USD, + = buy)::

    creation_usd_t = (S_t - S_{t-1}) * NAV_t * L

*Timing*: the issuer's shares outstanding dated ``t`` (its NAV file's row of the close of ``t``)
include the creation and redemption units traded for ``t``: orders placed before the day's cutoff,
which the fund hedges at that close together with its rebalance. The data agree: on TQQQ and
SQQQ, the two largest of the eight funds, the shares change of ``t`` correlates with the fund's
return of ``t`` (-0.37 and -0.47) far more than with that of ``t - 1`` (-0.24, -0.08) or
``t + 1`` (-0.03, -0.02): investors buy the day's dip and are hedged that evening. The units
are valued at ``NAV_t``, the price they were created at.

Unknown is never zero: NaN wherever a close lacks the shares or the NAV, where the NAV return of
the day is a data defect (an unadjusted split restates NAV and shares together, so it would read
as a creation of the whole fund), and before a fund trades.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lev_flows.model.formula import creation_exposure_usd
from lev_flows.model.returns import clean_fund_returns

#: the source kind whose observations carry a NAV per share and shares outstanding
NAV_SOURCE_KIND = "issuer_nav"


def nav_observations(observations: pd.DataFrame | None) -> pd.DataFrame:
    """The issuer NAV rows of an observations frame: ``ticker``, ``date``, ``nav`` (USD per
    share) and ``shares_outstanding`` (shares; NaN where not published), of closes only. A frame
    without ``nav`` columns (or None) gives an empty frame: no NAV is known."""
    cols = ["ticker", "date", "nav", "shares_outstanding"]
    if observations is None or "nav" not in observations.columns or observations.empty:
        return pd.DataFrame({c: [] for c in cols})
    obs = observations
    keep = (obs["source_kind"] == NAV_SOURCE_KIND) & (pd.to_numeric(obs["nav"], errors="coerce") > 0)
    if "timing" in obs:
        keep &= obs["timing"].fillna("close") == "close"
    out = obs.loc[keep, [c for c in cols if c in obs.columns]].copy()
    if "shares_outstanding" not in out:
        out["shares_outstanding"] = np.nan
    return out.reset_index(drop=True)


def nav_grid(tickers: np.ndarray, grid: pd.DatetimeIndex, nav: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """``(NAV, shares)`` as (C, F) arrays on the close grid (the funds in ``tickers`` order), NaN
    where the issuer published nothing for that close. A row dated on a day that is not a close of
    ``grid`` is not used (a NAV of a holiday is no session's)."""
    C, F = len(grid), len(tickers)
    nav_c, shares_c = np.full((C, F), np.nan), np.full((C, F), np.nan)
    if nav is None or nav.empty or not C:
        return nav_c, shares_c
    pos = pd.Index(tickers).get_indexer(nav["ticker"])
    d = pd.to_datetime(nav["date"]).to_numpy("datetime64[ns]")
    g = grid.to_numpy("datetime64[ns]")
    at = np.clip(np.searchsorted(g, d), 0, C - 1)
    ok = (pos >= 0) & (g[at] == d)
    nav_c[at[ok], pos[ok]] = pd.to_numeric(nav["nav"], errors="coerce").to_numpy(float)[ok]
    shares_c[at[ok], pos[ok]] = pd.to_numeric(nav["shares_outstanding"], errors="coerce").to_numpy(float)[ok]
    return nav_c, np.where(shares_c >= 0, shares_c, np.nan)


def nav_returns(nav_close: np.ndarray) -> np.ndarray:
    """(T = C - 1, F) issuer NAV returns ``NAV_t / NAV_{t-1} - 1`` (fractions), NaN unless both
    closes have a NAV; changes outside (-100 %, +100 %] and exact zeros (a repeated NAV) are data
    defects, NaN too (:func:`lev_flows.model.returns.clean_fund_returns`).

    >>> nav_returns(np.array([[40.0], [50.0], [np.nan]])).ravel().tolist()
    [0.25, nan]
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        r = nav_close[1:] / nav_close[:-1] - 1.0
    return clean_fund_returns(np.where(nav_close[:-1] > 0, r, np.nan))


def creation_usd(shares_close: np.ndarray, nav_close: np.ndarray, leverage: np.ndarray, usable: np.ndarray) -> np.ndarray:
    """(T, F) the day's creations as exposure, ``(S_t - S_{t-1}) * NAV_t * L`` (USD, + = buy; see
    the module doc for the timing), with ``L`` per fund (F,) or per session and fund (T, F); NaN where either close lacks the shares, the close of ``t``
    its NAV, or ``usable`` (T, F) is False (the day's NAV return is a data defect, the fund does
    not trade).

    >>> creation_usd(np.array([[100.0], [120.0]]), np.array([[10.0], [11.0]]), np.array([3.0]), np.array([[True]])).item()
    660.0
    """
    with np.errstate(invalid="ignore"):
        c = creation_exposure_usd((shares_close[1:] - shares_close[:-1]) * nav_close[1:], leverage)
    return np.where(usable & np.isfinite(c), c, np.nan)


def known_share(values: np.ndarray, aum_usd: np.ndarray) -> np.ndarray:
    """Per row, the share of the AUM (0..1) whose fund has a known (finite) value: the coverage of
    the creations. Rows without AUM give NaN.

    >>> known_share(np.array([[1.0, np.nan]]), np.array([[3.0, 1.0]])).tolist()
    [0.75]
    """
    aum = np.nan_to_num(np.asarray(aum_usd, dtype=float), nan=0.0)
    total = aum.sum(axis=-1)
    known = np.where(np.isfinite(values), aum, 0.0).sum(axis=-1)
    return np.divide(known, total, out=np.full(np.shape(total), np.nan), where=total > 0)


__all__ = ["NAV_SOURCE_KIND", "creation_usd", "known_share", "nav_grid", "nav_observations", "nav_returns"]
