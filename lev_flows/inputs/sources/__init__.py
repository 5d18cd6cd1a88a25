"""Data providers, one module per source, each turning a vendor's format into our types at the
edge: :mod:`.yahoo` (quotes and closes), :mod:`.issuers` (ProShares and Direxion holdings files),
:mod:`.issuer_aum` (every issuer's daily net assets, one module per issuer), :mod:`.edgar`
(SEC N-PORT month-ends), :mod:`.screener` (screener exports), :mod:`.local` (price tables on
disk), :mod:`.aumfiles` (AUM observation files). :mod:`.http` is the one HTTP
client they share (timeouts, retries, deadline, concurrency, cache); :mod:`.base` the small
interfaces; :mod:`.underlyings` the curated reference tables (compositions, proxies, sectors).
"""
