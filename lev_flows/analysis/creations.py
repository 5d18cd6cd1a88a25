"""Creations and redemptions: the second flow of a leveraged fund, kept apart from the rebalance.

Net creations of ``C`` USD into a fund of leverage ``L`` make it buy ``L * C`` of exposure at
the close (redemptions, ``C < 0``, sell). Investors in leveraged funds tend to trade against
the day's move (buy the dip in bull funds, redeem after rallies), so creations often offset
part of the rebalance (Ivanov and Lenkey, "Do leveraged ETFs really amplify late-day returns
volatility?"). This module measures them two ways:

* from shares outstanding: ``C_t = (S_t - S_{t-1}) * NAV_t``;
* from AUM net of performance: ``C = A_1 - A_0 * (1 + R)`` where ``R`` is the fund's return
  over the period (``prod (1 + L * r_t) - 1`` for a daily fund when its own prices are missing).

and reports, beside the rebalance, how much of it creations offset:
``offset_share = -creation_exposure / rebalance`` (1 = fully offset, negative = reinforced).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import numpy as np
import pandas as pd

from lev_flows.errors import InputError
from lev_flows.inputs.catalog import Universe
from lev_flows.model.formula import creation_exposure_usd


def creations_from_shares(shares_outstanding: pd.DataFrame, nav: pd.DataFrame) -> pd.DataFrame:
    """Net creations (USD) per day and fund: ``(S_t - S_{t-1}) * NAV_t``.

    Both frames are indexed by date with one column per fund ticker. The first day, and days
    where either input is missing, are NaN (unknown, not zero).
    """
    if not shares_outstanding.index.equals(nav.index):
        nav = nav.reindex(shares_outstanding.index)
    if (shares_outstanding < 0).any().any():
        raise InputError("creations: shares outstanding cannot be negative")
    return shares_outstanding.diff() * nav.reindex(columns=shares_outstanding.columns)


def creations_from_aum(aum_start: np.ndarray, aum_end: np.ndarray, fund_return: np.ndarray) -> np.ndarray:
    """Net creations (USD) over a period from AUM net of performance: ``A_1 - A_0 * (1 + R)``."""
    a0, a1, r = (np.asarray(x, dtype=float) for x in (aum_start, aum_end, fund_return))
    return a1 - a0 * (1.0 + r)


def offset_share(rebalance_usd: np.ndarray, creation_exposure: np.ndarray) -> np.ndarray:
    """``-creation_exposure / rebalance``: the share of the rebalance that creations offset."""
    rebalance_usd = np.asarray(rebalance_usd, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return np.where(rebalance_usd != 0, -np.asarray(creation_exposure, dtype=float) / rebalance_usd, np.nan)


def creation_offset(by_group: pd.DataFrame, key: str = "bucket") -> pd.DataFrame:
    """Rebalance against creations per row of an estimate's ``by_index`` (or ``by_asset_class``)
    table, plus a total row: ``rebalance_usd``, ``creation_usd`` (= L * C), ``flow_usd``,
    ``offset_share``."""
    cols = [key, "rebalance_usd", "creation_usd", "flow_usd"]
    df = by_group[cols].copy()
    df = pd.concat([df, pd.DataFrame([{key: "total", **df[cols[1:]].sum().to_dict()}])], ignore_index=True)
    df["offset_share"] = offset_share(df["rebalance_usd"].to_numpy(), df["creation_usd"].to_numpy())
    return df


def read_creations_file(path) -> dict[str, float]:
    """Net creations by fund from a CSV: ``ticker`` and ``creations_usd`` (USD, negative =
    redemptions), or ``ticker``, ``shares_change`` and ``nav`` (``C = dS * NAV``)."""
    from pathlib import Path

    from lev_flows.io import check_input_file

    path = check_input_file(Path(path), "creations CSV")
    try:
        df = pd.read_csv(path, encoding="utf-8-sig")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read creations CSV ({str(exc).splitlines()[0] if str(exc) else 'empty'})") from None
    cols = {str(c).strip().lower(): c for c in df.columns}
    if "ticker" not in cols or df.empty:
        raise InputError(f"{path}: needs a 'ticker' column and at least one row")
    if "creations_usd" in cols:
        usd = pd.to_numeric(df[cols["creations_usd"]], errors="coerce")
    elif "shares_change" in cols and "nav" in cols:
        usd = pd.to_numeric(df[cols["shares_change"]], errors="coerce") * pd.to_numeric(df[cols["nav"]], errors="coerce")
    else:
        raise InputError(f"{path}: needs 'creations_usd', or 'shares_change' and 'nav'")
    tickers = df[cols["ticker"]].astype(str).str.strip().str.upper()
    bad = ~np.isfinite(usd.to_numpy(dtype=float))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"{path}: line {i + 2}: {tickers.iloc[i]}: creation is not a number")
    if tickers.duplicated().any():
        raise InputError(f"{path}: {tickers[tickers.duplicated()].iloc[0]} appears twice")
    return dict(zip(tickers, usd.astype(float)))


def _snapshot_date(aum: Mapping[str, tuple[float | None, dt.date | None]]) -> dt.date:
    dates = pd.Series([d for _, d in aum.values() if d is not None])
    if dates.empty:
        raise InputError("creations: the snapshot has no AUM dates")
    return dates.mode().iloc[0]


def implied_creations(
    universe: Universe,
    closes: pd.DataFrame,
    aum_start: Mapping[str, tuple[float | None, dt.date | None]],
    aum_end: Mapping[str, tuple[float | None, dt.date | None]],
    *,
    observations: pd.DataFrame | None = None,
    pit=None,
) -> pd.DataFrame:
    """Net creations between two AUM snapshots, net of performance, against the rebalance.

    ``aum_start``/``aum_end`` map fund ticker -> (AUM USD, as-of date), e.g. from two screener
    snapshots. Each snapshot's date is its most common as-of date (AUM read as the start of that
    day); funds with AUM in both, at those dates, and a return every day are kept. Per fund:
    ``performance`` (``prod (1 + L r) - 1``), ``creations_usd``, ``creation_exposure_usd``
    (``L * C``), ``rebalance_usd`` (the daily rebalances over the period, on AUM rolled from
    the start with performance) and ``offset_share``. Sorted by absolute creation exposure.
    """
    from lev_flows.analysis.history import history

    d0, d1 = _snapshot_date(aum_start), _snapshot_date(aum_end)
    if d1 <= d0:
        raise InputError(f"creations: the end snapshot ({d1}) must come after the start ({d0})")
    keep = [
        f
        for f in universe.funds
        if f.reset == "daily"
        and (aum_start.get(f.ticker, (None, None))[0] or 0) > 0
        and aum_end.get(f.ticker, (None, None))[0] is not None
        and aum_start[f.ticker][1] == d0
        and aum_end[f.ticker][1] == d1
    ]
    if not keep:
        raise InputError("creations: no daily fund has AUM in both snapshots")
    funds = keep
    end_prev = closes.index[closes.index < pd.Timestamp(d1)]
    if len(end_prev) == 0 or end_prev[-1].date() < d0:
        raise InputError(f"creations: the price table has no sessions between {d0} and {d1}")
    h = history(universe, closes, start=d0, end=end_prev[-1].date(), top_stocks=0, observations=observations, pit=pit)
    tickers = [f.ticker for f in funds]
    lev = np.array([f.leverage for f in funds])
    r = h.underlying_return[tickers].to_numpy()
    # performance over the period: the NAV path prod(1 + L r) (the same returns as the estimates)
    performance = np.prod(1.0 + lev * np.nan_to_num(r), axis=0) - 1.0
    a0 = np.array([aum_start[f.ticker][0] for f in funds], dtype=float)
    a1 = np.array([aum_end[f.ticker][0] for f in funds], dtype=float)
    complete = np.isfinite(r).all(axis=0)
    creations = creations_from_aum(a0, a1, performance)
    exposure = creation_exposure_usd(creations, lev)
    rebalance = h.rebalance_by_fund[tickers].sum(axis=0).to_numpy()
    out = pd.DataFrame(
        {
            "ticker": [f.ticker for f in funds],
            "leverage": lev,
            "underlying": [f.underlying for f in funds],
            "aum_start_usd": a0,
            "aum_end_usd": a1,
            "performance": performance,
            "creations_usd": creations,
            "creation_exposure_usd": exposure,
            "rebalance_usd": rebalance,
            "offset_share": offset_share(rebalance, exposure),
        }
    )
    out = out[complete].reset_index(drop=True)
    out.attrs.update({"start": d0.isoformat(), "end": d1.isoformat(), "sessions": len(h.daily), "dropped": int((~complete).sum())})
    return out.sort_values("creation_exposure_usd", key=np.abs, ascending=False).reset_index(drop=True)


__all__ = [
    "creations_from_shares",
    "creations_from_aum",
    "offset_share",
    "creation_offset",
    "implied_creations",
    "read_creations_file",
]
