"""Small real data (issue 29): one camera, one place, a few dozen frames; scored elsewhere.

A user with one camera has a few hundred frames of one place, unpaired, not a curated dataset.
This benchmark builds such sets from photographs that packages ship (one photograph = one
place: random crops of it are the frames), trains on each place the way a user would (the CLI,
``data.source = "folder"``, CPU-time budgets), and scores every model on photographs of *other*
places at their own resolution through ``cyclegan-ms translate`` (``benchmarks/photos.py``'s
scores: PSNR, SSIM, structure SSIM, CIEDE2000, follows input, border band, streaks).

- ``trainA`` (night): crops of the place darkened by the library's low-light model
  (:func:`cyclegan_ms.data.lowlight.simulate_night`, a new draw per crop);
- ``trainB`` (day): *other* crops of the same place (other positions and sizes), each with the
  light of another day: a global gain and a mild white-balance change. Unpaired.

Systems (``run``): ``scratch`` (the ``night2day`` recipe on the place alone), ``finetune``
(start from a run trained on the built-in scenes, ``--init-from``, then the place), and any
system given as ``NAME=--set K=V;--set K=V``. ``scenes`` (the pretrained run itself, never shown
a real photograph) and the training-free baselines are scored once.

    python benchmarks/small_data.py prepare --out /tmp/sd --place Path=/path/to/Path.jpg ...
    python benchmarks/small_data.py run --sets /tmp/sd --photos /tmp/photos \
        --pretrained runs/scenes --minutes 5 --systems scratch finetune --out rows.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import photos  # noqa: E402  (benchmarks/photos.py: the scores)
import torch  # noqa: E402

#: Every training run's settings: a CPU-time budget on one thread, bf16, one final checkpoint.
COMMON = [
    'data.source="folder"',
    'data.recipe="paper"',  # resize to load_size, random crop image_size, flip
    "data.num_workers=0",
    'train.budget_clock="cpu"',
    "train.steps=10000000",
    'train.precision="bf16"',
    "train.checkpoint_every=0",
    "train.keep_last=1",
    "train.log_every=25",
    "train.progress=false",
    "train.eval_every=0",
]


# ------------------------------------------------------------------------------------ sets
def _crop(img: torch.Tensor, rng: np.random.Generator, side: int, lo: float, hi: float) -> torch.Tensor:
    """A random square crop of ``lo``–``hi`` of the short side, resized (area) to ``side``."""
    _, h, w = img.shape
    s = int(min(h, w) * rng.uniform(lo, hi))
    y, x = int(rng.integers(0, h - s + 1)), int(rng.integers(0, w - s + 1))
    crop = img[:, y : y + s, x : x + s]
    return torch.nn.functional.interpolate(crop[None], size=(side, side), mode="area")[0]


def prepare_place(photo: Path, out: Path, n: int, side: int, seed: int) -> None:
    """``out/trainA`` (n night crops) and ``out/trainB`` (n other day crops) of one photograph."""
    from cyclegan_ms.data.lowlight import simulate_night

    img = photos.load_rgb(photo)
    rng = np.random.default_rng(seed)
    (out / "trainA").mkdir(parents=True, exist_ok=True)
    (out / "trainB").mkdir(parents=True, exist_ok=True)
    for i in range(n):
        night = _crop(img, rng, side, 0.3, 0.6)
        photos.save_rgb(simulate_night(night, seed=seed * 100_003 + i), out / "trainA" / f"{i:04d}.png")
        day = _crop(img, rng, side, 0.3, 0.6)
        gain = rng.uniform(0.8, 1.2)
        balance = torch.tensor(rng.uniform(0.94, 1.06, size=3), dtype=torch.float32).view(3, 1, 1)
        photos.save_rgb((day * gain * balance).clamp(0, 1), out / "trainB" / f"{i:04d}.png")


# ------------------------------------------------------------------------------------ runs
def train(run_dir: Path, place: Path, minutes: float, seed: int, size: int, extra: Sequence[str]) -> float:
    """``cyclegan-ms train night2day`` on one place; returns the process's CPU seconds."""
    sets = [
        *COMMON,
        f'data.root="{place}"',
        f"data.image_size={size}",
        f"data.load_size={int(size * 1.5)}",
        f"train.max_minutes={minutes}",
        f"train.seed={seed}",
    ]
    cmd = [sys.executable, "-m", "cyclegan_ms.cli", "train", "night2day", "--run-dir", str(run_dir),
           "--overwrite", "--delete-old"]
    for s in sets:
        cmd += ["--set", s]
    cmd += list(extra)
    before = os.times()
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"})
    after = os.times()
    (run_dir.parent / f"{run_dir.name}.log").write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise SystemExit(f"training {run_dir} failed:\n{proc.stderr[-3000:]}")
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    print(f"  trained {run_dir.name}: {time.perf_counter() - t0:.0f} s wall, {cpu:.0f} CPU-s", flush=True)
    return cpu


