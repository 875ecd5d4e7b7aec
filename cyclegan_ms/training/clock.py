"""The clock of a run: CPU and wall seconds it has trained for, kept across resumes.

:class:`RunClock` is the one clock of the :class:`~cyclegan_ms.training.Trainer`: the time
budget (``train.max_minutes`` on ``train.budget_clock``), the progress bar and the evaluation
records (``cpu_s``, ``wall_s`` in ``metrics.jsonl``, for curves of quality over CPU time) all read
it. It runs while :meth:`~cyclegan_ms.training.Trainer.fit` runs, and its count is stored in every
checkpoint, so a resumed run continues from the count the checkpoint was written at (the time
spent after it, on steps that are taken again, is not counted twice).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Literal, TypeAlias

__all__ = ["ClockName", "RunClock"]

#: Which clock: this process's CPU time (all threads) or elapsed wall time.
ClockName: TypeAlias = Literal["cpu", "wall"]


class RunClock:
    """CPU and wall seconds counted while running, from a stored count.

    CPU time is :func:`time.process_time` (this process, all its threads: fair on a shared
    machine, where another job slows the wall clock but not the work done per CPU-second); wall
    time is :func:`time.perf_counter`.

    Shape
    -----
    No tensors: seconds only.

    Examples
    --------
    >>> clock = RunClock()
    >>> clock.load_state_dict({"cpu_s": 60.0, "wall_s": 90.0})
    >>> clock.start(); clock.seconds("cpu") >= 60.0
    True
    >>> clock.stop(); state = clock.state_dict(); state["wall_s"] >= 90.0
    True
    """

    def __init__(self) -> None:
        self._counted = {"cpu": 0.0, "wall": 0.0}
        self._started: dict[str, float] | None = None

    @staticmethod
    def _now() -> dict[str, float]:
        return {"cpu": time.process_time(), "wall": time.perf_counter()}

    @property
    def running(self) -> bool:
        """Whether the clock is counting."""
        return self._started is not None

    def start(self) -> None:
        """Count from now on (no effect when running)."""
        if self._started is None:
            self._started = self._now()

    def stop(self) -> None:
        """Stop counting; the seconds so far are kept (no effect when stopped)."""
        if self._started is not None:
            now = self._now()
            for k in self._counted:
                self._counted[k] += now[k] - self._started[k]
            self._started = None

    def seconds(self, clock: ClockName) -> float:
        """Seconds counted on ``clock`` (``"cpu"`` or ``"wall"``), up to now."""
        if clock not in self._counted:
            raise ValueError(f"clock must be 'cpu' or 'wall'; got {clock!r}")
        total = self._counted[clock]
        if self._started is not None:
            total += self._now()[clock] - self._started[clock]
        return total

    def state_dict(self) -> dict[str, float]:
        """``{"cpu_s": ..., "wall_s": ...}``: the seconds counted up to now."""
        return {"cpu_s": self.seconds("cpu"), "wall_s": self.seconds("wall")}

    def load_state_dict(self, state: Mapping[str, float]) -> None:
        """Continue from a :meth:`state_dict` (missing entries: 0); a running clock keeps
        running from the stored count."""
        running = self.running
        self._started = None
        self._counted = {
            "cpu": float(state.get("cpu_s", 0.0)),
            "wall": float(state.get("wall_s", 0.0)),
        }
        if running:
            self.start()
