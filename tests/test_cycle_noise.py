"""``cycle_noise``: Gaussian noise on each translation before the way back, cycle terms only."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
import torch

from cyclegan_ms import CycleGAN
from cyclegan_ms.models import build_model


def _model(cycle_noise: float | Mapping[str, float] = 0.0) -> CycleGAN:
    torch.manual_seed(0)
    g = {"name": "resnet_6blocks", "ngf": 4}
    d = {"name": "patchgan", "ndf": 4}
    return CycleGAN(G_ab=g, G_ba=g, D_a=d, D_b=d, cycle_noise=cycle_noise)


def _losses(model: CycleGAN) -> dict[str, torch.Tensor]:
    torch.manual_seed(1)
    a, b = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)
    torch.manual_seed(2)
    return model.generator_objective(a, b).losses


def test_noise_on_a_changes_only_the_b_cycle() -> None:
    base = _losses(_model())
    noisy = _losses(_model({"a": 0.3}))
    # fake_a (G_ba(real_b)) is noised before G_ab maps it back to B: only cycle_b moves
    assert not torch.allclose(noisy["cycle_b"], base["cycle_b"])
    for key in ("cycle_a", "adv_a", "adv_b", "idt_a", "idt_b"):
        torch.testing.assert_close(noisy[key], base[key])


def test_noise_on_b_changes_only_the_a_cycle() -> None:
    base = _losses(_model())
    noisy = _losses(_model({"b": 0.3}))
    assert not torch.allclose(noisy["cycle_a"], base["cycle_a"])
    torch.testing.assert_close(noisy["cycle_b"], base["cycle_b"])


def test_zero_noise_is_the_plain_objective_and_leaves_the_config_unchanged() -> None:
    torch.testing.assert_close(_losses(_model(0.0))["total"], _losses(_model())["total"])
    assert "cycle_noise" not in _model().config()


def test_one_number_sets_both_and_round_trips_through_config() -> None:
    m = _model(0.1)
    assert m.cycle_noise == {"a": 0.1, "b": 0.1}
    again = build_model(m.config())
    assert isinstance(again, CycleGAN) and again.cycle_noise == {"a": 0.1, "b": 0.1}


@pytest.mark.parametrize(
    ("value", "match"),
    [
        (-0.1, "must be >= 0"),
        (float("inf"), "finite number >= 0"),
        ({"c": 0.1}, "keys 'a' and 'b'"),
        ({"a": "x"}, "finite number >= 0"),
        (True, "finite number >= 0"),
    ],
)
def test_bad_levels_are_refused_with_what_is_accepted(value: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        _model(value)  # type: ignore[arg-type]
