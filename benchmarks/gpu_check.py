"""One prepared check of the CUDA paths (issue 30), for a session that has a GPU machine.

    python benchmarks/gpu_check.py [--out DIR] [--steps N]     # on a machine with CUDA
    python benchmarks/gpu_check.py --dry-run                   # the same checks on the CPU, tiny

Runs in a few minutes on one GPU and prints one table (also written to ``DIR/gpu_check.json``
and ``DIR/gpu_check.log``; default ``benchmarks/results/gpu_check``):

- ``train/<precision>[/channels_last]``: short training runs in fp32 (TF32), bf16 and fp16, NCHW
  and channels_last, with the pool, EMA and fused passes: ms per step, finite losses;
- ``host_syncs``: ``torch.cuda.set_sync_debug_mode("warn")`` over train steps with EMA, WGAN-GP
  and a multi-view discriminator: host syncs per step (the design has one, the losses);
- ``compile`` and ``compile+wgan_gp``: ``train.compile = true`` without and with a gradient
  penalty (the discriminators stay eager with one);
- ``resume``: 4 steps straight vs 2 + resume + 2 (``deterministic = true``): largest difference;
- ``ddp``: ``torchrun`` on every visible GPU (one process where there is one GPU: NCCL refuses
  two ranks on one device), then a resume of its checkpoint in one process (fewer GPUs);
- ``translate``: a tiled 1024x1536 translation on ``cuda``;
- ``export``: TorchScript traced on the GPU, loaded and run on the CPU, and
  :func:`~cyclegan_ms.inference.export.verify_export` parity.

Without CUDA (and without ``--dry-run``) it says so and exits with status 0.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cyclegan_ms import CycleGAN, load  # noqa: E402
from cyclegan_ms.inference import Translator  # noqa: E402
from cyclegan_ms.inference.export import export, verify_export  # noqa: E402
from cyclegan_ms.training import TrainConfig, Trainer  # noqa: E402


class Noise(torch.utils.data.Dataset[dict[str, torch.Tensor]]):
    """Random A and B images, the same for an index on every call (no decoding cost)."""

    def __init__(self, n: int, size: int) -> None:
        self.n, self.size = n, size

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        g = torch.Generator().manual_seed(i)
        return {k: torch.rand(3, self.size, self.size, generator=g) for k in ("A", "B")}


def model(
    tiny: bool, *, penalty: str | None = None, multiview: bool = False, night2day: bool = False
) -> CycleGAN:
    g: dict[str, Any] = {"name": "resnet_6blocks", "ngf": 4 if tiny else 32}
    if night2day:  # the presets' generator: its residual_smooth blur once baked the device in
        g = {
            "name": "seed_unet",
            "base_width": 4 if tiny else 16,
            "bottleneck": "conv",
            "upsample": "resize",
            "residual": "add",
            "residual_smooth": 1.0,
            "exposure_norm": 0.15,
        }
    d: dict[str, Any] = {"name": "patchgan", "ndf": 4 if tiny else 32, "n_layers": 2}
    if multiview:
        d = {"name": "multiview", "discriminator": d, "views": ["image", "gray", "gradient"]}
    return CycleGAN(g, g, d, d, penalty=penalty)


class Check:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.device = "cpu" if args.dry_run else "cuda"
        self.size = 32 if args.dry_run else 128
        self.steps = 2 if args.dry_run else args.steps
        self.rows: list[dict[str, Any]] = []
        self.tmp = Path(tempfile.mkdtemp(prefix="gpu_check_"))

    def trainer(self, name: str, net: CycleGAN, **train: Any) -> Trainer:
        cfg: dict[str, Any] = {
            "steps": self.steps,
            "batch_size": 2,
            "pool_size": 8,
            "ema_decay": 0.99,
            "progress": False,
            "checkpoint_every": 0,
            "device": self.device,
            **train,
        }
        return Trainer(
            net,
            Noise(64, self.size),
            run_dir=self.tmp / name,
            train=TrainConfig(**cfg),
            overwrite=True,
            num_workers=0 if self.args.dry_run else None,
        )

    def run(self, name: str, fn: Callable[[], dict[str, Any]]) -> None:
        t0 = time.perf_counter()
        try:
            row = {"check": name, "ok": True, **fn()}
        except Exception as err:  # a failed check is a result: report it and go on
            row = {"check": name, "ok": False, "error": f"{type(err).__name__}: {err}"}
            traceback.print_exc()
        row["seconds"] = round(time.perf_counter() - t0, 1)
        print(json.dumps(row), flush=True)
        self.rows.append(row)

    # ---------------------------------------------------------------- checks
    def train(self, precision: str, channels_last: bool) -> dict[str, Any]:
        t = self.trainer(
            f"train_{precision}_{channels_last}",
            model(self.args.dry_run),
            precision=precision,
            channels_last=channels_last,
        )
        t.fit(2)  # warm-up (cuDNN autotuning, allocator)
        if self.device == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        result = t.fit(2 + self.steps)
        if self.device == "cuda":
            torch.cuda.synchronize()
        ms = 1000 * (time.perf_counter() - t0) / self.steps
        finite = all(v == v and abs(v) != float("inf") for v in result.last_losses.values())
        return {"ms_per_step": round(ms, 1), "finite": finite, "setup": t.setup.describe()}

    def host_syncs(self) -> dict[str, Any]:
        net = model(self.args.dry_run, penalty="wgan_gp", multiview=True)
        t = self.trainer("syncs", net, precision="fp32")
        stream = iter(t.data)
        batch = next(stream)
        t.train_step(batch)
        if self.device != "cuda":
            return {"note": "CUDA only (see tests/test_gpu_ready.py for the CPU count)"}
        steps = 3
        batches = [next(stream) for _ in range(steps)]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            torch.cuda.set_sync_debug_mode("warn")
            try:
                for b in batches:
                    t.train_step(b)
            finally:
                torch.cuda.set_sync_debug_mode("default")
        syncs = [str(w.message).splitlines()[0] for w in caught if "synchroniz" in str(w.message)]
        return {"syncs_per_step": len(syncs) / steps, "kinds": sorted(set(syncs))[:4]}

    def compile(self, penalty: str | None) -> dict[str, Any]:
        from torch._dynamo.backends.registry import lookup_backend

        torch._dynamo.reset()
        inductor, graphs = lookup_backend("inductor"), []

        def counted(gm: Any, example_inputs: Any) -> Any:  # every graph compiled, recompiles too
            graphs.append(1)
            return inductor(gm, example_inputs)

        original = torch.nn.Module.compile
        torch.nn.Module.compile = lambda self, **kw: original(self, backend=counted, **kw)  # type: ignore[method-assign]
        try:
            t = self.trainer(
                f"compile_{penalty}", model(self.args.dry_run, penalty=penalty), compile=True
            )
            result = t.fit(self.steps)
        finally:
            torch.nn.Module.compile = original  # type: ignore[method-assign]
        compiled = [
            name
            for name in ("G_ab", "D_a")
            if getattr(getattr(t.model, name), "_compiled_call_impl", None) is not None
        ]
        return {"compiled": compiled, "graphs": len(graphs), "losses": len(result.last_losses)}

    def resume(self) -> dict[str, Any]:
        def fresh(name: str, every: int) -> Trainer:
            torch.manual_seed(0)
            return self.trainer(
                name, model(self.args.dry_run), deterministic=True, checkpoint_every=every
            )

        straight = fresh("resume_a", 2)
        straight.fit(4)
        again = fresh("resume_b", 0)
        again.resume(self.tmp / "resume_a" / "checkpoints" / "step_00000002.safetensors")
        again.fit(4)
        a, b = straight.model.state_dict(), again.model.state_dict()
        diff = max(float((a[k].float() - b[k].float()).abs().max()) for k in a)
        return {"max_abs_diff": diff, "exact": diff == 0.0}

    def ddp(self) -> dict[str, Any]:
        gpus = torch.cuda.device_count() if self.device == "cuda" else 2
        run = self.tmp / "ddp"
        params = {
            "root": str(ROOT),
            "tiny": self.args.dry_run,
            "size": self.size,
            "run": str(run),
            "steps": self.steps,
            "device": self.device,
        }
        script = "\n".join(
            [
                "import json, sys, torch",
                f"p = json.loads({json.dumps(json.dumps(params))})",
                "sys.path[:0] = [p['root'], p['root'] + '/benchmarks']",
                "from gpu_check import Noise, model",
                "from cyclegan_ms.training import TrainConfig, Trainer",
                "torch.manual_seed(0)",
                "cfg = TrainConfig(steps=p['steps'], batch_size=2, pool_size=8, ema_decay=0.99,"
                " progress=False, checkpoint_every=0, device=p['device'])",
                "t = Trainer(model(p['tiny']), Noise(64, p['size']), run_dir=p['run'],"
                " overwrite=True, train=cfg)",
                "t.fit()",
                "print('world', t.dist.world_size, 'device', t.device)",
            ]
        )
        path = self.tmp / "ddp_script.py"
        path.write_text(script)
        torchrun = Path(sys.executable).with_name("torchrun")
        env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
        proc = subprocess.run(
            [str(torchrun), "--standalone", f"--nproc_per_node={gpus}", str(path)],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr[-1500:])
        # resume on fewer devices: one process, this GPU
        t = self.trainer("ddp_resume", model(self.args.dry_run))
        step = t.resume(run)
        t.fit(step + 1)
        return {"processes": gpus, "resumed_at": step, "resumed_on": 1, "out": proc.stdout[-200:]}

    def translate(self) -> dict[str, Any]:
        t = self.trainer("translate", model(self.args.dry_run))
        result = t.fit(self.steps)
        assert result.checkpoint is not None
        h, w = (64, 96) if self.args.dry_run else (1024, 1536)
        image = torch.rand(3, h, w)
        tr = Translator(
            result.checkpoint, device=self.device, tile=32 if self.args.dry_run else 512
        )
        if self.device == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        out = tr(image)
        ms = 1000 * (time.perf_counter() - t0)
        return {"shape": list(out.shape), "ms": round(ms, 1), "device": str(self.device)}

    def export(self) -> dict[str, Any]:
        t = self.trainer("export", model(self.args.dry_run, night2day=True))
        ckpt = t.fit(self.steps).checkpoint
        assert ckpt is not None
        net = load(ckpt, device=self.device)
        path = export(net, self.tmp / "g.pt", example_size=self.size)
        on_cpu = torch.jit.load(str(path), map_location="cpu")
        y = on_cpu(torch.rand(1, 3, self.size, self.size))
        diff = verify_export(path, ckpt)
        return {"cpu_output": list(y.shape), "verify_max_diff": diff}

    def all(self) -> None:
        precisions = ["fp32"] if self.args.dry_run else ["fp32", "bf16", "fp16"]
        for p in precisions:
            self.run(f"train/{p}", lambda p=p: self.train(p, False))
        self.run("train/fp32/channels_last", lambda: self.train("fp32", True))
        if not self.args.dry_run:
            self.run("train/bf16/channels_last", lambda: self.train("bf16", True))
        self.run("host_syncs", self.host_syncs)
        if not self.args.dry_run:  # inductor takes minutes on a few CPU cores
            self.run("compile", lambda: self.compile(None))
            self.run("compile+wgan_gp", lambda: self.compile("wgan_gp"))
        self.run("resume", self.resume)
        self.run("ddp", self.ddp)
        self.run("translate", self.translate)
        self.run("export", self.export)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "gpu_check")
    parser.add_argument("--steps", type=int, default=20, help="timed steps per training check")
    parser.add_argument("--dry-run", action="store_true", help="the checks on the CPU, tiny")
    args = parser.parse_args()
    if not args.dry_run and not torch.cuda.is_available():
        print("gpu_check: no CUDA device here; nothing to check (use --dry-run for the CPU run)")
        return
    check = Check(args)
    machine = (
        torch.cuda.get_device_name(0) if check.device == "cuda" else platform.processor() or "cpu"
    )
    t0 = time.perf_counter()
    check.all()
    args.out.mkdir(parents=True, exist_ok=True)
    report = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": machine,
        "gpus": torch.cuda.device_count() if check.device == "cuda" else 0,
        "torch": torch.__version__,
        "dry_run": args.dry_run,
        "seconds": round(time.perf_counter() - t0, 1),
        "checks": check.rows,
    }
    (args.out / "gpu_check.json").write_text(json.dumps(report, indent=2))
    lines = [f"gpu_check {report['date']} on {machine} (torch {torch.__version__})", ""]
    lines.append(f"{'check':<28} {'ok':<4} {'s':>6}  result")
    for row in check.rows:
        rest = {k: v for k, v in row.items() if k not in ("check", "ok", "seconds")}
        lines.append(
            f"{row['check']:<28} {'yes' if row['ok'] else 'NO':<4} {row['seconds']:>6}  {rest}"
        )
    table = "\n".join(lines)
    (args.out / "gpu_check.log").write_text(table + "\n")
    print(table)
    sys.exit(0 if all(r["ok"] for r in check.rows) else 1)


if __name__ == "__main__":
    main()
