"""Price tables from files: the close and volume tables of a price folder (CSV, gzip, Parquet),
put on the NYSE sessions and kept parsed in the cache, and a user's returns file.

This is where prices enter; :mod:`lev_flows.model.returns` turns them into the day's returns.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lev_flows.errors import InputError
from lev_flows.inputs.sources.holdings import canonical_ticker

#: close tables of a price folder, in order of precedence where two carry the same ticker on the
#: same day (``funds_close_*`` supersedes ``etfs_close_*``, see ../shared/data/SOURCES.md)
PRICE_FILE_PATTERNS = tuple(
    f"{k}_close_*.{ext}" for k in ("funds", "us_stocks", "us_indexes", "etfs") for ext in ("csv*", "parquet")
)
VOLUME_FILE_PATTERNS = tuple(f"{k}_volume_*.{ext}" for ext in ("csv*", "parquet") for k in ("us_stocks", "etfs"))


#: the most cells (rows x tickers) a price table may have: 50 M floats are 400 MB in memory
MAX_PRICE_CELLS = 50_000_000
_COMPRESSION = {".bz2": "bz2", ".xz": "xz", ".zip": "zip", ".zst": "zstd"}  # gzip: unpacked by open_input


def read_close_table(path: str | Path, kind: str = "close") -> pd.DataFrame:
    """A wide close table (``date`` then one column per ticker; CSV, gzipped CSV or Parquet,
    where ``date`` may be the index) -> DataFrame indexed by date. A cell that is there but is
    not a number is an error, and so is a close that is not positive (``kind="volume"``: a
    negative volume). A file that is not a regular file, or over the price-table limits
    (:data:`lev_flows.io.INPUT_LIMITS`: bytes, rows, columns; ``MAX_PRICE_CELLS``), is refused
    before it is parsed.

    Tickers are canonical (``BRK-B`` -> ``BRK.B``); index symbols keep their ``^``.
    """
    from lev_flows.io import check_input_file

    path = check_input_file(path, "price table", kind="price table", allow_empty=True)
    if path.stat().st_size == 0:
        raise InputError(f"{path}: cannot read the price table (an empty file)")
    try:
        df = _read_parquet_table(path) if path.suffix == ".parquet" else _read_csv_table(path)
    except InputError:
        raise
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError, EOFError, ValueError) as exc:
        raise InputError(f"{path}: cannot read the price table ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None
    # both readers give the first column as the index (slicing it off an 800-column frame costs
    # more than the parse)
    if df.empty or len(df.columns) < 1:
        raise InputError(f"{path}: no price rows (expected 'date' then one column per ticker)")
    if str(df.index.name).lower() != "date":
        raise InputError(f"{path}: first column is {df.index.name!r}, expected 'date'")
    raw_dates = pd.Series(df.index, dtype=df.index.dtype)
    dates = _session_dates(raw_dates)
    if dates.isna().any():
        bad = raw_dates.iloc[int(np.flatnonzero(dates.isna())[0])]
        raise InputError(f"{path}: date {bad!r} is not a date")
    if dates.duplicated().any():
        raise InputError(f"{path}: duplicate date {dates[dates.duplicated()].iloc[0].date()}")
    values = _numeric(df.reset_index(drop=True), dates, path)
    from lev_flows.inputs.plausibility import check_closes

    floats = values.to_numpy(dtype=float)
    check_closes(floats, dates.array, list(values.columns), str(path), allow_zero=kind == "volume")
    index = pd.DatetimeIndex(dates, name="date")
    columns = _unique_tickers(list(values.columns), path)
    if all(t == np.float64 for t in values.dtypes):  # one block, not one per column: the joins are 10x faster
        return pd.DataFrame(floats, index=index, columns=columns).sort_index()
    values.index, values.columns = index, columns
    return values.sort_index()


def _read_csv_table(path: Path) -> pd.DataFrame:
    """The CSV's header counted first (a table wider than the limit is refused unparsed), then
    at most the rows and cells the limits allow read through the bounded stream; the first
    column is the index."""
    from lev_flows.io import INPUT_LIMITS, check_table_rows, header_columns, open_input

    limit = INPUT_LIMITS["price table"]
    columns = header_columns(path, "price table", kind="price table")
    rows = min(limit.max_rows, MAX_PRICE_CELLS // max(columns, 1))
    with open_input(path, "price table", kind="price table") as fh:
        df = pd.read_csv(fh, nrows=rows + 1, compression=_COMPRESSION.get(path.suffix.lower()), index_col=0)
    if df.index.name is None:  # a blank first header cell: named as the parser names it without index_col
        df.index.name = "Unnamed: 0"
    check_table_rows(len(df), path, f"price table of {columns:,} columns (at most {MAX_PRICE_CELLS:,} cells)",
                     kind="price table")
    return df


def _read_parquet_table(path: Path) -> pd.DataFrame:
    """A Parquet price table, its shape checked from the file's metadata before it is read; its
    ``date`` index, or else its first column, is the index."""
    import pyarrow.parquet as pq

    from lev_flows.io import INPUT_LIMITS

    limit = INPUT_LIMITS["price table"]
    meta = pq.read_metadata(path)
    if meta.num_columns > limit.max_columns or meta.num_rows > limit.max_rows or meta.num_rows * meta.num_columns > MAX_PRICE_CELLS:
        raise InputError(f"{path}: {meta.num_rows:,} rows x {meta.num_columns:,} columns, over the price-table limits "
                         f"({limit.max_rows:,} rows, {limit.max_columns:,} columns, {MAX_PRICE_CELLS:,} cells)")
    df = pd.read_parquet(path)
    if df.index.name and str(df.index.name).lower() == "date":
        return df
    return df.set_index(df.columns[0]) if len(df.columns) else df  # the first column as the index, as the CSV reader


def _numeric(raw: pd.DataFrame, dates: pd.Series, path: Path) -> pd.DataFrame:
    """The price columns as numbers: the columns the parser read as numbers are kept as they are
    (no copy); the others are converted, and a cell that is there but is not a number is an
    error naming ticker and date."""
    convert = [j for j, t in enumerate(raw.dtypes) if not pd.api.types.is_numeric_dtype(t)]
    if not convert:
        return raw
    sub = raw.iloc[:, convert]
    values = sub.apply(pd.to_numeric, errors="coerce")
    text = (sub.notna() & values.isna()).to_numpy()  # a cell that is there but is not a number
    if text.any():
        i, j = np.argwhere(text)[0]
        raise InputError(f"{path}: {sub.columns[j]} on {dates.iloc[i]:%Y-%m-%d}: {sub.iat[i, j]!r} is not a number"
                         " (no thousands separators or currency signs)")
    out = raw.copy()
    for k, j in enumerate(convert):
        out.isetitem(j, values.iloc[:, k])
    return out


def _unique_tickers(names: list, path: Path) -> list[str]:
    """The columns as canonical tickers (``BRK-B`` -> ``BRK.B``, index symbols keep their ``^``),
    each once: ``STK1`` given twice (the CSV parser renames the second ``STK1.1``), or ``ZQA``
    beside ``zqa`` (one ticker), is an error naming both, never one of them kept silently."""
    import re

    raw = [str(c) for c in names]
    for name in raw:
        m = re.fullmatch(r"(.+)\.(\d+)", name)
        if m and m.group(1) in raw:  # the parser's mark of a repeated header
            raise InputError(f"{path}: column {m.group(1)!r} appears twice in the header; give each ticker once")
    tickers = [c if c.startswith("^") else canonical_ticker(c) for c in raw]
    seen: dict[str, str] = {}
    for name, ticker in zip(raw, tickers):
        if ticker in seen:
            raise InputError(f"{path}: columns {seen[ticker]!r} and {name!r} are the same ticker {ticker}; give each ticker once")
        seen[ticker] = name
    return tickers


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
    shared-data layout) joined on date. Every table is checked as a user file first
    (:func:`lev_flows.io.check_input_file`: a link to ``/dev/zero``, a FIFO or a 5 GB file is
    refused unread); the parsed result is kept in the cache (see :func:`_read_parsed`)."""
    from lev_flows.inputs.args import path_arg
    from lev_flows.io import check_input_file

    directory = path_arg(directory, "price folder")  # not 123, not a 5,000-character name
    patterns = PRICE_FILE_PATTERNS if kind == "close" else VOLUME_FILE_PATTERNS
    if not directory.is_dir():
        raise InputError(f"{directory}: not a directory of price files")
    files = list(dict.fromkeys(p for pat in patterns for p in sorted(directory.glob(pat))))
    if not files:
        raise InputError(f"{directory}: no {kind} tables ({', '.join(patterns)})")
    files = [check_input_file(p, f"{kind} table", kind="price table", allow_empty=True) for p in files]
    sources = _sources(files, kind)
    cached = _read_parsed(sources)
    if cached is not None:
        return cached
    out = _join_tables(files, [read_close_table(p, kind) for p in files])
    _write_parsed(sources, out)
    return out


