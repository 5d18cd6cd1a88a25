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
    #: funds an update did not ask for: ticker -> why (no provider for their issuer)
    not_covered: dict[str, str] = field(default_factory=dict)

    def lines(self) -> list[str]:
        out = []
        for name, (kind, rows, first, last, note) in self.files.items():
            out.append(f"{name}: {kind}, {rows} observations {first} .. {last}" + (f"; {note}" if note else ""))
        out.append(f"{self.changed} observations new or changed")
        out += [f"skipped {k}: {v}" for k, v in self.skipped.items()]
        if self.not_covered:
            why: dict[str, int] = {}
            for v in self.not_covered.values():
                why[v] = why.get(v, 0) + 1
            out.append(f"not covered: {len(self.not_covered)} funds ("
                       + "; ".join(f"{k}: {n}" for k, n in sorted(why.items(), key=lambda kv: -kv[1])) + ")")
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


def _providers(universe: Universe, client, tickers: list[str] | None, issuers: list[str] | None,
               base_urls: dict[str, str] | None, today) -> tuple[list[tuple[object, list[str]]], dict[str, str]]:
    """The provider of each issuer asked for with its funds, and the funds no provider covers
    (ticker -> why). Funds closed before ``today`` are not asked for."""
    from lev_flows.inputs.catalog import normalize_issuer
    from lev_flows.inputs.sources.issuer_aum import provider_classes

    classes = provider_classes()
    if issuers:
        wanted_issuers = {normalize_issuer(i) for i in issuers}
        unknown = sorted(wanted_issuers - set(classes))
        if unknown:
            raise InputError(f"aum update: no provider for issuer {', '.join(unknown)} (providers: {', '.join(classes)})")
    if tickers:
        unknown = sorted(set(tickers) - set(universe.fund_by_ticker))
        if unknown:
            raise InputError(f"aum update: unknown ticker {', '.join(unknown)} (not a fund in the universe)")
        funds = [universe.fund_by_ticker[t] for t in tickers]
    else:
        funds = [f for f in universe.funds if f.closed_on is None or f.closed_on > today]
    by_issuer: dict[str, list[str]] = {}
    uncovered: dict[str, str] = {}
    for f in funds:
        if f.issuer in classes and (not issuers or f.issuer in wanted_issuers):
            by_issuer.setdefault(f.issuer, []).append(f.ticker)
        elif not issuers:
            uncovered[f.ticker] = f"no issuer provider for {f.issuer or 'an unknown issuer'}"
    base_urls = base_urls or {}
    chosen = [(classes[i](client, base_urls.get(i, base_urls.get("*"))), sorted(ts)) for i, ts in by_issuer.items()]
    if not chosen:
        raise InputError("aum update: no fund of the universe has an issuer provider")
    return chosen, uncovered


def update_from_issuers(
    universe: Universe, client, *, db: str | Path | None = None, tickers: list[str] | None = None,
    issuers: list[str] | None = None, base_urls: dict[str, str] | None = None,
    allow_partial: bool = False, progress=None, extra: list | None = None, issuer_files: bool = True,
) -> ImportReport:
    """Fetch every fund's net assets from its issuer (every provider at once) and import them.

    ``tickers`` / ``issuers`` narrow the run (default: every listed fund whose issuer has a
    provider). ``base_urls`` maps an issuer (or ``"*"``: all) to a base URL (a mirror, a test
    server). ``extra``: more ``(provider, tickers)`` pairs
    (the SEC N-PORT provider); ``issuer_files=False`` runs only those. Without ``allow_partial`` a fund that failed stops the update
    before anything is written (a :class:`DataSourceError` whose ``details`` list every failed
    fund); with it, the funds that answered are imported and the rest listed in ``skipped``.
    Funds whose issuer has no provider are listed in ``not_covered``.
    """
    from concurrent.futures import ThreadPoolExecutor

    from lev_flows.clock import system_now, today
    from lev_flows.errors import DataSourceError

    chosen, uncovered = _providers(universe, client, tickers, issuers, base_urls, today()) if issuer_files else ([], {})
    chosen += list(extra or [])
    if not chosen:
        raise InputError("aum update: nothing to fetch (no issuer files and no --nport)")

    def run(pair):
        provider, funds = pair
        label = provider.name
        report_one = (lambda key, ok: progress(f"{label} {key}", ok)) if progress else None
        try:
            return provider.fetch(funds, report_one)
        except DataSourceError as exc:  # the issuer's site is down: each of its funds failed, the others go on
            from lev_flows.inputs.sources.issuer_aum.base import AumFetch, observation_frame

            return AumFetch(label, observation_frame([], "", system_now()), {t: str(exc) for t in funds}, list(funds))

    with ThreadPoolExecutor(max_workers=len(chosen)) as pool:
        fetched = list(pool.map(run, chosen))
    failed = {f"{t} ({got.provider})": why for got in fetched for t, why in sorted(got.failed.items())}
    asked = sum(len(got.asked) for got in fetched)
    for got in fetched:
        uncovered.update({f"{t} ({got.provider})": why.split(": ", 1)[-1].split(" (http")[0] for t, why in got.not_covered.items()})
    report = ImportReport(skipped=failed, not_covered=uncovered)
    if failed and not allow_partial:
        raise DataSourceError(f"aum update: {len(failed)} of {asked} funds failed; nothing was imported "
                              "(--allow-partial imports the rest)", details=[f"{k}: {v}" for k, v in failed.items()])
    frames = [got.observations for got in fetched if len(got.observations)]
    if not frames:
        raise DataSourceError(f"aum update: no fund could be fetched ({len(failed)} failed)",
                              details=[f"{k}: {v}" for k, v in failed.items()])
    frame = pd.concat(frames, ignore_index=True)
    with Store(db) as store:
        report.changed = store.add(frame, source_label="aum update: " + ", ".join(got.provider for got in fetched))
    for got in fetched:
        if len(got.observations):
            o = got.observations
            report.files[got.provider] = (str(o["source_kind"].iat[0]), len(o), str(o["date"].min()), str(o["date"].max()),
                                          f"{o['ticker'].nunique()} of {len(got.asked)} funds")
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
            "gap_sessions": np.where(pit.aum_gap[:, i] < 0, np.nan, pit.aum_gap[:, i]),  # -1: no observation
        },
        index=pit.sessions,
    )
    modelled.index.name = "session"
    with Store(db, read_only=True) as store:
        observed = store.observations([ticker])
    return modelled, observed


