"""The rows of the runs as a table: means and standard deviations over seeds, the baselines'
rows, the Markdown of the results file, and the comparison figures."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from cyclegan_ms.utils.images import from_uint8, read_grid, save_grid

from .scoring import METRIC_KEYS, baselines, follows_input, region_scores, scores
from .sets import FAR_M, NEAR_M, eval_set, photo_set, region_masks
from .systems import file_stem


def _mean_std(values: Sequence[float]) -> tuple[float, float]:
    t = torch.tensor(values, dtype=torch.float64)
    return float(t.mean()), float(t.std()) if len(values) > 1 else 0.0


def aggregate(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """One entry per system: ``(mean, std)`` over its seeds of every score its rows have."""
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
    """The results file's baselines and systems as Markdown tables (whole scenes and photos;
    near and far parts)."""
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
    """The baselines' entries of the table (one "run" each: the std is 0)."""
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


def figure(names: Sequence[str], work_dir: str, size: int, out: Path, *, which: str = "scenes", seed: int = 0) -> None:
    """One picture: night | each system's translation (training seed ``seed``) | day truth, from
    the runs' ``{which}.png`` grids (night | translation | truth per row)."""
    per = {n: read_grid(Path(work_dir) / file_stem(n, seed) / f"{which}.png", size) for n in names}
    first = per[names[0]]
    rows = [[from_uint8(first[i][0])] + [from_uint8(per[n][i][1]) for n in names] + [from_uint8(first[i][2])]
            for i in range(len(first))]
    out.parent.mkdir(parents=True, exist_ok=True)
    save_grid(rows, out)
