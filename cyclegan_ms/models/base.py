"""What the models share: parts from plain data, the ``model`` registry kind, and small helpers
of the objectives (freezing networks, fusing passes, splitting scores).

Every model is registered under the ``"model"`` kind; a ``[model]`` table names one with
``name`` (``"cyclegan"`` when absent, so every older config and checkpoint builds the
:class:`~cyclegan_ms.CycleGAN` it always did) and :func:`build_model` builds it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

import torch
import torch.nn as nn
from torch import Tensor

from ..protocols import (
    AdversarialLossProtocol,
    DiscriminatorProtocol,
    FeatureDiscriminatorProtocol,
    GeneratorProtocol,
    PenaltyProtocol,
    TranslationModelProtocol,
    TranslationModule,
)
from ..registry import from_config

__all__ = [
    "DEFAULT_MODEL",
    "PartSpec",
    "as_adversarial",
    "as_part",
    "as_translation_model",
    "build_model",
    "check_keys",
    "discriminator_features",
    "frozen",
    "one_discriminator_objective",
    "per_sample",
    "real_fake_scores",
    "regularization",
    "split_scores",
]

#: The model a ``[model]`` table without ``name`` builds.
DEFAULT_MODEL = "cyclegan"

#: A part as a model takes it: a registry name, a config ``{"name": ..., **kwargs}`` or a
#: module.
PartSpec = str | Mapping[str, object] | nn.Module

if TYPE_CHECKING:
    # How a model sees its networks: registered sub-modules (parameters, modes, state dicts)
    # with their protocol's call. Python has no intersection type; these stand for one.

    class GeneratorModule(nn.Module, GeneratorProtocol):
        def __call__(self, x: Tensor, /) -> Tensor: ...

    class DiscriminatorModule(nn.Module, DiscriminatorProtocol):
        def __call__(self, x: Tensor, /) -> list[Tensor]: ...


def as_part(kind: str, spec: PartSpec) -> nn.Module:
    """``spec`` as a module: itself, or built from the registry's ``kind``.

    Raises
    ------
    TypeError
        The registry built something that is not an ``nn.Module``.
    """
    if isinstance(spec, nn.Module):
        return spec
    part = from_config(kind, spec)
    if not isinstance(part, nn.Module):
        raise TypeError(f"{kind} {spec!r} did not build an nn.Module (got {type(part).__name__})")
    return part


def as_adversarial(spec: PartSpec) -> AdversarialLossProtocol:
    """The adversarial loss ``spec`` names, checked for ``generator()``/``discriminator()``."""
    adv = as_part("adversarial_loss", spec)
    missing = [m for m in ("generator", "discriminator") if not callable(getattr(adv, m, None))]
    if missing or not isinstance(adv, AdversarialLossProtocol):
        raise TypeError(
            f"adversarial loss {type(adv).__name__} has no {missing[0]}() "
            "method; it must provide generator(fake_scores) and "
            "discriminator(real_scores, fake_scores)"
        )
    return adv


def check_keys(what: str, config: Mapping[str, Any], accepted: set[str]) -> None:
    """Reject keys of ``config`` outside ``accepted``, naming the accepted ones."""
    unknown = sorted(set(config) - accepted)
    if unknown:
        raise ValueError(
            f"unknown {what} key(s) {', '.join(unknown)}; accepted: {', '.join(sorted(accepted))}"
        )


@contextlib.contextmanager
def frozen(*modules: nn.Module) -> Iterator[None]:
    """Temporarily stop gradients from reaching the parameters of ``modules``."""
    saved = [(p, p.requires_grad) for m in modules for p in m.parameters()]
    for p, _ in saved:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in saved:
            p.requires_grad_(flag)


def per_sample(module: nn.Module) -> bool:
    """Whether ``module`` treats every sample of a batch on its own, so that one pass over two
    batches stacked together gives the two passes' outputs (up to float rounding).

    False when it holds a batch-norm layer (statistics over the batch), a spectral-norm
    parametrisation (one power iteration per forward call) or any layer with the attribute
    ``batch_coupled = True`` (set it on your own layers that mix samples).
    """
    for m in module.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm) or getattr(m, "batch_coupled", False):
            return False
        if hasattr(m, "weight_orig") or any(
            "spectral" in type(p).__name__.lower()
            for plist in getattr(m, "parametrizations", {}).values()
            for p in plist
        ):
            return False
    return True


def split_scores(
    scores: Sequence[Tensor] | Tensor, sizes: list[int]
) -> tuple[list[Tensor], list[Tensor]]:
    """Split a discriminator's output (a list of score maps) along the batch; a bare tensor
    (a plain module's single map) gives lists of one."""
    if isinstance(scores, Tensor):
        scores = [scores]
    pairs = [s.split(sizes) for s in scores]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def real_fake_scores(
    D: DiscriminatorModule, real: Tensor, fake: Tensor, *, fuse: bool
) -> tuple[Sequence[Tensor], Sequence[Tensor]]:
    """``D(real), D(fake)``; one pass over both stacked together when ``fuse`` and ``D`` is
    :func:`per_sample` and the two batches have the same image shape.

    Shape
    -----
    ``(B_r, C, H, W), (B_f, C, H, W) -> (list[(B_r, 1, H_s, W_s)], list[(B_f, 1, H_s, W_s)])``
    """
    if fuse and real.shape[1:] == fake.shape[1:] and per_sample(D):
        # Under autocast a generator may return bf16 fakes beside fp32 reals: stack them in
        # the wider type (lossless for the fakes; the first layer casts both as before).
        dtype = torch.promote_types(real.dtype, fake.dtype)
        both = torch.cat([real.to(dtype), fake.to(dtype)])
        return split_scores(D(both), [real.shape[0], fake.shape[0]])
    return D(real), D(fake)


def one_discriminator_objective(
    D: DiscriminatorModule,
    adversarial: AdversarialLossProtocol,
    penalty: PenaltyProtocol | None,
    real: Tensor,
    fake: Tensor,
    *,
    weight: float,
    fuse: bool,
) -> dict[str, Tensor]:
    """The objective of a model's one (domain-B) discriminator: the adversarial loss of its
    scores on ``real`` against ``fake``, scaled by ``weight``, plus the penalty when there is one.

    Returns
    -------
    dict[str, Tensor]
        Scalars ``d_b``, ``penalty_b`` (when ``penalty`` is given) and ``total``.

    Shape
    -----
    ``(B_r, C, H, W), (B_f, C, H, W)`` (what ``D`` judges) ``-> scalars``.
    """
    out = {"d_b": adversarial.discriminator(*real_fake_scores(D, real, fake, fuse=fuse))}
    total = weight * out["d_b"]
    if penalty is not None:
        out["penalty_b"] = penalty(D, real, fake)
        total = total + out["penalty_b"]
    out["total"] = total
    return out


def discriminator_features(D: nn.Module, x: Tensor) -> tuple[list[Tensor], list[Tensor]]:
    """``D.forward_features(x)``, or a ``TypeError`` naming what feature matching needs."""
    if not isinstance(D, FeatureDiscriminatorProtocol):
        raise TypeError(
            f"feature matching (weights.feature_matching > 0) needs discriminators with "
            f"forward_features(x) -> (scores, features); {type(D).__name__} has none"
        )
    return D.forward_features(x)


def regularization(module: nn.Module, like: Tensor) -> Tensor:
    """``module.regularization()`` as a scalar tensor (zero when it has none)."""
    fn = getattr(module, "regularization", None)
    if fn is None:
        return like.new_zeros(())
    value = fn()
    return value if isinstance(value, Tensor) else like.new_tensor(float(value))


def as_translation_model(model: object) -> TranslationModule:
    """``model`` typed as a trainable translation model, or a ``TypeError`` naming what it lacks.

    Raises
    ------
    TypeError
        Not an ``nn.Module``, or missing calls of
        :class:`~cyclegan_ms.protocols.TranslationModelProtocol`.
    """
    if isinstance(model, nn.Module) and isinstance(model, TranslationModelProtocol):
        return cast("TranslationModule", model)
    wanted = [
        "generators",
        "discriminators",
        "averaged_generators",
        "pooled_domains",
        "translators",
        "generator_objective",
        "discriminator_objective",
        "preview",
        "config",
        "value_range",
        "checkpoint_step",
        "paired",
    ]
    missing = [name for name in wanted if not hasattr(model, name)]
    what = "not an nn.Module" if not isinstance(model, nn.Module) else "an nn.Module"
    raise TypeError(
        f"model must be an nn.Module with the calls of TranslationModelProtocol (a CycleGAN, "
        f"CUT, Pix2Pix or your own); got {type(model).__name__}, {what}"
        + (f" without {', '.join(missing)}" if missing else "")
    )


def build_model(config: Mapping[str, Any]) -> TranslationModule:
    """The model a ``[model]`` table describes.

    Parameters
    ----------
    config
        ``{"name": ..., **options}``; ``name`` defaults to ``"cyclegan"`` (:data:`DEFAULT_MODEL`),
        so a table without it (every config and checkpoint written before models had names)
        builds a :class:`~cyclegan_ms.CycleGAN`.

    Returns
    -------
    TranslationModule
        The model (an ``nn.Module`` with the calls of
        :class:`~cyclegan_ms.protocols.TranslationModelProtocol`).

    Raises
    ------
    ValueError
        Unknown model name (with close matches) or option value.
    TypeError
        Unknown or wrongly typed option (with the accepted ones).

    Examples
    --------
    >>> from cyclegan_ms.models import build_model
    >>> m = build_model({"name": "cut", "generator": {"name": "resnet_6blocks", "ngf": 4},
    ...                  "discriminator": {"name": "patchgan", "ndf": 4}, "nce_layers": [0, 4]})
    >>> type(m).__name__, sorted(m.translators())
    ('CUT', ['a2b'])
    """
    if not isinstance(config, Mapping):
        raise TypeError(f"a model config must be a table; got {type(config).__name__}")
    model = from_config("model", {"name": DEFAULT_MODEL, **config})
    return as_translation_model(model)
