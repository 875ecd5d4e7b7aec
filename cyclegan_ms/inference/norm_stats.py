"""Whole-image normalisation statistics: record them once, apply them to tiles or frames.

Instance and group normalisation compute statistics *per sample*; so do global pooling and
global context layers (:class:`~cyclegan_ms.layers.GlobalContext`). Translated in tiles, a tile
of sky and a tile of road are then normalised differently and their colours disagree (visible as
blotches even through blending); translated frame by frame, the statistics move with the noise.
Here forward hooks record every such layer's per-sample mean and variance (and every global
layer's output) during one pass over the whole image, or a downscaled copy of it
(:func:`collect_norm_stats`); inside :func:`use_norm_stats` the layers use those instead of
their input's, so every tile (or every frame, with statistics averaged over time, see
:class:`~cyclegan_ms.video.FrameTranslator`) sees the same affine map per layer, as in an
untiled pass. The downscaled copy keeps the means exactly but smooths away fine detail, so
variances are a little smaller than at full resolution; for an image no larger than the
statistics size the statistics are exact and tiled output matches untiled output up to
tile-border effects. Batch norm in eval mode already uses global (running) statistics and is
left alone.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import torch
import torch.nn as nn
from torch import Tensor

from ..layers import GlobalContext

__all__ = ["NormStats", "collect_norm_stats", "needs_image_stats", "use_norm_stats"]

_SAMPLE_NORMS = (nn.GroupNorm, nn.InstanceNorm1d, nn.InstanceNorm2d, nn.InstanceNorm3d)


def _is_sample_norm(m: nn.Module) -> bool:
    if isinstance(m, nn.GroupNorm):
        return True
    if isinstance(m, (nn.InstanceNorm1d, nn.InstanceNorm2d, nn.InstanceNorm3d)):
        # with running stats in eval mode it already uses global statistics
        return m.training or not m.track_running_stats
    return False


def _global_modules(network: nn.Module) -> list[nn.Module]:
    """Modules whose output summarises the whole input: global pooling, and every layer marked
    :class:`~cyclegan_ms.layers.GlobalContext` (e.g. the seed U-Net's context path)."""

    def is_global(m: nn.Module) -> bool:
        if isinstance(m, GlobalContext):
            return m.needs_whole_image
        pools = (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)
        return isinstance(m, pools) and m.output_size in (1, (1, 1))

    return [m for m in network.modules() if is_global(m)]


def needs_image_stats(network: nn.Module) -> bool:
    """Whether tiles of an image disagree unless given whole-image statistics.

    True when ``network`` has a per-sample normalisation (instance or group norm; batch norm in
    eval mode is global already) or a global pooling/context layer.
    """
    return any(_is_sample_norm(m) for m in network.modules()) or bool(_global_modules(network))


def _stats(m: nn.Module, x: Tensor) -> tuple[Tensor, Tensor]:
    n = x.shape[0]
    groups = m.num_groups if isinstance(m, nn.GroupNorm) else x.shape[1]
    var, mean = torch.var_mean(x.float().reshape(n, groups, -1), dim=-1, correction=0)
    return mean, var


class NormStats:
    """Whole-image statistics of a network's per-sample layers, to apply to tiles.

    Made by :func:`collect_norm_stats`; applied by :func:`use_norm_stats`.

    Attributes
    ----------
    values
        ``{norm module: [(mean, var), ...]}``, one pair per call of the module in a forward
        pass; ``mean`` and ``var`` have shape ``(B, G)`` (G = channels for instance norm, groups
        for group norm).
    outputs
        ``{global module: [output, ...]}``: the outputs of global pooling / context layers,
        each ``(B, ...)``.
    batch
        ``B``, the number of images the statistics describe.
    """

    def __init__(
        self,
        values: dict[nn.Module, list[tuple[Tensor, Tensor]]],
        outputs: dict[nn.Module, list[Tensor]],
        batch: int,
    ) -> None:
        self.values = values
        self.outputs = outputs
        self.batch = batch

    def __len__(self) -> int:
        return sum(len(v) for v in self.values.values()) + sum(
            len(v) for v in self.outputs.values()
        )


@torch.no_grad()
def collect_norm_stats(network: nn.Module, x: Tensor) -> NormStats:
    """Run ``network(x)`` once and record what its per-sample layers compute.

    Forward hooks read the input of every instance/group norm layer and the output of every
    global pooling/context layer (the network's own computation is unchanged), so each layer's
    statistics are those of the whole image with all earlier layers treated consistently.

    Parameters
    ----------
    network
        A generator (any module).
    x
        ``(B, C, H, W)``: the whole images, or downscaled copies of them, in the shape the
        network accepts.

    Returns
    -------
    NormStats
        Statistics for ``B`` images.

    Shape
    -----
    ``x``: ``(B, C, H, W)``; recorded means and variances ``(B, G)``.
    """
    values: dict[nn.Module, list[tuple[Tensor, Tensor]]] = {}
    outputs: dict[nn.Module, list[Tensor]] = {}

    def norm_hook(module: nn.Module, args: tuple[Tensor, ...], output: Tensor) -> None:
        values.setdefault(module, []).append(_stats(module, args[0]))

    def global_hook(module: nn.Module, args: tuple[Tensor, ...], output: Tensor) -> None:
        outputs.setdefault(module, []).append(output.detach())

    handles = [m.register_forward_hook(norm_hook) for m in network.modules() if _is_sample_norm(m)]
    handles += [m.register_forward_hook(global_hook) for m in _global_modules(network)]
    try:
        network(x)
    finally:
        for h in handles:
            h.remove()
    return NormStats(values, outputs, int(x.shape[0]))


def _normalise(m: nn.Module, x: Tensor, mean: Tensor, var: Tensor) -> Tensor:
    n, c = x.shape[0], x.shape[1]
    rest = x.shape[2:]
    groups = mean.shape[1]
    xg = x.reshape(n, groups, -1)
    if not isinstance(m, _SAMPLE_NORMS):  # pragma: no cover - only sample norms are recorded
        raise TypeError(f"not an instance or group norm: {type(m).__name__}")
    y = (xg - mean.to(x.dtype)[:, :, None]) * torch.rsqrt(var.to(x.dtype) + float(m.eps))[
        :, :, None
    ]
    y = y.reshape(n, c, *rest)
    weight, bias = m.weight, m.bias
    shape = (1, c) + (1,) * len(rest)
    if weight is not None:
        y = y * weight.reshape(shape)
    if bias is not None:
        y = y + bias.reshape(shape)
    return y


@contextlib.contextmanager
def use_norm_stats(network: nn.Module, stats: NormStats) -> Iterator[None]:
    """Make ``network``'s per-sample layers use ``stats`` instead of their input's.

    Inside the context every instance/group norm normalises with the recorded whole-image mean
    and variance (then applies its own affine), and every global pooling/context layer returns
    its recorded whole-image output. A batch of ``k * B`` samples is taken to be ``k`` tiles of
    the ``B`` images the statistics describe, ordered tile by tile (sample ``j`` belongs to image
    ``j % B``).

    Parameters
    ----------
    network
        The network the statistics were collected from.
    stats
        From :func:`collect_norm_stats`.

    Raises
    ------
    ValueError
        Inside the context, if a batch is not a multiple of ``stats.batch`` or a layer is called
        more often than during collection.

    Shape
    -----
    Inside the context the network takes ``(k · B, C, h, w)`` tiles of any ``h, w``.
    """
    counters: dict[nn.Module, int] = {}
    saved: list[tuple[nn.Module, Callable[..., Tensor] | None]] = []

    def reset(module: nn.Module, args: tuple[Tensor, ...]) -> None:
        counters.clear()

    def tiles_per_image(m: nn.Module, x: Tensor, calls: int) -> tuple[int, int]:
        i = counters.get(m, 0)
        counters[m] = i + 1
        if i >= calls:
            raise ValueError(
                f"{type(m).__name__} was called {i + 1} times but statistics were collected for "
                f"{calls} call(s); collect them with the same network"
            )
        if x.shape[0] % stats.batch:
            raise ValueError(
                f"batch of {x.shape[0]} tiles is not a multiple of the {stats.batch} images the "
                "statistics describe"
            )
        return i, x.shape[0] // stats.batch

    def norm_forward(m: nn.Module) -> Callable[[Tensor], Tensor]:
        recorded = stats.values[m]

        def forward(x: Tensor) -> Tensor:
            i, k = tiles_per_image(m, x, len(recorded))
            mean, var = recorded[i]
            mean, var = mean.to(x.device).repeat(k, 1), var.to(x.device).repeat(k, 1)
            return _normalise(m, x, mean, var)

        return forward

    def global_forward(m: nn.Module) -> Callable[[Tensor], Tensor]:
        recorded = stats.outputs[m]

        def forward(x: Tensor) -> Tensor:
            i, k = tiles_per_image(m, x, len(recorded))
            y = recorded[i].to(device=x.device, dtype=x.dtype)
            return y.repeat(k, *([1] * (y.ndim - 1)))

        return forward

    handle = network.register_forward_pre_hook(reset)
    try:
        for m in stats.values:
            saved.append((m, m.__dict__.get("forward")))
            m.forward = norm_forward(m)
        for m in stats.outputs:
            saved.append((m, m.__dict__.get("forward")))
            m.forward = global_forward(m)
        yield
    finally:
        handle.remove()
        for m, previous in saved:
            if previous is None:
                del m.forward
            else:
                m.forward = previous
