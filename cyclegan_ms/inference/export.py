"""Export one generator for deployment: ONNX, TorchScript, or a generator-only safetensors file.

Every exported network takes ``(B, C, H, W)`` images **in the model's data range** (recorded in
the file) of any batch size, height and width, and returns ``(B, C_out, H, W)``: the generator is
wrapped in :class:`PadToMultiple`, which reflect-pads H and W to the generator's
``size_multiple`` inside the graph and crops the result back. (A generator with a fixed input size,
the exact ``seed_unet``, is exported for that size only; resize or tile around it.)

* ``onnx``: ``torch.onnx.export(..., dynamo=True)`` — the ``torch.export``-based exporter, the
  default since torch 2.9 (the legacy TorchScript-based one, ``dynamo=False``, is deprecated).
  Batch, height and width are dynamic (``torch.export.Dim.DYNAMIC``). Needs the ``export`` extra
  (``onnx``, ``onnxscript``; ``onnxruntime`` to verify). Metadata (``metadata_props``):
  ``cyclegan_ms.value_range``, ``.direction``, ``.size_multiple``, ``.fixed_size``,
  ``.generator`` (the registry config, JSON).
* ``torchscript``: the generator is traced (``torch.jit.trace``; every library generator is
  shape-agnostic, its size checks only read shapes) and the pad/crop wrapper around it is
  scripted, so the pad follows the input size at run time. Note that ``torch.jit.trace`` and
  ``torch.jit.script`` are deprecated as of torch 2.13 (they warn and point to ``torch.export``);
  they still work, and the warnings are silenced here. Metadata in the extra file
  ``cyclegan_ms.json``.
* ``safetensors``: the generator's weights and its registry config (see
  :func:`~cyclegan_ms.inference.source.save_generator`), for ``translate``/``cyclegan-ms
  translate`` without the training state.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeAlias

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from ..generators import GeneratorCard, set_card
from ..generators.card import check_direction
from ..utils.files import atomic_write_bytes, make_folder
from .source import Direction, ModelSource, resolve_generator_card, save_generator

__all__ = [
    "EXPORTED_SUFFIXES",
    "EXPORT_FORMATS",
    "EXPORT_TOLERANCE",
    "ExportCheck",
    "ExportFormat",
    "ExportedGenerator",
    "PadToMultiple",
    "check_export",
    "export",
    "verify_export",
]

ExportFormat: TypeAlias = Literal["onnx", "torchscript", "safetensors"]
EXPORT_FORMATS: tuple[str, ...] = ("onnx", "torchscript", "safetensors")
_SUFFIXES = {
    ".onnx": "onnx",
    ".pt": "torchscript",
    ".ts": "torchscript",
    ".safetensors": "safetensors",
}


#: Suffixes of the exported networks :class:`ExportedGenerator` runs (ONNX, TorchScript).
EXPORTED_SUFFIXES: tuple[str, ...] = tuple(k for k, v in _SUFFIXES.items() if v != "safetensors")


class PadToMultiple(nn.Module):
    """Run a generator on any H × W: reflect-pad to a multiple, translate, crop back.

    Exported files pad to the multiple only: they do not add the reflected ``border`` that
    :class:`~cyclegan_ms.inference.Translator` puts around a whole image (a reflection wider
    than a small input cannot be expressed with one dynamic pad), so near the borders their
    output is that of ``Translator(..., border=0)``.

    Scriptable and exportable with dynamic shapes (the pad is computed from the input's shape).

    Parameters
    ----------
    generator
        Maps ``(B, C, h, w)`` to ``(B, C_out, h, w)`` for ``h``, ``w`` multiples of ``multiple``.
    multiple
        The generator's ``size_multiple`` (1: no padding).

    Shape
    -----
    ``(B, C, H, W) -> (B, C_out, H, W)``; each pad must be smaller than the side it pads
    (``H, W >= multiple / 2`` roughly).

    Examples
    --------
    >>> from cyclegan_ms import build
    >>> net = PadToMultiple(build("generator", "resnet_6blocks", ngf=4), 4).eval()
    >>> net(torch.rand(1, 3, 30, 45)).shape
    torch.Size([1, 3, 30, 45])
    """

    def __init__(self, generator: nn.Module, multiple: int) -> None:
        super().__init__()
        if isinstance(multiple, bool) or not isinstance(multiple, int) or multiple < 1:
            raise ValueError(f"multiple must be an integer >= 1; got {multiple!r}")
        self.generator = generator
        self.multiple = multiple

    def forward(self, x: Tensor) -> Tensor:
        """Translate ``x`` ``(B, C, H, W)`` into ``(B, C_out, H, W)``."""
        h = x.shape[2]
        w = x.shape[3]
        m = self.multiple
        ph = (m - h % m) % m
        pw = (m - w % m) % m
        top = ph // 2
        left = pw // 2
        y = F.pad(x, [left, pw - left, top, ph - top], mode="reflect")
        y = self.generator(y)
        return y[:, :, top : top + h, left : left + w]


def _metadata(card: GeneratorCard) -> dict[str, str]:
    return {
        "value_range": json.dumps(list(card.value_range)),
        "direction": str(card.direction),
        "size_multiple": str(card.size_multiple),
        "fixed_size": "none" if card.fixed_size is None else str(card.fixed_size),
        "in_channels": str(card.in_channels),
        "out_channels": str(card.out_channels),
        "generator": json.dumps(card.config),
    }


def _example(generator: nn.Module, card: GeneratorCard, size: int | None) -> Tensor:
    """A random ``(1, C, S, S)`` input the generator accepts, on its device and in its dtype."""
    m = card.size_multiple
    if card.fixed_size is not None:
        side = card.fixed_size
    elif size is not None:
        side = -(-size // m) * m
    else:
        side = max(64, 2 * m)
    param = next(generator.parameters(), None)
    dtype = param.dtype if param is not None and param.is_floating_point() else torch.float32
    device = param.device if param is not None else torch.device("cpu")
    return torch.rand(1, card.in_channels, side, side, dtype=dtype, device=device)


def _export_onnx(
    net: nn.Module,
    example: Tensor,
    path: Path,
    meta: dict[str, str],
    dynamic: bool,
    opset: int | None,
) -> None:
    try:
        import onnx  # noqa: F401
        import onnxscript  # noqa: F401
    except ImportError as err:
        raise ImportError(
            "ONNX export needs the 'export' extra: pip install 'cyclegan-ms[export]' "
            f"(missing: {err.name})"
        ) from err
    dyn = torch.export.Dim.DYNAMIC
    dims: tuple[dict[int, object]] = ({0: dyn, 2: dyn, 3: dyn},) if dynamic else ({0: dyn},)
    with warnings.catch_warnings(), _quiet_onnx_logs():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            net,
            (example,),
            dynamo=True,
            input_names=["image"],
            output_names=["translated"],
            dynamic_shapes=dims,
            opset_version=opset,
            verbose=False,
        )
    if program is None:  # pragma: no cover - dynamo export always returns a program
        raise RuntimeError("torch.onnx.export returned no program")
    for key, value in meta.items():  # the program's IR model is what gets serialised
        program.model.metadata_props[f"cyclegan_ms.{key}"] = value
    # what program.save(path, external_data=False) writes, as bytes: a disk that refuses the file
    # is then a WriteError that knows its size
    atomic_write_bytes(path, program.model_proto.SerializeToString())


@contextlib.contextmanager
def _quiet_onnx_logs() -> Iterator[None]:
    """The exporter logs a warning per torchvision operator it cannot register when torchvision
    is not installed (it is not needed here): errors only, while exporting."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _export_torchscript(
    net: PadToMultiple, example: Tensor, path: Path, meta: dict[str, str]
) -> None:
    with warnings.catch_warnings():
        # torch.jit.* is deprecated in torch 2.13; size checks in forward() raise TracerWarnings
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(net.generator, example, check_trace=False)
        scripted = torch.jit.script(PadToMultiple(traced, net.multiple))
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.save(scripted, buffer, _extra_files={"cyclegan_ms.json": json.dumps(meta)})
    atomic_write_bytes(path, buffer.getvalue())


