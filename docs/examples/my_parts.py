"""Parts of your own, registered beside the built-in ones (used by docs/extending.rst).

Importing this module registers a discriminator, a generator, a reconstruction loss and a
learning-rate schedule; from then on they are built by name like any built-in part.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
from torch import Tensor

from cyclegan_ms import register
from cyclegan_ms.discriminators import Discriminator
from cyclegan_ms.generators import SeedUNet
from cyclegan_ms.training import Schedule


@register("discriminator", "local_global")
class LocalGlobalDiscriminator(Discriminator):
    """Judges patches and the whole image: a patch score map plus one image-level score.

    Parameters
    ----------
    in_channels
        Image channels ``C``.
    width
        Channels of the first convolution (the second has twice as many).

    Shape
    -----
    ``(B, C, H, W) -> [(B, 1, ceil(H/4), ceil(W/4)), (B, 1, 1, 1)]``
    """

    min_input_size: int = 4

    def __init__(self, *, in_channels: int = 3, width: int = 32) -> None:
        super().__init__()
        if width < 1:
            raise ValueError(f"local_global: width must be >= 1; got {width}")
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, width, 4, stride=2, padding=1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(width, 2 * width, 4, stride=2, padding=1),
            nn.LeakyReLU(0.2),
        )
        self.patch_head = nn.Conv2d(2 * width, 1, 3, padding=1)
        self.image_head = nn.Linear(2 * width, 1)

    def forward_features(self, x: Tensor) -> tuple[list[Tensor], list[Tensor]]:
        features = self.body(x)
        patches = self.patch_head(features)
        image = self.image_head(features.mean(dim=(2, 3)))[:, :, None, None]
        return [patches, image], [features]


@register("generator", "seed_unet_any_size")
def seed_unet_any_size(
    *, in_channels: int = 3, out_channels: int = 3, base_width: int = 16
) -> SeedUNet:
    """The seed U-Net with its size-free bottleneck: any H, W divisible by 32."""
    return SeedUNet(
        in_channels=in_channels,
        out_channels=out_channels,
        base_width=base_width,
        bottleneck="conv",
    )


@register("reconstruction_loss", "charbonnier")
class CharbonnierLoss(nn.Module):
    """``mean(sqrt((output - target)² + eps²))``: L1 with a smooth minimum."""

    def __init__(self, *, eps: float = 1e-3) -> None:
        super().__init__()
        if not eps > 0:
            raise ValueError(f"charbonnier: eps must be > 0; got {eps}")
        self.eps = eps

    def forward(self, output: Tensor, target: Tensor) -> Tensor:
        return torch.sqrt((output - target) ** 2 + self.eps**2).mean()


@register("schedule", "step_decay")
@dataclass
class StepDecay(Schedule):
    """Multiply the learning rate by ``factor`` every ``every`` steps."""

    every: int = 10_000
    factor: float = 0.5

    def __post_init__(self) -> None:
        if self.every < 1 or not 0 < self.factor <= 1:
            raise ValueError(f"step_decay: need every >= 1 and 0 < factor <= 1; got {self}")

    def __call__(self, step: int) -> float:
        return float(self.factor ** (step // self.every))
