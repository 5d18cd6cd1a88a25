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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .catalog import Universe
from .errors import InputError
from .estimate import DayReturns, compiled
from .lookthrough import composition_matrix
from .sources.holdings import canonical_ticker
from .sources.underlyings import INDEX_PRICE_COLUMNS, TRACKING_ETFS

#: close tables of a price folder, in order of precedence where two carry the same ticker on the
#: same day (``funds_close_*`` supersedes ``etfs_close_*``, see ../shared/data/SOURCES.md)
PRICE_FILE_PATTERNS = tuple(
    f"{k}_close_*.{ext}" for k in ("funds", "us_stocks", "us_indexes", "etfs") for ext in ("csv*", "parquet")
)
VOLUME_FILE_PATTERNS = tuple(f"{k}_volume_*.{ext}" for ext in ("csv*", "parquet") for k in ("us_stocks", "etfs"))


def read_close_table(path: str | Path, kind: str = "close") -> pd.DataFrame:
    """A wide close table (``date`` then one column per ticker; CSV, gzipped CSV or Parquet,
    where ``date`` may be the index) -> DataFrame indexed by date. A cell that is there but is
    not a number is an error, and so is a close that is not positive (``kind="volume"``: a
    negative volume).

    Tickers are canonical (``BRK-B`` -> ``BRK.B``); index symbols keep their ``^``.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: file not found")
    try:
        if path.suffix == ".parquet":
            df = pd.read_parquet(path)
            df = df.reset_index() if df.index.name and df.index.name.lower() == "date" else df
        else:
            df = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError, EOFError, ValueError) as exc:
        raise InputError(f"{path}: cannot read the price table ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None
    if df.empty or len(df.columns) < 2:
        raise InputError(f"{path}: no price rows (expected 'date' then one column per ticker)")
    if df.columns[0].lower() != "date":
        raise InputError(f"{path}: first column is {df.columns[0]!r}, expected 'date'")
    dates = _session_dates(df.iloc[:, 0])
    if dates.isna().any():
        bad = df.iloc[int(np.flatnonzero(dates.isna())[0]), 0]
        raise InputError(f"{path}: date {bad!r} is not a date")
    if dates.duplicated().any():
        raise InputError(f"{path}: duplicate date {dates[dates.duplicated()].iloc[0].date()}")
    raw = df.iloc[:, 1:]
    values = raw.apply(pd.to_numeric, errors="coerce")
    text = raw.notna() & values.isna()  # a cell that is there but is not a number
    if text.to_numpy().any():
        i, j = np.argwhere(text.to_numpy())[0]
        raise InputError(f"{path}: {raw.columns[j]} on {dates.iloc[i]:%Y-%m-%d}: {raw.iat[i, j]!r} is not a number"
                         " (no thousands separators or currency signs)")
    from .plausibility import check_closes

    check_closes(values.to_numpy(dtype=float), list(dates), list(values.columns), str(path), allow_zero=kind == "volume")
    values.index = pd.DatetimeIndex(dates, name="date")
    values.columns = [c if str(c).startswith("^") else canonical_ticker(c) for c in values.columns]
    return values.sort_index()


def _session_dates(values: pd.Series) -> pd.Series:
    """A price table's dates as naive session dates. A timezone-aware or mixed-timezone stamp
    (``2026-02-03T00:00:00+00:00``, ``2026-02-04 00:00:00-05:00``) is the date it was written
    with: the offset is dropped, never applied (applying UTC midnight in New York would move a
    session to the day before)."""
    text = values.astype(str).str.strip()
    aware = text.str.contains(r"(?:[+-]\d\d:?\d\d|Z)$", regex=True)
    if not aware.any():
        return pd.to_datetime(values, errors="coerce")
    written = text.where(~aware, text.str.slice(0, 10))
    return pd.to_datetime(written, errors="coerce", format="mixed")


def load_price_dir(directory: str | Path, kind: str = "close") -> pd.DataFrame:
    """All close (or, with ``kind="volume"``, share-volume) tables of a price folder (the
    shared-data layout) joined on date."""
    directory = Path(directory)
    patterns = PRICE_FILE_PATTERNS if kind == "close" else VOLUME_FILE_PATTERNS
    if not directory.is_dir():
        raise InputError(f"{directory}: not a directory of price files")
    files = list(dict.fromkeys(p for pat in patterns for p in sorted(directory.glob(pat))))
    if not files:
        raise InputError(f"{directory}: no {kind} tables ({', '.join(patterns)})")
    key = _parsed_key(files, kind)
    cached = _read_parsed(key)
    if cached is not None:
        return cached
    out = _join_tables(files, [read_close_table(p, kind) for p in files])
    _write_parsed(key, out)
    return out


#: bump when parsing or joining changes, so older parsed copies are not read
_PARSED_VERSION = 1
#: parsed copies kept (the newest; each is a few MB)
PARSED_KEEP = 8


def _parsed_key(files: list[Path], kind: str) -> str | None:
    """SHA-256 of the tables' names and bytes (any edit misses the parsed copy); None when a
    file cannot be read (the parse then says why)."""
    import hashlib

    digest = hashlib.sha256(f"{_PARSED_VERSION}|{kind}|pandas {pd.__version__}".encode())
    try:
        for path in files:
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    except OSError:
        return None
    return digest.hexdigest()


def _parsed_path(key: str) -> Path:
    from .io import default_cache_dir

    return default_cache_dir() / "prices" / f"{key}.parquet"


def _read_parsed(key: str | None) -> pd.DataFrame | None:
    """The parsed, joined and session-checked tables kept from an earlier run (Parquet, 0.1 s
    instead of about 2 s of CSV parsing and checks); None on a miss or an unreadable copy."""
    if key is None:
        return None
    path = _parsed_path(key)
    if not path.is_file():
        return None
    try:
        return pd.read_parquet(path)
    except Exception:  # noqa: BLE001 - only a cache: a damaged copy is parsed again
        return None


def _write_parsed(key: str | None, table: pd.DataFrame) -> None:
    if key is None:
        return
    import io

    from .io import atomic_write_bytes, prune_cache

    try:
        buf = io.BytesIO()
        table.to_parquet(buf)
        path = _parsed_path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, buf.getvalue(), force=True)
        prune_cache(path.parent, "*.parquet", keep=PARSED_KEEP)
    except Exception:  # noqa: BLE001 - a cache that cannot be written is no error
        pass


def _join_tables(files: list[Path], tables: list[pd.DataFrame]) -> pd.DataFrame:
    """The tables joined on date (earlier files win, later ones fill their gaps), cut to a
    common span and to NYSE sessions."""
    # long index histories (from 2010) are cut to the span of the other tables
    spans = [t.index for p, t in zip(files, tables) if not p.name.startswith("us_indexes")]
    if spans:
        lo = min(ix[0] for ix in spans)
        tables = [t.loc[lo:] if p.name.startswith("us_indexes") else t for p, t in zip(files, tables)]
    out = tables[0]
    for t in tables[1:]:
        new = [c for c in t.columns if c not in out.columns]
        shared_cols = [c for c in t.columns if c in out.columns]
        out = out.join(t[new], how="outer")
        if shared_cols:  # earlier tables win; later ones fill their gaps (dates and tickers)
            out[shared_cols] = out[shared_cols].combine_first(t[shared_cols].reindex(out.index))
    return drop_non_sessions(out)


def drop_non_sessions(table: pd.DataFrame) -> pd.DataFrame:
    """Drop rows dated on NYSE holidays or weekends (a stray quote on Memorial Day would
    otherwise blank the next day's returns); the dropped dates go to ``attrs["dropped_dates"]``."""
    from .calendar import session_rows

    keep = session_rows(table.index).to_numpy()
    out = table[keep]
    out.attrs["dropped_dates"] = [d.date().isoformat() for d in table.index[~keep]]
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
    check_previous_session(closes.index, date, "prices")
    return closes.iloc[pos], closes.iloc[pos - 1]


def check_previous_session(index: pd.DatetimeIndex, day: dt.date, where: str) -> None:
    """The session before ``day`` must be a row of a price table that has rows before it: a
    change across a gap is not one day's return."""
    from .calendar import in_range, previous_session

    if not in_range(day) or len(index) == 0 or pd.Timestamp(day) <= index[0]:
        return
    prev = previous_session(day)
    if pd.Timestamp(prev) not in index:
        before = index[index < pd.Timestamp(day)]
        last = f"; its row before {day} is {before[-1].date()}" if len(before) else ""
        raise InputError(f"{where}: the session before {day} ({prev}) is missing from the price table{last}; "
                         "a change across a gap is not one day's return")


#: how each underlying's return was obtained, in :func:`underlying_return_matrix`
METHOD_NONE, METHOD_PRICE, METHOD_COMPOSITION, METHOD_FUND, METHOD_ETF = 0, 1, 2, 3, 4


@dataclass(frozen=True)
class ReturnMatrix:
    """Underlying returns for many days: ``values`` (T, U) fractions, NaN where unknown.

    ``method`` (T, U) holds ``METHOD_*`` codes, ``priced_weight`` (T, U) the share of a
    composition's weight with prices, ``fund_used`` (T, U) the index into ``universe.funds`` of
    the fund whose change / L was used (-1 otherwise).
    """

    dates: pd.DatetimeIndex
    underlying_ids: np.ndarray
    values: np.ndarray
    method: np.ndarray
    priced_weight: np.ndarray
    fund_used: np.ndarray

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.values, index=self.dates, columns=self.underlying_ids)


