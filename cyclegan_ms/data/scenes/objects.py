"""Drawing the scene's objects onto a canvas: sky line, ground, facades, trees, lamps, vehicles.

:func:`draw_scene` fills a :class:`~.drawing.Canvas` with albedo, depth and (by day) direct sun,
and by night with the lights each object carries: lamp glow and light pools, head- and
tail-lights, lit windows, the ego car's low beams and wet-road reflections. The day and night
images of a scene are then finished from these buffers by :mod:`~cyclegan_ms.data.scenes.render`.

Unless said otherwise, sizes are in metres, ``s`` is pixels per metre at an object's distance,
and a *glow size* ``(sx_m, sy_m, sx_px, sy_px)`` is a gaussian light of standard deviation
``sx_m * s + sx_px * u`` by ``sy_m * s + sy_px * u`` pixels (``u`` the canvas' pixel scale).
Shapes of vehicles are given in fractions of their face: ``v`` from the ground (0) to the roof
(1), ``|u|`` from the centre (0) to a side (1).
"""

from __future__ import annotations

import math

import numpy as np

from .camera import F32
from .drawing import NEAR_M, Canvas, rgb
from .layout import Building, Car, Color, Lamp, SceneSpec, Tree

__all__: list[str] = []

Glow = tuple[float, float, float, float]  # (sx_m, sy_m, sx_px, sy_px), see the module docstring

SPRITE_MIN_Z_M = 1.0  # trees, lamps, vehicles and building ends nearer than this are not drawn

# -- sky line -------------------------------------------------------------------------------------
Z_SKY = 600.0  # distance of the skyline silhouette (m)
SKYLINE_SPAN = 1.6  # the skyline's samples cover view slopes x / z in [-SPAN, SPAN]
CITY_SKYLINE: Color = (0.42, 0.43, 0.46)  # albedo of far city blocks
TREE_SKYLINE: Color = (0.20, 0.28, 0.17)  # albedo of a far treeline
FAR_WINDOW_GRAIN = 0.9  # night: the far city has a lit window where the grain exceeds this
FAR_WINDOW_LIGHT: Color = (0.25, 0.2, 0.12)  # emission of those windows

# -- ground ---------------------------------------------------------------------------------------
TEXTURE_PX_PER_M = 6  # road grain and wheel tracks fade in up to this many pixels per metre
WHEEL_TRACK = 0.25  # wheel tracks run this far from a lane line (fraction of the lane width)
TRACK_SHARPNESS = 11  # inverse width of a wheel track (per lane width)
TRACK_DARKENING = 0.07  # wheel tracks are this much darker
ROAD_GRAIN = 0.09  # relative grain of the asphalt
PATCH_AMPLITUDE = 0.05  # relative brightness of repaired patches along the road
PATCH_FREQS = (0.21, 0.037)  # their two frequencies along the road (radians per metre)
SLAB_M = 1.6  # sidewalk slab length (m)
JOINT = 0.46  # a slab joint is where the position within a slab is this far from its middle
JOINT_PX_PER_M = 12  # slab joints fade in up to this many pixels per metre
JOINT_DARKENING = 0.2  # joints are this much darker
SIDEWALK_GRAIN = 0.05  # relative grain of the sidewalk
VERGE_GRAIN = 0.2  # relative grain of the verge
LINE_WIDTH_M = 0.15  # width of a painted line (m)
DOUBLE_LINE_OFFSET_M = 0.18  # each line of the double yellow centre is this far from the middle
DASH_PERIOD_M, DASH_DUTY = 12.0, 0.3  # lane dashes: period (m) and painted fraction
DASH_MIN_ROWS = 3  # dashes shorter than this many rows per period are drawn as their average
PAINT_WORN = 0.8  # coverage of worn paint ...
PAINT_INTACT_EXTRA = 0.2  # ... plus this where the grain is above PAINT_WEAR_GRAIN
PAINT_WEAR_GRAIN = -0.5
YELLOW_PAINT: Color = (0.85, 0.66, 0.12)
WHITE_PAINT: Color = (0.88, 0.88, 0.86)
SHADOW_MAX_OVERCAST = 0.6  # buildings cast shadows on the ground below this overcast
SHADOW_REACH = 0.6  # a building's shadow reaches this fraction of height / tan(sun elevation)
BEAM_COLOR: Color = (1.0, 0.95, 0.85)  # headlights (the ego car's and oncoming ones)
BEAM_START_M, BEAM_RAMP_M = 2.5, 4.0  # the ego car's low beams start here and ramp up over this
BEAM_HALF_WIDTH_M, BEAM_SPREAD = 1.2, 0.12  # beam width: half width + spread per metre of depth
BEAM_GAIN = 0.35  # low-beam intensity on the ground
BEAM_FALLOFF_M = 18.0  # distance at which the beams have halved

