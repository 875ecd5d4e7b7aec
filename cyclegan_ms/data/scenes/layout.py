"""The random scene description: what a scene contains, in metres, before any pixel.

:func:`sample_scene` draws a :class:`SceneSpec` (road, lanes, sidewalks, buildings, trees, street
lamps, vehicles, skyline, weather and night settings) as a pure function of ``(seed, index)``.
The constants below are the ranges of those draws; the order of the draws is part of the
contract (changing it, or any range, changes every scene).

The world frame: the camera is at ``X = 0``, height ``Y = cam_h``, looking down ``+Z``; ``X``
grows to the right, lengths are in metres, angles in degrees, colours RGB in [0, 1].
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from ..._checks import check_int

__all__ = ["Building", "Car", "Lamp", "SceneSpec", "Tree", "sample_scene"]

Color = tuple[float, float, float]
T = TypeVar("T")

# -- the random stream ----------------------------------------------------------------------------
SCENE_RNG_TAG = 0x5CE7E  # third word of a scene's generator seed ``[seed, index, tag]``
DRAW_BUFFER = 256  # uniform draws fetched from the generator at a time
COLOR_TINT = 0.03  # default per-channel tint added when jittering a palette colour

# -- placement ------------------------------------------------------------------------------------
Z_FAR = 220.0  # buildings, trees and lamps are placed up to this distance (m)

# -- road -----------------------------------------------------------------------------------------
LANE_WIDTH_M = (3.0, 3.7)  # lane width range (m)
OWN_LANES = (1, 2, 2, 3)  # lanes in the camera's direction (repeats weight the draw)
ONCOMING_LANES = (0, 1, 1, 2)  # oncoming lanes (repeats weight the draw)
SIDEWALK_M = (1.5, 4.0)  # sidewalk width range, each side (m)
URBAN_P = 0.75  # probability that a scene is urban (else rural)
SETBACK_P = 0.5  # probability that the facades of one side are set back from the sidewalk
SETBACK_M = (0, 4)  # setback range (m)

# -- buildings ------------------------------------------------------------------------------------
BUILDING_DENSITY_URBAN = (0.6, 0.95)  # probability range that a lot holds a building (urban)
BUILDING_DENSITY_RURAL = (0.0, 0.35)  # the same, rural
BUILDING_START_M = (-5.0, 15.0)  # distance range of the first lot (m)
LOT_LENGTH_M = (8.0, 35.0)  # length range of a lot along the road (m)
EMPTY_LOT_ADVANCE = 0.7  # an empty lot advances by this fraction of its length
LOW_BUILDING_P = 0.4  # probability that a building is low
LOW_BUILDING_M = (5.0, 12.0)  # height range of a low building (m)
TALL_BUILDING_M = (12.0, 40.0)  # height range of a tall building (m)
BUILDING_COLOR_JITTER = 0.15  # relative brightness jitter of a facade colour
FLOOR_HEIGHT_M = (2.9, 3.6)  # storey height range (m)
WINDOW_SPACING_M = (1.8, 3.6)  # window pitch range along the facade (m)
WINDOW_WIDTH = (0.35, 0.65)  # window width range, as a fraction of the pitch
WINDOW_HEIGHT = (0.35, 0.6)  # window height range, as a fraction of a storey
LIT_WINDOWS = (0.1, 0.6)  # range of the fraction of windows lit at night
BUILDING_GAP_P = 0.4  # probability of a gap after a building
BUILDING_GAP_M = (0.0, 6.0)  # gap length range (m)
BUILDING_UID_RANGE = 1 << 30  # building ids (they seed which windows are lit) are below this

# -- trees ----------------------------------------------------------------------------------------
TREE_ROW_P_URBAN = 0.4  # probability of a row of trees on one side (urban)
TREE_ROW_P_RURAL = 0.9  # the same, rural
TREE_SPACING_M = (7.0, 18.0)  # spacing range of a row (m)
TREE_START_MIN_M = 2.0  # the first tree stands between this and one spacing away (m)
TREE_IN_SIDEWALK = (0.3, 0.7)  # lateral position range in the sidewalk, from the kerb (fraction)
RURAL_TREE_OFFSET_M = (1.0, 4.0)  # rural rows stand this much further out (m)
TREE_REACH = 0.7  # trees are placed up to this fraction of ``Z_FAR``
TREE_P = 0.85  # probability that a slot of a row holds a tree
TREE_GREEN = ((0.12, 0.30), (0.28, 0.45), (0.08, 0.18))  # R, G and B ranges of foliage
TREE_JITTER_M = 0.3  # lateral jitter of each tree (m)
TRUNK_M = (1.8, 3.2)  # trunk height range (m)
CROWN_M = (1.4, 3.2)  # crown radius range (m)
TREE_SPACING_JITTER = (0.8, 1.2)  # each spacing is the row's spacing times a draw in this range

# -- street lamps ---------------------------------------------------------------------------------
LAMP_SIDE_P = 0.7  # probability of lamps on each side (at least one side has them)
LAMP_SPACING_M = (22.0, 40.0)  # lamp spacing range (m)
LAMP_KERB_OFFSET_M = 0.4  # poles stand this far outside the road edge (m)
LAMP_START_MIN_M = 3.0  # the first lamp stands between this and one spacing away (m)
LAMP_REACH = 0.8  # lamps are placed up to this fraction of ``Z_FAR``
LAMP_HEIGHT_M = (7.0, 9.5)  # lamp head height range (m)
LAMP_ARM_M = (1.0, 2.2)  # arm length range, toward the road (m)

# -- palettes and vehicles -------------------------------------------------------------------------------------
CAR_COLORS: tuple[Color, ...] = (
    (0.85, 0.85, 0.86), (0.08, 0.08, 0.09), (0.55, 0.56, 0.58), (0.62, 0.08, 0.07),
    (0.10, 0.20, 0.45), (0.30, 0.32, 0.34), (0.75, 0.74, 0.70), (0.15, 0.30, 0.20),
    (0.80, 0.60, 0.10), (0.35, 0.18, 0.10),
)  # fmt: skip
BUILDING_COLORS: tuple[Color, ...] = (
    (0.55, 0.33, 0.25), (0.62, 0.60, 0.56), (0.76, 0.70, 0.58), (0.45, 0.46, 0.48),
    (0.40, 0.50, 0.58), (0.70, 0.55, 0.42), (0.82, 0.80, 0.74), (0.35, 0.30, 0.28),
)  # fmt: skip
BIG_VEHICLE_COLORS: tuple[Color, ...] = (
    (0.85, 0.85, 0.82), (0.75, 0.15, 0.1), (0.2, 0.35, 0.6),
)  # fmt: skip  # liveries of trucks and buses
VEHICLES = {  # kind: (width, height, length, probability)
    "car": (1.8, 1.45, 4.5, 0.55),
    "suv": (1.9, 1.75, 4.8, 0.25),
    "van": (2.0, 2.3, 5.5, 0.1),
    "truck": (2.5, 3.4, 9.0, 0.06),
    "bus": (2.55, 3.1, 12.0, 0.04),
}
BIG_VEHICLES = ("truck", "bus")  # kinds painted in ``BIG_VEHICLE_COLORS``
FIRST_CAR_NEAR_M = (6.0, 18.0)  # distance range of the first vehicle until one is near (m)
FIRST_CAR_M = (6.0, 40.0)  # distance range of the first vehicle of the other lanes (m)
NEAR_CAR_M = 20  # a vehicle closer than this (m) counts as near
CAR_REACH_M = 120.0  # vehicles are placed up to this distance (m)
CAR_P = 0.75  # probability that a slot of a lane holds a vehicle
CAR_SCALE = (0.95, 1.05)  # size scale range of a vehicle
CAR_LATERAL_JITTER_M = 0.35  # lateral offset range within the lane (m)
CAR_COLOR_JITTER = 0.08  # relative brightness jitter of a body colour
BRAKING_P = 0.3  # probability that a vehicle is braking
CAR_GAP_M = (6.0, 35.0)  # headway range after a vehicle, near the camera (m)
CAR_GAP_GROWTH_M = 60  # headways grow by 1 every this many metres of distance
EMPTY_STRETCH_M = (10.0, 30.0)  # advance range over an empty slot (m)
PARKED_P = 0.5  # probability of cars parked along one kerb
PARKED_KERB_OFFSET_M = 1.1  # lateral centre of a parked car inside the road edge (m)
PARKED_START_M = (8.0, 30.0)  # distance range of the first parking slot (m)
PARKED_REACH_M = 90.0  # parking slots reach this distance (m)
PARKED_CLEAR_X_M = 2.2  # a parked car needs this lateral clearance from moving ones (m)
PARKED_CLEAR_Z_M = 7  # ... or this clearance along the road (m)
PARKED_FILL_P = 0.6  # probability that a free slot holds a parked car
PARKING_SLOT_M = (5.5, 9.0)  # slot length range (m)

# -- skyline --------------------------------------------------------------------------------------
SKYLINE_SAMPLES = 160  # heights of the far silhouette across the view
CITY_BLOCK = 4  # skyline samples per city block
CITY_HEIGHT_M = (5, 60)  # height range of a city block (m)
CITY_BLOCK_P = 0.8  # probability that a block is built (else a gap)
TREELINE_BASE_M = 12  # mean height of a rural treeline (m)
TREELINE_SWING_M = 10  # amplitude of its slow undulation (m)
TREELINE_FREQ = (3, 9)  # range of that undulation's frequency (radians across the view)
TREELINE_PHASE = (0, 6)  # range of its phase (radians)
TREELINE_ROUGH_M = 6  # per-sample roughness added on top (m)

# -- camera ---------------------------------------------------------------------------------------
HORIZON = (0.40, 0.50)  # horizon row range, fraction of the image height
VANISH = (0.42, 0.58)  # vanishing-point column range, fraction of the image width
HFOV_DEG = (62.0, 80.0)  # horizontal field-of-view range (degrees)
CAMERA_HEIGHT_M = (1.25, 1.6)  # camera height range (m)

# -- ground albedos -------------------------------------------------------------------------------
ROAD_ALBEDO: Color = (0.30, 0.30, 0.31)  # asphalt
ROAD_JITTER, ROAD_TINT = 0.25, 0.01  # its brightness jitter and tint
SIDEWALK_ALBEDO: Color = (0.58, 0.57, 0.54)  # concrete
SIDEWALK_JITTER = 0.12  # its brightness jitter
GRASS_VERGE: Color = (0.30, 0.40, 0.20)  # a grass verge ...
DIRT_VERGE: Color = (0.45, 0.40, 0.30)  # ... or a dirt one
GRASS_P = 0.7  # probability of a grass verge
VERGE_JITTER = 0.2  # brightness jitter of the verge

# -- day weather ----------------------------------------------------------------------------------
SUN_ELEV_DEG = (20.0, 60.0)  # sun elevation range (degrees)
VISIBILITY_M = (250.0, 1500.0)  # haze distance range (m)
CLOUD_GRID = (8, 24)  # shape of the random cloud field

# -- night ----------------------------------------------------------------------------------------
SODIUM_LAMP: Color = (1.0, 0.62, 0.28)  # sodium street lamps ...
LED_LAMP: Color = (0.95, 0.95, 1.0)  # ... or LED ones
SODIUM_P = 0.5  # probability of sodium lamps
LIGHT_POLLUTION_URBAN = (0.2, 1.0)  # sky-glow range, urban
LIGHT_POLLUTION_RURAL = (0.0, 0.3)  # sky-glow range, rural
WET_P = 0.3  # probability of a wet road (reflections)
LAMPS_OFF_ABOVE = (0.6, 1.4)  # range of the darkness above which the street lamps are off
DASH_PHASE_M = (0, 12)  # lane-dash phase range (m)
TEX_OFFSET_RANGE = 1 << 16  # grain texture offsets are below this
NOISE_SEED_RANGE = 1 << 62  # seeds of the night's sensor noise are below this


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


class _Draws:
    """Fast, deterministic scalar draws from a numpy ``Generator`` (buffered)."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.buf: list[float] = []
        self.i = 0

    def u(self, lo: float = 0.0, hi: float = 1.0) -> float:
        if self.i >= len(self.buf):
            self.buf, self.i = self.rng.random(DRAW_BUFFER).tolist(), 0
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


