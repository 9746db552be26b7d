"""Every tutorial in docs/tutorials is a runnable script: run each at small size so the docs cannot rot."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TUTORIALS = sorted((Path(__file__).resolve().parents[2] / "docs" / "tutorials").glob("[0-9][0-9]_*.py"))


def test_tutorials_exist() -> None:
    names = [p.stem for p in TUTORIALS]
    for expected in ("01_quickstart", "02_polyhedral_model", "03_transformations", "04_tuning", "05_gpu",
                     "06_compare"):
        assert expected in names


@pytest.mark.parametrize("script", TUTORIALS, ids=[p.stem for p in TUTORIALS])
def test_tutorial_runs(script: Path, tmp_path: Path) -> None:
    env = dict(os.environ, POLYOPT_DOCS_SMALL="1", MPLBACKEND="Agg")
    env.setdefault("POLYOPT_CACHE_DIR", str(tmp_path / "cache"))
    proc = subprocess.run([sys.executable, str(script)], check=False, capture_output=True, text=True,
                          timeout=300, cwd=tmp_path, env=env)
    assert proc.returncode == 0, f"{script.name} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    assert proc.stdout.strip(), f"{script.name} printed nothing"
