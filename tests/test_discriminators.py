"""Family-specific facts of the discriminators: counts, score-map sizes, views, wrappers."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch
import torch.nn as nn
from hypothesis import given
from hypothesis import strategies as st
from strategies import batch_sizes

import cyclegan_ms as cms
from cyclegan_ms import registry
from cyclegan_ms.discriminators import (
    Discriminator,
    MultiViewDiscriminator,
    NLayerDiscriminator,
    PixelDiscriminator,
    PyramidDiscriminator,
    SeedMultiScaleDiscriminator,
    downsample_half,
    make_view,
    patchgan_receptive_field,
    sobel_magnitude,
)
from cyclegan_ms.discriminators.patchgan import PATCHGAN_PARAMS
from cyclegan_ms.discriminators.seed_multiscale import SEED_MULTISCALE_PARAMS
from cyclegan_ms.layers import gaussian_blur, luma

PIXEL = {"name": "pixel", "ndf": 4}
SMALL_SEED = {"name": "seed_multiscale", "base_width": 2}


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def ceil_halvings(n: int, k: int) -> int:
    for _ in range(k):
        n = -(-n // 2)
    return n


# --------------------------------------------------------------------------- seed_multiscale


def test_seed_multiscale_parameter_count() -> None:
    D = cms.build("discriminator", "seed_multiscale")
    assert n_params(D) == SEED_MULTISCALE_PARAMS == 5_598_547


def test_seed_multiscale_at_256_gives_32_16_8() -> None:
    D = SeedMultiScaleDiscriminator()
    with torch.no_grad():
        scores, features = D.forward_features(torch.rand(1, 3, 256, 256))
    assert [tuple(s.shape) for s in scores] == [(1, 1, 32, 32), (1, 1, 16, 16), (1, 1, 8, 8)]
    assert [tuple(f.shape) for f in features] == [
        (1, 16, 128, 128),
        (1, 32, 64, 64),
        (1, 64, 32, 32),
        (1, 128, 16, 16),
        (1, 256, 8, 8),
    ]


def test_seed_multiscale_is_unnormalised_leaky_03_glorot() -> None:
    D = SeedMultiScaleDiscriminator()
    kinds = {type(m) for m in D.modules()}
    assert not kinds & {nn.GroupNorm, nn.BatchNorm2d, nn.InstanceNorm2d, nn.LayerNorm}
    slopes = {m.negative_slope for m in D.modules() if isinstance(m, nn.LeakyReLU)}
    assert slopes == {0.3}
    for m in D.modules():
        if isinstance(m, nn.Conv2d):
            assert m.bias is not None and torch.count_nonzero(m.bias) == 0
            fan_in = m.in_channels * m.kernel_size[0] * m.kernel_size[1]
            fan_out = m.out_channels * m.kernel_size[0] * m.kernel_size[1]
            assert m.weight.abs().max() <= math.sqrt(6.0 / (fan_in + fan_out)) + 1e-7
    # three heads, 5x5 to one channel, on widths 64, 128, 256
    assert [(h.in_channels, h.out_channels, h.kernel_size) for h in D.heads] == [
        (64, 1, (5, 5)),
        (128, 1, (5, 5)),
        (256, 1, (5, 5)),
    ]


@given(
    b=batch_sizes,
    h=st.integers(1, 40),
    w=st.integers(1, 40),
    taps=st.sampled_from([(3,), (1, 2), (2, 4), (1, 3, 4)]),
)
def test_seed_multiscale_score_sizes_are_ceil_halvings(
    b: int, h: int, w: int, taps: tuple[int, ...]
) -> None:
    D = SeedMultiScaleDiscriminator(base_width=2, depth=max(taps), taps=taps)
    with torch.no_grad():
        scores, features = D.forward_features(torch.rand(b, 3, h, w))
    assert [tuple(s.shape) for s in scores] == [
        (b, 1, ceil_halvings(h, t), ceil_halvings(w, t)) for t in taps
    ]
    assert [tuple(f.shape) for f in features] == [
        (b, 2 * 2**i, ceil_halvings(h, i + 1), ceil_halvings(w, i + 1)) for i in range(max(taps))
    ]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"taps": (0, 5)}, r"taps must lie in 1\.\.depth"),
        ({"taps": (3, 6)}, r"taps must lie in 1\.\.depth"),
        ({"taps": (4, 3, 5)}, "strictly increasing"),
        ({"taps": (3, 3, 5)}, "strictly increasing"),
        ({"taps": ()}, "non-empty"),
        ({"taps": (2, 3)}, "set depth=3"),
        ({"head_kernel": 0}, "head_kernel must be an integer >= 1"),
        ({"depth": 0, "taps": (1,)}, "depth must be an integer >= 1"),
        ({"negative_slope": 1.5}, r"negative_slope must be in \[0, 1\)"),
    ],
)
def test_seed_multiscale_rejects_bad_arguments(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SeedMultiScaleDiscriminator(**kwargs)


@pytest.mark.parametrize("k", [4, 5])
def test_seed_multiscale_head_kernel_keeps_keras_same_size_and_padding(k: int) -> None:
    """4×4 heads (the PatchGAN's) keep the map size, padding like Keras' 'same' (extra at the end)."""
    D = SeedMultiScaleDiscriminator(base_width=2, head_kernel=k)
    scores = D(torch.rand(1, 3, 64, 48))
    assert [tuple(s.shape) for s in scores] == [(1, 1, 8, 6), (1, 1, 4, 3), (1, 1, 2, 2)]
    head = D.heads[0]
    x = torch.rand(1, head.in_channels, 8, 6)
    ref = torch.nn.functional.conv2d(
        torch.nn.functional.pad(x, ((k - 1) // 2, k // 2, (k - 1) // 2, k // 2)),
        head.weight,
        head.bias,
    )
    torch.testing.assert_close(head(x), ref)


# --------------------------------------------------------------------------- patchgan / pixel


def test_patchgan_70x70_parameter_count_and_receptive_field() -> None:
    D = cms.build("discriminator", "patchgan")
    assert n_params(D) == PATCHGAN_PARAMS == 2_764_737
    assert D.receptive_field == patchgan_receptive_field(3) == 70
    assert [patchgan_receptive_field(n) for n in (1, 2, 4)] == [16, 34, 142]


def test_patchgan_receptive_field_is_measured_70() -> None:
    # norm="none": instance norm would make every score depend on every pixel
    D = NLayerDiscriminator(ndf=4, norm="none")
    x = torch.rand(1, 3, 128, 128, requires_grad=True)
    D(x)[0][0, 0, 7, 7].backward()
    assert x.grad is not None
    touched = x.grad.abs().sum(dim=(0, 1)) > 0
    rows = touched.any(dim=1).nonzero().flatten()
    cols = touched.any(dim=0).nonzero().flatten()
    assert int(rows.max() - rows.min()) + 1 == 70
    assert int(cols.max() - cols.min()) + 1 == 70


def test_patchgan_bias_follows_the_norm_and_init_is_normal_002() -> None:
    inst = NLayerDiscriminator()
    batch = NLayerDiscriminator(norm="batch")
    convs_inst = [m for m in inst.modules() if isinstance(m, nn.Conv2d)]
    convs_batch = [m for m in batch.modules() if isinstance(m, nn.Conv2d)]
    assert all(c.bias is not None for c in convs_inst)
    # with batch norm only the first conv (no norm after it) and the head keep a bias
    assert [c.bias is not None for c in convs_batch] == [True, False, False, False, True]
    assert n_params(inst) - n_params(batch) == (128 + 256 + 512) - 2 * (128 + 256 + 512)
    big = convs_inst[3].weight  # 512 x 256 x 4 x 4 = 2M samples
    assert abs(big.std().item() - 0.02) < 0.0005
    assert abs(big.mean().item()) < 0.0005


@given(b=batch_sizes, n_layers=st.integers(1, 3), data=st.data())
def test_patchgan_score_size(b: int, n_layers: int, data: st.DataObject) -> None:
    lo = 3 * 2**n_layers
    h = data.draw(st.integers(lo, lo + 20), label="h")
    w = data.draw(st.integers(lo, lo + 20), label="w")
    D = NLayerDiscriminator(ndf=2, n_layers=n_layers)
    with torch.no_grad():
        scores, features = D.forward_features(torch.rand(b, 3, h, w))
    assert len(scores) == 1
    assert tuple(scores[0].shape) == (b, 1, h // 2**n_layers - 2, w // 2**n_layers - 2)
    assert len(features) == n_layers + 1
    assert D.min_input_size == lo


def test_patchgan_at_256_is_30x30_and_too_small_input_is_explained() -> None:
    D = NLayerDiscriminator(ndf=2)
    with torch.no_grad():
        assert tuple(D(torch.rand(1, 3, 256, 256))[0].shape) == (1, 1, 30, 30)
    with pytest.raises(ValueError, match=r"at least 24×24 .* got 23×40"):
        D(torch.rand(1, 3, 23, 40))


def test_patchgan_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="n_layers must be an integer >= 1"):
        NLayerDiscriminator(n_layers=0)
    with pytest.raises(ValueError, match="unknown norm 'instnce'"):
        NLayerDiscriminator(norm="instnce")
    with pytest.raises(ValueError, match="unknown init scheme"):
        PixelDiscriminator(init="gaussian")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"at least 2×2 \(instance norm .*got 1×1"):
        PixelDiscriminator(ndf=4)(torch.rand(1, 3, 1, 1))
    assert PixelDiscriminator(ndf=4, norm="none").min_input_size == 1


@given(b=batch_sizes, h=st.integers(1, 12), w=st.integers(1, 12))
def test_pixel_discriminator_scores_every_pixel_alone(b: int, h: int, w: int) -> None:
    D = PixelDiscriminator(ndf=4, norm="none")
    x = torch.rand(b, 3, h, w)
    with torch.no_grad():
        s = D(x)[0]
        assert tuple(s.shape) == (b, 1, h, w)
        # 1x1 convolutions only: a pixel's score depends on that pixel alone
        y = x.clone()
        y[:, :, 0, 0] += 1.0
        changed = (D(y)[0] != s).flatten(1).any(0).view(h, w)
    assert bool(changed[0, 0])
    assert int(changed.sum()) == 1


def test_pixel_discriminator_count_matches_reference() -> None:
    # 3*64+64 + 64*128+128 + 128+1
    assert n_params(cms.build("discriminator", "pixel")) == 8705


# --------------------------------------------------------------------------- pyramid


def test_downsample_half_matches_pix2pixhd_and_keeps_constants() -> None:
    x = torch.rand(2, 3, 9, 6)
    pool = nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)
    torch.testing.assert_close(downsample_half(x), pool(x))
    assert tuple(downsample_half(x).shape) == (2, 3, 5, 3)
    c = torch.full((1, 3, 7, 7), 0.25)
    torch.testing.assert_close(downsample_half(c), torch.full((1, 3, 4, 4), 0.25))


@given(
    b=batch_sizes,
    num_scales=st.integers(1, 3),
    inner=st.sampled_from([PIXEL, SMALL_SEED]),
    data=st.data(),
)
def test_pyramid_concatenates_scales_full_resolution_first(
    b: int, num_scales: int, inner: dict[str, Any], data: st.DataObject
) -> None:
    D = PyramidDiscriminator(discriminator=inner, num_scales=num_scales)
    h = data.draw(st.integers(D.min_input_size, 24), label="h")
    w = data.draw(st.integers(D.min_input_size, 24), label="w")
    ref = registry.from_config("discriminator", inner)
    x = torch.rand(b, 3, h, w)
    with torch.no_grad():
        scores, features = D.forward_features(x)
        per_scale = [ref.forward_features(x[:, :, :: 2**k, :: 2**k]) for k in range(num_scales)]
    expected = [tuple(s.shape) for sc, _ in per_scale for s in sc]
    assert [tuple(s.shape) for s in scores] == expected
    assert len(scores) == num_scales * len(per_scale[0][0])
    assert [tuple(f.shape) for f in features] == [tuple(f.shape) for _, fs in per_scale for f in fs]
    assert len(D.inners) == num_scales


def test_pyramid_share_weights_really_shares() -> None:
    shared = PyramidDiscriminator(discriminator=PIXEL, num_scales=3, share_weights=True)
    separate = PyramidDiscriminator(discriminator=PIXEL, num_scales=3)
    single = PixelDiscriminator(ndf=4)
    assert n_params(shared) == n_params(single)
    assert n_params(separate) == 3 * n_params(single)
    # separate copies are initialised independently
    w = [next(m.parameters()) for m in separate.inners]  # the first conv weight of each copy
    assert not torch.equal(w[0], w[1])
    x = torch.rand(2, 3, 12, 12)
    inner = shared.inners[0]
    with torch.no_grad():
        scores = shared(x)
        torch.testing.assert_close(scores[0], inner(x)[0])
        torch.testing.assert_close(scores[2], inner(downsample_half(downsample_half(x)))[0])
    # every scale's loss reaches the one set of weights
    shared.zero_grad()
    scores = shared(x)
    scores[2].sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in shared.parameters())


def test_pyramid_explains_a_too_small_input() -> None:
    D = PyramidDiscriminator(discriminator={"name": "patchgan", "ndf": 2}, num_scales=3)
    assert D.min_input_size == 93
    with pytest.raises(ValueError, match=r"num_scales=3 over 'patchgan'.*at least 93×93.*1/4 copy"):
        D(torch.rand(1, 3, 64, 64))
    with torch.no_grad():
        assert [s.shape[-1] for s in D(torch.rand(1, 3, 93, 93))] == [9, 3, 1]


class _NotADiscriminator(nn.Module):
    def __init__(self, *, in_channels: int = 3) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, 1, 1)


@pytest.mark.parametrize("wrapper", ["pyramid", "multiview"])
def test_wrappers_reject_bad_inner_specs(wrapper: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def make(inner: Any) -> Any:
        return cms.build("discriminator", wrapper, discriminator=inner)

    with pytest.raises(
        ValueError, match=r"unknown discriminator 'patchgn'; did you mean 'patchgan'"
    ):
        make("patchgn")
    with pytest.raises(ValueError, match=r"discriminator name .* or a table"):
        make({"ndf": 8})
    with pytest.raises(TypeError, match=r"argument 'discriminator' must be str or a table; got 3"):
        make(3)  # caught by the registry's type check before the wrapper runs
    with pytest.raises(TypeError, match=r"unexpected argument 'nfd' \(did you mean 'ndf'\?\)"):
        make({"name": "patchgan", "nfd": 8})
    with pytest.raises(ValueError, match="for kind 'generator'"):
        make({"name": "pixel", "kind": "generator"})
    # a registered part that is not a Discriminator (registered only for this test)
    monkeypatch.setitem(registry._REGISTRY["discriminator"], "_test_plain", _NotADiscriminator)
    with pytest.raises(ValueError, match="not a cyclegan_ms Discriminator"):
        make("_test_plain")


def test_pyramid_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="num_scales must be an integer >= 1"):
        PyramidDiscriminator(discriminator=PIXEL, num_scales=0)


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        (
            "pyramid",
            {"discriminator": {"name": "patchgan", "ndf": 2, "n_layers": 1}, "num_scales": 2},
        ),
        (
            "multiview",
            {"discriminator": "pixel", "views": ["gray", "image"], "share_weights": True},
        ),
        (
            "pyramid",
            {
                "discriminator": {"name": "multiview", "discriminator": PIXEL, "views": ["blur"]},
                "num_scales": 2,
            },
        ),
    ],
)
def test_wrapper_config_round_trip(name: str, kwargs: dict[str, Any]) -> None:
    D = cms.build("discriminator", name, **kwargs)
    config = cms.config_of(D)
    assert config == {"name": name, **kwargs}
    E = cms.from_config("discriminator", config)
    assert type(E) is type(D)
    assert cms.config_of(E) == config
    E.load_state_dict(D.state_dict())  # same architecture, key for key
    x = torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        for a, b in zip(D(x), E(x), strict=True):
            torch.testing.assert_close(a, b)


# --------------------------------------------------------------------------- multiview


def test_gray_view_of_a_gray_image_is_itself() -> None:
    g = torch.rand(2, 1, 9, 11).expand(2, 3, 9, 11)
    torch.testing.assert_close(make_view(g, "gray"), g)
    one = torch.rand(2, 1, 9, 11)
    torch.testing.assert_close(make_view(one, "gray"), one)


def test_gray_view_uses_bt601_weights() -> None:
    x = torch.zeros(1, 3, 2, 2)
    for c, weight in enumerate((0.299, 0.587, 0.114)):
        e = x.clone()
        e[:, c] = 1.0
        torch.testing.assert_close(luma(e), torch.full((1, 1, 2, 2), weight))


def test_gradient_view_is_zero_on_constants_and_the_slope_on_ramps() -> None:
    c = torch.full((2, 3, 8, 8), 0.7, requires_grad=True)
    g = make_view(c, "gradient")
    assert tuple(g.shape) == (2, 3, 8, 8)
    assert torch.count_nonzero(g) == 0
    g.sum().backward()  # flat regions must not produce NaN gradients
    assert c.grad is not None and torch.isfinite(c.grad).all()
    ramp = (0.05 * torch.arange(10.0)).view(1, 1, 1, 10).expand(1, 1, 6, 10)
    mag = sobel_magnitude(ramp)
    torch.testing.assert_close(mag[..., 1:-1], torch.full((1, 1, 6, 8), 0.05), atol=1e-4, rtol=0)
    vertical = ramp.transpose(-1, -2)
    torch.testing.assert_close(sobel_magnitude(vertical), mag.transpose(-1, -2))


def test_blur_view_keeps_constants_and_smooths_an_impulse() -> None:
    c = torch.full((1, 3, 13, 13), -0.4)
    torch.testing.assert_close(make_view(c, "blur"), c)
    impulse = torch.zeros(1, 1, 21, 21)
    impulse[..., 10, 10] = 1.0
    b = make_view(impulse, "blur")
    assert torch.equal(b, gaussian_blur(impulse, 1.5, padding="reflect"))
    torch.testing.assert_close(b.sum(), torch.tensor(1.0))
    assert b[..., 10, 10] < 0.2
    torch.testing.assert_close(b, b.flip(-1))
    torch.testing.assert_close(b, b.transpose(-1, -2))
    with pytest.raises(ValueError, match="sigma must be > 0"):
        make_view(c, "blur", blur_sigma=0.0)
    with pytest.raises(ValueError, match="reflect-pads by 5"):
        make_view(torch.rand(1, 3, 5, 40), "blur")
    with pytest.raises(ValueError, match="reflect-pads by 5"):
        gaussian_blur(torch.rand(1, 3, 5, 40), 1.5, padding="reflect")
    assert gaussian_blur(torch.rand(1, 3, 5, 40), 1.5).shape == (1, 3, 5, 40)  # replicate


@given(
    b=batch_sizes,
    views=st.lists(
        st.sampled_from(["image", "blur", "gray", "gradient"]), min_size=1, max_size=4, unique=True
    ),
    channels=st.sampled_from([1, 3]),
)
def test_multiview_scores_follow_view_order(b: int, views: list[str], channels: int) -> None:
    D = MultiViewDiscriminator(
        discriminator={"name": "seed_multiscale", "base_width": 2, "in_channels": channels},
        views=views,
        share_weights=True,
    )
    x = torch.rand(b, channels, 12, 10)
    inner = D.inners[0]
    with torch.no_grad():
        scores, features = D.forward_features(x)
        expected = [inner.forward_features(make_view(x, v)) for v in views]
    assert len(scores) == 3 * len(views)
    for got, want in zip(scores, [s for sc, _ in expected for s in sc], strict=True):
        torch.testing.assert_close(got, want)
    assert [f.shape for f in features] == [f.shape for _, fs in expected for f in fs]
    assert all(tuple(v.shape) == (b, channels, 12, 10) for v in D.make_views(x))


def test_multiview_defaults_and_independent_copies() -> None:
    D = MultiViewDiscriminator(discriminator=PIXEL)
    assert D.views == ("image", "blur", "gray", "gradient")
    assert len(D.inners) == 4
    assert n_params(D) == 4 * n_params(PixelDiscriminator(ndf=4))
    shared = MultiViewDiscriminator(discriminator=PIXEL, share_weights=True)
    assert len(shared.inners) == 1
    assert n_params(shared) == n_params(PixelDiscriminator(ndf=4))


def test_multiview_rejects_bad_views_and_channels() -> None:
    with pytest.raises(ValueError, match=r"unknown view\(s\) \['edges'\]"):
        MultiViewDiscriminator(discriminator=PIXEL, views=("image", "edges"))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="views must be distinct"):
        MultiViewDiscriminator(discriminator=PIXEL, views=("gray", "image", "gray"))
    with pytest.raises(ValueError, match="non-empty sequence"):
        MultiViewDiscriminator(discriminator=PIXEL, views="image")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="non-empty sequence"):
        MultiViewDiscriminator(discriminator=PIXEL, views=())
    with pytest.raises(ValueError, match="blur_sigma must be a number > 0"):
        MultiViewDiscriminator(discriminator=PIXEL, blur_sigma=-1.0)
    D = MultiViewDiscriminator(discriminator={"name": "pixel", "ndf": 4, "in_channels": 4})
    with pytest.raises(ValueError, match=r"need RGB .* got 4 channels"):
        D(torch.rand(1, 4, 8, 8))
    assert (
        len(
            MultiViewDiscriminator(
                discriminator={"name": "pixel", "in_channels": 4}, views=("image", "blur")
            )(torch.rand(1, 4, 8, 8))
        )
        == 2
    )
    with pytest.raises(ValueError, match=r"at least 6×6; got 5×8"):
        MultiViewDiscriminator(discriminator=PIXEL)(torch.rand(1, 3, 5, 8))


def test_pyramid_of_multiview() -> None:
    D = cms.build(
        "discriminator",
        "pyramid",
        discriminator={
            "name": "multiview",
            "discriminator": SMALL_SEED,
            "views": ["image", "gradient"],
        },
        num_scales=2,
    )
    with torch.no_grad():
        scores = D(torch.rand(2, 3, 32, 32))
    # 2 scales x 2 views x 3 heads
    sides = [s.shape[-1] for s in scores]
    assert sides == [4, 2, 1, 4, 2, 1, 2, 1, 1, 2, 1, 1]
    assert all(s.shape[:2] == (2, 1) for s in scores)


# --------------------------------------------------------------------------- common facts


SMALL: list[tuple[str, dict[str, Any]]] = [
    ("seed_multiscale", {"base_width": 2}),
    ("patchgan", {"ndf": 2, "n_layers": 2}),
    ("pixel", {"ndf": 4}),
    ("pyramid", {"discriminator": SMALL_SEED, "num_scales": 2}),
    ("multiview", {"discriminator": PIXEL}),
]


@pytest.mark.parametrize(("name", "kwargs"), SMALL, ids=[n for n, _ in SMALL])
def test_features_are_consistent_between_calls(name: str, kwargs: dict[str, Any]) -> None:
    D = cms.build("discriminator", name, **kwargs).eval()
    assert isinstance(D, Discriminator)
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        s1, f1 = D.forward_features(x)
        s2, f2 = D.forward_features(x)
        s3 = D(x)
    assert len(f1) == len(f2) > 0
    for a, b in zip(f1, f2, strict=True):
        assert a.shape == b.shape
        torch.testing.assert_close(a, b)
    for a, b, c in zip(s1, s2, s3, strict=True):
        assert a.dim() == 4 and a.shape[:2] == (2, 1)
        torch.testing.assert_close(a, b)
        torch.testing.assert_close(a, c)
    # features are activations of this input, not stale buffers: they change with it
    with torch.no_grad():
        _, f4 = D.forward_features(x.flip(-1) * 0.5)
    assert any(not torch.equal(a, b) for a, b in zip(f1, f4, strict=True))


def test_wrappers_check_share_weights_and_input_rank() -> None:
    with pytest.raises(ValueError, match=r"^pyramid: share_weights must be True or False; got 1$"):
        PyramidDiscriminator(discriminator=PIXEL, share_weights=1)  # type: ignore[arg-type]
    with pytest.raises(
        ValueError, match=r"^multiview: share_weights must be True or False; got 'y'$"
    ):
        MultiViewDiscriminator(discriminator=PIXEL, share_weights="y")  # type: ignore[arg-type]
    x = torch.rand(3, 16, 16)
    for D, name in (
        (PyramidDiscriminator(discriminator=PIXEL, num_scales=2), "pyramid"),
        (MultiViewDiscriminator(discriminator=PIXEL, views=("image",)), "multiview"),
        (NLayerDiscriminator(ndf=4, n_layers=1), "patchgan"),
        (PixelDiscriminator(ndf=4), "pixel"),
    ):
        with pytest.raises(
            ValueError, match=rf"^{name} expects a \(B, C, H, W\) batch; got shape \(3, 16, 16\)$"
        ):
            D(x)


def test_wrapper_copies_and_order() -> None:
    torch.manual_seed(0)
    pyramid = PyramidDiscriminator(discriminator=PIXEL, num_scales=3)
    assert len(pyramid.inners) == 3 and pyramid.share_weights is False
    x = torch.rand(2, 3, 8, 8)
    scores, features = pyramid.forward_features(x)
    expected = [pyramid.inners[0](x)[0], pyramid.inners[1](downsample_half(x))[0]]
    expected.append(pyramid.inners[2](downsample_half(downsample_half(x)))[0])
    assert [s.shape[-1] for s in scores] == [8, 4, 2] and len(features) == 6
    assert all(torch.equal(s, e) for s, e in zip(scores, expected, strict=True))
    shared = MultiViewDiscriminator(
        discriminator=PIXEL, views=("gray", "image"), share_weights=True
    )
    assert len(shared.inners) == 1
    scores = shared(x)
    views = shared.make_views(x)
    assert torch.equal(scores[0], shared.inners[0](views[0])[0])
    assert torch.equal(scores[1], shared.inners[0](x)[0])
