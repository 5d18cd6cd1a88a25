"""The public entry point: ``estimate(universe, returns) -> FlowEstimate``.

Data flows one way: catalog + returns -> formula -> look-through -> result tables. Nothing
here reads files or prints; see :mod:`lev_flows.present.tables` and :mod:`lev_flows.cli` for that.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import sys
from collections import namedtuple
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, Field

from lev_flows.errors import InputError
from lev_flows.inputs import plausibility
from lev_flows.inputs.args import estimate_args
from lev_flows.inputs.catalog import Universe
from lev_flows.inputs.days import DayReturns, basis_shares
from lev_flows.inputs.plausibility import check_return
from lev_flows.model import band, formula
from lev_flows.model.lookthrough import (
    CompiledUniverse,
    compile_universe,
    sector_flows,
    stock_flows,
    sum_by_code,
)

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

#: funds above this AUM with no return are called out in warnings, not only in coverage
LARGE_FUND_USD = 100e6
#: warn when the AUM-weighted median distance (sessions) to an AUM observation exceeds this
MAX_MEDIAN_GAP = 10


class FlowTotal(BaseModel):
    """Market totals (USD, positive = buying at the close)."""

    rebalance_usd: float
    creation_usd: float
    flow_usd: float
    gross_rebalance_usd: float
    equity_rebalance_usd: float
    lookthrough_usd: float
    aum_usd: float
    n_funds: int
    n_funds_with_flow: int
    #: the look-through flow expected in the stocks' closing auctions: without the futures part
    #: and the funds whose swaps reset before the close (:func:`formula.auction_share`)
    auction_usd: float | None = None
    #: share of the gross look-through flow from funds whose execution timing is known (the
    #: rest is assumed to trade in the auctions)
    auction_timing_known: float | None = None
    #: the p10 and p90 ends of ``rebalance_usd`` from the AUM's held-out error by gap and method
    #: (:mod:`lev_flows.model.band`); None where an input has no interval (a caller's AUM)
    band_p10_usd: float | None = None
    band_p90_usd: float | None = None
    #: the look-through flow in the closing auctions from the funds whose timing is known (their
    #: futures part and early swap resets taken out): what is known to reach the auctions
    auction_known_usd: float | None = None
    #: the look-through flow of the funds whose timing is not known: assumed at the close
    auction_assumed_usd: float | None = None


class Coverage(BaseModel):
    """What share of the inputs the estimate could use. Shares are of AUM (0..1)."""

    aum_usd: float
    aum_with_return: float
    equity_aum_usd: float
    equity_aum_with_composition: float
    equity_aum_with_sector: float
    n_funds: int
    n_funds_without_aum: int
    n_funds_missing_return: int
    missing_returns: list[tuple[str, float]]
    unused_return_keys: int
    n_funds_not_launched: int = 0
    n_funds_closed: int = 0
    n_funds_excluded: int = 0
    aum_median_gap_sessions: float | None = None
    #: share of the AUM resting on each source and age ("issuer, previous close", "screener,
    #: over 63 sessions", ...; :func:`lev_flows.inputs.days.basis_shares`); empty when the AUM
    #: was given or taken from the catalog
    aum_basis: dict[str, float] = Field(default_factory=dict)
    #: share of the AUM (0..1) whose day's net creations were given (for a past session, the funds
    #: with the issuer's shares outstanding on both closes); None when no creations were given.
    #: The other funds' creations are unknown, not zero
    aum_with_creations: float | None = None

    @property
    def aum_issuer_previous_close(self) -> float:
        """Share of the AUM resting on an issuer figure of the previous close (0..1)."""
        return self.aum_basis.get("issuer, previous close", 0.0)


@dataclass(frozen=True)
class ResultTable:
    """One result table as numpy columns over all its candidate rows, and the rows it shows in
    display order (largest ``|flow|`` first). Nothing here needs pandas: :meth:`head` gives rows
    as named tuples (what the terminal tables print); :meth:`frame` builds the DataFrame.

    ``label_keys`` maps a text column to the compiled universe's cached pandas Series of it
    (converting the same tickers and names to pandas strings once per universe, not once per day).
    """

    columns: Mapping[str, np.ndarray]
    order: np.ndarray
    compiled: Any = None
    label_keys: Mapping[str, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.order)

    def head(self, n: int | None = None) -> list[tuple]:
        """The first ``n`` rows (all when None) as named tuples of plain Python values."""
        rows = self.order if n is None else self.order[:n]
        row = namedtuple("Row", list(self.columns))
        return [row(*values) for values in zip(*(np.asarray(v)[rows].tolist() for v in self.columns.values()))]

    def frame(self) -> "pd.DataFrame":
        """The table as a pandas DataFrame with a 0..n-1 index, rows in display order."""
        import pandas as pd

        labels = _labels(self.compiled) if self.label_keys else {}
        data = {name: labels[self.label_keys[name]] if name in self.label_keys else values
                for name, values in self.columns.items()}
        return pd.DataFrame(data).iloc[self.order].reset_index(drop=True)


class _TableFrame:
    """``FlowEstimate.by_etf`` and its siblings: the table's DataFrame indexed by its natural
    ``key`` (``by_etf.loc["TQQQ"]``), built on first access and kept on the instance (pandas is
    imported only then). ``reset_index()`` gives the tidy table with the key as its first column,
    as the CSV and JSON outputs carry it."""

    def __init__(self, key: str) -> None:
        self.key = key

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, est: "FlowEstimate | None", owner: type | None = None):
        if est is None:
            return self
        frame = est.tables[self.name].frame().set_index(self.key)
        est.__dict__[self.name] = frame  # a non-data descriptor: the instance's copy wins from now on
        return frame


@dataclass(frozen=True)
class FlowEstimate:
    """Result of :func:`estimate`: tables plus totals and coverage.

    All amounts are USD of underlying exposure to trade at the close; positive = buy.
    ``by_etf``, ``by_stock``, ``by_sector``, ``by_index``, ``by_asset_class`` and
    ``by_underlying`` are pandas DataFrames indexed by their natural key (fund ticker, stock
    ticker, sector, index bucket, asset class, underlying id; rows largest ``|flow|`` first),
    built on first access from ``tables`` (the same tables as numpy columns,
    :class:`ResultTable`); ``reset_index()`` gives the tidy table the CSV and JSON outputs carry.

    >>> from lev_flows import replay
    >>> est = replay()                                   # 2026-02-04, point in time
    >>> row = est.tables["by_etf"].head(1)[0]            # the largest fund flow, no pandas needed
    >>> row.ticker, round(row.rebalance_usd / 1e9, 2)
    ('SOXL', -3.14)
    >>> est.by_etf.index[0]                              # the same row in the DataFrame
    'SOXL'
    >>> print(f'{est.by_etf.loc["TQQQ", "rebalance_usd"] / 1e9:.2f}B')
    -3.04B
    >>> print(f'{est.by_stock.loc["NVDA", "flow_usd"] / 1e9:.2f}B')
    -1.31B
    >>> print(f'{est.by_sector.loc["Information Technology", "flow_usd"] / 1e9:.2f}B')
    -9.17B
    >>> print(f'{est.by_index.loc["Nasdaq-100", "rebalance_usd"] / 1e9:.2f}B')
    -3.93B
    """

    date: dt.date | None
    basis: str
    tables: Mapping[str, ResultTable]
    total: FlowTotal
    coverage: Coverage
    as_of: dict[str, Any]
    warnings: list[str]
    #: the warnings about implausible inputs (also in ``warnings``); ``--strict`` makes them errors
    implausible: list[str] = field(default_factory=list)

    #: one row per fund: leverage, AUM and its provenance, return and its method, rebalance_usd,
    #: creation_usd, flow_usd, status, futures_share, swap_reset, auction_usd
    by_etf = _TableFrame("ticker")
    #: one row per stock with a flow: flow_usd, single_stock_usd, index_usd, auction_usd
    by_stock = _TableFrame("ticker")
    #: look-through flow per GICS sector, and its share of the gross sector flow (``share`` =
    #: ``|flow| / sum |flow|``, 0..1 on buying and selling sectors alike; the sign is the flow's)
    by_sector = _TableFrame("sector")
    #: per index bucket: funds, AUM (long / inverse), aum_with_return, rebalance, creation, flow
    by_index = _TableFrame("bucket")
    by_asset_class = _TableFrame("asset_class")
    #: per underlying with a flow
    by_underlying = _TableFrame("underlying")

    def __repr__(self) -> str:
        t = self.total
        when = f" {self.date}" if self.date else ""
        return (f"<FlowEstimate{when} ({self.basis}): rebalance {_bn(t.rebalance_usd)}, gross {_bn(t.gross_rebalance_usd)}, "
                f"{t.n_funds_with_flow} of {t.n_funds} funds with a flow; .summary(), .by_etf, .by_stock, .by_sector, .by_index>")

    def _repr_html_(self) -> str:
        """In a notebook: the headline and the by-index table (the full note: ``to_html()``)."""
        import html as _html

        rows = "".join(
            f"<tr><td>{_html.escape(str(r.bucket))}</td><td style='text-align:right'>{_bn(r.rebalance_usd)}</td></tr>"
            for r in self.tables["by_index"].head(8)
        )
        return (f"<p><b>{_html.escape(repr(self)[1:-1].split(';')[0])}</b></p>"
                f"<table><tr><th>bucket</th><th>rebalance</th></tr>{rows}</table>")

    def summary(self) -> str:
        """A short plain-text account of the estimate, as a desk note would put it."""
        t, c = self.total, self.coverage
        side = "buying" if t.rebalance_usd >= 0 else "selling"
        by_index = self.tables["by_index"].head()
        top_idx = [by_index[i] for i in np.argsort([-abs(r.rebalance_usd) for r in by_index], kind="stable")[:3]]
        idx = ", ".join(f"{r.bucket} {_bn(r.rebalance_usd)}" for r in top_idx)
        sec = ", ".join(f"{r.sector} {_bn(r.flow_usd)}" for r in self.tables["by_sector"].head(3))
        lines = [
            f"Leveraged ETF rebalancing{f' {self.date}' if self.date else ''} ({self.basis}): {_bn(abs(t.rebalance_usd))} of {side}"
            f" at the close across {t.n_funds_with_flow} funds (gross {_bn(t.gross_rebalance_usd)}).",
            f"Largest by index: {idx}.",
            f"Largest by sector: {sec}.",
            f"Coverage: {c.aum_with_return:.1%} of {_bn(c.aum_usd)} AUM had a return; "
            f"{c.equity_aum_with_composition:.1%} of equity AUM has a composition, "
            f"{c.equity_aum_with_sector:.1%} a sector.",
        ]
        if t.creation_usd or c.aum_with_creations:
            known = "" if c.aum_with_creations is None else f" (known for {c.aum_with_creations:.0%} of the AUM)"
            lines.append(f"Net creations x L add {_bn(t.creation_usd)}{known}, beside the rebalance: "
                         f"flow net of creations {_bn(t.flow_usd)}.")
        lines.extend(f"Warning: {w}" for w in self.warnings[:5])
        return "\n".join(lines)

    def plot(self, path: str | None = None, top: int = 15, *, force: bool = False, fmt: str | None = None) -> Any:
        """Bar charts of the top ``top`` stock flows and the sector flows (USD billions) as a
        matplotlib Figure; written atomically to ``path`` when given, as PNG, SVG or PDF (from
        the extension, or ``fmt``; an existing file needs ``force=True``). Needs matplotlib
        (imported only here).

        >>> from lev_flows import replay
        >>> fig = replay().plot()
        >>> [ax.get_title() for ax in fig.axes]
        ['Top 15 stocks', 'GICS sectors']
        """
        from lev_flows.present.charts import chart_figure, save_figure

        return save_figure(chart_figure(self, top=top), path, fmt, force=force)

    def to_html(self, **context: Any) -> str:
        """The estimate as a self-contained HTML desk note (inline SVG charts, sortable tables,
        no network); ``context`` passes ``history``, ``liquidity``, ``scorecard`` or ``fetch``
        on to :func:`lev_flows.present.note.render_note`."""
        from lev_flows.present.note import render_note

        return render_note(self, **context)

    def to_frame(self) -> "pd.DataFrame":
        """All levels in one tidy frame: columns ``level``, ``key``, ``flow_usd``."""
        import pandas as pd

        levels = (("etf", self.by_etf), ("stock", self.by_stock), ("sector", self.by_sector), ("index", self.by_index),
                  ("asset_class", self.by_asset_class))
        parts = [pd.DataFrame({"level": level, "key": frame.index.to_numpy(), "flow_usd": frame["flow_usd"].to_numpy()})
                 for level, frame in levels]
        parts.append(pd.DataFrame({"level": ["total"], "key": ["total"], "flow_usd": [self.total.flow_usd]}))
        return pd.concat(parts, ignore_index=True)

    def scope_totals(self) -> "pd.DataFrame":
        """The total of every scope (US equity funds, all funds, equity, index, single-stock,
        crypto, volatility, commodities, rates): :func:`lev_flows.model.scope.scope_frame`."""
        from lev_flows.model.scope import scope_frame

        return scope_frame(self.tables["by_etf"].columns)

    def to_dict(self, top: int | None = None) -> dict[str, Any]:
        def records(df: "pd.DataFrame", indexed: bool = True) -> list[dict[str, Any]]:
            df = df if top is None else df.head(top)
            df = df.reset_index() if indexed else df  # the key is the first field of each record
            return json.loads(df.to_json(orient="records", date_format="iso"))

        return {
            "date": self.date.isoformat() if self.date else None,
            "basis": self.basis,
            "total": self.total.model_dump(),
            "by_scope": records(self.scope_totals(), indexed=False),
            "coverage": self.coverage.model_dump(),
            "as_of": self.as_of,
            "warnings": self.warnings,
            "by_index": records(self.by_index),
            "by_sector": records(self.by_sector),
            "by_asset_class": records(self.by_asset_class),
            "by_etf": records(self.by_etf),
            "by_stock": records(self.by_stock),
        }

    def to_json(self, top: int | None = None, indent: int = 2) -> str:
        """JSON with totals, coverage, input dates and every table (``top`` rows each)."""
        return json.dumps(self.to_dict(top), indent=indent, allow_nan=False, default=str)


def _bn(usd: float) -> str:
    sign = "-" if usd < 0 else ""
    usd = abs(usd)
    return f"{sign}${usd / 1e9:,.2f}B" if usd >= 1e8 else f"{sign}${usd / 1e6:,.1f}M"


# --------------------------------------------------------------------------------------------

_COMPILED: dict[int, tuple[Universe, CompiledUniverse]] = {}


def compiled(universe: Universe) -> CompiledUniverse:
    """Compile a universe once and reuse it (keyed by object identity). Its entries are frozen;
    a list changed in place after compiling (a fund appended or replaced) is noticed by the
    entries' identities and compiled again, never served stale."""
    stamp = (tuple(map(id, universe.funds)), tuple(map(id, universe.underlyings)), id(universe.stocks), len(universe.stocks))
    hit = _COMPILED.get(id(universe))
    if hit is None or hit[0] is not universe or hit[2] != stamp:
        if len(_COMPILED) > 8:
            _COMPILED.clear()
        hit = (universe, compile_universe(universe), stamp)
        _COMPILED[id(universe)] = hit
    return hit[1]


