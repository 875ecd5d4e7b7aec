"""cyclegan_ms: typed, composable CycleGAN parts for unpaired image-to-image translation.

Build any part by name from plain config, or register your own::

    >>> import torch
    >>> import cyclegan_ms as cms
    >>> G = cms.build("generator", "resnet_9blocks", in_channels=3, out_channels=3)
    >>> D = cms.build("discriminator", "seed_multiscale")
    >>> [s.shape[-1] for s in D(torch.rand(1, 3, 256, 256))]
    [32, 16, 8]
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import discriminators, generators, layers, losses
from .inference.reference import import_reference
from .loading import load
from .models import CycleGAN, GeneratorOutput, LossWeights
from .pool import ImagePool
from .registry import (
    available,
    build,
    config_of,
    from_config,
    get,
    kinds,
    register,
    register_kind,
)
from .training import Trainer, distill

if TYPE_CHECKING:
    from .video.files import translate_video

__version__ = "0.1.0"

__all__ = [
    "CycleGAN",
    "GeneratorOutput",
    "ImagePool",
    "LossWeights",
    "Trainer",
    "__version__",
    "available",
    "build",
    "config_of",
    "discriminators",
    "distill",
    "from_config",
    "generators",
    "get",
    "import_reference",
    "kinds",
    "layers",
    "load",
    "losses",
    "register",
    "register_kind",
    "translate_video",
]


def __getattr__(name: str) -> Any:
    """``translate_video`` is imported on first use (it loads :mod:`cyclegan_ms.video`)."""
    if name == "translate_video":
        from .video.files import translate_video

        return translate_video
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
