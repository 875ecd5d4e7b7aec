"""The seed night-to-day generator: a multi-scale U-Net of residual inception blocks.

Rebuilt exactly from the original Keras model (see ``DESIGN.md`` §1): with the defaults and
256×256 inputs it has 19,274,323 parameters, 4,210,816 of them in the dense bottleneck.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn as nn
from einops import rearrange
from torch import Tensor

from .._checks import check_int
from ..layers import (
    EncoderStep,
    ExposureNorm,
    GlobalContext,
    InceptionBlock,
    OutputActivation,
    ResidualMode,
    ResidualOutput,
    Upsample,
    init_weights,
    make_output_activation,
    make_upsample,
    seed_norm,
    zero_init,
)
from ..registry import register
from .base import Generator, check_feature_layers

__all__ = ["ContextLinear", "ConvBottleneck", "DecoderStep", "DenseBottleneck", "SeedUNet"]

#: Keras 2's default LeakyReLU slope, used throughout the seed encoder.
_ENCODER_ACT = ("leaky", {"negative_slope": 0.3})


class DenseBottleneck(nn.Module):
    """The seed's bottleneck: flatten → Linear(latent_dim) → Linear → reshape, no activation.

    Flattening is channels-last (``(h w c)``, as Keras' ``Flatten`` does on NHWC tensors), so
    the two weight matrices have the layout of the original model's.

    Parameters
    ----------
    channels
        Channels ``C`` of the coarsest feature map.
    spatial
        Its side ``S`` (``image_size / 2**depth``; 8 for the seed).
    latent_dim
        Width of the code (128 for the seed).

    Shape
    -----
    ``(B, C, S, S) -> (B, C, S, S)``
    """

    def __init__(self, channels: int, spatial: int, latent_dim: int) -> None:
        super().__init__()
        self.channels, self.spatial = channels, spatial
        features = channels * spatial * spatial
        self.encode = nn.Linear(features, latent_dim)
        self.decode = nn.Linear(latent_dim, features)

    def penalized_weights(self) -> list[Tensor]:
        """The weight matrices the L2 penalty applies to (biases are not penalised)."""
        return [self.encode.weight, self.decode.weight]

    def forward(self, x: Tensor) -> Tensor:
        z = self.encode(rearrange(x, "b c h w -> b (h w c)"))
        return rearrange(
            self.decode(z), "b (h w c) -> b c h w", c=self.channels, h=self.spatial, w=self.spatial
        )


class ContextLinear(GlobalContext, nn.Linear):
    """``nn.Linear`` applied to image-level features (spatial means), marked as global context.

    The marker (:class:`~cyclegan_ms.layers.GlobalContext`) tells tiled inference to give every
    tile the output computed on the whole image.

    Shape
    -----
    ``(B, in_features) -> (B, out_features)``
    """


class ConvBottleneck(nn.Module):
    """Size-free replacement of the dense bottleneck: a local low-rank map plus global context.

    ``z = squeeze(x)`` (3×3 conv to ``latent_dim`` channels), then
    ``expand(z) + context(mean_hw(z))`` (3×3 conv back to ``C`` channels, plus a linear map of
    the spatially averaged code broadcast over H, W). No activation, like the seed's.

    Why this design: the dense bottleneck does two things, it squeezes the features through a
    narrow linear code (regularised by L2), and it lets every output position see the whole
    image. The 3×3 squeeze/expand keeps the narrow code per position at any H, W; the pooled
    context path keeps an image-level signal (overall illumination, which is what night→day
    must change everywhere) that a purely local bottleneck would lose on inputs larger than the
    encoder's receptive field. It costs ~0.6 M parameters instead of 4.2 M at the defaults.

    Shape
    -----
    ``(B, C, h, w) -> (B, C, h, w)`` for any ``h, w``
    """

    def __init__(self, channels: int, latent_dim: int) -> None:
        super().__init__()
        self.squeeze = nn.Conv2d(channels, latent_dim, 3, padding=1)
        self.expand = nn.Conv2d(latent_dim, channels, 3, padding=1)
        self.context = ContextLinear(latent_dim, channels)

    def penalized_weights(self) -> list[Tensor]:
        """The weights the L2 penalty applies to (biases are not penalised)."""
        return [self.squeeze.weight, self.expand.weight, self.context.weight]

    def forward(self, x: Tensor) -> Tensor:
        z = self.squeeze(x)
        context = self.context(z.mean(dim=(-2, -1)))
        return self.expand(z) + rearrange(context, "b c -> b c 1 1")


class DecoderStep(nn.Module):
    """5×5 stride-2 upsampling + ReLU, add the skip, then an inception block.

    The upsampling is the seed's transposed convolution (Keras 'same') or, with
    ``upsample="resize"``, a bilinear ×2 resize and a 5×5 convolution.

    Shape
    -----
    ``x (B, C_in, H, W), skip (B, width, 2H, 2W) -> (B, width, 2H, 2W)``
    """

    def __init__(self, in_channels: int, width: int, upsample: Upsample = "transposed") -> None:
        super().__init__()
        self.up = nn.Sequential(make_upsample(upsample, in_channels, width, 5, 2), nn.ReLU())
        self.block = InceptionBlock(width, width, act="relu", norm=True)

    def forward(self, x: Tensor, skip: Tensor) -> Tensor:
        return self.block(self.up(x) + skip)


@register("generator", "seed_unet")
class SeedUNet(Generator):
    """The seed's multi-scale U-Net generator (night → day), exactly as the original.

    * encoder: ``depth`` steps (widths ``base_width · 2**i``), each a residual inception block
      (LeakyReLU(0.3), ``GroupNorm(1, eps=1e-3)``) whose output is the skip, then a 1×1
      stride-2 convolution + LeakyReLU;
    * bottleneck: ``"dense"`` (the seed's: flatten → Linear(latent_dim) → Linear → reshape,
      with an L2 penalty, tied to ``image_size``) or ``"conv"`` (size-free, see
      :class:`ConvBottleneck`; same L2 penalty on its weights);
    * decoder: ``depth`` steps, each a 5×5 stride-2 transposed convolution with Keras 'same'
      semantics + ReLU, the matching skip ADDED, then an inception block (ReLU);
    * fusion: the first (coarsest) decoder output goes straight to full resolution through a
      5×5 transposed convolution with stride ``2**(depth-1)`` to ``base_width`` channels,
      ReLU, ``GroupNorm(1)``, and is CONCATENATED after the last decoder output;
    * head: 5×5 convolution to ``out_channels``, then the output activation.

    Weights are Glorot-uniform with zero biases, as Keras initialises them.

    Options depart from the seed (all off by default; the ``night2day`` preset turns on the first
    three, and ``benchmarks/quality.py`` measures them):

    * ``upsample="resize"``: every transposed convolution becomes a bilinear resize and a
      convolution (:class:`~cyclegan_ms.layers.ResizeConv2d`). The seed's stride-16 fusion has a
      5×5 kernel, so 11 of every 16 output rows and columns receive only its bias: it paints a
      16-pixel grid on every output.
    * ``residual="add"`` (or ``"logit"``): the head predicts a correction of the input and starts
      at zero (:class:`~cyclegan_ms.layers.ResidualOutput`), so the generator is the identity
      before training and keeps the input's structure from step one;
    * ``residual_smooth``: the correction is added to a Gaussian blur of the input (the
      untrained generator returns that blur), so sensor noise is not passed on;
    * ``global_affine``: a per-image gain and offset of each channel (measured neutral);
    * ``exposure_norm``: each input is scaled to a fixed mean brightness first
      (:class:`~cyclegan_ms.layers.ExposureNorm`), so the output does not depend on how dark the
      night was or how long the camera exposed.

    Parameters
    ----------
    in_channels, out_channels
        Channels of the input and output images.
    base_width
        Width of the first encoder step (16 in the seed); step ``i`` has ``base_width · 2**i``.
    depth
        Number of encoder/decoder steps (5 in the seed). H and W must be multiples of
        ``2**depth``.
    image_size
        The side of the square inputs the dense bottleneck is built for (256 in the seed);
        must be a multiple of ``2**depth``. Ignored by ``bottleneck="conv"``.
    bottleneck
        ``"dense"`` (exact seed, fixed input size) or ``"conv"`` (any H, W multiple of
        ``2**depth``).
    latent_dim
        Width of the bottleneck code (128 in the seed).
    l2
        Keras-style L2 factor of :meth:`regularization` (``l2 · Σ w²`` over the bottleneck's
        weight matrices); 1e-3 in the seed.
    output
        Output activation: ``"sigmoid"`` for data in [0, 1] (the seed's), ``"tanh"``, ``"none"``.
    upsample
        ``"transposed"`` (the seed's transposed convolutions) or ``"resize"`` (bilinear resize and
        convolution, no grid).
    residual
        ``"none"``: the seed's ``act(head(features))``. ``"add"``: ``clamp(x + head(features))``;
        ``"logit"``: ``act(act⁻¹(x) + head(features))``; both with a zero-initialised head and
        ``in_channels == out_channels``.
    residual_smooth
        With a residual output: add the correction to the input blurred by a Gaussian of this
        standard deviation (pixels) instead of the input itself (see
        :class:`~cyclegan_ms.layers.ResidualOutput`): the night's sensor noise is not passed on.
    global_affine
        With a residual output: before the local correction, scale and shift each channel of the
        input by a gain ``exp(g)`` and an offset ``b`` predicted per image from the bottleneck's
        spatially averaged features (a zero-initialised linear map, so still the identity at
        step 0). It gives the global part of night → day (exposure, white balance) one direct,
        size-free path instead of the decoder's.
    exposure_norm
        0 (the seed's): off. A number in (0, 1): scale each input image to this mean brightness
        (in units of the data range's width) before anything else, residual base included; the
        generator is then invariant to a gain on its input. Without it the day picture's
        brightness follows the night's exposure (correlation 1.00 on the held-out scenes),
        which says nothing about the scene by day (see ``benchmarks/RESULTS.md``).

    Raises
    ------
    ValueError
        On an invalid argument (message names it and what is accepted).

    Shape
    -----
    ``(B, in_channels, H, W) -> (B, out_channels, H, W)``; ``H = W = image_size`` for the dense
    bottleneck, H and W multiples of ``2**depth`` for the conv one.

    Examples
    --------
    >>> G = SeedUNet()
    >>> sum(p.numel() for p in G.parameters())
    19274323
    >>> G = SeedUNet(bottleneck="conv", base_width=4)
    >>> G(torch.rand(2, 3, 64, 96)).shape
    torch.Size([2, 3, 64, 96])
    """

    def __init__(
        self,
        *,
        in_channels: int = 3,
        out_channels: int = 3,
        base_width: int = 16,
        depth: int = 5,
        image_size: int = 256,
        bottleneck: Literal["dense", "conv"] = "dense",
        latent_dim: int = 128,
        l2: float = 1e-3,
        output: OutputActivation = "sigmoid",
        upsample: Upsample = "transposed",
        residual: Literal["none"] | ResidualMode = "none",
        global_affine: bool = False,
        residual_smooth: float = 0.0,
        exposure_norm: float = 0.0,
    ) -> None:
        super().__init__()
        self.in_channels = check_int(in_channels, "in_channels", 1)
        self.out_channels = check_int(out_channels, "out_channels", 1)
        base_width = check_int(base_width, "base_width", 1)
        depth = check_int(depth, "depth", 2)
        image_size = check_int(image_size, "image_size", 1)
        latent_dim = check_int(latent_dim, "latent_dim", 1)
        multiple = 2**depth
        if image_size % multiple:
            raise ValueError(
                f"image_size must be a multiple of 2**depth = {multiple}; got {image_size}"
            )
        if bottleneck not in ("dense", "conv"):
            raise ValueError(
                f"unknown bottleneck {bottleneck!r}; accepted: 'dense' (the seed's, fixed "
                "image_size) or 'conv' (any size divisible by 2**depth)"
            )
        if (
            isinstance(l2, bool)
            or not isinstance(l2, (int, float))
            or not (math.isfinite(l2) and l2 >= 0)
        ):
            raise ValueError(f"l2 must be a finite number >= 0; got {l2!r}")
        if upsample not in ("transposed", "resize"):
            raise ValueError(
                f"unknown upsample {upsample!r}; accepted: 'transposed' (the seed's) or 'resize'"
            )
        if residual not in ("none", "add", "logit"):
            raise ValueError(
                f"unknown residual {residual!r}; accepted: 'none' (the seed's), 'add', 'logit'"
            )
        if residual != "none" and in_channels != out_channels:
            raise ValueError(
                f"residual={residual!r} needs in_channels == out_channels; got {in_channels} and {out_channels}"
            )
        if not isinstance(global_affine, bool):
            raise ValueError(f"global_affine must be True or False; got {global_affine!r}")
        if residual_smooth and residual == "none":
            raise ValueError("residual_smooth needs a residual output (residual='add' or 'logit')")
        if global_affine and residual == "none":
            raise ValueError(
                "global_affine=True needs a residual output (residual='add' or 'logit')"
            )
        if (
            isinstance(exposure_norm, bool)
            or not isinstance(exposure_norm, (int, float))
            or not (0.0 <= exposure_norm < 1.0)
        ):
            raise ValueError(
                f"exposure_norm must be 0 (off) or a target mean brightness in (0, 1); got {exposure_norm!r}"
            )
        self.exposure: ExposureNorm | None = None
        if exposure_norm > 0:
            value_range = (-1.0, 1.0) if output == "tanh" else (0.0, 1.0)
            self.exposure = ExposureNorm(float(exposure_norm), value_range)
        self.l2 = float(l2)
        self.residual = residual
        self.bottleneck_kind = bottleneck
        self.size_multiple = multiple
        self.fixed_size = image_size if bottleneck == "dense" else None

        widths = [base_width * 2**i for i in range(depth)]
        encoder: list[nn.Module] = []
        c = in_channels
        for w in widths:
            encoder.append(EncoderStep(c, w, act=_ENCODER_ACT, norm=True))
            c = w
        self.encoder = nn.ModuleList(encoder)
        self._feature_channels = (in_channels, *widths, widths[-1])

        self.bottleneck: DenseBottleneck | ConvBottleneck
        if bottleneck == "dense":
            self.bottleneck = DenseBottleneck(widths[-1], image_size // multiple, latent_dim)
        else:
            self.bottleneck = ConvBottleneck(widths[-1], latent_dim)

        decoder: list[nn.Module] = []
        for w in reversed(widths):
            decoder.append(DecoderStep(c, w, upsample))
            c = w
        self.decoder = nn.ModuleList(decoder)

        self.fusion = nn.Sequential(
            make_upsample(upsample, widths[-1], base_width, 5, 2 ** (depth - 1)),
            nn.ReLU(),
            seed_norm(base_width),
        )
        self.head = nn.Conv2d(2 * base_width, out_channels, 5, padding=2)
        self.output: nn.Module = (
            make_output_activation(output)
            if residual == "none"
            else ResidualOutput(output, residual, smooth=residual_smooth)
        )
        self.global_affine = ContextLinear(widths[-1], 2 * out_channels) if global_affine else None
        init_weights(self, "glorot")
        if residual != "none":  # the generator starts as the identity
            zero_init(self.head)
        if self.global_affine is not None:
            zero_init(self.global_affine)

    def check_input(self, x: Tensor) -> None:
        """Raise ``ValueError`` unless ``x`` is ``(B, in_channels, H, W)`` of an accepted size.

        Raises
        ------
        ValueError
            Naming the size the generator was built for (dense bottleneck) or the multiple
            H and W need (conv bottleneck).
        """
        if self.fixed_size is not None and x.ndim == 4:
            h, w, s = x.shape[-2], x.shape[-1], self.fixed_size
            if (h, w) != (s, s):
                raise ValueError(
                    f"seed_unet was built for {s}×{s} inputs (dense bottleneck); got {h}×{w} — "
                    f"use bottleneck='conv' for any size divisible by {self.size_multiple}"
                )
        elif x.ndim == 4 and (x.shape[-2] % self.size_multiple or x.shape[-1] % self.size_multiple):
            raise ValueError(
                f"seed_unet with bottleneck='conv' needs H and W divisible by "
                f"{self.size_multiple}; got {x.shape[-2]}×{x.shape[-1]} — pad or crop the input"
            )
        super().check_input(x)

    def regularization(self) -> Tensor:
        """Keras L2 penalty of the bottleneck: ``l2 · Σ w²`` over its weight matrices.

        Returns
        -------
        Tensor
            Differentiable scalar ``()``, to add to the generator loss.
        """
        weights = self.bottleneck.penalized_weights()
        total = weights[0].pow(2).sum()
        for w in weights[1:]:
            total = total + w.pow(2).sum()
        return self.l2 * total

    def feature_channels(self) -> tuple[int, ...]:
        """Channels of the encoder's tappable layers (``depth + 2`` of them): 0 is the input as
        the network sees it (after ``exposure_norm``), 1 to ``depth`` the encoder steps' skips
        (step ``i``'s inception block output, at ``1/2**(i-1)`` of the input size) and
        ``depth + 1`` the bottleneck's output.
        """
        return self._feature_channels

    def encode(self, x: Tensor, layers: Sequence[int]) -> list[Tensor]:
        """The outputs of the encoder layers ``layers`` (see :meth:`feature_channels`) for ``x``.

        Parameters
        ----------
        x
            ``(B, in_channels, H, W)`` of an accepted size.
        layers
            Indices of :meth:`feature_channels`, any order.

        Returns
        -------
        list[Tensor]
            One ``(B, C_l, H_l, W_l)`` per layer, in the order of ``layers``.

        Raises
        ------
        ValueError
            On an index outside the encoder or an input size the generator does not take.
        """
        wanted = check_feature_layers(layers, len(self._feature_channels), "seed_unet")
        self.check_input(x)
        h = x if self.exposure is None else self.exposure(x)
        found = {0: h}
        last = max(wanted)
        for i, step in enumerate(self.encoder, start=1):
            if i > last:
                break
            found[i], h = step(h)
        if last == len(self.encoder) + 1:
            found[last] = self.bottleneck(h)
        return [found[i] for i in wanted]

    def forward(self, x: Tensor) -> Tensor:
        """Translate a batch.

        Parameters
        ----------
        x
            ``(B, in_channels, H, W)`` images (in [0, 1] for the seed).

        Returns
        -------
        Tensor
            ``(B, out_channels, H, W)``, in the output activation's range.
        """
        self.check_input(x)
        if self.exposure is not None:
            x = self.exposure(x)
        skips: list[Tensor] = []
        h = x
        for step in self.encoder:
            skip, h = step(h)
            skips.append(skip)
        h = self.bottleneck(h)
        if self.global_affine is not None:
            gain, offset = self.global_affine(h.mean(dim=(-2, -1))).float().chunk(2, dim=1)
            x = x.float() * gain.exp()[..., None, None] + offset[..., None, None]
        coarse = h
        for i, step in enumerate(self.decoder):
            h = step(h, skips[-1 - i])
            if i == 0:
                coarse = h
        fused = torch.cat([h, self.fusion(coarse)], dim=1)
        if isinstance(self.output, ResidualOutput):
            return self.output(x, self.head(fused))
        return self.output(self.head(fused))
