"""``lev-flows``: the command line. Thin: parse options, call the API, print or write.

Every user error ends as one line on stderr and exit code 2; an internal error as one line
and exit code 1 (set ``LEV_FLOWS_DEBUG=1`` for the traceback).
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from .calendar import check_trading_day

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Callable
from .errors import InputError, LevFlowsError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Estimate the close-of-day rebalancing flows of leveraged and inverse ETFs.",
)
universe_app = typer.Typer(no_args_is_help=True, help="Validate and import the fund catalog.")
reference_app = typer.Typer(no_args_is_help=True, help="Build the packaged reference data from ../shared/data.")
aum_app = typer.Typer(no_args_is_help=True, help="The AUM store: import observations, fetch issuer NAV histories, show a fund.")
app.add_typer(universe_app, name="universe")
app.add_typer(reference_app, name="reference")
app.add_typer(aum_app, name="aum")

REPLAY_DATE = "2026-02-04"


class Format(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"
    parquet = "parquet"


def _console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr, width=max(100, int(os.environ.get("COLUMNS", "120"))))


_ETN_OPTION = typer.Option(False, "--exclude-etns", help="Leave exchange-traded notes out (listed as excluded, never as zero).")
_DB_OPTION = typer.Option(None, "--db", help="AUM store (default $LEV_FLOWS_DB or the user data folder).")

#: the clock, for replays and tests of the intraday path: "--now 2026-02-04T15:30" (New York)
_NOW_OPTION = typer.Option(None, "--now", hidden=True, help="Pretend the clock reads this (ISO, New York).")


def _parse_date(text: Optional[str], option: str = "--date") -> Optional[dt.date]:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{option}: {text!r} is not a date (expected YYYY-MM-DD)") from None


@app.command()
def estimate(
    universe: Optional[Path] = typer.Option(None, "--universe", "-u", help="Universe YAML (default: packaged catalog)."),
    returns: Optional[Path] = typer.Option(None, "--returns", "-r", help="CSV or JSON of returns by underlying id or fund ticker (fractions)."),
    date: Optional[str] = typer.Option(None, "--date", "-d", help="Trading day, YYYY-MM-DD (with --prices: the day to estimate)."),
    prices: Optional[Path] = typer.Option(None, "--prices", help="Folder of close tables (the ../shared/data/prices layout)."),
    intraday: bool = typer.Option(False, "--intraday", help="Built-in replay: use the funds' 14:43 reported changes instead of closes."),
    top: int = typer.Option(15, "--top", "-n", min=1, help="Rows in the ETF table (stocks: 25 or more)."),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="table, json, csv or parquet."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write to this file instead of the terminal."),
    force: bool = typer.Option(False, "--force", help="Overwrite --output/--chart if they exist."),
    chart: Optional[Path] = typer.Option(None, "--chart", help="Also write a PNG chart of top stock and sector flows."),
    html: Optional[Path] = typer.Option(None, "--html", help="Also write the estimate as a self-contained HTML desk note."),
    ignore_unknown: bool = typer.Option(False, "--ignore-unknown", help="With --returns: skip and list keys that are no underlying id or fund ticker (default: an error)."),
    creations: Optional[Path] = typer.Option(
        None, "--creations", help="CSV of net creations by fund (ticker, creations_usd): shown beside the rebalance."
    ),
    db: Optional[Path] = typer.Option(None, "--db", help="AUM store (default $LEV_FLOWS_DB or the user data folder)."),
    live: bool = typer.Option(False, "--live", help="Intraday: live quotes vs the previous close, from the HTTP source."),
    allow_partial: bool = typer.Option(False, "--allow-partial", help="With --live: finish without symbols that fail."),
    base_url: Optional[str] = typer.Option(None, "--base-url", help="With --live: price source base URL."),
    exclude_etns: bool = _ETN_OPTION,
    now: Optional[str] = _NOW_OPTION,
) -> None:
    """Estimate one day's flows. With no option: the built-in replay of 2026-02-04."""
    from .catalog import load_universe
    from .estimate import DayReturns, estimate as run_estimate
    from .io import atomic_write_bytes, check_target
    from .report import print_tables, render

    for target in (output, chart, html):  # before any work: a bad output path is the only message
        if target is not None:
            check_target(target, force)
    if fmt is Format.parquet and output is None:
        raise InputError("--format parquet needs --output PATH")
    day = _parse_date(date)
    uni = load_universe(universe)
    comparison = None
    creations_usd = None
    if creations is not None:
        from .creations import read_creations_file

        creations_usd = read_creations_file(creations)
    day_returns = None
    aum_day = None
    if live:
        if returns is not None or prices is not None or date is not None or intraday:
            raise InputError("--live cannot be combined with --returns, --prices, --date or --intraday")
        source, client = _online_options_source(base_url=base_url)
        est = _run_daily(
            uni, source, as_of=None, allow_partial=allow_partial, holdings=False, force_live=True, client=client,
            creations=creations_usd, now=_parse_now(now), db=db, exclude_etns=exclude_etns,
        ).estimate
    elif returns is not None:
        from .returns import read_returns_file

        day_returns = DayReturns(values=read_returns_file(returns), date=day, source=str(returns))
        aum_day = _aum_for_day(uni, day, prices, db) if day is not None else None
    elif prices is not None or (day is not None and day.isoformat() != REPLAY_DATE):
        from .api import estimate_day

        if day is None:
            raise InputError("--prices needs --date YYYY-MM-DD")
        if intraday:
            raise InputError("--intraday is the built-in replay's 14:43 view; it cannot be combined with --prices")
        check_trading_day(day)
        est = estimate_day(day, universe=uni, prices=prices, db=db, creations=creations_usd, exclude_etns=exclude_etns)
    else:
        from .build import load_replay, load_replay_aum

        aum_day = load_replay_aum(REPLAY_DATE, uni)
        day_returns = load_replay(REPLAY_DATE, "intraday" if intraday else "close", uni)
        comparison = load_replay(REPLAY_DATE, "close" if intraday else "intraday", uni)
    if day_returns is not None:
        est = run_estimate(uni, day_returns, date=day, creations=creations_usd, aum=aum_day, ignore_unknown=ignore_unknown,
                           exclude_etns=exclude_etns)
    _warn(est.warnings)
    if html is not None:
        from .io import atomic_write_text

        from .scorecard import published_for

        atomic_write_text(html, est.to_html(scorecard=published_for(est)), force=force)
        typer.echo(f"wrote {html}", err=True)
    if chart is not None:
        est.plot(chart, top=top, force=force)
        typer.echo(f"wrote {chart}", err=True)
    if output is not None:
        atomic_write_bytes(output, render(est, fmt.value, top), force=force)
        typer.echo(f"wrote {output}", err=True)
        return
    if fmt is not Format.table:
        sys.stdout.write(render(est, fmt.value, top).decode())
        return
    console = _console()
    print_tables(est, console, top=top, stocks=max(25, top))
    if creations_usd:
        from .creations import creation_offset
        from .report import print_frame

        print_frame(
            creation_offset(est.by_index), "Rebalance vs net creations x L (shown separately, not netted)", console,
            usd=("rebalance_usd", "creation_usd", "flow_usd"), pct=("offset_share",),
        )
    if comparison is not None:
        other = run_estimate(uni, comparison, date=day, aum=aum_day, exclude_etns=exclude_etns)
        intraday_est = est if intraday else other
        close_est = other if intraday else est
        console.print(
            f"\n[bold]{intraday_est.basis}[/bold]: rebalance {intraday_est.total.rebalance_usd / 1e9:+,.2f}B "
            f"(what a desk could publish before the close) vs {close_est.basis} {close_est.total.rebalance_usd / 1e9:+,.2f}B."
        )
        console.print("Published estimate for 2026-02-04 (Morgan Stanley): about $18B of selling.")


