"""History: a daily series of estimated rebalancing flows over a price range, and a check of
the funds' own returns against ``L x`` their underlying's.

AUM is known only on the catalog's as-of date, so each fund's AUM on other days is rolled
forward and back with its own performance::

    A_t = A_0 * prod_{s = t0}^{t-1} (1 + L * r_s)            (t after the as-of day t0)
    A_t = A_0 / prod_{s = t}^{t0 - 1} (1 + L * r_s)          (t before it)

where ``A_0`` is the catalog AUM, read as the fund's net assets at the start of its as-of day
(a screener snapshot taken during the session reports the previous close). Shares outstanding
are held constant, so creations and redemptions between the as-of date and ``t`` are not in
``A_t``: the series is an estimate and says so. Held for years, that assumption breaks down
for inverse funds, whose AUM in fact stays roughly level while their price decays (their
share count grows through creations and reverse splits): a -3x semiconductor fund rolled back
two years would start 2024 with $95B. So the roll is bounded by default, ``A_0 / max_roll
<= A_t <= A_0 * max_roll`` (``max_roll = 3``), and the share of fund-days at the bound is
reported; ``max_roll=None`` gives the pure roll, ``aum="constant"`` holds ``A_t = A_0``.
Days on which a fund's underlying has no return keep its AUM flat and leave its flow out
(NaN), reported as coverage.

Everything is array arithmetic over (days x funds); there is no loop over days.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .catalog import Universe
from .errors import InputError
from .estimate import compiled
from .formula import scheduled_rebalance_usd
from .lookthrough import stock_flow_matrix
from .returns import ReturnMatrix, daily_returns, underlying_return_matrix

AUM_NOTES = {
    "rolled": "estimate: AUM rolled from the catalog as-of date with each fund's performance "
    "(shares held constant, creations not included), bounded at {bound}",
    "constant": "estimate: every day uses the catalog AUM (constant dollars)",
}


@dataclass(frozen=True)
class HistoryResult:
    """Daily flows (USD, positive = buy at the close) from :func:`history`.

    * ``daily``: one row per trading day: ``rebalance_usd`` (net), ``gross_rebalance_usd``,
      ``aum_usd`` (rolled, funds with AUM), ``aum_with_return`` (share of that AUM whose
      underlying had a return that day);
    * ``by_index``: days x index buckets (rebalance USD);
    * ``top_stocks``: days x the stocks with the largest total absolute flow over the range;
    * ``aum_usd``: days x funds, the rolled start-of-day AUM behind the flows;
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
    bounded_share: float = 0.0

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

    def plot(self, path: str | None = None, *, marked: int = 5, force: bool = False) -> bytes:
        """PNG of the daily net flow with the ``marked`` largest days labelled."""
        from .report import atomic_write_bytes, history_png

        png = history_png(self, marked=marked)
        if path is not None:
            atomic_write_bytes(path, png, force=force)
        return png


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


def roll_aum(
    aum_usd: np.ndarray,
    leverage: np.ndarray,
    fund_return_underlying: np.ndarray,
    dates: pd.DatetimeIndex,
    as_of: Sequence[dt.date | None],
    max_roll: float | None = None,
) -> np.ndarray:
    """Start-of-day AUM (T, F) rolled from each fund's as-of day with ``1 + L * r``.

    ``fund_return_underlying`` is (T, F), the underlying return of each fund's day (NaN =
    unknown: AUM held flat that day). An as-of date before the first day anchors at the
    first day; after the last, at the last (a stated approximation). With ``max_roll`` the
    result is kept within ``aum / max_roll .. aum * max_roll``.
    """
    growth = 1.0 + leverage * np.nan_to_num(fund_return_underlying, nan=0.0)
    if np.any(growth <= 0):
        t, f = np.argwhere(growth <= 0)[0]
        raise InputError(
            f"history: fund #{f} (leverage {leverage[f]:g}) would lose 100% or more on {dates[t].date()} "
            f"(underlying {fund_return_underlying[t, f]:+.1%}); check the prices for that day"
        )
    # nav[k] = NAV index at the start of day k (k = 0..T), 1 before the first day
    log_nav = np.vstack([np.zeros((1, growth.shape[1])), np.cumsum(np.log(growth), axis=0)])
    anchor = np.array(
        [dates.searchsorted(pd.Timestamp(d)) if d is not None else 0 for d in as_of], dtype=np.int64
    )
    anchor = np.clip(anchor, 0, len(dates) - 1)
    cols = np.arange(growth.shape[1])
    factor = np.exp(log_nav[:-1] - log_nav[anchor, cols])
    if max_roll is not None:
        factor = np.clip(factor, 1.0 / max_roll, max_roll)
    return aum_usd * factor


