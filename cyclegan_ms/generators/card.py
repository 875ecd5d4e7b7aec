"""The generator card: everything inference, export and checkpoints need to know about a generator.

A :class:`GeneratorCard` is a small frozen record with two kinds of facts:

* **architecture** — channels in and out, and the size rule (``size_multiple``, ``fixed_size``).
  A :class:`~cyclegan_ms.generators.Generator` derives these from itself;
* **training** — the data range it was trained on, the direction it translates, the training
  step its weights come from, and the registry config that rebuilds it. These are attached
  once, explicitly, with :meth:`Generator.set_card <cyclegan_ms.generators.Generator.set_card>`
  (or :func:`~cyclegan_ms.generators.set_card` for any module), typically as
  ``g.set_card(dataclasses.replace(g.card, step=1000))``.

:func:`~cyclegan_ms.generators.card_of` reads the card of any module, a plain ``nn.Module``
included (defaults), so code that consumes generators never guesses attributes.

>>> card = GeneratorCard(size_multiple=4, value_range=(-1, 1), direction="a2b", step=10)
>>> card.value_range, card.pad_multiple
((-1.0, 1.0), 4)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, TypeAlias

from .._checks import check_int, check_value_range

__all__ = [
    "Direction",
    "GeneratorCard",
    "check_direction",
]

#: What a generator translates: ``"a2b"`` (domain A to B; night → day for the seed) or ``"b2a"``.
Direction: TypeAlias = Literal["a2b", "b2a"]


def check_direction(direction: object) -> Direction:
    """Return ``direction`` if it is ``"a2b"`` or ``"b2a"``, else raise ``ValueError``."""
    if direction == "a2b":
        return "a2b"
    if direction == "b2a":
        return "b2a"
    raise ValueError(f"direction must be 'a2b' or 'b2a'; got {direction!r}")


@dataclass(frozen=True)
class GeneratorCard:
    """What a generator is (architecture) and where its weights come from (training).

    Parameters
    ----------
    in_channels, out_channels
        Channels of the input and of the output.
    size_multiple
        H and W of the input must be multiples of it (inference pads to it).
    fixed_size
        The only accepted ``H = W``, or ``None`` when any multiple of ``size_multiple`` works.
    value_range
        Data range of the inputs and outputs, ``(low, high)``; ``(0, 1)`` unless trained otherwise.
    direction
        ``"a2b"``, ``"b2a"``, or ``None`` when not known.
    step
        Training step the weights come from (0 for a fresh generator).
    source
        Where the weights come from when not trained here (e.g. an imported reference
        checkpoint, :func:`~cyclegan_ms.inference.import_reference`), or ``None``.
    config
        The registry config ``{"name": ..., **kwargs}`` that rebuilds it, or ``None`` when it was
        not built by name. Not part of the hash.

    Raises
    ------
    ValueError
        For a field out of range (the message names it and what is accepted).

    Shape
    -----
    Describes a generator ``(B, in_channels, H, W) -> (B, out_channels, H, W)``.
    """

    in_channels: int = 3
    out_channels: int = 3
    size_multiple: int = 1
    fixed_size: int | None = None
    value_range: tuple[float, float] = (0.0, 1.0)
    direction: Direction | None = None
    step: int = 0
    source: str | None = None
    config: dict[str, object] | None = field(default=None, hash=False)

    def __post_init__(self) -> None:
        # normalise integers to Python ints and (0, 1) given as ints or a list to a tuple of
        # floats (frozen: object.__setattr__)
        for name, lo in (
            ("in_channels", 1),
            ("out_channels", 1),
            ("size_multiple", 1),
            ("fixed_size", 1),
            ("step", 0),
        ):
            value = getattr(self, name)
            if value is not None or name != "fixed_size":
                object.__setattr__(self, name, check_int(value, name, lo))
        object.__setattr__(self, "value_range", check_value_range(self.value_range))
        if self.direction is not None:
            check_direction(self.direction)
        if self.source is not None and not isinstance(self.source, str):
            raise ValueError(f"source must be a string or None; got {type(self.source).__name__}")
        if self.config is not None and not isinstance(self.config, dict):
            raise ValueError(f"config must be a dict or None; got {type(self.config).__name__}")

    @property
    def pad_multiple(self) -> int:
        """The multiple an input is padded to: ``fixed_size`` when set, else ``size_multiple``."""
        return self.fixed_size if self.fixed_size is not None else self.size_multiple

    def architecture(self) -> tuple[int, int, int, int | None]:
        """``(in_channels, out_channels, size_multiple, fixed_size)``: the facts a module fixes."""
        return (self.in_channels, self.out_channels, self.size_multiple, self.fixed_size)
