"""The embedded database of what accumulates over time: AUM observations (and the imports
that brought them), and the intraday path of the live estimate (each ``watch`` refresh).

One DuckDB file, created on first use. Where it lives, in order:

1. the ``path`` argument (the CLI's ``--db``);
2. ``$LEV_FLOWS_DB``;
3. ``platformdirs.user_data_dir("lev_flows") / "lev_flows.duckdb"``.

A fresh store is seeded with the package's curated observations
(``lev_flows/data/aum_observations.csv.gz``, built by ``lev-flows reference build``), so a new
install is point in time without an import step. Every import runs in one transaction after the
whole input has been validated: a failed import changes nothing, and importing the same rows
twice changes nothing (rows are keyed by fund, date, source kind and source).

An observation is the fund's net assets at the **close** of ``date`` (``timing = "close"``), or
at the start of ``date`` (``timing = "open"``, read as the close of the previous session).
When several sources describe the same fund-day, the one with the highest ``precedence`` wins:

==============  ==========  ====================================================
source_kind     precedence  what
==============  ==========  ====================================================
``issuer_nav``  40          an issuer's daily file (net assets, NAV, shares outstanding)
``nport``       35          a fund's SEC N-PORT filing (month-end net assets)
``holdings``    30          an issuer's daily holdings file (sum of market value)
``user``        20          a user's file of ``ticker,date,aum_usd`` rows
``screener``    10          a screener snapshot, dated by its measured lag
==============  ==========  ====================================================
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import io
import os
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from lev_flows.clock import system_now
from lev_flows.errors import LevFlowsError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

DB_ENV = "LEV_FLOWS_DB"
#: how long opening the store waits for another lev-flows process that holds it (DuckDB allows
#: one process at a time; a watch refresh or an import holds it for milliseconds), seconds
LOCK_WAIT_S = 3.0
SEED_FILE = "data/aum_observations.csv.gz"
PRECEDENCE = {"issuer_nav": 40, "nport": 35, "holdings": 30, "user": 20, "screener": 10}
#: columns of an observations frame, in order
COLUMNS = ("ticker", "date", "aum_usd", "nav", "shares_outstanding", "timing", "source_kind", "source", "published")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS aum_observations (
    ticker VARCHAR NOT NULL,
    date DATE NOT NULL,
    aum_usd DOUBLE NOT NULL,
    nav DOUBLE,
    shares_outstanding DOUBLE,
    timing VARCHAR NOT NULL,
    source_kind VARCHAR NOT NULL,
    precedence INTEGER NOT NULL,
    source VARCHAR NOT NULL,
    published DATE,
    imported_at TIMESTAMP NOT NULL,
    fetched_at TIMESTAMP,
    PRIMARY KEY (ticker, date, source_kind, source)
);
CREATE TABLE IF NOT EXISTS intraday_estimates (
    session DATE NOT NULL,
    refreshed_at TIMESTAMP NOT NULL,
    ok BOOLEAN NOT NULL,
    total_usd DOUBLE,
    gross_usd DOUBLE,
    auction_usd DOUBLE,
    funds_priced INTEGER,
    by_index VARCHAR,
    top_funds VARCHAR,
    top_stocks VARCHAR,
    basis VARCHAR,
    source VARCHAR,
    requests INTEGER,
    error VARCHAR,
    recorded_at TIMESTAMP NOT NULL,
    PRIMARY KEY (session, refreshed_at)
);
CREATE TABLE IF NOT EXISTS imports (
    source VARCHAR NOT NULL,
    sha256 VARCHAR NOT NULL,
    rows INTEGER NOT NULL,
    imported_at TIMESTAMP NOT NULL,
    PRIMARY KEY (source, sha256)
);
"""


#: a store made before a column existed gains it (NULL in its old rows)
_MIGRATE = "ALTER TABLE aum_observations ADD COLUMN IF NOT EXISTS fetched_at TIMESTAMP;"


class StoreError(LevFlowsError):
    """The store file cannot be opened (corrupt, locked, unwritable) or an import is invalid."""


