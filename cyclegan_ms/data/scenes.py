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
ground truth. Rendering is vectorised numpy (a few milliseconds per 256 x 256 image on one core;
see ``benchmarks/data_loader.py``).

    >>> night, day = render_scene(3, height=64, width=96)
    >>> night.shape, day.shape, night.dtype
    ((64, 96, 3), (64, 96, 3), dtype('uint8'))
    >>> bool(night.mean() < day.mean())
    True
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import numpy as np
import torch

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
    "render_night",
    "render_scene",
    "sample_scene",
]

#: Scene ids of the evaluation split start here, disjoint from any training range below it.
EVAL_OFFSET = 1_000_000_000

Color = tuple[float, float, float]
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

    Produced by :func:`sample_scene`; fields are in metres, degrees, or colours in [0, 1].
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
    lamp_color: Color
    light_pollution: float
    wet: bool
    darkness_u: float
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


def _jitter(rng: np.random.Generator, c: Color, amount: float) -> Color:
    v = np.clip(np.asarray(c) * (1 + rng.uniform(-amount, amount)) + rng.uniform(-0.03, 0.03, 3), 0, 1)
    return (float(v[0]), float(v[1]), float(v[2]))


def _pick(rng: np.random.Generator, options: tuple[Color, ...]) -> Color:
    return options[int(rng.integers(len(options)))]


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
    u = rng.uniform
    lane_w = u(3.0, 3.7)
    n_own = int(rng.choice([1, 2, 2, 3]))
    n_on = int(rng.choice([0, 1, 1, 2]))
    cam_lane = int(rng.integers(n_own))
    sidewalk = (u(1.5, 4.0), u(1.5, 4.0))
    road_l = -(cam_lane + 0.5 + n_on) * lane_w
    road_r = road_l + (n_own + n_on) * lane_w
    urban = u() < 0.75
    setback = (u(0, 4) if u() < 0.5 else 0.0, u(0, 4) if u() < 0.5 else 0.0)
    facade_x = (road_l - sidewalk[0] - setback[0], road_r + sidewalk[1] + setback[1])

    buildings: list[Building] = []
    uid = 0
    for side_i, side in enumerate((-1, 1)):
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
                        color=_jitter(rng, _pick(rng, _BUILDING_COLORS), 0.15),
                        floor_h=u(2.9, 3.6),
                        win_spacing=u(1.8, 3.6),
                        win_w=u(0.35, 0.65),
                        win_h=u(0.35, 0.6),
                        lit=u(0.1, 0.6),
                        uid=int(rng.integers(1 << 30)) + side_i,
                    )
                )
                uid += 1
                z += length + (u(0.0, 6.0) if u() < 0.4 else 0.0)
            else:
                z += length * 0.7

    trees: list[Tree] = []
    for side_i, side in enumerate((-1, 1)):
        if u() < (0.4 if urban else 0.9):
            spacing = u(7.0, 18.0)
            z = u(2.0, spacing)
            edge = road_l - sidewalk[0] * u(0.3, 0.7) if side < 0 else road_r + sidewalk[1] * u(0.3, 0.7)
            if not urban:
                edge += side * u(1.0, 4.0)
            while z < _Z_FAR * 0.7:
                if u() < 0.85:
                    green = (u(0.12, 0.30), u(0.28, 0.45), u(0.08, 0.18))
                    trees.append(Tree(edge + u(-0.3, 0.3), z, u(1.8, 3.2), u(1.4, 3.2), green))
                z += spacing * u(0.8, 1.2)
        del side_i

    lamps: list[Lamp] = []
    lamp_sides = [s for s in (-1, 1) if u() < 0.7] or [int(rng.choice([-1, 1]))]
    spacing = u(22.0, 40.0)
    for side in lamp_sides:
        x = road_l - 0.4 if side < 0 else road_r + 0.4
        z = u(3.0, spacing)
        while z < _Z_FAR * 0.8:
            lamps.append(Lamp(x, z, u(7.0, 9.5), -side * u(1.0, 2.2)))
            z += spacing

    cars: list[Car] = []
    kinds = list(_VEHICLES)
    probs = np.array([_VEHICLES[k][3] for k in kinds])
    lanes = [(road_l + (k + 0.5) * lane_w, k < n_on) for k in range(n_own + n_on)]
    near_done = False
    for lane_x, oncoming in lanes:
        z = u(6.0, 18.0) if not near_done else u(6.0, 40.0)
        while z < 120.0:
            if u() < 0.75:
                kind = kinds[int(rng.choice(len(kinds), p=probs))]
                w, h, length, _ = _VEHICLES[kind]
                scale = u(0.95, 1.05)
                color = _pick(rng, _CAR_COLORS)
                if kind in ("truck", "bus"):
                    color = _pick(rng, ((0.85, 0.85, 0.82), (0.75, 0.15, 0.1), (0.2, 0.35, 0.6)))
                cars.append(
                    Car(
                        x=lane_x + u(-0.35, 0.35),
                        z=z,
                        width=w * scale,
                        height=h * scale,
                        length=length * scale,
                        color=_jitter(rng, color, 0.08),
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
        side = int(rng.choice([-1, 1]))
        x = road_l + 1.1 if side < 0 else road_r - 1.1
        z = u(8.0, 30.0)
        while z < 90.0:
            if all(abs(c.x - x) > 2.2 or abs(c.z - z) > 7 for c in cars) and u() < 0.6:
                w, h, length, _ = _VEHICLES["car"]
                cars.append(
                    Car(x, z, w, h, length, _jitter(rng, _pick(rng, _CAR_COLORS), 0.08),
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
        road_color=_jitter(rng, (0.30, 0.30, 0.31), 0.25),
        sidewalk_color=_jitter(rng, (0.58, 0.57, 0.54), 0.12),
        verge_color=_jitter(rng, (0.30, 0.40, 0.20) if u() < 0.7 else (0.45, 0.40, 0.30), 0.2),
        buildings=tuple(buildings),
        trees=tuple(trees),
        lamps=tuple(lamps),
        cars=tuple(sorted(cars, key=lambda c: -c.z)),
        skyline=tuple(float(h) for h in heights),
        skyline_kind=skyline_kind,
        overcast=float(u(0.0, 1.0) ** 2),
        sun_side=int(rng.choice([-1, 1])),
        sun_elev=u(20.0, 60.0),
        visibility=u(250.0, 1500.0),
        clouds=tuple(tuple(float(v) for v in row) for row in rng.random((6, 24))),
        lamp_color=(1.0, 0.62, 0.28) if u() < 0.5 else (0.95, 0.95, 1.0),
        light_pollution=u(0.2, 1.0) if urban else u(0.0, 0.3),
        wet=bool(u() < 0.3),
        darkness_u=u(),
        dash_phase=u(0, 12),
        tex_offset=(int(rng.integers(1 << 16)), int(rng.integers(1 << 16))),
        noise_seed=int(rng.integers(1 << 62)),
    )


# ----------------------------------------------------------------------------------------------
# rendering
# ----------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _texture() -> np.ndarray:
    """A fixed 128 x 128 grain texture in [-1, 1] (deterministic)."""
    return np.random.default_rng(1234).uniform(-1, 1, (128, 128)).astype(F32)


def _interp_matrix(n_out: int, n_in: int) -> np.ndarray:
    """(n_out, n_in) matrix of linear interpolation weights (smooth upsampling)."""
    pos = (np.arange(n_out) + 0.5) / n_out * n_in - 0.5
    lo = np.clip(np.floor(pos).astype(int), 0, n_in - 1)
    hi = np.clip(lo + 1, 0, n_in - 1)
    w = np.clip(pos - lo, 0, 1)
    m = np.zeros((n_out, n_in), F32)
    m[np.arange(n_out), lo] += 1 - w
    m[np.arange(n_out), hi] += w
    return m


def _smoothstep(e0: float, e1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - e0) / (e1 - e0), 0, 1)
    return t * t * (3 - 2 * t)


class _Canvas:
    """Per-pixel buffers of one scene at one resolution, filled far to near."""

    def __init__(self, spec: SceneSpec, height: int, width: int, night: bool) -> None:
        self.spec, self.h, self.w, self.night = spec, height, width, night
        self.f = (width / 2) / math.tan(math.radians(spec.hfov) / 2)
        self.yh = spec.horizon * height
        self.xv = spec.vanish * width
        self.albedo = np.zeros((height, width, 3), F32)
        self.depth = np.full((height, width), np.inf, F32)
        self.sun = np.ones((height, width), F32)  # day: direct-sun factor (0 = shadow)
        if night:
            self.light = np.zeros((height, width, 3), F32)  # night illumination
            self.emit = np.zeros((height, width, 3), F32)  # night emission incl. glow
        self.xs = np.arange(width, dtype=F32) + 0.5 - self.xv  # column centres relative to x_v
        self.ys = np.arange(height, dtype=F32) + 0.5  # row centres
        # ground rows: first row, lateral metres (R, W) and distance (R,) of every ground pixel
        self.ground: tuple[int, np.ndarray, np.ndarray] = (height, np.zeros((0, width), F32), np.zeros(0, F32))

    # projections
    def px(self, x: float, z: float) -> float:
        return self.xv + self.f * x / z

    def py(self, y: float, z: float) -> float:
        return self.yh + self.f * (self.spec.cam_h - y) / z

    def rows(self, y0: float, y1: float) -> tuple[int, int]:
        return max(0, math.floor(y0)), min(self.h, math.ceil(y1))

    def cols(self, x0: float, x1: float) -> tuple[int, int]:
        return max(0, math.floor(x0)), min(self.w, math.ceil(x1))

    def glow(
        self, cx: float, cy: float, sx: float, sy: float, color: Color, gain: float
    ) -> None:
        """Add an anisotropic gaussian of light to the emission buffer."""
        sx, sy = max(sx, 0.35), max(sy, 0.35)
        r0, r1 = self.rows(cy - 3 * sy, cy + 3 * sy)
        c0, c1 = self.cols(cx - 3 * sx, cx + 3 * sx)
        if r0 >= r1 or c0 >= c1:
            return
        gy = np.exp(-0.5 * ((self.ys[r0:r1] - cy) / sy) ** 2)
        gx = np.exp(-0.5 * ((np.arange(c0, c1, dtype=F32) + 0.5 - cx) / sx) ** 2)
        g = np.outer(gy, gx).astype(F32) * gain
        self.emit[r0:r1, c0:c1] += g[:, :, None] * np.asarray(color, F32)


def _draw_sky_and_skyline(cv: _Canvas) -> None:
    spec = cv.spec
    hz = min(cv.h, math.ceil(cv.yh) + 1)
    if hz <= 0:
        return
    ang = cv.xs / cv.f  # horizontal angle (tan) of each column
    n = len(spec.skyline)
    idx = np.clip(((ang + 1.6) / 3.2 * n).astype(int), 0, n - 1)
    top = cv.yh - cv.f * (np.asarray(spec.skyline, F32)[idx] - spec.cam_h) / _Z_SKY
    mask = cv.ys[:hz, None] >= top[None, :]
    mask &= cv.ys[:hz, None] < cv.yh + 1
    tone = 0.42 if spec.skyline_kind == "city" else 0.30
    col = np.array((tone, tone * 1.02, tone * 1.08) if spec.skyline_kind == "city" else (0.2, 0.3, 0.18), F32)
    cv.albedo[:hz][mask] = col
    cv.depth[:hz][mask] = _Z_SKY
    if cv.night and spec.skyline_kind == "city":
        # scattered lit windows in the far city
        tex = _texture()
        ox, oy = spec.tex_offset
        tx = ((ang * 400).astype(int) + ox) % 128
        ty = ((cv.ys[:hz] * 300 / cv.f).astype(int) + oy) % 128
        dots = (tex[ty[:, None], tx[None, :]] > 0.93) & mask
        cv.emit[:hz][dots] += np.array((0.5, 0.4, 0.25), F32) * 0.5


def _draw_ground(cv: _Canvas) -> None:
    spec = cv.spec
    r0 = max(0, math.floor(cv.yh) + 1)
    if r0 >= cv.h:
        return
    s = (cv.ys[r0:] - cv.yh) / spec.cam_h  # px per metre of each row
    z = cv.f / s  # (R,)
    x = cv.xs[None, :] / s[:, None]  # (R, W) lateral metres
    zz = z[:, None]
    sp = s[:, None]
    road_l, road_r = spec.road_x

    def inside(lo: float, hi: float) -> np.ndarray:  # antialiased lateral band
        return np.clip(np.minimum(x - lo, hi - x) * sp + 0.5, 0, 1)

    road = inside(road_l, road_r)
    walk = np.clip(inside(road_l - spec.sidewalk[0], road_r + spec.sidewalk[1]) - road, 0, 1)
    verge = 1 - road - walk
    rc, wc, vc = (np.asarray(c, F32) for c in (spec.road_color, spec.sidewalk_color, spec.verge_color))

    tex = _texture()
    ox, oy = spec.tex_offset
    tz = ((zz * 3).astype(np.int32) + oy) & 127
    tx = ((x * 3).astype(np.int32) + ox) & 127
    fade = np.clip(sp / 6, 0, 1)
    grain = tex[tz, tx] * fade  # (R, W)
    # tyre tracks: darker bands in every lane, and patchy repairs along the road
    lane_pos = (x - road_l) / spec.lane_w
    in_lane = np.abs(np.abs(lane_pos - np.floor(lane_pos) - 0.5) - 0.25) < 0.09
    patches = 0.05 * np.sin(zz * 0.21 + ox) * np.sin(zz * 0.037 + oy)
    road_tone = 1 + 0.09 * grain - 0.06 * in_lane * fade + patches
    # sidewalk slabs
    slab = ((np.abs((zz / 1.6 + ox) % 1.0 - 0.5) < 0.03 * (1 + 4 / np.maximum(sp, 0.1))) * np.clip(sp / 12, 0, 1))
    walk_tone = 1 + 0.05 * grain - 0.18 * slab
    alb = (
        (road * road_tone)[..., None] * rc
        + (walk * walk_tone)[..., None] * wc
        + (verge * (1 + 0.2 * grain))[..., None] * vc
    )

    # markings: nearest lane boundary; edges solid white, centre double yellow, others dashed
    k = np.clip(np.rint(lane_pos), 0, spec.n_own + spec.n_on).astype(np.int32)
    dist = np.abs(lane_pos - k) * spec.lane_w
    n_lines = spec.n_own + spec.n_on + 1
    kind = np.full(n_lines, 1, np.int32)  # 1 dashed white
    kind[0] = kind[-1] = 2  # solid white edges
    if spec.n_on:
        kind[spec.n_on] = 3  # double yellow
    kk = kind[k]
    dist = np.where(kk == 3, np.abs(dist - 0.18), dist)
    width_px = 0.15 * sp
    cov = np.clip(width_px / 2 + 0.5 - dist * sp, 0, 1) * np.minimum(width_px, 1)
    period, duty = 12.0, 0.3
    dash_on = ((zz + spec.dash_phase) / period) % 1.0 < duty
    dy = cv.f * spec.cam_h * period / (zz * zz)  # rows per dash period
    dash = np.where(dy < 3, duty, dash_on.astype(F32))
    cov = cov * np.where(kk == 1, dash, 1.0) * road
    paint = np.where(kk[..., None] == 3, np.array((0.85, 0.68, 0.15), F32), np.array((0.88, 0.88, 0.86), F32))
    wear = 0.75 + 0.25 * (grain > -0.6)
    alb = alb * (1 - cov[..., None]) + (cov * wear)[..., None] * paint

    cv.albedo[r0:] = alb
    cv.depth[r0:] = np.broadcast_to(zz, x.shape)
    cv.ground = (r0, x, z)

    if not cv.night:
        # building shadows across the ground on the sun's side
        side = spec.sun_side
        blds = [b for b in spec.buildings if b.side == side]
        if blds and spec.overcast < 0.6:
            z0s = np.array([b.z0 for b in blds], F32)
            z1s = np.array([b.z1 for b in blds], F32)
            hs = np.array([b.height for b in blds], F32)
            j = np.clip(np.searchsorted(z0s, z, side="right") - 1, 0, len(blds) - 1)
            h_row = np.where((z >= z0s[j]) & (z < z1s[j]), hs[j], 0.0)
            reach = h_row / math.tan(math.radians(spec.sun_elev)) * 0.6
            fx = spec.facade_x[0 if side < 0 else 1]
            across = (x - fx) * -side  # metres from the facade toward the road
            shadow = np.clip((reach[:, None] - across) * sp * 0.5 + 0.5, 0, 1)
            cv.sun[r0:] *= 1 - shadow
    else:
        # the ego car's low beams
        beam = np.exp(-((x - 0.0) / (0.9 + 0.13 * zz)) ** 2) * (zz > 2.0)
        beam = beam * 2.2 / (1 + (zz / 14.0) ** 2)
        cv.light[r0:] += beam[..., None] * np.array((1.0, 0.95, 0.85), F32)


def _draw_facades(cv: _Canvas) -> None:
    spec = cv.spec
    for side in (-1, 1):
        blds = sorted((b for b in spec.buildings if b.side == side), key=lambda b: b.z0)
        if not blds:
            continue
        fx = spec.facade_x[0 if side < 0 else 1]
        cols = np.nonzero(cv.xs * side > 0)[0]
        if cols.size == 0:
            continue
        zc = cv.f * fx / cv.xs[cols]  # distance of the facade seen in each column
        z0s = np.array([b.z0 for b in blds], F32)
        j = np.clip(np.searchsorted(z0s, zc, side="right") - 1, 0, len(blds) - 1)
        z1s = np.array([b.z1 for b in blds], F32)
        hit = (zc >= z0s[j]) & (zc < z1s[j]) & (zc > 0.5)
        cols, zc, j = cols[hit], zc[hit], j[hit]
        if cols.size == 0:
            continue
        attr = {
            name: np.array([getattr(b, name) for b in blds], F32)[j]
            for name in ("height", "floor_h", "win_spacing", "win_w", "win_h", "lit", "z0")
        }
        colors = np.array([b.color for b in blds], F32)[j]  # (C, 3)
        uids = np.array([b.uid for b in blds], np.int64)[j]
        s = cv.f / zc  # px per metre
        top = cv.yh - s * (attr["height"] - spec.cam_h)
        bot = cv.yh + s * spec.cam_h
        r0 = max(0, int(np.floor(top.min())))
        r1 = min(cv.h, int(np.ceil(bot.max())))
        if r0 >= r1:
            continue
        ys = cv.ys[r0:r1, None]
        cover = np.clip(np.minimum(ys - top, bot - ys) + 0.5, 0, 1)  # (R, C)
        height_m = spec.cam_h - (ys - cv.yh) / s  # metres above ground
        along = (zc - attr["z0"]) / attr["win_spacing"]
        fu = along - np.floor(along)
        fv_all = height_m / attr["floor_h"]
        floor = np.floor(fv_all)
        fv = fv_all - floor
        win = (
            (np.abs(fu - 0.5) < attr["win_w"] / 2)
            & (np.abs(fv - 0.5) < attr["win_h"] / 2)
            & (floor >= 1)
            & (height_m < attr["height"] - 0.8)
        )
        fine = np.clip(attr["win_spacing"] * cv.f * np.abs(fx) / (zc * zc) / 2.5 - 0.3, 0, 1)  # px/window
        winf = win * fine + (1 - fine) * (attr["win_w"] * attr["win_h"]) * (floor >= 1)
        shade = 1.0 - 0.25 * (floor == 0) - 0.12 * (np.abs(fv - 0.03) < 0.04)  # ground floor, ledges
        glass = np.array((0.20, 0.24, 0.30), F32)
        alb = colors[None] * shade[..., None] * (1 - winf[..., None]) + winf[..., None] * glass
        region = cover > 0
        sub_alb = cv.albedo[r0:r1][:, cols]
        sub_dep = cv.depth[r0:r1][:, cols]
        cov3 = cover[..., None]
        cv.albedo[r0:r1, cols] = np.where(region[..., None], alb * cov3 + sub_alb * (1 - cov3), sub_alb)
        cv.depth[r0:r1, cols] = np.where(region, zc[None, :], sub_dep)
        lit_face = 1.0 if side == -spec.sun_side else 0.35
        cv.sun[r0:r1, cols] = np.where(region, lit_face, cv.sun[r0:r1][:, cols])
        if cv.night:
            cell = np.floor(along).astype(np.int64)
            h = (uids[None, :] * 73856093) ^ (floor.astype(np.int64) * 19349663) ^ (cell * 83492791)
            rnd = ((h * 2654435761) >> 7 & 1023) / 1023.0
            lit = win & (rnd < attr["lit"]) & region
            warm = np.where((rnd < attr["lit"] * 0.3)[..., None], np.array((0.75, 0.85, 1.0), F32), np.array((1.0, 0.78, 0.45), F32))
            level = 0.35 + 0.5 * ((h >> 3 & 255) / 255.0)
            em = lit[..., None] * warm * (level * fine + (1 - fine) * 0.5)[..., None]
            cv.emit[r0:r1, cols] += em.astype(F32)
            # shops on the ground floor
            shop = region & (floor == 0) & (height_m > 0.4) & (height_m < 2.4) & (rnd < 0.35)
            cv.emit[r0:r1, cols] += shop[..., None] * np.array((0.55, 0.5, 0.4), F32)
        # the end face of a building toward the camera (visible across a gap)
    for b in sorted(spec.buildings, key=lambda b: -b.z0):
        if b.z0 < 1.0:
            continue
        fx = spec.facade_x[0 if b.side < 0 else 1]
        xa, xb = sorted((cv.px(fx, b.z0), cv.px(fx + b.side * 12.0, b.z0)))
        c0, c1 = cv.cols(xa, xb)
        r0, r1 = cv.rows(cv.py(b.height, b.z0), cv.py(0.0, b.z0))
        if c0 >= c1 or r0 >= r1:
            continue
        vis = cv.depth[r0:r1, c0:c1] > b.z0
        shade = 0.75 if spec.sun_side == 0 else 0.8
        cv.albedo[r0:r1, c0:c1][vis] = np.asarray(b.color, F32) * shade
        cv.depth[r0:r1, c0:c1][vis] = b.z0
        cv.sun[r0:r1, c0:c1][vis] = 0.6


def _draw_tree(cv: _Canvas, t: Tree) -> None:
    s = cv.f / t.z
    cx = cv.px(t.x, t.z)
    cy = cv.py(t.trunk + t.crown * 0.8, t.z)
    # trunk
    half = max(0.12 * s, 0.4)
    c0, c1 = cv.cols(cx - half, cx + half)
    r0, r1 = cv.rows(cv.py(t.trunk + t.crown * 0.5, t.z), cv.py(0.0, t.z))
    if c0 < c1 and r0 < r1:
        cv.albedo[r0:r1, c0:c1] = (0.22, 0.16, 0.11)
        cv.depth[r0:r1, c0:c1] = t.z
    # crown: a lumpy ellipse
    rx, ry = t.crown * s, t.crown * s * 1.1
    c0, c1 = cv.cols(cx - rx * 1.2, cx + rx * 1.2)
    r0, r1 = cv.rows(cy - ry * 1.2, cy + ry * 1.2)
    if c0 >= c1 or r0 >= r1:
        return
    dx = (np.arange(c0, c1, dtype=F32) + 0.5 - cx)[None, :] / rx
    dy = (cv.ys[r0:r1, None] - cy) / ry
    ang = np.arctan2(dy, dx)
    seed = (t.x * 13.7 + t.z * 7.1) % 6.28
    rim = 1 + 0.12 * np.sin(5 * ang + seed) + 0.08 * np.sin(11 * ang + 2 * seed)
    d = np.sqrt(dx * dx + dy * dy)
    a = np.clip((rim - d) * max(rx, 1) + 0.5, 0, 1)
    tex = _texture()
    leaf = tex[(np.arange(r0, r1) * 7) % 128][:, (np.arange(c0, c1) * 5) % 128] * min(1.0, rx / 8)
    tone = (1.05 - 0.45 * np.clip(dy + 0.3, 0, 1) + 0.15 * leaf)[..., None]
    col = np.asarray(t.color, F32) * tone
    sub = cv.albedo[r0:r1, c0:c1]
    cv.albedo[r0:r1, c0:c1] = sub * (1 - a[..., None]) + col * a[..., None]
    cv.depth[r0:r1, c0:c1] = np.where(a > 0.5, t.z, cv.depth[r0:r1, c0:c1])
    sun_side = -cv.spec.sun_side
    cv.sun[r0:r1, c0:c1] = np.where(a > 0.5, np.clip(0.7 + 0.4 * dx * sun_side, 0.3, 1.0), cv.sun[r0:r1, c0:c1])


def _draw_lamp(cv: _Canvas, lamp: Lamp) -> None:
    s = cv.f / lamp.z
    x = cv.px(lamp.x, lamp.z)
    width = 0.16 * s
    alpha = min(1.0, width)
    c0, c1 = cv.cols(x - max(width, 1) / 2, x + max(width, 1) / 2)
    r0, r1 = cv.rows(cv.py(lamp.height, lamp.z), cv.py(0.0, lamp.z))
    pole = np.array((0.35, 0.36, 0.37), F32)
    if c0 < c1 and r0 < r1:
        sub = cv.albedo[r0:r1, c0:c1]
        cv.albedo[r0:r1, c0:c1] = sub * (1 - alpha) + pole * alpha
        cv.depth[r0:r1, c0:c1] = lamp.z
    hx = cv.px(lamp.x + lamp.arm, lamp.z)
    hy = cv.py(lamp.height, lamp.z)
    c0, c1 = cv.cols(min(x, hx), max(x, hx))
    r0, r1 = cv.rows(hy - max(0.06 * s, 0.5), hy + max(0.1 * s, 0.5))
    if c0 < c1 and r0 < r1:
        sub = cv.albedo[r0:r1, c0:c1]
        cv.albedo[r0:r1, c0:c1] = sub * (1 - alpha) + pole * alpha
    if cv.night:
        color = cv.spec.lamp_color
        cv.glow(hx, hy + 0.1 * s, 0.25 * s + 0.5, 0.12 * s + 0.5, color, 3.0)
        cv.glow(hx, hy + 0.3 * s, 1.6 * s + 1.5, 1.3 * s + 1.5, color, 0.22)
        if cv.spec.wet:
            gy0 = cv.py(0.0, lamp.z + 1.5)
            cv.glow(hx, gy0 + 0.6 * s, 0.3 * s + 0.5, 2.5 * s + 2, color, 0.2)
        _light_pool(cv, lamp.x + lamp.arm, lamp.z, 5.5, color, 1.4)


def _light_pool(cv: _Canvas, lx: float, lz: float, radius: float, color: Color, gain: float) -> None:
    """Add a pool of light on the ground centred at world ``(lx, lz)``."""
    r0g, x, z = cv.ground
    zfar, znear = lz + 2.5 * radius, max(0.5, lz - 2.5 * radius)
    rows = np.nonzero((z > znear) & (z < zfar))[0]
    if rows.size == 0:
        return
    a, b = rows[0], rows[-1] + 1
    xs = x[a:b]
    d2 = (xs - lx) ** 2 + ((z[a:b] - lz) ** 2)[:, None]
    pool = np.exp(-d2 / (2 * radius * radius)) * gain
    cv.light[r0g + a : r0g + b] += pool[..., None].astype(F32) * np.asarray(color, F32)


def _draw_car(cv: _Canvas, car: Car) -> None:
    spec = cv.spec
    s = cv.f / car.z
    hw = car.width / 2
    body = np.asarray(car.color, F32)
    boxy = car.kind in ("van", "truck", "bus")
    if not cv.night and spec.overcast < 0.8:  # contact shadow on the ground
        r0g, x, z = cv.ground
        zs = (z > car.z - 0.4) & (z < car.z + car.length)
        rows = np.nonzero(zs)[0]
        if rows.size:
            a, b = rows[0], rows[-1] + 1
            inside = np.clip((hw + 0.15 - np.abs(x[a:b] - car.x + 0.3 * spec.sun_side)) * (cv.f / z[a:b])[:, None], 0, 1)
            cv.sun[r0g + a : r0g + b] *= 1 - inside * 0.95
            cv.albedo[r0g + a : r0g + b] *= (1 - 0.35 * inside)[..., None]
    # the side facing the camera's line (farther than the face: drawn first)
    side_x = car.x + (hw if car.x < 0 else -hw)
    if abs(car.x) > hw + 0.2:
        xa, xb = cv.px(side_x, car.z), cv.px(side_x, car.z + car.length)
        c0, c1 = cv.cols(min(xa, xb), max(xa, xb))
        if c0 < c1:
            xcol = np.arange(c0, c1, dtype=F32) + 0.5 - cv.xv
            zc = cv.f * side_x / xcol
            valid = (zc >= car.z) & (zc <= car.z + car.length)
            sc = cv.f / np.maximum(zc, 0.1)
            w_along = (zc - car.z) / car.length
            r0, r1 = cv.rows(cv.py(car.height, car.z), cv.py(0.0, car.z))
            ys = cv.ys[r0:r1, None]
            v = (spec.cam_h - (ys - cv.yh) / sc) / car.height  # height fraction
            if boxy:
                shape = (v > 0.08) & (v < 1.0)
                window = (v > 0.55) & (v < 0.85) & (car.kind == "bus")
            else:
                taper = np.abs(w_along - 0.5)
                roof = np.where(taper < 0.22, 1.0, 1.0 - (taper - 0.22) * 1.9)
                shape = (v > 0.1) & (v < np.maximum(roof, 0.6))
                window = (v > 0.64) & (v < roof - 0.07)
            wheel = (v < 0.35) & ((np.abs(w_along - 0.17) < 0.08) | (np.abs(w_along - 0.83) < 0.08))
            m = (shape | wheel) & valid[None, :]
            col = np.where(window[..., None], np.array((0.12, 0.14, 0.17), F32), body * 0.8)
            col = np.where(wheel[..., None], np.array((0.05, 0.05, 0.05), F32), col)
            sub = cv.albedo[r0:r1, c0:c1]
            cv.albedo[r0:r1, c0:c1] = np.where(m[..., None], col, sub)
            cv.depth[r0:r1, c0:c1] = np.where(m, zc[None, :], cv.depth[r0:r1, c0:c1])
            lit = 1.0 if (side_x > car.x) == (spec.sun_side < 0) else 0.45
            cv.sun[r0:r1, c0:c1] = np.where(m, lit, cv.sun[r0:r1, c0:c1])
    # the face (rear, or front if oncoming)
    xl, xr = cv.px(car.x - hw, car.z), cv.px(car.x + hw, car.z)
    yt, yb = cv.py(car.height, car.z), cv.py(0.0, car.z)
    c0, c1 = cv.cols(xl, xr)
    r0, r1 = cv.rows(yt, yb)
    if c0 >= c1 or r0 >= r1:
        return
    u = ((np.arange(c0, c1, dtype=F32) + 0.5 - (xl + xr) / 2) / max((xr - xl) / 2, 0.5))[None, :]
    v = ((yb - cv.ys[r0:r1]) / max(yb - yt, 1.0))[:, None]
    au = np.abs(u)
    if boxy:
        shape = (au < 1) & (v > 0.06)
        glass_hi = 0.92 if car.kind == "bus" else 0.9
        glass = (v > (0.62 if car.oncoming or car.kind == "bus" else 2.0)) & (v < glass_hi) & (au < 0.9)
    else:
        cabin = 0.86 - 0.25 * (v - 0.6) / 0.4
        shape = ((v > 0.08) & (v < 0.62) & (au < 1)) | ((v >= 0.62) & (v < 1.0) & (au < cabin))
        glass = (v > 0.66) & (v < 0.94) & (au < cabin - 0.08)
    tyres = (v < 0.2) & (au > 0.62) & (au < 0.95)
    bumper = (v > 0.12) & (v < 0.24) & (au < 1)
    plate = (v > 0.26) & (v < 0.36) & (au < 0.2)
    if car.oncoming:
        lamp = (v > 0.36) & (v < 0.48) & (au > 0.6) & (au < 0.92)
        lamp_col = np.array((0.85, 0.85, 0.8), F32)
        grille = (v > 0.3) & (v < 0.46) & (au < 0.45)
    else:
        lamp = (v > 0.44) & (v < 0.58) & (au > 0.64) & (au < 0.95)
        lamp_col = np.array((0.55, 0.05, 0.04), F32)
        grille = np.zeros_like(lamp)
    col = np.broadcast_to(body, (*np.broadcast_shapes(u.shape, v.shape), 3)).copy()
    col[np.broadcast_to(glass, col.shape[:2])] = (0.10, 0.12, 0.15)
    col[np.broadcast_to(bumper, col.shape[:2])] *= 0.6
    col[np.broadcast_to(grille, col.shape[:2])] = (0.08, 0.08, 0.08)
    col[np.broadcast_to(plate, col.shape[:2])] = (0.9, 0.9, 0.85)
    col[np.broadcast_to(lamp, col.shape[:2])] = lamp_col
    col[np.broadcast_to(tyres, col.shape[:2])] = (0.04, 0.04, 0.04)
    m = np.broadcast_to(shape | tyres, col.shape[:2])
    sub = cv.albedo[r0:r1, c0:c1]
    cv.albedo[r0:r1, c0:c1] = np.where(m[..., None], col, sub)
    cv.depth[r0:r1, c0:c1] = np.where(m, car.z, cv.depth[r0:r1, c0:c1])
    cv.sun[r0:r1, c0:c1] = np.where(m, 0.75, cv.sun[r0:r1, c0:c1])
    if not cv.night:
        return
    # lights
    ly = cv.py(car.height * (0.42 if car.oncoming else 0.51), car.z)
    for sign in (-1, 1):
        lx = cv.px(car.x + sign * hw * 0.78, car.z)
        if car.oncoming:
            cv.glow(lx, ly, 0.16 * s + 0.4, 0.1 * s + 0.4, (1.0, 0.97, 0.9), 6.0)
            cv.glow(lx, ly, 1.1 * s + 2.0, 0.8 * s + 2.0, (1.0, 0.95, 0.85), 0.5)
            if spec.wet:
                cv.glow(lx, yb + 0.8 * s, 0.2 * s + 0.5, 2.0 * s + 3.0, (1.0, 0.95, 0.85), 0.35)
        else:
            g = 2.0 if car.braking else 1.0
            cv.glow(lx, ly, 0.16 * s + 0.3, 0.09 * s + 0.3, (1.0, 0.12, 0.06), 2.0 * g)
            cv.glow(lx, ly, 0.6 * s + 1.0, 0.45 * s + 1.0, (1.0, 0.1, 0.05), 0.25 * g)
            if spec.wet:
                cv.glow(lx, yb + 0.5 * s, 0.15 * s + 0.4, 1.2 * s + 2.0, (1.0, 0.1, 0.05), 0.18 * g)
    if car.oncoming:
        _light_pool(cv, car.x, car.z - 7.0, 4.5, (1.0, 0.95, 0.85), 1.0)
    # lit by the ego car's beams
    if abs(car.x) < 4 and car.z < 45:
        beam = 1.5 / (1 + (car.z / 14.0) ** 2)
        region = np.broadcast_to(m, col.shape[:2])
        cv.light[r0:r1, c0:c1] += (region * beam)[..., None] * np.array((1.0, 0.95, 0.85), F32)


def _layout(spec: SceneSpec, height: int, width: int, night: bool) -> _Canvas:
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
            _draw_lamp(cv, obj)
        else:
            _draw_car(cv, obj)
    return cv


def _sky_day(cv: _Canvas, rows: int) -> np.ndarray:
    spec = cv.spec
    t = np.clip((cv.yh - cv.ys[:rows]) / max(cv.yh, 1.0), 0, 1)[:, None, None]
    oc = spec.overcast
    zenith = np.array((0.25, 0.45, 0.78), F32) * (1 - oc) + np.array((0.62, 0.64, 0.67), F32) * oc
    horizon = np.array((0.72, 0.80, 0.88), F32) * (1 - oc) + np.array((0.78, 0.79, 0.80), F32) * oc
    sky = horizon + (zenith - horizon) * t**0.6
    clouds = np.asarray(spec.clouds, F32)
    field = _interp_matrix(rows, clouds.shape[0]) @ clouds @ _interp_matrix(cv.w, clouds.shape[1]).T
    cover = _smoothstep(0.75 - 0.5 * oc, 1.0 - 0.3 * oc, field) * (0.3 + 0.7 * t[..., 0])
    cloud_col = np.array((0.93, 0.93, 0.94), F32) * (1 - 0.25 * oc)
    return sky * (1 - cover[..., None]) + cloud_col * cover[..., None]


def _sky_night(cv: _Canvas, rows: int) -> np.ndarray:
    spec = cv.spec
    t = np.clip((cv.yh - cv.ys[:rows]) / max(cv.yh, 1.0), 0, 1)[:, None, None]
    zenith = np.array((0.004, 0.006, 0.014), F32)
    glow = np.array((0.05, 0.035, 0.022), F32) * spec.light_pollution
    return zenith + glow * np.exp(-t[..., 0:1] * 4.0)


def _finish_day(cv: _Canvas) -> np.ndarray:
    spec = cv.spec
    oc = spec.overcast
    sun_gain = 0.55 * (1 - oc)
    ambient = 0.62 + 0.25 * oc
    tint = np.array((1.0, 0.98, 0.94), F32)
    img = cv.albedo * ((ambient + sun_gain * cv.sun)[..., None] * tint)
    sky_rows = min(cv.h, math.ceil(cv.yh) + 1)
    haze_col = np.array((0.72, 0.78, 0.84), F32) * (1 - oc) + np.array((0.76, 0.77, 0.78), F32) * oc
    depth = np.minimum(cv.depth, 1e4)
    haze = (1 - np.exp(-depth / spec.visibility))[..., None]
    img = img * (1 - haze) + haze_col * haze
    if sky_rows > 0:
        sky = _sky_day(cv, sky_rows)
        is_sky = np.isinf(cv.depth[:sky_rows])[..., None]
        img[:sky_rows] = np.where(is_sky, sky, img[:sky_rows])
    return img


def _finish_night(cv: _Canvas, darkness: float, rng: np.random.Generator) -> np.ndarray:
    spec = cv.spec
    d = float(np.clip(darkness, 0.0, 1.0))
    ambient = 0.05 * (1 - d) ** 2 + 0.0015
    exposure = 4.0 * (1 - 0.7 * d)
    moon = np.array((0.8, 0.9, 1.1), F32)
    lin_alb = cv.albedo * cv.albedo  # display -> linear (gamma 2)
    light = cv.light + ambient * moon
    lin = lin_alb * light + cv.emit
    sky_rows = min(cv.h, math.ceil(cv.yh) + 1)
    fog = np.array((0.02, 0.018, 0.016), F32) * spec.light_pollution
    depth = np.minimum(cv.depth, 1e4)
    haze = (1 - np.exp(-depth / spec.visibility))[..., None]
    lin = lin * (1 - haze) + fog * haze
    if sky_rows > 0:
        sky = _sky_night(cv, sky_rows) * (1.2 - d)
        is_sky = np.isinf(cv.depth[:sky_rows])[..., None]
        lin[:sky_rows] = np.where(is_sky, sky + cv.emit[:sky_rows], lin[:sky_rows])
    lin *= exposure
    # sensor noise: shot noise (signal dependent) plus read noise, worse when darker
    shot = 0.004 + 0.01 * d
    read = 0.0006 + 0.0025 * d
    noise = rng.standard_normal(lin.shape, dtype=F32)
    lin = lin + noise * np.sqrt(np.maximum(lin, 0) * shot + read * read)
    # gentle highlight roll-off, then display gamma
    lin = lin / (1 + 0.15 * lin)
    return np.sqrt(np.clip(lin, 0, None))


def _to_uint8(img: np.ndarray) -> np.ndarray:
    return (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)


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
    cv = _layout(_spec(index, seed), h, w, night=False)
    return _to_uint8(_finish_day(cv))


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
    cv = _layout(spec, h, w, night=True)
    rng = np.random.default_rng([spec.noise_seed, h, w])
    return _to_uint8(_finish_night(cv, d, rng))


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
    night = render_night(spec, height=height, width=width, darkness=darkness, darkness_range=darkness_range)
    return night, render_day(spec, height=height, width=width)


def _check_range(r: tuple[float, float]) -> tuple[float, float]:
    if (
        not isinstance(r, (tuple, list))
        or len(r) != 2
        or not all(isinstance(v, (int, float)) for v in r)
        or not 0.0 <= r[0] <= r[1] <= 1.0
    ):
        raise ValueError(f"darkness range must be (low, high) with 0 <= low <= high <= 1; got {r!r}")
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
        channels: Literal[1, 3] = 3,
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
            raise ValueError(f"num_scenes must be <= {EVAL_OFFSET // 2} for train; got {num_scenes}")
        if isinstance(size, int) and not isinstance(size, bool):
            self.height = self.width = _check_int(size, "size", 1)
        elif isinstance(size, (tuple, list)) and len(size) == 2:
            self.height = _check_int(size[0], "height", 1)
            self.width = _check_int(size[1], "width", 1)
        else:
            raise ValueError(f"size must be an int or (height, width); got {size!r}")
        if channels not in (1, 3):
            raise ValueError(f"channels must be 1 (grayscale) or 3 (RGB); got {channels!r}")
        self.channels: Literal[1, 3] = channels
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
        if self.flip and self.split == "train" and rng.random() < 0.5:
            img = img[:, ::-1]
        x = torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1).float()
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
        night = render_night(spec_a, height=self.height, width=self.width, darkness=d)
        spec_b = spec_a if ib == ia else sample_scene(ib, seed=self.seed)
        day = render_day(spec_b, height=self.height, width=self.width)
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
