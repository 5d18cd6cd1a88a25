"""``python -m lev_flows.cli``: the same as ``lev-flows``."""

from . import main

main()