# -- facades --------------------------------------------------------------------------------------
WINDOW_GLASS: Color = (0.20, 0.24, 0.30)  # albedo of windows
ROOF_MARGIN_M = 0.8  # no windows this close below the roof (m)
WINDOW_RESOLVED_PX = 2.5  # windows are drawn one by one when they are this far apart (px) ...
WINDOW_FADE = 0.3  # ... fading to their average from this much below
GROUND_FLOOR_SHADE = 0.25  # the ground floor is this much darker
SHADED_FACADE_SUN = 0.35  # direct sun on the facades of the sun's side (the other side: 1)
END_FACE_DEPTH_M = 12.0  # the end face of a building spans this much across
END_FACE_SHADE, END_FACE_SUN = 0.8, 0.6  # its albedo factor and direct sun
WINDOW_UID_MOD = 10007  # window hash: building id modulo this ...
WINDOW_HASH = (12.9898, 78.233, 43758.55)  # ... then fract(sin(uid * a + column * b) * c)
FLOOR_HASH_STEP = 0.6180340  # per-floor step of the window hash (golden ratio)
LEVEL_HASH = 3.7  # a lit window's brightness is fract(hash * this) ...
WINDOW_LEVEL = (0.3, 0.5)  # ... mapped to base + span * level
UNRESOLVED_WINDOW_LEVEL = 0.4  # brightness of lit windows too small to draw one by one
WARM_WINDOW: Color = (1.0, 0.78, 0.45)  # colour of lit windows
COOL_WINDOWS = 0.3  # this fraction of lit windows is cooler (TV, LED) ...
COOL_BLUE = 0.5  # ... with this much extra blue
SHOP_WINDOW_M = (0.4, 2.4)  # lit shop windows: ground-floor rows (m) ...
SHOP_P = 0.25  # ... in this fraction of window columns
SHOP_LIGHT: Color = (0.3, 0.26, 0.2)

# -- trees ----------------------------------------------------------------------------------------
BARK: Color = (0.22, 0.16, 0.11)
TRUNK_HALF_WIDTH_M, TRUNK_MIN_HALF_PX = 0.12, 0.4
TRUNK_INTO_CROWN = 0.5  # the trunk reaches this many crown radii above its height
TRUNK_SUN = 0.6  # direct sun on a trunk
CROWN_CENTRE = 0.8  # the crown's centre is this many radii above the trunk
CROWN_ASPECT = 1.1  # crown height / width
CROWN_BOUNDS = 1.2  # crowns are drawn out to this many radii (lumps stick out)
SMALL_CROWN_PX = 3  # a crown narrower than this radius (px) is a plain disc ...
SMALL_CROWN_SHADE = 0.85  # ... of this albedo factor
LUMP_FREQS = (5.0, 4.0)  # across and up: frequencies of the leaf clumps (per radius)
RIM_LUMPS, RIM_GRAIN = 0.1, 0.08  # how much clumps and grain move the crown's outline
CROWN_UNDERSIDE = (0.4, 0.3)  # the crown darkens by up to this much below this height (radii)
CROWN_GRAIN, CROWN_LUMPS = 0.12, 0.15  # tone of grain and clumps ...
CROWN_DETAIL_PX = 6  # ... in full from this radius (px)
CROWN_SUN = (0.75, 0.45, 0.3)  # direct sun: base, gain toward the sun and toward the top
CROWN_SUN_MIN = 0.25  # least direct sun inside a crown

# -- street lamps ---------------------------------------------------------------------------------
POLE: Color = (0.35, 0.36, 0.37)  # albedo of pole and arm
POLE_WIDTH_M = 0.16
ARM_ABOVE_M, ARM_BELOW_M, ARM_MIN_HALF_PX = 0.06, 0.08, 0.5  # arm extent around the head's row
LAMP_HEAD: Color = (0.75, 0.75, 0.72)  # albedo of the lamp head
LAMP_HEAD_HALF_M, LAMP_HEAD_DEPTH_M, LAMP_HEAD_MIN_PX = 0.35, 0.15, 0.6
LAMP_GLOW: Glow = (0.3, 0.12, 0.5, 0.5)  # glow of a lit lamp head ...
LAMP_GLOW_GAIN, LAMP_GLOW_DROP_M = 2.5, 0.15  # ... its gain and offset below the head's row
LAMP_HALO: Glow = (0.7, 0.6, 1.5, 1.5)  # its halo ...
LAMP_HALO_GAIN = 0.12  # ... and the halo's gain
LAMP_REFLECTION: Glow = (0.3, 2.5, 0.5, 2)  # wet road: streak below a lamp ...
LAMP_REFLECTION_GAIN = 0.1  # ... its gain,
LAMP_REFLECTION_Z_M, LAMP_REFLECTION_DROP_M = 1.5, 0.6  # ... distance behind it and drop
LAMP_POOL_RADIUS_M, LAMP_POOL_GAIN = 5.5, 0.3  # pool of light under a lamp

