"""AUM observation files -> our observations frame (see :mod:`lev_flows.inputs.store` for its shape).

Formats read (detected from the header):

* **Issuer NAV history** (ProShares' historical-NAV download, one fund per file, or the
  normalised multi-fund file in ``../shared/data/fund_history/``): ``Date, Ticker, NAV,
  Prior NAV, Shares Outstanding (000), Assets Under Management`` (or ``date, ticker, nav,
  prior_nav, shares_outstanding_000, aum_usd``). Net assets are at the close of ``Date``.
* **Screener snapshot** (``letf_snapshots/*.csv``): ``ticker, aum, updated_at, ...``. A
  screener's AUM is not of its file date: each snapshot is dated by its **measured lag** against
  issuer figures when there are any (the session whose issuer net assets match the snapshot
  best, median absolute log error over the funds both know, never after the snapshot's
  ``updated_at``), else by the last close before ``updated_at``.
* **Our own observations CSV**: ``ticker, date, aum_usd`` and optionally ``nav,
  shares_outstanding, timing, source_kind, source, published``.

Vendor column names stay in this module.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from lev_flows.inputs.store import (
    StoreError,
    latest_possible_date,
    parse_dates,
    validate_observations,
)

MAX_FILE_BYTES = 64 * 1024 * 1024  # = lev_flows.io.INPUT_LIMITS["AUM file"].max_bytes

#: issuer NAV-history header aliases -> our names
NAV_COLUMNS = {
    "date": "date",
    "ticker": "ticker",
    "nav": "nav",
    "prior nav": "prior_nav",
    "prior_nav": "prior_nav",
    "shares outstanding (000)": "shares_000",
    "shares_outstanding_000": "shares_000",
    "assets under management": "aum_usd",
    "net assets": "aum_usd",
    "aum_usd": "aum_usd",
}
NAV_REQUIRED = ("date", "ticker", "nav", "shares_000", "aum_usd")


def _number(series: pd.Series) -> pd.Series:
    text = series.astype(str).str.replace(r"[$,\s]", "", regex=True).replace({"": None, "nan": None, "-": None})
    return pd.to_numeric(text, errors="coerce")


def read_bytes(path: str | Path) -> bytes:
    """A file's bytes (unpacked when gzipped) with the AUM-file limits and clear errors
    (:func:`lev_flows.io.read_input_bytes`: a regular file, ``MAX_FILE_BYTES``, rows and columns)."""
    from lev_flows.io import read_input_bytes

    path = Path(path)
    data = read_input_bytes(path, "AUM file", kind="AUM file", error=StoreError, allow_empty=True)
    if not data.strip():
        raise StoreError(f"{path}: empty file")
    return data


def _csv(data: bytes, where: str) -> pd.DataFrame:
    if data[:2] == b"\x1f\x8b":
        import gzip
        import zlib

        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise StoreError(f"{where}: corrupt gzip ({exc})") from None
    if data.lstrip()[:1] == b"<":
        raise StoreError(f"{where}: an HTML page, not a CSV file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    _header_once(text, where)
    try:
        return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise StoreError(f"{where}: cannot parse CSV ({str(exc).splitlines()[0]})") from None


def _header_once(text: str, where: str) -> None:
    """Each column once in the header (case and spaces aside): a second ``aum_usd``, or
    ``Ticker`` beside ``ticker``, is refused; the CSV reader would keep one silently."""
    import csv

    header = next(csv.reader([text.split("\n", 1)[0].rstrip("\r")]), [])
    names = [h.strip().lower() for h in header]
    twice = next((h for h, n in zip(header, names) if n and names.count(n) > 1), None)
    if twice is not None:
        raise StoreError(f"{where}: column {twice.strip()!r} appears twice in the header; give each column once")


def parse_nav_history(data: bytes, where: str, *, ticker: str | None = None) -> pd.DataFrame:
    """An issuer NAV-history CSV -> observations (``source_kind = issuer_nav``).

    Checks: the header has date, ticker (or ``ticker`` is given), NAV, shares outstanding and
    net assets; every number is finite and non-negative; no fund has a date twice; each fund's
    dates run in one direction (the issuer publishes newest first, the shared file oldest
    first; a file mixing both is damaged).
    """
    df = _csv(data, where)
    cols = {c: NAV_COLUMNS[c.strip().lower()] for c in df.columns if c.strip().lower() in NAV_COLUMNS}
    df = df.rename(columns=cols)
    if "ticker" not in df.columns and ticker:
        df["ticker"] = ticker
    missing = [c for c in NAV_REQUIRED if c not in df.columns]
    if missing:
        raise StoreError(
            f"{where}: not an issuer NAV history: missing column(s) {', '.join(missing)} "
            f"(expected Date, Ticker, NAV, Shares Outstanding (000), Assets Under Management; found {', '.join(map(str, cols) or df.columns)})"
        )
    if df.empty:
        raise StoreError(f"{where}: header only, no rows")
    dates = parse_dates(df["date"], where, line=lambda i: f"line {i + 2}", month_first=True)  # one order per file
    out = pd.DataFrame(
        {
            "ticker": df["ticker"].str.strip().str.upper(),
            "date": dates.dt.date,
            "aum_usd": _number(df["aum_usd"]),
            "nav": _number(df["nav"]),
            "shares_outstanding": _number(df["shares_000"]) * 1000.0,
        }
    )
    for col in ("aum_usd", "nav", "shares_outstanding"):
        bad = out[col].isna() | ~np.isfinite(out[col].fillna(0)) | (out[col] < 0)
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise StoreError(f"{where}: line {i + 2} ({out['ticker'].iloc[i]}): {col} {df.iloc[i].get(col if col != 'shares_outstanding' else 'shares_000')!r} is not a non-negative number")
    dup = out.duplicated(["ticker", "date"])
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise StoreError(f"{where}: line {i + 2} ({out['ticker'].iloc[i]}): date {out['date'].iloc[i]} appears twice")
    for t, g in out.groupby("ticker", sort=False):
        d = pd.to_datetime(g["date"]).to_numpy()
        if len(d) > 1:
            step = np.sign(np.diff(d).astype(np.int64))
            if not (np.all(step > 0) or np.all(step < 0)):
                i = int(g.index[int(np.flatnonzero(step != step[0])[0]) + 1])
                raise StoreError(f"{where}: line {i + 2} ({t}): date {out['date'].iloc[i]} is out of order")
    out["timing"] = "close"
    out["source_kind"] = "issuer_nav"
    out["source"] = where
    out["published"] = None
    return validate_observations(out, where)


# ---- screener snapshots ---------------------------------------------------------------------


def snapshot_stamp(df: pd.DataFrame, path: Path) -> pd.Timestamp:
    """When the snapshot's figures were collected: the latest ``updated_at`` (UTC), else the file
    name's date at 00:00 New York."""
    if "updated_at" in df.columns:
        stamps = pd.to_datetime(df["updated_at"], errors="coerce", utc=True).dropna()
        if len(stamps):
            return stamps.max()
    m = re.search(r"(\d{4}-\d{2}-\d{2})", path.name)
    if m:
        return pd.Timestamp(m.group(1), tz="America/New_York").tz_convert("UTC")
    raise StoreError(f"{path}: cannot tell when the snapshot was taken (no updated_at column, no date in the name)")


