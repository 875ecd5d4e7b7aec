"""How the networks compute on a device: precision, memory format, compilation, TF32.

One small piece below both training and inference (it imports nothing else of the package). It
holds the two "auto" rules and the mechanics they ask for:

- :func:`pick_fast_path`, the rule of ``train.precision = "auto"``;
  :func:`choose_fast_path` resolves any ``train.precision`` (and ``train.channels_last`` /
  ``train.compile``) into the :class:`FastPath` the :class:`~cyclegan_ms.training.Trainer`
  runs with;
- :func:`resolve_inference_precision`, the rule of ``TranslateOptions.precision = "auto"``;
- :func:`autocast` (the forward passes' arithmetic), used by both, and for training
  :meth:`FastPath.grad_scaler` (the loss scaler fp16 needs) and :meth:`FastPath.backends`, the
  process-wide settings of a training run (TF32 or IEEE fp32 for matmuls and cuDNN convolutions,
  deterministic algorithms or cuDNN autotuning), switched on for the run and put back after it
  (:func:`backend_settings` / :func:`restore_backend_settings`).

The training rule comes from ``benchmarks/train_step.py`` (numbers in ``benchmarks/RESULTS.md``,
"Training step"), run side by side on the machines the library is tested on:

- **CPU with bf16 dot products** (AVX-512 BF16 / AMX, as oneDNN reports them): bf16 autocast,
  NCHW, eager. bf16 trained 1.6-1.9x faster than fp32 on a 2-core Zen 4; ``channels_last`` was
  11-20 % *slower* there (every reflection pad and norm reorders the tensor), and
  ``torch.compile`` costs minutes per network on few cores.
- **CPU without bf16**: fp32, NCHW, eager (autocast would emulate bf16, slower than fp32).
- **CUDA**: fp32 with TF32 matmuls, NCHW, eager. On an H100 at the presets' sizes the networks do
  not fill the GPU, and bf16 autocast was *slower* (casts around every GroupNorm); fp16 needs a
  loss scaler and gained nothing.
- **anything else** (MPS, XPU, ...): fp32, NCHW, eager.

Every field of the rule's :class:`FastPath` is applied by the Trainer. Set ``train.precision``
explicitly to bypass the rule; ``train.channels_last`` / ``train.compile`` switch those on in
either case. Inference takes only a precision from its rule (bf16 autocast on a CPU with native
bf16, fp32 elsewhere): a :class:`~cyclegan_ms.inference.Translator` changes no process-wide
setting (TF32) and does not compile, since every new image size would recompile.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, replace
from typing import Literal, TypeAlias

import torch
import torch.nn as nn

__all__ = [
    "BackendSettings",
    "FastPath",
    "Precision",
    "autocast",
    "backend_settings",
    "choose_fast_path",
    "cpu_has_bf16",
    "networks_to_compile",
    "pick_fast_path",
    "resolve_inference_precision",
    "restore_backend_settings",
]

#: The arithmetic of the forward passes: full precision, or autocast to bfloat16 / float16.
Precision: TypeAlias = Literal["fp32", "bf16", "fp16"]

_AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass(frozen=True)
class FastPath:
    """How to run the networks on a device: what :func:`pick_fast_path` chose, and why.

    Attributes
    ----------
    precision
        ``"fp32"``, ``"bf16"`` or ``"fp16"``.
    channels_last
        NHWC memory format for networks and inputs.
    compile
        ``torch.compile`` the networks.
    tf32
        Allow TF32 matmuls/convolutions (CUDA only).
    reason
        One line for the log: the device and the measurement behind the choice.
    """

    precision: Precision
    channels_last: bool
    compile: bool
    tf32: bool
    reason: str

    def describe(self) -> str:
        """``"bf16 autocast, NCHW, eager (reason)"``."""
        prec = "fp32" if self.precision == "fp32" else f"{self.precision} autocast"
        if self.tf32:
            prec += " (TF32 matmuls)"
        layout = "channels_last" if self.channels_last else "NCHW"
        mode = "compiled" if self.compile else "eager"
        return f"{prec}, {layout}, {mode} ({self.reason})"

    @property
    def memory_format(self) -> torch.memory_format:
        """``torch.channels_last`` or ``torch.contiguous_format``."""
        return torch.channels_last if self.channels_last else torch.contiguous_format

    def autocast(self, device_type: str) -> AbstractContextManager[object]:
        """The forward passes' context on ``device_type`` (see :func:`autocast`)."""
        return autocast(device_type, self.precision)

    def grad_scaler(self, device_type: str) -> torch.amp.GradScaler:
        """A loss scaler for one optimiser: active for fp16 only (a pass-through otherwise)."""
        return torch.amp.GradScaler(device_type, enabled=self.precision == "fp16")

    @contextmanager
    def backends(self, device_type: str, *, deterministic: bool = False) -> Iterator[None]:
        """The process-wide settings of a training run, put back as they were on exit.

        - fp32 arithmetic of CUDA matmuls and cuDNN convolutions, through the
          ``fp32_precision`` switches: ``"tf32"`` when :attr:`tf32`, else ``"ieee"`` (so an
          explicit ``"fp32"`` run is true fp32; cuDNN's own default is TF32);
        - ``deterministic``: ``torch.use_deterministic_algorithms(True, warn_only=True)`` (an
          operation without a deterministic kernel warns instead of failing; the cuBLAS
          workspace is configured unless ``CUBLAS_WORKSPACE_CONFIG`` is set) and no cuDNN
          autotuning; otherwise cuDNN autotuning on CUDA.

        Parameters
        ----------
        device_type
            The training device's type; off CUDA only determinism is set.
        deterministic
            ``train.deterministic``.

        Examples
        --------
        >>> fp = choose_fast_path("cpu", "fp32")
        >>> with fp.backends("cpu", deterministic=True):
        ...     torch.are_deterministic_algorithms_enabled()
        True
        >>> torch.are_deterministic_algorithms_enabled()
        False
        """
        before = backend_settings()
        try:
            if device_type == "cuda":
                fp32 = "tf32" if self.tf32 else "ieee"
                torch.backends.cuda.matmul.fp32_precision = fp32
                torch.backends.cudnn.conv.fp32_precision = fp32  # type: ignore[attr-defined]
            if deterministic:
                os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
                torch.use_deterministic_algorithms(True, warn_only=True)
                torch.backends.cudnn.benchmark = False
            elif device_type == "cuda":
                torch.backends.cudnn.benchmark = True
            yield
        finally:
            restore_backend_settings(before)