def export(
    model: ModelSource,
    path: str | os.PathLike[str],
    *,
    format: ExportFormat | None = None,
    direction: Direction = "a2b",
    ema: bool | None = None,
    example_size: int | None = None,
    opset: int | None = None,
    value_range: tuple[float, float] | None = None,
) -> Path:
    """Export the generator of one direction.

    Parameters
    ----------
    model
        A :class:`~cyclegan_ms.CycleGAN`, a generator, or a path to a checkpoint / run folder.
    path
        Output file (written atomically; folders are created).
    format
        ``"onnx"``, ``"torchscript"`` or ``"safetensors"``; default from the suffix
        (``.onnx``, ``.pt``/``.ts``, ``.safetensors``).
    direction
        ``"a2b"`` or ``"b2a"``.
    ema
        For checkpoints: export the EMA weights (``None``: when present).
    example_size
        Side of the example input used to trace (rounded up to the multiple; default
        ``max(64, 2 · size_multiple)``; fixed-size generators use their size). H and W stay
        dynamic either way.
    opset
        ONNX opset (default: the exporter's).
    value_range
        Override the recorded data range.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ValueError
        Unknown format or suffix.
    ImportError
        ONNX export without the ``export`` extra.
    cyclegan_ms.utils.files.WriteError
        The disk or the folder refused the file (no space, quota, read-only): one line naming it
        and the space it needs; no partial file is left and an older ``path`` is intact.

    Shape
    -----
    The exported network: ``(B, C, H, W) -> (B, C_out, H, W)`` in the recorded data range.
    """
    out = Path(path)
    fmt = format if format is not None else _SUFFIXES.get(out.suffix.lower())
    if fmt not in EXPORT_FORMATS:
        given = f"format {format!r}" if format is not None else f"suffix {out.suffix!r}"
        raise ValueError(
            f"cannot export to {given}; accepted formats: {', '.join(EXPORT_FORMATS)} "
            f"(suffixes {', '.join(_SUFFIXES)})"
        )
    generator, card = resolve_generator_card(model, direction, ema=ema, value_range=value_range)
    make_folder(out.parent)
    if fmt == "safetensors":
        save_generator(
            generator, out, value_range=card.value_range, direction=direction, step=card.step
        )
        return out
    was_training = generator.training
    generator.eval()
    try:
        meta = _metadata(card)
        fixed = card.fixed_size
        net = PadToMultiple(generator, 1 if fixed is not None else card.size_multiple).eval()
        example = _example(generator, card, example_size)
        if fmt == "onnx":
            _export_onnx(net, example, out, meta, dynamic=fixed is None, opset=opset)
        else:
            _export_torchscript(net, example, out, meta)
    finally:
        generator.train(was_training)
    return out


