"""``robust_l1`` and the A→B→A term's own loss (``cycle_loss_a``)."""

from __future__ import annotations

import pytest
import torch

import cyclegan_ms as cms
from cyclegan_ms import CycleGAN
from cyclegan_ms.losses import RobustL1Loss, l1_loss, robust_l1_loss
from cyclegan_ms.models import build_model


def test_robust_l1_is_l1_for_small_errors_and_saturates_for_large_ones() -> None:
    x = torch.zeros(1, 3, 8, 8)
    small = torch.full_like(x, 1e-4)
    torch.testing.assert_close(
        robust_l1_loss(x, small, scale=0.05), l1_loss(x, small), rtol=1e-2, atol=0
    )
    big = torch.ones_like(x)
    # scale * log(1 + 1 / scale) = 0.05 * log(21)
    torch.testing.assert_close(
        robust_l1_loss(x, big, scale=0.05),
        torch.tensor(0.05 * torch.log(torch.tensor(21.0)).item()),
    )


def test_robust_l1_gradient_halves_at_the_scale() -> None:
    out = torch.full((4,), 0.05, requires_grad=True)
    robust_l1_loss(out, torch.zeros(4), scale=0.05, reduction="sum").backward()
    assert out.grad is not None
    torch.testing.assert_close(out.grad, torch.full((4,), 0.5))


def test_robust_l1_is_registered_and_checks_its_scale() -> None:
    loss = cms.build("reconstruction_loss", "robust_l1", scale=0.1)
    assert isinstance(loss, RobustL1Loss) and loss.scale == 0.1
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="scale"):
            RobustL1Loss(scale=bad)
    assert robust_l1_loss(torch.zeros(2, 3), torch.ones(2, 3), reduction="none").shape == (2, 3)


def _model(**kwargs: object) -> CycleGAN:
    torch.manual_seed(0)
    g = {"name": "resnet_6blocks", "ngf": 4}
    d = {"name": "patchgan", "ndf": 4}
    return CycleGAN(G_ab=g, G_ba=g, D_a=d, D_b=d, **kwargs)  # type: ignore[arg-type]


def test_cycle_loss_a_replaces_the_loss_of_that_term_only() -> None:
    a, b = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)
    base = _model().generator_objective(a, b)
    robust = _model(cycle_loss_a={"name": "robust_l1", "scale": 0.05}).generator_objective(a, b)
    torch.testing.assert_close(robust.losses["cycle_a"], robust_l1_loss(base.rec_a, a, scale=0.05))
    for key in ("cycle_b", "idt_a", "idt_b", "adv_a", "adv_b"):
        torch.testing.assert_close(robust.losses[key], base.losses[key])


def test_cycle_loss_a_round_trips_through_config() -> None:
    m = _model(cycle_loss_a={"name": "robust_l1", "scale": 0.2})
    assert m.config()["cycle_loss_a"] == {"name": "robust_l1", "scale": 0.2}
    again = build_model(m.config())
    assert isinstance(again, CycleGAN) and isinstance(again.cycle_loss_a, RobustL1Loss)
    assert again.cycle_loss_a.scale == 0.2
    assert "cycle_loss_a" not in _model().config()