def _jitter(dr: _Draws, c: Color, amount: float, tint: float = COLOR_TINT) -> Color:
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
    index = check_int(index, "index")
    seed = check_int(seed, "seed")
    rng = np.random.default_rng([seed, index, SCENE_RNG_TAG])
    dr = _Draws(rng)
    u = dr.u
    lane_w = u(*LANE_WIDTH_M)
    n_own = dr.choice(OWN_LANES)
    n_on = dr.choice(ONCOMING_LANES)
    cam_lane = dr.integer(n_own)
    sidewalk = (u(*SIDEWALK_M), u(*SIDEWALK_M))
    road_l = -(cam_lane + 0.5 + n_on) * lane_w
    road_r = road_l + (n_own + n_on) * lane_w
    urban = u() < URBAN_P
    setback = (
        u(*SETBACK_M) if u() < SETBACK_P else 0.0,
        u(*SETBACK_M) if u() < SETBACK_P else 0.0,
    )
    facade_x = (road_l - sidewalk[0] - setback[0], road_r + sidewalk[1] + setback[1])

    buildings: list[Building] = []
    for side in (-1, 1):
        density = u(*BUILDING_DENSITY_URBAN) if urban else u(*BUILDING_DENSITY_RURAL)
        z = u(*BUILDING_START_M)
        while z < Z_FAR:
            length = u(*LOT_LENGTH_M)
            if u() < density:
                buildings.append(
                    Building(
                        side=side,
                        z0=z,
                        z1=z + length,
                        height=u(*LOW_BUILDING_M) if u() < LOW_BUILDING_P else u(*TALL_BUILDING_M),
                        color=_jitter(dr, dr.choice(BUILDING_COLORS), BUILDING_COLOR_JITTER),
                        floor_h=u(*FLOOR_HEIGHT_M),
                        win_spacing=u(*WINDOW_SPACING_M),
                        win_w=u(*WINDOW_WIDTH),
                        win_h=u(*WINDOW_HEIGHT),
                        lit=u(*LIT_WINDOWS),
                        uid=dr.integer(BUILDING_UID_RANGE),
                    )
                )
                z += length + (u(*BUILDING_GAP_M) if u() < BUILDING_GAP_P else 0.0)
            else:
                z += length * EMPTY_LOT_ADVANCE

    trees: list[Tree] = []
    for side in (-1, 1):
        if u() < (TREE_ROW_P_URBAN if urban else TREE_ROW_P_RURAL):
            spacing = u(*TREE_SPACING_M)
            z = u(TREE_START_MIN_M, spacing)
            edge = (
                road_l - sidewalk[0] * u(*TREE_IN_SIDEWALK)
                if side < 0
                else road_r + sidewalk[1] * u(*TREE_IN_SIDEWALK)
            )
            if not urban:
                edge += side * u(*RURAL_TREE_OFFSET_M)
            while z < Z_FAR * TREE_REACH:
                if u() < TREE_P:
                    red, green, blue = TREE_GREEN
                    foliage = (u(*red), u(*green), u(*blue))
                    trees.append(
                        Tree(
                            edge + u(-TREE_JITTER_M, TREE_JITTER_M),
                            z,
                            u(*TRUNK_M),
                            u(*CROWN_M),
                            foliage,
                        )
                    )
                z += spacing * u(*TREE_SPACING_JITTER)

    lamps: list[Lamp] = []
    lamp_sides = [s for s in (-1, 1) if u() < LAMP_SIDE_P] or [dr.choice([-1, 1])]
    spacing = u(*LAMP_SPACING_M)
    for side in lamp_sides:
        x = road_l - LAMP_KERB_OFFSET_M if side < 0 else road_r + LAMP_KERB_OFFSET_M
        z = u(LAMP_START_MIN_M, spacing)
        while z < Z_FAR * LAMP_REACH:
            lamps.append(Lamp(x, z, u(*LAMP_HEIGHT_M), -side * u(*LAMP_ARM_M)))
            z += spacing

    cars: list[Car] = []
    kinds = list(VEHICLES)
    probs = [VEHICLES[k][3] for k in kinds]
    lanes = [(road_l + (k + 0.5) * lane_w, k < n_on) for k in range(n_own + n_on)]
    near_done = False
    for lane_x, oncoming in lanes:
        z = u(*FIRST_CAR_NEAR_M) if not near_done else u(*FIRST_CAR_M)
        while z < CAR_REACH_M:
            if u() < CAR_P:
                kind = kinds[dr.weighted(probs)]
                w, h, length, _ = VEHICLES[kind]
                scale = u(*CAR_SCALE)
                color = dr.choice(CAR_COLORS)
                if kind in BIG_VEHICLES:
                    color = dr.choice(BIG_VEHICLE_COLORS)
                cars.append(
                    Car(
                        x=lane_x + u(-CAR_LATERAL_JITTER_M, CAR_LATERAL_JITTER_M),
                        z=z,
                        width=w * scale,
                        height=h * scale,
                        length=length * scale,
                        color=_jitter(dr, color, CAR_COLOR_JITTER),
                        oncoming=oncoming,
                        kind=kind,
                        braking=u() < BRAKING_P,
                    )
                )
                near_done = near_done or z < NEAR_CAR_M
                z += length + u(*CAR_GAP_M) * (1 + z / CAR_GAP_GROWTH_M)
            else:
                z += u(*EMPTY_STRETCH_M)
    if u() < PARKED_P:  # parked cars along a kerb
        side = dr.choice([-1, 1])
        x = road_l + PARKED_KERB_OFFSET_M if side < 0 else road_r - PARKED_KERB_OFFSET_M
        z = u(*PARKED_START_M)
        while z < PARKED_REACH_M:
            clear = all(
                abs(c.x - x) > PARKED_CLEAR_X_M or abs(c.z - z) > PARKED_CLEAR_Z_M for c in cars
            )
            if clear and u() < PARKED_FILL_P:
                w, h, length, _ = VEHICLES["car"]
                color = _jitter(dr, dr.choice(CAR_COLORS), CAR_COLOR_JITTER)
                cars.append(
                    Car(x, z, w, h, length, color, oncoming=False, kind="car", braking=False)
                )
            z += u(*PARKING_SLOT_M)

    n_sky = SKYLINE_SAMPLES
    if urban:
        blocks = n_sky // CITY_BLOCK
        built = rng.uniform(*CITY_HEIGHT_M, blocks) * (rng.random(blocks) < CITY_BLOCK_P)
        heights = np.repeat(built, CITY_BLOCK)
        skyline_kind = "city"
    else:
        t = np.linspace(0, 1, n_sky)
        heights = (
            TREELINE_BASE_M
            + TREELINE_SWING_M * np.sin(t * u(*TREELINE_FREQ) + u(*TREELINE_PHASE))
            + rng.uniform(0, TREELINE_ROUGH_M, n_sky)
        )
        skyline_kind = "trees"

    return SceneSpec(
        index=index,
        horizon=u(*HORIZON),
        vanish=u(*VANISH),
        hfov=u(*HFOV_DEG),
        cam_h=u(*CAMERA_HEIGHT_M),
        lane_w=lane_w,
        n_own=n_own,
        n_on=n_on,
        cam_lane=cam_lane,
        sidewalk=sidewalk,
        facade_x=facade_x,
        road_color=_jitter(dr, ROAD_ALBEDO, ROAD_JITTER, tint=ROAD_TINT),
        sidewalk_color=_jitter(dr, SIDEWALK_ALBEDO, SIDEWALK_JITTER),
        verge_color=_jitter(dr, GRASS_VERGE if u() < GRASS_P else DIRT_VERGE, VERGE_JITTER),
        buildings=tuple(buildings),
        trees=tuple(trees),
        lamps=tuple(lamps),
        cars=tuple(sorted(cars, key=lambda c: -c.z)),
        skyline=tuple(heights.tolist()),
        skyline_kind=skyline_kind,
        overcast=float(u(0.0, 1.0) ** 2),
        sun_side=dr.choice([-1, 1]),
        sun_elev=u(*SUN_ELEV_DEG),
        visibility=u(*VISIBILITY_M),
        clouds=tuple(map(tuple, rng.random(CLOUD_GRID).tolist())),
        cloudiness=u(),
        lamp_color=SODIUM_LAMP if u() < SODIUM_P else LED_LAMP,
        light_pollution=u(*LIGHT_POLLUTION_URBAN) if urban else u(*LIGHT_POLLUTION_RURAL),
        wet=bool(u() < WET_P),
        darkness_u=u(),
        lamps_off_above=u(*LAMPS_OFF_ABOVE),
        dash_phase=u(*DASH_PHASE_M),
        tex_offset=(dr.integer(TEX_OFFSET_RANGE), dr.integer(TEX_OFFSET_RANGE)),
        noise_seed=int(rng.integers(NOISE_SEED_RANGE)),
    )
