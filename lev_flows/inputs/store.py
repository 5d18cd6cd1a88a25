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
    from collections.abc import Callable

    import pandas as pd

DB_ENV = "LEV_FLOWS_DB"
#: how long opening the store waits for another lev-flows process that holds it (DuckDB allows
#: one process at a time; a watch refresh or an import holds it for milliseconds), seconds
LOCK_WAIT_S = 3.0
SEED_FILE = "data/aum_observations.csv.gz"
PRECEDENCE = {"issuer_nav": 40, "nport": 35, "holdings": 30, "user": 20, "screener": 10}
#: the read snapshot's columns (a snapshot of another layout is rewritten, never read)
SNAPSHOT_LAYOUT = "nav,shares_outstanding"
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
_MIGRATE = ("ALTER TABLE aum_observations ADD COLUMN IF NOT EXISTS fetched_at TIMESTAMP;"
            "ALTER TABLE intraday_estimates ADD COLUMN IF NOT EXISTS scope VARCHAR;")


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


_ISO_DATE = r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T].*)?$"
_NUMERIC_DATE = r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4}|\d{2})(?:[ T].*)?$"


def parse_dates(raw: "pd.Series", where: str, *, line: "Callable[[int], str]" = lambda i: f"row {i + 1}",
                what: str = "date", month_first: bool = False) -> "pd.Series":
    """A column of dates (``datetime64``), read one way for the whole file: ISO ``YYYY-MM-DD``
    as written; ``DD/MM/YYYY`` or ``MM/DD/YYYY`` (``/``, ``.`` or ``-``) by the order the file
    itself shows, a first field over 12 (day-first) or a second over 12 (month-first). A file
    that shows both orders is refused naming both lines; so is a date such as ``04/02/2026`` in
    a file that shows neither, unless the format is month-first by definition (``month_first``:
    an issuer's US NAV download), never read as 2 April by default. A date that is no date is
    refused naming its line. Other spellings (``Feb 4, 2026``) are read by pandas."""
    import numpy as np
    import pandas as pd

    if isinstance(raw.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(raw.dtype):
        return pd.to_datetime(raw)
    text = raw.map(lambda v: v.isoformat()[:10] if isinstance(v, dt.date) else str(v)).str.strip()
    out = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]")
    iso = text.str.extract(_ISO_DATE)
    num = text.str.extract(_NUMERIC_DATE)
    is_iso, is_num = iso[0].notna(), num[0].notna() & iso[0].isna()
    if is_iso.any():
        out[is_iso] = pd.to_datetime(iso[is_iso].agg("-".join, axis=1), format="%Y-%m-%d", errors="coerce")
    if is_num.any():
        out[is_num] = _numeric_dates(num[is_num], text, where, line, what, month_first)
    rest = ~is_iso & ~is_num
    if rest.any():
        out[rest] = pd.to_datetime(text[rest], errors="coerce", format="mixed")
    if out.isna().any():
        i = int(np.flatnonzero(out.isna().to_numpy())[0])
        raise StoreError(f"{where}: {line(i)}: {what} {raw.iloc[i]!r} is not a date")
    return out


def _numeric_dates(parts: "pd.DataFrame", text: "pd.Series", where: str, line, what: str, month_first: bool) -> "pd.Series":
    """Day/month/year fields -> dates, the order told by the file (see :func:`parse_dates`)."""
    import pandas as pd

    a, b, y = (parts[k].astype(int) for k in (0, 1, 2))
    y = y.where(y >= 100, y + 2000)
    pos = {ix: n for n, ix in enumerate(text.index)}
    nonsense = (a < 1) | (b < 1) | (a > 31) | (b > 31) | ((a > 12) & (b > 12))  # 13/45/2026: no order makes it a date
    if nonsense.any():
        i = nonsense.idxmax()
        raise StoreError(f"{where}: {line(pos[i])}: {what} {text[i]!r} is not a date")
    shows_day, shows_month = a > 12, b > 12  # DD/MM with DD over 12; MM/DD with DD over 12
    if shows_day.any() and shows_month.any():
        i, j = shows_day.idxmax(), shows_month.idxmax()
        raise StoreError(f"{where}: {what}s are written both ways: {line(pos[i])} {text[i]!r} is day-first, "
                         f"{line(pos[j])} {text[j]!r} month-first; write dates as YYYY-MM-DD")
    unclear = a != b
    if not shows_day.any() and not shows_month.any() and not month_first and unclear.any():
        i = unclear.idxmax()
        raise StoreError(f"{where}: {line(pos[i])}: {what} {text[i]!r} is ambiguous (day {a[i]} of month {b[i]}, or "
                         f"month {a[i]} day {b[i]}?) and no date of the file tells; write dates as YYYY-MM-DD")
    day, month = (a, b) if shows_day.any() else (b, a)
    iso = y.astype(str) + "-" + month.astype(str).str.zfill(2) + "-" + day.astype(str).str.zfill(2)
    return pd.to_datetime(iso, format="%Y-%m-%d", errors="coerce")


