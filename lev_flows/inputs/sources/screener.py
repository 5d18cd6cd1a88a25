"""Screener snapshots (CSV of US leveraged/inverse ETFs and ETNs) -> catalog entries.

The screener format (``../shared/data/letf_snapshots/*.csv``) has free-text
``underlying_asset``, an often blank or proxy ``underlying_ticker``, ``leverage`` as ``2x`` /
``1.25x`` / ``variable``, a ``direction``, ``aum`` in USD and ``percent_change_from_prev_day``
(intraday at scrape time). This module turns one snapshot into funds, underlyings and a list
of excluded products with reasons; vendor column names never leave it.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from lev_flows.errors import InputError
from lev_flows.inputs.catalog import normalize_issuer
from lev_flows.inputs.sources.holdings import canonical_ticker
from lev_flows.inputs.sources.underlyings import (
    COMMOD,
    COMPANY_TICKERS,
    CONTINUES,
    CRYPTO,
    CURATED_FUNDS,
    EXCLUDE,
    EXCLUDE_NAME_RULES,
    FIXED,
    HISTORY_SOURCE,
    LEVERAGE_HISTORY,
    LEVERAGE_OVERRIDES,
    MULTI,
    NAME_OVERRIDES,
    NAME_RULES,
    OTHER_EQ,
    PROXY_TICKERS,
    RULES,
    SINGLE,
    TICKER_OVERRIDES,
    UNDERLYINGS,
    VERIFY_NOTES,
)

REQUIRED_COLUMNS = ["ticker", "name", "underlying_asset", "underlying_ticker", "leverage", "direction", "aum"]
ETN_SPELLINGS = {"etn", "exchange-traded note", "exchange-traded notes"}
_LEVERAGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*x\s*$", re.IGNORECASE)
_NAME_TICKER = re.compile(
    r"\b(?:Long|Short|Bull|Bear|Ultra|UltraShort|Daily)\s+([A-Z]{1,5}(?:\.[A-Z])?)\s+(?:Bull|Bear|Daily|ETF|Shares)\b"
    r"|\b(?:Long|Short|Ultra|UltraShort)\s+([A-Z]{1,5})\s*(?:ETF)?$"
)
_NOT_TICKERS = {"ETF", "ETN", "USD", "MSCI", "FTSE", "CSI", "S", "NYSE", "DJ", "US", "AI"}
_N_BASKET_RULES = 4  # the first RULES name multi-stock baskets ("NVIDIA Corp and AMD")
_ASSET_CLASS = {"equity": "equity", "debt": "fixed_income", "commodity": "commodity", "crypto": "crypto"}
_BUCKET = {"equity": OTHER_EQ, "fixed_income": FIXED, "commodity": COMMOD, "crypto": CRYPTO, "multi": MULTI}


def fix_mojibake(text: Any) -> str | None:
    """Repair UTF-8 text that was decoded as Latin-1 (``S&P 500Â®`` -> ``S&P 500®``,
    ``One+Oneâ\x84¢`` -> ``One+One™``); text that is not such damage (it does not decode) stays."""
    if not isinstance(text, str) or not text.strip():
        return None
    if "Ã" in text or "Â" in text or "â" in text:
        try:
            text = text.encode("latin-1").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            text = text.replace("Â", "")
    return " ".join(text.split())


def parse_leverage(text: Any, direction: Any, name: str) -> float | None:
    """``'3x'`` + ``'short'`` -> -3.0. Direction blank: read Bear/Short/Inverse from the name.
    Returns None for ``variable`` or unparseable text (the caller excludes with a reason)."""
    if not isinstance(text, str):
        return None
    m = _LEVERAGE.match(text)
    if not m:
        return None
    magnitude = float(m.group(1))
    # "-3x" is a direction; "7-10 Year" and "K-1 Free" are not
    named_short = bool(re.search(r"\b(bear|short|inverse)\b|(?<![\w-])-\d", name, re.IGNORECASE))
    if isinstance(direction, str) and direction.strip():
        # the fund's own name beats the screener's direction field ("Defiance Daily Target 2x
        # Short RGTI ETF" is listed as long)
        short = direction.strip().lower() == "short" or named_short
    else:
        short = named_short
    return -magnitude if short else magnitude


@dataclass
class ImportResult:
    """What one snapshot import produced, with the reasons for everything left out."""

    source: str
    as_of: dt.date
    funds: list[dict[str, Any]] = field(default_factory=list)
    underlyings: dict[str, dict[str, Any]] = field(default_factory=dict)
    excluded: list[dict[str, Any]] = field(default_factory=list)
    reported_change: dict[str, float] = field(default_factory=dict)
    mapped_by: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        aum = sum(f.get("aum_usd") or 0 for f in self.funds)
        no_aum = sum(1 for f in self.funds if f.get("aum_usd") is None)
        reasons: dict[str, int] = {}
        for e in self.excluded:
            reasons[e["reason"]] = reasons.get(e["reason"], 0) + 1
        lines = [
            f"{self.source} (as of {self.as_of}): {len(self.funds)} funds kept (${aum / 1e9:,.1f}B AUM,"
            f" {no_aum} without AUM), {len(self.underlyings)} underlyings, {len(self.excluded)} excluded",
            "underlying mapped by: " + ", ".join(f"{k} {v}" for k, v in sorted(self.mapped_by.items())),
        ]
        lines += [f"excluded ({n}): {reason}" for reason, n in sorted(reasons.items(), key=lambda kv: -kv[1])]
        return "\n".join(lines)


def read_snapshot(path: str | Path) -> pd.DataFrame:
    """Read a screener CSV with clear errors for a missing file or missing columns."""
    import io

    from lev_flows.io import read_input_bytes

    path = Path(path)
    raw = read_input_bytes(path, "screener snapshot", kind="screener snapshot")  # regular, within the limits
    try:
        df = pd.read_csv(io.BytesIO(raw), dtype={"ticker": str, "underlying_ticker": str}, encoding="utf-8-sig")
    except UnicodeDecodeError:
        df = pd.read_csv(io.BytesIO(raw), dtype={"ticker": str, "underlying_ticker": str}, encoding="latin-1")
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"{path}: cannot parse CSV ({str(exc).splitlines()[0]})") from None
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(missing)}; is this a screener snapshot?")
    if df.empty:
        raise InputError(f"{path}: no rows")
    if df["aum"].isna().all():
        raise InputError(f"{path}: the aum column is empty in every row; nothing to import")
    return df


def snapshot_date(df: pd.DataFrame, path: Path) -> dt.date:
    """The snapshot's date: the file name's YYYY-MM-DD, else the latest ``updated_at``."""
    m = re.search(r"(\d{4}-\d{2}-\d{2})", path.name)
    if m:
        return dt.date.fromisoformat(m.group(1))
    if "updated_at" in df:
        stamps = pd.to_datetime(df["updated_at"], errors="coerce", utc=True).dropna()
        if len(stamps):
            return stamps.max().date()
    raise InputError(f"{path}: cannot tell the snapshot date (no date in the file name, no updated_at column)")


def _row_date(value: Any, fallback: dt.date) -> dt.date:
    stamp = pd.to_datetime(value, errors="coerce", utc=True)
    return fallback if pd.isna(stamp) else min(stamp.date(), fallback)


def _inception(value: Any, as_of: dt.date) -> dt.date | None:
    """The fund's inception date (None when blank, unparseable or after the snapshot)."""
    stamp = pd.to_datetime(value, errors="coerce")
    return None if pd.isna(stamp) or stamp.date() > as_of else stamp.date()


