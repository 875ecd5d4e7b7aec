"""Inference arithmetic: ``TranslateOptions.precision`` ("auto" picks bf16 on CPUs with bf16)."""

from __future__ import annotations

import pytest
import torch

import cyclegan_ms
from cyclegan_ms import precision
from cyclegan_ms.inference import TranslateOptions, Translator
from cyclegan_ms.precision import resolve_inference_precision


def _psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    mse = float(((a - b) ** 2).mean())
    return 10 * torch.log10(torch.tensor(1.0 / max(mse, 1e-12))).item()


@pytest.mark.parametrize(
    "config",
    [
        {"name": "seed_unet", "base_width": 8, "bottleneck": "conv"},
        {"name": "resnet_6blocks", "ngf": 8},
        {"name": "unet_128", "ngf": 8},
    ],
)
def test_bf16_translation_tracks_fp32(config: dict) -> None:
    torch.manual_seed(0)
    gen = cyclegan_ms.from_config("generator", config).eval()
    x = torch.rand(2, 3, 128, 128)
    y32 = Translator(gen, precision="fp32")(x)
    y16 = Translator(gen, precision="bf16")(x)
    assert y16.dtype == y32.dtype == torch.float32 and y16.shape == y32.shape
    assert not torch.equal(y16, y32)  # the bf16 path really ran in bf16
    assert _psnr(y16, y32) > 40.0, _psnr(y16, y32)
    assert float((y16 - y32).abs().mean()) < 0.01  # about one 8-bit level on average
    assert float((y16 - y32).abs().max()) < 0.1


def test_auto_precision_follows_the_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    cpu = torch.device("cpu")
    monkeypatch.setattr(precision, "cpu_has_bf16", lambda: True)
    assert resolve_inference_precision("auto", cpu, torch.float32) == "bf16"
    assert (
        resolve_inference_precision("auto", cpu, torch.float64) == "fp32"
    )  # keeps a double model exact
    assert resolve_inference_precision("fp32", cpu, torch.float32) == "fp32"
    monkeypatch.setattr(precision, "cpu_has_bf16", lambda: False)
    assert resolve_inference_precision("auto", cpu, torch.float32) == "fp32"
    assert resolve_inference_precision("bf16", cpu, torch.float32) == "bf16"


def test_translator_reports_its_precision(monkeypatch: pytest.MonkeyPatch) -> None:
    gen = cyclegan_ms.from_config("generator", {"name": "resnet_6blocks", "ngf": 4})
    monkeypatch.setattr(precision, "cpu_has_bf16", lambda: False)
    assert Translator(gen).precision == "fp32"
    monkeypatch.setattr(precision, "cpu_has_bf16", lambda: True)
    assert Translator(gen).precision == "bf16"
    assert Translator(gen, precision="fp32").precision == "fp32"


def test_precision_is_checked() -> None:
    with pytest.raises(ValueError, match="precision must be 'auto', 'fp32' or 'bf16'; got 'fp16'"):
        TranslateOptions(precision="fp16")  # type: ignore[arg-type]


def test_cli_has_a_precision_flag() -> None:
    import argparse

    from cyclegan_ms.inference_cli import add_option_flags, options_from_args

    p = argparse.ArgumentParser()
    add_option_flags(p, ("precision",))
    assert options_from_args(p.parse_args(["--precision", "fp32"])).precision == "fp32"
    assert options_from_args(p.parse_args([])).precision == "auto"
    with pytest.raises(SystemExit):
        p.parse_args(["--precision", "fp16"])
