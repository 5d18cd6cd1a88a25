"""Stage 2, the model: the rebalancing estimate, pure functions over arrays.

Enters: a Universe, a day's returns (:class:`~lev_flows.inputs.days.DayReturns` or a mapping),
start-of-day AUM (:class:`~lev_flows.inputs.days.AumDay` or a mapping), optional creations and
issuer holdings; for a past session, the price tables and the store's observations.
Leaves: a :class:`~lev_flows.model.estimate.FlowEstimate` (per fund, stock, sector, index,
asset class and total, with coverage and the inputs' dates).

* :mod:`.formula`: ``A * L * (L - 1) * r`` and its relatives, over numpy arrays;
* :mod:`.lookthrough`: fund flows to stocks, sectors and buckets;
* :mod:`.returns`: the day's returns from price tables, in order of directness;
* :mod:`.pointintime`: AUM and returns as known at each session;
* :mod:`.estimate`: :func:`~lev_flows.model.estimate.estimate` and its result types;
* :mod:`.day`: :func:`~lev_flows.model.day.estimate_day`, a past session from the store and
  the price tables.

Imports only inputs; presentation only lazily, inside a result's ``plot()`` / ``to_html()``.
"""
