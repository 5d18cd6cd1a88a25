"""The catalog: leveraged/inverse funds, their underlyings, the underlyings' compositions and
the stock reference (ticker -> GICS sector), with YAML load/save and validation.

A universe file (``etf_universe.yaml``) has this shape::

    source: letf_snapshots/leveraged_etfs_2026-02-04.csv   # where the fund list came from
    as_of: 2026-02-04
    reference: packaged        # merge the packaged compositions and sectors (or: none)
    funds:
      - ticker: TQQQ
        name: ProShares UltraPro QQQ
        issuer: ProShares
        leverage: 3.0          # signed: -3 for a 3x inverse fund
        underlying: NDX
        asset_class: equity
        aum_usd: 29972000000.0
        aum_as_of: 2026-02-04
    underlyings:
      - id: NDX
        name: Nasdaq-100
        kind: index
        asset_class: equity
        bucket: Nasdaq-100
        composition:           # optional inline; else taken from the packaged reference
          as_of: 2025-10-04
          source: index_weights/qqq_2025-10-04.csv
          weights: {NVDA: 0.1, MSFT: 0.09, ...}
    stocks:                    # optional inline; else the packaged reference
      NVDA: {name: NVIDIA Corp, sector: Information Technology}

Every load goes through a safe YAML loader that refuses Python object tags and duplicate keys.
Errors are :class:`CatalogError` with the file, the entry (index and ticker) and the field.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from enum import Enum
from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from lev_flows.clock import system_now
from lev_flows.errors import CatalogError

MAX_ABS_LEVERAGE = 5.0
WEIGHT_SUM_TOLERANCE = 0.02
MAX_YAML_BYTES = 50 * 1024 * 1024


class AssetClass(str, Enum):
    equity = "equity"
    fixed_income = "fixed_income"
    commodity = "commodity"
    crypto = "crypto"
    currency = "currency"
    volatility = "volatility"
    multi = "multi"


class Structure(str, Enum):
    ETF = "ETF"
    ETN = "ETN"


class ResetPeriod(str, Enum):
    daily = "daily"
    weekly = "weekly"
    monthly = "monthly"
    quarterly = "quarterly"


class UnderlyingKind(str, Enum):
    single_stock = "single_stock"
    index = "index"
    basket = "basket"
    futures = "futures"
    commodity = "commodity"
    rate = "rate"
    currency = "currency"
    crypto = "crypto"


Ticker = Annotated[str, Field(min_length=1, max_length=12, pattern=r"^[A-Z0-9][A-Z0-9.\-/^]*$")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", use_enum_values=True, frozen=True, validate_default=True)


#: the issuer names the catalog uses, and the other spellings screeners give them
ISSUER_ALIASES = {
    "ProShares": (),
    "Direxion": ("Direxion Funds", "Direxion Shares"),
    "GraniteShares": (),
    "MicroSectors": ("BMO Capital Markets", "Bank of Montreal", "REX Microsectors", "BMO"),
    "Tradr": ("Tradr ETFs", "AXS"),
    "Defiance": ("Defiance ETFs",),
    "REX": ("T-Rex", "T-REX", "REX Shares"),
    "Volatility Shares": ("VS TRUST", "Volatility Shares LLC"),
    "Leverage Shares": (),
    "Roundhill": ("Roundhill Investments",),
    "Deutsche Bank": ("DB", "Deutsche Bank AG"),
}
_ISSUER_BY_ALIAS = {a.casefold(): name for name, aliases in ISSUER_ALIASES.items() for a in (name, *aliases)}


def normalize_issuer(name: str | None) -> str | None:
    """The catalog's one spelling of an issuer (``"Direxion Funds"`` -> ``"Direxion"``, ``"VS
    TRUST"`` -> ``"Volatility Shares"``); a name not in :data:`ISSUER_ALIASES` is kept as given."""
    if name is None:
        return None
    text = " ".join(str(name).split())
    return _ISSUER_BY_ALIAS.get(text.casefold(), text) or None


def _finite(value: float | None, what: str) -> float | None:
    if value is not None and not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number, got {value}")
    return value


