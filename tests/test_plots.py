"""Loss curves: drawn without touching matplotlib's global state; matplotlib is optional."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from cyclegan_ms.utils.plots import plot_loss_curves


def _metrics(path: Path) -> Path:
    lines: list[dict[str, object]] = [
        {"step": s, "g_total": 1.0 / s, "d_total": 0.5, "time": 0.1} for s in range(1, 6)
    ]
    lines.insert(2, {"step": 2, "event": "skipped_nonfinite"})
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n{torn")
    return path


def test_plot_leaves_the_backend_alone(tmp_path: Path) -> None:
    import matplotlib

    before = matplotlib.get_backend()
    out = plot_loss_curves(_metrics(tmp_path / "m.jsonl"), tmp_path / "curve.png")
    assert out == tmp_path / "curve.png" and out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert matplotlib.get_backend() == before
    assert "matplotlib.pyplot" not in sys.modules or before == matplotlib.get_backend()


def test_without_matplotlib_no_plot_and_no_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)  # import fails as if not installed
    assert plot_loss_curves(_metrics(tmp_path / "m.jsonl"), tmp_path / "curve.png") is None
    assert not (tmp_path / "curve.png").exists()
