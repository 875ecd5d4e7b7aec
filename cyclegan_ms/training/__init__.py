"""Training: the Trainer and its callbacks, configs, schedules and the multi-process set-up.

Checkpoints (:mod:`cyclegan_ms.checkpoint`) and the ``train.precision = "auto"`` rule
(:mod:`cyclegan_ms.precision`) live below training, beside inference; their names a training
script needs are re-exported here.
"""

from ..checkpoint import CheckpointError, find_latest, load_checkpoint, save_checkpoint
from ..precision import FastPath, pick_fast_path
from .config import (
    ConfigError,
    DataConfig,
    ExperimentConfig,
    OptimConfig,
    TrainConfig,
    load_config,
    load_preset,
    presets,
)
from .distillation import Distillation, DistillResult, distill
from .distributed import resolve_device
from .run_folder import RunExistsError, RunFolderError, RunLockedError
from .schedules import Constant, Cosine, LinearDecay, Schedule
from .trainer import Trainer, TrainResult

__all__ = [
    "CheckpointError",
    "ConfigError",
    "Constant",
    "Cosine",
    "DataConfig",
    "DistillResult",
    "Distillation",
    "ExperimentConfig",
    "FastPath",
    "LinearDecay",
    "OptimConfig",
    "RunExistsError",
    "RunFolderError",
    "RunLockedError",
    "Schedule",
    "TrainConfig",
    "TrainResult",
    "Trainer",
    "distill",
    "find_latest",
    "load_checkpoint",
    "load_config",
    "load_preset",
    "pick_fast_path",
    "presets",
    "resolve_device",
    "save_checkpoint",
]
