"""Outside text is printed as text: never as rich markup, never as raw control sequences.

A catalog name, a bucket, a sector, an underlying id, a server's error body or a file name comes
from outside; printed through rich's markup, ``Test [/bold] index`` stops a table halfway
(``MarkupError``) and ``[not recorded: ...]`` vanishes; printed raw, an escape sequence from a
server repaints the user's terminal. So:

* :func:`visible` shows every control character (C0, DEL, C1, the bidirectional overrides) as
  ``\\x1b``-style text; tab and newline stay;
* :func:`safe_console` is a rich Console with markup and emoji codes off, whose every string
  (printed, or a table cell) goes through :func:`visible`. Our own styled lines pass rich
  ``Text`` objects with styles, or ``markup=True`` with every outside value in :func:`escape`.
"""

from __future__ import annotations

import re
from typing import Any

#: control characters, bidirectional overrides, and the lone surrogates a file name that is not
#: UTF-8 decodes to (``caf\udce9``: no terminal or file can take them as they are)
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def visible(value: Any) -> str:
    """``value`` as text with its control characters shown (``'\\x1b[2J'`` prints as ``\\x1b[2J``)."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}",
                        str(value))


def escape(value: Any) -> str:
    """An outside value to put inside our own markup: control characters shown, ``[`` escaped."""
    from rich.markup import escape as rich_escape

    return rich_escape(visible(value))


_SAFE: dict[str, type] = {}


def safe_console(**kwargs: Any):
    """A rich Console (``kwargs`` as for ``rich.console.Console``) that prints outside text as
    text: markup and emoji off by default, control characters made visible in every string it
    renders, table cells included."""
    if "cls" not in _SAFE:
        from rich.console import Console

        class SafeConsole(Console):
            def render_str(self, text: str, **kw: Any):  # every str -> Text conversion: prints and cells
                return super().render_str(visible(text), **kw)

        _SAFE["cls"] = SafeConsole
    kwargs.setdefault("markup", False)
    kwargs.setdefault("emoji", False)
    return _SAFE["cls"](**kwargs)


__all__ = ["visible", "escape", "safe_console"]
