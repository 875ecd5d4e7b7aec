"""Multi-view wrapper (ToDayGAN style): any discriminator on views of the image.

ToDayGAN judges a night-to-day translation with one discriminator per view — colour with
the texture blurred away, texture without colour, and edges — so that no single cue dominates.
Views here: ``"image"`` (the image itself), ``"blur"``
(:func:`~cyclegan_ms.layers.gaussian_blur` with reflect padding), ``"gray"`` (ITU-R BT.601 luma) and ``"gradient"`` (Sobel gradient magnitude of the
luma).

**Channels.** Every view has the input's ``C`` channels: the single-channel views (``gray``,
``gradient``) are repeated ``C`` times. So one inner config fits every view, and
``share_weights=True`` is possible. ``gray`` and ``gradient`` need ``C = 3`` (RGB, the luma of
:func:`~cyclegan_ms.layers.luma`) or ``C = 1`` (the channel is its own luma).

**Range.** The views are linear in the image except ``gradient``, which is a non-negative
magnitude in intensity units per pixel (a ramp rising by ``s`` per pixel has magnitude ``s``);
all of them work for data in [0, 1] or [-1, 1].
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, TypeAlias

import torch
import torch.nn.functional as F
from torch import Tensor

from ..layers import blur_radius, gaussian_blur, luma
from ..registry import register
from .base import check_batch, check_input
from .pyramid import InnerSpec, InnerWrapper

__all__ = [
    "SOBEL_KERNELS",
    "VIEWS",
    "MultiViewDiscriminator",
    "ViewName",
    "make_view",
    "sobel_kernels",
    "sobel_magnitude",
]

ViewName: TypeAlias = Literal["image", "blur", "gray", "gradient"]
#: The views, in their default order.
VIEWS: tuple[str, ...] = ("image", "blur", "gray", "gradient")
_GRADIENT_EPS = 1e-8
#: ``sqrt(ε)`` as float32 computes it (so a flat image's magnitude is exactly 0).
_SQRT_EPS = float(torch.tensor(_GRADIENT_EPS, dtype=torch.float32).sqrt())
_SOBEL_X = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]) / 8.0
#: The Sobel kernels ``(2, 1, 3, 3)`` (d/dx, d/dy), on the CPU.
SOBEL_KERNELS = torch.stack([_SOBEL_X, _SOBEL_X.t()]).unsqueeze(1)
_SOBEL_ON: dict[torch.device, Tensor] = {}


def sobel_kernels(device: torch.device) -> Tensor:
    """:data:`SOBEL_KERNELS` on ``device``, copied there once per process (a forward pass then
    builds no tensor from host data)."""
    kernels = _SOBEL_ON.get(device)
    if kernels is None:
        with torch.inference_mode(False):  # a normal tensor, also usable outside inference mode
            kernels = SOBEL_KERNELS.to(device)
        _SOBEL_ON[device] = kernels
    return kernels


def sobel_magnitude(x: Tensor) -> Tensor:
    """Sobel gradient magnitude of the luma, reflect padding.

    The Sobel kernels are divided by 8, so a ramp rising ``s`` per pixel has magnitude ``s``.
    The magnitude is ``sqrt(gx² + gy² + ε) - sqrt(ε)`` with ``ε = 1e-8`` computed in float32:
    exactly 0 where the image is flat, and with a finite (zero) gradient there (a plain
    ``sqrt`` would give NaN gradients on flat regions).

    Shape
    -----
    ``(B, C, H, W) -> (B, 1, H, W)`` with ``C`` in {1, 3} and ``H, W >= 2``.

    Raises
    ------
    ValueError
        If ``x`` is not a ``(B, C, H, W)`` batch, ``C`` is neither 1 nor 3, or the input is
        smaller than 2×2.
    """
    check_batch("sobel_magnitude", x)
    y = luma(x)
    if y.shape[-2] < 2 or y.shape[-1] < 2:
        raise ValueError(
            f"the gradient view needs inputs of at least 2×2; got {y.shape[-2]}×{y.shape[-1]}"
        )
    y = F.pad(y.float(), (1, 1, 1, 1), mode="reflect")
    g = F.conv2d(y, sobel_kernels(y.device))
    mag = torch.sqrt((g * g).sum(dim=1, keepdim=True) + _GRADIENT_EPS) - _SQRT_EPS
    return mag.to(x.dtype)


def make_view(x: Tensor, view: str, *, blur_sigma: float = 1.5) -> Tensor:
    """One view of an image batch, with the input's channel count.

    Parameters
    ----------
    x
        Image batch.
    view
        One of :data:`VIEWS`.
    blur_sigma
        Standard deviation of the ``"blur"`` view, in pixels.

    Shape
    -----
    ``(B, C, H, W) -> (B, C, H, W)``; ``"gray"`` and ``"gradient"`` are single-channel maps
    repeated ``C`` times.

    Raises
    ------
    ValueError
        On an unknown view, or an input the view cannot handle (see the view functions).
    """
    if view == "image":
        return x
    if view == "blur":
        if not blur_sigma > 0:
            raise ValueError(f"the blur view's blur_sigma must be > 0; got {blur_sigma!r}")
        return gaussian_blur(x, blur_sigma, padding="reflect")
    if view == "gray":
        return luma(x).expand_as(x)
    if view == "gradient":
        return sobel_magnitude(x).expand_as(x)
    raise ValueError(f"unknown view {view!r}; accepted: {', '.join(VIEWS)}")


@register("discriminator", "multiview")
class MultiViewDiscriminator(InnerWrapper):
    """Runs a discriminator on several views of the image (ToDayGAN style).

    See the module documentation for the views and how channels work. By default every view
    has its own, independently initialised, copy of the inner discriminator (as ToDayGAN);
    ``share_weights=True`` uses one for all views.

    Parameters
    ----------
    discriminator
        The (inner) discriminator to wrap: a registry name or ``{"name": ..., **kwargs}``; any
        registered discriminator, including another wrapper. Its ``in_channels`` must be the
        image's channel count (every view has it).
    views
        Non-empty sequence of distinct view names from :data:`VIEWS`; the score list follows
        this order.
    blur_sigma
        Standard deviation of the ``"blur"`` view, in pixels (``> 0``).
    share_weights
        Use one inner discriminator for every view.

    Attributes
    ----------
    inner_config : dict
        The inner spec as ``{"name": ..., **kwargs}``.
    views : tuple[str, ...]
        The views, in output order.
    min_input_size : int
        Smallest input side accepted (the largest need of the views and the inner).

    Shape
    -----
    - Input: ``(B, C, H, W)``; ``C`` in {1, 3} when ``"gray"`` or ``"gradient"`` is used.
    - Scores: the inner's score lists for each view, concatenated in view order:
      ``len(views) * len(inner(x))`` maps ``(B, 1, H_s, W_s)``.
    - Features: the inner's feature lists, concatenated in the same order.

    Raises
    ------
    ValueError
        On a bad ``discriminator`` spec, an unknown or repeated view, ``blur_sigma <= 0``; in
        ``forward`` on an input too small or with a channel count the views cannot handle.
    TypeError
        On a bad argument inside the inner spec.

    Examples
    --------
    >>> import torch
    >>> D = MultiViewDiscriminator(discriminator={"name": "pixel", "ndf": 4}, views=("image", "gray"))
    >>> len(D(torch.rand(1, 3, 16, 16)))
    2
    """

    def __init__(
        self,
        *,
        discriminator: InnerSpec = "patchgan",
        views: Sequence[ViewName] = ("image", "blur", "gray", "gradient"),
        blur_sigma: float = 1.5,
        share_weights: bool = False,
    ) -> None:
        super().__init__()
        if isinstance(views, (str, bytes)) or not isinstance(views, Sequence) or not views:
            raise ValueError(
                f"multiview: views must be a non-empty sequence of names from {VIEWS}; got {views!r}"
            )
        unknown = [v for v in views if v not in VIEWS]
        if unknown:
            raise ValueError(f"multiview: unknown view(s) {unknown}; accepted: {', '.join(VIEWS)}")
        repeated = sorted({v for v in views if list(views).count(v) > 1})
        if repeated:
            raise ValueError(
                f"multiview: views must be distinct; {repeated} repeated in {tuple(views)}"
            )
        if (
            isinstance(blur_sigma, bool)
            or not isinstance(blur_sigma, (int, float))
            or not blur_sigma > 0
        ):
            raise ValueError(f"multiview: blur_sigma must be a number > 0; got {blur_sigma!r}")
        self.views: tuple[str, ...] = tuple(views)
        self.blur_sigma = float(blur_sigma)
        inner = self._build_inners("multiview", discriminator, share_weights, len(self.views))
        needs = [int(getattr(inner, "min_input_size", 1))]
        if "blur" in self.views:
            needs.append(blur_radius(self.blur_sigma) + 1)
        if "gradient" in self.views:
            needs.append(2)
        self.min_input_size = max(needs)

    def make_views(self, x: Tensor) -> list[Tensor]:
        """The views of ``x``, in :attr:`views` order.

        Shape
        -----
        ``(B, C, H, W) -> [(B, C, H, W)] * len(views)``
        """
        return [make_view(x, v, blur_sigma=self.blur_sigma) for v in self.views]

    def forward_features(self, x: Tensor) -> tuple[list[Tensor], list[Tensor]]:
        """Concatenated inner scores and features, in view order.

        Shape
        -----
        ``(B, C, H, W) -> (len(views) * S maps (B, 1, H_s, W_s), features)`` where ``S`` is the
        number of maps the inner returns.
        """
        subject = f"multiview with views {self.views} over {self.inner_config['name']!r}"
        check_input(x, "multiview", self.min_input_size, subject)
        if x.shape[1] not in (1, 3) and {"gray", "gradient"} & set(self.views):
            raise ValueError(
                f"the gray and gradient views need RGB (3 channels) or single-channel images; "
                f"got {x.shape[1]} channels"
            )
        return self._run_inners(self.make_views(x))
