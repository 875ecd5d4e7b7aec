"""A newcomer's first hour (issue 28): the command line with one's own parts, honest checks,
one-line mismatches, and the smaller items."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from tiny_runs import tiny_toml

from cyclegan_ms import registry
from cyclegan_ms.cli import main

TINY = tiny_toml()


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


# --------------------------------------------------------------------------- 1: plugins
PARTS = """
import torch.nn as nn

from cyclegan_ms import register


@register("generator", "tiny_conv")
class TinyConv(nn.Module):
    def __init__(self, *, in_channels: int = 3, out_channels: int = 3, width: int = 4) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(width, out_channels, 3, padding=1),
            nn.Tanh(),
        )

    def forward(self, x):
        return self.net(x)
"""

MINE = TINY.replace('name = "resnet_6blocks"\nngf = 4', 'name = "tiny_conv"')


@pytest.fixture
def user_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A user's folder with ``newcomer_parts.py`` (registers generator ``tiny_conv``; not named
    ``my_parts``, the docs' example module, on the path when the docs are collected too) and
    ``mine.toml`` (uses it), as the current folder; the registry and ``sys.modules`` are put
    back afterwards, so every test starts without the part."""
    (tmp_path / "newcomer_parts.py").write_text(PARTS)
    (tmp_path / "mine.toml").write_text(MINE)
    monkeypatch.chdir(tmp_path)
    saved = {kind: dict(table) for kind, table in registry._REGISTRY.items()}
    yield tmp_path
    for kind, table in registry._REGISTRY.items():
        table.clear()
        table.update(saved.get(kind, {}))
    _forget_parts()


def _forget_parts() -> None:
    """As in a new process: no ``tiny_conv``, no imported ``newcomer_parts``."""
    registry._REGISTRY["generator"].pop("tiny_conv", None)
    sys.modules.pop("newcomer_parts", None)
    sys.modules.pop("parts", None)


def test_unknown_part_on_the_command_line_hints_at_import(
    user_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["train", "mine.toml", "--run-dir", "runs/mine"]) == 2
    err = _one_line_error(capsys)
    assert "unknown generator 'tiny_conv'" in err
    assert "--import MODULE_OR_FILE" in err and "plugins = [...]" in err


def test_import_flag_trains_and_the_run_reimports_by_itself(
    user_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["train", "mine.toml", "--run-dir", "runs/mine", "--import", "newcomer_parts"]) == 0
    stored = json.loads((user_folder / "runs/mine/config.json").read_text())
    assert stored["plugins"] == ["newcomer_parts"]
    _forget_parts()
    assert main(["train", "--resume", "runs/mine", "--set", "train.steps=3"]) == 0
    assert "done: step 3" in capsys.readouterr().out
    _forget_parts()
    Image.new("RGB", (20, 12), (40, 50, 60)).save(user_folder / "night.png")
    assert main(["translate", "--checkpoint", "runs/mine", "night.png", "--out", "day"]) == 0
    assert Image.open(user_folder / "day/night.png").size == (20, 12)
    _forget_parts()
    args = ["export", "--checkpoint", "runs/mine", "--out", "g.safetensors"]
    assert main(args) == 0
    _forget_parts()
    assert main(["eval", "--checkpoint", "runs/mine", "--scenes", "2", "--size", "32"]) == 0


def test_a_recorded_plugin_that_cannot_be_imported_names_the_run(
    user_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["train", "mine.toml", "--run-dir", "runs/mine", "--import", "newcomer_parts"]) == 0
    _forget_parts()
    (user_folder / "newcomer_parts.py").rename(user_folder / "moved.py")
    capsys.readouterr()
    args = ["export", "--checkpoint", "runs/mine", "--out", "g.safetensors"]
    assert main(args) == 2
    err = _one_line_error(capsys)
    assert "cannot import plugin module 'newcomer_parts'" in err and "runs/mine/config.json" in err
    assert main([*args, "--import", "moved.py"]) == 0  # the user's --import takes over


