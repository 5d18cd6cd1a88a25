"""Scopes: which funds a figure covers, in one vocabulary, and the total of each.

Desks publish different things: Morgan Stanley's "US equity leveraged ETFs", JPMorgan's
"leveraged and inverse ETFs" (equity exposure), Citi's split by index. A figure is only
comparable with ours on the same scope, so every total says which one it is.

=================  ================================================================================
scope              funds in it (by their underlying, as the catalog describes it)
=================  ================================================================================
``all``            every fund of the catalog
``equity``         ``asset_class: equity`` (= ``index`` + ``single_stock``)
``us_equity``      equity funds whose trade lands on US-listed stocks: ``equity`` without the
                   catalog's ``International equity`` bucket (EDC, EURL, YINN, KORU, BRZU, INDL ...)
                   and without the underlyings of :data:`NON_US_EQUITY` (gold and copper miners,
                   world and country baskets). Morgan Stanley's "US equity leveraged ETFs".
``index``          equity funds on an index or basket (every region)
``single_stock``   equity funds in the catalog's ``Single stocks`` bucket: one stock, or a pair
                   such as COIN + MSTR (US-listed ADRs included: they trade in US auctions)
``crypto``         ``asset_class: crypto``
``volatility``     ``asset_class: volatility`` (the VIX futures funds)
``commodities``    ``asset_class: commodity``
``rates``          ``asset_class: fixed_income`` (Treasuries, high yield; the catalog also files a
                   few ETRACS factor notes here)
=================  ================================================================================

``currency`` and ``multi`` funds are in ``all`` only. Gold miners (GDX, GDXJ funds: NUGT,
JNUG, GDXU ...) are equity but not US equity: the miners they hold are mostly listed in
Toronto, Sydney and Johannesburg, and their hedges trade in GDX/GDXJ and those markets, not in
the US stocks' closing auctions that a "US equity supply" figure is about.

Everything here is a pure function of arrays (the catalog's, or a FlowEstimate's ``by_etf``
columns ``asset_class``, ``bucket``, ``underlying``): no I/O, no pandas unless asked for a frame.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from lev_flows.errors import InputError
from lev_flows.inputs.sources.underlyings import SINGLE

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from lev_flows.inputs.catalog import Universe

#: scope -> what a person reads, in the order totals are shown (US equity first, then all funds)
SCOPES: dict[str, str] = {
    "us_equity": "US equity funds",
    "all": "all funds",
    "equity": "equity funds",
    "index": "index funds (equity)",
    "single_stock": "single-stock funds",
    "crypto": "crypto funds",
    "volatility": "volatility funds",
    "commodities": "commodity funds",
    "rates": "rates funds",
}
#: the catalog's bucket of funds on markets outside the US
INTERNATIONAL_BUCKET = "International equity"
#: equity underlyings outside the International bucket whose trade is not on US stocks
NON_US_EQUITY: dict[str, str] = {
    "GDM": "gold miners (NYSE Arca Gold Miners: mostly Canadian, Australian, South African listings)",
    "GDMJ": "gold miners (MVIS Global Junior Gold Miners)",
    "COPX": "copper miners (Global X Copper Miners: global listings)",
    "VT": "world stocks (Vanguard Total World)",
    "X_MSCI_EM_EMERGING_MARKETS_EX_CHINA": "emerging markets ex China",
    "FUND_CHAD": "China A shares (CSI 300)",
    "FUND_DPK": "developed markets ex US (MSCI EAFE)",
    "FUND_RUSL": "Russia",
    "FUND_RUSS": "Russia",
}
_ASSET_CLASS = {"crypto": "crypto", "volatility": "volatility", "commodities": "commodity", "rates": "fixed_income"}


def check_scope(scope: str, what: str = "--scope") -> str:
    """``scope`` when it is in :data:`SCOPES`; else an :class:`InputError` naming the choices and
    the nearest one (``us-equity`` -> ``us_equity``)."""
    key = str(scope).strip().lower().replace("-", "_").replace(" ", "_")
    if key in SCOPES:
        return key
    near = difflib.get_close_matches(key, list(SCOPES), n=1)
    hint = f" (did you mean {near[0]}?)" if near else ""
    raise InputError(f"{what}: unknown scope {scope!r}{hint}; choose one of {', '.join(SCOPES)}")


def is_us_equity(asset_class: Any, bucket: Any, underlying: Any) -> np.ndarray:
    """Per fund: an equity fund whose trade lands on US-listed stocks (see the module doc)."""
    asset_class, bucket, underlying = (np.asarray(a).astype(str) for a in (asset_class, bucket, underlying))
    return (asset_class == "equity") & (bucket != INTERNATIONAL_BUCKET) & ~np.isin(underlying, list(NON_US_EQUITY))


def scope_mask(scope: str, asset_class: Any, bucket: Any, underlying: Any) -> np.ndarray:
    """Which funds are in ``scope``: one boolean per fund from its underlying's asset class,
    bucket and id (arrays of equal length).

    >>> scope_mask("us_equity", ["equity", "equity", "equity", "crypto"],
    ...            ["Nasdaq-100", "International equity", "Other equity", "Crypto"],
    ...            ["NDX", "MSCIKR", "GDM", "BTC"]).tolist()
    [True, False, False, False]
    """
    scope = check_scope(scope)
    ac, bk = np.asarray(asset_class).astype(str), np.asarray(bucket).astype(str)
    equity = ac == "equity"
    if scope == "all":
        return np.ones(len(ac), dtype=bool)
    if scope == "equity":
        return equity
    if scope == "us_equity":
        return is_us_equity(ac, bk, underlying)
    if scope == "single_stock":
        return equity & (bk == SINGLE)
    if scope == "index":
        return equity & (bk != SINGLE)
    return ac == _ASSET_CLASS[scope]


def catalog_scope_mask(universe: "Universe", scope: str) -> np.ndarray:
    """:func:`scope_mask` over the catalog's funds, in catalog order."""
    und = universe.underlying_by_id
    funds = universe.funds
    return scope_mask(scope, [und[f.underlying].asset_class for f in funds], [und[f.underlying].bucket for f in funds],
                      [f.underlying for f in funds])


