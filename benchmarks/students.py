"""Teacher and distilled students per inference engine: speed per frame size, and quality.

For the teacher and each student (``student.safetensors`` written by ``cyclegan-ms distill``):

* **cost**: GFLOP per 256² image and per 720p frame (``torch.utils.flop_counter``);
* **speed**, per engine (:mod:`cyclegan_ms.inference.engines`) and frame size (360p, 720p,
  1080p): wall seconds and CPU seconds per frame and frames per second, over ``--frames``
  frames after one warm-up frame, through the :class:`~cyclegan_ms.inference.Translator` a user
  gets (``tile="auto"``: these sizes are translated whole), and each engine's parity (PSNR to
  ``eager_fp32`` on the same frame); ``eager_fp32`` is measured on one frame at 1080p only when
  ``--frames`` allows;
* **quality** on held-out built-in drives with the default temporal filter
  (:func:`~cyclegan_ms.metrics.evaluate_drives`): PSNR/SSIM to the day truth, temporal error,
  and (students) PSNR to the teacher's translation of the same frames.

Writes ``benchmarks/results/students.json``. Keep a run short on a shared machine (one thread,
a few frames). The students of the table come from (30 CPU-minutes each)::

    cyclegan-ms distill --teacher runs/night_to_day --run-dir runs/student_w4 \\
        --set train.max_minutes=30 --set train.budget_clock=cpu --set train.eval_every=500
    cyclegan-ms distill --teacher runs/night_to_day --student unet128.toml \\
        --set data.image_size=128 --run-dir runs/student_unet128 \\
        --set train.max_minutes=30 --set train.budget_clock=cpu --set train.eval_every=500

(``unet128.toml``: ``[generator]`` ``name = "unet_128"``, ``ngf = 16``, ``output = "sigmoid"``)
and the full table is::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/students.py --teacher runs/night_to_day \\
        --students runs/student_w4/student.safetensors,runs/student_unet128/student.safetensors \\
        --engines eager_fp32,eager_bf16,onnx_fp32,onnx_int8,openvino_bf16 --sizes 360,720,1080 --frames 3
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import time
from pathlib import Path

import torch

from cyclegan_ms.data.scenes import drive_pairs
from cyclegan_ms.inference import Translator
from cyclegan_ms.inference.engines import available_engines
from cyclegan_ms.metrics import evaluate_drives
from cyclegan_ms.metrics.image import psnr
from cyclegan_ms.training.distillation import gflops
from cyclegan_ms.video import FrameTranslator, TemporalOptions

ROOT = Path(__file__).resolve().parent.parent
HEIGHTS = {360: 640, 720: 1280, 1080: 1920}


def night_frame(height: int, seed: int = 0) -> torch.Tensor:
    """One held-out night drive frame at ``height`` (16:9), ``(1, 3, H, W)`` in [0, 1]."""
    night, _ = next(drive_pairs(1, frames=1, size=(height, HEIGHTS[height]), first=seed))
    return night[:1]


def speed(model: str, engine: str, height: int, frames: int) -> dict[str, float]:
    """Seconds per frame (wall and CPU) of ``engine`` at ``height``; parity to eager fp32."""
    x = night_frame(height)
    t = Translator(model, engine=engine, device="cpu")  # type: ignore[arg-type]
    y = t.tensor(x)  # warm-up: builds (exports, quantises, compiles) the engine
    wall, cpu = [], []
    for _ in range(frames):
        w0, c0 = time.perf_counter(), time.process_time()
        t.tensor(x)
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    ref = Translator(model, engine="eager_fp32", device="cpu").tensor(x)
    s = min(wall)
    return {
        "wall_s_per_frame": s,
        "cpu_s_per_frame": min(cpu),
        "fps": 1.0 / s,
        "parity_db": float(psnr(y, ref).min()),
    }


def quality(
    model: str, teacher: str | None, drives: int, frames: int, size: int
) -> dict[str, float]:
    """PSNR/SSIM to truth and temporal error on held-out drives; PSNR to the teacher."""
    clips = list(drive_pairs(drives, frames=frames, size=size, first=0))
    tr = Translator(model, device="cpu")
    r = evaluate_drives(FrameTranslator(tr, temporal=TemporalOptions()), clips)
    row = {"psnr": r.psnr, "ssim": r.ssim, "temporal_error": r.temporal_error}
    if teacher is not None:
        t = Translator(teacher, device="cpu")
        per = [float(psnr(tr.tensor(n), t.tensor(n)).mean()) for n, _ in clips]
        row["psnr_to_teacher"] = sum(per) / len(per)
    return {k: float(v) for k, v in row.items()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--teacher", required=True, help="teacher run folder or checkpoint")
    p.add_argument("--students", default="", help="comma-separated student files or runs")
    p.add_argument(
        "--engines", default=",".join(e for e in available_engines() if "compile" not in e)
    )
    p.add_argument("--sizes", default="360,720,1080")
    p.add_argument("--frames", type=int, default=2, help="timed frames per engine and size")
    p.add_argument("--drives", type=int, default=4)
    p.add_argument("--drive-frames", type=int, default=8)
    p.add_argument("--drive-size", type=int, default=256)
    p.add_argument(
        "--skip-teacher-speed-above",
        type=int,
        default=1080,
        help="largest size the teacher is timed at",
    )
    p.add_argument("--json", default=str(ROOT / "benchmarks/results/students.json"))
    args = p.parse_args()
    torch.set_num_threads(1)
    models = {"teacher": args.teacher} | {
        Path(s).parent.name or s: s for s in args.students.split(",") if s
    }
    report: dict[str, object] = {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} thread, torch {torch.__version__}",
        "command": "benchmarks/students.py "
        + " ".join(f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items() if k != "json"),
        "models": {},
    }
    for name, path in models.items():
        g = Translator(path, device="cpu").generator
        entry: dict[str, object] = {
            "path": path,
            "gflop_256": gflops(g, 256, 256),
            "gflop_720p": gflops(g, 720, 1280),
            "params_m": sum(q.numel() for q in g.parameters()) / 1e6,
            "speed": {},
        }
        for h in (int(s) for s in args.sizes.split(",")):
            if name == "teacher" and h > args.skip_teacher_speed_above:
                continue
            for engine in args.engines.split(","):
                row = speed(path, engine, h, args.frames)
                entry["speed"][f"{h}p {engine}"] = row  # type: ignore[index]
                print(
                    f"{name:<12} {h}p {engine:<13} {row['fps']:6.2f} fps  {row['cpu_s_per_frame']:.3f} CPU-s/frame  parity {row['parity_db']:.1f} dB",
                    flush=True,
                )
        entry["quality"] = quality(
            path,
            None if name == "teacher" else args.teacher,
            args.drives,
            args.drive_frames,
            args.drive_size,
        )
        print(f"{name:<12} quality {entry['quality']}", flush=True)
        report["models"][name] = entry  # type: ignore[index]
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
