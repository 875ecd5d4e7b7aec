"""What :class:`~cyclegan_ms.CycleGAN` needs of its parts, as typing protocols.

The protocols are structural: a part satisfies one by having the calls, never by importing this
module or subclassing anything. The library's base classes
(:class:`~cyclegan_ms.generators.Generator`, :class:`~cyclegan_ms.discriminators.Discriminator`,
:class:`~cyclegan_ms.losses.AdversarialLoss`) satisfy them, and so does any ``nn.Module`` with
the same calls. The model holds each part as an ``nn.Module`` (it is registered, moved and saved
like any sub-module) that provides its protocol.

=================================  =======================================================
part                               what the model calls
=================================  =======================================================
generator                          ``G(x) -> Tensor``
discriminator                      ``D(x) -> list[Tensor]`` (one score map per scale/view)
discriminator, feature matching    ``D.forward_features(x) -> (scores, features)``
adversarial loss                   ``generator(fake_scores)``,
                                   ``discriminator(real_scores, fake_scores)``
reconstruction loss                ``loss(output, target) -> scalar``
penalty                            ``penalty(D, real, fake) -> scalar``
=================================  =======================================================
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from torch import Tensor

__all__ = [
    "AdversarialLossProtocol",
    "DiscriminatorProtocol",
    "FeatureDiscriminatorProtocol",
    "GeneratorProtocol",
    "PenaltyProtocol",
    "ReconstructionLossProtocol",
]


class GeneratorProtocol(Protocol):
    """A generator, ``G(x) -> Tensor``: an image batch in, a translated image batch out.

    Shape
    -----
    ``(B, C_in, H, W) -> (B, C_out, H, W)``
    """

    def __call__(self, x: Tensor, /) -> Tensor:
        """Translate ``x``."""
        ...


class DiscriminatorProtocol(Protocol):
    """A discriminator, ``D(x) -> list[Tensor]``: an image batch in, a **list** of score maps
    out (one per scale or view; a single-scale discriminator returns a list of one).

    Shape
    -----
    ``(B, C, H, W) -> list[(B, 1, H_s, W_s)]``
    """

    def __call__(self, x: Tensor, /) -> list[Tensor]:
        """Score maps of ``x``."""
        ...


@runtime_checkable
class FeatureDiscriminatorProtocol(DiscriminatorProtocol, Protocol):
    """A discriminator that also has ``D.forward_features(x) -> (scores, features)``, which
    feature matching (``weights.feature_matching > 0``) needs; optional otherwise.

    Shape
    -----
    ``(B, C, H, W) -> (list[(B, 1, H_s, W_s)], list[(B, C_i, H_i, W_i)])``
    """

    def forward_features(self, x: Tensor, /) -> tuple[list[Tensor], list[Tensor]]:
        """Score maps and intermediate features of ``x``, the features in a fixed order."""
        ...


@runtime_checkable
class AdversarialLossProtocol(Protocol):
    """An adversarial loss over lists of score maps, for each side of the game:
    ``generator(fake_scores)`` and ``discriminator(real_scores, fake_scores)``, scalars."""

    def generator(self, fake_scores: Sequence[Tensor], /) -> Tensor:
        """The generator's scalar loss on the discriminator's scores of generated images."""
        ...

    def discriminator(
        self, real_scores: Sequence[Tensor], fake_scores: Sequence[Tensor], /
    ) -> Tensor:
        """The discriminator's scalar loss on its scores of real and generated images."""
        ...


class ReconstructionLossProtocol(Protocol):
    """The loss of the cycle and identity terms, ``loss(output, target) -> scalar``.

    Shape
    -----
    ``(B, C, H, W), (B, C, H, W) -> ()``
    """

    def __call__(self, output: Tensor, target: Tensor, /) -> Tensor:
        """Scalar distance of ``output`` from ``target``."""
        ...


class PenaltyProtocol(Protocol):
    """A discriminator penalty, ``penalty(D, real, fake) -> scalar``, carrying its own
    coefficient.

    Shape
    -----
    ``(discriminator, (B, C, H, W), (B, C, H, W)) -> ()``
    """

    def __call__(
        self, discriminator: DiscriminatorProtocol, real: Tensor, fake: Tensor, /
    ) -> Tensor:
        """Scalar penalty of ``discriminator`` at (or between) ``real`` and ``fake``."""
        ...
