"""Built-in night/day road scenes: a procedural renderer and an unpaired dataset over it.

Every scene is a pure function of ``(seed, index)``: a road in perspective (lanes, dashed and solid
markings, kerbs, sidewalks), cars near and far (large and small: vans, trucks and buses too),
buildings with windows, trees, street lamps and a distant skyline, all placed in metres in front
of a pinhole camera, so the same scene renders at any resolution. It is rendered twice from one
layout:

- **day**: sky with clouds, sun and shadows (or overcast), haze with distance;
- **night**: low ambient light, lamp glow and light pools, head- and tail-lights with glow,
  the ego car's low beams, lit windows, wet-road reflections on some scenes, low exposure and
  sensor noise, with a *darkness* in [0, 1] from dusk-like (0) to extreme (1).

Because the day image of a night scene is known, translation quality can be measured against
ground truth. Rendering is vectorised numpy on channel-first buffers: about 5 ms for a 256 x 256
image on one core (``benchmarks/data_loader.py``, ``benchmarks/RESULTS.md``). The first render in a
process calls :func:`~cyclegan_ms.data._alloc.tune_allocator`, which, when opted in with
``CYCLEGAN_MS_TUNE_MALLOC=1``, stops glibc from handing memory back to the OS after every image
(about 1.5x faster rendering; off by default).

    >>> night, day = render_scene(3, height=64, width=96)
    >>> night.shape, day.shape, night.dtype
    ((64, 96, 3), (64, 96, 3), dtype('uint8'))
    >>> bool(night.mean() < day.mean())
    True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal, TypeVar

import numpy as np
import torch

from ._alloc import tune_allocator
from .base import UnpairedDataset, item_rngs
from .sampler import SampleKey, _check_int
from .transforms import ValueRange, check_value_range

__all__ = [
    "EVAL_OFFSET",
    "Building",
    "Car",
    "Lamp",
    "NightDayScenes",
    "SceneSpec",
    "Tree",
    "render_day",
    "render_depth",
    "render_night",
    "render_scene",
    "sample_scene",
]

#: Scene ids of the evaluation split start here, disjoint from any training range below it.
EVAL_OFFSET = 1_000_000_000

Color = tuple[float, float, float]
T = TypeVar("T")
F32 = np.float32

_Z_FAR = 220.0  # buildings, trees and lamps are placed up to this distance (m)
_Z_SKY = 600.0  # distance of the skyline silhouette (m)


# ----------------------------------------------------------------------------------------------
# scene description (metres, camera at X=0, Y=cam_h, looking down +Z)
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Car:
    """A vehicle: ``x`` lateral centre, ``z`` distance of its visible face (rear, or front if
    ``oncoming``), sizes in metres, body colour in [0, 1], ``kind`` in car/suv/van/truck/bus."""

    x: float
    z: float
    width: float
    height: float
    length: float
    color: Color
    oncoming: bool
    kind: str
    braking: bool


@dataclass(frozen=True)
class Building:
    """A building facade along the road on ``side`` (-1 left, +1 right) from ``z0`` to ``z1``."""

    side: int
    z0: float
    z1: float
    height: float
    color: Color
    floor_h: float
    win_spacing: float
    win_w: float
    win_h: float
    lit: float
    uid: int


@dataclass(frozen=True)
class Tree:
    """A roadside tree at ``(x, z)``: trunk height and crown radius in metres."""

    x: float
    z: float
    trunk: float
    crown: float
    color: Color


@dataclass(frozen=True)
class Lamp:
    """A street lamp: pole at ``(x, z)``, head at height ``height`` and lateral ``x + arm``."""

    x: float
    z: float
    height: float
    arm: float


@dataclass(frozen=True)
class SceneSpec:
    """Everything about one scene, independent of resolution and time of day.

    Produced by :func:`sample_scene`; lengths in metres, angles in degrees, colours RGB in [0, 1].

    Attributes
    ----------
    index
        The scene id.
    horizon, vanish
        Horizon row and vanishing-point column as fractions of the image height and width.
    hfov, cam_h
        Horizontal field of view and camera height.
    lane_w, n_own, n_on, cam_lane
        Lane width, lanes in the camera's direction, oncoming lanes (left of them, behind a
        double yellow line), and the camera's lane.
    sidewalk, facade_x
        Sidewalk widths (left, right) and lateral positions of the building fronts.
    road_color, sidewalk_color, verge_color
        Ground albedos.
    buildings, trees, lamps, cars
        The objects, see :class:`Building`, :class:`Tree`, :class:`Lamp`, :class:`Car`.
    skyline, skyline_kind
        Heights of the far silhouette (``"city"`` blocks or ``"trees"``) across the view.
    overcast, sun_side, sun_elev, visibility, clouds, cloudiness
        Day weather: overcast amount, sun side (-1 left, +1 right) and elevation, haze distance,
        a cloud field and its coverage.
    lamp_color, light_pollution, wet, darkness_u, lamps_off_above
        Night: lamp colour (sodium or LED), sky glow, wet-road reflections, the scene's darkness
        draw in [0, 1) and the darkness above which its street lamps are off.
    dash_phase, tex_offset, noise_seed
        Lane-dash phase, grain offset and the seed of the night's sensor noise.
    """

    index: int
    horizon: float
    vanish: float
    hfov: float
    cam_h: float
    lane_w: float
    n_own: int
    n_on: int
    cam_lane: int
    sidewalk: tuple[float, float]
    facade_x: tuple[float, float]
    road_color: Color
    sidewalk_color: Color
    verge_color: Color
    buildings: tuple[Building, ...]
    trees: tuple[Tree, ...]
    lamps: tuple[Lamp, ...]
    cars: tuple[Car, ...]
    skyline: tuple[float, ...]
    skyline_kind: str
    overcast: float
    sun_side: int
    sun_elev: float
    visibility: float
    clouds: tuple[tuple[float, ...], ...]
    cloudiness: float
    lamp_color: Color
    light_pollution: float
    wet: bool
    darkness_u: float
    lamps_off_above: float
    dash_phase: float
    tex_offset: tuple[int, int]
    noise_seed: int

    @property
    def road_x(self) -> tuple[float, float]:
        """Lateral positions of the road's left and right edges."""
        left = -(self.cam_lane + 0.5 + self.n_on) * self.lane_w
        return left, left + (self.n_own + self.n_on) * self.lane_w


_CAR_COLORS: tuple[Color, ...] = (
    (0.85, 0.85, 0.86), (0.08, 0.08, 0.09), (0.55, 0.56, 0.58), (0.62, 0.08, 0.07),
    (0.10, 0.20, 0.45), (0.30, 0.32, 0.34), (0.75, 0.74, 0.70), (0.15, 0.30, 0.20),
    (0.80, 0.60, 0.10), (0.35, 0.18, 0.10),
)  # fmt: skip
_BUILDING_COLORS: tuple[Color, ...] = (
    (0.55, 0.33, 0.25), (0.62, 0.60, 0.56), (0.76, 0.70, 0.58), (0.45, 0.46, 0.48),
    (0.40, 0.50, 0.58), (0.70, 0.55, 0.42), (0.82, 0.80, 0.74), (0.35, 0.30, 0.28),
)  # fmt: skip
_VEHICLES = {  # kind: (width, height, length, probability)
    "car": (1.8, 1.45, 4.5, 0.55),
    "suv": (1.9, 1.75, 4.8, 0.25),
    "van": (2.0, 2.3, 5.5, 0.1),
    "truck": (2.5, 3.4, 9.0, 0.06),
    "bus": (2.55, 3.1, 12.0, 0.04),
}


