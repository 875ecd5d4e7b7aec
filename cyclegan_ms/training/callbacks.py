"""Everything around the training loop, as small replaceable callbacks.

The :class:`~cyclegan_ms.training.Trainer` runs a short loop over its step function and calls
its callbacks at four points: :meth:`Callback.on_fit_start`, :meth:`Callback.on_step_end` (after
each successful step, with the step's host-side losses), :meth:`Callback.on_step_skipped` (a
step with a non-finite loss, undone), and :meth:`Callback.on_fit_end` (after the final
checkpoint, with the :class:`~cyclegan_ms.training.TrainResult`); :meth:`Callback.on_teardown`
runs in a ``finally`` (restore signal handlers, close bars). Records go through
:meth:`Trainer.log <cyclegan_ms.training.Trainer.log>`, which hands them to every callback's
:meth:`Callback.on_log` (the JSONL file and TensorBoard listen there).

A callback asks the loop to stop with :meth:`Trainer.request_stop
<cyclegan_ms.training.Trainer.request_stop>`. Callbacks that keep state across a resume
(:class:`BestCheckpoint`'s best score) implement :meth:`Callback.state_dict` /
:meth:`Callback.load_state_dict`; it is stored in every checkpoint under the callback's
:attr:`Callback.state_key`.

The defaults come from :class:`~cyclegan_ms.training.TrainConfig` (:func:`default_callbacks`);
a user's callback passed to the Trainer replaces every default it is an instance of (same class
or a subclass) and is otherwise added after the defaults::

    class PrintLR(Callback):
        def on_step_end(self, trainer, losses):
            if trainer.step % 100 == 0:
                print(trainer.step, losses["lr_g"])

    Trainer(model, data, run_dir="run", callbacks=[PrintLR()])
"""

from __future__ import annotations

import json
import logging
import signal
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import torch

from .._checks import check_int
from ..metrics.names import HIGHER_IS_BETTER, INCEPTION_METRICS, METRICS, is_better
from ..utils.files import append_text

if TYPE_CHECKING:
    from .trainer import Trainer, TrainResult

__all__ = [
    "BestCheckpoint",
    "Callback",
    "LossPlot",
    "MetricsLog",
    "PeriodicCheckpoint",
    "PeriodicEval",
    "ProgressBar",
    "SampleGrids",
    "StopOnSignal",
    "TensorBoardLog",
    "TimeBudget",
    "default_callbacks",
    "merge_callbacks",
    "unpaired_pairs",
]

logger = logging.getLogger("cyclegan_ms.training")