def _universe_at_close(universe, day: Optional[dt.date], prices: Optional[Path], db: Optional[Path]):
    """``(universe, inputs, row)``: the universe with each fund's point-in-time AUM at the close
    of ``day`` (default: the last session with the funds' own prices), for scenarios about the
    next session; without price tables, the catalog's AUM with a warning on stderr (inputs None)."""
    from .api import load_inputs
    from .pointintime import universe_with_aum

    try:
        inp = load_inputs(universe, prices, db)
    except InputError as exc:
        if prices is not None or day is not None:
            raise
        typer.echo(f"lev-flows: warning: AUM from the catalog ({universe.as_of}), not point in time ({exc})", err=True)
        return universe, None, None
    row = inp.pit.row(day) if day is not None else inp.pit.last_complete_row()
    typer.echo(f"AUM: point in time, at the close of {inp.pit.sessions[row]:%Y-%m-%d}", err=True)
    return universe_with_aum(universe, inp.pit.aum_close[row], inp.pit.sessions[row].date()), inp, row


def _aum_for_day(universe, day: dt.date, prices: Optional[Path], db: Optional[Path]):
    """Point-in-time AUM for ``day`` (needs the price tables to carry observations); without
    prices, the catalog AUM with a warning on stderr."""
    from .api import load_inputs

    try:
        inp = load_inputs(universe, prices, db)
        return inp.pit.aum_day(inp.pit.row(day))
    except InputError as exc:
        typer.echo(f"lev-flows: warning: AUM from the catalog, not point in time ({exc})", err=True)
        return None


def _warn(warnings: list[str]) -> None:
    """An estimate's warnings, one line each on stderr, whatever the output format."""
    for w in warnings:
        typer.echo(f"lev-flows: warning: {w}", err=True)


def _write_frame(frame, fmt: Format) -> bool:
    """Write an analysis table to stdout as JSON records or CSV; False for a terminal table."""
    if fmt is Format.json:
        sys.stdout.write(frame.to_json(orient="records", indent=2, date_format="iso") + "\n")
    elif fmt is Format.csv:
        sys.stdout.write(frame.to_csv(index=False, lineterminator="\n"))
    elif fmt is Format.parquet:
        raise InputError("--format parquet is for `estimate --output`; use json or csv here")
    else:
        return False
    return True


@app.command()
def ladder(
    universe: Optional[Path] = typer.Option(None, "--universe", "-u", help="Universe YAML (default: packaged catalog)."),
    move: list[str] = typer.Option([], "--move", "-m", help="What-if move in percent, e.g. --move NDX=-3 --move SOX=-6."),
    step: float = typer.Option(1.0, "--step", help="Ladder step in percent."),
    span: float = typer.Option(10.0, "--span", help="Ladder from -span to +span percent."),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="table, json or csv."),
    chart: Optional[Path] = typer.Option(None, "--chart", help="PNG of the ladder."),
    force: bool = typer.Option(False, "--force", help="Overwrite --chart if it exists."),
    date: Optional[str] = typer.Option(None, "--date", "-d", help="AUM at the close of this session (default: the price table's last)."),
    prices: Optional[Path] = typer.Option(None, "--prices", help="Folder of close tables (default: ../shared/data/prices)."),
    db: Optional[Path] = _DB_OPTION,
    exclude_etns: bool = _ETN_OPTION,
    beta_window: int = typer.Option(250, "--beta-window", min=60, max=2000, help="Sessions of the beta-to-S&P 500 regression."),
) -> None:
    """Rebalance flow for hypothetical moves of all equity underlyings, per index bucket, on the
    point-in-time AUM at a session's close, and the "$ per 1 % S&P 500 move" with each underlying
    moved by its beta; with --move, the flows of one scenario instead."""
    import numpy as np

    from .analysis import ladder as run_ladder, parse_moves, sensitivity_usd, what_if
    from .catalog import load_universe
    from .report import print_tables

    if step <= 0 or span <= 0 or span >= 100:
        raise InputError("--step and --span must be positive percentages, --span below 100")
    uni, inp, row = _universe_at_close(load_universe(universe), _parse_date(date), prices, db)
    if exclude_etns:
        uni = uni.without_etns()
    if move:
        est = what_if(uni, parse_moves(move))
        _warn(est.warnings)
        if fmt is not Format.table:
            from .report import render

            sys.stdout.write(render(est, fmt.value, 15).decode())
            return
        print_tables(est, _console(), top=15)
        return
    moves = np.round(np.arange(-span, span + step / 2, step), 6) / 100.0
    table = run_ladder(uni, moves)
    if chart is not None:
        from .io import atomic_write_bytes
        from .report import ladder_png

        atomic_write_bytes(chart, ladder_png(table), force=force)
        typer.echo(f"wrote {chart}", err=True)
    if _write_frame(table.reset_index(), fmt):
        return
    from .analysis import beta_sensitivity, market_betas
    from .report import print_ladder

    betas = None
    if inp is not None:
        betas = market_betas(uni, inp.closes, end=inp.pit.sessions[row], window=beta_window)
    print_ladder(table, sensitivity_usd(uni), _console(), beta=None if betas is None else beta_sensitivity(uni, betas), betas=betas)


