"""What the models need of their parts, and what the Trainer needs of a model, as typing
protocols.

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
generator, contrastive loss        ``G.encode(x, layers)``, ``G.feature_channels()``
=================================  =======================================================

One level up, :class:`TranslationModelProtocol` is what the
:class:`~cyclegan_ms.training.Trainer`, the checkpoints, :func:`cyclegan_ms.load` and inference
ask of a model (:class:`~cyclegan_ms.CycleGAN`, :class:`~cyclegan_ms.models.CUT`,
:class:`~cyclegan_ms.models.Pix2Pix` or your own ``nn.Module`` with the same calls): which
networks each optimiser trains, which generators get an EMA copy, which generated images go
through an image pool, and which translation directions it offers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

import torch.nn as nn
from torch import Tensor

from .generators.card import Direction

__all__ = [
    "AdversarialLossProtocol",
    "DiscriminatorProtocol",
    "DomainKey",
    "FeatureDiscriminatorProtocol",
    "FeatureGeneratorProtocol",
    "GeneratorProtocol",
    "GeneratorResultProtocol",
    "PenaltyProtocol",
    "ReconstructionLossProtocol",
    "TranslationModelProtocol",
    "TranslationModule",
]

#: An image domain: ``"a"`` (the source, night) or ``"b"`` (the target, day).
DomainKey = Literal["a", "b"]


class GeneratorProtocol(Protocol):
    """A generator, ``G(x) -> Tensor``: an image batch in, a translated image batch out.

    Shape
    -----
    ``(B, C_in, H, W) -> (B, C_out, H, W)``
    """

    def __call__(self, x: Tensor, /) -> Tensor:
        """Translate ``x``."""
        ...


@runtime_checkable
class FeatureGeneratorProtocol(GeneratorProtocol, Protocol):
    """A generator that also exposes its encoder's features, which the contrastive (PatchNCE)
    loss of :class:`~cyclegan_ms.models.CUT` needs: ``G.feature_channels()`` lists the channels
    of every layer that can be tapped (its index is the layer number) and
    ``G.encode(x, layers)`` returns those layers' outputs. ``resnet_*`` and ``seed_unet``
    provide both.

    Shape
    -----
    ``(B, C_in, H, W) -> list[(B, C_l, H_l, W_l)]``, one per requested layer, in its order.
    """

    def feature_channels(self) -> tuple[int, ...]:
        """Channels of each tappable layer, layer 0 first."""
        ...

    def encode(self, x: Tensor, layers: Sequence[int], /) -> list[Tensor]:
        """The outputs of ``layers`` (indices into :meth:`feature_channels`) for ``x``."""
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


class GeneratorResultProtocol(Protocol):
    """What a model's ``generator_objective`` returns: the losses and the generated images the
    discriminator objective needs.

    Shape
    -----
    ``losses``: scalars ``()``; ``fakes``: ``(B, C, H, W)`` per domain.
    """

    @property
    def losses(self) -> dict[str, Tensor]:
        """Named scalar losses; ``"total"`` is the one to back-propagate."""
        ...

    @property
    def fakes(self) -> dict[DomainKey, Tensor]:
        """Generated images by the domain they imitate (``"b"``: translations A→B)."""
        ...


@runtime_checkable
class TranslationModelProtocol(Protocol):
    """A model the :class:`~cyclegan_ms.training.Trainer` trains and inference translates with.

    Implemented by :class:`~cyclegan_ms.CycleGAN`, :class:`~cyclegan_ms.models.CUT` and
    :class:`~cyclegan_ms.models.Pix2Pix`; a model of your own must also be an ``nn.Module``
    (the trainer moves, saves and switches modes of it as one).

    Attributes
    ----------
    value_range
        Data range of the images (set by the trainer and by :func:`cyclegan_ms.load`).
    checkpoint_step
        Training step of the checkpoint it was loaded from (0 for a fresh model).
    paired
        Whether it trains on aligned pairs (a dataset item's ``A`` and ``B`` show the same
        scene, as pix2pix needs) rather than on two unpaired sets.
    """

    value_range: tuple[float, float]
    checkpoint_step: int
    paired: bool

    def generators(self) -> list[nn.Module]:
        """The modules the generator optimiser trains (generators and any heads of theirs)."""
        ...

    def discriminators(self) -> list[nn.Module]:
        """The modules the discriminator optimiser trains."""
        ...

    def averaged_generators(self) -> dict[str, nn.Module]:
        """The generators that get an EMA copy (``train.ema_decay``), by the name the copy is
        stored under in a checkpoint's ``ema`` table."""
        ...

    def pooled_domains(self) -> tuple[DomainKey, ...]:
        """The domains whose generated images go through an image pool (``train.pool_size``)
        before the discriminator objective; the others are passed as generated."""
        ...

    def translators(self) -> dict[Direction, nn.Module]:
        """The generator of each direction the model translates (``"a2b"``, ``"b2a"``)."""
        ...

    def generator_objective(self, real_a: Tensor, real_b: Tensor, /) -> GeneratorResultProtocol:
        """The generator side's losses for a batch ``(B, C, H, W)`` of each domain."""
        ...

    def discriminator_objective(
        self, real_a: Tensor, real_b: Tensor, fakes: Mapping[DomainKey, Tensor], /
    ) -> dict[str, Tensor]:
        """The discriminator side's scalar losses (``"total"`` to back-propagate) given the
        reals and the (pooled) ``fakes`` of :meth:`generator_objective`."""
        ...

    def preview(self, real_a: Tensor, real_b: Tensor, /) -> list[list[Tensor]]:
        """Rows of ``(C, H, W)`` images showing the model at work on a batch (sample grids)."""
        ...

    def config(self) -> dict[str, object]:
        """The plain ``[model]`` table that rebuilds it (with its registry ``name``)."""
        ...


if TYPE_CHECKING:
    # How the trainer, the loader and inference see a model: an nn.Module (moved, saved, put in
    # train or eval mode) with the protocol's calls. Python has no intersection type; this
    # stands for one for the type checker.

    class TranslationModule(nn.Module, TranslationModelProtocol):
        value_range: tuple[float, float]
        checkpoint_step: int
        paired: bool

else:
    #: A model as the trainer, :func:`cyclegan_ms.load` and inference hold it: an ``nn.Module``
    #: with the calls of :class:`TranslationModelProtocol` (for the type checker, both; at run
    #: time ``nn.Module``, the protocol checked by
    #: :func:`~cyclegan_ms.models.as_translation_model`).
    TranslationModule = nn.Module
