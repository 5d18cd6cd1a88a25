"""The day's underlying returns from close prices (and, as a last resort, fund changes).

For each underlying, in order of preference:

1. ``price``: its own close-to-close change, when the underlying (a stock, or an index such as
   ``^GSPC`` for SPX) is a column of the price table;
2. ``composition``: the weighted change of its constituents, ``sum_s w_s r_s / sum_s w_s`` over
   the constituents that have prices, when they cover at least ``min_weight`` of it;
3. ``fund change / L``: a daily fund's own reported change divided by its leverage (the
   largest fund on that underlying), when a snapshot of fund changes is given.

Whatever is left has no return and shows up in the estimate's coverage, never as zero.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from .catalog import Universe
from .errors import InputError
from .estimate import DayReturns, compiled
from .sources.holdings import canonical_ticker
from .sources.underlyings import INDEX_PRICE_COLUMNS

PRICE_FILE_PATTERNS = ("us_stocks_close_*.csv*", "us_indexes_close_*.csv*", "etfs_close_*.csv*")
VOLUME_FILE_PATTERNS = ("us_stocks_volume_*.csv*", "etfs_volume_*.csv*")


def read_close_table(path: str | Path) -> pd.DataFrame:
    """A wide close table (``date`` then one column per ticker) -> DataFrame indexed by date.

    Tickers are canonical (``BRK-B`` -> ``BRK.B``); index symbols keep their ``^``.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: file not found")
    try:
        df = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError, EOFError) as exc:
        raise InputError(f"{path}: cannot read the price table ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None
    if df.empty or len(df.columns) < 2:
        raise InputError(f"{path}: no price rows (expected 'date' then one column per ticker)")
    if df.columns[0].lower() != "date":
        raise InputError(f"{path}: first column is {df.columns[0]!r}, expected 'date'")
    dates = pd.to_datetime(df.iloc[:, 0], errors="coerce")
    if dates.isna().any():
        bad = df.iloc[int(np.flatnonzero(dates.isna())[0]), 0]
        raise InputError(f"{path}: date {bad!r} is not a date")
    if dates.duplicated().any():
        raise InputError(f"{path}: duplicate date {dates[dates.duplicated()].iloc[0].date()}")
    values = df.iloc[:, 1:].apply(pd.to_numeric, errors="coerce")
    values.index = pd.DatetimeIndex(dates, name="date")
    values.columns = [c if str(c).startswith("^") else canonical_ticker(c) for c in values.columns]
    return values.sort_index()


def load_price_dir(directory: str | Path, kind: str = "close") -> pd.DataFrame:
    """All close (or, with ``kind="volume"``, share-volume) tables of a price folder (the
    shared-data layout) joined on date."""
    directory = Path(directory)
    patterns = PRICE_FILE_PATTERNS if kind == "close" else VOLUME_FILE_PATTERNS
    if not directory.is_dir():
        raise InputError(f"{directory}: not a directory of price files")
    files = sorted({p for pat in patterns for p in directory.glob(pat)})
    if not files:
        raise InputError(f"{directory}: no {kind} tables ({', '.join(patterns)})")
    tables = [read_close_table(p) for p in files]
    out = tables[0]
    for t in tables[1:]:
        out = out.join(t[[c for c in t.columns if c not in out.columns]], how="outer")
    return out


def _day_rows(closes: pd.DataFrame, date: dt.date) -> tuple[pd.Series, pd.Series]:
    ts = pd.Timestamp(date)
    if ts not in closes.index:
        first, last = closes.index[0].date(), closes.index[-1].date()
        if not (first <= date <= last):
            raise InputError(f"prices: {date} is outside the price table ({first} .. {last})")
        raise InputError(f"prices: {date} is not a trading day in the price table ({date:%A})")
    pos = closes.index.get_loc(ts)
    if pos == 0:
        raise InputError(f"prices: {date} is the first day of the table; no previous close")
    return closes.iloc[pos], closes.iloc[pos - 1]


def returns_from_prices(
    universe: Universe,
    closes: pd.DataFrame,
    date: dt.date | str,
    *,
    fund_changes: dict[str, float] | None = None,
    fund_changes_label: str = "reported change",
    min_weight: float = 0.5,
    source: str = "prices",
) -> DayReturns:
    """Close-to-close returns of every underlying in ``universe`` on ``date`` (see module doc).

    ``fund_changes`` maps fund tickers to their own return that day (fractions), used only for
    underlyings that neither prices nor compositions can cover.
    """
    if isinstance(date, str):
        date = dt.date.fromisoformat(date)
    today, prev = _day_rows(closes, date)
    with np.errstate(divide="ignore", invalid="ignore"):
        day = (today / prev - 1.0).replace([np.inf, -np.inf], np.nan)
    c = compiled(universe)
    values: dict[str, float] = {}
    methods: dict[str, str] = {}

    # 1. own price (stocks by ticker, indexes through their index symbol)
    for uid in c.underlying_ids:
        col = INDEX_PRICE_COLUMNS.get(uid, uid)
        r = day.get(col)
        if r is not None and np.isfinite(r):
            values[uid] = float(r)
            methods[uid] = f"price ({col})"

    # 2. compositions: one weighted sum over the COO matrix
    stock_r = day.reindex(c.stock_tickers).to_numpy(dtype=float)
    priced = np.isfinite(stock_r)
    w = c.comp_weight * priced[c.comp_stock]
    num = np.bincount(c.comp_underlying, weights=w * np.nan_to_num(stock_r)[c.comp_stock], minlength=c.n_underlyings)
    den = np.bincount(c.comp_underlying, weights=w, minlength=c.n_underlyings)
    for j in np.flatnonzero(c.has_composition & (den >= min_weight)):
        uid = c.underlying_ids[j]
        if uid not in values:
            values[uid] = float(num[j] / den[j])
            methods[uid] = f"composition ({den[j]:.0%} of weight priced)"

    # 3. last resort: the largest daily fund's own change / L
    if fund_changes:
        by_ticker = universe.fund_by_ticker
        candidates = sorted(
            (f for t, f in by_ticker.items() if t in fund_changes and f.reset == "daily"),
            key=lambda f: -(f.aum_usd or 0.0),
        )
        for fund in candidates:
            if fund.underlying not in values:
                values[fund.underlying] = fund_changes[fund.ticker] / fund.leverage
                methods[fund.underlying] = f"{fund.ticker} {fund_changes_label} / {fund.leverage:g}"
    return DayReturns(values=values, date=date, basis="close-to-close", source=source, methods=methods)


def read_returns_file(path: str | Path) -> dict[str, float]:
    """Returns from a user file, as fractions keyed by underlying id or fund ticker.

    * CSV: a key column (``underlying``, ``ticker``, ``id``, ``key`` or ``symbol``) and a
      ``return`` column;
    * JSON: ``{"NDX": -0.0183, "SOXL": -0.16}`` or ``{"returns": {...}}``.

    Values are checked where they are read (see :func:`lev_flows.estimate.check_return`), so
    an error names the file and the key.
    """
    import json

    from .estimate import check_return

    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: file not found")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: empty file")
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(path.read_text("utf-8-sig"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"{path}: invalid JSON ({exc})") from None
        if isinstance(data, dict) and isinstance(data.get("returns"), dict):
            data = data["returns"]
        if not isinstance(data, dict) or not data:
            raise InputError(f"{path}: expected a JSON object of key -> return")
        return {str(k): check_return(str(k), v, str(path)) for k, v in data.items()}
    try:
        df = pd.read_csv(path, dtype=str, encoding="utf-8-sig")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot parse CSV ({str(exc).splitlines()[0]})") from None
    cols = {c.strip().lower(): c for c in df.columns}
    key = next((cols[c] for c in ("underlying", "ticker", "id", "key", "symbol") if c in cols), None)
    ret = next((cols[c] for c in ("return", "ret", "r") if c in cols), None)
    if key is None or ret is None:
        raise InputError(
            f"{path}: needs a key column (underlying/ticker/id) and a 'return' column; found {', '.join(df.columns)}"
        )
    if df.empty:
        raise InputError(f"{path}: header only, no returns")
    out: dict[str, float] = {}
    for i, (k, v) in enumerate(zip(df[key], df[ret]), start=2):
        if not isinstance(k, str) or not k.strip():
            raise InputError(f"{path}: line {i}: blank key")
        k = k.strip()
        if k in out:
            raise InputError(f"{path}: line {i}: {k} appears twice")
        out[k] = check_return(k, v, f"{path}: line {i}")
    return out
