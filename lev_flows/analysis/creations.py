"""Creations and redemptions: the second flow of a leveraged fund, kept apart from the rebalance.

Net creations of ``C`` USD into a fund of leverage ``L`` make it buy ``L * C`` of exposure at
the close (redemptions, ``C < 0``, sell). Investors in leveraged funds tend to trade against
the day's move (buy the dip in bull funds, redeem after rallies), so creations often offset
part of the rebalance (Ivanov and Lenkey, "Do leveraged ETFs really amplify late-day returns
volatility?"). This module measures them two ways:

* from shares outstanding: ``C_t = (S_t - S_{t-1}) * NAV_t``, each day's units at that day's NAV
  (the point in time's ``creation_usd`` is ``L`` times it, for every fund whose issuer publishes
  its shares: :mod:`lev_flows.model.issuer_nav`);
* from AUM net of performance between two snapshots, each day's creations again valued at that
  day's NAV: with shares assumed to grow at one constant daily rate between the snapshots
  (:func:`creations_at_daily_nav`). ``A_1 - A_0 * (1 + R)`` (:func:`creations_from_aum`) values
  them all at the end-of-period NAV instead: over a rally it overstates redemptions (TQQQ,
  2026-02-20 .. 2026-06-01: -8.40B against the -5.75B the issuer's shares x NAV say was traded).

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


def creations_at_daily_nav(aum_start: np.ndarray, aum_end: np.ndarray, fund_returns: np.ndarray,
                           aum_path: np.ndarray | None = None) -> np.ndarray:
    """Net creations (USD, per fund) between two AUM figures, each day's valued at that day's NAV.

    ``aum_start`` ``A_0`` and ``aum_end`` ``A_1`` (F,) are net assets at the closes before the
    first and after the last of the ``N`` sessions of ``fund_returns`` (N, F: the fund's own daily
    returns ``R_s``, fractions; ``G_s = prod_{k <= s} (1 + R_k)``). The shares' path between them
    follows ``aum_path`` (N + 1, F: net assets at the same closes, e.g. the point in time's, which
    its own observations pin down), its log shares ``sigma_s = log(V_s / G_s)`` shifted linearly in
    ``s`` to meet ``A_0`` and ``A_1``; without it (or where it has a gap) shares grow at one
    constant daily rate. With ``V^_s = A_0 * G_s * exp(sigma^_s)`` on that path::

        C = sum_s c_s,   c_s = V^_s - V^_{s-1} * (1 + R_s)   (day s's new shares x its NAV)

    With no move (``G = 1``) it is ``A_1 - A_0``; after a steady rise it is less than
    ``A_1 - A_0 * G_N``, which values every unit at the end-of-period NAV.

    >>> round(float(creations_at_daily_nav(np.array([100.0]), np.array([300.0]), np.array([[0.0], [1.0]]))[0]), 4)
    77.5255
    """
    a0, a1 = np.asarray(aum_start, dtype=float), np.asarray(aum_end, dtype=float)
    R = np.asarray(fund_returns, dtype=float).reshape(-1, a0.size)
    n = len(R)
    G = np.vstack([np.ones((1, a0.size)), np.cumprod(1.0 + R, axis=0)])  # (N + 1, F), G_0 = 1
    with np.errstate(divide="ignore", invalid="ignore"):
        sigma = np.zeros_like(G) if aum_path is None else np.log(np.asarray(aum_path, dtype=float) / G)
        sigma = np.where(np.isfinite(sigma).all(axis=0), sigma - sigma[0], 0.0)  # a path with a gap: constant
        target = np.log(a1 / (a0 * G[-1]))  # the snapshots' change in log shares
        w = np.arange(n + 1)[:, None] / n
        v = a0 * G * np.exp(np.where(w > 0, sigma + w * (target - sigma[-1]), 0.0))
    return (v[1:] - v[:-1] * (1.0 + R)).sum(axis=0)


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
    if by_group.index.name == key:  # FlowEstimate.by_index is indexed by its bucket
        by_group = by_group.reset_index()
    df = by_group[cols].copy()
    df = pd.concat([df, pd.DataFrame([{key: "total", **df[cols[1:]].sum().to_dict()}])], ignore_index=True)
    df["offset_share"] = offset_share(df["rebalance_usd"].to_numpy(), df["creation_usd"].to_numpy())
    return df


def read_creations_file(path) -> dict[str, float]:
    """Net creations by fund from a CSV: ``ticker`` and ``creations_usd`` (USD, negative =
    redemptions), or ``ticker``, ``shares_change`` and ``nav`` (``C = dS * NAV``)."""
    import io
    from pathlib import Path

    from lev_flows.io import read_input_bytes

    path = Path(path)
    raw = read_input_bytes(path, "creations CSV", kind="creations CSV")  # regular, within the limits
    try:
        df = pd.read_csv(io.BytesIO(raw), encoding="utf-8-sig")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read creations CSV ({str(exc).splitlines()[0] if str(exc) else 'empty'})") from None
    cols = {str(c).strip().lower(): c for c in df.columns}
    if "ticker" not in cols or df.empty:
        raise InputError(f"{path}: needs a 'ticker' column and at least one row")
    tickers = df[cols["ticker"]].astype(str).str.strip().str.upper()
    if "creations_usd" in cols:
        usd = pd.to_numeric(df[cols["creations_usd"]], errors="coerce")
    elif "shares_change" in cols and "nav" in cols:
        nav = pd.to_numeric(df[cols["nav"]], errors="coerce")
        bad_nav = ~(np.isfinite(nav.to_numpy(dtype=float)) & (nav.to_numpy(dtype=float) > 0))
        if bad_nav.any():  # a NAV is a positive price: a negative one would flip the creation's sign
            i = int(np.flatnonzero(bad_nav)[0])
            raise InputError(f"{path}: line {i + 2}: {tickers.iloc[i]}: nav {str(df[cols['nav']].iloc[i])!r} is not a positive number")
        usd = pd.to_numeric(df[cols["shares_change"]], errors="coerce") * nav
    else:
        raise InputError(f"{path}: needs 'creations_usd', or 'shares_change' and 'nav'")
    from lev_flows.inputs.plausibility import creation

    values = [creation(v, f"{path}: line {i + 2}: {t}: creation") for i, (t, v) in enumerate(zip(tickers, usd))]
    if tickers.duplicated().any():
        raise InputError(f"{path}: {tickers[tickers.duplicated()].iloc[0]} appears twice")
    return dict(zip(tickers, values))


def _aum_path(pit, dates: pd.DatetimeIndex, tickers: list[str]) -> np.ndarray | None:
    """(N + 1, F) the point in time's net assets of ``tickers`` at the close before the first of
    ``dates`` and at each of their closes (None when the point in time has no close AUM)."""
    if pit.aum_close is None:
        return None
    rows = pit.sessions.get_indexer(dates)
    cols = pd.Index(pit.tickers).get_indexer(tickers)
    return np.vstack([pit.aum_usd[rows[0], cols][None, :], pit.aum_close[rows][:, cols]])


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
    """Net creations between two AUM snapshots, each day's at that day's NAV, against the rebalance.

    ``aum_start``/``aum_end`` map fund ticker -> (AUM USD, as-of date), e.g. from two screener
    snapshots. Each snapshot's date is its most common as-of date (AUM read as the start of that
    day); funds with AUM in both, at those dates, and a return every day are kept. Per fund:
    ``performance`` (``prod (1 + L r) - 1``), ``creations_usd``: the sum of the days' creations
    ``(S_t - S_{t-1}) * NAV_t`` where the issuer's shares outstanding are known on every close of
    the period (``creations_basis`` "issuer shares x NAV"), else from the two AUM figures with
    shares growing at a constant daily rate (:func:`creations_at_daily_nav`, "AUM, constant share
    growth"), ``creation_exposure_usd`` (``L * C``), ``rebalance_usd`` (the daily rebalances over
    the period, on the point-in-time AUM) and ``offset_share``. Sorted by absolute creation
    exposure.
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
    if pit is None:
        from lev_flows.model.pointintime import point_in_time

        pit = point_in_time(universe, closes, observations)
    h = history(universe, closes, start=d0, end=end_prev[-1].date(), top_stocks=0, pit=pit)
    tickers = [f.ticker for f in funds]
    lev = np.array([f.leverage for f in funds])
    r = h.underlying_return[tickers].to_numpy()
    # performance over the period: the NAV path prod(1 + L r) (the same returns as the estimates)
    performance = np.prod(1.0 + lev * np.nan_to_num(r), axis=0) - 1.0
    a0 = np.array([aum_start[f.ticker][0] for f in funds], dtype=float)
    a1 = np.array([aum_end[f.ticker][0] for f in funds], dtype=float)
    complete = np.isfinite(r).all(axis=0)
    by_shares = h.creation_by_fund[tickers].to_numpy() if h.creation_by_fund is not None else np.full(r.shape, np.nan)
    from_shares = np.isfinite(by_shares).all(axis=0)
    path = _aum_path(pit, h.daily.index, tickers)
    with np.errstate(invalid="ignore"):
        spread = creations_at_daily_nav(a0, a1, lev * r, path)  # each day's units at that day's NAV
    creations = np.where(from_shares, by_shares.sum(axis=0) / lev, spread)
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
            "creations_basis": np.where(from_shares, "issuer shares x NAV", "AUM path x NAV"),
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
    "creations_at_daily_nav",
    "offset_share",
    "creation_offset",
    "implied_creations",
    "read_creations_file",
]
