"""Errors in the user's words. Every error a user can cause is a :class:`LevFlowsError`;
the CLI prints its message as one line on stderr and exits with ``exit_code``."""

from __future__ import annotations

#: a message names a setting the way Python spells it (``force=True``); the command line shows
#: it the way its users spell it (``--force``): :meth:`LevFlowsError.cli_message`
CLI_SPELLING = {"force=True": "--force"}


class LevFlowsError(Exception):
    """Base class: bad input or an unavailable resource. Exit code 2. ``details``: lines the CLI
    prints under the one-line message (each failed item of a batch, say), at most 50."""

    exit_code = 2

    def __init__(self, *args: object, details: list[str] | tuple[str, ...] = ()):
        super().__init__(*args)
        self.details = tuple(details)

    def cli_message(self) -> str:
        """The message with each Python spelling of :data:`CLI_SPELLING` in its option's
        spelling: ``out.csv: already exists; pass --force to overwrite``.

        >>> OutputError("out.csv: already exists; pass force=True to overwrite").cli_message()
        'out.csv: already exists; pass --force to overwrite'
        """
        text = str(self)
        for python, option in CLI_SPELLING.items():
            text = text.replace(python, option)
        return text


class CatalogError(LevFlowsError, ValueError):
    """A universe file (YAML) or a catalog entry is invalid: names file, entry and field."""


class InputError(LevFlowsError, ValueError):
    """Returns, prices, snapshots or options are invalid: names file, row/ticker and field."""


class OutputError(LevFlowsError, OSError):
    """An output could not be written (missing directory, existing file without ``force=True``
/ ``--force``, ...)."""


class DataSourceError(LevFlowsError):
    """A data provider failed after its retries: names the symbol and the URL."""
