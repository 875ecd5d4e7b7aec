from __future__ import annotations

from typing import Literal

import pytest
import torch
import torch.nn as nn

import cyclegan_ms as cms
from cyclegan_ms import registry


@pytest.fixture
def scratch_kind():
    """A throwaway kind so tests never pollute the real tables."""
    registry.register_kind("scratch")
    yield "scratch"
    registry._REGISTRY.pop("scratch")


def test_register_and_build_user_module(scratch_kind: str) -> None:
    @cms.register(scratch_kind, "tiny")
    class Tiny(nn.Module):
        def __init__(self, *, width: int = 4, scale: float = 1.0) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, width, 1)
            self.scale = scale

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.conv(x) * self.scale

    m = cms.build(scratch_kind, "tiny", width=5, scale=2)
    assert isinstance(m, Tiny)
    assert m(torch.zeros(1, 3, 4, 4)).shape == (1, 5, 4, 4)
    assert cms.config_of(m) == {"name": "tiny", "width": 5, "scale": 2}
    again = cms.from_config(scratch_kind, cms.config_of(m))
    assert cms.config_of(again) == cms.config_of(m)
    assert cms.available(scratch_kind) == ["tiny"]


def test_user_generator_registers_in_real_kind() -> None:
    name = "test_user_identity_generator"

    @cms.register("generator", name)
    def make(*, in_channels: int = 3) -> nn.Module:
        return nn.Identity()

    try:
        assert name in cms.available("generator", "test_user_*")
        g = cms.build("generator", name, in_channels=1)
        x = torch.randn(2, 1, 8, 8)
        assert torch.equal(g(x), x)
    finally:
        registry._REGISTRY["generator"].pop(name)


def test_duplicate_name_raises(scratch_kind: str) -> None:
    @cms.register(scratch_kind, "dup")
    def a() -> int:
        return 1

    with pytest.raises(ValueError, match="already registered"):

        @cms.register(scratch_kind, "dup")
        def b() -> int:
            return 2


def test_unknown_name_suggests_close_matches() -> None:
    with pytest.raises(ValueError, match=r"did you mean 'resnet_9blocks'"):
        cms.build("generator", "resnet_9block")


def test_unknown_kind_lists_kinds() -> None:
    with pytest.raises(ValueError, match=r"valid kinds are: .*discriminator.*generator"):
        cms.build("generatr", "resnet_9blocks")
    with pytest.raises(ValueError, match="valid kinds"):
        cms.register("nope")


def test_unknown_argument_lists_accepted(scratch_kind: str) -> None:
    @cms.register(scratch_kind, "f")
    def f(*, width: int = 1, depth: int = 2) -> int:
        return width * depth

    with pytest.raises(
        TypeError,
        match=r"unexpected argument 'widht'.*did you mean 'width'.*accepted arguments: width, depth",
    ):
        cms.build(scratch_kind, "f", widht=3)


def test_wrong_type_and_missing_argument(scratch_kind: str) -> None:

    @cms.register(scratch_kind, "g")
    def g(*, n: int, mode: Literal["a", "b"] = "a", ratio: float = 0.5, flag: bool = False) -> int:
        return n

    with pytest.raises(TypeError, match="missing required argument"):
        cms.build(scratch_kind, "g")
    with pytest.raises(TypeError, match=r"'n' must be int; got '3'"):
        cms.build(scratch_kind, "g", n="3")
    with pytest.raises(TypeError, match=r"'mode' must be"):
        cms.build(scratch_kind, "g", n=1, mode="c")
    with pytest.raises(TypeError, match=r"'n' must be int"):
        cms.build(scratch_kind, "g", n=True)
    assert cms.build(scratch_kind, "g", n=2, ratio=1) == 2  # an int is a fine float


def test_available_wildcards(scratch_kind: str) -> None:
    for n in ("b_two", "a_one", "a_two"):
        cms.register(scratch_kind, n)(lambda: None)
    assert cms.available(scratch_kind) == ["a_one", "a_two", "b_two"]
    assert cms.available(scratch_kind, "a_*") == ["a_one", "a_two"]
    assert cms.available(scratch_kind, "*two") == ["a_two", "b_two"]


def test_config_of_rejects_unbuilt_part() -> None:
    with pytest.raises(ValueError, match=r"not built through cyclegan_ms\.build"):
        cms.config_of(nn.Linear(1, 1))


def test_from_config_validates_shape() -> None:
    with pytest.raises(ValueError, match="'name' key"):
        cms.from_config("generator", {"ngf": 3})
    with pytest.raises(ValueError, match="is for kind"):
        cms.from_config("generator", {"kind": "discriminator", "name": "patchgan"})


def test_register_kind_appears_in_kinds() -> None:
    registry.register_kind("scratch_kind_two")
    try:
        assert cms.kinds()[-1] == "scratch_kind_two"
        assert cms.available("scratch_kind_two") == []
        registry.register_kind("scratch_kind_two")  # idempotent
        assert cms.kinds().count("scratch_kind_two") == 1
    finally:
        registry._REGISTRY.pop("scratch_kind_two")
    with pytest.raises(ValueError, match="identifier-like"):
        registry.register_kind("not a kind")
