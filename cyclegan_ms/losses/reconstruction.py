"""Reconstruction losses (cycle and identity terms) and the pix2pixHD feature-matching loss.

Each loss is a function + thin module pair. The modules are registered under the kind
``"reconstruction_loss"`` as ``"l1"``, ``"l2"`` (mean squared error) and ``"smooth_l1"``; any
``nn.Module`` whose ``forward(output, target)`` returns a scalar can be registered there too and
is used the same way::

    >>> import torch
    >>> import cyclegan_ms as cms
    >>> loss = cms.build("reconstruction_loss", "l1")
    >>> float(loss(torch.zeros(1, 3, 4, 4), torch.ones(1, 3, 4, 4)))
    1.0

Inputs in half precision are upcast to float32 first (safe under mixed precision).

**Arguments common to the pixel losses** (:func:`l1_loss`, :func:`l2_loss`,
:func:`smooth_l1_loss` and their modules). ``output`` and ``target`` are floating-point tensors
of the same shape, ``(B, C, H, W)`` or any other (no broadcasting); ``reduction`` is ``"mean"``,
``"sum"`` or ``"none"``. The result is a scalar (shape ``()``) for ``"mean"``/``"sum"`` and the
element-wise losses (the input shape) for ``"none"``. ``ValueError`` is raised for an unknown
``reduction`` or different shapes, ``TypeError`` for non-tensor or integer inputs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal, TypeAlias

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from .._checks import check_nonnegative, check_weights
from ..registry import register

__all__ = [
    "FeatureMatchingLoss",
    "L1Loss",
    "L2Loss",
    "Reduction",
    "RobustL1Loss",
    "SmoothL1Loss",
    "check_reduction",
    "feature_matching_loss",
    "l1_loss",
    "l2_loss",
    "robust_l1_loss",
    "smooth_l1_loss",
]

#: How element-wise losses are reduced: ``"mean"``, ``"sum"`` or ``"none"`` (no reduction).
Reduction: TypeAlias = Literal["mean", "sum", "none"]
_REDUCTIONS = ("mean", "sum", "none")


def check_reduction(reduction: str) -> Reduction:
    """Return ``reduction`` if it is one of ``"mean"``, ``"sum"``, ``"none"``.

    Raises
    ------
    ValueError
        Any other value (the message lists the accepted ones).
    """
    if reduction not in _REDUCTIONS:
        raise ValueError(
            f"unknown reduction {reduction!r}; accepted: {', '.join(repr(r) for r in _REDUCTIONS)}"
        )
    return reduction  # type: ignore[return-value]


def _pair(output: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
    if not isinstance(output, Tensor) or not isinstance(target, Tensor):
        raise TypeError(
            f"output and target must be Tensors; got {type(output).__name__} and "
            f"{type(target).__name__}"
        )
    if output.shape != target.shape:
        raise ValueError(
            f"output and target must have the same shape (no broadcasting); got "
            f"{tuple(output.shape)} and {tuple(target.shape)}"
        )
    if not output.is_floating_point() or not target.is_floating_point():
        raise TypeError(
            f"output and target must be floating-point; got {output.dtype} and {target.dtype}"
        )
    dtype = torch.promote_types(torch.promote_types(output.dtype, target.dtype), torch.float32)
    return output.to(dtype), target.to(dtype)


def _pixel_loss(
    loss: Callable[..., Tensor],
    output: Tensor,
    target: Tensor,
    reduction: Reduction,
    **kwargs: float,
) -> Tensor:
    """``loss`` (a ``torch.nn.functional`` loss) on the checked, upcast pair."""
    o, t = _pair(output, target)
    return loss(o, t, reduction=reduction, **kwargs)


def l1_loss(output: Tensor, target: Tensor, *, reduction: Reduction = "mean") -> Tensor:
    """Mean absolute error (the CycleGAN cycle and identity loss).

    ``output``, ``target``, ``reduction``, the result and the errors are those common to the
    pixel losses (see the module documentation).

    Examples
    --------
    >>> import torch
    >>> l1_loss(torch.zeros(2, 3, 4, 4), torch.ones(2, 3, 4, 4), reduction="none").shape
    torch.Size([2, 3, 4, 4])
    """
    return _pixel_loss(F.l1_loss, output, target, check_reduction(reduction))


def l2_loss(output: Tensor, target: Tensor, *, reduction: Reduction = "mean") -> Tensor:
    """Mean squared error; called as :func:`l1_loss` is.

    Examples
    --------
    >>> import torch
    >>> float(l2_loss(torch.zeros(1, 3, 2, 2), torch.full((1, 3, 2, 2), 2.0)))
    4.0
    """
    return _pixel_loss(F.mse_loss, output, target, check_reduction(reduction))


def robust_l1_loss(
    output: Tensor, target: Tensor, *, scale: float = 0.05, reduction: Reduction = "mean"
) -> Tensor:
    """A robust L1: ``scale * log(1 + |output - target| / scale)`` per element.

    Like L1 for errors well below ``scale`` (slope 1), it grows only logarithmically above: an
    error of ``k * scale`` is pulled with a gradient of ``1 / (1 + k)``. Used on the night →
    day → night cycle, it stops a few large errors (lamps, lit windows: what only the night
    shows) from forcing the day picture to carry them, while the rest of the structure is held
    as L1 holds it.

    ``output``, ``target``, ``reduction`` and the result are those common to the pixel losses
    (see the module documentation).

    Parameters
    ----------
    scale
        The error (in data units) where the slope has fallen to one half; finite, ``> 0``.

    Examples
    --------
    >>> import torch
    >>> small = robust_l1_loss(torch.zeros(1), torch.full((1,), 1e-4), scale=0.05)
    >>> round(float(small), 6)  # L1 for small errors
    0.0001
    >>> float(robust_l1_loss(torch.zeros(1), torch.ones(1), scale=0.05)) < 0.2
    True
    """
    red = check_reduction(reduction)
    c = _check_scale(scale)
    o, t = _pair(output, target)
    elementwise = c * torch.log1p((o - t).abs() / c)
    if red == "mean":
        return elementwise.mean()
    if red == "sum":
        return elementwise.sum()
    return elementwise


def _check_scale(scale: float) -> float:
    c = check_nonnegative(scale, "scale", " (the error where the slope halves)")
    if c == 0:
        raise ValueError("scale must be > 0 (the error where the slope halves); got 0")
    return c


def _check_beta(beta: float) -> float:
    return check_nonnegative(beta, "beta", " (0 gives plain L1)")


def smooth_l1_loss(
    output: Tensor, target: Tensor, *, beta: float = 1.0, reduction: Reduction = "mean"
) -> Tensor:
    """Smooth L1 (Huber-like) loss: quadratic below ``beta``, linear above.

    ``output``, ``target``, ``reduction`` and the result are those common to the pixel losses
    (see the module documentation).

    Parameters
    ----------
    beta
        Threshold between the quadratic and the linear part (``>= 0``; 0 is plain L1).

    Raises
    ------
    ValueError
        As every pixel loss, and on a negative or non-finite ``beta``.
    """
    red = check_reduction(reduction)
    return _pixel_loss(F.smooth_l1_loss, output, target, red, beta=_check_beta(beta))


class _ReducedPixelLoss(nn.Module):
    """Shared module form of a ``(output, target, *, reduction)`` pixel loss function."""

    _loss: Callable[..., Tensor]

    def __init__(self, *, reduction: Reduction = "mean") -> None:
        super().__init__()
        self.reduction: Reduction = check_reduction(reduction)

    def forward(self, output: Tensor, target: Tensor) -> Tensor:
        """See the function this module wraps."""
        return type(self)._loss(output, target, reduction=self.reduction)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


@register("reconstruction_loss", "l1")
class L1Loss(_ReducedPixelLoss):
    """Module form of :func:`l1_loss`: ``L1Loss(reduction=...)(output, target)``.

    ``reduction``, the call's arguments and the result are those common to the pixel losses
    (see the module documentation).
    """

    _loss = staticmethod(l1_loss)


@register("reconstruction_loss", "l2")
class L2Loss(_ReducedPixelLoss):
    """Module form of :func:`l2_loss` (mean squared error), used as :class:`L1Loss` is."""

    _loss = staticmethod(l2_loss)


@register("reconstruction_loss", "smooth_l1")
class SmoothL1Loss(_ReducedPixelLoss):
    """Module form of :func:`smooth_l1_loss`, used as :class:`L1Loss` is.

    Parameters
    ----------
    beta
        Threshold between the quadratic and the linear part (``>= 0``).
    """

    def __init__(self, *, beta: float = 1.0, reduction: Reduction = "mean") -> None:
        b = _check_beta(beta)
        super().__init__(reduction=reduction)
        self.beta = b

    def forward(self, output: Tensor, target: Tensor) -> Tensor:
        """See :func:`smooth_l1_loss`."""
        return smooth_l1_loss(output, target, beta=self.beta, reduction=self.reduction)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, reduction={self.reduction!r}"


@register("reconstruction_loss", "robust_l1")
class RobustL1Loss(_ReducedPixelLoss):
    """Module form of :func:`robust_l1_loss`, used as :class:`L1Loss` is.

    Parameters
    ----------
    scale
        The error (in data units) where the slope has fallen to one half (``> 0``).
    """

    def __init__(self, *, scale: float = 0.05, reduction: Reduction = "mean") -> None:
        c = _check_scale(scale)
        super().__init__(reduction=reduction)
        self.scale = c

    def forward(self, output: Tensor, target: Tensor) -> Tensor:
        """See :func:`robust_l1_loss`."""
        return robust_l1_loss(output, target, scale=self.scale, reduction=self.reduction)

    def extra_repr(self) -> str:
        return f"scale={self.scale}, reduction={self.reduction!r}"


def _check_layer_weights(layer_weights: Sequence[float] | None) -> tuple[float, ...] | None:
    return check_weights(layer_weights, "layer_weights")


def feature_matching_loss(
    real_features: Sequence[Tensor],
    fake_features: Sequence[Tensor],
    *,
    layer_weights: Sequence[float] | None = None,
) -> Tensor:
    """pix2pixHD feature-matching loss: L1 between detached real and fake discriminator features.

    ``sum_l w_l * mean(|fake_l - real_l.detach()|)`` with ``w_l = 1 / L`` by default (the mean
    over layers). The real features are detached, so only the generator (through the fake
    features) receives gradients.

    Parameters
    ----------
    real_features, fake_features
        Intermediate features of the discriminator on real and on generated images, in the same
        order (``Discriminator.forward_features(x)[1]``).
    layer_weights
        One weight per layer, used as given (not normalised); ``None`` gives ``1 / L`` each.

    Returns
    -------
    Tensor
        Scalar loss.

    Raises
    ------
    ValueError
        Empty or differently long lists, differently shaped layers, or a ``layer_weights`` length
        mismatch.

    Shape
    -----
    ``real_features[l]``, ``fake_features[l]``: ``(B, C_l, H_l, W_l)`` (equal per layer); output
    ``()``.

    Examples
    --------
    >>> import torch
    >>> feats = [torch.randn(2, 8, 16, 16), torch.randn(2, 16, 8, 8)]
    >>> float(feature_matching_loss(feats, [f.clone() for f in feats]))
    0.0
    """
    weights = _check_layer_weights(layer_weights)
    real = list(real_features)
    fake = list(fake_features)
    if not real:
        raise ValueError("real_features is empty; feature matching needs at least one layer")
    if len(real) != len(fake):
        raise ValueError(
            f"real_features has {len(real)} layer(s) but fake_features has {len(fake)}; both must "
            "come from the same discriminator"
        )
    if weights is None:
        weights = (1.0 / len(real),) * len(real)
    elif len(weights) != len(real):
        raise ValueError(
            f"layer_weights has {len(weights)} weight(s) but there are {len(real)} feature layers"
        )
    terms: list[Tensor] = []
    for i, (r, f) in enumerate(zip(real, fake, strict=True)):
        if not isinstance(r, Tensor) or not isinstance(f, Tensor):
            raise TypeError(
                f"feature layer {i}: expected Tensors; got {type(r).__name__} and "
                f"{type(f).__name__}"
            )
        if r.shape != f.shape:
            raise ValueError(
                f"feature layer {i}: real has shape {tuple(r.shape)} but fake has {tuple(f.shape)}"
            )
        o, t = _pair(f, r.detach())
        terms.append(F.l1_loss(o, t) * weights[i])
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total


class FeatureMatchingLoss(nn.Module):
    """Module form of :func:`feature_matching_loss`.

    Parameters
    ----------
    layer_weights
        One weight per feature layer; ``None`` gives the mean over layers.

    Shape
    -----
    ``(real_features, fake_features)``: two lists of ``(B, C_l, H_l, W_l)`` -> ``()``.
    """

    def __init__(self, *, layer_weights: tuple[float, ...] | None = None) -> None:
        super().__init__()
        self.layer_weights = _check_layer_weights(layer_weights)

    def forward(self, real_features: Sequence[Tensor], fake_features: Sequence[Tensor]) -> Tensor:
        """See :func:`feature_matching_loss`."""
        return feature_matching_loss(real_features, fake_features, layer_weights=self.layer_weights)

    def extra_repr(self) -> str:
        return f"layer_weights={self.layer_weights}"