@app.command()
def liquidity(
    prices: Optional[Path] = typer.Option(None, "--prices", help="Folder of close and volume tables (default: ../shared/data/prices)."),
    date: Optional[str] = typer.Option(None, "--date", "-d", help="Day (default: the built-in replay, 2026-02-04)."),
    top: int = typer.Option(25, "--top", "-n", min=1),
    auction_share: float = typer.Option(0.10, "--auction-share", help="Closing auction as a share of the day's volume."),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="table, json or csv."),
    db: Optional[Path] = _DB_OPTION,
    exclude_etns: bool = _ETN_OPTION,
) -> None:
    """Each stock's flow (point-in-time estimate of the day) as a share of its 20-day dollar
    volume and its closing auction."""
    from .analysis import liquidity as run_liquidity
    from .api import default_prices, estimate_day, load_inputs
    from .returns import load_price_dir

    if not 0 < auction_share <= 1:
        raise InputError("--auction-share must be in (0, 1]")
    day = _parse_date(date or REPLAY_DATE)
    check_trading_day(day)
    prices = prices or default_prices()
    inputs = load_inputs(None, prices, db)
    est = estimate_day(day, inputs=inputs, exclude_etns=exclude_etns)
    closes = inputs.closes
    table = run_liquidity(est, closes, load_price_dir(prices, "volume"), auction_share=auction_share, top=top)
    if _write_frame(table, fmt):
        return
    from .report import print_liquidity

    print_liquidity(table, est, auction_share, _console())


SHARED_PRICES = Path("../shared/data/prices")


def _write_chart(chart: Optional[Path], png: "Callable[[], bytes]", force: bool) -> None:
    if chart is not None:
        from .io import atomic_write_bytes

        atomic_write_bytes(chart, png(), force=force)
        typer.echo(f"wrote {chart}", err=True)


def _refuse_existing(*targets: Optional[Path], force: bool) -> None:
    """Fail before any work if an output cannot be written (missing folder, existing file
    without --force, ...)."""
    from .io import check_target

    for target in targets:
        if target is not None:
            check_target(target, force)


@app.command()
def history(
    start: Optional[str] = typer.Option(None, "--start", help="First day, YYYY-MM-DD (default: the price table's first)."),
    end: Optional[str] = typer.Option(None, "--end", help="Last day (default: the price table's last day)."),
    prices: Optional[Path] = typer.Option(None, "--prices", help="Folder of close tables (default: ../shared/data/prices)."),
    universe: Optional[Path] = typer.Option(None, "--universe", "-u", help="Universe YAML (default: packaged catalog)."),
    db: Optional[Path] = typer.Option(None, "--db", help="AUM store (default $LEV_FLOWS_DB or the user data folder)."),
    top: int = typer.Option(10, "--top", "-n", min=1, help="Largest days to list."),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="table, json or csv (the daily series)."),
    chart: Optional[Path] = typer.Option(None, "--chart", help="PNG of the daily series, largest days marked."),
    force: bool = typer.Option(False, "--force", help="Overwrite --chart if it exists."),
    exclude_etns: bool = _ETN_OPTION,
) -> None:
    """Daily point-in-time flows over a date range, with the largest days."""
    from .api import history_range

    _refuse_existing(chart, force=force)
    h = history_range(_parse_date(start, "--start"), _parse_date(end, "--end"), universe=universe, prices=prices, db=db,
                      exclude_etns=exclude_etns)
    _write_chart(chart, lambda: h.plot(marked=min(top, 8)), force)
    if h.stale_days:
        typer.echo(
            f"lev-flows: warning: on {h.stale_days} of {len(h.daily)} days the AUM-weighted median distance to an AUM "
            f"observation exceeds 10 sessions (column aum_median_gap)", err=True,
        )
    if _write_frame(h.daily.join(h.by_index.add_prefix("bucket:")).reset_index(), fmt):
        return
    from .report import print_frame

    console = _console()
    d = h.daily
    console.print(
        f"[bold]{d.index[0]:%Y-%m-%d} .. {d.index[-1]:%Y-%m-%d}[/bold]: {len(d)} sessions, mean |net flow| "
        f"{d['rebalance_usd'].abs().mean() / 1e9:.2f}B; {h.note}."
    )
    print_frame(
        h.largest_days(top), f"Largest {top} days (USD, + = buy at the close)", console,
        usd=("rebalance_usd", "gross_rebalance_usd", "largest_bucket_usd"), pct=("aum_with_return",), index="date",
    )
    replay = pd_timestamp(REPLAY_DATE)
    if replay in d.index:
        so = h.stand_out(REPLAY_DATE)
        console.print(
            f"{REPLAY_DATE}: {so['rebalance_usd'] / 1e9:+.2f}B, rank {so['abs_rank']} of {so['days']} days by size "
            f"(top {so['abs_percentile']:.0%}), rank {so['same_side_rank']} among "
            f"{'selling' if so['rebalance_usd'] < 0 else 'buying'} days, z = {so['z']:+.1f}."
        )


