"""Shared layers: factories, init schemes and the seed's blocks."""

from __future__ import annotations

from typing import Literal

import pytest
import torch
import torch.nn as nn
from hypothesis import given
from hypothesis import strategies as st

from cyclegan_ms.layers import (
    EncoderStep,
    InceptionBlock,
    SubsampleConv1x1,
    blur_radius,
    gaussian_blur,
    init_weights,
    luma,
    make_activation,
    make_norm,
    make_output_activation,
    norm_has_bias,
)


@given(c=st.sampled_from([1, 3, 8]), h=st.integers(1, 9), w=st.integers(1, 9), cl=st.booleans())
def test_subsample_conv_equals_strided_conv(c: int, h: int, w: int, cl: bool) -> None:
    ours = SubsampleConv1x1(c, 4)
    ref = nn.Conv2d(c, 4, 1, stride=2)
    ref.load_state_dict(ours.state_dict())
    x = torch.randn(2, c, h, w)
    if cl:
        x = x.contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(ours(x), ref(x.contiguous()))


def test_norm_factory() -> None:
    assert isinstance(make_norm("instance", 4), nn.InstanceNorm2d)
    assert not make_norm("instance", 4).affine
    layer = make_norm("layer", 6)
    assert isinstance(layer, nn.GroupNorm) and layer.num_groups == 1
    assert make_norm(("group", {"num_groups": 2}), 6).num_groups == 2
    assert isinstance(make_norm("none", 3), nn.Identity)
    assert not norm_has_bias("batch") and norm_has_bias("instance")
    with pytest.raises(ValueError, match="unknown norm 'bach'; accepted: batch, instance"):
        make_norm("bach", 4)
    with pytest.raises(ValueError, match="not divisible"):
        make_norm(("group", {"num_groups": 4}), 6)
    with pytest.raises(ValueError, match="spec must be a name or a"):
        make_norm(3, 4)  # type: ignore[arg-type]


def test_activation_factory() -> None:
    assert make_activation("leaky").negative_slope == 0.2
    assert make_activation(("leaky", {"negative_slope": 0.3})).negative_slope == 0.3
    assert isinstance(make_output_activation("tanh"), nn.Tanh)
    with pytest.raises(ValueError, match="'sigmoid' \\(data in \\[0, 1\\]\\)"):
        make_output_activation("relu")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown activation"):
        make_activation("swish")


@pytest.mark.parametrize(
    "scheme", ["normal", "xavier", "glorot", "xavier_normal", "kaiming", "orthogonal"]
)
def test_init_schemes_zero_biases(scheme: str) -> None:
    m = nn.Sequential(nn.Conv2d(3, 8, 3), nn.GroupNorm(2, 8), nn.Linear(4, 4))
    for p in m.parameters():
        nn.init.constant_(p, 5.0)
    init_weights(m, scheme, gain=0.02)  # type: ignore[arg-type]
    assert torch.all(m[0].bias == 0) and torch.all(m[2].bias == 0)
    assert m[0].weight.std() > 0
    assert torch.all(m[1].bias == 0)
    if scheme == "glorot":
        bound = (6 / (3 * 9 + 8 * 9)) ** 0.5
        assert m[0].weight.abs().max() <= bound
    with pytest.raises(ValueError, match="unknown init scheme"):
        init_weights(m, "he")  # type: ignore[arg-type]


def test_inception_block_is_residual_sum() -> None:
    block = InceptionBlock(3, 8, act="relu", norm=True)
    x = torch.randn(2, 3, 16, 16)
    torch.testing.assert_close(block(x), block.main(x) + block.branch(x))
    assert (
        sum(
            isinstance(m, nn.GroupNorm) and m.num_groups == 1 and m.eps == 1e-3
            for m in block.modules()
        )
        == 4
    )
    step = EncoderStep(3, 8, act=("leaky", {"negative_slope": 0.3}), norm=False)
    skip, down = step(torch.randn(1, 3, 15, 16))
    assert skip.shape == (1, 8, 15, 16) and down.shape == (1, 8, 8, 8)
    with pytest.raises(ValueError, match="channels must be >= 1"):
        InceptionBlock(0, 8, act="relu", norm=True)


def test_luma_is_bt601_on_images_and_batches() -> None:
    x = torch.rand(2, 3, 5, 7)
    # the formula the scenes dataset used: the same bits in float32
    expected = x[:, 0:1] * 0.299 + x[:, 1:2] * 0.587 + x[:, 2:3] * 0.114
    assert torch.equal(luma(x), expected)
    assert torch.equal(luma(x[0]), expected[0])
    one = torch.rand(2, 1, 5, 7)
    assert luma(one) is one
    with pytest.raises(ValueError, match="or single-channel images; got 4 channels"):
        luma(torch.rand(1, 4, 2, 2))
    with pytest.raises(ValueError, match=r"got shape \(3, 4\)"):
        luma(torch.rand(3, 4))


@pytest.mark.parametrize("padding", ["replicate", "reflect"])
def test_gaussian_blur_keeps_constants_and_checks_its_input(
    padding: Literal["replicate", "reflect"],
) -> None:
    c = torch.full((2, 3, 9, 11), 0.3)
    torch.testing.assert_close(gaussian_blur(c, 1.2, padding=padding), c)
    x = torch.rand(1, 2, 9, 9)
    assert gaussian_blur(x, 0.0) is x
    assert blur_radius(0.1) == 1 and blur_radius(1.5) == 5
    with pytest.raises(ValueError, match="sigma must be >= 0"):
        gaussian_blur(x, -1.0)
    with pytest.raises(ValueError, match=r"expects a \(B, C, H, W\) batch"):
        gaussian_blur(x[0], 1.0)
