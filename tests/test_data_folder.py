"""Unpaired image folders as users really have them: layout, bad files, errors, loading."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from cyclegan_ms.data import (
    BadImageWarning,
    Pipeline,
    RandomCrop,
    SampleKey,
    UnpairedImageFolder,
    make_loader,
    recipe,
)


def _jpeg(w: int, h: int, seed: int = 0, **kw: object) -> bytes:
    arr = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "JPEG", **kw)
    return buf.getvalue()


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def make_messy_domain(folder: Path) -> dict[str, list[str]]:
    """A domain folder with every kind of real-world file; returns the expected good/bad names."""
    jpg = _jpeg(48, 32, seed=1)
    png = _png(
        Image.fromarray(np.random.default_rng(2).integers(0, 256, (30, 20, 3), dtype=np.uint8))
    )
    exif = Image.Exif()
    exif[0x0112] = 6
    deep = np.array([[0, 300, 40000, 65535]] * 4, dtype=np.uint16)
    good = {
        "a_plain.jpg": jpg,
        "b_upper.JPG": _jpeg(40, 40, seed=3),
        "c_upper.JPEG": _jpeg(16, 64, seed=4),  # tall
        "nested/deeper/d_nested.png": png,
        "e_exif.jpg": _jpeg(40, 20, seed=5, exif=exif.tobytes()),
        "f_gray.png": _png(Image.new("L", (12, 12), 90)),
        "g_rgba.png": _png(Image.new("RGBA", (12, 12), (10, 20, 30, 128))),
        "h_palette.png": _png(Image.new("P", (12, 12), 3)),
        "i_deep16.png": _png(Image.fromarray(deep)),
        "j_tiny.bmp": b"",  # filled below
        "k_wide.webp": b"",
    }
    bmp, webp = io.BytesIO(), io.BytesIO()
    Image.new("RGB", (3, 2), (1, 2, 3)).save(bmp, "BMP")
    Image.new("RGB", (90, 10), (200, 100, 0)).save(webp, "WEBP", lossless=True)
    good["j_tiny.bmp"], good["k_wide.webp"] = bmp.getvalue(), webp.getvalue()
    bad = {
        "x_zero.jpg": b"",
        "x_truncated.jpg": jpg[: len(jpg) // 2],
        "x_truncated.png": png[: len(png) * 2 // 3],
        "x_text.jpg": b"I am a text file with a .jpg name\n",
    }
    ignored = {
        ".hidden.jpg": jpg,
        "._resource_fork.jpg": b"\x00\x05\x16\x07",
        ".thumbnails/t.jpg": jpg,
        "readme.txt": b"hello",
    }
    for name, data in {**good, **bad, **ignored}.items():
        _write(folder / name, data)
    return {"good": sorted(good), "bad": sorted(bad)}


@pytest.fixture
def messy_root(tmp_path: Path) -> tuple[Path, dict[str, list[str]]]:
    expected = make_messy_domain(tmp_path / "trainA")
    for i in range(3):
        _write(tmp_path / "trainB" / f"day_{i}.jpg", _jpeg(20 + i, 30, seed=10 + i))
    return tmp_path, expected


def _names(paths: list[Path], root: Path) -> list[str]:
    return [p.relative_to(root).as_posix() for p in paths]


def test_messy_folder_scan_skips_and_reports_bad_files_once(
    messy_root: tuple[Path, dict[str, list[str]]],
) -> None:
    root, expected = messy_root
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        ds = UnpairedImageFolder(root=root, transform=recipe("seed", size=32))
    ours = [w for w in rec if issubclass(w.category, BadImageWarning)]
    assert len(ours) == 1  # ONE summary warning
    message = str(ours[0].message)
    assert "skipped 4 unusable image file(s)" in message and "dataset.bad_files" in message
    for name in expected["bad"]:
        assert name in message
    assert _names(ds.files_a, root / "trainA") == expected["good"]
    assert sorted(b.path.name for b in ds.bad_files) == expected["bad"]
    assert all(b.stage == "scan" and b.reason for b in ds.bad_files)
    assert next(b for b in ds.bad_files if b.path.name == "x_zero.jpg").reason == "empty file"
    assert ds.len_a == 11 and ds.len_b == 3 and len(ds) == 11


def test_every_good_file_loads_as_rgb_tensor(messy_root: tuple[Path, dict[str, list[str]]]) -> None:
    root, _ = messy_root
    with pytest.warns(BadImageWarning):
        ds = UnpairedImageFolder(root=root, transform=recipe("paper", size=24))
    for i in range(ds.len_a):
        item = ds[SampleKey(i, i % ds.len_b, i)]
        assert item["A"].shape == (3, 24, 24) and item["B"].shape == (3, 24, 24)
        assert item["A"].dtype == torch.float32
        assert item["A"].min() >= -1 and item["A"].max() <= 1
        assert item["index_A"] == i and item["path_A"] == str(ds.files_a[i])
        assert item["skipped"] == ""


def test_exif_and_16bit_files_in_the_folder(messy_root: tuple[Path, dict[str, list[str]]]) -> None:
    root, _ = messy_root
    with pytest.warns(BadImageWarning):
        ds = UnpairedImageFolder(root=root, transform=Pipeline([]), channels=1)
    names = [p.name for p in ds.files_a]
    exif = ds[SampleKey(names.index("e_exif.jpg"), 0, 0)]["A"]
    assert exif.shape == (1, 40, 20)  # stored 40 x 20 landscape, shown upright as portrait
    deep = ds[SampleKey(names.index("i_deep16.png"), 0, 0)]["A"]
    assert deep.shape == (1, 4, 4)
    assert (deep[0, 0] * 255).round().tolist() == [0, 1, 156, 255]  # scaled by 255/65535


def test_grayscale_option(messy_root: tuple[Path, dict[str, list[str]]]) -> None:
    root, _ = messy_root
    with pytest.warns(BadImageWarning):
        ds = UnpairedImageFolder(root=root, transform=recipe("seed", size=16), channels=1)
    item = ds[0]
    assert item["A"].shape == (1, 16, 16) and item["B"].shape == (1, 16, 16)


def test_explicit_folders_and_test_split(tmp_path: Path) -> None:
    _write(tmp_path / "nights" / "n.png", _png(Image.new("RGB", (8, 8))))
    _write(tmp_path / "days" / "sub" / "d.PNG", _png(Image.new("RGB", (8, 8), (255, 255, 255))))
    ds = UnpairedImageFolder(
        a=tmp_path / "nights", b=tmp_path / "days", transform=recipe("seed", size=8)
    )
    item = ds[0]
    assert item["A"].max() == 0 and item["B"].min() == 1
    _write(tmp_path / "testA" / "x.jpg", _jpeg(8, 8))
    _write(tmp_path / "testB" / "y.jpg", _jpeg(8, 8))
    test = UnpairedImageFolder(root=tmp_path, split="test", transform=recipe("seed", size=8))
    assert [p.name for p in test.files_a] == ["x.jpg"]


def test_small_and_odd_aspect_images_are_resized_up(tmp_path: Path) -> None:
    _write(tmp_path / "A" / "tiny.png", _png(Image.new("RGB", (5, 3), (10, 200, 30))))
    _write(tmp_path / "A" / "strip.png", _png(Image.new("RGB", (300, 4), (10, 200, 30))))
    _write(tmp_path / "B" / "tall.png", _png(Image.new("RGB", (2, 90), (10, 200, 30))))
    for pipe in (recipe("paper", size=32), recipe("seed", size=32), Pipeline([RandomCrop(32)])):
        ds = UnpairedImageFolder(a=tmp_path / "A", b=tmp_path / "B", transform=pipe)
        for i in range(2):
            item = ds[SampleKey(i, 0, i)]
            assert item["A"].shape == (3, 32, 32) and item["B"].shape == (3, 32, 32)


def test_missing_folder_error_is_one_line_naming_folder_and_extensions(tmp_path: Path) -> None:
    (tmp_path / "trainB").mkdir()
    (tmp_path / "train_night").mkdir()
    with pytest.raises(FileNotFoundError) as err:
        UnpairedImageFolder(root=tmp_path)
    msg = str(err.value)
    assert "\n" not in msg
    assert f"domain A folder not found: {tmp_path / 'trainA'}" in msg
    assert all(ext in msg for ext in (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"))
    assert "contains: trainB, train_night" in msg  # what the user has instead
    with pytest.raises(FileNotFoundError, match=r"domain B folder not found: .*elsewhere"):
        UnpairedImageFolder(a=tmp_path, b=tmp_path / "elsewhere")


def test_empty_folder_error_is_one_line(tmp_path: Path) -> None:
    _write(tmp_path / "trainA" / "a.jpg", _jpeg(8, 8))
    _write(tmp_path / "trainB" / "notes.txt", b"no images")
    _write(tmp_path / "trainB" / ".hidden.jpg", _jpeg(8, 8))
    with pytest.raises(ValueError) as err:
        UnpairedImageFolder(root=tmp_path)
    msg = str(err.value)
    assert "\n" not in msg
    assert f"no images found in domain B folder {tmp_path / 'trainB'}" in msg
    assert ".png" in msg and "hidden files are ignored" in msg


def test_folder_of_only_bad_files(tmp_path: Path) -> None:
    _write(tmp_path / "trainA" / "a.jpg", _jpeg(8, 8))
    _write(tmp_path / "trainB" / "broken.jpg", b"garbage")
    with pytest.raises(
        ValueError,
        match=r"no usable images in domain B folder .*all 1 image files are unreadable, e\.g\. .*broken\.jpg",
    ):
        UnpairedImageFolder(root=tmp_path)


def test_argument_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"give either root .* or the folders a and b, not both"):
        UnpairedImageFolder(root=tmp_path, a=tmp_path)
    with pytest.raises(ValueError, match=r"give root .* or both folders a and b"):
        UnpairedImageFolder(a=tmp_path)
    with pytest.raises(ValueError, match=r"channels must be 1 .* or 3 .*; got 2"):
        UnpairedImageFolder(root=tmp_path, channels=2)
    with pytest.raises(ValueError, match="transform must be a recipe name"):
        UnpairedImageFolder(root=tmp_path, transform=3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown recipe 'cycle'"):
        UnpairedImageFolder(root=tmp_path, transform="cycle")  # type: ignore[arg-type]


def test_file_breaking_at_load_time_is_substituted_and_recorded(tmp_path: Path) -> None:
    for i in range(3):
        _write(tmp_path / "trainA" / f"a{i}.jpg", _jpeg(16, 16, seed=i))
    _write(tmp_path / "trainB" / "b.jpg", _jpeg(16, 16, seed=9))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing is wrong at scan time
        ds = UnpairedImageFolder(root=tmp_path, transform=recipe("seed", size=16))
    broken = ds.files_a[1]
    broken.write_bytes(broken.read_bytes()[:100])  # the file breaks after the scan
    with pytest.warns(BadImageWarning, match=r"could not load .*a1\.jpg .*using .*a2\.jpg instead"):
        item = ds[SampleKey(1, 0, 0)]
    assert item["path_A"].endswith("a2.jpg") and item["index_A"] == 2
    assert item["skipped"] == str(broken)
    assert [(b.path, b.stage) for b in ds.bad_files] == [(broken, "load")]
    again = ds[SampleKey(1, 0, 0)]  # known broken: skipped silently, still substituted
    assert again["path_A"].endswith("a2.jpg")
    assert len(ds.bad_files) == 1


def test_verify_none_defers_detection_to_load_time(tmp_path: Path) -> None:
    _write(tmp_path / "trainA" / "a0.jpg", b"not an image at all")
    _write(tmp_path / "trainA" / "a1.jpg", _jpeg(16, 16))
    _write(tmp_path / "trainB" / "b.jpg", _jpeg(16, 16))
    ds = UnpairedImageFolder(root=tmp_path, verify="none", transform=recipe("seed", size=8))
    assert ds.len_a == 2 and ds.bad_files == []
    with pytest.warns(BadImageWarning, match="a0.jpg"):
        item = ds[SampleKey(0, 0, 0)]
    assert item["skipped"].endswith("a0.jpg") and item["path_A"].endswith("a1.jpg")
    assert ds.bad_files[0].stage == "load" and "Unidentified" in ds.bad_files[0].reason


def test_all_files_broken_at_load_time(tmp_path: Path) -> None:
    _write(tmp_path / "trainA" / "a.jpg", b"junk")
    _write(tmp_path / "trainB" / "b.jpg", _jpeg(8, 8))
    ds = UnpairedImageFolder(root=tmp_path, verify="none")
    with pytest.raises(
        RuntimeError,
        match=r"no loadable image left in domain A folder .*trainA: all 1 files failed",
    ):
        ds[0]


def test_load_time_skips_survive_worker_processes(tmp_path: Path) -> None:
    for i in range(4):
        _write(tmp_path / "trainA" / f"a{i}.jpg", b"junk" if i == 0 else _jpeg(16, 16, seed=i))
    _write(tmp_path / "trainB" / "b.jpg", _jpeg(16, 16))
    ds = UnpairedImageFolder(root=tmp_path, verify="none", transform=recipe("seed", size=8))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BadImageWarning)
        batches = list(make_loader(ds, batch_size=2, num_workers=2, seed=0))
    skipped = [s for b in batches for s in b["skipped"] if s]
    assert skipped and all(s.endswith("a0.jpg") for s in skipped)
    assert all(not p.endswith("a0.jpg") for b in batches for p in b["path_A"])


def test_loader_batches_have_the_documented_format(
    messy_root: tuple[Path, dict[str, list[str]]],
) -> None:
    root, _ = messy_root
    with pytest.warns(BadImageWarning):
        ds = UnpairedImageFolder(root=root, transform=recipe("paper", size=16))
    batch = next(iter(make_loader(ds, batch_size=4, seed=3)))
    assert batch["A"].shape == (4, 3, 16, 16) and batch["B"].shape == (4, 3, 16, 16)
    assert batch["index_A"].dtype == torch.int64 and batch["index_A"].shape == (4,)
    assert len(batch["path_A"]) == 4 and isinstance(batch["path_B"][0], str)
    assert batch["skipped"] == [""] * 4


def test_same_key_same_item_and_augmentations_vary_with_the_seed(tmp_path: Path) -> None:
    _write(tmp_path / "trainA" / "a.jpg", _jpeg(64, 48))
    _write(tmp_path / "trainB" / "b.jpg", _jpeg(64, 48, seed=1))
    ds = UnpairedImageFolder(root=tmp_path, transform=recipe("paper", size=32))
    x1, x2 = ds[SampleKey(0, 0, 5)], ds[SampleKey(0, 0, 5)]
    assert torch.equal(x1["A"], x2["A"]) and torch.equal(x1["B"], x2["B"])
    crops = {ds[SampleKey(0, 0, s)]["A"].sum().item() for s in range(10)}
    assert len(crops) > 3
