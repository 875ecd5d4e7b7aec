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
import torch.nn as nn

from .._checks import check_int
from ..metrics.names import (
    EVAL_METRICS,
    INCEPTION_METRICS,
    NO_TRUTH_METRICS,
    UNPAIRED,
    is_better,
)
from ..utils.files import append_text

if TYPE_CHECKING:
    from ..metrics.selection import UnpairedSelection
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
    "folder_images",
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
        if self._last:  # a model without discriminators (a distilled student) logs no d_total
            postfix["G"] = f"{self._last.get('g_total', float('nan')):.3f}"
            if "d_total" in self._last:
                postfix["D"] = f"{self._last['d_total']:.3f}"
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
    (elapsed time) or ``"cpu"`` (this process's CPU time, fair on a shared machine), counted from
    the start of :meth:`Trainer.fit <cyclegan_ms.training.Trainer.fit>` on the trainer's
    :attr:`~cyclegan_ms.training.Trainer.clock`."""

    def __init__(self, minutes: float, clock: Literal["wall", "cpu"] = "wall") -> None:
        if isinstance(minutes, bool) or not isinstance(minutes, (int, float)) or not minutes > 0:
            raise ValueError(f"minutes must be a number > 0; got {minutes!r}")
        if clock not in ("wall", "cpu"):
            raise ValueError(f"clock must be 'wall' or 'cpu'; got {clock!r}")
        self.seconds, self.clock = 60.0 * float(minutes), clock
        self._c0 = 0.0

    def on_fit_start(self, trainer: Trainer, target: int) -> None:
        if self.clock == "cpu" and torch.get_num_threads() > 1:
            logger.info(
                "a CPU-time budget with %d threads: idle threads spin-wait and that counts against the "
                "budget on a busy machine; torch.set_num_threads(1) gives the most steps per CPU-second",
                torch.get_num_threads(),
            )
        self._c0 = trainer.clock.seconds(self.clock)

    def on_step_end(self, trainer: Trainer, losses: Mapping[str, float]) -> None:
        if trainer.clock.seconds(self.clock) - self._c0 >= self.seconds:
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

    The metric ``"unpaired"`` is the selection score that needs no ground truth
    (:class:`~cyclegan_ms.metrics.UnpairedSelection`): KID of the translations to held-out
    domain-B images, structure kept from the input, and the cycle error through the B→A
    generator when the model has one (else ``eval_unpaired_cycle_skipped`` says why), logged as
    ``eval_unpaired`` and ``eval_unpaired_*``. Its held-out B images are the ``targets`` folder
    (all its images, unpaired or not) or the target halves of side-by-side AB images, or for the
    scenes the day renders of ``scenes`` further
    held-out scenes (other scenes than the scored nights, as a user's day photographs would be);
    with ground truth (scenes, aligned folders) ``eval_psnr``/``eval_ssim`` are scored on the
    same translations. Its Inception network and the held-out sets are loaded when
    :meth:`~cyclegan_ms.training.Trainer.fit` starts, so a missing extra, missing weights or
    missing held-out B images stop the run before its first step, with a message saying which.

    Every record also carries the run's time (:attr:`~cyclegan_ms.training.Trainer.clock`, kept
    across resumes) when the scored weights were reached: ``cpu_s`` (this process's CPU seconds)
    and ``wall_s``, and ``cpu_s_in_eval``, the CPU seconds the evaluations before it took
    (included in ``cpu_s``; it survives a resume too): a curve of quality over CPU time can be
    drawn from any run.

    Parameters
    ----------
    every
        Steps between evaluations.
    metrics
        Names of :data:`~cyclegan_ms.metrics.EVAL_METRICS` (``"psnr"``, ``"ssim"``, ``"fid"``,
        ``"kid"``, ``"unpaired"``).
    scenes, size
        Number and side of the held-out scene pairs (when no folders are given); default side:
        that of the training images.
    inputs, targets
        Folders to score on instead of the scenes.
    pairing
        How ``inputs`` and ``targets`` pair: ``"by_name"`` (aligned ground truth, matched by
        file name) or ``"unpaired"`` (the translated inputs against the target images, for the
        FID/KID and the selection score only; for FID/KID the ``i``-th images of each folder in
        sorted order are batched together, the targets resized to the inputs' size, as many as
        the smaller folder holds), or ``"ab"``/``"ba"``: ``inputs`` alone holds side-by-side AB
        images (no ``targets``), the input being their left (``"ab"``) or right (``"ba"``) half
        (:func:`~cyclegan_ms.data.side_by_side_pairs`).
    inception
        Path of the TorchScript InceptionV3 for FID/KID and the selection score.
    """

    state_key: str | None = "periodic_eval"

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
        bad = [m for m in metrics if m not in EVAL_METRICS]
        if bad or not metrics:
            raise ValueError(
                f"unknown eval metric(s) {bad or metrics!r}; accepted: {', '.join(EVAL_METRICS)}"
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
        paired = sorted(set(metrics) - NO_TRUTH_METRICS)
        if pairing == "unpaired" and paired:
            raise ValueError(
                f"unpaired folders have no ground truth for {', '.join(paired)}: score FID/KID "
                "or the selection score (metrics = ('fid',), ('kid',) or ('unpaired',)) or give "
                "aligned folders"
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
        self._selection: UnpairedSelection | None = None
        #: CPU seconds the evaluations have taken so far (kept across resumes).
        self.cpu_s_in_eval = 0.0

    def _eval_size(self, trainer: Trainer) -> int | tuple[int, int]:
        h, w = trainer.sample_batch()[0].shape[-2:]
        return self.size or (int(h), int(w))

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
                size = self._eval_size(trainer)
                pairs = scene_pairs(self.scenes, size=size, value_range=trainer.value_range)
            self._pairs = list(pairs)
            if not self._pairs:
                raise ValueError(f"no evaluation pairs found in {self.inputs} / {self.targets}")
        return self._pairs

    def selection(self, trainer: Trainer) -> UnpairedSelection:
        """The :class:`~cyclegan_ms.metrics.UnpairedSelection` of the ``"unpaired"`` metric (its
        held-out sets and Inception network, loaded on the first call).

        Raises
        ------
        ValueError
            Fewer than 2 held-out B images (the ``targets`` folder), or inputs.
        FileNotFoundError
            No Inception weights, or a folder that does not exist.
        ImportError
            Without the ``metrics`` extra (torchmetrics).
        """
        if self._selection is None:
            from ..data.pairs import scene_pairs
            from ..metrics.selection import UnpairedSelection

            rng = trainer.value_range
            truths: list[torch.Tensor] | None = None
            where = f"the {self.scenes} held-out scenes after the scored ones"
            if self.inputs is not None and self.targets is not None and self.pairing == "unpaired":
                where = self.targets
                inputs, refs = folder_images(self.inputs, rng), folder_images(self.targets, rng)
            elif self.inputs is not None:  # aligned (by name, or side-by-side AB images): the
                where = self.targets or self.inputs  # targets are the held-out B images and truth
                inputs = [x for x, _ in self._load_pairs(trainer)]
                refs = truths = [y for _, y in self._load_pairs(trainer)]
            else:  # nights of the scored scenes; days of as many further held-out scenes
                pairs = list(
                    scene_pairs(2 * self.scenes, size=self._eval_size(trainer), value_range=rng)
                )
                inputs = [x for x, _ in pairs[: self.scenes]]
                truths = [y for _, y in pairs[: self.scenes]]
                refs = [y for _, y in pairs[self.scenes :]]
            if len(refs) < 2:
                raise ValueError(
                    f"eval metric 'unpaired' needs held-out domain-B images for its KID: {where} "
                    f"holds {len(refs)} image(s) (at least 2; more than 50 for a stable KID); "
                    "put day images there (train.eval_targets, or testB of data.root)"
                )
            try:
                self._selection = UnpairedSelection(
                    inputs,
                    refs,
                    inception=self.inception,
                    data_range=rng,
                    truths=truths if {"psnr", "ssim"} & set(self.metrics) else None,
                    device=trainer.device,
                )
            except FileNotFoundError as err:
                raise FileNotFoundError(f"eval metric 'unpaired' scores a KID: {err}") from None
        return self._selection

    def _way_back(self, trainer: Trainer) -> tuple[nn.Module | None, str | None]:
        """The B→A generator for the cycle error, or ``None`` and why there is none."""
        translators = trainer.model.translators()
        if "b2a" not in translators:
            name = type(trainer.model).__name__
            return None, f"{name} translates {', '.join(translators)} only: no cycle to measure"
        return trainer.generator_for("b2a"), None

    def evaluate(self, trainer: Trainer) -> dict[str, float | str]:
        """Score the current (EMA) generator now; returns ``{"eval_<metric>": value}`` (and the
        ``eval_unpaired_*`` terms of the selection score)."""
        from ..inference import Translator  # imported when an evaluation runs
        from ..metrics.evaluation import evaluate
        from ..metrics.fid import find_inception_weights

        generator = trainer.generator_for("a2b")
        back, why = self._way_back(trainer) if UNPAIRED in self.metrics else (None, None)
        modes = [(g, g.training) for g in (generator, back) if g is not None]
        scores: dict[str, float | str] = {}
        rest = [m for m in self.metrics if m != UNPAIRED]
        try:
            options: dict[str, Any] = {
                "value_range": trainer.value_range,
                "device": str(trainer.device),
            }
            translator = Translator(generator, **options)
            if UNPAIRED in self.metrics:
                way_back = None if back is None else Translator(back, **options)
                selected = self.selection(trainer).score(translator, way_back, cycle_skipped=why)
                scores.update(selected.as_dict())
                rest = [m for m in rest if m not in scores]  # PSNR/SSIM of the same translations
            if rest:
                inception = self.inception
                if inception is None and INCEPTION_METRICS & set(rest):
                    inception = str(find_inception_weights())  # the environment's, or an error
                result = evaluate(
                    translator, self._load_pairs(trainer), metrics=rest, inception=inception
                )
                summary = result.summary()
                scores.update(
                    {m: float(summary[m]) for m in rest if isinstance(summary.get(m), (int, float))}
                )
        finally:
            for g, mode in modes:
                g.train(mode)
        return {f"eval_{k}": v for k, v in scores.items()}

    def timed_evaluate(self, trainer: Trainer) -> dict[str, float | str]:
        """:meth:`evaluate`, with the run's ``cpu_s``/``wall_s`` before it and ``cpu_s_in_eval``
        (the CPU seconds of the evaluations before it) in front of the scores."""
        cpu, wall = trainer.clock.seconds("cpu"), trainer.clock.seconds("wall")
        before = self.cpu_s_in_eval
        scores = self.evaluate(trainer)
        self.cpu_s_in_eval += trainer.clock.seconds("cpu") - cpu
        return {
            "cpu_s": round(cpu, 3),
            "wall_s": round(wall, 3),
            "cpu_s_in_eval": round(before, 3),
            **scores,
        }

    def on_fit_start(self, trainer: Trainer, target: int) -> None:
        if UNPAIRED in self.metrics and trainer.dist.is_main:
            self.selection(trainer)  # missing weights or held-out images: say so before step 1

    def on_step_end(self, trainer: Trainer, losses: Mapping[str, float]) -> None:
        if trainer.step % self.every or not trainer.dist.is_main:
            return
        scores = self.timed_evaluate(trainer)
        trainer.log({"step": trainer.step, "event": "eval", **scores})

    def state_dict(self) -> dict[str, Any]:
        return {"cpu_s_in_eval": self.cpu_s_in_eval}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.cpu_s_in_eval = float(state.get("cpu_s_in_eval", 0.0))


def folder_images(
    folder: str | Path, value_range: tuple[float, float] = (0.0, 1.0)
) -> list[torch.Tensor]:
    """Every image of a folder (sorted by path), as float tensors in ``value_range``.

    Returns
    -------
    list[Tensor]
        ``(3, H, W)`` each, at the image's own size.

    Raises
    ------
    FileNotFoundError
        The folder does not exist.

    Shape
    -----
    ``(3, H, W)`` each.
    """
    import numpy as np

    from ..data.images import find_images, load_image
    from ..utils.images import from_uint8

    if not Path(folder).is_dir():
        raise FileNotFoundError(f"no evaluation folder {folder}")
    return [
        from_uint8(np.asarray(load_image(p, channels=3)), value_range) for p in find_images(folder)
    ]


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
    with the best ``monitor`` score so far (higher is better for PSNR/SSIM and the selection score
    ``"unpaired"``, lower for FID/KID), beside the last ``keep_last`` step checkpoints. The best
    score survives a resume."""

    state_key = "best_checkpoint"

    def __init__(self, every: int, monitor: str = "ssim", **kwargs: Any) -> None:
        metrics = tuple(kwargs.pop("metrics", ("psnr", "ssim")))
        if monitor not in EVAL_METRICS:
            raise ValueError(f"monitor must be one of {', '.join(EVAL_METRICS)}; got {monitor!r}")
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
        scores = self.timed_evaluate(trainer)
        value = scores.get(f"eval_{self.monitor}")
        improved = False
        if isinstance(value, float) and self._better(value):
            self.best, self.best_step, improved = value, trainer.step, True
            trainer.save(Path(trainer.run_dir) / "checkpoints" / self.path)
        trainer.log({"step": trainer.step, "event": "eval", **scores, "best": improved})

    def state_dict(self) -> dict[str, Any]:
        return {
            **super().state_dict(),
            "monitor": self.monitor,
            "best": self.best,
            "best_step": self.best_step,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
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
        metrics: tuple[str, ...] = (cfg.eval_metric,)  # no ground truth: that score only
        if cfg.eval_metric == UNPAIRED and cfg.eval_pairing != "unpaired":
            metrics = ("psnr", "ssim", UNPAIRED)  # the ground truth is there too: log both
        if cfg.eval_keep_best:
            if cfg.eval_pairing == "unpaired" or cfg.eval_metric == UNPAIRED:
                kwargs["metrics"] = metrics  # else PSNR and SSIM beside the monitored metric
            cbs.append(BestCheckpoint(cfg.eval_every, cfg.eval_metric, **kwargs))
        else:
            cbs.append(PeriodicEval(cfg.eval_every, metrics, **kwargs))
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
