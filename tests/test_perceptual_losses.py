"""Reconstruction losses that let noise go: blurred L1 and frozen-feature L1."""

from __future__ import annotations

import pytest
import torch

from cyclegan_ms import build
from cyclegan_ms.layers.pretrained import packaged_inception_weights
from cyclegan_ms.losses import BlurredL1Loss, InceptionFeatureLoss


def test_blurred_l1_forgives_noise_but_not_a_shift_in_level() -> None:
    torch.manual_seed(0)
    x = torch.rand(2, 3, 32, 32) * 0.2 + 0.4
    noisy = x + 0.1 * torch.randn_like(x)
    loss = BlurredL1Loss(sigma=1.5)
    plain = (noisy - x).abs().mean()
    assert float(loss(noisy, x)) < 0.3 * float(plain)
    assert float(loss(x + 0.1, x)) == pytest.approx(0.1, abs=1e-5)
    assert float(loss(x, x)) == 0.0


def test_blurred_l1_pixel_term_adds_the_plain_l1() -> None:
    a, b = torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16)
    both = BlurredL1Loss(sigma=1.0, pixel=2.0)(a, b)
    only = BlurredL1Loss(sigma=1.0)(a, b)
    torch.testing.assert_close(both, only + 2.0 * (a - b).abs().mean())


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"sigma": 0}, "sigma"), ({"pixel": -1}, "pixel")],
)
def test_blurred_l1_bad_arguments(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        build("reconstruction_loss", "blurred_l1", **kwargs)


def test_blurred_l1_shape_mismatch() -> None:
    with pytest.raises(ValueError, match="one shape"):
        BlurredL1Loss()(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 9))


@pytest.mark.skipif(packaged_inception_weights() is None, reason="needs the Inception file")
def test_inception_l1_is_zero_on_equal_images_and_trains_the_output() -> None:
    loss = build("reconstruction_loss", "inception_l1", stages=2, pixel=0.0)
    assert isinstance(loss, InceptionFeatureLoss)
    assert list(loss.state_dict()) == []
    x = torch.rand(1, 3, 32, 32)
    assert float(loss(x, x)) == 0.0
    y = torch.rand(1, 3, 32, 32, requires_grad=True)
    value = loss(y, x)
    value.backward()
    assert float(value.detach()) > 0 and y.grad is not None and y.grad.abs().sum() > 0
