"""DiffAugment: the ``diffaug`` discriminator wrapper and its augmentation families."""

from __future__ import annotations

import pytest
import torch

import cyclegan_ms as cms
from cyclegan_ms.discriminators import DiffAugmentDiscriminator, diff_augment

PATCH = {"name": "patchgan", "ndf": 4, "n_layers": 2}


def test_eval_mode_passes_the_input_unchanged() -> None:
    d = DiffAugmentDiscriminator(discriminator=PATCH).eval()
    x = torch.rand(2, 3, 32, 32)
    assert torch.equal(d(x)[0], d.inners[0](x)[0])


def test_training_mode_augments_each_sample_with_its_own_draws() -> None:
    torch.manual_seed(0)
    d = DiffAugmentDiscriminator(discriminator=PATCH).train()
    x = torch.rand(1, 3, 32, 32).expand(4, 3, 32, 32).contiguous()
    scores = d(x)[0]
    plain = d.inners[0](x)[0]
    assert not torch.allclose(scores, plain)
    # the four copies of one image are augmented differently
    assert not torch.allclose(scores[0], scores[1])


def test_gradients_reach_the_input_through_every_family() -> None:
    torch.manual_seed(1)
    x = torch.rand(3, 3, 16, 16, requires_grad=True)
    diff_augment(x, ["color", "translation", "cutout"], (0.0, 1.0)).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_cutout_fills_one_square_with_mid_range() -> None:
    torch.manual_seed(2)
    x = torch.zeros(8, 3, 16, 16)
    y = diff_augment(x, ["cutout"], (-1.0, 3.0))  # mid-range 1.0
    filled = (y == 1.0).all(dim=1)  # (8, 16, 16): every channel filled
    assert torch.equal(filled, (y == 1.0).any(dim=1))
    for mask in filled:
        rows, cols = mask.any(dim=1).nonzero(), mask.any(dim=0).nonzero()
        assert 0 < len(rows) <= 8 and 0 < len(cols) <= 8
        # a rectangle: every pixel inside its bounding box is filled
        box = mask[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
        assert box.all()


def test_translation_shifts_content_and_fills_with_mid_range() -> None:
    torch.manual_seed(3)
    x = torch.arange(16.0).view(1, 1, 4, 4).expand(16, 1, 4, 4) / 16
    y = diff_augment(x, ["translation"], (0.0, 1.0))  # ratio 1/8 of 4 px: shifts of -1..1
    for img in y[:, 0]:
        kept = img[img != 0.5]
        # every kept value is one of the original pixels, no blending
        assert torch.isin(kept, x[0, 0]).all()
    assert (y != x).any()


def test_colour_keeps_shape_and_changes_statistics() -> None:
    torch.manual_seed(4)
    x = torch.rand(6, 3, 8, 8)
    y = diff_augment(x, ["color"], (0.0, 1.0))
    assert y.shape == x.shape
    assert not torch.allclose(y.mean(dim=(1, 2, 3)), x.mean(dim=(1, 2, 3)))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"policy": ["colour"]}, r"^diffaug: unknown policy 'colour'; accepted: color, cutout, translation$"),
        ({"policy": []}, r"^diffaug: policy must be a non-empty list"),
        ({"policy": "color"}, r"^diffaug: policy must be a non-empty list"),
        ({"value_range": (1, 0)}, r"^diffaug: value_range must be \(low, high\)"),
    ],
)
def test_bad_arguments_are_refused(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        cms.build("discriminator", "diffaug", discriminator=PATCH, **kwargs)


def test_a_cyclegan_trains_with_it_from_config() -> None:
    torch.manual_seed(5)
    model = cms.CycleGAN.from_config(
        {
            "generator": {"name": "resnet_6blocks", "ngf": 4},
            "discriminator": {"name": "diffaug", "discriminator": PATCH},
        }
    )
    a, b = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)
    out = model.generator_objective(a, b)
    out.losses["total"].backward()
    d = model.discriminator_objective(a, b, out.fakes)
    d["total"].backward()
    assert all(torch.isfinite(v) for v in d.values())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.D_b.parameters())
    assert cms.config_of(model.D_a) == {"name": "diffaug", "discriminator": PATCH}
