"""Analyses on top of the estimate: the sensitivity ladder, what-if moves and liquidity pressure.

All amounts are USD (positive = buy at the close); moves and returns are fractions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lev_flows.errors import InputError
from lev_flows.inputs.catalog import Universe
from lev_flows.inputs.days import DayReturns
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
        raise InputError(f"market beta: only {len(win) - 1} sessions before {end or 'the end of the table'}")
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


def what_if(universe: Universe, moves: Mapping[str, float]) -> FlowEstimate:
    """The estimate for a user-given scenario, e.g. ``{"NDX": -0.03, "SOX": -0.06}``.

    Underlyings not named are taken as unchanged (a scenario, not missing data), so funds on
    them trade nothing. Unknown ids are an error, not silently ignored.
    """
    c = compiled(universe)
    unknown = [k for k in moves if k not in set(c.underlying_ids) | set(c.tickers)]
    if unknown:
        raise InputError(f"what-if: unknown underlying or fund {', '.join(unknown)}")
    values = {u: 0.0 for u in c.underlying_ids}
    values.update(moves)
    label = ", ".join(f"{k} {v:+.1%}" for k, v in moves.items())
    return estimate(universe, DayReturns(values=values, basis=f"what-if: {label}; others unchanged", source="what-if"))


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


def liquidity(
    est: FlowEstimate,
    closes: pd.DataFrame,
    volumes: pd.DataFrame,
    *,
    window: int = 20,
    auction_share: float = 0.10,
    top: int | None = 50,
) -> pd.DataFrame:
    """Each stock's flow against its liquidity on the estimate's date.

    * ``adv_usd``: mean daily dollar volume (close x shares) over the ``window`` sessions
      before the date;
    * ``auction_usd``: the closing auction, estimated as ``auction_share`` of the day's dollar
      volume (a stated assumption: US closing auctions are roughly 8-12 % of daily volume);
    * ``flow_pct_adv = flow / adv_usd`` and ``flow_pct_auction = flow / auction_usd``.

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
    tickers = est.by_stock["ticker"].to_numpy()
    cols = [t for t in tickers if t in volumes.columns and t in closes.columns]
    dollar = (volumes[cols] * closes.reindex(index=volumes.index, columns=cols)).iloc[pos - window : pos + 1]
    adv = dollar.iloc[:-1].mean()
    day = dollar.iloc[-1]
    df = est.by_stock[["ticker", "name", "sector", "flow_usd"]].copy()
    df["adv_usd"] = df["ticker"].map(adv)
    df["auction_usd"] = df["ticker"].map(day) * auction_share
    df["flow_pct_adv"] = df["flow_usd"] / df["adv_usd"]
    df["flow_pct_auction"] = df["flow_usd"] / df["auction_usd"]
    df = df.sort_values("flow_pct_adv", key=np.abs, ascending=False, na_position="last").reset_index(drop=True)
    return df if top is None else df.head(top)
