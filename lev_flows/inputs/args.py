"""Arguments of the public Python API, checked where they enter: every public function turns
what it was given into the types it computes with, or raises :class:`~lev_flows.errors.InputError`
naming the argument and what was expected, never a bare ``TypeError`` or ``AttributeError`` from
deep inside, and never a silent reading (a duplicated key keeping its last value, ``np.bool_``
read as 1, an empty mapping read as "no move").

    >>> universe_arg("etf_universe.yaml", "estimate")
    Traceback (most recent call last):
    ...
    lev_flows.errors.InputError: estimate: universe must be a Universe (lev_flows.load_universe(path) reads a file), not str 'etf_universe.yaml'
    >>> date_arg("2026-02-04", "date")
    datetime.date(2026, 2, 4)
    >>> whole_number(2000.5, "monte_carlo: n")
    Traceback (most recent call last):
    ...
    lev_flows.errors.InputError: monte_carlo: n must be a whole number, not float 2000.5

Imports only the ground floor at module level (pandas only when a pandas object is given).
"""

from __future__ import annotations

import datetime as dt
import numbers
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lev_flows.errors import InputError


def _shown(value: Any) -> str:
    """``str '...'`` / ``int 3``: a value named with its type, cut to 60 characters."""
    text = repr(value)
    return f"{type(value).__name__} {text[:60]}{'...' if len(text) > 60 else ''}"


def _is_bool(value: Any) -> bool:
    """A bool, numpy's included (``np.bool_(True)`` is not 1)."""
    np = sys.modules.get("numpy")
    return isinstance(value, bool) or (np is not None and isinstance(value, np.bool_))


def _is_universe(value: Any) -> bool:
    """A :class:`~lev_flows.inputs.catalog.Universe` (looked up, not imported: the catalog
    module checks its own arguments here; an object can only be one once it is loaded)."""
    catalog = sys.modules.get("lev_flows.inputs.catalog")
    return catalog is not None and isinstance(value, catalog.Universe)


def universe_arg(value: Any, where: str) -> Any:
    """``value`` if it is a :class:`~lev_flows.inputs.catalog.Universe`; else an InputError (a
    path is read by :func:`lev_flows.load_universe`, explicitly)."""
    if _is_universe(value):
        return value
    raise InputError(f"{where}: universe must be a Universe (lev_flows.load_universe(path) reads a file), not {_shown(value)}")


def universe_or_path(value: Any, where: str) -> Any:
    """A Universe, a catalog path (str or PathLike) or None (the packaged catalog)."""
    if value is None or _is_universe(value):
        return value
    if isinstance(value, (str, os.PathLike)):
        return path_arg(value, f"{where}: universe")
    raise InputError(f"{where}: universe must be a Universe, a catalog path or None, not {_shown(value)}")


def date_arg(value: Any, name: str, *, optional: bool = False) -> dt.date | None:
    """A session date from ``dt.date``, ``"YYYY-MM-DD"``, a ``datetime`` / ``pd.Timestamp`` (a
    naive one is its own date; a timezone-aware one the date in New York) or ``np.datetime64``.
    ``None`` only when ``optional``. Anything else (an int such as 20260204, a bool, a float) is
    an InputError naming ``name``."""
    if value is None:
        if optional:
            return None
        raise InputError(f"{name}: a date is needed (YYYY-MM-DD), not None")
    if isinstance(value, dt.datetime):  # pd.Timestamp included
        if value.tzinfo is not None:
            from lev_flows.clock import NEW_YORK

            value = value.astimezone(NEW_YORK)
        return dt.date(value.year, value.month, value.day)
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            raise InputError(f"{name}: {value!r} is not a date (expected YYYY-MM-DD)") from None
    if type(value).__name__ == "datetime64":
        import pandas as pd

        if pd.isna(value):
            raise InputError(f"{name}: NaT is not a date")
        return pd.Timestamp(value).date()
    raise InputError(f"{name}: expected a date (datetime.date or 'YYYY-MM-DD'), not {_shown(value)}")


