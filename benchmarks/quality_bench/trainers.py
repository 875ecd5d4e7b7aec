"""Training a system for a budget of process CPU time, and the supervised ``paired`` reference.

Both return a :data:`Translate`: night images in [0, 1] to day images in [0, 1], whatever data
range the system trains in.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

import cyclegan_ms
from cyclegan_ms.data.pairs import train_scene_pairs
from cyclegan_ms.metrics.image import from_unit, to_unit
from cyclegan_ms.models import CUT, CycleGAN, Pix2Pix
from cyclegan_ms.registry import from_config
from cyclegan_ms.training.config import load_config
from cyclegan_ms.training.experiment import build_trainer

from .systems import common_overrides, systems

#: A trained translator: ``(N, 3, H, W)`` in [0, 1] to the same, in [0, 1].
Translate = Callable[[torch.Tensor], torch.Tensor]


def _translate_with(model: CycleGAN | CUT | Pix2Pix, value_range: tuple[float, float]) -> Translate:
    """``model.translate`` (A to B) on images in [0, 1], through the model's data range."""
    model.eval()

    def translate(x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            y = model.translate(from_unit(x, value_range))
        return to_unit(y, value_range)

    return translate


def train_unpaired(
    name: str, size: int, seed: int, minutes: float, run_dir: Path
) -> tuple[Translate, int, Translate | None]:
    """Train system ``name`` (any preset through the Trainer, pix2pix on aligned pairs included);
    return the translator a user gets (``cyclegan_ms.load``: the EMA weights when the recipe keeps
    them), the step count, and the raw last weights when EMA is on."""
    preset, extra = systems(size)[name]
    cfg = load_config(preset, [*common_overrides(size, seed, minutes), *extra])
    # the job's folder is its own scratch: a rerun (--force, or after a killed session) replaces it
    trainer = build_trainer(cfg, run_dir, overwrite="delete")
    result = trainer.fit()
    vr = trainer.value_range
    raw = _translate_with(trainer.model, vr) if cfg.train.ema_decay is not None else None
    return _translate_with(cyclegan_ms.load(run_dir), vr), result.step, raw


def train_paired(size: int, seed: int, minutes: float) -> tuple[Translate, int]:
    """The night2day generator trained with L1 on aligned pairs for the same budget: the
    supervised ceiling. Batches of the training split's night scenes with their day truth
    (:func:`~cyclegan_ms.data.pairs.train_scene_pairs`), drawn uniformly with ``seed``."""
    cfg = load_config("night2day", common_overrides(size, seed, minutes))
    torch.manual_seed(seed)
    G = from_config("generator", cfg.model["generator"])
    opt = torch.optim.Adam(G.parameters(), lr=cfg.optim_g.lr, betas=cfg.optim_g.betas)
    rng = np.random.default_rng(seed)
    bs = cfg.train.batch_size
    budget = 60.0 * minutes
    c0 = time.process_time()
    steps = 0
    G.train()
    while time.process_time() - c0 < budget:
        pairs = list(train_scene_pairs(rng.integers(0, cfg.data.num_scenes, bs), size=size))
        a = torch.stack([night for night, _ in pairs])
        b = torch.stack([day for _, day in pairs])
        with torch.autocast("cpu", torch.bfloat16):
            loss = (G(a).float() - b).abs().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        steps += 1
    G.eval()

    def translate(x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return to_unit(G(x), (0.0, 1.0))

    return translate, steps
