"""Monte Carlo: the distribution of the next close's rebalancing flow.

The rebalance is linear in the underlying returns, so for a catalog and its AUM it is one dot
product per scenario::

    flow(scenario) = sum_u r_u * s_u,    s_u = sum_{daily funds on u} A * L * (L - 1)   (USD)

Scenarios of the joint returns ``r`` (one value per underlying) come from the ``lookback``
sessions that end on the estimate date ``end`` (nothing after it is used), prepared the way a
risk manager would sign:

* **demeaned**: each underlying's mean over the window is taken out (a two-year drift is not a
  forecast for one day);
* **volatility scaled to today's regime** (``vol="ewma"``, filtered historical simulation):
  each day's return is divided by that day's EWMA volatility and multiplied by the EWMA
  forecast for the next session, ``sigma2_t = lam * sigma2_{t-1} + (1 - lam) * r_{t-1}^2``
  (RiskMetrics, ``lam = 0.94``); ``vol="none"`` keeps the raw (demeaned) days;
* **every asset class**: an underlying's return is its own price, tracking ETF or composition,
  else its largest fund's change / L (Treasuries, gold, miners, crypto, single stocks all have
  fund prices); only underlyings with a return on every day of the window take part, and the
  share of ``sum |s_u|`` they carry is reported per asset class, never filled with zeros;
* **conditioned on the day so far** (``given={"NDX": -0.02}``): the given underlyings are fixed
  at their move and the others drawn as ``r_o = b (v - mu_g) + e`` with ``b = C_og C_gg^-1``
  (the regression on the given ones over the window) and ``e`` the window's residuals
  (bootstrap) or their normal law.

``bootstrap`` draws whole (scaled) days with replacement, keeping the co-movement of Nasdaq,
semis and single stocks as it happened; ``normal`` draws from a multivariate normal with the
scaled days' covariance. A tail quantile of ``lookback`` days rests on a handful of them (the
1 % quantile of 500 days is about the 5th worst day), so each quantile of the total comes with
a bootstrap confidence interval: the window's days resampled ``n_ci`` times, the quantile
recomputed each time (``total_lo`` / ``total_hi``, 90 % by default).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from lev_flows.errors import InputError
from lev_flows.inputs.catalog import Universe
from lev_flows.inputs.plausibility import check_move
from lev_flows.model.estimate import compiled
from lev_flows.model.formula import scheduled_rebalance_usd
from lev_flows.model.returns import daily_returns, underlying_return_matrix

if TYPE_CHECKING:  # pragma: no cover
    from lev_flows.model.pointintime import PointInTime

DEFAULT_QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
METHODS = ("bootstrap", "normal")
VOL_METHODS = ("ewma", "none")
#: RiskMetrics' daily decay
EWMA_LAMBDA = 0.94


@dataclass(frozen=True)
class MonteCarloResult:
    """``totals`` (n,) simulated total rebalance (USD); ``quantiles`` (q x [total, total_lo,
    total_hi, buckets...]): each quantile of the total with its bootstrap confidence band;
    ``coverage`` the share of ``sum |s_u|`` simulated, ``coverage_by_class`` per asset class;
    ``left_out`` the underlyings without a full history in the window, largest first; ``vol``
    how the days were scaled; ``given`` the moves conditioned on."""

    totals: np.ndarray
    quantiles: pd.DataFrame
    sensitivity: pd.DataFrame
    method: str
    lookback: int
    window: tuple[str, str]
    coverage: float
    left_out: list[tuple[str, float]]
    coverage_by_class: pd.DataFrame | None = None
    vol: str = "none"
    given: dict[str, float] | None = None
    ci_level: float = 0.90

    def plot(self, path: str | None = None, *, force: bool = False, fmt: str | None = None):
        """Histogram of the totals with the quantiles marked, as a matplotlib Figure; written
        atomically to ``path`` when given, as PNG, SVG or PDF (from the extension, or ``fmt``;
        an existing file needs ``force=True``)."""
        from lev_flows.present.charts import montecarlo_figure, save_figure

        return save_figure(montecarlo_figure(self), path, fmt, force=force)


def sensitivity_by_underlying(universe: Universe, aum_usd: np.ndarray | None = None) -> np.ndarray:
    """``s_u = sum A * L * (L - 1)`` over daily funds with AUM on each underlying (USD per 1.0
    move); ``aum_usd`` (F,) replaces the catalog AUM (e.g. point in time)."""
    c = compiled(universe)
    aum = c.aum_usd if aum_usd is None else np.asarray(aum_usd, dtype=float)
    per_fund = scheduled_rebalance_usd(np.nan_to_num(aum), c.leverage, 1.0, c.resets_daily)
    return np.bincount(c.fund_underlying, weights=per_fund, minlength=c.n_underlyings)


def ewma_scale(hist: np.ndarray, lam: float = EWMA_LAMBDA, warmup: int = 20) -> np.ndarray:
    """Filtered historical simulation: ``hist`` (T, K) demeaned returns rescaled day by day to
    the EWMA volatility forecast for the session after the window, ``r_t * sigma_{T+1} /
    sigma_t`` with ``sigma2_t = lam sigma2_{t-1} + (1 - lam) r_{t-1}^2`` started at the
    variance of the first ``warmup`` days."""
    T = len(hist)
    var = np.empty((T + 1, hist.shape[1]))
    var[0] = np.mean(hist[: max(2, min(warmup, T))] ** 2, axis=0)
    for t in range(T):  # a recursion over days (K columns at once)
        var[t + 1] = lam * var[t] + (1.0 - lam) * hist[t] ** 2
    sigma = np.sqrt(np.maximum(var, 1e-18))
    return hist * (sigma[-1] / sigma[:-1])


def _quantile_ci(day_flows: np.ndarray, q: np.ndarray, method: str, rng, n_ci: int, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Confidence band of each quantile of the flow from resampling the window's days."""
    T = len(day_flows)
    idx = rng.integers(0, T, size=(n_ci, T))
    sample = day_flows[idx]  # (n_ci, T)
    if method == "bootstrap":
        reps = np.quantile(sample, q, axis=1).T  # (n_ci, Q)
    else:
        from statistics import NormalDist

        z = np.array([NormalDist().inv_cdf(float(x)) for x in q])
        reps = sample.mean(axis=1)[:, None] + sample.std(axis=1, ddof=1)[:, None] * z[None, :]
    tail = (1.0 - level) / 2.0
    return np.quantile(reps, tail, axis=0), np.quantile(reps, 1.0 - tail, axis=0)


