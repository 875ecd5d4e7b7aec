"""Both examples run end to end at a tiny budget and write what they promise."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

from PIL import Image

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
sys.path.insert(0, str(EXAMPLES))


def test_night_to_day_writes_run_folder(tmp_path: Path) -> None:
    import night_to_day

    run = tmp_path / "run"
    report = night_to_day.main(
        [
            "--steps",
            "3",
            "--image-size",
            "32",
            "--eval-scenes",
            "4",
            "--run-dir",
            str(run),
            "--no-progress",
            "--set",
            "model.generator.base_width=4",
            "--set",
            "model.discriminator.ndf=4",
            "--set",
            "train.sample_every=2",
        ]
    )
    assert report["steps"] == 3
    for name in ("eval.json", "results.png", "loss_curve.png", "metrics.jsonl", "config.json"):
        assert (run / name).is_file(), name
    assert list((run / "checkpoints").glob("step_*.safetensors"))
    assert list((run / "samples").glob("step_*.png"))
    saved = json.loads((run / "eval.json").read_text())
    rows = saved["results"]
    assert set(rows) == {
        "cyclegan (night2day)",
        "identity (night unchanged)",
        "auto-gamma",
        "histogram equalisation",
        "oracle global curve (uses the truth)",
    }
    for r in rows.values():
        assert 0.0 < r["psnr"] < 60.0 and math.isfinite(r["psnr"])
        assert -1.0 <= r["ssim"] <= 1.0 and -1.0 <= r["structure_ssim"] <= 1.0
    # the recipe starts as the identity: three steps cannot move it far from the night image
    assert (
        abs(rows["cyclegan (night2day)"]["psnr"] - rows["identity (night unchanged)"]["psnr"]) < 2.0
    )
    # the oracle curve is fitted with the truth: no global correction scores higher
    assert rows["oracle global curve (uses the truth)"]["psnr"] > rows["auto-gamma"]["psnr"]
    # the night image is much darker than the day it is scored against: brightening must help
    assert rows["auto-gamma"]["psnr"] > rows["identity (night unchanged)"]["psnr"]
    with Image.open(run / "results.png") as im:
        assert im.size[0] > 4 * 32 and im.size[1] > 4 * 32


def test_night_to_day_seed_preset_is_one_flag_away(tmp_path: Path) -> None:
    import night_to_day

    report = night_to_day.main(
        [
            "--preset",
            "seed",
            "--steps",
            "1",
            "--image-size",
            "32",
            "--eval-scenes",
            "2",
            "--run-dir",
            str(tmp_path / "seed"),
            "--no-progress",
            "--set",
            "model.generator.base_width=4",
            "--set",
            "model.discriminator.base_width=4",
        ]
    )
    assert report["preset"] == "seed" and "cyclegan (seed)" in report["results"]
    cfg = json.loads((tmp_path / "seed" / "config.json").read_text())
    assert cfg["model"]["generator"].get("residual", "none") == "none"
    assert cfg["train"]["budget_clock"] == "cpu"


def test_compose_your_own_trains_and_rebuilds_user_part(tmp_path: Path) -> None:
    import compose_your_own

    model = compose_your_own.main(["--steps", "2", "--run-dir", str(tmp_path / "cyo")])
    assert type(model.D_a).__name__ == "DilatedPatch"
    assert (tmp_path / "cyo" / "metrics.jsonl").is_file()