def clean_fund_returns(fund_r: np.ndarray) -> np.ndarray:
    """A fund's own daily returns with data defects blanked (NaN): changes outside
    (-100 %, +100 %] (unadjusted splits) and exact zeros (a repeated, stale close)."""
    return np.where((fund_r > -1.0) & (fund_r <= 1.0) & (fund_r != 0.0), fund_r, np.nan)


def underlying_return_matrix(
    universe: Universe,
    day_returns: pd.DataFrame,
    *,
    fund_returns: pd.DataFrame | None = None,
    min_weight: float = 0.5,
) -> ReturnMatrix:
    """Every underlying's return on every row of ``day_returns`` (T days x tickers, fractions).

    In order of directness: the underlying's own price column (a stock, or an index level such
    as ``^GSPC``); its declared tracking ETF (``TRACKING_ETFS``: QQQ for the Nasdaq-100, SOXX for
    the semiconductor index ...); the change of the largest daily fund on it with a value in
    ``fund_returns`` divided by its leverage (changes outside -100 % .. +100 %, such as
    unadjusted reverse splits, and stale repeats are skipped as data defects); last, the
    composition ``sum_s w_s r_s / sum_s w_s`` when the priced weight is at least
    ``min_weight``. All steps are array operations over the T rows at once.
    """
    c = compiled(universe)
    T, U = len(day_returns), c.n_underlyings
    values = np.full((T, U), np.nan)
    method = np.zeros((T, U), dtype=np.int8)

    def fill(candidate: np.ndarray, code: int) -> None:
        use = (method == METHOD_NONE) & np.isfinite(candidate)
        values[use], method[use] = candidate[use], code

    # 1. own price: a single stock by its ticker, an index through its index symbol (other ids
    #    are names of ours, not tickers: "GOLD" or "ETH" columns are other securities)
    cols = np.array(
        [INDEX_PRICE_COLUMNS.get(u, u if single else "") for u, single in zip(c.underlying_ids, c.underlying_is_single_stock)],
        dtype=object,
    )
    fill(day_returns.reindex(columns=cols).to_numpy(dtype=float), METHOD_PRICE)
    # 2. the declared tracking ETF
    etfs = np.array([TRACKING_ETFS.get(u, "") for u in c.underlying_ids], dtype=object)
    fill(day_returns.reindex(columns=etfs).to_numpy(dtype=float), METHOD_ETF)

    # 3. the largest daily fund with a change that day, change / L
    fund_used = np.full((T, U), -1, dtype=np.int64)
    if fund_returns is not None and len(fund_returns.columns):
        fund_r = clean_fund_returns(fund_returns.reindex(index=day_returns.index, columns=c.tickers).to_numpy(dtype=float))
        cand = np.flatnonzero(c.resets_daily & np.isfinite(fund_r).any(axis=0))
        if len(cand):
            # candidates grouped by underlying, largest AUM first within a group
            cand = cand[np.lexsort((-np.nan_to_num(c.aum_usd[cand]), c.fund_underlying[cand]))]
            group = c.fund_underlying[cand]
            starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
            finite = np.isfinite(fund_r[:, cand])
            rank = np.where(finite, np.arange(len(cand)), len(cand))
            first = np.minimum.reduceat(rank, starts, axis=1)  # (T, groups)
            found = first < len(cand)
            chosen = cand[np.minimum(first, len(cand) - 1)]
            und = group[starts]
            r = fund_r[np.arange(T)[:, None], chosen] / c.leverage[chosen]
            fill_ = found & (method[:, und] == METHOD_NONE)
            rows, k = np.nonzero(fill_)
            values[rows, und[k]] = r[rows, k]
            method[rows, und[k]] = METHOD_FUND
            fund_used[rows, und[k]] = chosen[rows, k]

    # 4. compositions: two products with the (U, S) weight matrix
    stock_r = day_returns.reindex(columns=c.stock_tickers).to_numpy(dtype=float)
    priced = np.isfinite(stock_r)
    weights = composition_matrix(c)
    num = np.nan_to_num(stock_r) @ weights.T
    den = priced.astype(float) @ weights.T
    use = (method == METHOD_NONE) & c.has_composition & (den >= min_weight)
    with np.errstate(invalid="ignore", divide="ignore"):
        values[use] = (num / den)[use]
    method[use] = METHOD_COMPOSITION
    return ReturnMatrix(pd.DatetimeIndex(day_returns.index), c.underlying_ids, values, method, den, fund_used)


