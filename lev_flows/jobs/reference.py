"""Project commands that produce the shipped data from the raw public files.

* :func:`build_reference` -> ``lev_flows/data/reference.json``: compositions (weights, source,
  as-of date) and the stock reference (name, GICS sector, where the sector came from);
* :func:`import_universe` -> ``etf_universe.yaml``: the catalog from a screener snapshot,
  refreshing an existing file in place (curated fields and comments kept);
* :func:`build_replay` -> ``lev_flows/data/replay_<date>.csv``: the built-in replay's returns,
  close-to-close from prices and the intraday fund changes of the snapshot.

Run them through the CLI: ``lev-flows reference build``, ``lev-flows universe import``,
``lev-flows reference replay``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lev_flows.errors import InputError
from lev_flows.inputs.packaged import load_replay, load_replay_aum  # noqa: F401  (re-exported: the replay is read there, without pandas)
from lev_flows.inputs.sources import holdings as H
from lev_flows.inputs.sources.screener import import_snapshot
from lev_flows.inputs.sources.underlyings import (
    COMPOSITION_NOTES,
    COMPOSITIONS,
    CURATED_SECTORS,
    GICS_SECTORS,
)
from lev_flows.io import atomic_write_text

PACKAGE_DATA = Path(__file__).parents[1] / "data"  # lev_flows/data
REPO_UNIVERSE = Path(__file__).parents[2] / "etf_universe.yaml"

SECTOR_FILES = [  # priority order for a stock's GICS sector
    "reference/sp500_constituents.csv",
    "fund_holdings/ivv_2025-11.csv",
    "fund_holdings/mdy_2025-11.csv",
    "fund_holdings/iwm_2025-11.csv",
    "fund_holdings/vgt_2025-11.csv",
    "fund_holdings/mtum_2025-11.csv",
    *[f"fund_holdings/{s}_2025-11.csv" for s in "xlb xlc xle xlf xli xlk xlp xlre xlu xlv xly".split()],
    "fund_holdings/soxx_2026-08-03.csv",
]
NAME_FILES = ["index_weights/qqq_2025-10-04.csv", "index_weights/spy_2025-10-04.csv", "index_weights/spsm_2025-10-04.csv"]


def _file_date(rel: str) -> str:
    m = re.search(r"(\d{4}-\d{2}(?:-\d{2})?)", rel)
    if not m:
        raise InputError(f"{rel}: no date in the file name")
    d = m.group(1)
    return d if len(d) == 10 else f"{d}-01"


def _round(weights: pd.Series) -> dict[str, float]:
    w = weights / weights.sum()
    return {str(k): float(f"{v:.8g}") for k, v in w.items() if v > 0}


def build_reference(data_dir: str | Path) -> dict[str, Any]:
    """Compositions and the stock reference from ``data_dir`` (the shared-data layout)."""
    data = Path(data_dir)
    if not data.is_dir():
        raise InputError(f"{data}: not a directory (expected ../shared/data)")
    sp500 = H.read_sp500_constituents(data / "reference/sp500_constituents.csv")

    stocks: dict[str, dict[str, str]] = {}
    for rel in SECTOR_FILES:
        path = data / rel
        if rel.startswith("reference/"):
            df = sp500
        elif "soxx" in rel:
            df = H.read_ishares_holdings(path)[0]
        else:
            df = H.read_sector_holdings(path)
        for t, name, sector in zip(df["ticker"], df["name"], df["sector"]):
            if t not in stocks and isinstance(sector, str) and sector in GICS_SECTORS:
                stocks[t] = {"name": str(name).strip(), "sector": sector, "source": rel}
    for t, (name, sector) in CURATED_SECTORS.items():
        stocks.setdefault(t, {"name": name, "sector": sector, "source": "curated in lev_flows/sources/underlyings.py"})
    for rel in NAME_FILES:
        for t, name in zip(*H.read_index_weights(data / rel)[["ticker", "name"]].T.values):
            stocks.setdefault(t, {"name": str(name).strip(), "source": rel})

    closes = None
    compositions: dict[str, dict[str, Any]] = {}
    for uid, recipe in COMPOSITIONS.items():
        kind = recipe[0]
        if kind in ("index_weights", "holdings", "ishares"):
            rel = recipe[1]
            if kind == "index_weights":
                df = H.read_index_weights(data / rel)
            elif kind == "holdings":
                df = H.read_sector_holdings(data / rel)
            else:
                df = H.read_ishares_holdings(data / rel)[0]
            weights, source, as_of = df.set_index("ticker")["weight"], rel, _file_date(rel)
        elif kind == "members":
            weights = pd.Series(1.0, index=recipe[1])
            source, as_of = "member list in lev_flows/sources/underlyings.py", recipe[2]
        elif kind == "price_weighted":
            if closes is None:
                from lev_flows.inputs.prices import read_close_table

                closes = read_close_table(next((data / "prices").glob("us_stocks_close_*.csv*")))
            row = closes.loc[recipe[2]]
            weights = row.reindex(recipe[1]).dropna()
            source, as_of = f"member list + closes of {recipe[2]} (prices/us_stocks_close_*)", recipe[2]
        elif kind == "equal_weight_of":
            weights = pd.Series(1.0, index=list(compositions[recipe[1]]["weights"]))
            source, as_of = compositions[recipe[1]]["source"], compositions[recipe[1]]["as_of"]
        elif kind == "high_beta":
            if closes is None:
                from lev_flows.inputs.prices import read_close_table

                closes = read_close_table(next((data / "prices").glob("us_stocks_close_*.csv*")))
            weights = high_beta_weights(data, closes, sp500["ticker"], n=recipe[1], as_of=recipe[2])
            source, as_of = "prices/us_stocks_close_* and prices/us_indexes_close_* (252-session beta to ^GSPC)", recipe[2]
        elif kind == "sub_industry":
            members = sp500[sp500["sub_industry"].isin(recipe[1])]["ticker"]
            weights = pd.Series(1.0, index=members.to_numpy())
            source, as_of = "reference/sp500_constituents.csv (GICS sub-industry)", "2026-01-01"
        else:  # pragma: no cover - recipe table is ours
            raise ValueError(f"unknown composition recipe {kind}")
        compositions[uid] = {
            "as_of": as_of,
            "source": source,
            "method": COMPOSITION_NOTES.get(uid, kind),
            "weights": _round(weights.sort_values(ascending=False, kind="stable")),
        }
    return {
        "generated_by": "lev-flows reference build --data <shared data>",
        "stocks": dict(sorted(stocks.items())),
        "compositions": compositions,
    }


def high_beta_weights(data: Path, closes: pd.DataFrame, members, *, n: int, as_of: str, window: int = 252) -> pd.Series:
    """The S&P 500 High Beta rule on our prices: the ``n`` members with the highest beta to the
    S&P 500 (``cov(r_s, r_m) / var(r_m)`` over the ``window`` sessions to ``as_of``), weighted
    in proportion to beta."""
    from lev_flows.inputs.prices import read_close_table
    from lev_flows.model.returns import daily_returns

    index = read_close_table(next((data / "prices").glob("us_indexes_close_*.csv*")))["^GSPC"]
    cols = [t for t in members if t in closes.columns]
    r = daily_returns(closes[cols].join(index, how="inner"))
    r = r[r.index <= pd.Timestamp(as_of)].tail(window)
    r = r.loc[:, r.notna().sum() >= window * 0.9]
    m = r.pop("^GSPC")
    beta = r.apply(lambda s: s.cov(m) / m[s.notna()].var())
    return beta.nlargest(n)


def write_reference(reference: dict[str, Any], path: Path = PACKAGE_DATA / "reference.json") -> Path:
    atomic_write_text(path, json.dumps(reference, indent=0, separators=(",", ":"), sort_keys=False) + "\n", force=True)
    return path


# --------------------------------------------------------------------------------------------
# published desk figures (the scorecard's file)

#: published figures the shared file does not hold, each with its public source
PUBLISHED_ADDED = [
    {
        "date": "2026-02-12", "estimate_usd": -12.4e9, "scope": "us_equity", "basis": "unstated",
        "time": "not stated (Morgan Stanley QDS, reported in an after-the-close market wrap)",
        "source": "Morgan Stanley QDS (via the TightSpreads market wrap)",
        "url": "https://www.zerohedge.com/news/2026-02-12/21226-market-wrap-ctas-sell-20bln-more-equities",
        "published_scope": "levered ETF rebalancing, equity supply (~$8.5bn of it Tech/Nasdaq/Semis/single stocks)",
    },
]
PUBLISHED_SHARED = "reference/published_flow_estimates.csv"


def build_published(data_dir: str | Path) -> pd.DataFrame:
    """The scorecard's curated file: the shared file's figures with scope and basis in our
    vocabulary (:func:`lev_flows.analysis.scorecard.read_published`; the desk's words kept in
    ``published_scope`` and ``time``) and :data:`PUBLISHED_ADDED`, newest first."""
    from lev_flows.analysis.scorecard import COLUMNS, read_published

    data = Path(data_dir)
    if not data.is_dir():
        raise InputError(f"{data}: not a directory (expected ../shared/data)")
    shared = read_published(data / PUBLISHED_SHARED)
    added = pd.DataFrame(PUBLISHED_ADDED)
    added["date"] = pd.to_datetime(added["date"]).dt.date
    out = pd.concat([shared, added[list(COLUMNS)]], ignore_index=True)
    return out.sort_values(["date", "source", "basis"], ascending=[False, True, True], kind="stable").reset_index(drop=True)


def write_published(frame: pd.DataFrame) -> Path:
    """``lev_flows/data/published_flow_estimates.csv``."""
    path = PACKAGE_DATA / "published_flow_estimates.csv"
    atomic_write_text(path, frame.to_csv(index=False, lineterminator="\n"), force=True)
    return path


# --------------------------------------------------------------------------------------------
# AUM observations (seed of the store)

OBSERVATION_FILES = {
    "issuer_nav": "fund_history/proshares_nav_*.csv",
    "screener": "letf_snapshots/leveraged_etfs_*.csv",
}


def build_observations(data_dir: str | Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Every AUM observation the shared data knows, as the store's rows, and how each screener
    snapshot was dated (its measured lag against the issuer's net assets)."""
    from lev_flows.inputs.sources.aumfiles import (
        parse_nav_history,
        read_bytes,
        snapshot_observations,
    )

    data = Path(data_dir)
    if not data.is_dir():
        raise InputError(f"{data}: not a directory (expected ../shared/data)")
    frames, notes = [], {"snapshots": {}, "issuer_files": []}
    for path in sorted(data.glob(OBSERVATION_FILES["issuer_nav"])):
        frames.append(parse_nav_history(read_bytes(path), path.name))  # a regular file within the AUM-file limits
        notes["issuer_files"].append(path.name)
    issuer = pd.concat(frames) if frames else pd.DataFrame(columns=["date", "ticker", "aum_usd"])
    issuer_aum = issuer.pivot(index="date", columns="ticker", values="aum_usd")
    issuer_aum.index = pd.to_datetime(issuer_aum.index)
    for path in sorted(data.glob(OBSERVATION_FILES["screener"])):
        frame, note = snapshot_observations(path, issuer_aum)
        frames.append(frame)
        notes["snapshots"][path.name] = note
    out = pd.concat(frames, ignore_index=True).sort_values(["ticker", "date", "source_kind"], kind="stable")
    return out.reset_index(drop=True), notes


