"""Data-loading throughput: the scene renderer, and loaders over JPEG folders and built-in scenes.

Measures, at ``--size`` (default 256):

- the procedural renderer's images/s on one core (day and night renders);
- images/s delivered by ``make_loader`` with 0 and 2 workers (``--workers``) from a folder of
  JPEGs generated into a temporary directory (``--jpeg-size``, default 640x360, dash-cam like),
  with the ``seed`` and ``paper`` recipes, and from ``NightDayScenes``.

An item holds two images (A and B); "images/s" counts both. The first batch (worker start-up) is
not timed. Prints a markdown table for ``benchmarks/RESULTS.md``.

With ``--demo``, only the demo's check: what the built-in scenes deliver at 64², batch 4, no
workers, against what one ``night2day`` training step at those settings consumes.

Run::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/data_loader.py
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/data_loader.py --demo
"""

from __future__ import annotations

import argparse
import functools
import os
import platform
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from cyclegan_ms.data import NightDayScenes, UnpairedImageFolder, make_loader, recipe
from cyclegan_ms.data.scenes import render_day, render_night, sample_scene


def bench_renderer(size: int, n: int) -> dict[str, float]:
    """Renders per second on this (single) thread, for day and night (layout included)."""
    render_day(0, height=size)  # warm caches
    render_night(0, height=size)
    out = {}
    for name, fn in (("day", render_day), ("night", render_night)):
        t, c = time.perf_counter(), time.process_time()
        for i in range(n):
            fn(i, height=size)
        out[name] = n / (time.perf_counter() - t)
        out[name + "_cpu"] = n / (time.process_time() - c)  # per CPU-second: less load-sensitive
    t = time.perf_counter()
    for i in range(n):
        sample_scene(10_000 + i)
    out["layout_only"] = n / (time.perf_counter() - t)
    return out


def best_and_median(fn: Callable[[], float], repeat: int) -> tuple[float, float]:
    """Best and median of ``repeat`` runs (the machine may be shared: best is the least disturbed)."""
    runs = [fn() for _ in range(repeat)]
    return max(runs), float(np.median(runs))


def make_jpeg_folder(root: Path, n: int, width: int, height: int) -> None:
    """``n`` night JPEGs in ``root/trainA`` and ``n`` day JPEGs in ``root/trainB``."""
    for domain in ("trainA", "trainB"):
        (root / domain).mkdir(parents=True)
    for i in range(n):
        night = render_night(2 * i, height=height, width=width)
        day = render_day(2 * i + 1, height=height, width=width)
        Image.fromarray(night).save(root / "trainA" / f"{i:05d}.jpg", quality=90)
        Image.fromarray(day).save(root / "trainB" / f"{i:05d}.jpg", quality=90)


def bench_loader(
    dataset: NightDayScenes | UnpairedImageFolder, workers: int, batch: int, batches: int
) -> float:
    """Images per second (A and B both counted) after the first batch."""
    loader = make_loader(dataset, batch_size=batch, num_workers=workers, seed=0)
    it = iter(loader)
    next(it)  # start-up
    t = time.perf_counter()
    n = 0
    for _ in range(batches):
        try:
            b = next(it)
        except StopIteration:
            break
        n += 2 * b["A"].shape[0]
    return n / (time.perf_counter() - t)


def bench_demo(steps: int, repeat: int) -> None:
    """The demo's supply against its demand: built-in scenes at 64², batch 4, no workers (as
    ``make demo`` loads them) vs the images per second one ``night2day`` training step at 64²,
    batch 4, on one thread (as ``make demo`` trains) consumes."""
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from train_step import CONFIGS, trainer_step

    cfg = CONFIGS["demo"]
    step, _ = trainer_step(cfg, torch.device("cpu"), "trainer")
    shape = (cfg["batch"], 3, cfg["size"], cfg["size"])
    a, b = torch.rand(shape), torch.rand(shape)
    for _ in range(2):
        step(a, b)
    t = time.perf_counter()
    for _ in range(steps):
        step(a, b)
    demand = steps * 2 * cfg["batch"] / (time.perf_counter() - t)
    scenes = NightDayScenes(num_scenes=10_000, size=cfg["size"])
    best, med = best_and_median(functools.partial(bench_loader, scenes, 0, cfg["batch"], 40), repeat)
    print("| demo (64², batch 4, 1 thread) | images/s |")
    print("|---|---|")
    print(f"| a training step consumes | {demand:.1f} |")
    print(f"| built-in scenes deliver, 0 workers (best / median) | {best:.0f} / {med:.0f} |")
    print(f"| supply / demand (median) | {med / demand:.0f}x |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--renders", type=int, default=100, help="renders per timing of the renderer")
    p.add_argument("--num-jpegs", type=int, default=200, help="JPEGs per domain")
    p.add_argument("--jpeg-size", type=int, nargs=2, default=(640, 360), metavar=("W", "H"))
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--batches", type=int, default=40, help="timed batches per loader run")
    p.add_argument("--workers", type=int, nargs="+", default=[0, 2])
    p.add_argument("--repeat", type=int, default=3, help="runs per measurement (best, median)")
    p.add_argument("--demo", action="store_true", help="only the demo's supply vs demand check")
    args = p.parse_args()
    torch.set_num_threads(1)
    if args.demo:
        bench_demo(steps=10, repeat=args.repeat)
        return

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, load {load:.2f}")
    runs = [bench_renderer(args.size, args.renders) for _ in range(args.repeat)]
    print("| measurement | best | median |")
    print("|---|---|---|")
    for key, label in (("day", "renderer, 1 core, day"), ("night", "renderer, 1 core, night")):
        for suffix, unit in (("", "images/s"), ("_cpu", "images per CPU-second")):
            vals = [r[key + suffix] for r in runs]
            print(f"| {label} | {max(vals):.0f} {unit} | {np.median(vals):.0f} {unit} |")
    vals = [r["layout_only"] for r in runs]
    print(f"| scene layout only (sample_scene) | {max(vals):.0f} /s | {np.median(vals):.0f} /s |")

    scenes = NightDayScenes(num_scenes=10_000, size=args.size)
    with tempfile.TemporaryDirectory() as tmp:
        w, h = args.jpeg_size
        make_jpeg_folder(Path(tmp), args.num_jpegs, w, h)
        folders = {
            name: UnpairedImageFolder(root=tmp, transform=recipe(name, size=args.size))
            for name in ("seed", "paper")
        }
        for workers in args.workers:
            cases: list[tuple[str, NightDayScenes | UnpairedImageFolder]] = [
                (f"JPEG {w}x{h} folder, recipe {name}", ds) for name, ds in folders.items()
            ]
            cases.append(("built-in scenes", scenes))
            for label, ds in cases:
                run = functools.partial(bench_loader, ds, workers, args.batch, args.batches)
                best, med = best_and_median(run, args.repeat)
                print(f"| {label}, {workers} workers | {best:.0f} images/s | {med:.0f} images/s |")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"# load after: {load:.2f}; numpy {np.__version__}, torch {torch.__version__}")


if __name__ == "__main__":
    main()
