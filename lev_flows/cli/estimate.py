"""``lev-flows estimate`` (one day, in the terminal) and ``lev-flows daily`` (the session's
report folder): thin over :func:`lev_flows.estimate_day`, :func:`lev_flows.model.estimate` and
:func:`lev_flows.jobs.daily.run_daily`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from lev_flows.cli.common import (
    ALLOW_PARTIAL,
    AUM_UPDATE,
    DB,
    DEADLINE,
    EXCLUDE_ETNS,
    FORCE,
    FORMAT,
    NO_CACHE,
    NOW,
    OUTPUT,
    PRICE_CONCURRENCY,
    PRICES,
    RETRIES,
    SCOPE,
    STRICT,
    TIMEOUT,
    UNIVERSE,
    WIDE,
    YAHOO_CONCURRENCY,
    Format,
    ProgressBar,
    aum_update_wanted,
    chart_option,
    check_strict,
    console,
    date_option,
    echo,
    emit_bytes,
    http_settings,
    mark_scope,
    parse_date,
    parse_now,
    prepare_outputs,
    scoped_universe,
    top_option,
    warn,
)
from lev_flows.errors import InputError


def register(app: typer.Typer) -> None:
    app.command()(estimate)
    app.command()(daily)


def estimate(
    universe: Optional[Path] = UNIVERSE,
    returns: Optional[Path] = typer.Option(None, "--returns", "-r", metavar="FILE", help="CSV or JSON of returns by underlying id or fund ticker (fractions)."),
    date: Optional[str] = date_option("The session to estimate, YYYY-MM-DD (default: the built-in replay, 2026-02-04)."),
    prices: Optional[Path] = PRICES,
    intraday: bool = typer.Option(False, "--intraday", help="Built-in replay: the funds' 14:43 reported changes instead of the closes."),
    top: Optional[int] = top_option(None, "Rows of the funds table (default 15; stocks 25, or N if more); under 120 columns: 6 funds, 5 stocks, or N of each."),
    wide: bool = WIDE,
    fmt: Optional[Format] = FORMAT,
    output: Optional[Path] = OUTPUT,
    force: bool = FORCE,
    chart: Optional[Path] = chart_option("a chart of the top stock and sector flows"),
    html: Optional[Path] = typer.Option(None, "--html", metavar="FILE", help="Also write the estimate as a self-contained HTML desk note."),
    ignore_unknown: bool = typer.Option(False, "--ignore-unknown", help="With --returns: skip and list keys that are no underlying id or fund ticker (default: an error)."),
    creations: Optional[Path] = typer.Option(None, "--creations", metavar="CSV", help="CSV of net creations by fund (ticker, creations_usd): shown beside the rebalance."),
    db: Optional[Path] = DB,
    live: bool = typer.Option(False, "--live", help="Intraday: live quotes against the previous close, from the HTTP source (funds' own quotes, indexes, ETFs and single stocks in batches of 20: about 50 requests for the packaged catalog)."),
    allow_partial: bool = ALLOW_PARTIAL,
    base_url: Optional[str] = typer.Option(None, "--base-url", metavar="URL", help="With --live: the price source's base URL."),
    deadline: float = DEADLINE,
    exclude_etns: bool = EXCLUDE_ETNS,
    strict: bool = STRICT,
    now: Optional[str] = NOW,
    aum_update: Optional[bool] = AUM_UPDATE,
    scope: str = SCOPE,
) -> None:
    """Estimate one day's flows. With no option: the built-in replay of 2026-02-04. The total
    shows US equity funds first, then all funds, then every scope; ``--scope`` restricts the run."""
    from lev_flows.jobs.oneday import check_request, estimate_one
    from lev_flows.present.tables import print_day, render

    fmt = prepare_outputs(fmt, output, chart, html, force=force, top=top, inputs=(universe, returns, creations), db=db)  # before any work: a bad path is the only message
    day = parse_date(date)
    check_request(returns=returns, day=day, prices=prices, intraday=intraday, live=live)
    uni = scoped_universe(universe, scope)

    def live_estimate(creations_usd):
        source, client = _online_source(base_url=base_url, deadline=deadline)
        return _run_daily(uni, source, date=None, allow_partial=allow_partial, holdings=False, force_live=True, client=client,
                          creations=creations_usd, now=parse_now(now), db=db, exclude_etns=exclude_etns,
                          note_context=False, aum_update=aum_update).estimate

    result = estimate_one(uni, returns=returns, day=day, prices=prices, intraday=intraday, creations=creations, db=db,
                          live=live_estimate if live else None, ignore_unknown=ignore_unknown, exclude_etns=exclude_etns,
                          on_aum_fallback=lambda why: warn([why]), compare=output is None and fmt is Format.table)
    est = result.estimate
    mark_scope(est, scope)
    warn(est.warnings)
    check_strict(est, strict)
    _write_files(est, html, chart, top or 15, force, uni)
    if output is not None or fmt is not Format.table:
        emit_bytes(render(est, fmt.value, top or 15), output, force)
        return
    print_day(result, console(wide=wide), top=top, scope=scope, wide=wide or None)


def _write_files(est, html: Optional[Path], chart: Optional[Path], top: int, force: bool, universe=None) -> None:
    """``--html`` (the desk note, with the day's published figures and, where price tables are
    at hand, its sensitivity) and ``--chart``."""
    if html is not None:
        from lev_flows.analysis.scorecard import published_for
        from lev_flows.io import atomic_write_text

        atomic_write_text(html, est.to_html(scorecard=published_for(est), sensitivity=_sensitivity(est, universe)), force=force)
        echo(f"wrote {html}", err=True)
    if chart is not None:
        est.plot(chart, top=top, force=force)
        echo(f"wrote {chart}", err=True)


def _sensitivity(est, universe):
    """The day's :func:`lev_flows.analysis.whatif.sensitivity_of_day` from the default price
    tables, or None without them (the note then leaves the section out)."""
    from lev_flows.errors import LevFlowsError

    if est.date is None or universe is None:
        return None
    try:
        from lev_flows.analysis.whatif import sensitivity_of_day
        from lev_flows.inputs.prices import load_price_dir
        from lev_flows.model.day import default_prices

        return sensitivity_of_day(est, universe, load_price_dir(default_prices()))
    except LevFlowsError:
        return None


def _online_source(prices: Optional[Path] = None, base_url: Optional[str] = None, *, cache_dir: Optional[Path] = None,
                   timeout: float = 10.0, concurrency: int = YAHOO_CONCURRENCY, no_cache: bool = False, retries: int = 3,
                   deadline: float = 300.0):
    """A local price source for --prices, else the Yahoo chart provider on the shared client."""
    if prices is not None:
        from lev_flows.inputs.sources.local import LocalPrices

        return LocalPrices(prices), None
    from lev_flows.inputs.sources.http import HttpClient
    from lev_flows.inputs.sources.yahoo import YahooChart

    client = HttpClient(http_settings(timeout, retries, no_cache, concurrency=concurrency, cache_dir=cache_dir, deadline=deadline))
    return YahooChart(client, base_url), client


def _update_aum(universe, client, db) -> None:
    """The online runs' first step: every fund's previous-close net assets from its issuer into
    the store (``aum update --allow-partial``); what failed is a warning on stderr, never a stop."""
    from lev_flows.errors import LevFlowsError
    from lev_flows.jobs.aum import update_from_issuers

    try:
        with ProgressBar("issuer AUM") as bar:
            report = update_from_issuers(universe, client, db=db, allow_partial=True, progress=bar)
    except LevFlowsError as exc:
        warn([f"issuer AUM not updated: {exc}"])
        return
    funds = sum(int(note.split(" of ")[0]) for *_, note in report.files.values())
    warn([f"issuer AUM: {funds} funds updated, {report.changed} observations new or changed"
          + (f"; {len(report.skipped)} funds failed (lev-flows aum update lists them)" if report.skipped else "")])


def _run_daily(universe, source, *, date, allow_partial, holdings, force_live, client, creations=None, now=None, db=None,
               exclude_etns=False, note_context=True, aum_update=None):
    from lev_flows.jobs.daily import run_daily

    if client is not None:
        if aum_update_wanted(aum_update):  # skipped by choice (flag or $LEV_FLOWS_AUM_UPDATE=off): the
            _update_aum(universe, client, db)  # estimate's coverage still says what its AUM rests on

    holdings_source = None
    if holdings:
        from lev_flows.inputs.sources.issuers import IssuerHoldings

        if client is None:
            raise InputError("--holdings fetches issuer files over HTTP; it cannot be combined with --prices")
        holdings_source = IssuerHoldings(client)
    try:
        with ProgressBar("fetching") as bar:
            return run_daily(
                universe, source, as_of=date, allow_partial=allow_partial, holdings_source=holdings_source,
                progress=bar, force_live=force_live, creations=creations, now=now, db=db, exclude_etns=exclude_etns,
                note_context=note_context,
            )
    finally:
        if client is not None:
            client.close()


def _load_charts_meanwhile():
    """Import the report's chart library (matplotlib, about 0.6 s) and draw one throw-away figure
    (its fonts loaded) in a thread while the prices are fetched (the fetch waits on the network);
    joined before the report is written. A failure is left for the report to raise in its own
    words."""
    import threading

    def load() -> None:
        try:
            import io

            from lev_flows.present.charts import _pyplot

            plt = _pyplot()
            fig, ax = plt.subplots(figsize=(2, 1))
            ax.barh(["x"], [1.0])
            ax.set_title("warm-up")
            fig.tight_layout()
            fig.savefig(io.BytesIO(), format="png", dpi=20)
            plt.close(fig)
        except Exception:  # noqa: BLE001, S110 - the report draws again and says why
            pass

    thread = threading.Thread(target=load, name="load matplotlib", daemon=True)
    thread.start()
    return thread


def daily(
    date: Optional[str] = date_option("The session, YYYY-MM-DD (default: today's, live before 16:00 New York).", "--as-of"),
    prices: Optional[Path] = typer.Option(None, "--prices", help="Offline: a folder of close tables (CSV/Parquet) or one table file, instead of HTTP."),
    universe: Optional[Path] = UNIVERSE,
    output_dir: Path = typer.Option(Path("reports"), "--output-dir", help="Where the dated report folder goes."),
    allow_partial: bool = ALLOW_PARTIAL,
    holdings: bool = typer.Option(False, "--holdings", help="Fetch ProShares/Direxion holdings for exact re-leveraging."),
    base_url: Optional[str] = typer.Option(None, "--base-url", metavar="URL", help="Price source base URL (default: $LEV_FLOWS_YAHOO_URL, else Yahoo)."),
    cache_dir: Optional[Path] = typer.Option(None, "--cache-dir", help="HTTP cache (default: $LEV_FLOWS_CACHE, else ~/.cache/lev_flows)."),
    no_cache: bool = NO_CACHE,
    timeout: float = TIMEOUT,
    concurrency: int = PRICE_CONCURRENCY,
    retries: int = RETRIES,
    deadline: float = DEADLINE,
    top: Optional[int] = top_option(None, "Rows of the funds table (default 15; stocks 25, or N if more); under 120 columns: 6 funds, 5 stocks, or N of each."),
    wide: bool = WIDE,
    force: bool = typer.Option(False, "--force", help="Overwrite an existing report folder."),
    db: Optional[Path] = DB,
    exclude_etns: bool = EXCLUDE_ETNS,
    strict: bool = STRICT,
    now: Optional[str] = NOW,
    aum_update: Optional[bool] = AUM_UPDATE,
    scope: str = SCOPE,
) -> None:
    """The daily estimate: fetch the session's prices, estimate, write a dated report folder
    (estimate.json, by_*.csv, chart.png, report.html) and print the tables. It fetches the funds'
    own prices, index symbols, tracking ETFs and single stocks (977 symbols for the packaged
    catalog: live quotes and closes alike in batches of 20, 49 requests), and a composition's
    stocks only for an underlying none of those priced."""
    from lev_flows.jobs.daily import write_report
    from lev_flows.present.tables import print_tables

    if prices is not None and (base_url is not None or holdings):
        raise InputError("--prices reads local tables; it cannot be combined with --base-url or --holdings")
    day = parse_date(date)
    stamp = parse_now(now)
    from lev_flows.jobs.daily import check_report_folder, resolve_session

    check_report_folder(output_dir, *resolve_session(day, stamp), force)  # before any work
    uni = scoped_universe(universe, scope)
    source, client = _online_source(
        prices, base_url, cache_dir=cache_dir, timeout=timeout, concurrency=concurrency, no_cache=no_cache, retries=retries,
        deadline=deadline,
    )
    charts = _load_charts_meanwhile()
    result = _run_daily(
        uni, source, date=day, allow_partial=allow_partial, holdings=holdings, force_live=False, client=client,
        now=stamp, db=db, exclude_etns=exclude_etns, aum_update=aum_update,
    )
    mark_scope(result.estimate, scope)
    warn(result.estimate.warnings)
    check_strict(result.estimate, strict)  # before the report: an unattended run writes nothing doubtful
    charts.join()
    folder = write_report(result, output_dir, force=force, top=top or 15)
    out = console(wide=wide)
    print_tables(result.estimate, out, top=top, scope=scope, wide=wide or None)
    if result.failed:
        out.print(f"[yellow]{len(result.failed)} of {result.symbols} symbols failed and were left out:[/yellow]", markup=True)
        for why in list(result.failed.values())[:20]:
            out.print(f"  {why}", highlight=False)
    if result.holdings_used:
        out.print(f"exact re-leveraging from issuer holdings for {len(result.holdings_used)} funds")
    out.print(f"wrote {folder}/ (estimate.json, by_etf.csv, by_stock.csv, by_sector.csv, by_index.csv, chart.png, "
              f"report.html) and {folder.parent}/index.html", highlight=False)