class EarlierFacts(_Model):
    """What a fund was before a change of its facts: in force on the sessions before ``until``
    (and on or after the previous entry's ``until``). A field left out (None) is as after the
    change. ``source``: the evidence (``universe verify`` on the fund's own prices, a filing)."""

    until: dt.date
    leverage: float | None = None
    name: str | None = None
    source: str | None = None

    @field_validator("leverage")
    @classmethod
    def _leverage_in_range(cls, v: float | None) -> float | None:
        if v is not None:
            _finite(v, "leverage")
            if v == 0 or abs(v) > MAX_ABS_LEVERAGE:
                raise ValueError(f"leverage must be non-zero and at most {MAX_ABS_LEVERAGE:g} in size, got {v:g}")
        return v


class LeveragedETF(_Model):
    """One leveraged or inverse fund (ETF or ETN).

    ``leverage`` is signed: 3 for a 3x bull fund, -3 for a 3x bear fund, -1 for a plain inverse
    fund. ``aum_usd`` is net assets in USD at ``aum_as_of``; it may be None for a fund listed
    without AUM (kept in the catalog, reported, never counted as zero).
    """

    ticker: Ticker
    name: str
    issuer: str | None = None
    leverage: float
    underlying: str
    asset_class: AssetClass
    structure: Structure = Structure.ETF
    reset: ResetPeriod = ResetPeriod.daily
    aum_usd: float | None = Field(default=None, ge=0, le=1e12)  # plausibility.MAX_AUM_USD (kept here: no numpy in the models)
    aum_as_of: dt.date | None = None
    inception_date: dt.date | None = None
    closed_on: dt.date | None = None
    shares_outstanding: float | None = Field(default=None, ge=0)
    nav: float | None = Field(default=None, gt=0)
    source: str | None = None
    notes: str | None = None
    #: why `lev-flows universe verify` flags this fund and the flag is expected (a proxy
    #: composition, stale quotes of a thin ETN, ...); a flag without it is a catalog error
    verify_note: str | None = None
    #: share of the fund's exposure (so of its rebalance) held in futures, 0..1: that part trades
    #: in the futures market, not in the stocks' closing auctions. None: not known (assumed 0,
    #: and counted as unknown timing)
    futures_share: float | None = Field(default=None, ge=0, le=1)
    #: New York time ("HH:MM") at which the fund's swaps reset, when before the close: its dealers
    #: hedge then, not in the closing auction. None: at the close
    swap_reset: str | None = None
    #: the product whose holders this one took over at its inception (a re-issued note, a
    #: converted fund): it did not start small, so its AUM before the first observation is carried
    #: by its price alone, not grown from launch
    continues: str | None = None
    #: the fund's facts before their changes, oldest first (the fields above are today's):
    #: TSLL ran at 1.5x until 2024-04; every estimate takes the facts in force on its day
    history: list[EarlierFacts] = []

    @field_validator("history")
    @classmethod
    def _history_in_order(cls, v: list[EarlierFacts]) -> list[EarlierFacts]:
        for a, b in zip(v, v[1:]):
            if b.until <= a.until:
                raise ValueError(f"history: until {b.until} is not after {a.until} (oldest first)")
        return v

    def _earlier(self, day: dt.date, field: str) -> Any:
        for facts in self.history:
            if day < facts.until and getattr(facts, field) is not None:
                return getattr(facts, field)
        return getattr(self, field)

    def leverage_on(self, day: dt.date) -> float:
        """The leverage in force on session ``day`` (signed)."""
        return self._earlier(day, "leverage") if self.history else self.leverage

    def facts_on(self, day: dt.date) -> "LeveragedETF":
        """This fund as it was on ``day`` (its leverage and name then; itself when unchanged)."""
        if not self.history:
            return self
        lev, name = self._earlier(day, "leverage"), self._earlier(day, "name")
        if lev == self.leverage and name == self.name:
            return self
        return self.model_copy(update={"leverage": lev, "name": name})

    @field_validator("swap_reset", mode="before")
    @classmethod
    def _clock_time(cls, v: object) -> object:
        if isinstance(v, int) and not isinstance(v, bool):  # YAML 1.1 reads an unquoted 15:00 as 900 (base 60)
            v = f"{v // 60:02d}:{v % 60:02d}"
        if v is None:
            return v
        try:
            t = dt.time.fromisoformat(str(v))
        except ValueError:
            raise ValueError(f"swap_reset {v!r} is not a time of day (HH:MM, New York)") from None
        if t >= dt.time(16, 0):
            raise ValueError(f"swap_reset {v}: only a reset before the 16:00 close is recorded (leave it out for the close)")
        return f"{t:%H:%M}"

    @field_validator("issuer")
    @classmethod
    def _issuer(cls, v: str | None) -> str | None:
        return normalize_issuer(v)

    @field_validator("leverage")
    @classmethod
    def _leverage_in_range(cls, v: float) -> float:
        _finite(v, "leverage")
        if v == 0:
            raise ValueError("leverage 0 is not a leveraged fund")
        if abs(v) > MAX_ABS_LEVERAGE:
            raise ValueError(f"|leverage| must be at most {MAX_ABS_LEVERAGE:g}, got {v:g}")
        return v

    @field_validator("leverage", "aum_usd", "shares_outstanding", "nav", "futures_share", mode="before")
    @classmethod
    def _not_a_bool(cls, v: object) -> object:
        if isinstance(v, bool):  # YAML true is not $1
            raise ValueError(f"{v!r} is not a number")
        return v

    @field_validator("aum_usd", "shares_outstanding", "nav")
    @classmethod
    def _finite_amounts(cls, v: float | None) -> float | None:
        return _finite(v, "amount")

    @model_validator(mode="after")
    def _aum_needs_date(self) -> "LeveragedETF":
        if self.aum_usd is not None and self.aum_as_of is None:
            raise ValueError("aum_as_of is required when aum_usd is given")
        return self