def _clean_ticker(raw: Any) -> str | None:
    if not isinstance(raw, str) or not raw.strip():
        return None
    return canonical_ticker(raw)


def resolve_underlying(row: dict[str, Any], known_stocks: dict[str, str]) -> tuple[str | None, str, str]:
    """Map one screener row to (underlying id, how, cleaned text). id None = unmapped."""
    ticker = row["ticker"]
    text = fix_mojibake(row.get("underlying_asset")) or ""
    low = text.lower()
    uticker = _clean_ticker(row.get("underlying_ticker"))
    if ticker in TICKER_OVERRIDES:
        return TICKER_OVERRIDES[ticker][0], "override", text
    fund_name = str(row.get("name") or "").lower()
    for pattern, uid in NAME_RULES:
        if pattern.search(fund_name):
            return uid, "fund name rule", text
    fund_type = str(row.get("fund_type") or "").lower()
    single = "single stock" in fund_type
    for pattern, uid in RULES[:_N_BASKET_RULES]:  # two-stock baskets before single stocks
        if pattern.search(low):
            return uid, "rule", text
    for company, stock in COMPANY_TICKERS.items():
        if low.startswith(company):
            return stock, "company name", text
    if not single:
        for pattern, uid in RULES:
            if low and pattern.search(low):
                return uid, "rule", text
    m = _NAME_TICKER.search(str(row.get("name") or ""))
    name_ticker = next((g for g in (m.groups() if m else ()) if g and g not in _NOT_TICKERS), None)
    if uticker and uticker not in PROXY_TICKERS and (single or _looks_like_company(text)):
        return uticker, "underlying_ticker", text
    if name_ticker and (single or _looks_like_company(text) or not text):
        return canonical_ticker(name_ticker), "fund name", text
    for stock_name, stock in known_stocks.items():
        if low and low.split(",")[0].removesuffix(" inc").removesuffix(" inc.") == stock_name:
            return stock, "company name", text
    if single and uticker:
        return uticker, "underlying_ticker", text
    return None, "unmapped", text


