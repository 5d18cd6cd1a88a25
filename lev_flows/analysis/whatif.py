"""Analyses on top of the estimate: the sensitivity ladder, what-if moves and liquidity pressure.

All amounts are USD (positive = buy at the close); moves and returns are fractions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from lev_flows.errors import InputError
from lev_flows.inputs.catalog import Universe
from lev_flows.inputs.days import AumDay, DayReturns
from lev_flows.model.estimate import FlowEstimate, compiled, estimate
from lev_flows.model.formula import scheduled_rebalance_usd

DEFAULT_MOVES = tuple(np.round(np.arange(-0.10, 0.1001, 0.01), 4))


def sensitivity_usd(universe: Universe, asset_classes: Sequence[str] = ("equity",)) -> pd.DataFrame:
    """Rebalance per unit move of the underlying, by index bucket: ``sum A * L * (L - 1)``.

    Over daily-reset funds with AUM whose underlying is in ``asset_classes``. Multiply by a
    move (0.01 = 1 %) to get the flow; column ``usd_per_1pct`` is that for a 1 % move.
    """
    c = compiled(universe)
    und_ok = np.isin(c.underlying_asset_class.astype(str), list(asset_classes))
    unit_move = und_ok[c.fund_underlying].astype(float)  # r = 1 where counted, 0 elsewhere
    per_fund = scheduled_rebalance_usd(np.nan_to_num(c.aum_usd), c.leverage, unit_move, c.resets_daily)
    bucket = c.underlying_bucket[c.fund_underlying].astype(str)
    df = pd.DataFrame({"bucket": bucket, "usd_per_unit": per_fund, "aum_usd": np.nan_to_num(c.aum_usd) * und_ok[c.fund_underlying]})
    out = df.groupby("bucket", as_index=False).sum()
    out = out[out["usd_per_unit"] != 0]
    out["usd_per_1pct"] = out["usd_per_unit"] * 0.01
    return out.sort_values("usd_per_1pct", ascending=False, key=np.abs).reset_index(drop=True)


#: sessions of the beta regression for the beta-weighted sensitivity (one trading year)
BETA_WINDOW = 250


@dataclass(frozen=True)
class MarketBetas:
    """Each underlying's beta to the market (``beta``, NaN where the window lacks days) over the
    ``window`` sessions ``start .. end``, regressed on ``market``'s daily returns."""

    beta: np.ndarray  # (U,)
    days: np.ndarray  # (U,) common days used
    start: str
    end: str
    market: str
    window: int


def market_betas(
    universe: Universe, closes: pd.DataFrame, *, end=None, window: int = BETA_WINDOW, market: str = "SPX",
    min_share: float = 0.8,
) -> MarketBetas:
    """``beta_u = cov(r_u, r_m) / var(r_m)`` of every underlying on the market (the S&P 500:
    its index level), over the ``window`` sessions up to ``end`` (nothing after it). Underlying
    returns as for the Monte Carlo: own price, tracking ETF, composition, else the largest
    fund's change / L. An underlying with fewer than ``min_share * window`` common days has no
    beta (NaN)."""
    from lev_flows.analysis.verify import regression_stats
    from lev_flows.model.returns import daily_returns, underlying_return_matrix

    table = closes if end is None else closes.loc[: pd.Timestamp(end)]
    win = table.iloc[-(window + 1):]
    if len(win) < 21:
        raise InputError(f"market beta: only {len(win) - 1} session{'' if len(win) == 2 else 's'} before {end or 'the end of the table'}")
    day_r = daily_returns(win)
    m = underlying_return_matrix(universe, day_r, fund_returns=day_r)
    ids = list(m.underlying_ids)
    if market not in ids:
        raise InputError(f"market beta: {market} is not an underlying of the catalog")
    x = m.values[:, ids.index(market)]
    if np.isfinite(x).sum() < 21:
        raise InputError(f"market beta: no {market} returns in the window")
    stats = regression_stats(m.values, np.repeat(x[:, None], m.values.shape[1], axis=1), int(min_share * len(day_r)))
    return MarketBetas(stats["beta"], stats["n"], day_r.index[0].date().isoformat(), day_r.index[-1].date().isoformat(),
                       market, len(day_r))


