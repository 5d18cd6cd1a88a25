"""The command line's one vocabulary: shared options, date parsing and output.

Every command takes its options from here, so they read the same everywhere:

* ``--date/-d`` one session; ``--start``/``--end`` a range;
* ``--universe/-u`` a catalog YAML; ``--prices`` a folder of close tables (default
  ``$LEV_FLOWS_PRICES``, else ``../shared/data/prices`` when present, else an error naming the
  option); ``--db`` the AUM store;
* ``--format/-f table|csv|json|parquet`` and ``--output/-o FILE`` (the format taken from the
  file's extension when ``--format`` is not given); ``--chart FILE`` wherever there is
  something to draw; ``--force`` to overwrite; ``--top/-n`` rows to show.

Imports here are light (typer, the standard library): ``lev-flows --help`` must not pay for
pandas; everything heavy is imported inside the function that uses it.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from lev_flows.errors import InputError, OutputError
from lev_flows.inputs.packaged import REPLAY_DATE  # noqa: F401  (the commands' replay day, defined once there)

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Callable, Sequence


class Format(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"
    parquet = "parquet"


#: output file extension -> format, for ``--output`` without ``--format``
FORMAT_OF_EXTENSION = {".csv": Format.csv, ".json": Format.json, ".parquet": Format.parquet, ".txt": Format.table}


class Method(str, Enum):
    bootstrap = "bootstrap"
    normal = "normal"


class Vol(str, Enum):
    ewma = "ewma"
    none = "none"


UNIVERSE = typer.Option(None, "--universe", "-u", metavar="YAML", help="Universe YAML (default: the packaged catalog).")
PRICES = typer.Option(
    None, "--prices", metavar="DIR", help="Folder of close tables (default: $LEV_FLOWS_PRICES, else ../shared/data/prices when present)."
)
DB = typer.Option(None, "--db", metavar="FILE", help="AUM store (default: $LEV_FLOWS_DB, else the user data folder).")
FORMAT = typer.Option(
    None, "--format", "-f",
    help="table (the default), csv, json or parquet (parquet needs --output); with --output, taken from its extension.",
)
OUTPUT = typer.Option(None, "--output", "-o", metavar="FILE", help="Write the table to this file (.csv, .json, .parquet or .txt).")
def chart_option(what: str = "a chart"):
    """``--chart FILE``: also draw ``what``; PNG, SVG or PDF as the file's extension says."""
    return typer.Option(None, "--chart", metavar="FILE", help=f"Also write {what} to this file: .png, .svg or .pdf.")


CHART = chart_option()
FORCE = typer.Option(False, "--force", help="Overwrite --output / --chart files that exist.")
EXCLUDE_ETNS = typer.Option(False, "--exclude-etns", help="Leave exchange-traded notes out (listed as excluded, never as zero).")


def _scope(value: str | None) -> str | None:
    """``--scope``: a key of :data:`lev_flows.model.scope.SCOPES` (checked there, with the nearest
    name on a typo); ``all`` needs no import."""
    if value is None or value == "all":
        return value
    from lev_flows.model.scope import check_scope

    return check_scope(value)


#: the scope vocabulary in the help text (tests/test_scope.py holds it to model.scope.SCOPES)
SCOPE_NAMES = "us_equity, all, equity, index, single_stock, crypto, volatility, commodities, rates"
SCOPE = typer.Option("all", "--scope", metavar="SCOPE", callback=_scope,
                     help=f"Only the funds of one scope ({SCOPE_NAMES}; lev_flows.model.scope), default all.")
STRICT = typer.Option(False, "--strict", help="Implausible inputs (a move beyond its asset class's limit, an AUM over $100B ...) are errors, exit 2: for unattended runs.")
#: ``$LEV_FLOWS_AUM_UPDATE=off`` makes ``--no-aum-update`` the default (a machine without the
#: issuers' sites; the test suite)
AUM_UPDATE_ENV = "LEV_FLOWS_AUM_UPDATE"
AUM_UPDATE = typer.Option(None, "--aum-update/--no-aum-update",
                          help="Online: first fetch every fund's previous-close net assets from its issuer (aum update; "
                               "default on, off when $LEV_FLOWS_AUM_UPDATE=off).")


