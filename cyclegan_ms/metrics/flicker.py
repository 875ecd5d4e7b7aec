"""Flicker of translated clips against their ground truth, on pixel values scaled to [0, 1].

A generator translating a video frame by frame passes on whatever differs between frames that
should not (fresh sensor noise at night, normalisation statistics moving with the content):
the translation flickers. These numbers measure it against a ground-truth clip:

* :func:`frame_change`: how much a clip changes from frame to frame;
* :func:`temporal_error`: how much more (or less) the translation changes than the truth does;
* :func:`change_error`: the same, pixel by pixel;
* :func:`static_flicker`: the translation's change where the truth stands still.

:func:`~cyclegan_ms.metrics.evaluate_drives` reports them over whole clips;
:class:`~cyclegan_ms.video.FrameTranslator` is what reduces them.

>>> import torch
>>> still = torch.rand(1, 3, 8, 8).expand(5, -1, -1, -1)
>>> temporal_error(still, still)
0.0
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

__all__ = ["STILL", "change_error", "frame_change", "static_flicker", "temporal_error"]


def _frames_tensor(frames: Tensor | np.ndarray, data_range: tuple[float, float]) -> Tensor:
    if isinstance(frames, np.ndarray):
        if frames.ndim not in (3, 4):
            raise ValueError(f"expected (T, H, W) or (T, H, W, C) frames; got shape {frames.shape}")
        arr = frames[..., None] if frames.ndim == 3 else frames
        t = torch.from_numpy(np.ascontiguousarray(arr)).permute(0, 3, 1, 2)
        if frames.dtype == np.uint8:
            return t.double() / 255.0
        return t.double()
    if isinstance(frames, Tensor):
        if frames.ndim != 4:
            raise ValueError(f"expected (T, C, H, W) frames; got shape {tuple(frames.shape)}")
        if frames.dtype == torch.uint8:
            return frames.double() / 255.0
        lo, hi = data_range
        return (frames.double() - lo) / (hi - lo)
    raise TypeError(f"frames must be a tensor or a numpy array; got {type(frames).__name__}")


def frame_change(
    frames: Tensor | np.ndarray, *, data_range: tuple[float, float] = (0.0, 1.0)
) -> float:
    """Mean absolute change between consecutive frames, pixel values scaled to [0, 1].

    Parameters
    ----------
    frames
        ``(T, C, H, W)`` tensor in ``data_range`` (or ``uint8``), or a ``(T, H, W, C)`` numpy
        array (``uint8``, or float in [0, 1]); ``T >= 2``.
    data_range
        The range of float tensors.

    Returns
    -------
    float
        ``mean |x_t - x_{t-1}|`` over ``t >= 1``, pixels and channels.

    Raises
    ------
    ValueError
        For fewer than two frames or a bad shape.

    Shape
    -----
    ``(T, C, H, W) -> ()``.
    """
    x = _frames_tensor(frames, data_range)
    if x.shape[0] < 2:
        raise ValueError(f"need at least 2 frames; got {x.shape[0]}")
    return float((x[1:] - x[:-1]).abs().mean())


def _pair(
    pred: Tensor | np.ndarray, target: Tensor | np.ndarray, data_range: tuple[float, float]
) -> tuple[Tensor, Tensor]:
    p, g = _frames_tensor(pred, data_range), _frames_tensor(target, data_range)
    if p.shape != g.shape:
        raise ValueError(f"pred and target differ in shape: {tuple(p.shape)} vs {tuple(g.shape)}")
    if p.shape[0] < 2:
        raise ValueError(f"need at least 2 frames; got {p.shape[0]}")
    return p, g


def temporal_error(
    pred: Tensor | np.ndarray,
    target: Tensor | np.ndarray,
    *,
    data_range: tuple[float, float] = (0.0, 1.0),
) -> float:
    """How much more (or less) a translated clip changes from frame to frame than the truth.

    ``| mean |p_t - p_{t-1}| - mean |g_t - g_{t-1}| |`` over ``t >= 1``, pixels and channels,
    pixel values scaled to [0, 1] (see :func:`frame_change`): flicker makes the translation
    change more than the ground truth does, a frozen output changes less; both count. It is 0
    for a still clip translated deterministically. It compares amounts of change, not where
    they happen: read it with :func:`change_error` and the per-frame PSNR/SSIM.

    Parameters
    ----------
    pred, target
        Translated and ground-truth frames of one clip: ``(T, C, H, W)`` tensors in
        ``data_range`` (or ``uint8``), or ``(T, H, W, C)`` numpy arrays (``uint8``, or float in
        [0, 1]); the same shape, ``T >= 2``.
    data_range
        The range of float tensors.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        For different shapes or fewer than two frames.

    Shape
    -----
    ``(T, C, H, W), (T, C, H, W) -> ()``.
    """
    p, g = _pair(pred, target, data_range)
    return abs(float((p[1:] - p[:-1]).abs().mean()) - float((g[1:] - g[:-1]).abs().mean()))


def change_error(
    pred: Tensor | np.ndarray,
    target: Tensor | np.ndarray,
    *,
    data_range: tuple[float, float] = (0.0, 1.0),
) -> float:
    """Pixel by pixel, how the translation's frame-to-frame change differs from the truth's.

    ``mean |(p_t - p_{t-1}) - (g_t - g_{t-1})|`` over ``t >= 1``, pixels and channels, pixel
    values scaled to [0, 1]. A constant error of every frame cancels; flicker, and motion the
    translation misses or invents (e.g. day shadows that a night frame does not show), add to
    it, so it does not reach 0 for an imperfect translation however stable.

    Parameters
    ----------
    pred, target
        As in :func:`temporal_error`.
    data_range
        The range of float tensors.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        For different shapes or fewer than two frames.

    Shape
    -----
    ``(T, C, H, W), (T, C, H, W) -> ()``.
    """
    p, g = _pair(pred, target, data_range)
    return float(((p[1:] - p[:-1]) - (g[1:] - g[:-1])).abs().mean())


#: :func:`static_flicker` counts pixels whose ground truth changes less than this (1/255 per
#: channel, on average): the parts of the scene that stand still.
STILL = 1.0 / 255.0


def static_flicker(
    pred: Tensor | np.ndarray,
    target: Tensor | np.ndarray,
    *,
    data_range: tuple[float, float] = (0.0, 1.0),
    still: float = STILL,
) -> float:
    """Mean frame-to-frame change of the translation where the ground truth stands still.

    ``mean |p_t - p_{t-1}|`` over the pixels whose truth changes by less than ``still``
    (channel mean of ``|g_t - g_{t-1}|``), pixel values scaled to [0, 1]: flicker on the parts
    that should not move (0 when there are none).

    Parameters
    ----------
    pred, target
        As in :func:`temporal_error`.
    data_range
        The range of float tensors.
    still
        Largest truth change of a still pixel.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        For different shapes or fewer than two frames.

    Shape
    -----
    ``(T, C, H, W), (T, C, H, W) -> ()``.
    """
    p, g = _pair(pred, target, data_range)
    mask = (g[1:] - g[:-1]).abs().mean(1, keepdim=True) < still
    if not bool(mask.any()):
        return 0.0
    change = (p[1:] - p[:-1]).abs().mean(1, keepdim=True)
    return float(change[mask].mean())