class Composition(_Model):
    """Weights of an underlying's constituents (fractions summing to 1) at a date."""

    as_of: dt.date
    source: str
    method: str | None = None
    weights: dict[str, float]

    @field_validator("weights")
    @classmethod
    def _weights_valid(cls, w: dict[str, float]) -> dict[str, float]:
        if not w:
            raise ValueError("composition has no weights")
        for ticker, weight in w.items():
            if not math.isfinite(weight):
                raise ValueError(f"weight of {ticker} is not finite")
            if weight < 0:
                raise ValueError(f"weight of {ticker} is negative ({weight})")
        total = math.fsum(w.values())
        if abs(total - 1.0) > WEIGHT_SUM_TOLERANCE:
            raise ValueError(f"weights sum to {total:.4f}, expected 1 within {WEIGHT_SUM_TOLERANCE}")
        return w


class Underlying(_Model):
    """What a fund tracks. ``bucket`` is the index group used in aggregation (Nasdaq-100,
    S&P 500, Semiconductors, Single stocks, ...). Equity underlyings may carry a composition;
    a single stock is its own composition."""

    id: str = Field(min_length=1)
    name: str
    kind: UnderlyingKind
    asset_class: AssetClass
    bucket: str
    composition: Composition | None = None
    notes: str | None = None


class Stock(_Model):
    """A stock in the reference: GICS sector and where that sector came from."""

    name: str | None = None
    sector: str | None = None
    source: str | None = None


class ExcludedProduct(_Model):
    """A listed product the catalog leaves out of the estimate, with the reason."""

    ticker: str
    name: str | None = None
    reason: str
    aum_usd: float | None = None


