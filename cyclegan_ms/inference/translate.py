"""Translate images of any size and kind with a trained generator.

.. code-block:: python

    day = translate("runs/night_to_day", Image.open("night.jpg"))

What users translating photos can rely on:

* **Any kind**: a PIL image, a numpy array (``(H, W, C)`` or ``(H, W)``; ``uint8`` or float in
  [0, 1]) or a tensor (``(C, H, W)`` or ``(B, C, H, W)`` in the model's data range, or
  ``uint8``) comes back as the same kind, dtype and layout; a list comes back as a list.
  Channels are matched to the generator (gray → RGB by repetition, RGB → gray by ITU-R 601
  luma, RGBA → RGB by dropping alpha; PIL images of any mode via
  :func:`cyclegan_ms.data.images.to_channels`).
* **Any size and aspect ratio**: the input is reflect-padded to the generator's
  ``size_multiple`` (split evenly between the sides) and the output cropped back, so the output
  has the input's size. A whole-image pass also gets ``border`` pixels of reflected context on
  every side (default twice the size multiple), so the network's zero padding acts outside the
  picture: a generator trained on 64² crops otherwise paints bands along a photo's borders.
* **Large images** are translated in overlapping tiles blended with a smooth window
  (see :mod:`cyclegan_ms.inference.tiling`); by default (``tile="auto"``) when an image has
  more than :data:`AUTO_TILE_PIXELS` pixels. Memory then grows with the tile size, not the image
  size (for ``uint8`` input and output: the two images plus one strip of tiles).
* **Normalisation statistics**: instance/group norm normalise every tile by its own statistics,
  so tiles of different content come out in different colours. ``norm_stats="global"``
  (default) first records every norm layer's statistics on a copy of the whole image downscaled
  to at most ``stats_size`` pixels on its longer side, and normalises all tiles with those: tiles
  agree, and the result is close to what an untiled pass would give (exactly the same
  statistics when the image is no larger than ``stats_size``). ``norm_stats="tile"`` is the
  plain per-tile behaviour (cheaper by one small pass, and what a network trained on crops saw;
  the tiles' colours may disagree).
* **The exact seed generator** (dense bottleneck, ``fixed_size = 256``) accepts only 256×256:
  ``fixed_size_mode="resize"`` (default) resizes the whole image to 256×256 (antialiased
  bilinear), translates it and resizes the result back to the input's size — the seed was trained
  on whole frames squashed to 256×256, so this matches its training, at 256×256 detail;
  ``fixed_size_mode="tile"`` (or an explicit ``tile``) runs it on overlapping 256×256 tiles at
  full resolution (more detail, but every tile is a zoomed-in view the network never saw in
  training). Use ``seed_unet`` with ``bottleneck="conv"`` for a size-free generator.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Iterator, Sequence
from typing import Literal, TypeAlias, overload

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor
from typing_extensions import Unpack

from ..precision import resolve_inference_precision
from .devices import on_device
from .engines import EagerEngine, Engine, EngineChoice, choose_engine, named_engine
from .guided import GuidedCoefficients, apply_guided, guided_coefficients
from .kinds import ImageBatch, ImageLike, ImageT, image_batch
from .norm_stats import NormStats, collect_norm_stats, needs_image_stats, use_norm_stats
from .options import (
    FixedSizeMode,
    NormStatsMode,
    TileSpec,
    TranslateKwargs,
    TranslateOptions,
    options_with,
)
from .source import Direction, ModelSource, resolve_generator_card
from .tiling import pad_to_multiple, tiled_forward

__all__ = [
    "AUTO_TILE_PIXELS",
    "DEFAULT_OVERLAP",
    "DEFAULT_TILE",
    "FixedSizeMode",
    "NormStatsMode",
    "TileSpec",
    "TranslateOptions",
    "Translator",
    "as_translator",
    "translate",
]
#: What :class:`Translator` and :func:`translate` take: an image, or a list or tuple of them.
ImageOrList: TypeAlias = "ImageLike | Sequence[ImageLike]"

#: ``tile="auto"`` tiles images with more pixels than this (2560 × 1600, 4.1 MP: photos and
#: dash-cam frames up to that size go through in one pass, without seams; the night2day
#: generator peaked at 2.0 GB for such an image on a CPU in bf16).
AUTO_TILE_PIXELS = 2560 * 1600
#: Tile side used by ``tile="auto"``.
DEFAULT_TILE = 1024
#: Default overlap of neighbouring tiles, in pixels (at most a quarter of the tile).
DEFAULT_OVERLAP = 32
#: Regularisation of ``upsample="guided"`` for data in [0, 1] (scaled by the squared width of
#: the data range): chosen on the photographs of ``benchmarks/photos.py`` (1e-3 and a 3 × 3
#: window scored SSIM 0.665 at a working size of 256, 1e-2 and 5 × 5 scored 0.645).
GUIDED_EPS = 1e-3


@contextlib.contextmanager
def _eval_mode(module: nn.Module) -> Iterator[None]:
    was = module.training
    module.eval()
    try:
        yield
    finally:
        module.train(was)


class Translator:
    """A generator ready to translate images of any kind and size (see the module docs).

    Parameters
    ----------
    model
        A :class:`~cyclegan_ms.CycleGAN`, a generator module, or a path to a trainer
        checkpoint, run folder or generator file (loaded once, here).
    options
        How to translate: a :class:`~cyclegan_ms.inference.TranslateOptions` (default: all its
        defaults).
    direction
        ``"a2b"`` (night → day for the seed) or ``"b2a"``; ``None``: the options' (default
        ``"a2b"``).
    **overrides
        Any other field of :class:`~cyclegan_ms.inference.TranslateOptions` as a keyword
        argument (``tile``, ``overlap``, ``norm_stats``, ``stats_size``, ``batch_size``,
        ``fixed_size_mode``, ``margin``, ``device``, ``value_range``, ``ema``, ``progress``),
        replacing that field of ``options``. With overlapping tiles the work grows by about
        ``(1 + overlap / (tile - overlap))²`` (1.07× for 32 on 1024-pixel tiles); the global
        statistics pass costs about ``stats_size² / (H · W)`` of the translation.

    Attributes
    ----------
    options
        The options in use.
    generator
        The module that translates: the one given (or the given model's), or a copy of it on
        ``options.device`` when it was elsewhere (the caller's module is never moved).
    card
        The generator's card as used here (data range, direction, size rule, channels).

    Raises
    ------
    TypeError
        For a keyword that is not an option (the message suggests the closest).
    ValueError
        For an option out of range or one the generator cannot use (the message says what is
        accepted).

    Shape
    -----
    ``(H, W, C) -> (H, W, C_out)`` (arrays, PIL), ``(C, H, W) -> (C_out, H, W)`` and
    ``(B, C, H, W) -> (B, C_out, H, W)`` (tensors), for any ``H, W >= 1``.

    Examples
    --------
    >>> import numpy as np
    >>> from cyclegan_ms import build
    >>> G = build("generator", "resnet_6blocks", ngf=4)
    >>> t = Translator(G, tile=32, overlap=8)
    >>> out = t(np.zeros((50, 70, 3), np.uint8))
    >>> out.shape, out.dtype
    ((50, 70, 3), dtype('uint8'))
    >>> Translator(G, TranslateOptions(tile=None)).options.tile is None
    True
    """

    def __init__(
        self,
        model: ModelSource,
        options: TranslateOptions | None = None,
        *,
        direction: Direction | None = None,
        **overrides: Unpack[TranslateKwargs],
    ) -> None:
        changes: dict[str, object] = dict(overrides)
        if direction is not None:
            changes["direction"] = direction
        opts = options_with(options, changes, owner="Translator")
        generator, card = resolve_generator_card(
            model, opts.direction, ema=opts.ema, device=opts.device, value_range=opts.value_range
        )
        if opts.device is not None and not on_device(generator, opts.device):
            # a copy there: the caller's module (or the caller's model's part) stays where it
            # is, as it is (a checkpoint is loaded on the device, so it is never copied)
            generator = copy.deepcopy(generator).to(opts.device)
        param = next(generator.parameters(), None)
        if opts.device is not None:
            self.device = torch.device(opts.device)
        else:
            self.device = param.device if param is not None else torch.device("cpu")
        self.dtype = (
            param.dtype if param is not None and param.is_floating_point() else torch.float32
        )
        #: ``"fp32"`` or ``"bf16"``: the resolved ``options.precision``.
        self.precision = resolve_inference_precision(opts.precision, self.device, self.dtype)
        self._eager: Engine = EagerEngine(
            f"eager_{self.precision}", generator, self.precision, self.dtype
        )
        self._engine: Engine | None = self._eager if opts.engine == "eager" else None
        #: What ``engine="auto"`` measured (``None`` until the first batch, or for a named one).
        self.engine_choice: EngineChoice | None = None
        self._stats_in_use = False
        self.generator = generator
        self.options = opts
        self.card = card
        self.direction: Direction = opts.direction
        self.value_range = card.value_range
        self.in_channels = card.in_channels
        self.out_channels = card.out_channels
        self.size_multiple = card.size_multiple
        self.fixed_size: int | None = card.fixed_size

        tile = opts.tile
        m = card.pad_multiple
        if isinstance(tile, int):
            if self.fixed_size is not None and tile != self.fixed_size:
                raise ValueError(
                    f"this generator only accepts {self.fixed_size}×{self.fixed_size} inputs, so "
                    f"tiles must be {self.fixed_size}; got tile={tile}"
                )
            if tile % m:
                raise ValueError(
                    f"tile must be a multiple of the generator's size multiple {m}; got {tile} "
                    f"(e.g. {max(m, tile // m * m)})"
                )
        tile_side = tile if isinstance(tile, int) else (self.fixed_size or DEFAULT_TILE)
        overlap = opts.overlap if opts.overlap is not None else min(DEFAULT_OVERLAP, tile_side // 4)
        if tile is not None and 2 * overlap > tile_side:
            raise ValueError(
                f"overlap must be at most half the tile ({tile_side // 2}); got {overlap}"
            )
        if opts.stats_size < m:
            raise ValueError(f"stats_size must be an integer >= {m}; got {opts.stats_size!r}")
        self.tile: TileSpec = tile
        self.overlap = overlap
        self.norm_stats: NormStatsMode = opts.norm_stats
        self.stats_size = opts.stats_size
        self.batch_size = opts.batch_size
        self.fixed_size_mode: FixedSizeMode = opts.fixed_size_mode
        self.margin = opts.margin
        #: Pixels of reflected context around a whole-image pass (``options.border`` resolved).
        self.border = (
            0
            if self.fixed_size is not None
            else (2 * self.size_multiple if opts.border == "auto" else int(opts.border))
        )
        self.progress = opts.progress
        #: Longer side of the working resolution (``options.work_size``; ``None``: none).
        self.work_size = opts.work_size
        if self.work_size is not None and self.fixed_size is not None:
            raise ValueError(
                f"work_size is for size-free generators; this one only accepts "
                f"{self.fixed_size}×{self.fixed_size} (use fixed_size_mode instead)"
            )

    # ------------------------------------------------------------------ planning
    def plan(self, height: int, width: int) -> Literal["whole", "tiled", "resize", "work"]:
        """How an image of ``height × width`` is translated.

        Returns
        -------
        str
            ``"whole"`` (one padded pass), ``"tiled"``, ``"resize"`` (fixed-size generators) or
            ``"work"`` (at the working resolution, then back with ``options.upsample``).

        Shape
        -----
        No tensors: the image's ``(height, width)`` only.
        """
        if self.work_size is not None and max(height, width) > self.work_size:
            return "work"
        if self.fixed_size is not None:
            s = self.fixed_size
            if (height, width) == (s, s):
                return "whole"
            if isinstance(self.tile, int) or self.fixed_size_mode == "tile":
                return "tiled"
            return "resize"
        if self.tile is None:
            return "whole"
        if self.tile == "auto":
            return "tiled" if height * width > AUTO_TILE_PIXELS else "whole"
        return "tiled" if max(height, width) > self.tile else "whole"

    def _tile_side(self) -> int:
        if self.fixed_size is not None:
            return self.fixed_size
        return self.tile if isinstance(self.tile, int) else DEFAULT_TILE

    # ------------------------------------------------------------------ tensors
    def engine_for(self, x: Tensor) -> Engine:
        """The engine that runs the generator (``options.engine``), built on first use.

        ``"auto"`` measures the engines on ``x`` (a padded batch, as the generator sees it) the
        first time and keeps the fastest safe one (:func:`~cyclegan_ms.inference.engines.choose_engine`;
        :attr:`engine_choice` holds what it measured).

        Shape
        -----
        ``x``: ``(B, C, H, W)`` in the data range.
        """
        if self._engine is None:
            spec = self.options.engine
            with _eval_mode(self.generator):
                if spec == "auto":
                    self._engine, self.engine_choice = choose_engine(
                        self.generator, self.card, x.to(self.dtype), dtype=self.dtype
                    )
                else:
                    assert spec != "eager"
                    self._engine = named_engine(spec, self.generator, self.card, dtype=self.dtype)
        return self._engine

    def _net(self, x: Tensor) -> Tensor:
        # whole-image statistics are hooks on the PyTorch modules: only eager passes take them
        return self._eager(x) if self._stats_in_use else self.engine_for(x)(x)

    def _whole(self, x: Tensor) -> Tensor:
        """``(B, C, H, W)`` float in range on device → output of the same size."""
        h, w = int(x.shape[-2]), int(x.shape[-1])
        if self.fixed_size is not None:
            padded, (top, left) = pad_to_multiple(x, 1, size=(self.fixed_size, self.fixed_size))
        else:
            padded, (top, left) = self._bordered(x, self.border)
        return self._net(padded)[:, :, top : top + h, left : left + w]

    def _bordered(self, x: Tensor, border: int) -> tuple[Tensor, tuple[int, int]]:
        """Reflect ``border`` pixels of context on every side, then pad to the size multiple;
        returns the padded batch and where the image starts in it."""
        h, w = int(x.shape[-2]), int(x.shape[-1])
        if border:
            x = pad_to_multiple(x, 1, size=(h + 2 * border, w + 2 * border))[0]
        padded, (top, left) = pad_to_multiple(x, self.size_multiple)
        return padded, (top + border, left + border)

    def _resized(self, x: Tensor) -> Tensor:
        h, w = int(x.shape[-2]), int(x.shape[-1])
        s = self.fixed_size
        assert s is not None
        small = F.interpolate(x, size=(s, s), mode="bilinear", align_corners=False, antialias=True)
        y = self._net(small).float()
        return F.interpolate(y, size=(h, w), mode="bilinear", align_corners=False, antialias=True)

    def _downscaled(
        self, x: Tensor, encode: Callable[[Tensor], Tensor], side: int
    ) -> tuple[Tensor, int]:
        """The image(s) box-downscaled by the smallest integer factor ``k`` that brings the
        longer side to at most ``side`` (strip by strip, in the data range, on the device)."""
        h, w = int(x.shape[-2]), int(x.shape[-1])
        k = -(-max(h, w) // side)
        if k == 1:
            return encode(x.to(self.device)), 1
        rows = k * max(1, 256 // k)
        parts = [
            F.avg_pool2d(encode(x[:, :, r : r + rows].to(self.device)), k, ceil_mode=True)
            for r in range(0, h, rows)
        ]
        return torch.cat(parts, dim=2), k

    def _stats_input(self, x: Tensor, encode: Callable[[Tensor], Tensor]) -> Tensor:
        """The whole image(s) downscaled to at most ``stats_size`` (box filter, strip by strip),
        in the shape the generator accepts."""
        h, w = int(x.shape[-2]), int(x.shape[-1])
        small, k = self._downscaled(x, encode, self.stats_size)
        if self.fixed_size is not None:
            s = self.fixed_size
            return F.interpolate(
                small, size=(s, s), mode="bilinear", align_corners=False, antialias=True
            )
        # an image translated in one pass gets its border here too, so its statistics are the
        # ones its own pass records; tiled images are not bordered
        border = self.border if self.plan(h, w) in ("whole", "work") else 0
        return self._bordered(small, border // k)[0]

    @torch.no_grad()
    def _run(self, p: ImageBatch, norm_stats: NormStats | None, progress: bool) -> None:
        """Translate ``p.x`` into ``p.out`` (with ``norm_stats`` when given)."""
        h, w = int(p.x.shape[-2]), int(p.x.shape[-1])
        how = self.plan(h, w)
        if how == "work":
            self._run_at_work_size(p, norm_stats, progress)
            return
        with _eval_mode(self.generator):
            stats = norm_stats
            if (
                stats is None
                and how == "tiled"
                and self.norm_stats == "global"
                and needs_image_stats(self.generator)
            ):
                stats = collect_norm_stats(self.generator, self._stats_input(p.x, p.encode))
            ctx = (
                use_norm_stats(self.generator, stats)
                if stats is not None
                else contextlib.nullcontext()
            )
            self._stats_in_use = stats is not None
            with ctx:
                if how != "tiled":
                    x = p.encode(p.x.to(self.device))
                    y = self._whole(x) if how == "whole" else self._resized(x)
                    p.out.copy_(p.decode(y.float()).to(p.out.device))
                    return
                tiled_forward(
                    self._net,
                    p.x,
                    tile=self._tile_side(),
                    overlap=self.overlap,
                    multiple=self.fixed_size or self.size_multiple,
                    batch_size=self.batch_size,
                    margin=self.margin,
                    out=p.out,
                    encode=p.encode,
                    decode=p.decode,
                    device=self.device,
                    progress=progress,
                )

    def _run_at_work_size(
        self, p: ImageBatch, norm_stats: NormStats | None, progress: bool
    ) -> None:
        """Translate ``p.x`` at the working resolution and carry it back into ``p.out``."""
        assert self.work_size is not None
        small, _ = self._downscaled(p.x, p.encode, self.work_size)
        small = small.float()
        y = torch.empty(
            (small.shape[0], self.out_channels, *small.shape[-2:]), device=self.device
        )
        self._run(
            ImageBatch(small, lambda t: t.to(self.dtype), lambda t: t, y, lambda: y, p.key),
            norm_stats,
            progress,
        )
        if self.options.upsample == "guided":
            lo, hi = self.value_range
            coeffs = guided_coefficients(small, y, radius=1, eps=GUIDED_EPS * (hi - lo) ** 2)
        else:  # "bilinear": no map of the input, only the output itself
            zeros = y.new_zeros((y.shape[0], y.shape[1], small.shape[1], *y.shape[-2:]))
            coeffs = GuidedCoefficients(A=zeros, b=y)
        apply_guided(coeffs, p.x, out=p.out, encode=p.encode, decode=p.decode)

    def _batch(self, image: object) -> ImageBatch:
        return image_batch(
            image,
            in_channels=self.in_channels,
            out_channels=self.out_channels,
            value_range=self.value_range,
            dtype=self.dtype,
        )

    # ------------------------------------------------------------------ public
    @overload
    def __call__(self, image: ImageT) -> ImageT: ...
    @overload
    def __call__(self, image: list[ImageT] | tuple[ImageT, ...]) -> list[ImageT]: ...

    def __call__(self, image: ImageOrList) -> ImageLike | Sequence[ImageLike]:
        """Translate one image, or a list of images (same kind in, same kind out).

        Parameters
        ----------
        image
            PIL image; numpy ``(H, W)``/``(H, W, C)`` ``uint8`` or float in [0, 1]; tensor
            ``(C, H, W)``/``(B, C, H, W)`` in the data range (or ``uint8``); or a list/tuple
            of these (same-size images of one kind are batched ``batch_size`` at a time).

        Returns
        -------
        PIL.Image.Image, numpy.ndarray, Tensor or list
            Same kind as ``image``; arrays and tensors keep dtype, layout and device.

        Shape
        -----
        ``(H, W, C) -> (H, W, C_out)``, ``(C, H, W) -> (C_out, H, W)``,
        ``(B, C, H, W) -> (B, C_out, H, W)``.
        """
        return self._translate(image)

    def _translate(self, image: ImageOrList) -> ImageLike | Sequence[ImageLike]:
        if isinstance(image, (list, tuple)):
            return self._many(list(image))
        p = self._batch(image)
        self._run(p, None, self.progress)
        return p.finish()

    def _many(self, images: list[ImageLike]) -> list[ImageLike]:
        prepared = [self._batch(im) for im in images]
        results: dict[int, ImageLike] = {}
        groups: dict[tuple[object, ...], list[int]] = {}
        for i, p in enumerate(prepared):
            h, w = int(p.x.shape[-2]), int(p.x.shape[-1])
            if self.plan(h, w) == "tiled" or p.x.shape[0] != 1:
                self._run(p, None, self.progress)
                results[i] = p.finish()
            else:
                groups.setdefault(p.key, []).append(i)
        for idx in groups.values():
            for c0 in range(0, len(idx), self.batch_size):
                chunk = [prepared[i] for i in idx[c0 : c0 + self.batch_size]]
                first = chunk[0]
                x = torch.cat([p.x for p in chunk], 0)
                out = torch.cat([p.out for p in chunk], 0)
                batch = ImageBatch(x, first.encode, first.decode, out, first.finish, first.key)
                self._run(batch, None, self.progress)
                for k, p in enumerate(chunk):
                    p.out.copy_(out[k : k + 1])
        for idx in groups.values():
            for i in idx:
                results[i] = prepared[i].finish()
        return [results[i] for i in range(len(prepared))]

    def tensor(
        self, x: Tensor, norm_stats: NormStats | None = None, *, progress: bool | None = None
    ) -> Tensor:
        """Translate a float batch in the data range (the core of :meth:`__call__`).

        This is also the hook for callers that manage normalisation statistics themselves
        (:class:`~cyclegan_ms.video.FrameTranslator` averages them over the frames of a clip):
        ``norm_stats`` replaces the statistics the generator's per-sample layers would compute,
        whether the batch is translated whole, resized or in tiles.

        Parameters
        ----------
        x
            ``(B, C, H, W)`` in :attr:`value_range`, any size.
        norm_stats
            Whole-image statistics to translate with, e.g. from :meth:`norm_stats_of` (for the
            same ``B`` images, or blended over frames); ``None``: the generator's own, except
            that the tiles of a tiled batch share the image's when
            ``options.norm_stats == "global"``.
        progress
            A tqdm bar over the tiles of a tiled batch; ``None``: ``options.progress``.

        Returns
        -------
        Tensor
            ``(B, C_out, H, W)``, same dtype and device as ``x``.

        Raises
        ------
        ValueError
            For a tensor that is not ``(B, C, H, W)``.

        Shape
        -----
        ``(B, C, H, W) -> (B, C_out, H, W)``.
        """
        if x.ndim != 4:
            raise ValueError(f"expected a (B, C, H, W) tensor; got shape {tuple(x.shape)}")
        p = self._batch(x)
        self._run(p, norm_stats, self.progress if progress is None else progress)
        out = p.finish()
        assert isinstance(out, Tensor)
        return out

    @torch.no_grad()
    def norm_stats_of(self, x: Tensor) -> NormStats:
        """The whole-image normalisation statistics of a batch, as a tiled pass uses them.

        Recorded (with :func:`~cyclegan_ms.inference.norm_stats.collect_norm_stats`, the generator
        in eval mode) on a copy of ``x`` downscaled to at most ``options.stats_size`` pixels on
        its longer side, in the shape the generator accepts: what the tiles of an image share
        with ``norm_stats="global"``, and what :meth:`tensor` takes as ``norm_stats``.

        Parameters
        ----------
        x
            ``(B, C, H, W)`` in :attr:`value_range`, any size.

        Returns
        -------
        NormStats
            For the ``B`` images (empty when the generator has no per-sample layers).

        Shape
        -----
        ``(B, C, H, W)``; recorded means and variances ``(B, G)``.
        """
        p = self._batch(x)
        with _eval_mode(self.generator):
            return collect_norm_stats(self.generator, self._stats_input(p.x, p.encode))


@overload
def translate(
    model: ModelSource,
    image: ImageT,
    direction: Direction | None = None,
    *,
    options: TranslateOptions | None = None,
    **overrides: Unpack[TranslateKwargs],
) -> ImageT: ...
@overload
def translate(
    model: ModelSource,
    image: list[ImageT] | tuple[ImageT, ...],
    direction: Direction | None = None,
    *,
    options: TranslateOptions | None = None,
    **overrides: Unpack[TranslateKwargs],
) -> list[ImageT]: ...


def translate(
    model: ModelSource,
    image: ImageOrList,
    direction: Direction | None = None,
    *,
    options: TranslateOptions | None = None,
    **overrides: Unpack[TranslateKwargs],
) -> ImageLike | Sequence[ImageLike]:
    """Translate an image (or a list of images) with a model or checkpoint.

    A one-call form of :class:`Translator` (which see for every option); to translate many
    images, build a :class:`Translator` once so a checkpoint is loaded once.

    Parameters
    ----------
    model
        A :class:`~cyclegan_ms.CycleGAN`, a generator, or a path to a trainer checkpoint, run
        folder or generator file.
    image
        PIL image, numpy array, tensor, or a list of them.
    direction
        ``"a2b"`` or ``"b2a"``; ``None``: the options' (default ``"a2b"``).
    options
        A :class:`~cyclegan_ms.inference.TranslateOptions` (default: all its defaults).
    **overrides
        Any field of :class:`~cyclegan_ms.inference.TranslateOptions` (``tile``, ``overlap``,
        ``norm_stats``, ``device``, ...), replacing that field of ``options``.

    Returns
    -------
    PIL.Image.Image, numpy.ndarray, Tensor or list
        The translated image(s), of the same kind as ``image``.

    Raises
    ------
    TypeError
        For a keyword that is not an option.
    ValueError
        For an option out of range.

    Shape
    -----
    ``(H, W, C) -> (H, W, C_out)``, ``(C, H, W) -> (C_out, H, W)``,
    ``(B, C, H, W) -> (B, C_out, H, W)``.

    Examples
    --------
    >>> from PIL import Image
    >>> from cyclegan_ms import build
    >>> G = build("generator", "resnet_6blocks", ngf=4)
    >>> out = translate(G, Image.new("RGB", (30, 20)))
    >>> out.size, out.mode
    ((30, 20), 'RGB')
    """
    changes: dict[str, object] = dict(overrides)
    if direction is not None:
        changes["direction"] = direction
    return Translator(model, options_with(options, changes, owner="translate()"))._translate(image)


def as_translator(
    model: ModelSource | Translator,
    options: TranslateOptions | None = None,
    *,
    direction: Direction | None = None,
    owner: str = "as_translator()",
    **overrides: Unpack[TranslateKwargs],
) -> Translator:
    """A :class:`Translator` for ``model``: built with the options, or ``model`` itself if ready.

    What every function taking "a model or a Translator, plus translate options" does with them
    (:class:`~cyclegan_ms.video.FrameTranslator`, :func:`~cyclegan_ms.video.translate_video`;
    :func:`~cyclegan_ms.metrics.evaluate` takes the result). A ready Translator brings its own
    options: giving others with it is an error rather than silently ignored.

    Parameters
    ----------
    model
        A ready :class:`Translator` (returned as is), or what :class:`Translator` accepts (a
        :class:`~cyclegan_ms.CycleGAN`, a generator, a checkpoint path).
    options
        A :class:`~cyclegan_ms.inference.TranslateOptions`, for a model that is not a Translator.
    direction
        ``"a2b"`` or ``"b2a"``; ``None``: the options' (default ``"a2b"``), or the Translator's
        (giving the Translator's own is allowed).
    owner
        Who received the arguments, for the error message.
    **overrides
        Fields of :class:`~cyclegan_ms.inference.TranslateOptions` replacing those of
        ``options``.

    Returns
    -------
    Translator

    Raises
    ------
    TypeError
        Translate options (``options``, ``tile=...``, or another ``direction``) given with a
        ready Translator; or a keyword that is not an option.
    ValueError
        For an option out of range.

    Shape
    -----
    No tensors: it builds a translator.

    Examples
    --------
    >>> from cyclegan_ms import build
    >>> t = as_translator(build("generator", "resnet_6blocks", ngf=4), tile=None)
    >>> as_translator(t) is t
    True
    >>> as_translator(t, tile=64)
    Traceback (most recent call last):
    ...
    TypeError: as_translator() got a ready Translator and translate options (tile), which it would ignore; build the Translator with them (Translator(model, tile=...)) or pass the model instead
    """
    if not isinstance(model, Translator):
        return Translator(model, options, direction=direction, **overrides)
    given = sorted(overrides) + (["options"] if options is not None else [])
    if direction is not None and direction != model.direction:
        given.insert(0, f"direction={direction!r} (the Translator's is {model.direction!r})")
    if given:
        raise TypeError(
            f"{owner} got a ready Translator and translate options ({', '.join(given)}), which "
            "it would ignore; build the Translator with them (Translator(model, tile=...)) or "
            "pass the model instead"
        )
    return model
