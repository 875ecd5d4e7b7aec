"""Inference engines: how a generator's forward pass is executed, and the fastest safe one.

An :class:`Engine` computes ``generator(x)`` for a ``(B, C, H, W)`` batch in the generator's data
range (already padded to its size multiple): everything around it (image kinds, padding, borders,
tiles, video filters) stays the :class:`~cyclegan_ms.inference.Translator`'s. The engines
(:data:`ENGINES`):

=================  =====================================================================
``eager_fp32``     PyTorch, float32 (the reference every other engine is checked against)
``eager_bf16``     PyTorch under bf16 autocast (native on CPUs with AVX-512 BF16 / AMX)
``compile_fp32``   ``torch.compile`` of the generator, float32
``compile_bf16``   ``torch.compile`` under bf16 autocast
``onnx_fp32``      the generator exported to ONNX (:func:`~cyclegan_ms.inference.export`),
                   run by ONNX Runtime's CPU provider
``onnx_int8``      that file statically quantised to int8 (QDQ, per-channel weights),
                   activation ranges calibrated on night frames of the built-in scenes
``openvino_fp32``  the ONNX file compiled by OpenVINO for the CPU (when ``openvino`` is
                   installed: the ``openvino`` extra)
``openvino_bf16``  the same with OpenVINO's bf16 inference precision (CPUs with native bf16)
=================  =====================================================================

``engine="eager"`` (the Python default) is the PyTorch engine of the ``precision`` option
(``eager_bf16`` or ``eager_fp32``), the behaviour before engines existed. ``engine="auto"``
(the command line's default) measures every engine available here (but the ``torch.compile``
ones, whose compilation takes minutes on a CPU) on the first batch the
translator sees, checks each against ``eager_fp32`` on that batch (**parity**: PSNR between the
two outputs of at least :data:`PARITY_DB` = 40 dB, about a quarter of an 8-bit level of RMS
difference) and keeps the fastest that passes; the choice is logged and cached
(:func:`engine_cache_dir`) per generator weights, input shape, device, CPU, thread count and
library versions, so a machine measures once. An engine that fails parity (int8 usually does:
its loss is stated in ``benchmarks/RESULTS.md``) is still used when asked for by name.

Exported and quantised files are cached beside the choice, named by the weights' digest.
Engines other than the eager ones cannot take the whole-image normalisation statistics of
tiled images or averaged over video frames (:mod:`~cyclegan_ms.inference.norm_stats`); the
Translator runs those passes eagerly.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import platform
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Literal, Protocol, TypeAlias, cast, get_args

import torch
import torch.nn as nn
from torch import Tensor

from ..generators import GeneratorCard
from ..metrics.image import psnr
from ..precision import autocast, cpu_has_bf16
from ..registry import config_of
from ..utils.files import atomic_write_bytes, make_folder

__all__ = [
    "ENGINES",
    "ENGINE_CHOICES",
    "PARITY_DB",
    "EagerEngine",
    "Engine",
    "EngineChoice",
    "EngineName",
    "EngineSpec",
    "OnnxEngine",
    "available_engines",
    "build_engine",
    "choose_engine",
    "engine_cache_dir",
    "named_engine",
    "night_calibration_frames",
    "parity_db",
    "weights_digest",
]

logger = logging.getLogger(__name__)

#: Every engine, fastest-to-build first.
EngineName: TypeAlias = Literal[
    "eager_fp32",
    "eager_bf16",
    "compile_fp32",
    "compile_bf16",
    "onnx_fp32",
    "onnx_int8",
    "openvino_fp32",
    "openvino_bf16",
]
ENGINES: tuple[EngineName, ...] = get_args(EngineName)
#: What ``TranslateOptions.engine`` accepts: an engine, ``"eager"`` or ``"auto"``.
EngineSpec: TypeAlias = Literal["eager", "auto", EngineName]
ENGINE_CHOICES: tuple[str, ...] = ("eager", "auto", *ENGINES)
#: Smallest PSNR (dB) between an engine's output and ``eager_fp32``'s for ``"auto"`` to use it.
PARITY_DB = 40.0
#: How the cache's JSON stores an exact match (``inf`` is not JSON).
_EXACT = 1e9
#: Version of the cache's layout (a new one ignores older entries).
_CACHE_VERSION = 1


class Engine(Protocol):
    """A generator's forward pass, however executed.

    Attributes
    ----------
    name
        Its name in :data:`ENGINES`.

    Shape
    -----
    ``(B, C, H, W) -> (B, C_out, H, W)``, H and W multiples of the generator's size multiple,
    values in its data range; the output has the input's dtype and device.
    """

    name: str

    def __call__(self, x: Tensor, /) -> Tensor: ...


class EagerEngine:
    """PyTorch's own forward pass of ``module`` in fp32, or under bf16 autocast.

    Parameters
    ----------
    name
        Its name (``"eager_fp32"``, ``"compile_bf16"``, ...).
    module
        The generator, or its ``torch.compile`` form.
    precision
        ``"fp32"`` or ``"bf16"``.
    dtype
        The generator's parameter dtype (inputs are cast to it).

    Shape
    -----
    ``(B, C, H, W) -> (B, C_out, H, W)``, in ``dtype``.
    """

    def __init__(
        self,
        name: str,
        module: Callable[[Tensor], Tensor],
        precision: Literal["fp32", "bf16"],
        dtype: torch.dtype = torch.float32,
    ) -> None:
        self.name = name
        self.module = module
        self.precision = precision
        self.dtype = dtype

    def __call__(self, x: Tensor) -> Tensor:
        """``module(x)`` (see the class)."""
        if self.precision == "bf16":
            with autocast(x.device.type, "bf16"):
                y = self.module(x.to(self.dtype))
            return y.to(self.dtype)
        return self.module(x.to(self.dtype))


class OnnxEngine:
    """An ONNX file run by ONNX Runtime (CPU provider) or compiled by OpenVINO.

    Parameters
    ----------
    name
        ``"onnx_fp32"``, ``"onnx_int8"``, ``"openvino_fp32"`` or ``"openvino_bf16"``.
    path
        The ``.onnx`` file (dynamic batch, height and width).
    threads
        Intra-op threads (default: ``torch.get_num_threads()``).

    Shape
    -----
    ``(B, C, H, W) -> (B, C_out, H, W)``; computed in float32 on the CPU, returned in the
    input's dtype and on its device.
    """

    def __init__(self, name: str, path: Path, *, threads: int | None = None) -> None:
        self.name = name
        self.path = path
        n = threads if threads is not None else torch.get_num_threads()
        self._run: Callable[[object], object]
        if name.startswith("openvino"):
            import openvino as ov

            hint = "bf16" if name.endswith("bf16") else "f32"
            compiled = ov.Core().compile_model(
                str(path), "CPU", {"INFERENCE_NUM_THREADS": n, "INFERENCE_PRECISION_HINT": hint}
            )
            self._run = lambda a: compiled(a)[0]
        else:
            import onnxruntime as ort

            opts = ort.SessionOptions()
            opts.intra_op_num_threads = n
            opts.inter_op_num_threads = 1
            opts.log_severity_level = 3
            session = ort.InferenceSession(
                str(path), sess_options=opts, providers=["CPUExecutionProvider"]
            )
            input_name = session.get_inputs()[0].name
            self._run = lambda a: session.run(None, {input_name: a})[0]

    def __call__(self, x: Tensor) -> Tensor:
        """The file's output for ``x`` (see the class)."""
        import numpy as np

        a = np.ascontiguousarray(x.detach().float().cpu().numpy())
        y = torch.from_numpy(np.asarray(self._run(a)))
        return y.to(device=x.device, dtype=x.dtype)