def aum_update_wanted(flag: Optional[bool]) -> bool:
    """``--aum-update`` / ``--no-aum-update``, else ``$LEV_FLOWS_AUM_UPDATE`` (on unless off/0/no/false)."""
    if flag is not None:
        return flag
    return os.environ.get(AUM_UPDATE_ENV, "on").strip().lower() not in ("off", "0", "no", "false")


NOW = typer.Option(None, "--now", hidden=True, help="Pretend the clock reads this (ISO, New York).")
START = typer.Option(None, "--start", metavar="YYYY-MM-DD", help="First session, YYYY-MM-DD (default: the price table's first).")
END = typer.Option(None, "--end", metavar="YYYY-MM-DD", help="Last session, YYYY-MM-DD (default: the price table's last).")


def date_option(help: str, *aliases: str):
    """``--date/-d`` (one session), with help saying what the date means for the command."""
    return typer.Option(None, "--date", *aliases, "-d", metavar="YYYY-MM-DD", help=help)


def number_option(default: float, *names: str, min: float, max: float, help: str):
    """A float option in ``[min, max]`` whose help shows the range; ``nan`` and ``inf`` are refused
    as not numbers (a range check alone would call ``nan`` "above the maximum")."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise typer.BadParameter(f"{text!r} is not a number") from None
        if not math.isfinite(value):
            raise typer.BadParameter(f"{text!r} is not a finite number")
        if not min <= value <= max:
            raise typer.BadParameter(f"{text} is not in the range {min:g} .. {max:g}")
        return value

    return typer.Option(default, *names, min=min, max=max, parser=parse, help=help)


def top_option(default: Optional[int], help: str):
    return typer.Option(default, "--top", "-n", min=1, max=10_000, help=help)


#: ``--wide``: the terminal tables' full layout (every table, column and row), lines as wide as
#: they need; without it a terminal under 120 columns gets the one-screen summary
WIDE = typer.Option(False, "--wide", "-w", help="Every table and column, lines as wide as they need (pipe into less -S); "
                                               "default: the full layout from 120 columns, a one-screen summary below.")


def _parse_iso(text: Optional[str], option: str, parse: "Callable", expected: str):
    """``parse(text)`` (an ISO date or time), or one line naming ``option`` and the form expected."""
    if text is None:
        return None
    try:
        return parse(text)
    except ValueError:
        raise InputError(f"{option}: {text!r} is not {expected}") from None


def parse_time(text: Optional[str], option: str) -> Optional[dt.time]:
    """``HH:MM`` (New York) for ``option``."""
    return _parse_iso(text, option, dt.time.fromisoformat, "a time of day (expected HH:MM, New York)")


def parse_date(text: Optional[str], option: str = "--date") -> Optional[dt.date]:
    return _parse_iso(text, option, dt.date.fromisoformat, "a date (expected YYYY-MM-DD)")


def console(stderr: bool = False, wide: bool = False):
    """A rich console that prints outside text as text (:func:`lev_flows.present.text.safe_console`):
    the terminal's own width on a terminal, else ``$COLUMNS`` or 200 (a pipe or a file gets whole
    lines, never cut headers); ``wide`` (``--wide``): at least
    :data:`lev_flows.present.tables.WIDE_COLUMNS` wide, whatever the terminal's width."""
    from lev_flows.present.text import safe_console

    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() else int(os.environ.get("COLUMNS", "200"))
    out = safe_console(stderr=stderr, width=width)
    if wide:
        from lev_flows.present.tables import WIDE_COLUMNS

        out.width = max(out.width, WIDE_COLUMNS)
    return out


def echo(text: str, err: bool = False) -> None:
    """A plain line on stdout (or stderr), its control characters shown, never sent raw to the
    terminal (a file name, a server's message, a catalog entry can carry them)."""
    from lev_flows.present.text import visible

    typer.echo(visible(text), err=err)


def scoped_universe(universe, scope: str | None):
    """The universe (a loaded one, or a path / None for the catalog) restricted to ``--scope``
    (:func:`lev_flows.model.scope.in_scope`); ``all`` is the universe itself."""
    from lev_flows.inputs.catalog import Universe, load_universe

    uni = universe if isinstance(universe, Universe) else load_universe(universe)
    if scope is None or scope == "all":
        return uni
    from lev_flows.model.scope import in_scope

    return in_scope(uni, scope)


