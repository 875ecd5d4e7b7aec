"""Weight initialisation schemes, applied to every conv / transposed-conv / linear layer."""

from __future__ import annotations

from typing import Literal, TypeAlias

import torch.nn as nn

__all__ = ["InitScheme", "init_weights"]

#: ``"normal"`` (N(0, gain), the CycleGAN default with gain 0.02), ``"xavier"``/``"glorot"``
#: (Glorot-uniform, Keras' default, zero biases), ``"xavier_normal"``, ``"kaiming"``,
#: ``"orthogonal"``, or ``"none"`` (leave PyTorch's defaults).
InitScheme: TypeAlias = Literal[
    "normal", "xavier", "glorot", "xavier_normal", "kaiming", "orthogonal", "none"
]
_SCHEMES = ("normal", "xavier", "glorot", "xavier_normal", "kaiming", "orthogonal", "none")
_LAYERS = (nn.Conv1d, nn.Conv2d, nn.ConvTranspose2d, nn.Linear)


def init_weights(module: nn.Module, scheme: InitScheme = "normal", gain: float = 0.02) -> nn.Module:
    """Initialise the weights of every conv and linear layer of ``module`` in place.

    Biases are zeroed; affine normalisation weights are set to ``N(1, gain)`` for ``"normal"``
    (as the CycleGAN reference does for batch norm) and to 1 otherwise.

    Parameters
    ----------
    module
        Any module; its sub-modules are visited recursively.
    scheme
        See :data:`InitScheme`.
    gain
        Standard deviation for ``"normal"``, gain for the others (``"glorot"`` and ``"xavier"``
        ignore it and use gain 1, as Keras does).

    Returns
    -------
    nn.Module
        ``module`` itself, for chaining.
    """
    if scheme not in _SCHEMES:
        raise ValueError(f"unknown init scheme {scheme!r}; accepted: {', '.join(_SCHEMES)}")
    if scheme == "none":
        return module
    for m in module.modules():
        if isinstance(m, _LAYERS):
            w = m.weight
            if scheme == "normal":
                nn.init.normal_(w, 0.0, gain)
            elif scheme in ("xavier", "glorot"):
                nn.init.xavier_uniform_(w, gain=1.0)
            elif scheme == "xavier_normal":
                nn.init.xavier_normal_(w, gain=gain)
            elif scheme == "kaiming":
                nn.init.kaiming_normal_(w, a=0.0, mode="fan_in")
            elif scheme == "orthogonal":
                nn.init.orthogonal_(w, gain=gain)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif (
            isinstance(m, (nn.BatchNorm2d, nn.GroupNorm, nn.InstanceNorm2d))
            and m.weight is not None
        ):
            if scheme == "normal":
                nn.init.normal_(m.weight, 1.0, gain)
            else:
                nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    return module
