"""One small, generic registry for every part of the library.

Parts are registered under a *kind* (``"generator"``, ``"discriminator"``, ...) and a *name*,
and built from plain data::

    >>> import cyclegan_ms as cms
    >>> "seed_unet" in cms.available("generator")
    True
    >>> G = cms.build("generator", "resnet_6blocks", ngf=8)
    >>> cms.config_of(G)["name"]
    'resnet_6blocks'

``build`` checks the keyword arguments against the factory's signature (names, and simple
annotated types such as ``int``, ``float``, ``bool``, ``str`` and ``Literal``) *before* calling
it, so a typo in a config fails at once with the accepted names instead of deep inside
``__init__``. A part built through the registry remembers the config that rebuilds it
(:func:`config_of`), which is how checkpoints describe themselves.
"""

from __future__ import annotations

import contextlib
import copy
import difflib
import fnmatch
import importlib
import importlib.util
import inspect
import os
import sys
import typing
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from ._typecheck import describe, matches

__all__ = [
    "PLUGIN_GROUP",
    "PluginError",
    "UnknownPartError",
    "available",
    "build",
    "config_of",
    "from_config",
    "get",
    "import_plugins",
    "kinds",
    "load_entry_points",
    "plugin_sources",
    "register",
    "register_kind",
]

F = TypeVar("F", bound=Callable[..., object])

#: The built-in kinds of part; :func:`register_kind` adds more and :func:`kinds` lists them all.
_BUILTIN_KINDS: tuple[str, ...] = (
    "generator",
    "discriminator",
    "adversarial_loss",
    "reconstruction_loss",
    "penalty",
    "schedule",
    "contrastive_loss",
    "model",
    "degradation",
)

_REGISTRY: dict[str, dict[str, Callable[..., object]]] = {kind: {} for kind in _BUILTIN_KINDS}
_CONFIG_ATTR = "_cyclegan_ms_config"


def register_kind(kind: str) -> None:
    """Declare a new kind of part (idempotent).

    Parameters
    ----------
    kind
        Name of the kind, e.g. ``"metric"``.
    """
    if not isinstance(kind, str) or not kind.isidentifier():
        raise ValueError(f"a kind must be an identifier-like string; got {kind!r}")
    if kind not in _REGISTRY:
        _REGISTRY[kind] = {}


def kinds() -> tuple[str, ...]:
    """The kinds of part known now, including those added by :func:`register_kind`."""
    return tuple(_REGISTRY)


def _check_kind(kind: str) -> dict[str, Callable[..., object]]:
    try:
        return _REGISTRY[kind]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown kind {kind!r}; valid kinds are: {', '.join(sorted(_REGISTRY))}"
        ) from None


def register(kind: str, name: str | None = None) -> Callable[[F], F]:
    """Decorator that registers a factory function or class under ``kind``/``name``.

    Parameters
    ----------
    kind
        One of :func:`kinds`.
    name
        Registry name; defaults to the function's or class's ``__name__``.

    Raises
    ------
    ValueError
        If ``kind`` is unknown or ``name`` is already taken in that kind.

    Examples
    --------
    >>> import torch.nn as nn
    >>> import cyclegan_ms as cms
    >>> @cms.register("generator", "doc_identity")
    ... class Identity(nn.Module):
    ...     def __init__(self, *, in_channels: int = 3) -> None:
    ...         super().__init__()
    ...     def forward(self, x):
    ...         return x
    >>> cms.build("generator", "doc_identity", in_channels=1).__class__.__name__
    'Identity'
    """
    table = _check_kind(kind)

    def decorator(obj: F) -> F:
        key = name if name is not None else obj.__name__
        if not isinstance(key, str) or not key:
            raise ValueError(f"registry names must be non-empty strings; got {key!r}")
        if key in table:
            raise ValueError(
                f"{kind} {key!r} is already registered (by {_qualname(table[key])}); "
                "choose another name"
            )
        table[key] = obj
        return obj

    return decorator