# -- vehicles -------------------------------------------------------------------------------------
BOXY = ("van", "truck", "bus")  # kinds with a box profile (others have a cabin)
SMALL_CAR_PX = 5  # a vehicle narrower than this (px) is a plain box
SMALL_CAR_INSET_PX = 0.25  # its box is inset by this much
SMALL_CAB, SMALL_CAB_SHADE = 0.35, 0.45  # its darker top (cabin): height fraction, factor
CONTACT_SHADOW_MAX_OVERCAST = 0.8  # vehicles cast a contact shadow below this overcast
SHADOW_AHEAD_M = 0.4  # the contact shadow starts this far in front of the face
SHADOW_SHIFT_M = 0.3  # it is shifted this far away from the sun
SHADOW_BOUNDS_M, SHADOW_WIDEN_M = 0.3, 0.15  # drawn out to, and widened by, this (each side)
CONTACT_DARKENING = 0.3  # the ground's albedo darkens by this much in the contact shadow
SIDE_MIN_OFFSET_M = 0.2  # a vehicle's side shows beyond this lateral offset from the camera
SIDE_SHADE = 0.8  # albedo factor of the side
SIDE_GLASS: Color = (0.12, 0.14, 0.17)  # side windows
WHEEL_DARK = 0.05  # albedo of wheels seen from the side
SIDE_WHEELS = (0.17, 0.83, 0.08, 0.35)  # wheel centres and half-length along the body, height
SIDE_SUN = (1.0, 0.45)  # direct sun on the side facing the sun, and on the other
BOX_SIDE = (0.08, 1.0)  # a box profile spans these heights ...
BUS_WINDOWS = (0.55, 0.85)  # ... with a row of windows between these (buses)
CABIN_TAPER = (0.22, 1.9)  # a cabin is flat to this far from the middle, then slopes by this
CABIN_SIDE = (0.1, 0.6)  # a cabin profile spans from this height to at least this
SIDE_WINDOW = (0.64, 0.07)  # cabin windows: from this height to this below the roof
FACE_GLASS: Color = (0.10, 0.12, 0.15)  # windscreens and rear windows
BOX_FACE_BOTTOM = 0.06  # a box face starts at this height
NO_GLASS = 2.0  # a height above any face: the rear of a van or truck has no glass
BOX_GLASS = (0.62, 0.9, 0.9)  # windscreen of a boxy front / bus: from, to, and |u| limit
CAR_FACE = (0.08, 0.62, 1.0)  # a car's face: body from, to, and cabin top
CABIN_WIDTH = (0.86, 0.25, 0.6, 0.4)  # cabin half width: w0 - dw * (v - v0) / dv
CAR_GLASS = (0.66, 0.94, 0.08)  # rear window / windscreen: from, to, inset from the cabin side
TYRES = (0.2, 0.62, 0.95)  # tyres: below this height, between these |u|
HEADLIGHTS = (0.36, 0.48, 0.6, 0.92)  # v from, to; |u| from, to
TAIL_LIGHTS = (0.44, 0.58, 0.64, 0.95)
BUMPER = (0.12, 0.24, 0.6)  # v from, to, and albedo factor
GRILLE = (0.3, 0.46, 0.45, 0.08)  # v from, to, |u| below, albedo
PLATE = (0.26, 0.36, 0.2)  # v from, to, |u| below
PLATE_COLOR: Color = (0.9, 0.9, 0.85)
HEADLAMP_ALBEDO: Color = (0.85, 0.85, 0.8)
TAIL_LAMP_ALBEDO: Color = (0.55, 0.05, 0.04)
TYRE_DARK = 0.04  # albedo of tyres
FACE_SUN = 0.75  # direct sun on a face
LIGHT_HEIGHT = (0.42, 0.51)  # height of head-, and of tail-lights (fraction of the height)
LIGHT_SPREAD = 0.78  # lights sit this far out (fraction of the half width)
HEADLIGHT: Color = (1.0, 0.97, 0.9)  # colour of headlights
TAIL_LIGHT: Color = (1.0, 0.12, 0.06)  # colour of tail-lights
HEADLIGHT_GLOW: Glow = (0.16, 0.1, 0.4, 0.4)
HEADLIGHT_GAIN, SMALL_HEADLIGHT_GAIN = 6.0, 5.0
HEADLIGHT_HALO: Glow = (0.5, 0.35, 1.5, 1.5)
HEADLIGHT_HALO_GAIN = 0.3
HEADLIGHT_REFLECTION: Glow = (0.2, 2.0, 0.5, 3.0)  # wet road
HEADLIGHT_REFLECTION_DROP_M, HEADLIGHT_REFLECTION_GAIN = 0.8, 0.25
TAIL_GLOW: Glow = (0.16, 0.09, 0.3, 0.3)
TAIL_GAIN = 2.0  # tail-light gain, times BRAKE_GAIN (braking) or 1
BRAKE_GAIN = 2.0
SMALL_TAIL_GAIN = (2.5, 1.5)  # distant vehicles: braking, not braking
TAIL_HALO: Glow = (0.45, 0.35, 1.0, 1.0)
TAIL_HALO_GAIN = 0.15
TAIL_REFLECTION: Glow = (0.15, 1.2, 0.4, 2.0)  # wet road
TAIL_REFLECTION_DROP_M, TAIL_REFLECTION_GAIN = 0.5, 0.12
HEADLIGHT_POOL = (7.0, 4.5, 0.35)  # oncoming: pool this far ahead, radius, gain
EGO_BEAM_REACH = (4, 45)  # vehicles within this |x| and z (m) are lit by the ego car's beams
EGO_BEAM_GAIN = 0.4  # ... with this gain (falling off with BEAM_FALLOFF_M)


def _glow_size(size: Glow, s: float, u: float) -> tuple[float, float]:
    """Standard deviations in pixels of a glow ``size`` at ``s`` pixels per metre."""
    sx_m, sy_m, sx_px, sy_px = size
    return sx_m * s + sx_px * u, sy_m * s + sy_px * u


def _halo(size: Glow, gain: float, s: float, u: float) -> tuple[float, float, float]:
    sx, sy = _glow_size(size, s, u)
    return sx, sy, gain


