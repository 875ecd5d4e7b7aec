"""The Trainer's loop and its callbacks: no partial steps, one host sync, replaceable callbacks,
periodic evaluation with best-checkpoint keeping."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import torch

from cyclegan_ms.training import TrainConfig, Trainer, find_latest, load_checkpoint
from cyclegan_ms.training.callbacks import (
    BestCheckpoint,
    Callback,
    LossPlot,
    MetricsLog,
    PeriodicEval,
    ProgressBar,
    StopOnSignal,
    TimeBudget,
    default_callbacks,
)

sys.path.insert(0, str(Path(__file__).parent))
from _train_script import Pairs, tiny_model


def _trainer(run_dir: Path, callbacks: tuple[Callback, ...] = (), **train: Any) -> Trainer:
    torch.manual_seed(0)
    cfg: dict[str, Any] = {
        "steps": 4,
        "batch_size": 2,
        "log_every": 1,
        "progress": False,
        "checkpoint_every": 0,
    }
    cfg.update(train)
    return Trainer(
        tiny_model(), Pairs(), run_dir=run_dir, train=TrainConfig(**cfg), callbacks=callbacks
    )


def _batch(t: Trainer) -> dict[str, torch.Tensor]:
    items = [t.dataset[i] for i in range(2)]
    return {k: torch.stack([it[k] for it in items]) for k in ("A", "B")}


def test_nonfinite_discriminator_loss_changes_nothing(tmp_path: Path) -> None:
    """A step whose D loss is not finite must not have stepped the generators or fed the pools."""
    t = _trainer(tmp_path, pool_size=4, ema_decay=0.5)
    real = t.model.discriminator_objective

    def poisoned(*args: Any) -> dict[str, torch.Tensor]:
        out = dict(real(*args))
        out["total"] = out["total"] * float("nan")
        return out

    g_before = {k: v.clone() for k, v in t.model.G_ab.state_dict().items()}
    ema_before = {k: v.clone() for k, v in t.ema["G_ab"].state_dict().items()}  # type: ignore[index]
    pool_before = t.pools["a"].state_dict()
    t.model.discriminator_objective = poisoned  # type: ignore[method-assign,assignment]
    assert t.train_step(_batch(t)) is None
    for k, v in t.model.G_ab.state_dict().items():
        assert torch.equal(v, g_before[k]), f"generator weight {k} changed on a skipped step"
    for k, v in t.ema["G_ab"].state_dict().items():  # type: ignore[index]
        assert torch.equal(v, ema_before[k]), k
    assert not t.opt_g.state, "the generator optimiser took a step"
    assert len(t.pools["a"]) == 0 and torch.equal(
        t.pools["a"].state_dict()["generator_state"], pool_before["generator_state"]
    )
    t.model.discriminator_objective = real  # type: ignore[method-assign]
    assert t.train_step(_batch(t)) is not None and len(t.pools["a"]) == 2 and t.opt_g.state


def test_one_host_sync_per_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    t = _trainer(tmp_path, pool_size=0)
    batch = _batch(t)
    t.train_step(batch)  # warm-up
    calls: list[str] = []
    for name in ("item", "tolist", "cpu", "__float__", "__bool__", "numpy"):
        real = getattr(torch.Tensor, name)

        def counted(
            self: torch.Tensor, *a: Any, _real: Any = real, _name: str = name, **k: Any
        ) -> Any:
            caller = sys._getframe(1).f_code.co_filename
            if "cyclegan_ms" in caller and "tests" not in caller:  # the library's own reads
                calls.append(_name)
            return _real(self, *a, **k)

        monkeypatch.setattr(torch.Tensor, name, counted)
    values = t.train_step(batch)
    monkeypatch.undo()
    assert values is not None and {"g_total", "d_total", "lr_g"} <= set(values)
    # one device-to-host copy carries the finite flag and every loss (torch's optimisers read
    # their CPU step counters themselves; those are not the library's)
    assert calls == ["cpu", "tolist"], calls


class Recorder(Callback):
    def __init__(self) -> None:
        self.events: list[str] = []

    def on_fit_start(self, trainer: Trainer, target: int) -> None:
        self.events.append(f"start {target}")

    def on_step_end(self, trainer: Trainer, losses: Mapping[str, float]) -> None:
        assert isinstance(losses["g_total"], float)
        self.events.append(f"step {trainer.step}")
        if trainer.step == 3:
            trainer.request_stop("enough")

    def on_fit_end(self, trainer: Trainer, result: Any) -> None:
        self.events.append(f"end {result.step} {result.checkpoint.name}")

    def on_teardown(self, trainer: Trainer) -> None:
        self.events.append("teardown")


def test_user_callbacks_run_in_order_and_can_stop(tmp_path: Path) -> None:
    rec = Recorder()
    result = _trainer(tmp_path, callbacks=(rec,), steps=10).fit()
    assert result.step == 3 and not result.interrupted
    assert rec.events == [
        "start 10",
        "step 1",
        "step 2",
        "step 3",
        "teardown",
        "end 3 step_00000003.safetensors",
    ]


def test_a_user_callback_replaces_the_default_of_its_class(tmp_path: Path) -> None:
    class Quiet(MetricsLog):
        def on_log(self, trainer: Trainer, record: Mapping[str, Any]) -> None:
            pass

    t = _trainer(tmp_path, callbacks=(MetricsLog(every=2),))
    assert [type(c) for c in t.callbacks].count(MetricsLog) == 1
    assert next(c for c in t.callbacks if isinstance(c, MetricsLog)).every == 2
    t.fit()
    steps = [json.loads(x)["step"] for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert steps == [2, 4]
    quiet = _trainer(tmp_path / "q", callbacks=(Quiet(),))
    assert [type(c) for c in quiet.callbacks if isinstance(c, MetricsLog)] == [
        Quiet
    ]  # a subclass replaces
    quiet.fit()
    assert not (tmp_path / "q" / "metrics.jsonl").exists()
    with pytest.raises(TypeError, match="Callback instances"):
        _trainer(tmp_path, callbacks=(object(),))  # type: ignore[arg-type]


def test_default_callbacks_follow_the_config() -> None:
    names = [
        type(c).__name__
        for c in default_callbacks(TrainConfig(progress=True, max_minutes=1.0, checkpoint_every=0))
    ]
    assert names == ["MetricsLog", "StopOnSignal", "TimeBudget", "LossPlot", "ProgressBar"]
    cfg = TrainConfig(progress=False, eval_every=5, eval_metric="psnr", sample_every=3)
    cbs = default_callbacks(cfg)
    best = next(c for c in cbs if isinstance(c, BestCheckpoint))
    assert best.monitor == "psnr" and best.every == 5
    assert not any(isinstance(c, (ProgressBar, TimeBudget)) for c in cbs)
    plain = default_callbacks(TrainConfig(eval_every=5, eval_keep_best=False))
    assert any(type(c) is PeriodicEval for c in plain) and not any(
        isinstance(c, BestCheckpoint) for c in plain
    )
    assert any(isinstance(c, (StopOnSignal)) for c in plain) and isinstance(plain[-2], LossPlot)


def test_callback_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="every must be an integer >= 1"):
        MetricsLog(every=0)
    with pytest.raises(ValueError, match="unknown eval metric"):
        PeriodicEval(5, ("lpips",))
    with pytest.raises(ValueError, match="go together"):
        PeriodicEval(5, inputs="a")
    with pytest.raises(ValueError, match="monitor"):
        BestCheckpoint(5, monitor="l1")
    with pytest.raises(ValueError, match="clock"):
        TimeBudget(1.0, "gpu")  # type: ignore[arg-type]


def test_periodic_eval_keeps_the_best_checkpoint_across_a_resume(tmp_path: Path) -> None:
    cfg: dict[str, Any] = {
        "eval_every": 2,
        "eval_metric": "psnr",
        "eval_scenes": 2,
        "keep_last": 1,
        "checkpoint_every": 1,
        "ema_decay": 0.5,
    }
    t = _trainer(tmp_path, steps=4, **cfg)
    t.fit()
    records = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    evals = [r for r in records if r.get("event") == "eval"]
    assert [r["step"] for r in evals] == [2, 4]
    assert all(isinstance(r["eval_psnr"], float) and 0 < r["eval_psnr"] < 60 for r in evals)
    best_file = tmp_path / "checkpoints" / "best.safetensors"
    assert best_file.is_file(), "the best checkpoint is kept beside the last one"
    assert find_latest(tmp_path).name == "step_00000004.safetensors"  # type: ignore[union-attr]
    best = max(evals, key=lambda r: r["eval_psnr"])
    stored = load_checkpoint(best_file)
    assert stored["step"] == best["step"]
    assert stored["callbacks"]["best_checkpoint"]["best"] == pytest.approx(best["eval_psnr"])
    # a resumed run knows the best score so far
    again = _trainer(tmp_path, steps=6, **cfg)
    again.resume(tmp_path)
    cb = next(c for c in again.callbacks if isinstance(c, BestCheckpoint))
    assert cb.best == pytest.approx(best["eval_psnr"]) and cb.best_step == best["step"]


def test_tensorboard_or_log_records_reach_every_callback(tmp_path: Path) -> None:
    seen: list[Mapping[str, Any]] = []

    class Listen(Callback):
        def on_log(self, trainer: Trainer, record: Mapping[str, Any]) -> None:
            seen.append(record)

    _trainer(tmp_path, callbacks=(Listen(),), steps=2).fit()
    assert [r["step"] for r in seen] == [1, 2] and "d_total" in seen[0]


def test_cpu_budget_with_several_threads_says_how_to_spend_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from types import SimpleNamespace

    from cyclegan_ms.training.callbacks import TimeBudget
    from cyclegan_ms.training.clock import RunClock

    trainer: Any = SimpleNamespace(clock=RunClock())  # what TimeBudget reads of the trainer
    before = torch.get_num_threads()
    try:
        for threads, expect in ((2, True), (1, False)):
            torch.set_num_threads(threads)
            caplog.clear()
            with caplog.at_level(logging.INFO, logger="cyclegan_ms.training"):
                TimeBudget(1.0, "cpu").on_fit_start(trainer, 10)
                TimeBudget(1.0, "wall").on_fit_start(trainer, 10)
            said = [r.getMessage() for r in caplog.records if "spin-wait" in r.getMessage()]
            assert len(said) == (1 if expect else 0)
    finally:
        torch.set_num_threads(before)


def test_progress_bar_shows_no_discriminator_loss_for_a_model_without_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A distilled student has no discriminator: the bar shows G only, never ``D=nan``."""
    from cyclegan_ms.training.distillation import Distillation

    torch.manual_seed(0)
    student = Distillation({"name": "resnet_6blocks", "ngf": 2}, tiny_model().G_ab)
    cfg = TrainConfig(steps=3, batch_size=2, log_every=1, progress=True, checkpoint_every=0)
    Trainer(student, Pairs(), run_dir=tmp_path / "student", train=cfg).fit()
    err = capsys.readouterr().err
    assert "G=" in err and "D=" not in err and "nan" not in err
    _trainer(tmp_path / "cyclegan", steps=3, progress=True).fit()  # with one: both shown
    err = capsys.readouterr().err
    assert "G=" in err and "D=" in err and "nan" not in err