def last_close_before(stamp: pd.Timestamp) -> dt.date:
    """The last session whose close (16:00 New York, 13:00 on early closes) is at or before ``stamp``."""
    from lev_flows.inputs.calendar import sessions

    cal = sessions()
    ny = stamp.tz_convert("America/New_York")
    n = int((cal.closes <= stamp.tz_convert("UTC")).sum())
    if not n:
        raise StoreError(f"no session closed before {ny}")
    return cal.days[n - 1].date()


def measure_lag(snapshot_aum: pd.Series, issuer_aum: pd.DataFrame, latest: dt.date, window: int = 15) -> tuple[dt.date, float, int] | None:
    """The close date whose issuer net assets best match a snapshot.

    ``snapshot_aum``: ticker -> AUM. ``issuer_aum``: dates x tickers, issuer net assets at each
    close. Candidates are the ``window`` issuer dates at or before ``latest``; the score is the
    median over the common funds of ``|log(snapshot / issuer)|``. Returns ``(date, score,
    funds)``, or None with fewer than three common funds.
    """
    common = [t for t in snapshot_aum.index if t in issuer_aum.columns and snapshot_aum[t] > 0]
    if len(common) < 3:
        return None
    cand = issuer_aum.loc[issuer_aum.index <= pd.Timestamp(latest), common].tail(window)
    if cand.empty:
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        err = np.abs(np.log(snapshot_aum[common].to_numpy(float)[None, :] / cand.to_numpy(float)))
    score = np.nanmedian(err, axis=1)
    k = int(np.nanargmin(score))
    return cand.index[k].date(), float(score[k]), len(common)