class Universe(_Model):
    """All funds, underlyings, compositions and stock sectors used by an estimate."""

    source: str | None = None
    as_of: dt.date | None = None
    reference: Literal["packaged", "none"] = "none"
    funds: list[LeveragedETF]
    underlyings: list[Underlying] = []
    stocks: dict[str, Stock] = {}
    excluded: list[ExcludedProduct] = []

    @model_validator(mode="after")
    def _consistent(self) -> "Universe":
        seen: set[str] = set()
        for i, fund in enumerate(self.funds):
            if fund.ticker in seen:
                raise ValueError(f"funds[{i}] ({fund.ticker}): duplicate ticker")
            seen.add(fund.ticker)
        ids: set[str] = set()
        for i, und in enumerate(self.underlyings):
            if und.id in ids:
                raise ValueError(f"underlyings[{i}] ({und.id}): duplicate underlying id")
            ids.add(und.id)
        for i, fund in enumerate(self.funds):
            if fund.underlying not in ids:
                raise ValueError(f"funds[{i}] ({fund.ticker}).underlying: unknown underlying {fund.underlying!r}")
        today = system_now().date()  # a sanity check against the real calendar, not the replayed one
        for i, fund in enumerate(self.funds):
            if fund.aum_as_of is not None and fund.aum_as_of > today:
                raise ValueError(f"funds[{i}] ({fund.ticker}).aum_as_of: {fund.aum_as_of} is in the future")
        return self

    def __repr__(self) -> str:
        aum = sum(f.aum_usd or 0.0 for f in self.funds)
        return (f"<Universe {self.source or ''} as of {self.as_of}: {len(self.funds)} funds (${aum / 1e9:,.1f}B catalog AUM), "
                f"{len(self.underlyings)} underlyings, {len(self.stocks)} stocks, {len(self.excluded)} excluded>")

    def _repr_html_(self) -> str:
        import html

        return f"<p>{html.escape(repr(self))}</p>"

    __str__ = __repr__

    def __getitem__(self, ticker: str) -> LeveragedETF:
        """The fund of ``ticker`` (a KeyError naming the nearest tickers for an unknown one).

        >>> from lev_flows import load_universe
        >>> uni = load_universe()
        >>> uni["TQQQ"].leverage, uni["TQQQ"].underlying
        (3.0, 'NDX')
        >>> uni["TQQQQ"]
        Traceback (most recent call last):
        KeyError: 'TQQQQ: not a fund of the universe; did you mean TQQQ or ...?'
        """
        fund = self.fund_by_ticker.get(ticker) if isinstance(ticker, str) else None
        if fund is not None:
            return fund
        from difflib import get_close_matches

        key = str(ticker)
        near = get_close_matches(key.upper(), list(self.fund_by_ticker), n=3)
        hint = f"; did you mean {' or '.join(near)}?" if near else f" ({len(self.funds)} funds)"
        raise KeyError(f"{key}: not a fund of the universe{hint}")

    def __len__(self) -> int:
        """The number of funds."""
        return len(self.funds)

    def __iter__(self):  # the funds, not pydantic's (field, value) pairs
        """The funds, in catalog order.

        >>> from lev_flows import load_universe
        >>> uni = load_universe()
        >>> len(uni) == len(uni.funds) and [f.ticker for f in uni][:1] == [uni.funds[0].ticker]
        True
        """
        return iter(self.funds)

    def __contains__(self, ticker: object) -> bool:
        return isinstance(ticker, str) and ticker in self.fund_by_ticker

    def funds_on(self, day: dt.date | str) -> list[LeveragedETF]:
        """The funds listed and launched on session ``day`` (its inception date reached, its
        ``closed_on`` not; a fund without an inception date counts as launched), each with the
        facts in force that day (:meth:`on`: TSLL at 1.5x before 2024-04).

        >>> from lev_flows import load_universe
        >>> uni = load_universe()
        >>> [f.leverage for f in uni.funds_on("2024-01-02") if f.ticker == "TSLL"]
        [1.5]
        >>> len(uni.funds_on("2024-01-02")) < len(uni.funds_on("2026-02-04")) <= len(uni)
        True
        """
        from lev_flows.inputs.args import date_arg

        day = date_arg(day, "funds_on: day")
        return [f for f in self.on(day).funds
                if (f.inception_date is None or f.inception_date <= day) and (f.closed_on is None or day < f.closed_on)]

    def with_funds(self, funds: list[LeveragedETF]) -> "Universe":
        """A copy holding ``funds`` (already validated entries of this universe), with no cached
        lookup carried over from this one."""
        copy = self.model_copy(update={"funds": list(funds)})
        for name in ("fund_by_ticker", "underlying_by_id", "_on_cache"):
            copy.__dict__.pop(name, None)
        return copy

    def on(self, day: dt.date) -> "Universe":
        """The universe with each fund's facts in force on session ``day`` (``LeveragedETF.history``):
        itself when no fund differed then. Copies are cached by what differs, so the many days
        with the same facts share one (and its compiled arrays)."""
        changed = [(i, f.facts_on(day)) for i, f in enumerate(self.funds) if f.history]
        changed = [(i, g) for i, g in changed if g is not self.funds[i]]
        if not changed:
            return self
        key = tuple((i, g.leverage, g.name) for i, g in changed)
        cache = self.__dict__.setdefault("_on_cache", {})
        if key not in cache:
            funds = list(self.funds)
            for i, g in changed:
                funds[i] = g
            cache[key] = self.with_funds(funds)
        return cache[key]

    def leverage_matrix(self, sessions: Any) -> Any:
        """(T, F) numpy array: each fund's leverage in force on each of ``sessions`` (dates or
        Timestamps), the catalog's leverage where the fund has no history."""
        import numpy as np

        days = [d.date() if hasattr(d, "date") and callable(d.date) else d for d in sessions]
        out = np.tile(np.array([f.leverage for f in self.funds], dtype=float), (len(days), 1))
        for i, f in enumerate(self.funds):
            if f.history:
                out[:, i] = [f.leverage_on(d) for d in days]
        return out

    def without_etns(self) -> "Universe":
        """The universe without its exchange-traded notes (``structure: ETN``)."""
        return self.with_funds([f for f in self.funds if f.structure != Structure.ETN.value])

    @cached_property
    def underlying_by_id(self) -> dict[str, Underlying]:
        return {u.id: u for u in self.underlyings}

    @cached_property
    def fund_by_ticker(self) -> dict[str, LeveragedETF]:
        return {f.ticker: f for f in self.funds}

    def composition_of(self, underlying_id: str) -> Composition | None:
        """The composition of an underlying; a single stock is 100 % itself."""
        und = self.underlying_by_id[underlying_id]
        if und.composition is not None:
            return und.composition
        if und.kind == UnderlyingKind.single_stock.value:
            return Composition(
                as_of=self.as_of or dt.date(1970, 1, 1), source="single stock", weights={und.id: 1.0}
            )
        return None

    def memberships(self, ticker: str) -> list[str]:
        """Underlyings (indexes, baskets) whose composition holds ``ticker``."""
        return [
            u.id
            for u in self.underlyings
            if u.composition is not None and ticker in u.composition.weights
        ]

    def as_of_dates(self) -> dict[str, Any]:
        """The dates of every input: fund AUM (range), compositions (by underlying)."""
        aum_dates = sorted({f.aum_as_of for f in self.funds if f.aum_as_of is not None})
        comp = {u.id: u.composition.as_of.isoformat() for u in self.underlyings if u.composition}
        return {
            "universe": self.as_of.isoformat() if self.as_of else None,
            "aum_min": aum_dates[0].isoformat() if aum_dates else None,
            "aum_max": aum_dates[-1].isoformat() if aum_dates else None,
            "compositions": comp,
        }

    def to_yaml_dict(self) -> dict[str, Any]:
        """Plain data for YAML, in the file's order; packaged reference data is not inlined."""
        data = self.model_dump(mode="python", exclude_none=True, exclude_defaults=False)
        if self.reference == "packaged":
            packaged = _packaged_reference()
            data["stocks"] = {k: v for k, v in data["stocks"].items() if k not in packaged["stocks"]}
            for und in data["underlyings"]:
                if und["id"] in packaged["compositions"]:
                    und.pop("composition", None)
        if not data["stocks"]:
            data.pop("stocks")
        if not data["excluded"]:
            data.pop("excluded")
        return data


