"""Shared test configuration: hypothesis profiles and small fixtures."""

from __future__ import annotations

import os

import pytest
import torch
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=8,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("dev", max_examples=20, deadline=None)
settings.register_profile("thorough", max_examples=200, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


@pytest.fixture(autouse=True)
def _seed_torch() -> None:
    torch.manual_seed(0)


@pytest.fixture(autouse=True, scope="session")
def _engine_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Engine choices and exported files (``engine="auto"``, the command line's default) go to
    a folder of the test session, not the user's cache."""
    os.environ["CYCLEGAN_MS_CACHE"] = str(tmp_path_factory.mktemp("engine_cache"))


@pytest.fixture
def fp32_translation(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``TranslateOptions(precision="auto")`` resolve to fp32, as on a CPU without bf16.

    For modules that check the translation *mechanics* (tiling, codecs, export parity) against
    an fp32 reference to float tolerance; the bf16 path and its parity with fp32 are tested in
    ``test_translate_precision.py``.
    """
    from cyclegan_ms import precision

    monkeypatch.setattr(precision, "cpu_has_bf16", lambda: False)
