"""Point in time: each fund's start-of-day AUM and underlying return on each session, from what
was known about that session, with the source and age of every figure.

**AUM.** Observations (the store: issuer NAV files, holdings, screener snapshots dated by their
measured lag, user files; the catalog's own AUM only for a fund the store does not know) are the
fund's net assets at a close. A fund's net assets ``V_c`` at the close of session ``c``:

* on an observation's close: the observation (``observed``);
* between two observations ``o1 < c < o2``: carried from the earlier by the fund's own NAV
  path ``P`` and reconciled with the later one, the gap spread evenly in log terms over the
  sessions between (``interpolated``)::

      V_c = V_o1 * (P_c / P_o1) * rho ** ((c - o1) / (o2 - o1)),  rho = V_o2 / (V_o1 * P_o2 / P_o1)

* before the first or after the last observation, by the rule the issuer's own history
  supports (``benchmarks/validate_aum.py``, the README's held-out table)::

      V_c = V_o * (P_c / P_o) ** beta,   beta = 0.75 for long funds, 0.15 for inverse funds

  Shares held constant (``beta = 1``) and dollars held constant (``beta = 0``) are the two
  naive rules; the issuer's daily net assets of 2024-2026 show that long funds' AUM follows
  their price less than one for one (investors sell into rallies and buy dips) and inverse
  funds' AUM hardly follows it at all (investors keep adding as the price decays), so each
  direction carries with its least-squares elasticity (``carried, long`` / ``carried,
  inverse``);
* before the first observation of a fund launched inside the table, carried back as above and
  shrunk by its age ``a`` in sessions since launch (``grown from launch``): a young fund's AUM
  grows as ``a ** LAUNCH_GROWTH`` beyond its price, and no first session holds more than
  ``LAUNCH_CAP_USD`` ($50M, a bound growing as ``a ** LAUNCH_GROWTH``) unless observed::

      V_c = min(V_o * (P_c / P_o) ** beta * (a_c / a_o) ** 0.39,  50e6 * a_c ** 0.39)

* the exponent ``beta`` by kind of product and direction
  (:mod:`lev_flows.model.carry`, fitted by ``lev-flows reference build``);
* nothing before the fund's inception (catalog ``inception_date``, or the first price of a
  fund whose prices start after the table does) and nothing from ``closed_on`` (the first
  session it no longer trades) on.

The start-of-day AUM of session ``t`` is ``V`` at the previous session's close. ``P`` is the
fund's own close where it has one, else ``1 + L r`` of its underlying, else flat (counted).

**Returns**, per fund and session, in order of directness: the fund's own close-to-close
return divided by ``L`` (the issuer's NAV return where its file gives a NAV on both closes,
else its closing price's: :mod:`lev_flows.model.issuer_nav`; daily-reset funds; a change that disagrees with the
underlying's own price, tracking ETF or composition (else the median of three or more daily
funds on it) by more than ``FUND_MISMATCH`` is a data defect, such as an unadjusted reverse
split, and is skipped for the return and the NAV path); else the underlying's own price (a
stock, or an index level); its tracking ETF; the largest sibling fund's change / L (the daily
funds' median when that fund's change was skipped); its composition (as-of date shown,
look-ahead marked).

Everything is array arithmetic over (sessions x funds); :func:`point_in_time` is the one
function that every command (``estimate --date``, ``history``, ``daily``, ``scorecard``,
``montecarlo``) takes AUM and returns from, so a day's figure is the same whichever asks.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from lev_flows.errors import InputError
from lev_flows.inputs.catalog import Universe
from lev_flows.inputs.days import AumDay, DayReturns, weighted_median
from lev_flows.model.estimate import MAX_MEDIAN_GAP, compiled
from lev_flows.model.issuer_nav import (
    creation_usd,
    nav_grid,
    nav_observations,
    nav_returns,
)
from lev_flows.model.returns import (
    FUND_MEDIAN,
    METHOD_COMPOSITION,
    METHOD_ETF,
    METHOD_FUND,
    METHOD_NONE,
    METHOD_PRICE,
    clean_fund_returns,
    daily_returns,
    method_label,
    underlying_return_matrix,
)

#: AUM methods (codes in :attr:`PointInTime.aum_method`)
AUM_METHODS = np.array(
    ["none", "observed", "interpolated", "carried, long", "carried, inverse", "grown from launch"], dtype=object
)
AUM_NONE, AUM_OBSERVED, AUM_INTERPOLATED, AUM_CARRIED_LONG, AUM_CARRIED_INVERSE, AUM_LAUNCH = range(6)
#: a young fund's AUM grows as its age in sessions to this power, beyond its price: least squares
#: on 988 pairs of snapshots of 361 funds launched inside the 2024-2026 price table
#: (``benchmarks/validate_aum.py``, ``launch_rule``: 0.387)
LAUNCH_GROWTH = 0.39
#: no fund's first session holds more than this unless an observation says so (USD); the bound
#: grows with age at LAUNCH_GROWTH
LAUNCH_CAP_USD = 50e6
#: elasticity of AUM to the fund's own price when carried beyond the observations, by direction
#: (least squares on the issuer's 2024-2026 daily net assets of eight funds; see the module doc)
CARRY_ELASTICITY = {"long": 0.75, "inverse": 0.15}
#: source kinds (codes in :attr:`PointInTime.aum_source`)
AUM_SOURCES = np.array(["none", "issuer_nav", "holdings", "user", "screener", "catalog", "nport"], dtype=object)
_SOURCE_CODE = {k: i for i, k in enumerate(AUM_SOURCES)}
#: per-fund return methods (codes in :attr:`PointInTime.return_method`)
RET_NONE, RET_OWN, RET_PRICE, RET_ETF, RET_SIBLING, RET_COMPOSITION = range(6)
_FROM_UNDERLYING = {METHOD_PRICE: RET_PRICE, METHOD_ETF: RET_ETF, METHOD_FUND: RET_SIBLING, METHOD_COMPOSITION: RET_COMPOSITION}
#: a fund's own return / L that differs from its underlying's price or tracking ETF by more than
#: this (a fraction) is a data defect (an unadjusted split, a bad print), not the day's move
FUND_MISMATCH = 0.05


@dataclass(frozen=True)
class PointInTime:
    """AUM and returns per session (rows) and fund (columns, the universe's order).

    ``aum_usd``: start-of-day net assets (USD, NaN = not launched, closed or never observed);
    ``aum_method`` / ``aum_source``: codes into ``AUM_METHODS`` / ``AUM_SOURCES``;
    ``aum_obs_date``: the close date of the observation the figure rests on (the nearer one when
    interpolated); ``aum_gap``: sessions between that close and the session's start (0 =
    observed at the previous close); ``underlying_return``: fractions, NaN = unknown;
    ``return_method``: codes ``RET_*``; ``return_detail``: the method text per underlying.
    """

    sessions: pd.DatetimeIndex
    tickers: np.ndarray
    aum_usd: np.ndarray
    aum_method: np.ndarray
    aum_source: np.ndarray
    aum_obs_date: np.ndarray
    aum_gap: np.ndarray
    underlying_return: np.ndarray
    return_method: np.ndarray
    return_detail: list[dict[str, str]] = field(repr=False)
    fund_return: np.ndarray = field(repr=False)
    #: (T, F) a fund's own change that was there but refused as the day's move (it strayed more
    #: than FUND_MISMATCH from its reference: an unadjusted split, a bad print), NaN elsewhere; and
    #: that reference (the underlying's direct return, or its daily funds' median) as an r
    refused_return: np.ndarray = field(repr=False, default=None)
    refused_reference: np.ndarray = field(repr=False, default=None)
    launched: np.ndarray = field(repr=False, default=None)  # (T, F) bool: launched and not closed
    underlying_matrix: object = field(repr=False, default=None)  # the ReturnMatrix behind it (T, U)
    aum_close: np.ndarray = field(repr=False, default=None)  # (T, F) net assets at each session's close
    #: (method, source, observation date, gap), each (T, F), of ``aum_close``: what each close's
    #: figure rests on, as ``aum_method`` ... ``aum_gap`` say it of each start of day
    close_provenance: tuple = field(repr=False, default=None)
    closed_on: np.ndarray = field(repr=False, default=None)  # (F,) datetime64[D], NaT = still listed
    #: (T, F) the fund resets at this session's close (always for daily funds; weekly, monthly
    #: and quarterly funds on the last session of their period)
    resets: np.ndarray = field(repr=False, default=None)
    #: (T, F) the return the rebalance formula takes: the day's ``r`` for a daily fund, the
    #: underlying's compounded return since the last reset for another fund on its reset day
    rebalance_return: np.ndarray = field(repr=False, default=None)
    #: (T, F) the AUM the formula takes: start of day, or at the last reset (period start)
    rebalance_aum: np.ndarray = field(repr=False, default=None)
    period_start: np.ndarray = field(repr=False, default=None)  # (T, F) row of the period's first session
    #: (T, F) each fund's leverage in force on each session (its catalog history)
    leverage: np.ndarray = field(repr=False, default=None)
    #: (T, F) the fund's own return is the issuer's NAV return (else its closing price's)
    nav_return: np.ndarray = field(repr=False, default=None)
    #: (T, F) the day's creations as exposure, ``(S_t - S_{t-1}) * NAV_t * L`` (USD, + = buy) where
    #: the issuer's shares outstanding are known on both closes; NaN = unknown, never 0
    #: (:mod:`lev_flows.model.issuer_nav`)
    creation_usd: np.ndarray = field(repr=False, default=None)

    def row(self, day: dt.date | str | pd.Timestamp) -> int:
        ts = pd.Timestamp(day)
        if ts not in self.sessions:
            first, last = self.sessions[0].date(), self.sessions[-1].date()
            if not first <= ts.date() <= last:
                raise InputError(f"prices: {ts.date()} is outside the price table ({first} .. {last})")
            raise InputError(f"prices: {ts.date()} is not a session of the price table ({ts:%A})")
        return int(self.sessions.get_loc(ts))

    def last_complete_row(self) -> int:
        """The last session on which the funds' own prices are in the table (at least half as
        many funds with their own return as on a typical session): the default estimate date
        of scenarios, so that a table whose stocks run past its funds does not carry AUM on
        underlying returns alone."""
        own = (self.return_method == RET_OWN).sum(axis=1)
        typical = np.median(own[own > 0]) if (own > 0).any() else 0
        rows = np.flatnonzero(own >= 0.5 * typical) if typical else np.arange(len(own))
        return int(rows[-1]) if len(rows) else len(own) - 1

    def median_gap(self, row: int | None = None) -> np.ndarray | float:
        """AUM-weighted median of ``aum_gap`` (sessions), per row or for one row."""
        if row is not None:
            return weighted_median(self.aum_gap[row], self.aum_usd[row])
        return np.array([weighted_median(g, a) for g, a in zip(self.aum_gap, self.aum_usd)])

    def aum_day(self, row: int) -> "AumDay":
        return AumDay(
            aum_usd=self.aum_usd[row] if self.rebalance_aum is None else self.rebalance_aum[row],
            method=AUM_METHODS[self.aum_method[row]],
            source=AUM_SOURCES[self.aum_source[row]],
            obs_date=self.aum_obs_date[row],
            gap_sessions=self.aum_gap[row],
            median_gap=float(self.median_gap(row)),
            launched=self.launched[row],
            closed=None if self.closed_on is None else self.closed_on <= self.sessions[row].to_datetime64().astype("datetime64[D]"),
        )

    def day_returns(self, universe: Universe, row: int, *, source: str = "prices") -> DayReturns:
        """One session's per-fund underlying returns as :class:`DayReturns` (``per_fund``)."""
        c = compiled(universe)
        r = self.underlying_return[row] if self.rebalance_return is None else self.rebalance_return[row]
        codes = self.return_method[row]
        detail = self.return_detail[row]
        per_fund: dict[str, float] = {}
        methods: dict[str, str] = {}
        resets: set[str] = set()
        for i in np.flatnonzero(codes != RET_NONE):
            t = str(c.tickers[i])
            if np.isfinite(r[i]):
                per_fund[t] = float(r[i])
            if codes[i] == RET_OWN:
                lev = c.leverage[i] if self.leverage is None else self.leverage[row, i]
                own = "NAV (issuer)" if self.nav_return is not None and self.nav_return[row, i] else "own price"
                methods[t] = f"{own} ({t}) / {lev:g}"
            else:
                methods[t] = detail.get(str(c.fund_underlying_ids[i]), "")
        if self.resets is not None:
            for i in np.flatnonzero(~c.resets_daily & self.resets[row]):
                t = str(c.tickers[i])
                resets.add(t)
                start = self.sessions[self.period_start[row, i]].date()
                n = row - self.period_start[row, i] + 1
                what = f"{c.fund_resets[i]} reset: underlying return {start} .. {self.sessions[row].date()} ({n} session{'' if n == 1 else 's'})"
                methods[t] = what + (f" via {methods[t]}" if methods.get(t) else "") + ("" if t in per_fund else ", a day unknown")
        return DayReturns(
            values={}, date=self.sessions[row].date(), basis="close-to-close", source=source,
            methods={}, per_fund=per_fund, fund_methods=methods, resets=frozenset(resets),
        )