class Callback:
    """Base class: every hook does nothing. Override the ones you need."""

    #: Key of this callback's state in a checkpoint (``None``: it has no state to keep).
    state_key: str | None = None

    def on_fit_start(self, trainer: Trainer, target: int) -> None:
        """Before the first step of :meth:`Trainer.fit` (``target``: the step to reach)."""

    def on_step_end(self, trainer: Trainer, losses: Mapping[str, float]) -> None:
        """After a successful step; ``trainer.step`` is its number (from 1), ``losses`` are the
        step's losses and learning rates as Python floats (averaged over ranks under DDP)."""

    def on_step_skipped(self, trainer: Trainer) -> None:
        """After a step whose losses were not finite (nothing was updated)."""

    def on_log(self, trainer: Trainer, record: Mapping[str, Any]) -> None:
        """A record for the run's logs (losses, evaluation scores or events; main rank only)."""

    def on_fit_end(self, trainer: Trainer, result: TrainResult) -> None:
        """After the final checkpoint of :meth:`Trainer.fit`."""

    def on_teardown(self, trainer: Trainer) -> None:
        """Always, when :meth:`Trainer.fit` leaves (also on an exception)."""

    def state_dict(self) -> dict[str, Any]:
        """State to keep in checkpoints (plain data)."""
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict`."""


# ------------------------------------------------------------------------------------ logging
class MetricsLog(Callback):
    """Append every :meth:`Trainer.log` record to ``run_dir/metrics.jsonl``; every ``every``
    steps, log the step's losses (with the elapsed wall time)."""

    def __init__(self, every: int = 10) -> None:
        self.every = check_int(every, "every", 1)
        self._t0 = 0.0
        self._target = 0

    def on_fit_start(self, trainer: Trainer, target: int) -> None:
        self._t0, self._target = time.perf_counter(), target

    def on_step_end(self, trainer: Trainer, losses: Mapping[str, float]) -> None:
        if trainer.step % self.every == 0 or trainer.step == self._target:
            trainer.log(
                {"step": trainer.step, "time": round(time.perf_counter() - self._t0, 3), **losses}
            )

    def on_step_skipped(self, trainer: Trainer) -> None:
        trainer.log({"step": trainer.step, "event": "skipped_nonfinite"})

    def on_log(self, trainer: Trainer, record: Mapping[str, Any]) -> None:
        # all or nothing: a full disk raises WriteError and leaves no torn line
        append_text(trainer.run_dir / "metrics.jsonl", json.dumps(dict(record)) + "\n")

    def on_fit_end(self, trainer: Trainer, result: TrainResult) -> None:
        if result.stopped_on_nan:
            msg = (
                f"stopped: {trainer.cfg.max_bad_steps} consecutive steps had a non-finite loss; "
                f"the last good state (step {result.step}) is in {result.checkpoint}"
            )
            trainer.log({"step": result.step, "event": "stopped_nonfinite", "message": msg})
            logger.warning(msg)


class TensorBoardLog(Callback):
    """Write the numeric values of every log record as TensorBoard scalars
    (``run_dir/tensorboard``; needs the ``tensorboard`` extra)."""

    def __init__(self) -> None:
        self._writer: Any = None

    def on_fit_start(self, trainer: Trainer, target: int) -> None:
        if self._writer is None and trainer.dist.is_main:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                from .config import ConfigError

                raise ConfigError(
                    "train.tensorboard = true needs the tensorboard package: pip install 'cyclegan-ms[tensorboard]'"
                ) from None
            self._writer = SummaryWriter(str(trainer.run_dir / "tensorboard"))

    def on_log(self, trainer: Trainer, record: Mapping[str, Any]) -> None:
        if self._writer is None:
            return
        step = int(record.get("step", trainer.step))
        for k, v in record.items():
            if (
                k not in ("step", "time")
                and isinstance(v, (int, float))
                and not isinstance(v, bool)
            ):
                self._writer.add_scalar(k, v, step)

    def on_teardown(self, trainer: Trainer) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class ProgressBar(Callback):
    """A tqdm bar over steps, or over the time budget when ``train.max_minutes`` is set (then
    the postfix shows the step and seconds per step)."""

    def __init__(self) -> None:
        self._bar: Any = None
        self._t0 = self._c0 = 0.0
        self._last: Mapping[str, float] = {}

    def on_fit_start(self, trainer: Trainer, target: int) -> None:
        if not trainer.dist.is_main:
            return
        from tqdm.auto import tqdm

        cfg = trainer.cfg
        self._t0, self._c0 = time.perf_counter(), trainer.budget_clock()
        if cfg.max_minutes is not None and 60.0 * cfg.max_minutes < 1e9:
            # a time budget ends the run: show its progress (and ETA), and the step and s/step in
            # the postfix (tqdm's own rate of a seconds bar would read "s/s")
            clock = "CPU time" if cfg.budget_clock == "cpu" else "time"
            self._bar = tqdm(
                total=round(60.0 * cfg.max_minutes),
                unit="s",
                dynamic_ncols=True,
                desc=f"train ({clock} budget)",
                bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} s [{elapsed}<{remaining}{postfix}]",
            )
        else:
            self._bar = tqdm(
                total=target, initial=trainer.step, unit="it", dynamic_ncols=True, desc="train"
            )

    def on_log(self, trainer: Trainer, record: Mapping[str, Any]) -> None:
        if "g_total" in record:
            self._last = record

    def on_step_end(self, trainer: Trainer, losses: Mapping[str, float]) -> None:
        bar = self._bar
        if bar is None:
            return
        postfix: dict[str, str] = {}
        if bar.unit == "s":
            used = int(trainer.budget_clock() - self._c0)
            bar.update(min(int(bar.total or 0), used) - int(bar.n))
            postfix = {
                "step": str(trainer.step),
                "s/step": f"{(time.perf_counter() - self._t0) / max(1, trainer.step):.2f}",
            }
        else:
            bar.update(1)
        if self._last:
            postfix["G"] = f"{self._last.get('g_total', float('nan')):.3f}"
            postfix["D"] = f"{self._last.get('d_total', float('nan')):.3f}"
        if postfix:
            bar.set_postfix(postfix, refresh=False)

    def on_teardown(self, trainer: Trainer) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


# ------------------------------------------------------------------------------------ pictures
class SampleGrids(Callback):
    """Every ``every`` steps and at the end, write ``samples/step_XXXXXXXX.png`` (the model's
    :meth:`~cyclegan_ms.protocols.TranslationModelProtocol.preview` rows, see :meth:`save`)."""

    def __init__(self, every: int) -> None:
        self.every = check_int(every, "every", 1)

    def on_step_end(self, trainer: Trainer, losses: Mapping[str, float]) -> None:
        if trainer.dist.is_main and trainer.step % self.every == 0:
            self.save(trainer)

    def on_fit_end(self, trainer: Trainer, result: TrainResult) -> None:
        if trainer.dist.is_main:
            self.save(trainer)

    @torch.no_grad()
    def save(self, trainer: Trainer) -> Path:
        """Write ``run_dir/samples/step_XXXXXXXX.png`` now: the model's preview rows of
        :meth:`Trainer.sample_batch <cyclegan_ms.training.Trainer.sample_batch>` under the
        trainer's precision (for a CycleGAN, input | translated | reconstructed, A→B→A then
        B→A→B)."""
        from ..utils.images import save_grid

        a, b = trainer.sample_batch()
        a, b = trainer.prepare(a), trainer.prepare(b)
        m = trainer.model
        was_training = m.training
        m.eval()
        with trainer.autocast():
            rows = m.preview(a, b)
        m.train(was_training)
        path = trainer.run_dir / "samples" / f"step_{trainer.step:08d}.png"
        save_grid(rows, path, value_range=trainer.value_range)
        return path


class LossPlot(Callback):
    """At the end of training, draw ``loss_curve.png`` from ``metrics.jsonl``."""

    def on_fit_end(self, trainer: Trainer, result: TrainResult) -> None:
        if trainer.dist.is_main:
            self.plot(trainer)

    def plot(self, trainer: Trainer) -> Path | None:
        """Draw ``run_dir/loss_curve.png`` from ``run_dir/metrics.jsonl`` now (generator and
        discriminator terms); ``None`` when there is no log yet."""
        from ..utils.plots import plot_loss_curves

        metrics = trainer.run_dir / "metrics.jsonl"
        if not metrics.is_file():
            return None
        return plot_loss_curves(metrics, trainer.run_dir / "loss_curve.png")


# ------------------------------------------------------------------------------------ checkpoints
class PeriodicCheckpoint(Callback):
    """Every ``every`` steps write ``checkpoints/step_XXXXXXXX.safetensors`` and keep the last
    ``train.keep_last`` (the final checkpoint is always written by the Trainer itself)."""

    def __init__(self, every: int) -> None:
        self.every = check_int(every, "every", 1)
        self._target = 0

    def on_fit_start(self, trainer: Trainer, target: int) -> None:
        self._target = target

    def on_step_end(self, trainer: Trainer, losses: Mapping[str, float]) -> None:
        if trainer.step % self.every == 0 and trainer.step < self._target:
            trainer.save()


# ------------------------------------------------------------------------------------ stopping
class TimeBudget(Callback):
    """Stop (with the final checkpoint) once ``minutes`` have passed on ``clock``: ``"wall"``
    (elapsed time) or ``"cpu"`` (this process's CPU time, fair on a shared machine)."""

    def __init__(self, minutes: float, clock: Literal["wall", "cpu"] = "wall") -> None:
        if isinstance(minutes, bool) or not isinstance(minutes, (int, float)) or not minutes > 0:
            raise ValueError(f"minutes must be a number > 0; got {minutes!r}")
        if clock not in ("wall", "cpu"):
            raise ValueError(f"clock must be 'wall' or 'cpu'; got {clock!r}")
        self.seconds, self.clock = 60.0 * float(minutes), clock
        self._c0 = 0.0

    def _now(self) -> float:
        return time.process_time() if self.clock == "cpu" else time.perf_counter()

    def on_fit_start(self, trainer: Trainer, target: int) -> None:
        if self.clock == "cpu" and torch.get_num_threads() > 1:
            logger.info(
                "a CPU-time budget with %d threads: idle threads spin-wait and that counts against the "
                "budget on a busy machine; torch.set_num_threads(1) gives the most steps per CPU-second",
                torch.get_num_threads(),
            )
        self._c0 = self._now()

    def on_step_end(self, trainer: Trainer, losses: Mapping[str, float]) -> None:
        if self._now() - self._c0 >= self.seconds:
            trainer.request_stop("time budget spent")


class StopOnSignal(Callback):
    """On ``SIGINT``/``SIGTERM`` finish the current step, write a checkpoint and return
    (``interrupted=True``); a second Ctrl-C stops at once. Only in the main thread."""

    def __init__(self) -> None:
        self._saved: dict[int, Any] = {}

    def on_fit_start(self, trainer: Trainer, target: int) -> None:
        if threading.current_thread() is not threading.main_thread():
            return

        def handler(signum: int, frame: Any) -> None:
            if trainer.stop_reason is not None and signum == signal.SIGINT:
                raise KeyboardInterrupt  # second Ctrl-C: stop now
            trainer.request_stop(f"signal {signal.Signals(signum).name}", interrupted=True)

        for sig in (signal.SIGINT, signal.SIGTERM):
            self._saved[sig] = signal.signal(sig, handler)

    def on_teardown(self, trainer: Trainer) -> None:
        for sig, old in self._saved.items():
            signal.signal(sig, old)
        self._saved = {}


# ------------------------------------------------------------------------------------ evaluation
class PeriodicEval(Callback):
    """Every ``every`` steps, score the A→B generator on held-out data and log ``eval_<metric>``.

    Scores PSNR/SSIM on held-out built-in scenes (never rendered in training), or on aligned
    folders ``inputs``/``targets`` (matched by file name); FID/KID when the metrics ask for them
    (InceptionV3 weights: ``inception`` or ``CYCLEGAN_MS_INCEPTION``; nothing is downloaded).
    Translates with the EMA generator when the Trainer keeps one (what users get from
    :func:`cyclegan_ms.load`), in eval mode; runs on the main rank.

    The scores are :func:`cyclegan_ms.metrics.evaluate`'s, with a
    :class:`~cyclegan_ms.inference.Translator` of the generator built at each evaluation, so
    they are what ``cyclegan-ms eval`` reports for the checkpoint (same padding, arithmetic and
    tiling; :mod:`cyclegan_ms.inference` sits below training in the layers contract, and is
    imported when an evaluation runs).

    Parameters
    ----------
    every
        Steps between evaluations.
    metrics
        Names of :data:`~cyclegan_ms.metrics.METRICS` (``"psnr"``, ``"ssim"``, ``"fid"``,
        ``"kid"``).
    scenes, size
        Number and side of the held-out scene pairs (when no folders are given); default side:
        that of the training images.
    inputs, targets
        Folders to score on instead of the scenes.
    pairing
        How ``inputs`` and ``targets`` pair: ``"by_name"`` (aligned ground truth, matched by
        file name) or ``"unpaired"`` (the translated inputs against the target images, for the
        FID/KID only; the ``i``-th images of each folder in sorted order are batched together,
        the targets resized to the inputs' size, as many as the smaller folder holds), or
        ``"ab"``/``"ba"``: ``inputs`` alone holds side-by-side AB images (no ``targets``), the
        input being their left (``"ab"``) or right (``"ba"``) half
        (:func:`~cyclegan_ms.data.side_by_side_pairs`).
    inception
        Path of the TorchScript InceptionV3 for FID/KID.
    """

    def __init__(
        self,
        every: int,
        metrics: tuple[str, ...] = ("psnr", "ssim"),
        *,
        scenes: int = 16,
        size: int | None = None,
        inputs: str | None = None,
        targets: str | None = None,
        pairing: Literal["by_name", "unpaired", "ab", "ba"] = "by_name",
        inception: str | None = None,
    ) -> None:
        self.every = check_int(every, "every", 1)
        bad = [m for m in metrics if m not in HIGHER_IS_BETTER]
        if bad or not metrics:
            raise ValueError(
                f"unknown eval metric(s) {bad or metrics!r}; accepted: {', '.join(METRICS)}"
            )
        if pairing in ("ab", "ba") and (inputs is None or targets is not None):
            raise ValueError(
                f"pairing={pairing!r} scores a folder of side-by-side AB images: give inputs alone"
            )
        if pairing not in ("ab", "ba") and (inputs is None) != (targets is None):
            raise ValueError(
                "inputs and targets go together (aligned folders matched by file name)"
            )
        check_int(scenes, "scenes", 1)
        if size is not None:
            check_int(size, "size", 1)
        if pairing not in ("by_name", "unpaired", "ab", "ba"):
            raise ValueError(
                f"pairing must be 'by_name', 'unpaired', 'ab' or 'ba'; got {pairing!r}"
            )
        paired = sorted(set(metrics) - INCEPTION_METRICS)
        if pairing == "unpaired" and paired:
            raise ValueError(
                f"unpaired folders have no ground truth for {', '.join(paired)}: score FID/KID "
                "(metrics = ('fid',) or ('kid',)) or give aligned folders"
            )
        self.pairing = pairing
        self.metrics = tuple(metrics)
        self.scenes, self.size, self.inputs, self.targets, self.inception = (
            scenes,
            size,
            inputs,
            targets,
            inception,
        )
        self._pairs: list[tuple[torch.Tensor, torch.Tensor]] | None = None

    def _load_pairs(self, trainer: Trainer) -> list[tuple[torch.Tensor, torch.Tensor]]:
        if self._pairs is None:
            from ..data.pairs import folder_pairs, scene_pairs

            if self.inputs is not None and self.pairing in ("ab", "ba"):
                from ..data.aligned import side_by_side_pairs

                direction: Literal["a2b", "b2a"] = "a2b" if self.pairing == "ab" else "b2a"
                pairs = side_by_side_pairs(
                    self.inputs, direction=direction, value_range=trainer.value_range
                )
            elif (
                self.inputs is not None and self.targets is not None and self.pairing == "unpaired"
            ):
                pairs = unpaired_pairs(self.inputs, self.targets, value_range=trainer.value_range)
            elif self.inputs is not None and self.targets is not None:
                pairs = folder_pairs(self.inputs, self.targets, value_range=trainer.value_range)
            else:
                h, w = trainer.sample_batch()[0].shape[-2:]
                size: int | tuple[int, int] = self.size or (int(h), int(w))
                pairs = scene_pairs(self.scenes, size=size, value_range=trainer.value_range)
            self._pairs = list(pairs)
            if not self._pairs:
                raise ValueError(f"no evaluation pairs found in {self.inputs} / {self.targets}")
        return self._pairs

    def evaluate(self, trainer: Trainer) -> dict[str, float]:
        """Score the current (EMA) generator now; returns ``{"eval_<metric>": value}``."""
        from ..inference import Translator  # imported when an evaluation runs
        from ..metrics.evaluation import evaluate
        from ..metrics.fid import find_inception_weights

        generator = trainer.generator_for("a2b")
        was_training = generator.training
        inception = self.inception
        if inception is None and INCEPTION_METRICS & set(self.metrics):
            inception = str(find_inception_weights())  # the environment's, or an error
        try:
            translator = Translator(
                generator, value_range=trainer.value_range, device=str(trainer.device)
            )
            result = evaluate(
                translator,
                self._load_pairs(trainer),
                metrics=list(self.metrics),
                inception=inception,
            )
        finally:
            generator.train(was_training)
        summary = result.summary()
        return {
            f"eval_{m}": float(summary[m])
            for m in self.metrics
            if isinstance(summary.get(m), (int, float))
        }

    def on_step_end(self, trainer: Trainer, losses: Mapping[str, float]) -> None:
        if trainer.step % self.every or not trainer.dist.is_main:
            return
        scores = self.evaluate(trainer)
        trainer.log({"step": trainer.step, "event": "eval", **scores})


def unpaired_pairs(
    inputs: str | Path,
    targets: str | Path,
    *,
    value_range: tuple[float, float] = (0.0, 1.0),
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Inputs and target images of unaligned folders, side by side for FID/KID.

    The ``i``-th image of each folder (sorted by path) go together, as many as the smaller
    folder holds; a target is resized to its input's size (bilinear, antialiased). Only
    distribution scores (FID, KID) mean anything on them.

    Yields
    ------
    tuple[Tensor, Tensor]
        ``(input, target)``, each ``(3, H, W)`` float32 in ``value_range``, ``H, W`` the input's.

    Raises
    ------
    FileNotFoundError
        A folder does not exist.

    Shape
    -----
    ``(3, H, W)`` each, the input's ``H, W``.
    """
    import numpy as np
    import torch.nn.functional as F

    from ..data.images import find_images, load_image
    from ..utils.images import from_uint8

    for folder in (inputs, targets):
        if not Path(folder).is_dir():
            raise FileNotFoundError(f"no evaluation folder {folder}")
    for a, b in zip(find_images(inputs), find_images(targets), strict=False):
        x = from_uint8(np.asarray(load_image(a, channels=3)), value_range)
        y = from_uint8(np.asarray(load_image(b, channels=3)), value_range)
        if y.shape != x.shape:
            size = (int(x.shape[-2]), int(x.shape[-1]))
            y = F.interpolate(
                y[None], size=size, mode="bilinear", align_corners=False, antialias=True
            )[0]
        yield x, y


class BestCheckpoint(PeriodicEval):
    """:class:`PeriodicEval` that also keeps ``checkpoints/best.safetensors``: the checkpoint
    with the best ``monitor`` score so far (higher is better for PSNR/SSIM, lower for FID/KID),
    beside the last ``keep_last`` step checkpoints. The best score survives a resume."""

    state_key = "best_checkpoint"

    def __init__(self, every: int, monitor: str = "ssim", **kwargs: Any) -> None:
        metrics = tuple(kwargs.pop("metrics", ("psnr", "ssim")))
        if monitor not in HIGHER_IS_BETTER:
            raise ValueError(f"monitor must be one of {', '.join(METRICS)}; got {monitor!r}")
        if monitor not in metrics:
            metrics = (*metrics, monitor)
        super().__init__(every, metrics, **kwargs)
        self.monitor = monitor
        self.best: float | None = None
        self.best_step: int | None = None

    def _better(self, value: float) -> bool:
        return is_better(self.monitor, value, self.best)

    @property
    def path(self) -> str:
        """File name of the best checkpoint inside ``run_dir/checkpoints``."""
        return "best.safetensors"

    def on_step_end(self, trainer: Trainer, losses: Mapping[str, float]) -> None:
        if trainer.step % self.every or not trainer.dist.is_main:
            return
        scores = self.evaluate(trainer)
        value = scores.get(f"eval_{self.monitor}", float("nan"))
        improved = self._better(value)
        if improved:
            self.best, self.best_step = value, trainer.step
            trainer.save(Path(trainer.run_dir) / "checkpoints" / self.path)
        trainer.log({"step": trainer.step, "event": "eval", **scores, "best": improved})

    def state_dict(self) -> dict[str, Any]:
        return {"monitor": self.monitor, "best": self.best, "best_step": self.best_step}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if state.get("monitor") == self.monitor:
            self.best, self.best_step = state.get("best"), state.get("best_step")


# ------------------------------------------------------------------------------------ defaults
def default_callbacks(cfg: Any) -> list[Callback]:
    """The callbacks a :class:`~cyclegan_ms.training.TrainConfig` asks for, in call order."""
    cbs: list[Callback] = [MetricsLog(cfg.log_every), StopOnSignal()]
    if cfg.max_minutes is not None:
        cbs.append(TimeBudget(cfg.max_minutes, cfg.budget_clock))
    if cfg.checkpoint_every:
        cbs.append(PeriodicCheckpoint(cfg.checkpoint_every))
    if cfg.sample_every:
        cbs.append(SampleGrids(cfg.sample_every))
    if cfg.eval_every:
        kwargs: dict[str, Any] = {
            "scenes": cfg.eval_scenes,
            "size": cfg.eval_size,
            "inputs": cfg.eval_inputs,
            "targets": cfg.eval_targets,
            "pairing": cfg.eval_pairing,
        }
        if cfg.eval_keep_best:
            if cfg.eval_pairing == "unpaired":  # no ground truth: the monitored score only
                kwargs["metrics"] = (cfg.eval_metric,)
            cbs.append(BestCheckpoint(cfg.eval_every, cfg.eval_metric, **kwargs))
        else:
            cbs.append(PeriodicEval(cfg.eval_every, (cfg.eval_metric,), **kwargs))
    cbs.append(LossPlot())
    if cfg.tensorboard:
        cbs.append(TensorBoardLog())
    if cfg.progress:
        cbs.append(ProgressBar())
    return cbs


def merge_callbacks(defaults: Sequence[Callback], user: Sequence[Callback]) -> list[Callback]:
    """The defaults, less those a user callback is an instance of (it replaces them: a subclass
    of :class:`MetricsLog` replaces the default log), then the user's callbacks.

    Raises
    ------
    TypeError
        A user callback is not a :class:`Callback`.
    """
    for cb in user:
        if not isinstance(cb, Callback):
            raise TypeError(f"callbacks must be Callback instances; got {type(cb).__name__}")
    kept = [d for d in defaults if not any(isinstance(u, type(d)) for u in user)]
    return kept + list(user)
