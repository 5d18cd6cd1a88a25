"""The small interface every price source implements: a pydantic query in, a
:class:`PriceTable` (a DataFrame of our own shape) out. Vendor formats stay inside their module.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import pandas as pd
from pydantic import BaseModel, Field, field_validator, model_validator

#: called once per symbol as it finishes: ``progress(symbol, ok)``
Progress = Callable[[str, bool], None]


def _clean_symbols(v: list[str]) -> list[str]:
    out = sorted({s.strip().upper() for s in v if s and s.strip()})
    if not out:
        raise ValueError("no symbols")
    return out


class PriceQuery(BaseModel):
    """Daily closes of ``symbols`` (canonical tickers: ``BRK.B``, ``^GSPC``) from ``start`` to ``end``."""

    symbols: list[str] = Field(min_length=1)
    start: dt.date
    end: dt.date

    _clean = field_validator("symbols")(_clean_symbols)

    @model_validator(mode="after")
    def _order(self) -> PriceQuery:
        if self.start > self.end:
            raise ValueError(f"start {self.start} is after end {self.end}")
        return self


class QuoteQuery(BaseModel):
    """Last price and previous close of ``symbols`` now (intraday)."""

    symbols: list[str] = Field(min_length=1)

    _clean = field_validator("symbols")(_clean_symbols)


@dataclass(frozen=True)
class PriceTable:
    """Prices by date (rows) and canonical symbol (columns), plus what could not be fetched.

    ``closes`` for :meth:`PriceSource.closes`; for :meth:`PriceSource.quotes` two rows: the
    previous close and the last price (dated the current session). ``failed`` maps a symbol
    to why its fetch failed (with the URL for online sources); ``missing`` lists symbols the
    source simply does not carry (a local table without that column), which reduce coverage
    but are not errors. ``basis`` says what the last row is. ``unadjusted`` lists symbols whose
    closes are adjusted for splits but not dividends (the source had no adjusted closes for them).
    """

    closes: pd.DataFrame
    failed: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    source: str = ""
    basis: str = "close"
    unadjusted: list[str] = field(default_factory=list)


class PriceSource(Protocol):
    """One source of prices. Implementations: YahooChart (HTTP), LocalPrices (files)."""

    name: str

    def closes(self, query: PriceQuery, progress: Progress | None = None) -> PriceTable: ...

    def quotes(self, query: QuoteQuery, progress: Progress | None = None) -> PriceTable: ...


__all__ = ["PriceQuery", "QuoteQuery", "PriceTable", "PriceSource", "Progress"]