def build_carry_elasticity(data_dir: str | Path, observations: pd.DataFrame) -> dict[str, Any]:
    """The carry elasticities by kind of product and fund (:func:`lev_flows.model.carry.
    fit_elasticity`) on the observations and the shared data's fund closes, with their source."""
    from lev_flows.inputs.catalog import load_universe
    from lev_flows.inputs.prices import load_price_dir
    from lev_flows.model.carry import fit_elasticity, observation_pairs

    closes = load_price_dir(Path(data_dir) / "prices")
    best = observations.assign(precedence=observations["source_kind"].map({"issuer_nav": 40, "screener": 10}).fillna(0))
    best = best.sort_values(["ticker", "date", "precedence"]).drop_duplicates(["ticker", "date"], keep="last")
    table = fit_elasticity(observation_pairs(load_universe(), best, closes))
    return {"source": "lev-flows reference build: the packaged AUM observations and prices/funds_close_*",
            "prices_to": str(closes.index[-1].date()), **table}


#: the gap buckets (sessions) of the AUM error bands
BAND_GAPS = [(0, 0), (1, 5), (6, 20), (21, 60), (61, 125), (126, 250), (251, 100_000)]
#: a (gap, method) cell with fewer fund-days than this uses its gap bucket's pooled quantiles
MIN_BAND_DAYS = 30


