"""The pure diagnosis and the application layer type-check under mypy --strict
(pyproject's [tool.mypy]): the types, not runtime guards, say what a module gets."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_mypy_strict_clean(tmp_path):
    if subprocess.run([sys.executable, "-m", "mypy", "--version"], capture_output=True).returncode:
        # CI installs the test extras: there a missing mypy is a failure, not a skip.
        (pytest.fail if os.environ.get("CI") else pytest.skip)("mypy is not installed (pip install -e '.[test]')")
    p = subprocess.run([sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "cache")],
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout[-3000:]
    assert "Success" in p.stdout