def flag_arg(value: Any, name: str) -> bool:
    """A real bool (``np.bool_`` too); a string such as ``"no"`` or a number is an InputError."""
    if _is_bool(value):
        return bool(value)
    raise InputError(f"{name} must be True or False, not {_shown(value)}")


def whole_number(value: Any, name: str, lo: int | None = None, hi: int | None = None) -> int:
    """An int (numpy integers too; not a bool, not 2000.5, not "10") within ``lo .. hi``."""
    if _is_bool(value) or not isinstance(value, numbers.Integral):
        raise InputError(f"{name} must be a whole number, not {_shown(value)}")
    value = int(value)
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        bounds = f"between {lo:,} and {hi:,}" if lo is not None and hi is not None else f"at least {lo:,}" if lo is not None else f"at most {hi:,}"
        raise InputError(f"{name} must be {bounds}, not {value:,}")
    return value


def real_number(value: Any, name: str, lo: float | None = None, hi: float | None = None) -> float:
    """A finite real number (not a bool, not a string) within ``lo .. hi``."""
    import math

    if _is_bool(value) or not isinstance(value, numbers.Real):
        raise InputError(f"{name} must be a number, not {_shown(value)}")
    value = float(value)
    if not math.isfinite(value) or (lo is not None and value < lo) or (hi is not None and value > hi):
        bounds = f" between {lo:g} and {hi:g}" if lo is not None and hi is not None else ""
        raise InputError(f"{name} must be a finite number{bounds}, not {value!r}")
    return value


def path_arg(value: Any, name: str) -> Path:
    """A file or folder path (str or PathLike) the operating system can take: not an int, not
    empty, no NUL character, no part over 255 bytes and 4,095 bytes in all."""
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if isinstance(value, bytes):
        value = os.fsdecode(value)
    if not isinstance(value, str):
        raise InputError(f"{name} must be a path (str or pathlib.Path), not {_shown(value)}")
    from lev_flows.io import path_problem

    why = "an empty path" if not value.strip() else path_problem(Path(value))
    if why:
        raise InputError(f"{name}: {value[:60]!r}{'...' if len(value) > 60 else ''}: {why}")
    return Path(value)


def _keyed_series(value: Any, name: str) -> dict[Any, Any]:
    """A pandas Series as a dict, refusing a duplicated index (a dict would keep the last)."""
    dup = value.index[value.index.duplicated()]
    if len(dup):
        raise InputError(f"{name}: {dup[0]!r} appears twice in the Series index (a mapping keeps one value per key)")
    return dict(value.items())


def mapping_arg(value: Any, name: str, *, optional: bool = False, nonempty: bool = False) -> Mapping | None:
    """A mapping (a dict, or a pandas Series read as one) with str keys. ``None`` only when
    ``optional``; an empty one is refused when ``nonempty`` (it would read as "nothing moved").
    A list of pairs, a str, None where a mapping is needed: an InputError naming ``name``."""
    if value is None:
        if optional:
            return None
        raise InputError(f"{name}: expected a mapping of key -> value, not None")
    pd = sys.modules.get("pandas")
    if pd is not None and isinstance(value, pd.Series):
        value = _keyed_series(value, name)
    if not isinstance(value, Mapping):
        hint = " (dict(pairs) makes one from a list of pairs)" if isinstance(value, (list, tuple)) else ""
        raise InputError(f"{name}: expected a mapping of key -> value, not {_shown(value)}{hint}")
    bad = next((k for k in value if not isinstance(k, str)), None)
    if bad is not None:
        raise InputError(f"{name}: keys must be text (an id or a ticker), not {_shown(bad)}")
    if nonempty and not value:
        raise InputError(f"{name}: empty: no value given (an empty mapping is not 'no move'); give at least one")
    return value


