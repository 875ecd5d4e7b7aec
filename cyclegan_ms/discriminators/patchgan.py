"""The classic PatchGAN discriminators of the CycleGAN / pix2pix paper.

:class:`NLayerDiscriminator` (registry name ``patchgan``) and :class:`PixelDiscriminator`
(``pixel``) follow ``NLayerDiscriminator`` / ``PixelDiscriminator`` of the reference
``pytorch-CycleGAN-and-pix2pix`` ``models/networks.py`` layer for layer, with its
``init_type="normal", init_gain=0.02`` initialisation.
"""

from __future__ import annotations

import torch.nn as nn
from torch import Tensor

from .._checks import check_int
from ..layers import InitScheme, NormSpec, check_norm_spec, init_weights, make_norm, norm_has_bias
from ..registry import register
from .base import Discriminator, check_input

__all__ = [
    "PATCHGAN_PARAMS",
    "NLayerDiscriminator",
    "PixelDiscriminator",
    "patchgan_receptive_field",
]

#: Parameter count of ``patchgan`` at its defaults (70×70 PatchGAN, ndf=64, instance norm).
PATCHGAN_PARAMS = 2_764_737


def patchgan_receptive_field(n_layers: int) -> int:
    """Side of the input patch that one score of an ``n_layers`` PatchGAN sees.

    ``n_layers`` 4×4 stride-2 convolutions followed by two 4×4 stride-1 convolutions; walking
    back from one output pixel, each layer maps a patch side ``r`` to ``(r - 1) * stride + 4``.
    70 for ``n_layers=3`` (the "70×70 PatchGAN").

    Returns
    -------
    int
        The receptive field's side in pixels.

    Raises
    ------
    ValueError
        If ``n_layers < 1``.

    Examples
    --------
    >>> [patchgan_receptive_field(n) for n in (1, 2, 3, 4)]
    [16, 34, 70, 142]
    """
    if n_layers < 1:
        raise ValueError(f"n_layers must be >= 1; got {n_layers}")
    r = 1
    for stride in [1, 1] + [2] * n_layers:  # walk back from the output
        r = (r - 1) * stride + 4
    return r


def _norm_name(spec: NormSpec) -> str:
    return spec if isinstance(spec, str) else str(spec[0])


@register("discriminator", "patchgan")
class NLayerDiscriminator(Discriminator):
    """The N-layer PatchGAN (70×70 at ``n_layers=3``) of the CycleGAN paper.

    ``Conv4×4/2 → LeakyReLU(0.2)``, then ``n_layers - 1`` blocks
    ``Conv4×4/2 → norm → LeakyReLU(0.2)`` doubling the width (capped at ``8 * ndf``), one
    ``Conv4×4/1 → norm → LeakyReLU(0.2)``, and a ``Conv4×4/1`` to one channel; padding 1
    everywhere. The convolutions before a norm keep their bias unless the norm is batch norm
    (:func:`~cyclegan_ms.layers.norm_has_bias`): with instance norm this is exactly the
    reference's ``use_bias``. (The reference also drops the bias with ``norm="none"``; here a
    layer without normalisation keeps it.)

    Parameters
    ----------
    in_channels
        Image channels ``C``.
    ndf
        Width of the first layer.
    n_layers
        Number of stride-2 convolutions (``>= 1``); 3 gives the 70×70 PatchGAN.
    norm
        Normalisation spec (:data:`~cyclegan_ms.layers.NormSpec`); ``"instance"`` as the
        CycleGAN default.
    init
        Weight initialisation (:data:`~cyclegan_ms.layers.InitScheme`).
    init_gain
        Standard deviation of ``"normal"`` (0.02 as the reference), gain of the others.

    Shape
    -----
    - Input: ``(B, C, H, W)`` with ``H, W >= 3 * 2**n_layers`` (24 at ``n_layers=3``).
    - Scores: a list of one ``(B, 1, floor(H / 2**n_layers) - 2, floor(W / 2**n_layers) - 2)``;
      30×30 at 256×256 and ``n_layers=3``.
    - Features: the output of every LeakyReLU, ``n_layers + 1`` maps.

    Raises
    ------
    ValueError
        On a non-positive size or an unknown norm / init; in ``forward`` on too small an input.

    Examples
    --------
    >>> import torch
    >>> D = NLayerDiscriminator(ndf=8)
    >>> D(torch.rand(1, 3, 64, 64))[0].shape
    torch.Size([1, 1, 6, 6])
    >>> D.receptive_field
    70
    """

    def __init__(
        self,
        *,
        in_channels: int = 3,
        ndf: int = 64,
        n_layers: int = 3,
        norm: NormSpec = "instance",
        init: InitScheme = "normal",
        init_gain: float = 0.02,
    ) -> None:
        super().__init__()
        in_channels = check_int(in_channels, "in_channels", 1, part="patchgan")
        ndf = check_int(ndf, "ndf", 1, part="patchgan")
        n_layers = check_int(n_layers, "n_layers", 1, part="patchgan")
        check_norm_spec(norm)
        bias = norm_has_bias(norm)
        self.n_layers = n_layers
        #: Side of the input patch one score sees.
        self.receptive_field = patchgan_receptive_field(n_layers)
        #: Smallest input side the network accepts.
        self.min_input_size = 3 * 2**n_layers

        blocks: list[nn.Sequential] = [
            nn.Sequential(nn.Conv2d(in_channels, ndf, 4, stride=2, padding=1), nn.LeakyReLU(0.2))
        ]
        mult = 1
        for n in range(1, n_layers + 1):
            prev, mult = mult, min(2**n, 8)
            stride = 2 if n < n_layers else 1
            blocks.append(
                nn.Sequential(
                    nn.Conv2d(ndf * prev, ndf * mult, 4, stride=stride, padding=1, bias=bias),
                    make_norm(norm, ndf * mult),
                    nn.LeakyReLU(0.2),
                )
            )
        self.blocks = nn.ModuleList(blocks)
        self.head = nn.Conv2d(ndf * mult, 1, 4, stride=1, padding=1)
        init_weights(self, init, init_gain)

    def forward_features(self, x: Tensor) -> tuple[list[Tensor], list[Tensor]]:
        """One score map and the output of every block.

        Shape
        -----
        ``(B, C, H, W) -> ([(B, 1, H', W')], [(B, C_i, H_i, W_i)] * (n_layers + 1))`` with
        ``H' = floor(H / 2**n_layers) - 2``.
        """
        check_input(
            x,
            "patchgan",
            self.min_input_size,
            "patchgan",
            f" (n_layers={self.n_layers} halves it {self.n_layers} times)",
        )
        features: list[Tensor] = []
        h = x
        for block in self.blocks:
            h = block(h)
            features.append(h)
        return [self.head(h)], features