#: bump when parsing, joining or the cached copy's layout changes, so older copies are not read
_PARSED_VERSION = 2
#: parsed copies kept (the newest; each is a few MB)
PARSED_KEEP = 8


def _sources(files: list[Path], kind: str) -> dict[str, Any] | None:
    """What a parsed copy is made from: each table's name and identity (size, modification and
    change times, inode: :func:`lev_flows.io.file_identity`), the kind and the parser's version.
    Nothing is read, so the key costs microseconds whatever the files' size. None when a file
    cannot be stat'ed (the parse then says why)."""
    from lev_flows.io import file_identity

    try:
        ident = [[str(p.resolve()), *file_identity(p)] for p in files]
    except OSError:
        return None
    return {"kind": f"prices/{kind}", "version": _PARSED_VERSION, "pandas": pd.__version__, "files": ident}


def _parsed_path(sources: dict[str, Any] | str) -> Path:
    import hashlib
    import json

    from lev_flows.io import default_cache_dir

    key = sources if isinstance(sources, str) else hashlib.sha256(json.dumps(sources, sort_keys=True).encode()).hexdigest()[:32]
    return default_cache_dir() / "prices" / f"{key}.prices"


def _read_parsed(sources: dict[str, Any] | None) -> pd.DataFrame | None:
    """The parsed, joined and session-checked tables kept from an earlier run (about 0.03 s
    instead of about 1 s of CSV parsing and checks), used only when the copy's header names the
    same source files with the same identity and its content has the SHA-256 it was written with
    (:func:`lev_flows.io.read_cache`): an edited table (even with its modification time put
    back) or an edited copy is parsed again. None on a miss."""
    from lev_flows.io import read_cache

    if sources is None:
        return None
    got = read_cache(_parsed_path(sources), sources)
    if got is None:
        return None
    try:
        return _decode_table(*got)
    except (KeyError, ValueError, TypeError, IndexError):  # a copy of an unexpected layout: parsed again
        return None