# --------------------------------------------------------------------------------------------
# YAML I/O


@lru_cache(maxsize=1)
def _safe_loader():
    """PyYAML's safe loader (C speed when available) that refuses duplicate keys and reads
    booleans the YAML 1.2 way (only true/false), so a ticker such as ``ON`` or ``NO`` stays a
    string, as ruamel (YAML 1.2) writes it."""
    import re

    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class UniqueKeyLoader(base):  # type: ignore[misc, valid-type]
        """Safe loader that refuses duplicate mapping keys."""

        def construct_mapping(self, node, deep=False):  # noqa: D401
            keys = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=deep)
                if key in keys:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key!r}", key_node.start_mark
                    )
                keys.add(key)
            return super().construct_mapping(node, deep=deep)

    bool_tag = "tag:yaml.org,2002:bool"
    # dates stay text here and are parsed by the models, so "2026-13-45" is an error naming the
    # fund and the field instead of a bare ValueError from the YAML library
    timestamp_tag = "tag:yaml.org,2002:timestamp"
    UniqueKeyLoader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag not in (bool_tag, timestamp_tag)]
        for first, resolvers in base.yaml_implicit_resolvers.items()
    }
    UniqueKeyLoader.add_implicit_resolver(bool_tag, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
    return UniqueKeyLoader


def read_text(path: Path, *, max_bytes: int = MAX_YAML_BYTES) -> str:
    """Read a UTF-8 text file (a BOM is accepted) with a size bound and clear errors. Only a
    regular file is read, and never more than ``max_bytes`` + 1 bytes, whatever its size says
    (``/dev/zero`` or a FIFO would otherwise be read forever)."""
    from lev_flows.io import check_input_file

    path = check_input_file(path, error=CatalogError, allow_empty=True)  # empty YAML: named below
    size = path.stat().st_size
    if size > max_bytes:
        raise CatalogError(f"{path}: file is {size / 2**20:.0f} MB, larger than the {max_bytes / 2**20:.0f} MB limit")
    with open(path, "rb") as fh:
        raw = fh.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise CatalogError(f"{path}: larger than the {max_bytes / 2**20:.0f} MB limit")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CatalogError(
            f"{path}: not valid UTF-8 at byte {exc.start} (saved as Latin-1/Windows-1252?); re-save it as UTF-8"
        ) from None


#: the most values a YAML document may stand for with its aliases expanded (the packaged catalog:
#: about 60,000); nine levels of ten aliases ("billion laughs") stand for 10^9 and are refused
MAX_YAML_VALUES = 5_000_000


def _expanded_values(data: Any, path: Path | str) -> int:
    """How many values ``data`` stands for with every alias expanded, counted once per shared
    object (so in time linear in the document), refused past :data:`MAX_YAML_VALUES` or when an
    alias holds itself (a recursive document): a walk of an alias bomb would never end."""
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(obj: Any) -> int:
        if not isinstance(obj, (dict, list)):
            return 1
        key = id(obj)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise CatalogError(f"{path}: invalid YAML: an alias refers to a value that holds it (a recursive document)")
        active.add(key)
        children = [*obj.keys(), *obj.values()] if isinstance(obj, dict) else obj
        total = 1 + sum(size(v) for v in children)
        active.discard(key)
        if total > MAX_YAML_VALUES:
            raise CatalogError(f"{path}: invalid YAML: its aliases expand to over {MAX_YAML_VALUES:,} values "
                               "(an alias bomb?); write the entries out")
        sizes[key] = total
        return total

    try:
        return size(data)
    except RecursionError:
        raise CatalogError(f"{path}: invalid YAML: nested too deeply") from None


def parse_yaml(text: str, path: Path | str) -> Any:
    """Parse YAML with the safe, duplicate-refusing loader; errors name the file and line. A
    document whose aliases expand past :data:`MAX_YAML_VALUES` values, or hold themselves, is
    refused (:func:`_expanded_values`)."""
    import yaml

    try:
        data = yaml.load(text, Loader=_safe_loader())  # noqa: S506 - safe loader subclass
    except RecursionError:
        raise CatalogError(f"{path}: invalid YAML: nested too deeply") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        if "could not determine a constructor" in str(exc):
            problem = "YAML tags that construct objects are not allowed (safe loading only)"
        raise CatalogError(f"{path}:{where} invalid YAML: {problem}") from None
    if "*" in text:  # only a document with aliases can stand for more than it spells out
        _expanded_values(data, path)
    return data


def _describe_location(loc: tuple[Any, ...], data: Any) -> str:
    """Turn a pydantic error location into ``funds[3] (TQQQ).leverage``."""
    parts: list[str] = []
    node = data
    for item in loc:
        if isinstance(item, int):
            label = f"[{item}]"
            try:
                node = node[item]
                ident = node.get("ticker") or node.get("id") if isinstance(node, dict) else None
                if ident:
                    label += f" ({ident})"
            except (IndexError, KeyError, TypeError, AttributeError):
                node = None
            parts.append(label)
        else:
            parts.append(("." if parts else "") + str(item))
            try:
                node = node[item] if isinstance(node, dict) else None
            except (KeyError, TypeError):
                node = None
    return "".join(parts) or "document"


def _fields_near(loc: tuple[Any, ...]) -> list[str]:
    model = {"funds": LeveragedETF, "underlyings": Underlying, "excluded": ExcludedProduct, "stocks": Stock}.get(
        loc[0] if loc else None, Universe
    )
    if len(loc) <= 1:
        model = Universe
    return list(model.model_fields)


def validation_message(exc: ValidationError, data: Any, path: Path | str) -> str:
    errors = exc.errors()
    err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])  # typos first
    where = _describe_location(tuple(err["loc"]), data)
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        known = ", ".join(_fields_near(err["loc"]))
        msg = f"unknown field (typo?); expected one of: {known}" if known else "unknown field (typo?)"
    more = f" (and {exc.error_count() - 1} more errors)" if exc.error_count() > 1 else ""
    return f"{path}: {where}: {msg}{more}"