def pd_timestamp(text: str):
    import pandas as pd

    return pd.Timestamp(text)


@app.command()
def tracking(
    start: Optional[str] = typer.Option(None, "--start", help="First day (default: the table's first)."),
    end: Optional[str] = typer.Option(None, "--end", help="Last day (default: the table's last)."),
    prices: Path = typer.Option(SHARED_PRICES, "--prices", help="Folder of close tables with the funds' own prices."),
    all_funds: bool = typer.Option(False, "--all", help="Every fund with prices, not only the headline pairs."),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="table, json or csv."),
) -> None:
    """Check each fund's daily return against L x its underlying's (TQQQ vs QQQ, ...)."""
    from .catalog import load_universe
    from .history import HEADLINE_FUNDS, tracking as run_tracking
    from .returns import load_price_dir

    table = run_tracking(load_universe(), load_price_dir(prices), start=start, end=end)
    if not all_funds:
        table = table[table["ticker"].isin(HEADLINE_FUNDS)].reset_index(drop=True)
    if _write_frame(table, fmt):
        return
    from .report import print_frame

    print_frame(
        table.drop(columns=["underlying"]),
        "Daily fund return vs L x underlying: absolute error in basis points", _console(),
        usd=("aum_usd",), bp=("median_abs_error", "p95_abs_error"),
    )


@app.command()
def creations(
    start_snapshot: Path = typer.Option(..., "--from", help="Screener snapshot CSV at the start."),
    end_snapshot: Path = typer.Option(..., "--to", help="Screener snapshot CSV at the end."),
    prices: Optional[Path] = typer.Option(None, "--prices", help="Folder of close tables (default: ../shared/data/prices)."),
    universe: Optional[Path] = typer.Option(None, "--universe", "-u", help="Universe YAML (default: packaged catalog)."),
    db: Optional[Path] = _DB_OPTION,
    top: int = typer.Option(15, "--top", "-n", min=1),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="table, json or csv."),
) -> None:
    """Net creations between two snapshots (AUM change net of performance) against the rebalance."""
    from .api import load_inputs
    from .creations import implied_creations
    from .sources.screener import import_snapshot

    def aum_of(path: Path):
        return {f["ticker"]: (f.get("aum_usd"), f.get("aum_as_of")) for f in import_snapshot(path).funds}

    inp = load_inputs(universe, prices, db)
    table = implied_creations(inp.universe, inp.closes, aum_of(start_snapshot), aum_of(end_snapshot), pit=inp.pit)
    if _write_frame(table, fmt):
        return
    from .report import print_frame

    console = _console()
    tot = table[["creations_usd", "creation_exposure_usd", "rebalance_usd"]].sum()
    console.print(
        f"[bold]{table.attrs['start']} .. {table.attrs['end']}[/bold] ({table.attrs['sessions']} sessions, "
        f"{len(table)} daily funds; {table.attrs['dropped']} without a return every day left out): "
        f"net creations {tot['creations_usd'] / 1e9:+.2f}B, x L = {tot['creation_exposure_usd'] / 1e9:+.2f}B of exposure "
        f"against {tot['rebalance_usd'] / 1e9:+.2f}B of rebalancing: "
        f"offset {-tot['creation_exposure_usd'] / tot['rebalance_usd']:.0%}."
    )
    print_frame(
        table.head(top).drop(columns=["underlying"]), f"Top {top} funds by creation exposure", console,
        usd=("aum_start_usd", "aum_end_usd", "creations_usd", "creation_exposure_usd", "rebalance_usd"),
        pct=("performance", "offset_share"),
    )


@app.command()
def montecarlo(
    scenarios: int = typer.Option(100_000, "--scenarios", "-s", help="Number of scenarios."),
    method: str = typer.Option("bootstrap", "--method", help="bootstrap (historical days) or normal."),
    lookback: int = typer.Option(500, "--lookback", help="Sessions of history to draw from."),
    end: Optional[str] = typer.Option(None, "--end", help="The estimate date: last day of the window, whose close AUM applies (default: the last session with the funds' prices)."),
    seed: int = typer.Option(0, "--seed", min=0, help="Random seed (same seed, same draw)."),
    vol: str = typer.Option("ewma", "--vol", help="ewma (scale each day to today's EWMA volatility) or none."),
    lam: float = typer.Option(0.94, "--lambda", help="EWMA decay per day (RiskMetrics 0.94)."),
    given: list[str] = typer.Option([], "--given", "-g", help="Condition on a move already known, in percent, e.g. --given NDX=-2."),
    prices: Optional[Path] = typer.Option(None, "--prices", help="Folder of close tables (default: ../shared/data/prices)."),
    universe: Optional[Path] = typer.Option(None, "--universe", "-u", help="Universe YAML (default: packaged catalog)."),
    db: Optional[Path] = _DB_OPTION,
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="table, json or csv (the quantiles)."),
    chart: Optional[Path] = typer.Option(None, "--chart", help="PNG histogram of the totals."),
    force: bool = typer.Option(False, "--force", help="Overwrite --chart if it exists."),
    exclude_etns: bool = _ETN_OPTION,
) -> None:
    """Distribution of tomorrow's total rebalance from simulated joint returns."""
    from .api import load_inputs
    from .montecarlo import monte_carlo

    _refuse_existing(chart, force=force)
    inp = load_inputs(universe, prices, db)
    end_day = _parse_date(end, "--end") or inp.pit.sessions[inp.pit.last_complete_row()].date()
    from .analysis import parse_moves

    res = monte_carlo(
        inp.universe, inp.closes, n=scenarios, method=method, lookback=lookback, end=end_day, seed=seed,
        aum_usd=inp.pit.aum_close[inp.pit.row(end_day)], vol=vol, lam=lam, given=parse_moves(given, "--given"),
        exclude_etns=exclude_etns,
    )
    _write_chart(chart, res.plot, force)
    if _write_frame(res.quantiles.reset_index(), fmt):
        return
    from .report import print_frame

    console = _console()
    left = ", ".join(f"{u} ({v * 0.01 / 1e9:+.2f}B per 1%)" for u, v in res.left_out[:5])
    given_text = ", ".join(f"{k} {v:+.1%}" for k, v in (res.given or {}).items())
    console.print(
        f"[bold]{len(res.totals):,} scenarios[/bold] ({res.method}, {res.lookback} sessions {res.window[0]} .. {res.window[1]}, "
        f"demeaned, volatility: {res.vol}" + (f", given {given_text}" if given_text else "") + "); "
        f"{res.coverage:.1%} of the sensitivity simulated" + (f"; left out: {left}" if left else ""),
        highlight=False,
    )
    cov = res.coverage_by_class.rename(columns={"asset_class": "asset class", "usd_per_1pct": "USD per 1%", "simulated": "simulated"})
    print_frame(cov, "Sensitivity simulated, by asset class", console, usd=("USD per 1%",), pct=("simulated",))
    cols = list(res.quantiles.columns[:8])
    shown = res.quantiles[cols].rename(columns={"total_lo": f"total {res.ci_level:.0%} CI low", "total_hi": f"total {res.ci_level:.0%} CI high"})
    print_frame(shown, "Quantiles of the next close's rebalance (USD); CI: the window's days resampled",
                console, usd=tuple(shown.columns), index="quantile")