def mark_scope(est, scope: str | None) -> None:
    """Record ``--scope`` in the estimate's ``as_of`` (what estimate.json says it covers)."""
    est.as_of["scope"] = scope or "all"


def check_strict(est, strict: bool) -> None:
    """With ``--strict``, an estimate built on implausible inputs is an error (after its warnings)."""
    if strict and getattr(est, "implausible", None):
        n = len(est.implausible)
        raise InputError(f"--strict: {n} implausible input{'s' if n > 1 else ''}; first: {est.implausible[0]}")


def warn(warnings: list[str]) -> None:
    """Warnings go to stderr in every format (never into a CSV or JSON on stdout)."""
    for w in warnings:
        echo(f"lev-flows: warning: {w}", err=True)


def check_outputs(*targets: Optional[Path], force: bool, inputs: "Sequence[Optional[Path]]" = (), db: Optional[Path] = None) -> None:
    """Fail before any work if an output cannot be written (missing folder, an existing file
    without --force, two options naming the same file) or would overwrite an input: the AUM store
    (``db``: ``--db``, else ``$LEV_FLOWS_DB`` or the default one; and its read snapshot) and ``inputs``."""
    from lev_flows.io import check_target

    given = [Path(t) for t in targets if t is not None]
    if not given:  # nothing to write (the default `estimate`): no store path to look up
        return
    resolved = [p.resolve() for p in given]
    if len(set(resolved)) < len(resolved):
        raise OutputError(f"{given[0]}: the same file is named by two output options")
    protected = _protected_inputs(inputs, db)
    for target, real in zip(given, resolved):
        if real in protected:
            raise OutputError(f"{target}: is {protected[real]}; an output cannot overwrite an input")
        check_target(target, force)


def _protected_inputs(inputs: "Sequence[Optional[Path]]", db: Optional[Path]) -> dict[Path, str]:
    """Resolved paths no output may take: the given inputs, and the AUM store with its snapshot."""
    from lev_flows.inputs.store import best_snapshot_path, default_path

    out = {Path(p).resolve(): f"an input ({p})" for p in inputs if p is not None}
    store = Path(db) if db is not None else default_path()
    out[store.resolve()] = f"the AUM store ({store})"
    out[best_snapshot_path(store).resolve()] = f"the AUM store's read snapshot ({best_snapshot_path(store)})"
    return out


#: a chart draws at most this many bars (a 10,000-bar PNG is 300,000 pixels tall)
MAX_CHART_ROWS = 100


def prepare_outputs(fmt: Optional[Format], output: Optional[Path], chart: Optional[Path] = None, *others: Optional[Path],
                    force: bool, top: Optional[int] = None, inputs: "Sequence[Optional[Path]]" = (),
                    db: Optional[Path] = None) -> Format:
    """Before any work: the output files can be written and the format is known (from
    ``--format``, else ``--output``'s extension); parquet goes to a file; ``--chart`` names a
    .png, .svg or .pdf file and a chart of ``top`` bars is drawable (``others``: more output
    files, such as ``--html``)."""
    if chart is not None:
        from lev_flows.present.charts import chart_format

        chart_format(chart)
        if top is not None and top > MAX_CHART_ROWS:
            raise InputError(f"--chart draws at most {MAX_CHART_ROWS} bars and --top asks for {top:,}; "
                             f"the table and --output can have them: use --top {MAX_CHART_ROWS} or less with --chart")
    check_outputs(output, chart, *others, force=force, inputs=inputs, db=db)
    fmt = resolve_format(fmt, output)
    if fmt is Format.parquet and output is None:
        raise InputError("--format parquet needs --output FILE")
    return fmt


def resolve_format(fmt: Optional[Format], output: Optional[Path]) -> Format:
    """The format: as given, else from ``--output``'s extension, else a terminal table."""
    if fmt is not None:
        return fmt
    if output is None:
        return Format.table
    found = FORMAT_OF_EXTENSION.get(Path(output).suffix.lower())
    if found is None:
        raise InputError(
            f"--output {output}: cannot tell the format from the extension; use .csv, .json, .parquet or .txt, or --format"
        )
    return found


