"""The scorecard: our point-in-time estimate of each day beside the figures desks published.

The published file (``../shared/data/reference/published_flow_estimates.csv`` or a user's file
in the same format) has ``date, estimate_usd, scope, basis, source, url`` (USD, + = buying).
Each day is estimated with :func:`lev_flows.model.day.estimate_day` (close-to-close, every fund in
the catalog, AUM point in time), so the scorecard shows the same number as ``estimate --date``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from lev_flows.errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    from lev_flows.model.day import Inputs

PUBLISHED_FILE = Path("../shared/data/reference/published_flow_estimates.csv")
REQUIRED = ("date", "estimate_usd", "scope", "basis", "source")


def read_published(path: str | Path) -> pd.DataFrame:
    """Validate a published-estimates file; errors name the file, line and field."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: file not found" if not path.exists() else f"{path}: not a regular file")
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot parse CSV ({str(exc).splitlines()[0]})") from None
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(missing)} (expected {', '.join(REQUIRED)}, url)")
    if df.empty:
        raise InputError(f"{path}: no rows")
    dates = pd.to_datetime(df["date"], errors="coerce", format="%Y-%m-%d")
    usd = pd.to_numeric(df["estimate_usd"], errors="coerce")
    for i in range(len(df)):
        if pd.isna(dates.iat[i]):
            raise InputError(f"{path}: line {i + 2}: date {df['date'].iat[i]!r} is not YYYY-MM-DD")
        if not np.isfinite(usd.iat[i]):
            raise InputError(f"{path}: line {i + 2}: estimate_usd {df['estimate_usd'].iat[i]!r} is not a number")
    out = df.assign(date=dates.dt.date, estimate_usd=usd)
    if "url" not in out.columns:
        out["url"] = ""
    return out


def scorecard(published: pd.DataFrame, inputs: "Inputs", *, exclude_etns: bool = False) -> pd.DataFrame:
    """One row per published figure: ``published_usd``, ``ours_usd`` (all funds),
    ``ours_equity_usd`` (equity funds), ``ratio`` (ours / published), our AUM coverage and the
    AUM-weighted median gap (sessions) to an AUM observation. Days outside the price table get
    NaN and a ``note``."""
    from lev_flows.model.day import estimate_day

    cache: dict = {}
    rows = []
    for r in published.itertuples(index=False):
        note = ""
        if r.date not in cache:
            try:
                cache[r.date] = estimate_day(r.date, inputs=inputs, exclude_etns=exclude_etns)
            except InputError as exc:
                cache[r.date] = exc
        est = cache[r.date]
        if isinstance(est, InputError):
            ours = equity = priced = gap = np.nan
            note = str(est)
        else:
            ours, equity = est.total.rebalance_usd, est.total.equity_rebalance_usd
            priced, gap = est.coverage.aum_with_return, est.coverage.aum_median_gap_sessions
        rows.append(
            {
                "date": r.date,
                "source": r.source,
                "published_basis": r.basis,
                "scope": r.scope,
                "published_usd": r.estimate_usd,
                "ours_usd": ours,
                "ours_equity_usd": equity,
                "ratio": ours / r.estimate_usd if r.estimate_usd else np.nan,
                "aum_priced": priced,
                "aum_median_gap": np.nan if gap is None else gap,
                "note": note,
            }
        )
    return pd.DataFrame(rows)


def published_for(est, path: str | Path = PUBLISHED_FILE) -> pd.DataFrame | None:
    """The published figures of an estimate's day beside it (the scorecard rows of one day),
    or None when the file is not there or has nothing for that day."""
    path = Path(path)
    if est.date is None or not path.is_file():
        return None
    rows = read_published(path)
    rows = rows[rows["date"] == est.date]
    if rows.empty:
        return None
    ours = est.total.rebalance_usd
    return rows.assign(published_usd=rows["estimate_usd"], published_basis=rows["basis"], ours_usd=ours,
                       ratio=ours / rows["estimate_usd"])


__all__ = ["read_published", "scorecard", "published_for", "PUBLISHED_FILE"]
