"""What is scored on: held-out built-in scenes (and their near/far parts), real photographs."""

from __future__ import annotations

from pathlib import Path

import torch

from cyclegan_ms.data.lowlight import simulate_night
from cyclegan_ms.data.pairs import scene_depths, scene_pairs
from cyclegan_ms.utils.images import from_uint8

#: Depth bands (metres, from the renderer's depth buffer) of the near/far scores; the sky is in
#: neither. Near: the road, cars and façades close to the camera (about half the pixels at 64²);
#: far: objects 20 m and more away, small near the horizon (about a fifth).
NEAR_M, FAR_M = 8.0, 20.0

#: scikit-image's colour photographs (shipped in its wheel, no download).
PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "motorcycle_left", "motorcycle_right")


def eval_set(size: int, num: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Held-out (night, day) scenes, ``(N, 3, size, size)`` each, in [0, 1]."""
    pairs = list(scene_pairs(num, size=size, seed=0))
    return torch.stack([a for a, _ in pairs]), torch.stack([b for _, b in pairs])


def region_masks(size: int, num: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Near and far masks of the held-out scenes, ``(N, 1, size, size)`` bool each."""
    depth = scene_depths(num, size=size, seed=0)
    return depth < NEAR_M, (depth >= FAR_M) & torch.isfinite(depth)


def photo_set(size: int) -> tuple[torch.Tensor, torch.Tensor] | None:
    """Real photographs (day truth) and their simulated nights, or ``None`` without scikit-image."""
    try:
        import skimage.io
        from skimage import data as skdata
    except ImportError:
        return None
    days = []
    for name in PHOTOS:
        if name.startswith("motorcycle"):
            img = skimage.io.imread(Path(skdata.__file__).parent / f"{name}.png")
        else:
            img = getattr(skdata, name)()
        t = from_uint8(img[..., :3])
        s = min(t.shape[-2:])
        top, left = (t.shape[-2] - s) // 2, (t.shape[-1] - s) // 2
        t = t[:, top : top + s, left : left + s].unsqueeze(0)
        days.append(torch.nn.functional.interpolate(t, size=(size, size), mode="area")[0])
    day = torch.stack(days)
    night = torch.stack([simulate_night(d, seed=i) for i, d in enumerate(day)])
    return night, day