def emit_bytes(data: bytes, output: Optional[Path], force: bool) -> None:
    """To ``output`` (atomically) or to stdout."""
    if output is not None:
        from lev_flows.io import atomic_write_bytes

        atomic_write_bytes(output, data, force=force)
        echo(f"wrote {output}", err=True)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()


def emit_frame(frame, fmt: Format, output: Optional[Path], force: bool, show: "Callable") -> None:
    """An analysis table in ``fmt`` (as :func:`prepare_outputs` resolved and checked it):
    ``show(console)`` prints it for people; csv, json and parquet carry the frame itself (raw
    column names and full precision)."""
    if fmt is Format.table:
        if output is None:
            show(console())
            return
        from lev_flows.present.tables import recorded_text

        emit_bytes(recorded_text(show), output, force)
        return
    emit_bytes(frame_bytes(frame, fmt), output, force)


def frame_bytes(frame, fmt: Format) -> bytes:
    if fmt is Format.json:
        return (frame.to_json(orient="records", indent=2, date_format="iso") + "\n").encode("utf-8", "backslashreplace")
    if fmt is Format.csv:
        from lev_flows.present.tables import csv_bytes

        return csv_bytes(frame)
    import io

    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    return buf.getvalue()


def write_chart(chart: Optional[Path], draw: "Callable[[str], bytes]", force: bool) -> None:
    """``--chart FILE``: ``draw(fmt)`` in the format of the file's extension (png, svg, pdf)."""
    if chart is not None:
        from lev_flows.present.charts import save_chart

        save_chart(draw, chart, force=force)
        echo(f"wrote {chart}", err=True)


def timestamp(day: dt.date):
    import pandas as pd

    return pd.Timestamp(day)


def parse_now(text: Optional[str]):
    """``--now``: an ISO timestamp standing in for the clock (naive = New York time). It pins
    :func:`lev_flows.clock.now` for the rest of the command (over ``$LEV_FLOWS_NOW``) and
    returns the pinned instant, or None (the clock stays as it is)."""
    if text is None:
        return None
    from lev_flows import clock

    clock.pin(text, "--now")
    return clock.now()


class ProgressBar:
    """A rich progress bar on stderr, advanced once per fetched item (only on a terminal, so
    logs and pipes get the one-line error and nothing else)."""

    def __init__(self, label: str):
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        err = console(stderr=True)
        self.progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[failed]} unavailable"),
            TimeElapsedColumn(), console=err, transient=True, disable=not err.is_terminal,
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


def http_settings(timeout: float, retries: int, no_cache: bool, *, concurrency: int = 4, cache_dir: Optional[Path] = None,
                  deadline: float = 300.0):
    """The shared HTTP client's settings from the command line's network options."""
    from lev_flows.inputs.sources.http import HttpSettings, default_cache_dir

    return HttpSettings(
        timeout_s=timeout, deadline_s=max(3 * timeout, timeout + 5), concurrency=concurrency, attempts=retries + 1,
        cache_dir=None if no_cache else (cache_dir or default_cache_dir()), run_deadline_s=deadline,
    )


#: requests in flight to the price service (Yahoo publishes no limit; eight connections to one
#: host is about what a browser opens, and lets a watch refresh its 49 spark batches in 7 rounds)
YAHOO_CONCURRENCY = 8
PRICE_CONCURRENCY = typer.Option(YAHOO_CONCURRENCY, "--concurrency", min=1, max=32,
                                 help="Requests in flight at once to the price service.")
TIMEOUT = number_option(10.0, "--timeout", min=0.1, max=600, help="Seconds per request before retrying.")
RETRIES = typer.Option(3, "--retries", min=0, max=9, help="Retries per request on timeouts, 429 and 5xx.")
NO_CACHE = typer.Option(False, "--no-cache", help="Do not read or write the HTTP cache.")
DEADLINE = number_option(
    300.0, "--deadline", min=1, max=86_400,
    help="The whole run's budget in seconds: what is not fetched by then fails (listed, with --allow-partial).",
)
ALLOW_PARTIAL = typer.Option(False, "--allow-partial", help="Finish without the items that fail, listing them.")
