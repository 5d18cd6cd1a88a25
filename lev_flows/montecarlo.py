"""Monte Carlo: the distribution of tomorrow's rebalancing flow.

The rebalance is linear in the underlying returns, so for today's catalog it is one dot
product per scenario::

    flow(scenario) = sum_u r_u * s_u,    s_u = sum_{daily funds on u} A * L * (L - 1)   (USD)

Scenarios of the joint returns ``r`` (one value per underlying) come from history, over the
last ``lookback`` sessions of a close table:

* ``bootstrap``: whole days drawn with replacement, so the co-movement of Nasdaq, semis and
  single stocks on the same day is kept as it happened;
* ``normal``: a multivariate normal with zero mean and the sample covariance of those days.

Only underlyings with a return on every day of the window take part; the share of the total
sensitivity ``sum |s_u|`` they carry is reported as coverage, never filled with zeros.
Scenarios are drawn in chunks of ``chunk`` rows: 100,000 scenarios over ~150 underlyings
run in a fraction of a second.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .catalog import Universe
from .errors import InputError
from .estimate import compiled
from .formula import scheduled_rebalance_usd
from .returns import daily_returns, underlying_return_matrix

DEFAULT_QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
METHODS = ("bootstrap", "normal")


@dataclass(frozen=True)
class MonteCarloResult:
    """``totals`` (n,) simulated total rebalance (USD); ``quantiles`` (q x [total, buckets...]);
    ``coverage`` the share of ``sum |s_u|`` simulated; ``left_out`` the underlyings without a
    full history in the window, largest sensitivity first."""

    totals: np.ndarray
    quantiles: pd.DataFrame
    sensitivity: pd.DataFrame
    method: str
    lookback: int
    window: tuple[str, str]
    coverage: float
    left_out: list[tuple[str, float]]

    def plot(self, path: str | None = None, *, force: bool = False) -> bytes:
        """PNG histogram of the totals with the quantiles marked."""
        from .io import atomic_write_bytes
        from .report import montecarlo_png

        png = montecarlo_png(self)
        if path is not None:
            atomic_write_bytes(path, png, force=force)
        return png


def sensitivity_by_underlying(universe: Universe, aum_usd: np.ndarray | None = None) -> np.ndarray:
    """``s_u = sum A * L * (L - 1)`` over daily funds with AUM on each underlying (USD per 1.0
    move); ``aum_usd`` (F,) replaces the catalog AUM (e.g. point in time)."""
    c = compiled(universe)
    aum = c.aum_usd if aum_usd is None else np.asarray(aum_usd, dtype=float)
    per_fund = scheduled_rebalance_usd(np.nan_to_num(aum), c.leverage, 1.0, c.resets_daily)
    return np.bincount(c.fund_underlying, weights=per_fund, minlength=c.n_underlyings)


def monte_carlo(
    universe: Universe,
    closes: pd.DataFrame,
    *,
    n: int = 100_000,
    method: str = "bootstrap",
    lookback: int = 500,
    end: str | None = None,
    seed: int | None = 0,
    quantiles: tuple[float, ...] = DEFAULT_QUANTILES,
    chunk: int = 20_000,
    aum_usd: np.ndarray | None = None,
) -> MonteCarloResult:
    """Simulate ``n`` scenarios of tomorrow's total rebalance (see the module doc).

    ``closes`` is a wide close table; the window is the last ``lookback`` sessions up to
    ``end`` (default: the table's last day). ``aum_usd`` (F,): the AUM the scenarios apply to
    (the CLI passes the point-in-time net assets at the close of ``end``; default: the
    catalog's). Returns quantiles of the total and of each index
    bucket (columns), a fixed ``seed`` making the draw reproducible.
    """
    if method not in METHODS:
        raise InputError(f"monte carlo: method must be one of {', '.join(METHODS)}, not {method!r}")
    if not 1 <= n <= 10_000_000:
        raise InputError(f"monte carlo: scenarios must be between 1 and 10,000,000, not {n}")
    if lookback < 20:
        raise InputError(f"monte carlo: a lookback of {lookback} sessions is too short (20 or more)")
    table = closes if end is None else closes.loc[:end]
    window = table.iloc[-(lookback + 1) :]
    if len(window) < lookback + 1:
        raise InputError(f"monte carlo: the price table has only {len(window) - 1} sessions before {end or 'its end'}")
    c = compiled(universe)
    m = underlying_return_matrix(universe, daily_returns(window))
    sens = sensitivity_by_underlying(universe, aum_usd)
    full = np.isfinite(m.values).all(axis=0)
    used = full & (sens != 0)
    gross = np.abs(sens).sum()
    coverage = float(np.abs(sens[used]).sum() / gross) if gross else 0.0
    missing = np.flatnonzero(~full & (sens != 0))
    left_out = sorted(((str(c.underlying_ids[j]), float(sens[j])) for j in missing), key=lambda kv: -abs(kv[1]))
    if not used.any():
        raise InputError("monte carlo: no underlying with funds has a return on every day of the window")

    hist = m.values[:, used]  # (T, K)
    s = sens[used]
    buckets, code = np.unique(c.underlying_bucket[used].astype(str), return_inverse=True)
    bucket_sens = np.zeros((len(s), len(buckets)))
    bucket_sens[np.arange(len(s)), code] = s  # (K, B): flow of each bucket per unit move

    rng = np.random.default_rng(seed)
    if method == "normal":
        cov = np.cov(hist, rowvar=False).reshape(len(s), len(s))
        vals, vecs = np.linalg.eigh(cov)
        root = vecs * np.sqrt(np.clip(vals, 0.0, None))  # cov = root @ root.T, PSD-safe
    by_bucket = np.empty((n, len(buckets)))
    for lo in range(0, n, chunk):
        size = min(chunk, n - lo)
        if method == "bootstrap":
            scen = hist[rng.integers(0, len(hist), size)]
        else:
            scen = rng.standard_normal((size, len(s))) @ root.T
        by_bucket[lo : lo + size] = scen @ bucket_sens
    totals = by_bucket.sum(axis=1)
    q = np.asarray(quantiles, dtype=float)
    table_q = pd.DataFrame(np.quantile(by_bucket, q, axis=0), index=q, columns=buckets)
    order = np.argsort(-np.abs(bucket_sens.sum(axis=0)), kind="stable")
    table_q = table_q.iloc[:, order]
    table_q.insert(0, "total", np.quantile(totals, q))
    table_q.index.name = "quantile"
    sens_df = pd.DataFrame({"bucket": buckets, "usd_per_1pct": bucket_sens.sum(axis=0) * 0.01}).iloc[order]
    return MonteCarloResult(
        totals=totals,
        quantiles=table_q,
        sensitivity=sens_df.reset_index(drop=True),
        method=method,
        lookback=lookback,
        window=(m.dates[0].date().isoformat(), m.dates[-1].date().isoformat()),
        coverage=coverage,
        left_out=left_out,
    )


__all__ = ["monte_carlo", "MonteCarloResult", "sensitivity_by_underlying", "DEFAULT_QUANTILES"]