def _write_parsed(sources: dict[str, Any] | None, table: pd.DataFrame) -> None:
    from lev_flows.io import prune_cache, write_cache

    encoded = _encode_table(table) if sources is not None else None
    if encoded is None:
        return
    payload, layout = encoded
    path = _parsed_path(sources)
    if write_cache(path, payload, {**sources, "layout": layout}):
        prune_cache(path.parent, "*.prices", keep=PARSED_KEEP)
        prune_cache(path.parent, "*.parquet", keep=0)  # the copies of version 1


def _encode_table(table: pd.DataFrame) -> tuple[bytes, dict[str, Any]] | None:
    """A date-indexed table of numeric columns as raw column-major arrays, one block per dtype,
    and the layout to rebuild it (columns, dates, dtypes, attrs); None for a table it cannot
    keep exactly (columns that are not text, a dtype that is not a plain number)."""
    import json

    index = table.index
    if not isinstance(index, pd.DatetimeIndex) or index.tz is not None or not all(isinstance(c, str) for c in table.columns):
        return None
    groups: dict[str, list[int]] = {}
    for j, t in enumerate(table.dtypes):
        if not isinstance(t, np.dtype) or t.kind not in "fiub":
            return None
        groups.setdefault(t.str, []).append(j)
    chunks, blocks, offset = [np.asarray(index.asi8, dtype="<i8").tobytes()], [], len(index) * 8
    for dtype, positions in groups.items():
        data = np.ascontiguousarray(table.iloc[:, positions].to_numpy(dtype=np.dtype(dtype)).T).tobytes()
        blocks.append({"dtype": dtype, "positions": positions, "offset": offset})
        chunks.append(data)
        offset += len(data)
    try:
        attrs = json.loads(json.dumps(table.attrs))
    except (TypeError, ValueError):
        return None
    layout = {"rows": len(index), "unit": np.datetime_data(index.dtype)[0], "name": index.name,
              "columns": list(table.columns), "columns_dtype": str(table.columns.dtype), "blocks": blocks, "attrs": attrs}
    return b"".join(chunks), layout


