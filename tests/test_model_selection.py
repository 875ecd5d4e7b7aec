"""Choosing a checkpoint without ground truth (the unpaired selection score), and the run's
CPU and wall time in every evaluation record (time to quality), kept across a resume."""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

from cyclegan_ms.checkpoint import find_latest, load_checkpoint, save_checkpoint
from cyclegan_ms.data.pairs import scene_pairs
from cyclegan_ms.layers import pretrained
from cyclegan_ms.metrics import INCEPTION_ENV, UnpairedSelection, selection_score
from cyclegan_ms.training import ConfigError, TrainConfig, Trainer, load_config
from cyclegan_ms.training.callbacks import BestCheckpoint, Callback, PeriodicEval
from cyclegan_ms.training.distillation import Distillation
from cyclegan_ms.training.experiment import resolve_eval_data

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import selection as bench  # benchmarks/selection.py
from _train_script import Pairs, tiny_model


class _TinyFeatures(nn.Module):
    """A stand-in for the FID InceptionV3 (same TorchScript interface, 24 features, instant)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = F.adaptive_avg_pool2d(x, 2).flatten(1)
        return torch.cat([p, p.pow(2)], 1)


@pytest.fixture
def inception(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "tiny_inception.pt"
    with warnings.catch_warnings():  # "torch.jit.script is deprecated": the file format is not
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.script(_TinyFeatures()).save(str(path))
    monkeypatch.setenv(INCEPTION_ENV, str(path))  # what a training run finds by itself
    return path


class _Lookup:
    """A BatchTranslator that answers each known input with a given image (or the input)."""

    value_range = (0.0, 1.0)
    device = torch.device("cpu")

    def __init__(self, table: dict[bytes, torch.Tensor] | None = None) -> None:
        self.table = table or {}

    def tensor(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([self.table.get(xi.numpy().tobytes(), xi) for xi in x])


def _records(run_dir: Path) -> list[dict[str, Any]]:
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return [r for r in map(json.loads, lines) if r.get("event") == "eval"]


def _trainer(run_dir: Path, model: nn.Module | None = None, **train: Any) -> Trainer:
    torch.manual_seed(0)
    cfg: dict[str, Any] = {
        "steps": 4,
        "batch_size": 2,
        "progress": False,
        "checkpoint_every": 0,
        "eval_every": 2,
        "eval_scenes": 4,
        "device": "cpu",
    }
    cfg.update(train)
    return Trainer(model or tiny_model(), Pairs(), run_dir=run_dir, train=TrainConfig(**cfg))


# ------------------------------------------------------------------------------- the score
def test_selection_score_zero_for_doing_nothing_and_for_painting_one_scene(
    inception: Path,
) -> None:
    pairs = list(scene_pairs(12, size=48))
    nights = [x for x, _ in pairs[:6]]
    days = [y for _, y in pairs[:6]]
    sel = UnpairedSelection(nights, [y for _, y in pairs[6:]], inception=inception, truths=days)
    assert sel.kid_input > 0 and 0 < sel.spread < 1

    identity = sel.score(_Lookup())
    assert identity.kid == pytest.approx(identity.kid_input)  # the night itself: no realism
    assert identity.realism == pytest.approx(0.0, abs=1e-9) and identity.score == 0.0
    assert identity.structure == pytest.approx(1.0, abs=1e-4)  # but every edge kept
    assert identity.cycle_skipped == "no B→A translator" and identity.cycle is None

    truth = sel.score(_Lookup({n.numpy().tobytes(): d for n, d in zip(nights, days, strict=True)}))
    assert truth.realism > 0.5 and truth.score > 0.1  # the day truth: day-like, structure kept
    assert truth.psnr == float("inf") and truth.ssim == pytest.approx(1.0)
    # the identity back translator gives the truth a cycle error (its day is not its night)
    back = sel.score(
        _Lookup({n.numpy().tobytes(): d for n, d in zip(nights, days, strict=True)}), _Lookup()
    )
    assert back.cycle is not None and back.cycle > 0.05 and back.cycle_kept is not None
    assert back.cycle_kept == pytest.approx(sel.spread / (sel.spread + back.cycle))
    assert back.score == pytest.approx(
        selection_score(back.realism, back.structure, back.cycle_kept)
    )
    assert back.score < truth.score and back.cycle_skipped is None

    one_scene = sel.score(_Lookup({n.numpy().tobytes(): days[0] for n in nights}))
    assert one_scene.structure < truth.structure  # the painted scene ignores its input
    assert one_scene.score < truth.score
    record = truth.as_dict()
    assert {"unpaired", "unpaired_kid", "unpaired_kid_input", "unpaired_realism"} <= set(record)
    assert record["unpaired_cycle_skipped"] == "no B→A translator" and "psnr" in record


def test_selection_needs_held_out_b_images_and_weights(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nights = [torch.rand(3, 32, 32) for _ in range(3)]
    with pytest.raises(ValueError, match="needs held-out domain-B images for its KID: got 1"):
        UnpairedSelection(nights, [torch.rand(3, 32, 32)])
    monkeypatch.delenv(INCEPTION_ENV, raising=False)
    monkeypatch.setattr(pretrained, "packaged_inception_weights", lambda: None)
    with pytest.raises(FileNotFoundError, match=f"{INCEPTION_ENV}=PATH"):
        UnpairedSelection(nights, nights)


# ------------------------------------------------------------------------------- training
def test_unpaired_eval_logs_every_term_and_keeps_the_best_by_it(
    tmp_path: Path, inception: Path
) -> None:
    t = _trainer(tmp_path, eval_metric="unpaired")
    t.fit()
    evals = _records(tmp_path)
    assert [r["step"] for r in evals] == [2, 4]
    for r in evals:  # the scenes have ground truth: both are logged
        for key in (
            "eval_unpaired",
            "eval_unpaired_kid",
            "eval_unpaired_kid_input",
            "eval_unpaired_realism",
            "eval_unpaired_structure",
            "eval_unpaired_cycle",
            "eval_unpaired_cycle_kept",
            "eval_psnr",
            "eval_ssim",
            "cpu_s",
            "wall_s",
            "cpu_s_in_eval",
        ):
            assert isinstance(r[key], float), key
        assert r["eval_unpaired"] == pytest.approx(
            selection_score(
                r["eval_unpaired_realism"],
                r["eval_unpaired_structure"],
                r["eval_unpaired_cycle_kept"],
            )
        )
    best = max(evals, key=lambda r: r["eval_unpaired"])  # the first of equals
    assert [r["best"] for r in evals] == [True, best["step"] == 4]
    state = load_checkpoint(tmp_path / "checkpoints/best.safetensors")
    assert state["step"] == best["step"]
    assert state["callbacks"]["best_checkpoint"]["monitor"] == "unpaired"


def test_best_checkpoint_follows_the_selection_score_not_psnr(tmp_path: Path) -> None:
    scripted = iter([(0.1, 30.0), (0.3, 10.0), (0.2, 20.0)])  # (selection score, PSNR)

    class Scripted(BestCheckpoint):
        def evaluate(self, trainer: Trainer) -> dict[str, float | str]:
            score, psnr = next(scripted)
            return {"eval_unpaired": score, "eval_psnr": psnr}

    torch.manual_seed(0)
    cb = Scripted(2, monitor="unpaired", metrics=("psnr",))
    t = Trainer(
        tiny_model(),
        Pairs(),
        run_dir=tmp_path,
        train=TrainConfig(steps=6, batch_size=2, progress=False, checkpoint_every=0),
        callbacks=[cb],
    )
    t.fit()
    assert [r["best"] for r in _records(tmp_path)] == [True, True, False]
    assert load_checkpoint(tmp_path / "checkpoints/best.safetensors")["step"] == 4
    assert cb.best == 0.3 and cb.best_step == 4


def test_cpu_seconds_continue_across_a_resume(tmp_path: Path) -> None:
    t = _trainer(tmp_path, eval_metric="psnr", steps=4)
    t.fit()
    stored = load_checkpoint(find_latest(tmp_path))  # type: ignore[arg-type]
    t2 = _trainer(tmp_path, eval_metric="psnr", steps=8)
    assert t2.resume(tmp_path) == 4
    t2.fit()
    evals = _records(tmp_path)
    assert [r["step"] for r in evals] == [2, 4, 6, 8]
    cpu = [r["cpu_s"] for r in evals]
    wall = [r["wall_s"] for r in evals]
    in_eval = [r["cpu_s_in_eval"] for r in evals]
    assert cpu == sorted(cpu) and len(set(cpu)) == 4  # strictly increasing, not restarted
    assert wall == sorted(wall) and len(set(wall)) == 4
    assert in_eval == sorted(in_eval) and in_eval[0] == 0.0 and in_eval[-1] > 0
    assert all(
        c > e for c, e in zip(cpu, in_eval, strict=True)
    )  # the evaluations' part of the run's time
    # the resumed run counts on from the checkpoint's count
    assert cpu[2] > stored["clock"]["cpu_s"] >= cpu[1]
    assert stored["callbacks"]["best_checkpoint"]["cpu_s_in_eval"] == pytest.approx(
        in_eval[2], abs=1e-3
    )


def test_one_sided_models_skip_the_cycle_with_the_reason_on_unpaired_folders(
    tmp_path: Path, inception: Path
) -> None:
    rng = np.random.default_rng(0)
    for folder, names, scale in (("testA", "abc", 60), ("testB", "xyzw", 255)):
        (tmp_path / folder).mkdir()
        for name in names:  # nights dark, days bright, no names in common
            pixels = (rng.random((32, 40, 3)) * scale).astype(np.uint8)
            Image.fromarray(pixels).save(tmp_path / folder / f"{name}.png")
    torch.manual_seed(0)
    teacher = tiny_model().G_ab
    student = Distillation({"name": "resnet_6blocks", "ngf": 2}, teacher)
    t = _trainer(
        tmp_path / "run",
        student,
        eval_metric="unpaired",
        eval_inputs=str(tmp_path / "testA"),
        eval_targets=str(tmp_path / "testB"),
        eval_pairing="unpaired",
    )
    t.fit()
    evals = _records(tmp_path / "run")
    assert len(evals) == 2
    for r in evals:
        assert "eval_psnr" not in r and "eval_unpaired_cycle" not in r  # no truth, no way back
        assert r["eval_unpaired_cycle_skipped"] == (
            "Distillation translates a2b only: no cycle to measure"
        )
        assert r["eval_unpaired"] == pytest.approx(
            selection_score(r["eval_unpaired_realism"], r["eval_unpaired_structure"])
        )
    assert (tmp_path / "run/checkpoints/best.safetensors").is_file()


def test_unpaired_eval_stops_before_training_without_held_out_b_or_weights(
    tmp_path: Path, inception: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "night").mkdir()
    (tmp_path / "day").mkdir()  # empty: no held-out B images
    for name in "ab":
        Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(tmp_path / "night" / f"{name}.png")
    folders = {
        "eval_metric": "unpaired",
        "eval_inputs": str(tmp_path / "night"),
        "eval_targets": str(tmp_path / "day"),
        "eval_pairing": "unpaired",
    }
    t = _trainer(tmp_path / "run", **folders)
    with pytest.raises(
        ValueError, match=r"needs held-out domain-B images for its KID: .*day holds 0"
    ):
        t.fit()
    assert t.step == 0  # said before the first step
    monkeypatch.delenv(INCEPTION_ENV)
    monkeypatch.setattr(pretrained, "packaged_inception_weights", lambda: None)
    t = _trainer(tmp_path / "run2", eval_metric="unpaired")
    with pytest.raises(
        FileNotFoundError, match=r"eval metric 'unpaired' scores a KID: .*Inception"
    ):
        t.fit()
    assert t.step == 0


def test_config_accepts_the_selection_score_for_unpaired_folders(tmp_path: Path) -> None:
    TrainConfig(eval_metric="unpaired", eval_pairing="unpaired")
    with pytest.raises(ConfigError, match="'fid', 'kid' or 'unpaired'"):
        TrainConfig(eval_metric="psnr", eval_pairing="unpaired")
    with pytest.raises(ValueError, match="no ground truth for psnr"):
        PeriodicEval(2, ("psnr", "unpaired"), inputs="a", targets="b", pairing="unpaired")
    root = tmp_path / "data"
    for split, names in {"trainA": "a", "trainB": "b", "testA": "nm", "testB": "dx"}.items():
        (root / split).mkdir(parents=True)
        for name in names:
            Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(root / split / f"{name}.png")
    cfg = load_config(
        {
            "data": {"source": "folder", "root": str(root), "image_size": 32},
            "train": {"eval_every": 2, "eval_metric": "unpaired"},
        }
    )
    assert "(unpaired)" in str(resolve_eval_data(cfg))  # testB has no same-named truth
    assert cfg.train.eval_pairing == "unpaired" and cfg.train.eval_keep_best


# ------------------------------------------------------------------------------- benchmark
def _fake_run(run_dir: Path) -> None:
    """A run folder as a scenes run with eval_metric = 'unpaired' leaves it (no training)."""
    rows = [  # step, selection score, PSNR, SSIM, CPU seconds
        (100, 0.05, 12.0, 0.30, 60.0),
        (200, 0.20, 14.5, 0.36, 130.0),
        (300, 0.15, 15.5, 0.41, 200.0),
        (400, 0.10, 15.0, 0.40, 270.0),
    ]
    lines = [json.dumps({"step": 10, "g_total": 1.0})]
    for i, (step, score, psnr, ssim, cpu) in enumerate(rows):
        record = {
            "step": step,
            "event": "eval",
            "cpu_s": cpu,
            "wall_s": 2 * cpu,
            "cpu_s_in_eval": 5.0 * i,
            "eval_unpaired": score,
            "eval_unpaired_kid": 0.1 - 0.02 * i,
            "eval_unpaired_structure": 0.9 - 0.1 * i,
            "eval_psnr": psnr,
            "eval_ssim": ssim,
            "best": i == 1 or i == 0,
        }
        lines.append(json.dumps(record))
    run_dir.mkdir(parents=True)
    (run_dir / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    save_checkpoint(run_dir / "checkpoints" / "best.safetensors", {"step": 200})


def test_selection_benchmark_reads_a_run_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _fake_run(tmp_path / "run")
    out = tmp_path / "report.json"
    assert bench.main([str(tmp_path / "run"), "--target-psnr", "15.2", "--json", str(out)]) == 0
    report = json.loads(out.read_text())["runs"][str(tmp_path / "run")]
    picks = report["selection"]["picks"]
    assert picks["unpaired"] == {
        "step": 200,
        "psnr": 14.5,
        "psnr_gap": 1.0,
        "psnr_rank": 3,
        "ssim": 0.36,
        "ssim_gap": pytest.approx(0.05),
        "ssim_rank": 3,
    }
    assert picks["unpaired_kid"]["step"] == 400  # lowest KID
    assert picks["unpaired_structure"]["step"] == 100  # most structure kept
    assert picks["last"]["step"] == 400 and "unpaired_cycle" not in picks
    assert report["selection"]["best_step"] == {"psnr": 300, "ssim": 300}
    assert report["best_file_step"] == 200
    curve = report["time_to_quality"]
    assert [r["cpu_min"] for r in curve["rows"]] == pytest.approx([1.0, 130 / 60, 200 / 60, 4.5])
    assert curve["rows"][1]["train_cpu_min"] == pytest.approx(125 / 60)
    assert curve["cpu_min_to_target"] == pytest.approx(200 / 60)
    text = capsys.readouterr().out
    assert "| unpaired | 200 | 14.50 | 1.00 | 3 |" in text
    assert "| 300 | 3.33 | 3.17 | 6.67 | 15.50 | 0.410 | 0.1500 |" in text
    assert "best.safetensors holds step 200 (the unpaired pick)" in text
    assert "15.2 dB reached after 3.33 CPU-min" in text


def test_selection_benchmark_refuses_runs_without_ground_truth(tmp_path: Path) -> None:
    (tmp_path / "metrics.jsonl").write_text(json.dumps({"step": 2, "event": "eval"}) + "\n")
    with pytest.raises(ValueError, match="no evaluation with eval_psnr and eval_ssim"):
        bench.read_evals(tmp_path)


def test_a_user_callback_may_read_the_run_clock(tmp_path: Path) -> None:
    seen: list[float] = []

    class Watch(Callback):
        def on_step_end(self, trainer: Trainer, losses: Any) -> None:
            seen.append(trainer.clock.seconds("cpu"))

    torch.manual_seed(0)
    Trainer(
        tiny_model(),
        Pairs(),
        run_dir=tmp_path,
        train=TrainConfig(steps=3, batch_size=2, progress=False, checkpoint_every=0),
        callbacks=[Watch()],
    ).fit()
    assert len(seen) == 3 and seen == sorted(seen) and seen[0] > 0