def issuer_held_out(data_dir: str | Path, observations: pd.DataFrame, closes: pd.DataFrame):
    """The point in time of every fund with the issuer file held out: modelled from the other
    observations (the screener snapshots) alone, with carry elasticities fitted on those alone
    too (the shipped ones rest on the issuer file). What the error bands and the held-out tables
    of ``benchmarks.validate_aum`` measure the issuer's funds against."""
    from lev_flows.inputs.catalog import load_universe
    from lev_flows.model.carry import fund_elasticity
    from lev_flows.model.pointintime import point_in_time

    others = observations[observations["source_kind"] != "issuer_nav"].assign(precedence=10)
    universe = load_universe()
    return point_in_time(universe, closes, others, elasticity=fund_elasticity(universe, build_carry_elasticity(data_dir, others)))


def build_error_bands(data_dir: str | Path, observations: pd.DataFrame) -> dict[str, Any]:
    """The AUM error quantiles the bands take (:mod:`lev_flows.model.band`): the funds of the issuer
    file modelled from every other observation (the issuer file removed), against the issuer's net
    assets at the previous close; signed ``log(true / model)`` p10 / p90 by gap bucket and method
    (``interpolated`` between two observations, ``carried`` beyond them), with fund-day counts."""
    import numpy as np

    from lev_flows.inputs.prices import load_price_dir
    from lev_flows.model.pointintime import AUM_METHODS

    closes = load_price_dir(Path(data_dir) / "prices")
    issuer = observations[observations["source_kind"] == "issuer_nav"]
    truth = issuer.pivot_table(index="date", columns="ticker", values="aum_usd")
    truth.index = pd.to_datetime(truth.index)
    pit = issuer_held_out(data_dir, observations, closes)
    prev = truth.shift(1).reindex(pit.sessions)
    rows = []
    for t in truth.columns:
        i = int(np.flatnonzero(pit.tickers == t)[0])
        model, true = pit.aum_usd[:, i], prev[t].to_numpy(dtype=float)
        ok = np.isfinite(model) & np.isfinite(true) & (model > 0) & (true > 0)
        method = np.where(AUM_METHODS[pit.aum_method[:, i]] == "interpolated", "interpolated", "carried")
        rows.append(pd.DataFrame({"gap": pit.aum_gap[ok, i], "method": method[ok], "e": np.log(true[ok] / model[ok])}))
    df = pd.concat(rows, ignore_index=True)
    cells: dict[str, dict[str, float]] = {}
    for k, (lo, hi) in enumerate(BAND_GAPS):
        bucket = df[(df["gap"] >= lo) & (df["gap"] <= hi)]
        for name, sel in (("all", bucket), *((m, bucket[bucket["method"] == m]) for m in ("interpolated", "carried"))):
            if len(sel) >= (1 if name == "all" else MIN_BAND_DAYS):
                cells[f"{k}:{name}"] = {"q10": round(float(sel["e"].quantile(0.1)), 4),
                                        "q90": round(float(sel["e"].quantile(0.9)), 4), "fund_days": int(len(sel))}
    return {"source": "lev-flows reference build: the issuer file's funds modelled without it (screener snapshots only, "
                      "carry elasticities fitted on them alone), signed log(issuer / model) at the previous close",
            "funds": sorted(map(str, truth.columns)), "gaps": BAND_GAPS, "cells": cells}


