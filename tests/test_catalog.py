"""Catalog models, safe YAML loading, validation messages and the lossless round trip."""

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lev_flows import CatalogError, load_universe, save_universe
from lev_flows.inputs.catalog import LeveragedETF, Universe, universe_from_data
from tests.conftest import SMALL_UNIVERSE


def _edit(tmp_path, old, new, text=SMALL_UNIVERSE):
    assert old in text
    path = tmp_path / "u.yaml"
    path.write_text(text.replace(old, new, 1))
    return path


@pytest.mark.parametrize(
    "old, new, match",
    [
        ("ticker: BBB", "ticker: AAA", r"funds\[1\] \(AAA\): duplicate ticker"),
        ("underlying: STK1, asset_class: equity, aum_usd: 2.0e8", "underlying: NOPE, asset_class: equity, aum_usd: 2.0e8", r"CCC.*unknown underlying 'NOPE'"),
        ("leverage: 3,", "leverage: 0,", r"funds\[0\] \(AAA\)\.leverage: .*leverage 0"),
        ("leverage: 3,", "leverage: 7,", r"AAA.*at most 5"),
        ("leverage: 3,", "leverage: three,", r"AAA.*leverage"),
        ("leverage: 3,", "leverage: .nan,", r"AAA.*finite"),
        ("aum_usd: 1.0e9", "aum_usd: -1.0e9", r"AAA.*aum_usd"),
        ("aum_usd: 1.0e9, aum_as_of: 2026-02-04", "aum_usd: 1.0e9", r"AAA.*aum_as_of is required"),
        ("aum_as_of: 2026-02-04}\n  - {ticker: BBB", "aum_as_of: 2999-01-01}\n  - {ticker: BBB", r"AAA.*in the future"),
        ("leverage: 3,", "leverge: 3,", r"AAA.*leverge.*unknown field"),
        ("STK1: 0.6, STK2: 0.4", "STK1: 0.6, STK2: -0.4", r"underlyings\[0\] \(IDX\).*negative"),
        ("STK1: 0.6, STK2: 0.4", "STK1: 0.3, STK2: 0.2", r"IDX.*sum to 0.5000"),
        ("STK1: 0.6, STK2: 0.4", "STK1: 0.9, STK2: 0.6", r"IDX.*sum to 1.5000"),
    ],
)
def test_validation_names_file_entry_field(tmp_path, old, new, match):
    path = _edit(tmp_path, old, new)
    with pytest.raises(CatalogError, match=match) as info:
        load_universe(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    "text, match",
    [
        ("funds: !!python/object/apply:os.system ['echo hacked']\n", "not allowed"),
        ("funds: []\nfunds: []\n", "duplicate key 'funds'"),
        ("", "empty file"),
        ("- a\n- b\n", "got a list"),
        ("funds: [\n", "line"),
    ],
)
def test_yaml_safety_and_shape(tmp_path, text, match):
    p = tmp_path / "x.yaml"
    p.write_text(text)
    with pytest.raises(CatalogError, match=match):
        load_universe(p)


def test_yaml_encodings(tmp_path):
    p = tmp_path / "x.yaml"
    p.write_bytes(SMALL_UNIVERSE.replace("Three Bull", "Trois Bœuf").encode("latin-1", errors="replace").replace(b"?", b"\xe9"))
    with pytest.raises(CatalogError, match="UTF-8"):
        load_universe(p)
    p.write_bytes(b"\xef\xbb\xbf" + SMALL_UNIVERSE.encode())
    assert len(load_universe(p).funds) == 6
    with pytest.raises(CatalogError, match="not found"):
        load_universe(tmp_path / "missing.yaml")


def test_single_stock_is_its_own_composition(small_universe):
    comp = small_universe.composition_of("STK1")
    assert comp.weights == {"STK1": 1.0}
    assert small_universe.composition_of("GOLD") is None
    assert small_universe.memberships("STK2") == ["IDX"]


def test_round_trip_small(small_universe, tmp_path):
    out = tmp_path / "out.yaml"
    save_universe(small_universe, out)
    assert load_universe(out) == small_universe


def test_round_trip_packaged(tmp_path):
    uni = load_universe()
    out = tmp_path / "packaged.yaml"
    save_universe(uni, out)
    again = load_universe(out)
    assert again == uni
    assert out.stat().st_size < 400_000  # packaged compositions are referenced, not inlined


fund_st = st.builds(
    dict,
    ticker=st.from_regex(r"[A-Z]{2,5}", fullmatch=True),
    name=st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=30),
    leverage=st.sampled_from([-3.0, -2.0, -1.0, 1.25, 2.0, 3.0]),
    underlying=st.just("U1"),
    asset_class=st.sampled_from(["equity", "crypto"]),
    aum_usd=st.one_of(st.none(), st.floats(min_value=0, max_value=1e11)),
    reset=st.sampled_from(["daily", "monthly"]),
)


@settings(max_examples=40, deadline=None)
@given(st.lists(fund_st, min_size=1, max_size=8, unique_by=lambda f: f["ticker"]))
def test_round_trip_property(tmp_path_factory, funds):
    for f in funds:
        if f["aum_usd"] is not None:
            f["aum_as_of"] = dt.date(2026, 2, 4)
    data = {
        "as_of": dt.date(2026, 2, 4),
        "funds": funds,
        "underlyings": [{"id": "U1", "name": "U", "kind": "index", "asset_class": "equity", "bucket": "B"}],
    }
    uni = universe_from_data(data)
    path = tmp_path_factory.mktemp("rt") / "u.yaml"
    save_universe(uni, path)
    assert load_universe(path) == uni


