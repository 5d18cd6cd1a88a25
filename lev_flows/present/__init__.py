"""Stage 4, presentation: results shown to people, nothing computed.

Enters: a FlowEstimate or an analysis result.
Leaves: terminal tables and CSV / JSON / Parquet bytes (:mod:`.tables`), charts as PNG, SVG or
PDF bytes (:mod:`.charts`), the self-contained HTML note (:mod:`.note`).
"""