def draw_sky_and_skyline(cv: Canvas) -> None:
    """The far silhouette (city blocks or a treeline) at ``Z_SKY``, lit far windows at night."""
    spec = cv.spec
    hz = min(cv.h, math.ceil(cv.yh) + 1)
    if hz <= 0:
        return
    n = len(spec.skyline)
    idx = np.clip(
        ((cv.xs / cv.f + SKYLINE_SPAN) / (2 * SKYLINE_SPAN) * n).astype(np.int32), 0, n - 1
    )
    top = cv.yh - cv.f * (np.asarray(spec.skyline, F32)[idx] - spec.cam_h) / Z_SKY
    mask = (cv.ys[:hz, None] >= top[None, :]) & (cv.ys[:hz, None] < cv.yh + 1)
    city = spec.skyline_kind == "city"
    color = rgb(CITY_SKYLINE if city else TREE_SKYLINE)[:, :, 0]
    cv.albedo[:, :hz][:, mask] = color
    cv.depth[:hz][mask] = Z_SKY
    if cv.night and city:  # scattered lit windows in the far city
        dots = (cv.grain[:hz] > FAR_WINDOW_GRAIN) & mask
        cv.emit[:, :hz][:, dots] += rgb(FAR_WINDOW_LIGHT)[:, :, 0]


def draw_ground(cv: Canvas) -> None:
    """Road, markings, sidewalks and verge; building shadows by day, low beams by night."""
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
    rc, wc, vc = rgb(spec.road_color), rgb(spec.sidewalk_color), rgb(spec.verge_color)

    g = cv.grain[r0:]
    fade = np.clip(sc / TEXTURE_PX_PER_M, 0, 1)
    lane_pos = x * F32(1 / spec.lane_w) - F32(road_l / spec.lane_w)
    k = np.floor(lane_pos + F32(0.5))
    t = np.abs(lane_pos - k)  # 0 on a lane line, 0.5 mid-lane
    tracks = np.clip(1 - np.abs(t - F32(WHEEL_TRACK)) * TRACK_SHARPNESS, 0, 1)
    oy, ox = spec.tex_offset
    freq_a, freq_b = PATCH_FREQS
    patches = PATCH_AMPLITUDE * np.sin(zc * freq_a + ox) * np.sin(zc * freq_b + oy)
    joints = (np.abs((zc / SLAB_M + ox) % 1.0 - 0.5) > JOINT) * np.clip(sc / JOINT_PX_PER_M, 0, 1)
    road_tone = road * (1 + fade * (ROAD_GRAIN * g - TRACK_DARKENING * tracks) + patches)
    walk_tone = walk * (1 + SIDEWALK_GRAIN * fade * g - JOINT_DARKENING * joints)
    verge_tone = (1 - road - walk) * (1 + VERGE_GRAIN * g)
    alb = road_tone * rc + walk_tone * wc + verge_tone * vc

    # markings: solid white edges, double yellow centre (two-way roads), dashed white otherwise
    n = spec.n_own + spec.n_on
    kc = np.clip(k, 0, n)
    dpx = np.abs(lane_pos - kc) * (F32(spec.lane_w) * sc)
    edge = (kc == 0) | (kc == n)
    center = (kc == spec.n_on) if spec.n_on else np.zeros_like(edge)
    if spec.n_on:
        dpx = np.where(center, np.abs(dpx - F32(DOUBLE_LINE_OFFSET_M) * sc), dpx)
    width = F32(LINE_WIDTH_M) * sc
    cov = np.clip(width * 0.5 + 0.5 - dpx, 0, 1) * np.minimum(width, 1)
    period, duty = DASH_PERIOD_M, DASH_DUTY
    rows_per_period = cv.f * spec.cam_h * period / (zc * zc)
    dash_on = ((zc + spec.dash_phase) / period) % 1.0 < duty
    dash = np.where(rows_per_period < DASH_MIN_ROWS, F32(duty), dash_on.astype(F32))  # (R, 1)
    dashed = ~(edge | center)
    cov *= road
    where = np.nonzero(cov > 0)  # markings cover few pixels: paint only those
    intact = g[where] > PAINT_WEAR_GRAIN
    cov = (
        cov[where]
        * np.where(dashed[where], dash[where[0], 0], 1)
        * (PAINT_WORN + PAINT_INTACT_EXTRA * intact)
    )
    paint = (
        np.where(center[where], F32(1.0), F32(0.0))
        * (rgb(YELLOW_PAINT) - rgb(WHITE_PAINT))[:, :, 0]
    )
    paint += rgb(WHITE_PAINT)[:, :, 0]
    sel = alb[:, where[0], where[1]]
    alb[:, where[0], where[1]] = sel + cov * (paint - sel)

    cv.albedo[:, r0:] = alb
    cv.depth[r0:] = zc
    cv.ground = (r0, x, z)

    if not cv.night:
        side = spec.sun_side  # buildings on the sun's side shade the ground toward the road
        blds = [b for b in spec.buildings if b.side == side]
        if blds and spec.overcast < SHADOW_MAX_OVERCAST:
            z0s = np.array([b.z0 for b in blds], F32)
            z1s = np.array([b.z1 for b in blds], F32)
            hs = np.array([b.height for b in blds], F32)
            j = np.clip(np.searchsorted(z0s, z, side="right") - 1, 0, len(blds) - 1)
            h_row = np.where((z >= z0s[j]) & (z < z1s[j]), hs[j], 0)
            reach_px = (h_row / math.tan(math.radians(spec.sun_elev)) * SHADOW_REACH * s)[:, None]
            fx = spec.facade_x[0 if side < 0 else 1]
            across_px = (xs - F32(fx) * sc) * -side
            cv.sun[r0:] = np.clip(across_px - reach_px + 0.5, 0, 1)
    else:  # the ego car's low beams: from ~3 m ahead, fading with distance
        near = np.clip((zc - BEAM_START_M) / BEAM_RAMP_M, 0, 1)
        spread = x / (BEAM_HALF_WIDTH_M + BEAM_SPREAD * zc)
        beam = np.exp(-(spread**2)) * (near * BEAM_GAIN / (1 + (zc / BEAM_FALLOFF_M) ** 2))
        cv.light[:, r0:] += beam * rgb(BEAM_COLOR)