def beta_sensitivity(universe: Universe, betas: MarketBetas, asset_classes: Sequence[str] = ("equity",)) -> pd.DataFrame:
    """Rebalance per 1 % move of the market, by index bucket, each underlying moved by its beta:
    ``usd_per_1pct_beta = 0.01 * sum_u beta_u * s_u`` beside the uniform ``0.01 * sum_u s_u``
    (``s_u = sum A L (L - 1)`` over daily funds on ``u``, USD). ``beta_coverage`` is the share of
    ``sum |s_u|`` whose underlying has a beta; the others are left out of the beta figure (never
    moved by an assumed beta of 1)."""
    c = compiled(universe)
    und_ok = np.isin(c.underlying_asset_class.astype(str), list(asset_classes))
    per_fund = scheduled_rebalance_usd(np.nan_to_num(c.aum_usd), c.leverage, und_ok[c.fund_underlying].astype(float), c.resets_daily)
    s = np.bincount(c.fund_underlying, weights=per_fund, minlength=c.n_underlyings)
    has = np.isfinite(betas.beta)
    frame = pd.DataFrame({
        "bucket": c.underlying_bucket.astype(str),
        "usd_per_1pct": s * 0.01,
        "usd_per_1pct_beta": np.where(has, s * np.nan_to_num(betas.beta), 0.0) * 0.01,
        "abs_s": np.abs(s),
        "abs_s_beta": np.where(has, np.abs(s), 0.0),
    })
    out = frame.groupby("bucket", as_index=False).sum()
    out = out[out["abs_s"] > 0]
    out["beta_coverage"] = out["abs_s_beta"] / out["abs_s"]
    out["implied_beta"] = np.where(out["usd_per_1pct"] != 0, out["usd_per_1pct_beta"] / out["usd_per_1pct"], np.nan)
    out = out.drop(columns=["abs_s", "abs_s_beta"])
    return out.sort_values("usd_per_1pct_beta", ascending=False, key=np.abs).reset_index(drop=True)


def ladder(
    universe: Universe, moves: Sequence[float] = DEFAULT_MOVES, asset_classes: Sequence[str] = ("equity",)
) -> pd.DataFrame:
    """Rebalance flow if every underlying in ``asset_classes`` moved by each of ``moves``.

    Returns a frame indexed by move with one column per index bucket and a ``total`` column:
    ``flow[m, b] = m * sum_{funds in b} A * L * (L - 1)``, linear in the move by construction.
    """
    moves_arr = np.asarray(moves, dtype=float)
    if not np.all(np.isfinite(moves_arr)) or np.any(np.abs(moves_arr) >= 1):
        raise InputError("ladder: moves must be finite fractions between -1 and 1 (0.01 = 1 %)")
    c = compiled(universe)
    in_scope = np.isin(c.underlying_asset_class[c.fund_underlying], list(asset_classes)) & c.resets_daily
    if in_scope.any() and len(moves_arr):
        lev = float(np.abs(c.leverage[in_scope]).max())
        worst = float(np.abs(moves_arr).max())
        if 1.0 - lev * worst <= 0.0:  # a move that wipes out a fund: its linear flow means nothing
            raise InputError(f"ladder: a move of {worst:.0%} would take the {lev:g}x funds to zero NAV or below "
                             f"(1 + L*r <= 0 from {1 / lev:.1%}); keep the span under {100 / lev:.1f} %")
    sens = sensitivity_usd(universe, asset_classes)
    table = pd.DataFrame(np.outer(moves_arr, sens["usd_per_unit"].to_numpy()), columns=sens["bucket"], index=moves_arr)
    table.index.name = "move"
    table["total"] = table.sum(axis=1)
    return table


