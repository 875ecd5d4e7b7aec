"""The U-Net generator of pix2pix / CycleGAN.

Same layers, order and ``state_dict`` keys (``model.model.<i>...``, nested blocks at index
``1`` of the outermost and ``3`` of the others) as ``UnetGenerator`` in the reference
pytorch-CycleGAN-and-pix2pix ``networks.py``.
"""

from __future__ import annotations

import torch
import torch.nn as nn
from torch import Tensor

from .._checks import check_int
from ..layers import (
    DropoutMode,
    InitScheme,
    NormSpec,
    OutputActivation,
    check_dropout_mode,
    check_norm_spec,
    init_weights,
    make_activation,
    make_dropout,
    make_norm,
    make_output_activation,
    norm_has_bias,
)
from ..registry import register
from .base import Generator, check_init

__all__ = ["UnetGenerator", "UnetSkipConnectionBlock", "unet_128", "unet_256"]


class UnetSkipConnectionBlock(nn.Module):
    """One U-Net level: ``x -> cat([x, up(submodule(down(x)))])`` (outermost: no concat).

    * down: [LeakyReLU(0.2)], 4×4 stride-2 conv, [norm] (the outermost has neither the
      activation nor the norm, the innermost no norm);
    * up: ReLU, 4×4 stride-2 transposed conv, then norm (the outermost: the output activation
      instead), then Dropout(0.5) on the middle levels when ``use_dropout``.

    Parameters
    ----------
    outer_channels
        Channels this level returns to (before the concat); the output channels when outermost.
    inner_channels
        Channels after the down convolution.
    in_channels
        Input channels (defaults to ``outer_channels``; the image channels when outermost).
    submodule
        The next, deeper level (``None`` for the innermost).
    outermost, innermost
        Position of the level.
    norm, use_dropout, output
        Normalisation spec, dropout on the middle levels, output activation (outermost only).

    Shape
    -----
    ``(B, in_channels, H, W) -> (B, in_channels + outer_channels, H, W)``;
    outermost: ``-> (B, outer_channels, H, W)``.
    """

    def __init__(
        self,
        outer_channels: int,
        inner_channels: int,
        *,
        in_channels: int | None = None,
        submodule: nn.Module | None = None,
        outermost: bool = False,
        innermost: bool = False,
        norm: NormSpec = "instance",
        use_dropout: DropoutMode = False,
        output: OutputActivation = "tanh",
    ) -> None:
        super().__init__()
        if innermost == (submodule is not None):
            raise ValueError("exactly the innermost U-Net level has no submodule")
        if innermost and outermost:
            raise ValueError("a U-Net level cannot be both innermost and outermost")
        self.outermost = outermost
        bias = norm_has_bias(norm)
        c_in = outer_channels if in_channels is None else in_channels
        down_conv = nn.Conv2d(c_in, inner_channels, 4, stride=2, padding=1, bias=bias)
        leaky = make_activation(("leaky", {"negative_slope": 0.2}))
        layers: list[nn.Module]
        if outermost:
            assert submodule is not None
            up_conv = nn.ConvTranspose2d(2 * inner_channels, outer_channels, 4, stride=2, padding=1)
            layers = [
                down_conv,
                submodule,
                make_activation("relu"),
                up_conv,
                make_output_activation(output),
            ]
        elif innermost:
            up_conv = nn.ConvTranspose2d(
                inner_channels, outer_channels, 4, stride=2, padding=1, bias=bias
            )
            layers = [
                leaky,
                down_conv,
                make_activation("relu"),
                up_conv,
                make_norm(norm, outer_channels),
            ]
        else:
            assert submodule is not None
            up_conv = nn.ConvTranspose2d(
                2 * inner_channels, outer_channels, 4, stride=2, padding=1, bias=bias
            )
            layers = [
                leaky,
                down_conv,
                make_norm(norm, inner_channels),
                submodule,
                make_activation("relu"),
                up_conv,
                make_norm(norm, outer_channels),
            ]
            layers += make_dropout(use_dropout)
        self.model = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        if self.outermost:
            return self.model(x)
        return torch.cat([x, self.model(x)], dim=1)


