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

aum_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, help="The AUM store: import observations, fetch issuer figures, show a fund, coverage of a day.")


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


def _base_urls(values: list[str]) -> dict[str, str]:
    """``--base-url URL`` (every provider) or ``--base-url ISSUER=URL`` (one), repeatable."""
    from lev_flows.inputs.catalog import normalize_issuer

    out: dict[str, str] = {}
    for v in values:
        issuer, sep, url = v.partition("=")
        if sep and not issuer.strip().lower().startswith(("http:", "https:")) and "/" not in issuer:
            out[normalize_issuer(issuer) or issuer] = url
        else:
            out["*"] = v
    return out


def _sec_user_agent(contact: Optional[str], agent: str) -> str:
    """SEC refuses clients whose User-Agent names no contact: ours plus ``--sec-contact`` (or
    ``$LEV_FLOWS_SEC_CONTACT``); without one, an error before any request."""
    import os

    contact = (contact or os.environ.get("LEV_FLOWS_SEC_CONTACT") or "").strip()
    if "@" not in contact:
        raise InputError("aum update --nport: SEC asks every client for a contact e-mail in its User-Agent: "
                         "give --sec-contact you@example.com (or set $LEV_FLOWS_SEC_CONTACT)")
    return f"{agent} {contact}"


@aum_app.command("update")
def aum_update(
    tickers: list[str] = typer.Argument(None, metavar="TICKER...", help="Funds to fetch (default: every listed fund whose issuer has a provider)."),
    ticker_opt: list[str] = typer.Option([], "--ticker", "-t", metavar="TICKER", help="Funds to fetch (the same as the arguments)."),
    issuer: list[str] = typer.Option([], "--issuer", "-i", metavar="ISSUER", help="Only this issuer's funds (repeatable): ProShares, Direxion, ..."),
    universe: Optional[Path] = UNIVERSE,
    db: Optional[Path] = DB,
    base_url: list[str] = typer.Option([], "--base-url", metavar="[ISSUER=]URL",
                                       help="Base URL of every provider, or ISSUER=URL of one (default: each issuer's $LEV_FLOWS_<ISSUER>_URL, else its site)."),
    allow_partial: bool = typer.Option(False, "--allow-partial", help="Import the funds that answered, listing the others."),
    nport: bool = typer.Option(False, "--nport", help="Also fetch month-end net assets from the funds' SEC N-PORT filings (the history's anchors)."),
    since: Optional[str] = typer.Option(None, "--since", metavar="YYYY-MM-DD", help="With --nport: filings from this date (default 2019-01-01)."),
    sec_contact: Optional[str] = typer.Option(None, "--sec-contact", metavar="EMAIL",
                                              help="With --nport: the contact SEC asks every client to name in its User-Agent (default: $LEV_FLOWS_SEC_CONTACT)."),
    no_issuers: bool = typer.Option(False, "--no-issuers", help="With --nport: only the SEC filings, no issuer file."),
    timeout: float = TIMEOUT,
    retries: int = RETRIES,
    no_cache: bool = NO_CACHE,
    deadline: float = DEADLINE,
) -> None:
    """Fetch every fund's net assets, NAV and shares outstanding from its issuer (all providers
    at once) and import them into the store (idempotent; a failure imports nothing). --nport adds
    month-end net assets from the SEC's N-PORT filings."""
    from lev_flows.inputs.catalog import load_universe
    from lev_flows.inputs.sources.http import HttpClient
    from lev_flows.jobs.aum import update_from_issuers

    wanted = [t.upper() for t in [*(tickers or []), *ticker_opt]] or None
    urls = _base_urls(base_url)
    for url in urls.values():
        if not url.strip():
            raise InputError("aum update: --base-url is empty: the base URL is empty")
    settings = http_settings(timeout, retries, no_cache, deadline=deadline)
    if nport:
        settings = settings.model_copy(update={"user_agent": _sec_user_agent(sec_contact, settings.user_agent)})
    elif since or no_issuers or sec_contact:
        raise InputError("aum update: --since, --no-issuers and --sec-contact go with --nport")
    uni = load_universe(universe)
    with HttpClient(settings) as client, ProgressBar("issuer files") as bar:
        extra = []
        if nport:
            from lev_flows.clock import today
            from lev_flows.jobs.aum import NportAnchors

            anchors = NportAnchors(client, parse_date(since, "--since"), urls.get("SEC", urls.get("*")),
                                   urls.get("SEC-data", urls.get("*")))
            extra = [(anchors, anchors.funds(uni, wanted, today()))]
        report = update_from_issuers(uni, client, db=db, tickers=wanted, issuers=issuer or None, base_urls=urls,
                                     allow_partial=allow_partial, progress=bar, extra=extra, issuer_files=not no_issuers)
    for line in report.lines():
        echo(line, err=line.startswith(("skipped", "not covered")))


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

        kinds = ", ".join(f"{k} {v}" for k, v in observed["source_kind"].value_counts().items())
        out.print(f"[bold]{escape(symbol)}[/bold]: {len(observed)} stored observations" + (f" ({escape(kinds)})" if kinds else ""),
                  highlight=False, markup=True)
        if observed.empty:
            out.print(f"{symbol} has no AUM observation: it is in no estimate until one is imported "
                      f"(lev-flows aum update {symbol}, or aum import)", highlight=False)
        pos = np.arange(len(modelled))
        keep = (pos % every == 0) | (pos == len(modelled) - 1)
        shown = modelled[keep].rename(columns={"aum_usd": "AUM, start of day", "gap_sessions": "sessions from it"})
        print_frame(shown.tail(60), f"{symbol}: modelled AUM, one session in {every} (--every)", out,
                    usd=("AUM, start of day",), index="session")

    emit_frame(modelled.reset_index(), fmt, output, force, show)


