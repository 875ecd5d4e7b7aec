"""Fine-tuning: start a new run from another run's weights, and one-line weight mismatches.

:func:`init_weights` copies the generators (and, unless told otherwise, the discriminators) of a
checkpoint into a :class:`~cyclegan_ms.training.Trainer` that has not trained yet; everything
else of the new run (optimisers, step, schedule, image pools, data order) starts afresh. It is
what ``train.init_from`` and ``cyclegan-ms train CONFIG --init-from RUN`` do.

:func:`state_mismatch` names, in one line, the first weight that does not fit a model: the
error of a fine-tuning source or a resumed checkpoint built with other settings.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch.nn as nn
from torch import Tensor

from ..checkpoint import ema_weights, find_latest, load_checkpoint
from .config import ConfigError, InitEma, InitPart

if TYPE_CHECKING:
    from .trainer import Trainer

__all__ = ["checkpoint_of", "init_weights", "state_mismatch"]

logger = logging.getLogger("cyclegan_ms.training")


def state_mismatch(
    expected: Mapping[str, Tensor], given: Mapping[str, Tensor], *, prefix: str = ""
) -> str | None:
    """The first difference between a model's state dict and one to load into it, in one line.

    Parameters
    ----------
    expected
        The model's own ``state_dict()``.
    given
        The weights to load.
    prefix
        Put before every key in the message (e.g. ``"G_ab."``).

    Returns
    -------
    str or None
        ``"G_ab.model.1.weight: (8, 3, 7, 7) in the checkpoint, (16, 3, 7, 7) in the model"``,
        a missing or unexpected key, or ``None`` when every key and shape agree.

    Shape
    -----
    No tensors are computed: only the shapes of both state dicts are compared.
    """
    for key, value in expected.items():
        if key not in given:
            return f"{prefix}{key} {tuple(value.shape)} is in the model but not in the checkpoint"
        got = tuple(given[key].shape)
        if got != tuple(value.shape):
            return f"{prefix}{key}: {got} in the checkpoint, {tuple(value.shape)} in the model"
    for key, value in given.items():
        if key not in expected:
            return f"{prefix}{key} {tuple(value.shape)} is in the checkpoint but not in the model"
    return None


def checkpoint_of(source: str | os.PathLike[str], *, what: str = "init_from") -> Path:
    """The checkpoint file ``source`` names: itself, or the newest checkpoint of a run folder.

    Raises
    ------
    FileNotFoundError
        No such file or folder, or a folder without checkpoints (the message names ``what``).
    """
    path = Path(source)
    if path.is_file():
        return path
    if not path.exists():
        raise FileNotFoundError(
            f"{what} {path}: no such run folder or checkpoint file (give a run folder that "
            "`cyclegan-ms train` wrote, or one of its checkpoints/step_*.safetensors)"
        )
    found = find_latest(path)
    if found is None:
        raise FileNotFoundError(
            f"{what} {path}: no checkpoint there (looked for checkpoints/step_*.safetensors)"
        )
    return found


def _named(model: nn.Module, parts: Iterable[nn.Module]) -> list[str]:
    wanted = {id(p) for p in parts}
    return [name for name, child in model.named_children() if id(child) in wanted]


def _sub_state(state: Mapping[str, Tensor], name: str) -> dict[str, Tensor]:
    head = f"{name}."
    return {k[len(head) :]: v for k, v in state.items() if k.startswith(head)}


def init_weights(
    trainer: Trainer,
    source: str | os.PathLike[str],
    *,
    parts: Iterable[InitPart] = ("generators", "discriminators"),
    ema: InitEma = "source",
) -> Path:
    """Copy a checkpoint's weights into a trainer that starts a new run (fine-tuning).

    Parameters
    ----------
    trainer
        A trainer that has not trained yet (its optimisers, step, pools and data order are left
        as they are: fresh).
    source
        A run folder (its newest checkpoint) or a trainer checkpoint file.
    parts
        ``"generators"`` and/or ``"discriminators"``: what is copied; the other parts keep their
        initialisation.
    ema
        When the trainer keeps EMA generators and the generators are copied: ``"source"`` starts
        them from the source's EMA when it has one (else from the copied weights), ``"weights"``
        from the copied weights.

    Returns
    -------
    Path
        The checkpoint file the weights came from.

    Raises
    ------
    FileNotFoundError
        No checkpoint at ``source``.
    ConfigError
        The source's weights do not fit the model (the message names the first key and both
        shapes), or it was trained on another data range.
    cyclegan_ms.checkpoint.CheckpointError
        ``source`` is not a cyclegan_ms checkpoint.

    Shape
    -----
    No tensors are computed; the weights keep their shapes.
    """
    path = checkpoint_of(source)
    state: Mapping[str, Any] = load_checkpoint(path)
    weights = state.get("model")
    if not isinstance(weights, Mapping):
        raise ConfigError(
            f"init_from {path}: not a trainer checkpoint (no model weights); give a run folder "
            "or a checkpoints/step_*.safetensors file"
        )
    chosen = tuple(parts)
    model = trainer.model
    names: list[str] = []
    if "generators" in chosen:
        names += _named(model, model.generators())
    if "discriminators" in chosen:
        names += _named(model, model.discriminators())
    stored = state.get("value_range")
    if stored is not None:
        lo, hi = (float(v) for v in stored)
        if (lo, hi) != trainer.value_range:
            raise ConfigError(
                f"init_from {path}: the source was trained on data in [{lo:g}, {hi:g}] but this "
                f"run's data are in [{trainer.value_range[0]:g}, {trainer.value_range[1]:g}]; "
                "set data.value_range as the source's"
            )
    for name in names:
        own = getattr(model, name).state_dict()
        problem = state_mismatch(own, _sub_state(weights, name), prefix=f"{name}.")
        if problem is not None:
            raise ConfigError(
                f"init_from {path}: the weights do not fit this model ({problem}); fine-tuning "
                "needs the source's architecture ([model] tables as in its config.json)"
            )
    for name in names:
        getattr(model, name).load_state_dict(_sub_state(weights, name))
    source_ema = state.get("ema")
    if trainer.ema is not None and "generators" in chosen:
        for name, average in trainer.ema.items():
            if ema == "source" and source_ema and name in source_ema:
                entry = source_ema[name]
                problem = state_mismatch(
                    average.module.state_dict(), ema_weights(entry), prefix=f"ema.{name}."
                )
                if problem is not None:
                    raise ConfigError(f"init_from {path}: its EMA does not fit ({problem})")
                average.load_state_dict(entry)
            else:  # the EMA starts at the copied weights (its first update copies them)
                average.module.load_state_dict(getattr(model, name).state_dict())
    logger.info(
        "init_from %s (step %s): copied %s", path, state.get("step", "?"), ", ".join(chosen)
    )
    return path
