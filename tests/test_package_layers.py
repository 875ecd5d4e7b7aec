"""The package's rooms: which package may import which, and facts kept in one place only."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import cyclegan_ms
from cyclegan_ms.metrics import (
    EVAL_METRICS,
    HIGHER_IS_BETTER,
    INCEPTION_METRICS,
    METRICS,
    is_better,
)
from cyclegan_ms.training import TrainConfig
from cyclegan_ms.training.callbacks import BestCheckpoint, PeriodicEval
from cyclegan_ms.training.config import ConfigError

ROOT = Path(cyclegan_ms.__file__).parent


# Which package may import which is the ``layers`` contract of ``[tool.importlinter]`` in
# pyproject.toml, checked by ``lint-imports`` (``make lint``) and drawn as the table of
# docs/architecture.rst (docs/test_pages.py checks that the two agree).


def private_imports(path: Path) -> list[str]:
    """``module.name`` for every name starting with ``_`` that ``path`` imports from another
    ``cyclegan_ms`` module (``from .x import _helper``, ``from . import _module``), at any
    depth, lazy imports included."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (
            node.level or (node.module or "").split(".")[0] == "cyclegan_ms"
        ):
            module = "." * node.level + (f"{node.module}." if node.module else "")
            found += [f"{module}{a.name}" for a in node.names if a.name.startswith("_")]
    return found


def test_no_private_name_is_imported_across_modules() -> None:
    """A helper that another module needs gets a public name (left out of ``__all__`` where
    it is internal); only the module that defines a ``_name`` uses it."""
    bad = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in sorted(ROOT.rglob("*.py"))
        for name in private_imports(path)
    ]
    assert not bad


def test_the_private_import_scan_finds_them(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text(
        "from .x import _a, b\nfrom cyclegan_ms.y import _c as c\nfrom os import _exit\n"
        "def f():\n    from .. import _z\n"
    )
    assert private_imports(source) == [".x._a", "cyclegan_ms.y._c", ".._z"]


def environment_reads(path: Path) -> list[str]:
    """The variables ``path`` reads with ``os.environ.get``, ``os.environ[...]`` or
    ``os.getenv`` (a constant's name when the variable is one)."""
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        arg = None
        if isinstance(node, ast.Call) and node.args:
            f = ast.unparse(node.func)
            if f in ("os.environ.get", "os.getenv", "environ.get", "getenv"):
                arg = node.args[0]
        elif isinstance(node, ast.Subscript) and ast.unparse(node.value) in (
            "os.environ",
            "environ",
        ):
            arg = node.slice
        if arg is not None:
            names.append(arg.value if isinstance(arg, ast.Constant) else ast.unparse(arg))
    return names


def test_the_inception_variable_is_read_in_one_place() -> None:
    readers = [
        str(p.relative_to(ROOT))
        for p in sorted(ROOT.rglob("*.py"))
        if {"INCEPTION_ENV", "CYCLEGAN_MS_INCEPTION"} & set(environment_reads(p))
    ]
    assert readers == ["layers/pretrained.py"]


def test_one_table_of_metric_names_and_directions() -> None:
    assert METRICS == ("psnr", "ssim", "fid", "kid")
    assert [m for m in METRICS if not HIGHER_IS_BETTER[m]] == ["fid", "kid"]
    assert {"fid", "kid"} == INCEPTION_METRICS
    assert is_better("kid", 0.01, 0.02) and not is_better("ssim", 0.3, 0.4)
    assert is_better("psnr", 10.0, None) and not is_better("psnr", float("nan"), None)
    assert (*METRICS, "unpaired") == EVAL_METRICS and is_better("unpaired", 0.2, 0.1)
    for name in EVAL_METRICS:  # every reader accepts exactly the table's names
        TrainConfig(eval_metric=name)  # type: ignore[arg-type]
        PeriodicEval(5, (name,))
        BestCheckpoint(5, monitor=name)
    with pytest.raises(ConfigError, match="psnr, ssim, fid, kid or unpaired; got 'lpips'"):
        TrainConfig(eval_metric="lpips")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"accepted: psnr, ssim, fid, kid, unpaired$"):
        PeriodicEval(5, ("lpips",))
    with pytest.raises(ValueError, match="one of psnr, ssim, fid, kid, unpaired; got"):
        BestCheckpoint(5, monitor="lpips")
