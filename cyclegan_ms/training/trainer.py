"""The one training loop of the library.

The :class:`Trainer` holds the optimisers, schedule, image pools and EMA of a model (a
:class:`~cyclegan_ms.CycleGAN`, :class:`~cyclegan_ms.models.CUT`,
:class:`~cyclegan_ms.models.Pix2Pix`, or any :class:`~cyclegan_ms.protocols.TranslationModelProtocol`)
and runs a short loop over :meth:`Trainer.train_step`. Each other
idea is one piece it calls: :mod:`cyclegan_ms.precision`, :mod:`~cyclegan_ms.training.distributed`,
the data order (:class:`~cyclegan_ms.data.loader.BatchStream`), :mod:`cyclegan_ms.checkpoint`, and
the :mod:`~cyclegan_ms.training.callbacks` around the loop (logs, progress, sample grids, loss
plot, checkpoints, evaluation, time budget, signals). Its state is one plain dict that a
checkpoint holds, so a resumed run continues exactly.
"""

from __future__ import annotations

import json
import logging
import os
import random
import time
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn
from torch import Tensor
from torch.utils.data import Dataset

from ..checkpoint import (
    TRAINER_FORMAT,
    checkpoint_name,
    find_latest,
    load_checkpoint,
    load_rng_state,
    prune,
    rng_state,
    save_checkpoint,
    upgrade_trainer_state,
)
from ..data.loader import BatchStream, auto_num_workers, rank_seed
from ..generators.card import Direction
from ..models import as_translation_model
from ..pool import ImagePool
from ..precision import FastPath, Precision, choose_fast_path, networks_to_compile
from ..protocols import DomainKey, TranslationModule
from ..utils.files import atomic_write_bytes
from .callbacks import Callback, default_callbacks, merge_callbacks
from .clock import RunClock
from .config import ConfigError, OptimConfig, TrainConfig
from .distributed import (
    agree_max,
    gather_to_main,
    init_process,
    losses_to_host,
    wrap_phases,
)
from .ema import EMA
from .run_folder import (
    Overwrite,
    RunClaim,
    RunFolderError,
    claim_run_folder,
    run_folder_of,
    trim_log,
)
from .schedules import schedule_from_config

__all__ = ["TrainResult", "Trainer"]

#: The seed offset of each domain's image pool (``seed * 2 + offset``).
_POOL_SEED = {"a": 1, "b": 2}

logger = logging.getLogger("cyclegan_ms.training")


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


def _make_optimizer(
    params: list[nn.Parameter], cfg: OptimConfig, device: torch.device
) -> torch.optim.Optimizer:
    kwargs: dict[str, Any] = {"lr": cfg.lr, "betas": cfg.betas, "eps": cfg.eps}
    # a model without discriminators (a distilled student) gets an optimiser with nothing to
    # step, so checkpoints keep one layout
    groups: list[Any] = params if params else [{"params": []}]
    if device.type == "cuda":
        kwargs["fused"] = True
    else:
        kwargs["foreach"] = True
    if cfg.weight_decay > 0:
        return torch.optim.AdamW(groups, weight_decay=cfg.weight_decay, **kwargs)
    return torch.optim.Adam(groups, **kwargs)