def test_a_checkpoint_its_parts_no_longer_fit_is_one_line(
    user_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["train", "mine.toml", "--run-dir", "runs/mine", "--import", "newcomer_parts"]) == 0
    _forget_parts()
    parts = user_folder / "newcomer_parts.py"
    # a default of another length: the file's size changes, so no stale .pyc is used
    parts.write_text(parts.read_text().replace("width: int = 4", "width: int = 16"))
    capsys.readouterr()
    assert main(["export", "--checkpoint", "runs/mine", "--out", "g.safetensors"]) == 2
    err = _one_line_error(capsys)
    assert "the checkpoint's weights do not fit the model its config builds: size mismatch" in err
    assert err.endswith(
        "(and more); were the parts it names changed since it was trained (a plugin's defaults)?"
    )


def test_plugin_files_in_the_config_are_relative_to_it(
    user_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sub = user_folder / "exp"
    sub.mkdir()
    (user_folder / "newcomer_parts.py").rename(sub / "parts.py")
    (sub / "mine.toml").write_text('plugins = ["parts.py"]\n' + MINE)
    assert main(["train", "exp/mine.toml", "--run-dir", "runs/file"]) == 0
    stored = json.loads((user_folder / "runs/file/config.json").read_text())
    assert stored["plugins"] == [str((sub / "parts.py").resolve())]


def test_import_of_a_missing_module_is_one_line(
    user_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["list", "--import", "no_such_parts"]) == 2
    err = _one_line_error(capsys)
    assert "cannot import plugin module 'no_such_parts'" in err
    assert main(["list", "generator", "--import", "newcomer_parts"]) == 0
    assert "tiny_conv" in capsys.readouterr().out


def test_installed_plugins_load_through_the_entry_point_group(
    user_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from importlib.metadata import EntryPoint

    ep = EntryPoint("mine", "newcomer_parts", registry.PLUGIN_GROUP)
    monkeypatch.syspath_prepend(str(user_folder))
    monkeypatch.setattr(
        "importlib.metadata.entry_points",
        lambda group: [ep] if group == registry.PLUGIN_GROUP else [],
    )
    monkeypatch.setattr(registry, "_ENTRY_POINTS_LOADED", None)
    assert registry.get("generator", "tiny_conv").__name__ == "TinyConv"  # loaded on demand


# --------------------------------------------------------------------------- 2: the export check
def test_export_check_compares_fp32_with_fp32_and_says_pass(
    run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("onnxruntime", reason="the 'export' extra (onnxruntime) is not installed")
    from cyclegan_ms import precision

    monkeypatch.setattr(precision, "cpu_has_bf16", lambda: True)  # a Translator would run bf16
    out = tmp_path / "g.onnx"
    assert main(["export", "--checkpoint", str(run), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    line = next(x for x in captured.out.splitlines() if x.startswith("export check:"))
    match = re.fullmatch(
        r"export check: max \|onnx - pytorch fp32\| = (\S+) on a random 2x3x67x73 input, "
        r"threshold 0\.002: pass",
        line,
    )
    assert match is not None, line
    assert float(match.group(1)) < 1e-4
    assert "torchvision" not in captured.err  # the exporter's irrelevant warnings are quiet


def test_export_check_fails_a_file_that_computes_something_else(run: Path, tmp_path: Path) -> None:
    import torch

    from cyclegan_ms import load
    from cyclegan_ms.inference.export import check_export, export

    model = load(run)
    path = export(model, tmp_path / "g.pt")
    with torch.no_grad():
        for p in model.G_ab.parameters():
            p.add_(0.05)
    check = check_export(path, model)
    assert check is not None and not check.passed
    assert check.describe().endswith(": FAIL") and "threshold 0.002" in check.describe()


# --------------------------------------------------------------------------- 6: exported files
@pytest.mark.parametrize("suffix", [".onnx", ".pt"])
def test_translate_runs_exported_files(
    run: Path, tmp_path: Path, suffix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    if suffix == ".onnx":
        pytest.importorskip("onnxruntime", reason="the 'export' extra is not installed")
    import numpy as np

    exported = tmp_path / f"g{suffix}"
    assert main(["export", "--checkpoint", str(run), "--out", str(exported), "--no-verify"]) == 0
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (21, 30, 3), np.uint8)).save(
        tmp_path / "night.png"
    )
    common = ["translate", str(tmp_path / "night.png"), "--precision", "fp32"]
    assert main([*common, "--checkpoint", str(exported), "--out", str(tmp_path / "a")]) == 0
    assert main([*common, "--checkpoint", str(run), "--out", str(tmp_path / "b")]) == 0
    a = np.asarray(Image.open(tmp_path / "a/night.png"), dtype=np.int16)
    b = np.asarray(Image.open(tmp_path / "b/night.png"), dtype=np.int16)
    assert a.shape == (21, 30, 3)
    assert np.abs(a - b).max() <= 1  # the same pictures, to a rounding step
    assert main([*common, "--checkpoint", str(exported), "--out", "c", "--direction", "b2a"]) == 2
    assert "holds the a2b generator" in _one_line_error(capsys)


def test_translate_refuses_other_files_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bogus = tmp_path / "model.h5"
    bogus.write_bytes(b"\x00" * 64)
    args = ["translate", "--checkpoint", str(bogus), str(bogus), "--out", str(tmp_path / "o")]
    assert main(args) == 2
    assert "give a run folder, a trainer checkpoint or generator file" in _one_line_error(capsys)


# --------------------------------------------------------------------------- 3: eval on folder data
FOLDER = """
[model.generator]
name = "resnet_6blocks"
ngf = 4

[model.discriminator]
name = "patchgan"
ndf = 4
n_layers = 2

[data]
source = "folder"
root = "ROOT"
image_size = 32
value_range = "symmetric"
recipe = "paper"
load_size = 36

[train]
steps = 2
batch_size = 2
log_every = 1
progress = false
checkpoint_every = 0
eval_every = 2
eval_metric = "psnr"
"""


def _folder(root: Path, test: dict[str, list[str]]) -> Path:
    """A CycleGAN-layout folder: 3 images in trainA/trainB, and the named test images."""
    import numpy as np

    rng = np.random.default_rng(0)
    layout = {"trainA": ["a0", "a1", "a2"], "trainB": ["b0", "b1", "b2"], **test}
    for split, names in layout.items():
        (root / split).mkdir(parents=True)
        for name in names:
            pixels = rng.integers(0, 255, (40, 40, 3), np.uint8)
            Image.fromarray(pixels).save(root / split / f"{name}.png")
    return root


def _train_folder(tmp_path: Path, root: Path, *extra: str) -> tuple[int, dict[str, object]]:
    cfg = tmp_path / "folder.toml"
    cfg.write_text(FOLDER.replace("ROOT", str(root)))
    code = main(["train", str(cfg), "--run-dir", str(tmp_path / "run"), *extra])
    stored = tmp_path / "run/config.json"
    return code, json.loads(stored.read_text())["train"] if stored.is_file() else {}


def test_folder_runs_score_their_own_aligned_test_split(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _folder(tmp_path / "data", {"testA": ["x", "y"], "testB": ["x", "y"]})
    code, train = _train_folder(tmp_path, root)
    assert code == 0
    assert train["eval_data"] == "folder" and train["eval_pairing"] == "by_name"
    assert train["eval_inputs"] == str(root / "testA") and train["eval_targets"] == str(
        root / "testB"
    )
    assert (tmp_path / "run/checkpoints/best.safetensors").is_file()
    assert "warning" not in capsys.readouterr().err


def test_folder_runs_without_a_test_split_warn_once_and_keep_no_best(tmp_path: Path) -> None:
    root = _folder(tmp_path / "data", {})
    cfg = tmp_path / "folder.toml"
    cfg.write_text(FOLDER.replace("ROOT", str(root)))
    run_dir = tmp_path / "run"
    args = ["train", str(cfg), "--run-dir", str(run_dir), "--set", "data.num_scenes=5"]
    done = subprocess.run(  # a new process: the warnings as a terminal shows them
        [sys.executable, "-m", "cyclegan_ms.cli", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 2, done.stderr  # one line each, no source line
    scenes, fallback = sorted(lines)
    assert scenes.startswith("cyclegan-ms train: warning: data.num_scenes is ignored with")
    assert fallback.startswith("cyclegan-ms train: warning: train.eval_every: ")
    assert "has no testA/testB" in fallback and "no best.safetensors" in fallback
    train = json.loads((run_dir / "config.json").read_text())["train"]
    assert train["eval_data"] == "scenes" and train["eval_keep_best"] is False
    assert not (run_dir / "checkpoints/best.safetensors").exists()
    records = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert any(r.get("event") == "eval" for r in records)  # still scored, on the scenes


def test_folder_runs_with_unaligned_test_split(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from cyclegan_ms.training import load_config
    from cyclegan_ms.training.callbacks import PeriodicEval
    from cyclegan_ms.training.experiment import resolve_eval_data

    root = _folder(tmp_path / "data", {"testA": ["n0", "n1"], "testB": ["d0", "d1"]})
    cfg = tmp_path / "folder.toml"
    cfg.write_text(FOLDER.replace("ROOT", str(root)))
    fid = load_config(cfg, ["train.eval_metric=fid"])
    assert "(unpaired)" in str(resolve_eval_data(fid))
    assert fid.train.eval_pairing == "unpaired" and fid.train.eval_keep_best
    with pytest.raises(ValueError, match="no ground truth for psnr"):
        PeriodicEval(2, ("psnr",), inputs="a", targets="b", pairing="unpaired")
    code, _ = _train_folder(tmp_path, root, "--set", "train.eval_data='folder'")
    assert code == 2
    assert "no same-named ground truth" in _one_line_error(capsys)


# --------------------------------------------------------------------------- 7: the Inception hint
def test_inception_weights_default_to_the_installed_file(monkeypatch: pytest.MonkeyPatch) -> None:
    from cyclegan_ms.layers import pretrained

    monkeypatch.delenv(pretrained.INCEPTION_ENV, raising=False)
    installed = pretrained.packaged_inception_weights()
    if installed is None:  # the route is still checked with a stand-in file
        installed = Path(__file__)
        monkeypatch.setattr(pretrained, "packaged_inception_weights", lambda: installed)
    assert pretrained.find_inception_weights() == installed


def test_inception_hint_names_no_flag_a_command_rejects(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from cyclegan_ms.layers import pretrained

    monkeypatch.delenv(pretrained.INCEPTION_ENV, raising=False)
    monkeypatch.setattr(pretrained, "packaged_inception_weights", lambda: None)
    cfg = tmp_path / "fid.toml"
    cfg.write_text(TINY.replace("checkpoint_every = 1", 'eval_every = 1\neval_metric = "fid"'))
    assert main(["train", str(cfg), "--run-dir", str(tmp_path / "run")]) == 2
    err = _one_line_error(capsys)
    assert f"set {pretrained.INCEPTION_ENV}=PATH" in err
    assert re.search(r"(?<!eval )--inception", err) is None  # only as `cyclegan-ms eval`'s flag


# --------------------------------------------------------------------------- 8: the smaller items
def test_train_help_lists_every_preset(capsys: pytest.CaptureFixture[str]) -> None:
    from cyclegan_ms.training.config import presets

    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "night2day" in presets()
    assert f"preset name ({', '.join(presets())})" in text


def test_list_shows_matching_kinds_only_with_whole_plain_sentences(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["list", "--pattern", "resnet_*"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "generator:" and len(lines) == 3  # no empty headers of other kinds
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert ":class:" not in out and ":func:" not in out and "``" not in out
    for line in out.splitlines():
        if line.startswith("  "):
            assert line.rstrip().endswith((".", ")")), line  # a whole sentence
    assert main(["list", "--pattern", "zzz*"]) == 1
    assert "no registered part matches 'zzz*'" in capsys.readouterr().err
