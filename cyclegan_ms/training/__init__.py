"""Training: the Trainer, configs, checkpoints, schedules and distributed helpers."""

from .checkpoint import CheckpointError, find_latest, load_checkpoint, save_checkpoint
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
from .fast_path import FastPath, pick_fast_path
from .schedules import Constant, Cosine, LinearDecay, Schedule
from .trainer import Trainer, TrainResult, resolve_device

__all__ = [
    "CheckpointError",
    "ConfigError",
    "Constant",
    "Cosine",
    "DataConfig",
    "ExperimentConfig",
    "FastPath",
    "LinearDecay",
    "OptimConfig",
    "Schedule",
    "TrainConfig",
    "TrainResult",
    "Trainer",
    "find_latest",
    "load_checkpoint",
    "load_config",
    "load_preset",
    "pick_fast_path",
    "presets",
    "resolve_device",
    "save_checkpoint",
]