def snapshot_observations(
    path: str | Path, issuer_aum: pd.DataFrame | None = None, *, data: bytes | None = None
) -> tuple[pd.DataFrame, dict]:
    """A screener snapshot -> observations (``source_kind = screener``) dated by measured lag,
    and a note of how the date was chosen (``{"published", "latest_close", "date", "how",
    "median_abs_log_error", "funds"}``)."""
    path = Path(path)
    df = _csv(data if data is not None else read_bytes(path), str(path))
    if "ticker" not in df.columns or "aum" not in df.columns:
        raise StoreError(f"{path}: not a screener snapshot (needs ticker and aum columns)")
    stamp = snapshot_stamp(df, path)
    latest = last_close_before(stamp)
    aum = _number(df["aum"])
    keep = aum.notna() & (aum > 0)
    tickers = df["ticker"].str.strip().str.upper()
    note = {"published": stamp.isoformat(), "latest_close": latest.isoformat(), "date": latest.isoformat(),
            "how": "last close before the snapshot's updated_at", "median_abs_log_error": None, "funds": 0}
    if issuer_aum is not None and not issuer_aum.empty:
        series = pd.Series(aum[keep].to_numpy(), index=tickers[keep].to_numpy())
        series = series[~series.index.duplicated()]
        found = measure_lag(series, issuer_aum, latest)
        if found is not None:
            note.update(date=found[0].isoformat(), how="measured against issuer net assets",
                        median_abs_log_error=round(found[1], 5), funds=found[2])
    out = pd.DataFrame(
        {
            "ticker": tickers[keep].to_numpy(),
            "date": dt.date.fromisoformat(note["date"]),
            "aum_usd": aum[keep].to_numpy(),
            "nav": _number(df["price"])[keep].to_numpy() if "price" in df.columns else np.nan,
            "shares_outstanding": np.nan,
            "timing": "close",
            "source_kind": "screener",
            "source": path.name,
            "published": stamp.date(),
        }
    )
    out = out.drop_duplicates(["ticker"], keep="first")
    out["nav"] = np.nan  # the screener's price is intraday, not the NAV of the observation's close
    return validate_observations(out, str(path)), note


def inception_dates(path: str | Path) -> dict[str, dt.date]:
    """``ticker -> inception_date`` from a screener snapshot."""
    df = _csv(read_bytes(path), str(path))
    if "inception_date" not in df.columns:
        return {}
    dates = pd.to_datetime(df["inception_date"], errors="coerce")
    return {t.strip().upper(): d.date() for t, d in zip(df["ticker"], dates) if isinstance(t, str) and pd.notna(d)}


# ---- any file ---------------------------------------------------------------------------------


def detect_kind(data: bytes, where: str) -> str:
    """``issuer_nav``, ``screener`` or ``observations`` from the header line."""
    head = _csv(data[:65536] if data[:2] != b"\x1f\x8b" else data, where).columns
    names = {c.strip().lower() for c in head}
    if {"underlying_asset", "aum"} <= names:
        return "screener"
    if "nav" in names:  # an issuer NAV history (its reader names any missing column)
        return "issuer_nav"
    if {"ticker", "date", "aum_usd"} <= names:
        return "observations"
    raise StoreError(
        f"{where}: unknown AUM file format (header: {', '.join(list(head)[:8])}); expected an issuer NAV history, "
        "a screener snapshot or ticker,date,aum_usd rows"
    )


def read_aum_file(path: str | Path, issuer_aum: pd.DataFrame | None = None) -> tuple[pd.DataFrame, str, dict]:
    """Any supported AUM file -> ``(observations, kind, note)``."""
    path = Path(path)
    data = read_bytes(path)
    kind = detect_kind(data, str(path))
    latest = latest_possible_date()  # a figure dated after today has not happened
    if kind == "issuer_nav":
        frame = parse_nav_history(data, path.name)
        return validate_observations(frame, path.name, not_after=latest), kind, {}
    if kind == "screener":
        frame, note = snapshot_observations(path, issuer_aum, data=data)
        return validate_observations(frame, str(path), not_after=latest), kind, note
    frame = _csv(data, str(path))
    frame.columns = [c.strip().lower() for c in frame.columns]
    if "source_kind" not in frame.columns:
        frame["source_kind"] = "user"
    frame["source_kind"] = frame["source_kind"].replace("", "user")
    if "source" not in frame.columns:
        frame["source"] = path.name
    frame["source"] = frame["source"].replace("", path.name)
    for col in ("nav", "shares_outstanding", "published"):
        if col in frame.columns:
            frame[col] = frame[col].replace("", None)
    return validate_observations(frame, str(path), not_after=latest), kind, {}


__all__ = [
    "parse_nav_history",
    "snapshot_observations",
    "measure_lag",
    "read_aum_file",
    "detect_kind",
    "inception_dates",
    "last_close_before",
]
