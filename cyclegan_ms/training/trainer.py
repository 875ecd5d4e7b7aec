"""The one training loop of the library.

The :class:`Trainer` sets up what the :class:`~cyclegan_ms.CycleGAN` objectives need to train
(device, precision, ``channels_last``, ``torch.compile``, DDP, optimisers, schedules, image pools,
EMA, the data order) and runs a short loop over :meth:`Trainer.train_step`; everything around the
loop (logs, progress, sample grids, periodic and best checkpoints, evaluation, time budget,
signals) is a :class:`~cyclegan_ms.training.callbacks.Callback`. Its state (networks, optimisers,
pools, EMA, the sampler's position, random streams, callback state) is one plain dict that a
checkpoint holds, so a resumed run continues exactly.
"""

from __future__ import annotations

import json
import logging
import os
import random
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

from ..data.sampler import ResumableSampler, UnpairedSampler, seed_worker
from ..model import CycleGAN
from ..pool import ImagePool
from ..registry import from_config
from .callbacks import Callback, default_callbacks
from .checkpoint import (
    checkpoint_name,
    find_latest,
    load_checkpoint,
    prune,
    save_checkpoint,
)
from .config import ConfigError, OptimConfig, TrainConfig
from .distributed import DistInfo, init_from_env
from .fast_path import FastPath, pick_fast_path
from .schedules import Schedule

__all__ = ["TrainResult", "Trainer", "resolve_device"]

_STATE_FORMAT = "cyclegan_ms.trainer/2"
_OLD_FORMATS = ("cyclegan_ms.trainer/1",)

logger = logging.getLogger("cyclegan_ms.training")


def resolve_device(spec: str) -> torch.device:
    """``"auto"`` → CUDA when available, else CPU; anything else is parsed by ``torch.device``."""
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(spec)
    except (RuntimeError, ValueError):
        raise ConfigError(
            f"train.device: unknown device {spec!r}; use 'auto', 'cpu' or 'cuda[:N]'"
        ) from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            "train.device = 'cuda' but no CUDA device is available; use 'auto' or 'cpu'"
        )
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

    def forward(
        self, real_a: Tensor, real_b: Tensor, fake_a: Tensor, fake_b: Tensor
    ) -> dict[str, Tensor]:
        return self._model.discriminator_objective(real_a, real_b, fake_a, fake_b)


def _make_optimizer(
    params: list[nn.Parameter], cfg: OptimConfig, device: torch.device
) -> torch.optim.Optimizer:
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


