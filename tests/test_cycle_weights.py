"""The A→B→A cycle term can have its own weight (``weights.cycle_a``)."""

from __future__ import annotations

import pytest
import torch

from cyclegan_ms import CycleGAN
from cyclegan_ms.models import LossWeights


def _model(**weights: float) -> CycleGAN:
    torch.manual_seed(0)
    g = {"name": "resnet_6blocks", "ngf": 4}
    d = {"name": "patchgan", "ndf": 4}
    return CycleGAN(G_ab=g, G_ba=g, D_a=d, D_b=d, weights=weights)


def test_cycle_a_weights_only_the_a_side() -> None:
    a, b = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)
    base = _model().generator_objective(a, b).losses
    out = _model(cycle_a=2.0).generator_objective(a, b).losses
    expected = base["total"] - 8.0 * base["cycle_a"]
    torch.testing.assert_close(out["total"], expected)
    torch.testing.assert_close(out["cycle_b"], base["cycle_b"])


def test_cycle_a_defaults_to_cycle_and_round_trips_through_config() -> None:
    assert LossWeights().cycle_a is None
    m = _model(cycle_a=1.5)
    again = CycleGAN.from_config(m.config())
    assert again.weights.cycle_a == 1.5
    assert CycleGAN.from_config(_model().config()).weights.cycle_a is None


def test_cycle_a_must_be_a_nonnegative_number() -> None:
    with pytest.raises(ValueError, match="cycle_a"):
        LossWeights(cycle_a=-1.0)
    with pytest.raises(ValueError, match="cycle_a"):
        LossWeights.from_mapping({"cycle_a": "1"})
