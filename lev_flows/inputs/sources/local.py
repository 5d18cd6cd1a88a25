"""Local files as a price source: the wide CSV/Parquet tables of ``../shared/data/prices`` (a
folder in that layout) or one wide table file, so everything works offline behind the same
interface as HTTP."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from lev_flows.errors import InputError
from lev_flows.inputs.prices import drop_non_sessions, load_price_dir, read_close_table
from lev_flows.inputs.sources.base import PriceQuery, PriceTable, Progress, QuoteQuery


class LocalPrices:
    """Closes from a folder of close tables or one table file; symbols without a column are reported as missing
    (not carried by these files), which lowers coverage but is not a fetch failure."""

    name = "local"

    def __init__(self, directory: str | Path):
        from lev_flows.inputs.args import path_arg

        self.directory = path_arg(directory, "--prices")  # a path the system takes, or one line why not
        self._table: pd.DataFrame | None = None

    @property
    def table(self) -> pd.DataFrame:
        if self._table is None:
            if self.directory.is_file():
                self._table = drop_non_sessions(read_close_table(self.directory))
            else:
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
