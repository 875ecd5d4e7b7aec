"""Learning-rate schedules: stateless multipliers of the base learning rate.

A schedule maps the global step to a factor in ``[0, 1]`` (times the optimiser's base lr). Being
a pure function of the step, it resumes exactly from a checkpoint's step with no state of its own.

    >>> from cyclegan_ms import build
    >>> s = build("schedule", "linear_decay", total_steps=200, decay_start=100)
    >>> [round(s(t), 3) for t in (0, 100, 150, 199)]
    [1.0, 1.0, 0.5, 0.01]
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from ..registry import from_config, register
from .config import ConfigError

__all__ = ["Constant", "Cosine", "LinearDecay", "Schedule", "schedule_from_config"]


class Schedule:
    """Base class: ``schedule(step) -> factor``."""

    def __call__(self, step: int) -> float:  # pragma: no cover - abstract
        raise NotImplementedError


def _check_steps(total_steps: int, warmup: int) -> None:
    if total_steps < 1:
        raise ValueError(f"total_steps must be >= 1; got {total_steps}")
    if not 0 <= warmup < total_steps:
        raise ValueError(f"warmup must be in [0, total_steps); got {warmup} of {total_steps}")


def _warm(step: int, warmup: int) -> float:
    return min(1.0, (step + 1) / warmup) if warmup > 0 else 1.0


@register("schedule", "constant")
@dataclass
class Constant(Schedule):
    """Factor 1 at every step (after an optional linear ``warmup``). The seed's schedule."""

    warmup: int = 0

    def __post_init__(self) -> None:
        if self.warmup < 0:
            raise ValueError(f"warmup must be >= 0; got {self.warmup}")

    def __call__(self, step: int) -> float:
        return _warm(step, self.warmup)


@register("schedule", "linear_decay")
@dataclass
class LinearDecay(Schedule):
    """The CycleGAN paper's schedule: constant until ``decay_start``, then linear to 0.

    The paper trains 100 epochs at the base lr and decays linearly to zero over the next 100:
    ``decay_start = total_steps // 2`` (the default when ``decay_start`` is ``None``).
    """

    total_steps: int
    decay_start: int | None = None
    warmup: int = 0

    def __post_init__(self) -> None:
        _check_steps(self.total_steps, self.warmup)
        if self.decay_start is None:
            self.decay_start = self.total_steps // 2
        if not 0 <= self.decay_start < self.total_steps:
            raise ValueError(
                f"decay_start must be in [0, total_steps); got {self.decay_start} of "
                f"{self.total_steps}"
            )

    def __call__(self, step: int) -> float:
        start = int(self.decay_start or 0)
        if step < start:
            return _warm(step, self.warmup)
        return max(0.0, 1.0 - (step - start) / (self.total_steps - start))


@register("schedule", "cosine")
@dataclass
class Cosine(Schedule):
    """Cosine decay from 1 to ``min_factor`` over ``total_steps``, after an optional warmup."""

    total_steps: int
    min_factor: float = 0.0
    warmup: int = 0

    def __post_init__(self) -> None:
        _check_steps(self.total_steps, self.warmup)
        if not 0.0 <= self.min_factor <= 1.0:
            raise ValueError(f"min_factor must be in [0, 1]; got {self.min_factor}")

    def __call__(self, step: int) -> float:
        if step < self.warmup:
            return _warm(step, self.warmup)
        t = min(1.0, (step - self.warmup) / max(1, self.total_steps - self.warmup))
        return self.min_factor + (1 - self.min_factor) * 0.5 * (1 + math.cos(math.pi * t))


def schedule_from_config(spec: str | Mapping[str, object], total_steps: int) -> Schedule:
    """The schedule ``train.schedule`` names, with ``total_steps`` filled in where it is needed.

    Parameters
    ----------
    spec
        A registry name (``"constant"``, ``"linear_decay"``, ``"cosine"``) or a table
        ``{name = ..., ...}`` of its arguments.
    total_steps
        The run's ``train.steps`` (used by ``linear_decay`` and ``cosine`` unless given).

    Returns
    -------
    Schedule

    Raises
    ------
    ConfigError
        For an unknown name or bad arguments (the message starts with ``train.schedule``).

    Examples
    --------
    >>> schedule_from_config("linear_decay", 100)(75)
    0.5
    """
    cfg: dict[str, object] = {"name": spec} if isinstance(spec, str) else dict(spec)
    if cfg.get("name") in ("linear_decay", "cosine"):
        cfg.setdefault("total_steps", total_steps)
    try:
        return from_config("schedule", cfg)
    except (ValueError, TypeError) as err:
        raise ConfigError(f"train.schedule: {err}") from None
