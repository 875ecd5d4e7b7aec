"""Helper run in a subprocess by the trainer tests (not collected: leading underscore).

Usage: python tests/_train_script.py RUN_DIR STEPS CHECKPOINT_EVERY [--resume]
"""

from __future__ import annotations

import sys

import torch

from cyclegan_ms import CycleGAN
from cyclegan_ms.training import TrainConfig, Trainer


class Pairs(torch.utils.data.Dataset):
    def __init__(self, n: int = 8, size: int = 32) -> None:
        self.n, self.size = n, size

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        g = torch.Generator().manual_seed(int(i))
        return {
            "A": torch.rand(3, self.size, self.size, generator=g),
            "B": torch.rand(3, self.size, self.size, generator=g),
        }


def tiny_model() -> CycleGAN:
    g = {"name": "resnet_6blocks", "ngf": 4}
    d = {"name": "patchgan", "ndf": 4, "n_layers": 2}
    return CycleGAN(g, g, d, d)


def main() -> None:
    run_dir, steps, every = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    torch.set_num_threads(1)
    torch.manual_seed(0)
    trainer = Trainer(
        tiny_model(),
        Pairs(),
        run_dir=run_dir,
        train=TrainConfig(
            steps=steps,
            batch_size=2,
            checkpoint_every=every,
            log_every=1,
            progress=False,
            keep_last=2,
        ),
    )
    if "--resume" in sys.argv:
        trainer.resume(run_dir)
    print("started", flush=True)
    result = trainer.fit()
    print(f"finished step={result.step} interrupted={result.interrupted}", flush=True)


if __name__ == "__main__":
    main()