def test_model_rejects_bad_ticker():
    with pytest.raises(Exception):
        LeveragedETF(ticker="bad ticker", name="x", leverage=2, underlying="U", asset_class="equity")
    assert Universe.model_fields["funds"].is_required()


def test_parsed_catalog_cache_is_keyed_by_content_and_only_a_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LEV_FLOWS_CACHE", str(tmp_path / "cache"))
    path = tmp_path / "u.yaml"
    path.write_text(SMALL_UNIVERSE)
    assert load_universe(path).fund_by_ticker["AAA"].leverage == 3
    entries = list((tmp_path / "cache" / "catalog").glob("*.parsed-yaml"))
    assert len(entries) == 1
    entries[0].write_text("{not json")  # a damaged entry is ignored, not trusted
    assert load_universe(path).fund_by_ticker["AAA"].leverage == 3
    path.write_text(SMALL_UNIVERSE.replace("leverage: 3,", "leverage: 2,", 1))  # an edit misses the cache
    assert load_universe(path).fund_by_ticker["AAA"].leverage == 2
    assert load_universe(path).as_of == dt.date(2026, 2, 4)  # dates come back as dates
    path.write_text(SMALL_UNIVERSE.replace("leverage: 3,", "leverage: 9,", 1))
    with pytest.raises(CatalogError, match="at most 5"):  # validation runs on cached data too
        load_universe(path)
    with pytest.raises(CatalogError, match="at most 5"):
        load_universe(path)


@pytest.mark.parametrize(
    "text, match",
    [
        ("funds: []\n", "non-empty list of funds"),
        ("reference: packaged\nfunds:\n  - {ticker: AAA, name: x, leverage: 2, underlying: NDX, asset_class: equity}\n"
         "underlyings:\n  - {id: NDX, name: n, kind: index, asset_class: equity, bucket: b}\nstocks: [1, 2]\n",
         "stocks: expected a mapping"),
        (SMALL_UNIVERSE.replace("aum_as_of: 2026-02-04}", "aum_as_of: 2026-13-45}", 1), r"funds\[0\] \(AAA\)\.aum_as_of"),
    ],
)
def test_catalog_shapes_refused_with_the_field(tmp_path, text, match):
    path = tmp_path / "u.yaml"
    path.write_text(text)
    with pytest.raises(CatalogError, match=match):
        load_universe(path)


def test_the_packaged_catalog_parsed_copy_is_its_yaml():
    """The package ships its catalog as parsed (``etf_universe.parsed.json``, read by a cold
    command instead of the YAML): it must be what the YAML parses to, and is used only for the
    very text it records (an edited YAML is parsed)."""
    from importlib import resources

    from lev_flows.inputs.catalog import _packaged_parsed, parse_yaml

    text = resources.files("lev_flows").joinpath("data/etf_universe.yaml").read_text("utf-8")
    kept = _packaged_parsed(text)
    assert kept is not None, "etf_universe.parsed.json is older than the YAML: run `lev-flows reference build`"
    assert kept == parse_yaml(text, "etf_universe.yaml")
    assert _packaged_parsed(text.replace("TQQQ", "TQQX", 1)) is None
    assert _packaged_parsed(text + "\n") is None


def test_the_screener_s_debt_notes_on_equity_indexes_are_equity_and_names_are_repaired():
    """UBS ETRACS notes on equity indexes (HDLB, USML, IWFL, MTUL ...) are filed as debt by the
    screener (a note is debt; what it tracks is not): the catalog files them as equity, so they
    fall in the equity scopes, not in rates; a trademark sign decoded as Latin-1 is repaired."""
    from lev_flows.inputs.sources.screener import fix_mojibake

    u = load_universe()
    for ticker in ("HDLB", "USML", "IWFL", "MTUL"):
        fund = u[ticker]
        assert fund.asset_class == "equity" and u.underlying_by_id[fund.underlying].bucket == "Other equity", ticker
    assert u["TMF"].asset_class == "fixed_income"  # Treasuries stay rates
    assert u["OOQB"].name == "One+One™ Nasdaq-100 and Bitcoin ETF"
    assert not [f.ticker for f in u.funds if "â" in f.name or "Â" in f.name]
    assert fix_mojibake("One+Oneâ\x84¢ S&P 500Â®") == "One+One™ S&P 500®"
    assert fix_mojibake("Château Fund") == "Château Fund"  # not damage: it does not decode as UTF-8


def test_writing_the_packaged_catalog_writes_its_parsed_copy_again(tmp_path, monkeypatch):
    """`universe import` / `update` into the packaged catalog itself write its parsed copy again
    (so it never goes stale); into another file they leave it alone."""
    from pathlib import Path

    from lev_flows.inputs import catalog

    written = []
    monkeypatch.setattr(catalog, "write_packaged_parsed", lambda path=None: written.append("copy") or tmp_path / "copy.json")
    assert catalog.refresh_packaged_parsed(tmp_path / "mine.yaml") is None and written == []
    packaged = Path(str(catalog.resources.files("lev_flows").joinpath("data/etf_universe.yaml")))
    assert catalog.refresh_packaged_parsed(packaged) == tmp_path / "copy.json" and written == ["copy"]