def latest_possible_date() -> dt.date:
    """The last date an observation can have: today in New York by the market clock, or by the
    machine's clock when the market clock is pinned earlier (a replay, a test: the figures of a
    later day exist then). An observation dated after it has not happened."""
    from zoneinfo import ZoneInfo

    from lev_flows.clock import NEW_YORK, today

    return max(today(), system_now().astimezone(ZoneInfo(NEW_YORK)).date())


def validate_observations(df: "pd.DataFrame", where: str, *, not_after: dt.date | None = None) -> "pd.DataFrame":
    """Check an observations frame row by row; raise :class:`StoreError` naming the file, line and
    field of the first bad row. Returns it with normalised types (dates as ``datetime.date``).
    Dates are read one way per file (:func:`parse_dates`: an ambiguous ``04/02/2026`` is refused);
    ``not_after`` refuses a date after it (an import passes :func:`latest_possible_date`); net
    assets that disagree with NAV x shares by over 1 % are refused (about 1,000x: in thousands)."""
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
    dates = raw if isinstance(raw.dtype, pd.DatetimeTZDtype) else parse_dates(raw, where, line=lambda i: f"row {i + 1} ({tick.iloc[i]})")
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
    _check_figures(df, dates, where, not_after)
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
    given = df["published"].notna() & (df["published"].astype(str).str.strip() != "")
    published = pd.Series(None, index=df.index, dtype=object)
    if given.any():  # read as the dates are, an unreadable one refused (never blanked)
        published[given] = parse_dates(df.loc[given, "published"], where, what="published date",
                                       line=lambda i: f"row {int(np.flatnonzero(given.to_numpy())[i]) + 1}").dt.date
    df["published"] = published
    key = df.duplicated(["ticker", "date", "source_kind", "source"])
    if key.any():
        i = int(np.flatnonzero(key.to_numpy())[0])
        raise StoreError(f"{where}: row {i + 1} ({df['ticker'].iloc[i]}): {df['date'].iloc[i]} appears twice for the same source")
    return df[list(COLUMNS)].reset_index(drop=True)


#: net assets may differ from NAV x shares by this much (rounded shares, a NAV to the cent)
NAV_SHARES_TOLERANCE = 0.01
#: a figure this many times off another source's (either way), within UNIT_SLIP_DAYS, is a unit slip
UNIT_SLIP = (300, 3000)
UNIT_SLIP_DAYS = 7


