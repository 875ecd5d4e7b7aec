"""Rebuild a trained model from a checkpoint alone."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import torch

from .checkpoint import CheckpointError, ema_weights, find_latest, load_checkpoint
from .generators import card_of, set_card
from .models import build_model
from .protocols import TranslationModule

__all__ = ["load"]


def load(
    path: str | os.PathLike[str],
    *,
    ema: bool | None = None,
    device: str | torch.device = "cpu",
) -> TranslationModule:
    """Rebuild a trained model from a checkpoint (file or run folder).

    The checkpoint stores the model's registry name (``[model] name``; a
    :class:`~cyclegan_ms.CycleGAN` when absent) and the names and arguments of every part, so
    no flags need to be repeated. The model is returned in eval mode, with ``model.value_range``
    set to the data range it was trained on and ``model.checkpoint_step`` to the checkpoint's
    step; the card of each of its generators that translates
    (:func:`~cyclegan_ms.generators.card_of`) carries the same facts and its direction (a
    CycleGAN's ``G_ab``: ``"a2b"``, ``G_ba``: ``"b2a"``; a CUT or pix2pix ``G``: ``"a2b"``).

    Parameters
    ----------
    path
        A ``.safetensors`` checkpoint written by the trainer, or a run folder (its newest
        checkpoint is used).
    ema
        Use the EMA generator weights. ``None`` (default): use them when the checkpoint has them.
    device
        Where to put the model.

    Returns
    -------
    TranslationModule
        The model (:class:`~cyclegan_ms.CycleGAN`, :class:`~cyclegan_ms.models.CUT`,
        :class:`~cyclegan_ms.models.Pix2Pix`, ...), in eval mode, on ``device``.

    Raises
    ------
    FileNotFoundError
        No checkpoint at ``path``.
    CheckpointError
        Not a cyclegan_ms checkpoint, a pickle (refused), or one whose parts were not built
        through the registry.

    Examples
    --------
    .. code-block:: python

        model = cyclegan_ms.load("runs/night_to_day")
        day = model.translate(night)  # (B, 3, H, W) in model.value_range
    """
    p = Path(path)
    if p.is_dir():
        found = find_latest(p)
        if found is None:
            raise FileNotFoundError(
                f"no checkpoint in {p} (looked for checkpoints/step_*.safetensors)"
            )
        p = found
    state = load_checkpoint(p)
    model_config = state.get("model_config")
    if not model_config:
        raise CheckpointError(
            f"{p} does not describe its model (parts were not built by name through the "
            "registry); build the model yourself and load state['model'] into it"
        )
    model = build_model(model_config)
    model.load_state_dict(state["model"])
    ema_state = state.get("ema")
    if ema is True and not ema_state:
        raise CheckpointError(f"{p} has no EMA weights (train with train.ema_decay to keep them)")
    if ema_state and ema is not False:
        for name, generator in model.averaged_generators().items():
            generator.load_state_dict(ema_weights(ema_state[name]))
    lo, hi = state.get("value_range", (0.0, 1.0))
    value_range = (float(lo), float(hi))
    step = int(state.get("step", 0))
    model.value_range = value_range
    model.checkpoint_step = step
    for direction, generator in model.translators().items():
        card = dataclasses.replace(
            card_of(generator), value_range=value_range, direction=direction, step=step
        )
        set_card(generator, card)
    return model.to(device).eval()
