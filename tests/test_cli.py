"""The cyclegan-ms command line: train, resume, list, presets, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from tiny_runs import tiny_toml

from cyclegan_ms.cli import main
from cyclegan_ms.training import find_latest, load_checkpoint

TINY = tiny_toml(num_scenes=8)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    return path


def test_train_then_resume_without_repeating_flags(
    tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    assert main(["train", str(config), "--run-dir", str(run)]) == 0
    assert "done: step 2" in capsys.readouterr().out
    stored = json.loads((run / "config.json").read_text())
    assert stored["model"]["generator"]["name"] == "resnet_6blocks"
    assert main(["train", "--resume", str(run), "--set", "train.steps=4"]) == 0
    assert "done: step 4" in capsys.readouterr().out
    assert load_checkpoint(find_latest(run))["step"] == 4  # type: ignore[arg-type]
    steps = [json.loads(x)["step"] for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("train.stepz=3", "unknown config key 'train.stepz' (did you mean 'steps'?)"),
        ("train.batch_size=four", "train.batch_size must be int; got 'four'"),
        ("train.precision=fp8", "train.precision must be one of 'auto', 'fp32', 'bf16', 'fp16'"),
        ("model.generator.name=resnet_9block", "did you mean 'resnet_9blocks'"),
        ("model.generator.ngf=-1", "ngf"),
        ("data.image_size=30", "not a multiple of 4"),
        ("data.value_range=unit", "ends in a tanh"),
        ("optim.generator.betas=[0.5]", "optim.generator.betas must be a list of 2 numbers"),
    ],
)
def test_bad_config_is_one_line(
    config: Path, tmp_path: Path, override: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["train", str(config), "--run-dir", str(tmp_path / "x"), "--set", override])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err, err
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err


def test_missing_config_and_bad_toml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", str(tmp_path / "nope.toml")]) == 2
    assert "does not exist" in capsys.readouterr().err
    bad = tmp_path / "bad.toml"
    bad.write_text("[train\nsteps = 1")
    assert main(["train", str(bad)]) == 2
    assert "invalid TOML" in capsys.readouterr().err
    assert main(["train", "no_such_preset"]) == 2
    assert (
        "unknown preset 'no_such_preset'; available: cyclegan_paper, night2day, "
        "night2day_cut, night2day_fastcut, night2day_pix2pix, seed"
        in capsys.readouterr().err
    )
    assert main(["train"]) == 2
    assert "give a CONFIG" in capsys.readouterr().err
    missing = tmp_path / "runs" / "never_trained"
    assert main(["train", "--resume", str(missing)]) == 2
    err = capsys.readouterr().err
    assert f"--resume {missing}: no such folder" in err and len(err.strip().splitlines()) == 1


def test_list_and_presets(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in (
        "seed_unet",
        "resnet_9blocks",
        "seed_multiscale",
        "pyramid",
        "lsgan",
        "l1",
        "wgan_gp",
        "linear_decay",
    ):
        assert name in out
    assert main(["list", "discriminator", "--pattern", "p*"]) == 0
    out = capsys.readouterr().out
    assert "patchgan" in out and "pyramid" in out and "seed_multiscale" not in out
    assert main(["presets"]) == 0
    assert capsys.readouterr().out.split() == [
        "cyclegan_paper",
        "night2day",
        "night2day_cut",
        "night2day_fastcut",
        "night2day_pix2pix",
        "seed",
    ]


def test_console_script_help() -> None:
    exe = Path(sys.executable).parent / "cyclegan-ms"
    out = subprocess.run(
        [str(exe), "train", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "--set KEY=VALUE" in out and "--resume RUN_DIR" in out