@register("discriminator", "pixel")
class PixelDiscriminator(Discriminator):
    """The 1×1 PatchGAN ("PixelGAN"): judges every pixel on its own colour.

    ``Conv1×1 → LeakyReLU(0.2) → Conv1×1 (2·ndf) → norm → LeakyReLU(0.2) → Conv1×1 → 1``.
    The middle convolution keeps its bias unless the norm is batch norm; the last one always
    keeps it (the reference drops it with batch norm, although no norm follows it).

    Parameters
    ----------
    in_channels
        Image channels ``C``.
    ndf
        Width of the first layer.
    norm
        Normalisation spec; ``"instance"`` by default.
    init
        Weight initialisation.
    init_gain
        Standard deviation of ``"normal"``, gain of the others.

    Shape
    -----
    - Input: ``(B, C, H, W)``, any size (at least 2×2 with instance norm).
    - Scores: a list of one ``(B, 1, H, W)``.
    - Features: the outputs of the two LeakyReLUs, ``(B, ndf, H, W)`` and ``(B, 2·ndf, H, W)``.

    Examples
    --------
    >>> import torch
    >>> PixelDiscriminator(ndf=8)(torch.rand(2, 3, 5, 7))[0].shape
    torch.Size([2, 1, 5, 7])
    """

    def __init__(
        self,
        *,
        in_channels: int = 3,
        ndf: int = 64,
        norm: NormSpec = "instance",
        init: InitScheme = "normal",
        init_gain: float = 0.02,
    ) -> None:
        super().__init__()
        in_channels = check_int(in_channels, "in_channels", 1, part="pixel")
        ndf = check_int(ndf, "ndf", 1, part="pixel")
        check_norm_spec(norm)
        #: Smallest input side: instance norm needs more than one pixel to normalise over.
        self.min_input_size = 2 if _norm_name(norm) == "instance" else 1
        self.first = nn.Sequential(nn.Conv2d(in_channels, ndf, 1), nn.LeakyReLU(0.2))
        self.second = nn.Sequential(
            nn.Conv2d(ndf, ndf * 2, 1, bias=norm_has_bias(norm)),
            make_norm(norm, ndf * 2),
            nn.LeakyReLU(0.2),
        )
        self.head = nn.Conv2d(ndf * 2, 1, 1)
        init_weights(self, init, init_gain)

    def forward_features(self, x: Tensor) -> tuple[list[Tensor], list[Tensor]]:
        """One per-pixel score map and the two hidden activations.

        Shape
        -----
        ``(B, C, H, W) -> ([(B, 1, H, W)], [(B, ndf, H, W), (B, 2·ndf, H, W)])``
        """
        why = " (instance norm needs more than one pixel)"
        check_input(x, "pixel", self.min_input_size, "pixel", why)
        a = self.first(x)
        b = self.second(a)
        return [self.head(b)], [a, b]
