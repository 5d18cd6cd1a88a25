"""The layout shows the flow: each module sits in a stage, and imports point down the stages only.

    ground floor (errors, io, clock) < inputs < model < analysis < present < jobs < cli

A module imports its own stage and the stages below it. The one exception is a result object's
presentation method (``plot()``, ``to_html()``), which imports presentation lazily, inside the
method: :data:`LAZY_UP` lists where. No function runs past about 80 lines (its docstring not counted) unless
the docstring says why (``Long:``).
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "lev_flows"
STAGES = ["ground", "inputs", "model", "analysis", "present", "jobs", "cli"]
GROUND = {"errors", "io", "clock"}
#: (module, function) -> the upper stage it may import lazily inside that function
LAZY_UP = {
    ("model.estimate", "plot"): "present", ("model.estimate", "to_html"): "present",
    ("analysis.history", "plot"): "present", ("analysis.montecarlo", "plot"): "present",
}
MAX_LINES = 80


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).with_suffix("")
        parts = [p for p in rel.parts if p != "__init__"]
        yield ".".join(parts), path


def stage_of(module: str) -> str | None:
    """The stage of a module named relative to the package (``model.estimate``); None for the
    package itself."""
    if not module:
        return None
    head = module.split(".")[0]
    return "ground" if head in GROUND else head


def _imports(path: Path):
    """``(imported module relative to lev_flows, enclosing function or None, line)``."""
    tree = ast.parse(path.read_text("utf-8"))

    def visit(node, func):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield from visit(child, child.name)
            elif isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue  # annotations only
            elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0 and child.module.startswith("lev_flows"):
                base = child.module.removeprefix("lev_flows").lstrip(".")
                if base:
                    yield base, func, child.lineno
                else:  # from lev_flows import x: the public API (the package's top)
                    for alias in child.names:
                        yield alias.name, func, child.lineno
            elif isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name.startswith("lev_flows."):
                        yield alias.name.removeprefix("lev_flows."), func, child.lineno
            else:
                yield from visit(child, func)

    yield from visit(tree, None)


def test_every_module_is_in_a_stage():
    for module, _ in _modules():
        assert module == "" or stage_of(module) in STAGES, f"lev_flows.{module} is in no stage"


def test_imports_point_down_the_stages():
    wrong = []
    for module, path in _modules():
        here = stage_of(module)
        if here is None:
            continue
        for target, func, line in _imports(path):
            there = stage_of(target)
            if there is None or there not in STAGES:
                if module and here != "cli":  # `from lev_flows import x` is for users, the CLI and tests
                    wrong.append(f"lev_flows.{module}:{line} imports the package top ({target})")
                continue
            if STAGES.index(there) <= STAGES.index(here):
                continue
            if LAZY_UP.get((module, func)) == there:
                continue
            wrong.append(f"lev_flows.{module}:{line} ({here}) imports lev_flows.{target} ({there})")
    assert not wrong, "\n".join(wrong)


def test_the_model_never_imports_presentation_or_jobs_at_module_level():
    for module, path in _modules():
        if stage_of(module) in ("inputs", "model", "analysis"):
            for target, func, line in _imports(path):
                if stage_of(target) in ("present", "jobs", "cli"):
                    assert func is not None, f"lev_flows.{module}:{line} imports lev_flows.{target} at import time"


def test_functions_fit_on_a_screen_or_say_why():
    long = []
    for module, path in _modules():
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1 - _docstring_lines(node)
                if n > MAX_LINES and "Long:" not in (ast.get_docstring(node) or ""):
                    long.append(f"lev_flows.{module}.{node.name}: {n} lines")
    assert not long, "split these, or say why in the docstring (Long: ...):\n" + "\n".join(long)


def _docstring_lines(node) -> int:
    """Lines of a function's docstring (they document it; they are not the code that must fit)."""
    first = node.body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        return first.end_lineno - first.lineno + 1
    return 0


def test_each_stage_says_what_enters_and_leaves():
    for stage in STAGES[1:-1]:
        doc = ast.get_docstring(ast.parse((PACKAGE / stage / "__init__.py").read_text("utf-8"))) or ""
        assert "Enters:" in doc and "Leaves:" in doc, stage
