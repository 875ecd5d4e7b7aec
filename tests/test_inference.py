"""translate / Translator: kinds in = kinds out, any size, batching, checkpoints, fixed-size seed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image
from strategies import batch_sizes

import cyclegan_ms
from cyclegan_ms import CycleGAN, Trainer, build
from cyclegan_ms.generators import card_of
from cyclegan_ms.inference import Translator, pad_to_multiple, resolve_generator, translate
from cyclegan_ms.inference.source import is_generator_file, load_generator, save_generator
from cyclegan_ms.training.config import TrainConfig

# fp32 translation: these tests compare against fp32 references (bf16: test_translate_precision)
pytestmark = pytest.mark.usefixtures("fp32_translation")

TINY_G = {"name": "resnet_6blocks", "ngf": 4}
TINY_D = {"name": "patchgan", "ndf": 4, "n_layers": 2}


def tiny_model() -> CycleGAN:
    return CycleGAN(G_ab=TINY_G, G_ba=TINY_G, D_a=TINY_D, D_b=TINY_D)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real trainer run folder with one checkpoint (1 step on 32×32 noise)."""
    torch.manual_seed(0)
    root = tmp_path_factory.mktemp("run")
    data = [{"A": torch.rand(3, 32, 32), "B": torch.rand(3, 32, 32)} for _ in range(2)]
    trainer = Trainer(
        tiny_model(),
        data,
        run_dir=root,
        train=TrainConfig(steps=1, batch_size=1, progress=False, checkpoint_every=0, log_every=1),
        experiment=None,
    )
    trainer.fit()
    trainer.save()
    return root


@pytest.fixture(scope="module")
def model(run_dir: Path) -> CycleGAN:
    return cyclegan_ms.load(run_dir)


def reference(model: CycleGAN, x: torch.Tensor, direction: str = "a2b") -> torch.Tensor:
    """Untiled translation done by hand (see :func:`reference_generator`)."""
    return reference_generator(model.G_ab if direction == "a2b" else model.G_ba, x)


