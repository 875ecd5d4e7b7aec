"""The BDD100K split script shown in the tutorial works on a BDD100K-shaped folder."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from cyclegan_ms.data import UnpairedImageFolder

SCRIPT = Path(__file__).parent / "scripts" / "split_bdd100k.py"


def _load_script():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("split_bdd100k", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _fake_bdd(root: Path) -> None:
    times = {
        "train": ["night", "night", "daytime", "dawn/dusk", "undefined", "daytime", "daytime"],
        "val": ["night", "daytime"],
    }
    for split, labels in times.items():
        images = root / "images" / "100k" / split
        images.mkdir(parents=True)
        frames = []
        for i, timeofday in enumerate(labels):
            name = f"{split}-{i:04d}.jpg"
            Image.new("RGB", (64, 36), (10 * i, 20, 30)).save(images / name)
            frames.append(
                {"name": name, "attributes": {"timeofday": timeofday, "weather": "clear"}}
            )
        frames.append({"name": "missing.jpg", "attributes": {"timeofday": "night"}})
        labels_dir = root / "labels"
        labels_dir.mkdir(exist_ok=True)
        (labels_dir / f"bdd100k_labels_images_{split}.json").write_text(json.dumps(frames))


def test_split_links_night_to_a_and_day_to_b(tmp_path: Path) -> None:
    _fake_bdd(tmp_path / "bdd")
    out = tmp_path / "night2day"
    counts = _load_script().split_bdd100k(tmp_path / "bdd", out)
    assert counts == {"trainA": 2, "trainB": 3, "testA": 1, "testB": 1}
    assert sorted(p.name for p in (out / "trainA").iterdir()) == [
        "train-0000.jpg",
        "train-0001.jpg",
    ]
    assert all(p.is_symlink() for p in (out / "trainB").iterdir())
    ds = UnpairedImageFolder(root=out, transform="seed")
    assert (len(ds.files_a), len(ds.files_b)) == (2, 3)
    assert tuple(ds[0]["A"].shape) == (3, 256, 256)
    test = UnpairedImageFolder(root=out, split="test", transform="seed")
    assert (len(test.files_a), len(test.files_b)) == (1, 1)


def test_split_command_line_copies(tmp_path: Path) -> None:
    _fake_bdd(tmp_path / "bdd")
    out = tmp_path / "copied"
    run = subprocess.run(
        [sys.executable, str(SCRIPT), str(tmp_path / "bdd"), str(out), "--copy"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert f"{out / 'trainB'}: 3 images" in run.stdout
    assert not any(p.is_symlink() for p in (out / "trainA").iterdir())
    assert len(list((out / "testA").iterdir())) == 1


def test_split_refuses_a_folder_without_labels(tmp_path: Path) -> None:

    with pytest.raises(FileNotFoundError, match=r"is .* a BDD100K folder"):
        _load_script().split_bdd100k(tmp_path, tmp_path / "out")
