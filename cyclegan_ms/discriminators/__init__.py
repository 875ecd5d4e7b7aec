"""Discriminators. Each returns a list of score maps, one per scale/view.

Registered names: ``seed_multiscale`` (the seed's tapped multi-scale PatchGAN), ``patchgan``
(the N-layer 70×70 PatchGAN), ``pixel`` (1×1 PatchGAN), and the wrappers ``pyramid``
(pix2pixHD image pyramid) and ``multiview`` (ToDayGAN views), which wrap any of them, and
``projected`` (heads on a frozen pretrained InceptionV3's features, optionally beside any of them)
and ``diffaug`` (any of them behind differentiable augmentation).

Every discriminator here also has an integer ``min_input_size`` attribute: the smallest input
height/width it accepts (wrappers derive theirs from the inner one).
"""

from .augmented import DiffAugmentDiscriminator, diff_augment
from .base import Discriminator
from .multiview import MultiViewDiscriminator, make_view, sobel_magnitude
from .patchgan import NLayerDiscriminator, PixelDiscriminator, patchgan_receptive_field
from .projected import ProjectedDiscriminator
from .pyramid import PyramidDiscriminator, downsample_half
from .seed_multiscale import SeedMultiScaleDiscriminator

__all__ = [
    "DiffAugmentDiscriminator",
    "Discriminator",
    "MultiViewDiscriminator",
    "NLayerDiscriminator",
    "PixelDiscriminator",
    "ProjectedDiscriminator",
    "PyramidDiscriminator",
    "SeedMultiScaleDiscriminator",
    "diff_augment",
    "downsample_half",
    "make_view",
    "patchgan_receptive_field",
    "sobel_magnitude",
]
