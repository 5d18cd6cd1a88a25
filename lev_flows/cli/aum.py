"""``lev-flows aum ...``: the AUM store (import files, fetch issuer NAV histories, show a fund)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from lev_flows.cli.common import (
    DB,
    DEADLINE,
    END,
    FORCE,
    FORMAT,
    NO_CACHE,
    OUTPUT,
    PRICES,
    RETRIES,
    START,
    TIMEOUT,
    UNIVERSE,
    Format,
    ProgressBar,
    chart_option,
    echo,
    emit_frame,
    http_settings,
    parse_date,
    prepare_outputs,
    timestamp,
    write_chart,
)
from lev_flows.errors import InputError
from lev_flows.present.text import escape

aum_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, help="The AUM store: import observations, fetch issuer NAV histories, show a fund.")


def register(app: typer.Typer) -> None:
    app.add_typer(aum_app, name="aum")


@aum_app.command("import")
def aum_import(
    paths: list[Path] = typer.Argument(..., metavar="FILE...", help="Issuer NAV histories, screener snapshots or ticker,date,aum_usd CSV files."),
    universe: Optional[Path] = typer.Option(None, "--universe", "-u", help="Universe YAML whose tickers are accepted (default: the packaged catalog)."),
    db: Optional[Path] = DB,
    allow_partial: bool = typer.Option(False, "--allow-partial", help="Skip and list bad files and unknown tickers instead of failing."),
) -> None:
    """Import AUM observations into the store (idempotent; a failed import changes nothing)."""
    from lev_flows.inputs.catalog import load_universe
    from lev_flows.inputs.store import default_path
    from lev_flows.jobs.aum import import_files

    report = import_files(list(paths), load_universe(universe), db=db, allow_partial=allow_partial)
    for line in report.lines():
        echo(line, err=line.startswith("skipped"))
    echo(f"store: {db or default_path()}")


@aum_app.command("update")
def aum_update(
    tickers: list[str] = typer.Argument(None, metavar="TICKER...", help="Funds to fetch (default: every ProShares fund in the catalog)."),
    ticker_opt: list[str] = typer.Option([], "--ticker", "-t", metavar="TICKER", help="Funds to fetch (the same as the arguments)."),
    universe: Optional[Path] = UNIVERSE,
    db: Optional[Path] = DB,
    base_url: Optional[str] = typer.Option(None, "--base-url", metavar="URL", help="Issuer base URL (default: $LEV_FLOWS_PROSHARES_URL, else ProShares)."),
    allow_partial: bool = typer.Option(False, "--allow-partial", help="Import the funds that answered, listing the others."),
    timeout: float = TIMEOUT,
    retries: int = RETRIES,
    no_cache: bool = NO_CACHE,
    deadline: float = DEADLINE,
) -> None:
    """Fetch the issuers' daily NAV histories (ProShares) and import them into the store."""
    from lev_flows.inputs.catalog import load_universe
    from lev_flows.inputs.sources.http import HttpClient
    from lev_flows.jobs.aum import update_from_issuers

    wanted = [t.upper() for t in [*(tickers or []), *ticker_opt]] or None
    with HttpClient(http_settings(timeout, retries, no_cache, deadline=deadline)) as client, ProgressBar("NAV histories") as bar:
        report = update_from_issuers(load_universe(universe), client, db=db, tickers=wanted, base_url=base_url,
                                     allow_partial=allow_partial, progress=bar)
    for line in report.lines():
        echo(line, err=line.startswith("skipped"))


@aum_app.command("show")
def aum_show(
    ticker: str = typer.Argument(..., metavar="TICKER", help="Fund ticker."),
    start: Optional[str] = START,
    end: Optional[str] = END,
    universe: Optional[Path] = UNIVERSE,
    prices: Optional[Path] = PRICES,
    db: Optional[Path] = DB,
    every: int = typer.Option(21, "--every", min=1, max=10_000, help="Table: one session in this many (the last always shown)."),
    fmt: Optional[Format] = FORMAT,
    output: Optional[Path] = OUTPUT,
    chart: Optional[Path] = chart_option("a chart of observed vs modelled AUM"),
    force: bool = FORCE,
) -> None:
    """One fund's AUM: every stored observation and the modelled start-of-day AUM per session
    (csv / json / parquet: every session)."""
    import numpy as np

    from lev_flows.jobs.aum import aum_series
    from lev_flows.model.day import load_inputs

    fmt = prepare_outputs(fmt, output, chart, force=force, inputs=(universe,), db=db)
    inp = load_inputs(universe, prices, db)
    symbol = ticker.upper()
    modelled, observed = aum_series(symbol, inp.universe, inp.pit, db)
    lo, hi = parse_date(start, "--start"), parse_date(end, "--end")
    if lo:
        modelled = modelled[modelled.index >= timestamp(lo)]
    if hi:
        modelled = modelled[modelled.index <= timestamp(hi)]
    if modelled.empty:
        raise InputError(f"aum show: no session between {lo} and {hi} in the price table")
    if chart is not None:
        from lev_flows.present.charts import aum_png

        write_chart(chart, lambda fmt: aum_png(symbol, modelled, observed, fmt=fmt), force)

    def show(out) -> None:
        from lev_flows.present.tables import print_frame

        out.print(f"[bold]{escape(symbol)}[/bold]: {len(observed)} stored observations "
                  + escape(", ".join(f"{k} {v}" for k, v in observed["source_kind"].value_counts().items())), highlight=False,
                  markup=True)
        pos = np.arange(len(modelled))
        keep = (pos % every == 0) | (pos == len(modelled) - 1)
        shown = modelled[keep].rename(columns={"aum_usd": "AUM, start of day", "gap_sessions": "sessions from it"})
        print_frame(shown.tail(60), f"{symbol}: modelled AUM, one session in {every} (--every)", out,
                    usd=("AUM, start of day",), index="session")

    emit_frame(modelled.reset_index(), fmt, output, force, show)
