"""Sphinx configuration: the tutorials (runnable scripts, included verbatim) and an API reference
generated from docstrings. Build: python -m sphinx -W -b html docs docs/_build/html"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

project = "polyopt"
author = "the polyopt developers"
copyright = "2026, the polyopt developers"
try:
    from polyopt import __version__ as release
except ImportError:  # pragma: no cover
    release = "0.1.0"
version = release

extensions = ["sphinx.ext.autodoc", "sphinx.ext.viewcode"]
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": False}
autodoc_typehints = "description"
autodoc_member_order = "bysource"
# Heavy or optional runtime pieces are never needed to read docstrings.
autodoc_mock_imports = ["pycuda"]
exclude_patterns = ["_build", "tutorials/*.py"]
html_theme = "alabaster"
html_static_path: list[str] = []
nitpicky = False
