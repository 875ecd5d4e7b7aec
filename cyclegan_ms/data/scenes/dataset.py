"""The torch dataset over the scenes: night (A) and day (B), unpaired for training, paired for eval.

:class:`NightDayScenes` renders its items on the fly from scene ids (train: night scenes have even
ids, day scenes odd ones, so A and B never show the same scene; eval: held-out scenes from
:data:`~cyclegan_ms.data.scenes.EVAL_OFFSET` on, night and day of the same scene).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch

from ..._checks import check_int, check_value_range
from ...layers import luma
from ..base import UnpairedDataset, UnpairedItem, item_rngs
from ..sampler import SampleKey
from ..transforms import ValueRange
from .layout import sample_scene
from .options import SceneOptionsSpec, scene_options
from .render import check_darkness_range, render_day_chw, render_night_chw, resolve_darkness

__all__ = ["NightDayScenes", "SceneItem"]

# Scene ids of the evaluation split start here, disjoint from any training range below it
# (exported, and documented, as ``cyclegan_ms.data.scenes.EVAL_OFFSET``).
EVAL_OFFSET = 1_000_000_000

FLIP_P = 0.5  # probability of a horizontal flip (``flip=True``)


class SceneItem(UnpairedItem):
    """A :class:`NightDayScenes` item: ``index_A``/``index_B`` are scene ids, and
    ``darkness`` is how dark the night image (``A``) is, in [0, 1]."""

    darkness: float


class NightDayScenes(UnpairedDataset):
    """Procedural night (A) / day (B) road scenes as an unpaired dataset, or aligned pairs.

    - ``split="train"``: A is the NIGHT render of scene ``2 * index_a`` and B the DAY render of
      scene ``2 * index_b + 1``, so A and B never show the same scene (truly unpaired), while every
      scene still has a ground truth.
    - ``split="eval"``: item ``k`` is the aligned pair (night, day) of held-out scene
      ``EVAL_OFFSET + k`` (``index_b`` of a key is ignored), disjoint from any training scene.

    Parameters
    ----------
    split
        ``"train"`` or ``"eval"``.
    num_scenes
        Items per domain (train: ``num_scenes`` night and ``num_scenes`` other day scenes;
        eval: ``num_scenes`` pairs). At most ``EVAL_OFFSET // 2`` for train.
    size
        Output side, or ``(height, width)``.
    channels
        3 (RGB) or 1 (luma, ITU-R 601).
    value_range
        Pixel range of the tensors: ``(0, 1)`` (seed, sigmoid) or ``(-1, 1)`` (paper, tanh).
    darkness
        ``(low, high)`` within [0, 1]: each night scene's darkness is drawn in this range (0 is
        dusk-like, 1 extreme darkness).
    flip
        Random horizontal flips of A and B (train only; seeded by the sample key).
    seed
        World seed (which scenes exist) and seed of plain-int indexing.
    options
        Render options that widen the scenes toward real photographs (camera, light, sensor
        noise, texture): a :class:`~cyclegan_ms.data.scenes.options.SceneOptions`, a bundle name
        (``"photo"``) or a table of options. Default: none (the plain renderer).

    Item format
    -----------
    ``dataset[key]`` returns a dict:

    - ``"A"``: night image, ``"B"``: day image, float32 tensors ``(C, H, W)`` in ``value_range``;
    - ``"index_A"``, ``"index_B"``: ``int`` scene ids actually rendered (equal in eval);
    - ``"darkness"``: ``float``, the darkness of the night image.

    Shape
    -----
    - ``item["A"]``, ``item["B"]``: ``(C, H, W)``; after default collation ``(N, C, H, W)``.

    Raises
    ------
    ValueError
        For an unknown split, a bad size, range or ``num_scenes``.

    Examples
    --------
    >>> ds = NightDayScenes(num_scenes=10, size=32)
    >>> item = ds[0]
    >>> tuple(item["A"].shape), item["index_A"] != item["index_B"]
    ((3, 32, 32), True)
    >>> ev = NightDayScenes(split="eval", num_scenes=4, size=32)
    >>> ev[1]["index_A"] == ev[1]["index_B"] == EVAL_OFFSET + 1
    True
    """

    def __init__(
        self,
        *,
        split: Literal["train", "eval"] = "train",
        num_scenes: int = 10_000,
        size: int | tuple[int, int] = 256,
        channels: int = 3,
        value_range: ValueRange = (0.0, 1.0),
        darkness: tuple[float, float] = (0.0, 1.0),
        flip: bool = False,
        seed: int = 0,
        options: SceneOptionsSpec = None,
    ) -> None:
        if split not in ("train", "eval"):
            raise ValueError(f"split must be 'train' or 'eval'; got {split!r}")
        self.split = split
        self.num_scenes = check_int(num_scenes, "num_scenes", 1)
        if split == "train" and self.num_scenes > EVAL_OFFSET // 2:
            raise ValueError(
                f"num_scenes must be <= {EVAL_OFFSET // 2} for train; got {num_scenes}"
            )
        if isinstance(size, int) and not isinstance(size, bool):
            self.height = self.width = check_int(size, "size", 1)
        elif isinstance(size, (tuple, list)) and len(size) == 2:
            self.height = check_int(size[0], "height", 1)
            self.width = check_int(size[1], "width", 1)
        else:
            raise ValueError(f"size must be an int or (height, width); got {size!r}")
        if channels not in (1, 3):
            raise ValueError(f"channels must be 1 (grayscale) or 3 (RGB); got {channels!r}")
        self.channels = channels
        self.value_range = check_value_range(value_range)
        self.darkness = check_darkness_range(darkness)
        self.flip = bool(flip)
        self.seed = check_int(seed, "seed")
        self.options = scene_options(options)
        self.epoch = 0

    @property
    def len_a(self) -> int:
        """Number of night scenes."""
        return self.num_scenes

    @property
    def len_b(self) -> int:
        """Number of day scenes."""
        return self.num_scenes

    def scene_ids(self, key: SampleKey) -> tuple[int, int]:
        """The scene ids rendered for A (night) and B (day) for ``key``."""
        if self.split == "eval":
            return EVAL_OFFSET + key.index_a, EVAL_OFFSET + key.index_a
        return 2 * key.index_a, 2 * key.index_b + 1

    def _tensor(self, img: np.ndarray, rng: np.random.Generator) -> torch.Tensor:
        """``uint8 (3, H, W)`` -> float tensor ``(C, H, W)`` in ``value_range``."""
        if self.flip and self.split == "train" and rng.random() < FLIP_P:
            img = img[:, :, ::-1]
        x = torch.from_numpy(np.ascontiguousarray(img)).float()
        if self.channels == 1:
            x = luma(x).round_()
        lo, hi = self.value_range
        return x.mul_((hi - lo) / 255.0).add_(lo)

    def get(self, key: SampleKey) -> SceneItem:
        """The item for ``key``; see the class docstring for its format."""
        ia, ib = self.scene_ids(key)
        rng_a, rng_b = item_rngs(key.seed)
        spec_a = sample_scene(ia, seed=self.seed)
        d = resolve_darkness(spec_a, None, self.darkness)
        night = render_night_chw(spec_a, self.height, self.width, d, self.options)
        spec_b = spec_a if ib == ia else sample_scene(ib, seed=self.seed)
        day = render_day_chw(spec_b, self.height, self.width, self.options)
        return {
            "A": self._tensor(night, rng_a),
            "B": self._tensor(day, rng_b),
            "index_A": ia,
            "index_B": ib,
            "darkness": d,
        }

    def __repr__(self) -> str:
        return (
            f"NightDayScenes(split={self.split!r}, num_scenes={self.num_scenes}, "
            f"size=({self.height}, {self.width}), channels={self.channels}, "
            f"value_range={self.value_range}, darkness={self.darkness}, seed={self.seed}"
            + ("" if self.options.is_default else f", options={self.options}")
            + ")"
        )
