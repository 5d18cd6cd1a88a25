"""The day's underlying returns from close prices (and, as a last resort, fund changes).

For each underlying, in order of preference:

1. ``price``: its own close-to-close change, when the underlying (a stock, or an index such as
   ``^GSPC`` for SPX) is a column of the price table;
2. ``composition``: the weighted change of its constituents, ``sum_s w_s r_s / sum_s w_s`` over
   the constituents that have prices, when they cover at least ``min_weight`` of it;
3. ``fund change / L``: a daily fund's own reported change divided by its leverage (the
   largest fund on that underlying), when a snapshot of fund changes is given.

Whatever is left has no return and shows up in the estimate's coverage, never as zero.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lev_flows.errors import InputError
from lev_flows.inputs.catalog import Universe
from lev_flows.inputs.days import DayReturns
from lev_flows.inputs.sources.underlyings import INDEX_PRICE_COLUMNS, TRACKING_ETFS
from lev_flows.model.estimate import compiled
from lev_flows.model.lookthrough import composition_matrix


def _day_rows(closes: pd.DataFrame, date: dt.date) -> tuple[pd.Series, pd.Series]:
    ts = pd.Timestamp(date)
    if ts not in closes.index:
        first, last = closes.index[0].date(), closes.index[-1].date()
        if not (first <= date <= last):
            raise InputError(f"prices: {date} is outside the price table ({first} .. {last})")
        raise InputError(f"prices: {date} is not a trading day in the price table ({date:%A})")
    pos = closes.index.get_loc(ts)
    if pos == 0:
        raise InputError(f"prices: {date} is the first day of the table; no previous close")
    check_previous_session(closes.index, date, "prices")
    return closes.iloc[pos], closes.iloc[pos - 1]


def check_previous_session(index: pd.DatetimeIndex, day: dt.date, where: str) -> None:
    """The session before ``day`` must be a row of a price table that has rows before it: a
    change across a gap is not one day's return."""
    from lev_flows.inputs.calendar import in_range, previous_session

    if not in_range(day) or len(index) == 0 or pd.Timestamp(day) <= index[0]:
        return
    prev = previous_session(day)
    if pd.Timestamp(prev) not in index:
        before = index[index < pd.Timestamp(day)]
        last = f"; its row before {day} is {before[-1].date()}" if len(before) else ""
        raise InputError(f"{where}: the session before {day} ({prev}) is missing from the price table{last}; "
                         "a change across a gap is not one day's return")


#: how each underlying's return was obtained, in :func:`underlying_return_matrix`
METHOD_NONE, METHOD_PRICE, METHOD_COMPOSITION, METHOD_FUND, METHOD_ETF = 0, 1, 2, 3, 4
#: ``ReturnMatrix.fund_used`` of an underlying whose return is the median of its daily funds'
#: changes / L: the point in time puts it there when the largest fund's own change strays from
#: that median (an unadjusted split: :func:`lev_flows.model.pointintime._fund_returns`)
FUND_MEDIAN = -2
FUND_MEDIAN_LABEL = "median of its daily funds' changes / L (the largest fund's change strayed from it)"


@dataclass(frozen=True)
class ReturnMatrix:
    """Underlying returns for many days: ``values`` (T, U) fractions, NaN where unknown.

    ``method`` (T, U) holds ``METHOD_*`` codes, ``priced_weight`` (T, U) the share of a
    composition's weight with prices, ``fund_used`` (T, U) the index into ``universe.funds`` of
    the fund whose change / L was used (-1 otherwise).
    """

    dates: pd.DatetimeIndex
    underlying_ids: np.ndarray
    values: np.ndarray
    method: np.ndarray
    priced_weight: np.ndarray
    fund_used: np.ndarray

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.values, index=self.dates, columns=self.underlying_ids)


def clean_fund_returns(fund_r: np.ndarray) -> np.ndarray:
    """A fund's own daily returns with data defects blanked (NaN): changes outside
    (-100 %, +100 %] (unadjusted splits) and exact zeros (a repeated, stale close)."""
    return np.where((fund_r > -1.0) & (fund_r <= 1.0) & (fund_r != 0.0), fund_r, np.nan)


