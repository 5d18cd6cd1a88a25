"""Possible and plausible inputs: the one layer returns, prices, AUM, holdings and moves pass
through before they become a number.

An **impossible** input is an error naming the value and where it came from (exit code 2); an
**implausible** one is a warning on stderr, listed in the result's ``warnings`` and
``implausible`` (``--strict`` makes it an error, for unattended runs).

=======================  ===========================================  ==========================================
input                    impossible                                   implausible
=======================  ===========================================  ==========================================
a number                 not a number (``true``/``false`` included),
                         NaN, infinite
a return (fraction)      -100 % or worse                              beyond +/-25 % for an index, sector,
                                                                      commodity, rate or currency underlying
                                                                      (was it given in percent?); beyond
                                                                      +/-100 % for a single stock or a coin
a fund's day             ``1 + L * r <= 0``: its NAV would go
                         negative (the fund is dropped and listed
                         under ``allow_partial``)
a close                  zero or negative
a day's return from      the previous row is not the previous
prices                   session (a gap is not one day)
an AUM (USD)             negative, over $1T                           over $100B for one fund (the largest
                                                                      leveraged ETF is about $30B)
an issuer's NAV          exposure / NAV not within 10 % of L          more than 5x or under 1/5 of the fund's
                         (:func:`formula.exposure_matches_leverage`)   AUM (a unit slip): not used
=======================  ===========================================  ==========================================
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from lev_flows.errors import InputError

#: |r| above which a day's return is implausible, by the underlying's asset class
MAX_PLAUSIBLE_RETURN = {"equity": 0.25, "single_stock": 1.0, "crypto": 1.0, "volatility": 1.0}
DEFAULT_MAX_PLAUSIBLE_RETURN = 0.25
#: USD: above this one fund's AUM is impossible; above the other, implausible
MAX_AUM_USD = 1e12
PLAUSIBLE_AUM_USD = 1e11
#: an issuer NAV this many times the fund's AUM (or under its inverse) is a unit slip
NAV_AUM_RATIO = 5.0


def number(value: Any, what: str) -> float:
    """``value`` as a finite float; a bool (JSON ``true`` is not 1), text or NaN is an error
    naming ``what`` (``"r.json: IDX: return"``)."""
    if isinstance(value, (bool, np.bool_)) or value is None:  # numpy's bool too: True is not +100 %
        raise InputError(f"{what} {value!r} is not a number")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{what} {value!r} is not a number") from None
    if not math.isfinite(v):
        raise InputError(f"{what} is {v} (NaN/inf), not a finite number; leave the key out instead of a placeholder")
    return v


def creation(value: Any, what: str) -> float:
    """Net creations of one fund (USD, negative = redemptions) as a finite float: not a number
    (see :func:`number`) or beyond $1T either way (more than any fund holds: ``1e308`` would
    overflow ``L * C``) is an error naming ``what`` (``"c.csv: line 2: TQQQ: creation"``)."""
    v = number(value, what)
    if abs(v) > MAX_AUM_USD:
        raise InputError(f"{what} {v:.4g} USD is beyond $1T either way, more than any fund holds")
    return v


def aum_findings(tickers: np.ndarray, aum: np.ndarray) -> list[str]:
    """AUM per fund (USD): over $1T is impossible (an error naming the first such fund); over
    $100B implausible (a warning each, returned)."""
    with np.errstate(invalid="ignore"):
        over = np.flatnonzero(aum > MAX_AUM_USD)
        high = np.flatnonzero((aum > PLAUSIBLE_AUM_USD) & (aum <= MAX_AUM_USD))
    if len(over):
        i = over[0]
        raise InputError(f"AUM of {tickers[i]}: {aum[i]:,.0f} USD is over $1T, more than any fund holds (given in thousands?)")
    return [f"{tickers[i]}: AUM of ${aum[i] / 1e9:,.2f}B is implausible for one leveraged fund (over $100B; a unit slip?)"
            for i in high]


def return_limit(asset_class: np.ndarray, single_stock: np.ndarray) -> np.ndarray:
    """The |r| beyond which a day's return is implausible, per underlying."""
    limit = np.array([MAX_PLAUSIBLE_RETURN.get(str(a), DEFAULT_MAX_PLAUSIBLE_RETURN) for a in asset_class], dtype=float)
    return np.where(np.asarray(single_stock, dtype=bool), MAX_PLAUSIBLE_RETURN["single_stock"], limit)


