"""Tiled inference for images too large to translate in one pass.

An image is cut into overlapping tiles (every tile a size the generator accepts), each tile is
translated, and the outputs are blended with a smooth window into the result:

* **Placement** (:func:`tile_spans`): along each axis the fewest tiles of at most ``tile`` pixels
  that overlap by at least ``overlap`` pixels are spread evenly from edge to edge, so every
  overlap is (almost) the same and no tile hangs over the border. An axis no longer than ``tile``
  gets one tile, reflect-padded up to the generator's ``size_multiple`` when it runs.
* **Blending** (:func:`blend_window`): inside each overlap the left/top tile's weight falls from
  1 to 0 and the right/bottom tile's rises from 0 to 1 along a raised-cosine (``sin²``) ramp;
  the two always sum to one. The outer ``margin`` of every overlap is given weight 0 in the tile
  that ends there, because a network sees padding instead of real context near a tile's edge and
  its output is least reliable there. At the image border the weight is 1. Windows are separable
  (``w(y, x) = w_y(y) · w_x(x)``), so the total weight at a pixel is the product of two 1-D sums:
  the "weight buffer" is two vectors, not an image.
* **Memory** (:func:`tiled_forward`): tiles are processed row by row, a few tiles per forward
  call. Weighted outputs are accumulated in a float buffer only one tile-row high and as wide as
  the image; as soon as no later tile can touch a row it is normalised, converted (e.g. to
  ``uint8``) and written into the output. With ``uint8`` input and output, peak memory is the two
  images plus ``tile × width`` floats plus one tile batch through the network. The blending
  runs where the network does: on a GPU the strip, the tiles and the finished rows stay there
  (one copy of the output in the output's dtype) and come back in one copy at the end; tiles
  are copied to it from pinned memory without blocking, so the host never waits per tile.
* **Normalisation**: instance and group normalisation compute statistics *per sample*, i.e. per
  tile, so a tile of sky and a tile of road are normalised differently and their colours
  disagree. The tiles of an image share its whole-image statistics instead
  (:mod:`~cyclegan_ms.inference.norm_stats`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from .._checks import check_int
from .devices import concrete_device, pins_memory, upload

__all__ = ["Span", "blend_window", "pad_to_multiple", "tile_spans", "tiled_forward"]


# --------------------------------------------------------------------------- padding
def _reflect_pad_axis(x: Tensor, before: int, after: int, dim: int) -> Tensor:
    """Reflect-pad one spatial axis, repeatedly when the pad exceeds the size (1 px: replicate)."""
    while before > 0 or after > 0:
        size = x.shape[dim]
        if size == 1:
            reps = [1] * x.ndim
            reps[dim] = 1 + before + after
            return x.repeat(*reps)
        b, a = min(before, size - 1), min(after, size - 1)
        pad = [0, 0, 0, 0]
        if dim == x.ndim - 1:
            pad[0], pad[1] = b, a
        else:
            pad[2], pad[3] = b, a
        x = F.pad(x, pad, mode="reflect")
        before, after = before - b, after - a
    return x


def pad_to_multiple(
    x: Tensor, multiple: int, *, size: tuple[int, int] | None = None
) -> tuple[Tensor, tuple[int, int]]:
    """Reflect-pad ``x`` so H and W become multiples of ``multiple`` (or exactly ``size``).

    The padding is split evenly between the two sides (the extra pixel goes after), so the
    image stays centred in the network's field of view. Pads larger than the image are made by
    reflecting repeatedly; a one-pixel axis is replicated.

    Parameters
    ----------
    x
        ``(B, C, H, W)`` floating-point images.
    multiple
        Target multiple (``>= 1``).
    size
        If given, pad to exactly this ``(H', W')`` instead (each ``>=`` the input's).

    Returns
    -------
    tuple
        The padded ``(B, C, H', W')`` tensor and ``(top, left)``: crop it back with
        ``y[..., top:top + H, left:left + W]``.

    Raises
    ------
    ValueError
        If ``x`` is not 4-D, ``multiple < 1``, or ``size`` is smaller than the input.

    Shape
    -----
    ``(B, C, H, W) -> (B, C, H', W')``.
    """
    if x.ndim != 4:
        raise ValueError(f"expected a (B, C, H, W) tensor; got shape {tuple(x.shape)}")
    if multiple < 1:
        raise ValueError(f"multiple must be >= 1; got {multiple}")
    h, w = int(x.shape[-2]), int(x.shape[-1])
    if size is None:
        th, tw = -(-h // multiple) * multiple, -(-w // multiple) * multiple
    else:
        th, tw = size
        if th < h or tw < w:
            raise ValueError(f"cannot pad {h}×{w} to the smaller size {th}×{tw}")
    ph, pw = th - h, tw - w
    top, left = ph // 2, pw // 2
    if ph:
        x = _reflect_pad_axis(x, top, ph - top, x.ndim - 2)
    if pw:
        x = _reflect_pad_axis(x, left, pw - left, x.ndim - 1)
    return x, (top, left)


# --------------------------------------------------------------------------- placement
@dataclass(frozen=True)
class Span:
    """Where one tile lies along one axis.

    Attributes
    ----------
    start
        First pixel of the tile.
    size
        Its length in pixels (before any padding to the generator's multiple).
    before
        Pixels shared with the previous tile (0 for the first).
    after
        Pixels shared with the next tile (0 for the last).
    """

    start: int
    size: int
    before: int
    after: int

    @property
    def stop(self) -> int:
        """One past the last pixel."""
        return self.start + self.size


def tile_spans(length: int, tile: int, overlap: int, *, multiple: int = 1) -> list[Span]:
    """Place overlapping tiles along one axis of ``length`` pixels.

    The fewest tiles of at most ``tile`` pixels that overlap by at least ``overlap`` are used;
    their common size is then shrunk to the smallest multiple of ``multiple`` that still keeps
    the overlap, and they are spread evenly from edge to edge.

    Parameters
    ----------
    length
        Size of the axis (``>= 1``).
    tile
        Largest tile size, a multiple of ``multiple``.
    overlap
        Smallest overlap between neighbours, ``0 <= 2 * overlap <= tile``.
    multiple
        Tile sizes are multiples of it (the generator's ``size_multiple``) whenever there is
        more than one tile.

    Returns
    -------
    list[Span]
        In order; a single span covering the axis when ``length <= tile``.

    Raises
    ------
    ValueError
        For a tile that is not a positive multiple of ``multiple`` or an overlap out of range.

    Examples
    --------
    >>> [(s.start, s.size) for s in tile_spans(100, 48, 8, multiple=4)]
    [(0, 40), (30, 40), (60, 40)]
    """
    check_int(length, "length", 1)
    check_int(multiple, "multiple", 1)
    check_int(tile, "tile", multiple)
    check_int(overlap, "overlap", 0)
    if tile % multiple:
        raise ValueError(
            f"tile must be a multiple of the generator's size multiple {multiple}; got {tile} "
            f"(e.g. {max(multiple, tile // multiple * multiple)})"
        )
    if 2 * overlap > tile:
        raise ValueError(f"overlap must be at most half the tile ({tile // 2}); got {overlap}")
    if length <= tile:
        return [Span(0, length, 0, 0)]
    n = math.ceil((length - overlap) / (tile - overlap))
    size = -(-(length + (n - 1) * overlap) // n)
    size = min(tile, -(-size // multiple) * multiple)
    # even spacing (floor), so every overlap is >= the requested one
    starts = [(i * (length - size)) // (n - 1) for i in range(n)]
    spans = []
    for i, s in enumerate(starts):
        before = starts[i - 1] + size - s if i > 0 else 0
        after = s + size - starts[i + 1] if i < n - 1 else 0
        spans.append(Span(s, size, before, after))
    return spans


def _ramp(n: int, margin: float) -> Tensor:
    """Rising weights over an overlap of ``n`` pixels: 0 in the first ``margin`` fraction, a
    ``sin²`` ramp, 1 in the last ``margin`` fraction. ``ramp + ramp.flip(0) == 1``."""
    u = (torch.arange(n, dtype=torch.float64) + 0.5) / n
    if margin >= 0.5:
        return (u >= 0.5).to(torch.float64)
    v = ((u - margin) / (1.0 - 2.0 * margin)).clamp(0.0, 1.0)
    return torch.sin(v * (math.pi / 2)) ** 2


def blend_window(span: Span, *, margin: float = 0.25) -> Tensor:
    """1-D blending weights of one tile.

    Parameters
    ----------
    span
        The tile's placement (see :func:`tile_spans`).
    margin
        Fraction of each overlap, at the tile's edge, given weight 0 (``0 <= margin <= 0.5``;
        0.5 is a hard cut at the middle of the overlap, i.e. no blending).

    Returns
    -------
    Tensor
        ``(span.size,)`` float64 weights in [0, 1]; 1 outside the overlaps. Over an overlap the
        weights of the two tiles sum to exactly 1.

    Raises
    ------
    ValueError
        If ``margin`` is outside [0, 0.5].

    Shape
    -----
    ``() -> (span.size,)``.
    """
    if not 0.0 <= margin <= 0.5:
        raise ValueError(f"margin must be in [0, 0.5]; got {margin}")
    w = torch.ones(span.size, dtype=torch.float64)
    if span.before:
        w[: span.before] *= _ramp(span.before, margin)
    if span.after:
        w[span.size - span.after :] *= 1.0 - _ramp(span.after, margin)
    return w


# --------------------------------------------------------------------------- tiled forward
def _as_pair(tile: int | tuple[int, int]) -> tuple[int, int]:
    if isinstance(tile, tuple):
        if len(tile) != 2:
            raise ValueError(f"tile must be an int or (height, width); got {tile!r}")
        return tile
    return tile, tile


@torch.no_grad()
def tiled_forward(
    fn: Callable[[Tensor], Tensor],
    x: Tensor,
    *,
    tile: int | tuple[int, int],
    overlap: int,
    multiple: int = 1,
    batch_size: int = 4,
    margin: float = 0.25,
    out: Tensor | None = None,
    encode: Callable[[Tensor], Tensor] | None = None,
    decode: Callable[[Tensor], Tensor] | None = None,
    device: torch.device | str | None = None,
    pin_memory: bool | None = None,
    progress: bool = False,
) -> Tensor:
    """Apply an image-to-image ``fn`` to ``x`` tile by tile and blend the tiles seamlessly.

    Parameters
    ----------
    fn
        Maps ``(N, C, h, w)`` to ``(N, C_out, h, w)`` for ``h``, ``w`` multiples of
        ``multiple`` (e.g. a generator).
    x
        ``(B, C, H, W)`` images of any dtype and device (e.g. a ``uint8`` view of a numpy
        array: only tiles are ever converted).
    tile
        Largest tile side, or ``(height, width)``; multiples of ``multiple``.
    overlap
        Smallest overlap of neighbouring tiles, in pixels (at most half a tile).
    multiple
        Tiles are reflect-padded to multiples of it before ``fn`` and cropped back after.
    batch_size
        Samples per ``fn`` call: ``max(1, batch_size // B)`` tiles of all ``B`` images.
    margin
        Fraction of each overlap ignored at a tile's edge (see :func:`blend_window`).
    out
        Preallocated ``(B, C_out, H, W)`` result of any dtype (e.g. a ``uint8`` view); default
        a new float32 tensor on ``x``'s device.
    encode
        Applied to each ``(N, C, h, w)`` crop (on ``device``) before ``fn``; default ``.float()``.
    decode
        Applied to finished float32 rows ``(B, C_out, r, W)`` before they are written into
        ``out``; default: a cast to ``out``'s dtype.
    device
        Where ``fn`` runs; default ``x``'s device. Crops are moved there and the tiles are
        blended there; when ``out`` is elsewhere the finished rows go into a copy of ``out`` on
        ``device``, copied into ``out`` once at the end. With ``pin_memory`` the loop never
        waits for the device (no copy back and no host read per tile).
    pin_memory
        Copy crops from host memory, and the blending weights, to ``device`` through
        page-locked memory with ``non_blocking=True``
        (:func:`~cyclegan_ms.inference.devices.upload`); ``None``: when ``device`` is a CUDA
        device.
    progress
        Show a tqdm bar over the tiles.

    Returns
    -------
    Tensor
        ``out``: ``(B, C_out, H, W)``.

    Raises
    ------
    ValueError
        For bad tile arguments, or an ``out`` of the wrong shape.

    Shape
    -----
    ``x``: ``(B, C, H, W)`` → ``(B, C_out, H, W)``; ``fn`` sees
    ``(k · B, C, h', w')`` with ``k <= max(1, batch_size // B)`` and ``h', w' <= tile``
    (rounded up to ``multiple``).

    Examples
    --------
    >>> y = tiled_forward(lambda t: t * 2, torch.ones(1, 3, 50, 70), tile=32, overlap=8)
    >>> y.shape, bool(torch.allclose(y, torch.full_like(y, 2.0)))
    (torch.Size([1, 3, 50, 70]), True)
    """
    if x.ndim != 4:
        raise ValueError(f"expected a (B, C, H, W) tensor; got shape {tuple(x.shape)}")
    check_int(batch_size, "batch_size", 1)
    b, _, h, w = (int(s) for s in x.shape)
    th, tw = _as_pair(tile)
    ys = tile_spans(h, th, overlap, multiple=multiple)
    xs = tile_spans(w, tw, overlap, multiple=multiple)
    dev = concrete_device(device) if device is not None else x.device
    enc = encode if encode is not None else (lambda t: t.float())
    wy = [blend_window(s, margin=margin) for s in ys]
    wx = [blend_window(s, margin=margin) for s in xs]
    sum_y = torch.zeros(h, dtype=torch.float64)
    sum_x = torch.zeros(w, dtype=torch.float64)
    for s, win in zip(ys, wy, strict=True):
        sum_y[s.start : s.stop] += win
    for s, win in zip(xs, wx, strict=True):
        sum_x[s.start : s.stop] += win
    if bool((sum_y <= 0).any()) or bool((sum_x <= 0).any()):  # pragma: no cover - by design
        raise RuntimeError("tile placement left pixels without weight")
    per_call = max(1, batch_size // b)
    strip_h = ys[0].size

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(ys) * len(xs), desc="tiles", unit="tile", leave=False)

    # the tiles are blended on dev, where fn runs: its outputs stay there until the image is
    # finished. Windows and normalisers are made on the host; crops come from wherever x is.
    pin = pin_memory if pin_memory is not None else pins_memory(torch.device("cpu"), dev)

    def to_dev(t: Tensor) -> Tensor:
        return t if t.device == dev else upload([t], dev, pin=pin)

    buf: Tensor | None = None
    # the rows are finished into ``out`` itself, or into a copy of it on dev that is copied
    # back once at the end
    target: Tensor | None = None

    def finish(rows: int, base: int) -> None:
        assert buf is not None and target is not None
        norm = to_dev((sum_y[base : base + rows, None] * sum_x[None, :]).to(torch.float32))
        done = buf[:, :, :rows] / norm
        value = decode(done) if decode is not None else done
        target[:, :, base : base + rows] = value.to(target.dtype)

    try:
        for i, sy in enumerate(ys):
            for j0 in range(0, len(xs), per_call):
                group = xs[j0 : j0 + per_call]
                crops = [x[:, :, sy.start : sy.stop, sx.start : sx.stop] for sx in group]
                batch = enc(upload(crops, dev, pin=pin and x.device.type == "cpu"))
                padded, (top, left) = pad_to_multiple(batch, multiple)
                y = fn(padded)[:, :, top : top + sy.size, left : left + group[0].size]
                y = y.float().to(dev)
                if buf is None:
                    c_out = int(y.shape[1])
                    if out is None:
                        out = torch.zeros(b, c_out, h, w, dtype=torch.float32, device=x.device)
                    elif tuple(out.shape) != (b, c_out, h, w):
                        raise ValueError(
                            f"out must have shape {(b, c_out, h, w)}; got {tuple(out.shape)}"
                        )
                    target = out if out.device == dev else torch.empty_like(out, device=dev)
                    buf = torch.zeros(b, c_out, strip_h, w, dtype=torch.float32, device=dev)
                for k, sx in enumerate(group):
                    win = to_dev((wy[i][:, None] * wx[j0 + k][None, :]).to(torch.float32))
                    buf[:, :, :, sx.start : sx.stop] += y[k * b : (k + 1) * b] * win
                if bar is not None:
                    bar.update(len(group))
            assert buf is not None
            if i + 1 < len(ys):
                step = ys[i + 1].start - sy.start
                finish(step, sy.start)
                buf[:, :, : strip_h - step] = buf[:, :, step:].clone()
                buf[:, :, strip_h - step :] = 0
            else:
                finish(sy.size, sy.start)
    finally:
        if bar is not None:
            bar.close()
    assert out is not None and target is not None
    if target is not out:
        out.copy_(target)  # the one copy back (and the one wait for the device)
    return out