@dataclass(frozen=True)
class BackendSettings:
    """The process-wide switches :meth:`FastPath.backends` changes, as they stand.

    Attributes
    ----------
    matmul_fp32, conv_fp32
        ``torch.backends.cuda.matmul.fp32_precision`` and
        ``torch.backends.cudnn.conv.fp32_precision`` (``"none"``, ``"ieee"`` or ``"tf32"``).
    deterministic, warn_only
        ``torch.are_deterministic_algorithms_enabled()`` and
        ``torch.is_deterministic_algorithms_warn_only_enabled()``.
    cudnn_benchmark
        ``torch.backends.cudnn.benchmark``.
    """

    matmul_fp32: str
    conv_fp32: str
    deterministic: bool
    warn_only: bool
    cudnn_benchmark: bool


def backend_settings() -> BackendSettings:
    """The current :class:`BackendSettings` of this process."""
    return BackendSettings(
        matmul_fp32=torch.backends.cuda.matmul.fp32_precision,
        conv_fp32=torch.backends.cudnn.conv.fp32_precision,  # type: ignore[attr-defined]
        deterministic=torch.are_deterministic_algorithms_enabled(),
        warn_only=torch.is_deterministic_algorithms_warn_only_enabled(),
        cudnn_benchmark=torch.backends.cudnn.benchmark,
    )


def restore_backend_settings(settings: BackendSettings) -> None:
    """Put back switches saved by :func:`backend_settings`."""
    torch.backends.cuda.matmul.fp32_precision = settings.matmul_fp32
    torch.backends.cudnn.conv.fp32_precision = settings.conv_fp32  # type: ignore[attr-defined]
    torch.use_deterministic_algorithms(settings.deterministic, warn_only=settings.warn_only)
    torch.backends.cudnn.benchmark = settings.cudnn_benchmark


def autocast(device_type: str, precision: str) -> AbstractContextManager[object]:
    """``torch.autocast`` to ``precision`` on ``device_type``; a no-op context for ``"fp32"``.

    Parameters
    ----------
    device_type
        ``"cpu"``, ``"cuda"``, ...
    precision
        ``"fp32"``, ``"bf16"`` or ``"fp16"``.

    Examples
    --------
    >>> with autocast("cpu", "bf16"):
    ...     (torch.ones(2, 2) @ torch.ones(2, 2)).dtype
    torch.bfloat16
    """
    if precision == "fp32":
        return nullcontext()
    return torch.autocast(device_type, dtype=_AUTOCAST_DTYPES[precision])


