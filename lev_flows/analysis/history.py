"""History: a daily series of estimated rebalancing flows over a price range, and a check of
the funds' own returns against ``L x`` their underlying's.

Every day's AUM and returns come from :func:`lev_flows.model.pointintime.point_in_time`, the same
function ``estimate --date`` uses, so a day of the history equals the one-day estimate to the
dollar. AUM rests on observations (issuer NAV files, screener snapshots dated by their measured
lag, ...) and is carried between them by each fund's own price; no fund has AUM before its
inception. Each day reports the AUM-weighted median distance (sessions) to an observation, and
the result lists the days where it exceeds ``MAX_MEDIAN_GAP``.

Everything is array arithmetic over (days x funds); there is no loop over days.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from lev_flows.errors import InputError
from lev_flows.inputs.catalog import Universe
from lev_flows.inputs.sources.underlyings import TRACKING_ETFS
from lev_flows.model.estimate import compiled
from lev_flows.model.formula import scheduled_rebalance_usd
from lev_flows.model.lookthrough import stock_flow_matrix
from lev_flows.model.pointintime import MAX_MEDIAN_GAP, PointInTime, point_in_time
from lev_flows.model.returns import ReturnMatrix, daily_returns

if TYPE_CHECKING:  # pragma: no cover
    from lev_flows.model.day import Inputs


@dataclass(frozen=True)
class HistoryResult:
    """Daily flows (USD, positive = buy at the close) from :func:`history`.

    * ``daily``: one row per trading day: ``rebalance_usd`` (net), ``gross_rebalance_usd``,
      ``aum_usd`` (point-in-time start-of-day AUM of the funds with AUM), ``aum_with_return``
      (share of that AUM whose underlying had a return that day), ``aum_median_gap``
      (AUM-weighted median sessions to an AUM observation), ``funds_launched``,
      ``creation_usd`` (the day's creations as exposure, ``(S_t - S_{t-1}) * NAV_t * L`` summed over
      the funds whose issuer shares outstanding are known on both closes; NaN when none is),
      ``aum_with_creations`` (the share of the AUM those funds hold) and ``flow_usd`` (the
      rebalance net of the known creations);
    * ``by_index``: days x index buckets (rebalance USD);
    * ``top_stocks``: days x the stocks with the largest total absolute flow over the range;
    * ``aum_usd``: days x funds, the point-in-time start-of-day AUM behind the flows;
    * ``underlying_return``: days x funds, each fund's underlying return (NaN = unknown);
    * ``rebalance_by_fund``: days x funds, the rebalance (USD).
    """

    daily: pd.DataFrame
    by_index: pd.DataFrame
    top_stocks: pd.DataFrame
    aum_usd: pd.DataFrame
    underlying_return: pd.DataFrame
    rebalance_by_fund: pd.DataFrame
    note: str
    stale_days: int = 0
    #: days x funds: sessions between each start-of-day AUM and its observation (-1 = no AUM)
    aum_gap: pd.DataFrame | None = None
    #: days x funds: the day's creations as exposure (USD; NaN = shares outstanding not known)
    creation_by_fund: pd.DataFrame | None = None

    def stand_out(self, day: dt.date | str) -> dict[str, float]:
        """Where ``day`` ranks: by absolute net flow (1 = largest) and its percentile among all
        days, among selling (or buying) days, and in standard deviations of the series."""
        ts = pd.Timestamp(day)
        flows = self.daily["rebalance_usd"]
        if ts not in flows.index:
            raise InputError(f"history: {ts.date()} is not a day of this history")
        v = flows.loc[ts]
        same_side = flows[np.sign(flows) == np.sign(v)]
        return {
            "rebalance_usd": float(v),
            "abs_rank": int((flows.abs() > abs(v)).sum() + 1),
            "abs_percentile": float((flows.abs() >= abs(v)).mean()),
            "same_side_rank": int((same_side.abs() > abs(v)).sum() + 1),
            "days": len(flows),
            "z": float(v / flows.std(ddof=0)) if flows.std(ddof=0) else float("nan"),
        }

    def largest_days(self, n: int = 10) -> pd.DataFrame:
        """The ``n`` days with the largest absolute net flow, with the flow in standard
        deviations of the whole series (``z``), the day's known creations and the flow net of
        them, and the day's largest index bucket."""
        daily = self.daily
        sd = daily["rebalance_usd"].std(ddof=0)
        order = np.argsort(-daily["rebalance_usd"].abs().to_numpy(), kind="stable")[:n]
        cols = ["rebalance_usd", "gross_rebalance_usd", "aum_with_return", "creation_usd", "flow_usd"]
        out = daily.iloc[order][[c for c in cols if c in daily]].copy()
        out["z"] = out["rebalance_usd"] / sd if sd else np.nan
        idx = self.by_index.loc[out.index]
        out["largest_bucket"] = idx.abs().idxmax(axis=1)
        out["largest_bucket_usd"] = [idx.loc[d, b] for d, b in zip(out.index, out["largest_bucket"])]
        out.insert(0, "rank", np.arange(1, len(out) + 1))
        return out

    def plot(self, path: str | None = None, *, marked: int = 5, force: bool = False, fmt: str | None = None):
        """The daily net flow with the ``marked`` largest days labelled, as a matplotlib Figure;
        written atomically to ``path`` when given, as PNG, SVG or PDF (from the extension, or
        ``fmt``; an existing file needs ``force=True``)."""
        from lev_flows.present.charts import history_figure, save_figure

        return save_figure(history_figure(self, marked=marked), path, fmt, force=force)