def universe_from_data(data: Any, path: Path | str = "<data>") -> Universe:
    """Validate plain data (as parsed from YAML) into a :class:`Universe`."""
    if data is None:
        raise CatalogError(f"{path}: empty file, expected a mapping with a 'funds' list")
    if not isinstance(data, dict):
        raise CatalogError(f"{path}: expected a mapping with a 'funds' list, got a {type(data).__name__}")
    if "funds" not in data:
        raise CatalogError(f"{path}: missing the 'funds' list")
    if not isinstance(data["funds"], list) or not data["funds"]:
        raise CatalogError(f"{path}: funds: expected a non-empty list of funds; nothing to estimate")
    if "stocks" in data and data["stocks"] is not None and not isinstance(data["stocks"], dict):
        raise CatalogError(f"{path}: stocks: expected a mapping of ticker -> {{name, sector}}, got a {type(data['stocks']).__name__}")
    data = dict(data)
    if data.get("reference") == "packaged":
        data = _merge_packaged_reference(data)
    try:
        return Universe.model_validate(data)
    except ValidationError as exc:
        raise CatalogError(validation_message(exc, data, path)) from None


PACKAGED_YAML = "data/etf_universe.yaml"
"""The packaged catalog (in the repository, a link to ``etf_universe.yaml`` at its root)."""
PACKAGED_PARSED = "data/etf_universe.parsed.json"
"""The packaged catalog as parsed (JSON), beside its YAML: a cold command reads it in 2 ms
instead of importing PyYAML and parsing 700 funds (about 0.1 s)."""


