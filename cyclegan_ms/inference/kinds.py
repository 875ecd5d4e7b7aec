"""Images of any kind as one ``(B, C, H, W)`` batch, and the result back in the caller's kind.

A PIL image, a numpy array (``(H, W, C)`` or ``(H, W)``; ``uint8`` or float in [0, 1]) or a
tensor (``(C, H, W)`` or ``(B, C, H, W)`` in the generator's data range, or ``uint8``) becomes an
:class:`ImageBatch`: a ``(B, C, H, W)`` view of the caller's data, functions that convert crops
of it into the generator's input and finished rows of output back, a preallocated output of the
caller's dtype and layout, and ``finish()`` that returns the result as the caller's kind.
Channels are matched to the generator (gray → RGB by repetition, RGB → gray by ITU-R 601 luma,
RGBA → RGB by dropping alpha; PIL images of any mode via
:func:`cyclegan_ms.data.images.to_channels`).

:class:`~cyclegan_ms.inference.Translator` and :class:`~cyclegan_ms.video.FrameTranslator` read
and return images through :func:`image_batch`.

>>> import numpy as np
>>> b = image_batch(np.zeros((5, 7, 3), np.uint8), in_channels=3, out_channels=3,
...                 value_range=(-1.0, 1.0), dtype=torch.float32)
>>> tuple(b.x.shape), b.encode(b.x).min().item()
((1, 3, 5, 7), -1.0)
>>> b.out.copy_(b.decode(torch.ones(1, 3, 5, 7)))[0, 0, 0, 0].item(), b.finish().shape
(255, (5, 7, 3))
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeAlias, TypeVar

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from ..layers.colour import LUMA_WEIGHTS

__all__ = ["ImageBatch", "ImageLike", "image_batch"]

#: An image ``translate`` accepts (and returns).
ImageLike: TypeAlias = "Image.Image | np.ndarray | Tensor"
#: One kind of :data:`ImageLike`, for signatures that return the kind they are given.
ImageT = TypeVar("ImageT", Image.Image, np.ndarray, Tensor)


@dataclass
class ImageBatch:
    """One input seen as ``(B, C, H, W)`` plus how to convert crops in and rows out.

    Attributes
    ----------
    x
        ``(B, C, H, W)`` of the caller's dtype: a view of the caller's data where possible.
    encode
        A crop of ``x`` (on any device) → generator input: float in the data range, the
        generator's channels.
    decode
        Finished float output rows in the data range → ``out``'s dtype.
    out
        ``(B, C_out, H, W)`` preallocated, of the caller's dtype (may view a numpy array).
    finish
        Returns the result in the caller's kind once ``out`` is filled.
    key
        Items with equal keys can be stacked into one batch.

    Shape
    -----
    ``x``: ``(B, C, H, W)``; ``out``: ``(B, C_out, H, W)``.
    """

    x: Tensor
    encode: Callable[[Tensor], Tensor]
    decode: Callable[[Tensor], Tensor]
    out: Tensor
    finish: Callable[[], ImageLike]
    key: tuple[object, ...]


def _pil_channels(im: Image.Image, channels: int) -> Image.Image:
    try:  # robust mode conversion shared with the datasets (16-bit, palettes, alpha, CMYK...)
        from ..data.images import to_channels
    except ImportError:  # pragma: no cover - data package not available
        return im.convert("L" if channels == 1 else "RGB")
    return to_channels(im, channels=1 if channels == 1 else 3)


def _match_channels(x: Tensor, channels: int) -> Tensor:
    """``(N, c, H, W)`` float → ``(N, channels, H, W)``: repeat gray, luma of RGB, drop alpha."""
    c = int(x.shape[1])
    if c == channels:
        return x
    if c == 1:
        return x.expand(-1, channels, -1, -1)
    if c == 4 and channels == 3:
        return x[:, :3]
    if c in (3, 4) and channels == 1:
        # BT.601 luma as a chain of scalar products, not layers.luma's weighted sum: the two are
        # bit-identical in float32 and float64 (what PIL images, arrays and float32 generators
        # give) but not in float16/bfloat16, which a half-precision generator's tensors are in.
        r, g, b = LUMA_WEIGHTS
        return x[:, 0:1] * r + x[:, 1:2] * g + x[:, 2:3] * b
    raise ValueError(f"the generator takes {channels} channel(s); cannot convert an image with {c}")


def _codec(
    integer: bool, out_dtype: torch.dtype, c_in: int, value_range: tuple[float, float]
) -> tuple[Callable[[Tensor], Tensor], Callable[[Tensor], Tensor]]:
    lo, hi = value_range
    if integer:  # uint8 pixels <-> range

        def enc(t: Tensor) -> Tensor:
            return _match_channels(t.float() * ((hi - lo) / 255.0) + lo, c_in)

        def dec(v: Tensor) -> Tensor:
            return ((v - lo) * (255.0 / (hi - lo))).clamp_(0, 255).round_().to(torch.uint8)

        return enc, dec

    def enc_f(t: Tensor) -> Tensor:  # float in [0, 1] <-> range
        return _match_channels(t.float() * (hi - lo) + lo, c_in)

    def dec_f(v: Tensor) -> Tensor:
        return ((v - lo) / (hi - lo)).clamp_(0, 1).to(out_dtype)

    return enc_f, dec_f


def _array_batch(
    arr: np.ndarray, as_pil: bool, c_in: int, c_out: int, value_range: tuple[float, float]
) -> ImageBatch:
    if arr.ndim not in (2, 3):
        raise ValueError(
            f"expected an (H, W) or (H, W, C) array; got shape {arr.shape} (pass a list for "
            "several images)"
        )
    if arr.dtype == np.uint8:
        integer = True
    elif arr.dtype.kind == "f":
        integer = False
    else:
        raise ValueError(f"arrays must be uint8 (0..255) or float (0..1); got dtype {arr.dtype}")
    squeeze = arr.ndim == 2
    a3 = arr[:, :, None] if squeeze else arr
    if any(s < 0 for s in a3.strides):
        a3 = np.ascontiguousarray(a3)
    h, w = a3.shape[:2]
    with warnings.catch_warnings():  # read-only input (e.g. from PIL) is never written
        warnings.simplefilter("ignore", UserWarning)
        x = torch.from_numpy(a3).permute(2, 0, 1)[None]
    out_arr = np.empty((h, w, c_out), dtype=arr.dtype)
    out = torch.from_numpy(out_arr).permute(2, 0, 1)[None]
    enc, dec = _codec(integer, out.dtype, c_in, value_range)

    def finish() -> Image.Image | np.ndarray:
        if as_pil:
            return (
                Image.fromarray(out_arr[:, :, 0], mode="L")
                if c_out == 1
                else Image.fromarray(out_arr, mode="RGB")
            )
        if squeeze and c_out == 1:
            return out_arr[:, :, 0]
        return out_arr

    kind = "pil" if as_pil else "array"
    return ImageBatch(x, enc, dec, out, finish, (kind, arr.dtype.str, squeeze, a3.shape))


def _tensor_batch(
    t: Tensor, c_in: int, c_out: int, value_range: tuple[float, float], dtype: torch.dtype
) -> ImageBatch:
    if t.ndim not in (3, 4):
        raise ValueError(f"expected a (C, H, W) or (B, C, H, W) tensor; got shape {tuple(t.shape)}")
    single = t.ndim == 3
    x = t[None] if single else t
    integer = t.dtype == torch.uint8
    if not integer and not t.is_floating_point():
        raise ValueError(f"tensors must be floating point or uint8; got {t.dtype}")
    b, _, h, w = x.shape
    out = torch.empty(b, c_out, h, w, dtype=t.dtype, device=t.device)
    if integer:  # uint8 tensors are (C, H, W) pixels: same codec as arrays
        enc, dec = _codec(True, torch.uint8, c_in, value_range)
    else:

        def enc(v: Tensor) -> Tensor:
            return _match_channels(v.to(dtype), c_in)

        def dec(v: Tensor) -> Tensor:
            return v

    def finish() -> Tensor:
        return out[0] if single else out

    return ImageBatch(
        x, enc, dec, out, finish, ("tensor", t.dtype, t.device, single, tuple(x.shape[1:]))
    )


def image_batch(
    image: object,
    *,
    in_channels: int,
    out_channels: int,
    value_range: tuple[float, float],
    dtype: torch.dtype,
) -> ImageBatch:
    """See an image of any kind as one batch, with a place for the result.

    Parameters
    ----------
    image
        PIL image; numpy ``(H, W)``/``(H, W, C)`` ``uint8`` or float in [0, 1]; tensor
        ``(C, H, W)``/``(B, C, H, W)`` in ``value_range`` (or ``uint8``) (an :data:`ImageLike`;
        anything else is a ``TypeError``).
    in_channels, out_channels
        The generator's channels.
    value_range
        The generator's data range.
    dtype
        The generator's parameter dtype (float tensors are encoded to it).

    Returns
    -------
    ImageBatch

    Raises
    ------
    TypeError
        For another kind of input.
    ValueError
        For an unsupported shape or dtype.

    Shape
    -----
    ``(H, W, C)``, ``(C, H, W)`` or ``(B, C, H, W)`` → ``x``: ``(B, C, H, W)``.
    """
    if isinstance(image, Image.Image):
        im = _pil_channels(image, in_channels)
        return _array_batch(np.asarray(im), True, in_channels, out_channels, value_range)
    if isinstance(image, np.ndarray):
        return _array_batch(image, False, in_channels, out_channels, value_range)
    if isinstance(image, Tensor):
        return _tensor_batch(image, in_channels, out_channels, value_range, dtype)
    raise TypeError(
        "image must be a PIL image, a numpy array or a torch tensor (or a list of them); "
        f"got {type(image).__name__}"
    )
