"""Checks of the documentation pages themselves (not their executed examples)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent
PAGES = sorted(DOCS.glob("*.rst"))


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_no_contents_directive_under_furo(page: Path) -> None:
    """Furo draws its own table of contents and renders ``.. contents::`` as a red error box.

    The ``-W`` Sphinx build stays green with it, so only this check catches it.
    """
    assert ".. contents::" not in page.read_text(encoding="utf-8"), (
        f"{page.name}: remove '.. contents::' (furo shows the page's contents in its sidebar)"
    )


def test_built_pages_hold_no_error_box() -> None:
    """The built site (``make docs`` runs before the tests in ``make test``) shows no error box."""
    built = DOCS / "_build" / "html"
    pages = list(built.glob("*.html"))
    if not pages:
        pytest.skip("the site is not built here (make docs builds it before make test's pytest)")
    for html in pages:
        text = html.read_text(encoding="utf-8")
        assert "Adding a table of contents in Furo-based documentation is unnecessary" not in text, html.name


def contract_layers() -> list[list[str]]:
    """The layers of ``[tool.importlinter]`` in ``pyproject.toml``, top first, each as its
    modules' names (``"inference : loading"`` → ``["inference", "loading"]``)."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    config = tomllib.loads((DOCS.parent / "pyproject.toml").read_text(encoding="utf-8"))
    (contract,) = [
        c for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "layers"
    ]
    return [re.split(r"\s*[:|]\s*", layer.strip()) for layer in contract["layers"]]


def architecture_table_rows() -> list[list[str]]:
    """The first column of the table under *Layers* in ``architecture.rst``, row by row (the
    header left out): the ````names```` of each row's packages."""
    text = (DOCS / "architecture.rst").read_text(encoding="utf-8")
    section = text.split("\nLayers\n------\n", 1)[1].split("\nContracts\n---", 1)[0]
    rows = re.findall(r"^   \* - (.+)$", section, flags=re.MULTILINE)
    return [re.findall(r"``([\w.]+)``", row) for row in rows[1:]]


def test_the_architecture_table_is_the_import_contract() -> None:
    """``architecture.rst``'s table of layers lists, from the bottom row up, exactly the layers
    of the import contract that ``lint-imports`` checks (``make lint``), in its order."""
    assert architecture_table_rows() == contract_layers()[::-1]