def write_error_bands(table: dict[str, Any]) -> Path:
    path = PACKAGE_DATA / "aum_error_bands.json"
    atomic_write_text(path, json.dumps(table, indent=1, sort_keys=True) + "\n", force=True)
    return path


def write_carry_elasticity(table: dict[str, Any]) -> Path:
    path = PACKAGE_DATA / "carry_elasticity.json"
    atomic_write_text(path, json.dumps(table, indent=1, sort_keys=True) + "\n", force=True)
    return path


def write_observations(frame: pd.DataFrame, notes: dict[str, Any]) -> Path:
    """``lev_flows/data/aum_observations.csv.gz`` (byte-for-byte reproducible: gzip without a
    timestamp) and ``aum_sources.json`` (how each snapshot was dated)."""
    import gzip

    from lev_flows.io import atomic_write_bytes

    text = frame.to_csv(index=False, lineterminator="\n")  # full precision: issuer figures exactly
    path = PACKAGE_DATA / "aum_observations.csv.gz"
    atomic_write_bytes(path, gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0), force=True)
    atomic_write_text(PACKAGE_DATA / "aum_sources.json", json.dumps(notes, indent=1, sort_keys=True) + "\n", force=True)
    return path


# --------------------------------------------------------------------------------------------
# universe import

def packaged_observations() -> pd.DataFrame:
    """The store's seed (``lev_flows/data/aum_observations.csv.gz``), best row per fund-day, without
    opening a store: builds from the package's own data stay reproducible whatever a user has
    imported."""
    from importlib import resources

    from lev_flows.inputs.store import PRECEDENCE, SEED_FILE, read_observation_csv

    df = read_observation_csv(resources.files("lev_flows").joinpath(SEED_FILE).read_bytes(), SEED_FILE)
    df["precedence"] = df["source_kind"].map(PRECEDENCE)
    df = df.sort_values(["ticker", "date", "precedence"]).drop_duplicates(["ticker", "date", "timing"], keep="last")
    return df.reset_index(drop=True)