def monte_carlo(
    universe: Universe,
    closes: pd.DataFrame,
    *,
    n: int = 100_000,
    method: str = "bootstrap",
    lookback: int = 500,
    end: str | dt.date | None = None,
    seed: int | None = 0,
    quantiles: tuple[float, ...] = DEFAULT_QUANTILES,
    chunk: int = 20_000,
    aum_usd: np.ndarray | None = None,
    vol: str = "ewma",
    lam: float = EWMA_LAMBDA,
    given: dict[str, float] | None = None,
    n_ci: int = 500,
    ci_level: float = 0.90,
    exclude_etns: bool = False,
    observations: pd.DataFrame | str | None = "store",
    db: str | Path | None = None,
    pit: PointInTime | None = None,
) -> MonteCarloResult:
    """Simulate ``n`` scenarios of the next close's total rebalance (see the module doc).

    ``closes`` is a wide close table with the funds' own prices; the window is the last
    ``lookback`` sessions up to ``end`` (the estimate date). ``aum_usd`` (F,): the AUM the
    scenarios apply to; by default the point-in-time net assets at the close of ``end`` from
    ``observations`` (``"store"``: the store's, at ``db`` or ``$LEV_FLOWS_DB``, as
    ``lev-flows montecarlo``; a frame; ``pit`` reuses a point in time already computed), ``end``
    defaulting to the last session with the funds' own prices; with ``observations=None``, the
    catalog's AUM and the table's last day. ``given``: moves (fractions) of underlyings already
    known today. ``exclude_etns`` leaves the notes out. A fixed ``seed`` makes the draw
    reproducible. Amounts in USD, + = buying at the close.

    >>> from lev_flows import load_universe
    >>> from lev_flows.inputs.prices import load_price_dir
    >>> mc = monte_carlo(load_universe(), load_price_dir("../shared/data/prices"), n=20_000, given={"NDX": -0.02})
    >>> print(mc.window[1], f'{mc.quantiles.loc[0.5, "total"] / 1e9:.1f}B')     # as `lev-flows montecarlo --given NDX=-2`
    2026-08-03 -15.3B
    """
    closes, end = _check_arguments(universe, closes, n=n, lookback=lookback, end=end, seed=seed, chunk=chunk, n_ci=n_ci,
                                   ci_level=ci_level, lam=lam, given=given, exclude_etns=exclude_etns)
    _check_options(method, vol, n, lookback, lam)
    if aum_usd is None and (observations is not None or pit is not None):
        aum_usd, end = _aum_at_close(universe, closes, end, observations, db, pit)
    table = closes if end is None else closes.loc[: pd.Timestamp(end)]
    if end is not None and (table.empty or table.index[-1] != pd.Timestamp(end)):
        raise InputError(f"monte carlo: {pd.Timestamp(end).date()} is not a session of the price table")
    window = table.iloc[-(lookback + 1) :]
    if len(window) < lookback + 1:
        raise InputError(f"monte carlo: the price table has only {len(window) - 1} session{'' if len(window) == 2 else 's'} before {end or 'its end'}")
    c = compiled(universe)
    day_r = daily_returns(window)
    m = underlying_return_matrix(universe, day_r, fund_returns=day_r)
    aum = c.aum_usd if aum_usd is None else np.asarray(aum_usd, dtype=float)
    if exclude_etns:
        aum = np.where(c.fund_structures == "ETN", np.nan, aum)
    sens = sensitivity_by_underlying(universe, aum)
    full = np.isfinite(m.values).all(axis=0)
    given = _check_given(c, given, full)
    g_idx = np.array([list(map(str, c.underlying_ids)).index(k) for k in given], dtype=np.int64)
    used = full & ((sens != 0) | np.isin(np.arange(c.n_underlyings), g_idx))
    if not used.any():
        raise InputError("monte carlo: no underlying with funds has a return on every day of the window")
    coverage, left_out, coverage_by_class = _coverage(c, sens, full, used)
    cols = np.flatnonzero(used)
    hist = m.values[:, cols]  # (T, K)
    mu = hist.mean(axis=0)
    hist = hist - mu  # demeaned
    if vol == "ewma":
        hist = ewma_scale(hist, lam)
    s = sens[cols]
    buckets, code = np.unique(c.underlying_bucket[cols].astype(str), return_inverse=True)
    bucket_sens = np.zeros((len(s), len(buckets)))
    bucket_sens[np.arange(len(s)), code] = s  # (K, B): flow of each bucket per unit move
    v_given = np.array([given[str(c.underlying_ids[j])] for j in cols[np.isin(cols, g_idx)]])
    fixed, draw = _condition(hist, mu, np.isin(cols, g_idx), v_given)
    base = fixed @ bucket_sens  # (B,) the known part of each bucket's flow
    rng = np.random.default_rng(seed)
    by_bucket = _scenarios(draw, bucket_sens, base, n, method, rng, chunk)
    totals = by_bucket.sum(axis=1)
    q = np.asarray(quantiles, dtype=float)
    order = np.argsort(-np.abs(bucket_sens.sum(axis=0)), kind="stable")
    table_q = pd.DataFrame(np.quantile(by_bucket, q, axis=0), index=q, columns=buckets).iloc[:, order]
    lo_ci, hi_ci = _quantile_ci(draw @ s, q, method, rng, n_ci, ci_level)
    known = float(base.sum())
    table_q.insert(0, "total_hi", known + hi_ci)
    table_q.insert(0, "total_lo", known + lo_ci)
    table_q.insert(0, "total", np.quantile(totals, q))
    table_q.index.name = "quantile"
    sens_df = pd.DataFrame({"bucket": buckets, "usd_per_1pct": bucket_sens.sum(axis=0) * 0.01}).iloc[order]
    return MonteCarloResult(
        totals=totals, quantiles=table_q, sensitivity=sens_df.reset_index(drop=True), method=method, lookback=lookback,
        window=(m.dates[0].date().isoformat(), m.dates[-1].date().isoformat()), coverage=coverage, left_out=left_out,
        coverage_by_class=coverage_by_class,
        vol=f"EWMA lambda {lam:g} (today's volatility / each day's)" if vol == "ewma" else "none (raw days)",
        given=given, ci_level=ci_level,
    )


