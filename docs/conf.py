"""Sphinx configuration of the cyclegan_ms documentation.

Build (warnings are errors)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

No network is used at build time. Set ``CYCLEGAN_MS_DOCS_INTERSPHINX=1`` to link to the Python,
PyTorch, NumPy and Pillow documentation through intersphinx; this downloads their inventories, so
only do it when online (an unreachable inventory is a warning, i.e. an error under ``-W``).

Three local extensions (``docs/_ext``) run at every build: the API pages are generated from the
package (``cyclegan_apigen``), the pictures of the built-in scenes are rendered by the current
renderer (``cyclegan_scenes``), and ``CHANGELOG.md`` is converted to reST (``cyclegan_changelog``).
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
    "cyclegan_changelog",  # docs/_ext: CHANGELOG.md as reST, into _generated/changelog.inc
]

INTERSPHINX = os.environ.get("CYCLEGAN_MS_DOCS_INTERSPHINX", "") not in ("", "0")
if INTERSPHINX:
    extensions.append("sphinx.ext.intersphinx")
    intersphinx_mapping = {
        "python": ("https://docs.python.org/3", None),
        "torch": ("https://docs.pytorch.org/docs/stable", None),
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
napoleon_use_rtype = True
napoleon_use_ivar = True
napoleon_preprocess_types = True
napoleon_custom_sections = ["Shape", "Item format"]

typehints_fully_qualified = False
always_document_param_types = False
# The numpy Returns sections carry the return type; an automatically inserted :rtype: field lands
# after trailing blocks (code, rubrics) and breaks their markup.
typehints_document_rtype = False
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


# -- attribute docs written as prose ---------------------------------------------------------------
# napoleon reads the first line of an attribute's ``#:`` comment as "type: description", so
# "#: A normalisation choice: a name or (name, kwargs)" would show "A normalisation choice" as the
# type. When the text before the colon is prose (several words, no brackets), keep the comment as
# written: stash it before napoleon runs and put it back after.
_PROSE_ATTR_DOCS: dict[str, list[str]] = {}


def _prose_before_colon(line: str) -> bool:
    from sphinx.ext.napoleon.docstring import _single_colon_regex, _xref_or_code_regex

    before: list[str] = []
    for i, chunk in enumerate(_xref_or_code_regex.split(line)):
        match = _single_colon_regex.search(chunk) if i % 2 == 0 else None
        if match:
            before.append(chunk[: match.start()])
            text = "".join(before).strip()
            return len(text.split()) >= 2 and not any(c in text for c in "[]|")
        before.append(chunk)
    return False


def _stash_prose_attr_doc(app, what, name, obj, options, lines):  # type: ignore[no-untyped-def]
    if what in ("attribute", "data") and lines and _prose_before_colon(lines[0]):
        _PROSE_ATTR_DOCS[name] = list(lines)


def _restore_prose_attr_doc(app, what, name, obj, options, lines):  # type: ignore[no-untyped-def]
    raw = _PROSE_ATTR_DOCS.pop(name, None)
    if raw is not None:
        lines[:] = raw


def setup(app):  # type: ignore[no-untyped-def]
    app.connect("autodoc-process-docstring", _stash_prose_attr_doc, priority=100)
    app.connect("autodoc-process-docstring", _restore_prose_attr_doc, priority=900)