def cpu_has_bf16() -> bool:
    """Whether this CPU has native bf16 dot products that oneDNN uses (AVX-512 BF16 or AMX)."""
    try:
        return bool(
            torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()
        )
    except (AttributeError, RuntimeError):  # pragma: no cover - builds without oneDNN
        return False


def pick_fast_path(device: torch.device | str) -> FastPath:
    """The fastest numerically safe training set-up for ``device``, by the rule in the module doc.

    Parameters
    ----------
    device
        The training device.

    Returns
    -------
    FastPath

    Examples
    --------
    >>> pick_fast_path("cpu").channels_last
    False
    """
    dev = torch.device(device)
    if dev.type == "cpu":
        if cpu_has_bf16():
            return FastPath("bf16", False, False, False, "CPU with native bf16: 1.6-1.9x over fp32")
        return FastPath("fp32", False, False, False, "CPU without native bf16")
    if dev.type == "cuda":
        return FastPath("fp32", False, False, True, "CUDA: TF32 beat bf16 autocast on an H100")
    return FastPath("fp32", False, False, False, f"{dev.type}: no measured fast path")


def choose_fast_path(
    device: torch.device | str,
    precision: Precision | Literal["auto"] = "auto",
    *,
    channels_last: bool = False,
    compile: bool = False,
) -> FastPath:
    """The set-up to train with: :func:`pick_fast_path`'s for ``"auto"``, else as asked.

    Parameters
    ----------
    device
        The training device.
    precision
        ``"auto"`` (the rule decides everything it measured), or ``"fp32"``, ``"bf16"``,
        ``"fp16"`` (exactly that; no TF32).
    channels_last, compile
        Switch these on whatever the precision (the rule may also switch them on for
        ``"auto"``).

    Returns
    -------
    FastPath

    Raises
    ------
    ValueError
        For an unknown ``precision``.

    Examples
    --------
    >>> choose_fast_path("cpu", "bf16", channels_last=True).describe()
    'bf16 autocast, channels_last, eager (set explicitly)'
    """
    if precision == "auto":
        rule = pick_fast_path(device)
        return replace(
            rule, channels_last=rule.channels_last or channels_last, compile=rule.compile or compile
        )
    if precision not in ("fp32", "bf16", "fp16"):
        raise ValueError(f"precision must be 'auto', 'fp32', 'bf16' or 'fp16'; got {precision!r}")
    return FastPath(precision, channels_last, compile, False, "set explicitly")


def networks_to_compile(
    generators: Iterable[nn.Module], discriminators: Iterable[nn.Module], *, penalty: bool
) -> tuple[list[nn.Module], str | None]:
    """Which networks ``train.compile`` compiles, and a note for the log when it leaves some out.

    A gradient penalty (WGAN-GP, R1) differentiates the discriminators twice (the input gradient
    is itself differentiated), and ``torch.compile``'s backward does not support that ("torch.compile
    with aot_autograd does not currently support double backward"). With a
    penalty the discriminators therefore stay eager and only the generators are compiled.

    Parameters
    ----------
    generators, discriminators
        The model's networks.
    penalty
        Whether the discriminator objective has a gradient penalty.

    Returns
    -------
    tuple[list[nn.Module], str | None]
        The networks to compile, and ``None`` or why some are left out.

    Examples
    --------
    >>> G, D = nn.Conv2d(3, 3, 1), nn.Conv2d(3, 1, 1)
    >>> nets, note = networks_to_compile([G], [D], penalty=True)
    >>> nets == [G], note is not None
    (True, True)
    """
    gens, discs = list(generators), list(discriminators)
    if not penalty:
        return [*gens, *discs], None
    return gens, (
        "the discriminators stay eager: the gradient penalty differentiates them twice, "
        "which torch.compile does not support; only the generators are compiled"
    )


def resolve_inference_precision(
    precision: str, device: torch.device, dtype: torch.dtype
) -> Literal["fp32", "bf16"]:
    """``"auto"`` → ``"bf16"`` for a float32 generator on a CPU with native bf16, else ``"fp32"``."""
    if precision == "bf16":
        return "bf16"
    if precision == "auto" and device.type == "cpu" and dtype == torch.float32:
        return "bf16" if cpu_has_bf16() else "fp32"
    return "fp32"