class ExportedGenerator(nn.Module):
    """An exported generator file (ONNX or TorchScript) as a generator module, with its card.

    ONNX files run in ONNX Runtime (the ``export`` extra), on the CPU; TorchScript files in
    PyTorch. The card (:func:`~cyclegan_ms.generators.card_of`) is read from the file's metadata
    (data range, direction, channels, size rule); the file pads to its generator's multiple
    itself, so any H × W is accepted (a fixed-size generator: its size), and a
    :class:`~cyclegan_ms.inference.Translator` of it gives the pictures of one of the generator. This is how
    ``cyclegan-ms translate --checkpoint model.onnx`` translates.

    Parameters
    ----------
    path
        A file written by :func:`export` (``.onnx``, ``.pt``, ``.ts``).
    direction
        The direction asked for; an error when the file holds the other one.

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        Not an ONNX or TorchScript file, or a file of the other direction.
    ImportError
        An ONNX file without onnxruntime installed.

    Shape
    -----
    ``(B, C, H, W) -> (B, C_out, H, W)`` in the recorded data range.
    """

    def __init__(self, path: str | os.PathLike[str], *, direction: Direction | None = None) -> None:
        super().__init__()
        p = Path(path)
        if not p.is_file():
            raise FileNotFoundError(f"no exported generator at {p}")
        fmt = _format_of(p)
        if fmt == "safetensors":
            raise ValueError(f"{p} is a safetensors file; load it with load_generator")
        self.path = p
        self.format = fmt
        #: ONNX Runtime's ``InferenceSession.run`` (``None`` for TorchScript)
        self._run: Callable[[None, dict[str, np.ndarray]], list[np.ndarray]] | None = None
        self._input = ""
        if fmt == "onnx":
            try:
                import onnxruntime as ort
            except ImportError as err:
                raise ImportError(
                    f"running {p} needs onnxruntime (the 'export' extra): pip install "
                    "'cyclegan-ms[export]'"
                ) from err
            session = ort.InferenceSession(str(p), providers=["CPUExecutionProvider"])
            self._run = session.run
            self._input = session.get_inputs()[0].name
            stored = session.get_modelmeta().custom_metadata_map
            meta = {
                k.removeprefix("cyclegan_ms."): v
                for k, v in stored.items()
                if k.startswith("cyclegan_ms.")
            }
            self.net: nn.Module | None = None
        else:
            extra = {"cyclegan_ms.json": ""}
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                self.net = torch.jit.load(str(p), map_location="cpu", _extra_files=extra)
            meta = json.loads(extra["cyclegan_ms.json"]) if extra["cyclegan_ms.json"] else {}
        stored_direction = meta.get("direction")
        known = None if stored_direction in (None, "None", "none") else stored_direction
        if known is not None and direction is not None and known != direction:
            raise ValueError(
                f"{p} holds the {known} generator; it cannot translate {direction} (use "
                f"--direction {known}, or export the other one)"
            )
        fixed = meta.get("fixed_size", "none")
        card = GeneratorCard(
            in_channels=int(meta.get("in_channels", 3)),
            out_channels=int(meta.get("out_channels", 3)),
            # the file pads to it itself; declared, so that a Translator pads and borders the
            # image as it does for the generator the file came from (the same pictures)
            size_multiple=int(meta.get("size_multiple", 1)),
            fixed_size=None if fixed == "none" else int(fixed),
            value_range=tuple(json.loads(meta.get("value_range", "[0, 1]"))),
            direction=check_direction(known) if known is not None else direction,
        )
        set_card(self, card)

    def forward(self, x: Tensor) -> Tensor:
        """Run the exported network on ``x`` ``(B, C, H, W)``; float32 out, on ``x``'s device."""
        if self.net is not None:
            return self.net(x.float())
        if self._run is None:  # pragma: no cover - set for every ONNX file
            raise RuntimeError("no ONNX session")
        out = self._run(None, {self._input: x.detach().float().cpu().numpy()})[0]
        return torch.from_numpy(out).to(x.device)


