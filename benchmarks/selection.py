"""Model selection without ground truth, and time to quality, read from run folders.

No training here: it reads the ``metrics.jsonl`` of runs trained on the built-in scenes with
``train.eval_metric = "unpaired"`` (each evaluation logs the unpaired selection score and its
terms *and* the ground truth's PSNR/SSIM on the same held-out scenes), e.g.::

    cyclegan-ms train night2day --run-dir runs/select_s0 --set train.seed=0 \\
        --set train.max_minutes=60 --set train.budget_clock=cpu \\
        --set train.eval_every=100 --set train.eval_metric=unpaired --set train.eval_scenes=64 \\
        --set train.checkpoint_every=100

and reports, per run:

* **selection**: the checkpoint the unpaired score picks (the one ``best.safetensors`` holds)
  against the ground-truth-best one: PSNR/SSIM of both picks, the gap, and the pick's rank among
  the evaluations by PSNR and by SSIM (1 = the best); the same for a pick by each single term
  (KID alone, structure kept alone, cycle error alone) and for the last checkpoint (what a user
  gets without selection);
* **time to quality**: every evaluation as a row (step, CPU-minutes of the run, of which
  training alone, wall minutes, PSNR, SSIM, selection score), and with ``--target-psnr`` the
  first CPU-minute at which the run reached it.

Then, over all runs, the mean ± std of the selection gap. ``--json PATH`` writes it all.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/selection.py runs/select_s0 runs/select_s1 \\
        --target-psnr 15.41 --json benchmarks/results/selection.json
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from cyclegan_ms.checkpoint import load_checkpoint
from cyclegan_ms.metrics import SELECTION_TERMS

#: The ground-truth scores a pick is judged by.
TRUTH = ("psnr", "ssim")


def read_evals(run_dir: str | Path) -> list[dict[str, Any]]:
    """The evaluation records of a run's ``metrics.jsonl``, in step order.

    Raises
    ------
    FileNotFoundError
        The run has no ``metrics.jsonl``.
    ValueError
        It holds no evaluation with the ground truth's PSNR/SSIM.
    """
    path = Path(run_dir) / "metrics.jsonl"
    if not path.is_file():
        raise FileNotFoundError(f"{run_dir}: no metrics.jsonl (not a run folder?)")
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    evals = [r for r in records if r.get("event") == "eval"]
    evals = [r for r in evals if all(isinstance(r.get(f"eval_{k}"), float) for k in TRUTH)]
    if not evals:
        raise ValueError(
            f"{run_dir}: no evaluation with eval_psnr and eval_ssim (train the run on the scenes "
            "with train.eval_every and train.eval_metric = 'unpaired')"
        )
    return sorted(evals, key=lambda r: int(r["step"]))


def pick(evals: Sequence[Mapping[str, Any]], key: str, higher: bool) -> Mapping[str, Any] | None:
    """The first evaluation with the best ``eval_<key>`` (the rule of ``best.safetensors``: a
    later one must be strictly better); ``None`` when no record has the key."""
    best: Mapping[str, Any] | None = None
    for r in evals:
        value = r.get(f"eval_{key}")
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            continue
        old = None if best is None else float(best[f"eval_{key}"])
        if old is None or (value > old if higher else value < old):
            best = r
    return best


def best_file_step(run_dir: str | Path) -> int | None:
    """The step ``checkpoints/best.safetensors`` holds (``None``: the run kept none)."""
    path = Path(run_dir) / "checkpoints" / "best.safetensors"
    return int(load_checkpoint(path)["step"]) if path.is_file() else None


def rank(evals: Sequence[Mapping[str, Any]], chosen: Mapping[str, Any], key: str) -> int:
    """Rank of ``chosen`` among ``evals`` by the ground truth's ``eval_<key>`` (1 = best)."""
    value = float(chosen[f"eval_{key}"])
    return 1 + sum(float(r[f"eval_{key}"]) > value for r in evals)