def what_if(universe: Universe, moves: Mapping[str, float], *, aum: Any | None = None, where: str = "what-if") -> FlowEstimate:
    """The estimate for a user-given scenario, e.g. ``{"NDX": -0.03, "SOX": -0.06}``.

    Underlyings not named are taken as unchanged (a scenario, not missing data), so funds on
    them trade nothing. Unknown ids are an error naming the nearest ones (``where`` leads it:
    the CLI passes ``--move``), not silently ignored. ``aum``: as in
    :func:`lev_flows.model.estimate.estimate` (the CLI passes :func:`aum_at_close`; default the
    catalog's AUM).
    """
    from lev_flows.model.estimate import unknown_keys_message

    c = compiled(universe)
    known = set(map(str, c.underlying_ids)) | set(map(str, c.tickers))
    unknown = [str(k) for k in moves if str(k) not in known]
    if unknown:
        raise InputError(unknown_keys_message(universe, unknown, where))
    values = {u: 0.0 for u in c.underlying_ids}
    values.update(moves)
    label = ", ".join(f"{k} {v:+.1%}" for k, v in moves.items())
    return estimate(universe, DayReturns(values=values, basis=f"what-if: {label}; others unchanged", source="what-if"), aum=aum)


def aum_at_close(pit: Any, row: int) -> AumDay:
    """The point-in-time net assets at the close of session ``row`` of a point in time ``pit``
    (:func:`lev_flows.model.pointintime.point_in_time`) as the AUM of a scenario for the next
    session, with what each figure rests on at that close (method, source, observation date and
    gap: ``PointInTime.close_provenance``), so the scenario carries the AUM's error band as a
    day's estimate does; labelled ``point in time, at the close of D``. The close of a session is
    the start of the next: ``aum_at_close(pit, t)`` gives the AUM, gaps and band that
    ``pit.aum_day(t + 1)`` gives."""
    from lev_flows.inputs.days import weighted_median
    from lev_flows.model.pointintime import AUM_METHODS, AUM_NONE, AUM_SOURCES

    aum = np.asarray(pit.aum_close[row], dtype=float)
    method, source, obs_date, gap = (np.asarray(a[row]) for a in pit.close_provenance)
    day = pit.sessions[row].date()
    closed = None if pit.closed_on is None else pit.closed_on <= np.datetime64(day, "D")
    known = np.isfinite(aum) & (method != AUM_NONE)
    gap = np.where(known, gap, -1)
    return AumDay(aum_usd=aum, method=AUM_METHODS[method], source=AUM_SOURCES[source], obs_date=obs_date,
                  gap_sessions=gap, median_gap=weighted_median(gap, np.where(known, aum, np.nan)),
                  launched=pit.launched[row], closed=closed,
                  label=f"point in time, at the close of {day} (store observations)")


#: every move under this (percent) reads like a fraction typed as a percent (NDX=-0.03 for -3 %)
SMALL_MOVE_PCT = 0.1


def fraction_warning(moves: Mapping[str, float], option: str = "--move") -> str | None:
    """A warning when every move (fractions, as :func:`parse_moves` returns) is under
    :data:`SMALL_MOVE_PCT` percent and one is not zero: ``NDX=-0.03`` runs a -0.03 % move, while
    ``-0.03`` as a fraction would be ``NDX=-3``. None otherwise.

    >>> fraction_warning({"NDX": -0.0003})
    '--move NDX=-0.03 is a move of -0.03 %: moves are in percent (NDX=-3 is -3 %); was a fraction meant?'
    >>> fraction_warning({"NDX": -0.03}) is None
    True
    """
    if not moves or not any(moves.values()) or any(abs(v) * 100 >= SMALL_MOVE_PCT for v in moves.values()):
        return None
    k, v = next((k, v) for k, v in moves.items() if v)
    every = "every move is under 0.1 %; " if len(moves) > 1 else ""
    return (f"{option} {k}={v * 100:g} is a move of {v * 100:g} %: {every}moves are in percent "
            f"({k}={v * 1e4:g} is {v * 1e4:g} %); was a fraction meant?")


