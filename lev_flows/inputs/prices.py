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
    from lev_flows.inputs.plausibility import check_closes

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
    from lev_flows.io import default_cache_dir

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

    from lev_flows.io import atomic_write_bytes, prune_cache

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
    import json

    from lev_flows.inputs.plausibility import check_return
    from lev_flows.io import check_input_file

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