def selection_report(evals: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """How far each pick is from the ground-truth-best evaluation (see the module docs)."""
    best = {k: max(float(r[f"eval_{k}"]) for r in evals) for k in TRUTH}
    picks: dict[str, Mapping[str, Any] | None] = {
        name: pick(evals, name, higher) for name, higher in SELECTION_TERMS.items()
    }
    picks["last"] = evals[-1]
    rows: dict[str, Any] = {}
    for name, chosen in picks.items():
        if chosen is None:
            continue
        row: dict[str, Any] = {"step": int(chosen["step"])}
        for k in TRUTH:
            row[k] = float(chosen[f"eval_{k}"])
            row[f"{k}_gap"] = best[k] - row[k]
            row[f"{k}_rank"] = rank(evals, chosen, k)
        rows[name] = row
    truth_best = {k: int(max(evals, key=lambda r: float(r[f"eval_{k}"]))["step"]) for k in TRUTH}
    return {"evaluations": len(evals), "best": best, "best_step": truth_best, "picks": rows}


def time_to_quality(
    evals: Sequence[Mapping[str, Any]], target_psnr: float | None = None
) -> dict[str, Any]:
    """The curve (one row per evaluation) and the first CPU-minute at ``target_psnr``."""
    rows = []
    for r in evals:
        cpu = r.get("cpu_s")
        rows.append(
            {
                "step": int(r["step"]),
                "cpu_min": None if cpu is None else float(cpu) / 60.0,
                "train_cpu_min": None
                if cpu is None
                else (float(cpu) - float(r.get("cpu_s_in_eval", 0.0))) / 60.0,
                "wall_min": None if r.get("wall_s") is None else float(r["wall_s"]) / 60.0,
                "psnr": float(r["eval_psnr"]),
                "ssim": float(r["eval_ssim"]),
                "unpaired": r.get("eval_unpaired"),
            }
        )
    reached = None
    if target_psnr is not None:
        hit = [x for x in rows if x["psnr"] >= target_psnr and x["cpu_min"] is not None]
        reached = hit[0]["cpu_min"] if hit else None
    return {"rows": rows, "target_psnr": target_psnr, "cpu_min_to_target": reached}


def _num(value: Any, fmt: str) -> str:
    return "—" if value is None else format(value, fmt)


def markdown(
    run: str, sel: Mapping[str, Any], ttq: Mapping[str, Any], kept: int | None = None
) -> str:
    """The two tables of one run, in Markdown (``kept``: the step of ``best.safetensors``)."""
    held = "no best.safetensors"
    if kept is not None:
        same = kept == sel["picks"].get("unpaired", {}).get("step")
        held = f"best.safetensors holds step {kept} ({'the' if same else 'not the'} unpaired pick)"
    lines = [
        f"### {run}",
        "",
        f"{sel['evaluations']} evaluations; ground-truth best: PSNR {sel['best']['psnr']:.2f} dB "
        f"(step {sel['best_step']['psnr']}), SSIM {sel['best']['ssim']:.3f} "
        f"(step {sel['best_step']['ssim']}); {held}",
        "",
        "| picked by | step | PSNR (dB) | gap (dB) | rank by PSNR | SSIM | gap | rank by SSIM |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in sel["picks"].items():
        lines.append(
            f"| {name} | {r['step']} | {r['psnr']:.2f} | {r['psnr_gap']:.2f} | {r['psnr_rank']} "
            f"| {r['ssim']:.3f} | {r['ssim_gap']:.3f} | {r['ssim_rank']} |"
        )
    lines += [
        "",
        "| step | CPU-min | training CPU-min | wall min | PSNR (dB) | SSIM | selection score |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in ttq["rows"]:
        lines.append(
            f"| {r['step']} | {_num(r['cpu_min'], '.2f')} | {_num(r['train_cpu_min'], '.2f')} "
            f"| {_num(r['wall_min'], '.2f')} | {r['psnr']:.2f} | {r['ssim']:.3f} "
            f"| {_num(r['unpaired'], '.4f')} |"
        )
    if ttq["target_psnr"] is not None:
        reached = ttq["cpu_min_to_target"]
        lines += [
            "",
            f"{ttq['target_psnr']} dB reached after "
            + (f"{reached:.2f} CPU-min" if reached is not None else "— (not reached)"),
        ]
    return "\n".join(lines)


def summary(reports: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, float]]:
    """Mean and std over runs of the unpaired pick's gaps to the ground-truth best."""
    out: dict[str, dict[str, float]] = {}
    for key in ("psnr_gap", "ssim_gap", "psnr_rank", "ssim_rank"):
        values = [
            float(r["selection"]["picks"]["unpaired"][key])
            for r in reports.values()
            if "unpaired" in r["selection"]["picks"]
        ]
        if values:
            std = statistics.stdev(values) if len(values) > 1 else 0.0
            out[key] = {"mean": statistics.fmean(values), "std": std, "runs": len(values)}
    return out


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("runs", nargs="+", help="run folders (trained with eval_metric = 'unpaired')")
    p.add_argument("--target-psnr", type=float, default=None, help="report the CPU-min to reach it")
    p.add_argument("--json", default=None, help="write the report here")
    args = p.parse_args(argv)
    reports: dict[str, dict[str, Any]] = {}
    for run in args.runs:
        evals = read_evals(run)
        kept = best_file_step(run)
        reports[run] = {
            "selection": selection_report(evals),
            "time_to_quality": time_to_quality(evals, args.target_psnr),
            "best_file_step": kept,
        }
        print(markdown(run, reports[run]["selection"], reports[run]["time_to_quality"], kept))
        print()
    over = summary(reports)
    if over:
        print(
            "unpaired pick over runs: "
            + "; ".join(f"{k} {v['mean']:.3f} ± {v['std']:.3f}" for k, v in over.items())
        )
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({"runs": reports, "summary": over}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
