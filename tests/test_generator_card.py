"""The generator card: every generator has one, plain modules get one, and facts stay typed."""

from __future__ import annotations

import dataclasses

import pytest
import torch
import torch.nn as nn

import cyclegan_ms as cms
from cyclegan_ms.generators import Generator, GeneratorCard, card_of, set_card
from cyclegan_ms.inference.norm_stats import _global_modules, needs_image_stats
from cyclegan_ms.layers import GlobalContext

SMALL = {
    "seed_unet": {"base_width": 4, "depth": 2, "image_size": 64},
    "resnet_6blocks": {"ngf": 4},
    "resnet_9blocks": {"ngf": 4},
    "unet_128": {"ngf": 2},
    "unet_256": {"ngf": 2},
}


@pytest.mark.parametrize("name", cms.available("generator"))
def test_every_library_generator_has_a_card_matching_its_architecture(name: str) -> None:
    g = cms.build("generator", name, **SMALL.get(name, {}))
    assert isinstance(g, Generator)
    card = card_of(g)
    assert card == g.card
    assert card.architecture() == (g.in_channels, g.out_channels, g.size_multiple, g.fixed_size)
    assert card.config is not None and card.config["name"] == name
    assert (card.value_range, card.direction, card.step) == ((0.0, 1.0), None, 0)


def test_card_is_frozen_and_validated() -> None:
    card = GeneratorCard(value_range=(-1, 1))
    assert card.value_range == (-1.0, 1.0) and isinstance(card.value_range[0], float)
    with pytest.raises(dataclasses.FrozenInstanceError):
        card.step = 3  # type: ignore[misc]
    for bad, match in [
        ({"size_multiple": 0}, "size_multiple must be an integer >= 1"),
        ({"fixed_size": 2.5}, "fixed_size must be an integer"),
        ({"value_range": (1, 0)}, "low < high"),
        ({"direction": "AtoB"}, "'a2b' or 'b2a'"),
        ({"step": -1}, "step must be an integer >= 0"),
        ({"in_channels": True}, "in_channels must be an integer"),
    ]:
        with pytest.raises(ValueError, match=match):
            GeneratorCard(**bad)
    assert hash(GeneratorCard(config={"name": "x"})) == hash(GeneratorCard(config={"name": "y"}))
    assert GeneratorCard(fixed_size=256, size_multiple=32).pad_multiple == 256
    assert GeneratorCard(size_multiple=32).pad_multiple == 32


def test_set_card_attaches_training_facts_and_checks_the_architecture() -> None:
    g = cms.build("generator", "resnet_6blocks", ngf=4)
    g.set_card(dataclasses.replace(g.card, value_range=(-1.0, 1.0), direction="b2a", step=12))
    card = card_of(g)
    assert (card.value_range, card.direction, card.step) == ((-1.0, 1.0), "b2a", 12)
    assert card.config == cms.registry.config_of(g)
    with pytest.raises(ValueError, match=r"size_multiple 1 \(the generator has 4\)"):
        g.set_card(GeneratorCard())
    with pytest.raises(TypeError, match="GeneratorCard"):
        g.set_card({"step": 1})  # type: ignore[arg-type]
    # a card without config gets the registry config
    g.set_card(GeneratorCard(size_multiple=4, step=5))
    assert g.card.config is not None and g.card.config["name"] == "resnet_6blocks"


def test_plain_modules_get_the_default_card_or_an_attached_one() -> None:
    net = nn.Sequential(nn.Conv2d(3, 3, 1))
    assert card_of(net) == GeneratorCard()
    set_card(net, GeneratorCard(in_channels=1, out_channels=1, size_multiple=8, step=3))
    assert card_of(net).size_multiple == 8 and card_of(net).step == 3
    assert "_cyclegan_ms_card" not in net.state_dict()
    with pytest.raises(TypeError, match=r"nn\.Module"):
        card_of("not a module")  # type: ignore[arg-type]


def test_attributes_of_a_plain_module_are_not_its_card() -> None:
    class Plain(nn.Module):
        size_multiple = 8

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x

    assert card_of(Plain()) == GeneratorCard()


def test_generators_have_no_facts_outside_their_card() -> None:
    g = cms.build("generator", "resnet_6blocks", ngf=4)
    for name in ("value_range", "direction", "checkpoint_step"):
        assert not hasattr(g, name)


def test_global_context_layers_are_found_through_the_marker() -> None:
    class Marked(GlobalContext, nn.Linear):
        pass

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 3, 1)
            self.ctx = Marked(3, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.conv(x) + self.ctx(x.mean(dim=(-2, -1)))[..., None, None]

    net = Net()
    assert _global_modules(net) == [net.ctx]
    assert needs_image_stats(net)
    assert not needs_image_stats(nn.Sequential(nn.Conv2d(3, 3, 1)))
    seed = cms.build(
        "generator",
        "seed_unet",
        base_width=4,
        depth=2,
        bottleneck="conv",
        global_affine=True,
        residual="add",
    )
    found = _global_modules(seed)
    assert seed.bottleneck.context in found and seed.global_affine in found


def test_tiling_does_not_import_a_concrete_generator() -> None:
    import inspect

    from cyclegan_ms.inference import norm_stats, tiling

    assert "generators" not in inspect.getsource(tiling)
    assert "generators" not in inspect.getsource(norm_stats)
