"""Differentiable augmentation for the discriminator (DiffAugment, Zhao et al. 2020).

The wrapper augments every image it judges, real and generated alike, with random colour,
translation and cutout changes that gradients pass through, so the generator is trained
through the same augmentation. The discriminator then cannot memorise the few real images it
sees, which is what makes GANs learn from small data; the translation the generator learns
is not augmented (augmentations that leak, such as a colour change applied to one side only,
are avoided by applying the same random family to both sides).

    >>> import torch, cyclegan_ms as cms
    >>> D = cms.build("discriminator", "diffaug", discriminator={"name": "patchgan", "ndf": 4})
    >>> D.policy
    ['color', 'translation', 'cutout']
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from .._checks import check_value_range
from ..registry import register
from .pyramid import InnerSpec, InnerWrapper

__all__ = ["POLICIES", "DiffAugmentDiscriminator", "diff_augment"]


def _colour(x: Tensor, low: float, high: float) -> Tensor:
    """Random brightness, saturation and contrast, one draw per sample (as DiffAugment)."""
    b = x.shape[0]
    width = high - low
    # brightness: a shift of up to a quarter of the range (±0.5 on DiffAugment's [-1, 1])
    x = x + (torch.rand(b, 1, 1, 1, device=x.device, dtype=x.dtype) - 0.5) * (width / 2)
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (torch.rand(b, 1, 1, 1, device=x.device, dtype=x.dtype) * 2) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (torch.rand(b, 1, 1, 1, device=x.device, dtype=x.dtype) + 0.5) + mean


def _translation(x: Tensor, low: float, high: float, ratio: float = 0.125) -> Tensor:
    """Shift each sample by up to ``ratio`` of its side; the uncovered part is mid-range."""
    b, _, h, w = x.shape
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = torch.randint(-sh, sh + 1, (b, 1, 1), device=x.device)
    dx = torch.randint(-sw, sw + 1, (b, 1, 1), device=x.device)
    gb, gy, gx = torch.meshgrid(
        torch.arange(b, device=x.device),
        torch.arange(h, device=x.device),
        torch.arange(w, device=x.device),
        indexing="ij",
    )
    gy = torch.clamp(gy + dy + 1, 0, h + 1)
    gx = torch.clamp(gx + dx + 1, 0, w + 1)
    padded = F.pad(x, [1, 1, 1, 1], value=(low + high) / 2)
    return padded.permute(0, 2, 3, 1)[gb, gy, gx].permute(0, 3, 1, 2)


def _cutout(x: Tensor, low: float, high: float, ratio: float = 0.5) -> Tensor:
    """Set one square of ``ratio`` of the side per sample, at a random place, to mid-range."""
    b, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    oy = torch.randint(0, h + (1 - ch % 2), (b, 1, 1), device=x.device)
    ox = torch.randint(0, w + (1 - cw % 2), (b, 1, 1), device=x.device)
    ys = torch.arange(h, device=x.device).view(1, h, 1)
    xs = torch.arange(w, device=x.device).view(1, 1, w)
    inside = ((ys - oy + ch // 2).clamp(min=0) < ch) & (ys >= oy - ch // 2)
    inside = inside & ((xs - ox + cw // 2).clamp(min=0) < cw) & (xs >= ox - cw // 2)
    mid = (low + high) / 2
    return torch.where(inside.unsqueeze(1), torch.full_like(x, mid), x)


#: The augmentation families by name, each ``(x, low, high) -> x`` on ``(B, C, H, W)``.
POLICIES: dict[str, Callable[[Tensor, float, float], Tensor]] = {
    "color": _colour,
    "translation": _translation,
    "cutout": _cutout,
}


def diff_augment(x: Tensor, policy: Sequence[str], value_range: tuple[float, float]) -> Tensor:
    """Apply the named augmentation families in order, with fresh random draws per sample.

    Parameters
    ----------
    x
        ``(B, C, H, W)`` images in ``value_range``.
    policy
        Names from :data:`POLICIES`, applied in this order.
    value_range
        ``(low, high)`` of the data: sets the brightness step and the fill value of
        translation and cutout (the middle of the range).

    Returns
    -------
    Tensor
        ``(B, C, H, W)``, differentiable with respect to ``x``.
    """
    low, high = value_range
    for name in policy:
        x = POLICIES[name](x, low, high)
    return x


@register("discriminator", "diffaug")
class DiffAugmentDiscriminator(InnerWrapper):
    """Any discriminator behind differentiable augmentation (DiffAugment).

    In training mode every input batch is augmented (each sample with its own draws) before
    the inner discriminator sees it; in eval mode the input passes unchanged. The generator's
    adversarial term goes through the same augmentation, as the method requires.

    Parameters
    ----------
    discriminator
        The inner discriminator: a registry name or ``{"name": ..., **kwargs}``.
    policy
        Augmentation families, applied in order: any of ``"color"``, ``"translation"`` (shift by
        up to 1/8 of the side) and ``"cutout"`` (a square of half the side); DiffAugment's
        default for unconditional GANs is all three.
    value_range
        ``(low, high)`` of the images (``(0, 1)`` for the night2day data, ``(-1, 1)`` for the
        classic recipe).

    Shape
    -----
    The inner discriminator's: ``(B, C, H, W) -> list[(B, 1, H_s, W_s)]``.

    Raises
    ------
    ValueError
        On an unknown or empty policy, a bad value range or a bad inner spec.
    """

    def __init__(
        self,
        *,
        discriminator: InnerSpec = "patchgan",
        policy: Sequence[str] = ("color", "translation", "cutout"),
        value_range: Sequence[float] = (0.0, 1.0),
    ) -> None:
        super().__init__()
        if isinstance(policy, str) or not isinstance(policy, Sequence) or not policy:
            raise ValueError(
                f"diffaug: policy must be a non-empty list of {sorted(POLICIES)}; got {policy!r}"
            )
        unknown = [p for p in policy if p not in POLICIES]
        if unknown:
            raise ValueError(
                f"diffaug: unknown policy {unknown[0]!r}; accepted: {', '.join(sorted(POLICIES))}"
            )
        self.policy = [str(p) for p in policy]
        low, high = check_value_range(value_range, "diffaug: value_range")
        self.value_range = (low, high)
        inner = self._build_inners("diffaug", discriminator, True, 1)
        self.min_input_size = int(getattr(inner, "min_input_size", 1))

    def forward_features(self, x: Tensor) -> tuple[list[Tensor], list[Tensor]]:
        """The inner discriminator's scores and features of the (augmented) batch.

        Shape
        -----
        ``(B, C, H, W) -> (the inner's score maps, the inner's features)``
        """
        if self.training:
            x = diff_augment(x, self.policy, self.value_range)
        return self._run_inners([x])
