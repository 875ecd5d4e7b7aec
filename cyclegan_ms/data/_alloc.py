"""Keep glibc from returning memory to the OS after every rendered image.

The scene renderer allocates a few megabytes of short-lived numpy arrays per image. With glibc's
default (adaptive) settings those allocations are often served by fresh ``mmap`` pages or by a heap
that was just trimmed, so every image pays thousands of page faults: measured on the 2-core
development machine, a 256 x 256 night render took ~10 ms with the defaults and ~6 ms with the
settings below. :func:`tune_allocator` fixes the thresholds once per process (allocations under
32 MB come from the heap; up to 64 MB of freed heap is kept for reuse). It changes nothing else,
does nothing on other C libraries, and is OFF unless the environment variable
``CYCLEGAN_MS_TUNE_MALLOC=1`` is set: a library should not change a process-wide allocator
setting behind its user's back, and during training the renderer's cost is small beside a step.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

__all__ = ["tune_allocator"]

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_STATE: dict[int, bool] = {}  # pid -> result


def tune_allocator(*, mmap_threshold: int = 32 << 20, trim_threshold: int = 64 << 20) -> bool:
    """Set glibc's mmap and trim thresholds once per process; return whether they were set.

    Parameters
    ----------
    mmap_threshold
        Allocations at least this large (bytes) get their own ``mmap``.
    trim_threshold
        Free heap above this much (bytes) is returned to the OS.

    Returns
    -------
    bool
        ``True`` if glibc accepted the settings (now or earlier in this process).
    """
    pid = os.getpid()
    if pid in _STATE:
        return _STATE[pid]
    ok = False
    if sys.platform.startswith("linux") and os.environ.get("CYCLEGAN_MS_TUNE_MALLOC", "0") == "1":
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            mallopt = libc.mallopt
        except (OSError, AttributeError):  # not glibc (e.g. musl has no mallopt)
            mallopt = None
        if mallopt is not None:
            mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
            ok = bool(mallopt(_M_MMAP_THRESHOLD, mmap_threshold)) and bool(
                mallopt(_M_TRIM_THRESHOLD, trim_threshold)
            )
    _STATE[pid] = ok
    return ok