def build_replay(data_dir: str | Path, date: str = "2026-02-04") -> pd.DataFrame:
    """The built-in replay: the point-in-time day from the shared closes and the packaged AUM
    observations (exactly what ``estimate --date`` computes for that day), plus the funds'
    intraday changes from the snapshot of that day.

    Rows: ``kind = fund`` with ``basis = close`` (the fund's underlying return and its method)
    or ``intraday`` (the fund's own reported change); ``kind = aum`` (start-of-day AUM in
    ``value``, its source, method, observation date and gap in ``method``)."""
    from lev_flows.inputs.catalog import load_universe
    from lev_flows.inputs.prices import load_price_dir
    from lev_flows.model.pointintime import point_in_time
    from lev_flows.model.returns import day_returns_from_matrix

    data = Path(data_dir)
    snap = data / f"letf_snapshots/leveraged_etfs_{date}.csv"
    universe = load_universe()
    changes = import_snapshot(snap).reported_change
    pit = point_in_time(universe, load_price_dir(data / "prices"), packaged_observations())
    row = pit.row(date)
    close = pit.day_returns(universe, row)
    aum = pit.aum_day(row)
    rows = [
        {"key": k, "kind": "fund", "basis": "close", "value": v, "method": close.fund_methods[k]}
        for k, v in sorted(close.per_fund.items())
    ]
    und = day_returns_from_matrix(universe, pit.underlying_matrix, row, source="prices")
    rows += [
        {"key": k, "kind": "underlying", "basis": "close", "value": v, "method": und.methods[k]}
        for k, v in sorted(und.values.items())
    ]
    rows += [  # weekly / monthly / quarterly funds resetting at this close (none on 2026-02-04)
        {"key": t, "kind": "reset", "basis": "close", "value": 1.0, "method": close.fund_methods.get(t, "")}
        for t in sorted(close.resets or ())
    ]
    rows += [
        {"key": t, "kind": "fund", "basis": "intraday", "value": v, "method": "screener percent_change_from_prev_day"}
        for t, v in sorted(changes.items())
        if t in universe.fund_by_ticker
    ]
    for i, t in enumerate(pit.tickers):
        if np.isfinite(aum.aum_usd[i]):
            rows.append({
                "key": t, "kind": "aum", "basis": "start of day", "value": aum.aum_usd[i],
                "method": f"{aum.source[i]}|{aum.method[i]}|{str(aum.obs_date[i])[:10]}|{int(aum.gap_sessions[i])}",
            })
        elif not aum.launched[i]:
            rows.append({"key": t, "kind": "aum", "basis": "start of day", "value": np.nan, "method": "none|not launched||-1"})
    return pd.DataFrame(rows)  # full precision: the replay equals estimate_day to the cent


def write_replay(df: pd.DataFrame, date: str = "2026-02-04") -> Path:
    path = PACKAGE_DATA / f"replay_{date}.csv"
    atomic_write_text(path, df.to_csv(index=False, lineterminator="\n"), force=True)
    return path


__all__ = ["build_reference", "write_reference", "build_replay", "write_replay", "load_replay", "load_replay_aum", "build_observations", "write_observations", "packaged_observations"]
