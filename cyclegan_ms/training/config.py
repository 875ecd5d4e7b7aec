"""Plain dataclasses for training configuration, and strict loading from TOML/dicts.

Every table of a TOML config maps onto one dataclass here (or, for ``[model]``, onto
:meth:`cyclegan_ms.CycleGAN.from_config`). A wrong key, type or value fails with one line naming
the key and what is accepted.
"""

from __future__ import annotations

import dataclasses
import sys
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Literal

from .._typecheck import describe, matches
from ..data.scenes.options import scene_options
from ..metrics.names import EVAL_METRICS, NO_TRUTH_METRICS, EvalMetricName, names_or

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = [
    "ConfigError",
    "DataConfig",
    "EvalData",
    "EvalPairing",
    "ExperimentConfig",
    "InitEma",
    "InitPart",
    "OptimConfig",
    "TrainConfig",
    "apply_overrides",
    "from_mapping",
    "load_config",
    "load_preset",
    "presets",
]

Precision = Literal["auto", "fp32", "bf16", "fp16"]
#: What ``train.eval_every`` scores: ``"auto"`` (the data's own held-out split), the built-in
#: ``"scenes"``, or the ``"folder"``'s ``testA``/``testB``.
EvalData = Literal["auto", "scenes", "folder"]
#: How evaluation folders pair: ``"by_name"`` (aligned ground truth), ``"unpaired"`` (FID/KID
#: or the selection score of the translations against the target images), or ``"ab"``/``"ba"``
#: (one folder of the reference's side-by-side AB images, the input on the left or on the right
#: half).
EvalPairing = Literal["by_name", "unpaired", "ab", "ba"]
#: What ``train.init_from`` copies from the source run: its generators, its discriminators.
InitPart = Literal["generators", "discriminators"]
#: Where a fine-tuned run's EMA generators start: the source's EMA (when it kept one, else the
#: weights), or the copied weights.
InitEma = Literal["source", "weights"]


class ConfigError(ValueError):
    """A configuration value is wrong; the message names the key and what is accepted."""


@dataclass
class OptimConfig:
    """Adam(W) settings of one optimiser (generators or discriminators).

    Attributes
    ----------
    lr
        Base learning rate (the schedule multiplies it).
    betas
        Adam betas.
    weight_decay
        Decoupled weight decay (AdamW) when > 0; the seed declares 6e-8 but never applies it.
    eps
        Adam epsilon.
    """

    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    weight_decay: float = 0.0
    eps: float = 1e-8

    def __post_init__(self) -> None:
        if self.lr <= 0:
            raise ConfigError(f"lr must be > 0; got {self.lr}")
        if len(self.betas) != 2 or not all(0.0 <= b < 1.0 for b in self.betas):
            raise ConfigError(f"betas must be two numbers in [0, 1); got {self.betas}")
        self.betas = (float(self.betas[0]), float(self.betas[1]))
        if self.weight_decay < 0:
            raise ConfigError(f"weight_decay must be >= 0; got {self.weight_decay}")
        if self.eps <= 0:
            raise ConfigError(f"eps must be > 0; got {self.eps}")


