"""The ResNet generator of the CycleGAN paper (Johnson et al.'s fast-neural-style network).

Same layers, order and ``state_dict`` keys (``model.<i>...``, ``conv_block.<j>...``) as
``ResnetGenerator`` in the reference pytorch-CycleGAN-and-pix2pix ``networks.py``, so the two
are interchangeable layer for layer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, TypeAlias

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
from .base import Generator, check_feature_layers, check_init

__all__ = ["PaddingType", "ResnetBlock", "ResnetGenerator", "resnet_6blocks", "resnet_9blocks"]

#: How a ResNet block pads before each 3×3 convolution.
PaddingType: TypeAlias = Literal["reflect", "replicate", "zero"]
_PADDINGS = ("reflect", "replicate", "zero")


class ResnetBlock(nn.Module):
    """Residual block: pad, 3×3 conv, norm, ReLU, [dropout 0.5], pad, 3×3 conv, norm; plus input.

    Parameters
    ----------
    dim
        Channels ``C``.
    padding_type
        ``"reflect"``, ``"replicate"`` or ``"zero"`` (zero padding inside the convolution).
    norm
        Normalisation spec (see :func:`cyclegan_ms.layers.make_norm`).
    use_dropout
        Dropout(0.5) after the first ReLU: ``True`` in training, ``"always"`` also in eval
        mode (:data:`~cyclegan_ms.layers.DropoutMode`).
    use_bias
        Whether the convolutions have a bias.

    Shape
    -----
    ``(B, C, H, W) -> (B, C, H, W)``
    """

    def __init__(
        self,
        dim: int,
        *,
        padding_type: PaddingType,
        norm: NormSpec,
        use_dropout: DropoutMode,
        use_bias: bool,
    ) -> None:
        super().__init__()
        if padding_type not in _PADDINGS:
            raise ValueError(
                f"unknown padding_type {padding_type!r}; accepted: {', '.join(_PADDINGS)}"
            )

        def pad() -> tuple[list[nn.Module], int]:
            if padding_type == "reflect":
                return [nn.ReflectionPad2d(1)], 0
            if padding_type == "replicate":
                return [nn.ReplicationPad2d(1)], 0
            return [], 1

        layers, p = pad()
        layers += [
            nn.Conv2d(dim, dim, 3, padding=p, bias=use_bias),
            make_norm(norm, dim),
            make_activation("relu"),
        ]
        layers += make_dropout(use_dropout)
        more, p = pad()
        layers += [*more, nn.Conv2d(dim, dim, 3, padding=p, bias=use_bias), make_norm(norm, dim)]
        self.conv_block = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv_block(x)


class ResnetGenerator(Generator):
    """The CycleGAN ResNet generator: 7×7 conv, two stride-2 downsamplings, ``n_blocks``
    residual blocks at ``4·ngf`` channels, two stride-2 transposed convolutions, 7×7 conv.

    Every conv but the last is followed by the norm and ReLU; the first and last 7×7
    convolutions use reflection padding whatever ``padding_type`` is (as the reference does).

    Parameters
    ----------
    in_channels, out_channels
        Channels of the input and output images.
    ngf
        Width of the first layer (64 in the paper).
    n_blocks
        Number of residual blocks (9 for 256×256 training, 6 for 128×128).
    norm
        Normalisation spec; ``"instance"`` is the CycleGAN default (non-affine). Convolutions
        before a batch norm have no bias.
    use_dropout
        Dropout(0.5) inside each residual block: ``True`` in training, ``"always"`` also in
        eval mode (the pix2pix reference's test without ``--eval``).
    padding_type
        Padding inside the residual blocks.
    output
        Output activation: ``"tanh"`` for data in [-1, 1] (the paper's), ``"sigmoid"``,
        ``"none"``.
    init, init_gain
        Weight initialisation (see :func:`cyclegan_ms.layers.init_weights`); the paper's is
        ``N(0, 0.02)``.

    Raises
    ------
    ValueError
        On an invalid argument.

    Shape
    -----
    ``(B, in_channels, H, W) -> (B, out_channels, H, W)`` with H and W multiples of 4, >= 8.

    Examples
    --------
    >>> import torch
    >>> G = ResnetGenerator(n_blocks=2, ngf=8)
    >>> G(torch.zeros(1, 3, 32, 48)).shape
    torch.Size([1, 3, 32, 48])
    """

    def __init__(
        self,
        *,
        in_channels: int = 3,
        out_channels: int = 3,
        ngf: int = 64,
        n_blocks: int = 9,
        norm: NormSpec = "instance",
        use_dropout: DropoutMode = False,
        padding_type: PaddingType = "reflect",
        output: OutputActivation = "tanh",
        init: InitScheme = "normal",
        init_gain: float = 0.02,
    ) -> None:
        super().__init__()
        self.in_channels = check_int(in_channels, "in_channels", 1)
        self.out_channels = check_int(out_channels, "out_channels", 1)
        ngf = check_int(ngf, "ngf", 1)
        n_blocks = check_int(n_blocks, "n_blocks", 0)
        check_norm_spec(norm)
        check_dropout_mode(use_dropout)
        check_init(init, init_gain)
        if padding_type not in _PADDINGS:
            raise ValueError(
                f"unknown padding_type {padding_type!r}; accepted: {', '.join(_PADDINGS)}"
            )
        self.size_multiple = 4
        self.fixed_size = None
        bias = norm_has_bias(norm)

        model: list[nn.Module] = [
            nn.ReflectionPad2d(3),
            nn.Conv2d(in_channels, ngf, 7, bias=bias),
            make_norm(norm, ngf),
            make_activation("relu"),
        ]
        for i in range(2):
            c = ngf * 2**i
            model += [
                nn.Conv2d(c, 2 * c, 3, stride=2, padding=1, bias=bias),
                make_norm(norm, 2 * c),
                make_activation("relu"),
            ]
        model += [
            ResnetBlock(
                4 * ngf,
                padding_type=padding_type,
                norm=norm,
                use_dropout=use_dropout,
                use_bias=bias,
            )
            for _ in range(n_blocks)
        ]
        for i in range(2):
            c = ngf * 2 ** (2 - i)
            model += [
                nn.ConvTranspose2d(c, c // 2, 3, stride=2, padding=1, output_padding=1, bias=bias),
                make_norm(norm, c // 2),
                make_activation("relu"),
            ]
        model += [
            nn.ReflectionPad2d(3),
            nn.Conv2d(ngf, out_channels, 7),
            make_output_activation(output),
        ]
        self.model = nn.Sequential(*model)
        channels, c = [], in_channels
        for module in model[: 10 + n_blocks]:
            c = module.out_channels if isinstance(module, nn.Conv2d) else c
            channels.append(c)
        self._feature_channels = tuple(channels)
        init_weights(self, init, init_gain)

    def check_input(self, x: Tensor) -> None:
        """Raise ``ValueError`` unless ``x`` is ``(B, in_channels, H, W)``, H and W multiples
        of 4 and at least 8 (the residual blocks normalise a ``(H/4)×(W/4)`` map, which needs
        more than one pixel).
        """
        super().check_input(x)
        h, w = x.shape[-2], x.shape[-1]
        if h < 8 or w < 8:
            raise ValueError(
                f"ResnetGenerator needs H and W of at least 8 (multiples of 4); got {h}×{w}"
            )

    def feature_channels(self) -> tuple[int, ...]:
        """Channels of the encoder's tappable layers: the output of each module of the network
        up to the last residual block (``10 + n_blocks`` of them: 0 is the reflection-padded
        input, 1-3 the 7×7 convolution, its norm and ReLU, 4-9 the two downsamplings (conv,
        norm, ReLU each), 10 on the residual blocks). CUT's default layers ``0, 4, 8, 12, 16``
        are the padded input, the first downsampling convolution, the second's norm and the
        outputs of the 3rd and 7th residual blocks.
        """
        return self._feature_channels

    def encode(self, x: Tensor, layers: Sequence[int]) -> list[Tensor]:
        """The outputs of the encoder layers ``layers`` (see :meth:`feature_channels`) for ``x``.

        Parameters
        ----------
        x
            ``(B, in_channels, H, W)``, H and W multiples of 4, at least 8.
        layers
            Indices of :meth:`feature_channels`, any order.

        Returns
        -------
        list[Tensor]
            One ``(B, C_l, H_l, W_l)`` per layer, in the order of ``layers``.

        Raises
        ------
        ValueError
            On an index outside the encoder.
        """
        wanted = check_feature_layers(layers, len(self._feature_channels), "ResnetGenerator")
        self.check_input(x)
        found: dict[int, Tensor] = {}
        h = x
        last = max(wanted)
        for i, module in enumerate(self.model):
            h = module(h)
            if i in wanted:
                found[i] = h
            if i == last:
                break
        return [found[i] for i in wanted]

    def forward(self, x: Tensor) -> Tensor:
        """Translate a batch.

        Parameters
        ----------
        x
            ``(B, in_channels, H, W)``, H and W multiples of 4, at least 8.

        Returns
        -------
        Tensor
            ``(B, out_channels, H, W)``.
        """
        self.check_input(x)
        return self.model(x)


@register("generator", "resnet_9blocks")
def resnet_9blocks(
    *,
    in_channels: int = 3,
    out_channels: int = 3,
    ngf: int = 64,
    norm: NormSpec = "instance",
    use_dropout: DropoutMode = False,
    padding_type: PaddingType = "reflect",
    output: OutputActivation = "tanh",
    init: InitScheme = "normal",
    init_gain: float = 0.02,
) -> ResnetGenerator:
    """CycleGAN's ResNet generator with 9 residual blocks (for 256×256 training).

    11,378,179 parameters with the defaults. See :class:`ResnetGenerator` for the arguments.

    Shape
    -----
    ``(B, in_channels, H, W) -> (B, out_channels, H, W)``, H and W multiples of 4.
    """
    return ResnetGenerator(
        in_channels=in_channels,
        out_channels=out_channels,
        ngf=ngf,
        n_blocks=9,
        norm=norm,
        use_dropout=use_dropout,
        padding_type=padding_type,
        output=output,
        init=init,
        init_gain=init_gain,
    )


@register("generator", "resnet_6blocks")
def resnet_6blocks(
    *,
    in_channels: int = 3,
    out_channels: int = 3,
    ngf: int = 64,
    norm: NormSpec = "instance",
    use_dropout: DropoutMode = False,
    padding_type: PaddingType = "reflect",
    output: OutputActivation = "tanh",
    init: InitScheme = "normal",
    init_gain: float = 0.02,
) -> ResnetGenerator:
    """CycleGAN's ResNet generator with 6 residual blocks (for 128×128 training).

    7,837,699 parameters with the defaults. See :class:`ResnetGenerator` for the arguments.

    Shape
    -----
    ``(B, in_channels, H, W) -> (B, out_channels, H, W)``, H and W multiples of 4.
    """
    return ResnetGenerator(
        in_channels=in_channels,
        out_channels=out_channels,
        ngf=ngf,
        n_blocks=6,
        norm=norm,
        use_dropout=use_dropout,
        padding_type=padding_type,
        output=output,
        init=init,
        init_gain=init_gain,
    )
