"""Night → day, end to end: the library's night2day recipe, trained and measured.

Trains the ``night2day`` preset (the seed design: multi-scale U-Net generators, LSGAN, cycle 10,
identity 0.5, batch 4, no image pool, pixels in [0, 1]; with the measured deviations of
``benchmarks/quality.py``: a residual output that starts as the identity, resize-convolution
upsampling, a size-free bottleneck, Adam at 2e-4, an EMA of the generators, and the
classic 70×70 PatchGAN instead of the seed's three-scale discriminator) on the built-in
procedural night/day road scenes for a budget of CPU time
(default 10 CPU-minutes: the process's CPU time, so a busy machine gets the same training, only
later). Then it measures PSNR, SSIM and structure SSIM against the day ground truth of held-out
scenes for the trained model and training-free baselines (the night image unchanged, auto-gamma,
histogram equalisation, and the best global tone curve fitted with the truth), writes
``eval.json`` and ``results.png``, and prints a table.

``--preset seed`` trains the exact seed system instead, ``--preset cyclegan_paper`` the classic
one. On a 2-core CPU the default trains at 64×64 with bf16 autocast where the CPU supports it.

Usage::

    python examples/night_to_day.py                      # 10 CPU-minutes on built-in scenes
    python examples/night_to_day.py --minutes 60 --image-size 128
    python examples/night_to_day.py --preset seed        # the exact seed system
    python examples/night_to_day.py --data /data/bdd100k_night2day   # trainA/trainB folders
    python examples/night_to_day.py --overwrite          # again into the same runs/night_to_day
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import torch

import cyclegan_ms
from cyclegan_ms.data.pairs import scene_pairs
from cyclegan_ms.metrics import psnr, ssim, structure_ssim
from cyclegan_ms.metrics.baselines import auto_gamma, histogram_equalize, oracle_curve
from cyclegan_ms.training.config import load_config
from cyclegan_ms.training.experiment import build_trainer, value_range_of
from cyclegan_ms.training.run_folder import RunFolderError, check_run_folder
from cyclegan_ms.utils.images import save_grid


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=10.0, help="training budget in minutes (default 10)")
    p.add_argument("--clock", default="cpu", choices=["cpu", "wall"],
                   help="what --minutes counts: the process's CPU time (default) or wall time")
    p.add_argument("--steps", type=int, default=1_000_000, help="stop earlier after this many steps")
    p.add_argument(
        "--threads", type=int, default=None,
        help="intra-op CPU threads (default: 1 with --clock cpu, where idle threads' spin-waits on "
             "a busy machine would be charged to the budget; all cores with --clock wall)",
    )
    p.add_argument("--image-size", type=int, default=64, help="training/eval side (default 64)")
    p.add_argument("--batch-size", type=int, default=None, help="default: the preset's (seed: 4)")
    p.add_argument("--preset", default="night2day", help="night2day (default), seed or cyclegan_paper")
    p.add_argument("--data", default=None, help="folder with trainA/trainB (night/day) instead of built-in scenes")
    p.add_argument("--run-dir", default="runs/night_to_day", help="output folder")
    p.add_argument("--overwrite", action="store_true",
                   help="replace a run already in --run-dir (it is moved aside to RUN_DIR.old-N)")
    p.add_argument("--eval-scenes", type=int, default=64, help="held-out scenes to measure on")
    p.add_argument(
        "--precision", default="auto", choices=["auto", "fp32", "bf16", "fp16"],
        help="auto (default): the library's pick for the device (bf16 on CPUs with bf16, TF32 on CUDA)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="extra config overrides")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p.parse_args(argv)


def overrides_for(args: argparse.Namespace, generator_name: str) -> list[str]:
    o = [
        f"data.image_size={args.image_size}",
        f"train.max_minutes={args.minutes}",
        f'train.budget_clock="{args.clock}"',
        f"train.steps={args.steps}",
        f"train.seed={args.seed}",
        f'train.precision="{args.precision}"',
        "train.log_every=10",
        "train.sample_every=100",
        "train.checkpoint_every=200",
        f"train.progress={'false' if args.no_progress else 'true'}",
    ]
    if args.batch_size is not None:
        o.append(f"train.batch_size={args.batch_size}")
    if generator_name == "seed_unet":
        o.append(f"model.generator.image_size={args.image_size}")
    if args.data is not None:
        o += ["data.source=\"folder\"", f"data.root=\"{args.data}\""]
    if args.preset == "cyclegan_paper":
        o.append(f"data.load_size={args.image_size * 286 // 256}")
    return o + list(args.set)


# ----------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    threads = args.threads if args.threads is not None else (1 if args.clock == "cpu" else torch.get_num_threads())
    if threads < 1:
        raise SystemExit(f"--threads must be >= 1; got {threads}")
    torch.set_num_threads(threads)
    raw_preset = cyclegan_ms.training.load_preset(args.preset)
    gen_name = raw_preset["model"]["generator"]["name"]
    cfg = load_config(args.preset, overrides_for(args, gen_name))
    run_dir = Path(args.run_dir)
    vr = value_range_of(cfg.data)
    t0 = time.perf_counter()
    try:  # a run folder holds one run: refuse (before the set-up) to mix this one into another
        check_run_folder(run_dir, overwrite=args.overwrite)
    except RunFolderError as err:
        raise SystemExit(f"night_to_day.py: {err} (here: --overwrite or another --run-dir)") from None
    trainer = build_trainer(cfg, run_dir, overwrite=args.overwrite)
    print(f"training the {args.preset!r} system for up to {args.minutes:g} min at "
          f"{cfg.data.image_size}x{cfg.data.image_size}, batch {cfg.train.batch_size}, "
          f"{trainer.precision} on {trainer.device.type} -> {run_dir}")
    result = trainer.fit()
    train_s = time.perf_counter() - t0

    model = cyclegan_ms.load(run_dir)  # rebuilt from the checkpoint alone
    report: dict[str, Any] = {
        "preset": args.preset,
        "steps": result.step,
        "train_seconds": round(train_s, 1),
        "seconds_per_step": round(result.seconds / max(1, result.step), 3),
        "image_size": cfg.data.image_size,
        "batch_size": cfg.train.batch_size,
        "precision": trainer.precision,
        "machine": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, "
                   f"torch {torch.__version__}",
        "data": "built-in scenes" if args.data is None else str(args.data),
    }
    if args.data is None:
        pairs = list(scene_pairs(args.eval_scenes, size=cfg.data.image_size, value_range=vr, seed=0))
        nights = torch.stack([a for a, _ in pairs])
        days = torch.stack([b for _, b in pairs])
        model.eval()
        with torch.no_grad():
            translated = torch.cat([model.translate(nights[i : i + 16]) for i in range(0, len(nights), 16)])
        gam = auto_gamma(nights, vr)

        def score(x: torch.Tensor) -> dict[str, float]:
            return {
                "psnr": round(float(psnr(x, days, data_range=vr).mean()), 3),
                "ssim": round(float(ssim(x, days, data_range=vr).mean()), 4),
                "structure_ssim": round(float(structure_ssim(x, days, data_range=vr).mean()), 4),
            }

        table = {
            f"cyclegan ({args.preset})": score(translated),
            "identity (night unchanged)": score(nights),
            "auto-gamma": score(gam),
            "histogram equalisation": score(histogram_equalize(nights, vr)),
            "oracle global curve (uses the truth)": score(oracle_curve(nights, days, vr)),
        }
        report["eval_scenes"] = len(pairs)
        report["results"] = table
        rows = [[nights[i], gam[i], translated[i], days[i]] for i in range(min(4, len(pairs)))]
        save_grid(rows, run_dir / "results.png", value_range=vr)
        (run_dir / "eval.json").write_text(json.dumps(report, indent=2))
        print()
        print(f"Against the day ground truth, {len(pairs)} held-out scenes, "
              f"after {result.step} steps ({train_s / 60:.1f} min wall):")
        print(f"  {'method':<38} {'PSNR (dB)':>10} {'SSIM':>8} {'structure':>10}")
        for name, r in table.items():
            print(f"  {name:<38} {r['psnr']:>10.2f} {r['ssim']:>8.3f} {r['structure_ssim']:>10.3f}")
        print("\nresults.png columns: night | auto-gamma | translated | day ground truth")
    else:
        (run_dir / "eval.json").write_text(json.dumps(report, indent=2))
        print("real folders have no day ground truth for PSNR/SSIM: see `cyclegan-ms eval` for FID/KID")
    print(f"\npictures: {run_dir / 'results.png'} and {run_dir / 'samples'}/; loss curve: "
          f"{run_dir / 'loss_curve.png'}; metrics: {run_dir / 'metrics.jsonl'}")
    return report


if __name__ == "__main__":
    main(sys.argv[1:])
