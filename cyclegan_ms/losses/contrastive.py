"""The patchwise contrastive (PatchNCE) loss of CUT, and the patch sampler with its MLP heads.

Park et al. 2020, "Contrastive Learning for Unpaired Image-to-Image Translation": a patch of
the translated image should be closer to the patch of the input at the same place (its
*positive*) than to the input's patches elsewhere (the *negatives*), in the generator's own
encoder features passed through a small MLP head per layer. :class:`PatchSampler` draws the
same random positions from the input's and the output's features and embeds them (one
``Linear → ReLU → Linear`` head per layer, L2-normalised rows); :func:`patch_nce_loss` scores
them:

.. math::

    \\ell = -\\log \\frac{\\exp(q \\cdot k^+ / \\tau)}
                       {\\exp(q \\cdot k^+ / \\tau) + \\sum_{k^-} \\exp(q \\cdot k^- / \\tau)}

averaged over the patches, with temperature :math:`\\tau` (0.07) and the keys ``k`` detached
(gradients reach the generator and heads through the queries only). The negatives are the
other patches of the same image (``negatives="image"``, CUT's default) or of the whole batch
(``"batch"``, the reference's option for single-image training).

:class:`PatchNCELoss` is registered as ``"patchnce"`` under the ``"contrastive_loss"`` kind.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, TypeAlias

import torch
import torch.nn as nn
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor

from .._checks import check_int
from ..layers import InitScheme, init_weights
from ..registry import register

__all__ = ["Negatives", "PatchNCELoss", "PatchSampler", "patch_nce_loss"]

#: Where the negatives of a patch come from: the other patches of its own image, or of the
#: whole batch.
Negatives: TypeAlias = Literal["image", "batch"]
_NEGATIVES = ("image", "batch")
#: Logit put on a patch's own position among its negatives (it is the positive): exp(-10/τ) ≈ 0.
_SELF_LOGIT = -10.0


def _check_temperature(temperature: object) -> float:
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)):
        raise ValueError(f"temperature must be a number > 0; got {temperature!r}")
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0; got {temperature}")
    return float(temperature)


def patch_nce_loss(
    query: Tensor, key: Tensor, *, temperature: float = 0.07, negatives: Negatives = "image"
) -> Tensor:
    """PatchNCE: cross-entropy of each query patch picking its own key among the negatives.

    Parameters
    ----------
    query
        Patch embeddings of the translated image, ``(B, N, C)``, rows L2-normalised.
    key
        Patch embeddings of the input at the same positions, ``(B, N, C)`` (detached here).
    temperature
        Softmax temperature τ (CUT: 0.07).
    negatives
        ``"image"``: the other ``N - 1`` patches of the same image; ``"batch"``: the other
        ``B·N - 1`` patches of the batch.

    Returns
    -------
    Tensor
        Scalar ``()``: the loss averaged over the ``B·N`` patches (float32).

    Raises
    ------
    ValueError
        Shapes that differ or are not ``(B, N, C)``, a temperature <= 0, unknown negatives.

    Shape
    -----
    ``(B, N, C), (B, N, C) -> ()``

    Examples
    --------
    >>> import torch
    >>> q = torch.nn.functional.normalize(torch.randn(2, 8, 4), dim=-1)
    >>> bool(patch_nce_loss(q, q) < patch_nce_loss(q, q.flip(1)))
    True
    """
    if query.ndim != 3 or query.shape != key.shape:
        raise ValueError(
            "query and key must both be (B, N, C) with the same shape; got "
            f"{tuple(query.shape)} and {tuple(key.shape)}"
        )
    tau = _check_temperature(temperature)
    if negatives not in _NEGATIVES:
        raise ValueError(f"unknown negatives {negatives!r}; accepted: {', '.join(_NEGATIVES)}")
    key = key.detach()
    if negatives == "batch":
        query = rearrange(query, "b n c -> 1 (b n) c")
        key = rearrange(key, "b n c -> 1 (b n) c")
    sim = torch.bmm(query, key.transpose(1, 2)).float()  # (B', N', N'): query i · key j
    positive = sim.diagonal(dim1=1, dim2=2).unsqueeze(-1)  # (B', N', 1)
    eye = torch.eye(sim.shape[-1], dtype=torch.bool, device=sim.device)
    logits = torch.cat([positive, sim.masked_fill(eye, _SELF_LOGIT)], dim=-1) / tau
    logits = rearrange(logits, "b n m -> (b n) m")
    target = torch.zeros(logits.shape[0], dtype=torch.long, device=logits.device)
    return F.cross_entropy(logits, target)


@register("contrastive_loss", "patchnce")
class PatchNCELoss(nn.Module):
    """Module form of :func:`patch_nce_loss` (which see): ``loss(query, key) -> scalar``.

    Parameters
    ----------
    temperature
        Softmax temperature τ (CUT: 0.07).
    negatives
        ``"image"`` (CUT's) or ``"batch"``.

    Shape
    -----
    ``(B, N, C), (B, N, C) -> ()``
    """

    def __init__(self, *, temperature: float = 0.07, negatives: Negatives = "image") -> None:
        super().__init__()
        self.temperature = _check_temperature(temperature)
        if negatives not in _NEGATIVES:
            raise ValueError(f"unknown negatives {negatives!r}; accepted: {', '.join(_NEGATIVES)}")
        self.negatives: Negatives = negatives

    def forward(self, query: Tensor, key: Tensor) -> Tensor:
        """The PatchNCE loss of ``query`` against ``key``, both ``(B, N, C)``."""
        return patch_nce_loss(query, key, temperature=self.temperature, negatives=self.negatives)


class PatchSampler(nn.Module):
    """Random patch positions of a list of feature maps, embedded by one MLP head per map.

    CUT's ``PatchSampleF`` (``mlp_sample``), with the heads built at construction from the
    channels of the layers it will see (the reference builds them on the first forward pass),
    so the optimiser, checkpoints and resume see them from the start.

    Parameters
    ----------
    channels
        Channels of each feature map, in the order they will be passed.
    dim
        Width of each head (CUT: 256): ``Linear(C_l, dim) → ReLU → Linear(dim, dim)``.
    num_patches
        Positions drawn per map (CUT: 256), at most its ``H·W``; the same positions for every
        image of the batch. Drawn with ``torch.randperm`` from the global CPU generator, which
        the trainer seeds and stores in checkpoints.
    init, init_gain
        Initialisation of the heads (see :func:`cyclegan_ms.layers.init_weights`); CUT's is
        ``"xavier_normal"`` with gain 0.02.

    Raises
    ------
    ValueError
        No channels, or a non-positive width or patch count.

    Shape
    -----
    ``list[(B, C_l, H_l, W_l)] -> (list[(B, N_l, dim)], list[(N_l,)])``, ``N_l`` =
    ``min(num_patches, H_l·W_l)``.

    Examples
    --------
    >>> import torch
    >>> s = PatchSampler([3, 8], dim=16, num_patches=5)
    >>> out, ids = s([torch.rand(2, 3, 4, 4), torch.rand(2, 8, 2, 2)])
    >>> [tuple(o.shape) for o in out], [tuple(i.shape) for i in ids]
    ([(2, 5, 16), (2, 4, 16)], [(5,), (4,)])
    """

    def __init__(
        self,
        channels: Sequence[int],
        *,
        dim: int = 256,
        num_patches: int = 256,
        init: InitScheme = "xavier_normal",
        init_gain: float = 0.02,
    ) -> None:
        super().__init__()
        widths = [check_int(c, "channels", 1) for c in channels]
        if not widths:
            raise ValueError("PatchSampler needs the channels of at least one feature map")
        self.dim = check_int(dim, "dim", 1)
        self.num_patches = check_int(num_patches, "num_patches", 1)
        self.channels = tuple(widths)
        self.heads = nn.ModuleList(
            nn.Sequential(nn.Linear(c, self.dim), nn.ReLU(), nn.Linear(self.dim, self.dim))
            for c in widths
        )
        init_weights(self, init, init_gain)

    def draw(self, features: Sequence[Tensor]) -> list[Tensor]:
        """Random positions for each map: ``(N_l,)`` int64 indices into its ``H_l·W_l``."""
        return [torch.randperm(f.shape[-2] * f.shape[-1])[: self.num_patches] for f in features]

    def forward(
        self, features: Sequence[Tensor], patch_ids: Sequence[Tensor] | None = None
    ) -> tuple[list[Tensor], list[Tensor]]:
        """Embed the patches at ``patch_ids`` (new random ones when ``None``) of each map.

        Parameters
        ----------
        features
            One ``(B, C_l, H_l, W_l)`` map per head.
        patch_ids
            Positions to take (those returned by an earlier call, so that queries and keys
            are the same places), or ``None`` to draw them.

        Returns
        -------
        tuple[list[Tensor], list[Tensor]]
            The L2-normalised embeddings ``(B, N_l, dim)`` and the positions ``(N_l,)``.

        Raises
        ------
        ValueError
            A number of maps or a channel count that differs from the heads'.
        """
        if len(features) != len(self.heads):
            raise ValueError(
                f"PatchSampler has {len(self.heads)} heads; got {len(features)} feature maps"
            )
        ids = self.draw(features) if patch_ids is None else list(patch_ids)
        out: list[Tensor] = []
        for c, head, f, idx in zip(self.channels, self.heads, features, ids, strict=True):
            if f.shape[1] != c:
                raise ValueError(
                    f"a PatchSampler head takes {c} channels; got a map of {f.shape[1]}"
                )
            patches = rearrange(f, "b c h w -> b (h w) c")[:, idx.to(f.device)]
            x = head(patches)
            out.append(x / (x.norm(dim=-1, keepdim=True) + 1e-7))
        return out, ids
