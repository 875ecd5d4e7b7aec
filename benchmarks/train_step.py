"""Seconds per full CycleGAN iteration: a plain reference-style loop vs the library's Trainer.

One iteration = both generators and both discriminators, forward + backward + optimiser steps.

- ``plain``: an eager fp32 loop written as the reference CycleGAN code does it
  (``set_requires_grad`` toggling, ``backward_G`` then ``backward_D_A`` and ``backward_D_B``
  separately, ``zero_grad``, default Adam, contiguous NCHW tensors).
- ``plain-bf16``: the same loop plus one line, ``torch.autocast(device, torch.bfloat16)``:
  what any user gets for free.
- ``trainer``: :class:`cyclegan_ms.training.Trainer` as the presets run it,
  ``train.precision = "auto"`` (:func:`cyclegan_ms.training.pick_fast_path`: bf16 autocast, NCHW
  on a CPU with bf16; TF32 on CUDA), fused passes (one generator pass for translation and
  identity, one discriminator pass for real and fake), foreach/fused Adam, ``set_to_none``, one
  host sync per step.
- ablations: ``trainer-fp32``, ``trainer-bf16``, ``trainer-bf16-cl`` (bf16 + channels_last, the
  fast path before ``precision="auto"``), ``trainer-cl`` (fp32 + channels_last),
  ``trainer-unfused`` (one pass per batch), ``trainer-compile`` (``torch.compile``; opt-in).

Each mode runs in its own subprocess (so peak RSS is that mode's alone), after warm-up
iterations; the median of the timed iterations is reported. Achieved GFLOP/s comes from
``torch.utils.flop_counter`` on one iteration, against this machine's measured bf16 and fp32
matmul rates (the limits a convolution can approach).

    python benchmarks/train_step.py                       # both configurations, all modes
    python benchmarks/train_step.py --config seed --modes plain trainer --repeats 5
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CONFIGS: dict[str, dict[str, Any]] = {
    # the classic CycleGAN: resnet_9blocks + 70x70 PatchGAN, 256², batch 1, pool 50, [-1, 1]
    "paper": {
        "G": {"name": "resnet_9blocks"},
        "D": {"name": "patchgan"},
        "size": 256,
        "batch": 1,
        "pool": 50,
        "weights": {"identity": 5.0, "discriminator": 0.5},
        "lr_g": 2e-4,
        "lr_d": 2e-4,
        "betas": (0.5, 0.999),
    },
    # the night-to-day seed: seed_unet + seed_multiscale, 256², batch 4, no pool, [0, 1]
    "seed": {
        "G": {"name": "seed_unet"},
        "D": {"name": "seed_multiscale"},
        "size": 256,
        "batch": 4,
        "pool": 0,
        "weights": {"identity": 0.5},
        "lr_g": 5e-5,
        "lr_d": 1e-4,
        "betas": (0.9, 0.999),
    },
    # the demo: the night2day recipe as `make demo` trains it, 64², batch 4, pool 50, [0, 1]
    "demo": {
        "G": {"name": "seed_unet", "bottleneck": "conv", "upsample": "resize", "residual": "add",
              "residual_smooth": 1.0, "image_size": 64},
        "D": {"name": "seed_multiscale"},
        "size": 64,
        "batch": 4,
        "pool": 50,
        "weights": {"identity": 0.5},
        "lr_g": 2e-4,
        "lr_d": 2e-4,
        "betas": (0.5, 0.999),
    },
}


def bf16_supported() -> bool:
    from cyclegan_ms.precision import cpu_has_bf16

    return torch.cuda.is_bf16_supported() if torch.cuda.is_available() else cpu_has_bf16()


def matmul_gflops(n: int = 2048, repeats: int = 5, dtype: torch.dtype = torch.float32) -> float:
    """This machine's measured matmul rate in ``dtype``: the limit a convolution can approach."""
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    a @ b
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t0)
    return 2 * n**3 / statistics.median(times) / 1e9


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# --------------------------------------------------------------------------- the plain loop
def plain_loop(cfg: dict[str, Any], device: torch.device) -> tuple[Any, Any]:
    """Reference-style CycleGAN iteration (fp32, eager, separate D backward passes)."""
    import cyclegan_ms as cms
    from cyclegan_ms.losses import L1Loss, LSGANLoss
    from cyclegan_ms.pool import ImagePool

    netG_A = cms.from_config("generator", cfg["G"]).to(device)
    netG_B = cms.from_config("generator", cfg["G"]).to(device)
    netD_A = cms.from_config("discriminator", cfg["D"]).to(device)
    netD_B = cms.from_config("discriminator", cfg["D"]).to(device)
    gan, l1 = LSGANLoss(), L1Loss()
    w = cfg["weights"]
    d_scale = w.get("discriminator", 1.0)
    opt_G = torch.optim.Adam(
        [*netG_A.parameters(), *netG_B.parameters()], lr=cfg["lr_g"], betas=cfg["betas"]
    )
    opt_D = torch.optim.Adam(
        [*netD_A.parameters(), *netD_B.parameters()], lr=cfg["lr_d"], betas=cfg["betas"]
    )
    pool_A, pool_B = ImagePool(cfg["pool"], seed=1), ImagePool(cfg["pool"], seed=2)

    def set_requires_grad(nets: list[nn.Module], flag: bool) -> None:
        for net in nets:
            for p in net.parameters():
                p.requires_grad = flag

    def step(real_A: torch.Tensor, real_B: torch.Tensor) -> float:
        fake_B = netG_A(real_A)
        rec_A = netG_B(fake_B)
        fake_A = netG_B(real_B)
        rec_B = netG_A(fake_A)
        # backward_G
        set_requires_grad([netD_A, netD_B], False)
        opt_G.zero_grad()
        idt_A = netG_A(real_B)
        idt_B = netG_B(real_A)
        loss_G = (
            gan.generator(netD_A(fake_B))
            + gan.generator(netD_B(fake_A))
            + 10.0 * (l1(rec_A, real_A) + l1(rec_B, real_B))
            + w["identity"] * (l1(idt_A, real_B) + l1(idt_B, real_A))
        )
        for g in (netG_A, netG_B):
            reg = getattr(g, "regularization", None)
            if reg is not None:
                loss_G = loss_G + reg()
        loss_G.backward()
        opt_G.step()
        # backward_D_A, backward_D_B
        set_requires_grad([netD_A, netD_B], True)
        opt_D.zero_grad()
        fb = pool_B.query(fake_B.detach())
        loss_D_A = d_scale * gan.discriminator(netD_A(real_B), netD_A(fb))
        loss_D_A.backward()
        fa = pool_A.query(fake_A.detach())
        loss_D_B = d_scale * gan.discriminator(netD_B(real_A), netD_B(fa))
        loss_D_B.backward()
        opt_D.step()
        return 0.0  # the reference reads losses only every print_freq iterations

    return step, (netG_A, netG_B, netD_A, netD_B)