def draw_facades(cv: Canvas) -> None:
    """Building fronts along both sides (windows, lit ones at night), then their end faces."""
    spec = cv.spec
    split = int(np.searchsorted(cv.xs, 0.0))  # columns left of the vanishing point
    glass = rgb(WINDOW_GLASS)
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
        hit = (zc >= z0s[j]) & (zc < z1s[j]) & (zc > NEAR_M)
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
        win = (
            (np.abs(fv - F32(0.5)) < win_h / 2)
            & upper
            & (height_m < height - ROOF_MARGIN_M)
            & col_win
        )
        # windows are resolved when they are WINDOW_RESOLVED_PX apart
        fine = np.clip(spacing * s / WINDOW_RESOLVED_PX - WINDOW_FADE, 0, 1)
        winf = win * fine + upper * ((1 - fine) * win_w * win_h)
        shade = (1 - GROUND_FLOOR_SHADE * (floor == 0)) * (1 - winf)
        alb = colors * shade + winf * glass
        sub = cv.albedo[:, r0:r1, c0:c1]
        sub += cover * (alb - sub)
        solid = cover > 0.5
        np.copyto(cv.depth[r0:r1, c0:c1], zc, where=solid)
        if not cv.night:
            sun = F32(1.0 if side == -spec.sun_side else SHADED_FACADE_SUN)
            np.copyto(cv.sun[r0:r1, c0:c1], sun, where=solid)
        if cv.night:
            # which windows are lit: a hash of (building, window column) and the floor
            uids = np.array([bl.uid % WINDOW_UID_MOD for bl in blds], F32)[j]
            ha, hb, hc = WINDOW_HASH
            col_hash = np.sin(uids * F32(ha) + np.floor(along) * F32(hb)) * F32(hc)
            col_hash -= np.floor(col_hash)
            rnd = col_hash + floor * F32(FLOOR_HASH_STEP)
            rnd -= np.floor(rnd)
            lit_frac = per_column("lit")
            lit = win & (rnd < lit_frac) & solid
            level = rnd * F32(LEVEL_HASH)
            level -= np.floor(level)
            level_base, level_span = WINDOW_LEVEL
            level = (level_base + level_span * level) * lit
            em = level * fine + lit * (1 - fine) * UNRESOLVED_WINDOW_LEVEL
            cool = (rnd < lit_frac * COOL_WINDOWS) * em
            emit = cv.emit[:, r0:r1, c0:c1]
            emit += em * rgb(WARM_WINDOW)
            emit[2] += cool * COOL_BLUE
            shop_lo, shop_hi = SHOP_WINDOW_M
            shop = (
                solid
                & (floor == 0)
                & (height_m > shop_lo)
                & (height_m < shop_hi)
                & (rnd < SHOP_P)
                & col_win
            )
            emit += shop * rgb(SHOP_LIGHT)
    # end faces of buildings toward the camera (seen across a gap)
    for bl in sorted(spec.buildings, key=lambda b: -b.z0):
        if bl.z0 < SPRITE_MIN_Z_M:
            continue
        fx = spec.facade_x[0 if bl.side < 0 else 1]
        xa, xb = sorted((cv.px(fx, bl.z0), cv.px(fx + bl.side * END_FACE_DEPTH_M, bl.z0)))
        c0, c1 = cv.cols(xa, xb)
        r0, r1 = cv.rows(cv.py(bl.height, bl.z0), cv.py(0.0, bl.z0))
        if c0 >= c1 or r0 >= r1:
            continue
        vis = cv.depth[r0:r1, c0:c1] > bl.z0
        np.copyto(cv.albedo[:, r0:r1, c0:c1], rgb(bl.color) * F32(END_FACE_SHADE), where=vis)
        np.copyto(cv.depth[r0:r1, c0:c1], F32(bl.z0), where=vis)
        if not cv.night:
            np.copyto(cv.sun[r0:r1, c0:c1], F32(END_FACE_SUN), where=vis)


