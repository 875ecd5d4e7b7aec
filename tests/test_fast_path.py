"""``train.precision = "auto"``: the rule of :func:`pick_fast_path`, and the Trainer using it."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch
from _train_script import Pairs, tiny_model

from cyclegan_ms import precision
from cyclegan_ms.precision import FastPath, pick_fast_path
from cyclegan_ms.training import TrainConfig, Trainer, load_preset


def test_cpu_rule_follows_native_bf16(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(precision, "cpu_has_bf16", lambda: True)
    fp = pick_fast_path("cpu")
    assert (fp.precision, fp.channels_last, fp.compile, fp.tf32) == ("bf16", False, False, False)
    assert fp.describe().startswith("bf16 autocast, NCHW, eager (")
    monkeypatch.setattr(precision, "cpu_has_bf16", lambda: False)
    assert pick_fast_path("cpu").precision == "fp32"


def test_cuda_and_other_devices_rule() -> None:
    cuda = pick_fast_path(torch.device("cuda"))  # the rule only reads the device type
    assert (cuda.precision, cuda.tf32, cuda.channels_last) == ("fp32", True, False)
    assert "TF32" in cuda.describe()
    other = pick_fast_path("meta")
    assert (other.precision, other.tf32) == ("fp32", False)


def test_fast_path_is_frozen() -> None:
    fp = pick_fast_path("cpu")
    assert isinstance(fp, FastPath)
    with pytest.raises(AttributeError):
        fp.precision = "fp16"  # type: ignore[misc]


@pytest.mark.parametrize("native", [True, False])
def test_trainer_resolves_and_logs_auto(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, native: bool
) -> None:
    monkeypatch.setattr(precision, "cpu_has_bf16", lambda: native)
    cfg = TrainConfig(
        steps=2, batch_size=2, precision="auto", progress=False, device="cpu", checkpoint_every=0
    )
    with caplog.at_level(logging.INFO, logger="cyclegan_ms.training"):
        trainer = Trainer(tiny_model(), Pairs(), run_dir=tmp_path, train=cfg)
    expected = "bf16" if native else "fp32"
    assert trainer.precision == expected
    assert trainer.fast_path is not None and trainer.fast_path.precision == expected
    assert any(
        "train.precision = 'auto'" in r.getMessage() and expected in r.getMessage()
        for r in caplog.records
    )
    result = trainer.fit()
    assert result.step == 2 and result.skipped_steps == 0


def test_explicit_precision_is_kept(tmp_path: Path) -> None:
    cfg = TrainConfig(steps=1, batch_size=2, precision="fp32", progress=False, device="cpu")
    trainer = Trainer(tiny_model(), Pairs(), run_dir=tmp_path, train=cfg)
    assert trainer.precision == "fp32" and trainer.fast_path is None


@pytest.mark.parametrize("preset", ["seed", "night2day", "cyclegan_paper"])
def test_presets_default_to_auto(preset: str) -> None:
    assert load_preset(preset)["train"]["precision"] == "auto"
