"""Training a system for a budget of process CPU time, and the supervised ``paired`` reference,
both through the library's Trainer.

Both return a :data:`Translate`: night images in [0, 1] to day images in [0, 1], whatever data
range the system trains in.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch

import cyclegan_ms
from cyclegan_ms.metrics.image import from_unit, to_unit
from cyclegan_ms.models import CUT, CycleGAN, Pix2Pix
from cyclegan_ms.training.config import load_config
from cyclegan_ms.training.experiment import build_trainer

from .systems import PAIRED_OVERRIDES, PAIRED_PRESET, common_overrides, systems

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


def train_paired(size: int, seed: int, minutes: float, run_dir: Path) -> tuple[Translate, int]:
    """The supervised ceiling: the night2day generator trained on aligned (night, day) pairs of
    the training scenes (:class:`~cyclegan_ms.data.ScenePairs`) with L1 alone, for the same
    budget, through the Trainer: the ``night2day_pix2pix`` preset with its GAN term off
    (``model.adversarial_weight = 0``) and without the weight average (the raw weights, as this
    ceiling has always been scored). Returns the translator and the step count."""
    overrides = [*common_overrides(size, seed, minutes), *PAIRED_OVERRIDES]
    cfg = load_config(PAIRED_PRESET, overrides)
    cfg.train.ema_decay = None  # no TOML value unsets a key
    trainer = build_trainer(cfg, run_dir, overwrite="delete")
    result = trainer.fit()
    return _translate_with(cyclegan_ms.load(run_dir), trainer.value_range), result.step