def _check_arguments(universe: Universe, closes: pd.DataFrame, *, n, lookback, end, seed, chunk, n_ci, ci_level, lam,
                     given, exclude_etns) -> tuple[pd.DataFrame, dt.date | None]:
    """The arguments' types, each an InputError naming it: whole numbers (``n=2000.5`` is not a
    count of scenarios), a finite ``ci_level`` and ``lam``, a date, a mapping of moves, a bool."""
    from lev_flows.inputs.args import (
        closes_arg,
        date_arg,
        flag_arg,
        mapping_arg,
        real_number,
        universe_arg,
        whole_number,
    )

    universe_arg(universe, "monte_carlo")
    whole_number(n, "monte_carlo: n")  # its range, and lookback's: _check_options
    whole_number(lookback, "monte_carlo: lookback")
    whole_number(chunk, "monte_carlo: chunk", 1)
    whole_number(n_ci, "monte_carlo: n_ci", 1)
    if seed is not None:
        whole_number(seed, "monte_carlo: seed", 0)
    real_number(ci_level, "monte_carlo: ci_level", 0.0, 1.0)
    real_number(lam, "monte_carlo: lam")
    mapping_arg(given, "monte_carlo: given", optional=True)
    flag_arg(exclude_etns, "monte_carlo: exclude_etns")
    return closes_arg(closes, "monte_carlo: closes"), date_arg(end, "monte_carlo: end", optional=True)