def _qualname(obj: object) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"


class UnknownPartError(ValueError):
    """No part is registered under ``kind``/``name`` (the message lists close matches and the
    available names).

    Attributes
    ----------
    kind, name
        What was asked for.
    """

    def __init__(self, message: str, kind: str, name: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.name = name


def get(kind: str, name: str) -> Callable[..., Any]:
    """Return the factory registered under ``kind``/``name``.

    A name not registered yet first loads the installed plugins (:func:`load_entry_points`).

    Raises
    ------
    ValueError
        Unknown kind (lists the valid kinds).
    UnknownPartError
        Unknown name (lists close matches); a ``ValueError``.
    """
    table = _check_kind(kind)
    if name not in table and load_entry_points():
        table = _check_kind(kind)
    if name not in table:
        close = difflib.get_close_matches(str(name), table.keys(), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        known = ", ".join(sorted(table)) or "none"
        raise UnknownPartError(
            f"unknown {kind} {name!r}{hint} (available: {known})", kind, str(name)
        )
    return table[name]


# --------------------------------------------------------------------------- plugins
#: The entry-point group through which an installed package registers parts: each entry point
#: names a module (importing it registers its parts) or a function of no arguments that does.
PLUGIN_GROUP = "cyclegan_ms.plugins"

_ENTRY_POINTS_LOADED: list[str] | None = None
#: module name -> how it was imported by :func:`import_plugins` (a module name or a file path)
_PLUGIN_SOURCES: dict[str, str] = {}


class PluginError(ImportError):
    """A plugin module or file could not be found (the message says what was tried)."""


def load_entry_points() -> list[str]:
    """Load the installed packages' plugins (entry-point group :data:`PLUGIN_GROUP`), once.

    Returns
    -------
    list[str]
        The entry points loaded by this call (empty when they were loaded before, or none is
        installed).
    """
    global _ENTRY_POINTS_LOADED
    if _ENTRY_POINTS_LOADED is not None:
        return []
    _ENTRY_POINTS_LOADED = []
    from importlib.metadata import entry_points

    for ep in entry_points(group=PLUGIN_GROUP):
        try:
            loaded = ep.load()
            if callable(loaded) and not inspect.ismodule(loaded):
                loaded()
        except Exception as err:
            raise PluginError(
                f"the installed plugin {ep.name!r} ({ep.value}, entry-point group "
                f"{PLUGIN_GROUP}) failed to load: {type(err).__name__}: {err}"
            ) from err
        _ENTRY_POINTS_LOADED.append(ep.name)
    return list(_ENTRY_POINTS_LOADED)


def _is_file_spec(spec: str) -> bool:
    return spec.endswith(".py") or "/" in spec or os.sep in spec


def _import_file(path: Path) -> str:
    if not path.is_file():
        raise PluginError(f"plugin file {path} does not exist")
    name = path.stem
    loaded = sys.modules.get(name)
    if loaded is not None and Path(getattr(loaded, "__file__", "") or "").resolve() == path:
        return name
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:  # pragma: no cover - a .py file always has a loader
        raise PluginError(f"cannot import {path} as a module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return name


def _import_module(name: str) -> str:
    cwd = os.getcwd()
    added = cwd not in sys.path and "" not in sys.path
    if added:  # as `python -m` would: a module in the current folder is found
        sys.path.insert(0, cwd)
    try:
        importlib.import_module(name)
    except ModuleNotFoundError as err:
        if err.name is None or not (name == err.name or name.startswith(f"{err.name}.")):
            raise  # the plugin itself imports something missing: its own traceback
        raise PluginError(
            f"cannot import plugin module {name!r}: no module {err.name!r} in the current folder "
            f"or the installed packages; give an installed module, one in the current folder, "
            f"or its file (path/to/{name.rsplit('.', 1)[-1]}.py)"
        ) from None
    finally:
        if added:
            sys.path.remove(cwd)
    return name


def import_plugins(
    specs: Iterable[str], *, base: str | os.PathLike[str] | None = None
) -> list[str]:
    """Import modules that register parts: by module name or ``.py`` file (idempotent).

    Parameters
    ----------
    specs
        Module names (``my_parts``, ``pkg.parts``; searched in the installed packages and the
        current folder) or Python files (``parts/mine.py``; anything ending in ``.py`` or
        holding a path separator).
    base
        Folder relative files are found in (default: the current folder).

    Returns
    -------
    list[str]
        The names of the imported modules, in order.

    Raises
    ------
    PluginError
        No such module or file (an ``ImportError``; the message says what was searched).
    """
    names: list[str] = []
    for spec in specs:
        if not isinstance(spec, str) or not spec.strip():
            raise PluginError(f"a plugin is a module name or a .py file; got {spec!r}")
        spec = spec.strip()
        if _is_file_spec(spec):
            path = Path(spec).expanduser()
            if not path.is_absolute():
                path = Path(base if base is not None else os.getcwd()) / path
            path = path.resolve()
            name = _import_file(path)
            _PLUGIN_SOURCES[name] = str(path)
        else:
            name = _import_module(spec)
            _PLUGIN_SOURCES.setdefault(name, spec)
        names.append(name)
    return names


def plugin_sources(config: object) -> list[str]:
    """The plugins a part config needs: the modules (not the library's) that registered a part
    named in it, as :func:`import_plugins` takes them.

    Parameters
    ----------
    config
        Plain data (e.g. a ``[model]`` table); every string in it that names a registered part
        of any kind counts.

    Returns
    -------
    list[str]
        Module names, or the files they were imported from by :func:`import_plugins`, in order
        of first use; parts defined in ``__main__`` are left out (a script cannot be imported).
    """
    strings: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, str):
            strings.append(value)
        elif isinstance(value, Mapping):
            for v in value.values():
                walk(v)
        elif isinstance(value, (list, tuple)):
            for v in value:
                walk(v)

    walk(config)
    found: list[str] = []
    for text in strings:
        for table in _REGISTRY.values():
            factory = table.get(text)
            module = getattr(factory, "__module__", None) if factory is not None else None
            if not module or module == "__main__" or module.split(".")[0] == "cyclegan_ms":
                continue
            source = _PLUGIN_SOURCES.get(module, module)
            if source not in found:
                found.append(source)
    return found


def available(kind: str, pattern: str = "*") -> list[str]:
    """Sorted names registered under ``kind`` that match an ``fnmatch`` ``pattern``.

    Examples
    --------
    >>> import cyclegan_ms as cms
    >>> cms.available("generator", "resnet_*")
    ['resnet_6blocks', 'resnet_9blocks']
    """
    table = _check_kind(kind)
    return sorted(n for n in table if fnmatch.fnmatchcase(n, pattern))


def _signature(factory: Callable[..., object]) -> inspect.Signature:
    target = factory.__init__ if inspect.isclass(factory) else factory
    sig = inspect.signature(target)
    params = list(sig.parameters.values())
    if inspect.isclass(factory) and params and params[0].name == "self":
        params = params[1:]
    return sig.replace(parameters=params)


def _type_hints(factory: Callable[..., object]) -> dict[str, object]:
    target = factory.__init__ if inspect.isclass(factory) else factory
    try:
        return typing.get_type_hints(target)
    except Exception:  # unresolved forward references: skip type checks, never fail here
        return {}


def _check_kwargs(
    kind: str, name: str, factory: Callable[..., object], kwargs: Mapping[str, object]
) -> None:
    sig = _signature(factory)
    params = sig.parameters
    accepts_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    named = {
        n: p
        for n, p in params.items()
        if p.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    }
    accepted = ", ".join(named) or "none"
    if not accepts_any:
        for key in kwargs:
            if key not in named:
                close = difflib.get_close_matches(key, named.keys(), n=1, cutoff=0.6)
                suggestion = f" (did you mean {close[0]!r}?)" if close else ""
                raise TypeError(
                    f"{kind} {name!r} got an unexpected argument {key!r}{suggestion}; "
                    f"accepted arguments: {accepted}"
                )
    missing = [
        n for n, p in named.items() if p.default is inspect.Parameter.empty and n not in kwargs
    ]
    if missing:
        raise TypeError(
            f"{kind} {name!r} is missing required argument(s) {', '.join(missing)}; "
            f"accepted arguments: {accepted}"
        )
    hints = _type_hints(factory)
    for key, value in kwargs.items():
        hint = hints.get(key)
        if hint is not None and not matches(value, hint):
            raise TypeError(
                f"{kind} {name!r}: argument {key!r} must be {describe(hint)}; "
                f"got {value!r} ({type(value).__name__})"
            )


def build(kind: str, name: str, /, **kwargs: object) -> Any:
    """Build the part registered under ``kind``/``name`` with keyword arguments.

    Parameters
    ----------
    kind
        One of :func:`kinds`.
    name
        Registry name (see :func:`available`).
    **kwargs
        Keyword arguments for the factory; checked against its signature first.

    Returns
    -------
    Any
        The built part. If it accepts attributes (e.g. an ``nn.Module``) it remembers its
        config, see :func:`config_of`.

    Raises
    ------
    ValueError
        Unknown kind or name (with close matches).
    TypeError
        Unknown, missing or wrongly typed argument (with the accepted ones).
    """
    factory = get(kind, name)
    _check_kwargs(kind, name, factory, kwargs)
    saved = copy.deepcopy(kwargs) if _is_plain(kwargs) else None
    obj = factory(**kwargs)
    if saved is not None:
        with contextlib.suppress(AttributeError, TypeError):
            object.__setattr__(obj, _CONFIG_ATTR, {"kind": kind, "name": name, **saved})
    return obj


def _is_plain(value: object) -> bool:
    """True for plain config data (what TOML/JSON can hold)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_is_plain(v) for v in value)
    if isinstance(value, Mapping):
        return all(isinstance(k, str) and _is_plain(v) for k, v in value.items())
    return False


def from_config(kind: str, config: Mapping[str, object] | str) -> Any:
    """Build a part from a plain config: ``{"name": ..., **kwargs}`` or just a name.

    Examples
    --------
    >>> import cyclegan_ms as cms
    >>> D = cms.from_config("discriminator", {"name": "patchgan", "n_layers": 2, "ndf": 8})
    >>> cms.config_of(D)
    {'name': 'patchgan', 'n_layers': 2, 'ndf': 8}
    """
    if isinstance(config, str):
        return build(kind, config)
    if not isinstance(config, Mapping) or "name" not in config:
        raise ValueError(
            f"a {kind} config must be a name or a table with a 'name' key; got {config!r}"
        )
    name = config["name"]
    if not isinstance(name, str):
        raise ValueError(f"the 'name' of a {kind} config must be a string; got {name!r}")
    kwargs = {k: v for k, v in config.items() if k != "name"}
    if "kind" in kwargs and kwargs.pop("kind") != kind:
        raise ValueError(f"config {config!r} is for kind {config['kind']!r}, not {kind!r}")
    return build(kind, name, **kwargs)


def config_of(part: object) -> dict[str, object]:
    """The plain config ``{"name": ..., **kwargs}`` that rebuilds ``part`` with :func:`from_config`.

    Raises
    ------
    ValueError
        If ``part`` was not built through :func:`build` with plain-data arguments.
    """
    saved = getattr(part, _CONFIG_ATTR, None)
    if saved is None:
        raise ValueError(
            f"{type(part).__name__} was not built through cyclegan_ms.build with plain-data "
            "arguments, so it cannot describe itself; build it by name to make it serialisable"
        )
    return {k: copy.deepcopy(v) for k, v in saved.items() if k != "kind"}
