"""The CycleGAN model: two generators, two discriminators and the two objectives.

The model computes losses and nothing else: no optimiser, no loop, no image pool (those belong to
the :class:`~cyclegan_ms.training.Trainer`). Naming follows the paper: ``G_ab`` maps domain A
(night) to B (day), ``G_ba`` maps back; ``D_a`` judges A images, ``D_b`` judges B images.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any, cast

import torch
import torch.nn as nn
from torch import Tensor

from .._checks import check_nonnegative
from ..generators.card import Direction
from ..losses import colour_moment_loss, feature_matching_loss
from ..protocols import (
    DomainKey,
    PenaltyProtocol,
    ReconstructionLossProtocol,
)
from ..registry import config_of, register
from .base import (
    PartSpec,
    as_adversarial,
    as_part,
    check_keys,
    discriminator_features,
    frozen,
    per_sample,
    real_fake_scores,
    regularization,
)

if TYPE_CHECKING:
    from .base import DiscriminatorModule, GeneratorModule

__all__ = ["CycleGAN", "GeneratorOutput", "LossWeights", "cyclegan"]


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
    synthetic
        Weight of the synthetic-pairs term (0 disables it): the reconstruction loss between
        ``G_ab(degrade(real_b))`` and ``real_b``, where ``degrade`` is the model's
        ``synthetic_pairs`` part (e.g. the physical low-light model): supervision from B
        images alone.
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
    synthetic: float = 0.0
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

    @property
    def fakes(self) -> dict[DomainKey, Tensor]:
        """``{"a": fake_a, "b": fake_b}``, what :meth:`CycleGAN.discriminator_objective` takes."""
        return {"a": self.fake_a, "b": self.fake_b}


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
    cycle_noise
        Standard deviation of Gaussian noise added to each translation before the generator
        that maps it back (the cycle terms only; the discriminators and the identity terms see
        no noise): one number for both, or ``{"a": sigma, "b": sigma}`` where ``"a"`` is the
        noise on ``fake_a = G_ba(real_b)`` before ``G_ab`` reconstructs ``real_b``. In the
        generators' data units; 0 (default) leaves the objective unchanged. A defence against
        the cycle's steganography: without it ``G_ba`` can hide the day picture's detail in a
        low-amplitude signal of the night it makes, and ``G_ab`` learns to decode that signal,
        so on real nights it turns their noise into texture.
    cycle_loss_a
        The loss of the A→B→A term alone (same forms as ``reconstruction``); ``None``
        (default): ``reconstruction``. With A = night, a robust loss here (``"robust_l1"``)
        stops the lamps and lit windows that only the night shows from being carried into the
        day picture for the way back, while the night's structure is still held.
    synthetic_pairs
        A ``"degradation"`` part (e.g. ``"lowlight"``: :class:`~cyclegan_ms.data.RandomNight`)
        that turns B images into A-like ones, giving ``G_ab`` supervised pairs from the B batch
        (weighted by ``weights.synthetic``; both or neither). ``None`` (default): no such term.

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
    #: Trains on unpaired A and B images.
    paired: bool = False

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
        cycle_noise: float | Mapping[str, float] = 0.0,
        cycle_loss_a: PartSpec | None = None,
        synthetic_pairs: PartSpec | None = None,
    ) -> None:
        super().__init__()
        self.cycle_noise = cycle_noise_levels(cycle_noise)
        if not isinstance(fuse_passes, bool):
            raise TypeError(f"fuse_passes must be a bool; got {fuse_passes!r}")
        self.fuse_passes = fuse_passes
        # Every nn.Module is taken as a network: its call is the protocol's by contract.
        self.G_ab = cast("GeneratorModule", as_part("generator", G_ab))
        self.G_ba = cast("GeneratorModule", as_part("generator", G_ba))
        self.D_a = cast("DiscriminatorModule", as_part("discriminator", D_a))
        self.D_b = cast("DiscriminatorModule", as_part("discriminator", D_b))
        self.adversarial = as_adversarial(adversarial)
        self.reconstruction: ReconstructionLossProtocol = as_part(
            "reconstruction_loss", reconstruction
        )
        self.cycle_loss_a: ReconstructionLossProtocol | None = (
            None if cycle_loss_a is None else as_part("reconstruction_loss", cycle_loss_a)
        )
        self.penalty: PenaltyProtocol | None = (
            None if penalty is None else as_part("penalty", penalty)
        )
        self.weights = LossWeights.from_mapping(weights)
        self.synthetic_pairs: nn.Module | None = (
            None if synthetic_pairs is None else as_part("degradation", synthetic_pairs)
        )
        if (self.synthetic_pairs is None) != (self.weights.synthetic == 0):
            raise ValueError(
                "synthetic_pairs and weights.synthetic go together: give a degradation (e.g. "
                "synthetic_pairs = 'lowlight') and a weight > 0, or neither; got "
                f"synthetic_pairs={synthetic_pairs!r}, weights.synthetic={self.weights.synthetic}"
            )

    # ------------------------------------------------------------------ config
    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> CycleGAN:
        """Build from plain data (a dict or a TOML ``[model]`` table).

        Keys: ``name`` (``"cyclegan"`` or absent), ``generator`` (used for both directions
        unless ``generator_ba`` is given), ``discriminator`` (both, unless ``discriminator_b``),
        ``adversarial``, ``reconstruction``, ``penalty``, ``weights``. Unknown keys are
        rejected. :func:`~cyclegan_ms.models.build_model` builds any model by its ``name``.
        """
        options = {k: v for k, v in config.items() if k != "name"}
        name = config.get("name", "cyclegan")
        if name != "cyclegan":
            raise ValueError(
                f"CycleGAN.from_config got a {name!r} model config; build it with "
                "cyclegan_ms.models.build_model"
            )
        check_keys("model", options, set(_CONFIG_KEYS))
        for key in ("generator", "discriminator"):
            if key not in options:
                raise ValueError(
                    f"model config needs a {key!r} table (e.g. {{name = 'seed_unet'}})"
                )
        return cyclegan(**options)

    def config(self) -> dict[str, object]:
        """Plain-data config that :meth:`from_config` turns back into an equal model.

        Raises
        ------
        ValueError
            If a part was passed as a module not built through the registry.
        """
        cfg: dict[str, object] = {
            "name": "cyclegan",
            "generator": config_of(self.G_ab),
            "generator_ba": config_of(self.G_ba),
            "discriminator": config_of(self.D_a),
            "discriminator_b": config_of(self.D_b),
            "adversarial": config_of(self.adversarial),
            "reconstruction": config_of(self.reconstruction),
            "weights": asdict(self.weights),
        }
        if self.cycle_loss_a is not None:
            cfg["cycle_loss_a"] = config_of(self.cycle_loss_a)
        if self.synthetic_pairs is not None:
            cfg["synthetic_pairs"] = config_of(self.synthetic_pairs)
        if any(self.cycle_noise.values()):
            cfg["cycle_noise"] = dict(self.cycle_noise)
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

    def averaged_generators(self) -> dict[str, nn.Module]:
        """``{"G_ab": G_ab, "G_ba": G_ba}``: both get an EMA copy."""
        return {"G_ab": self.G_ab, "G_ba": self.G_ba}

    def pooled_domains(self) -> tuple[DomainKey, ...]:
        """``("a", "b")``: the fakes of both domains go through an image pool."""
        return ("a", "b")

    def translators(self) -> dict[Direction, nn.Module]:
        """``{"a2b": G_ab, "b2a": G_ba}``."""
        return {"a2b": self.G_ab, "b2a": self.G_ba}

    def generator_objective(self, real_a: Tensor, real_b: Tensor) -> GeneratorOutput:
        """The generators' objective for a batch; gradients never reach the discriminators.

        Parameters
        ----------
        real_a
            DomainKey-A images, ``(B, C_a, H, W)``.
        real_b
            DomainKey-B images, ``(B, C_b, H, W)`` (unpaired with ``real_a``).

        Returns
        -------
        GeneratorOutput
            ``losses`` holds ``adv_a``, ``adv_b``, ``cycle_a``, ``cycle_b``, ``idt_a``,
            ``idt_b`` (when identity > 0), ``fm_a``, ``fm_b`` (when feature matching > 0),
            ``mom_a``, ``mom_b`` (when moments > 0), ``syn`` (with
            ``synthetic_pairs``), ``reg`` and ``total`` (the weighted sum), all scalars.
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
            rec_a = self.G_ba(with_noise(fake_b, self.cycle_noise["b"]))
            rec_b = self.G_ab(with_noise(fake_a, self.cycle_noise["a"]))
            losses: dict[str, Tensor] = {}
            if w.feature_matching > 0:
                scores_a, feats_fake_a = discriminator_features(self.D_a, fake_a)
                scores_b, feats_fake_b = discriminator_features(self.D_b, fake_b)
                with torch.no_grad():
                    _, feats_real_a = discriminator_features(self.D_a, real_a)
                    _, feats_real_b = discriminator_features(self.D_b, real_b)
                losses["fm_a"] = feature_matching_loss(feats_real_a, feats_fake_a)
                losses["fm_b"] = feature_matching_loss(feats_real_b, feats_fake_b)
            else:
                scores_a = self.D_a(fake_a)
                scores_b = self.D_b(fake_b)
            losses["adv_a"] = self.adversarial.generator(scores_a)
            losses["adv_b"] = self.adversarial.generator(scores_b)
            losses["cycle_a"] = (rec if self.cycle_loss_a is None else self.cycle_loss_a)(
                rec_a, real_a
            )
            losses["cycle_b"] = rec(rec_b, real_b)
            if w.identity > 0:
                losses["idt_a"] = rec(self.G_ba(real_a) if idt_a is None else idt_a, real_a)
                losses["idt_b"] = rec(self.G_ab(real_b) if idt_b is None else idt_b, real_b)
            if self.synthetic_pairs is not None:
                night = self.synthetic_pairs(real_b).to(real_b.dtype)
                losses["syn"] = rec(self.G_ab(night), real_b)
            if w.moments > 0:
                losses["mom_a"] = colour_moment_loss(fake_a, real_a)
                losses["mom_b"] = colour_moment_loss(fake_b, real_b)
            losses["reg"] = regularization(self.G_ab, real_a) + regularization(self.G_ba, real_a)
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
        if "syn" in losses:
            total = total + w.synthetic * losses["syn"]
        losses["total"] = total
        return GeneratorOutput(losses, fake_a=fake_a, fake_b=fake_b, rec_a=rec_a, rec_b=rec_b)

    def discriminator_objective(
        self, real_a: Tensor, real_b: Tensor, fakes: Mapping[DomainKey, Tensor]
    ) -> dict[str, Tensor]:
        """The discriminators' objective: real images against (pooled) generated ones.

        The fakes are detached here, so gradients never reach the generators.

        Parameters
        ----------
        real_a, real_b
            Real A and B images, ``(B, C_a, H, W)`` and ``(B, C_b, H, W)``.
        fakes
            ``{"a": fake_a, "b": fake_b}`` (:attr:`GeneratorOutput.fakes`, or their pooled
            versions, which may have another batch size).

        Returns
        -------
        dict[str, Tensor]
            Scalars ``d_a``, ``d_b``, ``penalty_a``/``penalty_b`` (when a penalty is on) and
            ``total``.
        """
        fake_a, fake_b = fakes["a"].detach(), fakes["b"].detach()
        w = self.weights
        out = {
            "d_a": self.adversarial.discriminator(
                *real_fake_scores(self.D_a, real_a, fake_a, fuse=self.fuse_passes)
            ),
            "d_b": self.adversarial.discriminator(
                *real_fake_scores(self.D_b, real_b, fake_b, fuse=self.fuse_passes)
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

    @torch.no_grad()
    def preview(self, real_a: Tensor, real_b: Tensor) -> list[list[Tensor]]:
        """Sample-grid rows: input | translated | reconstructed, A→B→A then B→A→B.

        Shape
        -----
        ``(N, C, H, W), (N, C, H, W) -> 2N rows of three (C, H, W)``.
        """
        fake_b = self.G_ab(real_a)
        rec_a = self.G_ba(fake_b)
        fake_a = self.G_ba(real_b)
        rec_b = self.G_ab(fake_a)
        rows = [[real_a[i], fake_b[i], rec_a[i]] for i in range(real_a.shape[0])]
        return rows + [[real_b[i], fake_a[i], rec_b[i]] for i in range(real_b.shape[0])]

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


#: The keys of a CycleGAN ``[model]`` table (besides ``name``).
_CONFIG_KEYS = (
    "generator",
    "generator_ba",
    "discriminator",
    "discriminator_b",
    "adversarial",
    "reconstruction",
    "penalty",
    "weights",
    "cycle_noise",
    "cycle_loss_a",
    "synthetic_pairs",
)


def cycle_noise_levels(value: float | Mapping[str, float]) -> dict[DomainKey, float]:
    """Normalise a ``cycle_noise`` option to ``{"a": sigma_a, "b": sigma_b}``.

    Parameters
    ----------
    value
        One standard deviation for both fakes, or a mapping with keys ``"a"`` and/or ``"b"``
        (missing keys: 0). Each must be a finite number >= 0, in the generators' data units.

    Raises
    ------
    ValueError
        On a negative, infinite or non-numeric level, or an unknown key.
    """
    if isinstance(value, Mapping):
        unknown = sorted(set(value) - {"a", "b"})
        if unknown:
            raise ValueError(
                f"cycle_noise accepts the keys 'a' and 'b'; got {', '.join(map(repr, unknown))}"
            )
        levels = {"a": value.get("a", 0.0), "b": value.get("b", 0.0)}
    else:
        levels = {"a": value, "b": value}
    return {
        cast("DomainKey", key): check_nonnegative(level, f"cycle_noise[{key!r}]")
        for key, level in levels.items()
    }


def with_noise(x: Tensor, sigma: float) -> Tensor:
    """``x`` plus Gaussian noise of standard deviation ``sigma`` (``x`` itself when 0).

    Shape: ``(B, C, H, W) -> (B, C, H, W)``.
    """
    if sigma == 0.0:
        return x
    return x + sigma * torch.randn_like(x)


@register("model", "cyclegan")
def cyclegan(
    *,
    generator: str | Mapping[str, object],
    generator_ba: str | Mapping[str, object] | None = None,
    discriminator: str | Mapping[str, object],
    discriminator_b: str | Mapping[str, object] | None = None,
    adversarial: str | Mapping[str, object] = "lsgan",
    reconstruction: str | Mapping[str, object] = "l1",
    penalty: str | Mapping[str, object] | None = None,
    weights: Mapping[str, float | None] | None = None,
    cycle_noise: float | Mapping[str, float] = 0.0,
    cycle_loss_a: str | Mapping[str, object] | None = None,
    synthetic_pairs: str | Mapping[str, object] | None = None,
) -> CycleGAN:
    """The ``[model] name = "cyclegan"`` table (the default): a :class:`CycleGAN`.

    ``generator`` serves both directions unless ``generator_ba`` is given; ``discriminator``
    both domains unless ``discriminator_b`` is.
    """
    return CycleGAN(
        G_ab=generator,
        G_ba=generator if generator_ba is None else generator_ba,
        D_a=discriminator,
        D_b=discriminator if discriminator_b is None else discriminator_b,
        adversarial=adversarial,
        reconstruction=reconstruction,
        penalty=penalty,
        weights=weights,
        cycle_noise=cycle_noise,
        cycle_loss_a=cycle_loss_a,
        synthetic_pairs=synthetic_pairs,
    )
