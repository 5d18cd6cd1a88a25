"""``python -m lev_flows.cli``: the same as ``lev-flows``."""

from lev_flows.cli import main

main()
