"""Night → day on real photographs the way a user has them: their own resolution, the CLI.

Day photographs that packages ship (scikit-image's sample photos; with ``--mate-dir``, the
nature photographs of Debian's ``mate-backgrounds``) are darkened by the library's physical
low-light model (:func:`cyclegan_ms.data.lowlight.simulate_night`) at their own resolution
(long side capped at ``--max-side``, a dash-cam's 1920 by default) and written as PNG files.
Every trained run is then applied exactly as a user would, ``cyclegan-ms translate --checkpoint
RUN nights/ --out DIR`` (whole images, tiled when large), and every output is scored against
its day photograph:

- PSNR, SSIM, structure SSIM (luma SSIM after matching the truth's mean/std);
- colour error: the mean CIEDE2000 ΔE between output and truth (scikit-image), apart from
  structure;
- follows input: the share of photos whose output is structurally closest to its own day photo
  (at 128² for the comparison), 1/N for a generator that paints one memorised scene;
- border band: the mean absolute luma difference between the 8-pixel frame of the output and
  the ring just inside it, minus the same for the truth (a translator that brightens or
  darkens its borders scores far from 0);
- streaks: the energy of the output's row and column means' high-pass (mean over rows of
  |row mean − its 9-row running mean|, and the same for columns), minus the truth's.

Training-free baselines on the same nights: the night unchanged, auto-gamma, auto-gamma after a
1.5-px blur (denoised), CLAHE, and the oracle global curve fitted with the truth.

    python benchmarks/photos.py prepare --out /tmp/photos [--mate-dir DIR]
    python benchmarks/photos.py score --photos /tmp/photos --run NAME=RUN_DIR ... --out rows.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from PIL import Image  # noqa: E402

#: scikit-image's colour photographs (in its wheel).
SKIMAGE_PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "motorcycle_left", "motorcycle_right")
#: Debian mate-backgrounds nature photographs (``usr/share/backgrounds/mate/nature``).
MATE_PHOTOS = ("Aqua", "Blinds", "Dune", "Garden", "GreenMeadow", "Storm", "Wood", "TwoWings")


# ------------------------------------------------------------------------------------ images
def load_rgb(path: Path) -> torch.Tensor:
    """``(3, H, W)`` float in [0, 1]."""
    with Image.open(path) as im:
        a = np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0
    return torch.from_numpy(a.copy()).permute(2, 0, 1)


def save_rgb(x: torch.Tensor, path: Path) -> None:
    a = (x.clamp(0, 1) * 255.0).round().to(torch.uint8).permute(1, 2, 0).numpy()
    Image.fromarray(a).save(path)


def cap_side(x: torch.Tensor, max_side: int) -> torch.Tensor:
    h, w = x.shape[-2:]
    s = max(h, w)
    if s <= max_side:
        return x
    size = (round(h * max_side / s), round(w * max_side / s))
    return torch.nn.functional.interpolate(x[None], size=size, mode="area")[0]


def source_photos(mate_dir: Path | None) -> dict[str, torch.Tensor]:
    """Name → day photograph ``(3, H, W)`` at its own resolution."""
    import skimage.io
    from skimage import data as skdata

    out: dict[str, torch.Tensor] = {}
    for name in SKIMAGE_PHOTOS:
        if name.startswith("motorcycle"):
            img = skimage.io.imread(Path(skdata.__file__).parent / f"{name}.png")
        else:
            img = getattr(skdata, name)()
        out[name] = torch.from_numpy(img[..., :3].copy()).permute(2, 0, 1).float() / 255.0
    if mate_dir is not None:
        for name in MATE_PHOTOS:
            path = mate_dir / f"{name}.jpg"
            if path.is_file():
                out[name] = load_rgb(path)
    return out


def other_night(day: torch.Tensor, seed: int) -> torch.Tensor:
    """A second darkening model, unlike the library's physical one (which the ``lowlight``
    synthetic pairs are drawn from): a power curve in sRGB (x0.18, exponent 1.6), a warm sodium
    cast and signal-independent Gaussian noise (sigma 0.015), no lamps. ``(3, H, W)`` in [0, 1]."""
    gen = torch.Generator().manual_seed(seed)
    cast = torch.tensor([1.0, 0.85, 0.6]).view(3, 1, 1)
    night = 0.18 * day.clamp(0, 1).pow(1.6) * cast
    return (night + 0.015 * torch.randn(night.shape, generator=gen)).clamp(0, 1)


def prepare(out: Path, mate_dir: Path | None, max_side: int, darken: str = "physical") -> None:
    from cyclegan_ms.data.lowlight import simulate_night

    (out / "day").mkdir(parents=True, exist_ok=True)
    (out / "night").mkdir(parents=True, exist_ok=True)
    for i, (name, day) in enumerate(source_photos(mate_dir).items()):
        day = cap_side(day, max_side)
        h, w = day.shape[-2:]
        day = day[:, : h - h % 2, : w - w % 2]
        save_rgb(day, out / "day" / f"{name}.png")
        night = simulate_night(day, seed=i) if darken == "physical" else other_night(day, seed=i)
        save_rgb(night, out / "night" / f"{name}.png")
        print(f"{name}: {day.shape[-1]}x{day.shape[-2]}", flush=True)


# ------------------------------------------------------------------------------------ scores
def border_band(x: torch.Tensor, width: int = 8) -> float:
    """Mean |luma of the outer ``width``-px frame − the next ``width``-px ring| (signed mean)."""
    from cyclegan_ms.layers import luma

    y = luma(x)[0]
    h, w = y.shape
    outer = torch.ones(h, w, dtype=torch.bool)
    outer[width:-width, width:-width] = False
    ring = torch.zeros(h, w, dtype=torch.bool)
    ring[width : h - width, width : w - width] = True
    ring[2 * width : h - 2 * width, 2 * width : w - 2 * width] = False
    return float(y[outer].mean() - y[ring].mean())


def streaks(x: torch.Tensor, k: int = 9) -> float:
    """High-pass energy of row and column means of the luma (stripes across the image)."""
    from cyclegan_ms.layers import luma

    y = luma(x)[0]
    total = 0.0
    for prof in (y.mean(1), y.mean(0)):
        p = prof[None, None]
        smooth = torch.nn.functional.avg_pool1d(
            torch.nn.functional.pad(p, (k // 2, k // 2), mode="replicate"), k, stride=1
        )
        total += float((p - smooth).abs().mean())
    return total / 2


def ciede2000(out: torch.Tensor, truth: torch.Tensor) -> float:
    from skimage.color import deltaE_ciede2000, rgb2lab

    a = rgb2lab(out.permute(1, 2, 0).double().numpy())
    b = rgb2lab(truth.permute(1, 2, 0).double().numpy())
    return float(deltaE_ciede2000(a, b).mean())


def score_one(out: torch.Tensor, truth: torch.Tensor) -> dict[str, float]:
    from cyclegan_ms.metrics.image import psnr, ssim, structure_ssim

    o, t = out[None], truth[None]
    return {
        "psnr": float(psnr(o, t)[0]),
        "ssim": float(ssim(o, t)[0]),
        "struct": float(structure_ssim(o, t)[0]),
        "de2000": ciede2000(out, truth),
        "border": abs(border_band(out) - border_band(truth)),
        "streaks": streaks(out) - streaks(truth),
    }


def follows_input(outs: Sequence[torch.Tensor], truths: Sequence[torch.Tensor]) -> float:
    """:func:`cyclegan_ms.metrics.follows_input` of photos of any sizes, compared at 128²."""
    from cyclegan_ms.metrics import follows_input as follows

    def small(x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.interpolate(x[None], size=(128, 128), mode="area")[0]

    return follows(torch.stack([small(x) for x in outs]), torch.stack([small(x) for x in truths]))


def score_dir(out_dir: Path, photos: Path) -> dict[str, Any]:
    names = sorted(p.stem for p in (photos / "day").glob("*.png"))
    outs, truths, per = [], [], {}
    for name in names:
        truth = load_rgb(photos / "day" / f"{name}.png")
        found = [p for p in out_dir.glob(f"{name}.*") if p.suffix.lower() in (".png", ".jpg")]
        if not found:
            raise SystemExit(f"no output for {name} in {out_dir}")
        out = load_rgb(found[0])
        if out.shape != truth.shape:
            raise SystemExit(f"{found[0]} is {tuple(out.shape)}; the photo is {tuple(truth.shape)}")
        per[name] = score_one(out, truth)
        outs.append(out)
        truths.append(truth)
    keys = next(iter(per.values())).keys()
    mean = {k: float(np.mean([row[k] for row in per.values()])) for k in keys}
    return {**mean, "follows_input": follows_input(outs, truths), "per_photo": per}


def baselines(photos: Path, work: Path) -> dict[str, dict[str, Any]]:
    from cyclegan_ms.metrics import baselines as bl

    methods: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
        "identity": lambda n, d: n,
        "auto-gamma": lambda n, d: bl.auto_gamma(n[None])[0],
        "auto-gamma, denoised": lambda n, d: bl.auto_gamma(n[None], denoise=1.5)[0],
        "CLAHE": lambda n, d: bl.clahe(n[None])[0],
        "oracle global curve": lambda n, d: bl.oracle_curve(n[None], d[None])[0],
    }
    rows = {}
    for label, fn in methods.items():
        d = work / ("baseline_" + label.replace(" ", "_").replace(",", ""))
        d.mkdir(parents=True, exist_ok=True)
        for p in sorted((photos / "night").glob("*.png")):
            save_rgb(fn(load_rgb(p), load_rgb(photos / "day" / p.name)), d / p.name)
        rows[label] = score_dir(d, photos)
    return rows


def translate_cli(run: Path, photos: Path, out_dir: Path, extra: Sequence[str]) -> float:
    """``cyclegan-ms translate --checkpoint RUN nights/ --out out_dir``; returns CPU seconds."""
    out_dir.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "cyclegan_ms.cli", "translate", "--checkpoint", str(run),
           str(photos / "night"), "--out", str(out_dir), *extra]
    t0 = time.perf_counter()
    before = os.times()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    after = os.times()
    if proc.returncode != 0:
        raise SystemExit(f"translate failed for {run}:\n{proc.stderr[-2000:]}")
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    print(f"  translated with {run} in {time.perf_counter() - t0:.0f} s wall, {cpu:.0f} CPU-s", flush=True)
    return cpu


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    pp = sub.add_parser("prepare", help="write day photographs and their simulated nights")
    pp.add_argument("--out", type=Path, required=True)
    pp.add_argument("--mate-dir", type=Path, default=None,
                    help="usr/share/backgrounds/mate/nature of an unpacked mate-backgrounds .deb")
    pp.add_argument("--max-side", type=int, default=1920)
    pp.add_argument("--darken", choices=("physical", "other"), default="physical",
                    help="the library's low-light model, or a second model it never drew from")
    ps = sub.add_parser("score", help="translate with runs through the CLI and score")
    ps.add_argument("--photos", type=Path, required=True)
    ps.add_argument("--run", action="append", default=[], metavar="NAME=RUN_DIR")
    ps.add_argument("--work", type=Path, default=Path("/tmp/cyclegan_ms_photos"))
    ps.add_argument("--no-baselines", dest="baselines", action="store_false")
    ps.add_argument("--translate-arg", action="append", default=[],
                    help="extra argument for cyclegan-ms translate (repeat)")
    ps.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    if args.cmd == "prepare":
        prepare(args.out, args.mate_dir, args.max_side, args.darken)
        return
    result: dict[str, Any] = json.loads(args.out.read_text()) if args.out.is_file() else {}
    if args.baselines:
        result.update(baselines(args.photos, args.work))
    for spec in args.run:
        name, _, run = spec.partition("=")
        out_dir = args.work / name
        cpu = translate_cli(Path(run), args.photos, out_dir, args.translate_arg)
        result[name] = {**score_dir(out_dir, args.photos), "translate_cpu_s": round(cpu, 1)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    print(f"{'system':28} {'PSNR':>6} {'SSIM':>6} {'struct':>6} {'ΔE00':>6} {'follows':>7} {'border':>7} {'streaks':>8}")
    for name, row in result.items():
        print(f"{name:28} {row['psnr']:6.2f} {row['ssim']:6.3f} {row['struct']:6.3f} {row['de2000']:6.2f} "
              f"{row['follows_input']:7.2f} {row['border']:7.3f} {row['streaks']:8.4f}")


if __name__ == "__main__":
    main()
