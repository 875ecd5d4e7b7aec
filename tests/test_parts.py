"""One test walks the whole registry: every generator and discriminator, built-in or added later,
gets the same shape, finiteness, gradient and determinism checks for free."""

from __future__ import annotations

from typing import Any

import pytest
import torch
import torch.nn as nn
from hypothesis import given
from hypothesis import strategies as st

import cyclegan_ms as cms

# Small, fast settings for parts whose defaults are heavy or need arguments. A newly registered
# part with required arguments must add an entry here (the test says so).
SMALL: dict[str, dict[str, Any]] = {
    "seed_unet": {"base_width": 4},
    "resnet_9blocks": {"ngf": 8},
    "resnet_6blocks": {"ngf": 8},
    "unet_128": {"ngf": 4},
    "unet_256": {"ngf": 4},
    "seed_multiscale": {"base_width": 4},
    "patchgan": {"ndf": 8},
    "pixel": {"ndf": 8},
    "pyramid": {"discriminator": {"name": "patchgan", "ndf": 4, "n_layers": 2}, "num_scales": 2},
    "multiview": {"discriminator": {"name": "patchgan", "ndf": 4, "n_layers": 2}},
    "diffaug": {"discriminator": {"name": "patchgan", "ndf": 4, "n_layers": 2}},
}


def _build(kind: str, name: str, **extra: Any) -> nn.Module:
    try:
        return cms.build(kind, name, **{**SMALL.get(name, {}), **extra})
    except TypeError as err:
        if "missing required" in str(err):
            pytest.fail(f"{kind} {name!r} needs arguments: add it to SMALL in {__file__} ({err})")
        raise


def _input_size(module: nn.Module) -> int:
    fixed = getattr(module, "fixed_size", None)
    if fixed is not None:
        return int(fixed)
    multiple = int(getattr(module, "size_multiple", 1))
    return max(64, multiple)


def _check_grads(module: nn.Module) -> None:
    missing = [n for n, p in module.named_parameters() if p.requires_grad and p.grad is None]
    assert not missing, f"no gradient reached: {missing[:5]}"
    grads = [p.grad for p in module.parameters() if p.grad is not None]
    assert all(torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in grads)


@pytest.mark.parametrize("name", cms.available("generator"))
def test_generator_contract(name: str) -> None:
    g = _build("generator", name)
    size = _input_size(g)
    x = torch.rand(2, 3, size, size)
    y = g(x)
    assert isinstance(y, torch.Tensor)
    assert y.shape == (2, 3, size, size)
    assert torch.isfinite(y).all()
    y.float().square().mean().backward()
    _check_grads(g)
    reg = g.regularization()
    assert reg.ndim == 0 and torch.isfinite(reg)
    g.eval()
    with torch.no_grad():
        assert torch.equal(g(x), g(x)), "eval mode must be deterministic"
    config = cms.config_of(g)
    assert cms.config_of(cms.from_config("generator", config)) == config


@pytest.mark.parametrize("name", cms.available("discriminator"))
def test_discriminator_contract(name: str) -> None:
    d = _build("discriminator", name)
    size = max(128, _input_size(d))
    x = torch.rand(2, 3, size, size)
    scores = d(x)
    assert isinstance(scores, list) and len(scores) >= 1
    for s in scores:
        assert s.ndim == 4 and s.shape[:2] == (2, 1), s.shape
        assert torch.isfinite(s).all()
    scores2, feats = d.forward_features(x)
    assert len(scores2) == len(scores)
    assert all(f.shape[0] == 2 for f in feats)
    sum(s.mean() for s in scores).backward()
    _check_grads(d)
    d.eval()
    with torch.no_grad():
        a, b = d(x), d(x)
    assert all(torch.equal(u, v) for u, v in zip(a, b, strict=True))
    config = cms.config_of(d)
    assert cms.config_of(cms.from_config("discriminator", config)) == config


@pytest.mark.parametrize("name", cms.available("generator"))
@given(batch=st.integers(1, 2), channels=st.sampled_from([1, 3, 4]))
def test_generator_channels_and_batch(name: str, batch: int, channels: int) -> None:
    g = _build("generator", name, in_channels=channels, out_channels=channels)
    size = _input_size(g)
    with torch.no_grad():
        y = g(torch.rand(batch, channels, size, size))
    assert y.shape == (batch, channels, size, size)


@pytest.mark.parametrize("name", cms.available("discriminator"))
@given(batch=st.integers(1, 2), channels=st.sampled_from([1, 3]))
def test_discriminator_channels_and_batch(name: str, batch: int, channels: int) -> None:
    extra: dict[str, Any] = {}
    small = SMALL.get(name, {})
    if "discriminator" in small:  # a wrapper: the inner part takes the channels
        extra["discriminator"] = {**small["discriminator"], "in_channels": channels}
    else:
        extra["in_channels"] = channels
    d = _build("discriminator", name, **extra)
    with torch.no_grad():
        scores = d(torch.rand(batch, channels, 128, 128))
    assert all(s.shape[:2] == (batch, 1) for s in scores)


@pytest.mark.parametrize(
    ("kind", "name"),
    [("generator", n) for n in cms.available("generator")]
    + [("discriminator", n) for n in cms.available("discriminator")],
)
def test_channels_last_matches_contiguous(kind: str, name: str) -> None:
    """Every part trains in channels_last (the trainer's fast path) with the same results."""
    torch.manual_seed(0)
    part = _build(kind, name)
    size = _input_size(part) if kind == "generator" else max(128, _input_size(part))
    x = torch.rand(2, 3, size, size)

    def run(memory_format: torch.memory_format) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        part.zero_grad(set_to_none=True)
        torch.manual_seed(1)  # random parts (augmentation, dropout) draw the same in both runs
        m = part.to(memory_format=memory_format)
        inp = x.contiguous(memory_format=memory_format).requires_grad_(True)
        out = m(inp)
        outs = out if isinstance(out, list) else [out]
        sum(o.float().mean() for o in outs).backward()
        grads = [p.grad.clone() for p in m.parameters() if p.grad is not None]
        return [o.detach() for o in outs], grads

    out_a, grad_a = run(torch.contiguous_format)
    out_b, grad_b = run(torch.channels_last)
    for u, v in zip(out_a, out_b, strict=True):
        torch.testing.assert_close(u, v, rtol=1e-4, atol=1e-5)
    for u, v in zip(grad_a, grad_b, strict=True):
        torch.testing.assert_close(u, v, rtol=1e-3, atol=1e-5)
