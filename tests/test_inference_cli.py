"""`cyclegan-ms translate`: files and folders, names kept, bad inputs skipped, atomic writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from cyclegan_ms import CycleGAN
from cyclegan_ms.cli import build_parser, main
from cyclegan_ms.inference import export, translate
from cyclegan_ms.inference_cli import plan_outputs

TINY_G = {"name": "resnet_6blocks", "ngf": 4}
TINY_D = {"name": "patchgan", "ndf": 4, "n_layers": 2}


@pytest.fixture(scope="module")
def generator_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    model = CycleGAN(G_ab=TINY_G, G_ba=TINY_G, D_a=TINY_D, D_b=TINY_D)
    return export(model, tmp_path_factory.mktemp("ckpt") / "night2day.safetensors")


def make_inputs(root: Path) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    pixels = {
        "a.png": (rng.random((20, 30, 3)) * 255).astype(np.uint8),
        "sub/b.JPG": (rng.random((17, 23, 3)) * 255).astype(np.uint8),
        "sub/deeper/c.png": (rng.random((12, 12)) * 255).astype(np.uint8),
    }
    for name, arr in pixels.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(arr).save(path)
    (root / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    (root / "empty.jpg").write_bytes(b"")
    (root / ".hidden.png").write_bytes(b"junk")  # hidden files are ignored, not reported
    (root / "notes.txt").write_text("not an image")
    return pixels


def test_translate_folder_keeps_names_and_skips_bad_files(
    generator_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "night"
    pixels = make_inputs(src)
    out = tmp_path / "day"
    code = main(
        [
            "translate",
            "--checkpoint",
            str(generator_file),
            str(src),
            "--out",
            str(out),
            "--no-progress",
            "--engine",  # what translate() uses (the command's default auto may pick another)
            "eager",
        ]
    )
    captured = capsys.readouterr()
    assert code == 1  # some inputs were skipped
    assert "translated 3 image(s)" in captured.out
    assert "broken.png" in captured.err and "empty.jpg" in captured.err
    assert ".hidden" not in captured.err and "notes.txt" not in captured.err
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert written == ["a.png", "sub/b.JPG", "sub/deeper/c.png"]  # no temporary files left
    result = np.asarray(Image.open(out / "a.png"))
    expected = translate(generator_file, pixels["a.png"])
    np.testing.assert_array_equal(result, expected)  # PNG is lossless
    assert Image.open(out / "sub" / "b.JPG").format == "JPEG"
    assert Image.open(out / "sub/deeper/c.png").size == (12, 12)


def test_translate_files_direction_tile_and_ext(
    generator_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "in"
    pixels = make_inputs(src)
    out = tmp_path / "out"
    argv = [
        "translate",
        "--checkpoint",
        str(generator_file),
        str(src / "a.png"),
        str(src / "sub" / "b.JPG"),
    ]
    argv += ["--out", str(out), "--tile", "16", "--overlap", "4", "--ext", "png", "--no-progress"]
    assert main(argv) == 0
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.png"]
    tiled = translate(generator_file, pixels["a.png"], tile=16, overlap=4)
    np.testing.assert_array_equal(np.asarray(Image.open(out / "a.png")), tiled)
    # the b2a direction of an a2b generator file is refused with one line, exit status 2
    argv = ["translate", "--checkpoint", str(generator_file), str(src / "a.png"), "--out", str(out)]
    assert main([*argv, "--direction", "b2a"]) == 2
    assert "holds the a2b generator" in capsys.readouterr().err


def test_skip_existing_and_missing_inputs(
    generator_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "in"
    make_inputs(src)
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.png").write_bytes(b"keep me")
    argv = [
        "translate",
        "--checkpoint",
        str(generator_file),
        str(src / "a.png"),
        str(tmp_path / "nope.png"),
    ]
    assert main([*argv, "--out", str(out), "--skip-existing", "--no-progress"]) == 1
    assert (out / "a.png").read_bytes() == b"keep me"
    assert "nope.png (not found)" in capsys.readouterr().err


def test_plan_outputs_refuses_collisions_and_overwriting_inputs(tmp_path: Path) -> None:
    for d in ("x", "y"):
        (tmp_path / d).mkdir()
        Image.new("RGB", (8, 8)).save(tmp_path / d / "same.png")
    with pytest.raises(ValueError, match="would both be written to"):
        plan_outputs(
            [str(tmp_path / "x" / "same.png"), str(tmp_path / "y" / "same.png")], tmp_path / "o"
        )
    with pytest.raises(ValueError, match="would overwrite its input"):
        plan_outputs([str(tmp_path / "x")], tmp_path / "x")
    with pytest.raises(ValueError, match="--ext must be one of"):
        plan_outputs([str(tmp_path / "x")], tmp_path / "o", ext="gif")
    (tmp_path / "a_file.png").write_bytes(b"")
    with pytest.raises(
        ValueError, match="is a file; --out names the folder"
    ):  # once, before any image
        plan_outputs([str(tmp_path / "x"), str(tmp_path / "y")], tmp_path / "a_file.png")
    jobs, missing = plan_outputs(
        [str(tmp_path / "x"), str(tmp_path / "z")], tmp_path / "o", ext="jpg"
    )
    assert [d.name for _, d in jobs] == ["same.jpg"] and missing == [
        f"{tmp_path / 'z'} (not found)"
    ]


@pytest.mark.parametrize(
    "argv",
    [
        ["translate", "--checkpoint", "c", "in.png", "--out", "o"],
        ["export", "--checkpoint", "c", "--out", "g.onnx"],
        ["eval", "--checkpoint", "c"],
    ],
)
def test_subcommands_are_registered(argv: list[str]) -> None:
    import cyclegan_ms.inference_cli  # noqa: F401  (main() imports it the same way)

    assert build_parser().parse_args(argv).command == argv[0]


def test_tile_argument() -> None:
    import cyclegan_ms.inference_cli  # noqa: F401

    parser = build_parser()
    base = ["translate", "--checkpoint", "c", "i", "--out", "o"]
    assert parser.parse_args([*base, "--tile", "none"]).tile is None
    assert parser.parse_args([*base, "--tile", "auto"]).tile == "auto"
    assert parser.parse_args([*base, "--tile", "256"]).tile == 256
    with pytest.raises(SystemExit):
        parser.parse_args([*base, "--tile", "big"])