def _aum_at_close(universe: Universe, closes: pd.DataFrame, end: dt.date | None, observations, db, pit) -> tuple[np.ndarray, dt.date]:
    """The point-in-time net assets (F,) at the close of ``end`` (default: the last session with
    the funds' own prices, as the CLI) and that session."""
    from lev_flows.analysis.history import observations_arg
    from lev_flows.model.pointintime import point_in_time

    if pit is None:
        pit = point_in_time(universe, closes, observations_arg(observations, db, "monte_carlo"))
    row = pit.row(end) if end is not None else pit.last_complete_row()
    return pit.aum_close[row], pit.sessions[row].date()


def _check_options(method: str, vol: str, n: int, lookback: int, lam: float) -> None:
    if method not in METHODS:
        raise InputError(f"monte carlo: method must be one of {', '.join(METHODS)}, not {method!r}")
    if vol not in VOL_METHODS:
        raise InputError(f"monte carlo: vol must be one of {', '.join(VOL_METHODS)}, not {vol!r}")
    if not 1 <= n <= 10_000_000:
        raise InputError(f"monte carlo: scenarios must be between 1 and 10,000,000, not {n}")
    if lookback < 20:
        raise InputError(f"monte carlo: a lookback of {lookback} sessions is too short (20 or more)")
    if not 0.5 <= lam < 1:
        raise InputError(f"monte carlo: the EWMA lambda must be in [0.5, 1), not {lam}")


