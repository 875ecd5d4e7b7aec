"""Building blocks of the seed (night-to-day) networks, shared by generator and discriminator."""

from __future__ import annotations

import torch.nn as nn
from torch import Tensor

from .factories import ActSpec, make_activation

__all__ = ["EncoderStep", "InceptionBlock", "KerasSameConvTranspose2d", "SubsampleConv1x1", "seed_norm"]


def seed_norm(channels: int) -> nn.GroupNorm:
    """The seed's normalisation: ``GroupNorm(1, C, eps=1e-3)`` (LayerNorm over C, H, W per sample,
    per-channel affine). Not instance norm."""
    return nn.GroupNorm(1, channels, eps=1e-3)


class InceptionBlock(nn.Module):
    """The seed's residual "inception" block (``convolution`` in the original Keras code).

    Main path: three 5×5 convolutions, each followed by the activation and then (when
    ``norm``) ``GroupNorm(1, width, eps=1e-3)``. Branch: a 1×1 convolution of the input,
    activation, norm. Output: main + branch.

    Parameters
    ----------
    in_channels
        Input channels ``C_in``.
    width
        Output channels ``f``.
    act
        Activation spec (the seed uses LeakyReLU(0.3) in encoders, ReLU in the decoder).
    norm
        Whether to apply the GroupNorm(1) after each activation.

    Shape
    -----
    ``(B, C_in, H, W) -> (B, width, H, W)``
    """

    def __init__(self, in_channels: int, width: int, *, act: ActSpec, norm: bool) -> None:
        super().__init__()
        if in_channels < 1 or width < 1:
            raise ValueError(f"channels must be >= 1; got in={in_channels}, width={width}")
        layers: list[nn.Module] = []
        c = in_channels
        for _ in range(3):
            layers += [nn.Conv2d(c, width, 5, padding=2), make_activation(act)]
            if norm:
                layers.append(seed_norm(width))
            c = width
        self.main = nn.Sequential(*layers)
        branch: list[nn.Module] = [nn.Conv2d(in_channels, width, 1), make_activation(act)]
        if norm:
            branch.append(seed_norm(width))
        self.branch = nn.Sequential(*branch)

    def forward(self, x: Tensor) -> Tensor:
        return self.main(x) + self.branch(x)


class SubsampleConv1x1(nn.Conv2d):
    """A 1×1 convolution with stride 2, computed as ``conv1x1(x[..., ::2, ::2])``.

    The same function, parameters and ``state_dict`` keys as ``nn.Conv2d(c_in, c_out, 1,
    stride=2)`` (a 1×1 kernel with stride 2 reads exactly the even rows and columns), but it
    never calls the strided 1×1 kernel: in torch 2.13's oneDNN CPU backend that kernel's backward
    corrupts memory for ``channels_last`` inputs with few channels (e.g. 8 channels at 64×64
    crashes the process). Subsampling first is also cheaper.

    Shape
    -----
    ``(B, C_in, H, W) -> (B, C_out, ceil(H/2), ceil(W/2))``
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(in_channels, out_channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        return super().forward(x[..., ::2, ::2])


class EncoderStep(nn.Module):
    """Inception block, then a 1×1 stride-2 convolution + activation that halves H and W.

    Shape
    -----
    ``(B, C_in, H, W) -> (skip (B, width, H, W), down (B, width, ceil(H/2), ceil(W/2)))``
    """

    def __init__(self, in_channels: int, width: int, *, act: ActSpec, norm: bool) -> None:
        super().__init__()
        self.block = InceptionBlock(in_channels, width, act=act, norm=norm)
        self.down = nn.Sequential(SubsampleConv1x1(width, width), make_activation(act))

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        skip = self.block(x)
        return skip, self.down(skip)


class KerasSameConvTranspose2d(nn.ConvTranspose2d):
    """``ConvTranspose2d`` with Keras' ``padding='same'`` semantics: output = input × stride.

    Keras' 'same' transposed convolution crops ``(k - s)`` pixels in total, the smaller half at
    the top/left (``floor((k-s)/2)``) and the rest at the bottom/right. For ``k=5, s=2`` that is
    PyTorch ``padding=1`` with the last row and column dropped; for ``k=5, s=16`` it is
    ``padding=0`` with 11 extra rows/columns at the end. This class computes the full
    transposed convolution and crops, which matches Keras for any ``k`` and ``s``.

    Shape
    -----
    ``(B, C_in, H, W) -> (B, C_out, H*s, W*s)``
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int) -> None:
        pad_total = kernel_size - stride
        # k < s: the full transposed output is short by (s - k); Keras fills it with the bias
        # alone, which is exactly what PyTorch's ``output_padding`` does.
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride=stride,
            padding=0,
            output_padding=max(0, -pad_total),
        )
        self._crop_before = max(0, pad_total) // 2

    def forward(self, x: Tensor, output_size: list[int] | None = None) -> Tensor:
        y = super().forward(x)
        h, w = x.shape[-2] * self.stride[0], x.shape[-1] * self.stride[1]
        b = self._crop_before
        return y[..., b : b + h, b : b + w]


