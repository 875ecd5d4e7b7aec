"""A marker for layers whose output summarises the whole input image."""

from __future__ import annotations

from typing import ClassVar

__all__ = ["GlobalContext"]


class GlobalContext:
    """Marker mixin: this layer's output depends on the whole image, not on a neighbourhood.

    Mix it into a layer that reads image-level statistics (e.g. a linear map of the spatially
    averaged features). Tiled inference (:mod:`cyclegan_ms.inference.tiling`) records such a
    layer's output on the whole image and gives that to every tile, so the tiles agree; without
    the marker each tile would see only its own statistics.

    Examples
    --------
    >>> import torch.nn as nn
    >>> class ContextLinear(GlobalContext, nn.Linear):
    ...     pass
    >>> ContextLinear(4, 2).needs_whole_image
    True
    """

    needs_whole_image: ClassVar[bool] = True