def _format_of(path: Path) -> str:
    fmt = _SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(
            f"cannot tell the format of {path} from its suffix; accepted: {', '.join(_SUFFIXES)}"
        )
    return fmt


#: The export check's threshold on ``max |exported - pytorch|``, as a fraction of the data range
#: (``1e-3``: 0.002 for data in [-1, 1]). An fp32 export matches the fp32 forward to about 1e-6;
#: a wrong pad, weight or operator is off by more than 1e-2.
EXPORT_TOLERANCE = 1e-3


@dataclass(frozen=True)
class ExportCheck:
    """The outcome of :func:`check_export`.

    Attributes
    ----------
    difference
        ``max |exported - pytorch|`` over the output.
    tolerance
        The threshold it is held to (in data units).
    shape
        The test input's shape ``(B, C, H, W)``.
    format
        ``"onnx"``, ``"torchscript"`` or ``"safetensors"``.
    """

    difference: float
    tolerance: float
    shape: tuple[int, ...]
    format: str

    @property
    def passed(self) -> bool:
        """Whether ``difference <= tolerance``."""
        return self.difference <= self.tolerance

    def describe(self) -> str:
        """One line: what was compared, the difference, the threshold, pass or FAIL."""
        size = "x".join(str(n) for n in self.shape)
        verdict = "pass" if self.passed else "FAIL"
        return (
            f"export check: max |{self.format} - pytorch fp32| = {self.difference:.3g} on a "
            f"random {size} input, threshold {self.tolerance:.3g}: {verdict}"
        )


