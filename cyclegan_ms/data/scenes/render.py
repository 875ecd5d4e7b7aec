"""Day and night rendering: light, sky, haze, sensor noise, tone mapping, and depth.

The public renderers (:func:`render_day`, :func:`render_night`, :func:`render_scene`,
:func:`render_depth`) draw a scene's objects with :func:`~.objects.draw_scene`, then finish the
buffers into an image:

- **day**: ambient plus direct sun (with shadows), a sky with clouds, haze with distance;
- **night**: low ambient light plus the lamps' and vehicles' light, exposure falling with the
  *darkness*, sky glow from light pollution, sensor noise (shot and read noise, worse when
  darker) and a display gamma with a highlight roll-off.

Images are ``uint8`` ``(height, width, 3)``; the depth is the renderer's own depth buffer.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from ..._checks import check_int
from .._alloc import tune_allocator
from .camera import F32
from .drawing import Canvas, interp_matrix, noise_bank, rgb, smoothstep
from .layout import Color, SceneSpec, sample_scene
from .objects import draw_scene
from .options import SceneLook, SceneOptions, SceneOptionsSpec, draw_look, scene_options
from .photo import add_sensor_noise, glare, jpeg_quantise, saturate, surface_texture, tone_curve

__all__ = ["render_day", "render_depth", "render_night", "render_scene"]

# -- day ------------------------------------------------------------------------------------------
SKY_ZENITH: Color = (0.25, 0.45, 0.78)  # clear sky overhead ...
SKY_HORIZON: Color = (0.74, 0.82, 0.90)  # ... and at the horizon
OVERCAST_ZENITH: Color = (0.60, 0.62, 0.66)  # overcast sky overhead ...
OVERCAST_HORIZON: Color = (0.78, 0.79, 0.80)  # ... and at the horizon
SKY_GRADIENT_POWER = 0.6  # horizon-to-zenith blend: height above the horizon to this power
CLOUD_COARSE = (2, 4)  # coarse cloud cells (rows, columns) ...
CLOUD_FINE = (4, 14)  # ... and fine ones, both taken from the scene's cloud field
CLOUD_MIX = (0.65, 0.35)  # weights of the coarse and fine cells
CLOUD_EDGE = (0.72, 0.4)  # cloud threshold: base minus this times the scene's cloudiness
CLOUD_SOFTNESS = 0.22  # width of the cloud edge (field units)
CLOUD_SHADE = (0.12, 0.4, 0.22)  # cloud undersides darken by up to the last between these
CLOUD_COVER = (0.15, 0.85)  # cloud cover at the horizon, plus this much more at the zenith
CLOUD: Color = (0.95, 0.95, 0.96)  # cloud colour ...
CLOUD_OVERCAST_DIM = 0.3  # ... dimmed by this much when overcast
SUN_GAIN = 0.55  # direct sun on a clear day (times 1 - overcast)
DAY_AMBIENT = (0.62, 0.25)  # ambient light: clear, plus this much more when overcast
DAYLIGHT: Color = (1.0, 0.98, 0.94)  # colour of daylight
HAZE: Color = (0.74, 0.80, 0.86)  # haze on a clear day ...
OVERCAST_HAZE: Color = (0.77, 0.78, 0.79)  # ... and when overcast

# -- night ----------------------------------------------------------------------------------------
NIGHT_AMBIENT = (0.03, 0.001)  # ambient light: a * (1 - darkness)^2 + b
MOONLIGHT: Color = (0.8, 0.9, 1.1)  # colour of the ambient light
EXPOSURE = (3.0, 0.65)  # exposure: a * (1 - b * darkness)
FOG: Color = (0.02, 0.018, 0.016)  # night haze, times light pollution
SKY_GLOW: Color = (0.05, 0.035, 0.022)  # sky glow at the horizon, times light pollution ...
SKY_GLOW_FALLOFF = 4  # ... falling off as exp(-this * height above the horizon)
NIGHT_SKY: Color = (0.004, 0.006, 0.014)  # the dark sky
NIGHT_SKY_LEVEL = 1.2  # the sky is multiplied by this minus the darkness
SHOT_NOISE = (0.004, 0.01)  # shot-noise variance per unit signal: a + b * darkness
READ_NOISE = (0.0006, 0.0025)  # read-noise deviation: a + b * darkness
LUT_STEPS = 1024  # lookup entries per unit of sqrt(linear light)
LUT_RANGE = 2  # the lookup table covers sqrt(linear light) in [0, LUT_RANGE]
ROLL_OFF = 0.15  # highlight roll-off: v / sqrt(1 + ROLL_OFF * v^2)

# -- render options (SceneOptions) -----------------------------------------------------------------
TEXTURE_COLOR = 0.15  # the colour variation of the texture is this times its brightness amplitude
DAY_LUT_STEPS = 4095  # options' day tone curve: lookup entries over [0, 1]


@lru_cache(maxsize=1)
def _night_lut() -> np.ndarray:
    """uint8 display value of ``v = sqrt(linear)``: ``v / sqrt(1 + 0.15 v^2)`` (roll-off)."""
    v = np.arange(LUT_RANGE * LUT_STEPS + 1, dtype=np.float64) / LUT_STEPS
    out = v / np.sqrt(1 + ROLL_OFF * v * v)
    return np.clip(np.rint(out * 255), 0, 255).astype(np.uint8)


@lru_cache(maxsize=512)
def _night_tone_lut(gamma: float, contrast: float) -> np.ndarray:
    """:func:`_night_lut` followed by a tone curve (in float, rounded once)."""
    v = np.arange(LUT_RANGE * LUT_STEPS + 1, dtype=np.float64) / LUT_STEPS
    out = tone_curve(v / np.sqrt(1 + ROLL_OFF * v * v), gamma, contrast)
    return np.clip(np.rint(out * 255), 0, 255).astype(np.uint8)


@lru_cache(maxsize=512)
def _day_tone_lut(gamma: float, contrast: float) -> np.ndarray:
    """uint8 display value of ``DAY_LUT_STEPS + 1`` steps over [0, 1] after a tone curve."""
    x = np.arange(DAY_LUT_STEPS + 1, dtype=np.float64) / DAY_LUT_STEPS
    return np.clip(np.rint(tone_curve(x, gamma, contrast) * 255), 0, 255).astype(np.uint8)


def _layout(
    spec: SceneSpec,
    height: int,
    width: int,
    night: bool,
    lamps_on: bool = True,
    look: SceneLook | None = None,
) -> Canvas:
    tune_allocator()  # once per process: ~1.5x faster rendering (see cyclegan_ms.data._alloc)
    if look is None:
        return draw_scene(spec, height, width, night, lamps_on)
    cv = draw_scene(spec, height, width, night, lamps_on, look.lamp_colors)
    amp = look.options.texture
    if amp > 0:  # fractal texture on every surface: brightness, and a slower warm/cool colour
        lum, col = surface_texture(height, width, look.texture_start)
        cv.albedo *= lum * F32(amp) + F32(1)
        col = col * F32(amp * TEXTURE_COLOR)
        cv.albedo[0] *= 1 + col
        cv.albedo[2] *= 1 - col
    return cv


def _sky_rows(cv: Canvas) -> int:
    return min(cv.h, math.ceil(cv.yh) + 1)


def _sky_day(cv: Canvas, rows: int) -> np.ndarray:
    spec = cv.spec
    t = np.clip((F32(cv.yh) - cv.ys[:rows]) / F32(max(cv.yh, 1.0)), 0, 1)[:, None]
    oc = spec.overcast
    zenith = rgb(SKY_ZENITH) * (1 - oc) + rgb(OVERCAST_ZENITH) * oc
    horizon = rgb(SKY_HORIZON) * (1 - oc) + rgb(OVERCAST_HORIZON) * oc
    sky = horizon + (zenith - horizon) * t**SKY_GRADIENT_POWER
    c = np.asarray(spec.clouds, F32)
    (cr, cc), (fr, fc) = CLOUD_COARSE, CLOUD_FINE  # fine cells: rows [0, fr), coarse: next cr
    coarse = interp_matrix(rows, cr) @ c[fr : fr + cr, :cc] @ interp_matrix(cv.w, cc).T
    fine = interp_matrix(rows, fr) @ c[:fr, :fc] @ interp_matrix(cv.w, fc).T
    field = CLOUD_MIX[0] * coarse + CLOUD_MIX[1] * fine
    edge = CLOUD_EDGE[0] - CLOUD_EDGE[1] * spec.cloudiness
    horizon_cover, cover_gain = CLOUD_COVER
    cover = smoothstep(edge, edge + CLOUD_SOFTNESS, field) * (horizon_cover + cover_gain * t)
    shade_from, shade_to, shade_depth = CLOUD_SHADE
    shade = 1.0 - shade_depth * smoothstep(edge + shade_from, edge + shade_to, field)
    cloud = rgb(CLOUD) * (1 - CLOUD_OVERCAST_DIM * oc) * shade
    return sky + cover * (cloud - sky)


def _finish_day(cv: Canvas, look: SceneLook | None = None) -> np.ndarray:
    spec = cv.spec
    oc = spec.overcast
    sun_gain, ambient = SUN_GAIN * (1 - oc), DAY_AMBIENT[0] + DAY_AMBIENT[1] * oc
    light = F32(ambient) + F32(sun_gain) * cv.sun
    daylight = rgb(DAYLIGHT) if look is None else rgb(DAYLIGHT) * rgb(look.daylight)
    img = cv.albedo * light * daylight
    haze_col = rgb(HAZE) * (1 - oc) + rgb(OVERCAST_HAZE) * oc
    haze = 1 - np.exp(cv.depth * F32(-1 / spec.visibility))  # 1 in the sky
    img += haze * (haze_col - img)
    rows = _sky_rows(cv)
    if rows > 0:
        is_sky = np.isinf(cv.depth[:rows])
        img[:, :rows] += is_sky * (_sky_day(cv, rows) - haze_col)
    return img


def _finish_night(
    cv: Canvas, darkness: float, rng: np.random.Generator, look: SceneLook | None = None
) -> np.ndarray:
    """Expose, add sensor noise and tone-map the night buffers: ``uint8 (3, H, W)``."""
    spec = cv.spec
    d = float(np.clip(darkness, 0.0, 1.0))
    ambient = NIGHT_AMBIENT[0] * (1 - d) ** 2 + NIGHT_AMBIENT[1]
    exposure = F32(EXPOSURE[0] * (1 - EXPOSURE[1] * d))
    cv.light += F32(ambient) * rgb(MOONLIGHT)
    lin = cv.albedo * cv.albedo  # display -> linear (gamma 2)
    lin *= cv.light
    fog = rgb(FOG) * spec.light_pollution
    haze = 1 - np.exp(cv.depth * F32(-1 / spec.visibility))
    lin += haze * (fog - lin)
    rows = _sky_rows(cv)
    if rows > 0:
        t = np.clip((F32(cv.yh) - cv.ys[:rows]) / F32(max(cv.yh, 1.0)), 0, 1)[:, None]
        glow = rgb(SKY_GLOW) * spec.light_pollution
        sky = (rgb(NIGHT_SKY) + glow * np.exp(-SKY_GLOW_FALLOFF * t)) * F32(NIGHT_SKY_LEVEL - d)
        lin[:, :rows] += np.isinf(cv.depth[:rows]) * (sky - fog)
    lin += cv.emit
    if look is not None and look.glare > 0:
        lin += glare(cv.emit) * F32(look.glare)
    lin *= exposure
    if look is not None:
        return _camera_night(lin, d, rng, look)
    # sensor noise: shot noise (signal dependent) plus read noise, both worse when darker
    shot, read = SHOT_NOISE[0] + SHOT_NOISE[1] * d, READ_NOISE[0] + READ_NOISE[1] * d
    n = lin.size
    bank = noise_bank()
    if n <= bank.size:
        start = int(rng.integers(0, bank.size - n + 1))
        noise = bank[start : start + n].reshape(lin.shape)
    else:
        noise = rng.standard_normal(lin.shape, dtype=F32)
    np.maximum(lin, 0, out=lin)
    lin += noise * np.sqrt(lin * F32(shot) + F32(read * read))
    np.maximum(lin, 0, out=lin)
    # display: gamma (sqrt), then a highlight roll-off and 8 bits, through a lookup table
    return _night_lut().take(lut_index(lin))


def lut_index(lin: np.ndarray) -> np.ndarray:
    """Indices of the night's display lookup tables for linear light ``lin`` (any shape; it is
    overwritten): the gamma (square root) on a grid of ``LUT_STEPS`` per unit, clipped."""
    np.sqrt(lin, out=lin)
    lin *= F32(LUT_STEPS)
    lin += F32(0.5)
    idx = lin.astype(np.int32)
    np.minimum(idx, LUT_STEPS * LUT_RANGE, out=idx)
    return idx


def _camera_night(
    lin: np.ndarray, d: float, rng: np.random.Generator, look: SceneLook
) -> np.ndarray:
    """The night's camera under render options: white balance, the sensor's noise, saturation,
    tone curve and JPEG, from exposed linear light ``(3, H, W)`` to ``uint8 (3, H, W)``."""
    o = look.options
    lin *= rgb(look.wb)
    k = look.noise_gain
    add_sensor_noise(
        lin,
        rng,
        shot=(SHOT_NOISE[0] + SHOT_NOISE[1] * d) * k * k,
        read=(READ_NOISE[0] + READ_NOISE[1] * d) * k,
        gains=look.raw_gains,
        demosaic=o.demosaic,
        chroma=o.chroma_noise,
    )
    if look.saturation != 1.0:
        saturate(lin, look.saturation)
        np.maximum(lin, 0, out=lin)
    out = _night_tone_lut(look.gamma, look.contrast).take(lut_index(lin))
    if look.jpeg_quality is not None:
        out = jpeg_quantise(out, look.jpeg_quality)
    return out


def _camera_day(img: np.ndarray, look: SceneLook) -> np.ndarray:
    """The day's camera under render options: white balance, saturation and tone curve, from
    display values ``(3, H, W)`` to ``uint8 (3, H, W)`` (no noise: the targets stay clean)."""
    img *= rgb(np.sqrt(look.wb))  # display values are about the square root of linear light
    if look.saturation != 1.0:
        saturate(img, look.saturation)
    np.clip(img, 0, 1, out=img)
    img *= F32(DAY_LUT_STEPS)
    img += F32(0.5)
    return _day_tone_lut(look.gamma, look.contrast).take(img.astype(np.int32))


def _look(options: SceneOptions | None, spec: SceneSpec) -> SceneLook | None:
    return None if options is None or options.is_default else draw_look(options, spec)


def _to_uint8(img: np.ndarray) -> np.ndarray:
    np.clip(img, 0, 1, out=img)
    img *= 255
    img += 0.5
    return img.astype(np.uint8)


def to_hwc(img: np.ndarray) -> np.ndarray:
    """A contiguous ``(H, W, C)`` copy of a ``(C, H, W)`` render."""
    return np.ascontiguousarray(img.transpose(1, 2, 0))


def render_day_chw(
    spec: SceneSpec, height: int, width: int, options: SceneOptions | None = None
) -> np.ndarray:
    """Day render, ``uint8`` of shape ``(3, height, width)``, under render ``options``."""
    look = _look(options, spec)
    if look is None:
        return _to_uint8(_finish_day(_layout(spec, height, width, night=False)))
    return _camera_day(_finish_day(_layout(spec, height, width, False, look=look), look), look)


def render_night_chw(
    spec: SceneSpec,
    height: int,
    width: int,
    darkness: float,
    options: SceneOptions | None = None,
) -> np.ndarray:
    """Night render at ``darkness``, ``uint8`` of shape ``(3, height, width)``, under render
    ``options``."""
    look = _look(options, spec)
    lamps_on = darkness <= spec.lamps_off_above
    cv = _layout(spec, height, width, night=True, lamps_on=lamps_on, look=look)
    rng = np.random.default_rng([spec.noise_seed, height, width])
    return _finish_night(cv, darkness, rng, look)


def check_size(height: int, width: int | None) -> tuple[int, int]:
    """``(height, width)`` as checked ints; ``width=None`` gives a square."""
    h = check_int(height, "height", 1)
    w = h if width is None else check_int(width, "width", 1)
    return h, w


def resolve_darkness(spec: SceneSpec, darkness: float | None, lo_hi: tuple[float, float]) -> float:
    """``darkness`` if given (checked to lie in [0, 1]), else the scene's own draw in ``lo_hi``."""
    if darkness is not None:
        if not 0.0 <= darkness <= 1.0:
            raise ValueError(f"darkness must be in [0, 1] (0 dusk, 1 extreme); got {darkness!r}")
        return float(darkness)
    lo, hi = lo_hi
    return lo + (hi - lo) * spec.darkness_u


