"""Render options that widen the scenes toward real photographs, and their per-scene draws.

The built-in scenes look like one camera under one light: a fixed daylight, sodium or LED lamps,
one tone curve, one kind of sensor noise and flat surfaces. A model trained on them alone paints
their palette onto real photographs. :class:`SceneOptions` widens each of these, every option off
by default (the default renders are bit-identical to the renderer without options):

- **light**: the daylight's colour temperature (``daylight_kelvin``); street lamps of mixed
  kinds, each its own colour (``lamp_mix``) and brightness (``lamp_gain``); veiling glare around
  the lights (``glare``);
- **camera**: a white-balance error (``white_balance``), a camera response (``tone``: gamma and
  contrast), a colour rendering (``saturation``);
- **sensor** (night only): noise added to the raw channels before the white balance gains, so
  red and blue are noisier (``raw_noise``), a range of ISO (``noise_gain``), noise correlated
  over neighbouring pixels and channels as demosaicing makes it (``demosaic``), low-frequency
  colour blotches as a denoiser leaves them (``chroma_noise``), JPEG quantisation
  (``jpeg_quality``);
- **surfaces**: multi-octave (fractal) texture on every surface (``texture``).

Each scene draws its own values within these ranges (:class:`SceneLook`, :func:`draw_look`), from
a stream of its own: a pure function of the scene, shared by its night and day renders (one
camera, so held-out pairs stay aligned in colour), independent of the layout's draws and of the
night's sensor noise. The day images (the translation targets) get no sensor noise and no JPEG.

Named bundles (:data:`SCENE_OPTION_BUNDLES`): ``"default"`` (all off) and ``"photo"`` (the
useful ones on). :func:`scene_options` resolves a bundle name, a table of fields (optionally on
top of a ``bundle``) or a :class:`SceneOptions`:

>>> opts = scene_options({"bundle": "photo", "jpeg_quality": None})
>>> opts.texture > 0, opts.jpeg_quality is None
(True, True)
>>> scene_options("default").is_default
True
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from .layout import LED_LAMP, SODIUM_LAMP, Color, SceneSpec

__all__ = [
    "SCENE_OPTION_BUNDLES",
    "SceneLook",
    "SceneOptions",
    "SceneOptionsSpec",
    "draw_look",
    "kelvin_tint",
    "scene_options",
]

OPTIONS_RNG_TAG = 0x0F7105  # last word of a scene's options stream ``[index, ox, oy, tag]``
FIXED_DRAWS = 12  # uniform draws every scene makes first (one slot per option), then the lamps'

# -- light ----------------------------------------------------------------------------------------
REFERENCE_KELVIN = 6000.0  # the renderer's fixed daylight is taken to be this colour temperature
MIRED_RED, MIRED_BLUE = 0.0017, 0.0027  # log gain of red (+) and blue (-) per mired of warming
KELVIN_LIMITS = (1500.0, 20000.0)  # colour temperatures accepted (K)
#: lamp kinds a mixed street draws from: sodium, cool LED, warm LED, metal halide, mercury vapour
LAMP_PALETTE: tuple[Color, ...] = (
    SODIUM_LAMP,
    LED_LAMP,
    (1.0, 0.80, 0.58),
    (1.0, 0.92, 0.80),
    (0.80, 1.0, 0.92),
)
LAMP_TINT_JITTER = 0.06  # each lamp's colour is jittered by up to this much per channel

# -- camera ---------------------------------------------------------------------------------------
CONTRAST_PER_TONE = 2.0  # the S-curve's strength is up to this times ``tone`` (capped below)
MAX_CONTRAST = 0.6  # |S-curve strength| stays below this (the curve stays monotonic)
TONE_LEVELS = 8  # gamma and contrast take 2 * this + 1 levels (their lookup tables are cached)
RAW_GAIN_RED = (1.6, 2.4)  # white-balance gains of a sensor's red channel under daylight ...
RAW_GAIN_BLUE = (1.3, 2.1)  # ... and of its blue channel (green is 1)

# -- bundles --------------------------------------------------------------------------------------
PHOTO_JPEG_QUALITY = (55, 95)


@dataclass(frozen=True)
class SceneOptions:
    """Render options of the built-in scenes; every one off by default.

    Attributes
    ----------
    daylight_kelvin
        ``(low, high)``: each scene's daylight has a colour temperature drawn between these (K,
        uniform in mired; the fixed daylight is about 6000 K). ``None``: the fixed daylight.
    lamp_mix
        Probability in [0, 1] that a street lamp is of its own kind (sodium, cool or warm LED,
        metal halide, mercury vapour; each colour jittered) rather than the scene's.
    lamp_gain
        ``(low, high)``: each lamp's brightness is scaled by a factor drawn between these.
    glare
        Veiling glare: each night adds up to this fraction of its lights' energy as a wide glow.
    white_balance
        White-balance error: the red and blue gains of each scene's camera are off by up to this
        many stops each (both night and day; 0: none).
    tone
        Camera response variety: each scene's tone curve has a gamma of ``2 ** u`` and an S-curve
        of strength up to ``CONTRAST_PER_TONE * tone``, ``u`` drawn in ``[-tone, tone]``.
    saturation
        ``(low, high)``: each scene's colours are scaled away from grey by a factor drawn
        between these (1: unchanged).
    raw_noise
        Night: the sensor noise is added to the raw channels, before the camera's white-balance
        gains, so red and blue are noisier than green as in a real camera.
    noise_gain
        Night: ``(low, high)``: the sensor noise's deviation is scaled by a factor drawn
        log-uniformly between these (ISO variety).
    demosaic
        Night: the noise is correlated over 2 x 2 pixels and between channels, as demosaicing
        makes it.
    chroma_noise
        Night: low-frequency colour noise (blotches of about 8 pixels), with this deviation
        relative to the pixel noise.
    jpeg_quality
        Night: ``(low, high)`` within [1, 100]: the image is JPEG-quantised (4:2:0 chroma, IJG
        tables) at a quality drawn between these. ``None``: not compressed.
    texture
        Relative amplitude of a multi-octave (fractal) texture on every surface's albedo, and of
        a slower colour variation (greener, yellower), both night and day.

    Raises
    ------
    ValueError
        For a value out of range (the message names the option and what is accepted).
    """

    daylight_kelvin: tuple[float, float] | None = None
    lamp_mix: float = 0.0
    lamp_gain: tuple[float, float] = (1.0, 1.0)
    glare: float = 0.0
    white_balance: float = 0.0
    tone: float = 0.0
    saturation: tuple[float, float] = (1.0, 1.0)
    raw_noise: bool = False
    noise_gain: tuple[float, float] = (1.0, 1.0)
    demosaic: bool = False
    chroma_noise: float = 0.0
    jpeg_quality: tuple[int, int] | None = None
    texture: float = 0.0

    def __post_init__(self) -> None:
        if self.daylight_kelvin is not None:
            lo, hi = KELVIN_LIMITS
            _set(self, "daylight_kelvin", _range(self.daylight_kelvin, "daylight_kelvin", lo, hi))
        _set(self, "lamp_mix", _number(self.lamp_mix, "lamp_mix", 0.0, 1.0))
        _set(self, "lamp_gain", _range(self.lamp_gain, "lamp_gain", 0.0, math.inf))
        _set(self, "glare", _number(self.glare, "glare", 0.0, 1.0))
        _set(self, "white_balance", _number(self.white_balance, "white_balance", 0.0, 2.0))
        _set(self, "tone", _number(self.tone, "tone", 0.0, 1.0))
        _set(self, "saturation", _range(self.saturation, "saturation", 0.0, 3.0))
        _set(self, "raw_noise", _flag(self.raw_noise, "raw_noise"))
        _set(self, "noise_gain", _range(self.noise_gain, "noise_gain", 0.0, 16.0, open_lo=True))
        _set(self, "demosaic", _flag(self.demosaic, "demosaic"))
        _set(self, "chroma_noise", _number(self.chroma_noise, "chroma_noise", 0.0, 4.0))
        if self.jpeg_quality is not None:
            q = self.jpeg_quality
            ok = (
                isinstance(q, (tuple, list))
                and len(q) == 2
                and all(isinstance(v, int) and not isinstance(v, bool) for v in q)
                and 1 <= q[0] <= q[1] <= 100
            )
            if not ok:
                raise ValueError(
                    "jpeg_quality must be (low, high) integers with 1 <= low <= high <= 100, "
                    f"or None (no JPEG); got {q!r}"
                )
            _set(self, "jpeg_quality", (int(q[0]), int(q[1])))
        _set(self, "texture", _number(self.texture, "texture", 0.0, 1.0))

    @property
    def is_default(self) -> bool:
        """Whether every option is off (the renders are those of the plain renderer)."""
        return self == SceneOptions()


def _set(obj: SceneOptions, name: str, value: object) -> None:
    object.__setattr__(obj, name, value)


def _number(value: object, name: str, lo: float, hi: float) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or not lo <= value <= hi
    ):
        raise ValueError(f"{name} must be a number in [{lo:g}, {hi:g}]; got {value!r}")
    return float(value)


def _flag(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false; got {value!r}")
    return value


def _range(
    value: object, name: str, lo: float, hi: float, *, open_lo: bool = False
) -> tuple[float, float]:
    ok = (
        isinstance(value, (tuple, list))
        and len(value) == 2
        and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
            for v in value
        )
    )
    if ok:
        a, b = float(value[0]), float(value[1])  # type: ignore[index]
        ok = (lo < a if open_lo else lo <= a) and a <= b <= hi
    if not ok:
        bound = f"{lo:g} < low" if open_lo else f"{lo:g} <= low"
        top = "" if math.isinf(hi) else f" <= {hi:g}"
        raise ValueError(f"{name} must be (low, high) with {bound} <= high{top}; got {value!r}")
    return a, b


#: Named bundles of options: ``"default"`` (all off) and ``"photo"`` (the options that widen the
#: scenes toward real photographs).
SCENE_OPTION_BUNDLES: dict[str, SceneOptions] = {
    "default": SceneOptions(),
    "photo": SceneOptions(
        daylight_kelvin=(4500.0, 8500.0),
        lamp_mix=0.5,
        lamp_gain=(0.6, 1.6),
        glare=0.12,
        white_balance=0.3,
        tone=0.25,
        saturation=(0.8, 1.4),
        raw_noise=True,
        noise_gain=(0.6, 1.6),
        demosaic=True,
        chroma_noise=0.3,
        jpeg_quality=PHOTO_JPEG_QUALITY,
        texture=0.12,
    ),
}

#: What :func:`scene_options` accepts: a bundle name, a table of fields (with an optional
#: ``bundle`` key they apply on top of), a :class:`SceneOptions`, or ``None`` (the defaults).
SceneOptionsSpec = str | Mapping[str, object] | SceneOptions | None


def scene_options(spec: SceneOptionsSpec) -> SceneOptions:
    """Resolve a bundle name, a table of fields or a :class:`SceneOptions` into options.

    Parameters
    ----------
    spec
        ``None`` (all off); a bundle name from :data:`SCENE_OPTION_BUNDLES` (``"photo"``); a
        mapping of :class:`SceneOptions` fields, optionally with ``bundle = "<name>"`` that the
        other fields override (as a TOML table: ``{bundle = "photo", texture = 0.3}``); or
        :class:`SceneOptions` itself.

    Raises
    ------
    ValueError
        For an unknown bundle or field (with the accepted ones and a close match) or a bad value.

    Examples
    --------
    >>> scene_options({"texture": 0.3}).texture
    0.3
    >>> scene_options("phot")
    Traceback (most recent call last):
        ...
    ValueError: unknown scene options bundle 'phot' (did you mean 'photo'?); accepted: default, photo
    """
    if spec is None:
        return SceneOptions()
    if isinstance(spec, SceneOptions):
        return spec
    if isinstance(spec, str):
        return _bundle(spec)
    if not isinstance(spec, Mapping):
        raise ValueError(
            "scene options must be a bundle name ('default', 'photo'), a table of options or "
            f"SceneOptions; got {spec!r}"
        )
    fields = {f.name for f in dataclasses.fields(SceneOptions)}
    base = SceneOptions()
    changes: dict[str, object] = {}
    for key, value in spec.items():
        if key == "bundle":
            if not isinstance(value, str):
                raise ValueError(f"scene options: bundle must be a bundle name; got {value!r}")
            base = _bundle(value)
        elif key in fields:
            changes[key] = value
        else:
            close = difflib.get_close_matches(str(key), [*fields, "bundle"], n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(
                f"unknown scene option {key!r}{hint}; accepted: bundle, {', '.join(sorted(fields))}"
            )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def _bundle(name: str) -> SceneOptions:
    if name not in SCENE_OPTION_BUNDLES:
        close = difflib.get_close_matches(name, list(SCENE_OPTION_BUNDLES), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(
            f"unknown scene options bundle {name!r}{hint}; accepted: "
            + ", ".join(SCENE_OPTION_BUNDLES)
        )
    return SCENE_OPTION_BUNDLES[name]


def kelvin_tint(kelvin: float, reference: float = REFERENCE_KELVIN) -> Color:
    """RGB gains (green 1) that turn light of ``reference`` K into light of ``kelvin`` K.

    A first-order fit of the Planckian locus in mired (``1e6 / K``): warmer light has more red
    and less blue.

    >>> r, g, b = kelvin_tint(3000.0)
    >>> r > g > b
    True
    """
    warming = 1e6 / kelvin - 1e6 / reference
    return (math.exp(MIRED_RED * warming), 1.0, math.exp(-MIRED_BLUE * warming))


@dataclass(frozen=True)
class SceneLook:
    """One scene's draws within :class:`SceneOptions` (neutral values for options that are off).

    Attributes
    ----------
    options
        The options drawn from.
    daylight
        RGB gains of the daylight (1: the fixed daylight).
    lamp_colors
        Colour (times brightness) of each of the scene's street lamps, in the order of
        ``spec.lamps``; ``None``: the scene's own lamp colour for all.
    glare
        Fraction of the lights' energy added as veiling glare.
    wb
        RGB gains of the white-balance error, in linear light.
    gamma, contrast
        The tone curve: ``x ** gamma``, then an S-curve of this strength (each one of
        ``2 * TONE_LEVELS + 1`` levels).
    saturation
        Saturation factor.
    raw_gains
        The sensor's white-balance gains that amplify the raw noise (red and blue above green,
        geometric mean 1).
    noise_gain
        Factor on the noise's deviation.
    jpeg_quality
        JPEG quality of the night image, ``None``: none.
    texture_start
        Offset into the fixed bank of normal samples the texture's octaves come from.
    """

    options: SceneOptions
    daylight: Color
    lamp_colors: tuple[Color, ...] | None
    glare: float
    wb: Color
    gamma: float
    contrast: float
    saturation: float
    raw_gains: Color
    noise_gain: float
    jpeg_quality: int | None
    texture_start: int


def _level(u: float) -> float:
    """``u`` in [0, 1) to one of ``2 * TONE_LEVELS + 1`` levels in [-1, 1]."""
    return round((2 * u - 1) * TONE_LEVELS) / TONE_LEVELS


def draw_look(options: SceneOptions, spec: SceneSpec) -> SceneLook:
    """Draw scene ``spec``'s look within ``options`` (a pure function of the scene).

    The stream is seeded by the scene's id and grain offset (which the world seed sets), not by
    its sensor-noise seed, so the frames of a drive share one look. Every option has a fixed slot
    of the stream, so turning one option on does not change the draws of another.
    """
    ox, oy = spec.tex_offset
    rng = np.random.default_rng([spec.index, ox, oy, OPTIONS_RNG_TAG])
    u = rng.random(FIXED_DRAWS).tolist()
    o = options
    daylight: Color = (1.0, 1.0, 1.0)
    if o.daylight_kelvin is not None:
        m_lo, m_hi = (1e6 / k for k in o.daylight_kelvin)
        daylight = kelvin_tint(1e6 / (m_hi + (m_lo - m_hi) * u[0]))
    lamp_colors: tuple[Color, ...] | None = None
    if (o.lamp_mix > 0 or o.lamp_gain != (1.0, 1.0)) and spec.lamps:
        g_lo, g_hi = o.lamp_gain
        draws = rng.random((len(spec.lamps), 6))
        own = draws[:, 0] < o.lamp_mix
        kinds = np.asarray(LAMP_PALETTE)[(draws[:, 1] * len(LAMP_PALETTE)).astype(int)]
        jitter = 1 + LAMP_TINT_JITTER * (2 * draws[:, 3:] - 1)
        colors = np.where(own[:, None], np.minimum(kinds * jitter, 1.0), spec.lamp_color)
        colors *= (g_lo + (g_hi - g_lo) * draws[:, 2])[:, None]
        lamp_colors = tuple((r, g, b) for r, g, b in colors.tolist())
    wb_r = 2.0 ** (o.white_balance * (2 * u[1] - 1))
    wb_b = 2.0 ** (o.white_balance * (2 * u[2] - 1))
    t = o.tone * _level(u[3])
    contrast = max(-MAX_CONTRAST, min(MAX_CONTRAST, CONTRAST_PER_TONE * o.tone * _level(u[4])))
    s_lo, s_hi = o.saturation
    n_lo, n_hi = o.noise_gain
    q = None
    if o.jpeg_quality is not None:
        q_lo, q_hi = o.jpeg_quality
        q = min(q_hi, q_lo + int(u[8] * (q_hi - q_lo + 1)))
    raw = (1.0, 1.0, 1.0)
    if o.raw_noise:  # normalised to a geometric mean of 1: the noise moves between channels
        red = RAW_GAIN_RED[0] + (RAW_GAIN_RED[1] - RAW_GAIN_RED[0]) * u[9]
        blue = RAW_GAIN_BLUE[0] + (RAW_GAIN_BLUE[1] - RAW_GAIN_BLUE[0]) * u[10]
        mean = (red * blue) ** (1 / 3)
        raw = (red / mean, 1 / mean, blue / mean)
    return SceneLook(
        options=o,
        daylight=daylight,
        lamp_colors=lamp_colors,
        glare=o.glare * u[5],
        wb=(wb_r, 1.0, wb_b),
        gamma=2.0**t,
        contrast=contrast,
        saturation=s_lo + (s_hi - s_lo) * u[6],
        raw_gains=raw,
        noise_gain=n_lo * (n_hi / n_lo) ** u[7],
        jpeg_quality=q,
        texture_start=int(u[11] * (1 << 30)),
    )