def _looks_like_company(text: str) -> bool:
    return bool(re.search(r"\b(inc|corp|corporation|company|ltd|limited|plc|holdings|group|n\.v\.|co\.)\b", text, re.I))


def import_snapshot(path: str | Path, known_stocks: dict[str, str] | None = None, *, source: str | None = None) -> ImportResult:
    """Turn a screener snapshot into catalog entries (funds, underlyings, exclusions).
    ``source`` names where it came from (default ``letf_snapshots/<file name>``)."""
    path = Path(path)
    df = read_snapshot(path)
    as_of = snapshot_date(df, path)
    result = ImportResult(source=source or f"letf_snapshots/{path.name}", as_of=as_of)
    known = {k.lower(): v for k, v in (known_stocks or {}).items()}
    seen: set[str] = set()
    for row in df.to_dict("records"):
        ticker = _clean_ticker(row.get("ticker"))
        name = fix_mojibake(row.get("name")) or ""
        aum = row.get("aum")
        aum = None if pd.isna(aum) else float(aum)
        if ticker is None:
            result.excluded.append({"ticker": "?", "name": name, "reason": "blank ticker", "aum_usd": aum})
            continue
        if ticker in seen:
            result.excluded.append({"ticker": ticker, "name": name, "reason": "duplicate row", "aum_usd": aum})
            continue
        seen.add(ticker)
        row = {**row, "ticker": ticker}
        reason = EXCLUDE.get(ticker) or next((why for rx, why in EXCLUDE_NAME_RULES if rx.search(name)), None)
        if reason:
            result.excluded.append({"ticker": ticker, "name": name, "reason": reason, "aum_usd": aum})
            continue
        leverage = parse_leverage(row.get("leverage"), row.get("direction"), name)
        if leverage is None:
            lev_text = row.get("leverage")
            reason = (
                "variable leverage (option-income or volatility strategy), no fixed daily target"
                if isinstance(lev_text, str) and lev_text.strip().lower() == "variable"
                else f"leverage not stated ({lev_text!r})" if not isinstance(lev_text, str)
                else f"unknown leverage text {lev_text!r}"
            )
            result.excluded.append({"ticker": ticker, "name": name, "reason": reason, "aum_usd": aum})
            continue
        uid, how, text = resolve_underlying(row, known)
        screener_class = _ASSET_CLASS.get(str(row.get("asset_class") or "").lower(), "multi")
        if uid is None:
            uid = _fallback_id(row, text, ticker)
            how = "unmapped (own id)"
        result.mapped_by[how] = result.mapped_by.get(how, 0) + 1
        und = _underlying_entry(uid, how, text, screener_class)
        result.underlyings.setdefault(uid, und)
        fund = _fund_entry(row, ticker, name, leverage, uid, result.underlyings[uid]["asset_class"], aum, as_of)
        result.funds.append(fund)
        change = row.get("percent_change_from_prev_day")
        if change is not None and not pd.isna(change):
            result.reported_change[ticker] = float(change) / 100.0
    for entry in CURATED_FUNDS:
        if entry["ticker"] not in seen:
            uid = str(entry["underlying"])
            result.underlyings.setdefault(uid, _underlying_entry(uid, "rule", uid, str(entry["asset_class"])))
            result.funds.append({**entry, "inception_date": dt.date.fromisoformat(str(entry["inception_date"]))})
            result.mapped_by["curated"] = result.mapped_by.get("curated", 0) + 1
    result.funds.sort(key=lambda f: f["ticker"])
    result.excluded.sort(key=lambda e: e["ticker"])
    result.underlyings = dict(sorted(result.underlyings.items()))
    return result


def _fallback_id(row: dict[str, Any], text: str, ticker: str) -> str:
    uticker = _clean_ticker(row.get("underlying_ticker"))
    if uticker:
        return uticker
    if text:
        slug = re.sub(r"[^A-Z0-9]+", "_", text.upper()).strip("_")[:40]
        return f"X_{slug}"
    return f"FUND_{ticker}"


