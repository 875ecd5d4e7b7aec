"""Building blocks of the seed (night-to-day) networks, shared by generator and discriminator."""

from __future__ import annotations

import math
from typing import Literal, TypeAlias

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from .context import GlobalContext
from .factories import ActSpec, OutputActivation, make_activation, make_output_activation

__all__ = [
    "EncoderStep",
    "ExposureGain",
    "ExposureNorm",
    "InceptionBlock",
    "KerasSameConvTranspose2d",
    "ResidualMode",
    "ResidualOutput",
    "ResizeConv2d",
    "SameConv2d",
    "SubsampleConv1x1",
    "Upsample",
    "blur_radius",
    "gaussian_blur",
    "make_upsample",
    "seed_norm",
    "zero_init",
]

#: How a decoder goes up in resolution: ``"transposed"`` (a strided transposed convolution with
#: Keras 'same' semantics, the seed's) or ``"resize"`` (bilinear resize and a convolution, which
#: cannot draw the checkerboard/grid a transposed convolution whose kernel is not a multiple of
#: its stride draws).
Upsample: TypeAlias = Literal["transposed", "resize"]


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
        # Speed, not semantics: let the transposed convolution itself drop the first
        # ``crop_before`` rows/columns (``padding``) and keep ``stride - 1`` extra ones at the end
        # (``output_padding``, cropped below). The result is the same map; oneDNN's bf16
        # deconvolution is 3-7x faster with this shape than with the full output (measured on a
        # Zen 4 CPU, ``benchmarks/RESULTS.md``, "What the profile shows").
        self._fast_padding = (
            (self._crop_before, stride - 1) if pad_total > 0 and stride > 1 else None
        )

    def forward(self, x: Tensor, output_size: list[int] | None = None) -> Tensor:
        h, w = x.shape[-2] * self.stride[0], x.shape[-1] * self.stride[1]
        if self._fast_padding is not None:
            pad, out_pad = self._fast_padding
            y = F.conv_transpose2d(
                x, self.weight, self.bias, self.stride, pad, out_pad, self.groups, self.dilation
            )
            return y[..., :h, :w]
        y = super().forward(x)
        b = self._crop_before
        return y[..., b : b + h, b : b + w]