def _online_options_source(prices: Optional[Path] = None, base_url: Optional[str] = None, *,
                           cache_dir: Optional[Path] = None, timeout: float = 10.0, concurrency: int = 4,
                           no_cache: bool = False, retries: int = 3):
    """A local price source for --prices, else the Yahoo chart provider on the shared client."""
    if prices is not None:
        from .sources.local import LocalPrices

        return LocalPrices(prices), None
    from .sources.http import HttpClient, HttpSettings, default_cache_dir
    from .sources.yahoo import YahooChart

    settings = HttpSettings(
        timeout_s=timeout, deadline_s=max(3 * timeout, timeout + 5), concurrency=concurrency, attempts=retries + 1,
        cache_dir=None if no_cache else (cache_dir or default_cache_dir()),
    )
    client = HttpClient(settings)
    return YahooChart(client, base_url), client


class _ProgressBar:
    """A rich progress bar on stderr, advanced once per fetched symbol (only on a terminal, so
    logs and pipes get the one-line error and nothing else)."""

    def __init__(self, label: str):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        console = _console(stderr=True)
        self.progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[failed]} unavailable"),
            TimeElapsedColumn(), console=console, transient=True, disable=not console.is_terminal,
        )
        self.label = label
        self.task = None
        self.failed = 0

    def __enter__(self):
        self.progress.__enter__()
        self.task = self.progress.add_task(self.label, total=None, failed=0)
        return self

    def __exit__(self, *exc):
        self.progress.__exit__(*exc)

    def expect(self, total: int) -> None:
        self.progress.update(self.task, total=total)

    def __call__(self, symbol: str, ok: bool) -> None:
        self.failed += not ok
        self.progress.update(self.task, advance=1, failed=self.failed, description=f"{self.label} {symbol:<8}")


def _parse_now(text: Optional[str]):
    """``--now``: an ISO timestamp standing in for the clock (naive = New York time)."""
    if text is None:
        return None
    import pandas as pd

    try:
        stamp = pd.Timestamp(text)
    except ValueError:
        raise InputError(f"--now: {text!r} is not a timestamp (expected e.g. 2026-02-04T15:30)") from None
    return stamp.tz_localize("America/New_York") if stamp.tzinfo is None else stamp


def _run_daily(universe, source, *, as_of, allow_partial, holdings, force_live, client, creations=None, now=None, db=None,
               exclude_etns=False):
    from .daily import run_daily

    holdings_source = None
    if holdings:
        from .sources.issuers import IssuerHoldings

        if client is None:
            raise InputError("--holdings fetches issuer files over HTTP; it cannot be combined with --prices")
        holdings_source = IssuerHoldings(client)
    try:
        with _ProgressBar("fetching") as bar:
            return run_daily(
                universe, source, as_of=as_of, allow_partial=allow_partial, holdings_source=holdings_source,
                progress=bar, force_live=force_live, creations=creations, now=now, db=db, exclude_etns=exclude_etns,
            )
    finally:
        if client is not None:
            client.close()


