"""Export: ONNX (run in onnxruntime), TorchScript and generator files, with dynamic H and W."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from cyclegan_ms import CycleGAN, build
from cyclegan_ms.cli import main
from cyclegan_ms.inference import PadToMultiple, Translator, export, load_generator
from cyclegan_ms.inference.export import verify_export

# fp32 translation: these tests compare against fp32 references (bf16: test_translate_precision)
pytestmark = pytest.mark.usefixtures("fp32_translation")

TINY_G = {"name": "resnet_6blocks", "ngf": 4}
TINY_D = {"name": "patchgan", "ndf": 4, "n_layers": 2}


@pytest.fixture(scope="module")
def model() -> CycleGAN:
    torch.manual_seed(0)
    m = CycleGAN(G_ab=TINY_G, G_ba=TINY_G, D_a=TINY_D, D_b=TINY_D).eval()
    m.value_range = (0.0, 1.0)
    return m


def untiled(model: CycleGAN, x: torch.Tensor, direction: str = "a2b") -> torch.Tensor:
    return Translator(model, direction=direction, tile=None, border=0).tensor(x)  # type: ignore[arg-type]


SIZES = [(1, 30, 45), (2, 17, 64), (1, 64, 64)]  # odd sizes: padded inside the graph


def test_onnx_runs_in_onnxruntime_with_dynamic_sizes(model: CycleGAN, tmp_path: Path) -> None:
    ort = pytest.importorskip(
        "onnxruntime", reason="the 'export' extra (onnxruntime) is not installed"
    )
    onnx = pytest.importorskip("onnx", reason="the 'export' extra (onnx) is not installed")
    path = export(model, tmp_path / "g_ba.onnx", direction="b2a")
    meta = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert meta["cyclegan_ms.direction"] == "b2a"
    assert json.loads(meta["cyclegan_ms.value_range"]) == [0.0, 1.0]
    assert json.loads(meta["cyclegan_ms.generator"]) == TINY_G
    assert meta["cyclegan_ms.size_multiple"] == "4"
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (inp,) = session.get_inputs()
    assert (
        inp.name == "image"
        and not isinstance(inp.shape[2], int)
        and not isinstance(inp.shape[3], int)
    )
    for b, h, w in SIZES:
        x = torch.rand(b, 3, h, w)
        (y,) = session.run(None, {"image": x.numpy()})
        assert y.shape == (b, 3, h, w)
        np.testing.assert_allclose(y, untiled(model, x, "b2a").numpy(), atol=1e-4, rtol=0)


def test_torchscript_matches_pytorch_with_dynamic_sizes(model: CycleGAN, tmp_path: Path) -> None:
    path = export(model, tmp_path / "g.pt")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit is deprecated in 2.13
        extra = {"cyclegan_ms.json": ""}
        net = torch.jit.load(str(path), _extra_files=extra)
    assert json.loads(extra["cyclegan_ms.json"])["direction"] == "a2b"
    for b, h, w in SIZES:
        x = torch.rand(b, 3, h, w)
        with torch.no_grad():
            torch.testing.assert_close(net(x), untiled(model, x), atol=1e-5, rtol=0)


def test_safetensors_generator_file(model: CycleGAN, tmp_path: Path) -> None:
    path = export(model, tmp_path / "g.safetensors", direction="b2a")
    G = load_generator(path)
    for key, value in model.G_ba.state_dict().items():
        torch.testing.assert_close(G.state_dict()[key], value)
    assert verify_export(path, model, direction="b2a") == 0.0


def test_fixed_size_generator_exports_for_its_size(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime", reason="the 'export' extra (onnxruntime) is not installed")
    torch.manual_seed(0)
    G = build("generator", "seed_unet", base_width=4, depth=3, image_size=32, latent_dim=8).eval()
    path = export(G, tmp_path / "seed.onnx")
    diff = verify_export(path, G)
    assert diff is not None and diff < 1e-4


def test_export_rejects_unknown_format(model: CycleGAN, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="accepted formats: onnx, torchscript, safetensors"):
        export(model, tmp_path / "g.h5")
    with pytest.raises(ValueError, match="accepted formats"):
        export(model, tmp_path / "g.onnx", format="tflite")  # type: ignore[arg-type]


def test_pad_to_multiple_module() -> None:
    G = build("generator", "resnet_6blocks", ngf=4).eval()
    net = PadToMultiple(G, 4)
    x = torch.rand(1, 3, 21, 18)
    with torch.no_grad():
        torch.testing.assert_close(net(x), Translator(G, tile=None, border=0).tensor(x))
    with pytest.raises(ValueError, match="multiple must be an integer >= 1"):
        PadToMultiple(G, 0)


def test_cli_export_and_verify(
    model: CycleGAN, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gen = tmp_path / "gen.safetensors"
    export(model, gen, direction="a2b")
    out = tmp_path / "exported" / "g.pt"
    assert (
        main(["export", "--checkpoint", str(gen), "--format", "torchscript", "--out", str(out)])
        == 0
    )
    text = capsys.readouterr().out
    assert f"wrote {out}" in text and "max |torchscript - pytorch fp32| = 0 " in text
    assert out.is_file() and not list(out.parent.glob(".*.tmp"))
    assert main(["export", "--checkpoint", str(gen), "--out", str(tmp_path / "g.txt")]) == 2
    assert "accepted formats" in capsys.readouterr().err