def underlying_return_matrix(
    universe: Universe,
    day_returns: pd.DataFrame,
    *,
    fund_returns: pd.DataFrame | None = None,
    min_weight: float = 0.5,
) -> ReturnMatrix:
    """Every underlying's return on every row of ``day_returns`` (T days x tickers, fractions).

    In order of directness: the underlying's own price column (a stock, or an index level such
    as ``^GSPC``); its declared tracking ETF (``TRACKING_ETFS``: QQQ for the Nasdaq-100, SOXX for
    the semiconductor index ...); the change of the largest daily fund on it with a value in
    ``fund_returns`` divided by its leverage (changes outside -100 % .. +100 %, such as
    unadjusted reverse splits, and stale repeats are skipped as data defects); last, the
    composition ``sum_s w_s r_s / sum_s w_s`` when the priced weight is at least
    ``min_weight``. All steps are array operations over the T rows at once.
    """
    c = compiled(universe)
    T, U = len(day_returns), c.n_underlyings
    values = np.full((T, U), np.nan)
    method = np.zeros((T, U), dtype=np.int8)

    def fill(candidate: np.ndarray, code: int) -> None:
        use = (method == METHOD_NONE) & np.isfinite(candidate)
        values[use], method[use] = candidate[use], code

    # 1. own price: a single stock by its ticker, an index through its index symbol (other ids
    #    are names of ours, not tickers: "GOLD" or "ETH" columns are other securities)
    cols = np.array(
        [INDEX_PRICE_COLUMNS.get(u, u if single else "") for u, single in zip(c.underlying_ids, c.underlying_is_single_stock)],
        dtype=object,
    )
    fill(day_returns.reindex(columns=cols).to_numpy(dtype=float), METHOD_PRICE)
    # 2. the declared tracking ETF
    etfs = np.array([TRACKING_ETFS.get(u, "") for u in c.underlying_ids], dtype=object)
    fill(day_returns.reindex(columns=etfs).to_numpy(dtype=float), METHOD_ETF)

    # 3. the largest daily fund with a change that day, change / L
    fund_used = np.full((T, U), -1, dtype=np.int64)
    if fund_returns is not None and len(fund_returns.columns):
        fund_r = clean_fund_returns(fund_returns.reindex(index=day_returns.index, columns=c.tickers).to_numpy(dtype=float))
        cand = np.flatnonzero(c.resets_daily & np.isfinite(fund_r).any(axis=0))
        if len(cand):
            # candidates grouped by underlying, largest AUM first within a group
            cand = cand[np.lexsort((-np.nan_to_num(c.aum_usd[cand]), c.fund_underlying[cand]))]
            group = c.fund_underlying[cand]
            starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
            finite = np.isfinite(fund_r[:, cand])
            rank = np.where(finite, np.arange(len(cand)), len(cand))
            first = np.minimum.reduceat(rank, starts, axis=1)  # (T, groups)
            found = first < len(cand)
            chosen = cand[np.minimum(first, len(cand) - 1)]
            und = group[starts]
            r = fund_r[np.arange(T)[:, None], chosen] / c.leverage[chosen]
            fill_ = found & (method[:, und] == METHOD_NONE)
            rows, k = np.nonzero(fill_)
            values[rows, und[k]] = r[rows, k]
            method[rows, und[k]] = METHOD_FUND
            fund_used[rows, und[k]] = chosen[rows, k]

    # 4. compositions: two products with the (U, S) weight matrix
    stock_r = day_returns.reindex(columns=c.stock_tickers).to_numpy(dtype=float)
    priced = np.isfinite(stock_r)
    weights = composition_matrix(c)
    num = np.nan_to_num(stock_r) @ weights.T
    den = priced.astype(float) @ weights.T
    use = (method == METHOD_NONE) & c.has_composition & (den >= min_weight)
    with np.errstate(invalid="ignore", divide="ignore"):
        values[use] = (num / den)[use]
    method[use] = METHOD_COMPOSITION
    return ReturnMatrix(pd.DatetimeIndex(day_returns.index), c.underlying_ids, values, method, den, fund_used)


