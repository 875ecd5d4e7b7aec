"""Flicker of night → day video translation, with and without the temporal-stability options.

Translates held-out built-in drives (clips of one scene with the camera driving forward, night
frames with fresh sensor noise each frame, and their day ground truth) frame by frame with a
trained checkpoint, under four settings of :class:`cyclegan_ms.video.TemporalOptions`:

* ``frame by frame``: ``TemporalOptions.off()``;
* ``statistics average``: normalisation statistics smoothed over frames (``stats_decay=0.9``);
* ``temporal filter``: the difference-guided filter (the defaults, ``TemporalOptions()``);
* ``both``: the two together.

and reports per-frame PSNR/SSIM against the day truth and the temporal metrics of
:mod:`cyclegan_ms.metrics.flicker` (temporal error, change error, static flicker). The filter
settings (the defaults) were chosen on other drives (evaluation scenes 1000-1005) than those
reported here (0 onward). Writes ``benchmarks/results/video.json`` and a strip of frames,
``docs/_static/video/strip.png`` (rows: night input, frame by frame, temporal filter, day truth).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/video.py \\
        --checkpoint /tmp/q/night2day_s0/checkpoints/step_00000338.safetensors
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from cyclegan_ms.data.scenes import drive_pairs
from cyclegan_ms.inference import Translator
from cyclegan_ms.metrics import evaluate_drives
from cyclegan_ms.video import FrameTranslator, TemporalOptions

ROOT = Path(__file__).resolve().parent.parent
SETTINGS: dict[str, TemporalOptions] = {
    "frame by frame": TemporalOptions.off(),
    "statistics average": TemporalOptions(stats_decay=0.9, filter_strength=0.0),
    "temporal filter": TemporalOptions(),
    "both": TemporalOptions(stats_decay=0.9),
}
KEYS = ("psnr", "ssim", "temporal_error", "change_error", "static_flicker", "flicker")


def strip(translator: Translator, size: int, frames: int, out: Path) -> None:
    """Night | frame by frame | temporal filter | day truth, ``frames`` consecutive frames."""
    night, day = next(drive_pairs(1, frames=frames, size=size))
    rows = [night]
    for name in ("frame by frame", "temporal filter"):
        ft = FrameTranslator(translator, temporal=SETTINGS[name])
        rows.append(torch.cat([ft(night[i : i + 1]) for i in range(frames)]))
    rows.append(day)
    grid = torch.cat([torch.cat(list(r.clamp(0, 1)), dim=2) for r in rows], dim=1)
    arr = (grid.permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(out, optimize=True)


def run(translator: Translator, size: int, drives: int, frames: int) -> dict[str, dict[str, float]]:
    clips = list(drive_pairs(drives, frames=frames, size=size))
    results: dict[str, dict[str, float]] = {}
    for name, temporal in SETTINGS.items():
        t0 = time.process_time()
        r = evaluate_drives(FrameTranslator(translator, temporal=temporal), clips)
        cpu = time.process_time() - t0
        row = {k: float(getattr(r, k)) for k in KEYS}
        row["input_psnr"] = float(r.input_psnr or 0.0)
        row["input_ssim"] = float(r.input_ssim or 0.0)
        row["input_temporal_error"] = float(r.input_temporal_error or 0.0)
        row["truth_change"] = float(r.truth_change)
        row["cpu_ms_per_frame"] = 1000 * cpu / r.frames
        results[name] = row
        print(f"{size}px {name:<20} " + " ".join(f"{k}={row[k]:.4f}" for k in KEYS) + f" ({row['cpu_ms_per_frame']:.1f} CPU-ms/frame)", flush=True)
    return results


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--checkpoint", default="/tmp/q/night2day_s0/checkpoints/step_00000338.safetensors")
    p.add_argument("--sizes", default="64,128", help="comma-separated frame sides")
    p.add_argument("--drives", default="16,6", help="drives per size (comma-separated)")
    p.add_argument("--frames", type=int, default=16)
    p.add_argument("--json", default=str(ROOT / "benchmarks/results/video.json"))
    p.add_argument("--strip", default=str(ROOT / "docs/_static/video/strip.png"))
    args = p.parse_args()
    torch.set_num_threads(1)
    translator = Translator(args.checkpoint, device="cpu")
    sizes = [int(s) for s in args.sizes.split(",")]
    counts = [int(s) for s in args.drives.split(",")]
    report: dict[str, object] = {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {torch.get_num_threads()} thread, torch {torch.__version__}",
        "checkpoint": args.checkpoint,
        "frames": args.frames,
        "settings": {k: dataclasses.asdict(v) for k, v in SETTINGS.items()},
        "results": {},
    }
    for size, n in zip(sizes, counts, strict=True):
        report["results"][f"{size}px, {n} drives"] = run(translator, size, n, args.frames)  # type: ignore[index]
    strip(translator, max(sizes), 6, Path(args.strip))
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.json} and {args.strip}")


if __name__ == "__main__":
    main()
