"""Data: unpaired image folders, transforms without torchvision, and built-in night/day scenes.

Two datasets share one item format, consumed by the model and the trainer::

    {"A": Tensor (C, H, W), "B": Tensor (C, H, W), "index_A": int, "index_B": int, ...}

- :class:`UnpairedImageFolder`: your images (CycleGAN layout ``root/trainA`` ... or any two
  folders), robust to real-world files; items add ``"path_A"``, ``"path_B"``, ``"skipped"``.
- :class:`NightDayScenes`: procedural road scenes, night (A) and day (B), unpaired for training and
  aligned pairs for evaluation; items add ``"darkness"``.

Aligned pairs (pix2pix) have their own datasets, items ``{"A": input, "B": its target, ...}``:
:class:`AlignedImageFolder` (two folders matched by name, or the reference's side-by-side AB
images; ordered by :class:`AlignedSampler`) and :class:`ScenePairs` (the built-in scenes).

Sampling is owned by :class:`UnpairedSampler` (seeded, shardable over ``torch.distributed`` ranks,
resumable mid-epoch); :func:`make_loader` wires it into a ``DataLoader``.

    >>> ds = NightDayScenes(num_scenes=8, size=32)
    >>> loader = make_loader(ds, batch_size=2, seed=0)
    >>> batch = next(iter(loader))
    >>> tuple(batch["A"].shape), tuple(batch["B"].shape)
    ((2, 3, 32, 32), (2, 3, 32, 32))
"""

from __future__ import annotations

from .aligned import (
    ALIGNED_LAYOUTS,
    AlignedImageFolder,
    AlignedLayout,
    AlignedSampler,
    PairDirection,
    match_by_name,
    side_by_side_pairs,
    split_side_by_side,
)
from .base import UnpairedDataset, item_rngs
from .folder import UnpairedImageFolder, cyclegan_layout
from .images import (
    IMAGE_EXTENSIONS,
    BadFile,
    BadImageWarning,
    ScanResult,
    VerifyMode,
    check_image,
    find_images,
    load_image,
    scan_images,
    to_channels,
)
from .loader import make_loader
from .lowlight import RandomNight, simulate_night
from .pairs import ScenePairs, folder_pairs, scene_pairs
from .sampler import SampleKey, UnpairedSampler, epoch_keys, key_for_index, seed_worker
from .scenes import (
    EVAL_OFFSET,
    NightDayScenes,
    SceneSpec,
    render_day,
    render_night,
    render_scene,
    sample_scene,
)
from .transforms import (
    RECIPES,
    CenterCrop,
    Pipeline,
    RandomCrop,
    RandomHorizontalFlip,
    RecipeName,
    Resize,
    ValueRange,
    recipe,
    to_tensor,
    value_range_for,
)

__all__ = [
    "ALIGNED_LAYOUTS",
    "EVAL_OFFSET",
    "IMAGE_EXTENSIONS",
    "RECIPES",
    "AlignedImageFolder",
    "AlignedLayout",
    "AlignedSampler",
    "BadFile",
    "BadImageWarning",
    "CenterCrop",
    "NightDayScenes",
    "PairDirection",
    "Pipeline",
    "RandomCrop",
    "RandomHorizontalFlip",
    "RandomNight",
    "RecipeName",
    "Resize",
    "SampleKey",
    "ScanResult",
    "ScenePairs",
    "SceneSpec",
    "UnpairedDataset",
    "UnpairedImageFolder",
    "UnpairedSampler",
    "ValueRange",
    "VerifyMode",
    "check_image",
    "cyclegan_layout",
    "epoch_keys",
    "find_images",
    "folder_pairs",
    "item_rngs",
    "key_for_index",
    "load_image",
    "make_loader",
    "match_by_name",
    "recipe",
    "render_day",
    "render_night",
    "render_scene",
    "sample_scene",
    "scan_images",
    "scene_pairs",
    "seed_worker",
    "side_by_side_pairs",
    "simulate_night",
    "split_side_by_side",
    "to_channels",
    "to_tensor",
    "value_range_for",
]
