"""Night → day quality at equal CPU-time budgets, several seeds, against hard baselines.

Every system trains in its own process with one thread for the same budget of *process CPU
time* (``train.budget_clock = "cpu"``), so jobs running side by side on a shared machine still
get the same work, and is then scored on held-out built-in scenes (never seen in training)
against their day ground truth, and on real photographs darkened by a physical low-light model:

- PSNR and SSIM against the day truth;
- structure SSIM: SSIM of the luma after matching its global mean/std to the truth's (colour and
  brightness no longer count, structure does);
- KID and FID of the translated set against the day truths (Inception features; 64 images make
  FID biased upwards, KID is the one to read);
- on the real photos, also "follows input": the share of photos whose translation is
  structurally closer to its own day photo than to any other (a generator that paints one
  memorised scene scores 1/N).

Baselines on the same scenes: the night image unchanged, auto-gamma, histogram equalisation,
CLAHE, the best global tone curve fitted with the truth (an oracle: the ceiling of every global
correction), and ``paired``: the night2day generator trained with L1 on aligned (night, day) pairs
for the same budget (the ceiling the unpaired system aims at; pix2pix's L1 term alone, through the
Trainer).

    python benchmarks/quality.py --budget demo              # 10 CPU-min per run, 64², 3 seeds
    python benchmarks/quality.py --budget long              # 60 CPU-min per run, 128²
    python benchmarks/quality.py --budget 3 --systems night2day night2day-residual --seeds 0 1 2
    python benchmarks/quality.py --report benchmarks/results/quality_demo.json   # table only

Results (one row per run, and the aggregated table) go to ``benchmarks/results/``; each run's
pictures go to ``--work-dir``. This file is the driver (one worker process per run, the job
pool, the results file); the benchmark's parts are the package ``benchmarks/quality_bench``
(systems, evaluation sets, scoring, trainers, report), built on :mod:`cyclegan_ms`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from quality_bench.report import aggregate, baseline_table, figure, markdown  # noqa: E402
from quality_bench.systems import BUDGETS, PAIRED, file_stem, parse_variant, systems  # noqa: E402

from cyclegan_ms.utils.images import save_grid  # noqa: E402


# ------------------------------------------------------------------------------------ worker
def worker(args: argparse.Namespace) -> None:
    """One run: train ``args.system`` for its budget, score it, write its row (JSON)."""
    torch.set_num_threads(args.threads)
    from quality_bench.scoring import follows_input, region_scores, scores
    from quality_bench.sets import eval_set, photo_set, region_masks
    from quality_bench.trainers import Translate, train_paired, train_unpaired

    run_dir = Path(args.work_dir) / file_stem(args.system, args.seed)
    c0 = time.process_time()
    raw: Translate | None = None
    if args.system == PAIRED:
        translate, steps = train_paired(args.size, args.seed, args.minutes, run_dir)
    else:
        translate, steps, raw = train_unpaired(args.system, args.size, args.seed, args.minutes, run_dir)
    cpu_s = time.process_time() - c0
    night, day = eval_set(args.size, args.eval_scenes)
    out = torch.cat([translate(night[i : i + 16]) for i in range(0, len(night), 16)])
    row: dict[str, Any] = {"system": args.system, "seed": args.seed, "steps": steps,
                           "train_cpu_s": round(cpu_s, 1), **scores(out, day, kid=args.kid)}
    near, far = region_masks(args.size, args.eval_scenes)
    row["near"], row["far"] = region_scores(out, day, near), region_scores(out, day, far)
    if raw is not None:  # the same run without the weight average
        raw_out = torch.cat([raw(night[i : i + 16]) for i in range(0, len(night), 16)])
        row["raw"] = scores(raw_out, day, kid=False)
    run_dir.mkdir(parents=True, exist_ok=True)
    save_grid([[night[i], out[i], day[i]] for i in range(4)], run_dir / "scenes.png")
    photos = photo_set(args.size)
    if photos is not None:
        pn, pd = photos
        po = translate(pn)
        row["photos"] = {**scores(po, pd, kid=False), "follows_input": follows_input(po, pd)}
        save_grid([[pn[i], po[i], pd[i]] for i in range(len(pn))], run_dir / "photos.png")
    Path(args.row_out).write_text(json.dumps(row))


# ------------------------------------------------------------------------------------ driver
def _run_job(system: str, seed: int, args: argparse.Namespace, rows_dir: Path) -> dict[str, Any]:
    out = rows_dir / f"{file_stem(system, seed)}.json"
    if out.is_file() and not args.force:
        return dict(json.loads(out.read_text()))
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", "--system", system,
           "--seed", str(seed), "--minutes", str(args.minutes), "--size", str(args.size),
           "--eval-scenes", str(args.eval_scenes), "--threads", str(args.threads),
           "--work-dir", args.work_dir, "--row-out", str(out)] + ([] if args.kid else ["--no-kid"])
    cmd += [f"--variant={v}" for v in args.variant]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": str(args.threads)})
    if proc.returncode != 0:
        print(f"FAILED {system} seed {seed}:\n{proc.stderr[-3000:]}", flush=True)
        return {"system": system, "seed": seed, "error": proc.stderr[-500:]}
    row = dict(json.loads(out.read_text()))
    print(f"{system:28} seed {seed}  {row['steps']:5d} steps  PSNR {row['psnr']:6.2f}  SSIM {row['ssim']:.3f}  "
          f"struct {row['struct']:.3f}  ({time.perf_counter() - t0:.0f} s wall)", flush=True)
    return row


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--budget", default="demo", help="'demo' (10 CPU-min, 64²), 'long' (60, 128²) or CPU-minutes")
    p.add_argument("--size", type=int, default=None, help="image side (default: the budget's)")
    p.add_argument("--systems", nargs="*", default=None, help="default: night2day seed classic paired")
    p.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2])
    p.add_argument("--jobs", type=int, default=2, help="runs side by side (each with --threads)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--eval-scenes", type=int, default=64)
    p.add_argument("--no-kid", dest="kid", action="store_false")
    p.add_argument("--force", action="store_true", help="rerun jobs whose row file exists")
    p.add_argument("--rows-dir", default=None,
                   help="where each run's row is cached (default <work-dir>/rows_<budget>_<size>); point it at "
                        "benchmarks/results/rows_<budget>_<size> to continue a budget across sessions")
    p.add_argument("--cached-only", action="store_true",
                   help="run nothing: aggregate the cached rows of the requested jobs (a partial long budget)")
    p.add_argument("--work-dir", default="/tmp/cyclegan_ms_quality")
    p.add_argument("--out", default=None, help="default benchmarks/results/quality_<budget>.json")
    p.add_argument("--variant", action="append", default=[], metavar="NAME=PRESET:K=V;K=V",
                   help="an extra system: a preset with overrides")
    p.add_argument("--report", default=None, help="print the table of a results file and exit")
    p.add_argument("--figure", default=None, metavar="OUT.png",
                   help="compose night | --systems' translations (seed 0) | truth from --work-dir and exit")
    # worker mode (one run; used by the driver)
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--system", help=argparse.SUPPRESS)
    p.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--minutes", type=float, default=None, help=argparse.SUPPRESS)
    p.add_argument("--row-out", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    for spec in args.variant:
        parse_variant(spec)
    if args.report:
        print(markdown(json.loads(Path(args.report).read_text())))
        return
    if args.figure:
        for which in ("scenes", "photos"):
            out = Path(args.figure)
            figure(args.systems, args.work_dir, args.size or 64, out.with_name(f"{out.stem}_{which}.png"), which=which)
        return
    if args.worker:
        worker(args)
        return
    minutes, size = BUDGETS.get(args.budget, (float(args.budget) if args.budget not in BUDGETS else 0.0, 64))
    args.minutes = minutes
    args.size = args.size or size
    names = args.systems or ["night2day", "seed", "classic", PAIRED]
    known = [*systems(args.size), PAIRED]
    for n in names:
        if n not in known:
            raise SystemExit(f"unknown system {n!r}; known: {', '.join(known)}")
    tag = args.budget if args.budget in BUDGETS else f"{minutes:g}min"
    out = Path(args.out or ROOT / "benchmarks" / "results" / f"quality_{tag}.json")
    rows_dir = Path(args.rows_dir or Path(args.work_dir) / f"rows_{tag}_{args.size}")
    rows_dir.mkdir(parents=True, exist_ok=True)
    jobs = [(n, s) for n in names for s in args.seeds]
    if args.cached_only:
        jobs = [(n, s) for n, s in jobs if (rows_dir / f"{file_stem(n, s)}.json").is_file()]
        if not jobs:
            raise SystemExit(f"--cached-only: no cached rows for these jobs in {rows_dir}")
    run: Callable[[tuple[str, int]], dict[str, Any]] = lambda job: _run_job(job[0], job[1], args, rows_dir)  # noqa: E731
    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        new_rows = list(pool.map(run, jobs))
    old: dict[str, Any] = json.loads(out.read_text()) if out.is_file() else {}
    keep = [r for r in old.get("rows", []) if (r["system"], r["seed"]) not in set(jobs)]
    rows = keep + new_rows
    result = {
        "info": {
            "date": time.strftime("%Y-%m-%d"),
            "machine": f"{platform.machine()} {platform.processor()}, {os.cpu_count()} cores, torch {torch.__version__}",
            "budget_cpu_minutes": minutes,
            "image_size": args.size,
            "threads_per_run": args.threads,
            "runs_side_by_side": args.jobs,
            "eval_scenes": args.eval_scenes,
            "precision": "bf16",
            "command": "python benchmarks/quality.py " + " ".join(sys.argv[1:] if argv is None else argv),
            "wall_seconds": round(time.perf_counter() - t0),
        },
        "baselines": baseline_table(args.size, args.eval_scenes, args.kid),
        "rows": rows,
    }
    result["table"] = aggregate(rows)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    print(markdown(result))


if __name__ == "__main__":
    main()