def _underlying_entry(uid: str, how: str, text: str, screener_class: str) -> dict[str, Any]:
    if uid in UNDERLYINGS:
        d = UNDERLYINGS[uid]
        return {"id": uid, "name": d.name, "kind": d.kind, "asset_class": d.asset_class, "bucket": d.bucket}
    if how in ("override", "underlying_ticker", "fund name", "company name"):
        name = re.sub(r"\s+-\s+Benchmark.*$", "", text) or uid
        return {"id": uid, "name": name, "kind": "single_stock", "asset_class": "equity", "bucket": SINGLE}
    asset = screener_class if screener_class in _BUCKET else "multi"
    return {
        "id": uid,
        "name": text or uid,
        "kind": "basket" if asset in ("equity", "multi") else "index",
        "asset_class": asset,
        "bucket": _BUCKET[asset],
        "notes": "not mapped to a known underlying; no composition",
    }


def _fund_entry(row, ticker, name, leverage, uid, asset_class, aum, as_of) -> dict[str, Any]:
    fund_type = str(row.get("fund_type") or "").strip().lower()
    etn = fund_type in ETN_SPELLINGS or bool(re.search(r"\bETNs?\b|exchange[- ]traded notes?", name, re.I))
    reset = "daily"
    if re.search(r"quarterly", name, re.I):
        reset = "quarterly"
    elif re.search(r"monthly", name, re.I):
        reset = "monthly"
    elif re.search(r"weekly", name, re.I):
        reset = "weekly"
    issuer = row.get("fund_family")
    fund: dict[str, Any] = {
        "ticker": ticker,
        "name": name,
        "issuer": normalize_issuer(issuer) if isinstance(issuer, str) and issuer.strip() else None,
        "leverage": leverage,
        "underlying": uid,
        "asset_class": asset_class,
        "structure": "ETN" if etn else "ETF",
        "reset": reset,
        "aum_usd": aum,
        "aum_as_of": _row_date(row.get("updated_at"), as_of) if aum is not None else None,
        "inception_date": _inception(row.get("inception_date"), as_of),
    }
    if ticker in LEVERAGE_OVERRIDES:
        fund["leverage"], fund["notes"] = LEVERAGE_OVERRIDES[ticker]
    if ticker in CONTINUES:
        fund["continues"] = CONTINUES[ticker]
    if ticker in LEVERAGE_HISTORY:
        fund["history"] = [{"until": dt.date.fromisoformat(until), "leverage": lev, "source": HISTORY_SOURCE}
                           for until, lev in LEVERAGE_HISTORY[ticker]]
    if ticker in TICKER_OVERRIDES:
        fund["notes"] = TICKER_OVERRIDES[ticker][1]
    if ticker in NAME_OVERRIDES:
        fund["name"] = NAME_OVERRIDES[ticker][0]
    if ticker in VERIFY_NOTES:
        fund["verify_note"] = VERIFY_NOTES[ticker]
    if aum is None:
        fund["notes"] = "no AUM in the snapshot"
    return {k: v for k, v in fund.items() if v is not None}


# ---- the screener's export over HTTP --------------------------------------------------------

SCREENER_URL_ENV = "LEV_FLOWS_SCREENER_URL"
SCREENER_TTL_S = 3600.0


class ScreenerExport:
    """The screener's CSV export of every US leveraged/inverse ETF and ETN, fetched over HTTP
    (one request) through the shared client; the body is the same format as the snapshot files,
    read by the same importer. URL: the constructor or ``$LEV_FLOWS_SCREENER_URL``."""

    name = "screener export"

    def __init__(self, client, url: str | None = None):
        import os

        self.client = client
        url = url if url is not None else os.environ.get(SCREENER_URL_ENV, "")
        if not url.strip():
            raise InputError(f"universe update: no screener URL; pass --url or set ${SCREENER_URL_ENV}")
        if not re.match(r"^https?://[^/\s]+", url.strip()):
            raise InputError(f"universe update: {url!r} is not an http(s) URL")
        self.url = url.strip()

    def fetch(self) -> bytes:
        """The export's bytes, checked to be a screener CSV (header with the required columns)."""
        from lev_flows.inputs.sources.http import BadResponse

        def parse(status: int, body: bytes) -> bytes:
            if status >= 400:
                raise BadResponse(f"HTTP {status}")
            head = body[:4096].decode("utf-8-sig", errors="replace").splitlines()[:1]
            columns = [c.strip().strip('"').lower() for c in head[0].split(",")] if head else []
            missing = [c for c in REQUIRED_COLUMNS if c not in columns]
            if missing:
                what = "an HTML page" if body.lstrip()[:1] == b"<" else "not a screener CSV"
                raise BadResponse(f"{what} (missing column(s) {', '.join(missing)})")
            return body

        return self.client.get(self.url, parse, what=self.name, ttl_s=SCREENER_TTL_S)
