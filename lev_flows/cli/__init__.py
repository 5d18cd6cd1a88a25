"""``lev-flows``: the command line, one module per command group, each thin over the API.

* :mod:`.estimate`: ``estimate``, ``daily``;
* :mod:`.live`: ``watch`` (the live estimate into the close, and its replay);
* :mod:`.analysis`: ``ladder``, ``liquidity``, ``history``, ``tracking``, ``creations``,
  ``montecarlo``, ``scorecard``;
* :mod:`.catalog`: ``universe validate|verify|import|update``, ``reference build|replay``;
* :mod:`.aum`: ``aum import|update|show``;
* :mod:`.common`: the one vocabulary of options and the output writers they share.

Every user error ends as one line on stderr and exit code 2; an internal error as one line and
exit code 1 (``LEV_FLOWS_DEBUG=1`` for the traceback); an interrupt as exit 130.
"""

from __future__ import annotations

import os
import sys

import typer

from lev_flows.cli import analysis, aum, catalog, estimate, live
from lev_flows.cli.common import echo
from lev_flows.errors import LevFlowsError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain click help: fast (no rich import), flags without a metavar, choices listed
    help="Estimate the close-of-day rebalancing flows of leveraged and inverse ETFs.",
)
for _group in (estimate, live, analysis, catalog, aum):
    _group.register(app)


def _print_version(value: bool) -> None:
    if value:
        import lev_flows

        typer.echo(f"lev-flows {lev_flows.__version__}")
        raise typer.Exit()


@app.callback()
def _app(
    version: bool = typer.Option(False, "--version", is_eager=True, callback=_print_version,
                                 help="Print the version of lev_flows and exit."),
) -> None:
    """Estimate the close-of-day rebalancing flows of leveraged and inverse ETFs."""


def main() -> None:
    """Console entry point: one line on stderr and exit 2 for user errors, 1 for bugs, 130 when
    interrupted (Ctrl-C). A ``--now`` pins the clock for this command only."""
    from lev_flows import clock

    try:
        rc = app(standalone_mode=False)
        if rc == 130:  # typer turns Ctrl-C into this return code: an interrupt is not a success
            raise KeyboardInterrupt
        if isinstance(rc, int) and rc:
            sys.exit(rc)
    except KeyboardInterrupt:
        echo("lev-flows: interrupted", err=True)
        sys.exit(130)
    except LevFlowsError as exc:
        echo(f"lev-flows: error: {exc.cli_message()}", err=True)  # force=True is --force here
        for line in exc.details[:50]:
            echo(f"  {line}", err=True)
        if len(exc.details) > 50:
            echo(f"  ... and {len(exc.details) - 50} more", err=True)
        sys.exit(exc.exit_code)
    except (typer.Exit, SystemExit) as exc:
        sys.exit(getattr(exc, "exit_code", getattr(exc, "code", 0)))
    except typer.Abort:
        echo("lev-flows: aborted", err=True)
        sys.exit(1)
    except OSError as exc:  # the operating system refused a path (too long, no permission, a full disk): one line
        name = str(exc.filename) if exc.filename is not None else ""
        where = f"{name[:80]}{'...' if len(name) > 80 else ''}: " if name else ""
        echo(f"lev-flows: error: {where}{exc.strerror or exc}", err=True)
        sys.exit(2)
    except Exception as exc:  # noqa: BLE001 - the last line of defence
        # click's (or typer's own copy of click's) usage errors, matched by what they carry
        if type(exc).__name__ == "NoArgsIsHelpError":  # bare `lev-flows` or a group: the help, exit 0
            ctx = getattr(exc, "ctx", None)
            typer.echo(ctx.get_help() if ctx is not None else "")  # our own help text
            sys.exit(0)
        if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):
            echo(f"lev-flows: error: {exc.format_message()}", err=True)
            sys.exit(exc.exit_code or 2)
        if os.environ.get("LEV_FLOWS_DEBUG"):
            raise
        echo(f"lev-flows: internal error: {type(exc).__name__}: {exc} (LEV_FLOWS_DEBUG=1 for details)", err=True)
        sys.exit(1)
    finally:
        clock.pin(None)  # a command's --now ends with it (the entry point also runs in process)


__all__ = ["app", "main"]
