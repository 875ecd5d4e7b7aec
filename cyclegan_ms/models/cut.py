"""CUT and FastCUT: one-sided translation with a patchwise contrastive loss.

Park et al. 2020, "Contrastive Learning for Unpaired Image-to-Image Translation". One generator
``G`` (A→B) and one discriminator ``D`` (of B images); no inverse generator and no cycle. What
keeps the translation faithful to its input is PatchNCE
(:mod:`cyclegan_ms.losses.contrastive`): each patch of ``G(a)``, in ``G``'s own encoder features,
must match the patch of ``a`` at the same place rather than the other patches of ``a``. CUT adds
the same term on B (``G(b)`` against ``b``, "NCE identity") and weighs both at 1; FastCUT drops
the identity term, weighs PatchNCE at 10 and enforces flip equivariance.

The generator must expose its encoder features
(:class:`~cyclegan_ms.protocols.FeatureGeneratorProtocol`: ``resnet_*`` and ``seed_unet`` do);
the MLP heads of the patch sampler are built with the model, from the generator's feature
channels, and train with the generator optimiser.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import torch
import torch.nn as nn
from torch import Tensor

from .._checks import check_int, check_nonnegative
from ..generators.base import check_feature_layers
from ..generators.card import Direction
from ..losses.contrastive import Negatives, PatchNCELoss, PatchSampler
from ..protocols import DomainKey, FeatureGeneratorProtocol, PenaltyProtocol
from ..registry import config_of, register
from .base import (
    PartSpec,
    as_adversarial,
    as_part,
    frozen,
    one_discriminator_objective,
    regularization,
)

if TYPE_CHECKING:
    from .base import DiscriminatorModule

__all__ = ["CUT", "CUTOutput", "cut", "fastcut"]

#: CUT's layers of the ResNet generator: padded input, first downsampling conv, second
#: downsampling norm, 3rd and 7th residual blocks.
RESNET_NCE_LAYERS = (0, 4, 8, 12, 16)

if TYPE_CHECKING:

    class _FeatureGeneratorModule(nn.Module, FeatureGeneratorProtocol):
        def __call__(self, x: Tensor, /) -> Tensor: ...


@dataclass
class CUTOutput:
    """What :meth:`CUT.generator_objective` returns.

    Attributes
    ----------
    losses
        Named scalar losses; ``"total"`` is the weighted sum to back-propagate.
    fake_b
        ``G(real_a)``, ``(B, C, H, W)``.
    idt_b
        ``G(real_b)`` when the NCE identity term is on, else ``None``.
    """

    losses: dict[str, Tensor]
    fake_b: Tensor
    idt_b: Tensor | None

    @property
    def fakes(self) -> dict[DomainKey, Tensor]:
        """``{"b": fake_b}``, what :meth:`CUT.discriminator_objective` takes."""
        return {"b": self.fake_b}


class CUT(nn.Module):
    """Contrastive unpaired translation (CUT / FastCUT): one generator, one discriminator.

    Parameters
    ----------
    G
        Generator A→B: a registry name, a config ``{"name": ..., **kwargs}`` or a module with
        ``encode(x, layers)`` and ``feature_channels()``.
    D
        Discriminator of B images (same forms); returns a list of score maps.
    adversarial
        Adversarial loss (``"lsgan"``, CUT's default, ``"bce"``, ``"hinge"``, ...).
    penalty
        Optional discriminator penalty (``"r1"``, ``{"name": "wgan_gp", ...}``, a module).
    nce_layers
        Generator feature layers PatchNCE compares (indices of ``G.feature_channels()``;
        CUT's ``0, 4, 8, 12, 16`` for ``resnet_*``).
    nce_weight
        λ_NCE (CUT: 1, FastCUT: 10); 0 turns PatchNCE off.
    nce_idt
        Add the NCE identity term ``PatchNCE(G(b), b)``; the two terms are then averaged
        (CUT: on, FastCUT: off).
    num_patches
        Patches drawn per layer (256).
    temperature
        PatchNCE temperature τ (0.07).
    negatives
        ``"image"`` (the other patches of the same image, CUT's) or ``"batch"``.
    feature_dim
        Width of the sampler's MLP heads (256).
    flip_equivariance
        With probability 1/2 per step, translate the horizontally flipped batch and compare
        its features flipped back (FastCUT's regulariser).
    adversarial_weight
        λ_GAN (1).
    discriminator_weight
        Scale of the discriminator objective (CUT halves the sum of real and fake terms: 0.5).
    regularization_weight
        Weight of ``G.regularization()`` (e.g. the seed bottleneck's L2).
    fuse_passes
        Run ``D`` once over the real and fake batches stacked (see
        :class:`~cyclegan_ms.CycleGAN`); an execution setting, not part of :meth:`config`.

    Raises
    ------
    TypeError
        A generator without feature taps.
    ValueError
        A feature layer the generator does not have; a negative weight; bad NCE settings.

    Examples
    --------
    >>> import torch
    >>> m = CUT({"name": "resnet_6blocks", "ngf": 4}, {"name": "patchgan", "ndf": 4},
    ...         nce_layers=[0, 4, 8], num_patches=16)
    >>> out = m.generator_objective(torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32))
    >>> sorted(out.losses), tuple(out.fake_b.shape)
    (['adv_b', 'nce', 'nce_idt', 'reg', 'total'], (2, 3, 32, 32))
    """

    #: Data range the model was trained on (set by :func:`cyclegan_ms.load`).
    value_range: tuple[float, float] = (0.0, 1.0)
    #: Training step of the checkpoint it was loaded from (0 for a fresh model).
    checkpoint_step: int = 0
    #: Trains on unpaired A and B images.
    paired: bool = False

    def __init__(
        self,
        G: PartSpec,
        D: PartSpec,
        *,
        adversarial: PartSpec = "lsgan",
        penalty: PartSpec | None = None,
        nce_layers: Sequence[int] = RESNET_NCE_LAYERS,
        nce_weight: float = 1.0,
        nce_idt: bool = True,
        num_patches: int = 256,
        temperature: float = 0.07,
        negatives: Negatives = "image",
        feature_dim: int = 256,
        flip_equivariance: bool = False,
        adversarial_weight: float = 1.0,
        discriminator_weight: float = 0.5,
        regularization_weight: float = 1.0,
        fuse_passes: bool = True,
    ) -> None:
        super().__init__()
        for flag, name in (
            (nce_idt, "nce_idt"),
            (flip_equivariance, "flip_equivariance"),
            (fuse_passes, "fuse_passes"),
        ):
            if not isinstance(flag, bool):
                raise TypeError(f"{name} must be a bool; got {flag!r}")
        generator = as_part("generator", G)
        if not isinstance(generator, FeatureGeneratorProtocol):
            raise TypeError(
                f"CUT needs a generator that exposes its encoder features (encode(x, layers) "
                f"and feature_channels(): resnet_*, seed_unet); {type(generator).__name__} has "
                "none"
            )
        self.G = cast("_FeatureGeneratorModule", generator)
        self.D = cast("DiscriminatorModule", as_part("discriminator", D))
        self.adversarial = as_adversarial(adversarial)
        self.penalty: PenaltyProtocol | None = (
            None if penalty is None else as_part("penalty", penalty)
        )
        channels = self.G.feature_channels()
        self.nce_layers = check_feature_layers(
            nce_layers, len(channels), f"CUT's generator {type(generator).__name__}"
        )
        self.nce_weight = check_nonnegative(nce_weight, "nce_weight")
        self.nce_idt = nce_idt
        self.flip_equivariance = flip_equivariance
        self.adversarial_weight = check_nonnegative(adversarial_weight, "adversarial_weight")
        self.discriminator_weight = check_nonnegative(discriminator_weight, "discriminator_weight")
        self.regularization_weight = check_nonnegative(regularization_weight, "regularization_weight")
        self.fuse_passes = fuse_passes
        self.nce = PatchNCELoss(temperature=temperature, negatives=negatives)
        self.sampler = PatchSampler(
            [channels[i] for i in self.nce_layers],
            dim=check_int(feature_dim, "feature_dim", 1),
            num_patches=check_int(num_patches, "num_patches", 1),
        )

    # ------------------------------------------------------------------ config
    def config(self) -> dict[str, object]:
        """Plain-data ``[model]`` table that :func:`~cyclegan_ms.models.build_model` turns back
        into an equal model.

        Raises
        ------
        ValueError
            If a part was passed as a module not built through the registry.
        """
        cfg: dict[str, object] = {
            "name": "cut",
            "generator": config_of(self.G),
            "discriminator": config_of(self.D),
            "adversarial": config_of(self.adversarial),
            "nce_layers": list(self.nce_layers),
            "nce_weight": self.nce_weight,
            "nce_idt": self.nce_idt,
            "num_patches": self.sampler.num_patches,
            "temperature": self.nce.temperature,
            "negatives": self.nce.negatives,
            "feature_dim": self.sampler.dim,
            "flip_equivariance": self.flip_equivariance,
            "adversarial_weight": self.adversarial_weight,
            "discriminator_weight": self.discriminator_weight,
            "regularization_weight": self.regularization_weight,
        }
        if self.penalty is not None:
            cfg["penalty"] = config_of(self.penalty)
        return cfg

    # ------------------------------------------------------------------ the protocol
    def generators(self) -> list[nn.Module]:
        """``[G, sampler]``: the sampler's MLP heads train with the generator (``[G]`` when
        ``nce_weight`` is 0: the heads are then unused)."""
        return [self.G, self.sampler] if self.nce_weight > 0 else [self.G]

    def discriminators(self) -> list[nn.Module]:
        """``[D]``."""
        return [self.D]

    def averaged_generators(self) -> dict[str, nn.Module]:
        """``{"G": G}``."""
        return {"G": self.G}

    def pooled_domains(self) -> tuple[DomainKey, ...]:
        """``("b",)`` (CUT trains without a pool: ``train.pool_size = 0``)."""
        return ("b",)

    def translators(self) -> dict[Direction, nn.Module]:
        """``{"a2b": G}``: CUT translates one way."""
        return {"a2b": self.G}

    # ------------------------------------------------------------------ objectives
    def patch_nce(self, source: Tensor, translated: Tensor, *, flipped: bool = False) -> Tensor:
        """PatchNCE between ``source`` and its translation, averaged over :attr:`nce_layers`.

        Parameters
        ----------
        source
            The generator's input, ``(B, C, H, W)`` (its patches are the keys; no gradient).
        translated
            ``G(source)``, ``(B, C, H, W)`` (the queries).
        flipped
            ``translated`` is the translation of the flipped ``source``: its features are
            flipped back before comparing.

        Returns
        -------
        Tensor
            Scalar ``()``.
        """
        queries = self.G.encode(translated, self.nce_layers)
        if flipped:
            queries = [q.flip(-1) for q in queries]
        with torch.no_grad():
            keys, ids = self.sampler(self.G.encode(source, self.nce_layers))
        embedded, _ = self.sampler(queries, ids)
        losses = [self.nce(q, k) for q, k in zip(embedded, keys, strict=True)]
        return torch.stack(losses).mean()

    def generator_objective(self, real_a: Tensor, real_b: Tensor) -> CUTOutput:
        """The generator's objective for a batch; gradients never reach the discriminator.

        Parameters
        ----------
        real_a
            DomainKey-A images, ``(B, C, H, W)``.
        real_b
            DomainKey-B images, ``(B, C, H, W)`` (unpaired with ``real_a``).

        Returns
        -------
        CUTOutput
            ``losses`` holds ``adv_b``, ``nce`` and ``nce_idt`` (when ``nce_weight > 0``; the
            latter with ``nce_idt``), ``reg`` and ``total``.
        """
        identity = self.nce_idt and self.nce_weight > 0
        flipped = self.flip_equivariance and bool(torch.rand(()) < 0.5)
        n = real_a.shape[0]
        with frozen(self.D):
            inputs = torch.cat([real_a, real_b]) if identity else real_a
            if flipped:
                inputs = inputs.flip(-1)
            out = self.G(inputs)
            fake_b, idt_b = (out[:n], out[n:]) if identity else (out, None)
            losses = {"adv_b": self.adversarial.generator(self.D(fake_b))}
            total = self.adversarial_weight * losses["adv_b"]
            if self.nce_weight > 0:
                losses["nce"] = self.patch_nce(real_a, fake_b, flipped=flipped)
                nce = losses["nce"]
                if idt_b is not None:
                    losses["nce_idt"] = self.patch_nce(real_b, idt_b, flipped=flipped)
                    nce = 0.5 * (nce + losses["nce_idt"])
                total = total + self.nce_weight * nce
            losses["reg"] = regularization(self.G, real_a)
        losses["total"] = total + self.regularization_weight * losses["reg"]
        return CUTOutput(losses, fake_b=fake_b, idt_b=idt_b)

    def discriminator_objective(
        self, real_a: Tensor, real_b: Tensor, fakes: Mapping[DomainKey, Tensor]
    ) -> dict[str, Tensor]:
        """The discriminator's objective: real B images against generated ones (detached here).

        Parameters
        ----------
        real_a
            DomainKey-A images (unused: D judges B only), ``(B, C, H, W)``.
        real_b
            DomainKey-B images, ``(B, C, H, W)``.
        fakes
            ``{"b": fake_b}`` (:attr:`CUTOutput.fakes`, or pooled).

        Returns
        -------
        dict[str, Tensor]
            Scalars ``d_b``, ``penalty_b`` (when a penalty is on) and ``total``.
        """
        return one_discriminator_objective(
            self.D,
            self.adversarial,
            self.penalty,
            real_b,
            fakes["b"].detach(),
            weight=self.discriminator_weight,
            fuse=self.fuse_passes,
        )

    @torch.no_grad()
    def preview(self, real_a: Tensor, real_b: Tensor) -> list[list[Tensor]]:
        """Sample-grid rows: ``a | G(a)``, then ``b | G(b)`` (what the identity term sees).

        Shape
        -----
        ``(N, C, H, W), (N, C, H, W) -> 2N rows of two (C, H, W)``.
        """
        fake_b, idt_b = self.G(real_a), self.G(real_b)
        rows = [[real_a[i], fake_b[i]] for i in range(real_a.shape[0])]
        return rows + [[real_b[i], idt_b[i]] for i in range(real_b.shape[0])]

    @torch.no_grad()
    def translate(self, x: Tensor, direction: Direction = "a2b") -> Tensor:
        """Translate a batch A→B (no gradients; the mode is left unchanged).

        Parameters
        ----------
        x
            ``(B, C, H, W)`` images in the generator's data range.
        direction
            ``"a2b"`` (the only direction CUT learns).

        Returns
        -------
        Tensor
            ``(B, C_out, H, W)``.
        """
        if direction != "a2b":
            raise ValueError(f"CUT translates only 'a2b'; got {direction!r}")
        return self.G(x)


def _cut(options: Mapping[str, Any]) -> CUT:
    generator, discriminator = options["generator"], options["discriminator"]
    rest = {k: v for k, v in options.items() if k not in ("generator", "discriminator")}
    return CUT(generator, discriminator, **rest)


@register("model", "cut")
def cut(
    *,
    generator: str | Mapping[str, object],
    discriminator: str | Mapping[str, object],
    adversarial: str | Mapping[str, object] = "lsgan",
    penalty: str | Mapping[str, object] | None = None,
    nce_layers: tuple[int, ...] = RESNET_NCE_LAYERS,
    nce_weight: float = 1.0,
    nce_idt: bool = True,
    num_patches: int = 256,
    temperature: float = 0.07,
    negatives: Negatives = "image",
    feature_dim: int = 256,
    flip_equivariance: bool = False,
    adversarial_weight: float = 1.0,
    discriminator_weight: float = 0.5,
    regularization_weight: float = 1.0,
) -> CUT:
    """The ``[model] name = "cut"`` table: a :class:`CUT` with CUT's defaults (λ_NCE 1, NCE
    identity on); see :class:`CUT` for every option."""
    return _cut(locals())


@register("model", "fastcut")
def fastcut(
    *,
    generator: str | Mapping[str, object],
    discriminator: str | Mapping[str, object],
    adversarial: str | Mapping[str, object] = "lsgan",
    penalty: str | Mapping[str, object] | None = None,
    nce_layers: tuple[int, ...] = RESNET_NCE_LAYERS,
    nce_weight: float = 10.0,
    nce_idt: bool = False,
    num_patches: int = 256,
    temperature: float = 0.07,
    negatives: Negatives = "image",
    feature_dim: int = 256,
    flip_equivariance: bool = True,
    adversarial_weight: float = 1.0,
    discriminator_weight: float = 0.5,
    regularization_weight: float = 1.0,
) -> CUT:
    """The ``[model] name = "fastcut"`` table: a :class:`CUT` with FastCUT's defaults (λ_NCE 10,
    no NCE identity, flip equivariance); its :meth:`~CUT.config` is a ``"cut"`` table."""
    return _cut(locals())
