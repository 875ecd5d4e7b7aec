"""Translation quality at a fixed step budget: PSNR / SSIM against the built-in day ground truth.

Trains each system for the same number of steps on the built-in night/day scenes and scores the
night → day translations of held-out scenes against their day renders, beside the identity
baseline (the night image unchanged):

- ``seed``: the seed preset (seed_unet + seed_multiscale);
- ``paper``: the cyclegan_paper preset (resnet_9blocks + 70×70 PatchGAN);
- ``seed+pyramid``: the seed with its discriminator wrapped in ``pyramid`` (2 scales);
- ``seed+multiview``: the seed with its discriminator wrapped in ``multiview``.

    python benchmarks/quality.py --steps 300 --image-size 64
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cyclegan_ms.inference.metrics import evaluate, scene_pairs  # noqa: E402
from cyclegan_ms.training.config import load_config  # noqa: E402
from cyclegan_ms.training.experiment import build_trainer, value_range_of  # noqa: E402


def systems(size: int) -> dict[str, tuple[str, list[str]]]:
    seed = [f"model.generator.image_size={size}"]
    inner = '{name = "seed_multiscale"}'
    return {
        "seed": ("seed", seed),
        "paper": ("cyclegan_paper", [f"data.load_size={size * 286 // 256}"]),
        "seed+pyramid": (
            "seed",
            [*seed, "model.discriminator={name = \"pyramid\", discriminator = " + inner + ", num_scales = 2}"],
        ),
        "seed+multiview": (
            "seed",
            [*seed, "model.discriminator={name = \"multiview\", discriminator = " + inner + "}"],
        ),
    }


def run(name: str, preset: str, extra: list[str], args: argparse.Namespace) -> dict[str, Any]:
    overrides = [
        f"data.image_size={args.image_size}",
        f"train.steps={args.steps}",
        "train.checkpoint_every=0",
        "train.log_every=25",
        "train.progress=false",
        f"train.precision=\"{args.precision}\"",
        *extra,
    ]
    cfg = load_config(preset, overrides)
    run_dir = Path(args.out_dir) / name.replace("+", "_")
    t0 = time.perf_counter()
    trainer = build_trainer(cfg, run_dir)
    trainer.fit()
    seconds = time.perf_counter() - t0
    vr = value_range_of(cfg.data)
    pairs = list(scene_pairs(args.eval_scenes, size=args.image_size, value_range=vr))
    trainer.model.eval()
    result = evaluate(trainer.model, pairs, batch_size=16)
    return {
        "system": name,
        "steps": args.steps,
        "train_seconds": round(seconds, 1),
        "psnr": round(result.psnr or 0.0, 3),
        "ssim": round(result.ssim or 0.0, 4),
        "identity_psnr": round(result.input_psnr or 0.0, 3),
        "identity_ssim": round(result.input_ssim or 0.0, 4),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--image-size", type=int, default=64)
    p.add_argument("--eval-scenes", type=int, default=64)
    p.add_argument("--precision", default="bf16", choices=["fp32", "bf16"])
    p.add_argument("--systems", nargs="*", default=None)
    p.add_argument("--out-dir", default="/tmp/cyclegan_ms_quality")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "quality.json"))
    p.add_argument("--merge", action="store_true", help="update rows of an existing --out file")
    args = p.parse_args()
    table = systems(args.image_size)
    names = args.systems or list(table)
    rows = []
    for name in names:
        preset, extra = table[name]
        row = run(name, preset, extra, args)
        rows.append(row)
        print(f"{name:16} PSNR {row['psnr']:6.2f} dB  SSIM {row['ssim']:.3f}  "
              f"(identity {row['identity_psnr']:.2f} / {row['identity_ssim']:.3f})  "
              f"{row['train_seconds']:.0f} s", flush=True)
    info = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()} {platform.processor()}, torch {torch.__version__}, "
                   f"{torch.get_num_threads()} threads",
        "image_size": args.image_size,
        "eval_scenes": args.eval_scenes,
        "precision": args.precision,
    }
    out = Path(args.out)
    if args.merge and out.is_file():
        old = [r for r in json.loads(out.read_text())["results"] if r["system"] not in names]
        rows = old + rows
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"info": info, "results": rows}, indent=2))


if __name__ == "__main__":
    main()