# --------------------------------------------------------------------------- where files go
def engine_cache_dir() -> Path:
    """Where engine choices and exported files are cached.

    ``$CYCLEGAN_MS_CACHE`` when set, else ``$XDG_CACHE_HOME/cyclegan_ms`` (by default
    ``~/.cache/cyclegan_ms``): the choice belongs to a machine and a set of weights, not to a
    run, so one cache serves every run folder and checkpoint copy. Delete it to measure again.
    """
    env = os.environ.get("CYCLEGAN_MS_CACHE")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "cyclegan_ms"


def weights_digest(generator: nn.Module) -> str:
    """A short hex digest of the generator's registry config (when it has one) and weights.

    Shape
    -----
    No tensors out: the parameters and buffers are read.
    """
    h = hashlib.sha256()
    try:
        h.update(json.dumps(config_of(generator), sort_keys=True, default=str).encode())
    except ValueError:  # not built by name: the class and the weights say enough
        h.update(type(generator).__qualname__.encode())
    for key, value in sorted(generator.state_dict().items()):
        h.update(key.encode())
        h.update(str(tuple(value.shape)).encode())
        t = value.detach().cpu().contiguous()
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()[:16]


def _module_available(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def available_engines(device: torch.device | str = "cpu") -> tuple[EngineName, ...]:
    """The engines this machine can run on ``device``, in :data:`ENGINES` order.

    bf16 engines need a CPU with native bf16 dot products (or CUDA); the ONNX ones a CPU
    device and the ``export`` extra (``onnx``, ``onnxscript``, ``onnxruntime``); OpenVINO its
    package.
    """
    dev = torch.device(device)
    onnx = dev.type == "cpu" and all(
        _module_available(m) for m in ("onnx", "onnxscript", "onnxruntime")
    )
    bf16 = dev.type == "cuda" or (dev.type == "cpu" and cpu_has_bf16())
    ok: dict[EngineName, bool] = {
        "eager_fp32": True,
        "eager_bf16": bf16,
        "compile_fp32": True,
        "compile_bf16": bf16,
        "onnx_fp32": onnx,
        "onnx_int8": onnx,
        "openvino_fp32": onnx and _module_available("openvino"),
        "openvino_bf16": onnx and bf16 and _module_available("openvino"),
    }
    return tuple(e for e in ENGINES if ok[e])


# --------------------------------------------------------------------------- building
def night_calibration_frames(
    card: GeneratorCard, *, count: int = 8, size: int = 256, seed: int = 0
) -> list[Tensor]:
    """Night frames of the built-in scenes (held-out split) to calibrate int8 activations on.

    Returns
    -------
    list[Tensor]
        ``count`` tensors ``(1, C, size, size)`` in ``card.value_range`` (``size`` rounded up
        to the card's multiple, or its fixed size).

    Shape
    -----
    Each ``(1, card.in_channels, S, S)``.
    """
    from ..data import NightDayScenes

    m = card.pad_multiple
    side = card.fixed_size if card.fixed_size is not None else -(-size // m) * m
    scenes = NightDayScenes(
        split="eval",
        num_scenes=count,
        size=side,
        channels=card.in_channels,
        value_range=card.value_range,
        seed=seed,
    )
    return [scenes[i]["A"].unsqueeze(0) for i in range(count)]


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence the exporter's and the quantiser's INFO/WARNING chatter (they log to the root
    logger), then restore logging as it was."""
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        yield
    finally:
        logging.disable(previous)


def _onnx_file(generator: nn.Module, card: GeneratorCard, folder: Path) -> Path:
    from .export import export

    path = folder / f"{weights_digest(generator)}.fp32.onnx"
    if not path.is_file():
        with _quiet():
            export(generator, path, format="onnx", value_range=card.value_range)
    return path


def _int8_file(generator: nn.Module, card: GeneratorCard, folder: Path) -> Path:
    fp32 = _onnx_file(generator, card, folder)
    path = fp32.with_name(fp32.name.replace(".fp32.", ".int8."))
    if path.is_file():
        return path
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    frames = night_calibration_frames(card)

    class Frames(CalibrationDataReader):
        def __init__(self) -> None:
            self._it = iter(frames)

        def get_next(self) -> dict[str, object] | None:
            x = next(self._it, None)
            return None if x is None else {"image": x.float().numpy()}

    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with _quiet():
            quantize_static(
                str(fp32),
                str(tmp),
                Frames(),
                quant_format=QuantFormat.QDQ,
                activation_type=QuantType.QUInt8,
                weight_type=QuantType.QInt8,
                per_channel=True,
                calibrate_method=CalibrationMethod.MinMax,
            )
        atomic_write_bytes(path, tmp.read_bytes())
    finally:
        tmp.unlink(missing_ok=True)
    return path


def build_engine(
    name: EngineName,
    generator: nn.Module,
    card: GeneratorCard,
    *,
    dtype: torch.dtype = torch.float32,
    cache_dir: str | os.PathLike[str] | None = None,
) -> Engine:
    """The engine ``name`` for ``generator`` (exporting, quantising or compiling it as needed).

    Parameters
    ----------
    name
        One of :data:`ENGINES`.
    generator
        The generator, in eval mode, on the device it will run on.
    card
        Its card (data range, channels, size rule: for the ONNX export and the calibration).
    dtype
        The generator's parameter dtype.
    cache_dir
        Where exported files are kept (default :func:`engine_cache_dir`).

    Returns
    -------
    Engine

    Raises
    ------
    ValueError
        For an unknown name (the message lists :data:`ENGINES`).
    ImportError
        An ONNX or OpenVINO engine without its package (the message names the extra).
    """
    if name not in ENGINES:
        raise ValueError(f"unknown engine {name!r}; accepted: {', '.join(ENGINE_CHOICES)}")
    precision: Literal["fp32", "bf16"] = "bf16" if name.endswith("bf16") else "fp32"
    if name.startswith("eager"):
        return EagerEngine(name, generator, precision, dtype)
    if name.startswith("compile"):
        compiled = cast("Callable[[Tensor], Tensor]", torch.compile(generator))
        return EagerEngine(name, compiled, precision, dtype)
    missing = [m for m in ("onnx", "onnxscript", "onnxruntime") if not _module_available(m)]
    if name.startswith("openvino") and not _module_available("openvino"):
        missing.append("openvino")
    if missing:
        raise ImportError(
            f"engine {name!r} needs {', '.join(missing)}: pip install "
            + (
                "'cyclegan-ms[export,openvino]'"
                if "openvino" in missing
                else "'cyclegan-ms[export]'"
            )
        )
    folder = make_folder(Path(cache_dir) if cache_dir is not None else engine_cache_dir())
    path = (
        _int8_file(generator, card, folder / "onnx")
        if name == "onnx_int8"
        else _onnx_file(generator, card, folder / "onnx")
    )
    return OnnxEngine(name, path)


def named_engine(
    name: EngineName,
    generator: nn.Module,
    card: GeneratorCard,
    *,
    dtype: torch.dtype = torch.float32,
) -> Engine:
    """:func:`build_engine` for an engine asked for by name, and the log line saying so.

    Shape
    -----
    As the engine: ``(B, C, H, W) -> (B, C_out, H, W)``.
    """
    engine = build_engine(name, generator, card, dtype=dtype)
    logger.info("engine %s (asked for by name; not checked against eager_fp32)", name)
    return engine


# --------------------------------------------------------------------------- choosing
@torch.no_grad()
def parity_db(
    engine: Engine, reference: Engine, x: Tensor, data_range: tuple[float, float]
) -> float:
    """PSNR (dB) between ``engine(x)`` and ``reference(x)``: the smallest over the batch.

    Shape
    -----
    ``x``: ``(B, C, H, W)``; a float out (``inf`` for identical outputs).
    """
    return float(psnr(engine(x).float(), reference(x).float(), data_range=data_range).min())


@dataclasses.dataclass(frozen=True)
class EngineChoice:
    """What ``engine="auto"`` chose, and what it measured.

    Attributes
    ----------
    engine
        The chosen engine's name.
    seconds
        Wall seconds per batch of each engine measured (fastest of the timed calls).
    parity
        PSNR (dB) of each engine's output against ``eager_fp32``'s.
    failed
        Engines that could not be built or run here, with the reason.
    shape
        The ``(B, C, H, W)`` measured.
    cached
        Whether the choice was read from the cache (no measurement this time).
    """

    engine: EngineName
    seconds: dict[str, float]
    parity: dict[str, float]
    failed: dict[str, str]
    shape: tuple[int, ...]
    cached: bool = False

    def describe(self) -> str:
        """One line for the log: the choice, its speed-up over ``eager_fp32`` and its parity."""
        base = self.seconds.get("eager_fp32")
        mine = self.seconds.get(self.engine)
        speed = f", {base / mine:.2f}x eager_fp32" if base and mine else ""
        par = self.parity.get(self.engine, float("inf"))
        par_s = "exact" if par == float("inf") else f"{par:.1f} dB vs eager_fp32"
        how = "cached choice" if self.cached else "measured"
        shape = "x".join(str(s) for s in self.shape[-2:])
        return f"engine {self.engine} ({how} at {shape}{speed}, {par_s})"


def _machine_key(device: torch.device, precision: str) -> dict[str, object]:
    versions: dict[str, str] = {"torch": torch.__version__}
    for mod in ("onnxruntime", "openvino"):
        if _module_available(mod):
            with contextlib.suppress(Exception):
                versions[mod] = __import__(mod).__version__
    return {
        "device": str(device),
        "cpu": platform.processor() or platform.machine(),
        "cpu_bf16": cpu_has_bf16(),
        "threads": torch.get_num_threads(),
        "versions": versions,
        "precision": precision,
    }


@contextlib.contextmanager
def _cache_file(folder: Path) -> Iterator[dict[str, dict[str, object]]]:
    path = folder / "engines.json"
    try:
        data = json.loads(path.read_text()) if path.is_file() else {}
    except (OSError, json.JSONDecodeError):
        data = {}
    before = json.dumps(data, sort_keys=True)
    yield data
    if json.dumps(data, sort_keys=True) != before:
        make_folder(folder)
        atomic_write_bytes(path, (json.dumps(data, indent=1, sort_keys=True) + "\n").encode())


def choose_engine(
    generator: nn.Module,
    card: GeneratorCard,
    x: Tensor,
    *,
    dtype: torch.dtype = torch.float32,
    candidates: Sequence[EngineName] | None = None,
    repeats: int = 2,
    cache: bool = True,
    cache_dir: str | os.PathLike[str] | None = None,
) -> tuple[Engine, EngineChoice]:
    """The fastest engine whose output is within :data:`PARITY_DB` of ``eager_fp32``'s on ``x``.

    Every candidate is built, run once on ``x`` (warm-up and parity) and timed ``repeats`` more
    times; the fastest with parity of at least :data:`PARITY_DB` wins (``eager_fp32`` always
    qualifies). The choice is cached per weights digest, input shape and machine
    (:func:`engine_cache_dir`); a cached choice is rebuilt without measuring.

    Parameters
    ----------
    generator
        The generator (eval mode, on its device).
    card
        Its card.
    x
        A batch like the ones to translate, ``(B, C, H, W)`` in the data range, padded to the
        size multiple (a real frame is best: parity is checked on it).
    dtype
        The generator's parameter dtype.
    candidates
        Engines to consider (default: :func:`available_engines` on ``x``'s device but the
        ``torch.compile`` ones, whose first call compiles for minutes on a CPU for the
        night2day generator: more than they save on a clip of a few hundred frames; name them
        to use them).
    repeats
        Timed calls per engine after the warm-up.
    cache
        Read and write the cache.
    cache_dir
        Cache folder (default :func:`engine_cache_dir`).

    Returns
    -------
    tuple[Engine, EngineChoice]
        The engine, ready, and what was measured.

    Shape
    -----
    ``x``: ``(B, C, H, W)``.
    """
    folder = Path(cache_dir) if cache_dir is not None else engine_cache_dir()
    names = (
        tuple(candidates)
        if candidates is not None
        else tuple(e for e in available_engines(x.device) if not e.startswith("compile"))
    )
    for n in names:
        if n not in ENGINES:
            raise ValueError(f"unknown engine {n!r}; accepted: {', '.join(ENGINES)}")
    key_data = {
        "v": _CACHE_VERSION,
        "weights": weights_digest(generator),
        "shape": list(x.shape),
        "candidates": list(names),
        **_machine_key(x.device, str(dtype)),
    }
    key = hashlib.sha256(json.dumps(key_data, sort_keys=True).encode()).hexdigest()[:24]
    if cache:
        with _cache_file(folder) as entries:
            hit = entries.get(key)
        if hit is not None and hit.get("engine") in names:
            found = EngineChoice(
                engine=cast("EngineName", hit["engine"]),
                seconds=dict(cast("dict[str, float]", hit["seconds"])),
                parity={
                    k: (float("inf") if v >= _EXACT else v)
                    for k, v in cast("dict[str, float]", hit["parity"]).items()
                },
                failed=dict(cast("dict[str, str]", hit["failed"])),
                shape=tuple(x.shape),
                cached=True,
            )
            engine = build_engine(found.engine, generator, card, dtype=dtype, cache_dir=folder)
            logger.info("%s", found.describe())
            return engine, found

    rng = card.value_range
    reference = build_engine("eager_fp32", generator, card, dtype=dtype, cache_dir=folder)
    with torch.no_grad():
        ref_out = reference(x).float()
    seconds: dict[str, float] = {}
    parity: dict[str, float] = {}
    failed: dict[str, str] = {}
    built: dict[str, Engine] = {}
    for name in names:
        try:
            engine = (
                reference
                if name == "eager_fp32"
                else build_engine(name, generator, card, dtype=dtype, cache_dir=folder)
            )
            with torch.no_grad():
                out = engine(x).float()
                times = []
                for _ in range(max(1, repeats)):
                    t0 = time.perf_counter()
                    engine(x)
                    times.append(time.perf_counter() - t0)
        except Exception as err:  # an engine that cannot run here is reported, not fatal
            failed[name] = f"{type(err).__name__}: {str(err).splitlines()[0][:200]}"
            logger.info("engine %s unavailable: %s", name, failed[name])
            continue
        seconds[name] = min(times)
        parity[name] = float(psnr(out, ref_out, data_range=rng).min())
        built[name] = engine
    safe = [n for n in seconds if parity[n] >= PARITY_DB]
    best = cast("EngineName", min(safe, key=lambda n: seconds[n]))
    choice = EngineChoice(best, seconds, parity, failed, tuple(x.shape))
    if cache:
        with _cache_file(folder) as entries:
            entries[key] = {
                "engine": best,
                "seconds": seconds,
                "parity": {k: min(v, _EXACT) for k, v in parity.items()},
                "failed": failed,
                "machine": key_data,
                "date": time.strftime("%Y-%m-%d %H:%M:%S"),
            }
    logger.info("%s", choice.describe())
    return built[best], choice
