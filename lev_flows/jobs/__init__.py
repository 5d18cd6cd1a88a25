"""Stage 5, jobs: the runs a desk schedules, which fetch, estimate, record and write.

Enters: a Universe, a price source (HTTP or local files), the store, the clock.
Leaves: report folders (:mod:`.daily`), live refreshes recorded in the store (:mod:`.watch`),
AUM observations imported and fetched (:mod:`.aum`), the package's shipped data
(:mod:`.reference`) and the catalog refreshed from the screener (:mod:`.catalog_update`).
"""