def in_scope(universe: "Universe", scope: str) -> "Universe":
    """The universe with only the funds of ``scope`` (``all``: the universe itself). Every fund
    on an underlying is in or out together, so a sibling fund's return stays available.

    >>> from lev_flows import load_universe
    >>> u = load_universe()
    >>> len(in_scope(u, "volatility").funds), sorted(f.ticker for f in in_scope(u, "volatility").funds)[:2]
    (4, ['SVIX', 'SVXY'])
    """
    if check_scope(scope) == "all":
        return universe
    keep = catalog_scope_mask(universe, scope)
    if not keep.any():
        raise InputError(f"--scope {scope}: the catalog has no fund in this scope")
    return universe.with_funds([f for f, k in zip(universe.funds, keep) if k])


@dataclass(frozen=True)
class ScopeTotal:
    """One scope's totals (USD, + = buy at the close). ``rebalance_usd`` / ``flow_usd`` are NaN
    when no fund of the scope had a return ("n/a", never a zero); ``aum_with_return`` is the
    share of the scope's AUM whose fund had one. ``band_p10_usd`` / ``band_p90_usd``: the
    rebalance's p10-p90 band on the scope (:func:`lev_flows.model.band.rebalance_band`: every
    fund of the scope at the low and at the high end of its AUM interval together), NaN where a
    fund with a flow has no interval or the table carries none."""

    scope: str
    label: str
    n_funds: int
    aum_usd: float
    aum_with_return: float
    rebalance_usd: float
    flow_usd: float
    band_p10_usd: float = float("nan")
    band_p90_usd: float = float("nan")


def priced_funds(by_etf: Mapping[str, Any]) -> np.ndarray:
    """Per fund of ``by_etf``: it had a flow and a return that counts today (a weekly or monthly
    fund on a day it does not reset trades 0 but is not "priced")."""
    flow = np.asarray(by_etf["flow_usd"], dtype=float)
    source = np.asarray(by_etf["return_source"]).astype(str)
    status = np.asarray(by_etf["status"]).astype(str)
    return np.isfinite(flow) & (source != "missing") & (status != "no reset today")


def scope_totals(by_etf: Mapping[str, Any], scopes: Any = None) -> list[ScopeTotal]:
    """The total of every scope (``scopes``: a list of keys, default all of :data:`SCOPES` in
    its order) from a FlowEstimate's ``by_etf`` table (the DataFrame, or the numpy columns of
    ``est.tables["by_etf"].columns``): ``rebalance_usd = sum`` of the scope's funds'
    ``rebalance_usd``, and so on.

    >>> from lev_flows import replay
    >>> est = replay()
    >>> [(t.scope, round(t.rebalance_usd / 1e9, 2)) for t in scope_totals(est.by_etf, ["us_equity", "all"])]
    [('us_equity', -12.88), ('all', -13.14)]
    """
    from lev_flows.model.band import rebalance_band

    raw_aum = np.asarray(by_etf["aum_usd"], dtype=float)
    aum = np.nan_to_num(raw_aum)
    rebalance = np.asarray(by_etf["rebalance_usd"], dtype=float)
    flow = np.asarray(by_etf["flow_usd"], dtype=float)
    priced = priced_funds(by_etf)
    lo, hi = _aum_factors(by_etf, raw_aum)
    out = []
    for scope in scopes or SCOPES:
        m = scope_mask(scope, by_etf["asset_class"], by_etf["bucket"], by_etf["underlying"])
        scope_aum = float(aum[m].sum())
        any_priced = bool((m & priced).any())
        p10, p90 = rebalance_band(rebalance[m], lo[m], hi[m]) if any_priced else (np.nan, np.nan)
        out.append(ScopeTotal(
            scope=check_scope(scope), label=SCOPES[check_scope(scope)], n_funds=int(m.sum()), aum_usd=scope_aum,
            aum_with_return=float(aum[m & priced].sum() / scope_aum) if scope_aum > 0 else float("nan"),
            rebalance_usd=float(np.nansum(rebalance[m])) if any_priced else float("nan"),
            flow_usd=float(np.nansum(flow[m])) if any_priced else float("nan"),
            band_p10_usd=float(p10), band_p90_usd=float(p90),
        ))
    return out


