"""From a plain experiment config to a running Trainer: data, model, checks, resume."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from ..checkpoint import find_latest, load_checkpoint
from ..generators import card_of
from ..metrics.names import NO_TRUTH_METRICS
from ..models import build_model
from ..protocols import TranslationModule
from ..registry import import_plugins, plugin_sources
from .config import ConfigError, DataConfig, EvalPairing, ExperimentConfig, load_config
from .distributed import init_process
from .finetune import checkpoint_of, init_weights, state_mismatch
from .run_folder import Overwrite, check_run_folder, run_folder_of
from .trainer import Trainer, TrainResult

__all__ = [
    "build_dataset",
    "build_trainer",
    "default_run_dir",
    "resolve_eval_data",
    "resume_trainer",
    "run_experiment",
    "value_range_of",
]

logger = logging.getLogger("cyclegan_ms.training")


def value_range_of(data: DataConfig) -> tuple[float, float]:
    """``(0, 1)`` for ``"unit"``, ``(-1, 1)`` for ``"symmetric"``."""
    return (0.0, 1.0) if data.value_range == "unit" else (-1.0, 1.0)


def build_dataset(
    data: DataConfig, *, seed: int = 0, split: str = "train", paired: bool = False
) -> Any:
    """The training dataset a :class:`DataConfig` describes.

    Parameters
    ----------
    data
        The ``[data]`` table.
    seed
        World seed of the scenes, and the folders' augmentation seed.
    split
        ``"train"`` or an evaluation split.
    paired
        Aligned pairs, for a model that trains on them (pix2pix: ``model.paired``): the
        scenes' night and day renders of the same training scene
        (:class:`~cyclegan_ms.data.ScenePairs`), or your own (``data.source = "aligned"``:
        :class:`~cyclegan_ms.data.AlignedImageFolder`).

    Returns
    -------
    cyclegan_ms.data.NightDayScenes | cyclegan_ms.data.ScenePairs | cyclegan_ms.data.UnpairedImageFolder | cyclegan_ms.data.AlignedImageFolder
        Items are dicts with ``"A"`` and ``"B"`` tensors ``(C, image_size, image_size)``.

    Raises
    ------
    ConfigError
        A paired model given unpaired data (``data.source = "folder"``, or the scenes in
        grayscale), or an unpaired model given aligned pairs (``data.source = "aligned"``).
    """
    from ..data import AlignedImageFolder, NightDayScenes, ScenePairs, UnpairedImageFolder, recipe

    vr = value_range_of(data)
    channels = 1 if data.grayscale else 3
    if paired and data.source == "folder":
        raise ConfigError(
            "a paired model (pix2pix) trains on aligned pairs, and data.source = 'folder' is "
            "unpaired: set data.source = 'aligned' (data.layout = 'folders': trainA/trainB "
            "matched by file name; 'ab': side-by-side AB images) or 'scenes'"
        )
    if paired and data.source == "scenes":
        if data.grayscale:
            raise ConfigError(
                "the built-in scenes' aligned pairs are in colour: unset data.grayscale for a "
                "paired model (pix2pix)"
            )
        return ScenePairs(data.num_scenes, size=data.image_size, value_range=vr, seed=seed)
    if not paired and data.source == "aligned":
        raise ConfigError(
            "data.source = 'aligned' gives aligned pairs, for a paired model (model.name = "
            "'pix2pix'); this model trains on unpaired images: set data.source = 'folder' (the "
            "same trainA/trainB folders serve)"
        )
    if data.source == "scenes":
        return NightDayScenes(
            split="train" if split == "train" else "eval",
            num_scenes=data.num_scenes,
            size=data.image_size,
            channels=channels,
            value_range=vr,
            flip=data.recipe == "paper",
            seed=seed,
            options=data.scene_options,
        )
    pipeline = recipe(
        data.recipe,
        train=split == "train",
        size=data.image_size,
        load_size=data.load_size if data.recipe == "paper" else None,
    )
    pipeline.value_range = vr
    if data.source == "aligned":
        return AlignedImageFolder(
            root=data.root,
            split=split,
            a=data.path_a if data.root is None else None,
            b=data.path_b if data.root is None else None,
            layout=data.layout,
            direction=data.direction,
            transform=pipeline,
            channels=channels,
            seed=seed,
        )
    if data.root is not None:
        return UnpairedImageFolder(
            root=data.root, split=split, transform=pipeline, channels=channels, seed=seed
        )
    return UnpairedImageFolder(
        a=data.path_a, b=data.path_b, transform=pipeline, channels=channels, seed=seed
    )


def _output_activation(module: nn.Module) -> str | None:
    last = None
    for m in module.modules():
        if isinstance(m, nn.Sigmoid):
            last = "sigmoid"
        elif isinstance(m, nn.Tanh):
            last = "tanh"
    return last


def check_compatible(model: TranslationModule, data: DataConfig) -> None:
    """Fail early, in one line, when the data cannot feed the model.

    Raises
    ------
    ConfigError
        Image size not accepted by a generator, or a data range that the generators' output
        activation cannot produce.
    """
    size = data.image_size
    for direction, g in model.translators().items():
        # the [model] key of each direction's generator, in every built-in model
        name = "generator" if direction == "a2b" else "generator_ba"
        card = card_of(g)
        fixed = card.fixed_size
        if fixed is not None and fixed != size:
            raise ConfigError(
                f"data.image_size = {size} but model.{name} is built for {fixed}x{fixed} inputs; "
                f"set model.{name}.image_size = {size} (or use its size-free option)"
            )
        multiple = card.size_multiple
        if size % multiple:
            raise ConfigError(
                f"data.image_size = {size} is not a multiple of {multiple}, which "
                f"model.{name} needs"
            )
        act = _output_activation(g)
        if act == "sigmoid" and data.value_range != "unit":
            raise ConfigError(
                f"model.{name} ends in a sigmoid ([0, 1]) but data.value_range = "
                f"{data.value_range!r}; set data.value_range = 'unit' or the generator's output = 'tanh'"
            )
        if act == "tanh" and data.value_range != "symmetric":
            raise ConfigError(
                f"model.{name} ends in a tanh ([-1, 1]) but data.value_range = "
                f"{data.value_range!r}; set data.value_range = 'symmetric' or the generator's output = 'sigmoid'"
            )


def _sample_images(
    cfg: ExperimentConfig, dataset: Any, *, paired: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    if paired and cfg.data.source == "scenes":  # held-out aligned pairs
        from ..data import scene_pairs

        pairs = list(
            scene_pairs(
                2,
                size=cfg.data.image_size,
                value_range=value_range_of(cfg.data),
                seed=cfg.train.seed,
            )
        )
        return torch.stack([a for a, _ in pairs]), torch.stack([b for _, b in pairs])
    if cfg.data.source == "scenes":
        ev = build_dataset(cfg.data, seed=cfg.train.seed, split="eval")
        items = [ev[i] for i in range(2)]
    else:
        items = [dataset[i] for i in range(min(2, len(dataset)))]
    return torch.stack([it["A"] for it in items]), torch.stack([it["B"] for it in items])


def build_trainer(
    cfg: ExperimentConfig, run_dir: str | os.PathLike[str], *, overwrite: Overwrite = False
) -> Trainer:
    """Seed everything, build the model and data, check them against each other, and return a
    :class:`Trainer` (not started).

    ``overwrite`` is the Trainer's: what its :meth:`~Trainer.fit` does with a run ``run_dir``
    already holds (default: refuse; see :class:`Trainer`).
    """
    from ..data import UnpairedSampler

    torch.manual_seed(cfg.train.seed)
    try:
        model = build_model(cfg.model)
    except (ValueError, TypeError) as err:
        raise ConfigError(f"model: {err}") from None
    check_compatible(model, cfg.data)
    dataset = build_dataset(cfg.data, seed=cfg.train.seed, paired=model.paired)
    info, _ = init_process(cfg.train.device)
    # aligned pairs: the Trainer's default sampler (a seeded shuffle of the items)
    sampler = (
        None
        if model.paired
        else UnpairedSampler(
            dataset, seed=cfg.train.seed, num_replicas=info.world_size, rank=info.rank
        )
    )
    return Trainer(
        model,
        dataset,
        run_dir=run_dir,
        train=cfg.train,
        optim_g=cfg.optim_g,
        optim_d=cfg.optim_d,
        experiment=cfg.to_dict(),
        value_range=value_range_of(cfg.data),
        sampler=sampler,
        sample_images=_sample_images(cfg, dataset, paired=model.paired),
        num_workers=cfg.data.num_workers,
        overwrite=overwrite,
    )


def _stored_config(run_dir: Path) -> dict[str, Any]:
    cfg_file = run_dir / "config.json"
    if cfg_file.is_file():
        data: dict[str, Any] = json.loads(cfg_file.read_text())
        return data
    latest = find_latest(run_dir)
    if latest is None:
        raise FileNotFoundError(f"--resume {run_dir}: no checkpoint and no config.json there")
    experiment = load_checkpoint(latest).get("experiment")
    if not experiment:
        raise ConfigError(
            f"--resume {run_dir}: the checkpoint does not store its experiment config"
        )
    return dict(experiment)


def _aligned(inputs: Path, targets: Path) -> bool:
    """Whether every image of ``inputs`` has a target of the same relative name (any suffix)."""
    from ..data.images import find_images

    keys = {p.relative_to(targets).with_suffix("").as_posix() for p in find_images(targets)}
    found = [p.relative_to(inputs).with_suffix("").as_posix() for p in find_images(inputs)]
    return bool(found) and all(k in keys for k in found)


def resolve_eval_data(cfg: ExperimentConfig) -> str | None:
    """Decide what ``train.eval_every`` scores, in ``cfg.train`` (so the run records it).

    ``train.eval_data = "auto"`` scores the data's own held-out split: for folder data the
    folder's ``testA``/``testB`` (by name when every ``testA`` image has a ``testB`` image of the
    same name, else unpaired when ``eval_metric`` is FID, KID or the selection score
    ``"unpaired"``; ``testB`` against ``testA``
    for aligned pairs with ``data.direction = "b2a"``), for side-by-side AB pairs its ``test/``.
    A folder without a usable split falls back to the built-in scenes with a warning, and
    ``eval_keep_best`` is turned off: a best checkpoint is never chosen by scores of other data
    without being asked for (``eval_data = "scenes"``).

    Returns
    -------
    str or None
        What is scored, in words (``None`` when nothing is evaluated).

    Raises
    ------
    ConfigError
        ``eval_data = "folder"`` without a usable ``testA``/``testB``.
    """
    import warnings

    train, data = cfg.train, cfg.data
    if not train.eval_every:
        return None
    if train.eval_inputs is not None:
        train.eval_data = "folder"
        if train.eval_pairing in ("ab", "ba"):
            return f"the side-by-side AB images of {train.eval_inputs} ({train.eval_pairing})"
        return f"{train.eval_inputs} vs {train.eval_targets} ({train.eval_pairing})"
    if data.source == "scenes" or train.eval_data == "scenes":
        train.eval_data = "scenes"
        return f"{train.eval_scenes} held-out built-in scenes"
    why = "data.root is not set (data.path_a/path_b have no held-out split)"
    if data.source == "aligned" and data.layout == "ab" and data.root is not None:
        test = Path(data.root) / "test"
        why = f"{data.root} has no test/"
        if test.is_dir():
            train.eval_inputs, train.eval_targets = str(test), None
            train.eval_pairing = "ab" if data.direction == "a2b" else "ba"
            train.eval_data = "folder"
            return f"the side-by-side AB images of {test} ({train.eval_pairing})"
    elif data.root is not None:
        test_a, test_b = Path(data.root) / "testA", Path(data.root) / "testB"
        if data.direction == "b2a":  # data.source = "aligned": B is the input
            test_a, test_b = test_b, test_a
        why = f"{data.root} has no testA/testB"
        if test_a.is_dir() and test_b.is_dir():
            pairing: EvalPairing | None
            if _aligned(test_a, test_b):
                pairing = "by_name"
            elif train.eval_metric in NO_TRUTH_METRICS:
                pairing = "unpaired"
            else:
                pairing = None
                why = (
                    f"the images of {test_a} have no same-named ground truth in {test_b}, and "
                    f"train.eval_metric = {train.eval_metric!r} needs it (use 'fid', 'kid' or "
                    "'unpaired' for unpaired scores)"
                )
            if pairing is not None:
                train.eval_inputs, train.eval_targets = str(test_a), str(test_b)
                train.eval_pairing = pairing
                train.eval_data = "folder"
                return f"{test_a} vs {test_b} ({pairing})"
    if train.eval_data == "folder":
        raise ConfigError(f"train.eval_data = 'folder' but {why}")
    warnings.warn(
        f"train.eval_every: {why}, so the held-out built-in night/day scenes are scored instead "
        "and no best.safetensors is kept by them; give train.eval_inputs/eval_targets, or set "
        "train.eval_data = 'scenes' to score (and keep the best by) the scenes",
        UserWarning,
        stacklevel=2,
    )
    train.eval_data = "scenes"
    train.eval_keep_best = False
    return f"{train.eval_scenes} held-out built-in scenes (fallback)"


def resume_trainer(trainer: Trainer, source: str | os.PathLike[str]) -> int:
    """:meth:`Trainer.resume`, with a state that does not fit the trainer said in one line.

    Returns
    -------
    int
        The step training continues from.

    Raises
    ------
    ConfigError
        The checkpoint's weights do not fit the model the config builds (the message names the
        first differing weight and both shapes), or its data order does not fit the data (a
        resume continues a run on its own data; ``init_from`` starts a new one from its
        weights).
    """
    try:
        return trainer.resume(source)
    except RuntimeError:  # load_state_dict's many-line report of every differing weight
        state = load_checkpoint(checkpoint_of(source, what="--resume"))
        problem = state_mismatch(trainer.model.state_dict(), state.get("model") or {})
        if problem is None:
            raise
        raise ConfigError(
            f"--resume {source}: the checkpoint does not fit the model the config builds "
            f"({problem}); resume with the run's own [model] settings (leave out CONFIG to use "
            "its config.json)"
        ) from None
    except ValueError as err:
        if not str(err).startswith("cannot resume: the sampler state"):
            raise
        detail = str(err).removeprefix("cannot resume: ")
        raise ConfigError(
            f"--resume {source}: its data differ from this config's ({detail}); a resume "
            f"continues a run on its own data: to start a new run from its weights, use "
            f"--init-from {source} (train.init_from)"
        ) from None


def default_run_dir(
    config: str | os.PathLike[str] | Mapping[str, Any] | None,
    resume: str | os.PathLike[str] | None = None,
) -> Path:
    """Where :func:`run_experiment` trains without an explicit ``run_dir``: the run folder of
    ``resume`` when resuming, else ``runs/<config name>`` (``runs/experiment`` for a mapping)."""
    if resume is not None:
        return run_folder_of(resume)
    name = Path(str(config)).stem if isinstance(config, (str, os.PathLike)) else "experiment"
    return Path("runs") / name


def run_experiment(
    config: str | os.PathLike[str] | Mapping[str, Any] | None,
    *,
    overrides: list[str] | None = None,
    run_dir: str | os.PathLike[str] | None = None,
    resume: str | os.PathLike[str] | None = None,
    overwrite: Overwrite = False,
    init_from: str | os.PathLike[str] | None = None,
) -> TrainResult:
    """Train from a TOML path, preset name or mapping (or the config stored in ``resume``).

    Parameters
    ----------
    config
        TOML file, preset name, plain mapping, or ``None`` to reuse the config stored in the
        run folder given by ``resume``.
    overrides
        ``"dotted.key=value"`` strings applied on top.
    run_dir
        Output folder; default ``resume`` when resuming, else ``runs/<config name>``
        (:func:`default_run_dir`).
    resume
        Run folder (or checkpoint file) to continue from.
    overwrite
        What to do when ``run_dir`` holds another run than the one resumed: ``False`` refuse,
        ``True``/``"move"`` move it aside to ``RUN_DIR.old-N``, ``"delete"`` delete it.
    init_from
        Fine-tuning: start this new run from the weights of a run folder or checkpoint file
        (sets ``train.init_from``; see :func:`~cyclegan_ms.training.finetune.init_weights`).
        ``config=None`` then reuses that run's stored config. Not with ``resume``.

    Raises
    ------
    RunLockedError, RunExistsError, RunFolderError
        ``run_dir`` is being trained by another process, holds another run, or holds a newer
        checkpoint than the one resumed; checked before anything is built, and nothing is
        changed (see :mod:`cyclegan_ms.training.run_folder`).
    ConfigError
        A bad config, or ``overwrite`` with a resume of ``run_dir`` itself.
    cyclegan_ms.utils.files.WriteError
        The disk or the folder refused an output during training (see :meth:`Trainer.fit`).
    """
    resume_path = Path(resume) if resume is not None else None
    if init_from is not None and resume_path is not None:
        raise ConfigError(
            "init_from starts a new run from another run's weights; resume continues a run: "
            "give one of them"
        )
    if resume_path is not None and not resume_path.exists():
        raise FileNotFoundError(
            f"--resume {resume_path}: no such folder or checkpoint file (give the run folder a "
            "previous `train` wrote, or one of its checkpoints/step_*.safetensors)"
        )
    if config is None:
        if resume_path is not None:
            source: Any = _stored_config(run_folder_of(resume_path))
        elif init_from is not None:
            if run_dir is None:
                raise ConfigError(
                    "give the new run's folder (--run-dir) when fine-tuning with the source's "
                    "own config (no CONFIG)"
                )
            source = _stored_config(run_folder_of(checkpoint_of(init_from, what="--init-from")))
            source.get("train", {}).pop("init_from", None)
        else:
            raise ConfigError("give a CONFIG (TOML file or preset name) or --resume RUN_DIR")
    else:
        source = config
    cfg = load_config(source, overrides)
    import_plugins(cfg.plugins)  # before any part is built
    for needed in plugin_sources(cfg.model):  # the run records where its own parts come from
        if needed not in cfg.plugins:
            cfg.plugins.append(needed)
    if init_from is not None:
        cfg.train.init_from = str(init_from)
    if cfg.train.init_from is not None and resume_path is None:
        # the run records the very file it starts from
        cfg.train.init_from = str(checkpoint_of(cfg.train.init_from).resolve())
    run_dir = Path(run_dir) if run_dir is not None else default_run_dir(config, resume_path)
    continuing = (
        resume_path is not None and run_folder_of(resume_path).resolve() == run_dir.resolve()
    )
    if continuing and overwrite is not False:
        raise ConfigError(
            f"overwrite and a resume of {run_dir} contradict each other: resuming continues its "
            "run, overwrite would remove it"
        )
    scored = resolve_eval_data(cfg)
    if scored is not None:
        logger.info("evaluating every %d steps on %s", cfg.train.eval_every, scored)
    if int(os.environ.get("RANK", "0")) == 0:  # refuse before the (slow) set-up; rank 0 only
        check_run_folder(run_dir, continuing=continuing, overwrite=overwrite)
    trainer = build_trainer(cfg, run_dir, overwrite=overwrite)
    if resume_path is not None:
        resume_trainer(trainer, resume_path)
    elif cfg.train.init_from is not None:
        init_weights(
            trainer, cfg.train.init_from, parts=cfg.train.init_parts, ema=cfg.train.init_ema
        )
    return trainer.fit()
