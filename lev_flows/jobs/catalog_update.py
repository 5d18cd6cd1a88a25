"""The catalog from the screener: :func:`import_universe` builds or refreshes
``etf_universe.yaml`` from a snapshot (curated fields and comments kept); :func:`update_universe`
fetches the screener's export, verifies what changed against the funds' prices before writing,
and stores the export's AUM observations. Run them as ``lev-flows universe import`` and
``lev-flows universe update``.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pandas as pd

from lev_flows import clock
from lev_flows.errors import InputError
from lev_flows.inputs.catalog import Universe, dump_yaml, parse_yaml, read_text, universe_from_data
from lev_flows.inputs.packaged import load_replay, load_replay_aum  # noqa: F401  (re-exported: the replay is read there, without pandas)
from lev_flows.inputs.sources.screener import ImportResult, import_snapshot
from lev_flows.io import atomic_write_text

UNIVERSE_HEADER = """lev_flows catalog of US leveraged and inverse ETFs/ETNs.
Produced by `lev-flows universe import {source}`; refreshing from a newer snapshot keeps
hand-edited fields and comments. Compositions and sectors come from the packaged reference
(`lev-flows reference build`); `reference: packaged` merges them in.
Leverage is signed (-3 = 3x inverse). AUM in USD as of aum_as_of."""

#: fields a snapshot owns; every other field of an existing entry is curated and kept
SNAPSHOT_FIELDS = ("aum_usd", "aum_as_of", "inception_date")


def _fresh_document(result: ImportResult) -> dict[str, Any]:
    return {
        "source": result.source,
        "as_of": result.as_of,
        "reference": "packaged",
        "funds": result.funds,
        "underlyings": list(result.underlyings.values()),
        "excluded": result.excluded,
    }


def _known_stock_names() -> dict[str, str]:
    from lev_flows.inputs.catalog import _packaged_reference

    out = {}
    for t, s in _packaged_reference()["stocks"].items():
        name = (s.get("name") or "").lower().split(",")[0].removesuffix(" inc").removesuffix(" inc.").strip()
        if name:
            out.setdefault(name, t)
    return out


def import_universe(snapshot: str | Path, output: str | Path, *, fresh: bool = False) -> tuple[ImportResult, str]:
    """Import a snapshot into ``output``. If ``output`` exists (and not ``fresh``) it is
    refreshed in place: snapshot-owned fields (AUM and its date) are updated, new funds and
    underlyings added, funds gone from the snapshot marked closed, and everything else in
    existing entries, comments included, kept. Returns the import result and a summary."""
    result, text, summary = plan_import(snapshot, output, fresh=fresh)
    atomic_write_text(Path(output), text, force=True)
    return result, summary + "".join(f"\nwrote {p} (the packaged catalog as parsed)" for p in _refreshed(output))


def _refreshed(output: str | Path) -> list[Path]:
    """The packaged catalog's parsed copy, written again when ``output`` is that catalog
    (:func:`lev_flows.inputs.catalog.refresh_packaged_parsed`): [its path], else []."""
    from lev_flows.inputs.catalog import refresh_packaged_parsed

    parsed = refresh_packaged_parsed(output)
    return [] if parsed is None else [parsed]


def plan_import(
    snapshot: str | Path, output: str | Path, *, fresh: bool = False, source: str | None = None
) -> tuple[ImportResult, str, str]:
    """What :func:`import_universe` would write: ``(result, yaml text, summary)``; writes nothing."""
    from ruamel.yaml import YAML

    result = import_snapshot(snapshot, _known_stock_names(), source=source)
    output = Path(output)
    doc = _fresh_document(result)
    notes: list[str] = []
    header: str | None = UNIVERSE_HEADER.format(source=result.source)
    if output.exists() and not fresh:
        rt = YAML()
        rt.preserve_quotes = True
        text = read_text(output)  # a regular file within the YAML limit, or one line saying why not
        _loads_to_refresh(text, output)
        try:
            existing = rt.load(text)
        except Exception as exc:  # ruamel raises many types; the message is what matters
            raise InputError(f"{output}: cannot refresh, invalid YAML ({str(exc).splitlines()[0]})") from None
        doc, notes = _refresh(existing, doc)
        header = None  # the existing file keeps its own header comments
    buf = io.StringIO()
    dump_yaml(doc, buf, header=header)
    text = buf.getvalue()
    universe_from_data(parse_yaml(text, output), output)  # never write a file that will not load
    summary = result.summary() + ("\n" + "\n".join(notes) if notes else "")
    return result, text, summary


def _loads_to_refresh(text: str, output: Path) -> None:
    """The catalog to refresh must load as it is (safely: no alias bomb; every fund with its
    ticker ...): a CatalogError naming the entry and field, never a KeyError half-way through."""
    from lev_flows.errors import CatalogError

    try:
        universe_from_data(parse_yaml(text, output), output)
    except CatalogError as exc:
        raise CatalogError(f"{exc} (cannot refresh it: fix it, or --fresh to overwrite it)", details=exc.details) from None


def changed_funds(before: "Universe | None", after: "Universe") -> list[str]:
    """Funds new in ``after`` or whose leverage, underlying or reset changed."""
    if before is None:
        return [f.ticker for f in after.funds]
    old = before.fund_by_ticker
    return [
        f.ticker for f in after.funds
        if f.ticker not in old or (old[f.ticker].leverage, old[f.ticker].underlying, old[f.ticker].reset) != (f.leverage, f.underlying, f.reset)
    ]


def update_universe(
    client, output: str | Path, *, url: str | None = None, prices: str | Path | None = None,
    db: str | Path | None = None, accept_flags: bool = False,
) -> list[str]:
    """Fetch the screener export, refresh ``output`` with it (new funds added, funds gone marked
    closed), check what changed with ``universe verify`` before writing, then record the
    export's AUM in the store. A flag on a changed fund stops the update (nothing written)
    unless ``accept_flags``. Returns the lines to print."""
    import tempfile

    from lev_flows.inputs.catalog import load_universe
    from lev_flows.inputs.sources.screener import ScreenerExport
    from lev_flows.jobs.aum import import_files

    provider = ScreenerExport(client, url)
    body = provider.fetch()
    output = Path(output)
    before = load_universe(output) if output.exists() else None
    with tempfile.TemporaryDirectory(prefix="lev_flows_screener_") as tmp:
        frame = pd.read_csv(io.BytesIO(body), usecols=lambda c: c == "updated_at") if b"updated_at" in body[:4096] else None
        stamped = frame is not None and pd.to_datetime(frame.get("updated_at"), errors="coerce", utc=True).notna().any()
        name = "screener_export.csv" if stamped else f"screener_export_{clock.today().isoformat()}.csv"
        path = Path(tmp) / name
        path.write_bytes(body)
        result, text, summary = plan_import(path, output, source=provider.url)
        after = universe_from_data(parse_yaml(text, output), output)
        lines = [f"fetched {provider.url} ({len(body) / 1024:,.0f} KB)", *summary.splitlines()]
        changed = changed_funds(before, after)
        lines += _verify_changes(after, changed, prices, accept_flags)
        report = import_files([path], after, db=db, source=provider.url)  # one transaction; a failure writes neither
        atomic_write_text(output, text, force=True)
        lines.append(f"wrote {output}")
        lines += [f"wrote {p} (the packaged catalog as parsed)" for p in _refreshed(output)]
        lines += [f"store: {line}" for line in report.lines()]
    return lines


def _verify_changes(universe: "Universe", changed: list[str], prices: str | Path | None, accept_flags: bool) -> list[str]:
    if not changed:
        return ["verify: no fund changed"]
    from lev_flows.analysis.verify import verify
    from lev_flows.inputs.prices import load_price_dir
    from lev_flows.model.day import default_prices

    try:
        closes = load_price_dir(prices or default_prices())
    except InputError as exc:
        return [f"verify: skipped ({exc})"]
    res = verify(universe, closes, tickers=changed)
    counts = res.table["status"].value_counts().to_dict()
    lines = [f"verify: {len(changed)} new or changed funds: " + ", ".join(f"{v} {k}" for k, v in counts.items())]
    flagged = res.flagged
    if len(flagged):
        detail = "; ".join(f"{r.ticker}: {r.flags}" + (f" (best match {r.suggestion})" if r.suggestion else "") for r in flagged.itertuples())
        if not accept_flags:
            raise InputError(f"universe update: verify flags {len(flagged)} changed fund(s), nothing written: {detail} "
                             "(fix the catalog rules, or --accept-flags to write anyway)")
        lines.append(f"verify: accepted with flags: {detail}")
    return lines


def _refresh(existing: Any, fresh: dict[str, Any]) -> tuple[Any, list[str]]:
    from ruamel.yaml.comments import CommentedMap

    if not isinstance(existing, dict) or not isinstance(existing.get("funds"), list):
        raise InputError("existing universe has no 'funds' list; use --fresh to overwrite it")
    existing["source"] = fresh["source"]
    existing["as_of"] = fresh["as_of"]
    by_ticker = {f["ticker"]: f for f in existing["funds"]}
    added, updated = 0, 0
    new_tickers = set()
    for fund in fresh["funds"]:
        new_tickers.add(fund["ticker"])
        old = by_ticker.get(fund["ticker"])
        if old is None:
            existing["funds"].append(CommentedMap(fund))
            added += 1
            continue
        for key in SNAPSHOT_FIELDS:
            if key in fund:
                if key in old or not hasattr(old, "insert"):
                    old[key] = fund[key]
                else:  # a new field goes where a fresh import puts it, so both give one file
                    order = [k for k in fund if k in old or k == key]
                    old.insert(order.index(key), key, fund[key])
            elif key in old:
                del old[key]
        updated += 1
    excluded_now = {e["ticker"]: e["reason"] for e in fresh["excluded"]}
    dropped = [f["ticker"] for f in existing["funds"] if f["ticker"] in excluded_now]
    existing["funds"] = [f for f in existing["funds"] if f["ticker"] not in excluded_now]
    closed, reopened = [], []
    for fund in existing["funds"]:
        if fund["ticker"] in new_tickers:
            if "closed_on" in fund:
                del fund["closed_on"]
                reopened.append(fund["ticker"])
        elif "closed_on" not in fund:
            # gone from the screener: closed no later than this snapshot (a fund's own last
            # price, where known, says when exactly; point in time stops it there)
            fund["closed_on"] = fresh["as_of"]
            closed.append(fund["ticker"])
    existing["funds"].sort(key=lambda f: f["ticker"])
    und_ids = {u["id"] for u in existing.get("underlyings") or []}
    for und in fresh["underlyings"]:
        if und["id"] not in und_ids:
            existing.setdefault("underlyings", []).append(CommentedMap(und))
    existing["underlyings"].sort(key=lambda u: u["id"])
    existing["excluded"] = fresh["excluded"]
    notes = [f"refreshed in place: {updated} funds updated, {added} added"]
    if closed:
        notes.append(f"{len(closed)} funds not in this snapshot marked closed on {fresh['as_of']}: {', '.join(closed[:12])}"
                     + (" ..." if len(closed) > 12 else ""))
    if reopened:
        notes.append(f"{len(reopened)} funds listed again (closed_on removed): {', '.join(reopened[:12])}")
    if dropped:
        notes.append(f"{len(dropped)} funds now excluded and removed from the funds list: {', '.join(dropped[:12])}")
    return existing, notes


# --------------------------------------------------------------------------------------------
# replay


__all__ = ["import_universe"]