def draw_tree(cv: Canvas, t: Tree) -> None:
    """A trunk and a lumpy, shaded crown (a plain disc when it is a few pixels wide)."""
    s = cv.f / t.z
    cx = cv.px(t.x, t.z)
    cy = cv.py(t.trunk + t.crown * CROWN_CENTRE, t.z)
    half = max(TRUNK_HALF_WIDTH_M * s, TRUNK_MIN_HALF_PX)
    c0, c1 = cv.cols(cx - half, cx + half)
    r0, r1 = cv.rows(cv.py(t.trunk + t.crown * TRUNK_INTO_CROWN, t.z), cv.py(0.0, t.z))
    if c0 < c1 and r0 < r1:
        cv.albedo[:, r0:r1, c0:c1] = rgb(BARK)
        cv.depth[r0:r1, c0:c1] = t.z
        cv.sun[r0:r1, c0:c1] = TRUNK_SUN
    rx, ry = t.crown * s, t.crown * s * CROWN_ASPECT
    c0, c1 = cv.cols(cx - rx * CROWN_BOUNDS, cx + rx * CROWN_BOUNDS)
    r0, r1 = cv.rows(cy - ry * CROWN_BOUNDS, cy + ry * CROWN_BOUNDS)
    if c0 >= c1 or r0 >= r1:
        return
    if rx < SMALL_CROWN_PX:  # a few pixels: a plain disc
        dx = (np.arange(c0, c1, dtype=F32) + F32(0.5 - cx))[None, :] / F32(rx)
        dy = (cv.ys[r0:r1, None] - F32(cy)) / F32(ry)
        a = np.clip((1 - np.sqrt(dx * dx + dy * dy)) * F32(rx) + 0.5, 0, 1)
        sub = cv.albedo[:, r0:r1, c0:c1]
        sub += a * (rgb(t.color) * F32(SMALL_CROWN_SHADE) - sub)
        np.copyto(cv.depth[r0:r1, c0:c1], F32(t.z), where=a > 0.5)
        return
    dx = (np.arange(c0, c1, dtype=F32) + F32(0.5 - cx))[None, :] / F32(rx)
    dy = (cv.ys[r0:r1, None] - F32(cy)) / F32(ry)
    g = cv.grain[r0:r1, c0:c1]
    lump_x, lump_y = LUMP_FREQS
    lumps = np.sin(dx * lump_x + t.z) * np.sin(dy * lump_y + t.x)  # big leaf clumps
    rim = 1 + RIM_LUMPS * lumps + RIM_GRAIN * g
    a = np.clip((rim - np.sqrt(dx * dx + dy * dy)) * F32(max(rx, 1.0)) + 0.5, 0, 1)
    under, under_from = CROWN_UNDERSIDE
    detail = (CROWN_GRAIN * g + CROWN_LUMPS * lumps) * min(1.0, rx / CROWN_DETAIL_PX)
    tone = 1.0 - under * np.clip(dy + under_from, 0, 1) + detail
    sub = cv.albedo[:, r0:r1, c0:c1]
    sub += a * (tone * rgb(t.color) - sub)
    solid = a > 0.5
    np.copyto(cv.depth[r0:r1, c0:c1], F32(t.z), where=solid)
    if not cv.night:
        base, toward_sun, toward_top = CROWN_SUN
        lit = base - toward_sun * dx * cv.spec.sun_side - toward_top * dy
        np.copyto(cv.sun[r0:r1, c0:c1], np.clip(lit, CROWN_SUN_MIN, 1.0), where=solid)


def draw_lamp(cv: Canvas, lamp: Lamp, lamps_on: bool, color: Color | None = None) -> None:
    """Pole, arm and head; at night (when on) the head's glow, a wet streak and a light pool,
    in ``color`` (default: the scene's lamp colour)."""
    s = cv.f / lamp.z
    x = cv.px(lamp.x, lamp.z)
    width = POLE_WIDTH_M * s
    alpha = F32(min(1.0, width))
    pole = rgb(POLE)
    c0, c1 = cv.cols(x - max(width, 1) / 2, x + max(width, 1) / 2)
    r0, r1 = cv.rows(cv.py(lamp.height, lamp.z), cv.py(0.0, lamp.z))
    if c0 < c1 and r0 < r1:
        sub = cv.albedo[:, r0:r1, c0:c1]
        sub += alpha * (pole - sub)
        cv.depth[r0:r1, c0:c1] = lamp.z
    hx, hy = cv.px(lamp.x + lamp.arm, lamp.z), cv.py(lamp.height, lamp.z)
    c0, c1 = cv.cols(min(x, hx), max(x, hx))
    r0, r1 = cv.rows(
        hy - max(ARM_ABOVE_M * s, ARM_MIN_HALF_PX), hy + max(ARM_BELOW_M * s, ARM_MIN_HALF_PX)
    )
    if c0 < c1 and r0 < r1:
        sub = cv.albedo[:, r0:r1, c0:c1]
        sub += alpha * (pole - sub)
    hc0, hc1 = cv.cols(hx - LAMP_HEAD_HALF_M * s, hx + LAMP_HEAD_HALF_M * s)
    hr0, hr1 = cv.rows(hy, hy + max(LAMP_HEAD_DEPTH_M * s, LAMP_HEAD_MIN_PX))
    if hc0 < hc1 and hr0 < hr1:
        cv.albedo[:, hr0:hr1, hc0:hc1] = rgb(LAMP_HEAD)
    if cv.night and lamps_on:
        color = cv.spec.lamp_color if color is None else color
        halo = _halo(LAMP_HALO, LAMP_HALO_GAIN, s, cv.u)
        sx, sy = _glow_size(LAMP_GLOW, s, cv.u)
        cv.glow((hx,), hy + LAMP_GLOW_DROP_M * s, sx, sy, color, LAMP_GLOW_GAIN, halo)
        if cv.spec.wet:
            sx, sy = _glow_size(LAMP_REFLECTION, s, cv.u)
            cy = cv.py(0.0, lamp.z + LAMP_REFLECTION_Z_M) + LAMP_REFLECTION_DROP_M * s
            cv.glow((hx,), cy, sx, sy, color, LAMP_REFLECTION_GAIN)
        cv.light_pool(lamp.x + lamp.arm, lamp.z, LAMP_POOL_RADIUS_M, color, LAMP_POOL_GAIN)