# ---- observations onto the session grid ---------------------------------------------------------


def _observation_grid(
    universe: Universe, grid: pd.DatetimeIndex, observations: pd.DataFrame | None
) -> tuple[np.ndarray, np.ndarray]:
    """(C, F) arrays: the observed close AUM (NaN elsewhere) and its source code."""
    c = compiled(universe)
    C, F = len(grid), len(c.tickers)
    value = np.full((C, F), np.nan)
    source = np.zeros((C, F), dtype=np.int8)
    pos = {t: i for i, t in enumerate(c.tickers)}
    known: set[str] = set()
    if observations is not None and len(observations):
        obs = observations[observations["ticker"].isin(pos)]
        known = set(obs["ticker"])
        d = pd.to_datetime(obs["date"]).to_numpy("datetime64[ns]")
        is_open = (obs["timing"] == "open").to_numpy() if "timing" in obs else np.zeros(len(obs), bool)
        g = grid.to_numpy("datetime64[ns]")
        at = np.where(is_open, np.searchsorted(g, d, side="left") - 1, np.searchsorted(g, d, side="right") - 1)
        inside = (at >= 0) & (d <= g[-1] + np.timedelta64(4, "D"))
        prec = obs["precedence"].to_numpy() if "precedence" in obs else np.zeros(len(obs))
        col = obs["ticker"].map(pos).to_numpy(dtype=np.int64)
        kind = obs["source_kind"].map(_SOURCE_CODE).fillna(0).to_numpy(dtype=np.int8)
        aum = obs["aum_usd"].to_numpy(dtype=float)
        # several observations on one cell (a weekend figure and Friday's): best precedence, latest date
        order = np.lexsort((d, prec))[::-1]
        order = order[inside[order]]
        cell = at[order] * F + col[order]
        _, first = np.unique(cell, return_index=True)
        k = order[first]
        value[at[k], col[k]] = aum[k]
        source[at[k], col[k]] = kind[k]
    # the catalog's own figure, for funds the store does not know (read as the start of aum_as_of)
    g = grid.to_numpy("datetime64[ns]")
    for i, f in enumerate(universe.funds):
        if f.ticker in known or f.aum_usd is None or f.aum_as_of is None:
            continue
        at = int(np.searchsorted(g, np.datetime64(f.aum_as_of, "ns"), side="left")) - 1
        if 0 <= at < C:
            value[at, i], source[at, i] = f.aum_usd, _SOURCE_CODE["catalog"]
    return value, source


