"""The seed's tapped multi-scale PatchGAN (DESIGN.md §1).

The seed generator's encoder (five inception-block steps, widths 16..256, each ending in a 1×1
stride-2 convolution), with LeakyReLU(0.3) everywhere and no normalisation, and three linear
5×5 heads on the downsampled outputs of steps 3, 4 and 5. At 256×256 the heads give 32×32
(fine: small, far objects), 16×16 and 8×8 (coarse: large, near objects) score maps.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch.nn as nn
from torch import Tensor

from .._checks import check_int
from ..layers import EncoderStep, InitScheme, SameConv2d, init_weights
from ..registry import register
from .base import Discriminator

__all__ = ["SEED_MULTISCALE_PARAMS", "SeedMultiScaleDiscriminator"]

#: Parameter count of the seed discriminator at its defaults (checked at import time by the tests).
SEED_MULTISCALE_PARAMS = 5_598_547


@register("discriminator", "seed_multiscale")
class SeedMultiScaleDiscriminator(Discriminator):
    """The seed's multi-scale PatchGAN: one encoder, linear heads tapped at several depths.

    Step ``i`` (1-based) is ``EncoderStep(width = base_width * 2**(i-1))``: an inception block
    then a 1×1 stride-2 convolution, all with ``LeakyReLU(negative_slope)`` and no normalisation.
    Each tap ``t`` puts a ``head_kernel``×``head_kernel`` convolution to one channel ('same'
    padding, no activation) on the *downsampled* output of step ``t``. Weights are
    Glorot-uniform with zero biases, as Keras initialises them.

    Any input size works. The 1×1 stride-2 convolutions have no padding, so each step keeps the
    pixels at even indices and maps ``H`` to ``ceil(H / 2)`` (exactly what Keras' 'same' does);
    a tap at step ``t`` therefore has ``ceil(H / 2**t)`` rows. For an input not divisible by
    ``2**depth`` nothing is dropped: the last row/column of an odd-sized map is kept, so the
    bottom/right score cells cover patches that reach past the image border (into the zero
    padding of the heads and blocks).

    Parameters
    ----------
    in_channels
        Image channels ``C``.
    base_width
        Width of the first step; step ``i`` has ``base_width * 2**(i-1)`` channels.
    depth
        Number of encoder steps. Must equal ``max(taps)`` (steps after the last tap would be
        parameters that never receive a gradient).
    taps
        Strictly increasing 1-based step indices whose downsampled outputs get a head; the
        score list follows this order (fine to coarse).
    head_kernel
        Kernel size of the heads (5 in the seed); Keras 'same' padding, so an even size (4, as
        in the 70×70 PatchGAN) pads one more row/column at the bottom/right.
    negative_slope
        LeakyReLU slope (Keras 2's default is 0.3).
    init
        Weight initialisation (:data:`~cyclegan_ms.layers.InitScheme`); ``"glorot"`` as the seed.
    init_gain
        Gain / standard deviation for the schemes that use one.

    Shape
    -----
    - Input: ``(B, C, H, W)``.
    - Scores: one ``(B, 1, ceil(H / 2**t), ceil(W / 2**t))`` per tap ``t``; at defaults and
      256×256: ``(B, 1, 32, 32)``, ``(B, 1, 16, 16)``, ``(B, 1, 8, 8)``.
    - Features: the downsampled output of every step ``i``:
      ``(B, base_width * 2**(i-1), ceil(H / 2**i), ceil(W / 2**i))``.

    Raises
    ------
    ValueError
        On a non-positive size, an empty/unsorted/out-of-range ``taps``, a ``head_kernel``
        below 1, a negative slope outside ``[0, 1)``.

    Examples
    --------
    >>> import torch
    >>> D = SeedMultiScaleDiscriminator(base_width=4)
    >>> [s.shape[-1] for s in D(torch.rand(1, 3, 64, 64))]
    [8, 4, 2]
    >>> sum(p.numel() for p in SeedMultiScaleDiscriminator().parameters())
    5598547
    """

    #: Smallest input side the network accepts.
    min_input_size: int = 1

    def __init__(
        self,
        *,
        in_channels: int = 3,
        base_width: int = 16,
        depth: int = 5,
        taps: Sequence[int] = (3, 4, 5),
        head_kernel: int = 5,
        negative_slope: float = 0.3,
        init: InitScheme = "glorot",
        init_gain: float = 0.02,
    ) -> None:
        super().__init__()
        in_channels = check_int(in_channels, "in_channels", 1, part="seed_multiscale")
        base_width = check_int(base_width, "base_width", 1, part="seed_multiscale")
        depth = check_int(depth, "depth", 1, part="seed_multiscale")
        if isinstance(taps, (str, bytes)) or not isinstance(taps, Sequence) or not taps:
            raise ValueError(
                f"seed_multiscale: taps must be a non-empty sequence of step indices; got {taps!r}"
            )
        tap_list = list(taps)
        if not all(isinstance(t, int) and not isinstance(t, bool) for t in tap_list):
            raise ValueError(f"seed_multiscale: taps must be integers; got {taps!r}")
        if any(t < 1 or t > depth for t in tap_list):
            raise ValueError(
                f"seed_multiscale: taps must lie in 1..depth (1..{depth}); got {tuple(tap_list)}"
            )
        if any(b <= a for a, b in itertools.pairwise(tap_list)):
            raise ValueError(
                f"seed_multiscale: taps must be strictly increasing (fine to coarse); "
                f"got {tuple(tap_list)}"
            )
        if max(tap_list) != depth:
            raise ValueError(
                f"seed_multiscale: the last tap ({max(tap_list)}) must be the last step "
                f"(depth={depth}); steps after it would never be trained — set depth={max(tap_list)}"
            )
        head_kernel = check_int(head_kernel, "head_kernel", 1, part="seed_multiscale")
        if not 0.0 <= negative_slope < 1.0:
            raise ValueError(
                f"seed_multiscale: negative_slope must be in [0, 1); got {negative_slope!r}"
            )

        act = ("leaky", {"negative_slope": float(negative_slope)})
        self.taps: tuple[int, ...] = tuple(tap_list)
        widths = [base_width * 2**i for i in range(depth)]
        self.steps = nn.ModuleList(
            EncoderStep(c_in, c_out, act=act, norm=False)
            for c_in, c_out in zip([in_channels, *widths[:-1]], widths, strict=True)
        )
        self.heads = nn.ModuleList(SameConv2d(widths[t - 1], 1, head_kernel) for t in self.taps)
        init_weights(self, init, init_gain)

    def forward_features(self, x: Tensor) -> tuple[list[Tensor], list[Tensor]]:
        """Score maps (one per tap, fine to coarse) and the downsampled output of every step.

        Shape
        -----
        ``(B, C, H, W) -> ([(B, 1, ceil(H/2**t), ceil(W/2**t)) for t in taps],
        [(B, base_width*2**(i-1), ceil(H/2**i), ceil(W/2**i)) for i in 1..depth])``
        """
        features: list[Tensor] = []
        h = x
        for step in self.steps:
            _, h = step(h)
            features.append(h)
        scores = [head(features[t - 1]) for head, t in zip(self.heads, self.taps, strict=True)]
        return scores, features