def load_universe(path: str | Path | None = None) -> Universe:
    """Load and validate a universe YAML file; ``None`` loads the packaged default catalog
    (the shipped ``etf_universe.yaml``: the screener snapshots of 2026-02-04 .. 2026-06-01)."""
    if path is None:
        text = resources.files("lev_flows").joinpath(PACKAGED_YAML).read_text("utf-8")
        data = _packaged_parsed(text)
        return universe_from_data(_parsed(text, "etf_universe.yaml") if data is None else data, "etf_universe.yaml")
    from lev_flows.inputs.args import path_arg

    path = path_arg(path, "load_universe: path")  # a dict is data: universe_from_data(data) builds from it
    return universe_from_data(_parsed(read_text(path), path), path)


def write_packaged_parsed(path: Path | None = None) -> Path:
    """Write :data:`PACKAGED_PARSED` from the packaged ``etf_universe.yaml`` (``lev-flows
    reference build``): the YAML's SHA-256 and the data :func:`parse_yaml` makes of it."""
    import hashlib

    text = resources.files("lev_flows").joinpath(PACKAGED_YAML).read_text("utf-8")
    payload = {"kind": "parsed catalog YAML", "yaml_sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
               "data": parse_yaml(text, "etf_universe.yaml")}
    path = path or Path(str(resources.files("lev_flows").joinpath(PACKAGED_PARSED)))
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(payload, default=_json_default, indent=0, ensure_ascii=False) + "\n", "utf-8")  # a line a value: readable diffs
    tmp.replace(path)
    return path