class ResizeConv2d(nn.Module):
    """Upsample by ``scale`` without a transposed convolution: a convolution and a bilinear resize.

    ``conv_first=False`` (Odena et al. 2016, "Deconvolution and checkerboard artifacts"): bilinear
    resize, then a ``kernel_size`` 'same' convolution at the output resolution.
    ``conv_first=True``: the convolution at the input resolution, then the resize. Both are
    linear maps of the same form up to the border and the resize's own low-pass; the second costs
    ``scale²`` times fewer multiply-adds, which matters for large factors (the seed's ×16 fusion).
    Neither can draw the periodic grid of a transposed convolution whose kernel is not a multiple
    of its stride (the seed's 5×5, stride 16 fusion paints a 16-pixel grid).

    Parameters
    ----------
    in_channels, out_channels
        ``C_in`` and ``C_out``.
    kernel_size
        Odd kernel size of the convolution.
    scale
        Integer upsampling factor ``s >= 1``.
    conv_first
        Convolve at the input resolution (cheap), else at the output resolution.

    Shape
    -----
    ``(B, C_in, H, W) -> (B, C_out, H*s, W*s)``
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        scale: int,
        *,
        conv_first: bool = False,
    ) -> None:
        super().__init__()
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd and >= 1; got {kernel_size}")
        if scale < 1:
            raise ValueError(f"scale must be an integer >= 1; got {scale}")
        self.scale = int(scale)
        self.conv_first = bool(conv_first)
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2)

    def _resize(self, x: Tensor) -> Tensor:
        if self.scale == 1:
            return x
        return F.interpolate(x, scale_factor=self.scale, mode="bilinear", align_corners=False)

    def forward(self, x: Tensor) -> Tensor:
        if self.conv_first:
            return self._resize(self.conv(x))
        return self.conv(self._resize(x))


def make_upsample(
    kind: Upsample, in_channels: int, out_channels: int, kernel_size: int, scale: int
) -> nn.Module:
    """An upsampling layer of ``kind`` (see :data:`Upsample`).

    ``"transposed"`` is :class:`KerasSameConvTranspose2d`; ``"resize"`` is a
    :class:`ResizeConv2d` that convolves at the output resolution for ``scale <= 2`` and at the
    input resolution (``conv_first``) for larger factors.

    Shape
    -----
    ``(B, in_channels, H, W) -> (B, out_channels, H*scale, W*scale)``
    """
    if kind == "transposed":
        return KerasSameConvTranspose2d(in_channels, out_channels, kernel_size, scale)
    if kind == "resize":
        return ResizeConv2d(in_channels, out_channels, kernel_size, scale, conv_first=scale > 2)
    raise ValueError(f"unknown upsample {kind!r}; accepted: 'transposed' (the seed's), 'resize'")


#: How a residual output adds its correction to the input: ``"add"`` in pixel space,
#: ``"logit"`` in the output activation's pre-image (see :class:`ResidualOutput`).
ResidualMode: TypeAlias = Literal["add", "logit"]


class ResidualOutput(nn.Module):
    """An output that corrects the input instead of painting a new image.

    With the head that produces ``delta`` initialised to zero (see :func:`zero_init`), a
    generator with this output returns its input unchanged before training and learns a
    *correction* of it: structure is kept from the first step, and the adversarial and cycle terms
    only have to learn what changes (for night → day, mostly light and colour).

    - ``mode="add"``: ``clamp(x + delta)`` to the activation's range (``[0, 1]`` for
      ``"sigmoid"``, ``[-1, 1]`` for ``"tanh"``, unclamped for ``"none"``). Sensor noise keeps its
      amplitude.
    - ``mode="logit"``: ``act(act⁻¹(x) + delta)`` (the logit for ``"sigmoid"``, ``atanh`` for
      ``"tanh"``), ``x`` clamped ``eps`` inside the range first. A constant ``delta`` is then a
      brightness curve, but the curve's slope in the dark amplifies sensor noise (measured in
      ``benchmarks/quality.py``).

    With ``smooth > 0`` the correction is added to a Gaussian-blurred copy of the input (standard
    deviation ``smooth`` pixels) instead: the base then keeps the scene's shapes but not the
    pixel-level sensor noise of a night photo, which a brightening correction would otherwise
    amplify; fine detail comes back through ``delta``.

    Computed in float32 even under autocast: the image needs more than bf16's 8-bit mantissa.

    Parameters
    ----------
    output
        The output activation (:data:`~cyclegan_ms.layers.OutputActivation`).
    mode
        :data:`ResidualMode`.
    eps
        Clamp margin of the input for ``"logit"`` (in units of the range's width).
    smooth
        Standard deviation (pixels) of the Gaussian blur of the base; 0: the input itself.

    Shape
    -----
    ``x (B, C, H, W), delta (B, C, H, W) -> (B, C, H, W)`` float32
    """

    def __init__(
        self,
        output: OutputActivation,
        mode: ResidualMode = "add",
        *,
        eps: float = 1e-3,
        smooth: float = 0.0,
    ) -> None:
        super().__init__()
        if not 0.0 < eps < 0.5:
            raise ValueError(f"eps must be in (0, 0.5); got {eps}")
        if (
            isinstance(smooth, bool)
            or not isinstance(smooth, (int, float))
            or not 0.0 <= smooth <= 8.0
        ):
            raise ValueError(f"smooth must be a number of pixels in [0, 8]; got {smooth!r}")
        self.smooth = float(smooth)
        if mode not in ("add", "logit"):
            raise ValueError(f"unknown residual mode {mode!r}; accepted: 'add', 'logit'")
        self.activation = make_output_activation(output)
        self.kind = output
        self.mode = mode
        self.eps = float(eps)
        self.range: tuple[float, float] | None = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}.get(
            output
        )

    def inverse(self, x: Tensor) -> Tensor:
        """The activation's inverse of ``x`` (clamped ``eps`` inside the range)."""
        e = self.eps
        if self.kind == "sigmoid":
            return torch.logit(x.clamp(e, 1.0 - e))
        if self.kind == "tanh":
            return torch.atanh(x.clamp(-1.0 + 2 * e, 1.0 - 2 * e))
        return x

    def base(self, x: Tensor) -> Tensor:
        """The image the correction is added to: ``x``, or its blur when ``smooth > 0``.

        Shape
        -----
        ``(B, C, H, W) -> (B, C, H, W)`` float32 (replicate padding at the border)
        """
        return gaussian_blur(x.float(), self.smooth)

    def forward(self, x: Tensor, delta: Tensor) -> Tensor:
        base = self.base(x)
        if self.mode == "logit":
            return self.activation(self.inverse(base) + delta.float())
        y = base + delta.float()
        return y if self.range is None else y.clamp(*self.range)


class ExposureGain(GlobalContext, nn.Module):
    """The gain :class:`ExposureNorm` applies: ``target / mean(u)`` per image.

    A :class:`~cyclegan_ms.layers.GlobalContext`, so tiled inference computes it once on the
    whole image and gives it to every tile (tiles of a large photo then share one exposure).

    Shape
    -----
    ``(B, C, H, W)`` in [0, 1] ``-> (B, 1, 1, 1)`` float32
    """

    def __init__(self, target: float) -> None:
        super().__init__()
        self.target = float(target)

    def forward(self, u: Tensor) -> Tensor:
        return self.target / u.float().mean(dim=(1, 2, 3), keepdim=True).clamp_min(1e-3)

    def extra_repr(self) -> str:
        return f"target={self.target}"


class ExposureNorm(nn.Module):
    """Scale each image so that its mean brightness is ``target``: the generator becomes blind to
    the camera's exposure.

    A night photo's overall level says how dark the night was and how long the camera exposed,
    not how bright the scene is by day (on the built-in scenes the two are uncorrelated). A
    generator whose output starts from its input (:class:`ResidualOutput`) carries that level
    into the day picture, and the cycle loss rewards keeping it, since the way back must
    restore the night's level. Dividing by the image's own mean removes it: with a power-law
    tone curve a change of exposure is a gain on the pixel values, so ``x`` and ``k · x`` give
    the same output. The gain is an :class:`ExposureGain`, a whole-image context: tiled
    inference computes it on the whole image, so the tiles of a large photo agree.

    Parameters
    ----------
    target
        Mean brightness after scaling, in units of the data range's width (0.15: a typical
        night image of the built-in scenes in [0, 1]); must be in (0, 1).
    value_range
        The data range: ``(0, 1)`` or ``(-1, 1)``; the mean is taken after mapping to [0, 1]
        and the result is mapped back.

    Shape
    -----
    ``(B, C, H, W) -> (B, C, H, W)`` float32 (not clamped: bright lamps may exceed the range)

    Examples
    --------
    >>> norm = ExposureNorm(0.2)
    >>> x = torch.rand(2, 3, 8, 8) * 0.3
    >>> torch.allclose(norm(x), norm(2.5 * x), atol=1e-6)
    True
    """

    def __init__(self, target: float, value_range: tuple[float, float] = (0.0, 1.0)) -> None:
        super().__init__()
        if (
            isinstance(target, bool)
            or not isinstance(target, (int, float))
            or not 0.0 < target < 1.0
        ):
            raise ValueError(f"exposure target must be a number in (0, 1); got {target!r}")
        if tuple(value_range) not in ((0.0, 1.0), (-1.0, 1.0)):
            raise ValueError(f"value_range must be (0, 1) or (-1, 1); got {value_range!r}")
        self.lo, self.hi = (float(v) for v in value_range)
        self.gain = ExposureGain(float(target))

    def forward(self, x: Tensor) -> Tensor:
        w = self.hi - self.lo
        u = (x.float() - self.lo) / w
        return u * self.gain(u) * w + self.lo


def blur_radius(sigma: float) -> int:
    """Half-width of :func:`gaussian_blur`'s kernel for ``sigma``: ``max(1, ceil(3 * sigma))``."""
    return max(1, math.ceil(3.0 * sigma))


def gaussian_blur(
    x: Tensor, sigma: float, *, padding: Literal["replicate", "reflect"] = "replicate"
) -> Tensor:
    """Separable Gaussian blur of every channel, kernel ``2 * blur_radius(sigma) + 1``.

    The kernel is normalised to sum 1, so a constant image is left unchanged. ``padding`` is the
    border rule: ``"replicate"`` repeats the edge pixels, ``"reflect"`` mirrors the image about
    them (it needs H and W larger than the radius).

    Parameters
    ----------
    x
        Image batch.
    sigma
        Standard deviation in pixels (``>= 0``).
    padding
        How the image is extended past its border.

    Shape
    -----
    ``(B, C, H, W) -> (B, C, H, W)``; ``sigma = 0`` returns ``x``.

    Raises
    ------
    ValueError
        On ``sigma < 0``, a non-4D input, or (``"reflect"``) an input too small to reflect-pad.

    Examples
    --------
    >>> x = torch.full((1, 3, 8, 8), 0.25)
    >>> torch.allclose(gaussian_blur(x, 1.5, padding="reflect"), x)
    True
    """
    if sigma < 0:
        raise ValueError(f"sigma must be >= 0; got {sigma}")
    if x.dim() != 4:
        raise ValueError(f"gaussian_blur expects a (B, C, H, W) batch; got shape {tuple(x.shape)}")
    if sigma == 0:
        return x
    r = blur_radius(sigma)
    if padding == "reflect" and (x.shape[-2] <= r or x.shape[-1] <= r):
        raise ValueError(
            f"gaussian_blur with sigma={sigma} reflect-pads by {r}, so it needs inputs larger "
            f"than {r}×{r}; got {x.shape[-2]}×{x.shape[-1]}"
        )
    # the taps -r..r built from x (new_ones), not torch.arange(device=x.device): a traced graph
    # (TorchScript export) would hold the tracing device as a constant and fail elsewhere
    t = x.new_ones(2 * r + 1, dtype=torch.float32).cumsum(0) - (r + 1)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    k = (k / k.sum()).type_as(x)  # in x's dtype, also when traced in another
    c = x.shape[1]
    y = F.pad(x, (r, r, r, r), mode=padding)
    y = F.conv2d(y, k.view(1, 1, 1, -1).expand(c, 1, 1, 2 * r + 1), groups=c)
    return F.conv2d(y, k.view(1, 1, -1, 1).expand(c, 1, 2 * r + 1, 1), groups=c)


def zero_init(module: nn.Module) -> nn.Module:
    """Set every parameter of ``module`` to zero (in place) and return it."""
    with torch.no_grad():
        for p in module.parameters():
            p.zero_()
    return module


class SameConv2d(nn.Conv2d):
    """A stride-1 convolution with Keras' ``padding='same'`` for any kernel size, even included.

    An even kernel ``k`` cannot be centred: Keras pads ``(k - 1) // 2`` rows/columns at the
    top/left and ``k // 2`` at the bottom/right, and so does this class (odd kernels: ``k // 2``
    on every side, as ``nn.Conv2d(padding=k // 2)``). Parameters and ``state_dict`` keys are those
    of ``nn.Conv2d``.

    Shape
    -----
    ``(B, C_in, H, W) -> (B, C_out, H, W)``
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int) -> None:
        super().__init__(in_channels, out_channels, kernel_size, padding=0)
        k = int(kernel_size)
        self._pad = ((k - 1) // 2, k // 2, (k - 1) // 2, k // 2)  # left, right, top, bottom

    def forward(self, x: Tensor) -> Tensor:
        return super().forward(F.pad(x, self._pad))
