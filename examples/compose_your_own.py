"""Compose your own: register a discriminator and train it beside the built-in parts.

The library's point in a few lines: a new part is one registered class; the registry checks
its arguments, the CycleGAN model uses it like any built-in part, the Trainer trains it, and the
checkpoint rebuilds it by name.

    python examples/compose_your_own.py --steps 20
"""

from __future__ import annotations

import argparse

import torch
import torch.nn as nn

import cyclegan_ms as cms
from cyclegan_ms.data import NightDayScenes
from cyclegan_ms.discriminators import Discriminator
from cyclegan_ms.training import TrainConfig, Trainer


@cms.register("discriminator", "dilated_patch")
class DilatedPatch(Discriminator):
    """A tiny PatchGAN whose dilated 3x3 convs see far at low cost; two heads (two scales)."""

    def __init__(self, *, in_channels: int = 3, width: int = 16) -> None:
        super().__init__()
        if width < 1:
            raise ValueError(f"width must be >= 1; got {width}")
        act = nn.LeakyReLU(0.2)
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, width, 4, stride=2, padding=1), act,
            nn.Conv2d(width, width, 3, padding=2, dilation=2), act,
        )
        self.fine = nn.Conv2d(width, 1, 3, padding=1)
        self.coarse = nn.Sequential(nn.AvgPool2d(2), nn.Conv2d(width, 1, 3, padding=1))

    def forward_features(self, x: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        h = self.body(x)
        return [self.fine(h), self.coarse(h)], [h]


def main(argv: list[str] | None = None) -> cms.CycleGAN:
    p = argparse.ArgumentParser(description="train a user-registered discriminator")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--run-dir", default="runs/compose_your_own")
    p.add_argument("--overwrite", action="store_true", help="replace a run already in --run-dir")
    args = p.parse_args(argv)

    torch.manual_seed(0)
    model = cms.CycleGAN(
        G_ab={"name": "seed_unet", "base_width": 8, "image_size": 64},
        G_ba={"name": "seed_unet", "base_width": 8, "image_size": 64},
        D_a={"name": "dilated_patch", "width": 16},        # yours
        D_b={"name": "seed_multiscale", "base_width": 8},  # built-in, side by side
    )
    data = NightDayScenes(num_scenes=64, size=64)
    train = TrainConfig(steps=args.steps, batch_size=2, pool_size=10, log_every=5, progress=False)
    trainer = Trainer(model, data, run_dir=args.run_dir, train=train, overwrite=args.overwrite)
    result = trainer.fit()
    print(f"trained {result.step} steps; last losses: D={result.last_losses['d_total']:.3f}")
    rebuilt = cms.load(args.run_dir)  # rebuilt by name, including your part
    print(f"checkpoint rebuilds D_a as {type(rebuilt.D_a).__name__}: {cms.config_of(rebuilt.D_a)}")
    return rebuilt


if __name__ == "__main__":
    main()
