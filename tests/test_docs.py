"""The README and the documentation pages hold together: the README fits a screen or two, every
relative link of README.md and docs/*.md points to a file that exists and, with ``#anchor``, to a
heading of that file; a heading's anchor is the same on GitHub and on the MkDocs site; every page
is in the site's navigation; and the API reference's docstring rewriting (``docs/_ext/
griffe_rst.py``) does what it says. ``mkdocs build --strict`` itself runs in ``.ci/run``."""

from __future__ import annotations

import importlib.util
import re
import unicodedata
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT

README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = [README, *sorted(DOCS.glob("*.md"))]
_LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def _prose(text: str) -> str:
    """The page without its fenced code blocks and inline code (no links live there)."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.DOTALL | re.MULTILINE)
    return re.sub(r"`[^`\n]*`", "", text)


def github_slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, each space a hyphen."""
    text = heading.replace("`", "").strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def mkdocs_slug(heading: str) -> str:
    """Python-Markdown's ``toc`` anchor (MkDocs' default): ASCII only, runs of spaces and hyphens
    one hyphen."""
    text = unicodedata.normalize("NFKD", heading.replace("`", "")).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def headings(page: Path) -> list[str]:
    return [m.group(2).strip() for m in re.finditer(r"^(#{1,6}) (.+)$", _prose_keep_code(page), re.MULTILINE)]


def _prose_keep_code(page: Path) -> str:
    """The page without its fenced blocks (a ``# comment`` in a shell block is no heading)."""
    return re.sub(r"^```.*?^```", "", page.read_text("utf-8"), flags=re.DOTALL | re.MULTILINE)


def anchors(page: Path) -> set[str]:
    return {github_slug(h) for h in headings(page)}


def links(page: Path) -> list[str]:
    return [m.group(1) for m in _LINK.finditer(_prose(page.read_text("utf-8")))]


def test_the_slugs_are_computed_as_github_and_mkdocs_do():
    assert github_slug("Live into the close: `lev-flows watch`") == "live-into-the-close-lev-flows-watch"
    assert mkdocs_slug("Live into the close: `lev-flows watch`") == "live-into-the-close-lev-flows-watch"
    assert github_slug("Monte Carlo: the next close's distribution") == "monte-carlo-the-next-closes-distribution"
    assert github_slug("a — b") == "a--b" and mkdocs_slug("a — b") == "a-b"  # where the two part ways
    assert links(DOCS / "index.md")[:2] == ["replay_2026-02-04.png", "method.md"]


def test_the_readme_fits_a_screen_or_two():
    text = README.read_text("utf-8")
    assert len(text.encode("utf-8")) < 12_000
    setup = re.search(r"^## Set-up \(two commands\)\n\n```bash\n(.*?)^```", text, re.DOTALL | re.MULTILINE)
    assert setup and setup.group(1).splitlines() == [
        "pip install -e . && lev-flows estimate                   # the built-in replay of 2026-02-04",
        "pip install -e '.[test]' && python -m pytest             # the whole test suite",
    ]
    assert "![" in text and "```python" in text  # the headline chart and the Python example
    assert {p.name for p in DOCS.glob("*.md")} <= {Path(t.split("#")[0]).name for t in links(README) if t.startswith("docs/")} | {
        "reference_model.md", "reference_analysis.md"}  # every user-guide page is one link away


@pytest.mark.parametrize("page", PAGES, ids=[p.relative_to(ROOT).as_posix() for p in PAGES])
def test_every_relative_link_resolves(page):
    bad = []
    for target in links(page):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto: ...: not ours to check
            continue
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.is_file():
            bad.append(f"{target}: no file {dest.relative_to(ROOT) if dest.is_relative_to(ROOT) else dest}")
        elif anchor and (dest.suffix != ".md" or anchor not in anchors(dest)):
            bad.append(f"{target}: no heading with the anchor #{anchor} in {dest.relative_to(ROOT)}")
    assert not bad, f"{page.relative_to(ROOT)}:\n" + "\n".join(bad)


