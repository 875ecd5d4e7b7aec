"""The CycleGAN model: two generators, two discriminators and the two objectives.

The model computes losses and nothing else: no optimiser, no loop, no image pool (those belong to
the :class:`~cyclegan_ms.training.Trainer`). Naming follows the paper: ``G_ab`` maps domain A
(night) to B (day), ``G_ba`` maps back; ``D_a`` judges A images, ``D_b`` judges B images.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any, Literal, cast

import torch
import torch.nn as nn
from torch import Tensor

from .losses import colour_moment_loss, feature_matching_loss
from .protocols import (
    AdversarialLossProtocol,
    DiscriminatorProtocol,
    FeatureDiscriminatorProtocol,
    GeneratorProtocol,
    PenaltyProtocol,
    ReconstructionLossProtocol,
)
from .registry import config_of, from_config

__all__ = ["CycleGAN", "Direction", "GeneratorOutput", "LossWeights", "per_sample"]

Direction = Literal["a2b", "b2a"]


@dataclass
class LossWeights:
    """Weights of every term of the two objectives.

    Attributes
    ----------
    adversarial
        Weight of each generator's adversarial term (already reduced over scales).
    cycle
        Cycle-consistency weight, each direction (seed and paper: 10).
    cycle_a
        Weight of the A→B→A term alone (``|G_ba(G_ab(a)) − a|``), overriding ``cycle`` for that
        direction when set. With A = night this is the term that makes the day picture carry
        what only the night has (lamps, glare, sensor noise) so the way back can restore it;
        ``None``: ``cycle``.
    identity
        Identity weight, each direction, applied to the reconstruction loss directly. The seed
        uses 0.5; the CycleGAN paper's ``lambda_identity=0.5`` is *relative* to the cycle weight,
        i.e. 5.0 here. 0 skips the identity forward passes entirely.
    feature_matching
        Weight of the pix2pixHD feature-matching term (0 disables it).
    moments
        Weight of the colour-moment term, each direction (0 disables it): the L1 distance
        between the per-channel mean and standard deviation of each generator's translations and
        those of the real batch of its target domain
        (:func:`~cyclegan_ms.losses.colour_moment_loss`; unpaired: statistics only). A direct
        signal for global tone and contrast.
    regularization
        Weight of the generators' own penalties (``G.regularization()``, e.g. the seed
        bottleneck's L2; the value already includes the part's own coefficient).
    discriminator
        Scale of each discriminator objective (the seed sums real and fake terms: 1; the
        CycleGAN reference halves it: 0.5).
    """

    adversarial: float = 1.0
    cycle: float = 10.0
    cycle_a: float | None = None
    identity: float = 0.5
    feature_matching: float = 0.0
    moments: float = 0.0
    regularization: float = 1.0
    discriminator: float = 1.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None and f.name == "cycle_a":
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"loss weight {f.name!r} must be a number; got {value!r}")
            if value < 0:
                raise ValueError(f"loss weight {f.name!r} must be >= 0; got {value}")
            setattr(self, f.name, float(value))

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | LossWeights | None) -> LossWeights:
        """Build from a plain mapping, rejecting unknown keys with the accepted ones."""
        if data is None:
            return cls()
        if isinstance(data, LossWeights):
            return data
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(
                f"unknown loss weight(s) {', '.join(unknown)}; accepted: {', '.join(sorted(known))}"
            )
        return cls(**data)


@dataclass
class GeneratorOutput:
    """What :meth:`CycleGAN.generator_objective` returns.

    Attributes
    ----------
    losses
        Named scalar losses; ``"total"`` is the weighted sum to back-propagate.
    fake_a, fake_b
        ``G_ba(real_b)`` and ``G_ab(real_a)``, shape ``(B, C, H, W)``.
    rec_a, rec_b
        ``G_ba(fake_b)`` and ``G_ab(fake_a)``, shape ``(B, C, H, W)``.
    """

    losses: dict[str, Tensor]
    fake_a: Tensor
    fake_b: Tensor
    rec_a: Tensor
    rec_b: Tensor


#: A part as :class:`CycleGAN` takes it: a registry name, a config ``{"name": ..., **kwargs}`` or
#: a module.
PartSpec = str | Mapping[str, object] | nn.Module

if TYPE_CHECKING:
    # How the model sees its networks: registered sub-modules (parameters, modes, state dicts)
    # with their protocol's call. Python has no intersection type; these stand for one.

    class _GeneratorModule(nn.Module, GeneratorProtocol):
        def __call__(self, x: Tensor, /) -> Tensor: ...

    class _DiscriminatorModule(nn.Module, DiscriminatorProtocol):
        def __call__(self, x: Tensor, /) -> list[Tensor]: ...


def _as_part(kind: str, spec: PartSpec) -> nn.Module:
    if isinstance(spec, nn.Module):
        return spec
    part = from_config(kind, spec)
    if not isinstance(part, nn.Module):
        raise TypeError(f"{kind} {spec!r} did not build an nn.Module (got {type(part).__name__})")
    return part


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


def _split_scores(
    scores: Sequence[Tensor] | Tensor, sizes: list[int]
) -> tuple[list[Tensor], list[Tensor]]:
    """Split a discriminator's output (a list of score maps) along the batch; a bare tensor
    (a plain module's single map) gives lists of one."""
    if isinstance(scores, Tensor):
        scores = [scores]
    pairs = [s.split(sizes) for s in scores]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def _features(D: nn.Module, x: Tensor) -> tuple[list[Tensor], list[Tensor]]:
    """``D.forward_features(x)``, or a ``TypeError`` naming what feature matching needs."""
    if not isinstance(D, FeatureDiscriminatorProtocol):
        raise TypeError(
            f"feature matching (weights.feature_matching > 0) needs discriminators with "
            f"forward_features(x) -> (scores, features); {type(D).__name__} has none"
        )
    return D.forward_features(x)


def _regularization(module: nn.Module, like: Tensor) -> Tensor:
    fn = getattr(module, "regularization", None)
    if fn is None:
        return like.new_zeros(())
    value = fn()
    return value if isinstance(value, Tensor) else like.new_tensor(float(value))


class CycleGAN(nn.Module):
    """Two generators and two discriminators, and the objectives that train them.

    Parameters
    ----------
    G_ab, G_ba
        Generators A→B and B→A: a registry name, a config ``{"name": ..., **kwargs}`` or a module.
    D_a, D_b
        Discriminators of A and B images (same forms). Each returns a list of score maps.
    adversarial
        Adversarial loss (``"lsgan"``, ``"bce"``, ``"hinge"``, ``"wgan"``, a config, or a module
        with ``generator(fake_scores)`` and ``discriminator(real_scores, fake_scores)``).
    reconstruction
        Loss for cycle and identity terms: ``"l1"`` (default), ``"l2"``, ... or a module
        ``(output, target) -> scalar``.
    penalty
        Optional discriminator penalty (``"wgan_gp"``, ``"r1"``, a config such as
        ``{"name": "r1", "gamma": 1.0}``, or a module ``(discriminator, real, fake) -> scalar``).
        The penalty carries its own coefficient (``weight`` / ``gamma``).
    weights
        :class:`LossWeights` or a mapping of its fields.
    fuse_passes
        Run a network once over two batches stacked together where the objective feeds it two
        independent batches: ``G_ab`` on ``real_a`` and ``real_b`` (translation and identity),
        likewise ``G_ba``, and each discriminator on its real and fake batch. The losses are the
        same up to float rounding, with fewer, larger passes (faster on CPUs, see
        ``benchmarks/RESULTS.md``). Only done for networks that are :func:`per_sample` and
        batches of the same shape; random layers (dropout) then draw their noise in another
        order. An execution setting: not part of :meth:`config`.

    Examples
    --------
    >>> import torch
    >>> from cyclegan_ms import CycleGAN
    >>> m = CycleGAN(
    ...     G_ab={"name": "resnet_6blocks", "ngf": 4}, G_ba={"name": "resnet_6blocks", "ngf": 4},
    ...     D_a={"name": "patchgan", "ndf": 4}, D_b={"name": "patchgan", "ndf": 4})
    >>> a, b = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)
    >>> out = m.generator_objective(a, b)
    >>> sorted(out.losses)[:3], out.fake_b.shape
    (['adv_a', 'adv_b', 'cycle_a'], torch.Size([1, 3, 32, 32]))
    """

    #: Data range the model was trained on (set by :func:`cyclegan_ms.load`).
    value_range: tuple[float, float] = (0.0, 1.0)
    #: Training step of the checkpoint it was loaded from (0 for a fresh model).
    checkpoint_step: int = 0

    def __init__(
        self,
        G_ab: PartSpec,
        G_ba: PartSpec,
        D_a: PartSpec,
        D_b: PartSpec,
        *,
        adversarial: PartSpec = "lsgan",
        reconstruction: PartSpec = "l1",
        penalty: PartSpec | None = None,
        weights: LossWeights | Mapping[str, float | None] | None = None,
        fuse_passes: bool = True,
    ) -> None:
        super().__init__()
        if not isinstance(fuse_passes, bool):
            raise TypeError(f"fuse_passes must be a bool; got {fuse_passes!r}")
        self.fuse_passes = fuse_passes
        # Every nn.Module is taken as a network: its call is the protocol's by contract.
        self.G_ab = cast("_GeneratorModule", _as_part("generator", G_ab))
        self.G_ba = cast("_GeneratorModule", _as_part("generator", G_ba))
        self.D_a = cast("_DiscriminatorModule", _as_part("discriminator", D_a))
        self.D_b = cast("_DiscriminatorModule", _as_part("discriminator", D_b))
        adv = _as_part("adversarial_loss", adversarial)
        missing = [m for m in ("generator", "discriminator") if not callable(getattr(adv, m, None))]
        if missing or not isinstance(adv, AdversarialLossProtocol):
            raise TypeError(
                f"adversarial loss {type(adv).__name__} has no {missing[0]}() "
                "method; it must provide generator(fake_scores) and "
                "discriminator(real_scores, fake_scores)"
            )
        self.adversarial: AdversarialLossProtocol = adv
        self.reconstruction: ReconstructionLossProtocol = _as_part(
            "reconstruction_loss", reconstruction
        )
        self.penalty: PenaltyProtocol | None = (
            None if penalty is None else _as_part("penalty", penalty)
        )
        self.weights = LossWeights.from_mapping(weights)

    # ------------------------------------------------------------------ config
    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> CycleGAN:
        """Build from plain data (a dict or a TOML ``[model]`` table).

        Keys: ``generator`` (used for both directions unless ``generator_ba`` is given),
        ``discriminator`` (both, unless ``discriminator_b``), ``adversarial``,
        ``reconstruction``, ``penalty``, ``weights``. Unknown keys are rejected.
        """
        accepted = {
            "generator",
            "generator_ba",
            "discriminator",
            "discriminator_b",
            "adversarial",
            "reconstruction",
            "penalty",
            "weights",
        }
        unknown = sorted(set(config) - accepted)
        if unknown:
            raise ValueError(
                f"unknown model key(s) {', '.join(unknown)}; accepted: {', '.join(sorted(accepted))}"
            )
        for key in ("generator", "discriminator"):
            if key not in config:
                raise ValueError(
                    f"model config needs a {key!r} table (e.g. {{name = 'seed_unet'}})"
                )
        g = config["generator"]
        d = config["discriminator"]
        return cls(
            G_ab=g,
            G_ba=config.get("generator_ba", g),
            D_a=d,
            D_b=config.get("discriminator_b", d),
            adversarial=config.get("adversarial", "lsgan"),
            reconstruction=config.get("reconstruction", "l1"),
            penalty=config.get("penalty"),
            weights=config.get("weights"),
        )

    def config(self) -> dict[str, object]:
        """Plain-data config that :meth:`from_config` turns back into an equal model.

        Raises
        ------
        ValueError
            If a part was passed as a module not built through the registry.
        """
        cfg: dict[str, object] = {
            "generator": config_of(self.G_ab),
            "generator_ba": config_of(self.G_ba),
            "discriminator": config_of(self.D_a),
            "discriminator_b": config_of(self.D_b),
            "adversarial": config_of(self.adversarial),
            "reconstruction": config_of(self.reconstruction),
            "weights": asdict(self.weights),
        }
        if self.penalty is not None:
            cfg["penalty"] = config_of(self.penalty)
        return cfg

    # -------------------------------------------------------------- objectives
    def generators(self) -> list[nn.Module]:
        """``[G_ab, G_ba]``."""
        return [self.G_ab, self.G_ba]

    def discriminators(self) -> list[nn.Module]:
        """``[D_a, D_b]``."""
        return [self.D_a, self.D_b]

    def generator_objective(self, real_a: Tensor, real_b: Tensor) -> GeneratorOutput:
        """The generators' objective for a batch; gradients never reach the discriminators.

        Parameters
        ----------
        real_a
            Domain-A images, ``(B, C_a, H, W)``.
        real_b
            Domain-B images, ``(B, C_b, H, W)`` (unpaired with ``real_a``).

        Returns
        -------
        GeneratorOutput
            ``losses`` holds ``adv_a``, ``adv_b``, ``cycle_a``, ``cycle_b``, ``idt_a``,
            ``idt_b`` (when identity > 0), ``fm_a``, ``fm_b`` (when feature matching > 0),
            ``mom_a``, ``mom_b`` (when moments > 0), ``reg`` and ``total`` (the weighted sum), all scalars.
        """
        w = self.weights
        rec = self.reconstruction
        with frozen(self.D_a, self.D_b):
            idt_a: Tensor | None = None
            idt_b: Tensor | None = None
            if w.identity > 0 and self._fusable(real_a, real_b, self.G_ab, self.G_ba):
                n = real_a.shape[0]
                fake_b, idt_b = self.G_ab(torch.cat([real_a, real_b])).split([n, real_b.shape[0]])
                fake_a, idt_a = self.G_ba(torch.cat([real_b, real_a])).split([real_b.shape[0], n])
            else:
                fake_b = self.G_ab(real_a)
                fake_a = self.G_ba(real_b)
            rec_a = self.G_ba(fake_b)
            rec_b = self.G_ab(fake_a)
            losses: dict[str, Tensor] = {}
            if w.feature_matching > 0:
                scores_a, feats_fake_a = _features(self.D_a, fake_a)
                scores_b, feats_fake_b = _features(self.D_b, fake_b)
                with torch.no_grad():
                    _, feats_real_a = _features(self.D_a, real_a)
                    _, feats_real_b = _features(self.D_b, real_b)
                losses["fm_a"] = feature_matching_loss(feats_real_a, feats_fake_a)
                losses["fm_b"] = feature_matching_loss(feats_real_b, feats_fake_b)
            else:
                scores_a = self.D_a(fake_a)
                scores_b = self.D_b(fake_b)
            losses["adv_a"] = self.adversarial.generator(scores_a)
            losses["adv_b"] = self.adversarial.generator(scores_b)
            losses["cycle_a"] = rec(rec_a, real_a)
            losses["cycle_b"] = rec(rec_b, real_b)
            if w.identity > 0:
                losses["idt_a"] = rec(self.G_ba(real_a) if idt_a is None else idt_a, real_a)
                losses["idt_b"] = rec(self.G_ab(real_b) if idt_b is None else idt_b, real_b)
            if w.moments > 0:
                losses["mom_a"] = colour_moment_loss(fake_a, real_a)
                losses["mom_b"] = colour_moment_loss(fake_b, real_b)
            losses["reg"] = _regularization(self.G_ab, real_a) + _regularization(self.G_ba, real_a)
        total = (
            w.adversarial * (losses["adv_a"] + losses["adv_b"])
            + (w.cycle if w.cycle_a is None else w.cycle_a) * losses["cycle_a"]
            + w.cycle * losses["cycle_b"]
            + w.regularization * losses["reg"]
        )
        if w.identity > 0:
            total = total + w.identity * (losses["idt_a"] + losses["idt_b"])
        if w.feature_matching > 0:
            total = total + w.feature_matching * (losses["fm_a"] + losses["fm_b"])
        if w.moments > 0:
            total = total + w.moments * (losses["mom_a"] + losses["mom_b"])
        losses["total"] = total
        return GeneratorOutput(losses, fake_a=fake_a, fake_b=fake_b, rec_a=rec_a, rec_b=rec_b)

    def discriminator_objective(
        self, real_a: Tensor, real_b: Tensor, fake_a: Tensor, fake_b: Tensor
    ) -> dict[str, Tensor]:
        """The discriminators' objective: real images against (pooled) generated ones.

        The fakes are detached here, so gradients never reach the generators.

        Parameters
        ----------
        real_a, fake_a
            Real and generated A images, ``(B, C_a, H, W)`` (``fake_a`` may come from a pool
            and have another batch size).
        real_b, fake_b
            Real and generated B images, ``(B, C_b, H, W)``.

        Returns
        -------
        dict[str, Tensor]
            Scalars ``d_a``, ``d_b``, ``penalty_a``/``penalty_b`` (when a penalty is on) and
            ``total``.
        """
        fake_a, fake_b = fake_a.detach(), fake_b.detach()
        w = self.weights
        out = {
            "d_a": self.adversarial.discriminator(
                *self._real_fake_scores(self.D_a, real_a, fake_a)
            ),
            "d_b": self.adversarial.discriminator(
                *self._real_fake_scores(self.D_b, real_b, fake_b)
            ),
        }
        total = w.discriminator * (out["d_a"] + out["d_b"])
        if self.penalty is not None:
            out["penalty_a"] = self.penalty(self.D_a, real_a, fake_a)
            out["penalty_b"] = self.penalty(self.D_b, real_b, fake_b)
            total = total + out["penalty_a"] + out["penalty_b"]
        out["total"] = total
        return out

    def _fusable(self, x: Tensor, y: Tensor, *nets: nn.Module) -> bool:
        return (
            self.fuse_passes and x.shape[1:] == y.shape[1:] and all(per_sample(net) for net in nets)
        )

    def _real_fake_scores(
        self, D: _DiscriminatorModule, real: Tensor, fake: Tensor
    ) -> tuple[Sequence[Tensor], Sequence[Tensor]]:
        if self._fusable(real, fake, D):
            # Under autocast a generator may return bf16 fakes beside fp32 reals: stack them in
            # the wider type (lossless for the fakes; the first layer casts both as before).
            dtype = torch.promote_types(real.dtype, fake.dtype)
            both = torch.cat([real.to(dtype), fake.to(dtype)])
            return _split_scores(D(both), [real.shape[0], fake.shape[0]])
        return D(real), D(fake)

    @torch.no_grad()
    def translate(self, x: Tensor, direction: Direction = "a2b") -> Tensor:
        """Translate a batch with one generator (no gradients; the mode is left unchanged).

        Parameters
        ----------
        x
            ``(B, C, H, W)`` images in the generators' data range.
        direction
            ``"a2b"`` (night → day with the seed naming) or ``"b2a"``.

        Returns
        -------
        Tensor
            ``(B, C_out, H, W)``.
        """
        if direction == "a2b":
            return self.G_ab(x)
        if direction == "b2a":
            return self.G_ba(x)
        raise ValueError(f"direction must be 'a2b' or 'b2a'; got {direction!r}")
