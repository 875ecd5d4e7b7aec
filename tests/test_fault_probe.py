"""The fault probe's cases (``benchmarks/fault_probe.py``), each a test: a forgotten
``--resume``, two trainings at once and ``kill -9`` of the lock holder, and a disk that refuses a
checkpoint, a sample grid, a log line or the config. Each checks that refusals are clean, that
nothing changed and that nothing was lost."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import fault_probe


@pytest.mark.parametrize("case", fault_probe.CASES, ids=lambda c: c.__name__)
def test_fault_probe_case(case: Callable[[Path], fault_probe.Outcome], tmp_path: Path) -> None:
    outcome = fault_probe.run_case(case, tmp_path)
    assert outcome.ok, outcome.report()


def test_fault_probe_script_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = fault_probe.main(["--case", "forgotten_resume", "--keep", str(tmp_path)])
    out = capsys.readouterr().out
    assert status == 0, out
    assert "1/1 cases: refusals clean, nothing changed, nothing lost" in out
