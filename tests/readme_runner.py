"""Run a Markdown page's examples as written and compare what they print with what the page shows.

A page has three kinds of runnable block:

* ```` ```bash ```` blocks: one shell script each, run as written (``set -e``; a block's
  ``export`` lines hold for the rest of the block);
* output blocks (a fence with no language whose lines start with ``$ ``): each ``$`` command is
  run, and the lines under it are the output the page claims; they must appear, in order, in the
  command's real output (stdout and stderr as they interleave);
* ```` ```python ```` blocks: run with the interpreter; a ``print(...)`` line followed by a
  ``# expected`` comment (on the line, or alone on the next line) claims that printed line.

How a claimed line is compared (:func:`line_matches`): runs of spaces count as one; a line
``...`` stands for any number of lines; a line ending in `` ...`` claims only its beginning; ``…``
inside a line stands for any text (a time of day, a path). **Numbers are compared as numbers at
the precision the page shows**: a figure shown with ``d`` decimals matches a printed one within
half a unit of its last digit (``-13.1B`` matches ``-13.08B``; ``0.829`` does not match
``0.822``), with the same unit suffix. So a drifted figure fails.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

#: set-up lines the suite does not run (it runs inside that install, and is that test command)
NOT_RUN = ("pip install", "python -m pytest")

_NUMBER = r"[+\-−]?\d[\d,]*(?:\.\d+)?"
_SPLIT = re.compile(rf"({_NUMBER})")


@dataclass
class Snippet:
    """One runnable block: ``kind`` ``sh``, ``out`` or ``py``; ``line`` its first line in the page
    ``page`` (a path relative to the repository, ``README.md``, ``docs/method.md``)."""

    kind: str
    code: str
    line: int
    claims: list[tuple[str, list[str]]] = field(default_factory=list)  # out: (command, lines); py: ("", lines)
    page: str = "README.md"

    @property
    def label(self) -> str:
        first = (self.claims[0][0] if self.kind == "out" else self.code).strip().splitlines()[0]
        return f"{self.page}:L{self.line}:{first[:50]}"

    @property
    def where(self) -> str:
        return f"{self.page} line {self.line}"


def _strip_setup(script: str) -> str:
    """A bash block without the set-up commands of :data:`NOT_RUN` (``a && b`` keeps the rest)."""
    out = []
    for line in script.splitlines():
        parts = [p for p in line.split("&&") if not p.strip().startswith(NOT_RUN)]
        if parts:
            out.append("&&".join(parts).strip() if len(parts) < len(line.split("&&")) else line)
    return "\n".join(out)


def snippets(page: Path, name: str | None = None) -> list[Snippet]:
    """Every runnable block of ``page``, in order (``name``: how the page is called in labels,
    default its file name)."""
    text = page.read_text("utf-8")
    name = name or page.name
    found: list[Snippet] = []
    for m in re.finditer(r"^```(\w*)\n(.*?)^```", text, re.DOTALL | re.MULTILINE):
        lang, body = m.group(1), m.group(2)
        line = text.count("\n", 0, m.start()) + 1
        if lang == "bash":
            script = _strip_setup(body)
            if script.strip():
                found.append(Snippet("sh", script, line, page=name))
        elif lang == "python":
            found.append(Snippet("py", body, line, [("", python_claims(body))], page=name))
        elif lang == "" and any(row.startswith("$ ") for row in body.splitlines()):
            found.append(Snippet("out", "", line, output_claims(body), page=name))
    return found


def output_claims(body: str) -> list[tuple[str, list[str]]]:
    """``[(command, claimed lines)]`` of an output block (continuation lines joined)."""
    rows = body.splitlines()
    claims: list[tuple[str, list[str]]] = []
    i = 0
    while i < len(rows):
        if rows[i].startswith("$ "):
            cmd = rows[i][2:]
            while cmd.rstrip().endswith("\\") and i + 1 < len(rows):
                i += 1
                cmd = cmd.rstrip()[:-1] + " " + rows[i].strip()
            claims.append((re.split(r"\s{2,}#", cmd)[0].strip(), []))
        elif claims and rows[i].strip():
            claims[-1][1].append(rows[i])
        i += 1
    return claims


def python_claims(body: str) -> list[str]:
    """The printed lines a python block claims (see the module doc)."""
    rows = body.splitlines()
    claims = []
    for i, row in enumerate(rows):
        if not row.lstrip().startswith("print("):
            continue
        inline = re.search(r"\)\s+#\s+(.+)$", row)
        if inline:
            claims.append(inline.group(1))
        elif i + 1 < len(rows) and rows[i + 1].startswith("# "):
            claims.append(rows[i + 1][2:])
    return claims


def _parts(line: str) -> list[str]:
    """Text and numbers, alternating (text at even positions), spaces collapsed."""
    return _SPLIT.split(" ".join(line.split()))


def _value(token: str) -> tuple[float, int]:
    token = token.replace("−", "-").replace(",", "")
    decimals = len(token.split(".")[1]) if "." in token else 0
    return float(token), decimals


def line_matches(claimed: str, printed: str) -> bool:
    """Does ``printed`` show what ``claimed`` says (see the module doc for the rules)?"""
    claimed = " ".join(claimed.split())
    prefix = claimed.endswith(" ...") or claimed == "..."
    if prefix:
        claimed = claimed[:-3].rstrip()
    parts = _parts(claimed)
    pattern = "".join(
        (re.escape(p).replace("…", ".*?").replace(r"\ ", r"\s*") if k % 2 == 0 else f"({_NUMBER})")
        for k, p in enumerate(parts)
    )
    m = re.match(pattern + ("" if prefix else r"\s*$"), " ".join(printed.split()))
    if m is None:
        return False
    for shown, got in zip(parts[1::2], m.groups()):
        want, decimals = _value(shown)
        value, _ = _value(got)
        if abs(round(value, decimals) - want) > 0.5 * 10.0 ** -decimals + 1e-12:
            return False
    return True


def find_claims(claims: list[str], printed: str) -> list[str]:
    """The claimed lines that do not appear, in order, in ``printed`` (empty: all shown)."""
    rows = printed.splitlines()
    pos, missing = 0, []
    for claim in claims:
        if claim.strip() == "...":
            continue
        hit = next((j for j in range(pos, len(rows)) if line_matches(claim, rows[j])), None)
        if hit is None:
            missing.append(claim)
        else:
            pos = hit + 1
    return missing
