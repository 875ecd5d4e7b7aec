"""Pick the fastest numerically safe way to train on a device: ``train.precision = "auto"``.

The rule below comes from ``benchmarks/train_step.py`` (numbers in ``benchmarks/RESULTS.md``,
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

Set ``train.precision`` (and ``channels_last``/``compile``) explicitly to override the rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

__all__ = ["FastPath", "cpu_has_bf16", "pick_fast_path"]


@dataclass(frozen=True)
class FastPath:
    """What :func:`pick_fast_path` chose, and why.

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

    precision: Literal["fp32", "bf16", "fp16"]
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