def _as_date(value: dt.date | str | None, name: str) -> dt.date | None:
    """A session or None (:func:`lev_flows.inputs.args.date_arg`: an int or a bool is an error)."""
    from lev_flows.inputs.args import date_arg

    return date_arg(value, name, optional=True)


def _checked(universe: Universe, closes: pd.DataFrame, where: str) -> pd.DataFrame:
    """The public entry points' universe and close table, checked (the table as a price file is:
    no date twice, no infinite close, a timezone-aware index read as the dates written)."""
    from lev_flows.inputs.args import closes_arg, universe_arg

    universe_arg(universe, where)
    return closes_arg(closes, f"{where}: closes")


#: ``observations=STORE`` (the default of :func:`history` and :func:`lev_flows.analysis.montecarlo.monte_carlo`):
#: the AUM observations of the store, point in time, as the command line takes them
STORE = "store"


def observations_arg(observations: pd.DataFrame | str | None, db: str | Path | None, where: str) -> pd.DataFrame | None:
    """The AUM observations an analysis rests on: ``"store"`` the store's best observations
    (:func:`lev_flows.inputs.store.load_best_observations` of ``db``, default the store at
    ``$LEV_FLOWS_DB``: what ``lev-flows history`` and ``montecarlo`` use), None the catalog's AUM
    alone, a frame those observations. ``db`` without ``"store"`` is an InputError (it would be
    ignored)."""
    if isinstance(observations, str):
        if observations != STORE:
            raise InputError(f"{where}: observations must be 'store', None (the catalog's AUM) or a frame, not {observations!r}")
        from lev_flows.inputs.store import load_best_observations

        return load_best_observations(db)
    if db is not None:
        raise InputError(f"{where}: db names the store of observations='store'; with observations given, leave it out")
    if observations is not None and not isinstance(observations, pd.DataFrame):
        raise InputError(f"{where}: observations must be 'store', None (the catalog's AUM) or a frame, "
                         f"not {type(observations).__name__}")
    return observations


def _window(closes: pd.DataFrame, start: dt.date | None, end: dt.date | None) -> pd.DataFrame:
    """Close rows from the session before ``start`` to ``end`` (one extra row for returns)."""
    first, last = closes.index[0].date(), closes.index[-1].date()
    start = start or first
    end = end or last
    if start > end:
        raise InputError(f"history: start {start} is after end {end}")
    if end < first or start > last:
        raise InputError(f"history: {start} .. {end} is outside the price table ({first} .. {last})")
    lo = max(int(closes.index.searchsorted(pd.Timestamp(start))) - 1, 0)
    hi = int(closes.index.searchsorted(pd.Timestamp(end), side="right"))
    window = closes.iloc[lo:hi]
    if len(window) < 2:
        raise InputError(f"history: fewer than two sessions between {start} and {end}")
    return window


