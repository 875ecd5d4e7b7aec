"""Translating frame sequences without flicker, and measuring flicker.

A generator translates each frame of a video on its own, so whatever differs between two frames
that should not (fresh sensor noise at night, a normalisation layer's statistics moving with the
content) makes the output flicker. :class:`FrameTranslator` translates a sequence one frame at a
time with two remedies, each an option of :class:`TemporalOptions`:

* **Smoothed normalisation statistics** (``stats_decay``): instance/group norm layers and global
  context layers normally use each frame's own statistics. Here every frame's statistics are
  recorded with the whole-image machinery of tiled inference
  (:func:`~cyclegan_ms.inference.tiling.collect_norm_stats`, on a copy of the frame downscaled
  to at most ``stats_size``), blended into an exponential moving average
  ``s = decay · s + (1 - decay) · s_frame``, and the frame is translated with the average
  (:func:`~cyclegan_ms.inference.tiling.use_norm_stats`), so all frames of a shot share almost
  the same affine map per layer. The price is a second, small forward pass per frame (the tiled
  path pays it anyway).
* **A difference-guided temporal filter** (``filter_strength``): where the input barely changed
  since the pixels the last output shows (the channel mean of ``|blur(x_t - x_ref)|``, the
  signed difference box-blurred over ``2 · filter_radius + 1`` pixels so that zero-mean sensor
  noise averages out, below ``filter_threshold``), the new output is blended with the previous one,
  ``y = w · y_prev + (1 - w) · y_t`` with ``w = strength · (1 - change / threshold)²``; where it
  changed, the new output passes unchanged. The reference input ``x_ref`` is blended the same way,
  so a slow change still accumulates until it passes the threshold. Static parts of the scene
  (sky, buildings, a parked camera's whole view) stay still; moving objects are not smeared.

Both reset at a scene cut (a mean absolute input change above ``cut_threshold``) and when the
frame size changes. :func:`temporal_error` measures what is left: how much more (or less) the
translated clip changes from frame to frame than the ground-truth clip does;
:func:`change_error` compares the changes pixel by pixel and :func:`static_flicker` looks only
where the truth stands still.

>>> import torch
>>> from cyclegan_ms import build
>>> G = build("generator", "resnet_6blocks", ngf=4)
>>> frames = FrameTranslator(G, temporal=TemporalOptions(stats_decay=0.8, filter_strength=0.5))
>>> out = [frames(np.zeros((24, 32, 3), np.uint8)) for _ in range(3)]
>>> out[0].shape, out[0].dtype
((24, 32, 3), dtype('uint8'))
>>> still = torch.rand(1, 3, 8, 8).expand(5, -1, -1, -1)
>>> temporal_error(still, still)
0.0
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from typing_extensions import Unpack

from .image_metrics import psnr, ssim
from .options import EvalTranslateKwargs, TranslateKwargs, TranslateOptions
from .source import Direction, ModelSource
from .tiling import NormStats, collect_norm_stats, needs_image_stats, tiled_forward, use_norm_stats
from .translate import Translator

__all__ = [
    "STILL",
    "DriveEvalResult",
    "FrameTranslator",
    "TemporalOptions",
    "change_error",
    "evaluate_drives",
    "frame_change",
    "static_flicker",
    "temporal_error",
]


def _unit_float(name: str, value: object, *, lo: float, hi: float, hi_open: bool = False) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        v = float(value)  # type: ignore[arg-type]
        ok = lo <= v < hi if hi_open else lo <= v <= hi
    if not ok:
        bound = f"[{lo}, {hi})" if hi_open else f"[{lo}, {hi}]"
        raise ValueError(f"{name} must be a number in {bound}; got {value!r}")
    return float(value)  # type: ignore[arg-type]


@dataclass(frozen=True)
class TemporalOptions:
    """How :class:`FrameTranslator` keeps consecutive frames consistent (see the module docs).

    The defaults are what ``benchmarks/video.py`` measured on the built-in drives: the filter
    on (it halves the flicker and raises PSNR/SSIM a little), the statistics average off (no
    measurable effect there, at the price of a second pass per frame; it can matter for
    generators whose statistics move with noise). :meth:`off` is plain frame-by-frame
    translation.

    Parameters
    ----------
    stats_decay
        Weight of the past in the moving average of normalisation statistics, in ``[0, 1)``;
        0: every frame uses its own statistics.
    filter_strength
        Largest weight of the previous output in the temporal filter, in ``[0, 1)``; 0: no
        filter.
    filter_threshold
        Input change (channel mean of ``|blur(x_t - x_ref)|``, pixel values scaled to [0, 1])
        at and above which the new output passes unfiltered (``> 0``).
    filter_radius
        Radius in pixels of the box blur of the input change (``>= 0``).
    cut_threshold
        A mean absolute input change (scaled to [0, 1]) above this is a scene cut: the average
        and the filter restart. ``None``: never.

    Raises
    ------
    ValueError
        For a field out of range (the message names it and what is accepted).

    Shape
    -----
    No tensors: options only.
    """

    stats_decay: float = 0.0
    filter_strength: float = 0.9
    filter_threshold: float = 0.15
    filter_radius: int = 2
    cut_threshold: float | None = 0.25

    def __post_init__(self) -> None:
        object.__setattr__(
            self,
            "stats_decay",
            _unit_float("stats_decay", self.stats_decay, lo=0, hi=1, hi_open=True),
        )
        object.__setattr__(
            self,
            "filter_strength",
            _unit_float("filter_strength", self.filter_strength, lo=0, hi=1, hi_open=True),
        )
        thr = _unit_float("filter_threshold", self.filter_threshold, lo=0, hi=math.inf)
        if thr <= 0:
            raise ValueError(f"filter_threshold must be > 0; got {self.filter_threshold!r}")
        object.__setattr__(self, "filter_threshold", thr)
        r = self.filter_radius
        if isinstance(r, bool) or not isinstance(r, int) or r < 0:
            raise ValueError(f"filter_radius must be an integer >= 0; got {r!r}")
        if self.cut_threshold is not None:
            cut = _unit_float("cut_threshold", self.cut_threshold, lo=0, hi=1)
            object.__setattr__(self, "cut_threshold", cut)

    @classmethod
    def off(cls) -> TemporalOptions:
        """Plain frame-by-frame translation: no smoothing, no filter, no scene-cut detection."""
        return cls(stats_decay=0.0, filter_strength=0.0, cut_threshold=None)

    @property
    def enabled(self) -> bool:
        """Whether any remedy is on."""
        return self.stats_decay > 0 or self.filter_strength > 0

    def replace(self, **changes: Any) -> TemporalOptions:
        """A copy with ``changes`` applied (validated).

        Raises
        ------
        TypeError
            For a name that is not a field.
        ValueError
            For a value out of range.
        """
        return dataclasses.replace(self, **changes)


def _blend_stats(old: NormStats | None, new: NormStats, decay: float) -> NormStats:
    """``decay · old + (1 - decay) · new``, layer by layer (``new`` when the layouts differ)."""
    if (
        old is None
        or decay == 0
        or old.batch != new.batch
        or old.values.keys() != new.values.keys()
        or old.outputs.keys() != new.outputs.keys()
        or any(len(old.values[m]) != len(v) for m, v in new.values.items())
        or any(len(old.outputs[m]) != len(v) for m, v in new.outputs.items())
    ):
        return new
    keep = 1.0 - decay
    values = {
        m: [
            (pm.mul(decay).add_(nm, alpha=keep), pv.mul(decay).add_(nv, alpha=keep))
            for (pm, pv), (nm, nv) in zip(old.values[m], v, strict=True)
        ]
        for m, v in new.values.items()
    }
    outputs = {
        m: [
            po.mul(decay).add_(no, alpha=keep) if po.shape == no.shape else no
            for po, no in zip(old.outputs[m], v, strict=True)
        ]
        for m, v in new.outputs.items()
    }
    return NormStats(values, outputs, new.batch)


class FrameTranslator:
    """Translate the frames of one video, in order, with temporal stability.

    Parameters
    ----------
    model
        A :class:`~cyclegan_ms.inference.Translator` (used as it is), or anything a Translator
        accepts (a :class:`~cyclegan_ms.CycleGAN`, a generator, a checkpoint path).
    options
        How to translate each frame (a :class:`~cyclegan_ms.inference.TranslateOptions`: tiling,
        normalisation statistics, device...), for a model that is not a Translator.
    temporal
        How to keep frames consistent (default :class:`TemporalOptions()`;
        :meth:`TemporalOptions.off` for frame-by-frame).
    direction
        ``"a2b"`` or ``"b2a"``; ``None``: the options'.
    **overrides
        Fields of :class:`~cyclegan_ms.inference.TranslateOptions` replacing those of
        ``options``.

    Raises
    ------
    TypeError
        Translate options given with a ready Translator, or an unknown option.
    ValueError
        Smoothed statistics (``stats_decay > 0``) with ``norm_stats="tile"``, whose tiles use
        their own statistics by request; or an option out of range.

    Shape
    -----
    Each call: one frame, ``(H, W, C) -> (H, W, C_out)`` (arrays, PIL), ``(C, H, W)`` or
    ``(1, C, H, W)`` tensors likewise; the same kinds as :class:`~cyclegan_ms.inference.Translator`.
    """

    def __init__(
        self,
        model: ModelSource | Translator,
        options: TranslateOptions | None = None,
        temporal: TemporalOptions | None = None,
        *,
        direction: Direction | None = None,
        **overrides: Unpack[TranslateKwargs],
    ) -> None:
        if isinstance(model, Translator):
            given = sorted(overrides) + (["options"] if options is not None else [])
            if direction is not None and direction != model.direction:
                given.append("direction")
            if given:
                raise TypeError(
                    f"FrameTranslator got a ready Translator and translate options "
                    f"({', '.join(given)}), which it would ignore; build the Translator with them"
                )
            self.translator = model
        else:
            self.translator = Translator(model, options, direction=direction, **overrides)
        temporal = TemporalOptions() if temporal is None else temporal
        if not isinstance(temporal, TemporalOptions):
            raise TypeError(f"temporal must be a TemporalOptions; got {type(temporal).__name__}")
        if temporal.stats_decay > 0 and self.translator.norm_stats == "tile":
            raise ValueError(
                "stats_decay > 0 smooths whole-frame normalisation statistics, but "
                "norm_stats='tile' asks every tile to use its own; use norm_stats='global' or "
                "stats_decay=0"
            )
        self.temporal = temporal
        self._stats_needed = needs_image_stats(self.translator.generator)
        self.frames = 0
        self.cuts = 0
        self.reset()

    def reset(self) -> None:
        """Forget the previous frames (call between unrelated clips)."""
        self._stats: NormStats | None = None
        self._prev_in: Tensor | None = None
        self._ref_in: Tensor | None = None
        self._ref_out: Tensor | None = None

    def _unit(self, x: Tensor) -> Tensor:
        lo, hi = self.translator.value_range
        return (x.float() - lo) / (hi - lo)

    @torch.no_grad()
    def _forward(self, x_raw: Tensor, encode: Any) -> Tensor:
        """The frame ``(1, C, H, W)`` (caller's dtype) → output in the data range, float32."""
        t = self.translator
        gen = t.generator
        h, w = int(x_raw.shape[-2]), int(x_raw.shape[-1])
        how = t.plan(h, w)
        stats = None
        smooth = self.temporal.stats_decay > 0 and how != "tiled"
        tiled_global = how == "tiled" and t.norm_stats == "global"
        if self._stats_needed and (smooth or tiled_global):
            frame_stats = collect_norm_stats(gen, t._stats_input(x_raw, encode))
            stats = _blend_stats(self._stats, frame_stats, self.temporal.stats_decay)
            self._stats = stats
        was = gen.training
        gen.eval()
        try:
            ctx = use_norm_stats(gen, stats) if stats is not None else contextlib.nullcontext()
            with ctx:
                if how == "tiled":
                    c_out = t.out_channels
                    out = torch.empty(1, c_out, h, w, dtype=torch.float32)
                    tiled_forward(
                        t._net,
                        x_raw,
                        tile=t._tile_side(),
                        overlap=t.overlap,
                        multiple=t.fixed_size or t.size_multiple,
                        batch_size=t.batch_size,
                        margin=t.margin,
                        out=out,
                        encode=encode,
                        decode=lambda v: v,
                        device=t.device,
                        progress=False,
                    )
                    return out
                x = encode(x_raw.to(t.device))
                y = t._whole(x) if how == "whole" else t._resized(x)
                return y.float()
        finally:
            gen.train(was)

    @torch.no_grad()
    def _filter(self, x_unit: Tensor, y: Tensor) -> Tensor:
        opts = self.temporal
        if opts.filter_strength == 0:
            return y
        if self._ref_in is None or self._ref_out is None or self._ref_in.shape != x_unit.shape:
            self._ref_in, self._ref_out = x_unit, y
            return y
        diff = x_unit - self._ref_in
        r = opts.filter_radius
        if r:  # blur the signed difference: zero-mean sensor noise averages out
            diff = F.avg_pool2d(diff, 2 * r + 1, stride=1, padding=r, count_include_pad=False)
        change = diff.abs().mean(1, keepdim=True)
        weight = (1.0 - change / opts.filter_threshold).clamp_(min=0.0).square_()
        weight *= opts.filter_strength
        y = torch.lerp(y, self._ref_out.to(y.device), weight.to(y.device))
        self._ref_in = torch.lerp(x_unit, self._ref_in, weight)
        self._ref_out = y
        return y

    def __call__(self, frame: Any) -> Any:
        """Translate the next frame.

        Parameters
        ----------
        frame
            PIL image; numpy ``(H, W)``/``(H, W, C)`` ``uint8`` or float in [0, 1]; tensor
            ``(C, H, W)`` or ``(1, C, H, W)`` in the data range (or ``uint8``).

        Returns
        -------
        Any
            The translated frame, of the same kind, dtype and layout.

        Raises
        ------
        ValueError
            For a batch of several frames (translate them one by one, in order).

        Shape
        -----
        ``(H, W, C) -> (H, W, C_out)``, ``(C, H, W) -> (C_out, H, W)``,
        ``(1, C, H, W) -> (1, C_out, H, W)``.
        """
        t = self.translator
        p = t._prepare(frame)
        if p.x.shape[0] != 1:
            raise ValueError(
                f"FrameTranslator takes one frame at a time; got a batch of {p.x.shape[0]}"
            )
        x_unit = self._unit(p.encode(p.x.to(t.device)))
        cut = self.temporal.cut_threshold
        if self._prev_in is not None and (
            self._prev_in.shape != x_unit.shape
            or (cut is not None and float((x_unit - self._prev_in).abs().mean()) > cut)
        ):
            self.cuts += 1
            self.reset()
        self._prev_in = x_unit
        y = self._filter(x_unit, self._forward(p.x, p.encode))
        p.out.copy_(p.decode(y).to(p.out.device))
        self.frames += 1
        return p.finish()

    def run(self, frames: Iterable[Any]) -> Iterator[Any]:
        """Translate ``frames`` in order, lazily (one frame in memory at a time).

        Shape
        -----
        Each frame as in :meth:`__call__`.
        """
        for frame in frames:
            yield self(frame)


# --------------------------------------------------------------------------- metrics
def _frames_tensor(frames: Any, data_range: tuple[float, float]) -> Tensor:
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
    model: ModelSource | Translator | FrameTranslator,
    drives: Iterable[tuple[Tensor, Tensor]],
    *,
    temporal: TemporalOptions | None = None,
    direction: Direction | None = None,
    options: TranslateOptions | None = None,
    progress: bool = False,
    **overrides: Unpack[EvalTranslateKwargs],
) -> DriveEvalResult:
    """Translate clips frame by frame, in order, and score them against their ground truth.

    Parameters
    ----------
    model
        A :class:`FrameTranslator` (used as is, reset before every clip), a
        :class:`~cyclegan_ms.inference.Translator`, or a model/checkpoint.
    drives
        ``(input, target)`` clips, each ``(T, C, H, W)`` in the model's data range with
        ``T >= 2`` (e.g. :func:`~cyclegan_ms.data.scenes.drives.drive_pairs`).
    temporal
        Temporal options (default :class:`TemporalOptions()`); not with a FrameTranslator.
    direction, options, **overrides
        Translate options, for a model that is not a Translator.
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
    if isinstance(model, FrameTranslator):
        if temporal is not None or options is not None or overrides or direction is not None:
            raise TypeError(
                "evaluate_drives() got a ready FrameTranslator and options, which it would ignore"
            )
        ft = model
    else:
        ft = FrameTranslator(model, options, temporal, direction=direction, **overrides)
    rng = ft.translator.value_range
    rows: list[dict[str, float]] = []
    base: list[dict[str, float]] = []
    frames = 0
    items: Iterable[tuple[Tensor, Tensor]] = drives
    if progress:
        from tqdm.auto import tqdm

        items = tqdm(drives, desc="drives", unit="clip")
    for x, y in items:
        if x.ndim != 4 or x.shape[0] < 2:
            raise ValueError(f"a drive is a (T, C, H, W) clip with T >= 2; got {tuple(x.shape)}")
        ft.reset()
        pred = torch.cat([ft(x[i : i + 1]).float().cpu() for i in range(x.shape[0])])
        y = y.float().cpu()
        if pred.shape != y.shape:
            raise ValueError(
                f"translations {tuple(pred.shape)} and targets {tuple(y.shape)} differ"
            )
        frames += int(pred.shape[0])
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
        frames=frames,
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