def history(
    universe: Universe,
    closes: pd.DataFrame,
    *,
    start: dt.date | str | None = None,
    end: dt.date | str | None = None,
    top_stocks: int = 10,
    aum: str = "rolled",
    max_roll: float | None = 3.0,
    min_weight: float = 0.5,
) -> HistoryResult:
    """Estimated rebalancing flows for every trading day of ``closes`` in ``start .. end``.

    ``closes`` is a wide close table (dates x tickers, e.g. :func:`lev_flows.returns.load_price_dir`);
    fund tickers in it serve as the last-resort return source (change / L), as in
    :func:`lev_flows.returns.returns_from_prices`, so a day of the history equals the one-day
    estimate with the same AUM. Per day and fund: ``A_t * L * (L - 1) * r_t`` with ``A_t`` from
    :func:`roll_aum` (``aum="rolled"``, bounded by ``max_roll``) or the catalog AUM
    (``aum="constant"``).
    """
    if aum not in AUM_NOTES:
        raise InputError(f"history: aum must be one of {', '.join(AUM_NOTES)}, not {aum!r}")
    if max_roll is not None and not max_roll >= 1:
        raise InputError(f"history: max_roll must be 1 or more, not {max_roll}")
    start, end = _as_date(start, "--start"), _as_date(end, "--end")
    c = compiled(universe)
    window = _window(closes, start, end)
    day_r = daily_returns(window)
    m = underlying_return_matrix(universe, day_r, fund_returns=day_r, min_weight=min_weight)
    fund_r = m.values[:, c.fund_underlying]  # (T, F)
    if aum == "rolled":
        as_of = [f.aum_as_of for f in universe.funds]
        free = roll_aum(c.aum_usd, c.leverage, fund_r, m.dates, as_of)
        aum_t = roll_aum(c.aum_usd, c.leverage, fund_r, m.dates, as_of, max_roll)
        with np.errstate(invalid="ignore"):
            bounded = float(np.mean(np.abs(free - aum_t)[:, ~np.isnan(c.aum_usd)] > 1e-6 * np.abs(free[:, ~np.isnan(c.aum_usd)])))
        note = AUM_NOTES[aum].format(bound="nothing" if max_roll is None else f"1/{max_roll:g}x .. {max_roll:g}x the catalog AUM")
    else:
        aum_t, bounded, note = np.broadcast_to(c.aum_usd, fund_r.shape).copy(), 0.0, AUM_NOTES[aum]
    flows = scheduled_rebalance_usd(aum_t, c.leverage, fund_r, c.resets_daily)  # (T, F)

    has_aum = ~np.isnan(c.aum_usd)
    aum0 = np.where(has_aum, aum_t, 0.0)
    with_return = np.where(np.isfinite(fund_r), aum0, 0.0).sum(axis=1)
    total_aum = aum0.sum(axis=1)
    daily = pd.DataFrame(
        {
            "rebalance_usd": np.nansum(flows, axis=1),
            "gross_rebalance_usd": np.nansum(np.abs(flows), axis=1),
            "aum_usd": total_aum,
            "aum_with_return": np.divide(with_return, total_aum, out=np.zeros_like(total_aum), where=total_aum > 0),
        },
        index=m.dates,
    )
    one_hot = np.zeros((len(c.tickers), c.n_underlyings))
    one_hot[np.arange(len(c.tickers)), c.fund_underlying] = 1.0
    und_flow = np.nan_to_num(flows) @ one_hot  # (T, U)
    buckets, code = np.unique(c.underlying_bucket.astype(str), return_inverse=True)
    bucket_hot = np.zeros((c.n_underlyings, len(buckets)))
    bucket_hot[np.arange(c.n_underlyings), code] = 1.0
    by_index = pd.DataFrame(und_flow @ bucket_hot, index=m.dates, columns=buckets)
    by_index = by_index[by_index.abs().sum().sort_values(ascending=False).index]
    by_index = by_index.loc[:, by_index.abs().sum() > 0]

    stock = stock_flow_matrix(c, und_flow)  # (T, S)
    order = np.argsort(-np.abs(stock).sum(axis=0), kind="stable")[:top_stocks]
    top = pd.DataFrame(stock[:, order], index=m.dates, columns=c.stock_tickers[order])
    return HistoryResult(
        daily=daily,
        by_index=by_index,
        top_stocks=top,
        aum_usd=pd.DataFrame(aum_t, index=m.dates, columns=c.tickers),
        underlying_return=pd.DataFrame(fund_r, index=m.dates, columns=c.tickers),
        rebalance_by_fund=pd.DataFrame(flows, index=m.dates, columns=c.tickers),
        note=note,
        bounded_share=bounded,
    )


# --------------------------------------------------------------------------------------------
# validation: do the funds deliver L x their underlying's daily return?

#: ETFs whose daily return stands in for an index underlying in :func:`tracking`
TRACKING_PROXIES: dict[str, str] = {
    "NDX": "QQQ",
    "SPX": "SPY",
    "RTY": "IWM",
    "SOX": "SOXX",
    "INDU": "DIA",
    "S5INFT": "XLK",
    "S5FINL": "XLF",
    "S5ENRS": "XLE",
    "SPSIBI": "XBI",
    "SPSIRBK": "KRE",
    "FTSECN50": "FXI",
    "MSCIKR": "EWY",
    "UST20": "TLT",
    "GDM": "GDX",
    "GOLD": "GLD",
    "SILVER": "SLV",
}

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


__all__ = ["HistoryResult", "history", "roll_aum", "tracking", "TRACKING_PROXIES", "HEADLINE_FUNDS", "ReturnMatrix"]
