"""Where a generator for inference comes from: a model, a trainer checkpoint, or a generator file.

A *generator file* is the small ``.safetensors`` written by
``cyclegan-ms export --format safetensors``: one generator's weights plus, in the file's metadata,
its registry config, the data range and the direction it translates, so it can be rebuilt
without the rest of the training state.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TypeAlias

import torch
import torch.nn as nn
from safetensors import safe_open
from safetensors.torch import load_file
from safetensors.torch import save as st_save

from .._checks import check_value_range
from ..generators import GeneratorCard, card_of, set_card
from ..generators.card import Direction, check_direction
from ..protocols import TranslationModelProtocol
from ..registry import config_of, from_config
from ..utils.files import atomic_write_bytes

__all__ = [
    "GENERATOR_META_KEY",
    "Direction",
    "ModelSource",
    "generator_notes",
    "is_generator_file",
    "load_generator",
    "resolve_generator",
    "resolve_generator_card",
    "save_generator",
]

#: What inference accepts as a model: a model (a CycleGAN, CUT, pix2pix: any
#: :class:`~cyclegan_ms.protocols.TranslationModelProtocol`), a generator module, or a path to a
#: trainer checkpoint, a run folder or a generator file.
ModelSource: TypeAlias = nn.Module | str | os.PathLike[str]

#: Metadata key of a generator file.
GENERATOR_META_KEY = "cyclegan_ms_generator"
_FORMAT_VERSION = 1


def save_generator(
    generator: nn.Module,
    path: str | os.PathLike[str],
    *,
    value_range: tuple[float, float] = (0.0, 1.0),
    direction: Direction | None = None,
    step: int = 0,
    source: str | None = None,
    notes: Mapping[str, object] | None = None,
) -> Path:
    """Write one generator as a self-describing ``.safetensors`` file, atomically.

    Parameters
    ----------
    generator
        A generator built by name through the registry (so it can describe itself).
    path
        Output file.
    value_range
        Data range of its inputs and outputs.
    direction
        What it translates (``"a2b"``/``"b2a"``), recorded for the user; optional.
    step
        Training step the weights come from.
    source
        Where the weights come from when not trained here (an imported checkpoint); optional.
    notes
        Plain facts recorded with it (JSON), e.g. a distilled student's teacher, width and
        FLOPs (:func:`~cyclegan_ms.training.distillation.distill`); read back with
        :func:`generator_notes`.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ValueError
        If the generator was not built through the registry, or ``value_range`` is invalid.

    Shape
    -----
    The generator's own (``(B, C, H, W) -> (B, C_out, H, W)``); the file holds its weights.
    """
    meta = {
        "format_version": _FORMAT_VERSION,
        "generator": config_of(generator),
        "value_range": list(check_value_range(value_range)),
        "direction": None if direction is None else check_direction(direction),
        "step": int(step),
    }
    if source is not None:
        meta["source"] = str(source)
    if notes:
        meta["notes"] = dict(notes)
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in generator.state_dict().items()}
    path = Path(path)
    # serialised in memory, then written atomically: a disk that refuses the file raises a
    # WriteError that knows its size (safetensors' own file writer reports no errno)
    atomic_write_bytes(path, st_save(tensors, metadata={GENERATOR_META_KEY: json.dumps(meta)}))
    return path


def _metadata(path: Path) -> dict[str, str]:
    try:
        with safe_open(str(path), framework="pt") as f:
            return dict(f.metadata() or {})
    except Exception:  # not a safetensors file
        return {}


def generator_notes(path: str | os.PathLike[str]) -> dict[str, object]:
    """The ``notes`` a generator file was written with (:func:`save_generator`; ``{}`` when
    none)."""
    raw = _metadata(Path(path)).get(GENERATOR_META_KEY)
    notes = json.loads(raw).get("notes") if raw else None
    return dict(notes) if isinstance(notes, dict) else {}


def is_generator_file(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a generator file written by :func:`save_generator`."""
    p = Path(path)
    return p.is_file() and GENERATOR_META_KEY in _metadata(p)


