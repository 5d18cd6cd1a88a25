"""Data providers, one module per source, each turning a vendor's format into our types at the
edge: :mod:`.yahoo` (quotes and closes), :mod:`.issuers` (ProShares and Direxion holdings files),
:mod:`.navhistory` (issuer NAV histories), :mod:`.screener` (screener exports), :mod:`.local`
(price tables on disk), :mod:`.aumfiles` (AUM observation files). :mod:`.http` is the one HTTP
client they share (timeouts, retries, deadline, concurrency, cache); :mod:`.base` the small
interfaces; :mod:`.underlyings` the curated reference tables (compositions, proxies, sectors).
"""
