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

The package, by topic (everything public is importable from here):

- :mod:`~cyclegan_ms.data.scenes.layout`: the random scene description, :class:`SceneSpec` and
  its objects, drawn by :func:`sample_scene`;
- ``camera`` (internal): the pinhole projection from metres to pixels;
- ``drawing`` (internal): the per-pixel buffers and the rasterisation and light primitives;
- ``objects`` (internal): drawing the ground, facades, trees, lamps and vehicles;
- :mod:`~cyclegan_ms.data.scenes.render`: finishing day and night images (light, sky, haze,
  noise, tone mapping) and the depth: :func:`render_day`, :func:`render_night`,
  :func:`render_scene`, :func:`render_depth`;
- :mod:`~cyclegan_ms.data.scenes.options`: render options that widen the scenes toward real
  photographs (light colour, lamps and glare, white balance, tone, saturation, a camera's
  sensor noise and JPEG, surface texture; all off by default), a ``"photo"`` bundle that turns
  the useful ones on, and each scene's draw of them; used through
  ``render_scene(..., options=...)`` and ``NightDayScenes(options=...)``;
- ``photo`` (internal): the image operations behind the options;
- :mod:`~cyclegan_ms.data.scenes.dataset`: :class:`NightDayScenes` over the scene ids, with the
  evaluation split from :data:`EVAL_OFFSET` on;
- :mod:`~cyclegan_ms.data.scenes.drives`: short clips of one scene with the camera driving
  forward, by night and by day: :func:`render_drive`, :func:`drive_specs`, :func:`drive_pairs`.

Tunable numbers are named module-level constants in the module that uses them.

    >>> night, day = render_scene(3, height=64, width=96)
    >>> night.shape, day.shape, night.dtype
    ((64, 96, 3), (64, 96, 3), dtype('uint8'))
    >>> bool(night.mean() < day.mean())
    True
"""

from __future__ import annotations

from . import dataset
from .dataset import NightDayScenes
from .drives import drive_pairs, drive_specs, render_drive
from .layout import Building, Car, Lamp, SceneSpec, Tree, sample_scene
from .render import render_day, render_depth, render_night, render_scene

__all__ = [
    "EVAL_OFFSET",
    "Building",
    "Car",
    "Lamp",
    "NightDayScenes",
    "SceneSpec",
    "Tree",
    "drive_pairs",
    "drive_specs",
    "render_day",
    "render_depth",
    "render_drive",
    "render_night",
    "render_scene",
    "sample_scene",
]

#: Scene ids of the evaluation split start here, disjoint from any training range below it.
EVAL_OFFSET = dataset.EVAL_OFFSET
