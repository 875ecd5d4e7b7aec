"""Synthetic (night, day) pairs from day images: ``RandomNight`` and ``synthetic_pairs``."""

from __future__ import annotations

import pytest
import torch

import cyclegan_ms as cms
from cyclegan_ms import CycleGAN
from cyclegan_ms.data import RandomNight
from cyclegan_ms.models import build_model


def test_random_night_darkens_each_image_differently_and_repeats_under_a_seed() -> None:
    day = torch.full((4, 3, 32, 32), 0.6)
    torch.manual_seed(0)
    night = RandomNight(max_lamps=0)(day)
    assert night.shape == day.shape and night.dtype == day.dtype
    means = night.mean((1, 2, 3))
    assert (means < 0.35).all() and (means > 0.0).all()
    assert means.std() > 0.005  # a new exposure per image
    assert night[:, 2].mean() > night[:, 0].mean()  # the moonlight tint is blue
    torch.manual_seed(0)
    torch.testing.assert_close(RandomNight(max_lamps=0)(day), night)


def test_random_night_keeps_the_data_range() -> None:
    day = torch.rand(2, 3, 16, 16) * 2 - 1
    night = RandomNight(value_range=(-1.0, 1.0))(day)
    assert night.min() >= -1.0 and night.max() <= 1.0 and night.mean() < day.mean()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"exposure": (0.0, 0.1)}, "exposure"),
        ({"exposure": (0.1, 2.0)}, "exposure"),
        ({"exposure": (0.2, 0.1)}, "exposure"),
        ({"full_well": (0.0, 10.0)}, "full_well"),
        ({"read_noise": (-0.1, 0.1)}, "read_noise"),
        ({"max_lamps": -1}, "max_lamps"),
        ({"max_lamps": 1.5}, "max_lamps"),
        ({"tint_jitter": -0.1}, "tint_jitter"),
        ({"value_range": (1.0, 1.0)}, "value_range"),
    ],
)
def test_random_night_refuses_bad_settings(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        RandomNight(**kwargs)  # type: ignore[arg-type]


def test_random_night_refuses_a_grey_batch() -> None:
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        RandomNight()(torch.rand(1, 1, 8, 8))


def _model(**kwargs: object) -> CycleGAN:
    torch.manual_seed(0)
    g = {"name": "resnet_6blocks", "ngf": 4}
    d = {"name": "patchgan", "ndf": 4}
    return CycleGAN(G_ab=g, G_ba=g, D_a=d, D_b=d, **kwargs)  # type: ignore[arg-type]


def test_the_synthetic_term_trains_g_ab_on_degraded_b_images() -> None:
    m = _model(synthetic_pairs={"name": "lowlight", "max_lamps": 0}, weights={"synthetic": 2.0})
    a, b = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)
    torch.manual_seed(3)
    out = m.generator_objective(a, b)
    torch.manual_seed(3)
    expected = m.reconstruction(m.G_ab(m.synthetic_pairs(b)), b)  # type: ignore[misc]
    torch.testing.assert_close(out.losses["syn"], expected)
    plain = _model().generator_objective(a, b).losses
    torch.testing.assert_close(out.losses["total"] - 2.0 * out.losses["syn"], plain["total"])
    out.losses["syn"].backward()
    assert all(p.grad is None for p in m.G_ba.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in m.G_ab.parameters())


def test_synthetic_pairs_and_their_weight_go_together_and_round_trip() -> None:
    with pytest.raises(ValueError, match="go together"):
        _model(synthetic_pairs="lowlight")
    with pytest.raises(ValueError, match="go together"):
        _model(weights={"synthetic": 1.0})
    m = _model(synthetic_pairs={"name": "lowlight", "max_lamps": 2}, weights={"synthetic": 1.0})
    again = build_model(m.config())
    assert isinstance(again, CycleGAN) and isinstance(again.synthetic_pairs, RandomNight)
    assert again.synthetic_pairs.max_lamps == 2
    assert "synthetic_pairs" not in _model().config()
    assert "lowlight" in cms.available("degradation")
