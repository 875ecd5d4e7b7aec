"""The one training loop of the library.

The :class:`Trainer` owns everything around the :class:`~cyclegan_ms.CycleGAN` objectives:
device, precision, ``channels_last``, ``torch.compile``, DDP, optimisers, schedules, image pools,
EMA, logging, sample grids, checkpoints and exact resume.
"""

from __future__ import annotations

import json
import os
import random
import signal
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from ..data.sampler import seed_worker
from ..model import CycleGAN
from ..pool import ImagePool
from ..registry import from_config
from .checkpoint import (
    checkpoint_name,
    find_latest,
    load_checkpoint,
    prune,
    save_checkpoint,
)
from .config import ConfigError, OptimConfig, TrainConfig
from .distributed import DistInfo, all_reduce_mean, init_from_env
from .schedules import Schedule

__all__ = ["TrainResult", "Trainer", "resolve_device"]

_STATE_FORMAT = "cyclegan_ms.trainer/1"


def resolve_device(spec: str) -> torch.device:
    """``"auto"`` → CUDA when available, else CPU; anything else is parsed by ``torch.device``."""
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(spec)
    except (RuntimeError, ValueError):
        raise ConfigError(f"train.device: unknown device {spec!r}; use 'auto', 'cpu' or 'cuda[:N]'") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("train.device = 'cuda' but no CUDA device is available; use 'auto' or 'cpu'")
    return device


@dataclass
class TrainResult:
    """Summary of a :meth:`Trainer.fit` call."""

    step: int
    checkpoint: Path | None
    interrupted: bool = False
    stopped_on_nan: bool = False
    skipped_steps: int = 0
    seconds: float = 0.0
    last_losses: dict[str, float] = field(default_factory=dict)


class _ShardedShuffle(torch.utils.data.Sampler[int]):
    """Deterministic per-epoch permutation of ``range(n)``, sharded over ranks (strided)."""

    def __init__(self, n: int, *, seed: int, rank: int = 0, world_size: int = 1) -> None:
        self.n, self.seed, self.rank, self.world = n, seed, rank, world_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.n // self.world

    def __iter__(self) -> Iterator[int]:
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        order = torch.randperm(self.n, generator=g).tolist()
        usable = (self.n // self.world) * self.world
        return iter(order[self.rank : usable : self.world])


class _Skip(torch.utils.data.Sampler[int]):
    def __init__(self, indices: list[int]) -> None:
        self.indices = indices

    def __len__(self) -> int:
        return len(self.indices)

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices)


class _GeneratorPhase(nn.Module):
    """Holds both generators so one DDP wrapper syncs the generator step."""

    def __init__(self, model: CycleGAN) -> None:
        super().__init__()
        self.G_ab, self.G_ba = model.G_ab, model.G_ba
        self._model: CycleGAN
        object.__setattr__(self, "_model", model)

    def forward(self, real_a: Tensor, real_b: Tensor) -> dict[str, Any]:
        out = self._model.generator_objective(real_a, real_b)
        return {
            "losses": out.losses,
            "fake_a": out.fake_a,
            "fake_b": out.fake_b,
            "rec_a": out.rec_a,
            "rec_b": out.rec_b,
        }


class _DiscriminatorPhase(nn.Module):
    def __init__(self, model: CycleGAN) -> None:
        super().__init__()
        self.D_a, self.D_b = model.D_a, model.D_b
        self._model: CycleGAN
        object.__setattr__(self, "_model", model)

    def forward(self, real_a: Tensor, real_b: Tensor, fake_a: Tensor, fake_b: Tensor) -> dict[str, Tensor]:
        return self._model.discriminator_objective(real_a, real_b, fake_a, fake_b)


def _make_optimizer(params: list[nn.Parameter], cfg: OptimConfig, device: torch.device) -> torch.optim.Optimizer:
    kwargs: dict[str, Any] = {"lr": cfg.lr, "betas": cfg.betas, "eps": cfg.eps}
    if device.type == "cuda":
        kwargs["fused"] = True
    else:
        kwargs["foreach"] = True
    if cfg.weight_decay > 0:
        return torch.optim.AdamW(params, weight_decay=cfg.weight_decay, **kwargs)
    return torch.optim.Adam(params, **kwargs)