@dataclass
class DataConfig:
    """Where training images come from and how they are prepared.

    Attributes
    ----------
    source
        ``"scenes"``: the built-in procedural night/day road scenes (offline, with ground truth);
        ``"folder"``: two image folders (``root`` in CycleGAN layout, or ``path_a``/``path_b``);
        ``"aligned"``: aligned pairs of your own for a paired model (pix2pix), stored as
        ``layout`` says (:class:`~cyclegan_ms.data.AlignedImageFolder`).
    root
        Folder with ``trainA``/``trainB`` (and ``testA``/``testB``), for ``source="folder"`` and
        ``source="aligned"`` with ``layout="folders"``; with ``layout="ab"``, the folder with
        ``train/`` (and ``test/``) of side-by-side AB images (the reference's ``--dataroot``).
    path_a, path_b
        Explicit domain folders (A = night, B = day), instead of ``root`` (not with
        ``layout="ab"``).
    layout
        ``source="aligned"`` only: ``"folders"`` (A and B images matched by file name, any
        extension) or ``"ab"`` (one image per pair, A on the left half and B on the right).
    direction
        ``source="aligned"`` only: ``"a2b"`` (A is the input) or ``"b2a"`` (B is the input, the
        reference's ``--direction BtoA``).
    recipe
        ``"seed"`` (resize to ``image_size``, [0, 1]) or ``"paper"`` (load ``load_size``, random
        crop ``image_size``, flip, [-1, 1]).
    image_size
        Training crop size (pixels, square).
    load_size
        Resize size before cropping (``"paper"`` recipe); ``None`` → ``image_size * 286 / 256``.
    value_range
        ``"unit"`` ([0, 1], sigmoid generators) or ``"symmetric"`` ([-1, 1], tanh generators).
    grayscale
        Load images as one channel.
    num_scenes
        Number of distinct training scenes (``source="scenes"``).
    scene_options
        Render options of the built-in scenes (``source="scenes"``) that widen them toward real
        photographs: a bundle name (``"default"``: none, ``"photo"``) or a table of
        :class:`~cyclegan_ms.data.scenes.options.SceneOptions` fields, optionally on top of a
        ``bundle`` (``{bundle = "photo", jpeg_quality = [70, 95]}``).
    num_workers
        DataLoader worker processes; unset: several on CUDA, none on a CPU
        (:func:`~cyclegan_ms.data.loader.auto_num_workers`).
    """

    source: Literal["scenes", "folder", "aligned"] = "scenes"
    root: str | None = None
    path_a: str | None = None
    path_b: str | None = None
    layout: Literal["folders", "ab"] = "folders"
    direction: Literal["a2b", "b2a"] = "a2b"
    recipe: Literal["seed", "paper"] = "seed"
    image_size: int = 256
    load_size: int | None = None
    value_range: Literal["unit", "symmetric"] = "unit"
    grayscale: bool = False
    num_scenes: int = 10_000
    scene_options: str | dict[str, object] = "default"
    num_workers: int | None = None

    def __post_init__(self) -> None:
        if self.image_size < 8:
            raise ConfigError(f"data.image_size must be >= 8; got {self.image_size}")
        if self.load_size is not None and self.load_size < self.image_size:
            raise ConfigError(
                f"data.load_size ({self.load_size}) must be >= data.image_size ({self.image_size})"
            )
        if self.num_workers is not None and self.num_workers < 0:
            raise ConfigError(f"data.num_workers must be >= 0; got {self.num_workers}")
        if self.num_scenes < 1:
            raise ConfigError(f"data.num_scenes must be >= 1; got {self.num_scenes}")
        try:
            scene_options(self.scene_options)
        except ValueError as err:
            raise ConfigError(f"data.scene_options: {err}") from None
        if (
            self.source == "folder"
            and self.root is None
            and (self.path_a is None or self.path_b is None)
        ):
            raise ConfigError(
                "data.source = 'folder' needs data.root (with trainA/trainB) or both "
                "data.path_a and data.path_b"
            )
        if self.source != "aligned" and (self.layout != "folders" or self.direction != "a2b"):
            raise ConfigError(
                "data.layout and data.direction describe aligned pairs: set data.source = "
                f"'aligned' (got data.source = {self.source!r})"
            )
        if self.source == "aligned" and self.layout == "ab":
            if self.root is None or self.path_a is not None or self.path_b is not None:
                raise ConfigError(
                    "data.layout = 'ab' needs data.root (a folder with train/ and test/ of "
                    "side-by-side AB images) and no data.path_a/path_b"
                )
        elif (
            self.source == "aligned"
            and self.root is None
            and (self.path_a is None or self.path_b is None)
        ):
            raise ConfigError(
                "data.source = 'aligned' needs data.root (with trainA/trainB of the same image "
                "names) or both data.path_a and data.path_b"
            )


