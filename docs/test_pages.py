"""Checks of the documentation pages themselves (not their executed examples)."""

from __future__ import annotations

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
