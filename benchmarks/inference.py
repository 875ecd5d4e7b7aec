"""Translation throughput: images/s for each generator, eager vs compiled vs ONNX Runtime.

Each (generator, size, engine) runs in its own subprocess: warm-up, then the median of timed
single-image forward passes (batch 1, no gradients). Engines:

- ``eager``: the PyTorch module in eval mode under ``torch.inference_mode`` (fp32);
- ``bf16``: the same under ``torch.autocast("cpu", torch.bfloat16)``, which
  ``TranslateOptions(precision="auto")`` picks on a CPU with native bf16;
- ``translate``: :class:`cyclegan_ms.inference.Translator` with its defaults (whole image,
  ``precision="auto"``), padding and value checks included;
- ``compiled``: ``torch.compile(module)`` (compile time reported separately);
- ``onnx``: the ``cyclegan-ms export`` ONNX file in onnxruntime (CPU provider).

The exact seed generator only takes 256×256 (dense bottleneck); at other sizes the size-free
``bottleneck="conv"`` variant is measured and named ``seed_unet(conv)``.

    python benchmarks/inference.py --sizes 256 1024 --engines eager onnx
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

GENERATORS = ["seed_unet", "resnet_9blocks", "resnet_6blocks", "unet_256", "unet_128"]


def _config(name: str, size: int) -> dict[str, Any]:
    if name == "seed_unet":
        return {"name": "seed_unet", "image_size": 256} if size == 256 else {
            "name": "seed_unet", "bottleneck": "conv", "image_size": 256}
    return {"name": name}


def worker(name: str, size: int, engine: str, warmup: int, repeats: int) -> dict[str, Any]:
    import cyclegan_ms as cms

    torch.manual_seed(0)
    g = cms.from_config("generator", _config(name, size)).eval()
    x = torch.rand(1, 3, size, size)
    compile_s = None
    if engine == "eager":
        def fn() -> Any:
            with torch.inference_mode():
                return g(x)
    elif engine == "bf16":  # what Translator(precision="auto") runs on a CPU with native bf16
        def fn() -> Any:
            with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
                return g(x)
    elif engine == "translate":  # the library's Translator with its defaults (padding, codec, auto)
        from cyclegan_ms.inference import Translator

        tr = Translator(g, tile=None)

        def fn() -> Any:
            return tr(x)
    elif engine == "compiled":
        t0 = time.perf_counter()
        cg = torch.compile(g)
        with torch.inference_mode():
            cg(x)
        compile_s = time.perf_counter() - t0

        def fn() -> Any:
            with torch.inference_mode():
                return cg(x)
    elif engine == "onnx":
        import onnxruntime as ort

        from cyclegan_ms.inference.export import export

        path = Path(tempfile.mkdtemp()) / "g.onnx"
        export(g, path, format="onnx")
        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        feed = {sess.get_inputs()[0].name: x.numpy()}

        def fn() -> Any:
            return sess.run(None, feed)
    else:
        raise SystemExit(f"unknown engine {engine}")
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    label = name if (name != "seed_unet" or size == 256) else "seed_unet(conv)"
    return {"generator": label, "size": size, "engine": engine, "seconds": med,
            "images_per_s": 1.0 / med, "compile_s": compile_s}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--generators", nargs="*", default=GENERATORS)
    p.add_argument("--sizes", nargs="*", type=int, default=[256, 1024])
    p.add_argument("--engines", nargs="*", default=["eager", "bf16", "translate", "onnx"],
                   choices=["eager", "bf16", "translate", "compiled", "onnx"])
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "inference.json"))
    p.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        name, size, engine = args.worker
        print(json.dumps(worker(name, int(size), engine, args.warmup, args.repeats)))
        return
    rows = []
    for size in args.sizes:
        for name in args.generators:
            for engine in args.engines:
                cmd = [sys.executable, __file__, "--worker", name, str(size), engine,
                       "--warmup", str(args.warmup), "--repeats", str(args.repeats)]
                out = subprocess.run(cmd, capture_output=True, text=True, check=False)
                if out.returncode != 0:
                    print(f"{name} {size} {engine}: failed: {out.stderr.strip().splitlines()[-1:]}")
                    continue
                r = json.loads(out.stdout.strip().splitlines()[-1])
                rows.append(r)
                extra = f" (compile {r['compile_s']:.0f} s)" if r["compile_s"] else ""
                print(f"{r['generator']:16} {size:5} {engine:9} {r['images_per_s']:8.2f} img/s{extra}",
                      flush=True)
    info = {"date": time.strftime("%Y-%m-%d"), "machine": f"{platform.machine()}, torch {torch.__version__}, "
            f"{torch.get_num_threads()} threads"}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"info": info, "results": rows}, indent=2))


if __name__ == "__main__":
    main()
