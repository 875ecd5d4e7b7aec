"""Finding, checking and loading image files: extensions, hidden files, modes, EXIF, bad files."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cyclegan_ms.data.images import (
    IMAGE_EXTENSIONS,
    check_image,
    find_images,
    load_image,
    scan_images,
    to_channels,
)


def _save(path: Path, img: Image.Image, fmt: str | None = None, **kw: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, format=fmt, **kw)
    return path


def _rgb(w: int = 16, h: int = 12, color: tuple[int, int, int] = (200, 30, 10)) -> Image.Image:
    return Image.new("RGB", (w, h), color)


# -- finding -------------------------------------------------------------------------------------


def test_find_images_recursive_case_insensitive_and_ignores_hidden(tmp_path: Path) -> None:
    for name in ["a.jpg", "b.JPG", "c.Jpeg", "d.png", "e.BMP", "f.webp", "g.tif", "h.TIFF"]:
        _save(
            tmp_path / name,
            _rgb(),
            fmt={"jpg": "JPEG", "jpeg": "JPEG", "tif": "TIFF", "tiff": "TIFF"}.get(
                name.split(".")[1].lower()
            ),
        )
    _save(tmp_path / "nested" / "deeper" / "i.png", _rgb())
    _save(tmp_path / ".hidden.jpg", _rgb(), fmt="JPEG")
    _save(tmp_path / "._j.jpg", _rgb(), fmt="JPEG")  # macOS resource fork
    _save(tmp_path / ".cache" / "k.jpg", _rgb(), fmt="JPEG")  # hidden folder
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "Thumbs.db").write_bytes(b"\x00" * 10)

    found = [p.relative_to(tmp_path).as_posix() for p in find_images(tmp_path)]
    assert found == [
        "a.jpg",
        "b.JPG",
        "c.Jpeg",
        "d.png",
        "e.BMP",
        "f.webp",
        "g.tif",
        "h.TIFF",
        "nested/deeper/i.png",
    ]
    flat = [p.name for p in find_images(tmp_path, recursive=False)]
    assert "i.png" not in flat and len(flat) == 8


def test_accepted_extensions_are_the_documented_ones() -> None:
    assert set(IMAGE_EXTENSIONS) == {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}


def test_find_images_missing_folder_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"not found: .*nope.*jpg") as err:
        find_images(tmp_path / "nope")
    assert "\n" not in str(err.value)


# -- checking ------------------------------------------------------------------------------------


def _jpeg_bytes(w: int = 64, h: int = 48) -> bytes:
    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def _png_bytes(w: int = 64, h: int = 48) -> bytes:
    rng = np.random.default_rng(1)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


@pytest.mark.parametrize("verify", ["quick", "full"])
def test_check_image_rejects_each_kind_of_bad_file(tmp_path: Path, verify: str) -> None:
    jpg, png = _jpeg_bytes(), _png_bytes()
    files = {
        "zero.jpg": b"",
        "truncated.jpg": jpg[: len(jpg) // 2],
        "truncated.png": png[: len(png) // 2],
        "text.jpg": b"this is a text file, not a JPEG\n",
        "random.png": np.random.default_rng(2).bytes(300),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        reason = check_image(tmp_path / name, verify=verify)  # type: ignore[arg-type]
        assert reason is not None, name
    assert check_image(tmp_path / "zero.jpg") == "empty file"
    assert "Unidentified" in (check_image(tmp_path / "text.jpg") or "")
    (tmp_path / "good.jpg").write_bytes(jpg)
    (tmp_path / "good.png").write_bytes(png)
    assert check_image(tmp_path / "good.jpg", verify=verify) is None  # type: ignore[arg-type]
    assert check_image(tmp_path / "good.png", verify=verify) is None  # type: ignore[arg-type]


def test_quick_check_accepts_trailing_bytes_after_a_valid_jpeg(tmp_path: Path) -> None:
    # some cameras append data after the end marker: not a broken file
    (tmp_path / "trailer.jpg").write_bytes(_jpeg_bytes() + b"\x00extra-metadata" * 10)
    assert check_image(tmp_path / "trailer.jpg") is None
    assert load_image(tmp_path / "trailer.jpg").size == (64, 48)


def test_check_none_only_rejects_empty_files(tmp_path: Path) -> None:
    (tmp_path / "text.jpg").write_text("hello")
    (tmp_path / "zero.jpg").write_bytes(b"")
    assert check_image(tmp_path / "text.jpg", verify="none") is None
    assert check_image(tmp_path / "zero.jpg", verify="none") == "empty file"


def test_check_image_unknown_verify_mode() -> None:
    with pytest.raises(ValueError, match="verify must be one of none, quick, full"):
        check_image("x.jpg", verify="deep")  # type: ignore[arg-type]


def test_scan_images_splits_good_and_bad(tmp_path: Path) -> None:
    (tmp_path / "good.jpg").write_bytes(_jpeg_bytes())
    (tmp_path / "bad.jpg").write_text("nope")
    result = scan_images(tmp_path)
    assert [p.name for p in result.files] == ["good.jpg"]
    assert [b.path.name for b in result.bad] == ["bad.jpg"]
    assert result.bad[0].stage == "scan" and "bad.jpg" in str(result.bad[0])


# -- modes ---------------------------------------------------------------------------------------


def test_i16_is_scaled_not_clipped(tmp_path: Path) -> None:
    values = np.array([[0, 1000, 30000, 65535]], dtype=np.uint16)
    path = _save(tmp_path / "deep.png", Image.fromarray(values))
    with Image.open(path) as im:
        assert im.mode.startswith("I")  # 16-bit on disk
    out = np.asarray(load_image(path, channels=1))
    assert out.tolist() == [[0, 4, 117, 255]]  # v / 257, rounded; 1000 would be 255 if clipped
    rgb = np.asarray(load_image(path))
    assert rgb.shape == (1, 4, 3) and (rgb[..., 0] == out).all()


def test_i16_big_endian_tiff(tmp_path: Path) -> None:
    data = np.array([[256, 65535]], dtype=">u2").tobytes()
    path = _save(tmp_path / "be.tiff", Image.frombytes("I;16B", (2, 1), data))
    with Image.open(path) as im:
        assert im.mode.startswith("I;16")
    assert np.asarray(load_image(path, channels=1)).tolist() == [[1, 255]]


@pytest.mark.parametrize(
    ("values", "mode", "expected"),
    [
        (np.array([[0, 128, 255]], np.int32), "I", [0, 128, 255]),  # already 8-bit
        (np.array([[0, 1000, 65535]], np.int32), "I", [0, 4, 255]),  # 16-bit range
        (np.array([[-10, 0, 10]], np.int32), "I", [0, 128, 255]),  # arbitrary: stretched
        (np.array([[0.0, 0.5, 1.0]], np.float32), "F", [0, 128, 255]),  # [0, 1]
        (np.array([[0.0, 100.0, 255.0]], np.float32), "F", [0, 100, 255]),  # [0, 255]
    ],
)
def test_int32_and_float_modes(values: np.ndarray, mode: str, expected: list[int]) -> None:
    im = Image.fromarray(values, mode=mode) if mode == "F" else Image.fromarray(values)
    assert im.mode == mode
    assert np.asarray(to_channels(im, channels=1)).tolist() == [expected]


def test_modes_from_files_all_become_rgb(tmp_path: Path) -> None:
    rgba = Image.new("RGBA", (8, 6), (255, 0, 0, 0))  # fully transparent red
    rgba.paste((0, 0, 255, 255), (0, 0, 4, 6))  # opaque blue left half
    pal = Image.new("P", (8, 6), 1)
    pal.putpalette([0, 0, 0, 10, 200, 30] + [0] * 762)
    pal.info["transparency"] = 0
    cases = {
        "l.png": Image.new("L", (8, 6), 77),
        "la.png": Image.new("LA", (8, 6), (77, 255)),
        "one.png": Image.new("1", (8, 6), 1),
        "p.png": pal,
        "rgba.png": rgba,
        "cmyk.jpg": Image.new("CMYK", (8, 6), (0, 255, 255, 0)),  # red in CMYK
        "rgb.bmp": Image.new("RGB", (8, 6), (1, 2, 3)),
        "rgb.webp": Image.new("RGB", (8, 6), (90, 90, 90)),
        "rgb.tiff": Image.new("RGB", (8, 6), (4, 5, 6)),
        "i.tif": Image.fromarray(np.full((6, 8), 40000, np.int32)),
        "f.tif": Image.fromarray(np.full((6, 8), 0.25, np.float32), mode="F"),
    }
    for name, im in cases.items():
        _save(tmp_path / name, im, lossless=True) if name.endswith("webp") else _save(
            tmp_path / name, im
        )
        out = load_image(tmp_path / name)
        assert out.mode == "RGB" and out.size == (8, 6), name
        gray = load_image(tmp_path / name, channels=1)
        assert gray.mode == "L" and gray.size == (8, 6), name
    px = {name: np.asarray(load_image(tmp_path / name))[0, -1].tolist() for name in cases}
    assert px["l.png"] == [77, 77, 77]
    assert px["one.png"] == [255, 255, 255]
    assert px["rgba.png"] == [255, 255, 255]  # transparent: composited over white, not red
    assert np.asarray(load_image(tmp_path / "rgba.png"))[0, 0].tolist() == [0, 0, 255]
    assert px["p.png"] == [10, 200, 30]  # palette index 1 (index 0 is the transparent one)
    r, g, b = px["cmyk.jpg"]
    assert r > 200 and g < 60 and b < 60  # CMYK red stays red
    assert px["rgb.bmp"] == [1, 2, 3]
    assert px["i.tif"] == [156, 156, 156]  # 40000 / 257
    assert px["f.tif"] == [64, 64, 64]  # 0.25 * 255


def test_transparent_pixels_use_the_background() -> None:
    im = Image.new("LA", (2, 2), (10, 0))
    assert np.asarray(to_channels(im, background=(0, 0, 0))).max() == 0
    assert np.asarray(to_channels(im)).min() == 255
    premult = Image.new("RGBA", (2, 2), (100, 50, 0, 255)).convert("RGBa")
    assert np.asarray(to_channels(premult))[0, 0].tolist() == [100, 50, 0]


def test_to_channels_rejects_other_counts() -> None:
    with pytest.raises(ValueError, match=r"channels must be 1 \(grayscale\) or 3 \(RGB\); got 4"):
        to_channels(Image.new("RGB", (2, 2)), channels=4)


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    img = Image.new("RGB", (40, 20), (0, 0, 255))
    img.paste((255, 0, 0), (0, 0, 20, 20))  # left half red
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    path = _save(tmp_path / "phone.jpg", img, exif=exif.tobytes(), quality=95)
    with Image.open(path) as raw:
        assert raw.size == (40, 20)  # stored sideways
    out = load_image(path)
    assert out.size == (20, 40)  # shown upright (portrait)
    arr = np.asarray(out).astype(int)
    assert arr[:20, :, 0].mean() > 200 and arr[:20, :, 2].mean() < 60  # red went to the top
    assert arr[20:, :, 2].mean() > 200


def test_jpeg_draft_decodes_smaller_but_not_below_the_request(tmp_path: Path) -> None:
    path = _save(tmp_path / "big.jpg", _rgb(800, 600))
    small = load_image(path, draft_size=150)
    assert min(small.size) >= 150 and small.size[0] < 800
    assert load_image(path).size == (800, 600)


def test_load_image_raises_on_truncation(tmp_path: Path) -> None:
    data = _jpeg_bytes(128, 96)
    (tmp_path / "cut.jpg").write_bytes(data[: int(len(data) * 0.7)])
    with pytest.raises(OSError, match="truncated"):
        load_image(tmp_path / "cut.jpg")
