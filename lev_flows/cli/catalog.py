"""``lev-flows universe ...`` (the catalog: validate, verify, import, update) and ``lev-flows
reference ...`` (the packaged data built from ../shared/data)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from lev_flows.cli.common import (
    DB,
    DEADLINE,
    FORCE,
    FORMAT,
    NO_CACHE,
    OUTPUT,
    PRICES,
    REPLAY_DATE,
    RETRIES,
    UNIVERSE,
    Format,
    check_outputs,
    echo,
    emit_frame,
    http_settings,
    number_option,
    parse_date,
    prepare_outputs,
)
from lev_flows.errors import InputError
from lev_flows.present.text import escape

universe_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, help="Validate, verify, import and update the fund catalog.")
reference_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, help="Build the packaged reference data from ../shared/data.")


def register(app: typer.Typer) -> None:
    app.add_typer(universe_app, name="universe")
    app.add_typer(reference_app, name="reference")


@universe_app.command("validate")
def universe_validate(path: Path = typer.Argument(..., metavar="YAML", help="Universe YAML file.")) -> None:
    """Validate a universe file; print a one-line account or the first error."""
    from lev_flows.inputs.catalog import load_universe

    uni = load_universe(path)
    if not uni.funds:
        raise InputError(f"{path}: the 'funds' list is empty; nothing to estimate")
    aum = sum(f.aum_usd or 0 for f in uni.funds)
    echo(f"{path}: ok: {len(uni.funds)} funds (${aum / 1e9:,.1f}B AUM), {len(uni.underlyings)} underlyings")


@universe_app.command("verify")
def universe_verify(
    tickers: list[str] = typer.Argument(None, metavar="TICKER...", help="Funds to check (default: all)."),
    universe: Optional[Path] = UNIVERSE,
    prices: Optional[Path] = PRICES,
    start: Optional[str] = typer.Option(None, "--start", metavar="YYYY-MM-DD", help="First day of the regressions (default: a year before --end)."),
    end: Optional[str] = typer.Option(None, "--end", metavar="YYYY-MM-DD", help="Last day (default: the funds' last price)."),
    show_all: bool = typer.Option(False, "--all", help="Every fund, not only the flagged and explained ones."),
    check: bool = typer.Option(False, "--check", help="Exit 3 when a flag is not explained by the catalog (for CI)."),
    fmt: Optional[Format] = FORMAT,
    output: Optional[Path] = OUTPUT,
    force: bool = FORCE,
) -> None:
    """Check each fund's leverage, direction and underlying against its own prices.

    Regresses every fund's daily return on its declared underlying's (index level, tracking
    ETF, stock or composition) and on its peers'; flags a wrong sign, a beta away from L and a
    low correlation, and suggests the likelier underlying. A flag the catalog explains
    (``verify_note``) is listed as explained.
    """
    from lev_flows.analysis.verify import verify
    from lev_flows.inputs.catalog import load_universe
    from lev_flows.inputs.prices import load_price_dir
    from lev_flows.model.day import default_prices

    fmt = prepare_outputs(fmt, output, force=force, inputs=(universe,))
    uni = load_universe(universe)
    closes = load_price_dir(prices or default_prices())
    result = verify(uni, closes, start=parse_date(start, "--start"), end=parse_date(end, "--end"),
                    tickers=[t.upper() for t in tickers] if tickers else None)
    table = result.table if show_all else result.table[result.table["status"].isin(["flagged", "explained"])]
    table = table.reset_index(drop=True)
    echo(result.summary(), err=True)

    def show(out) -> None:
        from lev_flows.present.tables import print_frame

        shown = table[["ticker", "leverage", "underlying", "reference", "days", "beta", "correlation",
                       "weekly_correlation", "peer_beta", "status"]].rename(columns={
            "leverage": "L", "weekly_correlation": "weekly corr", "peer_beta": "beta to peers", "correlation": "corr"})
        print_frame(shown, f"Funds against their own prices, {result.start} .. {result.end} (beta: slope of R on the underlying's r)", out)
        for row in table.itertuples():
            if row.status in ("flagged", "explained"):
                out.print(f"[bold]{escape(row.ticker)}[/bold] {escape(row.flags)}", highlight=False, markup=True)
                if row.suggestion:
                    out.print(f"    best match in the price table: {row.suggestion}", highlight=False)
                if row.note:
                    out.print(f"    catalog note: {row.note}", highlight=False)

    emit_frame(table, fmt, output, force, show)
    changes = _leverage_changes(uni, closes, [t.upper() for t in tickers] if tickers else None)
    if check and (len(result.flagged) or not changes["in_catalog"].all()):
        raise typer.Exit(3)


def _leverage_changes(uni, closes, tickers):
    """The leverage changes the funds' own prices show over the whole table, each with whether
    the catalog's history has it (on stderr: the table above is the current facts')."""
    from lev_flows.analysis.verify import leverage_changes

    changes = leverage_changes(uni, closes, tickers)
    first, last = closes.index[0].date(), closes.index[-1].date()
    echo(f"leverage changes on the funds' own prices, {first} .. {last}: {len(changes)} "
         f"({int(changes['in_catalog'].sum())} in the catalog's history)", err=True)
    for row in changes.itertuples():
        where = "in the catalog" if row.in_catalog else f"NOT in the catalog (it books {row.catalog_leverage:+g} then)"
        echo(f"  {row.ticker}: {row.leverage_before:+g} -> {row.leverage_after:+g} from {row.effective}; {where}", err=True)
    return changes


@universe_app.command("import")
def universe_import(
    snapshot: Path = typer.Argument(..., metavar="SNAPSHOT.csv", help="Screener snapshot CSV."),
    output: Path = typer.Option(Path("etf_universe.yaml"), "--output", "-o", help="Universe YAML to write or refresh."),
    fresh: bool = typer.Option(False, "--fresh", help="Overwrite instead of refreshing an existing file."),
) -> None:
    """Import a screener snapshot into the catalog (refreshes an existing file in place)."""
    from lev_flows.jobs.catalog_update import import_universe

    if Path(snapshot).resolve() == Path(output).resolve():
        raise InputError(f"{output}: the snapshot and --output are the same file")
    _, summary = import_universe(snapshot, output, fresh=fresh)
    echo(summary)
    echo(f"wrote {output}")


@universe_app.command("update")
def universe_update(
    url: Optional[str] = typer.Option(None, "--url", metavar="URL", help="The screener's CSV export (default: $LEV_FLOWS_SCREENER_URL)."),
    output: Path = typer.Option(Path("etf_universe.yaml"), "--output", "-o", help="Universe YAML to refresh (created when absent)."),
    prices: Optional[Path] = typer.Option(None, "--prices", help="Price tables for verifying what changed (default: ../shared/data/prices)."),
    db: Optional[Path] = DB,
    accept_flags: bool = typer.Option(False, "--accept-flags", help="Write even when verify flags a changed fund."),
    timeout: float = number_option(30.0, "--timeout", min=0.1, max=600, help="Seconds per request before retrying."),
    retries: int = RETRIES,
    no_cache: bool = NO_CACHE,
    deadline: float = DEADLINE,
) -> None:
    """Fetch the screener's export and refresh the catalog: new funds added, funds gone marked
    closed, what changed verified against its prices before writing, the export's AUM stored.
    One request."""
    from lev_flows.inputs.sources.http import HttpClient
    from lev_flows.jobs.catalog_update import update_universe

    check_outputs(output, force=True, db=db)  # refreshed in place: it may exist, but must be writable, before the fetch
    with HttpClient(http_settings(timeout, retries, no_cache, deadline=deadline)) as client:
        lines = update_universe(client, output, url=url, prices=prices, db=db, accept_flags=accept_flags)
    for line in lines:
        echo(line)


@reference_app.command("build")
def reference_build(
    data: Path = typer.Option(Path("../shared/data"), "--data", help="The shared raw data folder."),
) -> None:
    """Rebuild lev_flows/data/reference.json (compositions, sectors), the AUM observations that seed the store, the
    carry elasticities fitted on them, the published desk figures of the scorecard and the NYSE sessions
    (from the installed exchange-calendars, so a cold command need not build its calendar) and the packaged
    catalog as parsed (so it need not parse its YAML)."""
    from lev_flows.inputs.calendar import FIRST_DAY, PACKAGED_LAST, write_packaged_sessions
    from lev_flows.inputs.catalog import write_packaged_parsed
    from lev_flows.jobs.reference import (
        build_carry_elasticity,
        build_error_bands,
        build_observations,
        build_published,
        build_reference,
        write_carry_elasticity,
        write_error_bands,
        write_observations,
        write_published,
        write_reference,
    )

    ref = build_reference(data)
    path = write_reference(ref)
    echo(f"wrote {path}: {len(ref['compositions'])} compositions, {len(ref['stocks'])} stocks")
    obs, notes = build_observations(data)
    path = write_observations(obs, notes)
    echo(f"wrote {path}: {len(obs)} AUM observations of {obs['ticker'].nunique()} funds "
               f"({', '.join(f'{k} {v}' for k, v in obs['source_kind'].value_counts().items())})")
    carry = build_carry_elasticity(data, obs)
    path = write_carry_elasticity(carry)
    echo(f"wrote {path}: carry elasticities of {len(carry['kinds'])} kinds of product and direction")
    bands = build_error_bands(data, obs)
    path = write_error_bands(bands)
    echo(f"wrote {path}: AUM error quantiles in {len(bands['cells'])} cells of gap and method")
    published = build_published(data)
    path = write_published(published)
    echo(f"wrote {path}: {len(published)} published figures ({', '.join(f'{k} {v}' for k, v in published['scope'].value_counts().items())})")
    path = write_packaged_sessions()
    echo(f"wrote {path}: the XNYS sessions {FIRST_DAY} .. {PACKAGED_LAST}")
    path = write_packaged_parsed()
    echo(f"wrote {path}: the packaged catalog as parsed (read instead of its YAML while they match)")


@reference_app.command("replay")
def reference_replay(
    data: Path = typer.Option(Path("../shared/data"), "--data", help="The shared raw data folder."),
    date: str = typer.Option(REPLAY_DATE, "--date", "-d", metavar="YYYY-MM-DD", help="Replay day (a snapshot of that day must exist)."),
) -> None:
    """Rebuild the packaged replay returns (close-to-close and intraday) for a day."""
    from lev_flows.jobs.reference import build_replay, write_replay

    df = build_replay(data, date)
    path = write_replay(df, date)
    counts = df.groupby("basis").size().to_dict()
    echo(f"wrote {path}: {counts}")
