"""The examples run start to finish (on small data), as a user would run them."""
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_walkthrough(subprocess_env):
    pytest.importorskip("mlxtend")
    proc = subprocess.run([sys.executable, os.path.join(REPO, "examples", "walkthrough.py"), "--quick"],
                          env=subprocess_env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "walkthrough finished" in proc.stdout
    assert "torch module matches the library" in proc.stdout