@app.command()
def daily(
    as_of: Optional[str] = typer.Option(None, "--as-of", help="Session YYYY-MM-DD (default: today's, live before 16:00 New York)."),
    prices: Optional[Path] = typer.Option(None, "--prices", help="Offline: a folder of close tables (CSV/Parquet) or one table file, instead of HTTP."),
    universe: Optional[Path] = typer.Option(None, "--universe", "-u", help="Universe YAML (default: packaged catalog)."),
    output_dir: Path = typer.Option(Path("reports"), "--output-dir", "-o", help="Where the dated report folder goes."),
    allow_partial: bool = typer.Option(False, "--allow-partial", help="Finish without symbols that fail, listing them."),
    holdings: bool = typer.Option(False, "--holdings", help="Fetch ProShares/Direxion holdings for exact re-leveraging."),
    base_url: Optional[str] = typer.Option(None, "--base-url", help="Price source base URL (default $LEV_FLOWS_YAHOO_URL or Yahoo)."),
    cache_dir: Optional[Path] = typer.Option(None, "--cache-dir", help="HTTP cache (default $LEV_FLOWS_CACHE or ~/.cache/lev_flows)."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Do not read or write the HTTP cache."),
    timeout: float = typer.Option(10.0, "--timeout", min=0.1, help="Seconds per request before retrying."),
    concurrency: int = typer.Option(4, "--concurrency", min=1, max=32, help="Requests in flight at once."),
    retries: int = typer.Option(3, "--retries", min=0, max=9, help="Retries per request on timeouts, 429 and 5xx."),
    top: int = typer.Option(15, "--top", "-n", min=1),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing report folder."),
    db: Optional[Path] = _DB_OPTION,
    exclude_etns: bool = _ETN_OPTION,
    now: Optional[str] = _NOW_OPTION,
) -> None:
    """The daily estimate: fetch the session's prices, estimate, write a dated report folder
    (estimate.json, by_*.csv, chart.png) and print the tables."""
    from .catalog import load_universe
    from .daily import write_report
    from .report import print_tables

    day = _parse_date(as_of, "--as-of")
    uni = load_universe(universe)
    source, client = _online_options_source(
        prices, base_url, cache_dir=cache_dir, timeout=timeout, concurrency=concurrency, no_cache=no_cache, retries=retries
    )
    result = _run_daily(
        uni, source, as_of=day, allow_partial=allow_partial, holdings=holdings, force_live=False, client=client,
        now=_parse_now(now), db=db, exclude_etns=exclude_etns,
    )
    folder = write_report(result, output_dir, force=force, top=top)
    _warn(result.estimate.warnings)
    console = _console()
    print_tables(result.estimate, console, top=top, stocks=max(25, top))
    if result.failed:
        console.print(f"[yellow]{len(result.failed)} of {result.symbols} symbols failed and were left out:[/yellow]")
        for sym, why in list(result.failed.items())[:20]:
            console.print(f"  {why}")
    if result.holdings_used:
        console.print(f"exact re-leveraging from issuer holdings for {len(result.holdings_used)} funds")
    console.print(f"wrote {folder}/ (estimate.json, by_etf.csv, by_stock.csv, by_sector.csv, by_index.csv, chart.png, report.html) and {folder.parent}/index.html")


@aum_app.command("import")
def aum_import(
    paths: list[Path] = typer.Argument(..., help="Issuer NAV histories, screener snapshots or ticker,date,aum_usd CSV files."),
    universe: Optional[Path] = typer.Option(None, "--universe", "-u", help="Universe YAML whose tickers are accepted (default: packaged catalog)."),
    db: Optional[Path] = _DB_OPTION,
    allow_partial: bool = typer.Option(False, "--allow-partial", help="Skip and list bad files and unknown tickers instead of failing."),
) -> None:
    """Import AUM observations into the store (idempotent; a failed import changes nothing)."""
    from .aum import import_files
    from .catalog import load_universe
    from .store import default_path

    report = import_files(list(paths), load_universe(universe), db=db, allow_partial=allow_partial)
    for line in report.lines():
        typer.echo(line, err=line.startswith("skipped"))
    typer.echo(f"store: {db or default_path()}")


@aum_app.command("update")
def aum_update(
    tickers: list[str] = typer.Option([], "--ticker", "-t", help="Funds to fetch (default: every ProShares fund in the catalog)."),
    universe: Optional[Path] = typer.Option(None, "--universe", "-u", help="Universe YAML (default: packaged catalog)."),
    db: Optional[Path] = _DB_OPTION,
    base_url: Optional[str] = typer.Option(None, "--base-url", help="Issuer base URL (default $LEV_FLOWS_PROSHARES_URL or ProShares)."),
    allow_partial: bool = typer.Option(False, "--allow-partial", help="Import the funds that answered, listing the others."),
    timeout: float = typer.Option(10.0, "--timeout", min=0.1, help="Seconds per request before retrying."),
    retries: int = typer.Option(3, "--retries", min=0, max=9, help="Retries per request on timeouts, 429 and 5xx."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Do not read or write the HTTP cache."),
) -> None:
    """Fetch the issuers' daily NAV histories (ProShares) and import them into the store."""
    from .aum import update_from_issuers
    from .catalog import load_universe
    from .sources.http import HttpClient, HttpSettings, default_cache_dir

    settings = HttpSettings(
        timeout_s=timeout, deadline_s=max(3 * timeout, timeout + 5), attempts=retries + 1,
        cache_dir=None if no_cache else default_cache_dir(),
    )
    with HttpClient(settings) as client, _ProgressBar("NAV histories") as bar:
        report = update_from_issuers(
            load_universe(universe), client, db=db, tickers=[t.upper() for t in tickers] or None,
            base_url=base_url, allow_partial=allow_partial, progress=bar,
        )
    for line in report.lines():
        typer.echo(line, err=line.startswith("skipped"))


@aum_app.command("show")
def aum_show(
    ticker: str = typer.Argument(..., help="Fund ticker."),
    start: Optional[str] = typer.Option(None, "--start", help="First session to list (default: the price table's first)."),
    end: Optional[str] = typer.Option(None, "--end", help="Last session to list."),
    prices: Optional[Path] = typer.Option(None, "--prices", help="Folder of close tables (default: ../shared/data/prices)."),
    universe: Optional[Path] = typer.Option(None, "--universe", "-u", help="Universe YAML (default: packaged catalog)."),
    db: Optional[Path] = _DB_OPTION,
    every: int = typer.Option(21, "--every", min=1, help="Table: one session in this many (the last always shown)."),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="table, json or csv (every session)."),
    chart: Optional[Path] = typer.Option(None, "--chart", help="PNG of observed vs modelled AUM."),
    force: bool = typer.Option(False, "--force", help="Overwrite --chart if it exists."),
) -> None:
    """One fund's AUM: every stored observation and the modelled start-of-day AUM per session."""
    import numpy as np

    from .api import load_inputs
    from .aum import aum_series

    _refuse_existing(chart, force=force)
    inp = load_inputs(universe, prices, db)
    modelled, observed = aum_series(ticker.upper(), inp.universe, inp.pit, db)
    lo, hi = _parse_date(start, "--start"), _parse_date(end, "--end")
    if lo:
        modelled = modelled[modelled.index >= pd_timestamp(lo.isoformat())]
    if hi:
        modelled = modelled[modelled.index <= pd_timestamp(hi.isoformat())]
    if modelled.empty:
        raise InputError(f"aum show: no session between {lo} and {hi} in the price table")
    _write_chart(chart, lambda: __import__("lev_flows.report", fromlist=["aum_png"]).aum_png(ticker.upper(), modelled, observed), force)
    if _write_frame(modelled.reset_index(), fmt):
        return
    from .report import print_frame

    console = _console()
    console.print(f"[bold]{ticker.upper()}[/bold]: {len(observed)} stored observations "
                  + ", ".join(f"{k} {v}" for k, v in observed["source_kind"].value_counts().items()))
    pos = np.arange(len(modelled))
    keep = (pos % every == 0) | (pos == len(modelled) - 1)
    shown = modelled[keep].rename(columns={"aum_usd": "AUM (start of day)", "gap_sessions": "sessions from it"})
    print_frame(shown.tail(60), f"{ticker.upper()}: modelled AUM, one session in {every} (--every)", console,
                usd=("AUM (start of day)",), index="session")


@app.command()
def scorecard(
    published: Optional[Path] = typer.Option(None, "--published", help="Published estimates CSV (default: ../shared/data/reference/published_flow_estimates.csv)."),
    prices: Optional[Path] = typer.Option(None, "--prices", help="Folder of close tables (default: ../shared/data/prices)."),
    universe: Optional[Path] = typer.Option(None, "--universe", "-u", help="Universe YAML (default: packaged catalog)."),
    db: Optional[Path] = _DB_OPTION,
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="table, json or csv."),
    chart: Optional[Path] = typer.Option(None, "--chart", help="PNG of published vs our figures."),
    force: bool = typer.Option(False, "--force", help="Overwrite --chart if it exists."),
    exclude_etns: bool = _ETN_OPTION,
) -> None:
    """Each published desk estimate beside our point-in-time estimate of the same day."""
    from .api import load_inputs
    from .scorecard import PUBLISHED_FILE, read_published, scorecard as run_scorecard

    _refuse_existing(chart, force=force)
    table = run_scorecard(read_published(published or PUBLISHED_FILE), load_inputs(universe, prices, db), exclude_etns=exclude_etns)
    for note in table["note"][table["note"] != ""].unique():
        typer.echo(f"lev-flows: warning: {note}", err=True)
    from .report import scorecard_png

    _write_chart(chart, lambda: scorecard_png(table), force)
    if _write_frame(table, fmt):
        return
    from .report import print_frame

    shown = table.drop(columns=["note", "scope"]).rename(columns={
        "published_basis": "published when", "published_usd": "published", "ours_usd": "ours (all funds)",
        "ours_equity_usd": "ours (equity funds)", "ratio": "ours / published", "aum_priced": "AUM priced",
        "aum_median_gap": "AUM gap (sessions)",
    })
    shown["published when"] = shown["published when"].str.split("(").str[0].str.strip()
    print_frame(
        shown, "Published leveraged-ETF estimates vs lev_flows, close-to-close, point in time (USD, + = buy)", _console(),
        usd=("published", "ours (all funds)", "ours (equity funds)"), pct=("AUM priced",),
    )


