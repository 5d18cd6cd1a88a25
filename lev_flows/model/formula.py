"""The rebalancing math of leveraged and inverse funds, as pure functions over arrays.

Notation used throughout (all amounts in USD, returns as fractions, 0.05 = +5 %):

* ``A``  start-of-day net assets of the fund (AUM), USD
* ``L``  signed target leverage (3 for a 3x bull fund, -3 for a 3x bear fund, -1 for a
  plain inverse fund, 1.25 for a 1.25x fund)
* ``r``  the day's return of the underlying
* ``E``  the fund's exposure to the underlying (swaps + futures + stock), USD
* ``N``  the fund's net asset value, USD

A daily-reset fund starts the day with exposure ``E0 = L*A``. After the underlying moves by
``r`` the exposure is ``E1 = L*A*(1 + r)`` and the NAV is ``N1 = A*(1 + L*r)``. To start the
next day at leverage ``L`` it needs exposure ``L*N1``, so at the close it trades::

    rebalance = L*N1 - E1 = A * L * (L - 1) * r

in USD of underlying exposure (positive = buy). The sign follows ``r`` whenever ``L > 1`` or
``L < 0`` (both bull and bear funds buy into rallies and sell into declines); ``L = 1`` never
trades and ``0 < L < 1`` trades against the move.

No function here does I/O, prints or keeps state; every function accepts scalars or numpy
arrays and broadcasts like numpy.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

ArrayLike = npt.ArrayLike
FloatArray = npt.NDArray[np.float64]


def _f(x: ArrayLike) -> FloatArray:
    return np.asarray(x, dtype=np.float64)


def rebalance_usd(aum_usd: ArrayLike, leverage: ArrayLike, underlying_return: ArrayLike) -> FloatArray:
    """Close-of-day hedge trade of a daily-reset fund, ``A * L * (L - 1) * r``.

    Parameters
    ----------
    aum_usd : start-of-day net assets ``A`` in USD.
    leverage : signed target leverage ``L`` (-3 for a 3x inverse fund).
    underlying_return : the underlying's return ``r`` over the day, as a fraction.

    Returns
    -------
    USD of underlying exposure to buy (positive) or sell (negative) at the close.
    NaN inputs propagate to NaN (a missing return is never a zero flow).

    Examples
    --------
    >>> float(rebalance_usd(1e9, 3, 0.05))   # $1B 3x fund, +5 %: buys $300M
    300000000.0
    >>> float(rebalance_usd(1e9, -3, -0.02)) # $1B 3x inverse fund, -2 %: sells $240M
    -240000000.0
    """
    lev = _f(leverage)
    return _f(aum_usd) * lev * (lev - 1.0) * _f(underlying_return)


def rebalance_usd_from_fund_return(aum_usd: ArrayLike, leverage: ArrayLike, fund_return: ArrayLike) -> FloatArray:
    """The same trade written with the fund's own return ``R = L * r``: ``A * (L - 1) * R``.

    Useful when only the fund's reported change is known (an intraday screener, a NAV history).

    >>> float(rebalance_usd_from_fund_return(1e9, 3, 0.15))   # 3x fund up 15 % = underlying +5 %
    300000000.0
    """
    return _f(aum_usd) * (_f(leverage) - 1.0) * _f(fund_return)


def underlying_return_from_fund_return(fund_return: ArrayLike, leverage: ArrayLike) -> FloatArray:
    """Implied underlying return of a daily-reset fund, ``r = R / L`` (fractions).

    >>> float(underlying_return_from_fund_return(-0.06, 3))
    -0.02
    """
    return _f(fund_return) / _f(leverage)


def creation_exposure_usd(net_creation_usd: ArrayLike, leverage: ArrayLike) -> FloatArray:
    """Exposure the fund must add for net creations of ``C`` USD: ``L * C``.

    Redemptions are negative creations. A $100M creation into a 3x inverse fund needs
    $300M of new short exposure:

    >>> float(creation_exposure_usd(100e6, -3))
    -300000000.0
    """
    return _f(leverage) * _f(net_creation_usd)


def exposure_after_move(aum_usd: ArrayLike, leverage: ArrayLike, underlying_return: ArrayLike) -> FloatArray:
    """Exposure before the close trade, ``E1 = L * A * (1 + r)`` in USD."""
    return _f(leverage) * _f(aum_usd) * (1.0 + _f(underlying_return))


def nav_after_move(aum_usd: ArrayLike, leverage: ArrayLike, underlying_return: ArrayLike) -> FloatArray:
    """Net assets after the move, ``N1 = A * (1 + L * r)`` in USD (before fees and financing).

    Positive only for ``r > -1/L``: beyond that the fund is wiped out.
    """
    return _f(aum_usd) * (1.0 + _f(leverage) * _f(underlying_return))


def releverage_usd(exposure_usd: ArrayLike, nav_usd: ArrayLike, leverage: ArrayLike) -> FloatArray:
    """Exact re-leveraging trade from known holdings: ``L * N - E`` in USD.

    Use it when the fund's exposure ``E`` (swap and futures notionals plus stock) and NAV ``N``
    after the move are known, for example from an issuer's daily holdings file. With
    ``E = exposure_after_move(...)`` and ``N = nav_after_move(...)`` it equals
    :func:`rebalance_usd`.

    >>> float(releverage_usd(exposure_usd=3.15e9, nav_usd=1.15e9, leverage=3))
    300000000.0
    """
    return _f(leverage) * _f(nav_usd) - _f(exposure_usd)


def holdings_rebalance_usd(
    nav_usd: ArrayLike, exposure_usd: ArrayLike, leverage: ArrayLike, underlying_return: ArrayLike
) -> FloatArray:
    """Exact close trade from a start-of-day holdings file: ``L * N1 - E1`` with
    ``E1 = E0 * (1 + r)`` and ``N1 = N0 + E0 * r`` (fees and financing ignored).

    ``N0``/``E0`` are the published net assets and exposure (USD) at the previous close. When
    the fund starts exactly at target (``E0 = L * N0``) this is ``N0 * L * (L - 1) * r``; any
    drift or unhedged creation from the day before is traded too.

    >>> float(holdings_rebalance_usd(1e9, 3e9, 3, 0.05))       # on target: = rebalance_usd
    300000000.0
    >>> float(holdings_rebalance_usd(1e9, 2.9e9, 3, 0.0))      # $100M short of target, flat day
    100000000.0
    """
    n0, e0, r = _f(nav_usd), _f(exposure_usd), _f(underlying_return)
    return releverage_usd(e0 * (1.0 + r), n0 + e0 * r, leverage)


def auction_share(futures_share: ArrayLike, swap_early: ArrayLike) -> FloatArray:
    """Share of a fund's rebalance expected in the stocks' closing auctions: ``0`` when its swaps
    reset before the close (the dealers hedge then), else ``1 - futures_share`` (the futures part
    trades in the futures market). An unknown futures share (NaN) counts as 0: all in the auction.

    >>> auction_share([0.25, np.nan, 0.25], [False, False, True]).tolist()
    [0.75, 1.0, 0.0]
    """
    f = np.nan_to_num(_f(futures_share), nan=0.0)
    return np.where(np.asarray(swap_early, dtype=bool), 0.0, 1.0 - f)


#: a holdings file whose exposure over net assets is further than this fraction of |L| from L is
#: not used for ``L * N1 - E1`` (a file just after the close is on target within a few percent;
#: a bill line counted as exposure or unsigned swap notionals are far off)
EXPOSURE_TOLERANCE = 0.10


def exposure_matches_leverage(
    nav_usd: ArrayLike, exposure_usd: ArrayLike, leverage: ArrayLike, tolerance: float = EXPOSURE_TOLERANCE
) -> np.ndarray:
    """True where a holdings file is consistent with the fund: ``|E/N - L| <= tolerance * |L|``
    (so an inverse fund's exposure must be negative). NaN inputs give False.

    >>> exposure_matches_leverage([1e9, 1e9, 1e9], [3.05e9, 3.6e9, 3e9], [3, 3, -3]).tolist()
    [True, False, False]
    """
    n, e, lev = _f(nav_usd), _f(exposure_usd), _f(leverage)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = e / n
        return np.asarray(np.abs(ratio - lev) <= tolerance * np.abs(lev))


def scheduled_rebalance_usd(
    aum_usd: ArrayLike,
    leverage: ArrayLike,
    underlying_return: ArrayLike,
    resets_today: ArrayLike,
) -> FloatArray:
    """Rebalance trade that honours each fund's reset schedule.

    A daily-reset fund trades ``A * L * (L - 1) * r`` every day. A fund whose leverage resets
    weekly or monthly holds its exposure between reset dates, so on a non-reset day it trades
    nothing (its leverage drifts instead); ``resets_today`` is False for those funds and their
    trade is exactly 0. NaN returns stay NaN for funds that reset today; a NaN AUM (a fund
    not launched yet, or never observed) gives NaN whatever the schedule.
    """
    trade = rebalance_usd(aum_usd, leverage, underlying_return)
    idle = np.where(np.isnan(np.asarray(aum_usd, dtype=float)), np.nan, 0.0)
    return np.where(np.asarray(resets_today, dtype=bool), trade, idle)
