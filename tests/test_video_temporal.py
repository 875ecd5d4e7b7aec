"""Temporal stability: TemporalOptions, FrameTranslator, the temporal metrics, evaluate_drives."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn

import cyclegan_ms as cms
from cyclegan_ms.data.scenes import drive_pairs
from cyclegan_ms.inference import Translator
from cyclegan_ms.inference.norm_stats import collect_norm_stats
from cyclegan_ms.metrics import (
    change_error,
    evaluate_drives,
    frame_change,
    static_flicker,
    temporal_error,
)
from cyclegan_ms.video import FrameTranslator, TemporalOptions, blend_norm_stats

# fp32 translation: these tests compare against fp32 references (bf16: test_translate_precision)
pytestmark = pytest.mark.usefixtures("fp32_translation")


@pytest.fixture(scope="module")
def G() -> nn.Module:
    torch.manual_seed(0)
    return cms.build("generator", "resnet_6blocks", ngf=4, output="sigmoid")


def noisy_still(frames: int = 6, seed: int = 0) -> torch.Tensor:
    """A still scene with fresh noise in every frame: ``(T, 3, 24, 32)`` in [0, 1]."""
    g = torch.Generator().manual_seed(seed)
    scene = torch.rand(1, 3, 24, 32, generator=g) * 0.5 + 0.25
    return (scene + 0.03 * torch.randn(frames, 3, 24, 32, generator=g)).clamp(0, 1)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("stats_decay", 1.0),
        ("stats_decay", -0.1),
        ("filter_strength", 1.0),
        ("filter_threshold", 0.0),
        ("filter_radius", -1),
        ("filter_radius", 1.5),
        ("cut_threshold", 2.0),
        ("stats_decay", float("nan")),
    ],
)
def test_options_are_checked(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=field):
        TemporalOptions(**{field: value})


def test_off_is_frame_by_frame(G: nn.Module) -> None:
    x = noisy_still()
    ft = FrameTranslator(G, temporal=TemporalOptions.off())
    plain = Translator(G)
    for i in range(3):
        torch.testing.assert_close(ft(x[i : i + 1]), plain(x[i : i + 1]))
    assert not TemporalOptions.off().enabled and TemporalOptions().enabled


def test_metrics_on_a_static_clip_are_zero(G: nn.Module) -> None:
    still = torch.rand(1, 3, 16, 16).expand(5, -1, -1, -1).contiguous()
    pred = torch.cat([Translator(G)(still[i : i + 1]) for i in range(5)])
    assert temporal_error(pred, still) == 0.0
    assert change_error(pred, still) == 0.0
    assert static_flicker(pred, still) == 0.0
    assert frame_change(still) == 0.0


def test_metrics_measure_flicker() -> None:
    truth = torch.full((4, 3, 8, 8), 0.5)
    flicker = truth + torch.tensor([0.0, 0.1, 0.0, 0.1]).view(4, 1, 1, 1)
    assert temporal_error(flicker, truth) == pytest.approx(0.1)
    assert change_error(flicker, truth) == pytest.approx(0.1)
    assert static_flicker(flicker, truth) == pytest.approx(0.1)
    # uint8 arrays (T, H, W, C) scale to [0, 1]; a constant error does not count
    a = np.zeros((3, 4, 4, 3), np.uint8)
    b = a + 51
    assert temporal_error(a, b) == 0.0
    assert frame_change(np.stack([a[0], b[0]])) == pytest.approx(0.2)
    with pytest.raises(ValueError, match="at least 2"):
        temporal_error(truth[:1], truth[:1])
    with pytest.raises(ValueError, match="shape"):
        change_error(truth, truth[:, :1])


def test_filter_steadies_a_noisy_still_scene(G: nn.Module) -> None:
    x = noisy_still(frames=8)
    truth = x.mean(0, keepdim=True).expand(8, -1, -1, -1)
    plain = FrameTranslator(G, temporal=TemporalOptions.off())
    steady = FrameTranslator(G, temporal=TemporalOptions(filter_strength=0.9, filter_threshold=0.1))
    a = torch.cat([plain(x[i : i + 1]) for i in range(8)])
    b = torch.cat([steady(x[i : i + 1]) for i in range(8)])
    assert frame_change(b) < 0.5 * frame_change(a)
    assert static_flicker(b, truth) < 0.5 * static_flicker(a, truth)


def test_filter_lets_real_changes_through(G: nn.Module) -> None:
    ft = FrameTranslator(G, temporal=TemporalOptions(filter_strength=0.9, cut_threshold=None))
    dark, bright = torch.full((1, 3, 16, 16), 0.1), torch.full((1, 3, 16, 16), 0.9)
    ft(dark)
    torch.testing.assert_close(ft(bright), Translator(G)(bright))


def test_scene_cut_restarts(G: nn.Module) -> None:
    ft = FrameTranslator(G, temporal=TemporalOptions(stats_decay=0.9, cut_threshold=0.2))
    ft(torch.full((1, 3, 16, 16), 0.1))
    ft(torch.full((1, 3, 16, 16), 0.9))
    assert ft.cuts == 1 and ft.frames == 2


def test_stats_average_blends_the_statistics(G: nn.Module) -> None:
    a = collect_norm_stats(G, torch.zeros(1, 3, 16, 16))
    b = collect_norm_stats(G, torch.ones(1, 3, 16, 16))
    mixed = blend_norm_stats(a, b, 0.75)
    m = next(iter(a.values))
    (ma, va), (mb, vb), (mm, vm) = a.values[m][0], b.values[m][0], mixed.values[m][0]
    torch.testing.assert_close(mm, 0.75 * ma + 0.25 * mb)
    torch.testing.assert_close(vm, 0.75 * va + 0.25 * vb)
    assert blend_norm_stats(None, b, 0.75) is b


def test_stats_average_changes_the_output(G: nn.Module) -> None:
    x = noisy_still(frames=3)
    x[1:] = x[1:] * 0.5
    plain = FrameTranslator(G, temporal=TemporalOptions.off())
    smooth = FrameTranslator(
        G, temporal=TemporalOptions(stats_decay=0.9, filter_strength=0.0, cut_threshold=None)
    )
    outs = [(plain(x[i : i + 1]), smooth(x[i : i + 1])) for i in range(3)]
    torch.testing.assert_close(outs[0][0], outs[0][1])  # the first frame has only its own
    assert float((outs[2][0] - outs[2][1]).abs().mean()) > 1e-4


def test_frame_translator_checks(G: nn.Module) -> None:
    with pytest.raises(ValueError, match="one frame at a time"):
        FrameTranslator(G)(torch.rand(2, 3, 8, 8))
    with pytest.raises(ValueError, match="norm_stats"):
        FrameTranslator(G, temporal=TemporalOptions(stats_decay=0.5), norm_stats="tile")
    with pytest.raises(TypeError, match="ready Translator"):
        FrameTranslator(Translator(G), tile=32)
    with pytest.raises(TypeError, match="TemporalOptions"):
        FrameTranslator(G, temporal=0.5)  # type: ignore[arg-type]
    out = FrameTranslator(G)(np.zeros((10, 12, 3), np.uint8))
    assert out.shape == (10, 12, 3) and out.dtype == np.uint8


def test_tiled_frames_use_smoothed_global_statistics(G: nn.Module) -> None:
    x = noisy_still(frames=2)
    ft = FrameTranslator(G, temporal=TemporalOptions(stats_decay=0.5), tile=16, overlap=4)
    y = torch.cat([ft(x[i : i + 1]) for i in range(2)])
    assert y.shape == x.shape and ft._stats is not None


def test_evaluate_drives_reports_the_temporal_metrics(G: nn.Module) -> None:
    clips = list(drive_pairs(2, frames=3, size=24))
    r = evaluate_drives(FrameTranslator(G, temporal=TemporalOptions.off()), clips)
    assert (r.drives, r.frames) == (2, 6)
    s = r.summary()
    for key in (
        "psnr",
        "ssim",
        "temporal_error",
        "change_error",
        "static_flicker",
        "flicker",
        "input_temporal_error",
    ):
        assert isinstance(s[key], float)
    assert r.temporal_error >= 0 and r.change_error > 0
    with pytest.raises(ValueError, match="T >= 2"):
        evaluate_drives(FrameTranslator(G), [(clips[0][0][:1], clips[0][1][:1])])
    with pytest.raises(ValueError, match="no drives"):
        evaluate_drives(FrameTranslator(G), [])


def test_cli_eval_drives(G: nn.Module, tmp_path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    import json

    from cyclegan_ms.cli import main
    from cyclegan_ms.inference import export

    ckpt = export(G, tmp_path / "g.safetensors")
    out = tmp_path / "drives.json"
    args = ["eval", "--checkpoint", str(ckpt), "--drives", "1", "--frames", "3", "--size", "24"]
    assert main([*args, "--no-progress", "--device", "cpu", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "temporal_error" in printed and "psnr" in printed
    payload = json.loads(out.read_text())
    assert payload["frames"] == 3 and payload["temporal"]["filter_strength"] == 0.9
    assert main([*args, "--inputs", str(tmp_path)]) == 2
