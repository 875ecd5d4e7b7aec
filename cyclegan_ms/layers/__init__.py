"""Shared building blocks: norm/activation factories, weight init, the seed's blocks."""

from .blocks import (
    EncoderStep,
    InceptionBlock,
    KerasSameConvTranspose2d,
    ResidualMode,
    ResidualOutput,
    ResizeConv2d,
    SameConv2d,
    SubsampleConv1x1,
    Upsample,
    gaussian_blur,
    make_upsample,
    seed_norm,
    zero_init,
)
from .context import GlobalContext
from .factories import (
    ActSpec,
    NormSpec,
    OutputActivation,
    check_act_spec,
    check_norm_spec,
    make_activation,
    make_norm,
    make_output_activation,
    norm_has_bias,
)
from .init import InitScheme, init_weights

__all__ = [
    "ActSpec",
    "EncoderStep",
    "GlobalContext",
    "InceptionBlock",
    "InitScheme",
    "KerasSameConvTranspose2d",
    "NormSpec",
    "OutputActivation",
    "ResidualMode",
    "ResidualOutput",
    "ResizeConv2d",
    "SameConv2d",
    "SubsampleConv1x1",
    "Upsample",
    "check_act_spec",
    "check_norm_spec",
    "gaussian_blur",
    "init_weights",
    "make_activation",
    "make_norm",
    "make_output_activation",
    "make_upsample",
    "norm_has_bias",
    "seed_norm",
    "zero_init",
]
