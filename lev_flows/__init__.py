"""lev_flows: the close-of-day rebalancing flows of leveraged and inverse ETFs.

    >>> from lev_flows import load_universe, estimate
    >>> est = estimate(load_universe(), {"NDX": -0.02, "SOX": -0.05, "NVDA": -0.03})
    >>> round(est.total.rebalance_usd / 1e9, 1) < 0
    True

A past session, point in time, its tables indexed by their keys (from the repository root, with
the shared data beside it):

    >>> import lev_flows
    >>> est = lev_flows.estimate_day("2026-02-04", prices="../shared/data/prices")
    >>> print(f'{est.by_etf.loc["TQQQ", "rebalance_usd"] / 1e9:.2f}B, NVDA {est.by_stock.loc["NVDA", "flow_usd"] / 1e9:.2f}B')
    -3.04B, NVDA -1.29B
    >>> print(est.by_index.index[0], f'{est.by_sector.loc["Information Technology", "flow_usd"] / 1e9:.2f}B')
    Semiconductors -9.00B
    >>> uni = lev_flows.load_universe()
    >>> uni["TQQQ"].underlying, len(uni) == len(list(uni))
    ('NDX', True)
    >>> lev_flows.__version__ == __import__("importlib.metadata").metadata.version("lev_flows")
    True

Data flows one way: catalog (:mod:`lev_flows.inputs.catalog`) + point-in-time AUM and returns
(:mod:`lev_flows.inputs.store`, :mod:`lev_flows.model.pointintime`) -> formula (:mod:`lev_flows.model.formula`)
-> look-through (:mod:`lev_flows.model.lookthrough`) -> result (:mod:`lev_flows.model.estimate`) ->
presentation (:mod:`lev_flows.present.tables`, :mod:`lev_flows.present.note`). :func:`estimate_day` runs it for
a past session from the AUM store and the price tables.
"""

import importlib

from lev_flows.errors import CatalogError, InputError, LevFlowsError, OutputError

# Everything else loads on first use (PEP 562), so `lev-flows --help` does not import pandas.
_LAZY = {
    "LeveragedETF": "inputs.catalog", "Underlying": "inputs.catalog", "Universe": "inputs.catalog",
    "load_universe": "inputs.catalog", "save_universe": "inputs.catalog",
    "DayReturns": "inputs.days", "AumDay": "inputs.days", "FlowEstimate": "model.estimate",
    "estimate": "model.estimate", "load_inputs": "model.day",
    # the entry points themselves, so help() shows every keyword argument they take
    "estimate_day": "model.day", "history_range": "analysis.history",
}

__all__ = [
    "CatalogError",
    "DayReturns",
    "FlowEstimate",
    "InputError",
    "LevFlowsError",
    "LeveragedETF",
    "OutputError",
    "Underlying",
    "Universe",
    "estimate",
    "estimate_day",
    "history_range",
    "load_universe",
    "replay",
    "save_universe",
]


def __getattr__(name: str):
    if name == "__version__":
        globals()[name] = value = _version()
        return value
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__) | {"__version__"})




def replay(date: str = "2026-02-04", basis: str = "close", *, exclude_etns: bool = False):
    """The built-in replay: the packaged universe, that day's packaged point-in-time AUM and its
    returns (``basis="close"`` close-to-close, fund by fund, exactly what
    :func:`estimate_day` computes from the shared prices; ``"intraday"`` the funds' 14:43
    reported changes on the same AUM). ``exclude_etns`` leaves the exchange-traded notes out."""
    from lev_flows.inputs.args import date_arg, flag_arg
    from lev_flows.inputs.catalog import load_universe
    from lev_flows.inputs.packaged import load_replay, load_replay_aum
    from lev_flows.model.estimate import estimate

    if basis not in ("close", "intraday"):
        raise InputError(f"replay: basis must be 'close' or 'intraday', not {basis!r}")
    date = date_arg(date, "replay: date").isoformat()
    flag_arg(exclude_etns, "replay: exclude_etns")
    return estimate(load_universe(), load_replay(date, basis), aum=load_replay_aum(date), exclude_etns=exclude_etns)


def _version() -> str:
    """The installed package's version (its metadata), else the ``pyproject.toml`` beside the
    package (a checkout run without installing), else ``"unknown"``."""
    from importlib import metadata

    try:
        return metadata.version(__name__)
    except metadata.PackageNotFoundError:
        pass
    import tomllib
    from pathlib import Path

    try:
        with open(Path(__file__).resolve().parents[1] / "pyproject.toml", "rb") as fh:
            return str(tomllib.load(fh)["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "unknown"