def daily_returns(closes: pd.DataFrame) -> pd.DataFrame:
    """Close-to-close changes, NaN where either close is missing (never forward-filled)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return closes.pct_change(fill_method=None).replace([np.inf, -np.inf], np.nan).iloc[1:]


def returns_from_prices(
    universe: Universe,
    closes: pd.DataFrame,
    date: dt.date | str,
    *,
    fund_changes: dict[str, float] | None = None,
    fund_changes_label: str = "reported change",
    min_weight: float = 0.5,
    source: str = "prices",
) -> DayReturns:
    """Close-to-close returns of every underlying in ``universe`` on ``date`` (see module doc).

    ``fund_changes`` maps fund tickers to their own return that day (fractions), used only for
    underlyings that neither prices nor compositions can cover.
    """
    if isinstance(date, str):
        date = dt.date.fromisoformat(date)
    today, prev = _day_rows(closes, date)
    with np.errstate(divide="ignore", invalid="ignore"):
        day = (today / prev - 1.0).replace([np.inf, -np.inf], np.nan)
    frame = day.to_frame(name=pd.Timestamp(date)).T  # the day's own date: the arithmetic drops the rows' names
    funds = pd.DataFrame([fund_changes], index=frame.index) if fund_changes else None
    m = underlying_return_matrix(universe, frame, fund_returns=funds, min_weight=min_weight)
    return day_returns_from_matrix(universe, m, 0, source=source, fund_label=fund_changes_label)


def day_returns_from_matrix(
    universe: Universe, m: ReturnMatrix, row: int, *, source: str, fund_label: str = "change"
) -> DayReturns:
    """One row of a :class:`ReturnMatrix` as :class:`DayReturns`, with a method per underlying."""
    c = compiled(universe)
    values: dict[str, float] = {}
    methods: dict[str, str] = {}
    for j in np.flatnonzero(m.method[row] != METHOD_NONE):
        uid = str(c.underlying_ids[j])
        values[uid] = float(m.values[row, j])
        methods[uid] = method_label(universe, m, row, j, fund_label=f"{{ticker}} {fund_label} / {{leverage}}")
    return DayReturns(values=values, date=m.dates[row].date(), basis="close-to-close", source=source, methods=methods)


def method_label(universe: Universe, m: ReturnMatrix, row: int, j: int, *, fund_label: str) -> str:
    """Where underlying ``j``'s return on ``row`` of ``m`` came from, in words: its price, its
    tracking ETF, its composition (:func:`composition_label`), its daily funds' median, or a
    fund's change, written by ``fund_label`` (a format of ``ticker`` and ``leverage``)."""
    c = compiled(universe)
    uid, code = str(c.underlying_ids[j]), m.method[row, j]
    if code == METHOD_PRICE:
        return f"price ({INDEX_PRICE_COLUMNS.get(uid, uid)})"
    if code == METHOD_ETF:
        return f"tracking ETF ({TRACKING_ETFS[uid]})"
    if code == METHOD_COMPOSITION:
        return composition_label(universe, uid, m.priced_weight[row, j], m.dates[row].date())
    if m.fund_used[row, j] == FUND_MEDIAN:
        return FUND_MEDIAN_LABEL
    i = m.fund_used[row, j]
    return fund_label.format(ticker=c.tickers[i], leverage=f"{c.leverage[i]:g}")


def composition_label(universe: Universe, underlying: str, priced_weight: float, day: dt.date) -> str:
    """``composition (82% of weight priced, as of 2026-08-03, look-ahead)``: the composition's
    date is shown, and one dated after the day it prices is marked as look-ahead."""
    comp = universe.composition_of(underlying)
    as_of = comp.as_of if comp is not None else None
    when = f", as of {as_of}" if as_of is not None and comp.source != "single stock" else ""
    ahead = ", look-ahead" if as_of is not None and comp.source != "single stock" and as_of > day else ""
    return f"composition ({priced_weight:.0%} of weight priced{when}{ahead})"