#: how far back (calendar days) a short price table is extended to reach a fund's last observation
MAX_REACH_BACK_DAYS = 3 * 366


def reach_back(closes: pd.DataFrame, observations: pd.DataFrame | None, tickers: np.ndarray) -> pd.DataFrame:
    """``closes`` extended back (empty rows on NYSE sessions) to the latest observation before the
    table of every fund that has none inside it, so a short table (a live run fetches two days)
    still carries each fund's AUM from its last observation, with the gap counted in sessions.
    A table that already holds an observation of every such fund is returned as it is."""
    if observations is None or observations.empty:
        return closes
    first, last = closes.index[0], closes.index[-1]
    obs = observations[observations["ticker"].isin(set(map(str, tickers)))]
    dates = pd.to_datetime(obs["date"])
    inside = set(obs.loc[(dates >= first) & (dates <= last), "ticker"])
    before = dates[(dates < first) & ~obs["ticker"].isin(inside)]
    if before.empty:
        return closes
    start = max(before.groupby(obs.loc[before.index, "ticker"]).max().min(), first - pd.Timedelta(days=MAX_REACH_BACK_DAYS))
    from lev_flows.inputs.calendar import on_sessions

    return on_sessions(closes, start)


def _launch_bounds(universe: Universe, grid: pd.DatetimeIndex, fund_closes: np.ndarray, data_row: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """First and one-past-last close index (C) on which each fund has net assets. A fund with
    no inception date counts as launched at its first price only when that price comes after
    the first row of real data (``data_row``; the rows before it were added without prices)."""
    g = grid.to_numpy("datetime64[ns]")
    first = np.zeros(len(universe.funds), dtype=np.int64)
    end = np.full(len(universe.funds), len(grid), dtype=np.int64)
    has_price = np.isfinite(fund_closes)
    first_price = np.where(has_price.any(axis=0), has_price.argmax(axis=0), len(grid))
    for i, f in enumerate(universe.funds):
        if f.inception_date is not None:
            first[i] = np.searchsorted(g, np.datetime64(f.inception_date, "ns"), side="left")
        elif data_row < first_price[i] < len(grid):  # prices start after the table does: launched then
            first[i] = first_price[i]
        if f.closed_on is not None:  # the first day it no longer trades (no close from then on)
            end[i] = np.searchsorted(g, np.datetime64(f.closed_on, "ns"), side="left")
    return first, end


def carry_aum(
    observed: np.ndarray, log_nav: np.ndarray, leverage: np.ndarray, elasticity: dict[str, float] | np.ndarray | None = None,
    launch: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Net assets at every close (C, F) from sparse observations (see the module doc).

    ``observed`` (C, F): AUM at observed closes, NaN elsewhere; ``log_nav`` (C, F): the log
    NAV path; ``leverage`` (F,); ``elasticity``: the carry exponent per fund (F,), or by direction (default
    ``CARRY_ELASTICITY``; ``{"long": 1, "inverse": 1}`` holds shares constant, ``0`` dollars).
    Returns ``(value, method code, index of the observation used,
    gap in sessions)``; cells with no observation on either side are NaN / ``AUM_NONE``.
    """
    C, F = observed.shape
    idx = np.arange(C)[:, None].repeat(F, axis=1).astype(float)
    has = np.isfinite(observed) & (observed > 0)
    at = np.where(has, idx, np.nan)
    prev = pd.DataFrame(at).ffill().to_numpy()
    nxt = pd.DataFrame(at).bfill().to_numpy()
    cols = np.arange(F)[None, :].repeat(C, axis=0)
    p_ok, n_ok = np.isfinite(prev), np.isfinite(nxt)
    pi = np.where(p_ok, prev, 0).astype(np.int64)
    ni = np.where(n_ok, nxt, 0).astype(np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_obs = np.log(np.where(has, observed, np.nan))
    lo_p, lo_n = log_obs[pi, cols], log_obs[ni, cols]
    lp_p, lp_n = log_nav[pi, cols], log_nav[ni, cols]
    long = (leverage > 0)[None, :]
    if isinstance(elasticity, np.ndarray):
        beta = elasticity[None, :]
    else:
        el = elasticity or CARRY_ELASTICITY
        beta = np.where(long, el["long"], el["inverse"])
    # between two observations
    span = np.where(n_ok & p_ok, ni - pi, 1)
    w = np.where(span > 0, (idx - pi) / np.maximum(span, 1), 0.0)
    rho = lo_n - lo_p - (lp_n - lp_p)
    between = lo_p + (log_nav - lp_p) + w * rho
    after = lo_p + beta * (log_nav - lp_p)
    before = lo_n - beta * (lp_n - log_nav)
    young = np.zeros((C, F), dtype=bool)
    if launch is not None:  # before the first observation of a fund launched inside the grid
        age = idx - launch[None, :] + 1
        young = (launch[None, :] >= 0) & (age >= 1) & n_ok & ~p_ok & ~has
        with np.errstate(divide="ignore", invalid="ignore"):
            ramp = LAUNCH_GROWTH * (np.log(np.maximum(age, 1)) - np.log(np.maximum(ni - launch[None, :] + 1, 1)))
            cap = np.log(LAUNCH_CAP_USD) + LAUNCH_GROWTH * np.log(np.maximum(age, 1))
        before = np.where(young, np.minimum(before + ramp, cap), before)
    log_v = np.where(p_ok & n_ok, between, np.where(p_ok, after, np.where(n_ok, before, np.nan)))
    method = np.select(
        [has, p_ok & n_ok, young, (p_ok | n_ok) & long, p_ok | n_ok],
        [AUM_OBSERVED, AUM_INTERPOLATED, AUM_LAUNCH, AUM_CARRIED_LONG, AUM_CARRIED_INVERSE],
        default=AUM_NONE,
    ).astype(np.int8)
    gap_p = np.where(p_ok, idx - pi, np.inf)
    gap_n = np.where(n_ok, ni - idx, np.inf)
    use_prev = gap_p <= gap_n
    used = np.where(use_prev, pi, ni)
    gap = np.where(p_ok | n_ok, np.minimum(gap_p, gap_n), -1).astype(np.int64)
    return np.where(has, observed, np.exp(log_v)), method, used, gap


def reset_schedule(
    universe: Universe, sessions: pd.DatetimeIndex, r: np.ndarray, aum: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Reset days, period returns and period-start AUM for funds that do not reset daily.

    A fund on a weekly, monthly or quarterly schedule holds its exposure between resets, so on
    its reset close it trades ``A0 * L * (L - 1) * R`` with ``A0`` its AUM at the period's start
    (the previous reset) and ``R = prod(1 + r_s) - 1`` the underlying's return over the period's
    sessions; on other sessions it trades nothing. A period that began before the table, or with
    a day of unknown return, has no ``R`` (NaN, never 0). Returns ``(resets, R, A0, start)``,
    each (T, F); daily funds keep ``r`` and start-of-day AUM.
    """
    from lev_flows.inputs.calendar import RESET_PERIODS, period_end_sessions

    T, F = r.shape
    resets = np.ones((T, F), dtype=bool)
    rebalance_r, rebalance_aum = r.copy(), aum.copy()
    start_row = np.tile(np.arange(T)[:, None], (1, F))
    kinds = np.array([f.reset for f in universe.funds], dtype=object)
    rows = np.arange(T)
    for kind in RESET_PERIODS:
        cols = np.flatnonzero(kinds == kind)
        if not len(cols) or not T:
            continue
        ends, whole_first = period_end_sessions(sessions, kind)
        prev = np.r_[-1, np.maximum.accumulate(np.where(ends, rows, -1))[:-1]]  # last reset before t
        start = prev + 1
        known = (prev >= 0) | whole_first
        x = r[:, cols]
        cum = np.vstack([np.zeros((1, len(cols))), np.cumsum(np.log1p(np.where(np.isfinite(x), x, 0.0)), axis=0)])
        gaps = np.vstack([np.zeros((1, len(cols))), np.cumsum(~np.isfinite(x), axis=0)])
        period_r = np.expm1(cum[rows + 1] - cum[start])
        whole = (gaps[rows + 1] - gaps[start] == 0) & known[:, None]
        resets[:, cols] = ends[:, None]
        rebalance_r[:, cols] = np.where(ends[:, None], np.where(whole, period_r, np.nan), x)
        rebalance_aum[:, cols] = np.where(ends[:, None], aum[start][:, cols], aum[:, cols])
        start_row[:, cols] = start[:, None]
    return resets, rebalance_r, rebalance_aum, start_row


def _peer_returns(c, price_r: np.ndarray, wanted: np.ndarray | None = None, min_peers: int = 3) -> np.ndarray:
    """Each daily fund's peers' move (T, F): the median of ``price_r`` (a fund's own change / L)
    over the daily funds on its underlying with one that session, where at least ``min_peers``
    have one (one fund off by a split cannot move a median of three); NaN elsewhere. ``wanted``
    (U,) bool limits the work to those underlyings (the others have a direct reference)."""
    peer = np.full(price_r.shape, np.nan)
    daily = np.flatnonzero(c.resets_daily)
    groups: dict[int, list[int]] = {}
    for f in daily:
        groups.setdefault(int(c.fund_underlying[f]), []).append(int(f))
    for u, members in groups.items():
        if len(members) < min_peers or (wanted is not None and not wanted[u]):
            continue
        block = np.sort(price_r[:, members], axis=1)  # NaN sort last
        n = np.isfinite(block).sum(axis=1)
        lo, hi = np.maximum(n - 1, 0) // 2, n // 2
        rows = np.arange(len(block))
        med = 0.5 * (block[rows, lo] + block[rows, np.minimum(hi, block.shape[1] - 1)])
        peer[:, members] = np.where(n >= min_peers, med, np.nan)[:, None]
    return peer


def _fund_returns(c, m, day_r: pd.DataFrame, leverage: np.ndarray,
                  nav_r: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    """Each fund's underlying return per session (T, F): its own return / L for a daily fund, the
    issuer's NAV return where ``nav_r`` (T, F) has one, else its closing price's change (closing
    prices drift from NAV: 0.98-0.99x on the ProShares funds), unless it strays more than
    FUND_MISMATCH from a reference (an unadjusted split, a bad print); else the underlying
    ladder's. The reference is the underlying's own price, tracking ETF or composition where the
    ladder has one, else the median of the daily funds on the underlying (:func:`_peer_returns`,
    three or more): a fund whose table halves on a split is not booked at its jump, and when the
    ladder's return came from that very fund (the largest sibling), the peers' median replaces
    it. Returns ``r``, the code of where each came from, the fund's own cleaned return ``R``
    (NaN where not usable), where ``R`` is the issuer's NAV return (T, F bool), and the closing
    price changes refused with their references (T, F; NaN where none was refused)."""
    code_und = m.method[:, c.fund_underlying]  # (T, F)
    price = clean_fund_returns(day_r.reindex(columns=c.tickers).to_numpy(dtype=float))
    has_direct = np.isin(m.method, (METHOD_PRICE, METHOD_ETF, METHOD_COMPOSITION))  # (T, U)
    with np.errstate(invalid="ignore", divide="ignore"):
        peer = _peer_returns(c, price / leverage, wanted=~has_direct.all(axis=0))
    direct = np.where(has_direct[:, c.fund_underlying], m.values[:, c.fund_underlying], np.nan)
    reference = np.where(np.isfinite(direct), direct, peer)

    def usable(x):  # an unadjusted split or a bad print is not the fund's move
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.isfinite(x) & ~(np.isfinite(reference) & (np.abs(x / leverage - reference) > FUND_MISMATCH))

    price_ok = usable(price)
    # the ladder's sibling fund (the largest on the underlying) is itself off its peers: the
    # underlying's return becomes the peers' median (fund_used -2 says so in the method text)
    used = np.maximum(m.fund_used, 0)  # (T, U)
    rows = np.arange(len(price))[:, None]
    peer_u = peer[rows, used]
    bad = (m.method == METHOD_FUND) & (m.fund_used >= 0) & ~price_ok[rows, used] & np.isfinite(peer_u)
    m.values[bad], m.fund_used[bad] = peer_u[bad], FUND_MEDIAN
    r_und = m.values[:, c.fund_underlying]
    from_nav = usable(nav_r) if nav_r is not None else np.zeros(price.shape, dtype=bool)
    own = np.where(from_nav, nav_r, np.where(price_ok, price, np.nan))
    with np.errstate(invalid="ignore", divide="ignore"):
        own_r = own / leverage  # the leverage in force on each session (T, F)
    use_own = np.isfinite(own_r) & c.resets_daily[None, :]
    r = np.where(use_own, own_r, r_und)
    lookup = np.zeros(max(_FROM_UNDERLYING) + 1, dtype=np.int8)
    for k, v in _FROM_UNDERLYING.items():
        lookup[k] = v
    ret_code = np.where(use_own, RET_OWN, lookup[code_und])
    ret_code = np.where(np.isfinite(r), ret_code, RET_NONE).astype(np.int8)
    refused = np.isfinite(price) & ~price_ok & ~from_nav & c.resets_daily[None, :]
    return r, ret_code, own, from_nav, np.where(refused, price, np.nan), np.where(refused, reference, np.nan)


def _start_of_day(alive, end, value, method, used, gap, obs_source, grid):
    """The close grid's carried AUM turned into each session's start-of-day AUM: the start of
    session t (row t of the returns, close index t + 1) is close index t, and a fund trades on
    session t only if it still exists then (t + 1 < end). Returns who trades, the AUM, its method,
    source, observation date and gap per session (T, F), the close grid's values, and the same
    provenance of each session's close (close index t + 1: method, source, observation date, gap)."""
    close_idx = np.arange(len(grid))[:, None]
    trading = alive[:-1] & (close_idx[1:] < end[None, :])
    value = np.where(np.vstack([trading, alive[-1:]]), value, np.nan)
    method = np.where(np.vstack([trading, alive[-1:]]), method, AUM_NONE)
    T, F = trading.shape
    cols = np.arange(F)[None, :].repeat(T, axis=0)
    used_t = used[:-1]
    known = method[:-1] != AUM_NONE
    src = np.where(known, obs_source[used_t, cols], 0).astype(np.int8)
    obs_dates = np.where(known, grid.to_numpy("datetime64[D]")[used_t], np.datetime64("NaT"))
    gap_t = np.where(known, gap[:-1], -1)
    used_c, known_c = used[1:], method[1:] != AUM_NONE
    at_close = (method[1:].astype(np.int8), np.where(known_c, obs_source[used_c, cols], 0).astype(np.int8),
                np.where(known_c, grid.to_numpy("datetime64[D]")[used_c], np.datetime64("NaT")),
                np.where(known_c, gap[1:], -1))
    return trading, value[:-1], method, src, obs_dates, gap_t, value, at_close


def point_in_time(
    universe: Universe,
    closes: pd.DataFrame,
    observations: pd.DataFrame | None = None,
    *,
    min_weight: float = 0.5,
    elasticity: dict[str, float] | None = None,
) -> PointInTime:
    """AUM and returns for every session of ``closes`` after its first (see the module doc).

    ``closes``: a wide close table (sessions x tickers) with stocks, index levels, tracking ETFs
    and the funds' own prices. ``observations``: the store's best observations
    (:func:`lev_flows.inputs.store.load_best_observations`); None uses the catalog AUM alone. Their
    issuer rows' ``nav`` and ``shares_outstanding`` (where the frame has those columns) give the
    funds' NAV returns and each day's creations (``creation_usd``). The result depends only on
    the whole table, never on which rows a caller asks for.
    """
    c = compiled(universe)
    if len(closes) < 2:
        raise InputError("prices: fewer than two sessions; no return can be computed")
    data_start = closes.index[0]
    from lev_flows.inputs.calendar import in_range, on_sessions

    if in_range(closes.index[0].date()) and in_range(closes.index[-1].date()):
        closes = on_sessions(closes)  # a session missing from the table is a gap, never one day's return
    closes = reach_back(closes, observations, c.tickers)
    grid = pd.DatetimeIndex(closes.index)
    day_r = daily_returns(closes)  # (T = C - 1, X)
    T, F = len(day_r), len(c.tickers)

    m = underlying_return_matrix(universe, day_r, fund_returns=day_r, min_weight=min_weight)
    leverage = universe.leverage_matrix(day_r.index)  # (T, F): the facts in force on each session
    nav_close, shares_close = nav_grid(c.tickers, grid, nav_observations(observations))  # (C, F) issuer NAV, shares
    r, ret_code, own, from_nav, refused, refused_ref = _fund_returns(c, m, day_r, leverage, nav_returns(nav_close))
    fund_closes = closes.reindex(columns=c.tickers).to_numpy(dtype=float)

    # the NAV path on the close grid: own return, else L * r, else flat
    growth = np.where(np.isfinite(own), own, leverage * np.nan_to_num(r, nan=0.0))
    growth = np.clip(growth, -0.99, None)
    log_nav = np.vstack([np.zeros((1, F)), np.cumsum(np.log1p(growth), axis=0)])  # (C, F)

    observed, obs_source = _observation_grid(universe, grid, observations)
    # rows added by reach_back have no prices by construction: not a sign the fund had not launched
    first, end = _launch_bounds(universe, grid, fund_closes, int(grid.searchsorted(data_start)))
    close_idx = np.arange(len(grid))[:, None]
    alive = (close_idx >= first[None, :]) & (close_idx < end[None, :])
    observed = np.where(alive, observed, np.nan)
    if elasticity is None:  # by kind of product and fund, fitted on the shared data (model.carry)
        from lev_flows.inputs.packaged import carry_elasticity_table
        from lev_flows.model.carry import fund_elasticity

        elasticity = fund_elasticity(universe, carry_elasticity_table())
    inside = first > int(grid.searchsorted(data_start))  # launched inside the table (inception or first price)
    inside &= np.array([f.continues is None for f in universe.funds])  # a successor did not start small
    value, method, used, gap = carry_aum(observed, log_nav, c.leverage, elasticity, np.where(inside, first, -1))
    value = np.where(alive, value, np.nan)
    method = np.where(alive, method, AUM_NONE)

    trading, aum, method, src, obs_dates, gap_t, value, at_close = _start_of_day(alive, end, value, method, used, gap, obs_source, grid)
    creations = creation_usd(shares_close, nav_close, leverage, from_nav & trading)  # (T, F), NaN = unknown
    detail = [_return_detail(universe, m, t) for t in range(T)]
    resets, rebalance_r, rebalance_aum, period_start = reset_schedule(universe, pd.DatetimeIndex(day_r.index), r, aum)
    return PointInTime(
        sessions=pd.DatetimeIndex(day_r.index),
        tickers=c.tickers,
        aum_usd=aum,
        aum_method=method[:-1].astype(np.int8),
        aum_source=src,
        aum_obs_date=obs_dates,
        aum_gap=gap_t,
        underlying_return=r,
        return_method=ret_code,
        return_detail=detail,
        fund_return=own,
        refused_return=refused,
        refused_reference=refused_ref,
        launched=trading,
        underlying_matrix=m,
        aum_close=value[1:],
        close_provenance=at_close,
        closed_on=np.array([np.datetime64(f.closed_on or "NaT", "D") for f in universe.funds]),
        resets=resets,
        rebalance_return=rebalance_r,
        rebalance_aum=rebalance_aum,
        period_start=period_start,
        leverage=leverage,
        nav_return=from_nav,
        creation_usd=creations,
    )


def universe_with_aum(universe: Universe, aum_usd: np.ndarray, as_of: dt.date) -> Universe:
    """A copy of ``universe`` whose funds carry ``aum_usd`` (F,) as of ``as_of`` (NaN = none):
    for scenarios (ladder, what-if, Monte Carlo) on the point-in-time AUM."""
    funds = [
        f.model_copy(update={"aum_usd": None if not np.isfinite(a) else float(a), "aum_as_of": None if not np.isfinite(a) else as_of})
        for f, a in zip(universe.funds, np.asarray(aum_usd, dtype=float))
    ]
    return universe.with_funds(funds)


class _LazyDetail(dict):
    """Method text per underlying for one row, computed on first access (history has 660 rows
    and rarely needs the text)."""

    def __init__(self, universe: Universe, m, row: int):
        super().__init__()
        self._args = (universe, m, row)
        self._done = False

    def _fill(self) -> None:
        if self._done:
            return
        universe, m, row = self._args
        c = compiled(universe)
        for j in np.flatnonzero(m.method[row] != METHOD_NONE):
            text = method_label(universe, m, row, j, fund_label="sibling fund {ticker} change / {leverage}")
            dict.__setitem__(self, str(c.underlying_ids[j]), text)
        self._done = True

    def get(self, key, default=None):
        self._fill()
        return dict.get(self, key, default)

    def __getitem__(self, key):
        self._fill()
        return dict.__getitem__(self, key)


def _return_detail(universe: Universe, m, row: int) -> dict[str, str]:
    return _LazyDetail(universe, m, row)


__all__ = [
    "PointInTime",
    "AumDay",
    "point_in_time",
    "carry_aum",
    "universe_with_aum",
    "weighted_median",
    "AUM_METHODS",
    "AUM_SOURCES",
    "FUND_MISMATCH",
    "MAX_MEDIAN_GAP",
]