def draw_car(cv: Canvas, car: Car) -> None:
    """A vehicle: contact shadow, the side facing the camera's line, the face and its lights."""
    spec = cv.spec
    s = cv.f / car.z
    hw = car.width / 2
    body = np.asarray(car.color, F32)
    boxy = car.kind in BOXY
    if s * car.width < SMALL_CAR_PX:  # a few pixels: a plain box, and its lights at night
        draw_small_car(cv, car)
        return
    if not cv.night and spec.overcast < CONTACT_SHADOW_MAX_OVERCAST:  # contact shadow
        r0g, x, z = cv.ground
        rows = np.nonzero((z > car.z - SHADOW_AHEAD_M) & (z < car.z + car.length))[0]
        zn = max(car.z - SHADOW_AHEAD_M, NEAR_M)
        off = car.x - SHADOW_SHIFT_M * spec.sun_side
        c0, c1 = cv.cols(
            cv.px(off - hw - SHADOW_BOUNDS_M, zn), cv.px(off + hw + SHADOW_BOUNDS_M, zn)
        )
        if rows.size and c0 < c1:
            a, b = int(rows[0]), int(rows[-1]) + 1
            px_per_m = (F32(cv.f) / z[a:b])[:, None]
            inside = np.clip(
                (F32(hw + SHADOW_WIDEN_M) - np.abs(x[a:b, c0:c1] - F32(off))) * px_per_m, 0, 1
            )
            cv.sun[r0g + a : r0g + b, c0:c1] *= 1 - inside
            cv.albedo[:, r0g + a : r0g + b, c0:c1] *= 1 - CONTACT_DARKENING * inside
    # the side facing the camera's line, behind the face: drawn first
    side_x = car.x + (hw if car.x < 0 else -hw)
    if abs(car.x) > hw + SIDE_MIN_OFFSET_M:
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
                box_lo, box_hi = BOX_SIDE
                win_lo, win_hi = BUS_WINDOWS
                shape = (v > box_lo) & (v < box_hi)
                window = (v > win_lo) & (v < win_hi) & (car.kind == "bus")
            else:
                flat, slope = CABIN_TAPER
                side_lo, side_min = CABIN_SIDE
                win_lo, below_roof = SIDE_WINDOW
                taper = np.abs(w_along - 0.5)
                roof = np.where(taper < flat, 1.0, 1.0 - (taper - flat) * slope)
                shape = (v > side_lo) & (v < np.maximum(roof, side_min))
                window = (v > win_lo) & (v < roof - below_roof)
            front, rear, half_len, wheel_h = SIDE_WHEELS
            near_wheel = (np.abs(w_along - front) < half_len) | (np.abs(w_along - rear) < half_len)
            wheel = (v < wheel_h) & near_wheel
            m = (shape | wheel) & valid
            col = np.empty((3, *m.shape), F32)
            col[:] = (body * SIDE_SHADE)[:, None, None]
            col[:, window & m] = np.array(SIDE_GLASS, F32)[:, None]
            col[:, wheel & m] = F32(WHEEL_DARK)
            np.copyto(cv.albedo[:, r0:r1, c0:c1], col, where=m)
            np.copyto(cv.depth[r0:r1, c0:c1], zc, where=m)
            if not cv.night:
                sunny, shaded = SIDE_SUN
                lit = sunny if (side_x > car.x) == (spec.sun_side < 0) else shaded
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
        shape = (au < 1) & (v > BOX_FACE_BOTTOM)
        glass_from, glass_to, glass_u = BOX_GLASS
        g0 = glass_from if car.oncoming or car.kind == "bus" else NO_GLASS
        glass = (v > g0) & (v < glass_to) & (au < glass_u)
    else:
        body_lo, body_hi, face_top = CAR_FACE
        w0, dw, v0, dv = CABIN_WIDTH
        glass_lo, glass_hi, glass_inset = CAR_GLASS
        cabin = w0 - dw * (v - v0) / dv
        shape = ((v > body_lo) & (v < body_hi) & (au < 1)) | (
            (v >= body_hi) & (v < face_top) & (au < cabin)
        )
        glass = (v > glass_lo) & (v < glass_hi) & (au < cabin - glass_inset)
    tyre_h, tyre_in, tyre_out = TYRES
    tyres = (v < tyre_h) & (au > tyre_in) & (au < tyre_out)
    lv0, lv1, lu0, lu1 = HEADLIGHTS if car.oncoming else TAIL_LIGHTS
    lights = (v > lv0) & (v < lv1) & (au > lu0) & (au < lu1)
    m = shape | tyres
    col = np.empty((3, *m.shape), F32)
    col[:] = body[:, None, None]
    bumper_lo, bumper_hi, bumper_shade = BUMPER
    col[:, (v > bumper_lo) & (v < bumper_hi) & (au < 1)] *= F32(bumper_shade)
    col[:, glass & m] = np.array(FACE_GLASS, F32)[:, None]
    if car.oncoming:
        grille_lo, grille_hi, grille_u, grille = GRILLE
        col[:, (v > grille_lo) & (v < grille_hi) & (au < grille_u)] = F32(grille)
    plate_lo, plate_hi, plate_u = PLATE
    col[:, (v > plate_lo) & (v < plate_hi) & (au < plate_u)] = np.array(PLATE_COLOR, F32)[:, None]
    lamp = HEADLAMP_ALBEDO if car.oncoming else TAIL_LAMP_ALBEDO
    col[:, lights & m] = np.array(lamp, F32)[:, None]
    col[:, tyres] = F32(TYRE_DARK)
    np.copyto(cv.albedo[:, r0:r1, c0:c1], col, where=m)
    np.copyto(cv.depth[r0:r1, c0:c1], F32(car.z), where=m)
    if not cv.night:
        np.copyto(cv.sun[r0:r1, c0:c1], F32(FACE_SUN), where=m)
        return
    ly, lxs = _light_positions(cv, car)
    u = cv.u
    if car.oncoming:  # headlights, glare, and their reflection on a wet road
        halo = _halo(HEADLIGHT_HALO, HEADLIGHT_HALO_GAIN, s, u)
        sx, sy = _glow_size(HEADLIGHT_GLOW, s, u)
        cv.glow(lxs, ly, sx, sy, HEADLIGHT, HEADLIGHT_GAIN, halo)
        if spec.wet:
            sx, sy = _glow_size(HEADLIGHT_REFLECTION, s, u)
            cy = yb + HEADLIGHT_REFLECTION_DROP_M * s
            cv.glow(lxs, cy, sx, sy, HEADLIGHT, HEADLIGHT_REFLECTION_GAIN)
    else:  # tail-lights (brighter when braking)
        gain = BRAKE_GAIN if car.braking else 1.0
        halo = _halo(TAIL_HALO, TAIL_HALO_GAIN * gain, s, u)
        sx, sy = _glow_size(TAIL_GLOW, s, u)
        cv.glow(lxs, ly, sx, sy, TAIL_LIGHT, TAIL_GAIN * gain, halo)
        if spec.wet:
            sx, sy = _glow_size(TAIL_REFLECTION, s, u)
            cy = yb + TAIL_REFLECTION_DROP_M * s
            cv.glow(lxs, cy, sx, sy, TAIL_LIGHT, TAIL_REFLECTION_GAIN * gain)
    if car.oncoming:
        ahead, radius, pool_gain = HEADLIGHT_POOL
        cv.light_pool(car.x, car.z - ahead, radius, BEAM_COLOR, pool_gain)
    reach_x, reach_z = EGO_BEAM_REACH
    if abs(car.x) < reach_x and car.z < reach_z:  # lit by the ego car's beams
        beam = EGO_BEAM_GAIN / (1 + (car.z / BEAM_FALLOFF_M) ** 2)
        cv.light[:, r0:r1, c0:c1] += m * (rgb(BEAM_COLOR) * F32(beam))


