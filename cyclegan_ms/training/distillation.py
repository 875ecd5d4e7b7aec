"""Distillation: a small, fast generator trained to reproduce a trained teacher.

A trained generator is expensive per frame (the night2day teacher: 31 GFLOP per 256² image, 437
per 720p frame). Its *student* learns a paired task — night in, the teacher's day out — from as
many inputs as it likes, which converges far faster than the unpaired game the teacher played
(GAN compression, Li et al. 2020, cut CycleGAN's multiply-adds 21× at the same FID).

* :class:`Distillation` is a model (registry kind ``"model"``, name ``"distill"``) the
  :class:`~cyclegan_ms.training.Trainer` trains like any other: one generator (the student),
  no discriminator, ``L1(student(x), teacher(x))``. The teacher is loaded from its run folder,
  checkpoint or generator file the first time a batch needs it, frozen, kept in eval mode and
  **never registered as a sub-module**, so it is neither trained, nor moved by the trainer,
  nor saved in the student's checkpoints (which a translation then loads without the teacher).
* :func:`distill` (and ``cyclegan-ms distill --teacher RUN``) builds the experiment: the
  teacher's own training data (its stored ``[data]`` table: the built-in scenes) or a folder of
  night images, the student (by default the teacher's architecture at a quarter of its width:
  16× fewer multiply-adds), budgets, resume, periodic evaluation against the ground truth
  (:class:`~cyclegan_ms.training.callbacks.BestCheckpoint`) and against the teacher
  (:class:`TeacherAgreement`), and at the end ``student.safetensors``: a generator file
  (:func:`~cyclegan_ms.inference.save_generator`) whose notes record the teacher, the width
  and the FLOPs, usable by ``translate``, video, ``export`` and ``eval``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import torch
import torch.nn as nn
from torch import Tensor

from ..checkpoint import find_latest, load_checkpoint
from ..generators.card import Direction, check_direction
from ..inference.source import ModelSource, resolve_generator_card, save_generator
from ..models.base import PartSpec, as_part, regularization
from ..protocols import DomainKey, ReconstructionLossProtocol
from ..registry import config_of, register
from .callbacks import Callback
from .config import ConfigError, load_config
from .experiment import build_trainer, value_range_of
from .run_folder import Overwrite
from .trainer import Trainer, TrainResult

if TYPE_CHECKING:
    from ..models.base import GeneratorModule

__all__ = [
    "DEFAULT_WIDTH_DIVISOR",
    "DistillOutput",
    "DistillResult",
    "Distillation",
    "TeacherAgreement",
    "distill",
    "gflops",
    "student_config",
    "width_of",
]

#: The default student is the teacher's architecture at ``width // DEFAULT_WIDTH_DIVISOR``.
DEFAULT_WIDTH_DIVISOR = 4
#: Keyword of each library generator family's width.
_WIDTH_KEYS = ("base_width", "ngf")


def gflops(generator: nn.Module, height: int = 256, width: int = 256) -> float:
    """Giga floating-point operations (2 per multiply-add) of one ``height × width`` image.

    Counted by ``torch.utils.flop_counter`` on one forward pass (convolutions and matrix
    products; elementwise operations are not counted), on the size translation pads the image
    to: each side rounded up to the generator's size multiple (a fixed-size generator: its
    size).

    Shape
    -----
    Runs the generator on ``(1, in_channels, height, width)``.
    """
    from torch.utils.flop_counter import FlopCounterMode

    from ..generators import card_of

    card = card_of(generator)
    param = next(generator.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    m = card.pad_multiple
    h, w = (m, m) if card.fixed_size is not None else (-(-height // m) * m, -(-width // m) * m)
    x = torch.rand(1, card.in_channels, h, w, device=device)
    was = generator.training
    generator.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            generator(x)
    finally:
        generator.train(was)
    return float(counter.get_total_flops()) / 1e9


@dataclass
class DistillOutput:
    """What :meth:`Distillation.generator_objective` returns.

    Attributes
    ----------
    losses
        ``l1`` (the reconstruction loss against the teacher), ``reg`` and ``total``.
    student
        The student's output ``(B, C_out, H, W)``.
    domain
        The domain the outputs belong to (``"b"`` for an a2b teacher).
    """

    losses: dict[str, Tensor]
    student: Tensor
    domain: DomainKey = "b"

    @property
    def fakes(self) -> dict[DomainKey, Tensor]:
        """``{domain: student}`` (no discriminator takes them)."""
        return {self.domain: self.student}


class Distillation(nn.Module):
    """Train one generator (the student) to reproduce another (the teacher).

    Parameters
    ----------
    student
        The student: a registry name, a config ``{"name": ..., **kwargs}`` or a module.
    teacher
        A run folder, trainer checkpoint or generator file (loaded when first needed), or a
        generator module (then :meth:`config` cannot name it).
    direction
        The teacher's direction to distil (``"a2b"``: night → day for the seed); the student
        translates the same way.
    reconstruction
        Loss between the student's and the teacher's outputs (``"l1"``).
    reconstruction_weight
        Its weight (10: the balance of L1 to the student's regularisation that the teacher's
        cycle weight kept; at 1 the seed U-Net's L2 penalty drove the student's bottleneck to
        zero within a few hundred steps).
    regularization_weight
        Weight of the student's ``regularization()`` (the seed U-Net's L2 penalty).
    teacher_ema
        Use the teacher checkpoint's EMA weights (``None``: when present).

    Raises
    ------
    ValueError
        A negative weight or a bad direction.

    Examples
    --------
    >>> from cyclegan_ms import build
    >>> teacher = build("generator", "resnet_6blocks", ngf=8)
    >>> m = Distillation({"name": "resnet_6blocks", "ngf": 4}, teacher)
    >>> out = m.generator_objective(torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32))
    >>> sorted(out.losses), [n for n, _ in m.named_children()]
    (['l1', 'reg', 'total'], ['student', 'reconstruction'])
    """

    #: Data range of the images (set by the trainer and by :func:`cyclegan_ms.load`).
    value_range: tuple[float, float] = (0.0, 1.0)
    #: Training step of the checkpoint it was loaded from.
    checkpoint_step: int = 0
    #: Trains on unpaired inputs (only the teacher's input domain is used).
    paired: bool = False

    def __init__(
        self,
        student: PartSpec,
        teacher: ModelSource,
        *,
        direction: Direction = "a2b",
        reconstruction: PartSpec = "l1",
        reconstruction_weight: float = 10.0,
        regularization_weight: float = 1.0,
        teacher_ema: bool | None = None,
    ) -> None:
        super().__init__()
        self.student = cast("GeneratorModule", as_part("generator", student))
        self.reconstruction: ReconstructionLossProtocol = as_part(
            "reconstruction_loss", reconstruction
        )
        self.direction: Direction = check_direction(direction)
        for name, w in (
            ("reconstruction_weight", reconstruction_weight),
            ("regularization_weight", regularization_weight),
        ):
            if isinstance(w, bool) or not isinstance(w, (int, float)) or not w >= 0:
                raise ValueError(f"{name} must be a number >= 0; got {w!r}")
        self.reconstruction_weight = float(reconstruction_weight)
        self.regularization_weight = float(regularization_weight)
        self.teacher_ema = teacher_ema
        if isinstance(teacher, nn.Module):
            self.teacher_source: str | None = None
            self._teacher: list[nn.Module] = [self._freeze(teacher)]  # a list: not registered
        elif isinstance(teacher, (str, os.PathLike)):
            self.teacher_source = str(teacher)
            self._teacher = []
        else:
            raise TypeError(
                f"teacher must be a run folder, checkpoint or generator file path, or a "
                f"generator module; got {type(teacher).__name__}"
            )

    @staticmethod
    def _freeze(module: nn.Module) -> nn.Module:
        module.eval()
        module.requires_grad_(False)
        return module

    def teacher(self) -> nn.Module:
        """The teacher generator (frozen, eval mode), loaded on first use.

        Raises
        ------
        FileNotFoundError
            The teacher's path holds no checkpoint (a student translates without it; only
            training needs it).
        """
        if not self._teacher:
            assert self.teacher_source is not None
            g, _ = resolve_generator_card(self.teacher_source, self.direction, ema=self.teacher_ema)
            self._teacher.append(self._freeze(g))
        return self._teacher[0]

    @property
    def input_domain(self) -> DomainKey:
        """``"a"`` for an a2b teacher, ``"b"`` for b2a."""
        return "a" if self.direction == "a2b" else "b"

    # ------------------------------------------------------------------ config
    def config(self) -> dict[str, object]:
        """The ``[model]`` table that rebuilds it (the teacher by its path).

        Raises
        ------
        ValueError
            The teacher was given as a module (it has no path to record) or the student was not
            built through the registry.
        """
        if self.teacher_source is None:
            raise ValueError(
                "this Distillation's teacher was given as a module, which a config cannot "
                "name; give the teacher's run folder, checkpoint or generator file instead"
            )
        cfg: dict[str, object] = {
            "name": "distill",
            "student": config_of(self.student),
            "teacher": self.teacher_source,
            "direction": self.direction,
            "reconstruction": config_of(self.reconstruction),
            "reconstruction_weight": self.reconstruction_weight,
            "regularization_weight": self.regularization_weight,
        }
        if self.teacher_ema is not None:
            cfg["teacher_ema"] = self.teacher_ema
        return cfg

    # ------------------------------------------------------------------ the protocol
    def generators(self) -> list[nn.Module]:
        """``[student]``."""
        return [self.student]

    def discriminators(self) -> list[nn.Module]:
        """``[]``: nothing adversarial (the trainer skips the discriminator step)."""
        return []

    def averaged_generators(self) -> dict[str, nn.Module]:
        """``{"G": student}``."""
        return {"G": self.student}

    def pooled_domains(self) -> tuple[DomainKey, ...]:
        """``()``."""
        return ()

    def translators(self) -> dict[Direction, nn.Module]:
        """``{direction: student}``."""
        return {self.direction: self.student}

    def _inputs(self, real_a: Tensor, real_b: Tensor) -> Tensor:
        return real_a if self.direction == "a2b" else real_b

    @torch.no_grad()
    def teach(self, x: Tensor) -> Tensor:
        """The teacher's output for ``x`` (moved to ``x``'s device on first use).

        Shape
        -----
        ``(B, C, H, W) -> (B, C_out, H, W)``.
        """
        teacher = self.teacher()
        param = next(teacher.parameters(), None)
        if param is not None and param.device != x.device:
            teacher.to(x.device)
        return teacher(x)

    def generator_objective(self, real_a: Tensor, real_b: Tensor) -> DistillOutput:
        """``w · L1(student(x), teacher(x)) + reg``, ``x`` the teacher's input domain.

        Parameters
        ----------
        real_a, real_b
            A batch of each domain ``(B, C, H, W)`` (only the teacher's input domain is used).

        Returns
        -------
        DistillOutput
        """
        x = self._inputs(real_a, real_b)
        target = self.teach(x)
        out = self.student(x)
        losses = {
            "l1": self.reconstruction(out, target.to(out.dtype)),
            "reg": regularization(self.student, x),
        }
        losses["total"] = (
            self.reconstruction_weight * losses["l1"] + self.regularization_weight * losses["reg"]
        )
        return DistillOutput(losses, out, "b" if self.direction == "a2b" else "a")

    def discriminator_objective(
        self, real_a: Tensor, real_b: Tensor, fakes: Mapping[DomainKey, Tensor]
    ) -> dict[str, Tensor]:
        """No discriminator: ``{"total": 0}`` (the trainer does not call it for a model
        without discriminators)."""
        return {"total": real_a.new_zeros(())}

    @torch.no_grad()
    def preview(self, real_a: Tensor, real_b: Tensor) -> list[list[Tensor]]:
        """Sample-grid rows: input | teacher | student.

        Shape
        -----
        ``(N, C, H, W) -> N rows of three (C, H, W)``.
        """
        x = self._inputs(real_a, real_b)
        t, s = self.teach(x), self.student(x)
        return [[x[i], t[i], s[i]] for i in range(x.shape[0])]


@register("model", "distill")
def distillation(
    *,
    student: str | Mapping[str, object],
    teacher: str,
    direction: Direction = "a2b",
    reconstruction: str | Mapping[str, object] = "l1",
    reconstruction_weight: float = 10.0,
    regularization_weight: float = 1.0,
    teacher_ema: bool | None = None,
) -> Distillation:
    """The ``[model] name = "distill"`` table: a :class:`Distillation` (see it for every
    option; ``teacher`` is the teacher's run folder, checkpoint or generator file)."""
    return Distillation(
        student,
        teacher,
        direction=direction,
        reconstruction=reconstruction,
        reconstruction_weight=reconstruction_weight,
        regularization_weight=regularization_weight,
        teacher_ema=teacher_ema,
    )


class TeacherAgreement(Callback):
    """Every ``every`` steps, log ``eval_psnr_teacher``: PSNR of the student's translation to
    the teacher's on held-out night scenes (what distillation optimises, measured on images it
    never trained on), with the same :class:`~cyclegan_ms.inference.Translator` as
    ``translate``.

    Parameters
    ----------
    every
        Steps between evaluations.
    scenes, size
        Number and side of the held-out scenes.
    """

    def __init__(self, every: int, *, scenes: int = 8, size: int = 256) -> None:
        self.every, self.scenes, self.size = every, scenes, size
        self._inputs: Tensor | None = None
        self._targets: Tensor | None = None

    def evaluate(self, trainer: Trainer) -> float:
        """The student's mean PSNR (dB) to the teacher now."""
        from ..data.pairs import scene_pairs
        from ..inference import Translator
        from ..metrics.image import psnr

        model = cast("Distillation", trainer.model)
        if self._inputs is None:
            pairs = list(
                scene_pairs(
                    self.scenes, size=self.size, value_range=trainer.value_range, seed=12345
                )
            )
            self._inputs = torch.stack([a for a, _ in pairs])
        vr, device = trainer.value_range, str(trainer.device)
        if self._targets is None:
            teacher = Translator(model.teacher(), tile=None, value_range=vr, device=device)
            self._targets = teacher.tensor(self._inputs)
        student = trainer.generator_for(model.direction)
        was = student.training
        try:
            out = Translator(student, tile=None, value_range=vr, device=device).tensor(self._inputs)
        finally:
            student.train(was)
        return float(psnr(out, self._targets, data_range=trainer.value_range).mean())

    def on_step_end(self, trainer: Trainer, losses: Mapping[str, float]) -> None:
        if trainer.step % self.every or not trainer.dist.is_main:
            return
        trainer.log(
            {"step": trainer.step, "event": "eval", "eval_psnr_teacher": self.evaluate(trainer)}
        )


def _teacher_experiment(teacher: Path) -> dict[str, Any] | None:
    """The experiment config stored with a teacher run or checkpoint (``None`` for a
    generator file)."""
    ckpt = find_latest(teacher) if teacher.is_dir() else teacher
    if ckpt is None or not ckpt.is_file():
        raise FileNotFoundError(f"no checkpoint at teacher {teacher}")
    try:
        state = load_checkpoint(ckpt)
    except Exception:  # a generator file: no trainer state
        return None
    experiment = state.get("experiment")
    return dict(experiment) if experiment else None


def width_of(config: Mapping[str, object]) -> int | None:
    """The width (``base_width``/``ngf``) a generator config builds, its default included;
    ``None`` for a family without one."""
    import inspect

    from ..registry import get

    params = inspect.signature(get("generator", str(config["name"]))).parameters
    key = next((k for k in _WIDTH_KEYS if k in params), None)
    if key is None:
        return None
    return int(cast("int", config.get(key, params[key].default)))


def student_config(
    teacher_config: Mapping[str, object] | None,
    student: str | Mapping[str, object] | None = None,
    *,
    width: int | None = None,
) -> dict[str, object]:
    """The student's generator config.

    Parameters
    ----------
    teacher_config
        The teacher generator's registry config (its card's ``config``).
    student
        ``None``: the teacher's architecture; a registry name; a config mapping; or the path of
        a TOML file holding a generator table (``name = ...``, or under ``[generator]``).
    width
        The student's width (``base_width`` or ``ngf``, whichever its family has); default for
        the teacher's architecture: a quarter of the teacher's.

    Returns
    -------
    dict
        ``{"name": ..., **kwargs}``.

    Raises
    ------
    ConfigError
        No teacher config to copy, a TOML without a generator table, or a width for a family
        without one.
    """
    if student is None:
        if not teacher_config:
            raise ConfigError(
                "the teacher's generator was not built by name; give --student NAME or a TOML"
            )
        cfg = dict(teacher_config)
    elif isinstance(student, Mapping):
        cfg = dict(student)
    elif str(student).endswith(".toml"):
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # pragma: no cover - Python 3.10
            import tomli as tomllib

        data = tomllib.loads(Path(student).read_text())
        table = data.get("generator", data)
        if not isinstance(table, dict) or "name" not in table:
            raise ConfigError(f"{student} holds no generator table (name = ..., or [generator])")
        cfg = dict(table)
    else:
        cfg = {"name": str(student)}
    import inspect

    from ..registry import get

    params = inspect.signature(get("generator", str(cfg["name"]))).parameters
    key = next((k for k in _WIDTH_KEYS if k in params), None)
    if student is None and width is None and key is not None:
        # a config leaves out arguments at their default: the teacher's width may be one
        teacher_width = cfg.get(key, params[key].default)
        width = max(1, int(cast("int", teacher_width)) // DEFAULT_WIDTH_DIVISOR)
    if width is not None:
        if key is None:
            raise ConfigError(
                f"generator {cfg['name']!r} has no width argument ({' or '.join(_WIDTH_KEYS)})"
            )
        cfg[key] = int(width)
    return cfg


@dataclass
class DistillResult:
    """What :func:`distill` returns.

    Attributes
    ----------
    train
        The trainer's :class:`~cyclegan_ms.training.TrainResult`.
    student
        The student generator file (``RUN/student.safetensors``).
    notes
        What that file's notes record: ``teacher``, ``width``, ``gflops_256`` (per 256² image)
        and ``teacher_gflops_256``.
    """

    train: TrainResult
    student: Path
    notes: dict[str, object] = field(default_factory=dict)


def distill(
    teacher: str | os.PathLike[str],
    *,
    student: str | Mapping[str, object] | None = None,
    width: int | None = None,
    night: str | os.PathLike[str] | None = None,
    run_dir: str | os.PathLike[str] | None = None,
    overrides: list[str] | None = None,
    resume: str | os.PathLike[str] | None = None,
    overwrite: Overwrite = False,
) -> DistillResult:
    """Distil a trained generator into a student (see the module docs).

    Parameters
    ----------
    teacher
        The teacher's run folder, trainer checkpoint or generator file.
    student
        The student (see :func:`student_config`): ``None`` for the teacher's architecture at
        ``width`` (default a quarter of the teacher's), a registry name, a config or a TOML
        file.
    width
        The student's ``base_width``/``ngf``.
    night
        A folder of the teacher's input images (night photos) to train on; default: the
        teacher's own training data (its stored ``[data]`` table, the built-in scenes when it
        has none).
    run_dir
        Output folder (default ``runs/<teacher name>_student``).
    overrides
        ``"dotted.key=value"`` strings on top (``train.steps=2000``, ``train.max_minutes=3``,
        ``train.budget_clock=cpu``, ``optim.generator.lr=1e-3``, ``train.eval_every=500`` ...).
    resume
        A run folder or checkpoint of this distillation to continue.
    overwrite
        What to do when ``run_dir`` holds another run (see :class:`~cyclegan_ms.training.Trainer`).

    Returns
    -------
    DistillResult

    Raises
    ------
    FileNotFoundError
        No checkpoint at ``teacher``.
    ConfigError
        A bad student or override.
    """
    tpath = Path(teacher)
    experiment = _teacher_experiment(tpath)
    tg, tcard = resolve_generator_card(str(tpath), "a2b")
    cfg_student = student_config(tcard.config, student, width=width)
    data: dict[str, Any] = dict(experiment.get("data", {})) if experiment else {}
    if not data:
        data = {"value_range": "unit" if tcard.value_range == (0.0, 1.0) else "symmetric"}
    if night is not None:
        data.update(source="folder", path_a=str(night), path_b=str(night), root=None)
    mapping: dict[str, Any] = {
        "name": f"{tpath.stem}_student",
        "model": {"name": "distill", "student": cfg_student, "teacher": str(tpath)},
        "data": data,
        # a paired regression converges fast: a higher rate than the GAN's, no image pool
        "optim": {"generator": {"lr": 1e-3, "betas": [0.9, 0.999]}},
        "train": {"steps": 4000, "batch_size": 4, "pool_size": 0, "ema_decay": 0.99},
    }
    cfg = load_config(mapping, overrides)
    out = Path(run_dir) if run_dir is not None else Path("runs") / f"{tpath.stem}_student"
    trainer = build_trainer(cfg, out, overwrite=overwrite)
    if cfg.train.eval_every:
        trainer.callbacks.append(TeacherAgreement(cfg.train.eval_every, size=cfg.data.image_size))
    if resume is not None:
        trainer.resume(resume)
    result = trainer.fit()
    model = cast("Distillation", trainer.model)
    g = trainer.generator_for(model.direction)
    notes: dict[str, object] = {
        "teacher": str(tpath),
        "width": width_of(cfg_student),
        "gflops_256": round(gflops(g), 3),
        "teacher_gflops_256": round(gflops(tg), 3),
    }
    path = save_generator(
        g,
        out / "student.safetensors",
        value_range=value_range_of(cfg.data),
        direction=model.direction,
        step=trainer.step,
        notes=notes,
    )
    return DistillResult(result, path, notes)
