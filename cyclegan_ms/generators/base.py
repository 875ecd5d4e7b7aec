"""The contract every generator of the library follows, and how to read any module's card."""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Sequence

import torch
import torch.nn as nn
from torch import Tensor

from ..layers import InitScheme
from ..registry import config_of
from .card import GeneratorCard

__all__ = ["Generator", "card_of", "check_feature_layers", "check_init", "set_card"]

#: Attribute holding the card attached to a module that is not a :class:`Generator`.
_CARD_ATTR = "_cyclegan_ms_card"


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


def check_feature_layers(layers: Sequence[int], count: int, owner: str) -> tuple[int, ...]:
    """``layers`` as a tuple of distinct indices into ``count`` tappable layers.

    Raises
    ------
    ValueError
        An index is not an integer in ``[0, count)``, repeats, or no layer is asked for.
    """
    picked = tuple(layers)
    if not picked:
        raise ValueError(f"{owner}: ask for at least one feature layer (0 to {count - 1})")
    for i in picked:
        if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < count:
            raise ValueError(
                f"{owner} has feature layers 0 to {count - 1}; got {i!r} in {list(picked)}"
            )
    if len(set(picked)) != len(picked):
        raise ValueError(f"{owner}: feature layers repeat in {list(picked)}")
    return picked


def _registry_config(module: nn.Module) -> dict[str, object] | None:
    try:
        return config_of(module)
    except ValueError:  # not built by name through the registry
        return None


class Generator(nn.Module):
    """Base class of the library's generators: an image batch in, a translated batch out.

    Besides ``forward`` every generator exposes what the training and inference code need
    without knowing the family:

    * :attr:`card`: a :class:`~cyclegan_ms.generators.GeneratorCard` with the architecture
      (channels, size rule) and the facts attached after training (data range, direction,
      step), set with :meth:`set_card`;
    * ``in_channels`` / ``out_channels``: channels of the input and of the output;
    * ``size_multiple``: H and W of the input must be multiples of it (inference pads to it);
    * ``fixed_size``: the only accepted ``H = W``, or ``None`` when any multiple works;
    * :meth:`regularization`: a scalar penalty to add to the generator loss (zero by default).

    A plain ``nn.Module`` can still be used as a generator (:func:`card_of` gives it the
    default card, or the one attached with :func:`set_card`); these are what a subclass gets
    for free.

    Shape
    -----
    ``(B, in_channels, H, W) -> (B, out_channels, H, W)``
    """

    in_channels: int = 3
    out_channels: int = 3
    size_multiple: int = 1
    fixed_size: int | None = None
    _card: GeneratorCard | None = None

    @property
    def card(self) -> GeneratorCard:
        """The generator's card: its architecture and, once attached, its training facts.

        Returns
        -------
        GeneratorCard
            The card given to :meth:`set_card`, else one derived from the architecture with the
            default training facts (range ``(0, 1)``, no direction, step 0).
        """
        if self._card is not None:
            return self._card
        return GeneratorCard(
            in_channels=self.in_channels,
            out_channels=self.out_channels,
            size_multiple=self.size_multiple,
            fixed_size=self.fixed_size,
            config=_registry_config(self),
        )

    def set_card(self, card: GeneratorCard) -> None:
        """Attach ``card`` (typically ``dataclasses.replace(self.card, step=..., ...)``).

        Parameters
        ----------
        card
            Must describe this generator's architecture (channels and size rule); a ``None``
            config is filled with the registry config the generator was built from.

        Raises
        ------
        TypeError
            If ``card`` is not a :class:`~cyclegan_ms.generators.GeneratorCard`.
        ValueError
            If the card's architecture differs from the generator's.
        """
        if not isinstance(card, GeneratorCard):
            raise TypeError(f"card must be a GeneratorCard; got {type(card).__name__}")
        own = GeneratorCard(
            in_channels=self.in_channels,
            out_channels=self.out_channels,
            size_multiple=self.size_multiple,
            fixed_size=self.fixed_size,
        )
        if card.architecture() != own.architecture():
            names = ("in_channels", "out_channels", "size_multiple", "fixed_size")
            diff = ", ".join(
                f"{n} {a!r} (the generator has {b!r})"
                for n, a, b in zip(names, card.architecture(), own.architecture(), strict=True)
                if a != b
            )
            raise ValueError(f"the card does not describe this {type(self).__name__}: {diff}")
        if card.config is None:
            card = dataclasses.replace(card, config=_registry_config(self))
        self._card = card

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


def card_of(module: nn.Module) -> GeneratorCard:
    """The :class:`~cyclegan_ms.generators.GeneratorCard` of any generator module.

    Parameters
    ----------
    module
        A :class:`Generator` (its :attr:`~Generator.card`), or a plain ``nn.Module``: the card
        attached with :func:`set_card`, else the default card (3 → 3 channels, any size, range
        ``(0, 1)``) with its registry config when it was built by name. Attributes of a plain
        module (``size_multiple``, ``value_range``, ...) are not read: subclass
        :class:`Generator` or attach a card with :func:`set_card`.

    Returns
    -------
    GeneratorCard

    Raises
    ------
    TypeError
        If ``module`` is not an ``nn.Module``.

    Shape
    -----
    Describes ``module``: ``(B, in_channels, H, W) -> (B, out_channels, H, W)``.

    Examples
    --------
    >>> card_of(nn.Sequential(nn.Conv2d(3, 3, 1))).size_multiple
    1
    """
    if isinstance(module, Generator):
        return module.card
    if not isinstance(module, nn.Module):
        raise TypeError(f"expected an nn.Module; got {type(module).__name__}")
    attached = vars(module).get(_CARD_ATTR)
    if isinstance(attached, GeneratorCard):
        return attached
    return GeneratorCard(config=_registry_config(module))


def set_card(module: nn.Module, card: GeneratorCard) -> None:
    """Attach ``card`` to any generator module (:meth:`Generator.set_card` for a :class:`Generator`).

    For a plain ``nn.Module`` the card is what declares its channels and size rule.

    Parameters
    ----------
    module
        The generator.
    card
        Its card; for a plain module a ``None`` config is filled with its registry config.

    Raises
    ------
    TypeError
        If ``card`` is not a :class:`~cyclegan_ms.generators.GeneratorCard`.
    ValueError
        For a :class:`Generator`, if the card's architecture differs from the generator's.

    Shape
    -----
    Describes ``module``: ``(B, in_channels, H, W) -> (B, out_channels, H, W)``.

    Examples
    --------
    >>> net = nn.Sequential(nn.Conv2d(3, 3, 1))
    >>> set_card(net, GeneratorCard(size_multiple=4))
    >>> card_of(net).size_multiple
    4
    """
    if isinstance(module, Generator):
        module.set_card(card)
        return
    if not isinstance(card, GeneratorCard):
        raise TypeError(f"card must be a GeneratorCard; got {type(card).__name__}")
    if card.config is None:
        card = dataclasses.replace(card, config=_registry_config(module))
    # a plain attribute (nn.Module.__setattr__ is typed for tensors and modules only)
    object.__setattr__(module, _CARD_ATTR, card)