class _Draws:
    """Fast, deterministic scalar draws from a numpy ``Generator`` (buffered)."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.buf: list[float] = []
        self.i = 0

    def u(self, lo: float = 0.0, hi: float = 1.0) -> float:
        if self.i >= len(self.buf):
            self.buf, self.i = self.rng.random(256).tolist(), 0
        v = self.buf[self.i]
        self.i += 1
        return lo + (hi - lo) * v

    def integer(self, n: int) -> int:
        return min(n - 1, int(self.u() * n))

    def choice(self, seq: Sequence[T]) -> T:
        return seq[self.integer(len(seq))]

    def weighted(self, probs: Sequence[float]) -> int:
        x, acc = self.u() * sum(probs), 0.0
        for k, p in enumerate(probs):
            acc += p
            if x < acc:
                return k
        return len(probs) - 1


def _jitter(dr: _Draws, c: Color, amount: float, tint: float = 0.03) -> Color:
    scale = 1 + dr.u(-amount, amount)
    r, g, b = (v * scale + dr.u(-tint, tint) for v in c)
    return (min(1.0, max(0.0, r)), min(1.0, max(0.0, g)), min(1.0, max(0.0, b)))


def sample_scene(index: int, *, seed: int = 0) -> SceneSpec:
    """Draw the layout of scene ``index`` (a pure function of ``(seed, index)``).

    Parameters
    ----------
    index
        Scene id, ``>= 0``.
    seed
        World seed: a different seed gives a different world of scenes.

    Returns
    -------
    SceneSpec

    Raises
    ------
    ValueError
        For a negative ``index`` or ``seed``.
    """
    index = _check_int(index, "index")
    seed = _check_int(seed, "seed")
    rng = np.random.default_rng([seed, index, 0x5CE7E])
    dr = _Draws(rng)
    u = dr.u
    lane_w = u(3.0, 3.7)
    n_own = dr.choice([1, 2, 2, 3])
    n_on = dr.choice([0, 1, 1, 2])
    cam_lane = dr.integer(n_own)
    sidewalk = (u(1.5, 4.0), u(1.5, 4.0))
    road_l = -(cam_lane + 0.5 + n_on) * lane_w
    road_r = road_l + (n_own + n_on) * lane_w
    urban = u() < 0.75
    setback = (u(0, 4) if u() < 0.5 else 0.0, u(0, 4) if u() < 0.5 else 0.0)
    facade_x = (road_l - sidewalk[0] - setback[0], road_r + sidewalk[1] + setback[1])

    buildings: list[Building] = []
    for side in (-1, 1):
        density = u(0.6, 0.95) if urban else u(0.0, 0.35)
        z = u(-5.0, 15.0)
        while z < _Z_FAR:
            length = u(8.0, 35.0)
            if u() < density:
                buildings.append(
                    Building(
                        side=side,
                        z0=z,
                        z1=z + length,
                        height=u(5.0, 12.0) if u() < 0.4 else u(12.0, 40.0),
                        color=_jitter(dr, dr.choice(_BUILDING_COLORS), 0.15),
                        floor_h=u(2.9, 3.6),
                        win_spacing=u(1.8, 3.6),
                        win_w=u(0.35, 0.65),
                        win_h=u(0.35, 0.6),
                        lit=u(0.1, 0.6),
                        uid=dr.integer(1 << 30),
                    )
                )
                z += length + (u(0.0, 6.0) if u() < 0.4 else 0.0)
            else:
                z += length * 0.7

    trees: list[Tree] = []
    for side in (-1, 1):
        if u() < (0.4 if urban else 0.9):
            spacing = u(7.0, 18.0)
            z = u(2.0, spacing)
            edge = (
                road_l - sidewalk[0] * u(0.3, 0.7)
                if side < 0
                else road_r + sidewalk[1] * u(0.3, 0.7)
            )
            if not urban:
                edge += side * u(1.0, 4.0)
            while z < _Z_FAR * 0.7:
                if u() < 0.85:
                    green = (u(0.12, 0.30), u(0.28, 0.45), u(0.08, 0.18))
                    trees.append(Tree(edge + u(-0.3, 0.3), z, u(1.8, 3.2), u(1.4, 3.2), green))
                z += spacing * u(0.8, 1.2)

    lamps: list[Lamp] = []
    lamp_sides = [s for s in (-1, 1) if u() < 0.7] or [dr.choice([-1, 1])]
    spacing = u(22.0, 40.0)
    for side in lamp_sides:
        x = road_l - 0.4 if side < 0 else road_r + 0.4
        z = u(3.0, spacing)
        while z < _Z_FAR * 0.8:
            lamps.append(Lamp(x, z, u(7.0, 9.5), -side * u(1.0, 2.2)))
            z += spacing

    cars: list[Car] = []
    kinds = list(_VEHICLES)
    probs = [_VEHICLES[k][3] for k in kinds]
    lanes = [(road_l + (k + 0.5) * lane_w, k < n_on) for k in range(n_own + n_on)]
    near_done = False
    for lane_x, oncoming in lanes:
        z = u(6.0, 18.0) if not near_done else u(6.0, 40.0)
        while z < 120.0:
            if u() < 0.75:
                kind = kinds[dr.weighted(probs)]
                w, h, length, _ = _VEHICLES[kind]
                scale = u(0.95, 1.05)
                color = dr.choice(_CAR_COLORS)
                if kind in ("truck", "bus"):
                    color = dr.choice(((0.85, 0.85, 0.82), (0.75, 0.15, 0.1), (0.2, 0.35, 0.6)))
                cars.append(
                    Car(
                        x=lane_x + u(-0.35, 0.35),
                        z=z,
                        width=w * scale,
                        height=h * scale,
                        length=length * scale,
                        color=_jitter(dr, color, 0.08),
                        oncoming=oncoming,
                        kind=kind,
                        braking=u() < 0.3,
                    )
                )
                near_done = near_done or z < 20
                z += length + u(6.0, 35.0) * (1 + z / 60)
            else:
                z += u(10.0, 30.0)
    if u() < 0.5:  # parked cars along a kerb
        side = dr.choice([-1, 1])
        x = road_l + 1.1 if side < 0 else road_r - 1.1
        z = u(8.0, 30.0)
        while z < 90.0:
            if all(abs(c.x - x) > 2.2 or abs(c.z - z) > 7 for c in cars) and u() < 0.6:
                w, h, length, _ = _VEHICLES["car"]
                cars.append(
                    Car(x, z, w, h, length, _jitter(dr, dr.choice(_CAR_COLORS), 0.08),
                        oncoming=False, kind="car", braking=False)
                )  # fmt: skip
            z += u(5.5, 9.0)

    n_sky = 160
    if urban:
        heights = np.repeat(rng.uniform(5, 60, n_sky // 4) * (rng.random(n_sky // 4) < 0.8), 4)
        skyline_kind = "city"
    else:
        t = np.linspace(0, 1, n_sky)
        heights = 12 + 10 * np.sin(t * u(3, 9) + u(0, 6)) + rng.uniform(0, 6, n_sky)
        skyline_kind = "trees"

    return SceneSpec(
        index=index,
        horizon=u(0.40, 0.50),
        vanish=u(0.42, 0.58),
        hfov=u(62.0, 80.0),
        cam_h=u(1.25, 1.6),
        lane_w=lane_w,
        n_own=n_own,
        n_on=n_on,
        cam_lane=cam_lane,
        sidewalk=sidewalk,
        facade_x=facade_x,
        road_color=_jitter(dr, (0.30, 0.30, 0.31), 0.25, tint=0.01),
        sidewalk_color=_jitter(dr, (0.58, 0.57, 0.54), 0.12),
        verge_color=_jitter(dr, (0.30, 0.40, 0.20) if u() < 0.7 else (0.45, 0.40, 0.30), 0.2),
        buildings=tuple(buildings),
        trees=tuple(trees),
        lamps=tuple(lamps),
        cars=tuple(sorted(cars, key=lambda c: -c.z)),
        skyline=tuple(heights.tolist()),
        skyline_kind=skyline_kind,
        overcast=float(u(0.0, 1.0) ** 2),
        sun_side=dr.choice([-1, 1]),
        sun_elev=u(20.0, 60.0),
        visibility=u(250.0, 1500.0),
        clouds=tuple(map(tuple, rng.random((8, 24)).tolist())),
        cloudiness=u(),
        lamp_color=(1.0, 0.62, 0.28) if u() < 0.5 else (0.95, 0.95, 1.0),
        light_pollution=u(0.2, 1.0) if urban else u(0.0, 0.3),
        wet=bool(u() < 0.3),
        darkness_u=u(),
        lamps_off_above=u(0.6, 1.4),
        dash_phase=u(0, 12),
        tex_offset=(dr.integer(1 << 16), dr.integer(1 << 16)),
        noise_seed=int(rng.integers(1 << 62)),
    )


# ----------------------------------------------------------------------------------------------
# rendering
# ----------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _noise_bank() -> np.ndarray:
    """A fixed bank of standard normal samples (sensor noise is a random window of it)."""
    return np.random.default_rng(4321).standard_normal(1 << 20, dtype=F32)


@lru_cache(maxsize=8)
def _grain(height: int, width: int) -> np.ndarray:
    """Fixed screen-space grain in [-1, 1], padded by 64 for per-scene offsets (deterministic)."""
    return np.random.default_rng(1234).uniform(-1, 1, (height + 64, width + 64)).astype(F32)


def _interp_matrix(n_out: int, n_in: int) -> np.ndarray:
    """(n_out, n_in) matrix of linear interpolation weights (smooth upsampling)."""
    pos = (np.arange(n_out) + 0.5) / n_out * n_in - 0.5
    lo = np.clip(np.floor(pos).astype(int), 0, n_in - 1)
    hi = np.clip(lo + 1, 0, n_in - 1)
    w = np.clip(pos - lo, 0, 1)
    w = w * w * (3 - 2 * w)  # smooth (C1) blending: no visible cell edges
    m = np.zeros((n_out, n_in), F32)
    m[np.arange(n_out), lo] += 1 - w
    m[np.arange(n_out), hi] += w
    return m


def _smoothstep(e0: float, e1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - F32(e0)) * F32(1 / (e1 - e0)), 0, 1)
    return t * t * (3 - 2 * t)


def _rgb(c: Color | np.ndarray) -> np.ndarray:
    """A colour shaped (3, 1, 1) to broadcast over channel-first (3, H, W) buffers."""
    return np.asarray(c, F32).reshape(3, 1, 1)


class _Canvas:
    """Channel-first per-pixel buffers of one scene at one resolution, filled far to near.

    (Channel-first because numpy broadcasts a colour over ``(3, H, W)`` many times faster than
    over ``(H, W, 3)``.)
    """

    def __init__(self, spec: SceneSpec, height: int, width: int, night: bool) -> None:
        self.spec, self.h, self.w, self.night = spec, height, width, night
        self.f = (width / 2) / math.tan(math.radians(spec.hfov) / 2)
        self.yh = spec.horizon * height
        self.xv = spec.vanish * width
        self.u = height / 256  # lens blur and other pixel-scale effects are sized for 256 rows
        self.albedo = np.zeros((3, height, width), F32)
        self.depth = np.full((height, width), np.inf, F32)
        self.sun = np.ones((height, width), F32)  # day: direct-sun factor (0 = shadow)
        shape = (3, height, width) if night else (3, 0, 0)
        self.light = np.zeros(shape, F32)  # night illumination
        self.emit = np.zeros(shape, F32)  # night emission and glow
        self.xs = np.arange(width, dtype=F32) + F32(0.5 - self.xv)  # column centres - x_v
        self.ys = np.arange(height, dtype=F32) + F32(0.5)  # row centres
        oy, ox = (v % 64 for v in spec.tex_offset)
        self.grain = _grain(height, width)[oy : oy + height, ox : ox + width]
        # ground rows: the first one, lateral metres (R, W) and distance (R,) of ground pixels
        self.ground: tuple[int, np.ndarray, np.ndarray] = (
            height,
            np.zeros((0, width), F32),
            np.zeros(0, F32),
        )

    def px(self, x: float, z: float) -> float:
        return self.xv + self.f * x / z

    def py(self, y: float, z: float) -> float:
        return self.yh + self.f * (self.spec.cam_h - y) / z

    def rows(self, y0: float, y1: float) -> tuple[int, int]:
        return max(0, math.floor(y0)), min(self.h, math.ceil(y1))

    def cols(self, x0: float, x1: float) -> tuple[int, int]:
        return max(0, math.floor(x0)), min(self.w, math.ceil(x1))

    def glow(
        self,
        xs: tuple[float, ...],
        cy: float,
        sx: float,
        sy: float,
        color: Color,
        gain: float,
        halo: tuple[float, float, float] | None = None,
    ) -> None:
        """Add lights on one row at columns ``xs``: a gaussian core each, and a wider ``halo``.

        ``halo`` is ``(sx, sy, gain)``. A light smaller than a pixel keeps its energy (its
        gaussian is widened to 0.35 px and dimmed), so brightness does not depend on resolution.
        """
        parts = [(max(sx, 0.35), max(sy, 0.35), gain * min(1.0, sx / 0.35) * min(1.0, sy / 0.35))]
        if halo is not None:
            hx, hy, hg = halo
            parts.append(
                (max(hx, 0.35), max(hy, 0.35), hg * min(1.0, hx / 0.35) * min(1.0, hy / 0.35))
            )
        ex, ey = max(p[0] for p in parts) * 3, max(p[1] for p in parts) * 3
        r0, r1 = self.rows(cy - ey, cy + ey)
        c0, c1 = self.cols(min(xs) - ex, max(xs) + ex)
        if r0 >= r1 or c0 >= c1:
            return
        dy2 = (self.ys[r0:r1] - F32(cy)) ** 2
        cols = np.arange(c0, c1, dtype=F32) + F32(0.5)
        dx2 = [(cols - F32(cx)) ** 2 for cx in xs]
        total = None
        for px_, py_, g in parts:
            gy = np.exp(dy2 * F32(-0.5 / (py_ * py_))) * F32(g)
            k = F32(-0.5 / (px_ * px_))
            gx = np.exp(dx2[0] * k)
            for d in dx2[1:]:
                gx += np.exp(d * k)
            term = np.outer(gy, gx)
            total = term if total is None else total + term
        self.emit[:, r0:r1, c0:c1] += total * _rgb(color)

    def light_pool(self, lx: float, lz: float, radius: float, color: Color, gain: float) -> None:
        """Add a pool of light on the ground centred at world ``(lx, lz)``."""
        r0g, x, z = self.ground
        rows = np.nonzero((z > max(0.5, lz - 2.5 * radius)) & (z < lz + 2.5 * radius))[0]
        if rows.size == 0:
            return
        a, b = int(rows[0]), int(rows[-1]) + 1
        k = F32(-0.5 / (radius * radius))
        pool = np.exp(((x[a:b] - F32(lx)) ** 2 + ((z[a:b] - F32(lz)) ** 2)[:, None]) * k)
        self.light[:, r0g + a : r0g + b] += pool * F32(gain) * _rgb(color)


def _draw_sky_and_skyline(cv: _Canvas) -> None:
    spec = cv.spec
    hz = min(cv.h, math.ceil(cv.yh) + 1)
    if hz <= 0:
        return
    n = len(spec.skyline)
    idx = np.clip(((cv.xs / cv.f + 1.6) / 3.2 * n).astype(np.int32), 0, n - 1)
    top = cv.yh - cv.f * (np.asarray(spec.skyline, F32)[idx] - spec.cam_h) / _Z_SKY
    mask = (cv.ys[:hz, None] >= top[None, :]) & (cv.ys[:hz, None] < cv.yh + 1)
    city = spec.skyline_kind == "city"
    color = _rgb((0.42, 0.43, 0.46) if city else (0.20, 0.28, 0.17))[:, :, 0]
    cv.albedo[:, :hz][:, mask] = color
    cv.depth[:hz][mask] = _Z_SKY
    if cv.night and city:  # scattered lit windows in the far city
        dots = (cv.grain[:hz] > 0.9) & mask
        cv.emit[:, :hz][:, dots] += _rgb((0.25, 0.2, 0.12))[:, :, 0]


def _draw_ground(cv: _Canvas) -> None:
    spec = cv.spec
    r0 = max(0, math.floor(cv.yh) + 1)
    if r0 >= cv.h:
        return
    s = (cv.ys[r0:] - F32(cv.yh)) / F32(spec.cam_h)  # px per metre of each row, (R,)
    z = F32(cv.f) / s
    sc, zc = s[:, None], z[:, None]
    xs = cv.xs[None, :]
    x = xs / sc  # lateral metres, (R, W)
    road_l, road_r = spec.road_x

    def band(lo: float, hi: float) -> np.ndarray:  # antialiased lateral band
        return np.clip(np.minimum(xs - F32(lo) * sc, F32(hi) * sc - xs) + F32(0.5), 0, 1)

    road = band(road_l, road_r)
    walk = band(road_l - spec.sidewalk[0], road_r + spec.sidewalk[1]) - road
    rc, wc, vc = _rgb(spec.road_color), _rgb(spec.sidewalk_color), _rgb(spec.verge_color)

    g = cv.grain[r0:]
    fade = np.clip(sc / 6, 0, 1)
    lane_pos = x * F32(1 / spec.lane_w) - F32(road_l / spec.lane_w)
    k = np.floor(lane_pos + F32(0.5))
    t = np.abs(lane_pos - k)  # 0 on a lane line, 0.5 mid-lane
    tracks = np.clip(1 - np.abs(t - F32(0.25)) * 11, 0, 1)
    oy, ox = spec.tex_offset
    patches = 0.05 * np.sin(zc * 0.21 + ox) * np.sin(zc * 0.037 + oy)
    joints = (np.abs((zc / 1.6 + ox) % 1.0 - 0.5) > 0.46) * np.clip(sc / 12, 0, 1)
    road_tone = road * (1 + fade * (0.09 * g - 0.07 * tracks) + patches)
    walk_tone = walk * (1 + 0.05 * fade * g - 0.2 * joints)
    verge_tone = (1 - road - walk) * (1 + 0.2 * g)
    alb = road_tone * rc + walk_tone * wc + verge_tone * vc

    # markings: solid white edges, double yellow centre (two-way roads), dashed white otherwise
    n = spec.n_own + spec.n_on
    kc = np.clip(k, 0, n)
    dpx = np.abs(lane_pos - kc) * (F32(spec.lane_w) * sc)
    edge = (kc == 0) | (kc == n)
    center = (kc == spec.n_on) if spec.n_on else np.zeros_like(edge)
    if spec.n_on:
        dpx = np.where(center, np.abs(dpx - F32(0.18) * sc), dpx)
    width = F32(0.15) * sc
    cov = np.clip(width * 0.5 + 0.5 - dpx, 0, 1) * np.minimum(width, 1)
    period, duty = 12.0, 0.3
    rows_per_period = cv.f * spec.cam_h * period / (zc * zc)
    dash_on = ((zc + spec.dash_phase) / period) % 1.0 < duty
    dash = np.where(rows_per_period < 3, F32(duty), dash_on.astype(F32))  # (R, 1)
    dashed = ~(edge | center)
    cov *= road
    where = np.nonzero(cov > 0)  # markings cover few pixels: paint only those
    cov = (
        cov[where] * np.where(dashed[where], dash[where[0], 0], 1) * (0.8 + 0.2 * (g[where] > -0.5))
    )
    paint = (
        np.where(center[where], F32(1.0), F32(0.0))
        * (_rgb((0.85, 0.66, 0.12)) - _rgb((0.88, 0.88, 0.86)))[:, :, 0]
    )
    paint += _rgb((0.88, 0.88, 0.86))[:, :, 0]
    sel = alb[:, where[0], where[1]]
    alb[:, where[0], where[1]] = sel + cov * (paint - sel)

    cv.albedo[:, r0:] = alb
    cv.depth[r0:] = zc
    cv.ground = (r0, x, z)

    if not cv.night:
        side = spec.sun_side  # buildings on the sun's side shade the ground toward the road
        blds = [b for b in spec.buildings if b.side == side]
        if blds and spec.overcast < 0.6:
            z0s = np.array([b.z0 for b in blds], F32)
            z1s = np.array([b.z1 for b in blds], F32)
            hs = np.array([b.height for b in blds], F32)
            j = np.clip(np.searchsorted(z0s, z, side="right") - 1, 0, len(blds) - 1)
            h_row = np.where((z >= z0s[j]) & (z < z1s[j]), hs[j], 0)
            reach_px = (h_row / math.tan(math.radians(spec.sun_elev)) * 0.6 * s)[:, None]
            fx = spec.facade_x[0 if side < 0 else 1]
            across_px = (xs - F32(fx) * sc) * -side
            cv.sun[r0:] = np.clip(across_px - reach_px + 0.5, 0, 1)
    else:  # the ego car's low beams: from ~3 m ahead, fading with distance
        near = np.clip((zc - 2.5) / 4.0, 0, 1)
        beam = np.exp(-((x / (1.2 + 0.12 * zc)) ** 2)) * (near * 0.35 / (1 + (zc / 18.0) ** 2))
        cv.light[:, r0:] += beam * _rgb((1.0, 0.95, 0.85))


def _draw_facades(cv: _Canvas) -> None:
    spec = cv.spec
    split = int(np.searchsorted(cv.xs, 0.0))  # columns left of the vanishing point
    glass = _rgb((0.20, 0.24, 0.30))
    for side in (-1, 1):
        blds = sorted((b for b in spec.buildings if b.side == side), key=lambda b: b.z0)
        lo, hi = (0, split) if side < 0 else (split, cv.w)
        if not blds or lo >= hi:
            continue
        fx = spec.facade_x[0 if side < 0 else 1]
        zc = F32(cv.f * fx) / cv.xs[lo:hi]  # distance of the facade seen in each column
        z0s = np.array([b.z0 for b in blds], F32)
        z1s = np.array([b.z1 for b in blds], F32)
        j = np.clip(np.searchsorted(z0s, zc, side="right") - 1, 0, len(blds) - 1)
        hit = (zc >= z0s[j]) & (zc < z1s[j]) & (zc > 0.5)
        idx = np.nonzero(hit)[0]
        if idx.size == 0:
            continue
        a, b = int(idx[0]), int(idx[-1]) + 1
        c0, c1 = lo + a, lo + b
        zc, j, hit = zc[a:b], j[a:b], hit[a:b]

        def per_column(name: str, j: np.ndarray = j, blds: list[Building] = blds) -> np.ndarray:
            return np.array([getattr(bl, name) for bl in blds], F32)[j]

        height, floor_h = per_column("height"), per_column("floor_h")
        spacing, win_w, win_h = per_column("win_spacing"), per_column("win_w"), per_column("win_h")
        colors = np.array([bl.color for bl in blds], F32)[j].T[:, None, :]  # (3, 1, C)
        s = F32(cv.f) / zc
        top = np.where(hit, F32(cv.yh) - s * (height - F32(spec.cam_h)), np.inf)
        bot = np.where(hit, F32(cv.yh) + s * F32(spec.cam_h), -np.inf)
        r0, r1 = max(0, math.floor(top.min())), min(cv.h, math.ceil(bot.max()))
        if r0 >= r1:
            continue
        ys = cv.ys[r0:r1, None]
        cover = np.clip(np.minimum(ys - top, bot - ys) + F32(0.5), 0, 1)  # (R, C)
        height_m = F32(spec.cam_h) - (ys - F32(cv.yh)) / s
        along = (zc - per_column("z0")) / spacing
        col_win = np.abs(along - np.floor(along) - 0.5) < win_w / 2  # (C,)
        fv = height_m / floor_h
        floor = np.floor(fv)
        fv -= floor
        upper = floor >= 1
        win = (np.abs(fv - F32(0.5)) < win_h / 2) & upper & (height_m < height - 0.8) & col_win
        fine = np.clip(spacing * s / 2.5 - 0.3, 0, 1)  # windows are resolved when >2.5 px apart
        winf = win * fine + upper * ((1 - fine) * win_w * win_h)
        shade = (1 - 0.25 * (floor == 0)) * (1 - winf)
        alb = colors * shade + winf * glass
        sub = cv.albedo[:, r0:r1, c0:c1]
        sub += cover * (alb - sub)
        solid = cover > 0.5
        np.copyto(cv.depth[r0:r1, c0:c1], zc, where=solid)
        if not cv.night:
            np.copyto(
                cv.sun[r0:r1, c0:c1], F32(1.0 if side == -spec.sun_side else 0.35), where=solid
            )
        if cv.night:
            # which windows are lit: a hash of (building, window column) and the floor
            uids = np.array([bl.uid % 10007 for bl in blds], F32)[j]
            col_hash = np.sin(uids * F32(12.9898) + np.floor(along) * F32(78.233)) * F32(43758.55)
            col_hash -= np.floor(col_hash)
            rnd = col_hash + floor * F32(0.6180340)
            rnd -= np.floor(rnd)
            lit_frac = per_column("lit")
            lit = win & (rnd < lit_frac) & solid
            level = rnd * F32(3.7)
            level -= np.floor(level)
            level = (0.3 + 0.5 * level) * lit
            em = level * fine + lit * (1 - fine) * 0.4
            cool = (rnd < lit_frac * 0.3) * em
            emit = cv.emit[:, r0:r1, c0:c1]
            emit += em * _rgb((1.0, 0.78, 0.45))
            emit[2] += cool * 0.5
            shop = (
                solid & (floor == 0) & (height_m > 0.4) & (height_m < 2.4) & (rnd < 0.25) & col_win
            )
            emit += shop * _rgb((0.3, 0.26, 0.2))
    # end faces of buildings toward the camera (seen across a gap)
    for bl in sorted(spec.buildings, key=lambda b: -b.z0):
        if bl.z0 < 1.0:
            continue
        fx = spec.facade_x[0 if bl.side < 0 else 1]
        xa, xb = sorted((cv.px(fx, bl.z0), cv.px(fx + bl.side * 12.0, bl.z0)))
        c0, c1 = cv.cols(xa, xb)
        r0, r1 = cv.rows(cv.py(bl.height, bl.z0), cv.py(0.0, bl.z0))
        if c0 >= c1 or r0 >= r1:
            continue
        vis = cv.depth[r0:r1, c0:c1] > bl.z0
        np.copyto(cv.albedo[:, r0:r1, c0:c1], _rgb(bl.color) * F32(0.8), where=vis)
        np.copyto(cv.depth[r0:r1, c0:c1], F32(bl.z0), where=vis)
        if not cv.night:
            np.copyto(cv.sun[r0:r1, c0:c1], F32(0.6), where=vis)


def _draw_tree(cv: _Canvas, t: Tree) -> None:
    s = cv.f / t.z
    cx = cv.px(t.x, t.z)
    cy = cv.py(t.trunk + t.crown * 0.8, t.z)
    half = max(0.12 * s, 0.4)
    c0, c1 = cv.cols(cx - half, cx + half)
    r0, r1 = cv.rows(cv.py(t.trunk + t.crown * 0.5, t.z), cv.py(0.0, t.z))
    if c0 < c1 and r0 < r1:
        cv.albedo[:, r0:r1, c0:c1] = _rgb((0.22, 0.16, 0.11))
        cv.depth[r0:r1, c0:c1] = t.z
        cv.sun[r0:r1, c0:c1] = 0.6
    rx, ry = t.crown * s, t.crown * s * 1.1
    c0, c1 = cv.cols(cx - rx * 1.2, cx + rx * 1.2)
    r0, r1 = cv.rows(cy - ry * 1.2, cy + ry * 1.2)
    if c0 >= c1 or r0 >= r1:
        return
    if rx < 3:  # a few pixels: a plain disc
        dx = (np.arange(c0, c1, dtype=F32) + F32(0.5 - cx))[None, :] / F32(rx)
        dy = (cv.ys[r0:r1, None] - F32(cy)) / F32(ry)
        a = np.clip((1 - np.sqrt(dx * dx + dy * dy)) * F32(rx) + 0.5, 0, 1)
        sub = cv.albedo[:, r0:r1, c0:c1]
        sub += a * (_rgb(t.color) * F32(0.85) - sub)
        np.copyto(cv.depth[r0:r1, c0:c1], F32(t.z), where=a > 0.5)
        return
    dx = (np.arange(c0, c1, dtype=F32) + F32(0.5 - cx))[None, :] / F32(rx)
    dy = (cv.ys[r0:r1, None] - F32(cy)) / F32(ry)
    g = cv.grain[r0:r1, c0:c1]
    lumps = np.sin(dx * 5.0 + t.z) * np.sin(dy * 4.0 + t.x)  # big leaf clumps
    rim = 1 + 0.1 * lumps + 0.08 * g
    a = np.clip((rim - np.sqrt(dx * dx + dy * dy)) * F32(max(rx, 1.0)) + 0.5, 0, 1)
    tone = 1.0 - 0.4 * np.clip(dy + 0.3, 0, 1) + (0.12 * g + 0.15 * lumps) * min(1.0, rx / 6)
    sub = cv.albedo[:, r0:r1, c0:c1]
    sub += a * (tone * _rgb(t.color) - sub)
    solid = a > 0.5
    np.copyto(cv.depth[r0:r1, c0:c1], F32(t.z), where=solid)
    if not cv.night:
        lit = np.clip(0.75 - 0.45 * dx * cv.spec.sun_side - 0.3 * dy, 0.25, 1.0)
        np.copyto(cv.sun[r0:r1, c0:c1], lit, where=solid)


def _draw_lamp(cv: _Canvas, lamp: Lamp, lamps_on: bool) -> None:
    s = cv.f / lamp.z
    x = cv.px(lamp.x, lamp.z)
    width = 0.16 * s
    alpha = F32(min(1.0, width))
    pole = _rgb((0.35, 0.36, 0.37))
    c0, c1 = cv.cols(x - max(width, 1) / 2, x + max(width, 1) / 2)
    r0, r1 = cv.rows(cv.py(lamp.height, lamp.z), cv.py(0.0, lamp.z))
    if c0 < c1 and r0 < r1:
        sub = cv.albedo[:, r0:r1, c0:c1]
        sub += alpha * (pole - sub)
        cv.depth[r0:r1, c0:c1] = lamp.z
    hx, hy = cv.px(lamp.x + lamp.arm, lamp.z), cv.py(lamp.height, lamp.z)
    c0, c1 = cv.cols(min(x, hx), max(x, hx))
    r0, r1 = cv.rows(hy - max(0.06 * s, 0.5), hy + max(0.08 * s, 0.5))
    if c0 < c1 and r0 < r1:
        sub = cv.albedo[:, r0:r1, c0:c1]
        sub += alpha * (pole - sub)
    hc0, hc1 = cv.cols(hx - 0.35 * s, hx + 0.35 * s)
    hr0, hr1 = cv.rows(hy, hy + max(0.15 * s, 0.6))
    if hc0 < hc1 and hr0 < hr1:
        cv.albedo[:, hr0:hr1, hc0:hc1] = _rgb((0.75, 0.75, 0.72))
    if cv.night and lamps_on:
        color = cv.spec.lamp_color
        halo = (0.7 * s + 1.5 * cv.u, 0.6 * s + 1.5 * cv.u, 0.12)
        cv.glow((hx,), hy + 0.15 * s, 0.3 * s + 0.5 * cv.u, 0.12 * s + 0.5 * cv.u, color, 2.5, halo)
        if cv.spec.wet:
            cv.glow(
                (hx,),
                cv.py(0.0, lamp.z + 1.5) + 0.6 * s,
                0.3 * s + 0.5 * cv.u,
                2.5 * s + 2 * cv.u,
                color,
                0.1,
            )
        cv.light_pool(lamp.x + lamp.arm, lamp.z, 5.5, color, 0.3)


def _draw_car(cv: _Canvas, car: Car) -> None:
    spec = cv.spec
    s = cv.f / car.z
    hw = car.width / 2
    body = np.asarray(car.color, F32)
    boxy = car.kind in ("van", "truck", "bus")
    if s * car.width < 5:  # a few pixels: a plain box, and its lights at night
        _draw_small_car(cv, car)
        return
    if not cv.night and spec.overcast < 0.8:  # contact shadow on the ground
        r0g, x, z = cv.ground
        rows = np.nonzero((z > car.z - 0.4) & (z < car.z + car.length))[0]
        zn = max(car.z - 0.4, 0.5)
        off = car.x - 0.3 * spec.sun_side
        c0, c1 = cv.cols(cv.px(off - hw - 0.3, zn), cv.px(off + hw + 0.3, zn))
        if rows.size and c0 < c1:
            a, b = int(rows[0]), int(rows[-1]) + 1
            px_per_m = (F32(cv.f) / z[a:b])[:, None]
            inside = np.clip((F32(hw + 0.15) - np.abs(x[a:b, c0:c1] - F32(off))) * px_per_m, 0, 1)
            cv.sun[r0g + a : r0g + b, c0:c1] *= 1 - inside
            cv.albedo[:, r0g + a : r0g + b, c0:c1] *= 1 - 0.3 * inside
    # the side facing the camera's line, behind the face: drawn first
    side_x = car.x + (hw if car.x < 0 else -hw)
    if abs(car.x) > hw + 0.2:
        xa, xb = cv.px(side_x, car.z), cv.px(side_x, car.z + car.length)
        c0, c1 = cv.cols(min(xa, xb), max(xa, xb))
        r0, r1 = cv.rows(cv.py(car.height, car.z), cv.py(0.0, car.z))
        if c0 < c1 and r0 < r1:
            zc = F32(cv.f * side_x) / (np.arange(c0, c1, dtype=F32) + F32(0.5 - cv.xv))
            valid = (zc >= car.z) & (zc <= car.z + car.length)
            w_along = (zc - F32(car.z)) / F32(car.length)
            ys = cv.ys[r0:r1, None] - F32(cv.yh)
            v = (F32(spec.cam_h) - ys * zc / F32(cv.f)) / F32(car.height)
            if boxy:
                shape = (v > 0.08) & (v < 1.0)
                window = (v > 0.55) & (v < 0.85) & (car.kind == "bus")
            else:
                taper = np.abs(w_along - 0.5)
                roof = np.where(taper < 0.22, 1.0, 1.0 - (taper - 0.22) * 1.9)
                shape = (v > 0.1) & (v < np.maximum(roof, 0.6))
                window = (v > 0.64) & (v < roof - 0.07)
            near_wheel = (np.abs(w_along - 0.17) < 0.08) | (np.abs(w_along - 0.83) < 0.08)
            wheel = (v < 0.35) & near_wheel
            m = (shape | wheel) & valid
            col = np.empty((3, *m.shape), F32)
            col[:] = (body * 0.8)[:, None, None]
            col[:, window & m] = np.array((0.12, 0.14, 0.17), F32)[:, None]
            col[:, wheel & m] = F32(0.05)
            np.copyto(cv.albedo[:, r0:r1, c0:c1], col, where=m)
            np.copyto(cv.depth[r0:r1, c0:c1], zc, where=m)
            if not cv.night:
                lit = 1.0 if (side_x > car.x) == (spec.sun_side < 0) else 0.45
                np.copyto(cv.sun[r0:r1, c0:c1], F32(lit), where=m)
    # the face: the rear, or the front of an oncoming vehicle
    xl, xr = cv.px(car.x - hw, car.z), cv.px(car.x + hw, car.z)
    yt, yb = cv.py(car.height, car.z), cv.py(0.0, car.z)
    c0, c1 = cv.cols(xl, xr)
    r0, r1 = cv.rows(yt, yb)
    if c0 >= c1 or r0 >= r1:
        return
    half_px = F32(max((xr - xl) / 2, 0.5))
    au = np.abs((np.arange(c0, c1, dtype=F32) + F32(0.5 - (xl + xr) / 2)) / half_px)[None, :]
    v = ((F32(yb) - cv.ys[r0:r1]) / F32(max(yb - yt, 1.0)))[:, None]
    if boxy:
        shape = (au < 1) & (v > 0.06)
        g0 = 0.62 if car.oncoming or car.kind == "bus" else 2.0
        glass = (v > g0) & (v < 0.9) & (au < 0.9)
    else:
        cabin = 0.86 - 0.25 * (v - 0.6) / 0.4
        shape = ((v > 0.08) & (v < 0.62) & (au < 1)) | ((v >= 0.62) & (v < 1.0) & (au < cabin))
        glass = (v > 0.66) & (v < 0.94) & (au < cabin - 0.08)
    tyres = (v < 0.2) & (au > 0.62) & (au < 0.95)
    if car.oncoming:
        lights = (v > 0.36) & (v < 0.48) & (au > 0.6) & (au < 0.92)
    else:
        lights = (v > 0.44) & (v < 0.58) & (au > 0.64) & (au < 0.95)
    m = shape | tyres
    col = np.empty((3, *m.shape), F32)
    col[:] = body[:, None, None]
    col[:, (v > 0.12) & (v < 0.24) & (au < 1)] *= F32(0.6)  # bumper
    col[:, glass & m] = np.array((0.10, 0.12, 0.15), F32)[:, None]
    if car.oncoming:
        col[:, (v > 0.3) & (v < 0.46) & (au < 0.45)] = F32(0.08)  # grille
    col[:, (v > 0.26) & (v < 0.36) & (au < 0.2)] = np.array((0.9, 0.9, 0.85), F32)[:, None]
    lamp = (0.85, 0.85, 0.8) if car.oncoming else (0.55, 0.05, 0.04)
    col[:, lights & m] = np.array(lamp, F32)[:, None]
    col[:, tyres] = F32(0.04)
    np.copyto(cv.albedo[:, r0:r1, c0:c1], col, where=m)
    np.copyto(cv.depth[r0:r1, c0:c1], F32(car.z), where=m)
    if not cv.night:
        np.copyto(cv.sun[r0:r1, c0:c1], F32(0.75), where=m)
        return
    ly = cv.py(car.height * (0.42 if car.oncoming else 0.51), car.z)
    lxs = (cv.px(car.x - hw * 0.78, car.z), cv.px(car.x + hw * 0.78, car.z))
    u = cv.u
    if car.oncoming:  # headlights, glare, and their reflection on a wet road
        white = (1.0, 0.97, 0.9)
        halo = (0.5 * s + 1.5 * u, 0.35 * s + 1.5 * u, 0.3)
        cv.glow(lxs, ly, 0.16 * s + 0.4 * u, 0.1 * s + 0.4 * u, white, 6.0, halo)
        if spec.wet:
            cv.glow(lxs, yb + 0.8 * s, 0.2 * s + 0.5 * u, 2.0 * s + 3.0 * u, white, 0.25)
    else:  # tail-lights (brighter when braking)
        gain = 2.0 if car.braking else 1.0
        red = (1.0, 0.12, 0.06)
        halo = (0.45 * s + 1.0 * u, 0.35 * s + 1.0 * u, 0.15 * gain)
        cv.glow(lxs, ly, 0.16 * s + 0.3 * u, 0.09 * s + 0.3 * u, red, 2.0 * gain, halo)
        if spec.wet:
            cv.glow(lxs, yb + 0.5 * s, 0.15 * s + 0.4 * u, 1.2 * s + 2.0 * u, red, 0.12 * gain)
    if car.oncoming:
        cv.light_pool(car.x, car.z - 7.0, 4.5, (1.0, 0.95, 0.85), 0.35)
    if abs(car.x) < 4 and car.z < 45:  # lit by the ego car's beams
        beam = 0.4 / (1 + (car.z / 18.0) ** 2)
        cv.light[:, r0:r1, c0:c1] += m * (_rgb((1.0, 0.95, 0.85)) * F32(beam))


def _draw_small_car(cv: _Canvas, car: Car) -> None:
    """A distant vehicle: body box with a darker cabin; lights (no halo) at night."""
    hw = car.width / 2
    xl, xr = cv.px(car.x - hw, car.z), cv.px(car.x + hw, car.z)
    yt, yb = cv.py(car.height, car.z), cv.py(0.0, car.z)
    c0, c1 = cv.cols(xl + 0.25, xr - 0.25)
    r0, r1 = cv.rows(yt + 0.25, yb - 0.25)
    if c0 >= c1 or r0 >= r1:
        return
    cv.albedo[:, r0:r1, c0:c1] = _rgb(car.color)
    cab = min(r1, r0 + max(1, round((yb - yt) * 0.35)))
    if cab < r1:
        cv.albedo[:, r0:cab, c0:c1] *= F32(0.45)
    cv.depth[r0:r1, c0:c1] = car.z
    if not cv.night:
        cv.sun[r0:r1, c0:c1] = 0.75
        return
    s = cv.f / car.z
    ly = cv.py(car.height * (0.42 if car.oncoming else 0.51), car.z)
    lxs = (cv.px(car.x - hw * 0.78, car.z), cv.px(car.x + hw * 0.78, car.z))
    if car.oncoming:
        cv.glow(lxs, ly, 0.16 * s + 0.4 * cv.u, 0.1 * s + 0.4 * cv.u, (1.0, 0.97, 0.9), 5.0)
    else:
        gain = 2.5 if car.braking else 1.5
        cv.glow(lxs, ly, 0.16 * s + 0.3 * cv.u, 0.09 * s + 0.3 * cv.u, (1.0, 0.12, 0.06), gain)


def _layout(
    spec: SceneSpec, height: int, width: int, night: bool, lamps_on: bool = True
) -> _Canvas:
    tune_allocator()  # once per process: ~1.5x faster rendering (see cyclegan_ms.data._alloc)
    cv = _Canvas(spec, height, width, night)
    _draw_sky_and_skyline(cv)
    _draw_ground(cv)
    _draw_facades(cv)
    sprites: list[tuple[float, int, Any]] = []
    sprites += [(t.z, 0, t) for t in spec.trees]
    sprites += [(lamp.z, 1, lamp) for lamp in spec.lamps]
    sprites += [(c.z, 2, c) for c in spec.cars]
    for z, kind, obj in sorted(sprites, key=lambda t: -t[0]):
        if z < 1.0:
            continue
        if kind == 0:
            _draw_tree(cv, obj)
        elif kind == 1:
            _draw_lamp(cv, obj, lamps_on)
        else:
            _draw_car(cv, obj)
    return cv


def _sky_rows(cv: _Canvas) -> int:
    return min(cv.h, math.ceil(cv.yh) + 1)


def _sky_day(cv: _Canvas, rows: int) -> np.ndarray:
    spec = cv.spec
    t = np.clip((F32(cv.yh) - cv.ys[:rows]) / F32(max(cv.yh, 1.0)), 0, 1)[:, None]
    oc = spec.overcast
    zenith = _rgb((0.25, 0.45, 0.78)) * (1 - oc) + _rgb((0.60, 0.62, 0.66)) * oc
    horizon = _rgb((0.74, 0.82, 0.90)) * (1 - oc) + _rgb((0.78, 0.79, 0.80)) * oc
    sky = horizon + (zenith - horizon) * t**0.6
    c = np.asarray(spec.clouds, F32)
    coarse = _interp_matrix(rows, 2) @ c[4:6, :4] @ _interp_matrix(cv.w, 4).T
    fine = _interp_matrix(rows, 4) @ c[:4, :14] @ _interp_matrix(cv.w, 14).T
    field = 0.65 * coarse + 0.35 * fine
    edge = 0.72 - 0.4 * spec.cloudiness
    cover = _smoothstep(edge, edge + 0.22, field) * (0.15 + 0.85 * t)
    shade = 1.0 - 0.22 * _smoothstep(edge + 0.12, edge + 0.4, field)
    cloud = _rgb((0.95, 0.95, 0.96)) * (1 - 0.3 * oc) * shade
    return sky + cover * (cloud - sky)


def _finish_day(cv: _Canvas) -> np.ndarray:
    spec = cv.spec
    oc = spec.overcast
    sun_gain, ambient = 0.55 * (1 - oc), 0.62 + 0.25 * oc
    light = F32(ambient) + F32(sun_gain) * cv.sun
    img = cv.albedo * light * _rgb((1.0, 0.98, 0.94))
    haze_col = _rgb((0.74, 0.80, 0.86)) * (1 - oc) + _rgb((0.77, 0.78, 0.79)) * oc
    haze = 1 - np.exp(cv.depth * F32(-1 / spec.visibility))  # 1 in the sky
    img += haze * (haze_col - img)
    rows = _sky_rows(cv)
    if rows > 0:
        is_sky = np.isinf(cv.depth[:rows])
        img[:, :rows] += is_sky * (_sky_day(cv, rows) - haze_col)
    return img


def _finish_night(cv: _Canvas, darkness: float, rng: np.random.Generator) -> np.ndarray:
    """Expose, add sensor noise and tone-map the night buffers: ``uint8 (3, H, W)``."""
    spec = cv.spec
    d = float(np.clip(darkness, 0.0, 1.0))
    ambient = 0.03 * (1 - d) ** 2 + 0.001
    exposure = F32(3.0 * (1 - 0.65 * d))
    cv.light += F32(ambient) * _rgb((0.8, 0.9, 1.1))
    lin = cv.albedo * cv.albedo  # display -> linear (gamma 2)
    lin *= cv.light
    fog = _rgb((0.02, 0.018, 0.016)) * spec.light_pollution
    haze = 1 - np.exp(cv.depth * F32(-1 / spec.visibility))
    lin += haze * (fog - lin)
    rows = _sky_rows(cv)
    if rows > 0:
        t = np.clip((F32(cv.yh) - cv.ys[:rows]) / F32(max(cv.yh, 1.0)), 0, 1)[:, None]
        glow = _rgb((0.05, 0.035, 0.022)) * spec.light_pollution
        sky = (_rgb((0.004, 0.006, 0.014)) + glow * np.exp(-4 * t)) * F32(1.2 - d)
        lin[:, :rows] += np.isinf(cv.depth[:rows]) * (sky - fog)
    lin += cv.emit
    lin *= exposure
    # sensor noise: shot noise (signal dependent) plus read noise, both worse when darker
    shot, read = 0.004 + 0.01 * d, 0.0006 + 0.0025 * d
    n = lin.size
    bank = _noise_bank()
    if n <= bank.size:
        start = int(rng.integers(0, bank.size - n + 1))
        noise = bank[start : start + n].reshape(lin.shape)
    else:
        noise = rng.standard_normal(lin.shape, dtype=F32)
    np.maximum(lin, 0, out=lin)
    lin += noise * np.sqrt(lin * F32(shot) + F32(read * read))
    np.maximum(lin, 0, out=lin)
    # display: gamma (sqrt), then a highlight roll-off and 8 bits, through a lookup table
    np.sqrt(lin, out=lin)
    lin *= F32(_LUT_STEPS)
    lin += F32(0.5)
    idx = lin.astype(np.int32)
    np.minimum(idx, _LUT_STEPS * 2, out=idx)
    return _night_lut().take(idx)


_LUT_STEPS = 1024  # lookup entries per unit of sqrt(linear light)


@lru_cache(maxsize=1)
def _night_lut() -> np.ndarray:
    """uint8 display value of ``v = sqrt(linear)``: ``v / sqrt(1 + 0.15 v^2)`` (roll-off)."""
    v = np.arange(2 * _LUT_STEPS + 1, dtype=np.float64) / _LUT_STEPS
    out = v / np.sqrt(1 + 0.15 * v * v)
    return np.clip(np.rint(out * 255), 0, 255).astype(np.uint8)


def _to_uint8(img: np.ndarray) -> np.ndarray:
    np.clip(img, 0, 1, out=img)
    img *= 255
    img += 0.5
    return img.astype(np.uint8)


def _hwc(img: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(img.transpose(1, 2, 0))


def _render_day_chw(spec: SceneSpec, height: int, width: int) -> np.ndarray:
    """Day render, ``uint8`` of shape ``(3, height, width)``."""
    return _to_uint8(_finish_day(_layout(spec, height, width, night=False)))


def _render_night_chw(spec: SceneSpec, height: int, width: int, darkness: float) -> np.ndarray:
    """Night render at ``darkness``, ``uint8`` of shape ``(3, height, width)``."""
    cv = _layout(spec, height, width, night=True, lamps_on=darkness <= spec.lamps_off_above)
    rng = np.random.default_rng([spec.noise_seed, height, width])
    return _finish_night(cv, darkness, rng)


def _check_size(height: int, width: int | None) -> tuple[int, int]:
    h = _check_int(height, "height", 1)
    w = h if width is None else _check_int(width, "width", 1)
    return h, w


def _darkness(spec: SceneSpec, darkness: float | None, lo_hi: tuple[float, float]) -> float:
    if darkness is not None:
        if not 0.0 <= darkness <= 1.0:
            raise ValueError(f"darkness must be in [0, 1] (0 dusk, 1 extreme); got {darkness!r}")
        return float(darkness)
    lo, hi = lo_hi
    return lo + (hi - lo) * spec.darkness_u


def _spec(index: int | SceneSpec, seed: int) -> SceneSpec:
    return index if isinstance(index, SceneSpec) else sample_scene(index, seed=seed)


def render_day(
    index: int | SceneSpec, *, height: int = 256, width: int | None = None, seed: int = 0
) -> np.ndarray:
    """Render scene ``index`` by day.

    Parameters
    ----------
    index
        Scene id (``>= 0``) or a :class:`SceneSpec` from :func:`sample_scene`.
    height, width
        Image size in pixels (``width`` defaults to ``height``); any size >= 1.
    seed
        World seed (ignored when a spec is given).

    Returns
    -------
    numpy.ndarray
        ``uint8`` array of shape ``(height, width, 3)``.
    """
    h, w = _check_size(height, width)
    return _hwc(_render_day_chw(_spec(index, seed), h, w))


def render_night(
    index: int | SceneSpec,
    *,
    height: int = 256,
    width: int | None = None,
    seed: int = 0,
    darkness: float | None = None,
    darkness_range: tuple[float, float] = (0.0, 1.0),
) -> np.ndarray:
    """Render scene ``index`` by night.

    Parameters
    ----------
    index
        Scene id (``>= 0``) or a :class:`SceneSpec`.
    height, width
        Image size in pixels (``width`` defaults to ``height``).
    seed
        World seed (ignored when a spec is given).
    darkness
        0 (dusk-like) to 1 (extreme: little more than the lights). Default: the scene's own draw,
        mapped into ``darkness_range``.
    darkness_range
        ``(low, high)`` within [0, 1] for the scene's own draw.

    Returns
    -------
    numpy.ndarray
        ``uint8`` array of shape ``(height, width, 3)``; the sensor noise is seeded by the scene,
        so the result is deterministic.

    Raises
    ------
    ValueError
        For a darkness outside [0, 1].
    """
    h, w = _check_size(height, width)
    spec = _spec(index, seed)
    d = _darkness(spec, darkness, _check_range(darkness_range))
    return _hwc(_render_night_chw(spec, h, w, d))


def render_depth(
    index: int | SceneSpec, *, height: int = 256, width: int | None = None, seed: int = 0
) -> np.ndarray:
    """Distance from the camera of what every pixel of scene ``index`` shows.

    The renderer's own depth buffer: metres along the view axis, ``inf`` for the sky. It is the
    same by day and by night, so it masks near and far objects of both (``benchmarks/quality.py``
    scores near and far parts of the scene separately with it).

    Returns
    -------
    numpy.ndarray
        ``float32`` array of shape ``(height, width)``.
    """
    h, w = _check_size(height, width)
    return _layout(_spec(index, seed), h, w, night=False).depth.copy()


def render_scene(
    index: int | SceneSpec,
    *,
    height: int = 256,
    width: int | None = None,
    seed: int = 0,
    darkness: float | None = None,
    darkness_range: tuple[float, float] = (0.0, 1.0),
) -> tuple[np.ndarray, np.ndarray]:
    """Render the same scene by night and by day (an aligned ground-truth pair).

    Parameters are those of :func:`render_night`.

    Returns
    -------
    tuple of numpy.ndarray
        ``(night, day)``, each ``uint8`` of shape ``(height, width, 3)``.
    """
    spec = _spec(index, seed)
    night = render_night(
        spec, height=height, width=width, darkness=darkness, darkness_range=darkness_range
    )
    return night, render_day(spec, height=height, width=width)


def _check_range(r: tuple[float, float]) -> tuple[float, float]:
    if (
        not isinstance(r, (tuple, list))
        or len(r) != 2
        or not all(isinstance(v, (int, float)) for v in r)
        or not 0.0 <= r[0] <= r[1] <= 1.0
    ):
        raise ValueError(
            f"darkness range must be (low, high) with 0 <= low <= high <= 1; got {r!r}"
        )
    return float(r[0]), float(r[1])


# ----------------------------------------------------------------------------------------------
# dataset
# ----------------------------------------------------------------------------------------------


class NightDayScenes(UnpairedDataset):
    """Procedural night (A) / day (B) road scenes as an unpaired dataset, or aligned pairs.

    - ``split="train"``: A is the NIGHT render of scene ``2 * index_a`` and B the DAY render of
      scene ``2 * index_b + 1``, so A and B never show the same scene (truly unpaired), while every
      scene still has a ground truth.
    - ``split="eval"``: item ``k`` is the aligned pair (night, day) of held-out scene
      ``EVAL_OFFSET + k`` (``index_b`` of a key is ignored), disjoint from any training scene.

    Parameters
    ----------
    split
        ``"train"`` or ``"eval"``.
    num_scenes
        Items per domain (train: ``num_scenes`` night and ``num_scenes`` other day scenes;
        eval: ``num_scenes`` pairs). At most ``EVAL_OFFSET // 2`` for train.
    size
        Output side, or ``(height, width)``.
    channels
        3 (RGB) or 1 (luma, ITU-R 601).
    value_range
        Pixel range of the tensors: ``(0, 1)`` (seed, sigmoid) or ``(-1, 1)`` (paper, tanh).
    darkness
        ``(low, high)`` within [0, 1]: each night scene's darkness is drawn in this range (0 is
        dusk-like, 1 extreme darkness).
    flip
        Random horizontal flips of A and B (train only; seeded by the sample key).
    seed
        World seed (which scenes exist) and seed of plain-int indexing.

    Item format
    -----------
    ``dataset[key]`` returns a dict:

    - ``"A"``: night image, ``"B"``: day image, float32 tensors ``(C, H, W)`` in ``value_range``;
    - ``"index_A"``, ``"index_B"``: ``int`` scene ids actually rendered (equal in eval);
    - ``"darkness"``: ``float``, the darkness of the night image.

    Shape
    -----
    - ``item["A"]``, ``item["B"]``: ``(C, H, W)``; after default collation ``(N, C, H, W)``.

    Raises
    ------
    ValueError
        For an unknown split, a bad size, range or ``num_scenes``.

    Examples
    --------
    >>> ds = NightDayScenes(num_scenes=10, size=32)
    >>> item = ds[0]
    >>> tuple(item["A"].shape), item["index_A"] != item["index_B"]
    ((3, 32, 32), True)
    >>> ev = NightDayScenes(split="eval", num_scenes=4, size=32)
    >>> ev[1]["index_A"] == ev[1]["index_B"] == EVAL_OFFSET + 1
    True
    """

    def __init__(
        self,
        *,
        split: Literal["train", "eval"] = "train",
        num_scenes: int = 10_000,
        size: int | tuple[int, int] = 256,
        channels: int = 3,
        value_range: ValueRange = (0.0, 1.0),
        darkness: tuple[float, float] = (0.0, 1.0),
        flip: bool = False,
        seed: int = 0,
    ) -> None:
        if split not in ("train", "eval"):
            raise ValueError(f"split must be 'train' or 'eval'; got {split!r}")
        self.split = split
        self.num_scenes = _check_int(num_scenes, "num_scenes", 1)
        if split == "train" and self.num_scenes > EVAL_OFFSET // 2:
            raise ValueError(
                f"num_scenes must be <= {EVAL_OFFSET // 2} for train; got {num_scenes}"
            )
        if isinstance(size, int) and not isinstance(size, bool):
            self.height = self.width = _check_int(size, "size", 1)
        elif isinstance(size, (tuple, list)) and len(size) == 2:
            self.height = _check_int(size[0], "height", 1)
            self.width = _check_int(size[1], "width", 1)
        else:
            raise ValueError(f"size must be an int or (height, width); got {size!r}")
        if channels not in (1, 3):
            raise ValueError(f"channels must be 1 (grayscale) or 3 (RGB); got {channels!r}")
        self.channels = channels
        self.value_range = check_value_range(value_range)
        self.darkness = _check_range(darkness)
        self.flip = bool(flip)
        self.seed = _check_int(seed, "seed")
        self.epoch = 0

    @property
    def len_a(self) -> int:
        """Number of night scenes."""
        return self.num_scenes

    @property
    def len_b(self) -> int:
        """Number of day scenes."""
        return self.num_scenes

    def scene_ids(self, key: SampleKey) -> tuple[int, int]:
        """The scene ids rendered for A (night) and B (day) for ``key``."""
        if self.split == "eval":
            return EVAL_OFFSET + key.index_a, EVAL_OFFSET + key.index_a
        return 2 * key.index_a, 2 * key.index_b + 1

    def _tensor(self, img: np.ndarray, rng: np.random.Generator) -> torch.Tensor:
        """``uint8 (3, H, W)`` -> float tensor ``(C, H, W)`` in ``value_range``."""
        if self.flip and self.split == "train" and rng.random() < 0.5:
            img = img[:, :, ::-1]
        x = torch.from_numpy(np.ascontiguousarray(img)).float()
        if self.channels == 1:
            x = (x[0:1] * 0.299 + x[1:2] * 0.587 + x[2:3] * 0.114).round_()
        lo, hi = self.value_range
        return x.mul_((hi - lo) / 255.0).add_(lo)

    def get(self, key: SampleKey) -> dict[str, Any]:
        """The item for ``key``; see the class docstring for its format."""
        ia, ib = self.scene_ids(key)
        rng_a, rng_b = item_rngs(key.seed)
        spec_a = sample_scene(ia, seed=self.seed)
        d = _darkness(spec_a, None, self.darkness)
        night = _render_night_chw(spec_a, self.height, self.width, d)
        spec_b = spec_a if ib == ia else sample_scene(ib, seed=self.seed)
        day = _render_day_chw(spec_b, self.height, self.width)
        return {
            "A": self._tensor(night, rng_a),
            "B": self._tensor(day, rng_b),
            "index_A": ia,
            "index_B": ib,
            "darkness": d,
        }

    def __repr__(self) -> str:
        return (
            f"NightDayScenes(split={self.split!r}, num_scenes={self.num_scenes}, "
            f"size=({self.height}, {self.width}), channels={self.channels}, "
            f"value_range={self.value_range}, darkness={self.darkness}, seed={self.seed})"
        )
