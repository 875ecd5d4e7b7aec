"""Render the pictures of the built-in night/day scenes shown in the tutorial.

At ``builder-inited`` the scenes listed in :data:`SCENES` are rendered with
:mod:`cyclegan_ms.data.scenes` into ``docs/_static/scenes/``: each scene by day and by night at
the darkness levels of :data:`DARKNESS`, and by day and at darkness 0.4 under the ``"photo"``
render options (:data:`PHOTO_OPTIONS`). The renderer is deterministic, so a file is only
rewritten when its pixels change (i.e. when the renderer itself changed); the pictures in the
docs therefore always show what the current code renders. Rendering all of them takes well
under a second.

Run ``python docs/_ext/cyclegan_scenes.py`` to render them without building the docs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: Scene ids shown (a highway with a truck, a suburban road, a city street, a wet city street).
SCENES: tuple[int, ...] = (0, 2, 4, 7)
#: Night darkness levels shown: 0 is dusk-like, 1 is extreme darkness.
DARKNESS: tuple[float, ...] = (0.0, 0.4, 0.7, 1.0)
#: Picture size (height, width): 16:9 like BDD100K frames.
SIZE: tuple[int, int] = (144, 256)
#: Render options bundle shown beside the plain scenes, and the night's darkness under it.
PHOTO_OPTIONS, PHOTO_DARKNESS = "photo", 0.4


def file_names(scene: int) -> list[str]:
    """The files rendered for ``scene``: the day picture, one per darkness level, then the day
    and the night under :data:`PHOTO_OPTIONS`."""
    return (
        [f"scene{scene}_day.png"]
        + [f"scene{scene}_night_{round(d * 100):03d}.png" for d in DARKNESS]
        + [f"scene{scene}_{PHOTO_OPTIONS}_day.png", f"scene{scene}_{PHOTO_OPTIONS}_night.png"]
    )


def render(out_dir: Path) -> list[Path]:
    """Render every picture into ``out_dir``; returns the files that were (re)written."""
    import numpy as np
    from PIL import Image

    from cyclegan_ms.data.scenes import render_day, render_night, render_scene, sample_scene

    h, w = SIZE
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for scene in SCENES:
        spec = sample_scene(scene)
        images = [render_day(spec, height=h, width=w)]
        images += [render_night(spec, height=h, width=w, darkness=d) for d in DARKNESS]
        night, day = render_scene(
            spec, height=h, width=w, darkness=PHOTO_DARKNESS, options=PHOTO_OPTIONS
        )
        images += [day, night]
        for name, pixels in zip(file_names(scene), images, strict=True):
            path = out_dir / name
            if path.is_file():
                with Image.open(path) as old:
                    if np.array_equal(np.asarray(old.convert("RGB")), pixels):
                        continue
            Image.fromarray(pixels).save(path, format="PNG", optimize=True)
            written.append(path)
    return written


def _on_builder_inited(app: Any) -> None:
    render(Path(app.srcdir) / "_static" / "scenes")


def setup(app: Any) -> dict[str, Any]:
    app.connect("builder-inited", _on_builder_inited)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}


if __name__ == "__main__":
    for p in render(Path(__file__).resolve().parent.parent / "_static" / "scenes"):
        print(p)
