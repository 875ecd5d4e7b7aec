"""Loss-curve plots from ``metrics.jsonl``.

Drawn with matplotlib's object API (:class:`matplotlib.figure.Figure`, no ``pyplot``): nothing
global changes (no backend is forced on the user's process) and no display is needed.
matplotlib is optional (``pip install 'cyclegan-ms[plots]'``); without it no plot is drawn.
"""

from __future__ import annotations

import io
import json
import logging
import os
from pathlib import Path

from .files import atomic_write_bytes

__all__ = ["plot_loss_curves", "read_metrics"]

logger = logging.getLogger("cyclegan_ms.utils")


def read_metrics(path: str | os.PathLike[str]) -> list[dict[str, float]]:
    """The per-step loss records of a ``metrics.jsonl`` (event lines are skipped)."""
    records = []
    with Path(path).open() as fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line torn by a kill: ignore it
            if "event" not in rec:
                records.append(rec)
    return records


def plot_loss_curves(metrics: str | os.PathLike[str], out: str | os.PathLike[str]) -> Path | None:
    """Plot generator and discriminator losses over steps into a PNG.

    Returns
    -------
    Path | None
        ``out``; ``None`` when there is no loss record or matplotlib is not installed.
    """
    try:
        from matplotlib.figure import Figure
    except ImportError:
        logger.info("matplotlib is not installed: no loss curve (pip install 'cyclegan-ms[plots]')")
        return None
    records = read_metrics(metrics)
    if not records:
        return None
    steps = [r["step"] for r in records]
    keys = sorted({k for r in records for k in r if k.startswith(("g_", "d_"))})
    fig = Figure(figsize=(11, 4), layout="constrained")
    axes = fig.subplots(1, 2)
    for ax, prefix, title in ((axes[0], "g_", "generators"), (axes[1], "d_", "discriminators")):
        for k in keys:
            if k.startswith(prefix):
                ax.plot(steps, [r.get(k, float("nan")) for r in records], label=k[2:], lw=1.2)
        ax.set_title(title)
        ax.set_xlabel("step")
        ax.set_yscale("symlog", linthresh=1e-2)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, ncol=2)
    buffer = io.BytesIO()
    fig.savefig(buffer, dpi=110, format="png")
    return atomic_write_bytes(out, buffer.getvalue(), durable=False)