# ----------------------------------------------------------------------------- kinds
def test_pil_in_pil_out_same_size_and_mode(model: CycleGAN) -> None:
    im = Image.fromarray((np.random.default_rng(0).random((21, 37, 3)) * 255).astype(np.uint8))
    out = translate(model, im)
    assert isinstance(out, Image.Image)
    assert out.size == (37, 21) and out.mode == "RGB"
    x = torch.from_numpy(np.asarray(im)).permute(2, 0, 1)[None].float() / 255
    expected = (reference(model, x)[0].clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()
    assert np.abs(np.asarray(out).astype(int) - expected.astype(int)).max() <= 1


def test_pil_modes_are_converted(model: CycleGAN) -> None:
    for mode in ("L", "RGBA", "P", "I;16"):
        im = Image.new(mode, (24, 16))
        out = translate(model, im)
        assert out.mode == "RGB" and out.size == (24, 16), mode


def test_uint8_array_round_trip(model: CycleGAN) -> None:
    arr = (np.random.default_rng(1).random((30, 45, 3)) * 255).astype(np.uint8)
    out = translate(model, arr)
    assert out.dtype == np.uint8 and out.shape == (30, 45, 3)
    x = torch.from_numpy(arr).permute(2, 0, 1)[None].float() / 255
    expected = (reference(model, x)[0].clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()
    assert np.abs(out.astype(int) - expected.astype(int)).max() <= 1


def test_float_array_keeps_dtype_and_range(model: CycleGAN) -> None:
    arr = np.random.default_rng(2).random((20, 28, 3))  # float64 in [0, 1]
    out = translate(model, arr)
    assert out.dtype == np.float64 and out.shape == (20, 28, 3)
    assert out.min() >= 0.0 and out.max() <= 1.0
    x = torch.from_numpy(arr).permute(2, 0, 1)[None].float()
    expected = reference(model, x)[0].clamp(0, 1).permute(1, 2, 0).numpy()
    np.testing.assert_allclose(out, expected, atol=1e-5)


def test_gray_array_is_repeated_to_rgb(model: CycleGAN) -> None:
    arr = np.full((16, 16), 128, np.uint8)
    out = translate(model, arr)
    assert out.shape == (16, 16, 3)
    rgb = translate(model, np.repeat(arr[:, :, None], 3, axis=2))
    np.testing.assert_array_equal(out, rgb)


def test_tensor_keeps_dtype_device_and_shape(model: CycleGAN) -> None:
    x = torch.rand(2, 3, 33, 47, dtype=torch.float64)
    y = translate(model, x, "b2a")
    assert y.dtype == torch.float64 and y.shape == (2, 3, 33, 47)
    torch.testing.assert_close(y.float(), reference(model, x.float(), "b2a"), atol=1e-5, rtol=0)
    single = translate(model, x[0], "b2a")
    assert single.shape == (3, 33, 47)
    torch.testing.assert_close(single, y[0], atol=1e-5, rtol=0)


def test_uint8_tensor_is_pixels_and_matches_the_array_path(model: CycleGAN) -> None:
    arr = (np.random.default_rng(5).random((18, 26, 3)) * 255).astype(np.uint8)
    t = torch.from_numpy(arr).permute(2, 0, 1).contiguous()
    for tile in (None, 16):
        out = translate(model, t, tile=tile, overlap=4)
        assert out.dtype == torch.uint8 and out.shape == (3, 18, 26)
        np.testing.assert_array_equal(
            out.permute(1, 2, 0).numpy(), translate(model, arr, tile=tile, overlap=4)
        )


def test_list_is_batched_and_keeps_order(model: CycleGAN) -> None:
    rng = np.random.default_rng(3)
    images = [(rng.random((20, 24, 3)) * 255).astype(np.uint8) for _ in range(5)]
    images.insert(2, (rng.random((12, 40, 3)) * 255).astype(np.uint8))
    outs = translate(model, images, batch_size=2)
    assert [o.shape for o in outs] == [(*im.shape[:2], 3) for im in images]
    for im, o in zip(images, outs, strict=True):  # batched float math may round differently
        assert np.abs(o.astype(int) - translate(model, im).astype(int)).max() <= 1


def test_rejects_bad_inputs(model: CycleGAN) -> None:
    with pytest.raises(TypeError, match="PIL image, a numpy array or a torch tensor"):
        translate(model, "night.jpg")
    with pytest.raises(ValueError, match=r"uint8 .* or float"):
        translate(model, np.zeros((8, 8, 3), np.int32))
    with pytest.raises(ValueError, match=r"\(C, H, W\) or \(B, C, H, W\)"):
        translate(model, torch.zeros(8, 8))
    with pytest.raises(ValueError, match="direction must be 'a2b' or 'b2a'"):
        translate(model, torch.zeros(3, 8, 8), "day2night")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"tile": 30}, "multiple of the generator's size multiple 4"),
        ({"tile": 32, "overlap": 20}, "at most half the tile"),
        ({"norm_stats": "image"}, "'global' or 'tile'"),
        ({"batch_size": 0}, "batch_size must be an integer >= 1"),
        ({"margin": 0.7}, r"margin must be in \[0, 0.5\]"),
        ({"fixed_size_mode": "crop"}, "'resize' or 'tile'"),
    ],
)
def test_translator_validates_arguments(model: CycleGAN, kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Translator(model, **kwargs)


@given(
    h=st.integers(min_value=5, max_value=70),
    w=st.integers(min_value=5, max_value=70),
    b=batch_sizes,
)
def test_any_size_and_aspect_comes_back_same_size(h: int, w: int, b: int) -> None:
    torch.manual_seed(0)
    G = build("generator", "resnet_6blocks", ngf=4).eval()
    x = torch.rand(b, 3, h, w)
    y = translate(G, x, tile=None)
    assert y.shape == (b, 3, h, w)
    assert torch.isfinite(y).all()


def test_pad_to_multiple_reflects_and_crops_back() -> None:
    x = torch.arange(2 * 3 * 5 * 7, dtype=torch.float32).reshape(2, 3, 5, 7)
    padded, (top, left) = pad_to_multiple(x, 4)
    assert padded.shape == (2, 3, 8, 8) and (top, left) == (1, 0)
    torch.testing.assert_close(padded[:, :, top : top + 5, left : left + 7], x)
    assert torch.equal(padded[:, :, 0, :7], x[:, :, 1])  # reflection, not zeros
    tiny, _ = pad_to_multiple(torch.rand(1, 1, 1, 3), 16)  # pads larger than the image
    assert tiny.shape == (1, 1, 16, 16)


def test_translate_leaves_training_mode_alone() -> None:
    G = build("generator", "resnet_6blocks", ngf=4, norm="batch", use_dropout=True)
    G.train()
    x = torch.rand(1, 3, 16, 16)
    a, b = translate(G, x), translate(G, x)
    torch.testing.assert_close(a, b)  # eval mode inside: no dropout noise, running stats
    assert G.training


# ----------------------------------------------------------------------------- sources
def test_checkpoint_file_run_dir_and_model_agree(model: CycleGAN, run_dir: Path) -> None:
    x = torch.rand(1, 3, 20, 20)
    ckpt = next((run_dir / "checkpoints").glob("step_*.safetensors"))
    expected = reference(model, x, "b2a")
    for source in (run_dir, ckpt, str(ckpt), model):
        torch.testing.assert_close(translate(source, x, "b2a"), expected)


def test_generator_file_round_trip(model: CycleGAN, tmp_path: Path) -> None:
    path = save_generator(
        model.G_ba, tmp_path / "g.safetensors", value_range=(0.0, 1.0), direction="b2a"
    )
    assert is_generator_file(path)
    G = load_generator(path)
    assert card_of(G).value_range == (0.0, 1.0) and card_of(G).direction == "b2a"
    x = torch.rand(1, 3, 24, 24)
    torch.testing.assert_close(translate(path, x, "b2a"), reference(model, x, "b2a"))
    with pytest.raises(ValueError, match="holds the b2a generator"):
        translate(path, x, "a2b")


def test_missing_checkpoint_and_bad_source(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        translate(tmp_path / "nope.safetensors", torch.zeros(3, 8, 8))
    with pytest.raises(TypeError, match="a generator module, or a path"):
        resolve_generator(42)  # type: ignore[arg-type]


def test_value_range_of_a_tanh_model_is_respected() -> None:
    G = build("generator", "resnet_6blocks", ngf=4).eval()  # tanh output: data in [-1, 1]
    arr = (np.random.default_rng(4).random((16, 16, 3)) * 255).astype(np.uint8)
    out = translate(G, arr, value_range=(-1.0, 1.0))
    x = torch.from_numpy(arr).permute(2, 0, 1)[None].float() / 127.5 - 1
    y = reference_generator(G, x)
    expected = ((y[0] + 1) * 127.5).clamp(0, 255).round().byte().permute(1, 2, 0).numpy()
    assert np.abs(out.astype(int) - expected.astype(int)).max() <= 1


def reference_generator(G: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``reference`` for a bare generator (``border="auto"``: twice its size multiple)."""
    b = 2 * G.size_multiple
    h, w = x.shape[-2], x.shape[-1]
    bordered = pad_to_multiple(x, 1, size=(h + 2 * b, w + 2 * b))[0]
    padded, (top, left) = pad_to_multiple(bordered, G.size_multiple)
    with torch.no_grad():
        return G(padded)[:, :, top + b : top + b + h, left + b : left + b + w]


# ----------------------------------------------------------------------------- fixed size
def small_dense_seed() -> nn.Module:
    return build(
        "generator", "seed_unet", base_width=4, depth=3, image_size=32, latent_dim=8
    ).eval()


def test_fixed_size_generator_resize_mode() -> None:
    G = small_dense_seed()
    x = torch.rand(1, 3, 40, 70)
    y = translate(G, x)  # fixed_size_mode="resize"
    assert y.shape == (1, 3, 40, 70)
    small = torch.nn.functional.interpolate(x, size=(32, 32), mode="bilinear", antialias=True)
    with torch.no_grad():
        expected = torch.nn.functional.interpolate(
            G(small), size=(40, 70), mode="bilinear", antialias=True
        )
    torch.testing.assert_close(y, expected)


def test_fixed_size_generator_tile_mode_and_exact_size() -> None:
    G = small_dense_seed()
    x = torch.rand(1, 3, 20, 70)  # shorter than one tile along H: padded to 32 there
    y = translate(G, x, fixed_size_mode="tile", overlap=8)
    assert y.shape == (1, 3, 20, 70) and torch.isfinite(y).all()
    exact = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(translate(G, exact), G(exact))
    with pytest.raises(ValueError, match="tiles must be 32"):
        Translator(G, tile=64)
