"""Distillation: the model, the Trainer without discriminators, distill() and the command."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import cyclegan_ms as cms
from cyclegan_ms.checkpoint import find_latest, load_checkpoint
from cyclegan_ms.cli import main
from cyclegan_ms.inference import Translator, save_generator
from cyclegan_ms.inference.source import generator_notes
from cyclegan_ms.models import build_model
from cyclegan_ms.training import ConfigError
from cyclegan_ms.training.distillation import Distillation, gflops, student_config

TEACHER = {
    "name": "seed_unet",
    "base_width": 8,
    "depth": 3,
    "bottleneck": "conv",
    "upsample": "resize",
    "residual": "add",
}
FAST = [
    "data.image_size=32",
    "train.batch_size=2",
    "train.device=cpu",
    "train.precision=fp32",
    "train.checkpoint_every=0",
]


def _teacher_module() -> torch.nn.Module:
    torch.manual_seed(0)
    g = cms.from_config("generator", TEACHER)
    with torch.no_grad():  # not the identity the residual head starts as
        for p in g.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return g.eval()


@pytest.fixture
def teacher_file(tmp_path: Path) -> Path:
    return save_generator(_teacher_module(), tmp_path / "teacher.safetensors", direction="a2b")


def test_teacher_is_frozen_and_never_a_sub_module(teacher_file: Path) -> None:
    m = Distillation({**TEACHER, "base_width": 2}, str(teacher_file))
    assert [n for n, _ in m.named_children()] == ["student", "reconstruction"]
    x = torch.rand(2, 3, 32, 32)
    out = m.generator_objective(x, torch.rand(2, 3, 32, 32))
    out.losses["total"].backward()
    assert float(out.losses["l1"].detach()) > 0
    assert all(p.grad is not None for p in m.student.parameters() if p.requires_grad)
    assert all(not p.requires_grad and p.grad is None for p in m.teacher().parameters())
    assert not any(k.startswith("_teacher") for k in m.state_dict())
    assert m.discriminators() == [] and list(m.translators()) == ["a2b"]


def test_config_rebuilds_it_and_a_module_teacher_cannot_be_named(teacher_file: Path) -> None:
    m = Distillation({**TEACHER, "base_width": 2}, str(teacher_file))
    again = build_model(m.config())
    assert isinstance(again, Distillation) and again.config() == m.config()
    with pytest.raises(ValueError, match="teacher was given as a module"):
        Distillation({**TEACHER, "base_width": 2}, _teacher_module()).config()
    with pytest.raises(TypeError, match="teacher must be a run folder"):
        Distillation(TEACHER, 3)  # type: ignore[arg-type]


def test_student_config_by_width_name_and_toml(tmp_path: Path) -> None:
    assert student_config(TEACHER)["base_width"] == 2  # a quarter of the teacher's 8
    # a width left at its default is not in the config: seed_unet's 16 gives 4
    assert student_config({"name": "seed_unet"}) == {"name": "seed_unet", "base_width": 4}
    assert student_config(TEACHER, width=3) == {**TEACHER, "base_width": 3}
    assert student_config(None, "resnet_6blocks", width=8) == {"name": "resnet_6blocks", "ngf": 8}
    toml = tmp_path / "s.toml"
    toml.write_text('[generator]\nname = "unet_128"\nngf = 4\n')
    assert student_config(TEACHER, str(toml)) == {"name": "unet_128", "ngf": 4}
    toml.write_text("steps = 3\n")
    with pytest.raises(ConfigError, match="holds no generator table"):
        student_config(TEACHER, str(toml))
    with pytest.raises(ConfigError, match="was not built by name"):
        student_config(None)


def test_gflops_scale_with_width_squared() -> None:
    small = gflops(cms.from_config("generator", {**TEACHER, "base_width": 2}), 64, 64)
    big = gflops(cms.from_config("generator", TEACHER), 64, 64)
    assert 8 < big / small < 20  # 16x the multiply-adds of the convolutions, minus the head


def test_distill_trains_a_student_that_approaches_the_teacher(
    teacher_file: Path, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    r0 = cms.distill(teacher_file, run_dir=run, overrides=[*FAST, "train.steps=1"])
    first = r0.train.last_losses["g_l1"]
    r = cms.distill(
        teacher_file,
        run_dir=run,
        resume=run,
        overrides=[*FAST, "train.steps=25", "train.eval_every=25", "train.eval_scenes=2"],
    )
    assert r.train.step == 25  # resumed at 1, not restarted
    assert r.train.last_losses["g_l1"] < first
    assert "d_total" not in r.train.last_losses  # no discriminator step
    notes = generator_notes(r.student)
    assert notes["teacher"] == str(teacher_file) and notes["width"] == 2
    assert 0 < float(notes["gflops_256"]) < float(notes["teacher_gflops_256"]) / 8
    events = (run / "metrics.jsonl").read_text()
    assert '"eval_psnr_teacher"' in events and '"eval_psnr"' in events
    state = load_checkpoint(find_latest(run))
    assert not any("teacher" in k for k in state["model"])  # never saved
    assert (run / "checkpoints" / "best.safetensors").is_file()
    # the student works without its teacher: the file and the run folder both translate
    teacher_file.unlink()
    x = torch.rand(1, 3, 40, 56)
    from_file = Translator(r.student, tile=None).tensor(x)
    from_run = Translator(run, tile=None).tensor(x)
    assert from_file.shape == x.shape and torch.allclose(from_file, from_run, atol=1e-5)


def test_distill_command(
    teacher_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "cli_run"
    args = ["distill", "--teacher", str(teacher_file), "--width", "3", "--run-dir", str(run)]
    for s in [*FAST, "train.steps=2"]:
        args += ["--set", s]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert f"wrote {run / 'student.safetensors'} (width 3," in out
    assert load_generator_width(run / "student.safetensors") == 3


def load_generator_width(path: Path) -> int:
    from cyclegan_ms.inference import load_generator
    from cyclegan_ms.registry import config_of

    return int(config_of(load_generator(path))["base_width"])  # type: ignore[call-overload]
