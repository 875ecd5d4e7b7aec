"""Aligned pairs from files (two folders matched by name, side-by-side AB images), their data
order, their errors, and pix2pix trained on them from the command line with periodic eval."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from tiny_runs import tiny_toml

from cyclegan_ms.cli import main
from cyclegan_ms.data import (
    AlignedImageFolder,
    AlignedSampler,
    SampleKey,
    match_by_name,
    recipe,
    side_by_side_pairs,
)
from cyclegan_ms.data.loader import training_sampler
from cyclegan_ms.training import load_config
from cyclegan_ms.training.callbacks import PeriodicEval
from cyclegan_ms.training.config import ConfigError
from cyclegan_ms.training.experiment import build_dataset, resolve_eval_data, run_experiment

PAPER = recipe("paper", size=32, load_size=40)


def _image(seed: int, h: int = 40, w: int = 48) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _ab_folder(root: Path, split: str = "train", n: int = 4, width: int = 48) -> Path:
    """``n`` AB images whose B half is the negative of the A half."""
    folder = root / split
    folder.mkdir(parents=True)
    for i in range(n):
        a = _image(i, w=width - width // 2)
        b = (255 - a)[:, : width // 2]
        Image.fromarray(np.concatenate([a, b], axis=1)).save(folder / f"{i:02d}.png")
    return folder


def _folders(root: Path, split: str = "train", n: int = 4) -> None:
    (root / f"{split}A").mkdir(parents=True)
    (root / f"{split}B").mkdir(parents=True)
    for i in range(n):
        a = _image(i)
        Image.fromarray(a).save(root / f"{split}A" / f"{i:02d}.png")
        Image.fromarray(255 - a).save(root / f"{split}B" / f"{i:02d}.bmp")  # another extension


@pytest.mark.parametrize("layout", ["ab", "folders"])
def test_a_pair_gets_the_same_crop_and_flip(tmp_path: Path, layout: str) -> None:
    if layout == "ab":
        _ab_folder(tmp_path)
    else:
        _folders(tmp_path)
    ds = AlignedImageFolder(root=tmp_path, layout=layout, transform=PAPER)  # type: ignore[arg-type]
    assert len(ds) == 4
    seen = []
    for epoch in range(3):
        sampler = AlignedSampler(ds, seed=0)
        sampler.set_epoch(epoch)
        for key in sampler:
            item = ds[key]
            assert item["index"] == key.index_a and item["A"].shape == (3, 32, 32)
            # B is A's negative: only the same window, mirrored alike, sums to zero
            assert float((item["A"] + item["B"]).abs().max()) < 0.02
            if key.index_a == 0:
                seen.append(item["A"])
    assert any(not torch.equal(seen[0], x) for x in seen[1:]), "a new augmentation each epoch"


def test_direction_b2a_swaps_input_and_target(tmp_path: Path) -> None:
    _ab_folder(tmp_path)
    ab = AlignedImageFolder(root=tmp_path, layout="ab", transform=PAPER)
    ba = AlignedImageFolder(root=tmp_path, layout="ab", transform=PAPER, direction="b2a")
    key = SampleKey(2, 2, 123)
    x, y = ab[key], ba[key]
    assert torch.equal(x["A"], y["B"]) and torch.equal(x["B"], y["A"])
    left, right = next(side_by_side_pairs(tmp_path / "train", value_range=(-1.0, 1.0)))
    swapped = next(side_by_side_pairs(tmp_path / "train", direction="b2a", value_range=(-1.0, 1.0)))
    assert left.shape == (3, 40, 24) and torch.equal(swapped[0], right)
    assert torch.allclose(left + right, torch.zeros_like(left), atol=1e-6)


def test_plain_int_index_is_deterministic_and_keys_must_agree(tmp_path: Path) -> None:
    _folders(tmp_path)
    ds = AlignedImageFolder(root=tmp_path, transform=PAPER)
    assert torch.equal(ds[1]["A"], ds[1]["A"]) and torch.equal(ds[-3]["A"], ds[1]["A"])
    assert ds[1]["path_A"].endswith("01.png") and ds[1]["path_B"].endswith("01.bmp")
    with pytest.raises(ValueError, match=r"index_a and index_b must agree"):
        ds[SampleKey(0, 1, 5)]
    with pytest.raises(IndexError, match=r"out of range for 4 aligned pairs"):
        ds[4]
    assert isinstance(training_sampler(ds), AlignedSampler)


def test_unmatched_and_duplicate_names_are_listed(tmp_path: Path) -> None:
    _folders(tmp_path, n=3)
    for i in range(7):
        Image.fromarray(_image(i)).save(tmp_path / "trainA" / f"extra{i}.png")
    Image.fromarray(_image(9)).save(tmp_path / "trainB" / "lonely.jpg")
    with pytest.raises(
        ValueError,
        match=r"7 in .*trainA have no partner .*extra0, extra1.* and 2 more; 1 in .*trainB.*lonely",
    ):
        AlignedImageFolder(root=tmp_path)
    other = tmp_path / "dup"
    _folders(other, n=1)
    Image.fromarray(_image(0)).save(other / "trainA" / "00.jpg")
    with pytest.raises(ValueError, match=r"share the name '00'"):
        match_by_name(other / "trainA", other / "trainB")


def test_odd_ab_widths_and_missing_folders_are_refused(tmp_path: Path) -> None:
    _ab_folder(tmp_path, width=49)
    with pytest.raises(ValueError, match=r"width must be even; 4 in .* are odd: 00.png \(49x40\)"):
        AlignedImageFolder(root=tmp_path, layout="ab")
    with pytest.raises(FileNotFoundError, match=r"holds images itself: give its parent"):
        AlignedImageFolder(root=tmp_path / "train", layout="ab")
    with pytest.raises(FileNotFoundError, match=r"trainA.*contains: train"):
        AlignedImageFolder(root=tmp_path, layout="folders")
    with pytest.raises(ValueError, match=r"not the folders a and b"):
        AlignedImageFolder(a=tmp_path, b=tmp_path, layout="ab")


def test_unreadable_file_drops_its_pair_and_a_smaller_b_is_resized(tmp_path: Path) -> None:
    _folders(tmp_path, n=3)
    (tmp_path / "trainB" / "01.bmp").write_bytes(b"not an image")
    Image.fromarray(_image(5, 20, 24)).save(tmp_path / "trainB" / "02.bmp")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = AlignedImageFolder(root=tmp_path, transform="seed")
    assert [p.stem for p, _ in ds.pairs] == ["00", "02"]
    assert [b.path.name for b in ds.bad_files] == ["01.bmp"]
    assert any("01.bmp" in str(w.message) for w in caught)
    img_a, img_b, j, broke = ds.load_pair(1)
    assert img_b.size == img_a.size == (48, 40) and j == 1 and broke == []


def _cfg(**data: object) -> dict[str, object]:
    return {
        "model": {
            "name": "pix2pix",
            "generator": {"name": "resnet_6blocks", "ngf": 4},
            "discriminator": {"name": "patchgan", "ndf": 4, "n_layers": 2},
        },
        "data": {"image_size": 32, "value_range": "symmetric", "recipe": "paper", **data},
        "train": {"eval_every": 1},
    }


def test_config_errors_name_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"set data.source = 'aligned'"):
        load_config(_cfg(source="folder", root=str(tmp_path), layout="ab"))
    with pytest.raises(ConfigError, match=r"layout = 'ab' needs data.root"):
        load_config(_cfg(source="aligned", layout="ab", path_a="x", path_b="y"))
    with pytest.raises(ConfigError, match=r"needs data.root"):
        load_config(_cfg(source="aligned"))
    _folders(tmp_path)
    folder = load_config(_cfg(source="folder", root=str(tmp_path)))
    with pytest.raises(ConfigError, match=r"paired model .* data.source = 'folder' is unpaired"):
        build_dataset(folder.data, paired=True)
    aligned = load_config(_cfg(source="aligned", root=str(tmp_path)))
    with pytest.raises(ConfigError, match=r"for a paired model .* set data.source = 'folder'"):
        build_dataset(aligned.data, paired=False)
    assert isinstance(build_dataset(aligned.data, paired=True), AlignedImageFolder)
    with pytest.raises(ConfigError, match=r"unset train.eval_targets"):
        load_config({"train": {"eval_pairing": "ab", "eval_inputs": "x", "eval_targets": "y"}})
    with pytest.raises(ValueError, match=r"give inputs alone"):
        PeriodicEval(1, pairing="ab")


def test_eval_resolves_to_the_aligned_test_split(tmp_path: Path) -> None:
    _folders(tmp_path, "test", n=2)
    cfg = load_config(_cfg(source="aligned", root=str(tmp_path), direction="b2a"))
    resolve_eval_data(cfg)
    assert cfg.train.eval_inputs == str(tmp_path / "testB")
    assert cfg.train.eval_targets == str(tmp_path / "testA")
    assert cfg.train.eval_pairing == "by_name" and cfg.train.eval_keep_best
    _ab_folder(tmp_path, "test", n=2)
    cfg = load_config(_cfg(source="aligned", root=str(tmp_path), layout="ab", direction="b2a"))
    resolve_eval_data(cfg)
    assert (cfg.train.eval_inputs, cfg.train.eval_targets) == (str(tmp_path / "test"), None)
    assert cfg.train.eval_pairing == "ba" and cfg.train.eval_data == "folder"


def test_cli_trains_pix2pix_on_ab_images_with_periodic_eval(tmp_path: Path) -> None:
    data = tmp_path / "facades"
    _ab_folder(data, "train", n=4)
    _ab_folder(data, "test", n=2)
    config = tmp_path / "p2p.toml"
    config.write_text(
        tiny_toml(
            model="pix2pix",
            data="\n".join(
                [
                    'source = "aligned"',
                    f'root = "{data}"',
                    'layout = "ab"',
                    "image_size = 32",
                    "load_size = 36",
                    'recipe = "paper"',
                    'value_range = "symmetric"',
                ]
            ),
            train_extra='eval_every = 1\neval_metric = "psnr"',
        )
    )
    run = tmp_path / "run"
    assert main(["train", str(config), "--run-dir", str(run)]) == 0
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    evals = [r for r in records if r.get("event") == "eval"]
    assert [r["step"] for r in evals] == [1, 2]
    assert all(np.isfinite(r["eval_psnr"]) for r in evals)
    assert any("g_l1" in r for r in records)
    stored = json.loads((run / "config.json").read_text())
    assert stored["train"]["eval_inputs"] == str(data / "test")
    assert stored["train"]["eval_pairing"] == "ab"
    assert (run / "checkpoints" / "best.safetensors").is_file()
    with warnings.catch_warnings(record=True) as caught:  # its stored config warns of nothing
        warnings.simplefilter("always")
        assert main(["train", "--resume", str(run), "--set", "train.steps=3"]) == 0
    assert not [w for w in caught if "num_scenes" in str(w.message)]
    assert [
        r["step"]
        for r in map(json.loads, (run / "metrics.jsonl").read_text().splitlines())
        if r.get("event") == "eval"
    ] == [1, 2, 3]


def _losses(run: Path) -> list[dict[str, float]]:
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if k != "time"} for r in records if "event" not in r]


def test_a_resumed_run_on_aligned_folders_repeats_the_uninterrupted_one(tmp_path: Path) -> None:
    _folders(tmp_path / "data", n=5)  # 5 pairs, batch 2: the second epoch starts mid-run
    cfg = _cfg(source="aligned", root=str(tmp_path / "data"), load_size=36)
    cfg["train"] = {"steps": 4, "batch_size": 2, "log_every": 1, "progress": False}
    run_experiment(cfg, run_dir=tmp_path / "full")
    run_experiment(cfg, run_dir=tmp_path / "half", overrides=["train.steps=2"])
    run_experiment(None, resume=tmp_path / "half", overrides=["train.steps=4"])
    full = _losses(tmp_path / "full")
    assert [r["step"] for r in full] == [1, 2, 3, 4]
    assert _losses(tmp_path / "half") == full
