"""AUM observations in and out of the store: import files, fetch issuer NAV histories, and show
one fund's observed against its modelled AUM.

Every import validates all of its input before it writes, and writes in one transaction: a
failed import changes nothing. Unknown tickers (not in the universe) are an error naming the
file, or with ``allow_partial`` skipped and listed; screener snapshots are the exception (they
list every product on the market, and the store keeps all of them for the catalog's updates).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from lev_flows.errors import InputError, LevFlowsError
from lev_flows.inputs.catalog import Universe
from lev_flows.inputs.store import Store, StoreError

if TYPE_CHECKING:  # pragma: no cover
    from lev_flows.model.pointintime import PointInTime


@dataclass
class ImportReport:
    """What an import did: per file ``(kind, rows, first, last, note)``, the rows that were new
    or changed, and what was skipped (file or ticker -> reason)."""

    files: dict[str, tuple[str, int, str, str, str]] = field(default_factory=dict)
    changed: int = 0
    skipped: dict[str, str] = field(default_factory=dict)

    def lines(self) -> list[str]:
        out = []
        for name, (kind, rows, first, last, note) in self.files.items():
            out.append(f"{name}: {kind}, {rows} observations {first} .. {last}" + (f"; {note}" if note else ""))
        out.append(f"{self.changed} observations new or changed")
        out += [f"skipped {k}: {v}" for k, v in self.skipped.items()]
        return out


def _issuer_aum(store: Store) -> pd.DataFrame:
    obs = store.observations()
    obs = obs[obs["source_kind"] == "issuer_nav"]
    if obs.empty:
        return pd.DataFrame()
    table = obs.pivot_table(index="date", columns="ticker", values="aum_usd", aggfunc="last")
    table.index = pd.to_datetime(table.index)
    return table


def _check_tickers(frame: pd.DataFrame, universe: Universe, where: str, allow_partial: bool, report: ImportReport) -> pd.DataFrame:
    known = set(universe.fund_by_ticker)
    unknown = sorted(set(frame["ticker"]) - known)
    if not unknown:
        return frame
    if not allow_partial:
        raise StoreError(
            f"{where}: unknown ticker {unknown[0]}" + (f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else "")
            + " (not a fund in the universe); --allow-partial skips and lists them"
        )
    for t in unknown:
        report.skipped[f"{where}: {t}"] = "not a fund in the universe"
    return frame[frame["ticker"].isin(known)]


def import_files(
    paths: list[str | Path], universe: Universe, *, db: str | Path | None = None, allow_partial: bool = False,
    source: str | None = None,
) -> ImportReport:
    """Import AUM files (issuer NAV histories, screener snapshots, observation CSVs) into the store.
    ``source`` replaces the file name as the observations' source (a URL the file came from)."""
    from lev_flows.inputs.sources.aumfiles import read_aum_file

    if not paths:
        raise InputError("aum import: give at least one file")
    report = ImportReport()
    frames: list[tuple[str, pd.DataFrame]] = []
    with Store(db) as store:
        issuer = _issuer_aum(store)
        for path in map(Path, paths):
            try:
                frame, kind, note = read_aum_file(path, issuer)
                if kind != "screener":
                    frame = _check_tickers(frame, universe, str(path), allow_partial, report)
            except LevFlowsError as exc:
                if not allow_partial:
                    raise
                report.skipped[str(path)] = str(exc)
                continue
            if frame.empty:
                report.skipped[str(path)] = "no observation left to import"
                continue
            if source:
                frame = frame.assign(source=source)
                path = Path(source)
            how = f"dated {note['date']} ({note['how']})" if note else ""
            report.files[str(path)] = (kind, len(frame), str(frame["date"].min()), str(frame["date"].max()), how)
            frames.append((str(path), frame))
        if frames:
            allrows = pd.concat([f for _, f in frames], ignore_index=True)
            dup = allrows.duplicated(["ticker", "date", "source_kind", "source"], keep=False)
            if dup.any():
                i = int(np.flatnonzero(dup.to_numpy())[0])
                raise StoreError(f"{allrows['source'].iat[i]}: {allrows['ticker'].iat[i]} {allrows['date'].iat[i]} is given twice")
            report.changed = store.add(allrows, source_label=", ".join(name for name, _ in frames))
    return report


