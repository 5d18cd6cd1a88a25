"""lev_flows: the close-of-day rebalancing flows of leveraged and inverse ETFs.

    >>> from lev_flows import load_universe, estimate
    >>> est = estimate(load_universe(), {"NDX": -0.02, "SOX": -0.05, "NVDA": -0.03})
    >>> round(est.total.rebalance_usd / 1e9, 1) < 0
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
    "load_universe",
    "replay",
    "save_universe",
]


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))




def replay(date: str = "2026-02-04", basis: str = "close", *, exclude_etns: bool = False):
    """The built-in replay: the packaged universe, that day's packaged point-in-time AUM and its
    returns (``basis="close"`` close-to-close, fund by fund, exactly what
    :func:`estimate_day` computes from the shared prices; ``"intraday"`` the funds' 14:43
    reported changes on the same AUM). ``exclude_etns`` leaves the exchange-traded notes out."""
    from lev_flows.inputs.catalog import load_universe
    from lev_flows.inputs.packaged import load_replay, load_replay_aum
    from lev_flows.model.estimate import estimate

    if basis not in ("close", "intraday"):
        raise InputError(f"replay: basis must be 'close' or 'intraday', not {basis!r}")
    return estimate(load_universe(), load_replay(date, basis), aum=load_replay_aum(date), exclude_etns=exclude_etns)


def estimate_day(date, **kwargs):
    """The point-in-time estimate of a past session (see :func:`lev_flows.model.day.estimate_day`)."""
    from lev_flows.model.day import estimate_day as _estimate_day

    return _estimate_day(date, **kwargs)


__version__ = "0.1.0"


