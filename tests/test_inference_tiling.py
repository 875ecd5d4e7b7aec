"""Tiled inference: placement, blending windows, seams, whole-image statistics, memory layout."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
import torch.nn as nn
from hypothesis import given
from hypothesis import strategies as st
from strategies import multiples_of

from cyclegan_ms import build
from cyclegan_ms.inference import (
    Translator,
    blend_window,
    collect_norm_stats,
    tile_spans,
    tiled_forward,
    use_norm_stats,
)
from cyclegan_ms.inference.norm_stats import needs_image_stats

# fp32 translation: these tests compare against fp32 references (bf16: test_translate_precision)
pytestmark = pytest.mark.usefixtures("fp32_translation")


# ----------------------------------------------------------------------------- placement
@given(
    length=st.integers(min_value=1, max_value=3000),
    tile=multiples_of(4, 8, 512),
    overlap_frac=st.floats(min_value=0.0, max_value=0.5),
)
def test_tile_spans_cover_the_axis_with_the_requested_overlap(
    length: int, tile: int, overlap_frac: float
) -> None:
    overlap = int(tile * overlap_frac)
    spans = tile_spans(length, tile, overlap, multiple=4)
    assert spans[0].start == 0 and spans[-1].stop == length
    sizes = {s.size for s in spans}
    assert len(sizes) == 1  # one tile size: a whole row can be batched
    size = sizes.pop()
    assert size <= max(tile, 0) and (len(spans) == 1 or size % 4 == 0)
    for a, b in itertools.pairwise(spans):
        assert b.start > a.start
        assert a.stop - b.start >= overlap  # at least the requested overlap
        assert a.after == b.before == a.stop - b.start
    if length <= tile:
        assert len(spans) == 1


@given(
    length=st.integers(min_value=1, max_value=2000), overlap=st.integers(min_value=0, max_value=32)
)
def test_blend_windows_sum_to_one_everywhere(length: int, overlap: int) -> None:
    spans = tile_spans(length, 64, overlap, multiple=4)
    total = torch.zeros(length, dtype=torch.float64)
    for s in spans:
        w = blend_window(s)
        assert w.min() >= 0 and w.max() <= 1
        total[s.start : s.stop] += w
    torch.testing.assert_close(total, torch.ones(length, dtype=torch.float64))


def test_blend_window_is_smooth_and_ignores_the_edge_margin() -> None:
    spans = tile_spans(200, 64, 32)
    w = blend_window(spans[1], margin=0.25)
    before = spans[1].before
    assert torch.all(w[: before // 4] == 0)  # the outer quarter of the overlap is ignored
    assert torch.all(w[before : spans[1].size - spans[1].after] == 1)
    assert (w[1:before] - w[: before - 1]).abs().max() < 0.15  # no jump inside the ramp
    hard = blend_window(spans[1], margin=0.5)
    assert set(hard.tolist()) <= {0.0, 1.0}


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((100, 30, 4, 4), "multiple of the generator's size multiple 4"),
        ((100, 32, 17, 4), "at most half the tile"),
        ((0, 32, 4, 1), "length must be an integer >= 1"),
        ((100, 32, -1, 1), "overlap must be an integer >= 0"),
    ],
)
def test_tile_spans_validates(args: tuple[int, int, int, int], match: str) -> None:
    length, tile, overlap, multiple = args
    with pytest.raises(ValueError, match=match):
        tile_spans(length, tile, overlap, multiple=multiple)


def test_blend_window_rejects_bad_margin() -> None:
    with pytest.raises(ValueError, match=r"margin must be in \[0, 0.5\]"):
        blend_window(tile_spans(100, 32, 8)[0], margin=0.6)


# ----------------------------------------------------------------------------- tiled_forward
def test_tiled_forward_of_a_pointwise_function_is_exact() -> None:
    x = torch.rand(2, 3, 70, 101)
    y = tiled_forward(lambda t: t * 2 - 1, x, tile=32, overlap=8, multiple=4, batch_size=3)
    torch.testing.assert_close(y, x * 2 - 1)


def test_tiled_forward_writes_uint8_rows_into_a_numpy_view() -> None:
    """Input and output stay uint8 (views of numpy arrays); only strips are float."""
    rng = np.random.default_rng(0)
    pixels = (rng.random((45, 77, 3)) * 255).astype(np.uint8)
    result = np.zeros((45, 77, 3), np.uint8)
    x = torch.from_numpy(pixels).permute(2, 0, 1)[None]
    out = torch.from_numpy(result).permute(2, 0, 1)[None]
    returned = tiled_forward(
        lambda t: 255 - t,
        x,
        tile=16,
        overlap=4,
        out=out,
        encode=lambda t: t.float(),
        decode=lambda v: v.round().clamp(0, 255).to(torch.uint8),
    )
    assert returned is out
    np.testing.assert_array_equal(result, 255 - pixels)


def test_tiled_forward_batches_tiles_across_images() -> None:
    calls: list[int] = []

    def fn(t: torch.Tensor) -> torch.Tensor:
        calls.append(t.shape[0])
        return t + 1

    x = torch.zeros(2, 1, 40, 100)
    y = tiled_forward(fn, x, tile=32, overlap=8, batch_size=6)
    torch.testing.assert_close(y, x + 1)
    assert max(calls) == 6 and all(c % 2 == 0 for c in calls)  # 3 tiles × 2 images per call


def test_tiled_forward_rejects_wrong_out_shape() -> None:
    with pytest.raises(ValueError, match="out must have shape"):
        tiled_forward(
            lambda t: t,
            torch.zeros(1, 3, 40, 40),
            tile=16,
            overlap=4,
            out=torch.zeros(1, 3, 40, 41),
        )


# ----------------------------------------------------------------------------- seams
class SmoothNet(nn.Module):
    """A small image-to-image net with instance norm whose output is smooth for smooth input
    (receptive field 5 pixels), so any seam is the tiling's fault."""

    def __init__(self) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3, padding=1, padding_mode="reflect")
        self.norm = nn.InstanceNorm2d(8, affine=True)
        self.c2 = nn.Conv2d(8, 3, 3, padding=1, padding_mode="reflect")
        with torch.no_grad():
            self.norm.weight.uniform_(0.5, 1.5)
            self.norm.bias.uniform_(-0.5, 0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.c2(torch.tanh(self.norm(self.c1(x)))))