def _light_positions(cv: Canvas, car: Car) -> tuple[float, tuple[float, float]]:
    """Row and columns of a vehicle's head- (oncoming) or tail-lights."""
    hw = car.width / 2
    head, tail = LIGHT_HEIGHT
    ly = cv.py(car.height * (head if car.oncoming else tail), car.z)
    lxs = (cv.px(car.x - hw * LIGHT_SPREAD, car.z), cv.px(car.x + hw * LIGHT_SPREAD, car.z))
    return ly, lxs


def draw_small_car(cv: Canvas, car: Car) -> None:
    """A distant vehicle: body box with a darker cabin; lights (no halo) at night."""
    hw = car.width / 2
    xl, xr = cv.px(car.x - hw, car.z), cv.px(car.x + hw, car.z)
    yt, yb = cv.py(car.height, car.z), cv.py(0.0, car.z)
    inset = SMALL_CAR_INSET_PX
    c0, c1 = cv.cols(xl + inset, xr - inset)
    r0, r1 = cv.rows(yt + inset, yb - inset)
    if c0 >= c1 or r0 >= r1:
        return
    cv.albedo[:, r0:r1, c0:c1] = rgb(car.color)
    cab = min(r1, r0 + max(1, round((yb - yt) * SMALL_CAB)))
    if cab < r1:
        cv.albedo[:, r0:cab, c0:c1] *= F32(SMALL_CAB_SHADE)
    cv.depth[r0:r1, c0:c1] = car.z
    if not cv.night:
        cv.sun[r0:r1, c0:c1] = FACE_SUN
        return
    s = cv.f / car.z
    ly, lxs = _light_positions(cv, car)
    if car.oncoming:
        sx, sy = _glow_size(HEADLIGHT_GLOW, s, cv.u)
        cv.glow(lxs, ly, sx, sy, HEADLIGHT, SMALL_HEADLIGHT_GAIN)
    else:
        braking, cruising = SMALL_TAIL_GAIN
        sx, sy = _glow_size(TAIL_GLOW, s, cv.u)
        cv.glow(lxs, ly, sx, sy, TAIL_LIGHT, braking if car.braking else cruising)


def draw_scene(
    spec: SceneSpec,
    height: int,
    width: int,
    night: bool,
    lamps_on: bool = True,
    lamp_colors: tuple[Color, ...] | None = None,
) -> Canvas:
    """Draw every object of ``spec``, far to near, onto a new canvas.

    ``lamp_colors``: one colour per lamp of ``spec.lamps`` (default: the scene's lamp colour).
    """
    cv = Canvas(spec, height, width, night)
    colors = {} if lamp_colors is None else dict(zip(map(id, spec.lamps), lamp_colors, strict=True))
    draw_sky_and_skyline(cv)
    draw_ground(cv)
    draw_facades(cv)
    sprites: list[Tree | Lamp | Car] = [*spec.trees, *spec.lamps, *spec.cars]
    for obj in sorted(sprites, key=lambda s: -s.z):  # stable: trees, lamps, cars at equal z
        if obj.z < SPRITE_MIN_Z_M:
            continue
        if isinstance(obj, Tree):
            draw_tree(cv, obj)
        elif isinstance(obj, Lamp):
            draw_lamp(cv, obj, lamps_on, colors.get(id(obj)))
        else:
            draw_car(cv, obj)
    return cv
