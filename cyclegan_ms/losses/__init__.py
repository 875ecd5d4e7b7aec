"""Losses: adversarial (over lists of score maps), reconstruction, feature matching, penalties.

Importing this package registers the parts:

- ``"adversarial_loss"``: ``lsgan`` (the seed's), ``bce``, ``hinge``, ``wgan``;
- ``"reconstruction_loss"``: ``l1``, ``l2``, ``smooth_l1``, ``robust_l1``, ``blurred_l1``, ``inception_l1``
  (any user ``nn.Module(output, target) -> scalar`` registered there works the same);
- ``"penalty"``: ``wgan_gp``, ``r1``;
- ``"contrastive_loss"``: ``patchnce`` (CUT's PatchNCE, with :class:`PatchSampler`, its
  patch sampler and MLP heads).

:func:`colour_moment_loss` (global tone and contrast against the target domain's statistics) is
a plain function, used by :class:`~cyclegan_ms.CycleGAN` through ``weights.moments``.

    >>> import cyclegan_ms as cms
    >>> import cyclegan_ms.losses
    >>> cms.available("adversarial_loss")
    ['bce', 'hinge', 'lsgan', 'wgan']
"""

from __future__ import annotations

from . import adversarial, contrastive, penalties, reconstruction, statistics
from .adversarial import (
    AdversarialLoss,
    BCEGANLoss,
    HingeGANLoss,
    LSGANLoss,
    ScoreList,
    WGANLoss,
    bce_discriminator_loss,
    bce_generator_loss,
    hinge_discriminator_loss,
    hinge_generator_loss,
    lsgan_discriminator_loss,
    lsgan_generator_loss,
    wgan_discriminator_loss,
    wgan_generator_loss,
)
from .contrastive import Negatives, PatchNCELoss, PatchSampler, patch_nce_loss
from .penalties import GradientPenalty, R1Penalty, gradient_penalty, r1_penalty
from .perceptual import BlurredL1Loss, InceptionFeatureLoss
from .reconstruction import (
    FeatureMatchingLoss,
    L1Loss,
    L2Loss,
    Reduction,
    RobustL1Loss,
    SmoothL1Loss,
    check_reduction,
    feature_matching_loss,
    l1_loss,
    l2_loss,
    robust_l1_loss,
    smooth_l1_loss,
)
from .statistics import channel_moments, colour_moment_loss

__all__ = [
    "AdversarialLoss",
    "BCEGANLoss",
    "BlurredL1Loss",
    "FeatureMatchingLoss",
    "GradientPenalty",
    "HingeGANLoss",
    "InceptionFeatureLoss",
    "L1Loss",
    "L2Loss",
    "LSGANLoss",
    "Negatives",
    "PatchNCELoss",
    "PatchSampler",
    "R1Penalty",
    "Reduction",
    "RobustL1Loss",
    "ScoreList",
    "SmoothL1Loss",
    "WGANLoss",
    "adversarial",
    "bce_discriminator_loss",
    "bce_generator_loss",
    "channel_moments",
    "check_reduction",
    "colour_moment_loss",
    "contrastive",
    "feature_matching_loss",
    "gradient_penalty",
    "hinge_discriminator_loss",
    "hinge_generator_loss",
    "l1_loss",
    "l2_loss",
    "lsgan_discriminator_loss",
    "lsgan_generator_loss",
    "patch_nce_loss",
    "penalties",
    "r1_penalty",
    "reconstruction",
    "robust_l1_loss",
    "smooth_l1_loss",
    "statistics",
    "wgan_discriminator_loss",
    "wgan_generator_loss",
]
