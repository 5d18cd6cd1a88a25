"""Stage 3, analyses over the model: many estimates, or one looked at from another side.

Enters: a Universe, price tables, the store's observations, published figures.
Leaves: result tables (pandas) and result objects with ``plot()``.

* :mod:`.whatif`: the ladder, what-if moves, sensitivities and liquidity pressure;
* :mod:`.history`: every session of a range, the largest days, tracking of L x;
* :mod:`.montecarlo`: the next close's distribution;
* :mod:`.creations`: creations and redemptions between two snapshots;
* :mod:`.verify`: the catalog checked against the funds' own prices;
* :mod:`.scorecard`: published desk estimates against ours.

Imports inputs and the model; presentation only lazily, inside ``plot()``.
"""