class UnetGenerator(Generator):
    """The pix2pix/CycleGAN U-Net: ``num_downs`` 4×4 stride-2 downsamplings with concatenated
    skips; widths ``ngf, 2ngf, 4ngf, 8ngf, 8ngf, …``.

    Parameters
    ----------
    in_channels, out_channels
        Channels of the input and output images.
    num_downs
        Number of downsamplings (>= 5): 7 takes 128×128 to 1×1 at the bottleneck, 8 does so
        for 256×256. H and W must be multiples of ``2**num_downs``.
    ngf
        Width of the first layer (64 in the paper).
    norm
        Normalisation spec; ``"instance"`` (non-affine) is the CycleGAN default. Convolutions
        before a batch norm have no bias.
    use_dropout
        Dropout(0.5) on the ``num_downs - 5`` innermost non-innermost levels (as the reference):
        ``True`` in training, ``"always"`` also in eval mode (the pix2pix reference's test
        without ``--eval``).
    output
        Output activation: ``"tanh"`` (data in [-1, 1]), ``"sigmoid"``, ``"none"``.
    init, init_gain
        Weight initialisation (see :func:`cyclegan_ms.layers.init_weights`).

    Raises
    ------
    ValueError
        On an invalid argument.

    Shape
    -----
    ``(B, in_channels, H, W) -> (B, out_channels, H, W)``, H and W multiples of
    ``2**num_downs``.

    Examples
    --------
    >>> G = UnetGenerator(num_downs=5, ngf=4)
    >>> G(torch.zeros(1, 3, 32, 64)).shape
    torch.Size([1, 3, 32, 64])
    """

    def __init__(
        self,
        *,
        in_channels: int = 3,
        out_channels: int = 3,
        num_downs: int = 8,
        ngf: int = 64,
        norm: NormSpec = "instance",
        use_dropout: DropoutMode = False,
        output: OutputActivation = "tanh",
        init: InitScheme = "normal",
        init_gain: float = 0.02,
    ) -> None:
        super().__init__()
        self.in_channels = check_int(in_channels, "in_channels", 1)
        self.out_channels = check_int(out_channels, "out_channels", 1)
        num_downs = check_int(num_downs, "num_downs", 5)
        ngf = check_int(ngf, "ngf", 1)
        check_norm_spec(norm)
        check_dropout_mode(use_dropout)
        check_init(init, init_gain)
        make_output_activation(output)  # validates
        self.size_multiple = 2**num_downs
        self.fixed_size = None

        block = UnetSkipConnectionBlock(8 * ngf, 8 * ngf, innermost=True, norm=norm)
        for _ in range(num_downs - 5):
            block = UnetSkipConnectionBlock(
                8 * ngf, 8 * ngf, submodule=block, norm=norm, use_dropout=use_dropout
            )
        for mult in (4, 2, 1):
            block = UnetSkipConnectionBlock(mult * ngf, 2 * mult * ngf, submodule=block, norm=norm)
        self.model = UnetSkipConnectionBlock(
            out_channels,
            ngf,
            in_channels=in_channels,
            submodule=block,
            outermost=True,
            norm=norm,
            output=output,
        )
        init_weights(self, init, init_gain)

    def forward(self, x: Tensor) -> Tensor:
        """Translate a batch.

        Parameters
        ----------
        x
            ``(B, in_channels, H, W)``, H and W multiples of ``2**num_downs``.

        Returns
        -------
        Tensor
            ``(B, out_channels, H, W)``.
        """
        self.check_input(x)
        return self.model(x)


@register("generator", "unet_128")
def unet_128(
    *,
    in_channels: int = 3,
    out_channels: int = 3,
    ngf: int = 64,
    norm: NormSpec = "instance",
    use_dropout: DropoutMode = False,
    output: OutputActivation = "tanh",
    init: InitScheme = "normal",
    init_gain: float = 0.02,
) -> UnetGenerator:
    """The U-Net with 7 downsamplings (128×128 → 1×1). 41,825,667 parameters with the defaults.

    See :class:`UnetGenerator` for the arguments.

    Shape
    -----
    ``(B, in_channels, H, W) -> (B, out_channels, H, W)``, H and W multiples of 128.
    """
    return UnetGenerator(
        in_channels=in_channels,
        out_channels=out_channels,
        num_downs=7,
        ngf=ngf,
        norm=norm,
        use_dropout=use_dropout,
        output=output,
        init=init,
        init_gain=init_gain,
    )


@register("generator", "unet_256")
def unet_256(
    *,
    in_channels: int = 3,
    out_channels: int = 3,
    ngf: int = 64,
    norm: NormSpec = "instance",
    use_dropout: DropoutMode = False,
    output: OutputActivation = "tanh",
    init: InitScheme = "normal",
    init_gain: float = 0.02,
) -> UnetGenerator:
    """The U-Net with 8 downsamplings (256×256 → 1×1). 54,409,603 parameters with the defaults.

    See :class:`UnetGenerator` for the arguments.

    Shape
    -----
    ``(B, in_channels, H, W) -> (B, out_channels, H, W)``, H and W multiples of 256.
    """
    return UnetGenerator(
        in_channels=in_channels,
        out_channels=out_channels,
        num_downs=8,
        ngf=ngf,
        norm=norm,
        use_dropout=use_dropout,
        output=output,
        init=init,
        init_gain=init_gain,
    )