def fund_underlying_returns(
    universe: Universe, returns: Mapping[str, float], where: str = "returns", per_fund: Mapping[str, float] | None = None
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Per-fund underlying return (F,), its source code (0 missing, 1 underlying, 2 fund's own
    return / L, 3 chosen per fund, point in time) and the keys that matched nothing.
    Underlying ids win over tickers."""
    c = compiled(universe)
    und_pos = {u: i for i, u in enumerate(c.underlying_ids)}
    fund_pos = {t: i for i, t in enumerate(c.tickers)}
    r_und = np.full(c.n_underlyings, np.nan)
    fund_override = np.full(len(c.tickers), np.nan)
    unused: list[str] = []
    for key, value in returns.items():
        key = str(key)
        if key in und_pos:
            r_und[und_pos[key]] = check_return(key, value, where)
        elif key in fund_pos:
            i = fund_pos[key]
            fund_override[i] = formula.underlying_return_from_fund_return(
                check_return(key, value, where), c.leverage[i]
            )
        else:
            unused.append(key)
    r_fund = r_und[c.fund_underlying]
    source = np.where(np.isnan(r_fund), 0, 1)
    has_own = ~np.isnan(fund_override)
    r_fund = np.where(has_own, fund_override, r_fund)
    source = np.where(has_own, 2, source)
    if per_fund:
        idx = np.fromiter((fund_pos.get(str(k), -1) for k in per_fund), dtype=np.int64, count=len(per_fund))
        if (idx < 0).any():
            bad = list(per_fund)[int(np.flatnonzero(idx < 0)[0])]
            raise InputError(f"{where}: {bad}: not a fund in the universe")
        r_fund[idx] = np.fromiter(per_fund.values(), dtype=float, count=len(per_fund))
        source[idx] = 3
    return r_fund, source, unused


def _edits(a: str, b: str) -> int:
    """The Levenshtein distance between two short keys (insertions, deletions, substitutions)."""
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]


def unknown_keys_message(universe: Universe, keys: list[str], where: str = "returns") -> str:
    """``returns: unknown key ndx (not an underlying id or fund ticker; did you mean NDX?)``."""
    from difflib import get_close_matches

    c = compiled(universe)
    ids, tickers = [str(u) for u in c.underlying_ids], [str(t) for t in c.tickers]
    upper = {k.upper(): k for k in ids + tickers}
    parts = []
    for key in keys[:3]:  # the fewest edits first, an underlying id before a fund ticker (NDQ: NDX, not SNDQ)
        cands = {k: k in upper and k in ids for k in get_close_matches(key.upper(), ids, n=4) + get_close_matches(key.upper(), tickers, n=4)}
        near = ([upper[key.upper()]] if key.upper() in upper
                else sorted(cands, key=lambda k: (_edits(key.upper(), k), not cands[k]))[:2])
        parts.append(key + (f" (did you mean {' or '.join(near)}?)" if near else ""))
    more = f" and {len(keys) - 3} more" if len(keys) > 3 else ""
    return f"{where}: unknown key{'s' if len(keys) > 1 else ''} {', '.join(parts)}{more}: not an underlying id or fund ticker of the universe"


def estimate(
    universe: Universe,
    returns: "Mapping[str, float] | pd.Series | DayReturns",
    *,
    date: dt.date | str | None = None,
    creations: Mapping[str, float] | None = None,
    holdings: Mapping[str, Any] | None = None,
    aum: Any | None = None,
    ignore_unknown: bool = False,
    exclude_etns: bool = False,
    on_impossible: str = "raise",
) -> FlowEstimate:
    """Estimate the close-of-day rebalancing flows of every fund in ``universe``.

    Parameters
    ----------
    universe : the catalog (see :func:`lev_flows.load_universe`).
    returns : the day's returns as fractions, keyed by underlying id (``NDX``, ``NVDA``) or by
        fund ticker (the fund's own return ``R``, used as ``r = R / L`` for that fund). Keys
        matching an underlying id take precedence. A :class:`DayReturns` carries its date,
        basis and per-key methods along. Funds with no return get NaN flows, are listed in
        ``coverage.missing_returns`` and are never counted as zero.
    date : the trading day, for labels (taken from ``DayReturns`` when omitted).
    creations : net creations in USD by fund ticker (negative = redemptions); each adds
        ``L * C`` of exposure, reported in ``creation_usd`` beside the rebalance.
    holdings : issuer holdings by fund ticker (objects with ``nav_usd`` and ``exposure_usd``
        at the previous close, e.g. :class:`lev_flows.inputs.sources.issuers.FundHoldings`). Daily
        funds with both use the exact ``L * N1 - E1`` (:func:`formula.holdings_rebalance_usd`)
        instead of the AUM formula; funds with only a NAV (Direxion files) use it as ``A``.
        A file whose ``E / N`` is not within 10% of ``L`` (formula.exposure_matches_leverage;
        a bill counted as exposure, unsigned swap notionals) is not used for ``L * N1 - E1``:
        the fund falls back to ``A * L * (L - 1) * r`` with the issuer NAV and is listed in the
        warnings with the ratio. ``by_etf.rebalance_method`` says which was used.
    aum : start-of-day AUM per fund: a :class:`lev_flows.model.pointintime.AumDay` (point in time,
        with source, observation date and gap per fund; what :func:`lev_flows.estimate_day`
        passes) or a mapping ticker -> USD. Default: the catalog's ``aum_usd`` (its date in
        ``by_etf.aum_date``).
    ignore_unknown : a return key that is neither an underlying id nor a fund ticker is an
        :class:`InputError` naming the nearest ids (a misspelt key must not read as "no move");
        with ``ignore_unknown=True`` such keys are skipped and listed in the warnings.
    exclude_etns : leave exchange-traded notes (catalog ``structure: ETN``) out: an ETN is the
        issuer's debt, and its hedge may not trade in the closing auction. They are listed with
        status ``excluded (ETN)`` and counted in ``coverage.n_funds_excluded``, never as zero.
    on_impossible : a fund whose day is impossible (``1 + L * r <= 0``: its NAV would go
        negative; :mod:`lev_flows.inputs.plausibility`) is an :class:`InputError` naming it and where
        its return came from (``"raise"``), or is left without a return and listed in the
        warnings (``"drop"``: what ``daily --allow-partial`` does). Implausible inputs (a return
        beyond its asset class's limit, an AUM over $100B, an issuer NAV five times off the
        fund's AUM) are warnings, also listed in ``FlowEstimate.implausible``.

    Returns
    -------
    FlowEstimate with per-fund ``rebalance_usd = A * L * (L - 1) * r`` for daily-reset funds
    (0 for funds whose leverage resets weekly or monthly), looked through to stocks, sectors,
    index buckets, asset classes and a total.

    Example
    -------
    >>> from lev_flows import load_universe, estimate
    >>> est = estimate(load_universe(), {"NDX": -0.02, "SOX": -0.05})
    >>> est.total.rebalance_usd < 0
    True
    """
    universe, returns, date, creations, holdings, aum = estimate_args(universe, returns, date, creations, holdings, aum,
                                                                      ignore_unknown, exclude_etns)
    day = _day_returns(returns, date)
    date = day.date
    if date is not None:
        universe = universe.on(date)  # the facts in force that day (a fund's leverage before a change)
    c = compiled(universe)
    r_fund, r_source, unused = fund_underlying_returns(universe, day.values, per_fund=day.per_fund)
    if unused and not ignore_unknown:
        raise InputError(unknown_keys_message(universe, unused) + " (ignore_unknown=True / --ignore-unknown skips them)")
    creation_in = _creation_inputs(c, creations)
    if on_impossible not in ("raise", "drop"):
        raise InputError(f"on_impossible must be 'raise' or 'drop', not {on_impossible!r}")
    aum_usd, provenance = _aum_inputs(universe, c, aum)  # an issuer's published NAV replaces it below
    implausible = plausibility.aum_findings(c.tickers, aum_usd)
    issuer = _issuer_inputs(c, holdings, aum_usd, implausible)
    aum_usd = issuer.aum_usd
    if exclude_etns:  # the notes stay in the tables, marked, with no AUM and no flow
        etn = c.fund_structures == "ETN"
        aum_usd = np.where(etn, np.nan, aum_usd)
        issuer.exact &= ~etn
        creation_in = np.where(etn, 0.0, creation_in)
        provenance = {**provenance, "aum_method": np.where(etn, "excluded (ETN)", provenance["aum_method"])}
    resets_today, r_fund = _resets_today(universe, c, date, day.resets, r_fund, day.basis)
    r_fund, dropped = _impossible_days(c, r_fund, aum_usd, day.methods, day.fund_methods, day.source, on_impossible)
    limit = plausibility.return_limit(c.underlying_asset_class, c.underlying_is_single_stock)[c.fund_underlying]
    implausible.extend(plausibility.implausible_returns(c.fund_underlying_ids, r_fund, limit))
    rebalance = formula.scheduled_rebalance_usd(aum_usd, c.leverage, r_fund, resets_today)
    if issuer.exact.any():
        rebalance = np.where(issuer.exact, formula.holdings_rebalance_usd(issuer.nav0, issuer.exp0, c.leverage, r_fund), rebalance)
    creation = formula.creation_exposure_usd(creation_in, c.leverage)
    flow = rebalance + creation
    tables, total, coverage = _results(c, day, aum_usd, r_fund, r_source, rebalance, creation, flow, issuer, provenance,
                                       resets_today, len(unused))
    if creations is not None:  # what share of the AUM the creations cover (the rest: unknown, not zero)
        coverage.aum_with_creations = _aum_share(aum_usd, np.isin(c.tickers, list(creations)))
    warnings = _warnings(universe, c, tables, coverage, date, aum is None, unused)
    warnings += [*issuer.warnings, *dropped, *implausible]
    _warn_gap(warnings, coverage)
    as_of = dict(universe.as_of_dates())
    as_of["aum"] = provenance["label"]
    as_of["compositions_after_date"] = _compositions_after(c, as_of["compositions"], date, flow)
    as_of.update({"returns": date.isoformat() if date else None, "returns_basis": day.basis, "returns_source": day.source})
    return FlowEstimate(date=date, basis=day.basis, tables=tables, total=total, coverage=coverage, as_of=as_of,
                        warnings=warnings, implausible=implausible)


def _compositions_after(c, dates: dict[str, str], date: dt.date | None, flow: np.ndarray) -> list[str]:
    """The compositions that carry some of the day's flow to stocks but are dated after ``date``
    (their weights were known only later: a look-ahead the estimate says, since no earlier
    holdings are at hand), sorted; none for an estimate without a date."""
    if date is None:
        return []
    moving = {c.fund_underlying_ids[i] for i in np.flatnonzero(np.isfinite(flow) & (flow != 0))}
    return sorted(u for u, d in dates.items() if u in moving and d > date.isoformat())


def _day_returns(returns: Any, date: dt.date | str | None) -> DayReturns:
    """Any accepted form of the day's returns as a :class:`DayReturns` (a mapping or a pandas
    Series is the user's close-to-close returns; ``date`` wins when given)."""
    if isinstance(date, str):
        date = dt.date.fromisoformat(date)
    if isinstance(returns, DayReturns):
        return dataclasses.replace(returns, date=date) if date else returns
    if "pandas" in sys.modules and isinstance(returns, sys.modules["pandas"].Series):  # no Series without pandas
        if returns.isna().any():
            bad = returns[returns.isna()].index[0]
            raise InputError(f"returns: {bad}: return is NaN; leave the key out instead of a placeholder")
        returns = returns.to_dict()
    return DayReturns(values=returns, date=date)


def _aum_share(aum_usd: np.ndarray, mask: np.ndarray) -> float:
    """The share of the AUM (0..1) of the funds in ``mask``; 0 when there is no AUM."""
    aum = np.nan_to_num(aum_usd, nan=0.0)
    return float(aum[mask].sum() / aum.sum()) if aum.sum() > 0 else 0.0


def _creation_inputs(c: CompiledUniverse, creations: Mapping[str, float] | None) -> np.ndarray:
    """Net creations per fund (USD, universe order; 0 where none is given)."""
    creation_in = np.zeros(len(c.tickers))
    if creations:
        pos = {t: i for i, t in enumerate(c.tickers)}
        for ticker, usd in creations.items():
            if ticker not in pos:
                raise InputError(f"creations: {ticker}: not a fund in the universe")
            creation_in[pos[ticker]] = plausibility.creation(usd, f"creations: {ticker}:")
    return creation_in


@dataclass
class _Issuer:
    """What the issuers' holdings files say per fund (universe order): net assets ``nav0`` and
    exposure ``exp0`` (USD, previous close), futures exposure ``fut0``, whether the exact
    ``L * N1 - E1`` applies, the AUM with the issuer's NAV in place, and how each fund is valued."""

    aum_usd: np.ndarray
    exact: np.ndarray
    nav0: np.ndarray
    exp0: np.ndarray
    fut0: np.ndarray
    rebalance_method: np.ndarray
    warnings: list[str]


def _issuer_inputs(c: CompiledUniverse, holdings: Mapping[str, Any] | None, aum_usd: np.ndarray,
                   implausible: list[str]) -> _Issuer:
    """Issuer holdings applied: a fund whose file gives both NAV and exposure consistent with its
    leverage (``E / N`` within 10 % of ``L``) is valued exactly; one with a NAV only uses it as
    ``A``; a file that contradicts the fund is listed, never used; a NAV 1000x off the fund's AUM
    (a unit slip) is not used at all (appended to ``implausible``)."""
    n = len(c.tickers)
    method = np.full(n, "A*L*(L-1)*r", dtype=object)
    nothing = np.full(n, np.nan)
    if not holdings:
        return _Issuer(aum_usd, np.zeros(n, dtype=bool), nothing, nothing, nothing, method, [])
    nav0, exp0, fut0 = _holdings_arrays(c, holdings)
    for i in np.flatnonzero(np.isfinite(nav0)):  # a unit slip (x1000) is not the fund's NAV
        if plausibility.nav_unit_slip(nav0[i], aum_usd[i]):
            implausible.append(f"{c.tickers[i]}: issuer net assets {_bn(nav0[i])} against an AUM of {_bn(aum_usd[i])} "
                               "(a unit slip?); the issuer file is not used")
            nav0[i] = exp0[i] = fut0[i] = np.nan
    published = c.resets_daily & np.isfinite(nav0) & np.isfinite(exp0)
    consistent = formula.exposure_matches_leverage(nav0, exp0, c.leverage)
    exact = published & consistent
    method[c.resets_daily & np.isfinite(nav0) & ~exact] = "A*L*(L-1)*r, A = issuer NAV"
    method[exact] = "holdings L*N1-E1"
    warnings = []
    for i in np.flatnonzero(published & ~consistent):  # a file that contradicts the fund: listed, never used
        ratio = exp0[i] / nav0[i]
        warnings.append(f"{c.tickers[i]}: holdings exposure / net assets = {ratio:+.2f}, not {c.leverage[i]:+g} "
                        f"(within {formula.EXPOSURE_TOLERANCE:.0%}); A*L*(L-1)*r with the issuer NAV used")
        method[i] = f"A*L*(L-1)*r, A = issuer NAV (holdings E/N {ratio:+.2f}, not L)"
    return _Issuer(np.where(np.isfinite(nav0), nav0, aum_usd), exact, nav0, exp0, fut0, method, warnings)


def _results(c: CompiledUniverse, day: DayReturns, aum_usd, r_fund, r_source, rebalance, creation, flow, issuer: _Issuer,
             provenance, resets_today, unused: int) -> tuple[dict[str, ResultTable], FlowTotal, Coverage]:
    """The result tables, the total and the coverage from the per-fund flows (USD): looked through
    to underlyings, stocks and sectors, with the part expected in the closing auctions."""
    has_aum, has_flow = ~np.isnan(aum_usd), ~np.isnan(flow)
    # priced = had a return (a weekly or monthly fund trades 0 on a non-reset day either way,
    # so its flow alone would count a bucket with no return at all as "priced")
    priced = has_flow & (r_source != 0) & resets_today
    und_flow = sum_by_code(c.fund_underlying, flow, c.n_underlyings)
    und_rebalance = sum_by_code(c.fund_underlying, rebalance, c.n_underlyings)
    stock = stock_flows(c, und_flow)
    stock_single = stock_flows(c, np.where(c.underlying_is_single_stock, und_flow, 0.0))
    # execution timing: the part of each fund's flow expected in the stocks' closing auctions;
    # an issuer file measures it (futures exposure over exposure)
    futures_share = np.where(np.isfinite(issuer.fut0), issuer.fut0, c.fund_futures_share)
    auction = formula.auction_share(futures_share, c.fund_swap_early)
    timing_known = np.isfinite(futures_share) | c.fund_swap_early
    stock_auction = stock_flows(c, sum_by_code(c.fund_underlying, flow * auction, c.n_underlyings))
    # look-through of a fund = flow x its underlying's total composition weight (gross: |that|)
    through = np.nan_to_num(flow) * np.bincount(c.comp_underlying, c.comp_weight, c.n_underlyings)[c.fund_underlying]
    looked = np.abs(through)
    known, gross = looked[timing_known].sum(), looked.sum()
    sector = sector_flows(c, stock)
    etf_columns = _etf_columns(c, aum_usd, r_fund, r_source, rebalance, creation, flow, day.methods, issuer.rebalance_method,
                               day.fund_methods, provenance, resets_today)
    etf_columns.update(futures_share=futures_share, auction_usd=flow * auction, swap_reset=c.fund_swap_reset)
    from lev_flows.inputs.packaged import aum_error_bands

    lo, hi = band.aum_factors(provenance["aum_source"], provenance["aum_gap"], provenance["aum_method"], aum_error_bands())
    etf_columns.update(aum_p10_usd=aum_usd * lo, aum_p90_usd=aum_usd * hi, rebalance_p10_usd=np.minimum(rebalance * lo, rebalance * hi),
                       rebalance_p90_usd=np.maximum(rebalance * lo, rebalance * hi))
    band_p10, band_p90 = band.rebalance_band(rebalance, lo, hi)
    total_stock = stock.sum()
    gross_sector = np.abs(sector).sum()  # a share of the gross: never negative on a buying sector
    with np.errstate(invalid="ignore", divide="ignore"):
        sector_share = np.abs(sector) / gross_sector if gross_sector else np.full(len(sector), np.nan)
    tables = {
        "by_etf": _table(etf_columns, c, _ETF_LABELS),
        "by_stock": _table({"ticker": c.stock_tickers, "name": c.stock_names, "sector": c.sectors[c.stock_sector],
                            "flow_usd": stock, "single_stock_usd": stock_single, "index_usd": stock - stock_single,
                            "auction_usd": stock_auction}, c, _STOCK_LABELS, keep=stock != 0),
        "by_sector": _table({"sector": c.sectors, "flow_usd": sector, "share": sector_share}, keep=sector != 0),
        "by_index": _group(c, c.underlying_bucket, "bucket", aum_usd, rebalance, creation, flow, priced, band=(lo, hi)),
        "by_asset_class": _group(c, c.underlying_asset_class, "asset_class", aum_usd, rebalance, creation, flow, priced),
        "by_underlying": _table({"underlying": c.underlying_ids, "bucket": c.underlying_bucket,
                                 "asset_class": c.underlying_asset_class, "has_composition": c.has_composition,
                                 "rebalance_usd": und_rebalance, "flow_usd": und_flow}, keep=und_flow != 0),
    }
    fund_asset = c.underlying_asset_class[c.fund_underlying]
    coverage = _coverage(c, aum_usd, has_aum, has_flow, fund_asset, unused, provenance)
    total = FlowTotal(
        rebalance_usd=float(np.nansum(rebalance)), creation_usd=float(creation.sum()), flow_usd=float(np.nansum(flow)),
        gross_rebalance_usd=float(np.nansum(np.abs(rebalance))),
        equity_rebalance_usd=float(np.nansum(rebalance[fund_asset == "equity"])),
        lookthrough_usd=float(total_stock), aum_usd=float(np.nansum(aum_usd)), n_funds=len(c.tickers),
        n_funds_with_flow=int((has_flow & (flow != 0)).sum()), auction_usd=float(stock_auction.sum()),
        auction_timing_known=float(known / gross) if gross > 0 else None,
        auction_known_usd=float((through * auction)[timing_known].sum()), auction_assumed_usd=float(through[~timing_known].sum()),
        band_p10_usd=None if not np.isfinite(band_p10) else float(band_p10),
        band_p90_usd=None if not np.isfinite(band_p90) else float(band_p90),
    )
    return tables, total, coverage


def _warnings(universe: Universe, c: CompiledUniverse, tables, coverage: Coverage, date, catalog_aum: bool,
              unused: list[str]) -> list[str]:
    """What the estimate leaves out or rests on: large funds without a return, funds without AUM,
    catalog AUM dated after the day (look-ahead), skipped return keys."""
    warnings = [
        f"no return for {t} ({_bn(a)} AUM); its flow is left out, not counted as zero"
        for t, a in coverage.missing_returns
        if a >= LARGE_FUND_USD
    ]
    if coverage.n_funds_without_aum:
        without = c.tickers[tables["by_etf"].columns["status"] == "no AUM"]  # the funds counted in n_funds_without_aum
        more = f" and {len(without) - 8} more" if len(without) > 8 else ""
        warnings.append(f"{coverage.n_funds_without_aum} funds have no AUM and are left out: "
                        f"{', '.join(map(str, without[:8]))}{more} (by_etf status 'no AUM')")
    if catalog_aum and date is not None:
        later = [f.aum_as_of for f in universe.funds if f.aum_as_of is not None and f.aum_as_of > date]
        if later:
            warnings.append(
                f"catalog AUM of {len(later)} funds is dated after {date} (up to {max(later)}): look-ahead; "
                "estimate_day / --prices use point-in-time AUM"
            )
    if unused:
        warnings.append(unknown_keys_message(universe, unused) + "; skipped")
    return warnings


def _warn_gap(warnings: list[str], coverage: Coverage) -> None:
    """A warning when the AUM rests on observations more than MAX_MEDIAN_GAP sessions away."""
    gap = coverage.aum_median_gap_sessions
    if gap is not None and math.isfinite(gap) and gap > MAX_MEDIAN_GAP:
        warnings.append(
            f"AUM is {gap:.0f} sessions from its nearest observation (AUM-weighted median; over {MAX_MEDIAN_GAP}): "
            "import AUM observations nearer the day (lev-flows aum import / aum update)"
        )


def _resets_today(universe: Universe, c: CompiledUniverse, date, resets, r_fund: np.ndarray, basis: str) -> tuple[np.ndarray, np.ndarray]:
    """Which funds reset at this close, and their returns for the formula.

    Daily funds always. Weekly / monthly / quarterly funds: those named in ``resets`` (point in
    time gives their period return). Without that, on a dated close-to-close estimate the NYSE
    calendar says which reset today; their return for the period is not known from one day's
    returns, so it is NaN (listed as missing, never the day's move and never 0). Undated
    scenarios (what-if, ladder) treat them as not resetting.
    """
    if resets is not None:
        named = np.isin(c.tickers, list(resets))
        return c.resets_daily | named, r_fund
    if date is None or basis != "close-to-close" or c.resets_daily.all():
        return c.resets_daily.copy(), r_fund
    from lev_flows.inputs.calendar import in_range, is_reset_day

    if not in_range(date):
        return c.resets_daily.copy(), r_fund
    today = {kind: is_reset_day(date, kind) for kind in ("weekly", "monthly", "quarterly")}
    due = np.array([not d and today.get(k, False) for d, k in zip(c.resets_daily, c.fund_resets)], dtype=bool)
    return c.resets_daily | due, np.where(due, np.nan, r_fund)


def _table(columns: dict[str, np.ndarray], compiled: CompiledUniverse | None = None, label_keys: Mapping[str, str] | None = None,
           *, keep: np.ndarray | None = None, by: str = "flow_usd") -> ResultTable:
    """A :class:`ResultTable` of the rows in ``keep`` (default all), largest ``|by|`` first
    (stable, NaN last)."""
    rows = np.arange(len(columns[by])) if keep is None else np.flatnonzero(keep)
    order = rows[np.argsort(-np.abs(np.asarray(columns[by], dtype=float)[rows]), kind="stable")]
    frozen = {}
    for name, values in columns.items():  # read-only views: some are the compiled universe's own arrays
        view = np.asarray(values).view()
        view.flags.writeable = False
        frozen[name] = view
    return ResultTable(columns=frozen, order=order, compiled=compiled, label_keys=label_keys or {})


_RETURN_SOURCE = np.array(["missing", "underlying", "fund", "point in time"], dtype=object)


def _aum_inputs(universe: Universe, c: CompiledUniverse, aum: Any | None) -> tuple[np.ndarray, dict[str, Any]]:
    """Start-of-day AUM (F,) and its provenance columns from an AumDay, a mapping or the catalog."""
    n = len(c.tickers)
    if aum is None:
        dates = np.array([f.aum_as_of.isoformat() if f.aum_as_of else None for f in universe.funds], dtype=object)
        has = ~np.isnan(c.aum_usd)
        return c.aum_usd, {
            "aum_source": np.where(has, "catalog", None),
            "aum_method": np.where(has, "catalog", "none"),
            "aum_date": dates,
            "aum_gap": np.full(n, np.nan),
            "median_gap": None,
            "label": f"catalog ({universe.source or 'universe file'}, as of {universe.as_of})",
        }
    if hasattr(aum, "aum_usd") and hasattr(aum, "gap_sessions"):
        values = np.asarray(aum.aum_usd, dtype=float)
        if values.shape != (n,):
            raise InputError(f"aum: {values.shape[0]} values for {n} funds")
        obs = np.asarray(aum.obs_date).astype("datetime64[D]")
        dates = np.datetime_as_string(obs, unit="D").astype(object)
        dates[np.isnat(obs)] = None
        method = np.asarray(aum.method, dtype=object)
        gap = np.asarray(aum.gap_sessions, dtype=float)
        return values, {
            "aum_source": np.where(method == "none", None, np.asarray(aum.source, dtype=object)),
            "aum_method": np.where((method == "none") & np.isnan(values), _not_launched(universe, aum), method),
            "aum_date": dates,
            "aum_gap": np.where(gap < 0, np.nan, gap),
            "median_gap": None if not math.isfinite(aum.median_gap) else float(aum.median_gap),
            "label": f"{aum.label[:-1]}; AUM-weighted median gap {aum.median_gap:.0f} session{'' if round(aum.median_gap) == 1 else 's'})"
            if math.isfinite(aum.median_gap) and aum.label.endswith(")") else aum.label,
        }
    pos = {t: i for i, t in enumerate(c.tickers)}
    values = np.full(n, np.nan)
    for ticker, usd in dict(aum).items():
        i = pos.get(str(ticker))
        if i is None:
            raise InputError(f"aum: {ticker}: not a fund in the universe")
        try:
            v = float(usd)
        except (TypeError, ValueError):
            raise InputError(f"aum: {ticker}: {usd!r} is not a number of USD") from None
        if not math.isfinite(v) or v < 0:
            raise InputError(f"aum: {ticker}: AUM {usd!r} is not a non-negative number")
        values[i] = v
    has = ~np.isnan(values)
    return values, {
        "aum_source": np.where(has, "user", None),
        "aum_method": np.where(has, "given", "none"),
        "aum_date": np.full(n, None, dtype=object),
        "aum_gap": np.full(n, np.nan),
        "median_gap": None,
        "label": "given by the caller",
    }


def _not_launched(universe: Universe, aum: Any) -> np.ndarray:
    """"closed" (catalog ``closed_on`` reached), "not launched" (before inception) or "none"."""
    launched = getattr(aum, "launched", None)
    if launched is None:
        return np.array(["none"] * len(universe.funds), dtype=object)
    closed = getattr(aum, "closed", None)
    closed = np.zeros(len(universe.funds), dtype=bool) if closed is None else np.asarray(closed, dtype=bool)
    return np.where(np.asarray(launched), "none", np.where(closed, "closed", "not launched"))


def _impossible_days(c: CompiledUniverse, r_fund: np.ndarray, aum: np.ndarray, methods: Mapping[str, str],
                     fund_methods: Mapping[str, str], source: str, on_impossible: str) -> tuple[np.ndarray, list[str]]:
    """Funds whose day is impossible (``1 + L * r <= 0``): an error naming the largest, or
    (``"drop"``) no return and a warning each."""
    bad = np.flatnonzero(plausibility.negative_nav(c.leverage, r_fund))
    bad = bad[np.argsort(-np.nan_to_num(aum[bad]), kind="stable")]
    if not len(bad):
        return r_fund, []
    msgs = []
    for i in bad:
        t, u = str(c.tickers[i]), str(c.fund_underlying_ids[i])
        where = fund_methods.get(t) or methods.get(u) or source
        msgs.append(plausibility.nav_impossible_message(t, float(c.leverage[i]), float(r_fund[i]), f"{u}: {where}"))
    if on_impossible == "raise":
        more = f" (and {len(msgs) - 1} more funds)" if len(msgs) > 1 else ""
        raise InputError(msgs[0] + more + "; check the return, or --allow-partial to leave such funds out")
    out = r_fund.copy()
    out[bad] = np.nan
    return out, [m + "; left out" for m in msgs]


def _holdings_arrays(c: CompiledUniverse, holdings: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Start-of-day NAV, exposure and futures share of exposure per fund (NaN where not
    published; a non-positive NAV counts as not published)."""
    pos = {t: i for i, t in enumerate(c.tickers)}
    nav0 = np.full(len(c.tickers), np.nan)
    exp0 = np.full(len(c.tickers), np.nan)
    fut0 = np.full(len(c.tickers), np.nan)
    for ticker, h in holdings.items():
        i = pos.get(ticker)
        if i is None:
            raise InputError(f"holdings: {ticker}: not a fund in the universe")
        nav, exposure = getattr(h, "nav_usd", None), getattr(h, "exposure_usd", None)
        if nav is not None and math.isfinite(nav) and nav > 0:
            nav0[i] = nav
            if exposure is not None and math.isfinite(exposure):
                exp0[i] = exposure
                futures = getattr(h, "futures_exposure_usd", None)
                if futures is not None and math.isfinite(futures) and exposure != 0:
                    fut0[i] = min(max(futures / exposure, 0.0), 1.0)
    return nav0, exp0, fut0


def _etf_columns(c, aum, r_fund, r_source, rebalance, creation, flow, methods, rebalance_method, fund_methods, provenance,
                 resets_today) -> dict[str, np.ndarray]:
    """The per-fund columns of ``by_etf`` in catalog order."""
    und_method = np.array([methods.get(u, "") for u in c.underlying_ids], dtype=object)
    method = und_method[c.fund_underlying] if len(und_method) else np.zeros(0, dtype=object)
    method = np.where(r_source == 2, "fund's own return / L", method)
    if fund_methods:
        per = np.array([fund_methods.get(t, "") for t in c.tickers], dtype=object)
        method = np.where(r_source == 3, per, method)
    status = np.select(
        [provenance["aum_method"] == "not launched", provenance["aum_method"] == "closed",
         provenance["aum_method"] == "excluded (ETN)", np.isnan(aum), r_source == 0, ~resets_today],
        ["not launched", "closed", "excluded (ETN)", "no AUM", "no return", "no reset today"],
        default="ok",
    )
    return {
        "ticker": c.tickers,
        "name": c.fund_names,
        "issuer": c.fund_issuers,
        "leverage": c.leverage,
        "underlying": c.fund_underlying_ids,
        "bucket": c.underlying_bucket[c.fund_underlying],
        "asset_class": c.underlying_asset_class[c.fund_underlying],
        "reset": c.fund_resets,
        "structure": c.fund_structures,
        "aum_usd": aum,
        "aum_source": provenance["aum_source"],
        "aum_method": provenance["aum_method"],
        "aum_date": provenance["aum_date"],
        "aum_gap_sessions": provenance["aum_gap"],
        "underlying_return": r_fund,
        "return_source": _RETURN_SOURCE[r_source],
        "return_method": method,
        "rebalance_usd": rebalance,
        "rebalance_method": rebalance_method,
        "creation_usd": creation,
        "flow_usd": flow,
        "status": status,
    }


#: text columns whose pandas form is cached per compiled universe (:func:`_labels`)
_ETF_LABELS = {"ticker": "fund_ticker", "name": "fund_name", "issuer": "fund_issuer", "underlying": "fund_underlying",
               "bucket": "fund_bucket", "asset_class": "fund_asset", "reset": "fund_reset", "structure": "fund_structure"}
_STOCK_LABELS = {"ticker": "stock_ticker", "name": "stock_name", "sector": "stock_sector"}


def _labels(c: CompiledUniverse) -> "dict[str, pd.Series]":
    """Text columns of the result tables, converted to pandas once per compiled universe."""
    import pandas as pd

    if not c.labels:
        c.labels.update(
            {
                "fund_ticker": pd.Series(c.tickers),
                "fund_name": pd.Series(c.fund_names),
                "fund_issuer": pd.Series(c.fund_issuers),
                "fund_underlying": pd.Series(c.fund_underlying_ids),
                "fund_bucket": pd.Series(c.underlying_bucket[c.fund_underlying]),
                "fund_asset": pd.Series(c.underlying_asset_class[c.fund_underlying]),
                "fund_reset": pd.Series(c.fund_resets),
                "fund_structure": pd.Series(c.fund_structures),
                "stock_ticker": pd.Series(c.stock_tickers),
                "stock_name": pd.Series(c.stock_names),
                "stock_sector": pd.Series(c.sectors[c.stock_sector]),
            }
        )
    return c.labels


def _group(
    c: CompiledUniverse, label_by_underlying: np.ndarray, key: str, aum_usd, rebalance, creation, flow, has_flow,
    band: tuple[np.ndarray, np.ndarray] | None = None,
) -> ResultTable:
    """Sum fund columns by a label of their underlying (bucket, asset class) with bincount.

    ``aum_with_return`` is the share of the group's AUM whose fund had a return; a group with
    none gets NaN flows ("unknown"), never a zero. ``band``: the funds' AUM factors (lo, hi) for
    the group's ``rebalance_p10_usd`` / ``rebalance_p90_usd`` (:mod:`lev_flows.model.band`).
    """
    labels, und_code = np.unique(label_by_underlying.astype(str), return_inverse=True)
    code = und_code[c.fund_underlying]
    n = len(labels)
    aum = np.nan_to_num(aum_usd)
    group_aum = np.bincount(code, aum, n)
    priced_aum = np.bincount(code, np.where(has_flow, aum, 0.0), n)
    none = np.bincount(code, has_flow.astype(float), n) == 0
    with np.errstate(invalid="ignore", divide="ignore"):
        priced_share = np.where(group_aum > 0, priced_aum / group_aum, np.nan)
    n_funds = np.bincount(code, minlength=n)
    return _table(
        {
            key: labels,
            "n_funds": n_funds,
            "aum_usd": group_aum,
            "long_aum_usd": np.bincount(code, np.where(c.leverage > 0, aum, 0.0), n),
            "inverse_aum_usd": np.bincount(code, np.where(c.leverage < 0, aum, 0.0), n),
            "aum_with_return": priced_share,
            "rebalance_usd": np.where(none, np.nan, sum_by_code(code, rebalance, n)),
            "creation_usd": sum_by_code(code, creation, n),
            "flow_usd": np.where(none, np.nan, sum_by_code(code, flow, n)),
            **(_group_band(code, n, rebalance, band, none) if band is not None else {}),
        },
        keep=n_funds > 0,
    )


def _group_band(code: np.ndarray, n: int, rebalance: np.ndarray, band: tuple[np.ndarray, np.ndarray], none: np.ndarray) -> dict:
    """Each group's rebalance band: the sums with every fund at its low and at its high AUM."""
    lo, hi = band
    flows = np.isfinite(rebalance) & (rebalance != 0)
    unknown = np.bincount(code, (flows & ~(np.isfinite(lo) & np.isfinite(hi))).astype(float), n) > 0
    x = np.where(flows, rebalance, 0.0)
    a, b = np.bincount(code, x * np.nan_to_num(lo), n), np.bincount(code, x * np.nan_to_num(hi), n)
    off = unknown | none
    return {"rebalance_p10_usd": np.where(off, np.nan, np.minimum(a, b)), "rebalance_p90_usd": np.where(off, np.nan, np.maximum(a, b))}


def _coverage(c: CompiledUniverse, aum_usd, has_aum, has_flow, fund_asset, unused: int, provenance: dict[str, Any]) -> Coverage:
    not_launched = provenance["aum_method"] == "not launched"
    closed = provenance["aum_method"] == "closed"
    excluded = provenance["aum_method"] == "excluded (ETN)"
    aum = np.nan_to_num(aum_usd, nan=0.0)
    total = aum.sum()
    is_equity = fund_asset == "equity"
    eq_total = aum[is_equity].sum()
    known = c.stock_sector != len(c.sectors) - 1
    sector_weight = np.bincount(
        c.comp_underlying, weights=c.comp_weight * known[c.comp_stock], minlength=c.n_underlyings
    )
    fund_sector_share = sector_weight[c.fund_underlying]
    missing = has_aum & ~has_flow
    order = np.argsort(-aum[missing], kind="stable")
    miss_t = c.tickers[missing][order]
    miss_a = aum[missing][order]

    def share(x: float, of: float) -> float:
        return float(x / of) if of else 0.0

    return Coverage(
        aum_usd=float(total),
        aum_with_return=share(aum[has_flow].sum(), total),
        equity_aum_usd=float(eq_total),
        equity_aum_with_composition=share(aum[is_equity & c.has_composition[c.fund_underlying]].sum(), eq_total),
        equity_aum_with_sector=share((aum * fund_sector_share)[is_equity].sum(), eq_total),
        n_funds=len(c.tickers),
        n_funds_without_aum=int((~has_aum & ~not_launched & ~closed & ~excluded).sum()),
        n_funds_excluded=int(excluded.sum()),
        n_funds_not_launched=int(not_launched.sum()),
        n_funds_closed=int(closed.sum()),
        aum_median_gap_sessions=provenance.get("median_gap"),
        aum_basis=basis_shares(aum_usd, provenance["aum_source"], provenance["aum_gap"]) if provenance.get("median_gap") is not None else {},
        n_funds_missing_return=int(missing.sum()),
        missing_returns=[(str(t), float(a)) for t, a in zip(miss_t[:25], miss_a[:25])],
        unused_return_keys=unused,
    )
