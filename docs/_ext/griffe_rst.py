"""A griffe extension for the API reference: the package's docstrings are written for ``help()``
and doctest, in reStructuredText habits; this turns those habits into Markdown for mkdocstrings.

* ``:func:`name```, ``:class:``, ``:mod:``, ``:data:``, ``:meth:``, ``:attr:``, ``:exc:`` roles
  become cross-references, resolved like Sphinx does (the full path, else relative to the
  object's own class, module and package, ``.x`` relative to the module, ``~`` for the short
  name), written as *optional* autorefs: a link where the target is in the reference, plain code
  where it is not (never a broken link, so ``mkdocs build --strict`` stays quiet);
* ``>>>`` examples outside a NumPy ``Examples`` section become ``pycon`` code blocks (Markdown
  would read ``>>>`` as a block quote);
* ``name : description`` lines of a ``Parameters`` section are split into the name and its
  description (griffe would read the description as a type), and a ``Returns`` section in
  prose becomes an item without a name or a type (the type comes from the signature);
* a paragraph ending in ``::`` ends in ``:`` (its indented block is code in Markdown too).

Loaded by ``mkdocs.yml`` (``extensions: [docs/_ext/griffe_rst.py]``); the package never imports it.
"""

from __future__ import annotations

import ast
import html
import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(func|class|mod|data|meth|attr|exc|obj|const):`([^`]+)`")


def _lookup(pkg: griffe.Module, path: str) -> Any | None:
    """The object at ``path`` inside ``pkg`` (aliases followed where they resolve), else None."""
    parts = path.split(".")
    if parts[0] != pkg.name:
        return None
    obj: Any = pkg
    for part in parts[1:]:
        try:
            obj = obj.members[part]
        except (KeyError, AttributeError):
            return None
        if isinstance(obj, griffe.Alias):
            try:
                obj = obj.final_target
            except Exception:  # noqa: BLE001 - an alias to outside the package (numpy, pandas)
                return None
    return obj


def _lazy_exports(pkg: griffe.Module) -> dict[str, str]:
    """The package's ``_LAZY`` table (name -> module it loads from), read from its source."""
    member = pkg.members.get("_LAZY")
    try:
        return dict(ast.literal_eval(str(member.value))) if member is not None else {}
    except (ValueError, SyntaxError):
        return {}


def _resolve(pkg: griffe.Module, obj: Any, target: str) -> str:
    """The full path a role's ``target`` names, seen from ``obj`` (the target as written when
    nothing fits: the link is optional)."""
    module = obj if isinstance(obj, griffe.Module) else obj.module
    if target.startswith("."):
        base = module.path if module.is_init_module else module.path.rsplit(".", 1)[0]
        candidates = [base + target]
    else:
        candidates = [target]
        scope: Any = obj
        while scope is not None:
            candidates.append(f"{scope.path}.{target}")
            scope = scope.parent
    lazy = _lazy_exports(pkg)
    name = target.removeprefix(f"{pkg.name}.")
    if name in lazy:  # a name the package exports on first use (PEP 562): where it is defined
        candidates.insert(0, f"{pkg.name}.{lazy[name]}.{name}")
    for path in candidates:
        found = _lookup(pkg, path)
        if found is not None:
            return found.path
    return target


def _roles(pkg: griffe.Module, obj: Any, text: str) -> str:
    def link(m: re.Match) -> str:
        raw = m.group(2).strip()
        title, _, explicit = raw.partition("<")
        target = (explicit.rstrip(">") if explicit else raw).strip().lstrip("~").removesuffix("()")
        shown = title.strip() if explicit else (raw.lstrip("~").split(".")[-1] if raw.startswith("~") else raw.lstrip("~"))
        path = _resolve(pkg, obj, target)
        return f'<autoref identifier="{html.escape(path)}" optional><code>{html.escape(shown)}</code></autoref>'

    return _ROLE.sub(link, text)


def _doctests(text: str) -> str:
    """``>>>`` blocks (with their continuation and output lines, up to a blank line) fenced as
    ``pycon``, except inside a NumPy ``Examples`` section, which griffe reads itself."""
    m = re.search(r"^\s*Examples\s*\n\s*-{3,}\s*$", text, re.MULTILINE)
    head, tail = (text[: m.start()], text[m.start():]) if m else (text, "")
    out: list[str] = []
    lines = head.split("\n")
    i = 0
    while i < len(lines):
        if lines[i].lstrip().startswith(">>>"):
            indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
            block = []
            while i < len(lines) and lines[i].strip():
                block.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i].strip())
                i += 1
            out.extend(["", "```pycon", *block, "```", ""])  # at the margin: an indented fence is code
            continue
        out.append(lines[i])
        i += 1
    return "\n".join(out) + tail


def _parameters(text: str) -> str:
    """``name : what it is`` lines of a NumPy ``Parameters`` section, written here as a name and
    its description on one line, split into the name and an indented description (griffe would
    read the description as the type)."""
    out, inside = [], False
    lines = text.split("\n")
    for i, line in enumerate(lines):
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if re.fullmatch(r"\s*-{3,}\s*", nxt):
            inside = line.strip() in ("Parameters", "Other Parameters", "Attributes")
        m = re.fullmatch(r"(\s*)(\*{0,2}\w+(?:, \w+)*) : (.+)", line) if inside else None
        if m:
            out.extend([f"{m.group(1)}{m.group(2)}", f"{m.group(1)}    {m.group(3)}"])
        else:
            out.append(line)
    return "\n".join(out)


def _returns(text: str) -> str:
    """A NumPy ``Returns`` section written as prose (no ``name : type`` line) becomes one item
    with no name and no type (``:``, the prose as its description): griffe takes the type from
    the signature, where it would show the prose's first line as the type."""
    def prose(m: re.Match) -> str:
        indent, body = m.group(1), m.group(2)
        if any(" : " in line for line in body.splitlines()):
            return m.group(0)
        described = "".join(f"{indent}    {line.strip()}\n" for line in body.splitlines())
        return f"{m.group(0)[: m.start(2) - m.start(0)]}{indent}:\n{described}"

    return re.sub(r"^([ \t]*)Returns\s*\n[ \t]*-{3,}[ \t]*\n((?:[ \t]*\S.*\n?)+)", prose, text, flags=re.MULTILINE)


def _literal_colons(text: str) -> str:
    return re.sub(r"(?<=\S)::[ \t]*$", ":", text, flags=re.MULTILINE)


class RstToMarkdown(griffe.Extension):
    """Rewrite every docstring of the package once it is loaded (see the module's docstring)."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        seen: set[int] = set()

        def walk(obj: Any) -> None:
            if id(obj) in seen or isinstance(obj, griffe.Alias):
                return
            seen.add(id(obj))
            if obj.docstring is not None:
                text = _literal_colons(_doctests(_returns(_parameters(obj.docstring.value))))
                obj.docstring.value = _roles(pkg, obj, text)
            for member in obj.members.values():
                walk(member)

        walk(pkg)