def _daily_frame(dates, flows, aum_t, fund_r, creations, gaps, launched) -> pd.DataFrame:
    """The ``daily`` table of :class:`HistoryResult` from (T, F) arrays: the rebalance, the AUM and
    the share of it with a return, the known creations (NaN on a day with none) and their
    coverage, and the flow net of them."""
    aum0 = np.nan_to_num(aum_t, nan=0.0)
    total_aum = aum0.sum(axis=1)

    def share(known: np.ndarray) -> np.ndarray:
        part = np.where(known, aum0, 0.0).sum(axis=1)
        return np.divide(part, total_aum, out=np.zeros_like(total_aum), where=total_aum > 0)

    known = np.isfinite(creations)
    creation_day = np.where(known.any(axis=1), np.nansum(creations, axis=1), np.nan)
    rebalance = np.nansum(flows, axis=1)
    return pd.DataFrame(
        {
            "rebalance_usd": rebalance,
            "gross_rebalance_usd": np.nansum(np.abs(flows), axis=1),
            "aum_usd": total_aum,
            "aum_with_return": share(np.isfinite(fund_r)),
            "aum_median_gap": gaps,
            "funds_launched": launched.sum(axis=1),
            "creation_usd": creation_day,
            "aum_with_creations": share(known),
            "flow_usd": rebalance + np.nan_to_num(creation_day),
        },
        index=dates,
    )


