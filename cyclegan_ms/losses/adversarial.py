"""Adversarial losses that reduce over the list of score maps a discriminator returns.

Every discriminator in the library returns a **list** of score maps, one per scale or view (a
single-scale one returns a list of one). Each loss here takes such lists, computes one term per
scale (the mean over that scale's map), and sums the terms with per-scale weights (1 each by
default, as the seed does for its three heads), so single- and multi-scale discriminators need no
special case.

Each loss is a pair, in kornia's style: plain functions (``lsgan_generator_loss`` /
``lsgan_discriminator_loss``) and a thin parameter-free module (:class:`LSGANLoss`) with two
methods, :meth:`~AdversarialLoss.generator` and :meth:`~AdversarialLoss.discriminator`. The
modules are registered under the kind ``"adversarial_loss"``:

==========  =====================================================================================
``lsgan``   least squares (the seed's): D: ``(D(real) - 1)^2 + (D(fake) - 0)^2``; G: ``(D(fake) - 1)^2``
``bce``     non-saturating GAN on logits: D: ``softplus(-D(real)) + softplus(D(fake))``;
            G: ``softplus(-D(fake))``
``hinge``   D: ``relu(1 - D(real)) + relu(1 + D(fake))``; G: ``-D(fake)``
``wgan``    D: ``D(fake) - D(real)``; G: ``-D(fake)`` (add the ``wgan_gp`` penalty for WGAN-GP)
==========  =====================================================================================

The discriminator loss is the **sum** of its real and fake terms, not their half. The seed
(Keras) compiles each discriminator with ``mse`` and trains it on a real batch and a generated
batch separately, each term with weight 1; the sum is the single-step equivalent. The CycleGAN
paper's code halves it (``0.5 * (real + fake)``): scale the discriminator objective by 0.5 in the
model to get that.

Scores are upcast to float32 (when in a lower precision) before the loss, so the losses are safe
under mixed precision.

**Arguments common to the functions.** ``fake_scores`` (and, for a discriminator loss,
``real_scores``) are the score maps of one discriminator on generated (real) images: a list of
``(B, 1, H_s, W_s)`` tensors, one per scale (any shape per scale; a bare tensor is a list of
one), both lists equally long. ``scale_weights`` gives one weight per scale; ``None`` gives 1
each (the seed). Every function returns a scalar tensor (shape ``()``) and raises
``ValueError`` on an empty score list, score lists of different lengths, or a
``scale_weights`` length that differs from the number of score maps.

>>> import torch
>>> scores = [torch.ones(2, 1, 32, 32), torch.ones(2, 1, 16, 16), torch.ones(2, 1, 8, 8)]
>>> float(lsgan_generator_loss(scores))
0.0
>>> loss = LSGANLoss(scale_weights=(1.0, 0.5, 0.25))
>>> float(loss.discriminator(scores, [torch.zeros_like(s) for s in scores]))
0.0
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from .._checks import check_finite, check_probability, check_weights
from ..registry import register

__all__ = [
    "AdversarialLoss",
    "BCEGANLoss",
    "HingeGANLoss",
    "LSGANLoss",
    "ScoreList",
    "WGANLoss",
    "bce_discriminator_loss",
    "bce_generator_loss",
    "hinge_discriminator_loss",
    "hinge_generator_loss",
    "lsgan_discriminator_loss",
    "lsgan_generator_loss",
    "wgan_discriminator_loss",
    "wgan_generator_loss",
]

#: What the losses accept as discriminator output: the list of score maps (a bare tensor is
#: treated as a list of one).
ScoreList = Sequence[Tensor] | Tensor


# --------------------------------------------------------------------------------------------
# helpers shared by the adversarial losses and the penalties
# --------------------------------------------------------------------------------------------


def check_scale_weights(scale_weights: Sequence[float] | None) -> tuple[float, ...] | None:
    """Validate per-scale weights and return them as a tuple of floats (``None`` stays)."""
    return check_weights(scale_weights, "scale_weights", " (one per discriminator scale)")


def as_score_list(scores: ScoreList, what: str) -> list[Tensor]:
    """Turn a discriminator output into a non-empty list of floating tensors."""
    if isinstance(scores, Tensor):
        items: list[Tensor] = [scores]
    elif isinstance(scores, (list, tuple)):
        items = list(scores)
    else:
        raise TypeError(
            f"{what} must be the list of score maps a discriminator returns; "
            f"got {type(scores).__name__}"
        )
    if not items:
        raise ValueError(f"{what} is an empty list; a discriminator returns at least one score map")
    for i, s in enumerate(items):
        if not isinstance(s, Tensor):
            raise TypeError(f"{what}[{i}] must be a Tensor; got {type(s).__name__}")
        if not s.is_floating_point():
            raise TypeError(f"{what}[{i}] must be a floating-point tensor; got dtype {s.dtype}")
        if s.numel() == 0:
            raise ValueError(f"{what}[{i}] is empty (shape {tuple(s.shape)})")
    return items


def resolve_weights(
    scale_weights: tuple[float, ...] | None, n: int, what: str
) -> tuple[float, ...]:
    """The ``n`` per-scale weights: ``scale_weights``, or 1 each for ``None``; ``ValueError``
    (naming ``what``, the scores) when their count differs from ``n``."""
    if scale_weights is None:
        return (1.0,) * n
    if len(scale_weights) != n:
        raise ValueError(
            f"scale_weights has {len(scale_weights)} weight(s) but {what} has {n} score map(s); "
            "give one weight per discriminator scale (or None for weight 1 each)"
        )
    return scale_weights


def _weighted_sum(terms: Sequence[Tensor], weights: Sequence[float]) -> Tensor:
    total = terms[0] * weights[0]
    for t, w in zip(terms[1:], weights[1:], strict=True):
        total = total + t * w
    return total


def _upcast(x: Tensor) -> Tensor:
    return x if x.dtype in (torch.float32, torch.float64) else x.float()


def _check_label(value: float, name: str, *, unit: bool = False) -> float:
    label = check_finite(value, name)
    return check_probability(value, name, " (a BCE target probability)") if unit else label


def _check_labels(real_label: float, fake_label: float, *, unit: bool = False) -> None:
    real = _check_label(real_label, "real_label", unit=unit)
    fake = _check_label(fake_label, "fake_label", unit=unit)
    if real == fake:
        raise ValueError(
            f"real_label and fake_label must differ (both are {real}); nothing would be learned"
        )


def _generator_side(
    fake_scores: ScoreList,
    scale_weights: Sequence[float] | None,
    term: Callable[[Tensor], Tensor],
) -> Tensor:
    weights = check_scale_weights(scale_weights)
    fake = as_score_list(fake_scores, "fake_scores")
    w = resolve_weights(weights, len(fake), "fake_scores")
    return _weighted_sum([term(_upcast(f)).mean() for f in fake], w)


def _discriminator_side(
    real_scores: ScoreList,
    fake_scores: ScoreList,
    scale_weights: Sequence[float] | None,
    real_term: Callable[[Tensor], Tensor],
    fake_term: Callable[[Tensor], Tensor],
) -> Tensor:
    weights = check_scale_weights(scale_weights)
    real = as_score_list(real_scores, "real_scores")
    fake = as_score_list(fake_scores, "fake_scores")
    if len(real) != len(fake):
        raise ValueError(
            f"real_scores has {len(real)} score map(s) but fake_scores has {len(fake)}; "
            "both must come from the same discriminator"
        )
    w = resolve_weights(weights, len(real), "real_scores")
    terms = [
        real_term(_upcast(r)).mean() + fake_term(_upcast(f)).mean()
        for r, f in zip(real, fake, strict=True)
    ]
    return _weighted_sum(terms, w)


def _labelled_discriminator_side(
    real_scores: ScoreList,
    fake_scores: ScoreList,
    scale_weights: Sequence[float] | None,
    real_label: float,
    fake_label: float,
    term: Callable[[Tensor, float], Tensor],
    *,
    unit: bool = False,
) -> Tensor:
    """:func:`_discriminator_side` with ``term(score, label)`` against checked labels."""
    _check_labels(real_label, fake_label, unit=unit)
    real_t, fake_t = float(real_label), float(fake_label)
    return _discriminator_side(
        real_scores,
        fake_scores,
        scale_weights,
        lambda r: term(r, real_t),
        lambda f: term(f, fake_t),
    )


def _squared_error(x: Tensor, label: float) -> Tensor:
    return (x - label).square()


# --------------------------------------------------------------------------------------------
# functions
# --------------------------------------------------------------------------------------------


def lsgan_generator_loss(
    fake_scores: ScoreList,
    *,
    scale_weights: Sequence[float] | None = None,
    real_label: float = 1.0,
) -> Tensor:
    """Least-squares generator loss: ``sum_s w_s * mean((D_s(fake) - real_label)^2)``.

    ``fake_scores``, ``scale_weights``, the result and the errors are those common to the
    functions of this module (see the module documentation).

    Parameters
    ----------
    real_label
        Target the generator pushes its scores to (a finite number).

    Examples
    --------
    >>> import torch
    >>> float(lsgan_generator_loss([torch.zeros(2, 1, 4, 4), torch.ones(2, 1, 2, 2)]))
    1.0
    """
    label = _check_label(real_label, "real_label")
    return _generator_side(fake_scores, scale_weights, lambda f: _squared_error(f, label))


def lsgan_discriminator_loss(
    real_scores: ScoreList,
    fake_scores: ScoreList,
    *,
    scale_weights: Sequence[float] | None = None,
    real_label: float = 1.0,
    fake_label: float = 0.0,
) -> Tensor:
    """Least-squares discriminator loss, real and fake terms **summed** per scale.

    ``sum_s w_s * [mean((D_s(real) - real_label)^2) + mean((D_s(fake) - fake_label)^2)]``;
    the score lists and ``scale_weights`` are as in the module documentation.

    Parameters
    ----------
    real_label, fake_label
        Regression targets (finite, and they must differ).

    Raises
    ------
    ValueError
        As every function here, and on non-finite or equal labels.

    Examples
    --------
    >>> import torch
    >>> float(lsgan_discriminator_loss([torch.ones(1, 1, 4, 4)], [torch.ones(1, 1, 4, 4)]))
    1.0
    """
    return _labelled_discriminator_side(
        real_scores, fake_scores, scale_weights, real_label, fake_label, _squared_error
    )


def _bce(x: Tensor, label: float) -> Tensor:
    return F.binary_cross_entropy_with_logits(x, torch.full_like(x, label), reduction="none")


def bce_generator_loss(
    fake_scores: ScoreList,
    *,
    scale_weights: Sequence[float] | None = None,
    real_label: float = 1.0,
) -> Tensor:
    """Non-saturating generator loss on logits: ``sum_s w_s * mean(BCE(D_s(fake), real_label))``.

    With ``real_label=1`` this is ``softplus(-D(fake))``, the non-saturating loss of Goodfellow et
    al.; the score maps (see the module documentation) are logits (no sigmoid in the
    discriminator).

    Parameters
    ----------
    real_label
        Target probability in [0, 1].

    Examples
    --------
    >>> import torch
    >>> round(float(bce_generator_loss([torch.zeros(1, 1, 2, 2)])), 4)  # log 2
    0.6931
    """
    label = _check_label(real_label, "real_label", unit=True)
    return _generator_side(fake_scores, scale_weights, lambda f: _bce(f, label))


def bce_discriminator_loss(
    real_scores: ScoreList,
    fake_scores: ScoreList,
    *,
    scale_weights: Sequence[float] | None = None,
    real_label: float = 1.0,
    fake_label: float = 0.0,
) -> Tensor:
    """Binary cross-entropy discriminator loss on logits, real and fake terms summed per scale.

    ``sum_s w_s * [mean(BCE(D_s(real), real_label)) + mean(BCE(D_s(fake), fake_label))]`` on
    logit maps (the score lists of the module documentation); a ``real_label`` below 1 gives
    one-sided label smoothing.

    Parameters
    ----------
    real_label, fake_label
        Target probabilities in [0, 1] (must differ).
    """
    return _labelled_discriminator_side(
        real_scores, fake_scores, scale_weights, real_label, fake_label, _bce, unit=True
    )


def hinge_generator_loss(
    fake_scores: ScoreList, *, scale_weights: Sequence[float] | None = None
) -> Tensor:
    """Hinge generator loss: ``sum_s w_s * mean(-D_s(fake))``, unbounded below.

    The arguments, result and errors are those common to the functions of this module (see the
    module documentation).
    """
    return _generator_side(fake_scores, scale_weights, torch.neg)


def hinge_discriminator_loss(
    real_scores: ScoreList,
    fake_scores: ScoreList,
    *,
    scale_weights: Sequence[float] | None = None,
) -> Tensor:
    """Hinge discriminator loss: ``sum_s w_s * [mean(relu(1 - D_s(real))) + mean(relu(1 + D_s(fake)))]``.

    Always ``>= 0``; zero once every real score is ``>= 1`` and every fake score ``<= -1``. The
    arguments and errors are those common to the functions of this module.
    """
    return _discriminator_side(
        real_scores,
        fake_scores,
        scale_weights,
        lambda r: F.relu(1.0 - r),
        lambda f: F.relu(1.0 + f),
    )


def wgan_generator_loss(
    fake_scores: ScoreList, *, scale_weights: Sequence[float] | None = None
) -> Tensor:
    """Wasserstein generator loss: ``sum_s w_s * mean(-D_s(fake))`` on critic maps.

    The same value as :func:`hinge_generator_loss` (the two losses differ only on the
    discriminator side), with the same arguments, result and errors.
    """
    return hinge_generator_loss(fake_scores, scale_weights=scale_weights)


def wgan_discriminator_loss(
    real_scores: ScoreList,
    fake_scores: ScoreList,
    *,
    scale_weights: Sequence[float] | None = None,
) -> Tensor:
    """Wasserstein critic loss: ``sum_s w_s * [mean(D_s(fake)) - mean(D_s(real))]``.

    Unbounded without a Lipschitz constraint: pair it with the ``wgan_gp`` penalty
    (:func:`~cyclegan_ms.losses.gradient_penalty`). The arguments (critic maps as score lists)
    and errors are those common to the functions of this module.
    """
    return _discriminator_side(real_scores, fake_scores, scale_weights, torch.neg, lambda f: f)


# --------------------------------------------------------------------------------------------
# modules
# --------------------------------------------------------------------------------------------


class AdversarialLoss(nn.Module):
    """Base class of the adversarial loss modules (no parameters).

    Subclasses implement :meth:`generator` and :meth:`discriminator`; both take the lists of score
    maps a discriminator returns and reduce over scales with ``scale_weights``. A user loss
    registered under ``"adversarial_loss"`` should follow the same two-method contract.

    The modules below share this ``scale_weights`` parameter and these shapes.

    Parameters
    ----------
    scale_weights
        One non-negative weight per discriminator scale; ``None`` gives 1 each. A length that
        differs from the number of score maps raises ``ValueError`` when the loss is called.

    Shape
    -----
    ``generator``: list of ``(B, 1, H_s, W_s)`` -> ``()``;
    ``discriminator``: two such lists -> ``()``.
    """

    def __init__(self, *, scale_weights: tuple[float, ...] | None = None) -> None:
        super().__init__()
        self.scale_weights = check_scale_weights(scale_weights)

    def generator(self, fake_scores: ScoreList) -> Tensor:
        """Generator loss on the discriminator's scores for generated images.

        Shape
        -----
        ``fake_scores``: list of ``(B, 1, H_s, W_s)``; output ``()``.
        """
        raise NotImplementedError

    def discriminator(self, real_scores: ScoreList, fake_scores: ScoreList) -> Tensor:
        """Discriminator loss on its scores for real and for generated images.

        Shape
        -----
        ``real_scores``/``fake_scores``: lists of ``(B, 1, H_s, W_s)``; output ``()``.
        """
        raise NotImplementedError

    def extra_repr(self) -> str:
        return f"scale_weights={self.scale_weights}"


class _FunctionalGANLoss(AdversarialLoss):
    """An adversarial loss module that calls a pair of loss functions with its settings.

    Subclasses set :attr:`_generator_loss` and :attr:`_discriminator_loss` to the functions;
    :meth:`_generator_kwargs` and :meth:`_discriminator_kwargs` give the keyword arguments.
    """

    _generator_loss: Callable[..., Tensor]
    _discriminator_loss: Callable[..., Tensor]

    def _generator_kwargs(self) -> dict[str, object]:
        return {"scale_weights": self.scale_weights}

    def _discriminator_kwargs(self) -> dict[str, object]:
        return {"scale_weights": self.scale_weights}

    def generator(self, fake_scores: ScoreList) -> Tensor:
        """See the generator loss function named in the class documentation."""
        return type(self)._generator_loss(fake_scores, **self._generator_kwargs())

    def discriminator(self, real_scores: ScoreList, fake_scores: ScoreList) -> Tensor:
        """See the discriminator loss function named in the class documentation."""
        return type(self)._discriminator_loss(
            real_scores, fake_scores, **self._discriminator_kwargs()
        )


class _LabelledGANLoss(_FunctionalGANLoss):
    """A :class:`_FunctionalGANLoss` with a real and a fake target label.

    ``_unit_labels`` says whether the labels are probabilities (must lie in [0, 1]).
    """

    _unit_labels = False

    def __init__(
        self,
        *,
        scale_weights: tuple[float, ...] | None = None,
        real_label: float = 1.0,
        fake_label: float = 0.0,
    ) -> None:
        super().__init__(scale_weights=scale_weights)
        _check_labels(real_label, fake_label, unit=self._unit_labels)
        self.real_label = float(real_label)
        self.fake_label = float(fake_label)

    def _generator_kwargs(self) -> dict[str, object]:
        return {"scale_weights": self.scale_weights, "real_label": self.real_label}

    def _discriminator_kwargs(self) -> dict[str, object]:
        return {**self._generator_kwargs(), "fake_label": self.fake_label}

    def extra_repr(self) -> str:
        return (
            f"scale_weights={self.scale_weights}, real_label={self.real_label}, "
            f"fake_label={self.fake_label}"
        )


@register("adversarial_loss", "lsgan")
class LSGANLoss(_LabelledGANLoss):
    """Least-squares GAN loss (the seed's), see :func:`lsgan_generator_loss` and
    :func:`lsgan_discriminator_loss`.

    ``scale_weights`` and the shapes are those of :class:`AdversarialLoss` (``None``, 1 per
    scale, is the seed's).

    Parameters
    ----------
    real_label, fake_label
        Regression targets for real and generated images.

    Raises
    ------
    ValueError
        Bad ``scale_weights``, non-finite or equal labels.

    Examples
    --------
    >>> import torch
    >>> loss = LSGANLoss()
    >>> float(loss.generator([torch.ones(2, 1, 8, 8)]))
    0.0
    """

    _generator_loss = staticmethod(lsgan_generator_loss)
    _discriminator_loss = staticmethod(lsgan_discriminator_loss)


@register("adversarial_loss", "bce")
class BCEGANLoss(_LabelledGANLoss):
    """Non-saturating GAN loss with logits, see :func:`bce_generator_loss` and
    :func:`bce_discriminator_loss`.

    ``scale_weights`` and the shapes are those of :class:`AdversarialLoss`.

    Parameters
    ----------
    real_label, fake_label
        Target probabilities in [0, 1]; ``real_label=0.9`` gives one-sided label smoothing.
    """

    _unit_labels = True
    _generator_loss = staticmethod(bce_generator_loss)
    _discriminator_loss = staticmethod(bce_discriminator_loss)


@register("adversarial_loss", "hinge")
class HingeGANLoss(_FunctionalGANLoss):
    """Hinge GAN loss, see :func:`hinge_generator_loss` and :func:`hinge_discriminator_loss`.

    ``scale_weights`` and the shapes are those of :class:`AdversarialLoss`.
    """

    _generator_loss = staticmethod(hinge_generator_loss)
    _discriminator_loss = staticmethod(hinge_discriminator_loss)


@register("adversarial_loss", "wgan")
class WGANLoss(_FunctionalGANLoss):
    """Wasserstein loss, see :func:`wgan_generator_loss` and :func:`wgan_discriminator_loss`.

    Add the ``"wgan_gp"`` penalty (:class:`~cyclegan_ms.losses.GradientPenalty`) to the critic
    objective for WGAN-GP. ``scale_weights`` and the shapes are those of :class:`AdversarialLoss`.
    """

    _generator_loss = staticmethod(wgan_generator_loss)
    _discriminator_loss = staticmethod(wgan_discriminator_loss)
