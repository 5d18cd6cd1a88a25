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
      (AUM-weighted median sessions to an AUM observation), ``funds_launched``;
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
        deviations of the whole series (``z``) and the day's largest index bucket."""
        daily = self.daily
        sd = daily["rebalance_usd"].std(ddof=0)
        order = np.argsort(-daily["rebalance_usd"].abs().to_numpy(), kind="stable")[:n]
        out = daily.iloc[order][["rebalance_usd", "gross_rebalance_usd", "aum_with_return"]].copy()
        out["z"] = out["rebalance_usd"] / sd if sd else np.nan
        idx = self.by_index.loc[out.index]
        out["largest_bucket"] = idx.abs().idxmax(axis=1)
        out["largest_bucket_usd"] = [idx.loc[d, b] for d, b in zip(out.index, out["largest_bucket"])]
        out.insert(0, "rank", np.arange(1, len(out) + 1))
        return out

    def plot(self, path: str | None = None, *, marked: int = 5, force: bool = False, fmt: str | None = None) -> bytes:
        """PNG (or ``fmt``: svg, pdf; default from ``path``'s extension) of the daily net flow with
        the ``marked`` largest days labelled; written atomically to ``path`` when given."""
        from lev_flows.present.charts import history_png, save_chart

        return save_chart(lambda f: history_png(self, marked=marked, fmt=f), path, fmt, force=force)


def _as_date(value: dt.date | str | None, name: str) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{name}: {value!r} is not a date (expected YYYY-MM-DD)") from None


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


def history(
    universe: Universe,
    closes: pd.DataFrame,
    *,
    start: dt.date | str | None = None,
    end: dt.date | str | None = None,
    top_stocks: int = 10,
    observations: pd.DataFrame | None = None,
    pit: PointInTime | None = None,
    min_weight: float = 0.5,
    exclude_etns: bool = False,
) -> HistoryResult:
    """Estimated rebalancing flows for every trading day of ``closes`` in ``start .. end``.

    ``closes`` is a wide close table (dates x tickers, e.g. :func:`lev_flows.inputs.prices.load_price_dir`)
    with the funds' own prices; ``observations`` the store's AUM observations
    (:func:`lev_flows.inputs.store.load_best_observations`; None = the catalog's AUM only). Per day and
    fund: ``A_t * L * (L - 1) * r_t`` with ``A_t`` and ``r_t`` from
    :func:`lev_flows.model.pointintime.point_in_time` computed over the whole table, so the figure of
    a day never depends on where the range starts. ``pit`` reuses one already computed.
    ``exclude_etns`` leaves the exchange-traded notes out (as :func:`lev_flows.model.estimate`).
    """
    start, end = _as_date(start, "--start"), _as_date(end, "--end")
    c = compiled(universe)
    _window(closes, start, end)  # range checks with clear errors
    if pit is None:
        pit = point_in_time(universe, closes, observations, min_weight=min_weight)
    lo = int(pit.sessions.searchsorted(pd.Timestamp(start))) if start else 0
    hi = int(pit.sessions.searchsorted(pd.Timestamp(end), side="right")) if end else len(pit.sessions)
    if hi - lo < 1:
        raise InputError(f"history: no session between {start} and {end}")
    dates = pit.sessions[lo:hi]
    keep = np.where(c.fund_structures == "ETN", np.nan, 1.0) if exclude_etns else np.ones(len(c.tickers))
    aum_t = pit.aum_usd[lo:hi] * keep
    fund_r = pit.underlying_return[lo:hi]
    # weekly / monthly / quarterly funds trade on their reset close only, on the period's return
    flows = scheduled_rebalance_usd(pit.rebalance_aum[lo:hi] * keep, c.leverage, pit.rebalance_return[lo:hi], pit.resets[lo:hi])  # (T, F)

    aum0 = np.nan_to_num(aum_t, nan=0.0)
    with_return = np.where(np.isfinite(fund_r), aum0, 0.0).sum(axis=1)
    total_aum = aum0.sum(axis=1)
    gaps = np.asarray(pit.median_gap())[lo:hi]
    daily = pd.DataFrame(
        {
            "rebalance_usd": np.nansum(flows, axis=1),
            "gross_rebalance_usd": np.nansum(np.abs(flows), axis=1),
            "aum_usd": total_aum,
            "aum_with_return": np.divide(with_return, total_aum, out=np.zeros_like(total_aum), where=total_aum > 0),
            "aum_median_gap": gaps,
            "funds_launched": pit.launched[lo:hi].sum(axis=1),
        },
        index=dates,
    )
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
        "AUM point in time (observations carried by each fund's price, AUM ~ price^0.75 long, ^0.15 inverse); "
        f"median gap {np.nanmedian(gaps):.0f} sessions; "
        f"{stale} of {len(dates)} days over {MAX_MEDIAN_GAP}"
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