@dataclass
class TrainConfig:
    """The training loop's settings.

    Attributes
    ----------
    steps
        Total optimisation steps (one step = one G update and one D update).
    batch_size
        Images per domain per step, per process.
    pool_size
        Image-pool size for discriminator updates (0 = no pool, the seed; 50 = the paper).
    schedule
        Learning-rate schedule: a registry name (``"constant"``, ``"linear_decay"``,
        ``"cosine"``) or a table ``{name = ..., ...}``; ``total_steps`` is filled in from
        ``steps``.
    precision
        ``"auto"`` (the presets' default: the fastest numerically safe choice for the device, by
        :func:`cyclegan_ms.training.pick_fast_path`, logged at start), ``"fp32"``, ``"bf16"``
        (autocast; CPU and CUDA) or ``"fp16"`` (autocast + GradScaler; CUDA only).
    channels_last
        Use NHWC memory format for networks and inputs.
    compile
        ``torch.compile`` every network (opt-in).
    grad_clip
        Clip each optimiser's gradient norm to this value (``None``: off).
    ema_decay
        Keep an exponential moving average of the generators with this decay (``None``: off).
    device
        ``"auto"`` (CUDA if available, else CPU), or any torch device string.
    seed
        Seed for every random stream (data, pools, init noise).
    deterministic
        Make the run bit-reproducible (deterministic algorithms, no cuDNN autotune).
    log_every, sample_every, checkpoint_every
        Step intervals for metrics, sample grids and checkpoints (0 disables samples/periodic
        checkpoints; a final checkpoint is always written).
    keep_last
        Checkpoints kept in ``run_dir/checkpoints``.
    max_bad_steps
        Stop after this many consecutive steps with a non-finite loss (each is skipped).
    max_minutes
        Time budget: stop (with a checkpoint) once this many minutes have passed, even if
        ``steps`` is not reached (``None``: no limit).
    budget_clock
        The clock ``max_minutes`` is counted on: ``"wall"`` (elapsed time) or ``"cpu"`` (the
        process's CPU time, all threads: fair budgets on a shared machine, where another job
        slows the wall clock but not the work done per CPU-second).
    progress
        Show a progress bar.
    tensorboard
        Also write TensorBoard scalars (needs the ``tensorboard`` extra).
    eval_every
        Every this many steps, score the A→B generator (its EMA when kept) on held-out data and
        log ``eval_psnr``/``eval_ssim`` (or FID/KID) to ``metrics.jsonl`` (0: off).
    eval_metric
        A name of :data:`~cyclegan_ms.metrics.EVAL_METRICS` (``"psnr"``, ``"ssim"``, ``"fid"``,
        ``"kid"`` or ``"unpaired"``): the score that picks the best checkpoint, higher or lower
        being better as :data:`~cyclegan_ms.metrics.HIGHER_IS_BETTER` says (FID/KID need
        InceptionV3 weights, see :doc:`/inference`). ``"unpaired"`` is the selection score that
        needs no ground truth (:class:`~cyclegan_ms.metrics.UnpairedSelection`: KID to held-out
        domain-B images, structure kept from the input, cycle error; higher is better; it needs
        the InceptionV3 weights too), with PSNR/SSIM logged beside it where there is ground truth.
    eval_keep_best
        Keep ``checkpoints/best.safetensors``, the checkpoint with the best ``eval_metric``, beside
        the last ``keep_last``.
    eval_scenes, eval_size
        Number and side of the held-out built-in scene pairs to score on (default side: the
        training images').
    eval_inputs, eval_targets
        Folders to score on (inputs and their targets); set, they win over ``eval_data``.
    eval_pairing
        How ``eval_inputs``/``eval_targets`` pair: ``"by_name"`` (aligned: each input with the
        target of the same name, for PSNR/SSIM), ``"unpaired"`` (FID/KID or the selection score
        of the translated inputs against the targets; ``eval_metric`` must be ``"fid"``,
        ``"kid"`` or ``"unpaired"``), or ``"ab"``/``"ba"``: ``eval_inputs`` alone holds the
        reference's side-by-side AB images (A on the left half, B on the right), whose input is
        A (``"ab"``) or B (``"ba"``).
    eval_data
        What to score when ``eval_inputs`` is not set: ``"auto"`` (default) the data's own
        held-out split: the held-out built-in scenes for ``data.source = "scenes"``; for folder
        data the folder's ``testA``/``testB`` (by name when aligned, else unpaired for FID/KID;
        for ``data.source = "aligned"`` in the direction of ``data.direction``, and ``test/``
        with ``data.layout = "ab"``),
        and when it has none, the built-in scenes with a warning and without
        ``best.safetensors``; ``"scenes"`` the built-in scenes (explicitly: ``best.safetensors``
        is kept by them); ``"folder"`` the folder's ``testA``/``testB`` or an error. A run
        records what it resolved to (``eval_data``, ``eval_inputs``, ``eval_targets``,
        ``eval_pairing``) in its ``config.json``.
    init_from
        Fine-tuning: a run folder (its newest checkpoint) or checkpoint file whose weights this
        new run starts from (``cyclegan-ms train CONFIG --init-from RUN``). Only weights are
        copied: the optimisers, step, schedule, image pools and data order start afresh. The run
        records the checkpoint file it started from here. Ignored on ``--resume`` (the resumed
        state already holds the weights).
    init_parts
        What ``init_from`` copies: ``["generators", "discriminators"]`` (default) or one of
        them; parts not copied keep their fresh initialisation.
    init_ema
        Where the EMA generators start when ``ema_decay`` is set: ``"source"`` (default) the
        source's EMA when it kept one, else the copied weights; ``"weights"`` the copied
        weights (the EMA is reset).
    """

    steps: int = 1000
    batch_size: int = 1
    pool_size: int = 50
    schedule: str | dict[str, object] = "constant"
    precision: Precision = "fp32"
    channels_last: bool = False
    compile: bool = False
    grad_clip: float | None = None
    ema_decay: float | None = None
    device: str = "auto"
    seed: int = 0
    deterministic: bool = False
    log_every: int = 10
    sample_every: int = 0
    checkpoint_every: int = 1000
    keep_last: int = 3
    max_bad_steps: int = 5
    max_minutes: float | None = None
    budget_clock: Literal["wall", "cpu"] = "wall"
    progress: bool = True
    tensorboard: bool = False
    eval_every: int = 0
    eval_metric: EvalMetricName = "ssim"
    eval_keep_best: bool = True
    eval_scenes: int = 16
    eval_size: int | None = None
    eval_inputs: str | None = None
    eval_targets: str | None = None
    eval_pairing: EvalPairing = "by_name"
    eval_data: EvalData = "auto"
    init_from: str | None = None
    init_parts: tuple[InitPart, ...] = ("generators", "discriminators")
    init_ema: InitEma = "source"

    def __post_init__(self) -> None:
        for name in (
            "steps",
            "batch_size",
            "log_every",
            "keep_last",
            "max_bad_steps",
            "eval_scenes",
        ):
            if getattr(self, name) < 1:
                raise ConfigError(f"train.{name} must be >= 1; got {getattr(self, name)}")
        for name in ("pool_size", "sample_every", "checkpoint_every", "eval_every"):
            if getattr(self, name) < 0:
                raise ConfigError(f"train.{name} must be >= 0; got {getattr(self, name)}")
        if self.grad_clip is not None and self.grad_clip <= 0:
            raise ConfigError(f"train.grad_clip must be > 0 or unset; got {self.grad_clip}")
        if self.max_minutes is not None and self.max_minutes <= 0:
            raise ConfigError(f"train.max_minutes must be > 0 or unset; got {self.max_minutes}")
        if self.budget_clock not in ("wall", "cpu"):
            raise ConfigError(
                f"train.budget_clock must be 'wall' or 'cpu'; got {self.budget_clock!r}"
            )
        if self.eval_size is not None and self.eval_size < 1:
            raise ConfigError(f"train.eval_size must be >= 1 or unset; got {self.eval_size}")
        if self.eval_metric not in EVAL_METRICS:
            raise ConfigError(
                f"train.eval_metric must be {names_or(EVAL_METRICS)}; got {self.eval_metric!r}"
            )
        if self.eval_pairing in ("ab", "ba"):
            if self.eval_targets is not None:
                raise ConfigError(
                    f"train.eval_pairing = {self.eval_pairing!r} scores the side-by-side AB "
                    "images of train.eval_inputs alone: unset train.eval_targets"
                )
        elif (self.eval_inputs is None) != (self.eval_targets is None):
            raise ConfigError(
                "train.eval_inputs and train.eval_targets go together (aligned folders)"
            )
        if self.eval_pairing == "unpaired" and self.eval_metric not in NO_TRUTH_METRICS:
            raise ConfigError(
                f"train.eval_pairing = 'unpaired' scores FID/KID or the selection score only (no "
                f"ground truth to compare with); set train.eval_metric = 'fid', 'kid' or "
                f"'unpaired' (got {self.eval_metric!r}), or give aligned folders with "
                "eval_pairing = 'by_name'"
            )
        if self.ema_decay is not None and not 0.0 < self.ema_decay < 1.0:
            raise ConfigError(f"train.ema_decay must be in (0, 1) or unset; got {self.ema_decay}")
        parts = typing.get_args(InitPart)
        if not self.init_parts or any(p not in parts for p in self.init_parts):
            raise ConfigError(
                f"train.init_parts must list one or both of {', '.join(map(repr, parts))}; "
                f"got {list(self.init_parts)!r}"
            )
        if len(set(self.init_parts)) != len(self.init_parts):
            raise ConfigError(f"train.init_parts lists a part twice: {list(self.init_parts)!r}")
        if self.init_ema not in typing.get_args(InitEma):
            raise ConfigError(
                f"train.init_ema must be 'source' or 'weights'; got {self.init_ema!r}"
            )