def parse_moves(items: Sequence[str], option: str = "--move") -> dict[str, float]:
    """``["NDX=-3", "SOX=-6"]`` (percent) -> ``{"NDX": -0.03, "SOX": -0.06}``; an id given twice
    is an error (the last would silently win)."""
    out: dict[str, float] = {}
    for item in items:
        key, sep, value = item.partition("=")
        try:
            pct = float(value)
        except ValueError:
            pct = float("nan")
        if not sep or not key.strip() or not np.isfinite(pct):
            raise InputError(f"{option} {item!r}: expected ID=PERCENT, e.g. NDX=-3")
        if abs(pct) >= 100:
            raise InputError(f"{option} {item!r}: a move of {pct:g}% is not possible")
        if key.strip().upper() in out:
            raise InputError(f"{option} {key.strip().upper()} is given twice")
        out[key.strip().upper()] = pct / 100.0
    return out


#: the closing-auction share of a stock's daily volume at $1B of ADV, its change per tenfold
#: less dollar volume, and its bounds (see :func:`closing_auction_share`)
AUCTION_SHARE_AT_1B, AUCTION_SHARE_PER_DECADE, AUCTION_SHARE_BOUNDS = 0.08, 0.01, (0.07, 0.10)
#: a stock is flagged when the funds' flow exceeds this share of its estimated closing auction
AUCTION_FLAG = 0.5