def closes_arg(value: Any, name: str) -> Any:
    """A wide close table (``pd.DataFrame``, dates x tickers) checked as a price file is: a
    DatetimeIndex (timezone-aware stamps read as the dates they were written with), no date
    twice, no ticker twice, numeric columns only, every close positive and finite."""
    import pandas as pd

    if not isinstance(value, pd.DataFrame):
        raise InputError(f"{name}: expected a close table (pandas DataFrame, dates x tickers), not {_shown(value)}")
    index = value.index
    if not isinstance(index, pd.DatetimeIndex):
        try:
            index = pd.DatetimeIndex(pd.to_datetime(index, format="ISO8601"))
        except (ValueError, TypeError):
            raise InputError(f"{name}: the index must be dates, not {index.dtype} ({index[:1].tolist()!r})") from None
    if index.tz is not None:
        index = index.tz_localize(None)  # the date as written, never moved by the zone
    if index.isna().any():
        raise InputError(f"{name}: the index has a missing date (NaT)")
    index = index.normalize()
    if index.duplicated().any():
        raise InputError(f"{name}: date {index[index.duplicated()][0].date()} appears twice")
    cols = pd.Index([str(c) for c in value.columns])
    if cols.duplicated().any():
        raise InputError(f"{name}: column {cols[cols.duplicated()][0]!r} appears twice")
    text = [c for c, t in value.dtypes.items() if not pd.api.types.is_numeric_dtype(t) or pd.api.types.is_bool_dtype(t)]
    if text:
        raise InputError(f"{name}: column {text[0]!r} is not numeric ({value[text[0]].dtype})")
    from lev_flows.inputs.plausibility import check_closes

    check_closes(value.to_numpy(dtype=float), list(index), list(cols), name)
    if not index.equals(value.index) or index.name != value.index.name:
        value = value.set_axis(index.rename(value.index.name or "date"), axis=0)
    return value if value.index.is_monotonic_increasing else value.sort_index()


def returns_arg(value: Any, where: str) -> Any:
    """The day's returns: a :class:`~lev_flows.inputs.days.DayReturns` as it is, else a non-empty
    mapping (or a pandas Series, its index once each) of key -> return."""
    from lev_flows.inputs.days import DayReturns

    if isinstance(value, DayReturns):
        mapping_arg(value.values, f"{where}: returns.values")
        return value
    return mapping_arg(value, f"{where}: returns", nonempty=True)


def aum_arg(value: Any, where: str) -> Any:
    """Start-of-day AUM: None (the catalog's), an :class:`~lev_flows.inputs.days.AumDay`, or a
    mapping (or Series) of fund ticker -> USD."""
    from lev_flows.inputs.days import AumDay

    if value is None or isinstance(value, AumDay):
        return value
    return mapping_arg(value, f"{where}: aum")


def estimate_args(universe: Any, returns: Any, date: Any, creations: Any, holdings: Any, aum: Any,
                  ignore_unknown: Any, exclude_etns: Any) -> tuple:
    """The arguments of :func:`lev_flows.model.estimate.estimate`, checked and normalised (see the
    functions above): ``(universe, returns, date, creations, holdings, aum)``."""
    where = "estimate"
    flag_arg(ignore_unknown, f"{where}: ignore_unknown")
    flag_arg(exclude_etns, f"{where}: exclude_etns")
    return (universe_arg(universe, where), returns_arg(returns, where), date_arg(date, f"{where}: date", optional=True),
            mapping_arg(creations, f"{where}: creations", optional=True),
            mapping_arg(holdings, f"{where}: holdings", optional=True), aum_arg(aum, where))


__all__ = [
    "aum_arg",
    "closes_arg",
    "date_arg",
    "estimate_args",
    "flag_arg",
    "mapping_arg",
    "path_arg",
    "real_number",
    "returns_arg",
    "universe_arg",
    "universe_or_path",
    "whole_number",
]