@torch.no_grad()
def _outputs(
    path: Path, model: ModelSource, direction: Direction, ema: bool | None, fmt: str, seed: int
) -> tuple[Tensor, Tensor, tuple[float, float]]:
    """``(exported output, fp32 eager output, data range)`` on one random odd-sized input."""
    generator, card = resolve_generator_card(model, direction, ema=ema)
    rng = card.value_range
    m = card.size_multiple
    if card.fixed_size is not None:
        h = w = card.fixed_size
    else:
        h = max(64, 2 * m) + 3
        w = h + m + 2
    g = torch.Generator().manual_seed(seed)
    lo, hi = rng
    x = torch.rand(2, card.in_channels, h, w, generator=g) * (hi - lo) + lo
    # the reference is what was exported, run as exported: the fp32 eager forward of the padded
    # generator (not a Translator, whose arithmetic may be bf16 on this machine)
    param = next(generator.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    reference = PadToMultiple(generator, 1 if card.fixed_size is not None else m)
    was_training = generator.training
    generator.eval()
    try:
        with torch.autocast(device.type, enabled=False):
            ref = reference(x.to(device, torch.float32)).float().cpu()
    finally:
        generator.train(was_training)
    if fmt == "onnx":
        import onnxruntime as ort

        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        got = torch.from_numpy(session.run(None, {name: x.numpy()})[0])
    elif fmt == "torchscript":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            net = torch.jit.load(str(path), map_location="cpu")
        got = net(x).float()
    elif fmt == "safetensors":
        from .source import load_generator

        loaded = load_generator(path)
        got = PadToMultiple(loaded, 1 if card.fixed_size is not None else m)(x).float()
    else:
        raise ValueError(f"unknown format {fmt!r}; accepted: {', '.join(EXPORT_FORMATS)}")
    return got, ref, rng


def _has_onnxruntime() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def verify_export(
    path: str | os.PathLike[str],
    model: ModelSource,
    *,
    direction: Direction = "a2b",
    ema: bool | None = None,
    format: ExportFormat | None = None,
    seed: int = 0,
) -> float | None:
    """Run an exported file and the PyTorch generator on one random input; their largest difference.

    The reference is the generator's fp32 forward, padded as the exported network pads (what was
    exported, in the arithmetic it was exported in). The input has an odd size that is not a
    multiple of the generator's ``size_multiple`` (unless the generator has a fixed size), so
    padding and cropping are checked too. :func:`check_export` holds the difference to a
    threshold.

    Parameters
    ----------
    path
        The exported file.
    model
        What it was exported from (model, generator or checkpoint path).
    direction, ema
        As given to :func:`export`.
    format
        Default: from the suffix.
    seed
        Seed of the random input.

    Returns
    -------
    float or None
        ``max |exported - pytorch|`` over the output, or ``None`` for ONNX when onnxruntime is
        not installed.

    Shape
    -----
    The test input is ``(2, C, H, W)``.
    """
    p = Path(path)
    fmt = format if format is not None else _format_of(p)
    if fmt == "onnx" and not _has_onnxruntime():
        return None
    got, ref, _ = _outputs(p, model, direction, ema, fmt, seed)
    return float((got - ref).abs().max())


def check_export(
    path: str | os.PathLike[str],
    model: ModelSource,
    *,
    direction: Direction = "a2b",
    ema: bool | None = None,
    format: ExportFormat | None = None,
    tolerance: float = EXPORT_TOLERANCE,
    seed: int = 0,
) -> ExportCheck | None:
    """:func:`verify_export`, held to a threshold: what ``cyclegan-ms export`` reports.

    Parameters
    ----------
    path, model, direction, ema, format, seed
        As for :func:`verify_export`.
    tolerance
        The threshold as a fraction of the data range (default :data:`EXPORT_TOLERANCE`).

    Returns
    -------
    ExportCheck or None
        ``None`` for ONNX when onnxruntime is not installed.

    Shape
    -----
    The test input is ``(2, C, H, W)``.
    """
    if not 0 < tolerance < 1:
        raise ValueError(
            f"tolerance must be in (0, 1) (a fraction of the data range); got {tolerance}"
        )
    p = Path(path)
    fmt = format if format is not None else _format_of(p)
    if fmt == "onnx" and not _has_onnxruntime():
        return None
    got, ref, (lo, hi) = _outputs(p, model, direction, ema, fmt, seed)
    return ExportCheck(
        difference=float((got - ref).abs().max()),
        tolerance=tolerance * (hi - lo),
        shape=tuple(got.shape),
        format=fmt,
    )