class NportAnchors:
    """The SEC N-PORT provider as one more source of ``aum update`` (``--nport``): month-end net
    assets from ``since`` on, for the catalog's ETFs (ETNs and commodity pools file none)."""

    name = "SEC N-PORT"

    def __init__(self, client, since=None, base_url: str | None = None, data_url: str | None = None):
        from lev_flows.inputs.sources.edgar import DEFAULT_SINCE, EdgarNport

        self.provider = EdgarNport(client, base_url, data_url)
        self.since = since or DEFAULT_SINCE

    def fetch(self, tickers, progress=None):
        return self.provider.fetch(tickers, since=self.since, progress=progress)

    @staticmethod
    def funds(universe: Universe, tickers: list[str] | None, today) -> list[str]:
        if tickers:
            return list(tickers)
        return [f.ticker for f in universe.funds if f.structure == "ETF" and (f.closed_on is None or f.closed_on > today)]


def aum_coverage(universe: Universe, pit: "PointInTime", day, *, by: str = "basis") -> pd.DataFrame:
    """What the start-of-day AUM of session ``day`` rests on.

    ``by="basis"``: one row per source family and age (:func:`lev_flows.inputs.days.aum_basis`):
    ``source, age, funds, aum_usd, share`` (share of the day's AUM, 0..1), largest first.
    ``by="issuer"``: one row per issuer: ``issuer, funds, aum_usd, share, issuer_previous_close``
    (the share of that issuer's AUM resting on an issuer figure of the previous close),
    ``weakest`` (the family and age of its largest AUM not resting on one)."""
    from lev_flows.inputs.days import aum_basis

    if by not in ("basis", "issuer"):
        raise InputError(f"aum coverage: --by {by!r} is not 'basis' or 'issuer'")
    row = pit.row(day)
    aum = pit.aum_usd[row]
    ok = np.isfinite(aum) & (aum > 0)
    if not ok.any():
        raise InputError(f"aum coverage: no fund has AUM on {pd.Timestamp(day).date()}")
    from lev_flows.model.pointintime import AUM_SOURCES

    family, age = aum_basis(AUM_SOURCES[pit.aum_source[row]], np.where(pit.aum_gap[row] < 0, np.nan, pit.aum_gap[row]))
    frame = pd.DataFrame({"source": family, "age": age, "aum_usd": aum,
                          "issuer": [f.issuer or "unknown" for f in universe.funds]})[ok]
    total = frame["aum_usd"].sum()
    if by == "basis":
        out = frame.groupby(["source", "age"], as_index=False).agg(funds=("aum_usd", "size"), aum_usd=("aum_usd", "sum"))
        out["share"] = out["aum_usd"] / total
        return out.sort_values("aum_usd", ascending=False, ignore_index=True)
    frame["fresh"] = np.where((frame["source"] == "issuer") & (frame["age"] == "previous close"), frame["aum_usd"], 0.0)
    frame["basis"] = frame["source"] + ", " + frame["age"]
    weakest = frame[frame["fresh"] == 0].sort_values("aum_usd").groupby("issuer")["basis"].last()
    out = frame.groupby("issuer", as_index=False).agg(funds=("aum_usd", "size"), aum_usd=("aum_usd", "sum"), fresh=("fresh", "sum"))
    out["share"] = out["aum_usd"] / total
    out["issuer_previous_close"] = out["fresh"] / out["aum_usd"]
    out["weakest"] = out["issuer"].map(weakest)
    return out.drop(columns="fresh").sort_values("aum_usd", ascending=False, ignore_index=True)


__all__ = ["NportAnchors", "import_files", "update_from_issuers", "aum_series", "aum_coverage", "record_holdings", "ImportReport"]
