"""The analyses: ``ladder``, ``liquidity``, ``history``, ``tracking``, ``creations``,
``montecarlo`` and ``scorecard``; each thin over its API function."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from lev_flows.cli.common import (
    CHART,
    DB,
    END,
    EXCLUDE_ETNS,
    FORCE,
    FORMAT,
    OUTPUT,
    PRICES,
    REPLAY_DATE,
    SCOPE,
    START,
    STRICT,
    UNIVERSE,
    Format,
    Method,
    Vol,
    chart_option,
    check_strict,
    console,
    date_option,
    echo,
    emit_bytes,
    emit_frame,
    number_option,
    parse_date,
    prepare_outputs,
    scoped_universe,
    WIDE,
    timestamp,
    top_option,
    warn,
    write_chart,
)
from lev_flows.errors import InputError
from lev_flows.inputs.calendar import check_trading_day
from lev_flows.present.text import escape


def register(app: typer.Typer) -> None:
    for command in (ladder, liquidity, history, tracking, creations, montecarlo, scorecard):
        app.command()(command)


def _universe_at_close(universe, day, prices: Optional[Path], db: Optional[Path]):
    """``(universe, inputs, row)``: the universe with each fund's point-in-time AUM at the close
    of ``day`` (default: the last session with the funds' own prices), for scenarios about the
    next session; without price tables, the catalog's AUM with a warning (inputs None)."""
    from lev_flows.model.day import load_inputs
    from lev_flows.model.pointintime import universe_with_aum

    try:
        inp = load_inputs(universe, prices, db)
    except InputError as exc:
        if prices is not None or day is not None:
            raise
        warn([f"AUM from the catalog ({universe.as_of}), not point in time ({exc})"])
        return universe, None, None
    row = inp.pit.row(day) if day is not None else inp.pit.last_complete_row()
    echo(f"AUM: point in time, at the close of {inp.pit.sessions[row]:%Y-%m-%d}", err=True)
    return universe_with_aum(universe, inp.pit.aum_close[row], inp.pit.sessions[row].date()), inp, row


def ladder(
    universe: Optional[Path] = UNIVERSE,
    move: list[str] = typer.Option([], "--move", "-m", metavar="ID=PCT", help="What-if move in percent, e.g. --move NDX=-3 --move SOX=-6."),
    step: float = number_option(1.0, "--step", min=0.01, max=50, help="Ladder step, percent."),
    span: float = number_option(10.0, "--span", min=0.01, max=99, help="Ladder from -span to +span percent."),
    date: Optional[str] = date_option("AUM at the close of this session (default: the last with the funds' prices)."),
    prices: Optional[Path] = PRICES,
    db: Optional[Path] = DB,
    beta_window: int = typer.Option(250, "--beta-window", min=60, max=2000, help="Sessions of the beta-to-S&P 500 regression."),
    fmt: Optional[Format] = FORMAT,
    output: Optional[Path] = OUTPUT,
    chart: Optional[Path] = CHART,
    force: bool = FORCE,
    exclude_etns: bool = EXCLUDE_ETNS,
    strict: bool = STRICT,
    scope: str = SCOPE,
    wide: bool = WIDE,
) -> None:
    """Rebalance flow for hypothetical moves of all equity underlyings, per index bucket, on the
    point-in-time AUM at a session's close, and the "$ per 1 % S&P 500 move" with each underlying
    moved by its beta; with --move, the flows of one scenario instead."""
    import numpy as np

    from lev_flows.analysis.whatif import (
        aum_at_close,
        fraction_warning,
        parse_moves,
        sensitivity_usd,
        what_if,
    )
    from lev_flows.analysis.whatif import ladder as run_ladder
    from lev_flows.present.tables import print_tables, render

    fmt = prepare_outputs(fmt, output, chart, force=force, inputs=(universe,), db=db)
    n_rows = 2 * span / step + 1
    if n_rows > 2001:
        raise InputError(f"--span {span:g} / --step {step:g} gives {n_rows:,.0f} rows; at most 2,001")
    moves_given = parse_moves(move) if move else {}  # before any loading: a bad option is the only message
    warn([w for w in [fraction_warning(moves_given)] if w])
    if move and chart is not None:
        raise InputError("--chart draws the ladder; with --move, use `estimate --chart` style output instead")
    scoped = scoped_universe(universe, scope)
    if not any(scoped.underlying_by_id[f.underlying].asset_class == "equity" for f in scoped.funds):
        raise InputError(f"--scope {scope}: the ladder moves equity underlyings, and this scope has no equity fund")
    uni, inp, row = _universe_at_close(scoped, parse_date(date), prices, db)
    if exclude_etns:
        uni = uni.without_etns()
    if move:
        est = what_if(uni, moves_given, aum=None if inp is None else aum_at_close(inp.pit, row), where="--move")
        warn(est.warnings)
        check_strict(est, strict)
        if fmt is Format.table and output is None:
            print_tables(est, console(wide=wide), wide=wide or None, more="More: --wide (every table and column).")
        else:
            emit_bytes(render(est, fmt.value, 15), output, force)
        return
    moves = np.round(np.arange(-span, span + step / 2, step), 6) / 100.0
    table = run_ladder(uni, moves)
    if chart is not None:
        from lev_flows.present.charts import ladder_png

        write_chart(chart, lambda fmt: ladder_png(table, fmt=fmt), force)
    from lev_flows.analysis.whatif import beta_sensitivity, market_betas
    from lev_flows.present.tables import print_ladder

    betas = None if inp is None else market_betas(uni, inp.closes, end=inp.pit.sessions[row], window=beta_window)
    beta = None if betas is None else beta_sensitivity(uni, betas)
    emit_frame(table.reset_index(), fmt, output, force,
                 lambda out: print_ladder(table, sensitivity_usd(uni), out, beta=beta, betas=betas))


def liquidity(
    date: Optional[str] = date_option("The session (default: the built-in replay, 2026-02-04)."),
    universe: Optional[Path] = UNIVERSE,
    prices: Optional[Path] = PRICES,
    db: Optional[Path] = DB,
    top: int = top_option(25, "Stocks to list, by the share of their volume."),
    auction_share: Optional[float] = number_option(None, "--auction-share", min=0.001, max=1.0, help="A flat closing-auction share of the day's volume instead of the modelled one (7-10 % by the stock's size)."),
    fmt: Optional[Format] = FORMAT,
    output: Optional[Path] = OUTPUT,
    chart: Optional[Path] = CHART,
    force: bool = FORCE,
    exclude_etns: bool = EXCLUDE_ETNS,
) -> None:
    """Each stock's flow (point-in-time estimate of the day) as a share of its 20-day dollar
    volume and of its closing auction (an estimate: the auction's share of the day's volume
    modelled from the stock's size); flagged where the flow exceeds half of the auction."""
    from lev_flows.analysis.whatif import liquidity as run_liquidity
    from lev_flows.inputs.prices import load_price_dir
    from lev_flows.model.day import default_prices, estimate_day, load_inputs

    fmt = prepare_outputs(fmt, output, chart, force=force, top=top, inputs=(universe,), db=db)
    day = parse_date(date or REPLAY_DATE)
    check_trading_day(day)
    prices = prices or default_prices()
    inputs = load_inputs(universe, prices, None if db is None else db)
    est = estimate_day(day, inputs=inputs, exclude_etns=exclude_etns)
    table = run_liquidity(est, inputs.closes, load_price_dir(prices, "volume"), auction_share=auction_share, top=top)
    if chart is not None:
        from lev_flows.present.charts import bars_png

        write_chart(chart, lambda fmt: bars_png(list(table["ticker"]), list(table["flow_pct_adv"] * 100),
                                                  f"Flow as a share of 20-day dollar volume, {est.date}", "% of ADV", fmt=fmt), force)
    from lev_flows.present.tables import print_liquidity

    emit_frame(table, fmt, output, force, lambda out: print_liquidity(table, est, auction_share, out))


def history(
    start: Optional[str] = START,
    end: Optional[str] = END,
    universe: Optional[Path] = UNIVERSE,
    prices: Optional[Path] = PRICES,
    db: Optional[Path] = DB,
    top: int = top_option(10, "Largest days to list."),
    fmt: Optional[Format] = FORMAT,
    output: Optional[Path] = OUTPUT,
    chart: Optional[Path] = chart_option("a chart of the daily series, largest days marked"),
    force: bool = FORCE,
    exclude_etns: bool = EXCLUDE_ETNS,
    scope: str = SCOPE,
) -> None:
    """Daily point-in-time flows over a date range, with the largest days. csv / json / parquet
    carry every day; the table lists the largest."""
    from lev_flows.analysis.history import history_range

    fmt = prepare_outputs(fmt, output, chart, force=force, inputs=(universe,), db=db)
    h = history_range(parse_date(start, "--start"), parse_date(end, "--end"), universe=scoped_universe(universe, scope), prices=prices, db=db,
                      exclude_etns=exclude_etns)
    if chart is not None:
        from lev_flows.present.charts import history_png

        write_chart(chart, lambda fmt: history_png(h, marked=min(top, 8), fmt=fmt), force)
    if h.stale_days:
        warn([f"on {h.stale_days} of {len(h.daily)} days the AUM-weighted median distance to an AUM observation "
                "exceeds 10 sessions (column aum_median_gap)"])

    def show(out) -> None:
        from lev_flows.present.tables import print_frame

        d = h.daily
        only = "" if scope in (None, "all") else f" ({escape(scope.replace('_', ' '))} funds only, --scope)"
        out.print(f"[bold]{d.index[0]:%Y-%m-%d} .. {d.index[-1]:%Y-%m-%d}[/bold]{only}: {len(d)} session{'' if len(d) == 1 else 's'}, mean |net flow| "
                  f"{d['rebalance_usd'].abs().mean() / 1e9:.2f}B; {escape(h.note)}.", highlight=False, markup=True)
        print_frame(h.largest_days(top), f"Largest {top} days (USD, + = buy at the close)", out,
                    usd=("rebalance_usd", "gross_rebalance_usd", "creation_usd", "flow_usd", "largest_bucket_usd"),
                    share=("aum_with_return",), index="date")
        replay = timestamp(REPLAY_DATE)
        if replay in d.index:
            so = h.stand_out(REPLAY_DATE)
            out.print(
                f"{REPLAY_DATE}: {so['rebalance_usd'] / 1e9:+.2f}B, rank {so['abs_rank']} of {so['days']} days by size "
                f"(top {so['abs_percentile']:.0%}), rank {so['same_side_rank']} among "
                f"{'selling' if so['rebalance_usd'] < 0 else 'buying'} days, z = {so['z']:+.1f}.", highlight=False,
            )

    emit_frame(h.daily.join(h.by_index.add_prefix("bucket:")).reset_index(), fmt, output, force, show)


def tracking(
    start: Optional[str] = START,
    end: Optional[str] = END,
    universe: Optional[Path] = UNIVERSE,
    prices: Optional[Path] = PRICES,
    all_funds: bool = typer.Option(False, "--all", help="Every fund with prices, not only the headline pairs."),
    top: int = top_option(40, "Funds to list (largest AUM first)."),
    fmt: Optional[Format] = FORMAT,
    output: Optional[Path] = OUTPUT,
    chart: Optional[Path] = CHART,
    force: bool = FORCE,
) -> None:
    """Check each fund's daily return against L x its underlying's (TQQQ vs QQQ, ...)."""
    from lev_flows.analysis.history import HEADLINE_FUNDS
    from lev_flows.analysis.history import tracking as run_tracking
    from lev_flows.inputs.catalog import load_universe
    from lev_flows.inputs.prices import load_price_dir
    from lev_flows.model.day import default_prices

    fmt = prepare_outputs(fmt, output, chart, force=force, top=top, inputs=(universe,))
    table = run_tracking(load_universe(universe), load_price_dir(prices or default_prices()),
                         start=parse_date(start, "--start"), end=parse_date(end, "--end"))
    if not all_funds:
        table = table[table["ticker"].isin(HEADLINE_FUNDS)].reset_index(drop=True)
    table = table.head(top)
    if chart is not None:
        from lev_flows.present.charts import bars_png

        write_chart(chart, lambda fmt: bars_png(list(table["ticker"]), list(table["median_abs_error"] * 1e4),
                                                  "Median daily |R - L r| (basis points)", "bp", fmt=fmt), force)

    def show(out) -> None:
        from lev_flows.present.tables import print_frame

        print_frame(table.drop(columns=["underlying"]), "Daily fund return vs L x underlying: absolute error in basis points",
                    out, usd=("aum_usd",), bp=("median_abs_error", "p95_abs_error"))

    emit_frame(table, fmt, output, force, show)


def creations(
    start_snapshot: Path = typer.Option(..., "--from", metavar="CSV", help="Screener snapshot CSV at the start."),
    end_snapshot: Path = typer.Option(..., "--to", metavar="CSV", help="Screener snapshot CSV at the end."),
    universe: Optional[Path] = UNIVERSE,
    prices: Optional[Path] = PRICES,
    db: Optional[Path] = DB,
    top: int = top_option(15, "Funds to list, by creation exposure."),
    fmt: Optional[Format] = FORMAT,
    output: Optional[Path] = OUTPUT,
    chart: Optional[Path] = CHART,
    force: bool = FORCE,
) -> None:
    """Net creations between two snapshots (AUM change net of performance) against the rebalance."""
    from lev_flows.analysis.creations import implied_creations
    from lev_flows.inputs.sources.screener import import_snapshot
    from lev_flows.model.day import load_inputs

    fmt = prepare_outputs(fmt, output, chart, force=force, top=top, inputs=(universe, start_snapshot, end_snapshot), db=db)

    def aum_of(path: Path):
        return {f["ticker"]: (f.get("aum_usd"), f.get("aum_as_of")) for f in import_snapshot(path).funds}

    inp = load_inputs(universe, prices, db)
    table = implied_creations(inp.universe, inp.closes, aum_of(start_snapshot), aum_of(end_snapshot), pit=inp.pit)
    if chart is not None:
        from lev_flows.present.charts import bars_png

        head = table.head(top)
        write_chart(chart, lambda fmt: bars_png(list(head["ticker"]), list(head["creation_exposure_usd"] / 1e9),
                                                  "Net creations x L (USD billions)", "USD billions", fmt=fmt), force)

    def show(out) -> None:
        from lev_flows.present.tables import print_frame

        tot = table[["creations_usd", "creation_exposure_usd", "rebalance_usd"]].sum()
        out.print(
            f"[bold]{table.attrs['start']} .. {table.attrs['end']}[/bold] ({table.attrs['sessions']} sessions, "
            f"{len(table)} daily funds; {table.attrs['dropped']} without a return every day left out): "
            f"net creations {tot['creations_usd'] / 1e9:+.2f}B, x L = {tot['creation_exposure_usd'] / 1e9:+.2f}B of exposure "
            f"against {tot['rebalance_usd'] / 1e9:+.2f}B of rebalancing: "
            f"offset {-tot['creation_exposure_usd'] / tot['rebalance_usd']:.0%}.", highlight=False, markup=True,
        )
        print_frame(table.head(top).drop(columns=["underlying"]), f"Top {top} funds by creation exposure", out,
                    usd=("aum_start_usd", "aum_end_usd", "creations_usd", "creation_exposure_usd", "rebalance_usd"),
                    pct=("performance",), share=("offset_share",))

    emit_frame(table, fmt, output, force, show)


def montecarlo(
    scenarios: int = typer.Option(100_000, "--scenarios", "-s", min=1, max=10_000_000, help="Number of scenarios."),
    method: Method = typer.Option(Method.bootstrap, "--method", help="Historical days drawn with replacement, or a multivariate normal."),
    lookback: int = typer.Option(500, "--lookback", min=20, max=5000, help="Sessions of history to draw from."),
    date: Optional[str] = date_option("The estimate date: the window's last session, whose close AUM applies (default: the last with the funds' prices).", "--end"),
    seed: int = typer.Option(0, "--seed", min=0, help="Random seed (same seed, same draw)."),
    vol: Vol = typer.Option(Vol.ewma, "--vol", help="Scale each day to today's EWMA volatility, or keep the raw days."),
    lam: float = number_option(0.94, "--lambda", min=0.5, max=0.999, help="EWMA decay per day (RiskMetrics 0.94)."),
    given: list[str] = typer.Option([], "--given", "-g", metavar="ID=PCT", help="Condition on a move already known, in percent, e.g. --given NDX=-2."),
    universe: Optional[Path] = UNIVERSE,
    prices: Optional[Path] = PRICES,
    db: Optional[Path] = DB,
    fmt: Optional[Format] = FORMAT,
    output: Optional[Path] = OUTPUT,
    chart: Optional[Path] = chart_option("a histogram of the totals"),
    force: bool = FORCE,
    exclude_etns: bool = EXCLUDE_ETNS,
    scope: str = SCOPE,
) -> None:
    """Distribution of the next close's total rebalance from simulated joint returns."""
    from lev_flows.analysis.montecarlo import monte_carlo
    from lev_flows.analysis.whatif import fraction_warning, parse_moves
    from lev_flows.model.day import load_inputs

    fmt = prepare_outputs(fmt, output, chart, force=force, inputs=(universe,), db=db)
    moves = parse_moves(given, "--given")
    warn([w for w in [fraction_warning(moves, "--given")] if w])
    inp = load_inputs(scoped_universe(universe, scope), prices, db)
    res = monte_carlo(  # the point-in-time AUM at the close of --date (default: the last with the funds' prices), as from Python
        inp.universe, inp.closes, n=scenarios, method=method.value, lookback=lookback, end=parse_date(date, "--date/--end"),
        seed=seed, pit=inp.pit, vol=vol.value, lam=lam, given=moves, exclude_etns=exclude_etns,
    )
    if chart is not None:
        from lev_flows.present.charts import montecarlo_png

        write_chart(chart, lambda fmt: montecarlo_png(res, fmt=fmt), force)

    def show(out) -> None:
        from lev_flows.present.tables import print_frame

        left = ", ".join(f"{u} ({v * 0.01 / 1e9:+.2f}B per 1%)" for u, v in res.left_out[:5])
        given_text = ", ".join(f"{k} {v:+.1%}" for k, v in (res.given or {}).items())
        out.print(
            f"[bold]{len(res.totals):,} scenarios[/bold] ({res.method}, {res.lookback} sessions {res.window[0]} .. {res.window[1]}, "
            f"demeaned, volatility: {res.vol}" + (f", given {escape(given_text)}" if given_text else "") + "); "
            f"{res.coverage:.1%} of the sensitivity simulated" + (f"; left out: {escape(left)}" if left else ""), highlight=False,
            markup=True,
        )
        cov = res.coverage_by_class.rename(columns={"asset_class": "asset class", "usd_per_1pct": "USD per 1%"})
        print_frame(cov, "Sensitivity simulated, by asset class", out, usd=("USD per 1%",), share=("simulated",))
        cols = list(res.quantiles.columns[:8])
        level = f"{res.ci_level:.0%}"
        shown = res.quantiles[cols].rename(columns={"total_lo": f"total, {level} CI low", "total_hi": f"total, {level} CI high"})
        print_frame(shown, "Quantiles of the next close's rebalance (USD); CI: the window's days resampled",
                    out, usd=tuple(shown.columns), index="quantile")

    emit_frame(res.quantiles.reset_index(), fmt, output, force, show)


def scorecard(
    published: Optional[Path] = typer.Option(None, "--published", help="Published figures CSV (default: the package's curated copy of ../shared/data/reference/published_flow_estimates.csv)."),
    universe: Optional[Path] = UNIVERSE,
    prices: Optional[Path] = PRICES,
    db: Optional[Path] = DB,
    fmt: Optional[Format] = FORMAT,
    output: Optional[Path] = OUTPUT,
    chart: Optional[Path] = chart_option("a chart of published vs our figures"),
    force: bool = FORCE,
    exclude_etns: bool = EXCLUDE_ETNS,
    scope: str = SCOPE,
) -> None:
    """Each published desk figure against our point-in-time estimate of its day on the same scope
    and basis, with our figure for --scope (default all funds) beside it, the $ per 1 % move and
    the day's dispersion, and the hit rate inside our error band."""
    from lev_flows.analysis.scorecard import PUBLISHED_FILE, hit_rate, read_published
    from lev_flows.analysis.scorecard import scorecard as run_scorecard
    from lev_flows.model.day import load_inputs

    fmt = prepare_outputs(fmt, output, chart, force=force, inputs=(universe, published), db=db)
    table = run_scorecard(read_published(published or PUBLISHED_FILE), load_inputs(universe, prices, db),
                          exclude_etns=exclude_etns, beside=scope or "all")
    warn(list(table["note"][table["note"] != ""].unique()))
    from lev_flows.present.charts import scorecard_png

    write_chart(chart, lambda fmt: scorecard_png(table, fmt=fmt), force)

    def show(out) -> None:
        from lev_flows.present.tables import print_scorecard

        print_scorecard(table, hit_rate(table), out)

    emit_frame(table, fmt, output, force, show)
