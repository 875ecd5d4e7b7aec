"""Rasterisation primitives: the per-pixel buffers of a scene and what draws into them.

A :class:`Canvas` is a :class:`~.camera.Camera` plus channel-first float32 buffers (albedo,
depth, direct sun by day, light and emission by night), filled far to near by
:mod:`~cyclegan_ms.data.scenes.objects`. This module also holds the light primitives
(:meth:`Canvas.glow` for lights seen directly, :meth:`Canvas.light_pool` for light on the
ground) and small helpers: colours as broadcastable arrays, smooth steps, smooth upsampling
matrices, the fixed screen-space grain and the fixed bank of normal samples.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .camera import F32, Camera
from .layout import Color, SceneSpec

__all__: list[str] = []

GRAIN_SEED = 1234  # seed of the fixed screen-space grain
GRAIN_PAD = 64  # the grain is this much larger than the image: per-scene offsets below it
NOISE_BANK_SEED = 4321  # seed of the bank of normal samples the sensor noise is drawn from
NOISE_BANK_SIZE = 1 << 20  # its size; larger images draw fresh noise
GLOW_MIN_SIGMA_PX = 0.35  # a light is never narrower than this; smaller ones are dimmed instead
GLOW_EXTENT_SIGMAS = 3  # a glow is drawn out to this many standard deviations
POOL_EXTENT_RADII = 2.5  # a light pool is drawn out to this many radii along the road
NEAR_M = 0.5  # nothing nearer than this distance (m) is drawn on the ground or facades


@lru_cache(maxsize=8)
def grain(height: int, width: int) -> np.ndarray:
    """Fixed screen-space grain in [-1, 1], padded by ``GRAIN_PAD`` for per-scene offsets."""
    rng = np.random.default_rng(GRAIN_SEED)
    return rng.uniform(-1, 1, (height + GRAIN_PAD, width + GRAIN_PAD)).astype(F32)


@lru_cache(maxsize=1)
def noise_bank() -> np.ndarray:
    """A fixed bank of standard normal samples (noise and textures are random windows of it)."""
    return np.random.default_rng(NOISE_BANK_SEED).standard_normal(NOISE_BANK_SIZE, dtype=F32)


def interp_matrix(n_out: int, n_in: int) -> np.ndarray:
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


def smoothstep(e0: float, e1: float, x: np.ndarray) -> np.ndarray:
    """0 below ``e0``, 1 above ``e1``, a smooth (C1) ramp between."""
    t = np.clip((x - F32(e0)) * F32(1 / (e1 - e0)), 0, 1)
    return t * t * (3 - 2 * t)


def rgb(c: Color | np.ndarray) -> np.ndarray:
    """A colour shaped (3, 1, 1) to broadcast over channel-first (3, H, W) buffers."""
    return np.asarray(c, F32).reshape(3, 1, 1)


class Canvas(Camera):
    """Channel-first per-pixel buffers of one scene at one resolution, filled far to near.

    (Channel-first because numpy broadcasts a colour over ``(3, H, W)`` many times faster than
    over ``(H, W, 3)``.)

    Attributes
    ----------
    albedo
        ``(3, H, W)`` surface colour in [0, 1].
    depth
        ``(H, W)`` distance along the view axis (m), ``inf`` for the sky.
    sun
        ``(H, W)`` day: direct-sun factor (0 = shadow).
    light, emit
        ``(3, H, W)`` night illumination and emission (empty by day).
    grain
        ``(H, W)`` the scene's window of the fixed grain.
    ground
        ``(r0, x, z)``: the first ground row, lateral metres ``(R, W)`` and distance ``(R,)``
        of the ground pixels (set when the ground is drawn).
    """

    def __init__(self, spec: SceneSpec, height: int, width: int, night: bool) -> None:
        super().__init__(spec, height, width)
        self.night = night
        self.albedo = np.zeros((3, height, width), F32)
        self.depth = np.full((height, width), np.inf, F32)
        self.sun = np.ones((height, width), F32)  # day: direct-sun factor (0 = shadow)
        shape = (3, height, width) if night else (3, 0, 0)
        self.light = np.zeros(shape, F32)  # night illumination
        self.emit = np.zeros(shape, F32)  # night emission and glow
        oy, ox = (v % GRAIN_PAD for v in spec.tex_offset)
        self.grain = grain(height, width)[oy : oy + height, ox : ox + width]
        # ground rows: the first one, lateral metres (R, W) and distance (R,) of ground pixels
        self.ground: tuple[int, np.ndarray, np.ndarray] = (
            height,
            np.zeros((0, width), F32),
            np.zeros(0, F32),
        )

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
        gaussian is widened to ``GLOW_MIN_SIGMA_PX`` and dimmed), so brightness does not depend
        on resolution.
        """
        m = GLOW_MIN_SIGMA_PX
        parts = [(max(sx, m), max(sy, m), gain * min(1.0, sx / m) * min(1.0, sy / m))]
        if halo is not None:
            hx, hy, hg = halo
            parts.append((max(hx, m), max(hy, m), hg * min(1.0, hx / m) * min(1.0, hy / m)))
        ex = max(p[0] for p in parts) * GLOW_EXTENT_SIGMAS
        ey = max(p[1] for p in parts) * GLOW_EXTENT_SIGMAS
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
        self.emit[:, r0:r1, c0:c1] += total * rgb(color)

    def light_pool(self, lx: float, lz: float, radius: float, color: Color, gain: float) -> None:
        """Add a pool of light on the ground centred at world ``(lx, lz)``."""
        r0g, x, z = self.ground
        reach = POOL_EXTENT_RADII * radius
        rows = np.nonzero((z > max(NEAR_M, lz - reach)) & (z < lz + reach))[0]
        if rows.size == 0:
            return
        a, b = int(rows[0]), int(rows[-1]) + 1
        k = F32(-0.5 / (radius * radius))
        pool = np.exp(((x[a:b] - F32(lx)) ** 2 + ((z[a:b] - F32(lz)) ** 2)[:, None]) * k)
        self.light[:, r0g + a : r0g + b] += pool * F32(gain) * rgb(color)
