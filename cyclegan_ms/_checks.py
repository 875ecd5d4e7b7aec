"""Argument checks shared across the package.

Every check takes the argument's ``value`` and its ``name`` (for the message), returns the value
in its canonical type, and raises :class:`ValueError` with a message that names the argument,
the value received and what is accepted, e.g. ``"len_b must be an integer >= 1; got 0"``. The
messages are part of the API: tests match them.

>>> check_int(3, "num_workers")
3
>>> check_nonnegative(2, "weight")
2.0
>>> check_int(-1, "epoch")
Traceback (most recent call last):
    ...
ValueError: epoch must be an integer >= 0; got -1
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TypeGuard

import numpy as np
from torch import Tensor

__all__ = [
    "check_finite",
    "check_int",
    "check_nonnegative",
    "check_probability",
    "check_seed",
    "check_value_range",
    "check_weights",
]


def _is_int(value: object) -> TypeGuard[int]:
    """Whether ``value`` is a Python ``int`` (never a bool)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> TypeGuard[int | float]:
    """Whether ``value`` is a Python ``int`` or ``float`` (never a bool)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_finite(value: object) -> TypeGuard[int | float]:
    """Whether ``value`` is a finite Python ``int`` or ``float`` (never a bool)."""
    return _is_number(value) and math.isfinite(value)


def check_int(value: object, name: str, lo: int = 0, *, part: str = "") -> int:
    """An integer ``>= lo`` (a Python or numpy integer, never a bool), returned as a Python
    ``int``: the one integer check of the package.

    Parameters
    ----------
    lo
        The smallest value accepted.
    part
        The registry name of the part the argument is given to (e.g. ``"patchgan"``), which
        starts the message as in the parts' other checks; empty for none.

    Raises
    ------
    ValueError
        ``"{name} must be an integer >= {lo}; got {value!r}"``, after ``"{part}: "`` when a part
        is named.

    Examples
    --------
    >>> import numpy as np
    >>> check_int(np.int64(4), "batch_size", 1)
    4
    >>> check_int(0, "ndf", 1, part="pixel")
    Traceback (most recent call last):
        ...
    ValueError: pixel: ndf must be an integer >= 1; got 0
    """
    if not (_is_int(value) or isinstance(value, np.integer)) or value < lo:
        where = f"{part}: " if part else ""
        raise ValueError(f"{where}{name} must be an integer >= {lo}; got {value!r}")
    return int(value)


def check_finite(value: object, name: str) -> float:
    """A finite ``int`` or ``float`` (not a bool), returned as a ``float``.

    Raises
    ------
    ValueError
        ``"{name} must be a finite number; got {value!r}"`` for a non-number, NaN or infinity.
    """
    if not _is_finite(value):
        raise ValueError(f"{name} must be a finite number; got {value!r}")
    return float(value)


def check_nonnegative(value: object, name: str, hint: str = "") -> float:
    """A finite ``int`` or ``float`` ``>= 0`` (not a bool), returned as a ``float``.

    Parameters
    ----------
    hint
        Added after ``">= 0"`` in the message for a negative number, e.g.
        ``" (0 gives plain L1)"``.

    Raises
    ------
    ValueError
        ``"{name} must be a finite number >= 0; got {value!r}"`` for a non-number, NaN or
        infinity; ``"{name} must be >= 0{hint}; got {value!r}"`` for a negative number.
    """
    if not _is_finite(value):
        raise ValueError(f"{name} must be a finite number >= 0; got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0{hint}; got {value!r}")
    return float(value)


def check_probability(value: object, name: str, hint: str = "") -> float:
    """An ``int`` or ``float`` in ``[0, 1]`` (not a bool), returned as a ``float``.

    Parameters
    ----------
    hint
        Added after ``"[0, 1]"`` in the message, e.g. ``" (a BCE target probability)"``.

    Raises
    ------
    ValueError
        ``"{name} must be in [0, 1]{hint}; got {value!r}"`` for a non-number, NaN, or a number
        outside ``[0, 1]``.

    Examples
    --------
    >>> check_probability(1.5, "p")
    Traceback (most recent call last):
        ...
    ValueError: p must be in [0, 1]; got 1.5
    """
    if not _is_number(value) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be in [0, 1]{hint}; got {value!r}")
    return float(value)


def check_seed(value: object, name: str = "seed") -> int | None:
    """``None`` or a 63-bit seed, a Python integer in ``[0, 2**63)``; returned unchanged.

    Raises
    ------
    ValueError
        ``"{name} must be an int in [0, 2**63) or None; got {value!r}"``.
    """
    if value is None:
        return None
    if not _is_int(value) or not 0 <= value < 2**63:
        raise ValueError(f"{name} must be an int in [0, 2**63) or None; got {value!r}")
    return value


def check_value_range(value_range: object, name: str = "value_range") -> tuple[float, float]:
    """A data range ``(low, high)``: a list or tuple of two finite numbers (not bools) with
    ``low < high``, returned as two floats; the one range check of the package.

    Raises
    ------
    ValueError
        ``"{name} must be (low, high) with low < high, e.g. (0, 1) for a sigmoid generator or
        (-1, 1) for tanh; got {value!r}"``.

    Examples
    --------
    >>> check_value_range([-1, 1])
    (-1.0, 1.0)
    """
    ends = list(value_range) if isinstance(value_range, (tuple, list)) else []
    numbers = [float(v) for v in ends if _is_number(v) or isinstance(v, (np.integer, np.floating))]
    if not (len(ends) == len(numbers) == 2 and all(map(math.isfinite, numbers))) or not (
        numbers[0] < numbers[1]
    ):
        raise ValueError(
            f"{name} must be (low, high) with low < high, e.g. (0, 1) for a sigmoid generator "
            f"or (-1, 1) for tanh; got {value_range!r}"
        )
    return numbers[0], numbers[1]


def check_weights(
    values: Sequence[float] | None, name: str, what: str = ""
) -> tuple[float, ...] | None:
    """A non-empty sequence of finite numbers ``>= 0`` (one per scale or layer), returned as a
    tuple of floats; ``None`` stays ``None``.

    Parameters
    ----------
    what
        Inserted after "a tuple of floats" in the message, e.g.
        ``" (one per discriminator scale)"``.

    Raises
    ------
    ValueError
        Not a sequence, empty, a non-number, or a negative or non-finite weight; the message
        names the argument (with the index of a bad weight) and the value received.

    Examples
    --------
    >>> check_weights([1, 0.5], "scale_weights")
    (1.0, 0.5)
    """
    if values is None:
        return None
    if isinstance(values, (str, bytes, Tensor)) or not isinstance(values, Sequence):
        raise ValueError(f"{name} must be a tuple of floats{what} or None; got {values!r}")
    if len(values) == 0:
        raise ValueError(f"{name} must hold at least one weight; got an empty sequence")
    out: list[float] = []
    for i, w in enumerate(values):
        if not _is_number(w):
            raise ValueError(f"{name}[{i}] must be a number; got {w!r}")
        if not math.isfinite(w) or w < 0:
            raise ValueError(f"{name}[{i}] must be finite and >= 0; got {w!r}")
        out.append(float(w))
    return tuple(out)