def daily_returns(closes: pd.DataFrame) -> pd.DataFrame:
    """Close-to-close changes, NaN where either close is missing (never forward-filled)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return closes.pct_change(fill_method=None).replace([np.inf, -np.inf], np.nan).iloc[1:]


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
    frame = day.to_frame(name=pd.Timestamp(date)).T  # the day's own date: the arithmetic drops the rows' names
    funds = pd.DataFrame([fund_changes], index=frame.index) if fund_changes else None
    m = underlying_return_matrix(universe, frame, fund_returns=funds, min_weight=min_weight)
    return day_returns_from_matrix(universe, m, 0, source=source, fund_label=fund_changes_label)


def day_returns_from_matrix(
    universe: Universe, m: ReturnMatrix, row: int, *, source: str, fund_label: str = "change"
) -> DayReturns:
    """One row of a :class:`ReturnMatrix` as :class:`DayReturns`, with a method per underlying."""
    c = compiled(universe)
    values: dict[str, float] = {}
    methods: dict[str, str] = {}
    for j in np.flatnonzero(m.method[row] != METHOD_NONE):
        uid, code = str(c.underlying_ids[j]), m.method[row, j]
        values[uid] = float(m.values[row, j])
        if code == METHOD_PRICE:
            methods[uid] = f"price ({INDEX_PRICE_COLUMNS.get(uid, uid)})"
        elif code == METHOD_ETF:
            methods[uid] = f"tracking ETF ({TRACKING_ETFS[uid]})"
        elif code == METHOD_COMPOSITION:
            methods[uid] = composition_label(universe, uid, m.priced_weight[row, j], m.dates[row].date())
        else:
            i = m.fund_used[row, j]
            methods[uid] = f"{c.tickers[i]} {fund_label} / {c.leverage[i]:g}"
    return DayReturns(values=values, date=m.dates[row].date(), basis="close-to-close", source=source, methods=methods)


def composition_label(universe: Universe, underlying: str, priced_weight: float, day: dt.date) -> str:
    """``composition (82% of weight priced, as of 2026-08-03, look-ahead)``: the composition's
    date is shown, and one dated after the day it prices is marked as look-ahead."""
    comp = universe.composition_of(underlying)
    as_of = comp.as_of if comp is not None else None
    when = f", as of {as_of}" if as_of is not None and comp.source != "single stock" else ""
    ahead = ", look-ahead" if as_of is not None and comp.source != "single stock" and as_of > day else ""
    return f"composition ({priced_weight:.0%} of weight priced{when}{ahead})"


def _no_duplicate_keys(path: Path):
    """A JSON object hook that refuses a key given twice (the CSV reader refuses it too; JSON
    would silently keep the last)."""

    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        for k, v in pairs:
            if k in seen:
                raise InputError(f"{path}: {k} appears twice")
            seen[k] = v
        return seen

    return hook


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

    from .io import check_input_file

    path = check_input_file(path, "returns file")
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(path.read_text("utf-8-sig"), object_pairs_hook=_no_duplicate_keys(path))
        except InputError:
            raise
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"{path}: invalid JSON ({exc})") from None
        except (ValueError, RecursionError) as exc:  # a 5,000-digit number, arrays nested 100,000 deep
            raise InputError(f"{path}: unreadable JSON ({str(exc).split(';')[0]})") from None
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
