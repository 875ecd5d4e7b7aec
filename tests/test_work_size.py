"""Translating at a working resolution (``work_size``) and the fast guided filter back up."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import cyclegan_ms as cms
from cyclegan_ms.inference import TranslateOptions, Translator
from cyclegan_ms.inference.guided import GuidedCoefficients, apply_guided, guided_coefficients


class ColourMap(nn.Module):
    """A generator that is one fixed affine colour map (1×1 convolution)."""

    size_multiple = 1

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 1)
        with torch.no_grad():
            self.conv.weight.copy_(torch.tensor([[0.6, 0.2, 0.0], [0.1, 0.7, 0.1], [0.0, 0.3, 0.5]]).view(3, 3, 1, 1))
            self.conv.bias.copy_(torch.tensor([0.05, 0.1, 0.15]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class Counting(nn.Module):
    """Records the sizes it is run at; returns its input brightened."""

    size_multiple = 4

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.ones(()))
        self.sizes: list[tuple[int, int]] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.sizes.append((int(x.shape[-2]), int(x.shape[-1])))
        return (x * 2 * self.w).clamp(0, 1)


def test_guided_filter_recovers_a_global_affine_colour_map() -> None:
    torch.manual_seed(0)
    g = ColourMap()
    small = torch.rand(1, 3, 24, 32)
    with torch.no_grad():
        coeffs = guided_coefficients(small, g(small), eps=1e-6)
        big = torch.rand(1, 3, 70, 90)
        out = apply_guided(coeffs, big, rows=16)
        ref = g(big)
        # exact inside; along the edges the windows are half replicated pixels (ill-conditioned)
        torch.testing.assert_close(out[..., 4:-4, 4:-4], ref[..., 4:-4, 4:-4], atol=2e-3, rtol=0)
        assert (out - ref).abs().mean() < 1e-3


def test_strips_equal_one_bilinear_resize() -> None:
    torch.manual_seed(1)
    b = torch.rand(2, 3, 7, 9)
    coeffs = GuidedCoefficients(A=torch.zeros(2, 3, 3, 7, 9), b=b)
    out = apply_guided(coeffs, torch.rand(2, 3, 50, 61), rows=13)
    ref = F.interpolate(b, size=(50, 61), mode="bilinear", align_corners=False)
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=0)


def test_guided_filter_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="same batch and size"):
        guided_coefficients(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 9))
    with pytest.raises(ValueError, match="radius must be an integer >= 0"):
        guided_coefficients(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8), radius=-1)
    with pytest.raises(ValueError, match="eps must be > 0"):
        guided_coefficients(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8), eps=0.0)


def test_the_generator_runs_at_the_working_resolution_only() -> None:
    g = Counting()
    t = Translator(g, work_size=64, border=0, precision="fp32")
    out = t(np.full((200, 300, 3), 40, np.uint8))
    assert out.shape == (200, 300, 3)
    assert max(max(s) for s in g.sizes) <= 64 + 4  # padded to the size multiple at most
    assert len(g.sizes) == 1
    # small images are translated at their own size, unchanged by the option
    g.sizes.clear()
    t(np.full((50, 60, 3), 40, np.uint8))
    assert len(g.sizes) == 1 and g.sizes[0][0] >= 50 and g.sizes[0][1] >= 60


def test_a_colour_map_comes_back_exact_at_full_resolution() -> None:
    """For a generator that is a colour map, guided upsampling gives the full-resolution
    translation itself (the detail of the photograph is kept), a resize does not."""
    torch.manual_seed(2)
    g = ColourMap()
    x = F.interpolate(torch.rand(1, 3, 20, 30), size=(160, 240), mode="nearest")  # sharp edges
    x = (x + 0.05 * torch.rand_like(x)).clamp(0, 1)
    with torch.no_grad():
        full = g(x)
    guided = Translator(g, work_size=60, border=0, precision="fp32").tensor(x)
    resized = Translator(g, work_size=60, border=0, precision="fp32", upsample="bilinear").tensor(x)
    err_guided = (guided - full).abs().mean().item()
    err_resized = (resized - full).abs().mean().item()
    assert err_guided < 0.01
    assert err_resized > 3 * err_guided


def test_options_are_checked() -> None:
    with pytest.raises(ValueError, match="work_size must be"):
        TranslateOptions(work_size=0)
    with pytest.raises(ValueError, match="upsample must be 'guided' or 'bilinear'"):
        TranslateOptions(upsample="nearest")  # type: ignore[arg-type]
    seed = cms.build("generator", "seed_unet", base_width=4)
    with pytest.raises(ValueError, match="work_size is for size-free generators"):
        Translator(seed, work_size=128)
