"""The checkpoint schema below training and inference: format migration, EMA layout, RNG."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from cyclegan_ms import load
from cyclegan_ms.checkpoint import (
    TRAINER_FORMAT,
    ema_weights,
    find_latest,
    load_checkpoint,
    load_rng_state,
    rng_state,
    save_checkpoint,
    upgrade_trainer_state,
)
from cyclegan_ms.training import TrainConfig, Trainer
from cyclegan_ms.training.distributed import DistInfo, agree_max, losses_to_host

sys.path.insert(0, str(Path(__file__).parent))
from _train_script import Pairs, tiny_model


def _trainer(run_dir: Path, steps: int) -> Trainer:
    torch.manual_seed(0)
    cfg = TrainConfig(
        steps=steps, batch_size=2, log_every=1, progress=False, checkpoint_every=0, ema_decay=0.9
    )
    return Trainer(tiny_model(), Pairs(), run_dir=run_dir, train=cfg)


def test_upgrade_keeps_current_and_migrates_format_1() -> None:
    current = {"format": TRAINER_FORMAT, "sampler": {"epoch": 1, "position": 4}}
    assert upgrade_trainer_state(current, batch_size=2) == current
    old = {"format": "cyclegan_ms.trainer/1", "epoch": 3, "batch_in_epoch": 2}
    new = upgrade_trainer_state(old, batch_size=4)
    assert new["format"] == TRAINER_FORMAT and new["sampler"] == {"epoch": 3, "position": 8}
    assert old == {"format": "cyclegan_ms.trainer/1", "epoch": 3, "batch_in_epoch": 2}
    with pytest.raises(ValueError, match="not a trainer checkpoint"):
        upgrade_trainer_state({"format": "x"}, batch_size=1)


def test_a_format_1_checkpoint_resumes_exactly(tmp_path: Path) -> None:
    _trainer(tmp_path / "full", 3).fit()
    _trainer(tmp_path / "half", 1).fit()
    state = load_checkpoint(find_latest(tmp_path / "half"))  # type: ignore[arg-type]
    state["format"] = "cyclegan_ms.trainer/1"
    state["batch_in_epoch"] = state.pop("sampler")["position"] // 2
    save_checkpoint(tmp_path / "old" / "checkpoints" / "step_00000001.safetensors", state)
    resumed = _trainer(tmp_path / "old", 3)
    assert resumed.resume(tmp_path / "old") == 1
    resumed.fit()
    a = load_checkpoint(find_latest(tmp_path / "full"))  # type: ignore[arg-type]
    b = load_checkpoint(find_latest(tmp_path / "old"))  # type: ignore[arg-type]
    assert b["format"] == TRAINER_FORMAT and b["sampler"] == a["sampler"]
    for k, v in a["model"].items():
        assert torch.equal(v, b["model"][k]), k


def test_ema_layout_is_what_load_reads(tmp_path: Path) -> None:
    _trainer(tmp_path, 1).fit()
    state = load_checkpoint(find_latest(tmp_path))  # type: ignore[arg-type]
    assert set(state["ema"]) == {"G_ab", "G_ba"} and "n_averaged" in state["ema"]["G_ab"]
    weights = ema_weights(state["ema"]["G_ab"])
    model = load(tmp_path)
    assert weights.keys() == model.G_ab.state_dict().keys()
    for k, v in model.G_ab.state_dict().items():
        assert torch.equal(v, weights[k]), k


def test_rng_state_round_trips() -> None:
    saved = rng_state()
    expected = (random.random(), float(np.random.rand()), float(torch.rand(())))
    load_rng_state(saved)
    assert (random.random(), float(np.random.rand()), float(torch.rand(()))) == expected


def test_single_process_reductions_are_the_identity() -> None:
    one = DistInfo()
    losses = {"g_total": torch.tensor(1.5), "d_total": torch.tensor(0.25)}
    assert losses_to_host(losses, one) == ({"g_total": 1.5, "d_total": 0.25}, 0.0)
    assert losses_to_host(losses, one, stop=2.0)[1] == 2.0
    assert losses_to_host({**losses, "bad": torch.tensor(float("nan"))}, one)[0] is None
    assert agree_max(2.0, one, torch.device("cpu")) == 2.0
    assert one.local_device(torch.device("cuda", 3)) == torch.device("cuda", 3)


def test_a_checkpoint_whose_header_length_starts_like_a_pickle_loads(tmp_path: Path) -> None:
    """A safetensors file starts with its header's length, little-endian: for one checkpoint in
    32 (headers are padded to 8 bytes) the first byte is 0x80, that of a pickle. Such a
    checkpoint was refused as a pickle; it must load (and pickles still be refused)."""
    path = tmp_path / "c.safetensors"
    for k in range(300):
        save_checkpoint(path, {"step": 1, "pad": "x" * k, "w": torch.zeros(2)})
        if path.read_bytes()[:1] == b"\x80":
            break
    else:
        pytest.fail("no header length ending in 0x80 found")
    state = load_checkpoint(path)
    assert state["pad"] == "x" * k and torch.equal(state["w"], torch.zeros(2))
    import pickle

    from cyclegan_ms.checkpoint import CheckpointError

    path.write_bytes(pickle.dumps({"step": 1}) + b"{" * 64)
    with pytest.raises(CheckpointError, match="refuses to unpickle"):
        load_checkpoint(path)
