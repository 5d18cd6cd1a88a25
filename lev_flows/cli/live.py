"""``lev-flows watch``: the live estimate refreshed into the close (a rich Live view on a
terminal, a line per refresh elsewhere), each refresh recorded in the store; ``--replay DATE``
reads a recorded afternoon back as a table and a chart. Thin over :func:`lev_flows.jobs.watch.watch`
and :func:`lev_flows.jobs.watch.intraday_path`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Optional

import typer

from lev_flows.cli.common import (
    DB,
    EXCLUDE_ETNS,
    FORCE,
    FORMAT,
    NOW,
    OUTPUT,
    PRICE_CONCURRENCY,
    RETRIES,
    SCOPE,
    TIMEOUT,
    UNIVERSE,
    Format,
    chart_option,
    console,
    echo,
    emit_frame,
    http_settings,
    number_option,
    parse_date,
    parse_now,
    parse_time,
    prepare_outputs,
    scoped_universe,
    top_option,
    write_chart,
)
from lev_flows.errors import InputError, OutputError


def register(app: typer.Typer) -> None:
    app.command()(watch)


def watch(
    universe: Optional[Path] = UNIVERSE,
    start: str = typer.Option("15:00", "--start", metavar="HH:MM", help="First refresh, New York time (or the open if later)."),
    until: Optional[str] = typer.Option(None, "--until", metavar="HH:MM", help="Last refresh before this time (default: the session's close)."),
    interval: float = number_option(60.0, "--interval", min=1.0, max=3600.0, help="Seconds between refreshes."),
    count: Optional[int] = typer.Option(None, "--count", min=1, max=10_000, help="Stop after this many refreshes."),
    top: int = top_option(10, "Rows of the funds and stocks in the live view."),
    base_url: Optional[str] = typer.Option(None, "--base-url", metavar="URL", help="Price source base URL (default: $LEV_FLOWS_YAHOO_URL, else Yahoo)."),
    timeout: float = TIMEOUT,
    retries: int = RETRIES,
    concurrency: int = PRICE_CONCURRENCY,
    db: Optional[Path] = DB,
    exclude_etns: bool = EXCLUDE_ETNS,
    replay: Optional[str] = typer.Option(None, "--replay", metavar="YYYY-MM-DD", help="Do not fetch: read the refreshes recorded for this session back (table, --output, --chart)."),
    fmt: Optional[Format] = FORMAT,
    output: Optional[Path] = OUTPUT,
    chart: Optional[Path] = chart_option("(with --replay) the path of the estimate through the afternoon"),
    force: bool = FORCE,
    now: Optional[str] = NOW,
    scope: str = SCOPE,
) -> None:
    """Refresh the live estimate every --interval seconds from --start (15:00 New York) to the
    close, showing total, index buckets, top funds and stocks and the change since the last
    refresh, and recording each refresh in the store. A refresh fetches the funds' own quotes,
    index symbols, tracking ETFs and single stocks in batches of 20: about 50 requests for the
    packaged catalog. Ctrl-C stops and keeps what was recorded; outside market hours it says
    when the next session opens (exit 0)."""
    if replay is None and (fmt is not None or output is not None or chart is not None):
        raise InputError("--format, --output and --chart read a recorded afternoon; give --replay DATE")
    if replay is not None:
        _replay(parse_date(replay, "--replay"), db, fmt, output, chart, force, (scope or "all"))
        return
    start_t, until_t = parse_time(start, "--start"), parse_time(until, "--until")
    from lev_flows.inputs.sources.http import HttpClient
    from lev_flows.inputs.sources.yahoo import YahooChart
    from lev_flows.jobs.watch import MarketClosed, SystemClock
    from lev_flows.jobs.watch import watch as run_watch

    uni = scoped_universe(universe, scope)
    parse_now(now)  # pins the one clock (--now over $LEV_FLOWS_NOW)
    clock = SystemClock()
    client = HttpClient(http_settings(timeout, retries, True, concurrency=concurrency))  # quotes: never from a cache
    source = YahooChart(client, base_url, quotes_ttl_s=0)
    view = _View(top=top, interval=interval, db=db)
    try:
        with view:
            run_watch(uni, source, start=start_t, until=until_t, interval_s=interval, count=count, clock=clock, db=db,
                      exclude_etns=exclude_etns, on_refresh=view.update, on_wait=view.waiting, scope=(scope or "all"))
    except MarketClosed as exc:
        echo(f"lev-flows: {exc}")
        return
    except KeyboardInterrupt:
        view.summary(err=True, stopped=True)
        raise
    finally:
        client.close()
    view.summary()


def _replay(day: dt.date, db, fmt, output, chart, force, scope: str = "all") -> None:
    from lev_flows.jobs.watch import intraday_path

    fmt = prepare_outputs(fmt, output, chart, force=force, db=db)
    path = intraday_path(day, db, scope)
    if chart is not None:
        from lev_flows.present.charts import intraday_chart

        write_chart(chart, lambda fmt: intraday_chart(path, day, fmt=fmt), force)

    def show(out):
        from lev_flows.present.tables import _table

        buckets = [c for c in path.columns if c.startswith("index: ")]
        largest = sorted(buckets, key=lambda c: -path[c].abs().max())[:4]  # all of them in --output
        t = _table(f"Live estimate through the afternoon of {day} (USD, + = buy; the 4 largest index buckets)",
                   ["at", "state", "total", "change", "gross", "stocks at the close", "funds priced", "requests",
                    *[c.removeprefix("index: ") for c in largest]])
        for _, r in path.iterrows():
            ok = bool(r["ok"])
            t.add_row(f"{r['at']:%H:%M:%S}", "ok" if ok else "stale", _usd(r["total_usd"]),
                      _change(r["change_usd"] if ok and r["change_usd"] == r["change_usd"] else None),
                      _usd(r["gross_usd"]), _usd(r["auction_usd"]), _int_or_na(r["funds_priced"]),
                      _int_or_na(r["requests"]), *[_usd(r[c]) for c in largest])
        out.print(t)
        for t_, why in zip(path["at"], path["error"]):
            if isinstance(why, str) and why:
                out.print(f"  {t_:%H:%M:%S} stale: {why}", highlight=False)

    emit_frame(path, fmt, output, force, show)


class _View:
    """The live view: a rich Live on a terminal, else one line per refresh on stdout."""

    def __init__(self, top: int, interval: float, db):
        self.top, self.interval, self.db = top, interval, db
        self.out = console()
        self.live = None
        self.refreshes: list = []

    def __enter__(self):
        if self.out.is_terminal:
            from rich.live import Live

            self.live = Live(console=self.out, auto_refresh=False)
            self.live.__enter__()
        return self

    def __exit__(self, *exc):
        if self.live is not None:
            self.live.__exit__(*exc)

    def waiting(self, first) -> None:
        self.out.print(f"waiting for {first:%H:%M} New York to start (Ctrl-C to stop)", highlight=False)

    def update(self, refresh, refreshes) -> None:
        self.refreshes = refreshes
        previous = next((r for r in reversed(refreshes[:-1]) if r.ok), None)
        if self.live is not None:
            self.live.update(_render(refresh, previous, len(refreshes), self.top, self.interval), refresh=True)
        else:
            self.out.print(_line(refresh, previous), highlight=False)

    def summary(self, err: bool = False, stopped: bool = False) -> None:
        """How many refreshes the store took. None of them (a read-only or full disk, a store
        another process held) is an error: the afternoon was watched but not recorded."""
        if not self.refreshes:
            return
        day = self.refreshes[0].session
        where = str(self.db) if self.db else "the store"
        recorded = sum(r.recorded for r in self.refreshes)
        count = f"{recorded}" if recorded == len(self.refreshes) else f"{recorded} of {len(self.refreshes)}"
        if recorded == 0 and not stopped:
            why = next((r.error for r in reversed(self.refreshes) if r.error), "")
            raise OutputError(f"none of the {len(self.refreshes)} refreshes of {day} could be recorded in {where}: {why}")
        echo(f"{'stopped; ' if stopped else ''}{count} refreshes of {day} recorded in {where}: "
             f"lev-flows watch --replay {day} --chart path.png", err=err)


def _usd(v) -> str:
    """An amount as +1.23B; None or NaN (nothing known) as n/a, never a zero."""
    from lev_flows.present.tables import _usd as usd

    return "n/a" if v is None or v != v else usd(float(v))


def _int_or_na(v) -> str:
    return "n/a" if v is None or v != v else str(int(v))


def _change(v) -> str:
    """A change between refreshes: n/a when there is none to compare, 0 when nothing moved."""
    if v is None:
        return "n/a"
    return "0" if abs(v) < 0.5 else _usd(v)


def _line(refresh, previous) -> str:
    """One refresh as a line (logs, pipes)."""
    head = f"{refresh.at:%H:%M:%S}"
    if not refresh.ok:
        since = f" since {refresh.stale_since:%H:%M:%S}" if refresh.stale_since is not None else ""
        return f"{head}  STALE{since}: total {_usd(refresh.total_usd)} (last good); {refresh.error}"
    change = refresh.change_usd(previous)
    return (f"{head}  total {_usd(refresh.total_usd)}  change {_change(change)}  "
            f"gross {_usd(refresh.gross_usd)}  stocks at the close {_usd(refresh.auction_usd)}  "
            f"({refresh.funds_priced} funds, {refresh.requests if refresh.requests is not None else 'n/a'} requests"
            f"{f', {refresh.failed} symbols failed' if refresh.failed else ''})"
            f"{f'  [{refresh.error}]' if refresh.error else ''}")


def _render(refresh, previous, n: int, top: int, interval: float):
    """The live view: a header (stale marker included), totals, index buckets with their
    change, top funds and stocks."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    from lev_flows.present.text import visible

    head = Text(f"Leveraged ETF rebalancing, live {refresh.session} {refresh.at:%H:%M:%S} New York "
                f"(refresh {n}, every {interval:g} s; Ctrl-C stops, the record stays)")
    if not refresh.ok:
        since = f" since {refresh.stale_since:%H:%M:%S}" if refresh.stale_since is not None else ""
        head.append(f"\nSTALE{since}: {visible(refresh.error)}", style="bold red")
    elif refresh.error:  # a good refresh the store could not take
        head.append(f"\n{visible(refresh.error)}", style="yellow")
    change = refresh.change_usd(previous)
    totals = Table(show_edge=False, header_style="bold")
    for c in ("total", "change", "gross", "stocks at the close", "funds priced", "requests"):
        totals.add_column(c, justify="right")
    totals.add_row(_usd(refresh.total_usd), _change(change), _usd(refresh.gross_usd),
                   _usd(refresh.auction_usd), str(refresh.funds_priced or "n/a"), str(refresh.requests or "n/a"))
    buckets = Table(title="By index", title_justify="left", show_edge=False, header_style="bold")
    for c, j in (("bucket", "left"), ("rebalance", "right"), ("change", "right")):
        buckets.add_column(c, justify=j)
    before = previous.by_index if previous is not None and refresh.ok else {}
    for name, usd in sorted(refresh.by_index.items(), key=lambda kv: -abs(kv[1])):
        buckets.add_row(name, _usd(usd), _change(usd - before[name] if name in before else None))
    lists = Table.grid(padding=(0, 4))
    funds = Table(title=f"Top {top} funds", title_justify="left", show_edge=False, header_style="bold")
    stocks = Table(title=f"Top {top} stocks", title_justify="left", show_edge=False, header_style="bold")
    for t in (funds, stocks):
        t.add_column("ticker")
        t.add_column("USD", justify="right")
    for ticker, usd in refresh.top_funds[:top]:
        funds.add_row(ticker, _usd(usd))
    for ticker, usd in refresh.top_stocks[:top]:
        stocks.add_row(ticker, _usd(usd))
    lists.add_row(funds, stocks)
    return Group(head, totals, buckets, lists)


__all__ = ["register", "watch"]
