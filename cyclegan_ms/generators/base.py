"""The contract every generator of the library follows."""

from __future__ import annotations

import math
import typing

import torch
import torch.nn as nn
from torch import Tensor

from ..layers import InitScheme

__all__ = ["Generator", "check_init", "check_int"]


def check_int(name: str, value: object, *, minimum: int = 1) -> int:
    """Return ``value`` if it is an ``int`` (not a ``bool``) ``>= minimum``, else raise.

    Raises
    ------
    ValueError
        With the argument's name, the value received and what is accepted.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}")
    return value


def check_init(init: object, init_gain: object) -> None:
    """Raise ``ValueError`` for an unknown init scheme or a gain that is not a number > 0."""
    schemes = typing.get_args(InitScheme)
    if init not in schemes:
        raise ValueError(f"unknown init {init!r}; accepted: {', '.join(schemes)}")
    if (
        isinstance(init_gain, bool)
        or not isinstance(init_gain, (int, float))
        or not (math.isfinite(init_gain) and init_gain > 0)
    ):
        raise ValueError(f"init_gain must be a finite number > 0; got {init_gain!r}")


class Generator(nn.Module):
    """Base class of the library's generators: an image batch in, a translated batch out.

    Besides ``forward`` every generator exposes what the training and inference code need
    without knowing the family:

    * ``in_channels`` / ``out_channels``: channels of the input and of the output;
    * ``size_multiple``: H and W of the input must be multiples of it (inference pads to it);
    * ``fixed_size``: the only accepted ``H = W``, or ``None`` when any multiple works;
    * :meth:`regularization`: a scalar penalty to add to the generator loss (zero by default).

    A plain ``nn.Module`` can still be used as a generator; these attributes are what a
    subclass gets for free.

    Shape
    -----
    ``(B, in_channels, H, W) -> (B, out_channels, H, W)``
    """

    in_channels: int = 3
    out_channels: int = 3
    size_multiple: int = 1
    fixed_size: int | None = None

    def regularization(self) -> Tensor:
        """Penalty on the weights to add to the generator loss; here a zero scalar.

        Returns
        -------
        Tensor
            Scalar ``()`` on the device (and with the floating dtype) of the parameters.
        """
        param = next(self.parameters(), None)
        if param is None:
            return torch.zeros(())
        dtype = param.dtype if param.is_floating_point() else torch.get_default_dtype()
        return torch.zeros((), device=param.device, dtype=dtype)

    def _size_hint(self) -> str:
        """Extra advice appended to the message for an input of the wrong size."""
        return f"pad or crop it to a multiple of {self.size_multiple}"

    def check_input(self, x: Tensor) -> None:
        """Raise ``ValueError`` unless ``x`` is a batch this generator accepts.

        Parameters
        ----------
        x
            ``(B, in_channels, H, W)`` with H and W multiples of :attr:`size_multiple`
            (and equal to :attr:`fixed_size` when that is set).

        Raises
        ------
        ValueError
            Wrong rank, channels, or spatial size; the message says what is accepted.
        """
        name = type(self).__name__
        if x.ndim != 4:
            raise ValueError(f"{name} expects a (B, C, H, W) batch; got shape {tuple(x.shape)}")
        if x.shape[1] != self.in_channels:
            raise ValueError(
                f"{name} was built for {self.in_channels} input channels; got {x.shape[1]} "
                f"(input shape {tuple(x.shape)})"
            )
        h, w = x.shape[-2], x.shape[-1]
        if self.fixed_size is not None and (h, w) != (self.fixed_size, self.fixed_size):
            raise ValueError(
                f"{name} was built for {self.fixed_size}×{self.fixed_size} inputs; got {h}×{w} — "
                f"{self._size_hint()}"
            )
        m = self.size_multiple
        if h % m or w % m:
            raise ValueError(
                f"{name} needs H and W divisible by {m}; got {h}×{w} — {self._size_hint()}"
            )