def _merge_callbacks(defaults: Sequence[Callback], user: Sequence[Callback]) -> list[Callback]:
    """The defaults, less those a user callback is an instance of (it replaces them: a subclass
    of :class:`~cyclegan_ms.training.callbacks.MetricsLog` replaces the default log), then the
    user's callbacks."""
    for cb in user:
        if not isinstance(cb, Callback):
            raise TypeError(f"callbacks must be Callback instances; got {type(cb).__name__}")
    kept = [d for d in defaults if not any(isinstance(u, type(d)) for u in user)]
    return kept + list(user)


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
        The data order: a sampler over dataset indices (or :class:`~cyclegan_ms.data.SampleKey`
        s). One with ``state_dict(consumed=...)``/``load_state_dict`` (as
        :class:`~cyclegan_ms.data.UnpairedSampler`) is used as is; any other is wrapped in a
        :class:`~cyclegan_ms.data.sampler.ResumableSampler` (it must then be deterministic
        given its epoch for an exact resume). Default: an :class:`UnpairedSampler` for datasets
        with ``len_a``/``len_b``, else a seeded :class:`~torch.utils.data.DistributedSampler`
        shuffle; both shard over DDP ranks.
    sample_images
        Optional ``(A (N, C, H, W), B (N, C, H, W))`` batch rendered into the sample grids;
        default: the first two items of ``dataset``.
    num_workers
        Data-loading worker processes.
    callbacks
        Extra :class:`~cyclegan_ms.training.callbacks.Callback` s, called after the defaults
        (see :func:`~cyclegan_ms.training.callbacks.default_callbacks`); one that is an instance
        of a default's class (the same class or a subclass) replaces that default.

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
        sampler: Any = None,
        sample_images: tuple[Tensor, Tensor] | None = None,
        num_workers: int = 0,
        callbacks: Sequence[Callback] = (),
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
        self.fast_path: FastPath | None = None
        self.precision: str = cfg.precision
        if cfg.precision == "auto":
            self.fast_path = pick_fast_path(self.device)
            self.precision = self.fast_path.precision
            if self.fast_path.tf32:
                torch.backends.cuda.matmul.allow_tf32 = True
                torch.backends.cudnn.allow_tf32 = True
            logger.info("train.precision = 'auto': %s", self.fast_path.describe())
        if self.precision == "fp16" and self.device.type != "cuda":
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
        self.sampler = self._make_sampler(sampler, n)

        g_params = [p for g in model.generators() for p in g.parameters()]
        d_params = [p for d in model.discriminators() for p in d.parameters()]
        self.opt_g = _make_optimizer(g_params, self.optim_cfg_g, self.device)
        self.opt_d = _make_optimizer(d_params, self.optim_cfg_d, self.device)
        self.schedule = _make_schedule(cfg.schedule, cfg.steps)
        use_scaler = self.precision == "fp16"
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

        self.callbacks: list[Callback] = _merge_callbacks(default_callbacks(cfg), callbacks)
        self.step = 0
        self.bad_steps = 0
        self.skipped_steps = 0
        self.stop_reason: str | None = None
        self.last_eval: dict[str, float] = {}
        self.last_checkpoint: Path | None = None
        self._interrupted = False
        self._consumed = 0  # samples of the sampler's current iteration the loop has used
        self._sample_images = sample_images

    # ------------------------------------------------------------------ set-up helpers
    def _make_sampler(self, sampler: Any, n: int) -> Any:
        if sampler is None:
            if hasattr(self.dataset, "len_a") and hasattr(self.dataset, "len_b"):
                return UnpairedSampler(
                    self.dataset,
                    seed=self.cfg.seed,
                    num_replicas=self.dist.world_size,
                    rank=self.dist.rank,
                )
            from torch.utils.data import DistributedSampler

            sampler = DistributedSampler(
                self.dataset,
                num_replicas=self.dist.world_size,
                rank=self.dist.rank,
                shuffle=True,
                seed=self.cfg.seed,
                drop_last=True,
            )
        if callable(getattr(sampler, "state_dict", None)) and callable(
            getattr(sampler, "load_state_dict", None)
        ):
            return sampler
        return ResumableSampler(sampler)

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
        p = self.precision
        if p == "fp32":
            return nullcontext()
        dtype = torch.bfloat16 if p == "bf16" else torch.float16
        return torch.autocast(self.device.type, dtype=dtype)

    def _batches(self) -> Iterator[dict[str, Any]]:
        """Batches in the sampler's order, forever; the sampler's state is the data position."""
        bs = self.cfg.batch_size
        while True:
            epoch = int(self.sampler.state_dict()["epoch"])
            loader = DataLoader(
                self.dataset,
                batch_size=bs,
                sampler=self.sampler,
                drop_last=True,
                num_workers=self.num_workers,
                worker_init_fn=seed_worker if self.num_workers else None,
                generator=torch.Generator().manual_seed(self.cfg.seed * 7919 + epoch),
                pin_memory=self.device.type == "cuda",
            )
            self._consumed = 0
            got = 0
            for batch in loader:
                self._consumed += bs
                got += 1
                yield batch
            if (
                got == 0
                and self.sampler.state_dict()["epoch"] == epoch + 1
                and len(self.sampler) < bs
            ):
                raise ValueError(
                    f"the sampler yields {len(self.sampler)} indices, fewer than a batch of {bs}"
                )

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

    @staticmethod
    def _backward(loss: Tensor, opt: torch.optim.Optimizer, scaler: torch.amp.GradScaler) -> None:
        """Gradients of ``loss`` into the (cleared) ``.grad`` of ``opt``'s parameters; no step."""
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()

    def _step(
        self, opt: torch.optim.Optimizer, scaler: torch.amp.GradScaler, params: Sequence[Tensor]
    ) -> None:
        if self.cfg.grad_clip is not None:
            scaler.unscale_(opt)
            torch.nn.utils.clip_grad_norm_(params, self.cfg.grad_clip)
        scaler.step(opt)
        scaler.update()

    def _to_host(self, losses: Mapping[str, Tensor]) -> dict[str, float] | None:
        """The step's one host sync: the losses (averaged over ranks) if all are finite, else
        ``None``; under DDP a step is skipped on every rank when one rank's loss is not."""
        keys = list(losses)
        values = torch.stack([losses[k].detach().float().reshape(()) for k in keys])
        bad = (~torch.isfinite(values)).any().float().reshape(1)
        packed = torch.cat([bad, torch.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)])
        if self.dist.enabled:
            torch.distributed.all_reduce(packed)
            packed[1:] /= self.dist.world_size
        host = packed.cpu().tolist()
        if host[0] > 0:
            return None
        return dict(zip(keys, host[1:], strict=True))

    # ------------------------------------------------------------------ one step
    def train_step(self, batch: Mapping[str, Any]) -> dict[str, float] | None:
        """One generator update then one discriminator update, or none of them.

        Both objectives and their gradients are computed first (each network's gradients right
        after its objective, so the generator graph is freed before the discriminator's is built)
        and the losses are checked for finite values in one place, before any optimiser step; a
        step with a non-finite loss changes nothing (weights, optimisers, pools and EMA are as
        before; the gradients are cleared) and returns ``None``.

        Returns
        -------
        dict[str, float] | None
            The step's losses (``g_*`` and ``d_*``, host floats; under DDP averaged over ranks)
            and learning rates ``lr_g``/``lr_d``, or ``None`` for a skipped step.
        """
        real_a = self._prepare(batch["A"])
        real_b = self._prepare(batch["B"])
        lr_g, lr_d = self._set_lr()
        model = self.model
        model.train()

        # Both objectives and their gradients first (the generator's graph is freed before the
        # discriminator's is built: lower peak memory); no parameter moves until both losses are
        # known to be finite.
        with self._autocast():
            g_out = self.g_phase(real_a, real_b)
        g_losses = {f"g_{k}": v.detach() for k, v in g_out["losses"].items()}
        self._backward(g_out["losses"]["total"], self.opt_g, self.scaler_g)
        fake_a_new, fake_b_new = g_out["fake_a"].detach(), g_out["fake_b"].detach()
        del g_out
        pools = (self.pool_a.snapshot(), self.pool_b.snapshot())
        fake_a = self.pool_a.query(fake_a_new)
        fake_b = self.pool_b.query(fake_b_new)
        with self._autocast():
            d_out = self.d_phase(real_a, real_b, fake_a, fake_b)
        self._backward(d_out["total"], self.opt_d, self.scaler_d)
        losses = {**g_losses, **{f"d_{k}": v.detach() for k, v in d_out.items()}}
        values = self._to_host(losses)
        if values is None:  # nothing has been stepped: drop the gradients, undo the pools
            self.opt_g.zero_grad(set_to_none=True)
            self.opt_d.zero_grad(set_to_none=True)
            self.pool_a.rollback(pools[0])
            self.pool_b.rollback(pools[1])
            return None

        self._step(
            self.opt_g, self.scaler_g, [p for g in model.generators() for p in g.parameters()]
        )
        self._step(
            self.opt_d, self.scaler_d, [p for d in model.discriminators() for p in d.parameters()]
        )
        if self.ema is not None:
            for name, avg in self.ema.items():
                avg.update_parameters(getattr(model, name))
        values["lr_g"], values["lr_d"] = lr_g, lr_d
        return values

    # ------------------------------------------------------------------ the loop
    def request_stop(self, reason: str, *, interrupted: bool = False) -> None:
        """Ask :meth:`fit` to stop after the current step (with the final checkpoint)."""
        if self.stop_reason is None:
            self.stop_reason = reason
        self._interrupted = self._interrupted or interrupted

    def _stop_agreed(self) -> bool:
        """Whether to stop now; under DDP every rank stops at the same step."""
        if not self.dist.enabled:
            return self.stop_reason is not None
        flag = torch.tensor(
            [2.0 if self._interrupted else 1.0 if self.stop_reason else 0.0], device=self.device
        )
        torch.distributed.all_reduce(flag, op=torch.distributed.ReduceOp.MAX)
        if flag.item() > 0 and self.stop_reason is None:
            self.request_stop("another rank stopped", interrupted=flag.item() > 1)
        return flag.item() > 0

    def budget_clock(self) -> float:
        """Seconds on the clock ``train.budget_clock`` names (wall or this process's CPU time)."""
        return time.process_time() if self.cfg.budget_clock == "cpu" else time.perf_counter()

    def log(self, record: Mapping[str, Any]) -> None:
        """Hand a record (losses, scores or an event, with its ``step``) to every callback's
        :meth:`~cyclegan_ms.training.callbacks.Callback.on_log` (main rank only)."""
        if self.dist.is_main:
            for cb in self.callbacks:
                cb.on_log(self, record)

    def fit(self, steps: int | None = None) -> TrainResult:
        """Train until ``steps`` (default ``train.steps``) optimisation steps have been taken.

        A callback may stop the run earlier (time budget, ``SIGINT``/``SIGTERM``: then
        ``interrupted=True``); ``max_bad_steps`` consecutive non-finite steps stop training with
        a checkpoint of the last good state. A final checkpoint is always written.
        """
        target = self.cfg.steps if steps is None else steps
        cfg = self.cfg
        if self.dist.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            self._write_config()
        self.stop_reason, self._interrupted = None, False
        t0 = time.perf_counter()
        last: dict[str, float] = {}
        stopped_on_nan = False
        stream = self._batches()
        try:
            for cb in self.callbacks:
                cb.on_fit_start(self, target)
            while self.step < target:
                values = self.train_step(next(stream))
                if values is None:
                    self.bad_steps += 1
                    self.skipped_steps += 1
                    for cb in self.callbacks:
                        cb.on_step_skipped(self)
                    if self.bad_steps >= cfg.max_bad_steps:
                        stopped_on_nan = True
                        break
                    continue
                self.bad_steps = 0
                self.step += 1
                last = values
                for cb in self.callbacks:
                    cb.on_step_end(self, values)
                if self._stop_agreed():
                    break
        finally:
            for cb in self.callbacks:
                cb.on_teardown(self)
        ckpt = self.save()
        result = TrainResult(
            step=self.step,
            checkpoint=ckpt,
            interrupted=self._interrupted,
            stopped_on_nan=stopped_on_nan,
            skipped_steps=self.skipped_steps,
            seconds=time.perf_counter() - t0,
            last_losses=last,
        )
        for cb in self.callbacks:
            cb.on_fit_end(self, result)
        return result

    # ------------------------------------------------------------------ outputs
    def _write_config(self) -> None:
        if self.experiment is not None:
            path = self.run_dir / "config.json"
            path.write_text(json.dumps(self.experiment, indent=2, default=str))

    def sample_batch(self) -> tuple[Tensor, Tensor]:
        """The ``(A (N, C, H, W), B (N, C, H, W))`` images of the sample grids (default: the first
        two items of the dataset)."""
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

        a, b = self.sample_batch()
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
        sampler = (
            self.sampler.state_dict(consumed=self._consumed)
            if self._consumed
            else self.sampler.state_dict()
        )
        return {
            "format": _STATE_FORMAT,
            "step": self.step,
            "sampler": sampler,
            "epoch": int(sampler["epoch"]),
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
            "callbacks": {cb.state_key: cb.state_dict() for cb in self.callbacks if cb.state_key},
            "rng": rng,
        }

    def _load_sampler_state(self, state: Mapping[str, Any]) -> None:
        if state["format"] in _OLD_FORMATS:  # epoch + batches done in it
            saved = {
                "epoch": int(state["epoch"]),
                "position": int(state["batch_in_epoch"]) * self.cfg.batch_size,
            }
        else:
            saved = dict(state["sampler"])
        if state.get("world_size", 1) != self.dist.world_size:
            logger.warning(
                "checkpoint was written with %s processes, resuming with %s; the data order after "
                "resume will differ",
                state.get("world_size"),
                self.dist.world_size,
            )
            self.sampler.set_epoch(int(saved["epoch"]))
            return
        self.sampler.load_state_dict(saved)

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a :meth:`state_dict` (e.g. from :func:`load_checkpoint`)."""
        if state.get("format") not in (_STATE_FORMAT, *_OLD_FORMATS):
            raise ValueError(
                f"not a trainer checkpoint (format {state.get('format')!r}, expected {_STATE_FORMAT!r})"
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
        self._load_sampler_state(state)
        self._consumed = 0
        for cb in self.callbacks:
            if cb.state_key and cb.state_key in (state.get("callbacks") or {}):
                cb.load_state_dict(state["callbacks"][cb.state_key])
        self.step = int(state["step"])
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
        target = (
            Path(path)
            if path is not None
            else self.run_dir / "checkpoints" / checkpoint_name(self.step)
        )
        state = self.state_dict()  # every rank builds it (cheap) to keep code paths equal
        if not self.dist.is_main:
            return None
        written = save_checkpoint(target, state)
        if path is None:
            prune(written.parent, self.cfg.keep_last)
            self.last_checkpoint = written
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
            raise FileNotFoundError(
                f"no checkpoint found in {src} (looked for checkpoints/step_*.safetensors)"
            )
        self.load_state_dict(load_checkpoint(path))
        return self.step


def build_schedule(spec: str | Mapping[str, Any], total_steps: int) -> Schedule:
    """Public helper: build a schedule from a name/table, filling in ``total_steps``."""
    return _make_schedule(spec, total_steps)
