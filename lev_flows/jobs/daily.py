"""The daily estimate: decide the session, fetch what it needs, estimate, write a report.

    session, closed = market_state()            # exchange-calendars: today's session, past 16:00?
    prices = source.quotes(...)  if live         # last price vs previous close, intraday
             source.closes(...)  otherwise       # the session's close vs the one before
    returns = underlying_return_matrix(...)      # price -> composition -> fund change / L
    estimate(universe, returns, holdings=...)    # exact L*N1 - E1 where issuer files are known

Symbols fetched (:func:`fetch_plan`): what the estimate needs, not what it could use. First,
in one round, every fund's own price (its change / L is its return), the index symbols
(``^GSPC``, ``^RUT``, ``^DJI``), the tracking ETFs (QQQ, SOXX ...) and the single-stock
underlyings. Only for a composition underlying none of those priced, a second round: its
members. Look-through needs weights, not the stocks' prices, so on a normal day no composition
stock is fetched (977 symbols for the shipped catalog instead of ~1,750: 49 spark requests of
20, live quotes and closes alike). Symbols that fail are listed; a failure that leaves a fund without any return
stops the run (without ``allow_partial``) with one error naming the first symbol and URL; with
it the run completes and the failures show as reduced coverage, never as zero returns.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lev_flows.errors import DataSourceError, InputError, OutputError
from lev_flows.inputs.calendar import (
    check_trading_day,
    market_state,
    on_sessions,
    previous_session,
)
from lev_flows.inputs.catalog import Universe
from lev_flows.inputs.sources.base import (
    PriceQuery,
    PriceSource,
    PriceTable,
    Progress,
    QuoteQuery,
)
from lev_flows.inputs.sources.underlyings import INDEX_PRICE_COLUMNS, TRACKING_ETFS
from lev_flows.model.estimate import FlowEstimate, compiled, estimate


@dataclass(frozen=True)
class DailyResult:
    """The estimate plus what the fetch did: ``failed`` symbol -> reason, ``mode`` ``close``
    or ``live``, and the holdings used for exact re-leveraging."""

    estimate: FlowEstimate
    session: dt.date
    mode: str
    source: str
    symbols: int
    failed: dict[str, str]
    missing: list[str] = field(default_factory=list)
    #: HTTP requests the online source made (None for local files)
    requests: int | None = None
    holdings_used: list[str] = field(default_factory=list)
    holdings_failed: dict[str, str] = field(default_factory=dict)
    #: context for the HTML note, when the source allows it (local tables): the history the day
    #: ranks in, the liquidity table, the published figures of the day
    history: Any = None
    liquidity: Any = None
    scorecard: Any = None
    #: the day's $ per 1 % move and dispersion (:func:`lev_flows.analysis.whatif.sensitivity_of_day`)
    sensitivity: Any = None

    def to_dict(self, top: int | None = None) -> dict[str, Any]:
        out = self.estimate.to_dict(top)
        out["fetch"] = {
            "session": self.session.isoformat(),
            "mode": self.mode,
            "source": self.source,
            "symbols": self.symbols,
            "requests": self.requests,
            "failed": self.failed,
            "missing": self.missing,
            "holdings_used": self.holdings_used,
            "holdings_failed": self.holdings_failed,
        }
        return out


@dataclass(frozen=True)
class FetchPlan:
    """What a day's estimate fetches, in the order the returns are chosen (see the module doc).

    ``first``: every fund's own ticker (its change / L is the first choice), the index symbols
    (``^GSPC``, ``^RUT``, ``^DJI``), the tracking ETFs (QQQ for the Nasdaq-100, SOXX for the
    semiconductors ...) and the single-stock underlyings, in one batched round: everything the
    point-in-time returns read before a composition. ``fallback``: per composition underlying,
    its members, fetched only for an underlying that the first round left without a return on
    some session (no index, no ETF, no daily fund priced).
    """

    first: list[str]
    fallback: dict[str, list[str]]


def fetch_plan(universe: Universe) -> FetchPlan:
    """The :class:`FetchPlan` of ``universe``."""
    c = compiled(universe)
    ids = [str(u) for u in c.underlying_ids]
    direct = {s for u in ids for s in (INDEX_PRICE_COLUMNS.get(u), TRACKING_ETFS.get(u)) if s}
    singles = {u for u, single in zip(ids, c.underlying_is_single_stock) if single}
    fallback = {
        u: sorted(set(map(str, c.stock_tickers[c.comp_stock[c.comp_underlying == j]])))
        for j, u in enumerate(ids)
        if c.has_composition[j] and not c.underlying_is_single_stock[j]
    }
    return FetchPlan(first=sorted({f.ticker for f in universe.funds} | direct | singles), fallback=fallback)


def fallback_needed(universe: Universe, plan: FetchPlan, closes: pd.DataFrame, session: dt.date) -> tuple[list[str], list[str]]:
    """After the first round: ``(composition underlyings to fetch the members of, funds that
    nothing prices on the session)``. The first are those the first round's prices leave
    without a return on some session of the window, exactly as the point-in-time ladder would
    read them (:func:`lev_flows.model.returns.underlying_return_matrix`)."""
    from lev_flows.model.returns import (
        METHOD_COMPOSITION,
        METHOD_NONE,
        clean_fund_returns,
        daily_returns,
        underlying_return_matrix,
    )

    c = compiled(universe)
    if closes.empty or pd.Timestamp(session) not in closes.index:
        return sorted(plan.fallback), []
    day_r = daily_returns(on_sessions(closes.loc[: pd.Timestamp(session)]))
    if day_r.empty:
        return sorted(plan.fallback), []
    m = underlying_return_matrix(universe, day_r, fund_returns=day_r)
    # (T, U): nothing, or a composition of whichever members happened to be in the first round
    none = np.isin(m.method, (METHOD_NONE, METHOD_COMPOSITION))
    ids = [str(u) for u in c.underlying_ids]
    need = sorted(u for j, u in enumerate(ids) if u in plan.fallback and none[:, j].any())
    own = np.isfinite(clean_fund_returns(day_r.reindex(columns=c.tickers).to_numpy(dtype=float)))[-1]
    last_none = none[-1][c.fund_underlying]
    unpriced = sorted(str(t) for t, u, ok, nothing in zip(c.tickers, c.fund_underlying_ids, own, last_none)
                      if nothing and not ok and str(u) not in plan.fallback)
    return need, unpriced


def _merge(a: PriceTable, b: PriceTable) -> PriceTable:
    closes = a.closes.join(b.closes[[c for c in b.closes.columns if c not in a.closes.columns]], how="outer")
    return dataclasses.replace(a, closes=closes, failed={**a.failed, **b.failed}, missing=[*a.missing, *b.missing],
                               unadjusted=sorted({*a.unadjusted, *b.unadjusted}))


def resolve_session(as_of: dt.date | None, now: pd.Timestamp | None = None) -> tuple[dt.date, bool]:
    """``(session, live)``: ``as_of`` (a past or today's closed session) or the clock's session;
    ``live`` when that session is today and New York has not reached the close yet."""
    from lev_flows.inputs.calendar import in_range, sessions

    if as_of is not None and not in_range(as_of):
        cal = sessions()
        raise InputError(f"--date {as_of}: outside the NYSE calendar ({cal.first} .. {cal.last})")
    session, closed, _ = market_state(now)
    if as_of is None:
        return session, not closed
    check_trading_day(as_of, "--date")
    if as_of > session:
        raise InputError(f"--date {as_of}: in the future (the latest session is {session})")
    return as_of, (as_of == session and not closed)


def fetch_prices(
    source: PriceSource, symbols: list[str], session: dt.date, live: bool, progress: Progress | None = None,
    start: dt.date | None = None,
) -> PriceTable:
    """The session's prices and the previous close for ``symbols`` (closes from ``start`` when
    given, so the AUM observations can be carried to the session by the funds' prices)."""
    if live:
        return source.quotes(QuoteQuery(symbols=symbols), progress)
    first = previous_session(session)
    start = min(start, first) if start is not None else first
    return source.closes(PriceQuery(symbols=symbols, start=start, end=session), progress)


#: at most this many calendar days of closes are fetched to carry AUM observations forward
MAX_CARRY_DAYS = 120


def _first_needed(universe: Universe, observations: pd.DataFrame, session: dt.date) -> dt.date:
    """The oldest close the AUM carry needs: the earliest of each fund's latest observation
    before ``session`` (bounded by ``MAX_CARRY_DAYS``)."""
    floor = session - dt.timedelta(days=MAX_CARRY_DAYS)
    if observations is None or observations.empty:
        return floor
    obs = observations[observations["ticker"].isin({f.ticker for f in universe.funds})]
    dates = pd.to_datetime(obs["date"])
    latest = dates[dates < pd.Timestamp(session)].groupby(obs["ticker"]).max()
    if latest.empty:
        return floor
    return max(latest.min().date(), floor)


def run_daily(
    universe: Universe,
    source: PriceSource,
    *,
    as_of: dt.date | None = None,
    now: pd.Timestamp | None = None,
    allow_partial: bool = False,
    holdings_source: Any | None = None,
    progress: Progress | None = None,
    force_live: bool = False,
    creations: dict[str, float] | None = None,
    observations: pd.DataFrame | None = None,
    db: str | Path | None = None,
    exclude_etns: bool = False,
    note_context: bool = True,
) -> DailyResult:
    """Fetch, compute returns and estimate the session's flows (see the module doc).

    AUM and returns come from :func:`lev_flows.model.pointintime.point_in_time`, as for ``estimate
    --date``: over a local source's whole table (so ``daily --date D --prices DIR`` equals
    ``estimate --date D --prices DIR``), or over what was fetched, from the oldest AUM
    observation still in use. ``observations`` default to the store's (``db``).
    ``progress(symbol, ok)`` is called as each symbol finishes; if it also has an
    ``expect(n)`` method, that is called first with the number of symbols.
    ``note_context=False`` skips the history, liquidity and published figures the report's note
    shows (``DailyResult.history`` ... are None): a live estimate or a watch refresh needs only the
    estimate.
    """
    from lev_flows.inputs.store import load_best_observations
    from lev_flows.model.day import split_warnings
    from lev_flows.model.pointintime import point_in_time

    session, live = resolve_session(as_of, now)
    if force_live and not live:
        raise InputError(f"--live: New York is not in a session now (the last session, {session}, has closed)")
    if observations is None:
        observations = load_best_observations(db)
    client = getattr(source, "client", None)
    requests_before = getattr(client, "requests", None)
    got = _fetch_session(universe, source, session, live, progress, _first_needed(universe, observations, session))
    closes = _session_closes(got, session, allow_partial)
    full = getattr(source, "table", None)  # a local source: its whole table, as estimate --date reads it
    pos = closes.index.get_loc(pd.Timestamp(session))
    pit_closes = full if isinstance(full, pd.DataFrame) and not live else closes.iloc[: pos + 1]  # point_in_time puts it on the sessions
    pit = point_in_time(universe, pit_closes, _with_catalog(universe, observations, pit_closes.index[0]) if live else observations)
    row = pit.row(session)
    basis = "close-to-close" if not live else f"{got.table.basis} vs previous close"
    returns = dataclasses.replace(pit.day_returns(universe, row, source=got.table.source), date=session, basis=basis)
    holdings, holdings_failed = _fetch_holdings(universe, holdings_source, session, progress, db)
    if creations is None and not live:  # a past close: the day's creations from the issuers' shares, as estimate --date
        from lev_flows.model.day import pit_creations

        creations = pit_creations(pit, row)
    est = estimate(universe, returns, holdings=holdings or None, creations=creations, aum=pit.aum_day(row),
                   on_impossible="drop" if allow_partial else "raise", exclude_etns=exclude_etns)
    suspects, contradicted = split_warnings(universe, pit, row)  # a fund's unadjusted split is said, never silent
    est.warnings.extend(suspects)
    est.implausible.extend(contradicted)
    missing = _fetch_warnings(est, got, holdings_failed)
    history = liquidity = scorecard = sensitivity = None
    if note_context:
        history, liquidity, scorecard, sensitivity = _note_context(universe, source, est, pit,
                                                                   full if isinstance(full, pd.DataFrame) else None)
    return DailyResult(
        history=history, liquidity=liquidity, scorecard=scorecard, sensitivity=sensitivity, estimate=est, session=session,
        mode="live" if live else "close", source=got.table.source, symbols=len(got.fetched),
        requests=None if requests_before is None else client.requests - requests_before,
        failed=got.failed, missing=missing, holdings_used=sorted(holdings), holdings_failed=holdings_failed,
    )


def _with_catalog(universe: Universe, observations: pd.DataFrame | None, first: pd.Timestamp) -> pd.DataFrame | None:
    """The store's observations plus, for each fund the store does not know whose catalog AUM is
    of a close before ``first`` (the fetched table's first row), that figure as an observation at
    the close before ``aum_as_of`` (the point in time reads a catalog figure as the start of
    ``aum_as_of``). A live run fetches two days; a catalog AUM as of the previous session is the
    close before those: without the observation the table would not reach back to it and the fund
    would have no AUM (left out, where ``daily`` after the close counts it)."""
    from lev_flows.inputs.calendar import in_range, previous_session

    known = set(observations["ticker"]) if observations is not None and len(observations) else set()
    rows = [{"ticker": f.ticker, "date": pd.Timestamp(previous_session(f.aum_as_of)), "aum_usd": float(f.aum_usd),
             "timing": "close", "source_kind": "catalog", "source": "catalog", "precedence": 0}
            for f in universe.funds
            if f.ticker not in known and f.aum_usd is not None and f.aum_as_of is not None and in_range(f.aum_as_of)
            and pd.Timestamp(previous_session(f.aum_as_of)) < first]
    if not rows:
        return observations
    extra = pd.DataFrame(rows)
    return extra if observations is None or not len(observations) else pd.concat([observations, extra], ignore_index=True)


@dataclass(frozen=True)
class _Fetched:
    """One session's fetch: the merged price table, every symbol asked (both rounds), the failures
    that count (``failed``) and those of optional symbols (``own_failed``: a fund's own price, an
    index or a tracking ETF that something further down the order replaced)."""

    table: PriceTable
    fetched: list[str]
    optional: set[str]
    failed: dict[str, str]
    own_failed: dict[str, str]


def _fetch_session(universe: Universe, source: PriceSource, session: dt.date, live: bool, progress: Progress | None,
                   start: dt.date | None) -> _Fetched:
    """The first round of the fetch plan, then a second round only for what it could not price.
    A fund's own price, an index symbol or a tracking ETF that failed is listed, not fatal, when
    something further down the order priced its fund; a second-round symbol, or the own price of
    a fund nothing else can price, is required."""
    plan = fetch_plan(universe)
    if hasattr(progress, "expect"):  # a progress bar that wants its total
        progress.expect(len(plan.first))
    table = fetch_prices(source, plan.first, session, live, progress, start=start)
    need, unpriced = fallback_needed(universe, plan, table.closes, session)
    second = sorted({s for u in need for s in plan.fallback[u]} - set(plan.first))
    if second:
        if hasattr(progress, "expect"):
            progress.expect(len(plan.first) + len(second))
        table = _merge(table, fetch_prices(source, second, session, live, progress, start=start))
    fetched = plan.first + second
    optional = set(fetched) - (set(second) | set(unpriced))
    own_failed = {k: v for k, v in table.failed.items() if k in optional}
    failed = {k: v for k, v in table.failed.items() if k not in own_failed}
    return _Fetched(table, fetched, optional, failed, own_failed)


def _session_closes(got: _Fetched, session: dt.date, allow_partial: bool) -> pd.DataFrame:
    """The fetched closes, once they hold the session and its previous close; a
    :class:`DataSourceError` saying why when they do not, or when a required symbol failed
    (without ``allow_partial``)."""
    table, closes = got.table, got.table.closes
    if closes.empty or pd.Timestamp(session) not in closes.index or closes.loc[pd.Timestamp(session)].isna().all():
        if table.failed:  # every symbol failed: say why, with the first one's URL
            why = list(table.failed.values())  # an outage's reason before "unknown symbol"
            first = next((w for w in why if "unknown symbol" not in w), why[0])
            raise DataSourceError(f"{table.source}: no prices for {session}: {len(table.failed)} of {len(got.fetched)} "
                                  f"symbols failed; first: {first}")
        raise DataSourceError(f"{table.source}: no prices for {session} (is the session in the data?)")
    if got.failed and not allow_partial:
        first = next(iter(got.failed.values()))
        raise DataSourceError(
            f"{len(got.failed)} of {len(got.fetched)} symbols failed; first: {first} (--allow-partial to go on without them)"
        )
    if closes.index.get_loc(pd.Timestamp(session)) == 0:
        raise DataSourceError(f"{table.source}: no previous close before {session}")
    return closes


def _fetch_holdings(universe: Universe, holdings_source: Any | None, session: dt.date, progress: Progress | None,
                    db: str | Path | None) -> tuple[dict[str, Any], dict[str, str]]:
    """The issuers' holdings files of the previous close (a file of another day is listed, not
    used); each file's net assets is recorded in the store as an AUM observation."""
    if holdings_source is None:
        return {}, {}
    issuers = {f.ticker: f.issuer for f in universe.funds if f.reset == "daily"}  # the source skips other issuers
    holdings, holdings_failed = holdings_source.fetch(issuers, progress)
    prev = previous_session(session)
    for t, h in list(holdings.items()):
        if h.as_of != prev:  # a file from another day would mix two positions
            holdings_failed[t] = f"{t}: holdings as of {h.as_of}, not the previous close {prev}; catalog AUM used"
            del holdings[t]
    if holdings:
        from lev_flows.jobs.aum import record_holdings

        record_holdings(holdings, db=db)
    return holdings, holdings_failed


def _fetch_warnings(est: FlowEstimate, got: _Fetched, holdings_failed: dict[str, str]) -> list[str]:
    """The fetch's shortfalls added to the estimate's warnings; returns the symbols missing from
    the source that count (not the optional ones)."""
    source = got.table.source
    if holdings_failed:
        est.warnings.append(f"{len(holdings_failed)} issuer holdings files unusable (catalog AUM used): {', '.join(sorted(holdings_failed)[:12])}")
    missing = [m for m in got.table.missing if m not in got.optional]
    if missing:
        est.warnings.insert(0, f"{len(missing)} symbols are not in {source} and are left out: {', '.join(missing[:12])}")
    no_own = sorted(set(got.own_failed) | (set(got.table.missing) & got.optional))
    if no_own:
        est.warnings.append(
            f"{len(no_own)} optional symbols (funds' own prices, tracking ETFs) are not in {source}; "
            "the next return in order of directness is used"
        )
    if got.failed:
        est.warnings.insert(0, f"{len(got.failed)} symbols could not be fetched and are left out: {', '.join(list(got.failed)[:12])}")
    if got.table.unadjusted:
        est.warnings.append(
            f"{len(got.table.unadjusted)} symbols' closes from {source} are adjusted for splits, not dividends "
            f"({', '.join(got.table.unadjusted[:6])}{' ...' if len(got.table.unadjusted) > 6 else ''}): "
            "on an ex-dividend day such a fund's own return includes its dividend"
        )
    return missing


def _note_context(universe: Universe, source: Any, est: FlowEstimate, pit: Any, closes: pd.DataFrame | None):
    """History, liquidity, published figures and the day's sensitivity for the note, where they
    can be had without another fetch: a local source's whole table (history, the sensitivity and,
    with volume tables, liquidity); the published-estimates file when it is there. Anything
    missing is None (the note says so)."""
    from lev_flows.errors import LevFlowsError

    history = liquidity = scorecard = sensitivity = None
    if closes is not None:
        from lev_flows.analysis.history import history as run_history
        from lev_flows.analysis.whatif import sensitivity_of_day

        # up to the day only: the note ranks the day among the sessions known that evening (a price
        # table that runs on past the day would put later days in its rank and its chart)
        history = run_history(universe, closes, end=est.date, pit=pit, top_stocks=0)
        sensitivity = sensitivity_of_day(est, universe, closes)
        directory = getattr(source, "directory", None)
        if directory is not None and Path(directory).is_dir():
            try:
                from lev_flows.analysis.whatif import liquidity as run_liquidity
                from lev_flows.inputs.prices import load_price_dir

                liquidity = run_liquidity(est, closes, load_price_dir(directory, "volume"), top=15)
            except LevFlowsError:
                liquidity = None
    try:
        from lev_flows.analysis.scorecard import published_for

        scorecard = published_for(est)
    except LevFlowsError:
        scorecard = None
    return history, liquidity, scorecard, sensitivity


def report_folder(root: str | Path, session: dt.date, live: bool) -> Path:
    """The dated folder of a report under ``root``: ``<session>/``, or ``<session>_live/`` for a
    run before the close."""
    return Path(root) / f"{session.isoformat()}{'_live' if live else ''}"


def check_report_folder(root: str | Path, session: dt.date, live: bool, force: bool) -> Path:
    """Before any work: the report of ``session`` can be written under ``root`` (an
    :class:`OutputError` when ``root`` is a file, or the report exists and ``force`` is not set).
    :func:`write_report` checks again under its lock."""
    from lev_flows.io import path_problem

    root = Path(root)
    why = path_problem(root)
    if why:  # a 5,000-character folder: one line, before any work
        raise OutputError(f"{str(root)[:60]}{'...' if len(str(root)) > 60 else ''}: {why}")
    out = report_folder(root, session, live)
    if root.exists() and not root.is_dir():
        raise OutputError(f"{root}: exists and is not a directory")
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: exists and is not a directory")
    if out.exists() and any(out.iterdir()) and not force:
        raise OutputError(f"{out}: report folder already exists; pass force=True to overwrite")  # the CLI: --force
    index = root / "index.html"
    if index.is_symlink() or (index.exists() and not index.is_file()):
        raise OutputError(f"{index}: not a regular file (a link, FIFO or folder); the report index cannot be written")
    return out


def write_report(result: DailyResult, folder: str | Path, *, force: bool = False, top: int = 15) -> Path:
    """A dated report folder: ``estimate.json`` (totals, coverage, every table, what failed),
    ``by_etf.csv``, ``by_stock.csv``, ``by_sector.csv``, ``by_index.csv``, ``chart.png`` (top
    stock and sector flows) and ``report.html`` (the desk note, self-contained); and the root's
    ``index.html`` listing every report.

    All or nothing, and the old report is never lost: the files are written into a temporary
    sibling folder, which takes the report's place only when every file is there, in one atomic
    exchange of the two folders (``renameat2(RENAME_EXCHANGE)``; where the file system lacks it,
    two renames, the old report put back if the second fails). A run killed half-way leaves its
    temporary folder, or the old report set aside: the next run into the root cleans the first
    and puts the second back. The root is locked while it is written, so two runs cannot mix. A
    disk that fills is one line (:class:`OutputError`), the old report kept."""
    from lev_flows.io import atomic_write_text, exclusive_lock

    root = Path(folder)
    live = result.mode != "close"
    out = check_report_folder(root, result.session, live, force)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{root}: cannot create the report folder ({exc.strerror or exc})") from None
    with exclusive_lock(root / ".lev-flows.lock"):
        recover_reports(root)  # under the lock: any temporary folder is a killed run's
        check_report_folder(root, result.session, live, force)  # again, under the lock
        tmp = root / f".{out.name}.tmp-{os.getpid()}"
        try:
            tmp.mkdir()
            _write_files(result, tmp, top)
            _swap_in(tmp, out)
        except OSError as exc:
            raise OutputError(f"{out}: cannot write the report ({exc.strerror or exc}); the previous report is kept") from None
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        from lev_flows.present.note import render_index

        atomic_write_text(root / "index.html", render_index(root), force=True)
    return out


def _write_files(result: DailyResult, folder: Path, top: int) -> None:
    """The report's files, into ``folder``."""
    import json

    from lev_flows.io import atomic_write_bytes, atomic_write_text
    from lev_flows.present.charts import chart_png
    from lev_flows.present.tables import csv_bytes

    est = result.estimate
    atomic_write_text(folder / "estimate.json", json.dumps(result.to_dict(), indent=2, allow_nan=False, default=str) + "\n")
    for name, frame in (("by_etf", est.by_etf), ("by_stock", est.by_stock), ("by_sector", est.by_sector), ("by_index", est.by_index)):
        atomic_write_bytes(folder / f"{name}.csv", csv_bytes(frame.reset_index()))  # the key as the first column
    atomic_write_bytes(folder / "chart.png", chart_png(est, top=top))
    html = est.to_html(fetch=result.to_dict()["fetch"], history=result.history, liquidity=result.liquidity, scorecard=result.scorecard,
                       sensitivity=result.sensitivity)
    atomic_write_text(folder / "report.html", html)


def _swap_in(new: Path, out: Path) -> None:
    """``new`` (complete) becomes ``out``; the old ``out`` stays whole until that moment and is
    removed after it."""
    if not out.exists():
        os.replace(new, out)
        return
    if _exchange(new, out):  # out is the new report now, `new` the old one (removed by the caller)
        return
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    os.replace(out, old)
    try:
        os.replace(new, out)
    except BaseException:
        os.replace(old, out)  # the old report back in its place
        raise
    shutil.rmtree(old, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux ``renameat2`` with ``RENAME_EXCHANGE``); False where the
    system or the file system cannot, so the caller falls back to two renames."""
    import ctypes
    import errno

    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EXDEV, errno.EPERM):
        return False
    raise OSError(err, os.strerror(err), str(b))


def recover_reports(root: str | Path) -> list[str]:
    """After a run killed half-way: a report set aside (``.<name>.old-PID``) whose place is empty
    is put back, any other set-aside or temporary folder (``.<name>.tmp-PID``) is removed.
    Call it holding the root's lock (no live run is writing then). Returns what it did."""
    root, done = Path(root), []
    for old in sorted(root.glob(".*.old-*")):
        out = root / old.name[1:].rsplit(".old-", 1)[0]
        if old.is_dir() and not out.exists():
            os.replace(old, out)
            done.append(f"restored {out.name}")
        else:
            shutil.rmtree(old, ignore_errors=True)
            done.append(f"removed {old.name}")
    for tmp in sorted(root.glob(".*.tmp-*")):
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
            done.append(f"removed {tmp.name}")
    return done


__all__ = ["DailyResult", "FetchPlan", "fetch_plan", "fallback_needed", "run_daily", "write_report", "report_folder", "check_report_folder", "recover_reports", "resolve_session", "fetch_prices"]
