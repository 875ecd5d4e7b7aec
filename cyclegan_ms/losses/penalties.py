"""Gradient penalties on the discriminator: WGAN-GP and R1.

Both differentiate the discriminator's score maps with respect to its input with
``create_graph=True``, so the penalty itself backpropagates into the discriminator's parameters
(double backward). For a multi-scale discriminator each scale is penalised separately (the
gradient of the sum of that scale's map, per sample) and the per-scale terms are summed with
``scale_weights`` (1 each by default), like the adversarial losses.

The modules are registered under the kind ``"penalty"`` as ``"wgan_gp"`` and ``"r1"`` and share
one call signature, ``penalty(discriminator, real, fake)`` (R1 ignores ``fake``), so a model can
add any registered penalty to its discriminator objective without a special case.

Autocast is disabled inside the penalties: the input gradient is computed in the inputs' own
precision (float32 for half-precision inputs), which keeps the double backward stable under
mixed precision.

**Arguments common to the penalties.** ``discriminator`` is any callable returning a list of
``(B, 1, H_s, W_s)`` score maps (a bare tensor counts as one scale); ``real`` (and ``fake``) are
floating-point ``(B, C, H, W)`` batches, detached by the penalty; ``scale_weights`` gives one
weight per scale, ``None`` giving 1 each. The result is a scalar (shape ``()``), ``>= 0``;
``ValueError`` is raised on a negative coefficient or a ``scale_weights`` length that differs
from the number of score maps.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn as nn
from torch import Tensor

from .._checks import check_nonnegative, check_seed
from ..registry import register
from .adversarial import ScoreList, as_score_list, check_scale_weights, resolve_weights

__all__ = ["GradientPenalty", "R1Penalty", "gradient_penalty", "r1_penalty", "uniform_on"]

DiscriminatorFn = Callable[[Tensor], ScoreList]


def _owned_generator(seed: int | None) -> torch.Generator:
    """A CPU generator seeded with ``seed``, or from torch's global RNG when ``seed`` is None
    (so ``torch.manual_seed`` still makes a run reproducible)."""
    gen = torch.Generator()
    if seed is None:
        seed = int(torch.randint(0, 2**62, ()).item())
    gen.manual_seed(seed)
    return gen


def _check_image(x: Tensor, name: str) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a Tensor; got {type(x).__name__}")
    if x.dim() < 2 or x.shape[0] == 0:
        raise ValueError(
            f"{name} must be a non-empty batch (B, C, H, W); got shape {tuple(x.shape)}"
        )
    if not x.is_floating_point():
        raise TypeError(f"{name} must be floating-point; got dtype {x.dtype}")


def _work_dtype(x: Tensor) -> torch.dtype:
    return x.dtype if x.dtype in (torch.float32, torch.float64) else torch.float32


def _weighted_gradient_terms(
    discriminator: DiscriminatorFn,
    x: Tensor,
    scale_weights: tuple[float, ...] | None,
    term: Callable[[Tensor], Tensor],
) -> Tensor:
    """``sum_s w_s * term(g_s)``, ``g_s`` the per-sample gradient of ``sum(D_s(x))`` w.r.t.
    ``x`` flattened to ``(B, C*H*W)`` (graph kept for double backward)."""
    with torch.autocast(device_type=x.device.type, enabled=False):
        scores = as_score_list(discriminator(x), "discriminator output")
    weights = resolve_weights(scale_weights, len(scores), "the discriminator output")
    grads: list[Tensor] = []
    for s in scores:
        (g,) = torch.autograd.grad(s.sum(), x, create_graph=True, retain_graph=True)
        grads.append(g.flatten(1))
    total = x.new_zeros(())
    for g, ws in zip(grads, weights, strict=True):
        total = total + ws * term(g)
    return total


def uniform_on(
    n: int, device: torch.device, dtype: torch.dtype, generator: torch.Generator | None = None
) -> Tensor:
    """``n`` draws of ``U(0, 1)`` made on ``device``, from ``generator``'s stream.

    A generator on ``device`` (or ``None``: the device's default one) draws them directly. A CPU
    generator for another device draws one seed on the host (no device work, no sync), which
    seeds a generator on ``device`` that draws them there: the stream stays ``generator``'s (its
    state advances by one draw; a resume continues it), and nothing is copied to the device.

    Shape
    -----
    Output: ``(n,)`` of ``dtype`` on ``device``.

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> uniform_on(3, torch.device("cpu"), torch.float32, g).shape
    torch.Size([3])
    """
    if generator is None or generator.device == device:
        return torch.rand(n, generator=generator, device=device, dtype=dtype)
    if generator.device.type != "cpu":
        draw = torch.rand(n, generator=generator, device=generator.device, dtype=dtype)
        return draw.to(device)
    seed = int(torch.randint(0, 2**62, (), generator=generator))
    local = torch.Generator(device=device)
    local.manual_seed(seed)
    return torch.rand(n, generator=local, device=device, dtype=dtype)


def gradient_penalty(
    discriminator: DiscriminatorFn,
    real: Tensor,
    fake: Tensor,
    *,
    weight: float = 10.0,
    target_norm: float = 1.0,
    scale_weights: Sequence[float] | None = None,
    generator: torch.Generator | None = None,
) -> Tensor:
    """WGAN-GP gradient penalty (Gulrajani et al., 2017), summed over the discriminator's scales.

    ``x = a * real + (1 - a) * fake`` with one ``a ~ U(0, 1)`` per sample; for each scale ``s``,
    ``g_i = d sum(D_s(x_i)) / d x_i`` and the term is ``mean_i (||g_i||_2 - target_norm)^2``;
    the result is ``weight * sum_s w_s * term_s``. ``real`` and ``fake`` are detached (the
    penalty trains the discriminator only); the input gradient is taken with
    ``create_graph=True``, so the result backpropagates into the discriminator's parameters.

    ``discriminator``, ``real``, ``scale_weights`` and the result are those common to the
    penalties (see the module documentation).

    Parameters
    ----------
    fake
        Generated batch, of the shape of ``real``.
    weight
        Penalty coefficient lambda (10 in the paper).
    target_norm
        Gradient norm the penalty pulls towards (1 for WGAN-GP; 0 gives a zero-centred penalty).
    generator
        Random generator for the interpolation coefficients. ``None`` uses torch's default
        generator of ``real``'s device. The coefficients are drawn on ``real``'s device (see
        :func:`uniform_on`), so the penalty makes no host-to-device copy.

    Raises
    ------
    ValueError
        Different shapes of ``real`` and ``fake``, a negative ``weight``/``target_norm``, or a
        ``scale_weights`` length mismatch.

    Examples
    --------
    >>> import torch, torch.nn as nn
    >>> D = nn.Conv2d(3, 1, 4, stride=2)
    >>> x = torch.rand(2, 3, 16, 16)
    >>> gp = gradient_penalty(D, x, torch.rand(2, 3, 16, 16))
    >>> gp.shape, bool(gp >= 0)
    (torch.Size([]), True)
    """
    w_pen = check_nonnegative(weight, "weight")
    target = check_nonnegative(target_norm, "target_norm")
    weights = check_scale_weights(scale_weights)
    _check_image(real, "real")
    _check_image(fake, "fake")
    if real.shape != fake.shape:
        raise ValueError(
            f"real and fake must have the same shape; got {tuple(real.shape)} and "
            f"{tuple(fake.shape)}"
        )
    dtype = torch.promote_types(_work_dtype(real), _work_dtype(fake))
    alpha = uniform_on(real.shape[0], real.device, dtype, generator)
    alpha = alpha.view(-1, *([1] * (real.dim() - 1)))
    x = alpha * real.detach().to(dtype) + (1.0 - alpha) * fake.detach().to(dtype)
    x.requires_grad_(True)
    total = _weighted_gradient_terms(
        discriminator, x, weights, lambda g: (g.norm(2, dim=1) - target).square().mean()
    )
    return total * w_pen


def r1_penalty(
    discriminator: DiscriminatorFn,
    real: Tensor,
    *,
    gamma: float = 10.0,
    scale_weights: Sequence[float] | None = None,
) -> Tensor:
    """R1 penalty (Mescheder et al., 2018): ``gamma / 2 * E ||grad_x D(real)||^2``.

    The usual ``gamma / 2`` convention (StyleGAN's ``r1_gamma``): ``gamma=1`` gives
    ``0.5 * ||grad||^2``. For each scale ``s``, ``g_i = d sum(D_s(x_i)) / d x_i`` and the term is
    ``mean_i ||g_i||^2``; the result is ``gamma / 2 * sum_s w_s * term_s``. ``real`` is detached
    and the gradient is taken with ``create_graph=True``.

    ``discriminator``, ``real``, ``scale_weights``, the result and the errors are those common
    to the penalties (see the module documentation).

    Parameters
    ----------
    gamma
        Penalty coefficient (``>= 0``).
    """
    g_coef = check_nonnegative(gamma, "gamma")
    weights = check_scale_weights(scale_weights)
    _check_image(real, "real")
    x = real.detach().to(_work_dtype(real)).requires_grad_(True)
    total = _weighted_gradient_terms(
        discriminator, x, weights, lambda g: g.square().sum(dim=1).mean()
    )
    return total * (0.5 * g_coef)


@register("penalty", "wgan_gp")
class GradientPenalty(nn.Module):
    """Module form of :func:`gradient_penalty`, owning its random generator.

    The interpolation coefficients come from a CPU ``torch.Generator`` seeded with ``seed`` (or,
    when ``seed`` is None, with a seed drawn once from torch's global RNG, so
    ``torch.manual_seed`` makes a run reproducible); on a GPU they are drawn there, seeded from
    it (see :func:`uniform_on`). Its state is part of the module's
    ``state_dict`` (as extra state), so a resumed run continues the same random stream.

    Parameters
    ----------
    weight
        Penalty coefficient lambda (10 in the WGAN-GP paper).
    target_norm
        Gradient norm the penalty pulls towards (1; 0 gives a zero-centred penalty).
    scale_weights
        One weight per discriminator scale; ``None`` gives 1 each.
    seed
        Seed of the owned generator, or None.

    Shape
    -----
    ``(discriminator, real, fake)``: ``real``, ``fake`` ``(B, C, H, W)`` -> ``()``.
    """

    def __init__(
        self,
        *,
        weight: float = 10.0,
        target_norm: float = 1.0,
        scale_weights: tuple[float, ...] | None = None,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        self.weight = check_nonnegative(weight, "weight")
        self.target_norm = check_nonnegative(target_norm, "target_norm")
        self.scale_weights = check_scale_weights(scale_weights)
        self.generator = _owned_generator(check_seed(seed))

    def forward(self, discriminator: DiscriminatorFn, real: Tensor, fake: Tensor) -> Tensor:
        """See :func:`gradient_penalty`."""
        return gradient_penalty(
            discriminator,
            real,
            fake,
            weight=self.weight,
            target_norm=self.target_norm,
            scale_weights=self.scale_weights,
            generator=self.generator,
        )

    def get_extra_state(self) -> Tensor:
        """The generator state (a ``uint8`` tensor), saved in ``state_dict``."""
        return self.generator.get_state()

    def set_extra_state(self, state: Tensor) -> None:
        """Restore the generator state saved by :meth:`get_extra_state`."""
        if not isinstance(state, Tensor) or state.dtype != torch.uint8:
            raise ValueError(
                f"GradientPenalty extra state must be a uint8 generator state; got {state!r}"
            )
        self.generator.set_state(state.cpu())

    def extra_repr(self) -> str:
        return (
            f"weight={self.weight}, target_norm={self.target_norm}, "
            f"scale_weights={self.scale_weights}"
        )


@register("penalty", "r1")
class R1Penalty(nn.Module):
    """Module form of :func:`r1_penalty` (``gamma / 2 * E ||grad D(real)||^2``).

    Parameters
    ----------
    gamma
        Penalty coefficient (``>= 0``).
    scale_weights
        One weight per discriminator scale; ``None`` gives 1 each.

    Shape
    -----
    ``(discriminator, real, fake=None)``: ``real`` ``(B, C, H, W)`` -> ``()``; ``fake`` is
    accepted and ignored so every registered penalty shares one call signature.
    """

    def __init__(
        self, *, gamma: float = 10.0, scale_weights: tuple[float, ...] | None = None
    ) -> None:
        super().__init__()
        self.gamma = check_nonnegative(gamma, "gamma")
        self.scale_weights = check_scale_weights(scale_weights)

    def forward(
        self, discriminator: DiscriminatorFn, real: Tensor, fake: Tensor | None = None
    ) -> Tensor:
        """See :func:`r1_penalty`; ``fake`` is ignored."""
        return r1_penalty(discriminator, real, gamma=self.gamma, scale_weights=self.scale_weights)

    def extra_repr(self) -> str:
        return f"gamma={self.gamma}, scale_weights={self.scale_weights}"
