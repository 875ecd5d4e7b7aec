"""Image-pyramid wrapper (pix2pixHD style): any discriminator on 1, 1/2, 1/4 … copies.

The inner discriminator is given as plain data — a registry name or a
``{"name": ..., **kwargs}`` table — so the wrapper itself is plain data and
:func:`~cyclegan_ms.registry.config_of` can describe it::

    >>> import cyclegan_ms as cms
    >>> D = cms.build("discriminator", "pyramid", discriminator={"name": "patchgan", "ndf": 8, "n_layers": 2})
    >>> cms.config_of(D)
    {'name': 'pyramid', 'discriminator': {'name': 'patchgan', 'ndf': 8, 'n_layers': 2}}
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator, Mapping
from typing import TypeAlias, cast

import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from .. import registry
from .._checks import check_int
from ..registry import register
from .base import Discriminator, check_input

__all__ = ["InnerSpec", "PyramidDiscriminator", "build_inner", "downsample_half"]

#: How a wrapper names its inner discriminator: a registry name or ``{"name": ..., **kwargs}``.
InnerSpec: TypeAlias = str | Mapping[str, object]


def build_inner(
    owner: str, spec: object, copies: int
) -> tuple[dict[str, object], list[Discriminator]]:
    """Validate an inner-discriminator spec and build ``copies`` independent instances of it.

    Parameters
    ----------
    owner
        Name of the wrapper, used in error messages.
    spec
        A registry name or a ``{"name": ..., **kwargs}`` mapping (see
        :func:`~cyclegan_ms.registry.from_config`).
    copies
        How many independently initialised instances to build.

    Returns
    -------
    config : dict
        The spec as a plain ``{"name": ..., **kwargs}`` dict.
    modules : list[Discriminator]
        ``copies`` freshly built discriminators.

    Raises
    ------
    ValueError
        The spec is neither a name nor a table with a string ``'name'``; the name is unknown
        (with close matches); or the built part is not a :class:`Discriminator`.
    TypeError
        An argument of the inner spec is unknown or wrongly typed (with the accepted ones).
    """
    if isinstance(spec, str):
        config: dict[str, object] = {"name": spec}
    elif isinstance(spec, Mapping) and isinstance(spec.get("name"), str):
        config = copy.deepcopy(dict(spec))
    else:
        raise ValueError(
            f"{owner}: discriminator must be a discriminator name (e.g. 'patchgan') or a table "
            f"{{'name': ..., **kwargs}}; got {spec!r}"
        )
    modules: list[Discriminator] = []
    for _ in range(copies):
        try:
            module = registry.from_config("discriminator", config)
        except ValueError as err:
            raise ValueError(f"{owner}: bad inner discriminator: {err}") from err
        except TypeError as err:
            raise TypeError(f"{owner}: bad inner discriminator: {err}") from err
        if not isinstance(module, Discriminator):
            raise ValueError(
                f"{owner}: inner {config['name']!r} built a {type(module).__name__}, which is not "
                "a cyclegan_ms Discriminator (it must return a list of score maps)"
            )
        modules.append(module)
    return config, modules


class InnerWrapper(Discriminator):
    """Shared part of the wrappers: an inner discriminator run on several inputs (scales or
    views), with one copy per input or one shared copy, and their outputs concatenated."""

    inner_config: dict[str, object]
    share_weights: bool

    def _build_inners(
        self, owner: str, spec: object, share_weights: object, n_inputs: int
    ) -> Discriminator:
        """Check ``share_weights``, build the inner copies into ``self.inners``; the first copy."""
        if not isinstance(share_weights, bool):
            raise ValueError(f"{owner}: share_weights must be True or False; got {share_weights!r}")
        self.share_weights = share_weights
        self.inner_config, modules = build_inner(owner, spec, 1 if share_weights else n_inputs)
        self.inners = nn.ModuleList(modules)
        return modules[0]

    def _inner(self, k: int) -> Discriminator:
        return cast(Discriminator, self.inners[0 if self.share_weights else k])

    def _run_inners(self, inputs: Iterable[Tensor]) -> tuple[list[Tensor], list[Tensor]]:
        """The inner scores and features of every input, concatenated in input order."""
        scores: list[Tensor] = []
        features: list[Tensor] = []
        for k, v in enumerate(inputs):
            s, f = self._inner(k).forward_features(v)
            scores.extend(s)
            features.extend(f)
        return scores, features


def downsample_half(x: Tensor) -> Tensor:
    """pix2pixHD's pyramid step: 3×3 average pool, stride 2, padding 1, padding not counted.

    Shape
    -----
    ``(B, C, H, W) -> (B, C, ceil(H / 2), ceil(W / 2))``
    """
    return F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)


@register("discriminator", "pyramid")
class PyramidDiscriminator(InnerWrapper):
    """Runs a discriminator on the image and on ``num_scales - 1`` successively halved copies.

    Each copy is :func:`downsample_half` of the previous one (as pix2pixHD). By default every
    scale has its own, independently initialised, copy of the inner discriminator (as
    pix2pixHD); ``share_weights=True`` uses one for all scales.

    Parameters
    ----------
    discriminator
        The (inner) discriminator to wrap: a registry name or ``{"name": ..., **kwargs}``; any
        registered discriminator, including another wrapper.
    num_scales
        Number of scales (``>= 1``); scale ``k`` (0-based) sees the image at ``1 / 2**k``.
    share_weights
        Use one inner discriminator for every scale.

    Attributes
    ----------
    inner_config : dict
        The inner spec as ``{"name": ..., **kwargs}``.
    min_input_size : int
        Smallest input side accepted (see Shape).

    Shape
    -----
    - Input: ``(B, C, H, W)`` with ``H, W >= (m - 1) * 2**(num_scales - 1) + 1`` where ``m`` is
      the inner's ``min_input_size`` (1 when it declares none).
    - Scores: the inner's score lists at ``H × W``, ``ceil(H/2) × ceil(W/2)``, … concatenated,
      full resolution first: ``num_scales * len(inner(x))`` maps ``(B, 1, H_s, W_s)``.
    - Features: the inner's feature lists, concatenated in the same order.

    Raises
    ------
    ValueError
        On a bad ``discriminator`` spec or ``num_scales < 1``; in ``forward`` on too small an input.
    TypeError
        On a bad argument inside the inner spec.

    Examples
    --------
    >>> import torch
    >>> D = PyramidDiscriminator(discriminator={"name": "pixel", "ndf": 4}, num_scales=3)
    >>> [s.shape[-1] for s in D(torch.rand(1, 3, 20, 20))]
    [20, 10, 5]
    """

    def __init__(
        self,
        *,
        discriminator: InnerSpec = "patchgan",
        num_scales: int = 3,
        share_weights: bool = False,
    ) -> None:
        super().__init__()
        num_scales = check_int(num_scales, "num_scales", 1, part="pyramid")
        inner = self._build_inners("pyramid", discriminator, share_weights, num_scales)
        self.num_scales = num_scales
        inner_min = int(getattr(inner, "min_input_size", 1))
        #: Smallest input side: the coarsest copy must still fit the inner discriminator.
        self.min_input_size = (inner_min - 1) * 2 ** (num_scales - 1) + 1
        self._inner_min = inner_min

    def _scales(self, x: Tensor) -> Iterator[Tensor]:
        """``x`` and its successive :func:`downsample_half` copies, made as they are needed."""
        for k in range(self.num_scales):
            if k:
                x = downsample_half(x)
            yield x

    def forward_features(self, x: Tensor) -> tuple[list[Tensor], list[Tensor]]:
        """Concatenated inner scores and features, full resolution first.

        Shape
        -----
        ``(B, C, H, W) -> (num_scales * S maps (B, 1, H_s, W_s), features)`` where ``S`` is the
        number of maps the inner returns.
        """
        subject = f"pyramid with num_scales={self.num_scales} over {self.inner_config['name']!r}"
        why = (
            f" (the 1/{2 ** (self.num_scales - 1)} copy must be at least "
            f"{self._inner_min}×{self._inner_min})"
        )
        check_input(x, "pyramid", self.min_input_size, subject, why)
        return self._run_inners(self._scales(x))
