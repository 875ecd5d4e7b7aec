"""Peak memory and speed of tiled inference on CPU: an 8192×8192 image with resnet_9blocks.

Goal (issue 7): peak RSS <= 2 GiB, and time per pixel <= 1.2× the untiled 1024×1024 rate.

Each measurement runs in its own subprocess, so its peak RSS (``ru_maxrss``) is its own:

* ``untiled``: a 1024×1024 uint8 image translated in one pass (after a small warm-up), best of
  ``--repeats`` runs;
* ``tiled``: a ``--size``² uint8 image translated with ``Translator(tile=..., overlap=...,
  norm_stats="global")``, once (the whole-image statistics pass included).

    python benchmarks/tiled_inference.py                       # 8192², tiles 1024, overlap 32
    python benchmarks/tiled_inference.py --size 2048 --json out.json

The generator has random weights (speed and memory do not depend on them). Input and output
are uint8 numpy arrays, as when translating a photo; the tiled path never holds a float copy of
the whole image.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from typing import Any

GENERATOR = "resnet_9blocks"


def _rss_now() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def _worker(mode: str, size: int, tile: int, overlap: int, repeats: int, threads: int) -> dict[str, Any]:
    import numpy as np
    import torch

    from cyclegan_ms import build
    from cyclegan_ms.inference import Translator

    if threads > 0:
        torch.set_num_threads(threads)
    torch.manual_seed(0)
    G = build("generator", GENERATOR).eval()
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, size=(size, size, 3), dtype=np.uint8)
    baseline = _rss_now()

    def timed(fn: Any) -> tuple[Any, float, float]:
        start, cpu = time.perf_counter(), time.process_time()
        result = fn()
        return result, time.perf_counter() - start, time.process_time() - cpu

    if mode == "untiled":
        t = Translator(G, tile=None)
        t(image[:256, :256])  # warm-up (allocator, oneDNN kernels)
        runs = [timed(lambda: t(image)) for _ in range(repeats)]
        out, seconds, cpu_seconds = min(runs, key=lambda r: r[1])
    else:
        t = Translator(G, tile=tile, overlap=overlap, norm_stats="global", batch_size=1)
        out, seconds, cpu_seconds = timed(lambda: t(image))
    assert out.shape == image.shape and out.dtype == np.uint8
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    return {
        "mode": mode,
        "size": size,
        "tile": tile if mode == "tiled" else None,
        "overlap": overlap if mode == "tiled" else None,
        "seconds": seconds,
        "seconds_per_megapixel": seconds / (size * size / 1e6),
        "cpu_seconds": cpu_seconds,
        "cpu_seconds_per_megapixel": cpu_seconds / (size * size / 1e6),
        "peak_rss_bytes": peak,
        "rss_before_run_bytes": baseline,
        "threads": torch.get_num_threads(),
    }


def _run(mode: str, args: argparse.Namespace, size: int) -> dict[str, Any]:
    cmd = [
        sys.executable,
        __file__,
        "--worker",
        mode,
        "--size",
        str(size),
        "--tile",
        str(args.tile),
        "--overlap",
        str(args.overlap),
        "--repeats",
        str(args.repeats),
        "--threads",
        str(args.threads),
    ]
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=8192, help="side of the tiled image (default 8192)")
    p.add_argument("--base", type=int, default=1024, help="side of the untiled reference (default 1024)")
    p.add_argument("--tile", type=int, default=1024)
    p.add_argument("--overlap", type=int, default=32)
    p.add_argument("--repeats", type=int, default=2, help="untiled runs (best is kept)")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--json", default=None, help="write the results here too")
    p.add_argument("--worker", choices=("untiled", "tiled"), default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker is not None:
        size = args.size
        print(json.dumps(_worker(args.worker, size, args.tile, args.overlap, args.repeats, args.threads)))
        return 0
    untiled = _run("untiled", args, args.base)
    print(f"untiled {args.base}²: {untiled['seconds']:.2f} s, {untiled['seconds_per_megapixel']:.3f} s/MP "
          f"(CPU {untiled['cpu_seconds_per_megapixel']:.3f} s/MP), "
          f"peak RSS {untiled['peak_rss_bytes'] / 2**30:.2f} GiB", flush=True)
    tiled = _run("tiled", args, args.size)
    ratio = tiled["seconds_per_megapixel"] / untiled["seconds_per_megapixel"]
    cpu_ratio = tiled["cpu_seconds_per_megapixel"] / untiled["cpu_seconds_per_megapixel"]
    print(f"tiled {args.size}² (tile {args.tile}, overlap {args.overlap}): {tiled['seconds']:.1f} s, "
          f"{tiled['seconds_per_megapixel']:.3f} s/MP ({ratio:.2f}× untiled per pixel; CPU time "
          f"{cpu_ratio:.2f}×), peak RSS {tiled['peak_rss_bytes'] / 2**30:.2f} GiB")
    result = {
        "generator": GENERATOR,
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs",
        "untiled": untiled,
        "tiled": tiled,
        "per_pixel_ratio": ratio,
        "per_pixel_cpu_ratio": cpu_ratio,
        "goal_peak_rss_ok": tiled["peak_rss_bytes"] <= 2 * 2**30,
        "goal_ratio_ok": ratio <= 1.2,
    }
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    keys = ("per_pixel_ratio", "per_pixel_cpu_ratio", "goal_peak_rss_ok", "goal_ratio_ok")
    print(json.dumps({k: result[k] for k in keys}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