def closing_auction_share(adv_usd) -> np.ndarray:
    """The estimated share of a stock's daily volume that trades in its closing auction, from
    its size (20-day dollar ADV, USD)::

        share = clip(0.08 + 0.01 * log10(1e9 / adv_usd), 0.07, 0.10)

    so 8 % at $1B of ADV, 7 % for the largest names ($10B and more), 9 % at $100M, 10 % at
    $10M and below. An estimate, not a measurement; it rests on public figures:

    * the closing auctions were 6.2-9.1 % of US consolidated equity volume month by month in
      2025 (Rosenblatt's monthly market structure reports: 7.07 % in February, 6.18 % in April,
      8.55 % in June; 9.13 % in December 2024), https://www.rblt.com/market-structure-reports/
      us-securities-volumes-june-2025 and the other months;
    * about 9 % of daily volume on a typical day of 2024 (BMLL, "Into the Close", Traders
      Magazine, June 2025), https://www.bmlltech.com/news/market-insight/into-the-close-
      unpacking-u-s-closing-auction-dynamics-and-the-impact-of-the-russell-reconstitution;
    * small caps have higher auction percentages than large caps (Kissell and Lie, "U.S.
      Exchange Auction Trends", Journal of Trading 2011).

    NaN for a stock without ADV.

    >>> closing_auction_share([1e9, 100e6, 50e9]).round(3).tolist()
    [0.08, 0.09, 0.07]
    """
    adv = np.asarray(adv_usd, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = AUCTION_SHARE_AT_1B + AUCTION_SHARE_PER_DECADE * np.log10(1e9 / adv)
    return np.where(np.isfinite(adv) & (adv > 0), np.clip(share, *AUCTION_SHARE_BOUNDS), np.nan)


def liquidity(
    est: FlowEstimate,
    closes: pd.DataFrame,
    volumes: pd.DataFrame,
    *,
    window: int = 20,
    auction_share: float | None = None,
    top: int | None = 50,
) -> pd.DataFrame:
    """Each stock's flow against its liquidity on the estimate's date.

    * ``adv_usd``: mean daily dollar volume (close x shares) over the ``window`` sessions
      before the date;
    * ``auction_share``: the closing auction's share of the day's volume, estimated from the
      stock's ADV (:func:`closing_auction_share`: 7-10 %), or the flat ``auction_share`` given;
    * ``auction_usd = auction_share x`` the day's dollar volume (an estimate);
    * ``flow_pct_adv = flow / adv_usd`` and ``flow_pct_auction = flow / auction_usd``;
      ``over_half_auction``: ``|flow| > 0.5 x auction_usd`` (:data:`AUCTION_FLAG`).

    Stocks without volume data keep NaN ratios. Sorted by the absolute share of ADV.
    """
    if est.date is None:
        raise InputError("liquidity: the estimate has no date")
    ts = pd.Timestamp(est.date)
    if ts not in volumes.index:
        raise InputError(f"liquidity: no volume data for {est.date}")
    pos = volumes.index.get_loc(ts)
    if pos < window:
        raise InputError(f"liquidity: fewer than {window} sessions of volume before {est.date}")
    tickers = est.by_stock.index.to_numpy()
    cols = [t for t in tickers if t in volumes.columns and t in closes.columns]
    dollar = (volumes[cols] * closes.reindex(index=volumes.index, columns=cols)).iloc[pos - window : pos + 1]
    adv = dollar.iloc[:-1].mean()
    day = dollar.iloc[-1]
    df = est.by_stock[["name", "sector", "flow_usd"]].reset_index()
    df["adv_usd"] = df["ticker"].map(adv)
    df["auction_share"] = closing_auction_share(df["adv_usd"]) if auction_share is None else float(auction_share)
    df["auction_usd"] = df["ticker"].map(day) * df["auction_share"]
    df["flow_pct_adv"] = df["flow_usd"] / df["adv_usd"]
    df["flow_pct_auction"] = df["flow_usd"] / df["auction_usd"]
    df["over_half_auction"] = df["flow_pct_auction"].abs() > AUCTION_FLAG
    df = df.sort_values("flow_pct_adv", key=np.abs, ascending=False, na_position="last").reset_index(drop=True)
    return df if top is None else df.head(top)


# ---- the day's sensitivity and dispersion: how desks quote it ----------------------------------


@dataclass(frozen=True)
class DaySensitivity:
    """A day's rebalance against the "$ per 1 % move" rule desks quote, over the daily-reset
    equity funds of ``scope`` that had AUM and a return (USD, + = buy).

    * ``usd_per_1pct = 0.01 * sum A L (L - 1)`` (every underlying moves 1 %);
    * ``usd_per_1pct_beta = 0.01 * sum beta_u A L (L - 1)`` (the S&P 500 moves 1 %, each
      underlying by its beta; funds without a beta left out, ``beta_coverage`` the share of
      ``sum |A L (L - 1)|`` with one);
    * ``market_return``: the S&P 500's move that day (``^GSPC``);
    * ``rule_usd = 100 * market_return * usd_per_1pct_beta``: what an S&P rule predicts, and
      ``rule_uniform_usd`` with the uniform figure;
    * ``actual_usd``: the same funds' rebalance; ``dispersion_usd = actual_usd - rule_usd``: the
      part the index move does not explain (underlyings that moved apart from their beta).

    ``by_bucket``: ``actual_usd``, ``rule_usd`` and ``dispersion_usd`` per index bucket, largest
    ``|dispersion|`` first."""

    scope: str
    usd_per_1pct: float
    usd_per_1pct_beta: float
    beta_coverage: float
    market_return: float
    rule_usd: float
    rule_uniform_usd: float
    actual_usd: float
    dispersion_usd: float
    by_bucket: pd.DataFrame


def day_sensitivity(est: FlowEstimate, betas: Mapping[str, float], market_return: float, scope: str = "equity") -> DaySensitivity:
    """:class:`DaySensitivity` of an estimate: ``betas`` by underlying id (NaN or absent: no
    beta), ``market_return`` the S&P 500's move (fraction), ``scope`` a key of
    :data:`lev_flows.model.scope.SCOPES` (its equity funds are used)."""
    from lev_flows.model.scope import priced_funds, scope_mask

    e = est.tables["by_etf"].columns
    lev = np.asarray(e["leverage"], dtype=float)
    aum = np.asarray(e["aum_usd"], dtype=float)
    use = (scope_mask(scope, e["asset_class"], e["bucket"], e["underlying"]) & (np.asarray(e["asset_class"]).astype(str) == "equity")
           & (np.asarray(e["reset"]).astype(str) == "daily") & priced_funds(e) & np.isfinite(aum))
    unit = np.where(use, aum * lev * (lev - 1.0), 0.0)
    beta = np.array([betas.get(str(u), np.nan) for u in e["underlying"]], dtype=float)
    has = np.isfinite(beta)
    actual = np.where(use, np.nan_to_num(np.asarray(e["rebalance_usd"], dtype=float)), 0.0)
    rule = np.where(has, unit * np.nan_to_num(beta), 0.0) * market_return
    frame = pd.DataFrame({"bucket": np.asarray(e["bucket"]).astype(str), "actual_usd": actual, "rule_usd": rule, "use": use})
    by_bucket = frame[frame["use"]].groupby("bucket", as_index=False)[["actual_usd", "rule_usd"]].sum()
    by_bucket["dispersion_usd"] = by_bucket["actual_usd"] - by_bucket["rule_usd"]
    by_bucket = by_bucket.sort_values("dispersion_usd", key=np.abs, ascending=False, kind="stable").reset_index(drop=True)
    gross = np.abs(unit).sum()
    beta_unit = float(np.where(has, unit * np.nan_to_num(beta), 0.0).sum())
    return DaySensitivity(
        scope=scope, usd_per_1pct=float(unit.sum()) * 0.01, usd_per_1pct_beta=beta_unit * 0.01,
        beta_coverage=float(np.abs(unit[has]).sum() / gross) if gross > 0 else float("nan"),
        market_return=float(market_return), rule_usd=beta_unit * market_return, rule_uniform_usd=float(unit.sum()) * market_return,
        actual_usd=float(actual.sum()), dispersion_usd=float(actual.sum() - beta_unit * market_return), by_bucket=by_bucket,
    )


def market_move(closes: pd.DataFrame, date, column: str = "^GSPC") -> float:
    """The S&P 500's (``column``'s) close-to-close move on ``date`` (fraction); NaN when the
    table lacks it or the day."""
    if column not in closes.columns or pd.Timestamp(date) not in closes.index:
        return float("nan")
    series = closes[column].loc[: pd.Timestamp(date)].dropna()
    if len(series) < 2 or series.index[-1] != pd.Timestamp(date):
        return float("nan")
    return float(series.iloc[-1] / series.iloc[-2] - 1.0)


def sensitivity_of_day(est: FlowEstimate, universe: Universe, closes: pd.DataFrame, scope: str = "equity",
                       window: int = BETA_WINDOW) -> DaySensitivity | None:
    """:func:`day_sensitivity` with each underlying's beta to the S&P 500 over the ``window``
    sessions before the day (nothing of the day itself) and the S&P 500's move of the day from
    ``closes``; None when the table cannot give them (fewer than 21 sessions before, no
    ``^GSPC``)."""
    if est.date is None:
        return None
    before = closes.loc[: pd.Timestamp(est.date) - pd.Timedelta(days=1)]
    move = market_move(closes, est.date)
    if not np.isfinite(move) or len(before) < 22:
        return None
    try:
        betas = market_betas(universe, before, window=window)
    except InputError:
        return None
    ids = [str(u) for u in compiled(universe).underlying_ids]
    return day_sensitivity(est, dict(zip(ids, betas.beta)), move, scope)
