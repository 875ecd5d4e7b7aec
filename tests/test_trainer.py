"""The Trainer: outputs, exact resume, kills, signals, non-finite steps, DDP equivalence."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import save_file

from cyclegan_ms import CycleGAN, load
from cyclegan_ms.training import (
    CheckpointError,
    ConfigError,
    OptimConfig,
    TrainConfig,
    Trainer,
    find_latest,
    load_checkpoint,
)

sys.path.insert(0, str(Path(__file__).parent))
from _train_script import Pairs, tiny_model

SCRIPT = Path(__file__).parent / "_train_script.py"
ROOT = Path(__file__).resolve().parents[1]


def _trainer(run_dir: Path, **train: Any) -> Trainer:
    torch.manual_seed(0)
    cfg: dict[str, Any] = {
        "steps": 4,
        "batch_size": 2,
        "log_every": 1,
        "progress": False,
        "checkpoint_every": 0,
    }
    cfg.update(train)
    return Trainer(tiny_model(), Pairs(), run_dir=run_dir, train=TrainConfig(**cfg))


def _losses(run_dir: Path) -> list[dict[str, float]]:
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return [
        {k: v for k, v in json.loads(line).items() if k != "time"}
        for line in lines
        if "event" not in json.loads(line)
    ]


def test_fit_writes_run_folder(tmp_path: Path) -> None:
    t = _trainer(tmp_path, steps=3, sample_every=2, checkpoint_every=2)
    result = t.fit()
    assert result.step == 3 and not result.interrupted
    records = _losses(tmp_path)
    assert [r["step"] for r in records] == [1, 2, 3]
    assert all(k in records[0] for k in ("g_total", "g_adv_a", "g_cycle_b", "d_total", "lr_g"))
    assert (tmp_path / "loss_curve.png").stat().st_size > 1000
    assert sorted(p.name for p in (tmp_path / "samples").iterdir()) == [
        "step_00000002.png",
        "step_00000003.png",
    ]
    assert result.checkpoint == tmp_path / "checkpoints" / "step_00000003.safetensors"
    model = load(tmp_path)
    assert isinstance(model, CycleGAN) and model.checkpoint_step == 3 and not model.training


@pytest.mark.parametrize("pool_size", [0, 3])
def test_exact_resume(tmp_path: Path, pool_size: int) -> None:
    full, half = tmp_path / "full", tmp_path / "half"
    opts = {"pool_size": pool_size, "ema_decay": 0.9, "schedule": "linear_decay", "steps": 6}
    _trainer(full, **opts).fit()
    _trainer(half, **opts).fit(steps=3)
    resumed = _trainer(half, **opts)
    assert resumed.resume(half) == 3
    resumed.fit()
    a, b = _losses(full), _losses(half)
    assert [r["step"] for r in b] == [1, 2, 3, 4, 5, 6]
    assert a == b, "a resumed run must log exactly the losses of an uninterrupted one"
    sa = load_checkpoint(find_latest(full))  # type: ignore[arg-type]
    sb = load_checkpoint(find_latest(half))  # type: ignore[arg-type]
    for k, v in sa["model"].items():
        assert torch.equal(v, sb["model"][k]), k


def test_checkpoint_holds_everything(tmp_path: Path) -> None:
    t = _trainer(tmp_path, steps=2, pool_size=2, ema_decay=0.5)
    t.fit()
    state = load_checkpoint(find_latest(tmp_path))  # type: ignore[arg-type]
    for key in (
        "model",
        "optim_g",
        "optim_d",
        "scaler_g",
        "pool_a",
        "pool_b",
        "ema",
        "rng",
        "step",
        "epoch",
        "sampler",
        "callbacks",
        "train_config",
        "model_config",
    ):
        assert key in state, key
    assert set(state["rng"]) >= {"python", "numpy", "torch"}
    assert state["optim_g"]["state"], "optimizer moments are stored"


def test_keep_last_prunes(tmp_path: Path) -> None:
    _trainer(tmp_path, steps=5, checkpoint_every=1, keep_last=2).fit()
    names = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
    assert names == ["step_00000004.safetensors", "step_00000005.safetensors"]


def test_pickle_checkpoint_refused(tmp_path: Path) -> None:
    evil = tmp_path / "checkpoints" / "step_00000009.safetensors"
    evil.parent.mkdir(parents=True)
    torch.save({"model": {}}, evil)
    with pytest.raises(CheckpointError, match="refuses to unpickle"):
        load(evil)
    t = _trainer(tmp_path / "other")
    with pytest.raises(CheckpointError, match="refuses to unpickle"):
        t.resume(tmp_path)
    foreign = tmp_path / "foreign.safetensors"
    save_file({"x": torch.zeros(1)}, str(foreign))
    with pytest.raises(CheckpointError, match="not a cyclegan_ms checkpoint"):
        load(foreign)
    torn = tmp_path / "torn.safetensors"
    torn.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{")
    with pytest.raises(CheckpointError):
        load(torn)


def test_nonfinite_steps_are_skipped_then_stop(tmp_path: Path) -> None:
    class Poisoned(Pairs):
        calls = 0

        def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
            Poisoned.calls += 1
            item = super().__getitem__(i)
            if Poisoned.calls > 4:  # two good steps of batch 2, then NaN forever
                item["A"] = item["A"] * float("nan")
            return item

    torch.manual_seed(0)
    t = Trainer(
        tiny_model(),
        Poisoned(),
        run_dir=tmp_path,
        train=TrainConfig(
            steps=50, batch_size=2, progress=False, log_every=1, max_bad_steps=3, checkpoint_every=0
        ),
    )
    result = t.fit()
    assert result.stopped_on_nan and result.step == 2 and result.skipped_steps == 3
    events = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert sum(e.get("event") == "skipped_nonfinite" for e in events) == 3
    assert events[-1]["event"] == "stopped_nonfinite"
    state = load_checkpoint(find_latest(tmp_path))  # type: ignore[arg-type]
    assert state["step"] == 2
    assert all(torch.isfinite(v).all() for v in state["model"].values() if v.is_floating_point())


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    env["OMP_NUM_THREADS"] = "1"
    return env


def _wait_for_checkpoint(
    run_dir: Path, proc: subprocess.Popen[bytes], timeout: float = 120.0
) -> None:
    deadline = time.monotonic() + timeout
    while find_latest(run_dir) is None:
        if proc.poll() is not None:
            raise AssertionError(
                f"training exited early: {proc.stdout.read() if proc.stdout else ''!r}"
            )
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("no checkpoint appeared")
        time.sleep(0.02)


@pytest.mark.parametrize("delay", [0.0, 0.13, 0.41])
def test_sigkill_leaves_loadable_checkpoint(tmp_path: Path, delay: float) -> None:
    proc = subprocess.Popen(
        [sys.executable, str(SCRIPT), str(tmp_path), "100000", "1"],
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_for_checkpoint(tmp_path, proc)
        time.sleep(delay)
    finally:
        proc.kill()
        proc.wait()
    latest = find_latest(tmp_path)
    assert latest is not None
    state = load_checkpoint(latest)
    assert state["step"] >= 1
    model = load(tmp_path)
    assert model.checkpoint_step == state["step"]
    # the run resumes from the killed state
    t = _trainer(tmp_path, steps=state["step"] + 1)
    assert t.resume(tmp_path) == state["step"]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_saves_and_exits_cleanly(tmp_path: Path, sig: int) -> None:
    proc = subprocess.Popen(
        [sys.executable, str(SCRIPT), str(tmp_path), "100000", "1000"],
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 120
        while not (tmp_path / "metrics.jsonl").exists():
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            assert time.monotonic() < deadline
            time.sleep(0.02)
        proc.send_signal(sig)
        out, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    text = out.decode()
    assert proc.returncode == 0, text
    assert "interrupted=True" in text
    step = int(text.split("finished step=")[1].split()[0])
    latest = find_latest(tmp_path)
    assert latest is not None and load_checkpoint(latest)["step"] == step


def test_config_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="fp16' needs CUDA"):
        _trainer(tmp_path, precision="fp16", device="cpu")
    with pytest.raises(ConfigError, match=r"train.batch_size must be >= 1"):
        TrainConfig(batch_size=0)
    with pytest.raises(ConfigError, match="betas"):
        OptimConfig(betas=(1.5, 0.9))
    with pytest.raises(ConfigError, match=r"train\.schedule"):
        _trainer(tmp_path, schedule="cosin")
    with pytest.raises(ValueError, match="fewer than one global batch"):
        Trainer(tiny_model(), Pairs(n=1), run_dir=tmp_path, train=TrainConfig(batch_size=2))


def test_bf16_channels_last_runs_and_tracks_fp32(tmp_path: Path) -> None:
    a = _trainer(tmp_path / "fp32", steps=3)
    a.fit()
    b = _trainer(tmp_path / "bf16", steps=3, precision="bf16", channels_last=True)
    b.fit()
    la, lb = _losses(tmp_path / "fp32"), _losses(tmp_path / "bf16")
    for ra, rb in zip(la, lb, strict=True):
        assert abs(ra["g_total"] - rb["g_total"]) / ra["g_total"] < 0.05
        assert abs(ra["d_total"] - rb["d_total"]) / ra["d_total"] < 0.05


def test_ddp_two_processes_equal_one_process_doubled_batch(tmp_path: Path) -> None:
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent)) or shutil.which(
        "torchrun"
    )
    assert torchrun, "torchrun ships with torch"
    out = tmp_path / "ddp.safetensors"
    proc = subprocess.run(
        [
            torchrun,
            "--standalone",
            "--nproc_per_node=2",
            str(Path(__file__).parent / "_ddp_script.py"),
            str(out),
            str(tmp_path / "ddp_run"),
        ],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    from safetensors.torch import load_file

    ddp = load_file(str(out))
    sys.path.insert(0, str(Path(__file__).parent))
    from _ddp_script import initial_model, single_process_state

    single = single_process_state(tmp_path / "single_run")
    assert ddp.keys() == single.keys()
    for k in single:
        torch.testing.assert_close(ddp[k], single[k], rtol=1e-4, atol=1e-5, msg=k)
    moved = sum(float((single[k] - ddp[k]).abs().max()) for k in single)
    assert moved < 1e-3
    # the training moved the weights far more than the runs differ (so the check can fail: a
    # rank that skipped the gradient average would step by its own half-batch gradient)
    start = initial_model().state_dict()
    trained = sum(float((single[k] - start[k]).abs().max()) for k in single)
    assert trained > 100 * moved and trained > 0.1


def test_time_budget_stops_with_checkpoint(tmp_path: Path) -> None:
    t = _trainer(tmp_path, steps=10_000, max_minutes=1e-6)
    result = t.fit()
    assert 1 <= result.step < 10_000 and not result.interrupted
    assert load_checkpoint(find_latest(tmp_path))["step"] == result.step  # type: ignore[arg-type]


def test_cpu_time_budget_counts_process_time_not_sleep(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """budget_clock="cpu": a step that waits (another job has the cores) costs no budget."""
    cpu = {"t": 0.0}
    monkeypatch.setattr(time, "process_time", lambda: cpu["t"])  # CPU time stands still
    budget = 0.2 / 60  # minutes
    t = _trainer(tmp_path, steps=3, max_minutes=budget, budget_clock="cpu")
    real_step = t.train_step

    def slow_step(batch: Any) -> Any:
        time.sleep(0.15)  # wall time passes, CPU time does not
        return real_step(batch)

    monkeypatch.setattr(t, "train_step", slow_step)
    assert t.fit().step == 3  # 0.45 s of wall time > the 0.2 s budget, but no CPU time
    t2 = _trainer(tmp_path / "wall", steps=3, max_minutes=budget, budget_clock="wall")
    real2 = t2.train_step
    monkeypatch.setattr(t2, "train_step", lambda b: (time.sleep(0.15), real2(b))[1])
    assert t2.fit().step < 3  # the wall clock runs out after the second step at the latest
    t3 = _trainer(tmp_path / "busy", steps=3, max_minutes=budget, budget_clock="cpu")
    real3 = t3.train_step
    monkeypatch.setattr(
        t3, "train_step", lambda b: (cpu.__setitem__("t", cpu["t"] + 1.0), real3(b))[1]
    )
    assert t3.fit().step == 1  # a second of CPU per step: the budget is spent after one
    with pytest.raises(ConfigError, match="budget_clock"):
        TrainConfig(budget_clock="gpu")  # type: ignore[arg-type]


def test_time_budget_progress_shows_seconds_per_step(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    t = _trainer(tmp_path, steps=3, max_minutes=5.0, budget_clock="cpu", progress=True)
    t.fit()
    err = capsys.readouterr().err
    assert "CPU time budget" in err and "s/step=" in err
    assert re.search(r"[\d.]+s/s\b", err) is None  # tqdm's own rate of a seconds bar


def test_trainer_tells_the_model_its_data_range(tmp_path: Path) -> None:
    torch.manual_seed(0)
    t = Trainer(
        tiny_model(),
        Pairs(),
        run_dir=tmp_path,
        value_range=(-1.0, 1.0),
        train=TrainConfig(progress=False),
    )
    assert t.model.value_range == (-1.0, 1.0)
    with pytest.raises(ValueError, match="low < high"):
        Trainer(tiny_model(), Pairs(), run_dir=tmp_path, value_range=(1.0, 0.0))
