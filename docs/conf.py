"""Sphinx configuration of the cyclegan_ms documentation.

Build (warnings are errors)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

No network is used at build time. Set ``CYCLEGAN_MS_DOCS_INTERSPHINX=1`` to link to the Python,
PyTorch and NumPy documentation through intersphinx (this downloads their inventories, so only do
it when online, e.g. on Read the Docs, which sets it in ``.readthedocs.yaml``).
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(DOCS / "_ext"))
sys.path.insert(0, str(ROOT))

import cyclegan_ms  # noqa: E402

# -- project ------------------------------------------------------------------------------------
project = "cyclegan_ms"
author = "cyclegan_ms developers"
copyright = "cyclegan_ms developers"
release = cyclegan_ms.__version__
version = ".".join(release.split(".")[:2])

# -- extensions ---------------------------------------------------------------------------------
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",  # before sphinx_autodoc_typehints, which post-processes its output
    "sphinx_autodoc_typehints",
    "sphinx.ext.viewcode",
    "sphinx.ext.mathjax",
    "cyclegan_apigen",  # docs/_ext: the API pages, generated from the package at every build
    "cyclegan_scenes",  # docs/_ext: renders the built-in scene pictures into _static/scenes
]

INTERSPHINX = os.environ.get("CYCLEGAN_MS_DOCS_INTERSPHINX", "") not in ("", "0")
if INTERSPHINX:
    extensions.append("sphinx.ext.intersphinx")
    intersphinx_mapping = {
        "python": ("https://docs.python.org/3", None),
        "torch": ("https://pytorch.org/docs/stable", None),
        "numpy": ("https://numpy.org/doc/stable", None),
        "PIL": ("https://pillow.readthedocs.io/en/stable", None),
    }
    intersphinx_timeout = 10

templates_path: list[str] = []
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**/.ipynb_checkpoints"]
source_suffix = {".rst": "restructuredtext"}
root_doc = "index"
nitpicky = False  # torch/numpy types cannot be linked without intersphinx (offline builds)

# -- autodoc / napoleon / type hints ------------------------------------------------------------
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_preserve_defaults = True
autodoc_class_signature = "mixed"
autoclass_content = "class"
autodoc_inherit_docstrings = False
autosummary_generate = False  # the API pages come from docs/_ext/cyclegan_apigen.py

napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
napoleon_use_ivar = True
napoleon_preprocess_types = True
napoleon_custom_sections = ["Shape", "Item format"]

typehints_fully_qualified = False
always_document_param_types = False
typehints_document_rtype = True
typehints_use_rtype = False
typehints_defaults = "comma"
simplify_optional_unions = True

python_use_unqualified_type_names = True
add_module_names = False
toc_object_entries_show_parents = "hide"

# -- HTML -----------------------------------------------------------------------------------------
html_theme = "furo"
html_title = f"cyclegan_ms {release}"
html_static_path = ["_static"]
html_css_files = ["custom.css"]
html_show_sourcelink = False
html_theme_options = {"navigation_with_keys": True}
pygments_style = "friendly"
pygments_dark_style = "monokai"

# sphinx-autodoc-typehints 3.x calls an API that Sphinx 9 deprecates; the message is noise.
warnings.filterwarnings("ignore", message=".*set_application.*", category=DeprecationWarning)
warnings.filterwarnings("ignore", message=".*set_application.*", category=PendingDeprecationWarning)