def _default_model() -> dict[str, object]:
    return {"generator": {"name": "seed_unet"}, "discriminator": {"name": "seed_multiscale"}}


@dataclass
class ExperimentConfig:
    """A whole experiment: the TOML file's tables.

    Attributes
    ----------
    model
        Plain table for :meth:`cyclegan_ms.CycleGAN.from_config`.
    data, train
        :class:`DataConfig`, :class:`TrainConfig`.
    optim_g, optim_d
        The ``[optim.generator]`` and ``[optim.discriminator]`` tables.
    name
        What the experiment is called (top-level ``name = "..."``; by default the preset's name
        or the TOML file's stem). Run folders name their run by it.
    plugins
        Modules or ``.py`` files that register parts of your own (top-level ``plugins = [...]``;
        files relative to the TOML file), imported before the model is built
        (:func:`cyclegan_ms.registry.import_plugins`). A run records them, with the modules of
        every part of its model that is not the library's, so ``--resume``, ``translate``,
        ``export`` and ``eval`` of its folder import them by themselves.
    """

    model: dict[str, object] = field(default_factory=_default_model)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    optim_g: OptimConfig = field(default_factory=OptimConfig)
    optim_d: OptimConfig = field(default_factory=OptimConfig)
    name: str | None = None
    plugins: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        """Plain nested dict in TOML layout (``optim.generator`` / ``optim.discriminator``)."""
        named: dict[str, object] = {"name": self.name} if self.name is not None else {}
        if self.plugins:
            named["plugins"] = list(self.plugins)
        return {
            **named,
            "model": dataclasses.asdict(self)["model"],
            "data": dataclasses.asdict(self.data),
            "train": dataclasses.asdict(self.train),
            "optim": {
                "generator": _listify(dataclasses.asdict(self.optim_g)),
                "discriminator": _listify(dataclasses.asdict(self.optim_d)),
            },
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> ExperimentConfig:
        """Strictly parse the TOML layout; raises :class:`ConfigError` on any bad key/value."""
        allowed = {"name", "plugins", "model", "data", "train", "optim"}
        _reject_unknown("", data, allowed)
        name = data.get("name")
        if name is not None and not isinstance(name, str):
            raise ConfigError(f"name must be a string; got {name!r}")
        plugins = data.get("plugins", [])
        if not isinstance(plugins, list) or not all(
            isinstance(p, str) and p.strip() for p in plugins
        ):
            raise ConfigError(
                "plugins must be a list of module names or .py files (e.g. plugins = "
                f'["my_parts", "parts/extra.py"]); got {plugins!r}'
            )
        optim = data.get("optim", {})
        if not isinstance(optim, Mapping):
            raise ConfigError(
                "optim must be a table with [optim.generator] / [optim.discriminator]"
            )
        _reject_unknown("optim", optim, {"generator", "discriminator"})
        model = data.get("model", _default_model())
        if not isinstance(model, Mapping):
            raise ConfigError("model must be a table (e.g. [model.generator] name = 'seed_unet')")
        raw_data = data.get("data", {})
        parsed_data = from_mapping(DataConfig, raw_data, "data")
        if (
            parsed_data.source != "scenes"
            and isinstance(raw_data, Mapping)
            and raw_data.get("num_scenes", DataConfig.num_scenes) != DataConfig.num_scenes
        ):  # a stored config (resume) holds the default
            import warnings

            warnings.warn(
                f"data.num_scenes is ignored with data.source = {parsed_data.source!r} (the "
                "folders' images are the data; it counts the built-in scenes)",
                UserWarning,
                stacklevel=2,
            )
        return cls(
            model=dict(model),
            data=parsed_data,
            train=from_mapping(TrainConfig, data.get("train", {}), "train"),
            optim_g=from_mapping(OptimConfig, optim.get("generator", {}), "optim.generator"),
            optim_d=from_mapping(
                OptimConfig, optim.get("discriminator", {}), "optim.discriminator"
            ),
            name=name,
            plugins=list(plugins),
        )


def _listify(d: dict[str, object]) -> dict[str, object]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}


