"""Exports and generator files carry the card of the checkpoint they come from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from cyclegan_ms import CycleGAN, load
from cyclegan_ms.checkpoint import save_checkpoint
from cyclegan_ms.generators import card_of
from cyclegan_ms.inference import export, load_generator, resolve_generator
from cyclegan_ms.inference.source import GENERATOR_META_KEY

TINY_G = {"name": "resnet_6blocks", "ngf": 4, "output": "tanh"}
TINY_D = {"name": "patchgan", "ndf": 4, "n_layers": 2}
STEP = 37


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A trainer-style checkpoint at step 37 of a model trained on [-1, 1] data."""
    torch.manual_seed(0)
    model = CycleGAN(G_ab=TINY_G, G_ba=TINY_G, D_a=TINY_D, D_b=TINY_D)
    path = tmp_path_factory.mktemp("run") / "checkpoints" / "step_00000037.safetensors"
    path.parent.mkdir(parents=True)
    state = {
        "model": model.state_dict(),
        "model_config": model.config(),
        "step": STEP,
        "value_range": [-1.0, 1.0],
    }
    save_checkpoint(path, state)
    return path


def _file_meta(path: Path) -> dict:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        return json.loads((f.metadata() or {})[GENERATOR_META_KEY])


def test_export_from_a_checkpoint_path_records_its_step(checkpoint: Path, tmp_path: Path) -> None:
    """Regression: exporting from a checkpoint *path* used to record step 0."""
    out = export(checkpoint, tmp_path / "g.safetensors", direction="b2a")
    meta = _file_meta(out)
    assert meta["step"] == STEP
    assert meta["value_range"] == [-1.0, 1.0] and meta["direction"] == "b2a"
    card = card_of(load_generator(out))
    assert (card.step, card.value_range, card.direction) == (STEP, (-1.0, 1.0), "b2a")


def test_export_from_a_run_folder_records_its_step(checkpoint: Path, tmp_path: Path) -> None:
    out = export(checkpoint.parent.parent, tmp_path / "g.safetensors")
    assert _file_meta(out)["step"] == STEP


def test_load_puts_the_training_facts_on_the_generators_cards(checkpoint: Path) -> None:
    model = load(checkpoint)
    assert model.checkpoint_step == STEP and model.value_range == (-1.0, 1.0)
    for g, direction in ((model.G_ab, "a2b"), (model.G_ba, "b2a")):
        card = card_of(g)
        assert (card.step, card.value_range, card.direction) == (STEP, (-1.0, 1.0), direction)
        assert card.config is not None and card.config["name"] == "resnet_6blocks"


def test_exporting_a_loaded_model_or_its_generator_keeps_the_step(
    checkpoint: Path, tmp_path: Path
) -> None:
    model = load(checkpoint)
    assert _file_meta(export(model, tmp_path / "m.safetensors"))["step"] == STEP
    assert (
        _file_meta(export(model.G_ba, tmp_path / "g.safetensors", direction="b2a"))["step"] == STEP
    )


def test_re_export_of_a_generator_file_keeps_its_card(checkpoint: Path, tmp_path: Path) -> None:
    first = export(checkpoint, tmp_path / "first.safetensors")
    second = export(first, tmp_path / "second.safetensors")
    assert _file_meta(second)["step"] == STEP
    assert _file_meta(second)["value_range"] == [-1.0, 1.0]


def test_resolve_generator_reads_the_card_of_a_module(checkpoint: Path) -> None:
    g = load_generator(export(checkpoint, checkpoint.parent / "x.safetensors"))
    _, rng = resolve_generator(g)
    assert rng == (-1.0, 1.0)