class Trainer:
    """Train a model on a dataset of A and B images.

    Parameters
    ----------
    model
        The model: a :class:`~cyclegan_ms.CycleGAN`, :class:`~cyclegan_ms.models.CUT`,
        :class:`~cyclegan_ms.models.Pix2Pix` or any ``nn.Module`` with the calls of
        :class:`~cyclegan_ms.protocols.TranslationModelProtocol` (its networks are moved to
        the trainer's device). It says which networks each optimiser trains, which generators
        get an EMA copy and which generated images go through an image pool.
    dataset
        Map-style dataset whose items are dicts with ``"A"`` ``(C, H, W)`` and ``"B"``
        ``(C, H, W)`` tensors (see :mod:`cyclegan_ms.data`); unpaired for CycleGAN and CUT,
        aligned pairs for pix2pix.
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
        s), made resumable by :func:`~cyclegan_ms.data.loader.training_sampler`. Default: an
        :class:`~cyclegan_ms.data.UnpairedSampler` for datasets with ``len_a``/``len_b``, else
        a seeded ``DistributedSampler`` shuffle; both shard over DDP ranks.
    sample_images
        Optional ``(A (N, C, H, W), B (N, C, H, W))`` batch rendered into the sample grids;
        default: the first two items of ``dataset``.
    num_workers
        Data-loading worker processes (kept alive for the whole run); ``None`` (default):
        :func:`auto_num_workers` (several on CUDA, so the GPU does not wait for the data; none
        on the CPU, where the workers would take the training's cores).
    callbacks
        Extra :class:`~cyclegan_ms.training.callbacks.Callback` s, called after the defaults
        (see :func:`~cyclegan_ms.training.callbacks.default_callbacks`); one that is an instance
        of a default's class (the same class or a subclass) replaces that default.
    overwrite
        What :meth:`fit` does when ``run_dir`` already holds another run (one this trainer did
        not :meth:`resume` from): ``False`` (default) refuse with
        :class:`~cyclegan_ms.training.run_folder.RunExistsError`; ``True`` or ``"move"`` move
        that run aside to ``RUN_DIR.old-N``; ``"delete"`` delete it (see
        :func:`~cyclegan_ms.training.run_folder.claim_run_folder`).

    Examples
    --------
    See ``examples/night_to_day.py`` and
    :func:`cyclegan_ms.training.experiment.run_experiment`.
    """

    def __init__(
        self,
        model: TranslationModule,
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
        num_workers: int | None = None,
        callbacks: Sequence[Callback] = (),
        overwrite: Overwrite = False,
    ) -> None:
        if overwrite not in (False, True, "move", "delete"):
            raise ValueError(
                f"overwrite must be False, True, 'move' or 'delete'; got {overwrite!r}"
            )
        self.overwrite: Overwrite = overwrite
        self.cfg = train or TrainConfig()
        self.optim_cfg_g = optim_g or OptimConfig()
        self.optim_cfg_d = optim_d or OptimConfig()
        model = as_translation_model(model)
        if len(value_range) != 2 or value_range[0] >= value_range[1]:
            raise ValueError(f"value_range must be (low, high) with low < high; got {value_range}")
        if num_workers is not None and num_workers < 0:
            raise ValueError(f"num_workers must be >= 0 or None (auto); got {num_workers}")
        self.value_range = (float(value_range[0]), float(value_range[1]))
        self.run_dir = Path(run_dir)
        self.experiment = dict(experiment) if experiment is not None else None
        cfg = self.cfg
        self.dist, self.device = init_process(cfg.device)
        #: The :class:`~cyclegan_ms.precision.FastPath` the networks run with (precision,
        #: ``channels_last``, ``torch.compile``, TF32), every field of it applied.
        self.setup: FastPath = choose_fast_path(
            self.device, cfg.precision, channels_last=cfg.channels_last, compile=cfg.compile
        )
        if cfg.precision == "auto":
            logger.info("train.precision = 'auto': %s", self.setup.describe())
        if self.setup.precision == "fp16" and self.device.type != "cuda":
            raise ConfigError("train.precision = 'fp16' needs CUDA; use 'bf16' or 'fp32' on CPU")
        seed = rank_seed(cfg.seed, self.dist.rank)  # each rank its own dropout, noise, ...
        random.seed(seed)
        np.random.seed(seed % 2**32)
        torch.manual_seed(seed)

        self.model: TranslationModule = model.to(self.device)
        self.model.value_range = self.value_range  # so translate/evaluate know the data range
        if self.setup.channels_last:
            self.model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        self.dataset = dataset
        #: The data order: batches in the sampler's order; its state is the position in the data.
        self.data = BatchStream(
            dataset,
            sampler,
            batch_size=cfg.batch_size,
            seed=cfg.seed,
            num_replicas=self.dist.world_size,
            rank=self.dist.rank,
            num_workers=auto_num_workers(self.device) if num_workers is None else num_workers,
            pin_memory=self.device.type == "cuda",
        )

        self._g_params = [p for g in model.generators() for p in g.parameters()]
        self._d_params = [p for d in model.discriminators() for p in d.parameters()]
        self.opt_g = _make_optimizer(self._g_params, self.optim_cfg_g, self.device)
        self.opt_d = _make_optimizer(self._d_params, self.optim_cfg_d, self.device)
        self.schedule = schedule_from_config(cfg.schedule, cfg.steps)
        self.scaler_g = self.setup.grad_scaler(self.device.type)
        self.scaler_d = self.setup.grad_scaler(self.device.type)
        #: The image pool of each domain the model pools (``model.pooled_domains()``).
        self.pools: dict[DomainKey, ImagePool] = {
            d: ImagePool(cfg.pool_size, seed=rank_seed(cfg.seed * 2 + _POOL_SEED[d], self.dist.rank))
            for d in model.pooled_domains()
        }
        self.ema: dict[str, EMA] | None = None
        if cfg.ema_decay is not None:
            self.ema = {
                name: EMA(g, decay=cfg.ema_decay)
                for name, g in model.averaged_generators().items()
            }

        if self.setup.compile:
            nets, note = networks_to_compile(
                model.generators(), model.discriminators(), penalty=model.penalty is not None
            )
            if note:
                logger.warning("train.compile: %s", note)
            for net in nets:
                net.compile()
        self.g_phase, self.d_phase = wrap_phases(self.model, self.dist, self.device)

        self.callbacks = merge_callbacks(default_callbacks(cfg), callbacks)
        #: CPU and wall seconds this run has trained for, across resumes (runs inside
        #: :meth:`fit`; stored in every checkpoint).
        self.clock = RunClock()
        self.step = 0
        self.bad_steps = 0
        self.skipped_steps = 0
        self.stop_reason: str | None = None
        self.last_checkpoint: Path | None = None
        #: Where ``overwrite`` moved the run ``run_dir`` held before this trainer's first
        #: :meth:`fit` (``None``: nothing was moved).
        self.previous_run: Path | None = None
        self._interrupted = False
        self._agreed_stop = 0.0  # under DDP: the stop request every rank saw at the last step
        self._sample_images = sample_images
        self._resumed_from: Path | None = None  # the run folder resume() read
        self._owns_run_dir = False  # a fit() of this trainer has claimed run_dir
        self._claim: RunClaim | None = None

    def backends(self) -> AbstractContextManager[None]:
        """The process-wide settings of this run (TF32 or IEEE fp32, determinism), put back on
        exit; :meth:`fit` runs inside it (see :meth:`~cyclegan_ms.precision.FastPath.backends`)."""
        return self.setup.backends(self.device.type, deterministic=self.cfg.deterministic)

    @property
    def precision(self) -> Precision:
        """The resolved ``train.precision``: ``"fp32"``, ``"bf16"`` or ``"fp16"``."""
        return self.setup.precision

    @property
    def fast_path(self) -> FastPath | None:
        """What ``train.precision = "auto"`` set up (``None`` when the precision was set)."""
        return self.setup if self.cfg.precision == "auto" else None

    # ------------------------------------------------------------------ step helpers
    def autocast(self) -> AbstractContextManager[object]:
        """The forward passes' context: autocast to the resolved precision (none for fp32)."""
        return self.setup.autocast(self.device.type)

    def prepare(self, x: Tensor) -> Tensor:
        """A batch of images on the training device, in the networks' memory format."""
        x = x.to(self.device, non_blocking=True)
        if self.setup.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x

    def _set_lr(self) -> tuple[float, float]:
        factor = self.schedule(self.step)
        lr_g, lr_d = self.optim_cfg_g.lr * factor, self.optim_cfg_d.lr * factor
        for opt, lr in ((self.opt_g, lr_g), (self.opt_d, lr_d)):
            for group in opt.param_groups:
                group["lr"] = lr
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
        real_a = self.prepare(batch["A"])
        real_b = self.prepare(batch["B"])
        lr_g, lr_d = self._set_lr()
        model = self.model
        model.train()

        with self.autocast():
            g_out = self.g_phase(real_a, real_b)
        g_losses = {f"g_{k}": v.detach() for k, v in g_out["losses"].items()}
        self._backward(g_out["losses"]["total"], self.opt_g, self.scaler_g)
        fresh = {d: fake.detach() for d, fake in g_out["fakes"].items()}
        del g_out
        snapshots = {d: pool.snapshot() for d, pool in self.pools.items()}
        fakes = {d: self.pools[d].query(f) if d in self.pools else f for d, f in fresh.items()}
        d_out: Mapping[str, Tensor] = {}
        if self._d_params:  # a model without discriminators (a distilled student) has no D step
            with self.autocast():
                d_out = self.d_phase(real_a, real_b, fakes)
            self._backward(d_out["total"], self.opt_d, self.scaler_d)
        losses = {**g_losses, **{f"d_{k}": v.detach() for k, v in d_out.items()}}
        values, self._agreed_stop = losses_to_host(losses, self.dist, stop=self._stop_request())
        if values is None:  # nothing has been stepped: drop the gradients, undo the pools
            self.opt_g.zero_grad(set_to_none=True)
            self.opt_d.zero_grad(set_to_none=True)
            for d, snapshot in snapshots.items():
                self.pools[d].rollback(snapshot)
            return None

        self._step(self.opt_g, self.scaler_g, self._g_params)
        if self._d_params:
            self._step(self.opt_d, self.scaler_d, self._d_params)
        if self.ema is not None:
            averaged = model.averaged_generators()
            for name, avg in self.ema.items():
                avg.update_parameters(averaged[name])
        values["lr_g"], values["lr_d"] = lr_g, lr_d
        return values

    # ------------------------------------------------------------------ the loop
    def request_stop(self, reason: str, *, interrupted: bool = False) -> None:
        """Ask :meth:`fit` to stop after the current step (with the final checkpoint); under DDP
        after the next one, on every rank."""
        if self.stop_reason is None:
            self.stop_reason = reason
        self._interrupted = self._interrupted or interrupted

    def _stop_request(self) -> float:
        return 2.0 if self._interrupted else 1.0 if self.stop_reason is not None else 0.0

    def _stop_agreed(self) -> bool:
        """Whether to stop now; under DDP every rank stops at the same step: the requests travel
        with the next step's losses (no collective of their own), so a stop asked for after step
        ``N`` takes effect after step ``N + 1`` on every rank."""
        if not self.dist.enabled:
            return self.stop_reason is not None
        agreed = self._agreed_stop
        if agreed > 0 and self.stop_reason is None:
            self.request_stop("another rank stopped", interrupted=agreed > 1)
        return agreed > 0

    def budget_clock(self) -> float:
        """Seconds this run has trained for on the clock ``train.budget_clock`` names (wall or
        this process's CPU time; :attr:`clock`)."""
        return self.clock.seconds(self.cfg.budget_clock)

    def log(self, record: Mapping[str, Any]) -> None:
        """Hand a record (losses, scores or an event, with its ``step``) to every callback's
        :meth:`~cyclegan_ms.training.callbacks.Callback.on_log` (main rank only)."""
        if self.dist.is_main:
            for cb in self.callbacks:
                cb.on_log(self, record)

    def _continuing(self) -> bool:
        """Whether :meth:`fit` continues the run in ``run_dir`` (rather than starting one)."""
        if self._owns_run_dir:
            return True
        src = self._resumed_from
        return src is not None and src.resolve() == self.run_dir.resolve()

    def _claim_run_dir(self) -> None:
        """Claim ``run_dir`` for this fit (main rank; every rank agrees on the outcome)."""
        error: BaseException | None = None
        continuing = self._continuing()
        if self.dist.is_main:
            try:
                if continuing and self.overwrite is not False and not self._owns_run_dir:
                    raise RunFolderError(
                        self.run_dir,
                        f"overwrite would remove the run this trainer resumed from "
                        f"({self.run_dir}); resume without overwrite, or train into another "
                        "folder",
                    )
                self._claim = claim_run_folder(
                    self.run_dir,
                    continuing=continuing,
                    step=self.step if continuing else None,
                    overwrite=self.overwrite,
                )
                if self._claim.moved_to is not None:
                    self.previous_run = self._claim.moved_to
                if continuing:
                    trim_log(self.run_dir / "metrics.jsonl", self.step)
            except BaseException as err:
                if self._claim is not None:
                    self._claim.release()
                    self._claim = None
                error = err
        if agree_max(1.0 if error is not None else 0.0, self.dist, self.device) > 0:
            if error is not None:
                raise error
            raise RunFolderError(self.run_dir, f"rank 0 could not claim {self.run_dir}")
        self._owns_run_dir = True

    def _release_run_dir(self) -> None:
        if self._claim is not None:
            self._claim.release()
            self._claim = None

    def fit(self, steps: int | None = None) -> TrainResult:
        """Train until ``steps`` (default ``train.steps``) optimisation steps have been taken.

        A callback may stop the run earlier (time budget, ``SIGINT``/``SIGTERM``: then
        ``interrupted=True``); ``max_bad_steps`` consecutive non-finite steps stop training with
        a checkpoint of the last good state. A final checkpoint is always written.

        First ``run_dir`` is claimed (see :mod:`cyclegan_ms.training.run_folder`): it is locked
        for this process until ``fit`` returns, and a folder that holds another run (not the
        one :meth:`resume` read) is refused unless ``overwrite`` says otherwise.

        Raises
        ------
        RunLockedError
            Another process is training into ``run_dir``.
        RunExistsError
            ``run_dir`` holds another run and ``overwrite`` is ``False``.
        RunFolderError
            ``run_dir`` holds a newer checkpoint than the state resumed from.
        cyclegan_ms.utils.files.WriteError
            The disk or the folder refused a checkpoint, sample grid or log (no space, quota,
            read-only): training stops there; the newest complete checkpoint is intact and
            :meth:`resume` continues from it.
        """
        target = self.cfg.steps if steps is None else steps
        cfg = self.cfg
        self._claim_run_dir()
        backends = self.backends()  # TF32 / determinism for this fit, put back after it
        try:
            backends.__enter__()
            if self.dist.is_main and self.experiment is not None:
                config = json.dumps(self.experiment, indent=2, default=str)
                atomic_write_bytes(self.run_dir / "config.json", config.encode())
            self.stop_reason, self._interrupted = None, False
            t0 = time.perf_counter()
            last: dict[str, float] = {}
            stopped_on_nan = False
            stream = iter(self.data)
            self.clock.start()
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
        finally:
            self.clock.stop()
            backends.__exit__(None, None, None)
            self._release_run_dir()
        return result

    # ------------------------------------------------------------------ outputs
    def generator_for(self, direction: Direction = "a2b") -> nn.Module:
        """The generator that translates ``direction`` now: its EMA copy when ``train.ema_decay``
        keeps one, else the trained one.

        Raises
        ------
        ValueError
            The model does not translate ``direction``.
        """
        translators = self.model.translators()
        if direction not in translators:
            raise ValueError(
                f"{type(self.model).__name__} translates {', '.join(translators)}; "
                f"not {direction!r}"
            )
        generator = translators[direction]
        if self.ema is not None:
            for name, g in self.model.averaged_generators().items():
                if g is generator and name in self.ema:
                    return self.ema[name].module
        return generator

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

    # ------------------------------------------------------------------ state
    def rank_state(self) -> dict[str, Any]:
        """What differs between the ranks of a job: this process's random streams and pools."""
        return {
            "rng": rng_state(self.device),
            **{f"pool_{d}": pool.state_dict() for d, pool in self.pools.items()},
        }

    def load_rank_state(self, state: Mapping[str, Any]) -> None:
        """Restore a :meth:`rank_state`."""
        for d, pool in self.pools.items():
            pool.load_state_dict(state[f"pool_{d}"])
        load_rng_state(state["rng"], self.device)

    def state_dict(self, *, all_ranks: bool = False) -> dict[str, Any]:
        """Everything needed to continue training exactly (plain data + tensors).

        Parameters
        ----------
        all_ranks
            Under DDP, gather the other ranks' :meth:`rank_state` s into ``ranks`` (rank 1
            first), so that every rank resumes its own random streams and pools; every rank
            must then call this together. Otherwise (or in one process) the state holds this
            rank's only.
        """
        try:
            model_config: dict[str, Any] | None = self.model.config()
        except ValueError:
            model_config = None
        sampler = self.data.state_dict()
        mine = self.rank_state()
        others: list[object] = []
        if all_ranks and self.dist.enabled:
            gathered = gather_to_main(mine, self.dist)
            others = gathered[1:] if gathered is not None else []
        state = {
            "format": TRAINER_FORMAT,
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
            **{k: v for k, v in mine.items() if k.startswith("pool_")},
            "ema": {k: v.state_dict() for k, v in self.ema.items()} if self.ema else None,
            "callbacks": {cb.state_key: cb.state_dict() for cb in self.callbacks if cb.state_key},
            "clock": self.clock.state_dict(),
            "rng": mine["rng"],
        }
        if others:
            state["ranks"] = others
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a :meth:`state_dict` (e.g. from :func:`~cyclegan_ms.checkpoint.load_checkpoint`;
        older formats are upgraded by :func:`~cyclegan_ms.checkpoint.upgrade_trainer_state`).

        Rank ``r`` of a DDP job takes its own random streams and pools from the state's
        ``ranks`` entry (rank 0 from the top level); a rank the state has none for (resumed on
        more processes than wrote it) keeps its freshly seeded ones. CUDA generator states go to
        this process's own device, whatever the number of GPUs that wrote them."""
        state = upgrade_trainer_state(state, batch_size=self.cfg.batch_size)
        self.model.load_state_dict(state["model"])
        self.opt_g.load_state_dict(state["optim_g"])
        self.opt_d.load_state_dict(state["optim_d"])
        if state.get("scaler_g"):
            self.scaler_g.load_state_dict(state["scaler_g"])
        if state.get("scaler_d"):
            self.scaler_d.load_state_dict(state["scaler_d"])
        if self.ema is not None and state.get("ema"):
            for k, v in self.ema.items():
                v.load_state_dict(state["ema"][k])
        self.data.load_state_dict(state["sampler"], num_replicas=int(state.get("world_size", 1)))
        for cb in self.callbacks:
            if cb.state_key and cb.state_key in (state.get("callbacks") or {}):
                cb.load_state_dict(state["callbacks"][cb.state_key])
        self.step = int(state["step"])
        self.clock.load_state_dict(state.get("clock") or {})  # older checkpoints: from 0
        self.bad_steps = int(state.get("bad_steps", 0))
        self.skipped_steps = int(state.get("skipped_steps", 0))
        rank = self.dist.rank
        others = state.get("ranks") or []
        if rank == 0:
            self.load_rank_state(state)
        elif rank - 1 < len(others):
            self.load_rank_state(others[rank - 1])
        else:
            logger.warning(
                "the checkpoint holds the random streams and pools of %d process(es); rank %d "
                "starts fresh ones",
                len(others) + 1,
                rank,
            )

    def save(self, path: str | os.PathLike[str] | None = None) -> Path | None:
        """Write a checkpoint atomically (rank 0 only) and prune old ones; returns its path.

        Without ``path`` the checkpoint is ``run_dir/checkpoints/step_XXXXXXXX.safetensors`` and
        the ``train.keep_last`` newest are kept (never deleting the one just written); under DDP
        every rank calls it together and each rank's own state goes in (see
        :meth:`state_dict`). A save to ``path`` may be made by rank 0 alone (e.g. the best
        checkpoint after an evaluation) and holds rank 0's random streams and pools only.

        Raises
        ------
        cyclegan_ms.utils.files.WriteError
            The disk or the folder refused the file: nothing was written or pruned.
        """
        default = self.run_dir / "checkpoints" / checkpoint_name(self.step)
        target = Path(path) if path is not None else default
        state = self.state_dict(all_ranks=path is None)  # every rank builds it (and gathers)
        if not self.dist.is_main:
            return None
        written = save_checkpoint(target, state)
        if path is None:
            prune(written.parent, self.cfg.keep_last, keep=written)
            self.last_checkpoint = written
        return written

    def resume(self, source: str | os.PathLike[str]) -> int:
        """Continue from a checkpoint file or the newest checkpoint of a run folder.

        When that run folder is ``run_dir``, :meth:`fit` continues its run there (its log loses
        the records of steps after the checkpoint, which are taken again); another ``run_dir``
        gets a new run that starts from this state.

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
        self._resumed_from = run_folder_of(path)
        return self.step
