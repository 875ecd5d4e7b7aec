"""pix2pix: paired translation with a conditional discriminator.

Isola et al. 2017, "Image-to-Image Translation with Conditional Adversarial Networks". One
generator ``G`` (A→B) trained on aligned pairs ``(a, b)``: ``λ·|G(a) − b|₁`` (λ = 100) pulls the
output onto the truth and a *conditional* PatchGAN ``D`` that sees the input beside the output
(``cat(a, ·)`` along channels) makes it sharp. The reference trains with the vanilla
(BCE) GAN loss, halves the discriminator objective and uses no image pool (the pool would
separate an output from its input).

Test-time mode: the reference's ``test.py`` runs the generator with batch statistics and dropout
(train mode) unless ``--eval`` is given. :meth:`Pix2Pix.translate` offers both
(``batch_statistics=True`` is the reference's default); :class:`~cyclegan_ms.inference.Translator`,
:func:`cyclegan_ms.load` and the command line use eval mode (running statistics, no dropout),
the reference's ``--eval``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import torch
import torch.nn as nn
from torch import Tensor

from .._checks import check_nonnegative
from ..generators.card import Direction
from ..protocols import DomainKey, PenaltyProtocol, ReconstructionLossProtocol
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
    from .base import DiscriminatorModule, GeneratorModule

__all__ = ["Pix2Pix", "Pix2PixOutput", "pix2pix"]


@dataclass
class Pix2PixOutput:
    """What :meth:`Pix2Pix.generator_objective` returns.

    Attributes
    ----------
    losses
        Named scalar losses; ``"total"`` is the weighted sum to back-propagate.
    fake_b
        ``G(real_a)``, ``(B, C_b, H, W)``.
    """

    losses: dict[str, Tensor]
    fake_b: Tensor

    @property
    def fakes(self) -> dict[DomainKey, Tensor]:
        """``{"b": fake_b}``, what :meth:`Pix2Pix.discriminator_objective` takes."""
        return {"b": self.fake_b}


class Pix2Pix(nn.Module):
    """Paired translation: a generator, a conditional discriminator, GAN + λ·L1.

    Parameters
    ----------
    G
        Generator A→B: a registry name, a config ``{"name": ..., **kwargs}`` or a module.
    D
        Conditional discriminator, judging ``cat(a, b)`` (``C_a + C_b`` channels): a module, a
        name or a config; a name or config without ``in_channels`` gets ``G``'s
        ``in_channels + out_channels``.
    adversarial
        Adversarial loss (``"bce"``, the reference's vanilla GAN; ``"lsgan"``, ``"hinge"``...).
    reconstruction
        Loss between ``G(a)`` and ``b`` (``"l1"``, the reference's).
    penalty
        Optional discriminator penalty on the concatenated pairs.
    reconstruction_weight
        λ (the reference's ``lambda_L1 = 100``).
    adversarial_weight
        Weight of the generator's GAN term (1; 0 trains a plain supervised regression: the
        discriminator is neither run nor stepped, so the budget goes to the generator).
    discriminator_weight
        Scale of the discriminator objective (the reference halves real + fake: 0.5).
    regularization_weight
        Weight of ``G.regularization()``.
    fuse_passes
        Run ``D`` once over the real and fake pairs stacked (see
        :class:`~cyclegan_ms.CycleGAN`); an execution setting, not part of :meth:`config`.

    Raises
    ------
    ValueError
        A negative weight, or a discriminator config whose ``in_channels`` does not match.

    Examples
    --------
    >>> import torch
    >>> m = Pix2Pix({"name": "unet_128", "ngf": 4}, {"name": "patchgan", "ndf": 4})
    >>> a, b = torch.rand(2, 3, 128, 128), torch.rand(2, 3, 128, 128)
    >>> sorted(m.generator_objective(a, b).losses)
    ['adv_b', 'l1', 'reg', 'total']
    """

    #: Data range the model was trained on (set by :func:`cyclegan_ms.load`).
    value_range: tuple[float, float] = (0.0, 1.0)
    #: Training step of the checkpoint it was loaded from (0 for a fresh model).
    checkpoint_step: int = 0
    #: Trains on aligned pairs.
    paired: bool = True

    def __init__(
        self,
        G: PartSpec,
        D: PartSpec,
        *,
        adversarial: PartSpec = "bce",
        reconstruction: PartSpec = "l1",
        penalty: PartSpec | None = None,
        reconstruction_weight: float = 100.0,
        adversarial_weight: float = 1.0,
        discriminator_weight: float = 0.5,
        regularization_weight: float = 1.0,
        fuse_passes: bool = True,
    ) -> None:
        super().__init__()
        if not isinstance(fuse_passes, bool):
            raise TypeError(f"fuse_passes must be a bool; got {fuse_passes!r}")
        self.G = cast("GeneratorModule", as_part("generator", G))
        pair_channels = int(getattr(self.G, "in_channels", 3)) + int(
            getattr(self.G, "out_channels", 3)
        )
        if isinstance(D, str):
            D = {"name": D}
        if isinstance(D, Mapping):
            given = D.get("in_channels", pair_channels)
            if given != pair_channels:
                raise ValueError(
                    f"pix2pix's discriminator sees input and output together: in_channels must "
                    f"be {pair_channels} (the generator's in + out); got {given!r}"
                )
            D = {**D, "in_channels": pair_channels}
        self.D = cast("DiscriminatorModule", as_part("discriminator", D))
        self.adversarial = as_adversarial(adversarial)
        self.reconstruction: ReconstructionLossProtocol = as_part(
            "reconstruction_loss", reconstruction
        )
        self.penalty: PenaltyProtocol | None = (
            None if penalty is None else as_part("penalty", penalty)
        )
        self.reconstruction_weight = check_nonnegative(
            reconstruction_weight, "reconstruction_weight"
        )
        self.adversarial_weight = check_nonnegative(adversarial_weight, "adversarial_weight")
        self.discriminator_weight = check_nonnegative(discriminator_weight, "discriminator_weight")
        self.regularization_weight = check_nonnegative(
            regularization_weight, "regularization_weight"
        )
        self.fuse_passes = fuse_passes

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
            "name": "pix2pix",
            "generator": config_of(self.G),
            "discriminator": config_of(self.D),
            "adversarial": config_of(self.adversarial),
            "reconstruction": config_of(self.reconstruction),
            "reconstruction_weight": self.reconstruction_weight,
            "adversarial_weight": self.adversarial_weight,
            "discriminator_weight": self.discriminator_weight,
            "regularization_weight": self.regularization_weight,
        }
        if self.penalty is not None:
            cfg["penalty"] = config_of(self.penalty)
        return cfg

    # ------------------------------------------------------------------ the protocol
    def generators(self) -> list[nn.Module]:
        """``[G]``."""
        return [self.G]

    def discriminators(self) -> list[nn.Module]:
        """``[D]``; ``[]`` when ``adversarial_weight`` is 0 (a plain supervised regression: the
        Trainer then takes no discriminator step, and ``D`` keeps its initial weights)."""
        return [self.D] if self.adversarial_weight > 0 else []

    def averaged_generators(self) -> dict[str, nn.Module]:
        """``{"G": G}``."""
        return {"G": self.G}

    def pooled_domains(self) -> tuple[DomainKey, ...]:
        """``()``: no image pool (a pooled output would be judged beside another input)."""
        return ()

    def translators(self) -> dict[Direction, nn.Module]:
        """``{"a2b": G}``."""
        return {"a2b": self.G}

    # ------------------------------------------------------------------ objectives
    def generator_objective(self, real_a: Tensor, real_b: Tensor) -> Pix2PixOutput:
        """The generator's objective on aligned pairs; gradients never reach the discriminator.

        Parameters
        ----------
        real_a
            Inputs, ``(B, C_a, H, W)``.
        real_b
            Their ground truth, ``(B, C_b, H, W)``, aligned with ``real_a``.

        Returns
        -------
        Pix2PixOutput
            ``losses`` holds ``adv_b`` (when ``adversarial_weight`` > 0: otherwise the
            discriminator is not run), ``l1`` (the reconstruction loss, whatever it is),
            ``reg`` and ``total``.
        """
        with frozen(self.D):
            fake_b = self.G(real_a)
            losses = {
                "l1": self.reconstruction(fake_b, real_b),
                "reg": regularization(self.G, real_a),
            }
            total = (
                self.reconstruction_weight * losses["l1"]
                + self.regularization_weight * losses["reg"]
            )
            if self.adversarial_weight > 0:
                pair = torch.cat([real_a.to(fake_b.dtype), fake_b], dim=1)
                losses["adv_b"] = self.adversarial.generator(self.D(pair))
                total = total + self.adversarial_weight * losses["adv_b"]
        losses["total"] = total
        return Pix2PixOutput(losses, fake_b=fake_b)

    def discriminator_objective(
        self, real_a: Tensor, real_b: Tensor, fakes: Mapping[DomainKey, Tensor]
    ) -> dict[str, Tensor]:
        """The conditional discriminator's objective: ``(a, b)`` against ``(a, G(a))``.

        Parameters
        ----------
        real_a, real_b
            The aligned pairs, ``(B, C_a, H, W)`` and ``(B, C_b, H, W)``.
        fakes
            ``{"b": G(real_a)}`` (:attr:`Pix2PixOutput.fakes`; detached here).

        Returns
        -------
        dict[str, Tensor]
            Scalars ``d_b``, ``penalty_b`` (when a penalty is on) and ``total``.
        """
        fake_b = fakes["b"].detach()
        dtype = torch.promote_types(real_b.dtype, fake_b.dtype)
        real = torch.cat([real_a.to(dtype), real_b.to(dtype)], dim=1)
        fake = torch.cat([real_a.to(dtype), fake_b.to(dtype)], dim=1)
        return one_discriminator_objective(
            self.D,
            self.adversarial,
            self.penalty,
            real,
            fake,
            weight=self.discriminator_weight,
            fuse=self.fuse_passes,
        )

    @torch.no_grad()
    def preview(self, real_a: Tensor, real_b: Tensor) -> list[list[Tensor]]:
        """Sample-grid rows: input | translation | ground truth.

        Shape
        -----
        ``(N, C, H, W), (N, C, H, W) -> N rows of three (C, H, W)``.
        """
        fake_b = self.G(real_a)
        return [[real_a[i], fake_b[i], real_b[i]] for i in range(real_a.shape[0])]

    @torch.no_grad()
    def translate(
        self, x: Tensor, direction: Direction = "a2b", *, batch_statistics: bool = False
    ) -> Tensor:
        """Translate a batch A→B (no gradients; the generator's mode is restored after).

        Parameters
        ----------
        x
            ``(B, C_a, H, W)`` images in the generator's data range.
        direction
            ``"a2b"`` (the only direction pix2pix learns).
        batch_statistics
            ``False`` (default): the generator in eval mode (running batch-norm statistics, no
            dropout), the reference's ``test.py --eval``. ``True``: in train mode (the batch's
            own statistics, dropout on), the reference's default at test time.

        Returns
        -------
        Tensor
            ``(B, C_b, H, W)``.
        """
        if direction != "a2b":
            raise ValueError(f"Pix2Pix translates only 'a2b'; got {direction!r}")
        was = self.G.training
        self.G.train(batch_statistics)
        try:
            return self.G(x)
        finally:
            self.G.train(was)


@register("model", "pix2pix")
def pix2pix(
    *,
    generator: str | Mapping[str, object],
    discriminator: str | Mapping[str, object],
    adversarial: str | Mapping[str, object] = "bce",
    reconstruction: str | Mapping[str, object] = "l1",
    penalty: str | Mapping[str, object] | None = None,
    reconstruction_weight: float = 100.0,
    adversarial_weight: float = 1.0,
    discriminator_weight: float = 0.5,
    regularization_weight: float = 1.0,
) -> Pix2Pix:
    """The ``[model] name = "pix2pix"`` table: a :class:`Pix2Pix` (see it for every option)."""
    options: dict[str, Any] = dict(locals())
    return Pix2Pix(options.pop("generator"), options.pop("discriminator"), **options)
