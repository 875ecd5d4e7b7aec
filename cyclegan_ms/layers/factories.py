"""Small factories that turn plain specs into normalisation and activation layers.

A *spec* is a name (``"instance"``) or a ``(name, {kwargs})`` pair, so layer choices are plain
data a config can hold::

    >>> make_norm("group", 32)
    GroupNorm(32, 32, eps=1e-05, affine=True, bias=True)
    >>> make_norm(("group", {"num_groups": 1, "eps": 1e-3}), 16)
    GroupNorm(1, 16, eps=0.001, affine=True, bias=True)
    >>> make_activation(("leaky", {"negative_slope": 0.3}))
    LeakyReLU(negative_slope=0.3)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, TypeAlias

import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "ActSpec",
    "AlwaysDropout",
    "DropoutMode",
    "NormSpec",
    "OutputActivation",
    "check_dropout_mode",
    "make_activation",
    "make_dropout",
    "make_norm",
    "make_output_activation",
    "norm_has_bias",
]

NormName = Literal["batch", "instance", "group", "layer", "none"]
ActName = Literal["relu", "leaky", "leaky_relu", "gelu", "silu", "elu", "tanh", "sigmoid", "none"]
#: A normalisation choice: a name or ``(name, kwargs)``.
NormSpec: TypeAlias = NormName | tuple[str, Mapping[str, object]] | str
#: An activation choice: a name or ``(name, kwargs)``.
ActSpec: TypeAlias = ActName | tuple[str, Mapping[str, object]] | str
#: Dropout of a generator: ``False`` (none), ``True`` (while training, as usual) or
#: ``"always"`` (also in eval mode: the pix2pix reference's test without ``--eval``).
DropoutMode: TypeAlias = bool | Literal["always"]
#: Output activation matching the data range: ``"sigmoid"`` for [0, 1], ``"tanh"`` for [-1, 1].
OutputActivation: TypeAlias = Literal["sigmoid", "tanh", "none"]

_NORMS = ("batch", "instance", "group", "layer", "none")
_ACTS = ("relu", "leaky", "leaky_relu", "gelu", "silu", "elu", "tanh", "sigmoid", "none")


def _split(spec: object, what: str) -> tuple[str, dict[str, Any]]:
    """``(name, kwargs)`` of a spec; the kwargs go to a torch layer as given."""
    if isinstance(spec, str):
        return spec, {}
    if (
        isinstance(spec, (tuple, list))
        and len(spec) == 2
        and isinstance(spec[0], str)
        and isinstance(spec[1], Mapping)
    ):
        return spec[0], dict(spec[1])
    raise ValueError(f"a {what} spec must be a name or a (name, kwargs) pair; got {spec!r}")


def check_norm_spec(spec: object) -> None:
    """Raise ``ValueError`` unless ``spec`` names a known normalisation."""
    name, _ = _split(spec, "norm")
    if name not in _NORMS:
        raise ValueError(f"unknown norm {name!r}; accepted: {', '.join(_NORMS)}")


def check_act_spec(spec: object) -> None:
    """Raise ``ValueError`` unless ``spec`` names a known activation."""
    name, _ = _split(spec, "activation")
    if name not in _ACTS:
        raise ValueError(f"unknown activation {name!r}; accepted: {', '.join(_ACTS)}")


def make_norm(spec: NormSpec, channels: int) -> nn.Module:
    """Build a normalisation layer for ``channels`` feature maps.

    Parameters
    ----------
    spec
        ``"batch"``, ``"instance"`` (non-affine, no running stats, as in CycleGAN),
        ``"group"`` (``num_groups`` default ``min(32, channels)``), ``"layer"`` (GroupNorm with
        one group: normalises over C, H, W per sample, with a per-channel affine), ``"none"``;
        or ``(name, kwargs)`` to override defaults.
    channels
        Number of channels ``C`` of the ``(B, C, H, W)`` input.

    Returns
    -------
    nn.Module
        Shape-preserving module: ``(B, C, H, W) -> (B, C, H, W)``.
    """
    name, kw = _split(spec, "norm")
    if channels < 1:
        raise ValueError(f"channels must be >= 1; got {channels}")
    if name == "batch":
        return nn.BatchNorm2d(channels, **kw)
    if name == "instance":
        kw.setdefault("affine", False)
        kw.setdefault("track_running_stats", False)
        return nn.InstanceNorm2d(channels, **kw)
    if name == "group":
        groups = kw.pop("num_groups", min(32, channels))
        if channels % groups:
            raise ValueError(f"group norm: {channels} channels not divisible by {groups} groups")
        return nn.GroupNorm(groups, channels, **kw)
    if name == "layer":
        return nn.GroupNorm(1, channels, **kw)
    if name == "none":
        return nn.Identity()
    raise ValueError(f"unknown norm {name!r}; accepted: {', '.join(_NORMS)}")


def norm_has_bias(spec: NormSpec) -> bool:
    """Whether a convolution followed by this norm should keep its bias.

    Batch norm with an affine shift makes a conv bias redundant; the reference CycleGAN code
    keeps the bias for instance norm (which is non-affine), and so do we.
    """
    name, _ = _split(spec, "norm")
    return name != "batch"


def make_activation(spec: ActSpec) -> nn.Module:
    """Build an activation module.

    Parameters
    ----------
    spec
        ``"relu"``, ``"leaky"`` (slope 0.2 by default), ``"gelu"``, ``"silu"``, ``"elu"``,
        ``"tanh"``, ``"sigmoid"``, ``"none"``; or ``(name, kwargs)``.

    Returns
    -------
    nn.Module
        Element-wise module, any shape in, same shape out.
    """
    name, kw = _split(spec, "activation")
    if name == "relu":
        return nn.ReLU(**kw)
    if name in ("leaky", "leaky_relu"):
        kw.setdefault("negative_slope", 0.2)
        return nn.LeakyReLU(**kw)
    if name == "gelu":
        return nn.GELU(**kw)
    if name == "silu":
        return nn.SiLU(**kw)
    if name == "elu":
        return nn.ELU(**kw)
    if name == "tanh":
        return nn.Tanh()
    if name == "sigmoid":
        return nn.Sigmoid()
    if name == "none":
        return nn.Identity()
    raise ValueError(f"unknown activation {name!r}; accepted: {', '.join(_ACTS)}")


def make_output_activation(kind: OutputActivation) -> nn.Module:
    """The output activation for a data range: ``"sigmoid"`` → [0, 1], ``"tanh"`` → [-1, 1]."""
    if kind not in ("sigmoid", "tanh", "none"):
        raise ValueError(
            f"unknown output activation {kind!r}; accepted: 'sigmoid' (data in [0, 1]), "
            "'tanh' (data in [-1, 1]), 'none'"
        )
    return make_activation(kind)


class AlwaysDropout(nn.Dropout):
    """Dropout that stays on in eval mode (pix2pix's test-time noise).

    Draws from the global torch generator exactly as :class:`torch.nn.Dropout` does in training,
    so seeded runs reproduce the reference's test without ``--eval``.

    Shape
    -----
    Any shape in, same shape out.
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout(input, self.p, training=True, inplace=self.inplace)


def check_dropout_mode(mode: object) -> DropoutMode:
    """Return ``mode`` if it is ``False``, ``True`` or ``"always"``, else raise ``ValueError``."""
    if mode is True or mode is False:
        return mode
    if mode == "always":
        return "always"
    raise ValueError(
        f"use_dropout must be False, True (in training) or 'always' (also in eval); got {mode!r}"
    )


def make_dropout(mode: DropoutMode, p: float = 0.5) -> list[nn.Module]:
    """The dropout layer for ``mode``: ``[]`` for ``False``, ``[Dropout(p)]`` for ``True``,
    ``[AlwaysDropout(p)]`` for ``"always"`` (a list, to splice into a layer list).

    >>> make_dropout("always")
    [AlwaysDropout(p=0.5, inplace=False)]
    """
    mode = check_dropout_mode(mode)
    if mode is False:
        return []
    return [AlwaysDropout(p) if mode == "always" else nn.Dropout(p)]
