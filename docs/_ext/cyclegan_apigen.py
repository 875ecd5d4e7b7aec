"""Generate the API reference from the package itself, so it follows the code.

At ``builder-inited`` this extension walks :mod:`cyclegan_ms` and writes one page per package
or top-level module into ``docs/api/generated/``:

* every name listed in a module's ``__all__`` is documented exactly once, at its *home*: the
  module that defines it (for classes and functions, ``obj.__module__``; for constants and type
  aliases, the deepest module exporting the same object). Documenting each object once keeps
  cross-references unambiguous;
* a package page shows the package docstring, a summary table of everything the package exports
  (linking to the homes), then a section per sub-module with the names that live there;
* a reference to an exported alias (``cyclegan_ms.CycleGAN``, ``cyclegan_ms.layers.make_norm``)
  is resolved to its home (``cyclegan_ms.models.cyclegan.CycleGAN``), so docstrings may use either form.

A public name (in some ``__all__``) that cannot be documented raises a Sphinx warning, which the
``-W`` build turns into an error: the reference cannot silently miss a name. Files are only
rewritten when their content changes, so incremental builds stay incremental.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.pycode import ModuleAnalyzer
from sphinx.util import logging

logger = logging.getLogger(__name__)

PACKAGE = "cyclegan_ms"
OUT_DIR = "api/generated"

# Pages: one per package directly under cyclegan_ms and one per top-level module. The order
# here is the reading order of the reference; anything new is appended alphabetically.
PAGE_ORDER = [
    "cyclegan_ms",
    "cyclegan_ms.registry",
    "cyclegan_ms.layers",
    "cyclegan_ms.generators",
    "cyclegan_ms.discriminators",
    "cyclegan_ms.losses",
    "cyclegan_ms.pool",
    "cyclegan_ms.models",
    "cyclegan_ms.protocols",
    "cyclegan_ms.precision",
    "cyclegan_ms.checkpoint",
    "cyclegan_ms.training",
    "cyclegan_ms.loading",
    "cyclegan_ms.data",
    "cyclegan_ms.metrics",
    "cyclegan_ms.inference",
    "cyclegan_ms.video",
    "cyclegan_ms.cli",
    "cyclegan_ms.utils",
]


@dataclass
class Module:
    name: str
    module: types.ModuleType
    is_package: bool
    exports: list[str] = field(default_factory=list)  # __all__ (or public names), in order
    homes: list[str] = field(default_factory=list)  # names documented here


@dataclass
class Catalogue:
    modules: dict[str, Module] = field(default_factory=dict)
    #: "module.name" as exported anywhere -> "home_module.name"
    aliases: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def _walk(package: str) -> tuple[dict[str, Module], list[str]]:
    problems: list[str] = []
    root = importlib.import_module(package)
    found: dict[str, Module] = {package: Module(package, root, True)}

    def visit(pkg: types.ModuleType) -> None:
        for info in pkgutil.iter_modules(pkg.__path__, pkg.__name__ + "."):
            leaf = info.name.rsplit(".", 1)[-1]
            if leaf.startswith("_"):
                continue
            try:
                mod = importlib.import_module(info.name)
            except Exception as err:  # report, never crash the build here
                problems.append(f"cannot import {info.name}: {type(err).__name__}: {err}")
                continue
            found[info.name] = Module(info.name, mod, info.ispkg)
            if info.ispkg:
                visit(mod)

    visit(root)
    # Namespace packages (a folder without __init__.py yet) are not listed by pkgutil: pick up
    # any already-imported sub-module so nothing imported by the package goes undocumented.
    return found, problems


def _public_names(mod: types.ModuleType) -> list[str]:
    names = getattr(mod, "__all__", None)
    if names is None:
        names = [
            n
            for n, v in vars(mod).items()
            if not n.startswith("_")
            and getattr(v, "__module__", None) == mod.__name__
            and (inspect.isclass(v) or inspect.isfunction(v))
        ]
    return list(names)


def _defining_module(obj: Any) -> str | None:
    if inspect.isclass(obj) or inspect.isfunction(obj) or inspect.isroutine(obj):
        return getattr(obj, "__module__", None)
    return None


def build_catalogue(package: str = PACKAGE) -> Catalogue:
    """Walk the package and decide where every exported name is documented."""
    modules, problems = _walk(package)
    cat = Catalogue(modules=modules, problems=problems)
    exporters: dict[tuple[str, int], list[str]] = {}
    values: dict[tuple[str, int], Any] = {}
    for m in modules.values():
        m.exports = _public_names(m.module)
        for name in m.exports:
            if not hasattr(m.module, name):
                cat.problems.append(f"{m.name}.__all__ lists {name!r}, which the module lacks")
                continue
            value = getattr(m.module, name)
            if isinstance(value, types.ModuleType):
                continue
            key = (name, id(value))
            exporters.setdefault(key, []).append(m.name)
            values[key] = value
    for key, where in exporters.items():
        name, value = key[0], values[key]
        home = _defining_module(value)
        if home is not None and getattr(value, "__name__", name) != name:
            home = None  # exported under another name: document it where it is exported
        if home not in modules:
            # constants and type aliases (or objects defined outside the walked modules):
            # the deepest exporting module is the one that defines them
            home = max(where, key=lambda w: (w.count("."), w))
        if home not in where:
            # defined in a module that does not export it: the deepest exporter documents it
            home = max(where, key=lambda w: (w.count("."), w))
        modules[home].homes.append(name)
        for w in where:
            cat.aliases[f"{w}.{name}"] = f"{home}.{name}"
    for m in modules.values():
        m.homes = _source_order(m, m.homes)
    return cat


def _source_order(m: Module, names: list[str]) -> list[str]:
    try:
        analyzer = ModuleAnalyzer.for_module(m.name)
        analyzer.analyze()
        order = analyzer.tagorder
    except Exception:
        order = {}
    position = {n: i for i, n in enumerate(m.exports)}
    return sorted(set(names), key=lambda n: (order.get(n, 10_000), position.get(n, 0), n))


def _directive(modname: str, name: str, value: Any) -> str:
    full = f"{modname}.{name}"
    if inspect.isclass(value):
        kind = "autoexception" if issubclass(value, BaseException) else "autoclass"
        return f".. {kind}:: {full}\n   :members:\n   :show-inheritance:\n"
    if inspect.isfunction(value) or inspect.isroutine(value):
        return f".. autofunction:: {full}\n"
    return f".. autodata:: {full}\n"


def _title(text: str, char: str) -> str:
    return f"{text}\n{char * len(text)}\n"


def _page_root(name: str) -> str:
    parts = name.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else name


def render_pages(cat: Catalogue) -> dict[str, str]:
    """Page name (without .rst) -> reST text."""
    groups: dict[str, list[Module]] = {}
    for m in cat.modules.values():
        groups.setdefault(_page_root(m.name), []).append(m)
    pages: dict[str, str] = {}
    for root, members in groups.items():
        members.sort(key=lambda m: m.name)
        head = cat.modules[root]
        lines = [".. This page is generated by docs/_ext/cyclegan_apigen.py; do not edit.\n"]
        lines.append(_title(f"``{root}``", "="))
        lines.append(f".. automodule:: {root}\n   :no-members:\n")
        if head.is_package or root == PACKAGE:
            exported = [
                n
                for n in head.exports
                if not isinstance(getattr(head.module, n, None), types.ModuleType)
                and f"{root}.{n}" in cat.aliases
            ]
            if exported:
                lines.append(_title("Exported names", "-"))
                lines.append(
                    f"Everything below can be imported from ``{root}`` directly; each entry "
                    "links to where it is documented.\n"
                )
                lines.append(".. autosummary::\n   :nosignatures:\n")
                for n in exported:
                    home = cat.aliases[f"{root}.{n}"]
                    # names inside the current module must be given relative to it
                    lines.append(f"   ~{home.removeprefix(root + '.')}")
                lines.append("")
            subpackages = [
                n
                for n in head.exports
                if isinstance(getattr(head.module, n, None), types.ModuleType)
            ]
            if root == PACKAGE and subpackages:
                lines.append(
                    "Sub-packages re-exported here: "
                    + ", ".join(f":mod:`{PACKAGE}.{n}`" for n in subpackages)
                    + ".\n"
                )
        for m in members:
            if not m.homes:
                continue
            if m.name != root:
                lines.append(_title(f"``{m.name}``", "-"))
                lines.append(f".. automodule:: {m.name}\n   :no-members:\n")
            elif head.is_package:
                lines.append(_title("Defined in the package itself", "-"))
            for n in m.homes:
                lines.append(_directive(m.name, n, getattr(m.module, n)))
        pages[root] = "\n".join(lines) + "\n"
    return pages


def _write_if_changed(path: Path, text: str) -> None:
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def generate(app: Sphinx) -> None:
    cat = build_catalogue()
    app.env.cyclegan_api_aliases = cat.aliases  # type: ignore[attr-defined]
    for problem in cat.problems:
        logger.warning("API reference: %s", problem, type="cyclegan_apigen")
    pages = render_pages(cat)
    out = Path(app.srcdir) / OUT_DIR
    known = [p for p in PAGE_ORDER if p in pages]
    known += sorted(p for p in pages if p not in PAGE_ORDER)
    for page, text in pages.items():
        _write_if_changed(out / f"{page}.rst", text)
    for stale in out.glob("*.rst"):
        if stale.stem not in pages:
            stale.unlink()
    # included by api/index.rst (an .inc file is not a document of its own)
    toc = [
        ".. This file is generated by docs/_ext/cyclegan_apigen.py; do not edit.\n",
        ".. toctree::\n   :maxdepth: 1\n",
        *[f"   generated/{p}" for p in known],
        "",
    ]
    _write_if_changed(out / "toc.inc", "\n".join(toc))
    _write_if_changed(Path(app.srcdir) / "_generated" / "cli.inc", render_cli_help())


def render_cli_help() -> str:
    """The ``--help`` of ``cyclegan-ms`` and of each sub-command, as reST literal blocks."""
    import argparse
    import os

    from cyclegan_ms import cli

    load_extra = getattr(cli, "_load_extra_commands", None)
    if load_extra is not None:
        load_extra()  # the translate/export/eval commands register themselves
    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "92"  # argparse wraps to the terminal width: make it fixed
    try:
        parser = cli.build_parser()
        sections = [("cyclegan-ms", parser.format_help())]
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    sections.append((f"cyclegan-ms {name}", sub.format_help()))
    finally:
        if saved is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = saved
    lines = [".. This file is generated by docs/_ext/cyclegan_apigen.py; do not edit.\n"]
    for title, text in sections:
        lines.append(f".. _cli-{title.replace(' ', '-')}:\n")
        lines.append(_title(f"``{title}``", "-"))
        lines.append(".. code-block:: text\n")
        lines.extend(f"   {line}".rstrip() for line in text.rstrip().splitlines())
        lines.append("")
    return "\n".join(lines) + "\n"


def resolve_alias(
    app: Sphinx, env: Any, node: nodes.Element, contnode: nodes.Element
) -> nodes.Element | None:
    """Resolve ``cyclegan_ms.X`` (an exported alias) to where ``X`` is documented."""
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    aliases: dict[str, str] = getattr(env, "cyclegan_api_aliases", {})
    candidates = [target]
    modname = node.get("py:module")
    if modname and not target.startswith(PACKAGE):
        candidates.append(f"{modname}.{target}")
    domain = env.get_domain("py")
    for cand in candidates:
        parts = cand.split(".")
        for cut in range(len(parts), 1, -1):
            head = ".".join(parts[:cut])
            if head in aliases and aliases[head] != head:
                new_target = ".".join([aliases[head], *parts[cut:]])
                return domain.resolve_xref(  # type: ignore[no-any-return]
                    env, node["refdoc"], app.builder, node["reftype"], new_target, node, contnode
                )
    # A name the docstring's module imports (``:class:`Discriminator``` in a module that did
    # ``from .base import Discriminator``): resolve it to where the object is defined.
    for cand in candidates:
        home = _defined_at(cand)
        if home is not None and home != cand:
            return domain.resolve_xref(  # type: ignore[no-any-return]
                env, node["refdoc"], app.builder, node["reftype"], home, node, contnode
            )
    return None


def _defined_at(dotted: str) -> str | None:
    """``pkg.mod.Name.attr`` -> ``defining_module.Name.attr`` by importing, or None."""
    parts = dotted.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:cut]))
        except Exception:
            continue
        rest = parts[cut:]
        for i, name in enumerate(rest):
            obj = getattr(obj, name, None)
            if obj is None:
                return None
            if inspect.isclass(obj) or inspect.isfunction(obj):
                module, qualname = (
                    getattr(obj, "__module__", None),
                    getattr(obj, "__qualname__", None),
                )
                if not module or not qualname or "<" in qualname:
                    return None
                return ".".join([module, qualname, *rest[i + 1 :]])
        return None
    return None


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("builder-inited", generate)
    app.connect("missing-reference", resolve_alias)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