@pytest.mark.parametrize("page", PAGES, ids=[p.relative_to(ROOT).as_posix() for p in PAGES])
def test_every_anchor_is_the_same_on_github_and_on_the_site(page):
    differ = [h for h in headings(page) if github_slug(h) != mkdocs_slug(h)]
    assert not differ, f"{page.relative_to(ROOT)}: headings whose anchors differ on GitHub and on the site: {differ}"
    slugs = [github_slug(h) for h in headings(page)]
    assert len(slugs) == len(set(slugs)), f"{page.relative_to(ROOT)}: two headings with one anchor"


def test_every_page_is_in_the_site_navigation():
    config = yaml.load((ROOT / "mkdocs.yml").read_text("utf-8"), Loader=yaml.SafeLoader)

    def pages(node):
        if isinstance(node, str):
            yield node
        elif isinstance(node, dict):
            for v in node.values():
                yield from pages(v)
        elif isinstance(node, list):
            for v in node:
                yield from pages(v)

    assert sorted(pages(config["nav"])) == sorted(p.name for p in DOCS.glob("*.md"))
    assert config["strict"] is True and config["docs_dir"] == "docs"


def test_the_charts_the_pages_show_are_the_ones_the_code_writes():
    """The docs' charts stay in docs/, where the benchmarks and tests write them."""
    shown = {Path(t).name for p in PAGES for t in links(p) if t.endswith(".png")}
    assert shown == {p.name for p in DOCS.glob("*.png")}


@pytest.fixture(scope="module")
def rst():
    pytest.importorskip("griffe")
    spec = importlib.util.spec_from_file_location("griffe_rst", DOCS / "_ext" / "griffe_rst.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_doctests_become_code_blocks_at_the_margin(rst):
    text = "Intro::\n\n    >>> f(1)\n    2\n\nAfter."
    assert rst._literal_colons(rst._doctests(text)) == "Intro:\n\n\n```pycon\n>>> f(1)\n2\n```\n\n\nAfter."
    numpy = "Summary.\n\nExamples\n--------\n>>> f(1)\n2"
    assert rst._doctests(numpy) == numpy  # griffe reads a NumPy Examples section itself


def test_parameters_and_prose_returns_are_split_for_griffe(rst):
    doc = "Sum.\n\nParameters\n----------\naum_usd : net assets in USD.\nleverage : signed L.\n\nReturns\n-------\nUSD to trade.\nNaN stays NaN.\n"
    assert rst._returns(rst._parameters(doc)) == (
        "Sum.\n\nParameters\n----------\naum_usd\n    net assets in USD.\nleverage\n    signed L.\n\n"
        "Returns\n-------\n:\n    USD to trade.\n    NaN stays NaN.\n")
    typed = "Returns\n-------\ntotal : float\n    USD.\n"
    assert rst._returns(typed) == typed


def test_roles_become_optional_cross_references_resolved_like_sphinx(rst):
    import griffe

    pkg = griffe.load("lev_flows", search_paths=[str(ROOT)])
    day = pkg["model.day"]
    assert rst._resolve(pkg, day, "estimate_day") == "lev_flows.model.day.estimate_day"
    assert rst._resolve(pkg, pkg["model"], ".formula") == "lev_flows.model.formula"
    assert rst._resolve(pkg, day, "lev_flows.load_universe") == "lev_flows.inputs.catalog.load_universe"  # a lazy export
    assert rst._resolve(pkg, day, "no_such_thing") == "no_such_thing"  # kept as written: an optional link
    assert rst._roles(pkg, day, "see :func:`~lev_flows.model.formula.rebalance_usd`.") == (
        'see <autoref identifier="lev_flows.model.formula.rebalance_usd" optional><code>rebalance_usd</code></autoref>.')