def _decode_table(payload: bytes, head: dict[str, Any]) -> pd.DataFrame:
    """The table :func:`_encode_table` kept (values, dtypes, column order, dates, attrs)."""
    layout = head["layout"]
    rows, columns = int(layout["rows"]), layout["columns"]
    index = pd.DatetimeIndex(np.frombuffer(payload, dtype="<i8", count=rows).astype(f"datetime64[{layout['unit']}]"),
                             name=layout["name"])
    parts, order = [], []
    for block in layout["blocks"]:
        n = len(block["positions"])
        arr = np.frombuffer(payload, dtype=block["dtype"], count=rows * n, offset=block["offset"]).reshape(n, rows)
        parts.append(pd.DataFrame(arr.T.copy(order="F"), index=index, copy=False))
        order += block["positions"]
    out = parts[0] if len(parts) == 1 else pd.concat(parts, axis=1)
    if order != list(range(len(columns))):
        out = out.iloc[:, np.argsort(order, kind="stable")]
    out.columns = pd.Index(columns, dtype=layout["columns_dtype"])
    out.attrs = dict(layout["attrs"])
    return out


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
            out = _fill_gaps(out, t[shared_cols].reindex(out.index))
    return drop_non_sessions(out)


def _fill_gaps(out: pd.DataFrame, later: pd.DataFrame) -> pd.DataFrame:
    """``out`` with its missing cells in ``later``'s columns taken from ``later`` (the result of
    ``combine_first``; done on one float array when both are floats, 30 times faster)."""
    cols = list(later.columns)
    mine = out[cols]
    if not all(t == np.float64 for t in (*mine.dtypes, *later.dtypes)):
        out[cols] = mine.combine_first(later)
        return out
    a, b = mine.to_numpy(copy=True), later.to_numpy()
    gap = np.isnan(a)
    a[gap] = b[gap]
    keep = [c for c in out.columns if c not in set(cols)]
    filled = pd.concat([out[keep], pd.DataFrame(a, index=out.index, columns=mine.columns)], axis=1)
    return filled[out.columns]


def drop_non_sessions(table: pd.DataFrame) -> pd.DataFrame:
    """Drop rows dated on NYSE holidays or weekends (a stray quote on Memorial Day would
    otherwise blank the next day's returns); the dropped dates go to ``attrs["dropped_dates"]``."""
    from lev_flows.inputs.calendar import session_rows

    keep = session_rows(table.index).to_numpy()
    out = table[keep]
    out.attrs["dropped_dates"] = [d.date().isoformat() for d in table.index[~keep]]
    return out


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

    Values are checked where they are read (see :func:`lev_flows.inputs.plausibility.check_return`), so
    an error names the file and the key.
    """
    import io
    import json

    from lev_flows.inputs.plausibility import check_return
    from lev_flows.io import INPUT_LIMITS, read_input_bytes

    path = Path(path)
    is_json = path.suffix.lower() == ".json"
    raw = read_input_bytes(path, "returns file", kind="returns file", table=not is_json)  # regular, within the limits
    if is_json:
        try:
            data = json.loads(raw.decode("utf-8-sig"), object_pairs_hook=_no_duplicate_keys(path))
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
        if len(data) > INPUT_LIMITS["returns file"].max_rows:
            raise InputError(f"{path}: {len(data):,} returns, over the {INPUT_LIMITS['returns file'].max_rows:,} limit for a returns file")
        return {str(k): check_return(str(k), v, str(path)) for k, v in data.items()}
    try:
        df = pd.read_csv(io.BytesIO(raw), dtype=str, encoding="utf-8-sig")
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
