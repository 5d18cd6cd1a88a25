"""Local files as a price source: the wide CSV tables of ``../shared/data/prices`` (or any
folder in that layout), so everything works offline behind the same interface as HTTP."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..errors import InputError
from ..returns import load_price_dir
from .base import PriceQuery, PriceTable, Progress, QuoteQuery


class LocalPrices:
    """Closes from a folder of close tables; symbols without a column are reported as missing
    (not carried by these files), which lowers coverage but is not a fetch failure."""

    name = "local"

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self._table: pd.DataFrame | None = None

    @property
    def table(self) -> pd.DataFrame:
        if self._table is None:
            self._table = load_price_dir(self.directory)
        return self._table

    def closes(self, query: PriceQuery, progress: Progress | None = None) -> PriceTable:
        table = self.table.loc[pd.Timestamp(query.start) : pd.Timestamp(query.end)]
        have = [s for s in query.symbols if s in table.columns]
        missing = [s for s in query.symbols if s not in table.columns]
        if progress is not None:
            for s in query.symbols:
                progress(s, s in table.columns)
        return PriceTable(closes=table[have], missing=missing, source=f"local files ({self.directory})")

    def quotes(self, query: QuoteQuery, progress: Progress | None = None) -> PriceTable:
        raise InputError(f"{self.directory}: local price files have no live quotes; use --as-of for a past session")


__all__ = ["LocalPrices"]
