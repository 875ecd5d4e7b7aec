"""Image transforms without torchvision: Pillow for geometry, numpy/torch for the tensor.

Every random step draws from the :class:`numpy.random.Generator` it is handed, never from a global
random state, so an item is a pure function of its sample key (see :mod:`.sampler`): results do not
depend on the number of workers, and resuming reproduces them.

    >>> from PIL import Image
    >>> import numpy as np
    >>> pipe = recipe("paper", size=64)
    >>> pipe
    Pipeline([Resize((72, 72), interpolation='bicubic'), RandomCrop((64, 64)), RandomHorizontalFlip(p=0.5)], value_range=(-1.0, 1.0))
    >>> x = pipe(Image.new("RGB", (100, 50)), np.random.default_rng(0))
    >>> tuple(x.shape), x.dtype
    ((3, 64, 64), torch.float32)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol, TypeAlias

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from .._checks import check_probability, check_value_range

__all__ = [
    "RECIPES",
    "CenterCrop",
    "ImageTransform",
    "Interpolation",
    "Pipeline",
    "RandomCrop",
    "RandomHorizontalFlip",
    "RecipeName",
    "Resize",
    "ValueRange",
    "as_pipeline",
    "recipe",
    "to_tensor",
    "value_range_for",
]

#: Pillow resampling filter names.
Interpolation: TypeAlias = Literal["nearest", "box", "bilinear", "hamming", "bicubic", "lanczos"]
#: The pixel range of tensors: ``(0.0, 1.0)`` for a sigmoid generator, ``(-1.0, 1.0)`` for tanh.
ValueRange: TypeAlias = tuple[float, float]
#: Named preprocessing recipes, see :func:`recipe`.
RecipeName: TypeAlias = Literal["paper", "seed"]
RECIPES: tuple[str, ...] = ("paper", "seed")

_FILTERS: dict[str, Image.Resampling] = {
    "nearest": Image.Resampling.NEAREST,
    "box": Image.Resampling.BOX,
    "bilinear": Image.Resampling.BILINEAR,
    "hamming": Image.Resampling.HAMMING,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
}


class ImageTransform(Protocol):
    """A step of a :class:`Pipeline`: ``(image, rng) -> image``."""

    def __call__(self, img: Image.Image, rng: np.random.Generator) -> Image.Image:
        """Transform ``img``, drawing any randomness from ``rng``."""
        ...


def _pair(size: int | Sequence[int], what: str) -> tuple[int, int]:
    """``int`` or ``(h, w)`` -> ``(h, w)``, validated."""
    if isinstance(size, int) and not isinstance(size, bool):
        hw = (size, size)
    elif (
        isinstance(size, Sequence)
        and len(size) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in size)
    ):
        hw = (int(size[0]), int(size[1]))
    else:
        raise ValueError(f"{what} must be an int or a (height, width) pair of ints; got {size!r}")
    if min(hw) < 1:
        raise ValueError(f"{what} must be positive; got {size!r}")
    return hw


def _filter(name: str) -> Image.Resampling:
    if name not in _FILTERS:
        raise ValueError(f"unknown interpolation {name!r}; accepted: {', '.join(_FILTERS)}")
    return _FILTERS[name]


def _cover(img: Image.Image, h: int, w: int, resample: Image.Resampling) -> Image.Image:
    """Scale ``img`` up (keeping its aspect ratio) until it is at least ``h`` x ``w``."""
    if img.height >= h and img.width >= w:
        return img
    scale = max(h / img.height, w / img.width)
    nw, nh = max(w, round(img.width * scale)), max(h, round(img.height * scale))
    return img.resize((nw, nh), resample)


class Resize:
    """Resize an image.

    Parameters
    ----------
    size
        ``int``: the SHORTER side becomes ``size``, keeping the aspect ratio. ``(height, width)``:
        exactly that size (the CycleGAN paper's ``load_size`` resize is square: ``(286, 286)``).
    interpolation
        Pillow filter name.

    Raises
    ------
    ValueError
        For a non-positive size or an unknown interpolation.
    """

    def __init__(self, size: int | tuple[int, int], *, interpolation: Interpolation = "bicubic"):
        _pair(size, "size")  # validates
        self.size: int | tuple[int, int] = size if isinstance(size, int) else _pair(size, "size")
        self.interpolation = interpolation
        self._resample = _filter(interpolation)

    def output_size(self, height: int, width: int) -> tuple[int, int]:
        """The ``(height, width)`` this step makes of a ``height`` x ``width`` image."""
        if isinstance(self.size, tuple):
            return self.size
        if height <= width:
            return self.size, max(1, round(width * self.size / height))
        return max(1, round(height * self.size / width)), self.size

    def __call__(self, img: Image.Image, rng: np.random.Generator) -> Image.Image:
        """Resize ``img`` (``rng`` is unused)."""
        h, w = self.output_size(img.height, img.width)
        if (h, w) == (img.height, img.width):
            return img
        return img.resize((w, h), self._resample)

    def __repr__(self) -> str:
        return f"Resize({self.size!r}, interpolation={self.interpolation!r})"


class _CoverCrop:
    """Shared base of :class:`RandomCrop` and :class:`CenterCrop`: scale a smaller image up to
    cover ``size``, then crop the window whose corner :meth:`_offset` chooses."""

    def __init__(self, size: int | tuple[int, int], *, interpolation: Interpolation = "bicubic"):
        self.size = _pair(size, "crop size")
        self.interpolation = interpolation
        self._resample = _filter(interpolation)

    def _offset(self, img: Image.Image, rng: np.random.Generator) -> tuple[int, int]:
        """The ``(top, left)`` corner of the window in ``img`` (already at least ``size``)."""
        raise NotImplementedError

    def __call__(self, img: Image.Image, rng: np.random.Generator) -> Image.Image:
        """Crop ``img`` at :meth:`_offset`."""
        h, w = self.size
        img = _cover(img, h, w, self._resample)
        top, left = self._offset(img, rng)
        return img.crop((left, top, left + w, top + h))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.size!r})"


class RandomCrop(_CoverCrop):
    """Crop a random ``size`` window; smaller images are first scaled up to cover it.

    The window's corner is drawn from the ``rng`` of the call (top, then left).

    Parameters
    ----------
    size
        ``int`` (square) or ``(height, width)``.
    interpolation
        Filter used when an image smaller than the crop must be scaled up (aspect kept).

    Raises
    ------
    ValueError
        For a non-positive size or an unknown interpolation.
    """

    def _offset(self, img: Image.Image, rng: np.random.Generator) -> tuple[int, int]:
        h, w = self.size
        top = int(rng.integers(0, img.height - h + 1))
        left = int(rng.integers(0, img.width - w + 1))
        return top, left


class CenterCrop(_CoverCrop):
    """Crop the central ``size`` window; smaller images are first scaled up to cover it.

    ``size``, ``interpolation`` and the errors are those of :class:`RandomCrop`; the ``rng`` of
    the call is unused.
    """

    def _offset(self, img: Image.Image, rng: np.random.Generator) -> tuple[int, int]:
        h, w = self.size
        return (img.height - h) // 2, (img.width - w) // 2


class RandomHorizontalFlip:
    """Mirror left-right with probability ``p``.

    Parameters
    ----------
    p
        Flip probability in [0, 1].

    Raises
    ------
    ValueError
        If ``p`` is outside [0, 1].
    """

    def __init__(self, p: float = 0.5):
        self.p = check_probability(p, "flip probability p")

    def __call__(self, img: Image.Image, rng: np.random.Generator) -> Image.Image:
        """Flip ``img`` when a draw from ``rng`` falls below ``p``."""
        if rng.random() < self.p:
            return img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        return img

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"


def value_range_for(output_activation: str) -> ValueRange:
    """The pixel range matching a generator's output activation.

    Parameters
    ----------
    output_activation
        ``"sigmoid"`` -> ``(0.0, 1.0)``; ``"tanh"`` -> ``(-1.0, 1.0)``.

    Raises
    ------
    ValueError
        For any other name (an unbounded output has no natural range).

    Examples
    --------
    >>> value_range_for("tanh")
    (-1.0, 1.0)
    """
    ranges = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}
    if output_activation not in ranges:
        raise ValueError(
            f"no pixel range for output activation {output_activation!r}; accepted: sigmoid, tanh"
        )
    return ranges[output_activation]


def to_tensor(
    img: Image.Image | np.ndarray, *, value_range: Sequence[float] = (0.0, 1.0)
) -> Tensor:
    """Convert an 8-bit image to a float tensor scaled to ``value_range``.

    Parameters
    ----------
    img
        A Pillow image of mode ``"RGB"`` or ``"L"``, or a ``uint8`` array ``(H, W)`` or
        ``(H, W, C)``.
    value_range
        ``(low, high)``: 0 maps to ``low`` and 255 to ``high``.

    Returns
    -------
    Tensor
        ``float32``.

    Shape
    -----
    - Output: ``(C, H, W)``, ``C`` = 1 for ``"L"``/2-D input, 3 for ``"RGB"``.

    Raises
    ------
    ValueError
        For a bad ``value_range`` or an array that is not ``uint8``.
    """
    lo, hi = check_value_range(value_range)
    arr = np.asarray(img)
    if arr.dtype != np.uint8:
        raise ValueError(f"to_tensor expects 8-bit pixels (uint8); got {arr.dtype}")
    if arr.ndim == 2:
        arr = arr[:, :, None]
    x = torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1), dtype=np.float32))
    return x.mul_((hi - lo) / 255.0).add_(lo)


class Pipeline:
    """A sequence of image steps followed by conversion to a tensor in ``value_range``.

    Parameters
    ----------
    steps
        Callables ``(PIL image, rng) -> PIL image`` applied in order (:class:`Resize`,
        :class:`RandomCrop`, :class:`CenterCrop`, :class:`RandomHorizontalFlip`, or your own).
    value_range
        Pixel range of the output tensor: ``(0, 1)`` or ``(-1, 1)`` (any ``low < high``).

    Shape
    -----
    - Output of ``__call__``: ``(C, H, W)`` float32, ``C`` = channels of the image (1 or 3).

    Raises
    ------
    ValueError
        For a bad ``value_range`` or a step that is not callable.
    """

    def __init__(self, steps: Sequence[ImageTransform], *, value_range: ValueRange = (0.0, 1.0)):
        for s in steps:
            if not callable(s):
                raise ValueError(
                    f"every pipeline step must be callable (img, rng) -> img; got {s!r}"
                )
        self.steps = list(steps)
        self.value_range = check_value_range(value_range)

    @property
    def draft_size(self) -> int | None:
        """A lower bound on the decoded size that loses nothing, for fast JPEG decoding.

        When the first step is a :class:`Resize`, a JPEG only needs decoding at (at least) the
        largest side that resize produces. ``None`` when unknown.
        """
        if self.steps and isinstance(self.steps[0], Resize):
            s = self.steps[0].size
            return max(s) if isinstance(s, tuple) else s
        return None

    def apply_image(self, img: Image.Image, rng: np.random.Generator) -> Image.Image:
        """Apply the image steps only (no tensor conversion)."""
        for step in self.steps:
            img = step(img, rng)
        return img

    def __call__(self, img: Image.Image, rng: np.random.Generator) -> Tensor:
        """Apply the steps, then :func:`to_tensor`."""
        return to_tensor(self.apply_image(img, rng), value_range=self.value_range)

    def __repr__(self) -> str:
        return f"Pipeline({self.steps!r}, value_range={self.value_range!r})"


def as_pipeline(transform: RecipeName | Pipeline) -> Pipeline:
    """``transform`` as a :class:`Pipeline`: a recipe name is built with :func:`recipe`.

    Raises
    ------
    ValueError
        Anything else (the message names what is accepted).
    """
    if isinstance(transform, str):
        return recipe(transform)
    if not isinstance(transform, Pipeline):
        raise ValueError(
            f"transform must be a recipe name ('paper', 'seed') or a Pipeline; got {transform!r}"
        )
    return transform


def recipe(
    name: RecipeName,
    *,
    train: bool = True,
    size: int = 256,
    load_size: int | None = None,
    value_range: ValueRange | None = None,
) -> Pipeline:
    """A named preprocessing recipe.

    - ``"paper"`` (CycleGAN, Zhu et al. 2017): resize to ``load_size`` x ``load_size`` (default
      ``round(size * 286 / 256)``, i.e. 286 for 256; square, bicubic, as the reference
      ``resize_and_crop``), random ``size`` crop, random horizontal flip, pixels in [-1, 1] (tanh
      generators). With ``train=False``: resize straight to ``size`` x ``size``, no flip.
    - ``"seed"`` (the night-to-day seed): resize to ``size`` x ``size`` (bilinear), pixels in
      [0, 1] (sigmoid generators), no augmentation (``train`` changes nothing).

    Parameters
    ----------
    name
        ``"paper"`` or ``"seed"``.
    train
        Training variant (random crop and flip) or evaluation variant (deterministic).
    size
        Output side length.
    load_size
        ``"paper"`` only: side before cropping.
    value_range
        Override the recipe's pixel range (e.g. the paper's crops for a sigmoid generator).

    Returns
    -------
    Pipeline
        Output tensors ``(C, size, size)``.

    Raises
    ------
    ValueError
        For an unknown name, ``size < 1`` or ``load_size < size``.
    """
    if name not in RECIPES:
        raise ValueError(f"unknown recipe {name!r}; accepted: {', '.join(RECIPES)}")
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(f"size must be a positive int; got {size!r}")
    if name == "seed":
        if load_size is not None:
            raise ValueError(
                "load_size applies to the 'paper' recipe only (the seed resizes directly)"
            )
        return Pipeline(
            [Resize((size, size), interpolation="bilinear")], value_range=value_range or (0.0, 1.0)
        )
    load = round(size * 286 / 256) if load_size is None else load_size
    if load < size:
        raise ValueError(f"load_size must be >= size ({size}); got {load}")
    vr = value_range or (-1.0, 1.0)
    if not train:
        return Pipeline([Resize((size, size))], value_range=vr)
    return Pipeline(
        [Resize((load, load)), RandomCrop(size), RandomHorizontalFlip(0.5)], value_range=vr
    )