# --------------------------------------------------------------------------- the trainer
TRAINER_MODES: dict[str, dict[str, Any]] = {
    # the presets' default: train.precision = "auto" (cyclegan_ms.training.pick_fast_path)
    "trainer": {"precision": "auto"},
    "trainer-fp32": {"precision": "fp32"},
    "trainer-bf16": {"precision": "bf16"},
    "trainer-bf16-cl": {"precision": "bf16", "channels_last": True},  # the fast path until 0.4
    "trainer-cl": {"precision": "fp32", "channels_last": True},
    "trainer-unfused": {"precision": "auto", "fuse_passes": False},  # one pass per batch
    "trainer-compile": {"precision": "auto", "compile": True},
}


def trainer_step(cfg: dict[str, Any], device: torch.device, mode: str) -> tuple[Any, Any]:
    from cyclegan_ms import CycleGAN
    from cyclegan_ms.training import OptimConfig, TrainConfig, Trainer

    opts = TRAINER_MODES[mode]
    model = CycleGAN(
        cfg["G"], cfg["G"], cfg["D"], cfg["D"], weights=cfg["weights"],
        fuse_passes=opts.get("fuse_passes", True),
    )

    class _Noise(torch.utils.data.Dataset):  # never used: batches are fed directly
        def __len__(self) -> int:
            return 64

        def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
            raise RuntimeError

    trainer = Trainer(
        model,
        _Noise(),
        run_dir="/tmp/cyclegan_ms_bench",
        train=TrainConfig(
            steps=10**6,
            batch_size=cfg["batch"],
            pool_size=cfg["pool"],
            precision=opts["precision"],
            channels_last=opts.get("channels_last", False),
            compile=opts.get("compile", False),
            progress=False,
            device=str(device),
        ),
        optim_g=OptimConfig(lr=cfg["lr_g"], betas=cfg["betas"]),
        optim_d=OptimConfig(lr=cfg["lr_d"], betas=cfg["betas"]),
    )

    def step(real_A: torch.Tensor, real_B: torch.Tensor) -> float:
        with trainer.backends():  # TF32 / cuDNN autotuning as fit() sets them
            out = trainer.train_step({"A": real_A, "B": real_B})
        return 0.0 if out else float("nan")  # the library logs every N steps; no host copy

    return step, tuple(model.children())


def flops_of(step: Any, a: torch.Tensor, b: torch.Tensor) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        step(a, b)
    return float(counter.get_total_flops())