@universe_app.command("validate")
def universe_validate(path: Path = typer.Argument(..., help="Universe YAML file.")) -> None:
    """Validate a universe file; print a one-line account or the first error."""
    from .catalog import load_universe

    uni = load_universe(path)
    aum = sum(f.aum_usd or 0 for f in uni.funds)
    typer.echo(f"{path}: ok: {len(uni.funds)} funds (${aum / 1e9:,.1f}B AUM), {len(uni.underlyings)} underlyings")


@universe_app.command("verify")
def universe_verify(
    universe: Optional[Path] = typer.Option(None, "--universe", "-u", help="Universe YAML (default: packaged catalog)."),
    prices: Optional[Path] = typer.Option(None, "--prices", help="Folder of close tables with the funds' own prices (default: ../shared/data/prices)."),
    start: Optional[str] = typer.Option(None, "--start", help="First day of the regressions (default: a year before --end)."),
    end: Optional[str] = typer.Option(None, "--end", help="Last day (default: the table's last)."),
    tickers: list[str] = typer.Argument(None, help="Funds to check (default: all)."),
    show_all: bool = typer.Option(False, "--all", help="Every fund, not only the flagged and explained ones."),
    check: bool = typer.Option(False, "--check", help="Exit 3 when a flag is not explained by the catalog (for CI)."),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="table, json or csv."),
) -> None:
    """Check each fund's leverage, direction and underlying against its own prices.

    Regresses every fund's daily return on its declared underlying's (index level, tracking
    ETF, stock or composition) and on its peers'; flags a wrong sign, a beta away from L and a
    low correlation, and suggests the likelier underlying. A flag the catalog explains
    (``verify_note``) is listed as explained.
    """
    from .api import default_prices
    from .catalog import load_universe
    from .returns import load_price_dir
    from .verify import verify

    uni = load_universe(universe)
    closes = load_price_dir(prices or default_prices())
    result = verify(uni, closes, start=_parse_date(start, "--start"), end=_parse_date(end, "--end"),
                    tickers=[t.upper() for t in tickers] if tickers else None)
    table = result.table if show_all else result.table[result.table["status"].isin(["flagged", "explained"])]
    typer.echo(result.summary(), err=True)
    if not _write_frame(table.reset_index(drop=True), fmt):
        from .report import print_frame

        shown = table[["ticker", "leverage", "underlying", "reference", "days", "beta", "correlation",
                       "weekly_correlation", "peer_beta", "status"]].rename(columns={
            "leverage": "L", "weekly_correlation": "weekly corr", "peer_beta": "beta to peers", "correlation": "corr"})
        console = _console()
        print_frame(shown.reset_index(drop=True),
                    f"Funds against their own prices, {result.start} .. {result.end} (beta: slope of R on the underlying's r)",
                    console)
        for row in table.itertuples():
            if row.status in ("flagged", "explained"):
                console.print(f"[bold]{row.ticker}[/bold] {row.flags}", highlight=False)
                if row.suggestion:
                    console.print(f"    best match in the price table: {row.suggestion}", highlight=False)
                if row.note:
                    console.print(f"    catalog note: {row.note}", highlight=False)
    if check and len(result.flagged):
        raise typer.Exit(3)


