"""pytest configuration for the executed examples of the documentation.

Every ``>>>`` example in ``docs/**/*.rst`` is run by pytest's doctest runner
(``pytest docs --doctest-glob='*.rst'``, part of ``make test``), one namespace per page, from a
fresh temporary working directory (examples that train write their run folders there), and with
the registry holding only the library's own parts (tests and other pages may register more).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from cyclegan_ms import registry

DOCS = Path(__file__).resolve().parent

# Sphinx's configuration and extensions, the build output, and the example modules (imported by
# the pages themselves; importing them at collection would register their parts for every test).
collect_ignore = ["conf.py"]
collect_ignore_glob = ["_build/*", "_ext/*", "examples/*", "scripts/*"]

# extending.rst imports docs/examples/my_parts.py as `my_parts`, as a reader's script would
sys.path.insert(0, str(DOCS / "examples"))

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


def _is_builtin(factory: object) -> bool:
    """Registered by the package itself: defined in (and importable from) a cyclegan_ms module."""
    module = sys.modules.get(getattr(factory, "__module__", None) or "")
    if module is None or not module.__name__.startswith("cyclegan_ms"):
        return False
    return getattr(module, getattr(factory, "__name__", ""), None) is factory


@pytest.fixture(autouse=True)
def _docs_example_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each page: its own empty folder, a seeded RNG, and a registry of built-in parts only."""
    monkeypatch.chdir(tmp_path)
    torch.manual_seed(0)
    tables = registry._REGISTRY
    saved = {kind: dict(table) for kind, table in tables.items()}
    for table in tables.values():
        for name in [n for n, f in table.items() if not _is_builtin(f)]:
            del table[name]
    try:
        yield
    finally:  # restore in place: the same table objects, as they were before the page
        for kind in list(tables):
            if kind in saved:
                tables[kind].clear()
                tables[kind].update(saved[kind])
            else:
                del tables[kind]
