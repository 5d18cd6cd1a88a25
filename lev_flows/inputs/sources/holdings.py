"""Holdings and index-weight files -> our compositions and stock sectors.

Formats read here (all public issuer/index files, see ``../shared/data/SOURCES.md``):

* index weights: ``Rank,Ticker,Name,Weight`` with weights in percent and tickers that may
  carry trailing spaces (QQQ, SPY, IWM, MDY, SPSM exports);
* fund holdings with GICS sector: ``ticker,name,sector,weight`` (percent);
* iShares holdings as published: a preamble of key/value lines, then a header starting with
  ``Ticker,Name,Sector,Asset Class,...``, numbers with thousands separators;
* the S&P 500 constituents list: ``Symbol,Security,GICS Sector,GICS Sub-Industry,...``.

Every reader returns a DataFrame with canonical columns ``ticker, name, sector, weight``
(weight a fraction, summing to 1 over the equity rows kept).
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pandas as pd

from lev_flows.errors import InputError

_TICKER_OK = re.compile(r"^[A-Z][A-Z0-9]{0,5}(\.[A-Z])?$")
NON_EQUITY_SECTORS = {"Cash and/or Derivatives", "Cash", "Derivatives", "Other", "-"}


def canonical_ticker(raw: object) -> str:
    """``'BRK-B '`` / ``'BRK/B'`` / ``'BRKB'`` -> ``'BRK.B'``; upper case, stripped."""
    t = str(raw).strip().upper().replace("-", ".").replace("/", ".").replace(" ", ".")
    return {"BRKB": "BRK.B", "BFB": "BF.B"}.get(t, t)


def _normalize(df: pd.DataFrame, path: Path) -> pd.DataFrame:
    df = df.copy()
    df["ticker"] = df["ticker"].map(canonical_ticker)
    df = df[df["ticker"].str.match(_TICKER_OK) & (df["weight"] > 0)]
    if "sector" in df:
        df = df[~df["sector"].isin(NON_EQUITY_SECTORS)]
    df = df.groupby("ticker", as_index=False, sort=False).agg(
        {c: ("sum" if c == "weight" else "first") for c in df.columns if c != "ticker"}
    )
    total = df["weight"].sum()
    if not total > 0:
        raise InputError(f"{path}: no equity holdings with positive weight")
    df["weight"] = df["weight"] / total
    return df.sort_values("weight", ascending=False, kind="stable").reset_index(drop=True)


def _read_csv(path: Path, **kw) -> pd.DataFrame:
    from lev_flows.io import read_input_bytes

    raw = read_input_bytes(path, "holdings file", kind="holdings file")  # regular, within the limits
    try:
        return pd.read_csv(io.BytesIO(raw), **kw)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot parse CSV ({str(exc).splitlines()[0]})") from None


def _require(df: pd.DataFrame, columns: list[str], path: Path) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(missing)}; found {', '.join(map(str, df.columns))}")


def read_index_weights(path: str | Path) -> pd.DataFrame:
    """``Rank,Ticker,Name,Weight`` (percent) -> ``ticker, name, weight`` (fractions)."""
    path = Path(path)
    df = _read_csv(path, dtype={"Ticker": str})
    _require(df, ["Ticker", "Name", "Weight"], path)
    out = pd.DataFrame(
        {"ticker": df["Ticker"], "name": df["Name"], "weight": pd.to_numeric(df["Weight"], errors="coerce")}
    )
    # cash lines ('CASH_USD', 'U.S. Dollar') fail the ticker pattern and drop out here
    return _normalize(out.dropna(subset=["ticker", "weight"]), path)


def read_sector_holdings(path: str | Path) -> pd.DataFrame:
    """``ticker,name,sector,weight`` (percent) -> canonical frame (fractions)."""
    path = Path(path)
    df = _read_csv(path, dtype={"ticker": str})
    _require(df, ["ticker", "name", "sector", "weight"], path)
    df = df.assign(weight=pd.to_numeric(df["weight"], errors="coerce")).dropna(subset=["ticker", "weight"])
    return _normalize(df[["ticker", "name", "sector", "weight"]], path)


def read_ishares_holdings(path: str | Path) -> tuple[pd.DataFrame, str | None]:
    """An iShares holdings CSV as published (preamble, then the table) -> (frame, as-of text)."""
    from lev_flows.io import read_input_bytes

    path = Path(path)
    raw = read_input_bytes(path, "holdings file", kind="holdings file", table=False)  # a preamble before the table
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not valid UTF-8 at byte {exc.start}") from None
    lines = text.splitlines()
    header = next((i for i, line in enumerate(lines) if line.startswith("Ticker,")), None)
    if header is None:
        raise InputError(f"{path}: no 'Ticker,...' header line; is this an iShares holdings file?")
    as_of = None
    for line in lines[:header]:
        if line.lower().startswith("fund holdings as of"):
            as_of = line.split(",", 1)[1].strip().strip('"')
    df = pd.read_csv(io.StringIO("\n".join(lines[header:])), thousands=",", dtype={"Ticker": str})
    _require(df, ["Ticker", "Name", "Sector", "Asset Class", "Weight (%)"], path)
    df = df[df["Asset Class"] == "Equity"]
    out = pd.DataFrame(
        {
            "ticker": df["Ticker"],
            "name": df["Name"],
            "sector": df["Sector"],
            "weight": pd.to_numeric(df["Weight (%)"], errors="coerce"),
        }
    ).dropna(subset=["weight"])
    return _normalize(out, path), as_of


def read_sp500_constituents(path: str | Path) -> pd.DataFrame:
    """S&P 500 list -> ``ticker, name, sector, sub_industry``."""
    path = Path(path)
    df = _read_csv(path, dtype={"Symbol": str})
    _require(df, ["Symbol", "Security", "GICS Sector", "GICS Sub-Industry"], path)
    return pd.DataFrame(
        {
            "ticker": df["Symbol"].map(canonical_ticker),
            "name": df["Security"],
            "sector": df["GICS Sector"],
            "sub_industry": df["GICS Sub-Industry"],
        }
    )
