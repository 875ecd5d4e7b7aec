"""Drives: short clips of one scene with the camera moving forward, by night and by day.

A drive is a sequence of frames of one :class:`~.layout.SceneSpec`: the ego camera drives down
its lane at ``speed`` metres per second, filmed at ``fps`` frames per second. Frame ``t`` is the
scene's layout moved toward the camera by ``speed * t / fps`` metres (buildings, trees, lamps,
parked cars, lane dashes), while the other vehicles drive too: those in the camera's direction
at their own speed, close to the camera's (so the car ahead stays ahead), oncoming ones toward
it. Every frame is rendered by day and by night with the scene renderer
(:mod:`~cyclegan_ms.data.scenes.render`), so every night frame has its day ground truth. The
night frames get fresh sensor noise each frame, as a real camera does: it is the main source of
flicker in a frame-by-frame translation.

What does not move: the sky, clouds and far skyline (hundreds of metres away), and the road's
fine grain and repair patches, which the renderer draws fixed to the screen (like the scene's
grain, they are a texture, not a place).

>>> night, day = render_drive(3, frames=4, height=32, width=48)
>>> night.shape, day.shape, night.dtype
((4, 32, 48, 3), (4, 32, 48, 3), dtype('uint8'))
>>> bool((day[1] != day[0]).any())  # the camera moved
True
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from typing import Literal

import numpy as np
import torch
from torch import Tensor

from ..._checks import check_int, check_value_range
from .dataset import EVAL_OFFSET
from .layout import PARKED_KERB_OFFSET_M, Car, SceneSpec, sample_scene
from .render import (
    check_darkness_range,
    check_size,
    render_day_chw,
    render_night_chw,
    resolve_darkness,
    to_hwc,
)

__all__ = ["DRIVE_RNG_TAG", "drive_pairs", "drive_specs", "render_drive"]

DRIVE_RNG_TAG = 0xD41FE  # third word of a drive's generator seed ``[seed, index, tag]``
SAME_DIRECTION_SPEED = (0.85, 1.15)  # other vehicles in the camera's direction: this × its speed
ONCOMING_SPEED = (0.7, 1.1)  # oncoming vehicles: this × the camera's speed, toward it
PARKED_TOLERANCE_M = 0.02  # a car this close to a kerb's parking line is parked (speed 0)
FAR_BEHIND_M = -50.0  # objects further behind the camera than this are dropped


def _is_parked(car: Car, spec: SceneSpec) -> bool:
    left, right = spec.road_x
    lines = (left + PARKED_KERB_OFFSET_M, right - PARKED_KERB_OFFSET_M)
    return not car.oncoming and min(abs(car.x - v) for v in lines) < PARKED_TOLERANCE_M


def _check_positive(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number; got {value!r}")
    if value <= 0:
        raise ValueError(f"{name} must be > 0; got {value!r}")
    return float(value)


def drive_specs(
    index: int | SceneSpec,
    *,
    frames: int = 16,
    fps: float = 10.0,
    speed: float = 8.0,
    seed: int = 0,
) -> list[SceneSpec]:
    """The layouts of the frames of drive ``index`` (a pure function of its arguments).

    Parameters
    ----------
    index
        Scene id (``>= 0``) or a :class:`SceneSpec`: the drive's first frame.
    frames
        Number of frames (``>= 1``).
    fps
        Frames per second (``> 0``).
    speed
        The camera's speed in metres per second (``>= 0``; 0 is a parked camera, with the other
        vehicles still driving).
    seed
        World seed (ignored when a spec is given).

    Returns
    -------
    list[SceneSpec]
        ``frames`` specs; frame ``t`` has every object moved as described in the module docs and
        its own sensor-noise seed.

    Raises
    ------
    ValueError
        For a frame count below 1, a non-positive ``fps`` or a negative ``speed``.
    """
    n = check_int(frames, "frames", 1)
    rate = _check_positive("fps", fps)
    if (
        isinstance(speed, bool)
        or not isinstance(speed, (int, float))
        or not math.isfinite(speed)
        or speed < 0
    ):
        raise ValueError(f"speed must be a finite number >= 0 (metres per second); got {speed!r}")
    base = index if isinstance(index, SceneSpec) else sample_scene(index, seed=seed)
    rng = np.random.default_rng([seed, base.index, DRIVE_RNG_TAG])
    speeds = []  # each car's speed toward the camera's direction of travel (m/s)
    for car in base.cars:
        if car.oncoming:
            speeds.append(-speed * float(rng.uniform(*ONCOMING_SPEED)))
        elif _is_parked(car, base):
            speeds.append(0.0)
        else:
            speeds.append(speed * float(rng.uniform(*SAME_DIRECTION_SPEED)))
    noise_seeds = rng.integers(1 << 62, size=n).tolist()
    out = []
    for t in range(n):
        time = t / rate
        d = speed * time  # metres the camera has travelled
        cars = tuple(
            dataclasses.replace(c, z=c.z + (v - speed) * time)
            for c, v in zip(base.cars, speeds, strict=True)
        )
        out.append(
            dataclasses.replace(
                base,
                buildings=tuple(
                    dataclasses.replace(b, z0=b.z0 - d, z1=b.z1 - d)
                    for b in base.buildings
                    if b.z1 - d > FAR_BEHIND_M
                ),
                trees=tuple(dataclasses.replace(tr, z=tr.z - d) for tr in base.trees),
                lamps=tuple(dataclasses.replace(lp, z=lp.z - d) for lp in base.lamps),
                cars=tuple(sorted(cars, key=lambda c: -c.z)),
                dash_phase=base.dash_phase + d,
                noise_seed=int(noise_seeds[t]) if t else base.noise_seed,
            )
        )
    return out


def render_drive(
    index: int | SceneSpec,
    *,
    frames: int = 16,
    fps: float = 10.0,
    speed: float = 8.0,
    height: int = 256,
    width: int | None = None,
    seed: int = 0,
    darkness: float | None = None,
    darkness_range: tuple[float, float] = (0.0, 1.0),
) -> tuple[np.ndarray, np.ndarray]:
    """Render drive ``index`` by night and by day (aligned ground truth, frame by frame).

    Parameters
    ----------
    index
        Scene id (``>= 0``) or a :class:`SceneSpec`.
    frames, fps, speed
        Length in frames, frames per second and the camera's speed in m/s (see
        :func:`drive_specs`).
    height, width
        Frame size in pixels (``width`` defaults to ``height``).
    seed
        World seed (ignored when a spec is given).
    darkness
        Night darkness in [0, 1] for every frame; default the scene's own draw mapped into
        ``darkness_range`` (see :func:`~cyclegan_ms.data.scenes.render_night`).
    darkness_range
        ``(low, high)`` within [0, 1] for the scene's own draw.

    Returns
    -------
    tuple of numpy.ndarray
        ``(night, day)``, each ``uint8`` of shape ``(frames, height, width, 3)``. The first
        frame is :func:`~cyclegan_ms.data.scenes.render_scene` of the same scene.

    Raises
    ------
    ValueError
        For a bad size, frame count, rate, speed or darkness.
    """
    h, w = check_size(height, width)
    specs = drive_specs(index, frames=frames, fps=fps, speed=speed, seed=seed)
    d = resolve_darkness(specs[0], darkness, check_darkness_range(darkness_range))
    night = np.empty((len(specs), h, w, 3), np.uint8)
    day = np.empty_like(night)
    for t, spec in enumerate(specs):
        night[t] = to_hwc(render_night_chw(spec, h, w, d))
        day[t] = to_hwc(render_day_chw(spec, h, w))
    return night, day


def drive_pairs(
    num: int = 8,
    *,
    frames: int = 16,
    size: int | tuple[int, int] = 64,
    direction: Literal["a2b", "b2a"] = "a2b",
    value_range: tuple[float, float] = (0.0, 1.0),
    fps: float = 10.0,
    speed: float = 8.0,
    seed: int = 0,
    first: int = 0,
) -> Iterator[tuple[Tensor, Tensor]]:
    """Aligned (input, ground truth) clips: drives of the held-out scenes, night and day.

    Drive ``k`` starts from evaluation scene ``EVAL_OFFSET + first + k`` (disjoint from any
    training scene, like :func:`~cyclegan_ms.data.pairs.scene_pairs`); ``a2b`` yields
    ``(night, day)``, ``b2a`` ``(day, night)``. Clips are rendered one at a time.

    Parameters
    ----------
    num
        Number of drives (``>= 1``).
    frames, fps, speed
        See :func:`drive_specs`.
    size
        Side or ``(height, width)``.
    direction
        Which clip is the input.
    value_range
        Pixel range of the tensors.
    seed
        World seed.
    first
        Offset of the first scene within the evaluation split (e.g. to tune on other drives than
        those reported).

    Yields
    ------
    tuple[Tensor, Tensor]
        ``(input, target)``, each ``(frames, 3, H, W)`` float32 in ``value_range``.

    Raises
    ------
    ValueError
        For a bad count, size, direction or range.

    Shape
    -----
    ``(T, 3, H, W)`` each.
    """
    n = check_int(num, "num", 1)
    start = check_int(first, "first", 0)
    if direction not in ("a2b", "b2a"):
        raise ValueError(f"direction must be 'a2b' or 'b2a'; got {direction!r}")
    h, w = (size, size) if isinstance(size, int) else size
    lo, hi = check_value_range(value_range)

    def tensor(clip: np.ndarray) -> Tensor:
        t = torch.from_numpy(clip).permute(0, 3, 1, 2).float()
        return t * ((hi - lo) / 255.0) + lo

    for k in range(n):
        night, day = render_drive(
            EVAL_OFFSET + start + k,
            frames=frames,
            fps=fps,
            speed=speed,
            height=h,
            width=w,
            seed=seed,
        )
        a, b = tensor(night), tensor(day)
        yield (a, b) if direction == "a2b" else (b, a)
