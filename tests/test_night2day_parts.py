"""The night2day recipe's parts: resize upsampling, residual output, baselines, low-light model."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn as nn

import cyclegan_ms as cms
from cyclegan_ms.data.lowlight import linear_to_srgb, simulate_night, srgb_to_linear
from cyclegan_ms.generators import SeedUNet
from cyclegan_ms.layers import ExposureNorm, ResidualOutput, ResizeConv2d, make_upsample
from cyclegan_ms.metrics import psnr, ssim, structure_ssim
from cyclegan_ms.metrics.baselines import auto_gamma, histogram_equalize, oracle_curve
from cyclegan_ms.training import load_preset


def _grid_energy(y: torch.Tensor, period: int) -> float:
    """Share of the image's variance that is periodic with ``period`` along both axes."""
    y = y - y.mean(dim=(-2, -1), keepdim=True)
    h, w = y.shape[-2:]
    tiles = y.reshape(*y.shape[:-2], h // period, period, w // period, period)
    periodic = tiles.mean(dim=(-4, -2))  # the average tile
    return float(periodic.pow(2).mean() / y.pow(2).mean().clamp_min(1e-12))


@pytest.mark.parametrize("conv_first", [False, True])
def test_resize_conv_upsamples_and_is_smooth(conv_first: bool) -> None:
    torch.manual_seed(0)
    up = ResizeConv2d(4, 3, 5, 4, conv_first=conv_first)
    y = up(torch.rand(2, 4, 6, 5))
    assert y.shape == (2, 3, 24, 20)
    with torch.no_grad():
        const = up(torch.ones(1, 4, 8, 8))  # a constant input: constant per channel inside
    inner = const[..., 12:20, 12:20]
    assert float((inner - inner.mean(dim=(-2, -1), keepdim=True)).abs().max()) < 1e-5
    with pytest.raises(ValueError, match="odd"):
        ResizeConv2d(4, 3, 4, 2)
    with pytest.raises(ValueError, match="upsample"):
        make_upsample("pixelshuffle", 4, 3, 5, 2)  # type: ignore[arg-type]


def test_seed_fusion_draws_a_grid_and_resize_does_not() -> None:
    """The seed's 5×5 stride-16 transposed fusion paints a 16-px grid on a constant input."""
    torch.manual_seed(0)
    x = torch.ones(1, 32, 12, 12)
    seed = make_upsample("transposed", 32, 8, 5, 16)
    resize = make_upsample("resize", 32, 8, 5, 16)
    with torch.no_grad():
        seen, smooth = seed(x)[..., 48:144, 48:144], resize(x)[..., 48:144, 48:144]
    assert float(seen.std()) > 0.01 and _grid_energy(seen, 16) > 0.99  # all of it is the grid
    assert float((smooth - smooth.mean(dim=(-2, -1), keepdim=True)).abs().max()) < 1e-5


@pytest.mark.parametrize("mode", ["add", "logit"])
def test_residual_output_starts_as_identity_and_stays_in_range(mode: str) -> None:
    x = torch.rand(2, 3, 8, 8)
    for kind, lo, hi in (("sigmoid", 0.0, 1.0), ("tanh", -1.0, 1.0), ("none", -math.inf, math.inf)):
        out = ResidualOutput(kind, mode)  # type: ignore[arg-type]
        xi = x if kind == "sigmoid" else x * 2 - 1
        expected = xi
        if mode == "logit" and kind == "sigmoid":
            expected = xi.clamp(1e-3, 1 - 1e-3)
        elif mode == "logit" and kind == "tanh":
            expected = xi.clamp(-1 + 2e-3, 1 - 2e-3)
        torch.testing.assert_close(out(xi, torch.zeros_like(xi)), expected)
        y = out(xi, torch.full_like(xi, 50.0))
        assert bool(((y >= lo) & (y <= hi)).all())
    y = ResidualOutput("sigmoid", mode)(
        torch.rand(1, 3, 4, 4), torch.zeros(1, 3, 4, 4, dtype=torch.bfloat16)
    )  # type: ignore[arg-type]
    assert y.dtype == torch.float32
    with pytest.raises(ValueError, match="residual mode"):
        ResidualOutput("sigmoid", "mul")  # type: ignore[arg-type]


def test_logit_residual_amplifies_dark_noise_and_add_does_not() -> None:
    """A brightening correction in the logit multiplies a dark pixel's noise; in pixel space it does not."""
    torch.manual_seed(0)
    dark = (0.03 + 0.01 * torch.randn(1, 3, 32, 32)).clamp(0, 1)
    lift = torch.full_like(dark, 3.0)  # logit lift from about 0.03 to about 0.4
    logit = ResidualOutput("sigmoid", "logit")(dark, lift)
    add = ResidualOutput("sigmoid", "add")(
        dark, torch.full_like(dark, float(logit.mean() - dark.mean()))
    )
    assert float(logit.std()) > 5 * float(dark.std())
    torch.testing.assert_close(add.std(), dark.std(), atol=1e-3, rtol=0)


def test_residual_smooth_removes_pixel_noise_but_keeps_shapes() -> None:
    torch.manual_seed(0)
    shape = torch.zeros(1, 3, 32, 32)
    shape[..., 8:24, 8:24] = 0.5
    noisy = shape + 0.05 * torch.randn_like(shape)
    out = ResidualOutput("none", "add", smooth=1.0)
    base = out(noisy, torch.zeros_like(noisy))
    assert float((base - shape)[..., 2:6, 2:6].std()) < 0.4 * float(
        (noisy - shape)[..., 2:6, 2:6].std()
    )
    assert (
        float(base[..., 16, 16].mean()) > 0.45 and float(base[..., 2, 2].mean()) < 0.05
    )  # the square stays
    with pytest.raises(ValueError, match="smooth"):
        ResidualOutput("sigmoid", smooth=-1.0)
    with pytest.raises(ValueError, match="residual_smooth needs a residual"):
        SeedUNet(residual_smooth=1.0)


def test_seed_unet_residual_is_identity_at_init_and_learns() -> None:
    torch.manual_seed(0)
    G = cms.build(
        "generator", "seed_unet", base_width=4, bottleneck="conv", upsample="resize", residual="add"
    )
    x = torch.rand(2, 3, 64, 64) * 0.9 + 0.05
    torch.testing.assert_close(G(x), x, atol=1e-6, rtol=0)
    loss = (G(x) - 0.8).abs().mean()
    loss.backward()
    assert G.head.weight.grad is not None and float(G.head.weight.grad.abs().sum()) > 0
    with pytest.raises(ValueError, match="in_channels == out_channels"):
        cms.build("generator", "seed_unet", out_channels=1, residual="add")
    with pytest.raises(TypeError, match="upsample"):  # the registry checks the Literal
        cms.build("generator", "seed_unet", upsample="deconv")
    with pytest.raises(ValueError, match="upsample"):
        SeedUNet(upsample="deconv")  # type: ignore[arg-type]


def test_seed_unet_defaults_stay_the_exact_seed() -> None:
    G = cms.build("generator", "seed_unet")
    assert sum(p.numel() for p in G.parameters()) == 19_274_323
    assert G.residual == "none" and isinstance(G.fusion[0], nn.ConvTranspose2d)


def test_night2day_preset_builds_the_documented_deviations() -> None:
    cfg = load_preset("night2day")
    g = cfg["model"]["generator"]
    assert g["name"] == "seed_unet" and g["residual"] == "add" and g["residual_smooth"] == 1.0
    assert g["upsample"] == "resize" and g["bottleneck"] == "conv" and g["exposure_norm"] == 0.15
    assert cfg["model"]["discriminator"] == {"name": "patchgan", "n_layers": 3}
    assert cfg["train"]["pool_size"] == 0 and cfg["train"]["batch_size"] == 4
    model = cms.CycleGAN.from_config(cfg["model"])
    x = torch.rand(1, 3, 64, 96)
    # before training the generator returns its base: the input at a mean brightness of 0.15,
    # blurred by residual_smooth
    assert model.G_ab.exposure is not None
    base = model.G_ab.output.base(model.G_ab.exposure(x)).clamp(0, 1)
    torch.testing.assert_close(model.translate(x), base, atol=1e-6, rtol=0)
    torch.testing.assert_close(model.translate(0.5 * x), base, atol=1e-5, rtol=0)


# ------------------------------------------------------------------------------ baselines
def test_oracle_curve_beats_every_global_curve() -> None:
    torch.manual_seed(0)
    night = torch.rand(3, 3, 16, 16) * 0.3
    day = (night * 2.5).clamp(0, 1) + 0.05 * torch.randn_like(night)
    day = day.clamp(0, 1)
    best = oracle_curve(night, day)
    for other in (night, auto_gamma(night), histogram_equalize(night), (night * 2.5).clamp(0, 1)):
        assert (best - day).pow(2).mean() <= (other - day).pow(2).mean() + 1e-7
    # a truth that is a LUT of the input is recovered exactly
    lut_day = oracle_curve(night, night.sqrt())
    torch.testing.assert_close(lut_day, (night * 255).round().div(255).sqrt(), atol=0.05, rtol=0)


def test_auto_gamma_hits_target_and_equalize_spreads() -> None:
    x = torch.rand(2, 3, 16, 16) * 0.2
    y = auto_gamma(x, target_mean=0.45)
    assert y.shape == x.shape and abs(float(y[0].mean()) - 0.45) < 0.08
    h = histogram_equalize(x)
    assert float(h.max()) > 0.95 and float(h.min()) < 0.05
    sym = histogram_equalize(x * 2 - 1, (-1.0, 1.0))
    assert float(sym.min()) < -0.9
    with pytest.raises(ValueError, match="target_mean"):
        auto_gamma(x, target_mean=1.5)


def test_structure_ssim_ignores_global_tone_but_not_structure() -> None:
    torch.manual_seed(0)
    day = torch.rand(2, 3, 32, 32)
    dark = day * 0.2 + 0.05  # same structure, other brightness and contrast
    assert float(structure_ssim(dark, day).min()) > 0.99
    assert float(ssim(dark, day).max()) < 0.9
    other = torch.rand(2, 3, 32, 32)
    assert float(structure_ssim(other, day).max()) < 0.2


def test_simulate_night_is_dark_noisy_deterministic_and_in_range() -> None:
    torch.manual_seed(0)
    day = torch.rand(3, 32, 32) * 0.8 + 0.1
    night = simulate_night(day, seed=3)
    assert night.shape == day.shape and float(night.min()) >= 0 and float(night.max()) <= 1
    assert float(night.mean()) < 0.5 * float(day.mean())
    torch.testing.assert_close(night, simulate_night(day, seed=3))
    assert not torch.equal(night, simulate_night(day, seed=4))
    quiet = simulate_night(
        day, lamps=0, full_well=1e9, read_noise=0.0, exposure=1.0, ambient_tint=(1.0, 1.0, 1.0)
    )
    torch.testing.assert_close(quiet, day, atol=2e-3, rtol=0)  # no light lost, no noise: the day
    u = torch.linspace(0, 1, 101)
    torch.testing.assert_close(linear_to_srgb(srgb_to_linear(u)), u, atol=1e-5, rtol=0)
    assert float(psnr(simulate_night(day.unsqueeze(0), seed=0), day.unsqueeze(0))) < 15
    with pytest.raises(ValueError, match="RGB"):
        simulate_night(torch.rand(1, 8, 8))
    with pytest.raises(ValueError, match="exposure"):
        simulate_night(day, exposure=0.0)


def test_global_affine_starts_as_identity_and_reaches_its_weights() -> None:
    torch.manual_seed(0)
    G = SeedUNet(
        base_width=4, bottleneck="conv", upsample="resize", residual="add", global_affine=True
    )
    x = torch.rand(2, 3, 32, 64)
    torch.testing.assert_close(G(x), x, atol=1e-6, rtol=0)
    G(x).mean().backward()
    assert G.global_affine is not None and float(G.global_affine.weight.grad.abs().sum()) > 0
    with torch.no_grad():  # a gain of e on every channel, no offset: a global exposure change
        G.global_affine.bias.copy_(torch.tensor([1.0, 1.0, 1.0, 0.0, 0.0, 0.0]))
        torch.testing.assert_close(G(x * 0.1), (x * 0.1 * math.e).clamp(0, 1), atol=1e-6, rtol=0)
    with pytest.raises(ValueError, match="needs a residual output"):
        SeedUNet(global_affine=True)


@pytest.mark.parametrize(
    ("preset", "discriminator"),
    [
        ("seed", None),
        ("night2day", None),
        ("cyclegan_paper", None),
        (
            "seed",
            '{name = "pyramid", discriminator = {name = "seed_multiscale", base_width = 4}, num_scales = 2}',
        ),
        (
            "seed",
            '{name = "multiview", discriminator = {name = "seed_multiscale", base_width = 4}}',
        ),
    ],
)
def test_every_preset_and_wrapper_trains_finite_in_bf16(
    preset: str, discriminator: str | None, tmp_path: object
) -> None:
    from cyclegan_ms.training.config import load_config
    from cyclegan_ms.training.experiment import build_trainer

    small = {
        "seed": [
            "model.generator.base_width=4",
            "model.discriminator.base_width=4",
            "model.generator.image_size=32",
        ],
        "night2day": ["model.generator.base_width=4", "model.discriminator.ndf=4"],
        "cyclegan_paper": [
            "model.generator.ngf=4",
            "model.discriminator.ndf=4",
            "data.load_size=36",
        ],
    }[preset]
    overrides = [
        "data.image_size=32",
        "data.num_scenes=8",
        "train.batch_size=2",
        'train.precision="bf16"',
        "train.steps=3",
        "train.log_every=1",
        "train.progress=false",
        "train.checkpoint_every=0",
        *small,
    ]
    if discriminator is not None:
        overrides = [o for o in overrides if not o.startswith("model.discriminator")]
        overrides.append(f"model.discriminator={discriminator}")
    trainer = build_trainer(load_config(preset, overrides), str(tmp_path))
    result = trainer.fit()
    assert result.step == 3 and result.skipped_steps == 0 and not result.stopped_on_nan
    assert all(math.isfinite(v) for v in result.last_losses.values())
    assert all(bool(torch.isfinite(p).all()) for p in trainer.model.parameters())


# ------------------------------------------------------------------------------ exposure
@pytest.mark.parametrize("value_range", [(0.0, 1.0), (-1.0, 1.0)])
def test_exposure_norm_sets_the_mean_and_forgets_the_gain(value_range: tuple[float, float]) -> None:
    torch.manual_seed(0)
    lo, hi = value_range
    norm = ExposureNorm(0.2, value_range)
    u = torch.rand(3, 3, 16, 16) * 0.3  # dark images in [0, 1]
    to_range = lambda t: t * (hi - lo) + lo  # noqa: E731
    y = norm(to_range(u))
    unit = (y - lo) / (hi - lo)
    torch.testing.assert_close(unit.mean(dim=(1, 2, 3)), torch.full((3,), 0.2), atol=1e-6, rtol=0)
    # a brighter exposure of the same images gives the same result
    torch.testing.assert_close(norm(to_range(u * 2.7)), y, atol=1e-5, rtol=0)
    # and a different scene does not
    assert float((norm(to_range(u.flip(-1) ** 2)) - y).abs().max()) > 0.05


def test_exposure_norm_rejects_bad_arguments() -> None:
    for bad in (0.0, 1.0, -0.1, True, "0.2"):
        with pytest.raises(ValueError, match=r"exposure target must be a number in \(0, 1\)"):
            ExposureNorm(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="value_range"):
        ExposureNorm(0.2, (0.0, 255.0))
    with pytest.raises(ValueError, match="exposure_norm must be 0"):
        SeedUNet(exposure_norm=1.5)


def test_seed_unet_exposure_norm_makes_the_output_blind_to_exposure() -> None:
    torch.manual_seed(0)
    kw = dict(base_width=4, bottleneck="conv", upsample="resize", residual="add")
    G = SeedUNet(**kw, residual_smooth=1.0, exposure_norm=0.15).eval()
    plain = SeedUNet(**kw, residual_smooth=1.0).eval()
    plain.load_state_dict(G.state_dict())
    with torch.no_grad():  # a head that is no longer zero: the network itself is in the path
        for net in (G, plain):
            torch.manual_seed(1)
            net.head.weight.normal_(0, 0.01)
    x = torch.rand(2, 3, 64, 64) * 0.25
    with torch.no_grad():
        out, brighter = G(x), G(1.6 * x)
        torch.testing.assert_close(brighter, out, atol=1e-5, rtol=0)
        # without the option, the same weights carry the exposure into the output
        assert float((plain(1.6 * x) - plain(x)).abs().mean()) > 0.03
        # at init (zero head) the output is the exposure-normalised, blurred input
        G0 = SeedUNet(**kw, exposure_norm=0.15)
        assert float(G0(x).mean(dim=(1, 2, 3)).sub(0.15).abs().max()) < 1e-3
    assert G.exposure is not None and plain.exposure is None
