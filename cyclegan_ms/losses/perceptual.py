"""Reconstruction losses that do not ask for the noise back: blurred L1 and frozen-feature L1.

A pixel L1 cycle term ``|G_ba(G_ab(night)) − night|`` asks the way back to reproduce the night's
sensor noise exactly, which it can only do if the day picture carries that noise (hidden in
faint texture). Comparing low-passed images (:class:`BlurredL1Loss`) or the features of a frozen
pretrained network (:class:`InceptionFeatureLoss`) keeps the scene's structure and colours in
the cycle while letting the noise go.
"""

from __future__ import annotations

import torch
import torch.nn as nn
from torch import Tensor

from ..layers import gaussian_blur
from ..layers.pretrained import InceptionStages, UsesFrozenStages, inception_input
from ..registry import register

__all__ = ["BlurredL1Loss", "InceptionFeatureLoss"]


def _check_number(value: object, name: str, part: str, *, positive: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{part}: {name} must be a number; got {value!r}")
    if value < 0 or (positive and value == 0):
        raise ValueError(f"{part}: {name} must be {'> 0' if positive else '>= 0'}; got {value}")
    return float(value)


@register("reconstruction_loss", "blurred_l1")
class BlurredL1Loss(nn.Module):
    """L1 between Gaussian-blurred images (plus ``pixel`` × the plain L1).

    Parameters
    ----------
    sigma
        Standard deviation of the blur in pixels (``> 0``); 1–2 px removes a night photo's
        sensor noise at 64²–256².
    pixel
        Weight of the plain pixel L1 added to it (``>= 0``; 0: blurred only).

    Shape
    -----
    ``output``, ``target``: ``(B, C, H, W)``, one shape → a scalar.

    Examples
    --------
    >>> import torch
    >>> loss = BlurredL1Loss(sigma=1.0)
    >>> x = torch.rand(1, 3, 16, 16)
    >>> float(loss(x, x))
    0.0
    """

    def __init__(self, *, sigma: float = 1.5, pixel: float = 0.0) -> None:
        super().__init__()
        self.sigma = _check_number(sigma, "sigma", "blurred_l1", positive=True)
        self.pixel = _check_number(pixel, "pixel", "blurred_l1", positive=False)

    def forward(self, output: Tensor, target: Tensor) -> Tensor:
        """Mean absolute difference of the blurred images (+ ``pixel`` × the plain one)."""
        if output.shape != target.shape:
            raise ValueError(
                f"blurred_l1 needs one shape; got {tuple(output.shape)} and {tuple(target.shape)}"
            )
        loss = (gaussian_blur(output, self.sigma) - gaussian_blur(target, self.sigma)).abs().mean()
        if self.pixel > 0:
            loss = loss + self.pixel * (output - target).abs().mean()
        return loss

    def extra_repr(self) -> str:
        return f"sigma={self.sigma}, pixel={self.pixel}"


@register("reconstruction_loss", "inception_l1")
class InceptionFeatureLoss(UsesFrozenStages):
    """L1 between the frozen InceptionV3's early-stage features (plus ``pixel`` × the plain L1).

    Parameters
    ----------
    stages
        Inception stages whose features are compared (1–5), each stage's mean absolute
        difference weighted equally.
    pixel
        Weight of the plain pixel L1 added (``>= 0``): features alone leave the global colour
        loosely tied.
    input_scale
        Resize factor before the network (its unpadded stem needs room at small sizes).
    value_range
        ``"unit"`` ([0, 1]) or ``"tanh"`` ([-1, 1]): the range of the images compared.
    weights
        TorchScript InceptionV3 file (``None``: the environment, then the packaged file).

    Shape
    -----
    ``output``, ``target``: ``(B, 3, H, W)``, one shape → a scalar.
    """

    def __init__(
        self,
        *,
        stages: int = 2,
        pixel: float = 1.0,
        input_scale: float = 2.0,
        value_range: str = "unit",
        weights: str | None = None,
    ) -> None:
        if value_range not in ("unit", "tanh"):
            raise ValueError(
                f"inception_l1: value_range must be 'unit' or 'tanh'; got {value_range!r}"
            )
        pixel = _check_number(pixel, "pixel", "inception_l1", positive=False)
        input_scale = _check_number(input_scale, "input_scale", "inception_l1", positive=True)
        # the frozen network is read from the file, never saved or trained
        super().__init__(InceptionStages(weights, stages=stages))
        self.pixel = pixel
        self.input_scale = input_scale
        self.value_range = value_range

    def forward(self, output: Tensor, target: Tensor) -> Tensor:
        """Mean over stages of the features' mean absolute difference (+ the pixel term)."""
        if output.shape != target.shape:
            raise ValueError(
                f"inception_l1 needs one shape; got {tuple(output.shape)} and {tuple(target.shape)}"
            )
        net = self.features.to(output.device)
        x = torch.cat([output, target.detach()])
        dtype = next(net.parameters()).dtype
        both = net(inception_input(x, self.value_range, self.input_scale, dtype))
        n = output.shape[0]
        loss = torch.stack([(f[:n].float() - f[n:].float()).abs().mean() for f in both]).mean()
        if self.pixel > 0:
            loss = loss + self.pixel * (output - target).abs().mean()
        return loss

    def extra_repr(self) -> str:
        return f"stages={self.features.stages}, pixel={self.pixel}, input_scale={self.input_scale}"
