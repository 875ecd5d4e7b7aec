"""``train.precision = "auto"``: the rule of :func:`pick_fast_path`, and the Trainer using it."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch
from _train_script import Pairs, tiny_model

from cyclegan_ms import precision
from cyclegan_ms.precision import FastPath, autocast, choose_fast_path, pick_fast_path
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


def test_choose_fast_path_explicit_and_auto(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(precision, "cpu_has_bf16", lambda: True)
    auto = choose_fast_path("cpu", "auto", channels_last=True)
    assert (auto.precision, auto.channels_last, auto.compile) == ("bf16", True, False)
    explicit = choose_fast_path(torch.device("cuda"), "fp16", compile=True)
    assert (explicit.precision, explicit.tf32, explicit.compile) == ("fp16", False, True)
    assert not auto.grad_scaler("cpu").is_enabled()  # a scaler only for fp16 (on CUDA)
    with pytest.raises(ValueError, match="precision must be 'auto', 'fp32', 'bf16' or 'fp16'"):
        choose_fast_path("cpu", "fp8")  # type: ignore[arg-type]


def test_autocast_follows_the_precision() -> None:
    x = torch.ones(2, 2)
    with autocast("cpu", "bf16"):
        assert (x @ x).dtype == torch.bfloat16
    with autocast("cpu", "fp32"):
        assert (x @ x).dtype == torch.float32


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch.compile's first import
def test_trainer_applies_every_field_of_the_rule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """channels_last and compile that the rule returns are applied, not only the precision."""
    rule = FastPath("fp32", True, True, False, "test rule")
    monkeypatch.setattr(precision, "pick_fast_path", lambda device: rule)
    cfg = TrainConfig(steps=1, batch_size=2, precision="auto", progress=False, device="cpu")
    trainer = Trainer(tiny_model(), Pairs(), run_dir=tmp_path, train=cfg)
    assert trainer.setup == rule and trainer.fast_path == rule
    weight = next(p for p in trainer.model.G_ab.parameters() if p.dim() == 4)
    assert weight.is_contiguous(memory_format=torch.channels_last)
    assert trainer.prepare(torch.rand(2, 3, 8, 8)).is_contiguous(memory_format=torch.channels_last)
    for net in (*trainer.model.generators(), *trainer.model.discriminators()):
        assert net._compiled_call_impl is not None  # compiled lazily, at the first call
    plain = Trainer(
        tiny_model(), Pairs(), run_dir=tmp_path / "plain", train=TrainConfig(device="cpu")
    )
    assert plain.setup.describe() == "fp32, NCHW, eager (set explicitly)"
    assert plain.model.G_ab._compiled_call_impl is None