def _aum_factors(by_etf: Mapping[str, Any], aum: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each fund's AUM interval as factors of its AUM (``aum_p10_usd / aum_usd`` ...); NaN where
    the table has no interval."""
    if "aum_p10_usd" not in by_etf or "aum_p90_usd" not in by_etf:
        return np.full(len(aum), np.nan), np.full(len(aum), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        ok = np.isfinite(aum) & (aum > 0)
        lo = np.where(ok, np.asarray(by_etf["aum_p10_usd"], dtype=float) / np.where(ok, aum, 1.0), np.nan)
        hi = np.where(ok, np.asarray(by_etf["aum_p90_usd"], dtype=float) / np.where(ok, aum, 1.0), np.nan)
    return lo, hi


def scope_total(by_etf: Mapping[str, Any], scope: str) -> ScopeTotal:
    """One scope's :class:`ScopeTotal` (see :func:`scope_totals`)."""
    return scope_totals(by_etf, [scope])[0]


def scope_frame(by_etf: Mapping[str, Any], scopes: Any = None) -> "pd.DataFrame":
    """:func:`scope_totals` as a DataFrame, one row per scope."""
    import pandas as pd

    return pd.DataFrame([t.__dict__ for t in scope_totals(by_etf, scopes)])


# ---- the scope and basis of a published figure, from a desk's own words ------------------------

#: published basis: made from closing prices (after the close), on intraday levels, or not said
BASES = ("close", "intraday", "unstated")


def scope_from_text(text: str) -> str:
    """A published figure's scope in our vocabulary: a key or label of :data:`SCOPES` as is,
    else from the desk's words ("US equity leveraged ETFs" -> ``us_equity``, "all leveraged ETFs
    (equity exposure)" -> ``equity``, "all leveraged ETFs" -> ``all``). Text naming none of them
    is an :class:`InputError`.

    >>> [scope_from_text(t) for t in ("US equity leveraged ETFs", "all leveraged ETFs (equity exposure)", "all")]
    ['us_equity', 'equity', 'all']
    """
    t = " ".join(str(text).split()).casefold()
    for key, label in SCOPES.items():
        if t in (key, key.replace("_", " "), label.casefold()):
            return key
    rules = (("us equity", "us_equity"), ("single-stock", "single_stock"), ("single stock", "single_stock"),
             ("equity", "equity"), ("crypto", "crypto"), ("volatility", "volatility"), ("vix", "volatility"),
             ("commodit", "commodities"), ("treasur", "rates"), ("rates", "rates"), ("leveraged", "all"))
    for word, key in rules:
        if word in t:
            return key
    raise InputError(f"scope {text!r} names none of {', '.join(SCOPES)}")


def basis_from_text(text: str) -> str:
    """A published figure's basis: ``intraday`` (made before the close on intraday levels:
    "intraday", "mid-day"), ``close`` ("after the close", "close") or ``unstated`` (empty, "not
    stated"); anything else is an :class:`InputError`."""
    t = " ".join(str(text).split()).casefold()
    if t in BASES:
        return t
    if "intraday" in t or "mid-day" in t or "midday" in t:
        return "intraday"
    if not t or "not stated" in t or "unstated" in t or "unknown" in t:
        return "unstated"
    if "close" in t:
        return "close"
    raise InputError(f"basis {text!r} is none of {', '.join(BASES)} (or: after the close, intraday, not stated)")


__all__ = [
    "BASES",
    "INTERNATIONAL_BUCKET",
    "NON_US_EQUITY",
    "SCOPES",
    "ScopeTotal",
    "basis_from_text",
    "catalog_scope_mask",
    "check_scope",
    "in_scope",
    "is_us_equity",
    "priced_funds",
    "scope_frame",
    "scope_from_text",
    "scope_mask",
    "scope_total",
    "scope_totals",
]
