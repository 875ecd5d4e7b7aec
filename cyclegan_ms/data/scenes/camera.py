"""The pinhole camera: from world metres to pixels, at any resolution.

A :class:`Camera` holds the projection of one :class:`~.layout.SceneSpec` at one image size: the
focal length in pixels, the horizon row and vanishing-point column, the pixel-centre grids, and
``px``/``py`` that project a world point ``(x, y, z)`` to a column and a row. Every drawing
routine works through it, so a scene renders the same at any resolution.
"""

from __future__ import annotations

import math

import numpy as np

from .layout import SceneSpec

__all__: list[str] = []

F32 = np.float32  # every buffer and per-pixel computation is float32
REFERENCE_ROWS = 256  # pixel-scale effects (lens blur, glow) are sized for images this tall


class Camera:
    """Projection of ``spec`` onto an image of ``height`` x ``width`` pixels.

    Attributes
    ----------
    f
        Focal length in pixels (from the horizontal field of view).
    yh, xv
        Horizon row and vanishing-point column, in pixels.
    u
        Pixel scale: ``height / REFERENCE_ROWS``.
    xs, ys
        Column centres minus ``xv``, and row centres (float32).
    """

    def __init__(self, spec: SceneSpec, height: int, width: int) -> None:
        self.spec, self.h, self.w = spec, height, width
        self.f = (width / 2) / math.tan(math.radians(spec.hfov) / 2)
        self.yh = spec.horizon * height
        self.xv = spec.vanish * width
        self.u = height / REFERENCE_ROWS
        self.xs = np.arange(width, dtype=F32) + F32(0.5 - self.xv)  # column centres - x_v
        self.ys = np.arange(height, dtype=F32) + F32(0.5)  # row centres

    def px(self, x: float, z: float) -> float:
        """Column of the world point at lateral ``x`` and distance ``z``."""
        return self.xv + self.f * x / z

    def py(self, y: float, z: float) -> float:
        """Row of the world point at height ``y`` and distance ``z``."""
        return self.yh + self.f * (self.spec.cam_h - y) / z

    def rows(self, y0: float, y1: float) -> tuple[int, int]:
        """Rows ``[r0, r1)`` covering ``[y0, y1]``, clipped to the image."""
        return max(0, math.floor(y0)), min(self.h, math.ceil(y1))

    def cols(self, x0: float, x1: float) -> tuple[int, int]:
        """Columns ``[c0, c1)`` covering ``[x0, x1]``, clipped to the image."""
        return max(0, math.floor(x0)), min(self.w, math.ceil(x1))
