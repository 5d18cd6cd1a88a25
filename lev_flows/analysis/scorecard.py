"""The scorecard: each published desk figure against ours on the same scope and basis.

A published-figures file has one row per figure: ``date, estimate_usd, scope, basis, time,
source, url, published_scope`` (USD, + = buying). ``scope`` is a key of
:data:`lev_flows.model.scope.SCOPES` (or the desk's own words, read by
:func:`~lev_flows.model.scope.scope_from_text`), ``basis`` is ``close`` (made from closing
prices, after the close), ``intraday`` (made before the close, on intraday levels) or
``unstated``; ``time`` says when in the day the desk made it, ``published_scope`` what the
desk said it covers. The package ships the curated copy (``lev_flows/data/
published_flow_estimates.csv``, written by ``lev-flows reference build`` from
``../shared/data/reference/published_flow_estimates.csv`` and the figures added in
:data:`lev_flows.jobs.reference.PUBLISHED_ADDED`); the raw shared file reads too.

Each figure is compared with our point-in-time estimate of its day
(:func:`lev_flows.model.day.estimate_day`) **on its scope** (the scope's total,
:func:`lev_flows.model.scope.scope_total`) **and its basis**: a published intraday figure is
compared with our intraday estimate where intraday prices exist (the 14:43 snapshot of
2026-02-04, the built-in replay's); otherwise it is shown against our close-to-close figure,
marked ``close-to-close vs intraday`` and left out of the hit rate, as is a figure whose basis
is not stated. Beside it: our all-funds figure on the same basis, the "$ per 1 % move" and the
day's dispersion (:func:`lev_flows.analysis.whatif.sensitivity_of_day`).

The hit rate counts a comparable figure inside our p10-p90 error band on its scope (every fund
of the scope at the low and at the high end of its AUM interval, :mod:`lev_flows.model.band`);
where the estimate carries no band it is n/a, never a guess.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from lev_flows.errors import InputError
from lev_flows.model.scope import (
    SCOPES,
    basis_from_text,
    check_scope,
    scope_from_text,
    scope_total,
)

if TYPE_CHECKING:  # pragma: no cover
    from lev_flows.model.day import Inputs
    from lev_flows.model.estimate import FlowEstimate

#: the curated copy the package ships (``lev-flows reference build`` writes it)
PUBLISHED_FILE = Path(str(resources.files("lev_flows").joinpath("data/published_flow_estimates.csv")))
#: the raw public file it is built from
SHARED_PUBLISHED_FILE = Path("../shared/data/reference/published_flow_estimates.csv")
REQUIRED = ("date", "estimate_usd", "scope", "basis", "source")
COLUMNS = ("date", "estimate_usd", "scope", "basis", "time", "source", "url", "published_scope")


def read_published(path: str | Path) -> pd.DataFrame:
    """Validate a published-figures file (see the module doc) -> a frame with the
    :data:`COLUMNS`, ``scope`` a key of :data:`SCOPES` and ``basis`` one of close / intraday /
    unstated. Errors name the file, line and field."""
    import io

    from lev_flows.io import read_input_bytes

    path = Path(path)
    raw = read_input_bytes(path, "published-estimates file", kind="published figures")  # regular, within the limits
    try:
        df = pd.read_csv(io.BytesIO(raw), dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot parse CSV ({str(exc).splitlines()[0]})") from None
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(missing)} (expected {', '.join(COLUMNS)})")
    if df.empty:
        raise InputError(f"{path}: no rows")
    dates = pd.to_datetime(df["date"], errors="coerce", format="%Y-%m-%d")
    usd = pd.to_numeric(df["estimate_usd"], errors="coerce")
    scopes, bases = [], []
    for i in range(len(df)):
        line = f"{path}: line {i + 2}"
        if pd.isna(dates.iat[i]):
            raise InputError(f"{line}: date {df['date'].iat[i]!r} is not YYYY-MM-DD")
        if not np.isfinite(usd.iat[i]):
            raise InputError(f"{line}: estimate_usd {df['estimate_usd'].iat[i]!r} is not a number")
        try:
            scopes.append(scope_from_text(df["scope"].iat[i]))
            bases.append(basis_from_text(df["basis"].iat[i]))
        except InputError as exc:
            raise InputError(f"{line}: {exc}") from None
    out = df.assign(date=dates.dt.date, estimate_usd=usd, scope=scopes, basis=bases)
    out["time"] = df["time"] if "time" in df.columns else df["basis"]
    out["published_scope"] = df["published_scope"] if "published_scope" in df.columns else df["scope"]
    if "url" not in out.columns:
        out["url"] = ""
    return out[list(COLUMNS)]


def intraday_estimate(date, inputs: "Inputs", *, exclude_etns: bool = False) -> "FlowEstimate | None":
    """Our intraday estimate of ``date`` where intraday prices exist: the built-in replay's
    14:43 fund changes (2026-02-04) on the same point-in-time AUM as the close-to-close
    estimate; None for any other day."""
    from lev_flows.inputs.packaged import load_replay
    from lev_flows.model.estimate import estimate

    try:
        returns = load_replay(str(date), "intraday", inputs.universe)
    except InputError:
        return None
    aum = inputs.pit.aum_day(inputs.pit.row(date))
    return estimate(inputs.universe, returns, aum=aum, exclude_etns=exclude_etns, ignore_unknown=True)


def band_of(est: "FlowEstimate", scope: str) -> tuple[float, float, str]:
    """The p10-p90 error band of ``est`` on ``scope`` (USD) and what it is: every fund of the
    scope at the low and at the high end of its AUM interval together
    (:func:`lev_flows.model.scope.scope_totals`; for all funds, the total's ``band_p10_usd`` /
    ``band_p90_usd``). ``(nan, nan, "no band")`` where the estimate carries none."""
    t = scope_total(est.tables["by_etf"].columns, scope)
    if not (np.isfinite(t.band_p10_usd) and np.isfinite(t.band_p90_usd)):
        return float("nan"), float("nan"), "no band"
    return t.band_p10_usd, t.band_p90_usd, "the scope's funds at their low and high AUM together"


def compare(est: "FlowEstimate", ours_basis: str, row: Any, *, beside: str = "all", sensitivity: Any = None) -> dict[str, Any]:
    """One published figure (``row``: date, estimate_usd, scope, basis ...) against ``est``,
    whose basis is ``ours_basis`` (close / intraday): our figure on the row's scope, ours on
    ``beside`` beside it, the ratio, whether it counts in the hit rate (same basis, stated) and
    why not, the band and whether the figure is inside it."""
    e = est.tables["by_etf"].columns
    ours, other = scope_total(e, row.scope).rebalance_usd, scope_total(e, beside).rebalance_usd
    why = ""
    if row.basis == "unstated":
        why = "the figure's time of day is not stated"
    elif row.basis == "intraday" and ours_basis == "close":
        why = "close-to-close vs intraday: no intraday prices for that day"
    elif row.basis == "close" and ours_basis == "intraday":
        why = "intraday vs close: the figure was made after the close"
    lo, hi, band_method = band_of(est, row.scope)
    inside = None if why or not np.isfinite(lo) else bool(lo <= row.estimate_usd <= hi)
    c = est.coverage
    out = {
        "date": row.date, "source": row.source, "scope": row.scope, "scope_label": SCOPES[row.scope],
        "published_basis": row.basis, "published_time": row.time, "published_scope": row.published_scope,
        "published_usd": row.estimate_usd, "ours_basis": est.basis, "ours_usd": ours,
        "beside_scope": beside, "ours_beside_usd": other,
        "ratio": ours / row.estimate_usd if row.estimate_usd else np.nan, "comparable": not why, "not_comparable": why,
        "band_p10_usd": lo, "band_p90_usd": hi, "band_method": band_method, "in_band": inside,
        "aum_priced": c.aum_with_return, "aum_median_gap": np.nan if c.aum_median_gap_sessions is None else c.aum_median_gap_sessions,
    }
    out.update(_sensitivity_columns(sensitivity))
    return out


def _sensitivity_columns(s: Any) -> dict[str, float]:
    keys = ("usd_per_1pct", "usd_per_1pct_beta", "market_return", "rule_usd", "dispersion_usd")
    return {f"sens_{k}": (getattr(s, k) if s is not None else np.nan) for k in keys}


def scorecard(published: pd.DataFrame, inputs: "Inputs", *, exclude_etns: bool = False, beside: str = "all") -> pd.DataFrame:
    """One row per published figure (:func:`compare`), each day estimated once on each basis it
    needs. ``beside``: the scope of the figure shown beside ours (default all funds). Days
    outside the price table get NaN and a ``note``."""
    from lev_flows.analysis.whatif import sensitivity_of_day
    from lev_flows.model.day import estimate_day

    beside = check_scope(beside)
    cache: dict[tuple, Any] = {}

    def day(date, basis: str):
        if (date, basis) not in cache:
            try:
                est = (estimate_day(date, inputs=inputs, exclude_etns=exclude_etns) if basis == "close"
                       else intraday_estimate(date, inputs, exclude_etns=exclude_etns))
            except InputError as exc:
                est = exc
            cache[(date, basis)] = est
        return cache[(date, basis)]

    rows = []
    for r in published.itertuples(index=False):
        basis = "intraday" if r.basis == "intraday" and day(r.date, "intraday") is not None else "close"
        est = day(r.date, basis)
        if isinstance(est, InputError):
            rows.append(_unpriced(r, beside, str(est)))
            continue
        if ("sens", r.date, basis, r.scope) not in cache:
            cache[("sens", r.date, basis, r.scope)] = sensitivity_of_day(est, inputs.universe, inputs.closes, r.scope)
        rows.append({**compare(est, basis, r, beside=beside, sensitivity=cache[("sens", r.date, basis, r.scope)]), "note": ""})
    return pd.DataFrame(rows)


def _unpriced(r: Any, beside: str, note: str) -> dict[str, Any]:
    """A figure whose day we cannot estimate: every figure of ours n/a, the reason in ``note``."""
    return {"date": r.date, "source": r.source, "scope": r.scope, "scope_label": SCOPES[r.scope], "published_basis": r.basis,
            "published_time": r.time, "published_scope": r.published_scope, "published_usd": r.estimate_usd,
            "ours_basis": "n/a", "ours_usd": np.nan, "beside_scope": beside, "ours_beside_usd": np.nan, "ratio": np.nan,
            "comparable": False, "not_comparable": "no estimate for that day", "band_p10_usd": np.nan, "band_p90_usd": np.nan,
            "band_method": "no band", "in_band": None, "aum_priced": np.nan, "aum_median_gap": np.nan,
            **_sensitivity_columns(None), "note": note}


def hit_rate(table: pd.DataFrame) -> dict[str, Any]:
    """The scorecard's summary: ``comparable`` figures (same scope and basis), how many are
    ``inside`` / ``outside`` our band (None while no band: never a guess), ``without_band``,
    ``rate`` (inside / comparable with a band; None without) and the median ``ratio`` of the
    comparable figures."""
    comp = table[table["comparable"].astype(bool)] if len(table) else table
    judged = comp[comp["in_band"].notna()] if len(comp) else comp
    inside = int(sum(bool(v) for v in judged["in_band"])) if len(judged) else 0
    return {
        "figures": len(table), "comparable": len(comp), "with_band": len(judged),
        "inside": inside if len(judged) else None, "outside": len(judged) - inside if len(judged) else None,
        "without_band": len(comp) - len(judged), "rate": inside / len(judged) if len(judged) else None,
        "median_ratio": float(np.median(comp["ratio"])) if len(comp) else None,
    }


def published_for(est: "FlowEstimate", path: str | Path = PUBLISHED_FILE) -> pd.DataFrame | None:
    """The published figures of an estimate's day beside it (:func:`compare` rows, on the
    estimate's own basis: close-to-close, or intraday for the replay's 14:43 view), or None when
    the file is not there or has nothing for that day."""
    path = Path(path)
    if est.date is None or not path.is_file():
        return None
    rows = read_published(path)
    rows = rows[rows["date"] == est.date]
    if rows.empty:
        return None
    basis = "close" if str(est.basis).startswith("close") else "intraday"  # the replay's 14:43 view, a live run
    return pd.DataFrame([compare(est, basis, r) for r in rows.itertuples(index=False)])


__all__ = ["COLUMNS", "PUBLISHED_FILE", "SHARED_PUBLISHED_FILE", "band_of", "compare", "hit_rate", "intraday_estimate",
           "published_for", "read_published", "scorecard"]