def smooth_image(h: int = 64, w: int = 96) -> torch.Tensor:
    yy, xx = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w), indexing="ij")
    return torch.stack([0.2 + 0.6 * xx, 0.5 + 0.3 * torch.sin(4 * yy), 0.2 + 0.5 * xx * yy])[None]


def seam_columns(width: int, tile: int, overlap: int) -> list[int]:
    """Columns where a tile starts or ends, or inside an overlap."""
    cols: set[int] = set()
    for s in tile_spans(width, tile, overlap):
        cols.update({s.start, s.stop})
        if s.after:
            cols.update(range(s.stop - s.after, s.stop + 1))
    return sorted(c for c in cols if 0 < c < width)


def step_at(y: torch.Tensor, cols: list[int]) -> float:
    """Largest jump between horizontally adjacent pixels at the given columns."""
    return max(float((y[..., c] - y[..., c - 1]).abs().max()) for c in cols)


@pytest.mark.parametrize("norm_stats", ["global", "tile"])
def test_constant_image_translates_without_seams(norm_stats: str) -> None:
    torch.manual_seed(0)
    net = SmoothNet().eval()
    x = torch.full((1, 3, 64, 96), 0.4)
    y = Translator(net, tile=32, overlap=16, norm_stats=norm_stats)(x)  # type: ignore[arg-type]
    assert float((y - y.mean(dim=(2, 3), keepdim=True)).abs().max()) < 1e-5
    torch.testing.assert_close(y, Translator(net, tile=None, border=0)(x), atol=1e-5, rtol=0)


def test_smooth_image_global_stats_no_step_and_matches_untiled() -> None:
    torch.manual_seed(0)
    net = SmoothNet().eval()
    x = smooth_image()
    untiled = Translator(net, tile=None, border=0)(x)
    tiled = Translator(net, tile=32, overlap=16, norm_stats="global")(x)
    cols = seam_columns(96, 32, 16)
    assert step_at(tiled, cols) <= step_at(untiled, list(range(1, 96))) + 1e-4
    # the net's receptive field (5 px) fits in the ignored margin: tiling is exact here
    torch.testing.assert_close(tiled, untiled, atol=1e-5, rtol=0)


def test_smooth_image_blending_hides_per_tile_colour_differences() -> None:
    """With per-tile statistics tiles disagree; blending turns that into a gentle ramp, while a
    hard cut (margin 0.5, i.e. no blending) leaves a visible step: the check can fail."""
    torch.manual_seed(0)
    net = SmoothNet().eval()
    x = smooth_image()
    untiled_step = step_at(Translator(net, tile=None, border=0)(x), list(range(1, 96)))
    cols = seam_columns(96, 32, 16)
    blended = Translator(net, tile=32, overlap=16, norm_stats="tile")(x)
    hard = Translator(net, tile=32, overlap=16, norm_stats="tile", margin=0.5)(x)
    assert step_at(blended, cols) < untiled_step + 0.03
    assert step_at(hard, cols) > untiled_step + 0.1


