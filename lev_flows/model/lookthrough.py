"""Look-through and aggregation: fund flows -> underlyings -> stocks -> sectors / indexes.

The universe is compiled once into integer codes and a sparse (COO) composition matrix ``W``
(underlyings x stocks, weights summing to 1 per underlying). Then, for a vector of fund flows
``f`` (USD) and the fund -> underlying map ``u``::

    flow_by_underlying[j] = sum_{i: u[i] = j} f[i]            (np.bincount)
    flow_by_stock[s]      = sum_j W[j, s] * flow_by_underlying[j]  (one sparse mat-vec)
    flow_by_sector[k]     = sum_{s: sector[s] = k} flow_by_stock[s]

so stock flows of a fully covered equity fund add up to the fund's flow (conservation). All
of it is numpy over arrays; there is no Python loop over funds or holdings on this path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from lev_flows.inputs.catalog import UnderlyingKind, Universe
from lev_flows.inputs.sources.underlyings import TRACKING_ETFS

UNKNOWN_SECTOR = "Unknown"

#: index-futures roots -> the underlying whose members a future stands for (a future whose
#: root is not listed stands for the index of the composition holding it: an S&P Select
#: Sector future in a Select Sector fund's holdings)
FUTURES_ROOTS = {
    "ES": "SPX", "MES": "SPX", "NQ": "NDX", "MNQ": "NDX", "RTY": "RTY", "M2K": "RTY",
    "YM": "INDU", "MYM": "INDU", "EMD": "MID",
}
#: a futures / ETF line lighter than this (a fraction) is spread over the holder's other lines
MIN_EXPANDED_WEIGHT = 0.001
_ETF_UNDERLYING = {etf: uid for uid, etf in TRACKING_ETFS.items()}
_FUTURE = re.compile(r"^([A-Z0-9]{1,4}?)[FGHJKMNQUVXZ][0-9]{1,2}$")
#: how holdings files name a futures line ("E-MINI RUSS 2000  DEC25", "XAK TECHNOLOGY    DEC25")
_FUTURE_NAME = re.compile(r"E-?MINI|FUTURE|\b(JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC)\s?\d{2}\b", re.I)


def holding_target(ticker: str, holder: str, universe: Universe) -> str | None:
    """The underlying a composition line stands for when it is not a stock: an index future
    (``RTYZ5`` -> RTY, ``IXTZ5`` in the technology index -> that index) or an ETF that tracks
    an underlying with a composition (``QQQ`` -> NDX). None for a stock (one with a GICS
    sector in the reference is always a stock)."""
    stock = universe.stocks.get(ticker)
    if stock is not None and stock.sector:
        return None
    uid = _ETF_UNDERLYING.get(ticker)
    if uid is not None and uid in universe.underlying_by_id and universe.composition_of(uid) is not None:
        return uid
    m = _FUTURE.match(ticker)
    # a ticker shaped like a future is one only when nothing says it is a stock ("STK2" with a
    # name in the reference is a stock; "RTYZ5" named "E-MINI RUSS 2000 DEC25" is a future)
    if m and (stock is None or _FUTURE_NAME.search(stock.name or "")):
        target = FUTURES_ROOTS.get(m.group(1), holder)
        return target if target in universe.underlying_by_id else holder
    return None


def looked_through(universe: Universe, uid: str) -> dict[str, float]:
    """An underlying's composition with futures and ETF lines replaced by the members they
    stand for (one level): a line of weight ``w`` on index ``J`` becomes ``w * W[J, s]`` on each
    member ``s`` of ``J``; a future on the holder's own index, and any line under
    ``MIN_EXPANDED_WEIGHT`` (a cash-equitization future such as the Russell 2000 E-mini's
    0.002 % in the S&P 600 holdings, which would otherwise add 2,000 names), is spread over the
    other lines pro rata. Weights sum to 1."""
    comp = universe.composition_of(uid)
    weights = dict(comp.weights)
    out: dict[str, float] = {}
    own = 0.0
    for ticker, w in weights.items():
        target = holding_target(ticker, uid, universe)
        if target is None:
            out[ticker] = out.get(ticker, 0.0) + w
        elif target == uid or w < MIN_EXPANDED_WEIGHT:
            own += w
        else:
            inner = universe.composition_of(target).weights
            total = sum(inner.values())
            for t, v in inner.items():
                if holding_target(t, target, universe) is None:
                    out[t] = out.get(t, 0.0) + w * v / total
    total = sum(out.values())
    return {t: v / total for t, v in out.items()} if total > 0 else weights


@dataclass(frozen=True)
class CompiledUniverse:
    """Arrays describing a universe; built once by :func:`compile_universe`."""

    tickers: np.ndarray  # (F,) fund tickers
    leverage: np.ndarray  # (F,) signed leverage
    aum_usd: np.ndarray  # (F,) NaN where unknown
    resets_daily: np.ndarray  # (F,) bool
    fund_underlying: np.ndarray  # (F,) int index into underlying_ids
    underlying_ids: np.ndarray  # (U,)
    underlying_bucket: np.ndarray  # (U,) str
    underlying_asset_class: np.ndarray  # (U,) str
    underlying_is_single_stock: np.ndarray  # (U,) bool
    has_composition: np.ndarray  # (U,) bool
    stock_tickers: np.ndarray  # (S,)
    stock_sector: np.ndarray  # (S,) int index into sectors
    sectors: np.ndarray  # (K,) sector names, UNKNOWN_SECTOR last
    comp_underlying: np.ndarray  # (N,) int, COO row
    comp_stock: np.ndarray  # (N,) int, COO column
    comp_weight: np.ndarray  # (N,) float
    fund_names: np.ndarray  # (F,)
    fund_issuers: np.ndarray  # (F,)
    fund_resets: np.ndarray  # (F,)
    fund_structures: np.ndarray  # (F,) "ETF" or "ETN"
    fund_futures_share: np.ndarray  # (F,) 0..1, NaN where not known
    fund_swap_reset: np.ndarray  # (F,) "HH:MM" New York when the swaps reset before the close, else None
    fund_swap_early: np.ndarray  # (F,) bool: swaps reset before the close
    fund_underlying_ids: np.ndarray  # (F,)
    stock_names: np.ndarray  # (S,) None where unknown
    labels: dict = field(default_factory=dict)  # text columns converted once for result tables

    @property
    def n_stocks(self) -> int:
        return len(self.stock_tickers)

    @property
    def n_underlyings(self) -> int:
        return len(self.underlying_ids)


def compile_universe(universe: Universe) -> CompiledUniverse:
    """Turn a validated :class:`Universe` into arrays (codes, COO composition matrix)."""
    und_ids = [u.id for u in universe.underlyings]
    und_index = {uid: i for i, uid in enumerate(und_ids)}
    funds = universe.funds
    tickers = np.array([f.ticker for f in funds], dtype=object)
    leverage = np.array([f.leverage for f in funds], dtype=np.float64)
    aum = np.array([np.nan if f.aum_usd is None else f.aum_usd for f in funds], dtype=np.float64)
    daily = np.array([f.reset == "daily" for f in funds], dtype=bool)
    fund_und = np.array([und_index[f.underlying] for f in funds], dtype=np.int64)

    stock_index: dict[str, int] = {}
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    has_comp = np.zeros(len(und_ids), dtype=bool)
    for j, uid in enumerate(und_ids):
        comp = universe.composition_of(uid)
        if comp is None:
            continue
        has_comp[j] = True
        flat = looked_through(universe, uid)  # futures and ETF lines through to their members
        names = list(flat)
        for name in names:
            stock_index.setdefault(name, len(stock_index))
        weights = np.fromiter(flat.values(), dtype=np.float64, count=len(names))
        rows.append(np.full(len(names), j, dtype=np.int64))
        cols.append(np.fromiter((stock_index[n] for n in names), dtype=np.int64, count=len(names)))
        vals.append(weights / weights.sum())
    stock_tickers = np.array(list(stock_index), dtype=object)
    sector_names = sorted({s.sector for s in universe.stocks.values() if s.sector})
    sector_code = {name: k for k, name in enumerate(sector_names)}
    unknown = len(sector_names)
    stock_sector = np.array(
        [
            sector_code.get((universe.stocks.get(t).sector if t in universe.stocks else None) or "", unknown)
            for t in stock_tickers
        ],
        dtype=np.int64,
    )
    empty_i = np.zeros(0, dtype=np.int64)
    return CompiledUniverse(
        tickers=tickers,
        leverage=leverage,
        aum_usd=aum,
        resets_daily=daily,
        fund_underlying=fund_und,
        underlying_ids=np.array(und_ids, dtype=object),
        underlying_bucket=np.array([u.bucket for u in universe.underlyings], dtype=object),
        underlying_asset_class=np.array([u.asset_class for u in universe.underlyings], dtype=object),
        underlying_is_single_stock=np.array(
            [u.kind == UnderlyingKind.single_stock.value for u in universe.underlyings], dtype=bool
        ),
        has_composition=has_comp,
        stock_tickers=stock_tickers,
        stock_sector=stock_sector,
        sectors=np.array(sector_names + [UNKNOWN_SECTOR], dtype=object),
        comp_underlying=np.concatenate(rows) if rows else empty_i,
        comp_stock=np.concatenate(cols) if cols else empty_i,
        comp_weight=np.concatenate(vals) if vals else np.zeros(0),
        fund_names=np.array([f.name for f in funds], dtype=object),
        fund_issuers=np.array([f.issuer for f in funds], dtype=object),
        fund_resets=np.array([f.reset for f in funds], dtype=object),
        fund_structures=np.array([f.structure for f in funds], dtype=object),
        fund_futures_share=np.array([np.nan if f.futures_share is None else f.futures_share for f in funds], dtype=float),
        fund_swap_reset=np.array([f.swap_reset for f in funds], dtype=object),
        fund_swap_early=np.array([f.swap_reset is not None for f in funds], dtype=bool),
        fund_underlying_ids=np.array([f.underlying for f in funds], dtype=object),
        stock_names=_stock_names(universe, stock_tickers),
    )


def _stock_names(universe: Universe, stock_tickers: np.ndarray) -> np.ndarray:
    """Each stock's company name: the reference's (``lev_flows/data/reference.json``), else the
    catalog's name of the single-stock underlying with that ticker (IREN, ASTS, BMNR: stocks held
    by single-stock funds only, outside every index composition); None when neither has one."""
    single = {u.id: u.name for u in universe.underlyings if u.kind == UnderlyingKind.single_stock.value and u.name != u.id}
    names = [(universe.stocks[t].name if t in universe.stocks else None) or single.get(t) for t in stock_tickers]
    return np.array(names, dtype=object)


def sum_by_code(codes: np.ndarray, values: np.ndarray, n_groups: int) -> np.ndarray:
    """Sum ``values`` into ``n_groups`` buckets by integer ``codes``; NaN values count as 0.

    Missing values are handled by the caller's coverage report, never silently here: the
    caller decides which values are NaN and reports them.
    """
    return np.bincount(codes, weights=np.nan_to_num(values, nan=0.0), minlength=n_groups)


def stock_flows(compiled: CompiledUniverse, flow_by_underlying: np.ndarray) -> np.ndarray:
    """Flow per stock (USD): ``W.T @ flow_by_underlying`` as one sparse mat-vec.

    Underlyings without a composition (gold, Treasuries, bitcoin, foreign indexes) contribute
    nothing here; they stay in the totals by asset class.
    """
    contrib = compiled.comp_weight * flow_by_underlying[compiled.comp_underlying]
    return np.bincount(compiled.comp_stock, weights=contrib, minlength=compiled.n_stocks)


def stock_flow_matrix(compiled: CompiledUniverse, flow_by_underlying: np.ndarray) -> np.ndarray:
    """Stock flows for many scenarios at once: ``flow_by_underlying`` is (T, U), result (T, S).

    Dense ``(T, U) @ (U, S)`` product; used by histories and scenario analyses.
    """
    return np.nan_to_num(flow_by_underlying, nan=0.0) @ composition_matrix(compiled)


def composition_matrix(compiled: CompiledUniverse) -> np.ndarray:
    """The composition matrix ``W`` as a dense (U, S) array of weights."""
    weights = np.zeros((compiled.n_underlyings, compiled.n_stocks))
    np.add.at(weights, (compiled.comp_underlying, compiled.comp_stock), compiled.comp_weight)
    return weights


def sector_flows(compiled: CompiledUniverse, flow_by_stock: np.ndarray) -> np.ndarray:
    """Flow per GICS sector (USD), in the order of ``compiled.sectors`` (Unknown last)."""
    return np.bincount(compiled.stock_sector, weights=flow_by_stock, minlength=len(compiled.sectors))