def _reject_unknown(prefix: str, data: Mapping[str, object], allowed: set[str]) -> None:
    for key in data:
        if key not in allowed:
            where = f"{prefix}.{key}" if prefix else key
            import difflib

            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(
                f"unknown config key {where!r}{hint}; accepted: {', '.join(sorted(allowed))}"
            )


T = typing.TypeVar("T")


def from_mapping(cls: type[T], data: object, prefix: str) -> T:
    """Build dataclass ``cls`` from ``data``, checking keys and simple types.

    Raises
    ------
    ConfigError
        Unknown key (with accepted ones), wrong type (with the expected one), or an invalid
        value (the dataclass' own check).
    """
    if isinstance(data, cls):
        return data
    if not isinstance(data, Mapping):
        raise ConfigError(f"{prefix} must be a table; got {data!r}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    _reject_unknown(prefix, data, names)
    kwargs: dict[str, object] = {}
    for key, value in data.items():
        hint = hints[key]
        if not matches(value, hint):
            raise ConfigError(f"{prefix}.{key} must be {describe(hint)}; got {value!r}")
        kwargs[key] = tuple(value) if typing.get_origin(hint) is tuple else value
    try:
        return cls(**kwargs)
    except ConfigError as err:
        msg = str(err)
        raise ConfigError(msg if msg.startswith(prefix) else f"{prefix}: {msg}") from None
    except (ValueError, TypeError) as err:
        raise ConfigError(f"{prefix}: {err}") from None


# --------------------------------------------------------------------------- files & overrides
_PRESET_DIR = Path(__file__).resolve().parent.parent / "presets"


def presets() -> list[str]:
    """Names of the built-in presets (``seed``, ``cyclegan_paper``, ...)."""
    return sorted(p.stem for p in _PRESET_DIR.glob("*.toml"))


def load_preset(name: str) -> dict[str, object]:
    """The raw TOML table of a built-in preset."""
    path = _PRESET_DIR / f"{name}.toml"
    if not path.is_file():
        raise ConfigError(f"unknown preset {name!r}; available: {', '.join(presets())}")
    with path.open("rb") as fh:
        return tomllib.load(fh)


def load_config(
    source: str | Path | Mapping[str, object], overrides: list[str] | None = None
) -> ExperimentConfig:
    """Load an experiment from a TOML path, a preset name or a mapping, then apply overrides.

    Parameters
    ----------
    source
        Path to a ``.toml`` file, a preset name (see :func:`presets`), or a plain mapping. The
        experiment's ``name`` defaults to the preset name or the file's stem.
    overrides
        ``"dotted.key=value"`` strings; values are parsed as TOML (``3``, ``1e-4``, ``true``,
        ``"text"``, ``[0.5, 0.999]``), bare words as strings.
    """
    if isinstance(source, Mapping):
        raw: dict[str, object] = _deep_copy(source)
    else:
        path = Path(source)
        if path.suffix == ".toml" or path.exists():
            if not path.is_file():
                raise ConfigError(f"config file {path} does not exist")
            try:
                with path.open("rb") as fh:
                    raw = tomllib.load(fh)
            except tomllib.TOMLDecodeError as err:
                raise ConfigError(f"{path}: invalid TOML ({err})") from None
            raw.setdefault("name", path.stem)
            _anchor_plugin_files(raw, path.resolve().parent)
        else:
            raw = load_preset(str(source))
            raw.setdefault("name", str(source))
    apply_overrides(raw, overrides or [])
    return ExperimentConfig.from_dict(raw)


def _anchor_plugin_files(raw: dict[str, object], folder: Path) -> None:
    """Make the relative ``.py`` files of ``plugins`` absolute, relative to the config's folder."""
    plugins = raw.get("plugins")
    if not isinstance(plugins, list):
        return  # from_dict says what is wrong
    anchored: list[object] = []
    for spec in plugins:
        if isinstance(spec, str) and (spec.endswith(".py") or "/" in spec):
            path = Path(spec).expanduser()
            anchored.append(str(path if path.is_absolute() else (folder / path).resolve()))
        else:
            anchored.append(spec)
    raw["plugins"] = anchored


def _deep_copy(data: Mapping[str, object]) -> dict[str, object]:
    import copy

    return copy.deepcopy(dict(data))


def _parse_value(text: str) -> object:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def apply_overrides(raw: dict[str, object], overrides: list[str]) -> dict[str, object]:
    """Apply ``"a.b.c=value"`` overrides to a raw config table in place (and return it)."""
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"--set expects key=value (e.g. train.steps=100); got {item!r}")
        key, text = item.split("=", 1)
        parts = [p for p in key.strip().split(".") if p]
        if not parts:
            raise ConfigError(f"--set: empty key in {item!r}")
        node = raw
        for p in parts[:-1]:
            child = node.setdefault(p, {})
            if not isinstance(child, dict):
                raise ConfigError(f"--set {key}: {p!r} is not a table")
            node = child
        node[parts[-1]] = _parse_value(text.strip())
    return raw
