"""A newcomer's first hour (issue 28): the command line with one's own parts, honest checks,
one-line mismatches, and the smaller items."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cyclegan_ms.cli import main

TINY = """
[model.generator]
name = "resnet_6blocks"
ngf = 4

[model.discriminator]
name = "patchgan"
ndf = 4
n_layers = 2

[data]
source = "scenes"
image_size = 32
num_scenes = 6
value_range = "symmetric"
recipe = "paper"
load_size = 36

[train]
steps = 2
batch_size = 2
log_every = 1
progress = false
checkpoint_every = 1
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished two-step run of the tiny config."""
    root = tmp_path_factory.mktemp("run")
    cfg = root / "tiny.toml"
    cfg.write_text(TINY)
    assert main(["train", str(cfg), "--run-dir", str(root / "run")]) == 0
    return root / "run"


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


# --------------------------------------------------------------------------- 4: config vs checkpoint
def test_resume_with_a_config_that_does_not_fit_is_one_line_status_2(
    run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["train", "--resume", str(run), "--run-dir", str(tmp_path / "other")]
    assert main([*args, "--set", "model.generator.ngf=8"]) == 2
    err = _one_line_error(capsys)
    assert re.search(
        r"G_ab\.\S+: \(4, 3, 7, 7\) in the checkpoint, \(8, 3, 7, 7\) in the model", err
    )


def test_resume_on_other_data_points_at_init_from(
    run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["train", "--resume", str(run), "--run-dir", str(tmp_path / "other")]
    assert main([*args, "--set", "data.num_scenes=8"]) == 2
    err = _one_line_error(capsys)
    assert f"--init-from {run}" in err and "len_a=6" in err


# --------------------------------------------------------------------------- 8: smaller items
def test_resume_of_a_finished_run_says_nothing_to_do(
    run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["train", "--resume", str(run), "--run-dir", str(tmp_path / "copy")]) == 0
    out = capsys.readouterr().out
    assert "nothing to do: the run is already at step 2" in out
    assert "train.steps is the run's total" in out
