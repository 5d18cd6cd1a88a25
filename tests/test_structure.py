"""The package's shape: no import cycle (lazy imports inside functions count too)."""

import subprocess
import sys

from tests.conftest import ROOT


def test_no_import_cycle():
    tool = ROOT.parent / "shared" / "tools" / "import_cycles.py"
    res = subprocess.run([sys.executable, str(tool), str(ROOT / "lev_flows")], capture_output=True, text=True, check=True)
    assert res.stdout.strip() == "", res.stdout