def default_path() -> Path:
    """``$LEV_FLOWS_DB`` or the platform's user data folder."""
    env = os.environ.get(DB_ENV)
    if env:
        return Path(env)
    from platformdirs import user_data_dir

    return Path(user_data_dir("lev_flows", appauthor=False)) / "lev_flows.duckdb"


def _seed_bytes() -> bytes:
    return resources.files("lev_flows").joinpath(SEED_FILE).read_bytes()


def read_observation_csv(data: bytes, where: str) -> "pd.DataFrame":
    """Observations in our own CSV shape (``COLUMNS``; gzip accepted) -> validated frame."""
    import pandas as pd

    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise StoreError(f"{where}: corrupt gzip ({exc})") from None
    try:
        df = pd.read_csv(io.BytesIO(data), dtype={"ticker": str, "source": str, "source_kind": str, "timing": str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise StoreError(f"{where}: cannot read observations ({str(exc).splitlines()[0]})") from None
    return validate_observations(df, where)


def validate_observations(df: "pd.DataFrame", where: str) -> "pd.DataFrame":
    """Check an observations frame row by row; raise :class:`StoreError` naming the file, line and
    field of the first bad row. Returns it with normalised types (dates as ``datetime.date``)."""
    import numpy as np
    import pandas as pd

    missing = [c for c in ("ticker", "date", "aum_usd", "source_kind", "source") if c not in df.columns]
    if missing:
        raise StoreError(f"{where}: missing column(s) {', '.join(missing)}")
    df = df.copy()
    for col in COLUMNS:
        if col not in df.columns:
            df[col] = None if col not in ("timing",) else "close"
    df["timing"] = df["timing"].fillna("close")
    if df.empty:
        raise StoreError(f"{where}: no observations")
    tick = df["ticker"]
    blank = ~tick.map(lambda t: isinstance(t, str) and bool(t.strip())).astype(bool)
    if blank.any():
        raise StoreError(f"{where}: row {int(np.flatnonzero(blank.to_numpy())[0]) + 1}: blank ticker")
    raw = df["date"]
    dates = raw if isinstance(raw.dtype, pd.DatetimeTZDtype) else pd.to_datetime(raw.astype(str), errors="coerce", format="mixed")
    if dates.isna().any():
        i = int(np.flatnonzero(dates.isna().to_numpy())[0])
        raise StoreError(f"{where}: row {i + 1} ({tick.iloc[i]}): date {raw.iloc[i]!r} is not a date")
    for col in ("aum_usd", "nav", "shares_outstanding"):
        values = pd.to_numeric(df[col], errors="coerce")
        bad = values.isna() & df[col].notna()
        if col == "aum_usd":
            bad |= values.isna()
        bad |= ~np.isfinite(values.fillna(0.0)) | (values < 0)
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise StoreError(
                f"{where}: row {i + 1} ({df['ticker'].iloc[i]}): {col} {df[col].iloc[i]!r} is not a non-negative number"
            )
        df[col] = values
    from lev_flows.inputs.plausibility import MAX_AUM_USD

    too_big = df["aum_usd"] > MAX_AUM_USD  # more than any fund holds (a unit slip)
    if too_big.any():
        i = int(np.flatnonzero(too_big.to_numpy())[0])
        raise StoreError(f"{where}: row {i + 1} ({df['ticker'].iloc[i]}): aum_usd {df['aum_usd'].iloc[i]:,.0f} is over $1T, "
                         "more than any fund holds (given in thousands?)")
    kinds = ~df["source_kind"].isin(list(PRECEDENCE))
    if kinds.any():
        i = int(np.flatnonzero(kinds.to_numpy())[0])
        raise StoreError(f"{where}: row {i + 1}: source_kind {df['source_kind'].iloc[i]!r} is not one of {', '.join(PRECEDENCE)}")
    timing = ~df["timing"].isin(["close", "open"])
    if timing.any():
        i = int(np.flatnonzero(timing.to_numpy())[0])
        raise StoreError(f"{where}: row {i + 1}: timing {df['timing'].iloc[i]!r} is not 'close' or 'open'")
    df["ticker"] = df["ticker"].str.strip().str.upper()
    df["date"] = dates.dt.date
    df["published"] = pd.to_datetime(df["published"], errors="coerce").dt.date
    df["published"] = df["published"].astype(object).where(df["published"].notna(), None)
    key = df.duplicated(["ticker", "date", "source_kind", "source"])
    if key.any():
        i = int(np.flatnonzero(key.to_numpy())[0])
        raise StoreError(f"{where}: row {i + 1} ({df['ticker'].iloc[i]}): {df['date'].iloc[i]} appears twice for the same source")
    return df[list(COLUMNS)].reset_index(drop=True)


class _Locked(Exception):
    """Another process holds the store file's lock (retried, then a StoreError)."""


class Store:
    """A connection to the store file. Use as a context manager; opened read-write (seeding and
    imports) or read-only (estimates)."""

    def __init__(self, path: str | Path | None = None, *, read_only: bool = False, seed: bool = True):
        self.path = Path(path) if path is not None else default_path()
        if read_only and not self.path.exists():
            read_only = False  # created on first use
        self.read_only = read_only
        self._con = self._connect()
        if not read_only:
            try:
                self._con.execute(_SCHEMA)
                self._con.execute(_MIGRATE)
            except Exception as exc:  # noqa: BLE001 - duckdb error types vary by version
                self.close()
                raise StoreError(f"{self.path}: cannot create the store tables ({_first_line(exc)})") from None
            if seed:
                self.seed()
        elif seed and not self._seeded():
            self.close()
            self.read_only = False
            self._con = self._connect()
            self._con.execute(_SCHEMA)
            self.seed()

    def _connect(self):
        import duckdb

        if not self.read_only:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"{self.path}: cannot create its folder ({exc.strerror or exc})") from None
        if self.path.exists() and self.path.is_dir():
            raise StoreError(f"{self.path}: is a directory, expected a store file")
        from tenacity import (
            Retrying,
            retry_if_exception_type,
            stop_after_delay,
            wait_exponential,
        )

        try:  # another process holding the store for a moment is waited for, up to LOCK_WAIT_S
            for attempt in Retrying(retry=retry_if_exception_type(_Locked), stop=stop_after_delay(LOCK_WAIT_S),
                                    wait=wait_exponential(multiplier=0.05, max=0.5), reraise=True):
                with attempt:
                    return self._connect_once(duckdb)
        except _Locked:
            raise StoreError(f"{self.path}: the store is locked by another lev-flows process (waited {LOCK_WAIT_S:g} s); "
                             "try again when it ends") from None

    def _connect_once(self, duckdb):
        try:
            return duckdb.connect(str(self.path), read_only=self.read_only)
        except Exception as exc:  # noqa: BLE001
            text = str(exc).replace(str(self.path), "")
            if "could not set lock" in text.lower() or "conflicting lock" in text.lower():
                raise _Locked from None
            raise StoreError(
                f"{self.path}: not a readable lev_flows store (corrupt, or not a DuckDB file): {_first_line(exc)}; "
                f"move it away or point --db / ${DB_ENV} elsewhere"
            ) from None

    def close(self) -> None:
        con, self._con = getattr(self, "_con", None), None
        if con is not None:
            con.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- imports ------------------------------------------------------------------------------

    def _seeded(self) -> bool:
        digest = hashlib.sha256(_seed_bytes()).hexdigest()
        try:
            return bool(self._con.execute("SELECT count(*) FROM imports WHERE sha256 = ?", [digest]).fetchone()[0])
        except Exception:  # noqa: BLE001 - a store without tables is not seeded
            return False

    def seed(self) -> int:
        """Import the packaged curated observations unless this exact file was imported before."""
        data = _seed_bytes()
        if self._seeded():
            return 0
        frame = read_observation_csv(data, f"lev_flows/{SEED_FILE}")
        return self.add(frame, source_label=f"packaged {SEED_FILE}", digest=hashlib.sha256(data).hexdigest())

    def add(self, frame: "pd.DataFrame", *, source_label: str, digest: str | None = None) -> int:
        """Insert or replace validated observations in one transaction; record the import.
        Returns the number of rows that are new or changed. A ``fetched_at`` column (UTC, when
        a provider downloaded the row) is kept; a row already stored with the same figures keeps
        its first fetch time (the store records when a figure was first known)."""
        import pandas as pd

        fetched = frame["fetched_at"].to_numpy() if "fetched_at" in frame else None
        frame = validate_observations(frame, source_label)
        frame = frame.assign(
            precedence=frame["source_kind"].map(PRECEDENCE).astype("int32"),
            imported_at=pd.Timestamp(system_now()).tz_localize(None),
            fetched_at=pd.NaT if fetched is None else pd.to_datetime(fetched),
        )
        digest = digest or hashlib.sha256(pd.util.hash_pandas_object(frame[list(COLUMNS)].astype(str), index=False).values.tobytes()).hexdigest()
        con = self._con
        cols = [*COLUMNS, "precedence", "imported_at", "fetched_at"]
        try:
            con.execute("BEGIN TRANSACTION")
            con.register("incoming", frame[cols])
            changed = con.execute(
                """
                SELECT count(*) FROM incoming i LEFT JOIN aum_observations o
                  ON o.ticker = i.ticker AND o.date = i.date AND o.source_kind = i.source_kind AND o.source = i.source
                WHERE o.ticker IS NULL OR o.aum_usd IS DISTINCT FROM i.aum_usd OR o.timing IS DISTINCT FROM i.timing
                   OR o.nav IS DISTINCT FROM i.nav OR o.shares_outstanding IS DISTINCT FROM i.shares_outstanding
                """
            ).fetchone()[0]
            con.execute(
                f"INSERT OR REPLACE INTO aum_observations ({', '.join(cols)}) "
                f"SELECT {', '.join(cols)} FROM incoming i WHERE NOT EXISTS ("
                " SELECT 1 FROM aum_observations o WHERE o.ticker = i.ticker AND o.date = i.date AND"
                " o.source_kind = i.source_kind AND o.source = i.source AND o.aum_usd = i.aum_usd AND o.timing = i.timing"
                " AND o.nav IS NOT DISTINCT FROM i.nav AND o.shares_outstanding IS NOT DISTINCT FROM i.shares_outstanding)"
            )
            con.execute(
                "INSERT OR IGNORE INTO imports VALUES (?, ?, ?, ?)",
                [source_label, digest, int(len(frame)), system_now().replace(tzinfo=None)],
            )
            con.unregister("incoming")
            con.execute("COMMIT")
            best_snapshot_path(self.path).unlink(missing_ok=True)  # the read snapshot is stale now
        except Exception as exc:  # noqa: BLE001
            try:
                con.execute("ROLLBACK")
            except Exception:  # noqa: BLE001
                pass
            if isinstance(exc, LevFlowsError):
                raise
            raise StoreError(f"{self.path}: import of {source_label} failed, nothing changed ({_first_line(exc)})") from None
        return int(changed)

    # ---- the intraday path -----------------------------------------------------------------

    #: columns of a refresh row (``refreshed_at`` is New York wall time, naive; the JSON columns hold
    #: ``{bucket: usd}`` and ``[[ticker, usd], ...]``)
    REFRESH_COLUMNS = ("session", "refreshed_at", "ok", "total_usd", "gross_usd", "auction_usd", "funds_priced", "by_index",
                       "top_funds", "top_stocks", "basis", "source", "requests", "error")

    def add_refresh(self, row: dict) -> None:
        """Append one refresh of the live estimate (replacing one at the same instant), committed
        at once so that an interrupt keeps every refresh before it."""
        cols = [*self.REFRESH_COLUMNS, "recorded_at"]
        values = [row.get(c) for c in self.REFRESH_COLUMNS] + [system_now().replace(tzinfo=None)]
        try:
            self._con.execute(
                f"INSERT OR REPLACE INTO intraday_estimates ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})", values
            )
        except Exception as exc:  # noqa: BLE001
            raise StoreError(f"{self.path}: cannot record the refresh ({_first_line(exc)})") from None

    def intraday(self, session: dt.date) -> "pd.DataFrame":
        """Every recorded refresh of ``session``, in time order."""
        return self._con.execute(
            f"SELECT {', '.join(self.REFRESH_COLUMNS)} FROM intraday_estimates WHERE session = ? ORDER BY refreshed_at", [session]
        ).df()

    def intraday_sessions(self) -> list[dt.date]:
        return [r[0] for r in self._con.execute("SELECT DISTINCT session FROM intraday_estimates ORDER BY session").fetchall()]

    # ---- reads --------------------------------------------------------------------------------

    def observations(self, tickers: list[str] | None = None) -> "pd.DataFrame":
        """Every observation (all sources), sorted by ticker, date, precedence (best last)."""
        q = "SELECT * FROM aum_observations"
        params: list = []
        if tickers:
            q += f" WHERE ticker IN ({', '.join('?' * len(tickers))})"
            params = list(tickers)
        q += " ORDER BY ticker, date, precedence, imported_at"
        return self._con.execute(q, params).df()

    def best_observations(self) -> "pd.DataFrame":
        """One observation per fund and close date: the highest precedence (then the latest
        import). ``open`` observations are moved to the previous session's close by the caller."""
        return self._con.execute(
            """
            SELECT ticker, date, aum_usd, timing, source_kind, source, precedence FROM aum_observations
            QUALIFY row_number() OVER (PARTITION BY ticker, date, timing ORDER BY precedence DESC, imported_at DESC) = 1
            ORDER BY ticker, date
            """
        ).df()

    def summary(self) -> "pd.DataFrame":
        """Rows, funds and date range by source kind."""
        return self._con.execute(
            "SELECT source_kind, count(*) AS rows, count(DISTINCT ticker) AS funds, min(date) AS first, max(date) AS last "
            "FROM aum_observations GROUP BY source_kind ORDER BY max(precedence) DESC"
        ).df()

    def count(self) -> int:
        return int(self._con.execute("SELECT count(*) FROM aum_observations").fetchone()[0])


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def best_snapshot_path(db: Path) -> Path:
    """The read snapshot beside the store ``db``: ``<store>.best.csv``."""
    return Path(db).with_name(Path(db).name + ".best.csv")


def _snapshot_is_fresh(db: Path, snap: Path) -> bool:
    """The read snapshot was written after the store's last change (no write-ahead log left)."""
    try:
        wal = db.with_name(db.name + ".wal")
        return snap.stat().st_mtime_ns >= db.stat().st_mtime_ns and not wal.exists()
    except OSError:
        return False


def load_best_observations(path: str | Path | None = None) -> "pd.DataFrame":
    """The best observation per fund and date from the store at ``path`` (default location),
    creating and seeding it on first use.

    Reads go through a snapshot of this view written beside the store after every import
    (``<store>.best.csv``), used only while it is newer than the store file and was made from the
    package's current seed; otherwise the store itself is opened and the snapshot rewritten.
    Opening DuckDB costs a cold command about 0.2 s, the snapshot a few milliseconds.
    """
    import pandas as pd

    db = Path(path) if path is not None else default_path()
    snap = best_snapshot_path(db)
    digest = hashlib.sha256(_seed_bytes()).hexdigest()
    if db.is_file() and snap.is_file() and _snapshot_is_fresh(db, snap):
        try:
            with open(snap, encoding="utf-8") as fh:
                if fh.readline().strip() == f"# seed {digest}":
                    frame = pd.read_csv(fh, dtype={"ticker": str, "source": str, "source_kind": str, "timing": str})
                    frame["date"] = pd.to_datetime(frame["date"])
                    return frame
        except (OSError, ValueError, pd.errors.ParserError):
            pass  # an unreadable snapshot: read the store
    with Store(db, read_only=True) as store:
        frame = store.best_observations()
    frame["date"] = pd.to_datetime(frame["date"])
    _write_snapshot(snap, frame, digest)
    return frame


def _write_snapshot(snap: Path, frame: "pd.DataFrame", digest: str) -> None:
    import tempfile

    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{snap.name}.", dir=snap.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(f"# seed {digest}\n")
            frame.to_csv(fh, index=False, lineterminator="\n")
        os.replace(tmp, snap)
    except OSError:
        pass  # a read snapshot that cannot be written only costs time


__all__ = ["Store", "StoreError", "default_path", "load_best_observations", "PRECEDENCE", "validate_observations"]