@universe_app.command("import")
def universe_import(
    snapshot: Path = typer.Argument(..., help="Screener snapshot CSV."),
    output: Path = typer.Option(Path("etf_universe.yaml"), "--output", "-o", help="Universe YAML to write or refresh."),
    fresh: bool = typer.Option(False, "--fresh", help="Overwrite instead of refreshing an existing file."),
) -> None:
    """Import a screener snapshot into the catalog (refreshes an existing file in place)."""
    from .build import import_universe

    _, summary = import_universe(snapshot, output, fresh=fresh)
    typer.echo(summary)
    typer.echo(f"wrote {output}")


@universe_app.command("update")
def universe_update(
    url: Optional[str] = typer.Option(None, "--url", help="The screener's CSV export (default $LEV_FLOWS_SCREENER_URL)."),
    output: Path = typer.Option(Path("etf_universe.yaml"), "--output", "-o", help="Universe YAML to refresh (created when absent)."),
    prices: Optional[Path] = typer.Option(None, "--prices", help="Price tables for verifying what changed (default: ../shared/data/prices)."),
    db: Optional[Path] = _DB_OPTION,
    accept_flags: bool = typer.Option(False, "--accept-flags", help="Write even when verify flags a changed fund."),
    timeout: float = typer.Option(30.0, "--timeout", min=0.1, help="Seconds per request before retrying."),
    retries: int = typer.Option(3, "--retries", min=0, max=9, help="Retries on timeouts, 429 and 5xx."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Do not read or write the HTTP cache."),
) -> None:
    """Fetch the screener's export and refresh the catalog: new funds added, funds gone marked
    closed, what changed verified against its prices before writing, the export's AUM stored.
    One request."""
    from .build import update_universe
    from .sources.http import HttpClient, HttpSettings, default_cache_dir

    settings = HttpSettings(
        timeout_s=timeout, deadline_s=max(3 * timeout, timeout + 5), attempts=retries + 1,
        cache_dir=None if no_cache else default_cache_dir(),
    )
    with HttpClient(settings) as client:
        lines = update_universe(client, output, url=url, prices=prices, db=db, accept_flags=accept_flags)
    for line in lines:
        typer.echo(line)


@reference_app.command("build")
def reference_build(
    data: Path = typer.Option(Path("../shared/data"), "--data", help="The shared raw data folder."),
) -> None:
    """Rebuild lev_flows/data/reference.json (compositions, sectors) and the AUM observations that seed the store."""
    from .build import build_reference, write_reference

    from .build import build_observations, write_observations

    ref = build_reference(data)
    path = write_reference(ref)
    typer.echo(f"wrote {path}: {len(ref['compositions'])} compositions, {len(ref['stocks'])} stocks")
    obs, notes = build_observations(data)
    path = write_observations(obs, notes)
    typer.echo(f"wrote {path}: {len(obs)} AUM observations of {obs['ticker'].nunique()} funds "
               f"({', '.join(f'{k} {v}' for k, v in obs['source_kind'].value_counts().items())})")


@reference_app.command("replay")
def reference_replay(
    data: Path = typer.Option(Path("../shared/data"), "--data", help="The shared raw data folder."),
    date: str = typer.Option(REPLAY_DATE, "--date", help="Replay day (a snapshot of that day must exist)."),
) -> None:
    """Rebuild the packaged replay returns (close-to-close and intraday) for a day."""
    from .build import build_replay, write_replay

    df = build_replay(data, date)
    path = write_replay(df, date)
    counts = df.groupby("basis").size().to_dict()
    typer.echo(f"wrote {path}: {counts}")


def main() -> None:
    """Console entry point: one line on stderr and exit 2 for user errors, 1 for bugs, 130 when
    interrupted (Ctrl-C)."""
    try:
        rc = app(standalone_mode=False)
        if rc == 130:  # typer turns Ctrl-C into this return code: an interrupt is not a success
            raise KeyboardInterrupt
        if isinstance(rc, int) and rc:
            sys.exit(rc)
    except KeyboardInterrupt:
        typer.echo("lev-flows: interrupted", err=True)
        sys.exit(130)
    except LevFlowsError as exc:
        typer.echo(f"lev-flows: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except (typer.Exit, SystemExit) as exc:
        sys.exit(getattr(exc, "exit_code", getattr(exc, "code", 0)))
    except typer.Abort:
        typer.echo("lev-flows: aborted", err=True)
        sys.exit(1)
    except Exception as exc:  # noqa: BLE001 - the last line of defence
        if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):  # click usage errors
            typer.echo(f"lev-flows: error: {exc.format_message()}", err=True)
            sys.exit(exc.exit_code or 2)
        if os.environ.get("LEV_FLOWS_DEBUG"):
            raise
        typer.echo(f"lev-flows: internal error: {type(exc).__name__}: {exc} (LEV_FLOWS_DEBUG=1 for details)", err=True)
        sys.exit(1)


if __name__ == "__main__":  # pragma: no cover
    main()