@aum_app.command("coverage")
def aum_coverage_cmd(
    date: Optional[str] = typer.Option(None, "--date", "-d", metavar="YYYY-MM-DD", help="The session (default: the last of the price table)."),
    by: str = typer.Option("basis", "--by", metavar="basis|issuer", help="Rows by source and age (basis) or by issuer."),
    universe: Optional[Path] = UNIVERSE,
    prices: Optional[Path] = PRICES,
    db: Optional[Path] = DB,
    fmt: Optional[Format] = FORMAT,
    output: Optional[Path] = OUTPUT,
    force: bool = FORCE,
) -> None:
    """What a day's start-of-day AUM rests on: the share on an issuer figure of the previous
    close, on older issuer figures, SEC filings, screener snapshots or the catalog, by age."""
    from lev_flows.jobs.aum import aum_coverage
    from lev_flows.model.day import load_inputs

    fmt = prepare_outputs(fmt, output, None, force=force, inputs=(universe,), db=db)
    inp = load_inputs(universe, prices, db)
    day = parse_date(date, "--date") or inp.pit.sessions[inp.pit.last_complete_row()].date()
    table = aum_coverage(inp.universe, inp.pit, day, by=by)
    table.insert(0, "date", str(day))

    def show(out) -> None:
        from lev_flows.present.tables import _usd, print_frame

        fresh = table.loc[(table.get("source") == "issuer") & (table.get("age") == "previous close"), "share"].sum() \
            if by == "basis" else (table["issuer_previous_close"] * table["share"]).sum()
        print_frame(table.drop(columns="date"), f"AUM on {day} (start of day, {_usd(table['aum_usd'].sum()).lstrip('+')}) by "
                    + ("source and age" if by == "basis" else "issuer"), out, usd=("aum_usd",),
                    share=("share", "issuer_previous_close"))
        out.print(f"{fresh:.1%} of the AUM rests on an issuer figure of the previous close.", highlight=False)

    emit_frame(table, fmt, output, force, show)