def _make_schedule(spec: str | Mapping[str, Any], total_steps: int) -> Schedule:
    cfg: dict[str, Any] = {"name": spec} if isinstance(spec, str) else dict(spec)
    name = cfg.get("name")
    if name in ("linear_decay", "cosine"):
        cfg.setdefault("total_steps", total_steps)
    try:
        sched = from_config("schedule", cfg)
    except (ValueError, TypeError) as err:
        raise ConfigError(f"train.schedule: {err}") from None
    return sched


def _to_float(values: Mapping[str, Tensor | float]) -> dict[str, float]:
    """One device-to-host copy for all loss tensors (a single sync on GPU)."""
    keys = [k for k, v in values.items() if isinstance(v, Tensor)]
    out = {k: float(v) for k, v in values.items() if not isinstance(v, Tensor)}
    if keys:
        stacked = torch.stack([values[k].detach().float().reshape(()) for k in keys])  # type: ignore[union-attr]
        out.update(zip(keys, stacked.cpu().tolist(), strict=True))
    return out


class Trainer:
    """Train a :class:`~cyclegan_ms.CycleGAN` on an unpaired dataset.

    Parameters
    ----------
    model
        The model (its networks are moved to the trainer's device).
    dataset
        Map-style dataset whose items are dicts with ``"A"`` ``(C, H, W)`` and ``"B"``
        ``(C, H, W)`` tensors (see :mod:`cyclegan_ms.data`).
    run_dir
        Folder for checkpoints, ``metrics.jsonl``, sample grids and the loss curve.
    train, optim_g, optim_d
        Loop and optimiser settings.
    experiment
        The full plain config of the run, stored in every checkpoint (self-description).
    value_range
        ``(low, high)`` of the images, used to render sample grids.
    sampler
        Optional sampler over dataset indices with ``set_epoch``; it must be deterministic given
        its seed and epoch for exact resume. Default: a seeded per-epoch shuffle sharded over
        ranks.
    sample_images
        Optional ``(A (N, C, H, W), B (N, C, H, W))`` batch rendered into the sample grids;
        default: the first two items of ``dataset``.

    Examples
    --------
    See ``examples/night_to_day.py`` and
    :func:`cyclegan_ms.training.experiment.run_experiment`.
    """

    def __init__(
        self,
        model: CycleGAN,
        dataset: Dataset[Any],
        *,
        run_dir: str | os.PathLike[str],
        train: TrainConfig | None = None,
        optim_g: OptimConfig | None = None,
        optim_d: OptimConfig | None = None,
        experiment: Mapping[str, Any] | None = None,
        value_range: tuple[float, float] = (0.0, 1.0),
        sampler: torch.utils.data.Sampler[Any] | None = None,
        sample_images: tuple[Tensor, Tensor] | None = None,
        num_workers: int = 0,
    ) -> None:
        self.cfg = train or TrainConfig()
        self.optim_cfg_g = optim_g or OptimConfig()
        self.optim_cfg_d = optim_d or OptimConfig()
        if not isinstance(model, CycleGAN):
            raise TypeError(f"model must be a CycleGAN; got {type(model).__name__}")
        if len(value_range) != 2 or value_range[0] >= value_range[1]:
            raise ValueError(f"value_range must be (low, high) with low < high; got {value_range}")
        if num_workers < 0:
            raise ValueError(f"num_workers must be >= 0; got {num_workers}")
        self.value_range = (float(value_range[0]), float(value_range[1]))
        self.run_dir = Path(run_dir)
        self.experiment = dict(experiment) if experiment is not None else None
        self.device = resolve_device(self.cfg.device)
        cfg = self.cfg
        if cfg.precision == "fp16" and self.device.type != "cuda":
            raise ConfigError("train.precision = 'fp16' needs CUDA; use 'bf16' or 'fp32' on CPU")
        self.dist: DistInfo = init_from_env(self.device.type)
        if self.dist.enabled and self.device.type == "cuda":
            self.device = torch.device("cuda", self.dist.local_rank)
        self._set_determinism()

        self.model = model.to(self.device)
        self.model.value_range = self.value_range  # so translate/evaluate know the data range
        if cfg.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        self.dataset = dataset
        self.num_workers = num_workers
        n = len(dataset)  # type: ignore[arg-type]
        if n < cfg.batch_size * self.dist.world_size:
            raise ValueError(
                f"dataset has {n} items, fewer than one global batch "
                f"({cfg.batch_size} x {self.dist.world_size} processes)"
            )
        self.sampler = sampler or _ShardedShuffle(
            n, seed=cfg.seed, rank=self.dist.rank, world_size=self.dist.world_size
        )

        g_params = [p for g in model.generators() for p in g.parameters()]
        d_params = [p for d in model.discriminators() for p in d.parameters()]
        self.opt_g = _make_optimizer(g_params, self.optim_cfg_g, self.device)
        self.opt_d = _make_optimizer(d_params, self.optim_cfg_d, self.device)
        self.schedule = _make_schedule(cfg.schedule, cfg.steps)
        use_scaler = cfg.precision == "fp16"
        self.scaler_g = torch.amp.GradScaler(self.device.type, enabled=use_scaler)
        self.scaler_d = torch.amp.GradScaler(self.device.type, enabled=use_scaler)
        self.pool_a = ImagePool(cfg.pool_size, seed=cfg.seed * 2 + 1)
        self.pool_b = ImagePool(cfg.pool_size, seed=cfg.seed * 2 + 2)
        self.ema: dict[str, torch.optim.swa_utils.AveragedModel] | None = None
        if cfg.ema_decay is not None:
            fn = torch.optim.swa_utils.get_ema_multi_avg_fn(cfg.ema_decay)
            self.ema = {
                name: torch.optim.swa_utils.AveragedModel(g, multi_avg_fn=fn, use_buffers=True)
                for name, g in (("G_ab", model.G_ab), ("G_ba", model.G_ba))
            }

        if cfg.compile:
            for net in (*model.generators(), *model.discriminators()):
                net.compile()
        self.g_phase: nn.Module = _GeneratorPhase(self.model)
        self.d_phase: nn.Module = _DiscriminatorPhase(self.model)
        if self.dist.enabled:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.g_phase = nn.parallel.DistributedDataParallel(self.g_phase, device_ids=ids)
            self.d_phase = nn.parallel.DistributedDataParallel(self.d_phase, device_ids=ids)

        self.step = 0
        self.epoch = 0
        self.batch_in_epoch = 0
        self.bad_steps = 0
        self.skipped_steps = 0
        self._stop_signal: int | None = None
        self._sample_images = sample_images
        self._writer: Any = None

    # ------------------------------------------------------------------ set-up helpers
    def _set_determinism(self) -> None:
        seed = self.cfg.seed
        random.seed(seed)
        np.random.seed(seed % 2**32)
        torch.manual_seed(seed)
        if self.cfg.deterministic:
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
            torch.use_deterministic_algorithms(True)
            torch.backends.cudnn.benchmark = False
        elif self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True

    def _autocast(self) -> Any:
        p = self.cfg.precision
        if p == "fp32":
            return nullcontext()
        dtype = torch.bfloat16 if p == "bf16" else torch.float16
        return torch.autocast(self.device.type, dtype=dtype)

    def _batches(self) -> Iterator[dict[str, Any]]:
        bs = self.cfg.batch_size
        while True:
            if hasattr(self.sampler, "set_epoch"):
                self.sampler.set_epoch(self.epoch)
            indices = list(iter(self.sampler))
            per_epoch = len(indices) // bs
            if per_epoch == 0:
                raise ValueError(f"the sampler yields {len(indices)} indices, fewer than a batch of {bs}")
            start = self.batch_in_epoch * bs
            loader = DataLoader(
                self.dataset,
                batch_size=bs,
                sampler=_Skip(indices[start : per_epoch * bs]),
                drop_last=True,
                num_workers=self.num_workers,
                worker_init_fn=seed_worker if self.num_workers else None,
                generator=torch.Generator().manual_seed(self.cfg.seed * 7919 + self.epoch),
                pin_memory=self.device.type == "cuda",
            )
            for batch in loader:
                self.batch_in_epoch += 1
                yield batch
            self.epoch += 1
            self.batch_in_epoch = 0

    def _prepare(self, x: Tensor) -> Tensor:
        x = x.to(self.device, non_blocking=True)
        if self.cfg.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x

    def _set_lr(self) -> tuple[float, float]:
        factor = self.schedule(self.step)
        lr_g = self.optim_cfg_g.lr * factor
        lr_d = self.optim_cfg_d.lr * factor
        for group in self.opt_g.param_groups:
            group["lr"] = lr_g
        for group in self.opt_d.param_groups:
            group["lr"] = lr_d
        return lr_g, lr_d

    def _all_finite(self, value: Tensor) -> bool:
        flag = torch.isfinite(value.detach()).all().to(torch.float32).reshape(1)
        if self.dist.enabled:
            torch.distributed.all_reduce(flag, op=torch.distributed.ReduceOp.MIN)
        return bool(flag.item() > 0)

    def _backward_step(
        self, loss: Tensor, opt: torch.optim.Optimizer, scaler: torch.amp.GradScaler, params: Sequence[Tensor]
    ) -> None:
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        if self.cfg.grad_clip is not None:
            scaler.unscale_(opt)
            torch.nn.utils.clip_grad_norm_(params, self.cfg.grad_clip)
        scaler.step(opt)
        scaler.update()

    # ------------------------------------------------------------------ one step
    def train_step(self, batch: Mapping[str, Any]) -> dict[str, Tensor | float] | None:
        """One generator update then one discriminator update.

        Returns
        -------
        dict[str, Tensor | float] | None
            The step's losses (``g_*`` and ``d_*``, detached scalar tensors, left on the device
            so that no step waits for a host copy) and learning rates, or ``None`` if a
            non-finite loss made the step be skipped.
        """
        real_a = self._prepare(batch["A"])
        real_b = self._prepare(batch["B"])
        lr_g, lr_d = self._set_lr()
        model = self.model
        model.train()

        with self._autocast():
            g_out = self.g_phase(real_a, real_b)
        g_total = g_out["losses"]["total"]
        if not self._all_finite(g_total):
            self.opt_g.zero_grad(set_to_none=True)
            return None
        g_params = [p for g in model.generators() for p in g.parameters()]
        self._backward_step(g_total, self.opt_g, self.scaler_g, g_params)

        fake_a = self.pool_a.query(g_out["fake_a"].detach())
        fake_b = self.pool_b.query(g_out["fake_b"].detach())
        with self._autocast():
            d_out = self.d_phase(real_a, real_b, fake_a, fake_b)
        if not self._all_finite(d_out["total"]):
            self.opt_d.zero_grad(set_to_none=True)
            return None
        d_params = [p for d in model.discriminators() for p in d.parameters()]
        self._backward_step(d_out["total"], self.opt_d, self.scaler_d, d_params)

        if self.ema is not None:
            for name, avg in self.ema.items():
                avg.update_parameters(getattr(model, name))
        values: dict[str, Tensor | float] = {f"g_{k}": v.detach() for k, v in g_out["losses"].items()}
        values.update({f"d_{k}": v.detach() for k, v in d_out.items()})
        values["lr_g"], values["lr_d"] = lr_g, lr_d
        return values

    # ------------------------------------------------------------------ the loop
    def fit(self, steps: int | None = None) -> TrainResult:
        """Train until ``steps`` (default ``train.steps``) optimisation steps have been taken.

        A ``SIGINT``/``SIGTERM`` during training finishes the current step, writes a
        checkpoint and returns (``interrupted=True``). ``max_bad_steps`` consecutive
        non-finite steps stop training with a checkpoint of the last good state.
        """
        target = self.cfg.steps if steps is None else steps
        cfg = self.cfg
        main = self.dist.is_main
        if main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            self._write_config()
        metrics_path = self.run_dir / "metrics.jsonl"
        handlers = self._install_signal_handlers()
        bar = None
        if main and cfg.progress:
            from tqdm.auto import tqdm

            budget_s = None if cfg.max_minutes is None else 60.0 * cfg.max_minutes
            if budget_s is not None and budget_s < 1e9:
                # a time budget ends the run: show its progress (and ETA), steps and s/step in the
                # postfix (tqdm's own rate would read "s/s")
                clock = "CPU time" if cfg.budget_clock == "cpu" else "time"
                bar = tqdm(
                    total=round(budget_s), unit="s", dynamic_ncols=True, desc=f"train ({clock} budget)",
                    bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} s [{elapsed}<{remaining}{postfix}]",
                )
            else:
                bar = tqdm(total=target, initial=self.step, unit="it", dynamic_ncols=True, desc="train")
        t0 = time.perf_counter()
        c0 = self._budget_clock()
        last: dict[str, float] = {}
        stopped_on_nan = False
        interrupted = False
        ckpt: Path | None = None
        stream = self._batches()
        try:
            while self.step < target:
                batch = next(stream)
                values = self.train_step(batch)
                if values is None:
                    self.bad_steps += 1
                    self.skipped_steps += 1
                    if main:
                        self._log_event(metrics_path, {"step": self.step, "event": "skipped_nonfinite"})
                    if self.bad_steps >= cfg.max_bad_steps:
                        stopped_on_nan = True
                        break
                    continue
                self.bad_steps = 0
                self.step += 1
                if self.step % cfg.log_every == 0 or self.step == target:
                    last = all_reduce_mean(_to_float(values), self.device)
                    if main:
                        self._log_metrics(metrics_path, last, time.perf_counter() - t0)
                if bar is not None:
                    if bar.unit == "s":
                        used = self._budget_clock() - c0
                        bar.update(min(int(bar.total or 0), int(used)) - int(bar.n))
                    else:
                        bar.update(1)
                    postfix: dict[str, str] = {}
                    if bar.unit == "s":
                        spent = time.perf_counter() - t0
                        postfix = {"step": str(self.step), "s/step": f"{spent / max(1, self.step):.2f}"}
                    if last:
                        postfix["G"] = f"{last.get('g_total', float('nan')):.3f}"
                        postfix["D"] = f"{last.get('d_total', float('nan')):.3f}"
                    if postfix:
                        bar.set_postfix(postfix, refresh=False)
                if main and cfg.sample_every and self.step % cfg.sample_every == 0:
                    self.save_samples()
                if cfg.checkpoint_every and self.step % cfg.checkpoint_every == 0 and self.step < target:
                    ckpt = self.save()
                if self._should_stop():
                    interrupted = True
                    break
                if self._out_of_time(c0):
                    break
        finally:
            if bar is not None:
                bar.close()
            self._restore_signal_handlers(handlers)
        ckpt = self.save()
        if main:
            if stopped_on_nan:
                msg = (
                    f"stopped: {cfg.max_bad_steps} consecutive steps had a non-finite loss; "
                    f"the last good state (step {self.step}) is in {ckpt}"
                )
                self._log_event(metrics_path, {"step": self.step, "event": "stopped_nonfinite", "message": msg})
                print(msg)
            if cfg.sample_every:
                self.save_samples()
            self.plot_losses()
            if self._writer is not None:
                self._writer.close()
        return TrainResult(
            step=self.step,
            checkpoint=ckpt,
            interrupted=interrupted,
            stopped_on_nan=stopped_on_nan,
            skipped_steps=self.skipped_steps,
            seconds=time.perf_counter() - t0,
            last_losses=last,
        )

    # ------------------------------------------------------------------ signals
    def _install_signal_handlers(self) -> dict[int, Any]:
        import threading

        if threading.current_thread() is not threading.main_thread():
            return {}
        saved: dict[int, Any] = {}

        def handler(signum: int, frame: Any) -> None:
            if self._stop_signal is not None and signum == signal.SIGINT:
                raise KeyboardInterrupt  # second Ctrl-C: stop now
            self._stop_signal = signum

        for sig in (signal.SIGINT, signal.SIGTERM):
            saved[sig] = signal.signal(sig, handler)
        return saved

    @staticmethod
    def _restore_signal_handlers(saved: Mapping[int, Any]) -> None:
        for sig, old in saved.items():
            signal.signal(sig, old)

    def _budget_clock(self) -> float:
        """Seconds on the clock ``train.budget_clock`` names (wall or this process's CPU time)."""
        return time.process_time() if self.cfg.budget_clock == "cpu" else time.perf_counter()

    def _out_of_time(self, c0: float) -> bool:
        if self.cfg.max_minutes is None:
            return False
        flag = 1.0 if self._budget_clock() - c0 >= 60.0 * self.cfg.max_minutes else 0.0
        if self.dist.enabled:  # every rank stops at the same step
            t = torch.tensor([flag], device=self.device)
            torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MAX)
            flag = float(t.item())
        return flag > 0

    def _should_stop(self) -> bool:
        flag = 1.0 if self._stop_signal is not None else 0.0
        if self.dist.enabled:
            t = torch.tensor([flag], device=self.device)
            torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MAX)
            flag = float(t.item())
        return flag > 0

    # ------------------------------------------------------------------ logging
    def _write_config(self) -> None:
        if self.experiment is not None:
            path = self.run_dir / "config.json"
            path.write_text(json.dumps(self.experiment, indent=2, default=str))

    def _log_metrics(self, path: Path, values: Mapping[str, float], elapsed: float) -> None:
        record = {"step": self.step, "time": round(elapsed, 3), **values}
        with path.open("a") as fh:
            fh.write(json.dumps(record) + "\n")
        if self.cfg.tensorboard:
            if self._writer is None:
                try:
                    from torch.utils.tensorboard import SummaryWriter
                except ImportError:
                    raise ConfigError(
                        "train.tensorboard = true needs the tensorboard package: "
                        "pip install 'cyclegan-ms[tensorboard]'"
                    ) from None
                self._writer = SummaryWriter(str(self.run_dir / "tensorboard"))
            for k, v in values.items():
                self._writer.add_scalar(k, v, self.step)

    @staticmethod
    def _log_event(path: Path, record: Mapping[str, Any]) -> None:
        with path.open("a") as fh:
            fh.write(json.dumps(dict(record)) + "\n")

    def _sample_batch(self) -> tuple[Tensor, Tensor]:
        if self._sample_images is None:
            items = [self.dataset[i] for i in range(min(2, len(self.dataset)))]  # type: ignore[arg-type]
            self._sample_images = (
                torch.stack([it["A"] for it in items]),
                torch.stack([it["B"] for it in items]),
            )
        return self._sample_images

    @torch.no_grad()
    def save_samples(self) -> Path:
        """Write ``samples/step_XXXXXXXX.png``: rows of input | translated | reconstructed,
        for A→B→A then B→A→B."""
        from ..utils.images import save_grid

        a, b = self._sample_batch()
        a, b = self._prepare(a), self._prepare(b)
        m = self.model
        was_training = m.training
        m.eval()
        with self._autocast():
            fake_b = m.G_ab(a)
            rec_a = m.G_ba(fake_b)
            fake_a = m.G_ba(b)
            rec_b = m.G_ab(fake_a)
        m.train(was_training)
        rows = [[a[i], fake_b[i], rec_a[i]] for i in range(a.shape[0])]
        rows += [[b[i], fake_a[i], rec_b[i]] for i in range(b.shape[0])]
        path = self.run_dir / "samples" / f"step_{self.step:08d}.png"
        save_grid(rows, path, value_range=self.value_range)
        return path

    def plot_losses(self) -> Path | None:
        """Draw ``loss_curve.png`` from ``metrics.jsonl`` (generator and discriminator terms)."""
        from ..utils.plots import plot_loss_curves

        metrics = self.run_dir / "metrics.jsonl"
        if not metrics.is_file():
            return None
        return plot_loss_curves(metrics, self.run_dir / "loss_curve.png")

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue training exactly (plain data + tensors)."""
        try:
            model_config: dict[str, Any] | None = self.model.config()
        except ValueError:
            model_config = None
        rng: dict[str, Any] = {
            "python": random.getstate(),
            "numpy": np.random.get_state(),
            "torch": torch.get_rng_state(),
        }
        if torch.cuda.is_available():
            rng["cuda"] = torch.cuda.get_rng_state_all()
        return {
            "format": _STATE_FORMAT,
            "step": self.step,
            "epoch": self.epoch,
            "batch_in_epoch": self.batch_in_epoch,
            "bad_steps": self.bad_steps,
            "skipped_steps": self.skipped_steps,
            "world_size": self.dist.world_size,
            "experiment": self.experiment,
            "model_config": model_config,
            "value_range": list(self.value_range),
            "train_config": asdict(self.cfg),
            "model": self.model.state_dict(),
            "optim_g": self.opt_g.state_dict(),
            "optim_d": self.opt_d.state_dict(),
            "scaler_g": self.scaler_g.state_dict(),
            "scaler_d": self.scaler_d.state_dict(),
            "pool_a": self.pool_a.state_dict(),
            "pool_b": self.pool_b.state_dict(),
            "ema": {k: v.state_dict() for k, v in self.ema.items()} if self.ema else None,
            "rng": rng,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a :meth:`state_dict` (e.g. from :func:`load_checkpoint`)."""
        if state.get("format") != _STATE_FORMAT:
            raise ValueError(
                f"not a trainer checkpoint (format {state.get('format')!r}, expected {_STATE_FORMAT!r})"
            )
        if state.get("world_size", 1) != self.dist.world_size:
            print(
                f"note: checkpoint was written with {state.get('world_size')} processes, resuming "
                f"with {self.dist.world_size}; the data order after resume will differ"
            )
        self.model.load_state_dict(state["model"])
        self.opt_g.load_state_dict(state["optim_g"])
        self.opt_d.load_state_dict(state["optim_d"])
        if state.get("scaler_g"):
            self.scaler_g.load_state_dict(state["scaler_g"])
        if state.get("scaler_d"):
            self.scaler_d.load_state_dict(state["scaler_d"])
        self.pool_a.load_state_dict(state["pool_a"])
        self.pool_b.load_state_dict(state["pool_b"])
        if self.ema is not None and state.get("ema"):
            for k, v in self.ema.items():
                v.load_state_dict(state["ema"][k])
        self.step = int(state["step"])
        self.epoch = int(state["epoch"])
        self.batch_in_epoch = int(state["batch_in_epoch"])
        self.bad_steps = int(state.get("bad_steps", 0))
        self.skipped_steps = int(state.get("skipped_steps", 0))
        rng = state["rng"]
        random.setstate(rng["python"])
        np.random.set_state(rng["numpy"])
        torch.set_rng_state(rng["torch"])
        if "cuda" in rng and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(rng["cuda"])

    def save(self, path: str | os.PathLike[str] | None = None) -> Path | None:
        """Write a checkpoint atomically (rank 0 only) and prune old ones; returns its path."""
        target = Path(path) if path is not None else self.run_dir / "checkpoints" / checkpoint_name(self.step)
        state = self.state_dict()  # every rank builds it (cheap) to keep code paths equal
        if not self.dist.is_main:
            return None
        written = save_checkpoint(target, state)
        if path is None:
            prune(written.parent, self.cfg.keep_last)
        return written

    def resume(self, source: str | os.PathLike[str]) -> int:
        """Continue from a checkpoint file or the newest checkpoint of a run folder.

        Returns
        -------
        int
            The step training continues from.
        """
        src = Path(source)
        path = src if src.is_file() else find_latest(src)
        if path is None:
            raise FileNotFoundError(f"no checkpoint found in {src} (looked for checkpoints/step_*.safetensors)")
        self.load_state_dict(load_checkpoint(path))
        return self.step


def build_schedule(spec: str | Mapping[str, Any], total_steps: int) -> Schedule:
    """Public helper: build a schedule from a name/table, filling in ``total_steps``."""
    return _make_schedule(spec, total_steps)