def _band(pit: PointInTime, lo: int, hi: int, flows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each day's p10 / p90 rebalance band from the AUM's held-out error (as each day's estimate)."""
    from lev_flows.inputs.packaged import aum_error_bands
    from lev_flows.model.band import aum_factors, rebalance_band
    from lev_flows.model.pointintime import AUM_METHODS, AUM_SOURCES

    gap = pit.aum_gap[lo:hi].astype(float)
    f_lo, f_hi = aum_factors(AUM_SOURCES[pit.aum_source[lo:hi]], np.where(gap < 0, np.nan, gap),
                             AUM_METHODS[pit.aum_method[lo:hi]], aum_error_bands())
    return rebalance_band(flows, f_lo, f_hi, axis=1)


def history(
    universe: Universe,
    closes: pd.DataFrame,
    *,
    start: dt.date | str | None = None,
    end: dt.date | str | None = None,
    top_stocks: int = 10,
    observations: pd.DataFrame | str | None = STORE,
    pit: PointInTime | None = None,
    min_weight: float = 0.5,
    exclude_etns: bool = False,
    db: str | Path | None = None,
) -> HistoryResult:
    """Estimated rebalancing flows for every trading day of ``closes`` in ``start .. end``.

    ``closes`` is a wide close table (dates x tickers, e.g. :func:`lev_flows.inputs.prices.load_price_dir`)
    with the funds' own prices; ``observations`` the AUM observations (default ``"store"``: the
    store's, at ``db`` or ``$LEV_FLOWS_DB``, point in time as ``lev-flows history``; None = the
    catalog's AUM only; or a frame of :func:`lev_flows.inputs.store.load_best_observations`). Per day and
    fund: ``A_t * L * (L - 1) * r_t`` with ``A_t`` and ``r_t`` from
    :func:`lev_flows.model.pointintime.point_in_time` computed over the whole table, so the figure of
    a day never depends on where the range starts. ``pit`` reuses one already computed (the
    observations are then not read).
    ``exclude_etns`` leaves the exchange-traded notes out (as :func:`lev_flows.model.estimate`).

    >>> from lev_flows import load_universe
    >>> from lev_flows.inputs.prices import load_price_dir
    >>> h = history(load_universe(), load_price_dir("../shared/data/prices"), start="2026-02-02", end="2026-02-06")
    >>> print(f'{h.daily.loc["2026-02-04", "rebalance_usd"] / 1e9:.2f}B')      # as `lev-flows history`
    -13.14B
    """
    from lev_flows.inputs.args import flag_arg, real_number, whole_number

    closes = _checked(universe, closes, "history")
    whole_number(top_stocks, "history: top_stocks", 0)
    real_number(min_weight, "history: min_weight", 0.0, 1.0)
    flag_arg(exclude_etns, "history: exclude_etns")
    start, end = _as_date(start, "--start"), _as_date(end, "--end")
    c = compiled(universe)
    _window(closes, start, end)  # range checks with clear errors
    if pit is None:
        pit = point_in_time(universe, closes, observations_arg(observations, db, "history"), min_weight=min_weight)
    lo = int(pit.sessions.searchsorted(pd.Timestamp(start))) if start else 0
    hi = int(pit.sessions.searchsorted(pd.Timestamp(end), side="right")) if end else len(pit.sessions)
    if hi - lo < 1:
        raise InputError(f"history: no session between {start} and {end}")
    dates = pit.sessions[lo:hi]
    keep = np.where(c.fund_structures == "ETN", np.nan, 1.0) if exclude_etns else np.ones(len(c.tickers))
    aum_t = pit.aum_usd[lo:hi] * keep
    fund_r = pit.underlying_return[lo:hi]
    # weekly / monthly / quarterly funds trade on their reset close only, on the period's return
    leverage = c.leverage if pit.leverage is None else pit.leverage[lo:hi]  # the facts in force each day
    flows = scheduled_rebalance_usd(pit.rebalance_aum[lo:hi] * keep, leverage, pit.rebalance_return[lo:hi], pit.resets[lo:hi])  # (T, F)

    creations = pit.creation_usd[lo:hi] * keep if pit.creation_usd is not None else np.full(aum_t.shape, np.nan)
    gaps = np.asarray(pit.median_gap())[lo:hi]
    daily = _daily_frame(dates, flows, aum_t, fund_r, creations, gaps, pit.launched[lo:hi])
    daily["band_p10_usd"], daily["band_p90_usd"] = _band(pit, lo, hi, flows)
    one_hot = np.zeros((len(c.tickers), c.n_underlyings))
    one_hot[np.arange(len(c.tickers)), c.fund_underlying] = 1.0
    und_flow = np.nan_to_num(flows) @ one_hot  # (T, U)
    buckets, code = np.unique(c.underlying_bucket.astype(str), return_inverse=True)
    bucket_hot = np.zeros((c.n_underlyings, len(buckets)))
    bucket_hot[np.arange(c.n_underlyings), code] = 1.0
    by_index = pd.DataFrame(und_flow @ bucket_hot, index=dates, columns=buckets)
    by_index = by_index[by_index.abs().sum().sort_values(ascending=False).index]
    by_index = by_index.loc[:, by_index.abs().sum() > 0]

    stock = stock_flow_matrix(c, und_flow)  # (T, S)
    order = np.argsort(-np.abs(stock).sum(axis=0), kind="stable")[:top_stocks]
    top = pd.DataFrame(stock[:, order], index=dates, columns=c.stock_tickers[order])
    stale = int(np.sum(gaps > MAX_MEDIAN_GAP))
    note = (
        "AUM point in time (observations carried by each fund's price, AUM ~ price^beta by kind of product; "
        "young funds grown from launch); "
        f"median gap {np.nanmedian(gaps):.0f} session{'' if round(np.nanmedian(gaps)) == 1 else 's'}; "
        f"{stale} of {len(dates)} days over {MAX_MEDIAN_GAP}; "
        f"creations (issuer shares outstanding) known for a median {np.median(daily['aum_with_creations']):.0%} of the AUM"
    )
    return HistoryResult(
        daily=daily,
        by_index=by_index,
        top_stocks=top,
        aum_usd=pd.DataFrame(aum_t, index=dates, columns=c.tickers),
        underlying_return=pd.DataFrame(fund_r, index=dates, columns=c.tickers),
        rebalance_by_fund=pd.DataFrame(flows, index=dates, columns=c.tickers),
        note=note,
        stale_days=stale,
        aum_gap=pd.DataFrame(pit.aum_gap[lo:hi], index=dates, columns=c.tickers),
        creation_by_fund=pd.DataFrame(creations, index=dates, columns=c.tickers),
    )


# --------------------------------------------------------------------------------------------
# validation: do the funds deliver L x their underlying's daily return?

#: ETFs whose daily return stands in for an index underlying in :func:`tracking`
TRACKING_PROXIES: dict[str, str] = TRACKING_ETFS

#: the pairs the README and tests single out
HEADLINE_FUNDS = ("TQQQ", "SQQQ", "QLD", "SOXL", "SOXS", "UPRO", "SPXL", "SSO", "TNA", "TZA", "TSLL", "NVDL")


def tracking(
    universe: Universe,
    closes: pd.DataFrame,
    *,
    start: dt.date | str | None = None,
    end: dt.date | str | None = None,
    proxies: Mapping[str, str] = TRACKING_PROXIES,
    min_days: int = 60,
) -> pd.DataFrame:
    """Each daily-reset fund's return against ``L`` times its underlying's, day by day.

    The underlying's return is a proxy ETF's (``proxies``: QQQ for NDX ...) or its own price
    column (single stocks). Per fund with at least ``min_days`` common days: the median and
    95th-percentile absolute daily error ``|R_fund - L * r|`` (fractions), the realised
    leverage (least-squares slope of ``R_fund`` on ``r``) and the correlation. Sorted by AUM.
    """
    from lev_flows.inputs.args import whole_number

    closes = _checked(universe, closes, "tracking")
    whole_number(min_days, "tracking: min_days", 1)
    start, end = _as_date(start, "--start"), _as_date(end, "--end")
    window = _window(closes, start, end)
    day_r = daily_returns(window)
    rows = []
    for fund in universe.funds:
        if fund.reset != "daily" or fund.ticker not in day_r.columns:
            continue
        ref = proxies.get(fund.underlying, fund.underlying)
        if ref not in day_r.columns or ref == fund.ticker:
            continue
        pair = day_r[[fund.ticker, ref]].dropna()
        if len(pair) < min_days:
            continue
        R, r = pair[fund.ticker].to_numpy(), pair[ref].to_numpy()
        err = np.abs(R - fund.leverage * r)
        slope = float(np.dot(r - r.mean(), R - R.mean()) / np.dot(r - r.mean(), r - r.mean()))
        rows.append(
            {
                "ticker": fund.ticker,
                "leverage": fund.leverage,
                "underlying": fund.underlying,
                "reference": ref,
                "aum_usd": fund.aum_usd,
                "days": len(pair),
                "median_abs_error": float(np.median(err)),
                "p95_abs_error": float(np.quantile(err, 0.95)),
                "realised_leverage": slope,
                "correlation": float(np.corrcoef(R, r)[0, 1]),
            }
        )
    if not rows:
        raise InputError("tracking: no daily fund has both its own prices and its underlying's in the table")
    out = pd.DataFrame(rows)
    return out.sort_values("aum_usd", ascending=False, na_position="last").reset_index(drop=True)



def history_range(
    start: dt.date | str | None = None,
    end: dt.date | str | None = None,
    *,
    universe: Universe | str | Path | None = None,
    prices: str | Path | "pd.DataFrame" | None = None,
    db: str | Path | None = None,
    top_stocks: int = 10,
    inputs: "Inputs | None" = None,
    exclude_etns: bool = False,
) -> "HistoryResult":
    """:func:`history` on point-in-time inputs read from the store and the price tables (``inputs``
    from :func:`lev_flows.model.day.load_inputs` to reuse them): the same rows ``estimate --date``
    gives day by day, and what ``lev-flows history`` prints."""
    from lev_flows.model.day import load_inputs

    inp = inputs or load_inputs(universe, prices, db)
    return history(inp.universe, inp.closes, start=start, end=end, top_stocks=top_stocks, pit=inp.pit,
                   exclude_etns=exclude_etns)


__all__ = ["history_range", "HistoryResult", "history", "tracking", "TRACKING_PROXIES", "HEADLINE_FUNDS", "ReturnMatrix"]
