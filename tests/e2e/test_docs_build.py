"""The Sphinx documentation (tutorial pages and the API reference from docstrings) builds without a
single warning."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.mark.skipif(importlib.util.find_spec("sphinx") is None,
                    reason="sphinx is not installed (pip install -e '.[test]')")
def test_docs_build_without_warnings(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html", str(DOCS), str(tmp_path / "html")]
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-5000:]
    index = (tmp_path / "html" / "index.html").read_text()
    assert "Tutorials" in index
    tutorial = (tmp_path / "html" / "tutorials" / "03_transformations.html").read_text()
    assert "IllegalTransformError" in tutorial                  # the script itself is on the page
    reference = (tmp_path / "html" / "reference.html").read_text()
    for name in ("from_python", "from_c", "schedule", "compile", "tune", "make_inputs"):
        assert name in reference, name