def check_darkness_range(r: tuple[float, float]) -> tuple[float, float]:
    """``(low, high)`` floats with ``0 <= low <= high <= 1``, else ``ValueError``."""
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
    h, w = check_size(height, width)
    return to_hwc(render_day_chw(_spec(index, seed), h, w))


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
    h, w = check_size(height, width)
    spec = _spec(index, seed)
    d = resolve_darkness(spec, darkness, check_darkness_range(darkness_range))
    return to_hwc(render_night_chw(spec, h, w, d))


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
    h, w = check_size(height, width)
    return _layout(_spec(index, seed), h, w, night=False).depth.copy()


def render_scene(
    index: int | SceneSpec,
    *,
    height: int = 256,
    width: int | None = None,
    seed: int = 0,
    darkness: float | None = None,
    darkness_range: tuple[float, float] = (0.0, 1.0),
    options: SceneOptionsSpec = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Render the same scene by night and by day (an aligned ground-truth pair).

    Parameters are those of :func:`render_night`, and:

    Parameters
    ----------
    options
        Render options that widen the scenes toward real photographs: a
        :class:`~cyclegan_ms.data.scenes.options.SceneOptions`, a bundle name (``"photo"``) or a
        table of options (see :func:`~cyclegan_ms.data.scenes.options.scene_options`). Default:
        none, the plain renderer. The night and the day share the scene's camera (white balance,
        tone curve, saturation).

    Returns
    -------
    tuple of numpy.ndarray
        ``(night, day)``, each ``uint8`` of shape ``(height, width, 3)``.

    Raises
    ------
    ValueError
        For a bad size, darkness or options.
    """
    h, w = check_size(height, width)
    opts = scene_options(options)
    spec = _spec(index, seed)
    d = resolve_darkness(spec, darkness, check_darkness_range(darkness_range))
    return to_hwc(render_night_chw(spec, h, w, d, opts)), to_hwc(render_day_chw(spec, h, w, opts))
