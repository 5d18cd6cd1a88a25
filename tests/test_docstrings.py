"""The examples in the package's docstrings run as written (doctest), so the API docs cannot
drift from the code."""

import doctest
import importlib
import pkgutil

import pytest

import lev_flows


def _modules_with_examples():
    names = ["lev_flows"] + [m.name for m in pkgutil.walk_packages(lev_flows.__path__, "lev_flows.") if not m.name.startswith("lev_flows.cli")]
    out = []
    for name in names:
        spec = importlib.util.find_spec(name)
        if spec and spec.origin and spec.origin.endswith(".py") and ">>> " in open(spec.origin, encoding="utf-8").read():
            out.append(name)
    return out


MODULES = _modules_with_examples()


def test_the_public_modules_have_examples():
    assert {"lev_flows", "lev_flows.model.formula", "lev_flows.model.estimate", "lev_flows.model.day"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    import sys

    importlib.import_module(name)
    module = sys.modules[name]  # the package's `estimate` attribute is the function; the module is here
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0, result