# ----------------------------------------------------------------------------- statistics
class LocalNet(nn.Module):
    """1×1 convolutions with instance and group norm and a global-pooling context path: the
    only thing tiles can disagree on is the per-sample statistics."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(3, 8, 1)
        self.inorm = nn.InstanceNorm2d(8, affine=True)
        self.b = nn.Conv2d(8, 8, 1)
        self.gnorm = nn.GroupNorm(2, 8)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.c = nn.Conv2d(8, 3, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.inorm(self.a(x)))
        h = self.gnorm(self.b(h))
        return self.c(h + self.pool(h))


def test_whole_image_statistics_make_tiling_exact_for_local_nets() -> None:
    torch.manual_seed(0)
    net = LocalNet().eval()
    x = torch.rand(2, 3, 50, 70) * smooth_image(50, 70)
    untiled = net(x).detach()
    stats = collect_norm_stats(net, x)
    assert len(stats) == 3  # instance norm, group norm, pooling
    with use_norm_stats(net, stats), torch.no_grad():
        tiled = tiled_forward(net, x, tile=16, overlap=4, batch_size=4)
    torch.testing.assert_close(tiled, untiled, atol=1e-5, rtol=1e-5)
    per_tile = tiled_forward(net, x, tile=16, overlap=4)
    assert float((per_tile - untiled).abs().max()) > 0.05  # without them, tiles disagree
    # the patches are gone after the context
    torch.testing.assert_close(
        net(x[:, :, :16, :16]).detach(), LocalNet.forward(net, x[:, :, :16, :16]).detach()
    )
    assert "forward" not in net.inorm.__dict__


def test_use_norm_stats_rejects_mismatched_batches() -> None:
    net = LocalNet().eval()
    stats = collect_norm_stats(net, torch.rand(2, 3, 8, 8))
    with (
        use_norm_stats(net, stats),
        pytest.raises(ValueError, match="not a multiple of the 2 images"),
    ):
        net(torch.rand(3, 3, 8, 8))


def test_needs_image_stats() -> None:
    assert needs_image_stats(build("generator", "resnet_6blocks", ngf=4))
    assert needs_image_stats(
        build("generator", "seed_unet", base_width=4, depth=2, bottleneck="conv")
    )
    assert not needs_image_stats(build("generator", "resnet_6blocks", ngf=4, norm="batch").eval())


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("resnet_6blocks", {"ngf": 8}),
        ("seed_unet", {"base_width": 4, "depth": 3, "bottleneck": "conv", "latent_dim": 8}),
        (
            "seed_unet",
            {
                "base_width": 4,
                "depth": 3,
                "bottleneck": "conv",
                "latent_dim": 8,
                "residual": "add",
                "exposure_norm": 0.15,
            },
        ),
    ],
)
def test_library_generators_tiled_agree_with_untiled(name: str, kwargs: dict) -> None:
    """On an image small enough for both, tiled (whole-image statistics) ≈ untiled; per-tile
    statistics are far worse, which is what the global mode fixes."""
    torch.manual_seed(0)
    G = build("generator", name, **kwargs).eval()
    x = smooth_image(96, 192)
    untiled = Translator(G, tile=None, border=0)(x)
    tiled = Translator(G, tile=96, overlap=48, norm_stats="global")(x)
    per_tile = Translator(G, tile=96, overlap=48, norm_stats="tile")(x)
    err_global = float((tiled - untiled).abs().mean())
    err_tile = float((per_tile - untiled).abs().mean())
    assert tiled.shape == untiled.shape
    assert err_global < 0.015
    assert err_global * 5 < err_tile


def test_global_stats_from_a_downscaled_copy_for_large_images() -> None:
    """Images larger than stats_size get statistics from a box-downscaled copy (strip by strip)."""
    torch.manual_seed(0)
    net = LocalNet().eval()
    x = smooth_image(120, 200)
    untiled = net(x).detach()
    approx = Translator(net, tile=32, overlap=8, stats_size=50)(x)
    per_tile = Translator(net, tile=32, overlap=8, norm_stats="tile")(x)
    err = float((approx - untiled).abs().mean())
    assert err < 0.02
    assert err * 3 < float((per_tile - untiled).abs().mean())


# ----------------------------------------------------------------------------- public hooks
def test_tensor_takes_given_statistics_whole_or_tiled() -> None:
    """``Translator.tensor(x, norm_stats)``: the hook FrameTranslator uses. The image's own
    statistics (``norm_stats_of``) reproduce the default passes; other statistics change both
    the whole and the tiled pass."""
    torch.manual_seed(0)
    G = build("generator", "resnet_6blocks", ngf=4, output="sigmoid").eval()
    x, other = smooth_image(40, 56), smooth_image(40, 56).flip(-1) * 0.5
    whole = Translator(G, tile=None)
    tiled = Translator(G, tile=16, overlap=4, norm_stats="global")
    own = tiled.norm_stats_of(x)
    assert own.batch == 1 and len(own) > 0
    torch.testing.assert_close(tiled.tensor(x, own), tiled.tensor(x), rtol=0, atol=0)
    torch.testing.assert_close(whole.tensor(x, whole.norm_stats_of(x)), whole.tensor(x))
    foreign = whole.norm_stats_of(other)
    for t in (whole, tiled):
        assert float((t.tensor(x, foreign) - t.tensor(x)).abs().mean()) > 1e-3
    with pytest.raises(ValueError, match=r"\(B, C, H, W\)"):
        whole.tensor(x[0])
