"""Inference engines: each one against fp32 PyTorch, the parity-checked choice and its cache."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import Tensor

from cyclegan_ms import build
from cyclegan_ms.generators import card_of
from cyclegan_ms.inference import TranslateOptions, Translator
from cyclegan_ms.inference import engines as E
from cyclegan_ms.metrics.image import psnr


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("CYCLEGAN_MS_CACHE", str(folder))
    return folder


def _generator() -> torch.nn.Module:
    torch.manual_seed(0)
    g = build(
        "generator",
        "seed_unet",
        base_width=4,
        depth=3,
        bottleneck="conv",
        upsample="resize",
        residual="add",
        exposure_norm=0.15,
    )
    # a trained-looking head: the zero-initialised residual head would make every engine exact
    with torch.no_grad():
        for p in g.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return g.eval()


def _frame(h: int = 48, w: int = 64) -> Tensor:
    card = card_of(_generator())
    return E.night_calibration_frames(card, count=1, size=64)[0][..., :h, :w]


def test_unknown_engine_is_refused_with_the_accepted_ones() -> None:
    with pytest.raises(ValueError, match="engine must be one of eager, auto, eager_fp32"):
        TranslateOptions(engine="tensorrt")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown engine 'fast'"):
        E.build_engine("fast", _generator(), card_of(_generator()))  # type: ignore[arg-type]


def test_engine_cache_dir_follows_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CYCLEGAN_MS_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert E.engine_cache_dir() == tmp_path / "cyclegan_ms"
    monkeypatch.setenv("CYCLEGAN_MS_CACHE", str(tmp_path / "x"))
    assert E.engine_cache_dir() == tmp_path / "x"


def test_weights_digest_changes_with_the_weights() -> None:
    g = _generator()
    before = E.weights_digest(g)
    assert E.weights_digest(g) == before
    with torch.no_grad():
        next(g.parameters()).add_(1e-3)
    assert E.weights_digest(g) != before


@pytest.mark.parametrize("name", ["eager_bf16", "onnx_fp32", "openvino_fp32", "openvino_bf16"])
def test_safe_engines_match_fp32_pytorch(name: E.EngineName, cache: Path) -> None:
    if name not in E.available_engines("cpu"):
        pytest.skip(f"{name} needs hardware or packages this machine lacks")
    g = _generator()
    card = card_of(g)
    x = _frame()
    ref = E.build_engine("eager_fp32", g, card)
    engine = E.build_engine(name, g, card)
    assert engine.name == name
    with torch.no_grad():
        out = engine(x)
    assert out.shape == x.shape and out.dtype == x.dtype
    assert E.parity_db(engine, ref, x, card.value_range) >= E.PARITY_DB
    if name == "onnx_fp32":  # exported once, named by the weights
        assert [p.name for p in (cache / "onnx").iterdir()] == [f"{E.weights_digest(g)}.fp32.onnx"]


def test_int8_engine_runs_with_a_bounded_loss(cache: Path) -> None:
    g = _generator()
    card = card_of(g)
    x = _frame()
    engine = E.build_engine("onnx_int8", g, card)
    db = E.parity_db(engine, E.build_engine("eager_fp32", g, card), x, card.value_range)
    # quantisation costs something (this random network's activations quantise badly; the
    # trained models' loss is in benchmarks/RESULTS.md), but the output is still the same
    # translation: a constant grey image would score about 10 dB here
    assert 15.0 <= db < 200.0
    assert (cache / "onnx" / f"{E.weights_digest(g)}.int8.onnx").is_file()


class _Noisy:
    """A fast engine whose output is off by far more than the parity allows."""

    def __init__(self, name: str, inner: E.Engine) -> None:
        self.name = name
        self.inner = inner

    def __call__(self, x: Tensor) -> Tensor:
        return (self.inner(x) + 0.05).clamp(0, 1)


def test_auto_keeps_the_fastest_safe_engine_and_caches_it(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    g = _generator()
    card = card_of(g)
    x = _frame()
    real_build = E.build_engine
    built: list[str] = []

    def fake_build(name: E.EngineName, generator: torch.nn.Module, *a, **k):  # type: ignore[no-untyped-def]
        built.append(name)
        if name == "compile_fp32":  # noisy: it must lose however fast it is
            return _Noisy(name, real_build("eager_fp32", generator, *a, **k))
        if name == "openvino_fp32":
            raise ImportError("no openvino here")
        return real_build(name, generator, *a, **k)

    monkeypatch.setattr(E, "build_engine", fake_build)
    engine, choice = E.choose_engine(
        g, card, x, candidates=("eager_fp32", "compile_fp32", "openvino_fp32"), repeats=1
    )
    assert choice.engine == "eager_fp32" and engine.name == "eager_fp32"
    assert choice.parity["compile_fp32"] < E.PARITY_DB <= choice.parity["eager_fp32"]
    assert set(choice.seconds) == {"eager_fp32", "compile_fp32"}
    assert "ImportError" in choice.failed["openvino_fp32"]
    assert not choice.cached and "eager_fp32 (measured at 48x64" in choice.describe()
    entries = json.loads((cache / "engines.json").read_text())
    assert [e["engine"] for e in entries.values()] == ["eager_fp32"]

    built.clear()
    engine, again = E.choose_engine(
        g, card, x, candidates=("eager_fp32", "compile_fp32", "openvino_fp32"), repeats=1
    )
    assert again.cached and again.engine == "eager_fp32" and again.parity == choice.parity
    assert built == ["eager_fp32"]  # nothing measured again
    _, other_shape = E.choose_engine(
        g, card, x[..., :32, :32], candidates=("eager_fp32",), repeats=1
    )
    assert not other_shape.cached


def test_translator_runs_the_named_engine_and_falls_back_to_eager_with_image_stats(
    cache: Path,
) -> None:
    g = _generator()
    x = torch.rand(1, 3, 80, 96)
    eager = Translator(g, engine="eager_fp32", precision="fp32", tile=None).tensor(x)
    onnx = Translator(g, engine="onnx_fp32", tile=None)
    out = onnx.tensor(x)
    assert onnx.engine_for(x).name == "onnx_fp32"
    assert float(psnr(out, eager).min()) >= E.PARITY_DB
    # tiles with whole-image statistics are PyTorch-only: the tiled pass equals the eager one
    tiled_eager = Translator(g, engine="eager_fp32", precision="fp32", tile=32, overlap=8)
    tiled_onnx = Translator(g, engine="onnx_fp32", precision="fp32", tile=32, overlap=8)
    assert torch.equal(tiled_onnx.tensor(x), tiled_eager.tensor(x))


def test_translator_auto_says_what_it_chose(
    cache: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # only the cheap engines: compile and int8 are measured by the benchmark, not unit tests
    cheap = tuple(e for e in E.available_engines("cpu") if e.startswith("eager"))
    monkeypatch.setattr(E, "available_engines", lambda device: cheap)
    g = _generator()
    t = Translator(g, engine="auto", tile=None, border=0)
    assert t.engine_choice is None  # measured on the first batch, not before
    with caplog.at_level("INFO", logger="cyclegan_ms.inference.engines"):
        out = t.tensor(_frame(64, 64))
    assert out.shape == (1, 3, 64, 64)
    assert t.engine_choice is not None and t.engine_choice.engine in cheap
    assert set(t.engine_choice.seconds) == set(cheap)
    assert f"engine {t.engine_choice.engine} (measured at 64x64" in caplog.text
