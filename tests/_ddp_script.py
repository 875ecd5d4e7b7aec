"""Run under ``torchrun --nproc_per_node=2``: two DDP steps, rank 0 saves the model weights.

Also importable: :func:`single_process_state` runs the same training in one process with the
doubled batch, for the equivalence test.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import torch
import torch.distributed as dist
from safetensors.torch import save_file

sys.path.insert(0, str(Path(__file__).parent))
from _train_script import Pairs

from cyclegan_ms import CycleGAN
from cyclegan_ms.training import OptimConfig, TrainConfig, Trainer

STEPS = 2
# Adam with an eps far above every gradient moves each weight by about lr * gradient: linear in
# the gradient, so the rounding of two reduction orders stays rounding. With the default eps the
# first Adam step is lr * sign(gradient), and a near-zero gradient whose sign the rounding flips
# moves a weight by 2 * lr in one run and not the other (seen on an AMX CPU, not on Zen 4).
OPTIM = OptimConfig(lr=0.05, betas=(0.5, 0.999), eps=1.0)


class Fixed(torch.utils.data.Sampler[int]):
    def __init__(self, indices: list[int]) -> None:
        self.indices = indices

    def set_epoch(self, epoch: int) -> None:
        pass

    def __len__(self) -> int:
        return len(self.indices)

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices)


def _train(run_dir: Path, batch_size: int, indices: list[int]) -> dict[str, torch.Tensor]:
    torch.set_num_threads(1)
    model = initial_model()
    trainer = Trainer(
        model,
        Pairs(n=4),
        run_dir=run_dir,
        sampler=Fixed(indices),
        train=TrainConfig(
            steps=STEPS,
            batch_size=batch_size,
            pool_size=0,
            progress=False,
            checkpoint_every=0,
            device="cpu",
        ),
        optim_g=OPTIM,
        optim_d=OPTIM,
    )
    trainer.fit()
    return {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}


def initial_model() -> CycleGAN:
    """The model both runs start from (seed 0)."""
    torch.manual_seed(0)
    # Layer norm, not instance norm: a conv bias followed by instance norm gets an exactly-zero
    # gradient, and Adam turns the rounding noise of that zero into full-size steps that no two
    # reduction orders agree on. Every parameter here gets a real gradient.
    g = {"name": "resnet_6blocks", "ngf": 4, "norm": "layer"}
    d = {"name": "patchgan", "ndf": 4, "n_layers": 2, "norm": "layer"}
    # One pass per batch: fused passes (tested on their own in test_model.py) regroup the
    # samples differently in the two runs, and Adam turns that rounding into visible steps.
    return CycleGAN(g, g, d, d, fuse_passes=False)


def single_process_state(run_dir: Path) -> dict[str, torch.Tensor]:
    return _train(run_dir, 4, [0, 1, 2, 3])


def main() -> None:
    out, run_dir = Path(sys.argv[1]), Path(sys.argv[2])
    dist.init_process_group("gloo")
    rank = dist.get_rank()
    state = _train(run_dir, 2, [rank, rank + 2])
    if rank == 0:
        save_file(state, str(out))
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
