"""Run under ``torchrun --nproc_per_node=2`` (gloo, CPU): per-rank randomness and exact resume.

``python _ddp_ranks_script.py OUT_DIR RUN_DIR``. With the pool, EMA, a WGAN-GP penalty, dropout
and fused passes on, each rank:

1. trains 3 steps (a checkpoint after step 2, written with every rank's state), and records
   what it holds after step 3 (weights, EMA, pools, its next random draws);
2. builds a fresh trainer, resumes from the step-2 checkpoint, trains 1 step and records the
   same things.

Each rank writes ``OUT_DIR/rank{r}_straight.safetensors`` and ``rank{r}_resumed.safetensors``,
plus ``rank{r}_first.safetensors``: the first draws of its global RNG, its pools' and its
loader's seeds right after construction (to compare between ranks).
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from safetensors.torch import save_file

sys.path.insert(0, str(Path(__file__).parent))
from _train_script import Pairs

from cyclegan_ms import CycleGAN
from cyclegan_ms.checkpoint import find_latest
from cyclegan_ms.training import TrainConfig, Trainer


def make_trainer(run_dir: Path, checkpoint_every: int = 0) -> Trainer:
    torch.manual_seed(0)  # the same initial weights on every rank (DDP also broadcasts them)
    g = {"name": "resnet_6blocks", "ngf": 4, "use_dropout": True}
    d = {"name": "patchgan", "ndf": 4, "n_layers": 1}
    model = CycleGAN(g, g, d, d, penalty={"name": "wgan_gp", "seed": 3}, fuse_passes=True)
    return Trainer(
        model,
        Pairs(n=8, size=16),
        run_dir=run_dir,
        train=TrainConfig(
            steps=2,
            batch_size=2,
            pool_size=3,
            ema_decay=0.9,
            progress=False,
            checkpoint_every=checkpoint_every,
            sample_every=0,
            device="cpu",
            precision="fp32",
            seed=5,
        ),
        overwrite=True,
    )


def snapshot(t: Trainer) -> dict[str, torch.Tensor]:
    out = {f"model.{k}": v.detach().clone() for k, v in t.model.state_dict().items()}
    assert t.ema is not None
    for name, avg in t.ema.items():
        out.update({f"ema.{name}.{k}": v.detach().clone() for k, v in avg.state_dict().items()})
    for name, pool in t.pools.items():
        state = pool.state_dict()
        out[f"pool_{name}.images"] = state["images"]  # type: ignore[assignment]
        out[f"pool_{name}.gen"] = state["generator_state"]  # type: ignore[assignment]
    out["draw.torch"] = torch.rand(4)
    return {k: v.contiguous() for k, v in out.items() if isinstance(v, torch.Tensor)}


def main() -> None:
    out_dir, run_dir = Path(sys.argv[1]), Path(sys.argv[2])
    torch.set_num_threads(1)
    t = make_trainer(run_dir)
    rank = t.dist.rank
    stream = iter(t.data)
    next(stream)
    first = {
        "draw": torch.rand(4),
        "pool_seed": torch.tensor(t.pools["a"].generator.initial_seed()),
        "loader_seed": torch.tensor(t.data.loader().generator.initial_seed()),  # type: ignore[union-attr]
    }
    save_file(first, str(out_dir / f"rank{rank}_first.safetensors"))

    t = make_trainer(run_dir, checkpoint_every=2)
    t.fit(3)
    save_file(snapshot(t), str(out_dir / f"rank{rank}_straight.safetensors"))

    resumed = make_trainer(Path(f"{run_dir}_resumed"))
    ckpt = find_latest(run_dir)
    assert ckpt is not None
    step2 = ckpt.parent / "step_00000002.safetensors"
    resumed.resume(step2)
    resumed.fit(3)
    save_file(snapshot(resumed), str(out_dir / f"rank{rank}_resumed.safetensors"))


if __name__ == "__main__":
    main()
