"""Aligned (input, ground truth) pairs to evaluate a translation on.

* :func:`scene_pairs`: the built-in night/day scenes' held-out split, rendered by night and by
  day (and :func:`scene_depths`, the renderer's depth of the same scenes, to score near and far
  parts apart);
* :func:`folder_pairs`: two folders of images matched by relative path and stem;
* :func:`train_scene_pairs`: the night scenes of the training split with their day truth, for a
  supervised reference trained on aligned pairs; :class:`ScenePairs` is the same as a training
  dataset (items ``{"A": night, "B": day}``), what :class:`~cyclegan_ms.models.Pix2Pix` trains on.

They yield ``(input, target)`` tensors ``(C, H, W)`` in a data range, what
:func:`cyclegan_ms.metrics.evaluate` consumes.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Literal, TypeAlias

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import Dataset

from .._checks import check_int, check_value_range

__all__ = ["ScenePairs", "folder_pairs", "scene_depths", "scene_pairs", "train_scene_pairs"]

_Direction: TypeAlias = Literal["a2b", "b2a"]


def scene_pairs(
    num: int = 100,
    *,
    size: int | tuple[int, int] = 256,
    direction: _Direction = "a2b",
    value_range: tuple[float, float] = (0.0, 1.0),
    channels: Literal[1, 3] = 3,
    seed: int = 0,
) -> Iterator[tuple[Tensor, Tensor]]:
    """Aligned (input, ground truth) pairs from the built-in night/day scenes' eval split.

    Held-out scenes (disjoint from any training scene) rendered by night and by day; ``a2b``
    yields (night, day), ``b2a`` (day, night).

    Parameters
    ----------
    num
        Number of pairs.
    size
        Side or ``(height, width)``.
    direction
        Which image is the input.
    value_range, channels, seed
        As in :class:`cyclegan_ms.data.scenes.NightDayScenes`.

    Yields
    ------
    tuple[Tensor, Tensor]
        ``(input, target)``, each ``(C, H, W)`` float32 in ``value_range``.

    Shape
    -----
    ``(C, H, W)`` each, ``(H, W) = size``.
    """
    from .scenes import NightDayScenes

    ds = NightDayScenes(
        split="eval",
        num_scenes=num,
        size=size,
        value_range=value_range,
        channels=channels,
        seed=seed,
    )
    for i in range(num):
        item = ds[i]
        a, b = item["A"], item["B"]
        yield (a, b) if direction == "a2b" else (b, a)


def scene_depths(num: int = 100, *, size: int = 256, seed: int = 0) -> Tensor:
    """The renderer's depth of the scenes :func:`scene_pairs` yields (same ``num``, ``seed``).

    Metres along the camera's view axis, ``inf`` for the sky
    (:func:`~cyclegan_ms.data.scenes.render_depth`); the same by night and by day, so
    ``depth < near`` and ``depth >= far`` mask near and far parts of both images (for
    :func:`~cyclegan_ms.metrics.masked_psnr` and :func:`~cyclegan_ms.metrics.masked_ssim`).

    Returns
    -------
    Tensor
        ``(num, 1, size, size)`` float32.

    Shape
    -----
    ``(num, 1, size, size)``.

    Examples
    --------
    >>> d = scene_depths(2, size=32)
    >>> d.shape, bool(torch.isinf(d).any()), bool((d[torch.isfinite(d)] > 0).all())
    (torch.Size([2, 1, 32, 32]), True, True)
    """
    from .sampler import SampleKey
    from .scenes import NightDayScenes, render_depth

    ds = NightDayScenes(split="eval", num_scenes=num, size=size, seed=seed)
    ids = [ds.scene_ids(SampleKey(i, i, 0))[0] for i in range(num)]
    depth = [torch.from_numpy(render_depth(i, height=size, seed=seed)) for i in ids]
    return torch.stack(depth).unsqueeze(1)


def train_scene_pairs(
    indices: Iterable[int],
    *,
    size: int = 256,
    value_range: tuple[float, float] = (0.0, 1.0),
    seed: int = 0,
) -> Iterator[tuple[Tensor, Tensor]]:
    """Aligned (night, day) pairs of the built-in scenes' training split, by index.

    Pair ``i`` is the night image :class:`~cyclegan_ms.data.scenes.NightDayScenes` (train split,
    same ``seed``, default darkness) shows as domain A's item ``i``, with the day render of the
    same scene, which the unpaired training never sees: the data of a supervised reference (a
    generator trained on aligned pairs, the ceiling an unpaired one aims at).

    Parameters
    ----------
    indices
        Domain-A item indices (``>= 0``), in the order wanted; repeats allowed.
    size
        Side of the square images.
    value_range
        Range of the yielded tensors.
    seed
        World seed.

    Yields
    ------
    tuple[Tensor, Tensor]
        ``(night, day)``, each ``(3, size, size)`` float32 in ``value_range``.

    Shape
    -----
    ``(3, size, size)`` each.

    Examples
    --------
    >>> night, day = next(train_scene_pairs([0], size=32))
    >>> night.shape, bool(night.mean() < day.mean())
    (torch.Size([3, 32, 32]), True)
    """
    from ..utils.images import from_uint8
    from .sampler import SampleKey
    from .scenes import NightDayScenes, render_scene

    ds = NightDayScenes(split="train", num_scenes=1, size=size, seed=seed)
    for i in indices:
        scene = ds.scene_ids(SampleKey(int(i), 0, 0))[0]
        night, day = render_scene(scene, height=size, seed=seed)
        yield from_uint8(night, value_range), from_uint8(day, value_range)


class ScenePairs(Dataset[dict[str, Tensor]]):
    """The built-in scenes' training split as aligned pairs: item ``i`` is
    ``{"A": night, "B": day}`` of training scene ``i`` (:func:`train_scene_pairs`).

    Parameters
    ----------
    num_scenes
        Number of distinct training scenes (the dataset's length).
    size
        Side of the square images.
    value_range
        Range of the images.
    seed
        World seed (the same scenes as :class:`~cyclegan_ms.data.NightDayScenes` with it).

    Shape
    -----
    Items: ``{"A": (3, size, size), "B": (3, size, size)}``.

    Examples
    --------
    >>> item = ScenePairs(4, size=32)[1]
    >>> item["A"].shape, bool(item["A"].mean() < item["B"].mean())
    (torch.Size([3, 32, 32]), True)
    """

    def __init__(
        self,
        num_scenes: int,
        *,
        size: int = 256,
        value_range: tuple[float, float] = (0.0, 1.0),
        seed: int = 0,
    ) -> None:
        self.num_scenes = check_int(num_scenes, "num_scenes", 1)
        self.size = check_int(size, "size", 1)
        self.value_range = check_value_range(value_range)
        self.seed = int(seed)

    def __len__(self) -> int:
        return self.num_scenes

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        if not 0 <= int(index) < self.num_scenes:
            raise IndexError(f"ScenePairs has {self.num_scenes} items; got index {index}")
        night, day = next(
            train_scene_pairs(
                [int(index)], size=self.size, value_range=self.value_range, seed=self.seed
            )
        )
        return {"A": night, "B": day}


def folder_pairs(
    inputs: str | os.PathLike[str],
    targets: str | os.PathLike[str],
    *,
    value_range: tuple[float, float] = (0.0, 1.0),
    channels: Literal[1, 3] = 3,
    skipped: list[str] | None = None,
) -> Iterator[tuple[Tensor, Tensor]]:
    """Aligned (input, ground truth) pairs from two folders, matched by relative path and stem.

    ``inputs/a/x.jpg`` pairs with ``targets/a/x.png`` (any image extension). Unmatched and
    unreadable files are skipped and, when ``skipped`` is given, appended to it with the reason.

    Parameters
    ----------
    inputs, targets
        The two folders.
    value_range
        Range of the yielded tensors.
    channels
        1 or 3.
    skipped
        Optional list collecting ``"path (reason)"`` lines.

    Yields
    ------
    tuple[Tensor, Tensor]
        ``(input, target)``, each ``(C, H, W)`` float32; a target of another size is resized
        to the input's (bilinear, antialiased).

    Raises
    ------
    FileNotFoundError
        If a folder does not exist.

    Shape
    -----
    ``(C, H, W)`` each, the input's ``H, W``.
    """
    from ..utils.images import from_uint8
    from .images import find_images, load_image

    root_in, root_t = Path(inputs), Path(targets)
    in_files = find_images(root_in)
    by_key = {p.relative_to(root_t).with_suffix("").as_posix(): p for p in find_images(root_t)}
    notes = skipped if skipped is not None else []
    for p in in_files:
        key = p.relative_to(root_in).with_suffix("").as_posix()
        tp = by_key.get(key)
        if tp is None:
            notes.append(f"{p} (no target named {key}.* in {root_t})")
            continue
        try:
            x = from_uint8(np.asarray(load_image(p, channels=channels)), value_range)
            y = from_uint8(np.asarray(load_image(tp, channels=channels)), value_range)
        except Exception as err:  # unreadable file: skip it, never crash the evaluation
            notes.append(f"{p} ({type(err).__name__}: {err})")
            continue
        if y.shape != x.shape:
            y = F.interpolate(
                y[None],
                size=tuple(x.shape[-2:]),
                mode="bilinear",
                align_corners=False,
                antialias=True,
            )[0]
        yield x, y
