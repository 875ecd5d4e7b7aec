"""Transforms without torchvision: resize, crops, flip, tensor ranges, named recipes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image
from strategies import crop_sides, image_sides

from cyclegan_ms.data.transforms import (
    CenterCrop,
    Pipeline,
    RandomCrop,
    RandomHorizontalFlip,
    Resize,
    recipe,
    to_tensor,
    value_range_for,
)


def _gradient(w: int, h: int, mode: str = "RGB") -> Image.Image:
    x = np.tile(np.linspace(0, 255, w, dtype=np.float32), (h, 1)).astype(np.uint8)
    arr = np.stack([x, x[::-1], np.full_like(x, 7)], -1) if mode == "RGB" else x
    return Image.fromarray(arr)


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def test_resize_int_keeps_aspect_tuple_is_exact() -> None:
    img = _gradient(100, 50)
    assert Resize(20)(img, _rng()).size == (40, 20)  # shorter side -> 20
    assert Resize(20)(_gradient(50, 100), _rng()).size == (20, 40)
    assert Resize((30, 70))(img, _rng()).size == (70, 30)  # (h, w)


@given(h=image_sides, w=image_sides, c=crop_sides)
def test_random_crop_any_aspect_ratio_and_small_images(h: int, w: int, c: int) -> None:
    out = RandomCrop(c)(_gradient(w, h), _rng(h * 1000 + w))
    assert out.size == (c, c)
    out = CenterCrop((c, c + 3))(_gradient(w, h), _rng())
    assert out.size == (c + 3, c)


def test_small_images_are_scaled_up_not_padded() -> None:
    img = Image.new("RGB", (10, 4), (200, 100, 50))
    out = np.asarray(RandomCrop(16)(img, _rng()))
    assert out.shape == (16, 16, 3)
    assert (out == (200, 100, 50)).all()  # no black padding anywhere


def test_random_crop_is_a_function_of_the_rng() -> None:
    img = _gradient(64, 64)
    a = np.asarray(RandomCrop(16)(img, _rng(3)))
    b = np.asarray(RandomCrop(16)(img, _rng(3)))
    offsets = {int(np.asarray(RandomCrop(16)(img, _rng(s)))[0, 0, 0]) for s in range(20)}
    assert (a == b).all()
    assert len(offsets) > 3


def test_flip_probability_and_effect() -> None:
    img = _gradient(8, 2)
    flipped = np.asarray(RandomHorizontalFlip(1.0)(img, _rng()))
    assert (flipped == np.asarray(img)[:, ::-1]).all()
    assert RandomHorizontalFlip(0.0)(img, _rng()) is img
    rng = _rng(0)
    n = sum(RandomHorizontalFlip(0.5)(img, rng) is not img for _ in range(400))
    assert 150 < n < 250
    with pytest.raises(ValueError, match=r"flip probability p must be in \[0, 1\]; got 1.5"):
        RandomHorizontalFlip(1.5)


@pytest.mark.parametrize(("vr", "lo", "hi"), [((0, 1), 0.0, 1.0), ((-1, 1), -1.0, 1.0)])
def test_to_tensor_ranges(vr: tuple[float, float], lo: float, hi: float) -> None:
    img = Image.fromarray(np.array([[[0, 255, 51]]], dtype=np.uint8))
    x = to_tensor(img, value_range=vr)
    assert x.shape == (3, 1, 1) and x.dtype == torch.float32 and x.is_contiguous()
    assert x[0, 0, 0].item() == pytest.approx(lo)
    assert x[1, 0, 0].item() == pytest.approx(hi)
    assert x[2, 0, 0].item() == pytest.approx(lo + (hi - lo) * 0.2)


def test_to_tensor_grayscale_and_layout() -> None:
    arr = np.arange(12, dtype=np.uint8).reshape(3, 4)
    x = to_tensor(Image.fromarray(arr))
    assert x.shape == (1, 3, 4)
    assert torch.allclose(x[0] * 255, torch.from_numpy(arr).float())
    rgb = np.random.default_rng(0).integers(0, 256, (3, 4, 3), dtype=np.uint8)
    assert torch.allclose(to_tensor(rgb) * 255, torch.from_numpy(rgb).permute(2, 0, 1).float())


def test_to_tensor_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="value_range must be"):
        to_tensor(np.zeros((2, 2), np.uint8), value_range=(1, 0))
    with pytest.raises(ValueError, match="expects 8-bit pixels"):
        to_tensor(np.zeros((2, 2), np.float32))


def test_paper_recipe() -> None:
    pipe = recipe("paper")
    steps = pipe.steps
    assert isinstance(steps[0], Resize) and steps[0].size == (286, 286)
    assert isinstance(steps[1], RandomCrop) and steps[1].size == (256, 256)
    assert isinstance(steps[2], RandomHorizontalFlip)
    assert pipe.value_range == (-1.0, 1.0)
    x = pipe(_gradient(640, 360), _rng())
    assert x.shape == (3, 256, 256) and x.min() >= -1 and x.max() <= 1 and x.min() < -0.9
    ev = recipe("paper", train=False, size=64)
    assert [type(s) for s in ev.steps] == [Resize] and ev(_gradient(90, 30), _rng()).shape == (
        3,
        64,
        64,
    )


def test_seed_recipe() -> None:
    pipe = recipe("seed")
    assert len(pipe.steps) == 1 and pipe.steps[0].size == (256, 256)  # type: ignore[attr-defined]
    assert pipe.value_range == (0.0, 1.0)
    x = pipe(_gradient(400, 100), _rng())
    assert x.shape == (3, 256, 256) and x.min() >= 0 and x.max() <= 1 and x.max() > 0.95
    # deterministic: no augmentation
    assert torch.equal(x, pipe(_gradient(400, 100), _rng(99)))


def test_recipe_options_and_errors() -> None:
    assert recipe("paper", size=128).steps[0].size == (143, 143)  # type: ignore[attr-defined]
    assert recipe("paper", size=64, load_size=80).steps[0].size == (80, 80)  # type: ignore[attr-defined]
    assert recipe("paper", value_range=(0.0, 1.0)).value_range == (0.0, 1.0)
    with pytest.raises(ValueError, match="unknown recipe 'cyclegan'; accepted: paper, seed"):
        recipe("cyclegan")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"load_size must be >= size \(256\); got 200"):
        recipe("paper", load_size=200)
    with pytest.raises(ValueError, match="load_size applies to the 'paper' recipe only"):
        recipe("seed", load_size=300)
    with pytest.raises(ValueError, match="size must be a positive int"):
        recipe("seed", size=0)


def test_step_argument_errors() -> None:
    with pytest.raises(ValueError, match="size must be positive"):
        Resize(0)
    with pytest.raises(ValueError, match=r"crop size must be an int or a \(height, width\) pair"):
        RandomCrop((1, 2, 3))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown interpolation 'cubic'; accepted: nearest"):
        Resize(4, interpolation="cubic")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="every pipeline step must be callable"):
        Pipeline([3])  # type: ignore[list-item]


def test_value_range_for_output_activation() -> None:
    assert value_range_for("sigmoid") == (0.0, 1.0)
    assert value_range_for("tanh") == (-1.0, 1.0)
    with pytest.raises(ValueError, match="no pixel range for output activation 'relu'"):
        value_range_for("relu")


def test_pipeline_grayscale_keeps_one_channel() -> None:
    x = recipe("paper", size=32)(_gradient(50, 40, mode="L"), _rng())
    assert x.shape == (1, 32, 32)


def test_draft_size_hint() -> None:
    assert recipe("paper").draft_size == 286
    assert recipe("seed", size=64).draft_size == 64
    assert Pipeline([RandomCrop(8)]).draft_size is None


@given(side=st.integers(1, 40))
def test_user_steps_compose(side: int) -> None:
    def invert(img: Image.Image, rng: np.random.Generator) -> Image.Image:
        return Image.fromarray(255 - np.asarray(img))

    x = Pipeline([Resize((side, side)), invert])(Image.new("RGB", (5, 7), (255, 255, 255)), _rng())
    assert x.shape == (3, side, side) and float(x.max()) == 0.0


def test_random_crop_draws_top_then_left_and_center_crop_uses_no_rng() -> None:
    arr = np.random.default_rng(9).integers(0, 256, (40, 60, 3), dtype=np.uint8)
    img = Image.fromarray(arr)
    draws = _rng(2)
    top = int(draws.integers(0, 40 - 16 + 1))
    left = int(draws.integers(0, 60 - 24 + 1))
    rng = _rng(2)
    out = np.asarray(RandomCrop((16, 24))(img, rng))
    swapped = _rng(2)
    left_first = int(swapped.integers(0, 60 - 24 + 1))
    assert (int(swapped.integers(0, 40 - 16 + 1)), left_first) != (top, left)  # order shows
    assert (out == arr[top : top + 16, left : left + 24]).all()
    assert rng.random() == draws.random()  # exactly two draws were taken
    rng = _rng(11)
    out = np.asarray(CenterCrop((16, 24))(img, rng))
    assert (out == arr[12:28, 18:42]).all()
    assert rng.random() == _rng(11).random()  # the centre crop drew nothing


def test_crop_reprs() -> None:
    assert repr(RandomCrop(8)) == "RandomCrop((8, 8))"
    assert repr(CenterCrop((4, 6), interpolation="nearest")) == "CenterCrop((4, 6))"
    assert repr(RandomHorizontalFlip(0.25)) == "RandomHorizontalFlip(p=0.25)"


@pytest.mark.parametrize("p", [True, "0.5", None, float("nan"), -0.5])
def test_flip_probability_must_be_a_number_in_the_unit_interval(p: object) -> None:
    with pytest.raises(ValueError, match=r"^flip probability p must be in \[0, 1\]; got "):
        RandomHorizontalFlip(p)  # type: ignore[arg-type]
    assert RandomHorizontalFlip(1).p == 1.0