def system_args(name: str, pretrained: Path | None, specs: dict[str, list[str]]) -> list[str]:
    """The extra CLI arguments of a system."""
    if name == "scratch":
        return []
    if name == "finetune":
        if pretrained is None:
            raise SystemExit("the finetune system needs --pretrained RUN (a run on the scenes)")
        return ["--init-from", str(pretrained)]
    if name in specs:
        out: list[str] = []
        for item in specs[name]:
            if item == "@pretrained":
                if pretrained is None:
                    raise SystemExit(f"{name} needs --pretrained")
                out += ["--init-from", str(pretrained)]
            else:
                out += ["--set", item]
        return out
    raise SystemExit(f"unknown system {name!r}: scratch, finetune or one given with --system-spec")


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    pp = sub.add_parser("prepare", help="build one-place training sets from photographs")
    pp.add_argument("--out", type=Path, required=True)
    pp.add_argument("--place", action="append", default=[], metavar="NAME=PHOTO", required=True)
    pp.add_argument("--frames", type=int, default=80, help="night frames and day frames per place")
    pp.add_argument("--side", type=int, default=192, help="side of the saved frames")
    pr = sub.add_parser("run", help="train systems on every place and score them on the photos")
    pr.add_argument("--sets", type=Path, required=True)
    pr.add_argument("--photos", type=Path, required=True, help="a benchmarks/photos.py prepare folder")
    pr.add_argument("--places", nargs="*", default=None, help="default: every place in --sets")
    pr.add_argument("--systems", nargs="+", default=["scratch", "finetune"])
    pr.add_argument("--system-spec", action="append", default=[], metavar="NAME=K=V;K=V",
                    help="an extra system: --set overrides ('@pretrained' adds --init-from)")
    pr.add_argument("--pretrained", type=Path, default=None, help="a run trained on the scenes")
    pr.add_argument("--minutes", type=float, default=5.0, help="CPU minutes per training")
    pr.add_argument("--size", type=int, default=128, help="training crop side")
    pr.add_argument("--seed", type=int, default=0)
    pr.add_argument("--work-size", type=int, default=None,
                    help="also score every model translated with --work-size N (rows NAME+wsN)")
    pr.add_argument("--work", type=Path, default=Path("/tmp/cyclegan_ms_small_data"))
    pr.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    if args.cmd == "prepare":
        for i, spec in enumerate(args.place):
            name, _, path = spec.partition("=")
            prepare_place(Path(path), args.out / name, args.frames, args.side, seed=i + 1)
            print(f"{name}: {args.frames} night + {args.frames} day frames", flush=True)
        return

    specs = {}
    for spec in args.system_spec:
        name, _, rest = spec.partition("=")
        specs[name] = [x for x in rest.split(";") if x]
    result: dict[str, Any] = json.loads(args.out.read_text()) if args.out.is_file() else {}
    photo_names = {q.stem for q in (args.photos / "day").glob("*.png")}
    if "baselines" not in result:
        result["baselines"] = photos.baselines(args.photos, args.work / "baselines")
    ws = [] if args.work_size is None else ["--work-size", str(args.work_size)]

    def score(key: str, run_dir: Path, extra: dict[str, Any]) -> None:
        for suffix, targs in [("", []), *([(f"+ws{args.work_size}", ws)] if ws else [])]:
            if key + suffix in result:
                continue
            out_dir = args.work / "out" / (key + suffix)
            cpu = photos.translate_cli(run_dir, args.photos, out_dir, targs)
            result[key + suffix] = {**photos.score_dir(out_dir, args.photos),
                                    "translate_cpu_s": round(cpu, 1), **extra,
                                    "system": extra.get("system", key) + suffix}
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(result, indent=1))

    if args.pretrained is not None:
        score("scenes", args.pretrained, {"system": "scenes"})
    places = args.places or sorted(d.name for d in args.sets.iterdir() if (d / "trainA").is_dir())
    for place in places:
        if place in photo_names:
            raise SystemExit(f"place {place!r} is also a test photograph; score on other places only")
        for system in args.systems:
            key = f"{system}@{place}_s{args.seed}"
            run_dir = args.work / "runs" / key
            info: dict[str, Any] = {"system": system, "place": place, "seed": args.seed,
                                    "minutes": args.minutes}
            if key not in result:
                info["train_cpu_s"] = round(
                    train(run_dir, args.sets / place, args.minutes, args.seed, args.size,
                          system_args(system, args.pretrained, specs)), 1)
            score(key, run_dir, info)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    report(result)


def report(result: dict[str, Any]) -> None:
    """Per-system means over places (and every baseline)."""
    rows: dict[str, list[dict[str, Any]]] = {}
    for key, row in result.items():
        if key == "baselines":
            for name, b in row.items():
                rows.setdefault(f"baseline: {name}", []).append(b)
        else:
            rows.setdefault(row.get("system", key), []).append(row)
    cols = ("psnr", "ssim", "struct", "de2000", "follows_input", "border", "streaks")
    print(f"{'system':32} {'n':>2} " + " ".join(f"{c[:7]:>14}" for c in cols))
    for name, rs in rows.items():
        cells = []
        for c in cols:
            v = np.array([r[c] for r in rs], dtype=float)
            cells.append(f"{v.mean():7.3f} ± {v.std(ddof=1) if len(v) > 1 else 0:5.3f}")
        print(f"{name:32} {len(rs):2d} " + " ".join(f"{c:>14}" for c in cells))


if __name__ == "__main__":
    main()
