"""Stage 1, inputs: what enters lev_flows, read and checked at the edge.

Enters: the catalog YAML, price and volume tables, AUM observation files, issuer and screener
files, HTTP answers of the data services, the package's shipped data.
Leaves: a :class:`~lev_flows.inputs.catalog.Universe`; price tables on the NYSE sessions
(:mod:`.prices`); AUM observations in the embedded store (:mod:`.store`); the sessions of the
calendar (:mod:`.calendar`); a day's returns and start-of-day AUM as plain data (:mod:`.days`),
the built-in replay's (:mod:`.packaged`); plausibility limits (:mod:`.plausibility`).

* :mod:`.catalog`: pydantic models of the funds, underlyings and stocks; YAML load and save;
* :mod:`.calendar`: NYSE sessions, early closes, reset schedules;
* :mod:`.store`: the DuckDB file of what accumulates (AUM observations, live refreshes);
* :mod:`.prices`: close and volume tables from files, kept parsed;
* :mod:`.sources`: one provider per data source (Yahoo, ProShares, Direxion, the screener,
  local files), vendor formats turned into our types.

Imports nothing above itself: no model, analysis, presentation or job.
"""
