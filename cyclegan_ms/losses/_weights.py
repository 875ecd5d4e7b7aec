"""Validation of per-scale / per-layer weight lists, shared by the losses."""

from __future__ import annotations

import math
from collections.abc import Sequence

from torch import Tensor


def check_weights(
    values: Sequence[float] | None, name: str, what: str = ""
) -> tuple[float, ...] | None:
    """Return ``values`` as a tuple of finite floats >= 0 (``None`` stays ``None``).

    Parameters
    ----------
    values
        The weights, one per scale or layer.
    name
        The argument's name, for the error message.
    what
        Optional explanation inserted after "a tuple of floats", e.g.
        ``" (one per discriminator scale)"``.

    Raises
    ------
    ValueError
        Not a sequence, empty, a non-number, or a negative or non-finite weight.
    """
    if values is None:
        return None
    if isinstance(values, (str, bytes, Tensor)) or not isinstance(values, Sequence):
        raise ValueError(f"{name} must be a tuple of floats{what} or None; got {values!r}")
    if len(values) == 0:
        raise ValueError(f"{name} must hold at least one weight; got an empty sequence")
    out: list[float] = []
    for i, w in enumerate(values):
        if isinstance(w, bool) or not isinstance(w, (int, float)):
            raise ValueError(f"{name}[{i}] must be a number; got {w!r}")
        if not math.isfinite(w) or w < 0:
            raise ValueError(f"{name}[{i}] must be finite and >= 0; got {w!r}")
        out.append(float(w))
    return tuple(out)