def refresh_packaged_parsed(written: str | Path) -> Path | None:
    """After a catalog file is written: when it is the packaged catalog itself (the repository's
    ``etf_universe.yaml`` in an editable install), its parsed copy is written again; returns
    that copy's path, else None."""
    packaged = Path(str(resources.files("lev_flows").joinpath(PACKAGED_YAML)))
    try:
        same = Path(written).resolve() == packaged.resolve()
    except OSError:
        return None
    return write_packaged_parsed() if same else None


def _packaged_parsed(text: str) -> Any:
    """The packaged catalog's parsed copy when it was made from exactly ``text`` (its recorded
    SHA-256), else None (an edited YAML is parsed; ``reference build`` writes the copy again)."""
    import hashlib

    try:
        kept = json.loads(resources.files("lev_flows").joinpath(PACKAGED_PARSED).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(kept, dict) or kept.get("yaml_sha256") != hashlib.sha256(text.encode("utf-8")).hexdigest():
        return None
    return kept.get("data")


def _parsed(text: str, where: Path | str) -> Any:
    """:func:`parse_yaml`, remembered: parsing 700 funds of YAML takes 0.2 s, reading the same
    data back as JSON 10 ms. The cache is keyed by the text's SHA-256 (any edit misses it) and
    lives in ``default_cache_dir()/catalog``; it is only a cache: unreadable or unwritable, the
    YAML is parsed. Validation always runs on what comes back. The copy carries the text's
    SHA-256 and its own (:func:`lev_flows.io.read_cache`): an edited copy is parsed again."""
    import hashlib

    from lev_flows.io import default_cache_dir, read_cache, write_cache

    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    cache = default_cache_dir() / "catalog" / f"{digest[:32]}.parsed-yaml"  # JSON; not an HTTP cache entry
    meta = {"kind": "parsed catalog YAML", "yaml_sha256": digest}
    got = read_cache(cache, meta)
    if got is not None:
        try:
            return json.loads(got[0])
        except ValueError:
            pass
    data = parse_yaml(text, where)
    try:
        payload = json.dumps(data, default=_json_default, separators=(",", ":")).encode("utf-8")
    except (TypeError, ValueError):
        return data  # not JSON-able: parsed each time
    write_cache(cache, payload, meta)  # a cache that cannot be written is no error
    return data


def _json_default(value: Any) -> str:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def dump_yaml(data: Any, stream, header: str | None = None) -> None:
    """Write plain data as block-style YAML with ruamel (round-trip friendly)."""
    from ruamel.yaml import YAML

    yaml = YAML()
    yaml.default_flow_style = False
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.representer.ignore_aliases = lambda *_: True  # one date object used twice is not an anchor
    if header:
        stream.write("".join(f"# {line}\n" if line else "#\n" for line in header.splitlines()))
    yaml.dump(data, stream)


def save_universe(universe: Universe, path: str | Path, header: str | None = None) -> None:
    """Write a universe to YAML atomically (temp file + rename)."""
    import io

    from lev_flows.inputs.args import path_arg, universe_arg
    from lev_flows.io import atomic_write_text

    universe_arg(universe, "save_universe")
    path = path_arg(path, "save_universe: path")

    buf = io.StringIO()
    dump_yaml(universe.to_yaml_dict(), buf, header=header)
    atomic_write_text(Path(path), buf.getvalue(), force=True)


# --------------------------------------------------------------------------------------------
# packaged reference (compositions and sectors produced by `lev-flows reference build`)


def _packaged_reference() -> dict[str, Any]:
    global _REFERENCE_CACHE
    if _REFERENCE_CACHE is None:
        text = resources.files("lev_flows").joinpath("data/reference.json").read_text("utf-8")
        _REFERENCE_CACHE = json.loads(text)
    return _REFERENCE_CACHE


_REFERENCE_CACHE: dict[str, Any] | None = None


def _merge_packaged_reference(data: dict[str, Any]) -> dict[str, Any]:
    ref = _packaged_reference()
    comps = ref["compositions"]
    underlyings = []
    for und in data.get("underlyings") or []:
        if isinstance(und, dict) and "composition" not in und and und.get("id") in comps:
            und = {**und, "composition": comps[und["id"]]}
        underlyings.append(und)
    stocks = dict(ref["stocks"])
    stocks.update(data.get("stocks") or {})
    return {**data, "underlyings": underlyings, "stocks": stocks}
