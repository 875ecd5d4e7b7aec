"""pytest configuration for the executed examples of the documentation.

Every ``>>>`` example in ``docs/**/*.rst`` is run by pytest's doctest runner
(``pytest docs --doctest-glob='*.rst'``, part of ``make test``), one namespace per page, from a
fresh temporary working directory (examples that train write their run folders there).
"""

from __future__ import annotations

import os

import pytest
import torch

# Sphinx's configuration and extensions, and the build output, are not tests.
collect_ignore = ["conf.py"]
collect_ignore_glob = ["_build/*", "_ext/*"]

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


@pytest.fixture(autouse=True)
def _docs_example_env(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each page runs in its own empty folder, seeded, with no progress bars on stderr."""
    monkeypatch.chdir(tmp_path)  # type: ignore[arg-type]
    torch.manual_seed(0)