def _check_figures(df: "pd.DataFrame", dates: "pd.Series", where: str, not_after: dt.date | None) -> None:
    """No date after ``not_after``; net assets within 1 % of NAV x shares where both are given."""
    import numpy as np

    if not_after is not None:
        late = (dates.dt.date > not_after).to_numpy()
        if late.any():
            i = int(np.flatnonzero(late)[0])
            raise StoreError(f"{where}: row {i + 1} ({df['ticker'].iloc[i]}): date {dates.iloc[i].date()} is in the future "
                             f"(after today, {not_after}); an observation of a day to come is not a figure")
    nav, shares, aum = (df[c].to_numpy(dtype=float) for c in ("nav", "shares_outstanding", "aum_usd"))
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = nav * shares / aum
        off = (nav > 0) & (shares > 0) & (aum > 0) & (np.abs(ratio - 1) > NAV_SHARES_TOLERANCE)
    if off.any():
        i = int(np.flatnonzero(off)[0])
        what = "net assets look given in thousands" if 500 < ratio[i] < 2000 else "net assets disagree with NAV x shares"
        raise StoreError(f"{where}: row {i + 1} ({df['ticker'].iloc[i]}): {what}: aum_usd {aum[i]:,.0f} against "
                         f"{nav[i]:g} x {shares[i]:,.0f} = {nav[i] * shares[i]:,.0f}")


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
        if self.path.exists():  # a FIFO would hang DuckDB's open, /dev/zero fill the memory
            from lev_flows.io import check_input_file

            check_input_file(self.path, "store file", error=StoreError, allow_empty=True, kind="AUM store")
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
            self._check_units(source_label)
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

    def _check_units(self, source_label: str) -> None:
        """An incoming figure 300 to 3,000 times off another source's figure of the same fund within
        a week is a unit slip (net assets in thousands, or in dollars where thousands were meant):
        refused, naming both, before it could win on precedence. Another source only: a source
        correcting its own figure is a restatement."""
        hit = self._con.execute(
            f"""
            SELECT i.ticker, CAST(i.date AS DATE), i.aum_usd, o.date, o.aum_usd, o.source_kind, o.source
            FROM incoming i JOIN aum_observations o
              ON o.ticker = i.ticker AND o.source <> i.source
             AND abs(date_diff('day', o.date, CAST(i.date AS DATE))) <= {UNIT_SLIP_DAYS}
            WHERE i.aum_usd > 0 AND o.aum_usd > 0
              AND greatest(i.aum_usd / o.aum_usd, o.aum_usd / i.aum_usd) BETWEEN {UNIT_SLIP[0]} AND {UNIT_SLIP[1]}
            ORDER BY i.ticker, 2, abs(date_diff('day', o.date, CAST(i.date AS DATE))) LIMIT 1
            """
        ).fetchone()
        if hit:
            t, d, a, od, oa, kind, src = hit
            unit = "in thousands?" if a < oa else "in dollars where thousands were meant?"
            raise StoreError(f"{source_label}: {t} {d}: net assets {a:,.0f} are {max(a / oa, oa / a):,.0f}x the {kind} "
                             f"figure of {od} ({oa:,.0f}, {src}): a unit slip ({unit}); nothing was imported")

    # ---- the intraday path -----------------------------------------------------------------

    #: columns of a refresh row (``refreshed_at`` is New York wall time, naive; the JSON columns hold
    #: ``{bucket: usd}`` and ``[[ticker, usd], ...]``)
    REFRESH_COLUMNS = ("session", "refreshed_at", "ok", "total_usd", "gross_usd", "auction_usd", "funds_priced", "by_index",
                       "top_funds", "top_stocks", "basis", "source", "requests", "error", "scope")

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

    def intraday(self, session: dt.date, scope: str = "all") -> "pd.DataFrame":
        """Every recorded refresh of ``session`` on ``scope``, in time order (a row recorded before
        watches had a scope is of all funds)."""
        return self._con.execute(
            f"SELECT {', '.join(self.REFRESH_COLUMNS)} FROM intraday_estimates WHERE session = ? AND coalesce(scope, 'all') = ? "
            "ORDER BY refreshed_at", [session, scope]
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
        import), with its NAV per share and shares outstanding where it has them (an issuer's
        file: the point in time's NAV returns and creations). ``open`` observations are moved to
        the previous session's close by the caller."""
        return self._con.execute(
            """
            SELECT ticker, date, aum_usd, timing, source_kind, source, precedence, nav, shares_outstanding
            FROM aum_observations
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


def _store_identity(db: Path) -> list[int] | None:
    """The store file's identity (:func:`lev_flows.io.file_identity`), or None while it has a
    write-ahead log (a change not yet in the file) or cannot be stat'ed."""
    from lev_flows.io import file_identity

    try:
        if db.with_name(db.name + ".wal").exists():
            return None
        return file_identity(db)
    except OSError:
        return None


def load_best_observations(path: str | Path | None = None) -> "pd.DataFrame":
    """The best observation per fund and date from the store at ``path`` (default location),
    creating and seeding it on first use.

    Reads go through a snapshot of this view kept beside the store (``<store>.best.csv``: a
    checked header, then CSV), used only when its header names the store file's identity as it
    is now (size, modification and change times, inode) and the package's current seed, and its
    content has the SHA-256 it was written with (:func:`lev_flows.io.read_cache`): an edited
    snapshot, or one left by a reader that raced a writer, is not taken. Otherwise the store
    itself is opened and the snapshot rewritten (atomically), tagged with the identity the store
    had before it was opened, and only if the store did not change while it was read.
    Opening DuckDB costs a cold command about 0.2 s, the snapshot a few milliseconds.
    """
    import pandas as pd

    from lev_flows.io import read_cache, write_cache

    db = Path(path) if path is not None else default_path()
    snap = best_snapshot_path(db)
    digest = hashlib.sha256(_seed_bytes()).hexdigest()
    before = _store_identity(db) if db.is_file() else None
    meta = {"kind": "store best observations", "seed": digest, "store": before}
    got = read_cache(snap, meta) if before is not None else None
    if got is not None:
        try:
            frame = pd.read_csv(io.BytesIO(got[0]), dtype={"ticker": str, "source": str, "source_kind": str, "timing": str})
            frame["date"] = pd.to_datetime(frame["date"])
            return frame
        except (ValueError, KeyError, pd.errors.ParserError):
            pass  # an unreadable snapshot: read the store
    with Store(db, read_only=True) as store:
        frame = store.best_observations()
    frame["date"] = pd.to_datetime(frame["date"])
    if before is not None and _store_identity(db) == before:  # nothing changed the store while it was read
        write_cache(snap, frame.to_csv(index=False, lineterminator="\n").encode("utf-8"), meta)
    return frame


__all__ = ["Store", "StoreError", "default_path", "load_best_observations", "PRECEDENCE", "validate_observations"]