def update_from_issuers(
    universe: Universe, client, *, db: str | Path | None = None, tickers: list[str] | None = None,
    base_url: str | None = None, allow_partial: bool = False, progress=None,
) -> ImportReport:
    """Fetch the ProShares NAV history of every ProShares fund in ``universe`` (or ``tickers``)
    and import it. Without ``allow_partial`` any failed fund stops the update before it writes."""
    from lev_flows.errors import DataSourceError
    from lev_flows.inputs.sources.navhistory import ProSharesNavHistory

    if tickers:
        unknown = sorted(set(tickers) - set(universe.fund_by_ticker))
        if unknown:
            raise InputError(f"aum update: unknown ticker {', '.join(unknown)} (not a fund in the universe)")
        wanted = list(tickers)
    else:
        wanted = [f.ticker for f in universe.funds if (f.issuer or "").lower().startswith("proshares")]
    if not wanted:
        raise InputError("aum update: no ProShares fund in the universe")
    provider = ProSharesNavHistory(client, base_url)
    frame, failed = provider.fetch(wanted, progress)
    report = ImportReport(skipped=dict(failed))
    if failed and not allow_partial:
        first = next(iter(failed.values()))
        raise DataSourceError(f"{len(failed)} of {len(wanted)} NAV histories failed; first: {first} (--allow-partial to import the rest)")
    if frame.empty:
        raise DataSourceError(f"no NAV history could be fetched ({len(failed)} failed)")
    with Store(db) as store:
        report.changed = store.add(frame, source_label=f"{provider.name} {provider.base_url}")
    report.files[provider.base_url] = ("issuer_nav", len(frame), str(frame["date"].min()), str(frame["date"].max()), f"{frame['ticker'].nunique()} funds")
    return report


def record_holdings(holdings: dict, *, db: str | Path | None = None) -> int:
    """Store the net assets of issuer holdings files (``FundHoldings`` by ticker, as of the close
    of their ``as_of`` date) as ``holdings`` observations; returns the rows new or changed."""
    rows = [
        {"ticker": t, "date": h.as_of, "aum_usd": h.nav_usd, "nav": None, "shares_outstanding": h.shares_outstanding,
         "timing": "close", "source_kind": "holdings", "source": h.source_url or f"{h.issuer} holdings", "published": None}
        for t, h in holdings.items()
        if h.as_of is not None and h.nav_usd is not None and h.nav_usd > 0
    ]
    if not rows:
        return 0
    with Store(db) as store:
        return store.add(pd.DataFrame(rows), source_label="issuer holdings (daily --holdings)")


def aum_series(ticker: str, universe: Universe, pit: "PointInTime", db: str | Path | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(modelled, observed)`` for one fund: the point-in-time start-of-day AUM per session with
    its method, source and gap; and every stored observation (all sources)."""
    from lev_flows.model.pointintime import AUM_METHODS, AUM_SOURCES

    if ticker not in universe.fund_by_ticker:
        from difflib import get_close_matches

        near = get_close_matches(ticker, list(universe.fund_by_ticker), n=3)
        raise InputError(f"aum show: {ticker} is not a fund in the universe" + (f" (did you mean {', '.join(near)}?)" if near else ""))
    i = int(np.flatnonzero(pit.tickers == ticker)[0])
    modelled = pd.DataFrame(
        {
            "aum_usd": pit.aum_usd[:, i],
            "method": AUM_METHODS[pit.aum_method[:, i]],
            "source": AUM_SOURCES[pit.aum_source[:, i]],
            "observation": pd.to_datetime(pit.aum_obs_date[:, i]),
            "gap_sessions": pit.aum_gap[:, i],
        },
        index=pit.sessions,
    )
    modelled.index.name = "session"
    with Store(db, read_only=True) as store:
        observed = store.observations([ticker])
    return modelled, observed


__all__ = ["import_files", "update_from_issuers", "aum_series", "record_holdings", "ImportReport"]