def implausible_returns(ids: np.ndarray, r: np.ndarray, limit: np.ndarray) -> list[str]:
    """One warning per id whose return is beyond its limit (``ids``, ``r`` and ``limit``
    aligned, e.g. per fund with its underlying's id: an id named twice is warned once)."""
    with np.errstate(invalid="ignore"):
        bad = np.flatnonzero(np.isfinite(r) & (np.abs(r) > limit))
    seen: dict[str, str] = {}
    for j in bad:
        seen.setdefault(str(ids[j]), f"{ids[j]}: a return of {r[j]:+.1%} in one day is implausible (beyond {limit[j]:.0%}); "
                                     "was it given in percent?")
    return list(seen.values())


def negative_nav(leverage: np.ndarray, r: np.ndarray) -> np.ndarray:
    """True where a fund's day is impossible: ``1 + L * r <= 0`` (its NAV would go negative)."""
    with np.errstate(invalid="ignore"):
        return np.isfinite(r) & (1.0 + leverage * r <= 0.0)


def nav_impossible_message(ticker: str, leverage: float, r: float, source: str) -> str:
    return (f"{ticker}: a {leverage:+g}x fund on a {r:+.1%} day would lose all of its NAV (1 + L*r = {1 + leverage * r:+.2f}); "
            f"impossible (return from {source})")


def check_move(c: Any, underlying: str, r: float, what: str) -> None:
    """A scenario's move of one underlying (``--move``, ``--given``) on the compiled universe
    ``c``: impossible when a daily fund on it would lose all of its NAV (``1 + L * r <= 0``);
    the error names the largest."""
    on = np.flatnonzero((c.fund_underlying_ids.astype(str) == underlying) & c.resets_daily)
    bad = on[negative_nav(c.leverage[on], np.full(len(on), r))]
    if len(bad):
        i = bad[np.argmax(np.nan_to_num(c.aum_usd[bad]))]
        raise InputError(f"{what} {underlying}: " + nav_impossible_message(str(c.tickers[i]), float(c.leverage[i]), r, "the scenario"))


def check_closes(values: np.ndarray, dates: Any, columns: Any, where: str, *, allow_zero: bool = False) -> None:
    """Closes must be positive (volumes, ``allow_zero``: not negative): the first that is not is
    an error naming symbol and date."""
    infinite = np.argwhere(np.isinf(values))
    if len(infinite):  # an infinite close is no price, never "no return"
        i, j = infinite[0]
        what = "volume" if allow_zero else "close"
        raise InputError(f"{where}: {columns[j]} has a {what} of {values[i, j]:g} on {dates[i]:%Y-%m-%d}; "
                         f"a {what} is a finite number")
    with np.errstate(invalid="ignore"):
        bad = np.argwhere(values < 0 if allow_zero else values <= 0)
    if len(bad):
        i, j = bad[0]
        what = "volume" if allow_zero else "close"
        raise InputError(f"{where}: {columns[j]} has a {what} of {values[i, j]:g} on {dates[i]:%Y-%m-%d}; "
                         f"a {what} is {'never negative' if allow_zero else 'positive'}")


def nav_unit_slip(nav: float, aum: float) -> bool:
    """An issuer NAV far from the fund's AUM (``NAV_AUM_RATIO`` either way): a unit slip."""
    return bool(np.isfinite(aum) and aum > 0 and (nav > NAV_AUM_RATIO * aum or nav < aum / NAV_AUM_RATIO))



def check_return(key: str, value: Any, where: str = "returns") -> float:
    """Validate one return (a fraction). Raises :class:`InputError` naming the key."""
    r = number(value, f"{where}: {key}: return")
    if r <= -1.0:
        raise InputError(f"{where}: {key}: return {r:g} is -100% or worse; a fund cannot re-leverage that")
    if r > 1.0:
        raise InputError(
            f"{where}: {key}: return {r:g} is over +100%; returns are fractions (0.012 = +1.2%), was it given in percent?"
        )
    return r


__all__ = ["creation", "check_return", "check_move", "number", "aum_findings", "return_limit", "implausible_returns", "negative_nav", "check_closes",
           "nav_unit_slip", "MAX_AUM_USD", "PLAUSIBLE_AUM_USD"]