def worker(config: str, mode: str, warmup: int, repeats: int, device_name: str) -> dict[str, Any]:
    torch.manual_seed(0)
    cfg = CONFIGS[config]
    device = torch.device(device_name)
    if mode in ("plain", "plain-bf16"):
        step, _ = plain_loop(cfg, device)
        if mode == "plain-bf16":  # the plain loop plus one autocast line, nothing else
            fp32_step = step

            def step(real_A: torch.Tensor, real_B: torch.Tensor) -> float:
                with torch.autocast(device.type, dtype=torch.bfloat16):
                    return fp32_step(real_A, real_B)
    else:
        step, _ = trainer_step(cfg, device, mode)
    lo = -1.0 if config == "paper" else 0.0
    a = (torch.rand(cfg["batch"], 3, cfg["size"], cfg["size"]) * (1 - lo) + lo).to(device)
    b = (torch.rand(cfg["batch"], 3, cfg["size"], cfg["size"]) * (1 - lo) + lo).to(device)
    for _ in range(warmup):
        step(a, b)
    times, cpu_times = [], []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0, c0 = time.perf_counter(), time.process_time()
        step(a, b)
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
        cpu_times.append(time.process_time() - c0)
    # FlopCounterMode does not see inside compiled graphs: the same model does the same work
    flops = flops_of(step, a, b) if mode != "trainer-compile" else float("nan")
    med = statistics.median(times)
    return {
        "config": config,
        "mode": mode,
        "seconds_per_iter": med,
        "cpu_seconds_per_iter": statistics.median(cpu_times),
        "all_seconds": [round(t, 3) for t in times],
        "gflop_per_iter": flops / 1e9,
        "achieved_gflops": flops / med / 1e9,
        "peak_rss_mib": peak_rss_mib(),
        "peak_cuda_mib": torch.cuda.max_memory_allocated() / 2**20 if device.type == "cuda" else None,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", nargs="*", default=["paper", "seed"], choices=list(CONFIGS))
    p.add_argument(
        "--modes", nargs="*", default=["plain", "plain-bf16", "trainer-fp32", "trainer"],
        choices=["plain", "plain-bf16", *TRAINER_MODES],
    )
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "train_step.json"))
    p.add_argument("--worker", nargs=2, metavar=("CONFIG", "MODE"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker[0], args.worker[1], args.warmup, args.repeats, args.device)))
        return

    info = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()} {platform.processor()}, {os.cpu_count()} cores",
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "bf16": bf16_supported(),
        "device": args.device,
        "matmul_gflops_fp32": round(matmul_gflops(), 1),
        "matmul_gflops_bf16": round(matmul_gflops(dtype=torch.bfloat16), 1) if bf16_supported() else None,
    }
    print(json.dumps(info))
    results = []
    for config in args.config:
        for mode in args.modes:
            cmd = [sys.executable, __file__, "--worker", config, mode, "--warmup", str(args.warmup),
                   "--repeats", str(args.repeats), "--device", args.device]
            out = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if out.returncode != 0:
                print(out.stderr[-2000:], file=sys.stderr)
                raise SystemExit(f"{config}/{mode} failed")
            r = json.loads(out.stdout.strip().splitlines()[-1])
            results.append(r)
            if r["gflop_per_iter"] != r["gflop_per_iter"]:  # NaN: take the eager count
                ref = next((x for x in results if x["config"] == config and x["mode"] == "trainer"), None)
                if ref:
                    r["gflop_per_iter"] = ref["gflop_per_iter"]
                    r["achieved_gflops"] = ref["gflop_per_iter"] / r["seconds_per_iter"]
            limit = info["matmul_gflops_bf16"] or info["matmul_gflops_fp32"]
            r["fraction_of_bf16_matmul"] = r["achieved_gflops"] / limit
            r["fraction_of_fp32_matmul"] = r["achieved_gflops"] / info["matmul_gflops_fp32"]
            print(f"{config:6} {mode:15} {r['seconds_per_iter']:.3f} s/it  "
                  f"{r['achieved_gflops']:.1f} GFLOP/s ({100 * r['fraction_of_bf16_matmul']:.0f} % of the "
                  f"bf16 matmul rate)  peak RSS {r['peak_rss_mib']:.0f} MiB", flush=True)
        base = next((r for r in results if r["config"] == config and r["mode"] == "plain"), None)
        fast = next((r for r in results if r["config"] == config and r["mode"] == "trainer"), None)
        if base and fast:
            print(f"{config:6} speed-up of the trainer's fast path: "
                  f"{base['seconds_per_iter'] / fast['seconds_per_iter']:.2f}x")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"info": info, "results": results}, indent=2))


if __name__ == "__main__":
    main()