def load_generator(
    path: str | os.PathLike[str], *, device: str | torch.device = "cpu"
) -> nn.Module:
    """Rebuild a generator from a file written by :func:`save_generator`.

    Parameters
    ----------
    path
        The ``.safetensors`` generator file.
    device
        Where to put it.

    Returns
    -------
    nn.Module
        The generator in eval mode; its card (:func:`~cyclegan_ms.generators.card_of`) carries
        the stored ``value_range``, ``direction`` (``"a2b"``, ``"b2a"`` or ``None``),
        ``step`` and ``source``.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If it is not a generator file.

    Shape
    -----
    The generator's own: ``(B, C, H, W) -> (B, C_out, H, W)``.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"no generator file at {p}")
    raw = _metadata(p).get(GENERATOR_META_KEY)
    if raw is None:
        raise ValueError(
            f"{p} is not a cyclegan_ms generator file (written by `cyclegan-ms export --format "
            "safetensors`); for a trainer checkpoint use cyclegan_ms.load"
        )
    meta = json.loads(raw)
    generator = from_config("generator", meta["generator"])
    if not isinstance(generator, nn.Module):  # pragma: no cover - registry contract
        raise ValueError(f"{p}: its generator config did not build a module")
    generator.load_state_dict(load_file(str(p)))
    direction = meta.get("direction")
    card = dataclasses.replace(
        card_of(generator),
        value_range=check_value_range(meta.get("value_range", (0.0, 1.0))),
        direction=None if direction is None else check_direction(direction),
        step=int(meta.get("step", 0)),
        source=meta.get("source"),
    )
    set_card(generator, card)
    return generator.to(device).eval()


def _translator(model: TranslationModelProtocol, direction: Direction) -> nn.Module:
    translators = model.translators()
    if direction not in translators:
        raise ValueError(
            f"{type(model).__name__} translates only {', '.join(translators)}; not {direction!r}"
        )
    return translators[direction]


def resolve_generator_card(
    source: ModelSource,
    direction: Direction = "a2b",
    *,
    ema: bool | None = None,
    device: str | torch.device | None = None,
    value_range: tuple[float, float] | None = None,
) -> tuple[nn.Module, GeneratorCard]:
    """The generator that translates in ``direction``, and its card as inference should use it.

    Parameters
    ----------
    source
        A model (:class:`~cyclegan_ms.protocols.TranslationModelProtocol`: a
        :class:`~cyclegan_ms.CycleGAN`'s ``G_ab`` or ``G_ba``, a CUT's or pix2pix's ``G``; the
        card takes the model's ``value_range`` and ``checkpoint_step``); a generator module (used as is, whatever
        ``direction`` says; its card as :func:`~cyclegan_ms.generators.card_of` reads it); or a
        path: a trainer checkpoint, a run folder (its newest checkpoint), a generator file, or
        a ``.pth`` generator of the reference CycleGAN/pix2pix code (imported with
        :func:`~cyclegan_ms.inference.import_reference`, translating ``direction``).
    direction
        ``"a2b"`` or ``"b2a"``.
    ema
        For checkpoints: use the EMA weights (``None``: when present).
    device
        Where to load a checkpoint (modules are not moved here). Default CPU.
    value_range
        Override the data range of the card.

    Returns
    -------
    tuple
        ``(generator, card)``; the card's ``direction`` is ``direction`` and its ``step`` the
        training step of the weights. The generator itself is not modified.

    Raises
    ------
    FileNotFoundError
        For a path with no checkpoint.
    ValueError
        For a bad direction or value range, a generator file of the other direction, or a
        model that does not translate ``direction``.
    TypeError
        If ``source`` is none of the accepted kinds.

    Shape
    -----
    The generator's own: ``(B, C, H, W) -> (B, C_out, H, W)``.
    """
    direction = check_direction(direction)
    if isinstance(source, nn.Module) and isinstance(source, TranslationModelProtocol):
        generator: nn.Module = _translator(source, direction)
        card = dataclasses.replace(
            card_of(generator),
            value_range=source.value_range,
            step=source.checkpoint_step or card_of(generator).step,
        )
    elif isinstance(source, nn.Module):
        generator = source
        card = card_of(generator)
    elif isinstance(source, (str, os.PathLike)):
        p = Path(source)
        if not p.exists():
            raise FileNotFoundError(f"no checkpoint at {p}")
        dev = device if device is not None else "cpu"
        if is_generator_file(p):
            generator = load_generator(p, device=dev)
            card = card_of(generator)
            if card.direction is not None and card.direction != direction:
                raise ValueError(
                    f"{p} holds the {card.direction} generator; it cannot translate {direction} "
                    f"(use direction={card.direction!r} or export the other one)"
                )
        elif p.suffix == ".pth":  # a network saved by the reference CycleGAN/pix2pix code
            from .reference import import_reference

            generator = import_reference(p, direction=direction).to(dev)
            card = card_of(generator)
        else:
            from ..loading import load

            model = load(p, ema=ema, device=dev)
            generator = _translator(model, direction)
            card = card_of(generator)
    else:
        raise TypeError(
            "model must be a model (CycleGAN, CUT, pix2pix), a generator module, or a path to a checkpoint, run folder "
            f"or generator file; got {type(source).__name__}"
        )
    rng = check_value_range(value_range if value_range is not None else card.value_range)
    return generator, dataclasses.replace(card, value_range=rng, direction=direction)


def resolve_generator(
    source: ModelSource,
    direction: Direction = "a2b",
    *,
    ema: bool | None = None,
    device: str | torch.device | None = None,
    value_range: tuple[float, float] | None = None,
) -> tuple[nn.Module, tuple[float, float]]:
    """The generator that translates in ``direction``, and its data range.

    :func:`resolve_generator_card` with only the card's ``value_range`` (which see for the
    parameters).

    Returns
    -------
    tuple
        ``(generator, (low, high))``.

    Raises
    ------
    FileNotFoundError
        For a path with no checkpoint.
    ValueError
        For a bad direction or value range, or a generator file of the other direction.
    TypeError
        If ``source`` is none of the accepted kinds.

    Shape
    -----
    The generator's own: ``(B, C, H, W) -> (B, C_out, H, W)``.
    """
    generator, card = resolve_generator_card(
        source, direction, ema=ema, device=device, value_range=value_range
    )
    return generator, card.value_range