def _check_given(c, given: dict[str, float] | None, full: np.ndarray) -> dict[str, float]:
    """``--given`` moves (fractions) by underlying id, checked: a known underlying, a possible
    move, a return on every day of the window to condition on."""
    given = {str(k).upper(): float(v) for k, v in (given or {}).items()}
    ids = {str(u): j for j, u in enumerate(c.underlying_ids)}
    for k, v in given.items():
        if k not in ids:
            raise InputError(f"monte carlo: --given {k}: not an underlying of the catalog")
        if not (np.isfinite(v) and -1 < v < 10):
            raise InputError(f"monte carlo: --given {k}: a move of {v:+.1%} is not possible")
        check_move(c, k, v, "monte carlo: --given")
        if not full[ids[k]]:
            raise InputError(f"monte carlo: --given {k}: no return on every day of the window to condition on")
    return given


def _coverage(c, sens: np.ndarray, full: np.ndarray, used: np.ndarray) -> tuple[float, list[tuple[str, float]], pd.DataFrame]:
    """The share of the gross sensitivity simulated, what is left out (largest first) and the
    share simulated by asset class."""
    gross = np.abs(sens).sum()
    coverage = float(np.abs(sens[used]).sum() / gross) if gross else 0.0
    missing = np.flatnonzero(~full & (sens != 0))
    left_out = sorted(((str(c.underlying_ids[j]), float(sens[j])) for j in missing), key=lambda kv: -abs(kv[1]))
    classes = c.underlying_asset_class.astype(str)
    rows = []
    for cls in sorted(set(classes[sens != 0])):
        in_cls = (classes == cls) & (sens != 0)
        tot = np.abs(sens[in_cls]).sum()
        rows.append({"asset_class": cls, "usd_per_1pct": float(sens[in_cls].sum() * 0.01),
                     "simulated": float(np.abs(sens[in_cls & used]).sum() / tot) if tot else np.nan})
    by_class = pd.DataFrame(rows).sort_values("usd_per_1pct", key=np.abs, ascending=False).reset_index(drop=True)
    return coverage, left_out, by_class


def _condition(hist: np.ndarray, mu: np.ndarray, is_given: np.ndarray, v_given: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Conditioning on the moves already known: the others are their regression on the given ones
    plus the window's residuals, ``r_o = b v + e``, with the given ones fixed at ``v`` (the
    window is demeaned, so ``v - mu_g``). Returns the fixed part of each return (K,) and the days
    to draw from (T, K); with nothing given, zeros and the window itself."""
    fixed = np.zeros(hist.shape[1])
    if not is_given.any():
        return fixed, hist
    v = v_given - mu[is_given]
    hg = hist[:, is_given]
    b, *_ = np.linalg.lstsq(hg, hist[:, ~is_given], rcond=None)  # (G, O)
    fixed[is_given] = v + mu[is_given]
    fixed[~is_given] = v @ b + mu[~is_given]
    draw = np.zeros_like(hist)
    draw[:, ~is_given] = hist[:, ~is_given] - hg @ b  # residuals
    return fixed, draw


def _scenarios(draw: np.ndarray, bucket_sens: np.ndarray, base: np.ndarray, n: int, method: str, rng, chunk: int) -> np.ndarray:
    """``n`` scenarios of each bucket's flow (n, B), in chunks: whole days drawn from the window
    (bootstrap) or a multivariate normal with its covariance."""
    k = draw.shape[1]
    if method == "normal":
        cov = np.cov(draw, rowvar=False).reshape(k, k)
        vals, vecs = np.linalg.eigh(cov)
        root = vecs * np.sqrt(np.clip(vals, 0.0, None))  # cov = root @ root.T, PSD-safe
    by_bucket = np.empty((n, bucket_sens.shape[1]))
    for lo in range(0, n, chunk):
        size = min(chunk, n - lo)
        scen = draw[rng.integers(0, len(draw), size)] if method == "bootstrap" else rng.standard_normal((size, k)) @ root.T
        by_bucket[lo : lo + size] = base + scen @ bucket_sens
    return by_bucket


__all__ = ["monte_carlo", "MonteCarloResult", "sensitivity_by_underlying", "ewma_scale", "DEFAULT_QUANTILES", "EWMA_LAMBDA"]
