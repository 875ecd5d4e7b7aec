"""The contract every discriminator follows."""

from __future__ import annotations

import torch.nn as nn
from torch import Tensor

__all__ = ["Discriminator"]


def check_batch(what: str, x: Tensor) -> None:
    """Raise ``ValueError`` naming ``what`` unless ``x`` is a 4-D ``(B, C, H, W)`` batch."""
    if x.dim() != 4:
        raise ValueError(f"{what} expects a (B, C, H, W) batch; got shape {tuple(x.shape)}")


def check_input(x: Tensor, what: str, minimum: int, subject: str, why: str = "") -> None:
    """Raise ``ValueError`` unless ``x`` is a ``(B, C, H, W)`` batch of at least
    ``minimum`` × ``minimum``; the size message starts with ``subject`` (the part and its
    settings) and adds ``why`` after the size."""
    check_batch(what, x)
    h, w = x.shape[-2], x.shape[-1]
    if h < minimum or w < minimum:
        raise ValueError(
            f"{subject} needs inputs of at least {minimum}×{minimum}{why}; got {h}×{w}"
        )


class Discriminator(nn.Module):
    """Base class of every discriminator in the library.

    A discriminator maps an image batch to a **list of score maps**, one per scale or view
    (a single-scale discriminator returns a list of one), so adversarial losses reduce over a list
    with no special cases. :meth:`forward_features` also returns intermediate feature maps for a
    feature-matching loss.

    Subclasses implement :meth:`forward_features`; :meth:`forward` returns its scores.

    Shape
    -----
    ``(B, C, H, W) -> list[(B, 1, H_s, W_s)]``
    """

    def forward(self, x: Tensor) -> list[Tensor]:
        """Score maps, one ``(B, 1, H_s, W_s)`` tensor per scale/view."""
        return self.forward_features(x)[0]

    def forward_features(self, x: Tensor) -> tuple[list[Tensor], list[Tensor]]:
        """Score maps and intermediate features.

        Returns
        -------
        scores : list[Tensor]
            One ``(B, 1, H_s, W_s)`` per scale/view.
        features : list[Tensor]
            Intermediate activations ``(B, C_i, H_i, W_i)`` in a fixed order (same order for
            every input of the same shape), for feature matching.
        """
        raise NotImplementedError
