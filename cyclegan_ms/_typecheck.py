"""Loose runtime checks of plain config values against simple type annotations.

Shared by the registry (``build`` arguments) and the training config (TOML tables), so a value
from a TOML file or ``--set`` fails with one line naming what is accepted.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Mapping
from typing import Any, Literal, Union

__all__ = ["describe", "matches"]


def _is_union(hint: object) -> bool:
    return typing.get_origin(hint) is Union or isinstance(hint, types.UnionType)


def matches(value: object, hint: object) -> bool:
    """Whether ``value`` fits ``hint``; annotations it does not understand always pass.

    Understood: ``Any``, unions/optionals, ``Literal``, ``None``, ``bool``, ``int``, ``float``
    (an int is a fine float; a bool is neither), ``str``, ``tuple[X, Y]`` and ``tuple[X, ...]``
    (a list is accepted: TOML has no tuples), ``list[X]``, ``dict``/``Mapping``.
    """
    if hint is Any or hint is inspect.Parameter.empty:
        return True
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if _is_union(hint):
        return any(matches(value, h) for h in args)
    if origin is Literal:
        return any(value == a and type(value) is type(a) for a in args)
    if hint is type(None) or hint is None:
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if origin is tuple:
        if not isinstance(value, (tuple, list)):
            return False
        if len(args) == 2 and args[1] is Ellipsis:
            return all(matches(v, args[0]) for v in value)
        return len(args) == 0 or (
            len(value) == len(args) and all(matches(v, a) for v, a in zip(value, args, strict=True))
        )
    if origin is list:
        return (
            isinstance(value, (tuple, list)) and all(matches(v, args[0]) for v in value)
            if args
            else isinstance(value, (tuple, list))
        )
    if hint in (dict, Mapping) or origin in (dict, Mapping):
        return isinstance(value, Mapping)
    return True


def describe(hint: object) -> str:
    """A short human description of ``hint`` for error messages."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if _is_union(hint):
        return " or ".join(describe(h) for h in args)
    if hint is type(None):
        return "unset"
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return f"a list of {describe(args[0])}"
        if args and all(a in (int, float) for a in args):
            return f"a list of {len(args)} numbers"
        return f"a list of {len(args)} values"
    if origin is list:
        return f"a list of {describe(args[0])}" if args else "a list"
    if origin in (dict, Mapping) or hint in (dict, Mapping):
        return "a table"
    return getattr(hint, "__name__", str(hint).replace("typing.", ""))
