"""Clips with ground truth: translate drives frame by frame and score them, flicker included.

:func:`evaluate_drives` reports per-frame PSNR/SSIM (:mod:`~cyclegan_ms.metrics.image`) and the
flicker metrics of :mod:`~cyclegan_ms.metrics.flicker` over clips such as the built-in drives
(:func:`~cyclegan_ms.data.scenes.drive_pairs`).

**Layering.** This package sits below :mod:`cyclegan_ms.inference`, :mod:`cyclegan_ms.video` and
:mod:`cyclegan_ms.training`, so it does not build translators: :func:`evaluate_drives` takes a
ready frame-by-frame translator, anything with the :class:`ClipTranslator` interface, e.g. a
:class:`~cyclegan_ms.video.FrameTranslator` (``evaluate_drives(FrameTranslator(model,
temporal=...), drives)``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import torch
from torch import Tensor

from .flicker import change_error, frame_change, static_flicker, temporal_error
from .image import psnr, ssim

__all__ = ["ClipTranslator", "DriveEvalResult", "evaluate_drives"]


class ClipTranslator(Protocol):
    """What :func:`evaluate_drives` needs of a frame-by-frame translator (e.g.
    :class:`~cyclegan_ms.video.FrameTranslator`).

    Attributes
    ----------
    value_range
        The data range of its input and output tensors.

    Shape
    -----
    Each call: one frame ``(1, C, H, W) -> (1, C_out, H, W)``, in order.
    """

    @property
    def value_range(self) -> tuple[float, float]:
        """The data range of frames in and out."""
        ...

    def reset(self) -> None:
        """Forget the previous frames (called before every clip)."""
        ...

    def __call__(self, frame: Tensor) -> Tensor:
        """Translate the next frame of the clip."""
        ...


@dataclass
class DriveEvalResult:
    """What :func:`evaluate_drives` measured (means over drives).

    Attributes
    ----------
    drives, frames
        Number of clips, and of frames in all.
    psnr, ssim
        Of every translated frame against its ground truth (dB; [-1, 1]).
    input_psnr, input_ssim
        The same for the untranslated frames (``None`` when channels differ).
    temporal_error, change_error, static_flicker
        :func:`temporal_error`, :func:`change_error` and :func:`static_flicker` of the
        translated clips against the ground truth.
    flicker
        :func:`frame_change` of the translations over that of the ground truth (1: the
        translation changes as much as the truth does).
    truth_change
        :func:`frame_change` of the ground truth.
    input_temporal_error
        :func:`temporal_error` of the untranslated clips (``None`` when channels differ).
    per_drive
        ``[{"psnr", "ssim", "temporal_error", "change_error", "static_flicker", "flicker"},
        ...]``.
    """

    drives: int
    frames: int
    psnr: float
    ssim: float
    temporal_error: float
    change_error: float
    static_flicker: float
    flicker: float
    truth_change: float
    input_psnr: float | None = None
    input_ssim: float | None = None
    input_temporal_error: float | None = None
    per_drive: list[dict[str, float]] = field(default_factory=list)

    def summary(self) -> dict[str, float | int]:
        """The scalar results (no per-drive list, no ``None``)."""
        return {
            k: v for k, v in dataclasses.asdict(self).items() if k != "per_drive" and v is not None
        }


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


@torch.no_grad()
def evaluate_drives(
    frames: ClipTranslator,
    drives: Iterable[tuple[Tensor, Tensor]],
    *,
    progress: bool = False,
) -> DriveEvalResult:
    """Translate clips frame by frame, in order, and score them against their ground truth.

    Parameters
    ----------
    frames
        A frame-by-frame translator, e.g. a :class:`~cyclegan_ms.video.FrameTranslator`
        (``FrameTranslator(model, temporal=...)``); reset before every clip.
    drives
        ``(input, target)`` clips, each ``(T, C, H, W)`` in the translator's data range with
        ``T >= 2`` (e.g. :func:`~cyclegan_ms.data.scenes.drives.drive_pairs`).
    progress
        A tqdm bar over the clips.

    Returns
    -------
    DriveEvalResult

    Raises
    ------
    ValueError
        No clips, a clip of fewer than two frames, or mismatched shapes.

    Shape
    -----
    ``input``: ``(T, C_in, H, W)``; ``target``: ``(T, C_out, H, W)``.
    """
    rng = frames.value_range
    rows: list[dict[str, float]] = []
    base: list[dict[str, float]] = []
    count = 0
    items: Iterable[tuple[Tensor, Tensor]] = drives
    if progress:
        from tqdm.auto import tqdm

        items = tqdm(drives, desc="drives", unit="clip")
    for x, y in items:
        if x.ndim != 4 or x.shape[0] < 2:
            raise ValueError(f"a drive is a (T, C, H, W) clip with T >= 2; got {tuple(x.shape)}")
        frames.reset()
        pred = torch.cat([frames(x[i : i + 1]).float().cpu() for i in range(x.shape[0])])
        y = y.float().cpu()
        if pred.shape != y.shape:
            raise ValueError(
                f"translations {tuple(pred.shape)} and targets {tuple(y.shape)} differ"
            )
        count += int(pred.shape[0])
        truth_change = frame_change(y, data_range=rng)
        rows.append(
            {
                "psnr": float(psnr(pred, y, data_range=rng).mean()),
                "ssim": float(ssim(pred, y, data_range=rng).mean()),
                "temporal_error": temporal_error(pred, y, data_range=rng),
                "change_error": change_error(pred, y, data_range=rng),
                "static_flicker": static_flicker(pred, y, data_range=rng),
                "flicker": frame_change(pred, data_range=rng) / max(truth_change, 1e-12),
                "truth_change": truth_change,
            }
        )
        if x.shape == y.shape:
            xc = x.float().cpu()
            base.append(
                {
                    "psnr": float(psnr(xc, y, data_range=rng).mean()),
                    "ssim": float(ssim(xc, y, data_range=rng).mean()),
                    "temporal_error": temporal_error(xc, y, data_range=rng),
                }
            )
    if not rows:
        raise ValueError("no drives to evaluate")
    result = DriveEvalResult(
        drives=len(rows),
        frames=count,
        psnr=_mean([r["psnr"] for r in rows]),
        ssim=_mean([r["ssim"] for r in rows]),
        temporal_error=_mean([r["temporal_error"] for r in rows]),
        change_error=_mean([r["change_error"] for r in rows]),
        static_flicker=_mean([r["static_flicker"] for r in rows]),
        flicker=_mean([r["flicker"] for r in rows]),
        truth_change=_mean([r["truth_change"] for r in rows]),
        per_drive=rows,
    )
    if base:
        result.input_psnr = _mean([r["psnr"] for r in base])
        result.input_ssim = _mean([r["ssim"] for r in base])
        result.input_temporal_error = _mean([r["temporal_error"] for r in base])
    return result
