"""Generators: image batch in, translated image batch out.

Every generator here subclasses :class:`Generator`, so training and inference code can rely on
its :class:`GeneratorCard` (channels, ``size_multiple``, ``fixed_size``, and the data range,
direction and step attached after training) and ``regularization()`` whatever the family.
:func:`card_of` reads the card of any module, a plain ``nn.Module`` included:

==================  =========================================  ===============  ==========
registry name       family                                     size_multiple    fixed_size
==================  =========================================  ===============  ==========
``seed_unet``       seed multi-scale U-Net (dense bottleneck)  32               256
``resnet_9blocks``  CycleGAN ResNet, 9 blocks                  4                None
``resnet_6blocks``  CycleGAN ResNet, 6 blocks                  4                None
``unet_128``        pix2pix U-Net, 7 downsamplings             128              None
``unet_256``        pix2pix U-Net, 8 downsamplings             256              None
==================  =========================================  ===============  ==========
"""

from __future__ import annotations

from .base import Generator, card_of, set_card
from .card import Direction, GeneratorCard
from .resnet import ResnetBlock, ResnetGenerator, resnet_6blocks, resnet_9blocks
from .seed_unet import ConvBottleneck, DecoderStep, DenseBottleneck, SeedUNet
from .unet import UnetGenerator, UnetSkipConnectionBlock, unet_128, unet_256

__all__ = [
    "ConvBottleneck",
    "DecoderStep",
    "DenseBottleneck",
    "Direction",
    "Generator",
    "GeneratorCard",
    "ResnetBlock",
    "ResnetGenerator",
    "SeedUNet",
    "UnetGenerator",
    "UnetSkipConnectionBlock",
    "card_of",
    "resnet_6blocks",
    "resnet_9blocks",
    "set_card",
    "unet_128",
    "unet_256",
]
