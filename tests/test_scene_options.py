"""Render options of the built-in scenes: each moves the render the intended way, defaults don't.

Every option is checked against the plain renderer or against the same options without it, on
a few scenes at 64 x 64: white balance and daylight shift the channel means, lamps change the
night only, glare adds smooth light, the sensor noise has the variance of its model (and its
correlations), texture raises the day's local variance on surfaces and leaves the sky alone,
saturation and tone move colourfulness and contrast, JPEG matches a real codec. Then the
config: a round trip through ``data.scene_options`` and clear errors for bad values.
"""

from __future__ import annotations

import dataclasses
import io
import math

import numpy as np
import pytest
from PIL import Image

from cyclegan_ms.data import NightDayScenes, SampleKey
from cyclegan_ms.data.scenes import drive_specs, render_depth, render_scene, sample_scene
from cyclegan_ms.data.scenes.options import (
    SCENE_OPTION_BUNDLES,
    SceneOptions,
    draw_look,
    kelvin_tint,
    scene_options,
)
from cyclegan_ms.data.scenes.photo import (
    add_sensor_noise,
    fractal_noise,
    glare,
    jpeg_quantise,
    saturate,
    surface_texture,
    tone_curve,
)
from cyclegan_ms.training import ConfigError, ExperimentConfig, load_config
from cyclegan_ms.training.experiment import build_dataset

SCENES = (0, 3, 5, 8)
SIZE = 64


def _pair(index: int, options: object = None, darkness: float = 0.4) -> tuple[np.ndarray, ...]:
    night, day = render_scene(index, height=SIZE, darkness=darkness, options=options)  # type: ignore[arg-type]
    return night.astype(np.float64), day.astype(np.float64)


def _log_rb(img: np.ndarray, mask: np.ndarray | None = None) -> float:
    px = img.reshape(-1, 3) if mask is None else img[mask]
    r, _, b = px.mean(0)
    return math.log(r / b)


def _local_var(img: np.ndarray) -> np.ndarray:
    """Per-pixel variance of the luma over 3 x 3 neighbourhoods, ``(H - 2, W - 2)``."""
    y = img.mean(-1)
    win = np.lib.stride_tricks.sliding_window_view(y, (3, 3))
    return win.var(axis=(-1, -2))


# -- defaults -------------------------------------------------------------------------------------
@pytest.mark.parametrize("options", [None, "default", {}, SceneOptions(), {"bundle": "default"}])
def test_default_options_render_the_plain_scenes(options: object) -> None:
    from cyclegan_ms.data.scenes import render_day, render_night

    for index in (0, 2):
        night, day = render_scene(index, height=SIZE, options=options)  # type: ignore[arg-type]
        assert (night == render_night(index, height=SIZE)).all()
        assert (day == render_day(index, height=SIZE)).all()


def test_every_option_is_off_by_default_and_the_photo_bundle_turns_them_on() -> None:
    default = SceneOptions()
    assert default.is_default and SCENE_OPTION_BUNDLES["default"] == default
    photo = SCENE_OPTION_BUNDLES["photo"]
    for f in dataclasses.fields(SceneOptions):  # every option of the bundle differs from off
        assert getattr(photo, f.name) != getattr(default, f.name), f.name
    night, day = _pair(3, "photo")
    n0, d0 = _pair(3)
    assert (night != n0).any() and (day != d0).any()


def test_dataset_with_options_is_deterministic_and_default_is_unchanged() -> None:
    key = SampleKey(1, 2, 99)
    plain, default = (
        NightDayScenes(num_scenes=4, size=32),
        NightDayScenes(num_scenes=4, size=32, options="default"),
    )
    a, b = plain[key], default[key]
    assert (a["A"] == b["A"]).all() and (a["B"] == b["B"]).all()
    photo = NightDayScenes(num_scenes=4, size=32, options="photo")
    p1, p2 = photo[key], photo[key]
    assert (p1["A"] == p2["A"]).all() and (p1["B"] == p2["B"]).all()
    assert not (p1["A"] == a["A"]).all() and not (p1["B"] == a["B"]).all()
    assert "options=SceneOptions(" in repr(photo) and "options" not in repr(plain)


# -- per-scene draws ------------------------------------------------------------------------------
def test_looks_are_per_scene_shared_by_drive_frames_and_independent_across_options() -> None:
    photo = scene_options("photo")
    looks = [draw_look(photo, sample_scene(i)) for i in range(6)]
    assert len({lk.wb for lk in looks}) == 6  # every scene its own camera
    assert draw_look(photo, sample_scene(2)) == looks[2]  # a pure function of the scene
    frames = drive_specs(4, frames=3)
    assert len({f.noise_seed for f in frames}) == 3  # fresh sensor noise per frame ...
    assert len({draw_look(photo, f).wb for f in frames}) == 1  # ... one camera for the drive
    wb_only = SceneOptions(white_balance=0.3)
    with_more = dataclasses.replace(wb_only, texture=0.2, lamp_mix=1.0, glare=0.5)
    spec = sample_scene(5)
    assert draw_look(wb_only, spec).wb == draw_look(with_more, spec).wb


# -- light ----------------------------------------------------------------------------------------
def test_white_balance_shifts_the_channel_means_by_its_gains() -> None:
    opts = SceneOptions(white_balance=0.25)
    for index in SCENES:
        look = draw_look(opts, sample_scene(index))
        expected = 0.5 * math.log(look.wb[0] / look.wb[2])  # display ~ sqrt(linear)
        night, day = _pair(index, opts)
        n0, d0 = _pair(index)
        lit = (d0 < 230).all(-1)  # away from clipping
        assert _log_rb(day, lit) - _log_rb(d0, lit) == pytest.approx(expected, abs=0.03)
        shift = _log_rb(night) - _log_rb(n0)
        assert shift * expected > 0 and abs(shift - expected) < 0.5 * abs(expected) + 0.03


def test_daylight_temperature_warms_and_cools_the_day_only() -> None:
    r, g, b = kelvin_tint(3000.0)
    assert r > g == 1.0 > b and kelvin_tint(6000.0) == (1.0, 1.0, 1.0)
    for index in SCENES:
        _, d0 = _pair(index)
        n_warm, warm = _pair(index, {"daylight_kelvin": (3500, 3500)})
        _, cool = _pair(index, {"daylight_kelvin": (12000, 12000)})
        ground = np.isfinite(render_depth(index, height=SIZE))
        assert _log_rb(warm, ground) > _log_rb(d0, ground) + 0.1
        assert _log_rb(cool, ground) < _log_rb(d0, ground) - 0.05
        n_neutral, _ = _pair(index, {"daylight_kelvin": (6000, 6000)})
        assert (n_warm == n_neutral).all()  # daylight does not reach the night


def test_lamp_mix_and_gain_change_the_lamps_at_night_only() -> None:
    spec = sample_scene(3)
    assert spec.lamps
    look = draw_look(SceneOptions(lamp_mix=1.0), spec)
    assert look.lamp_colors is not None and len(look.lamp_colors) == len(spec.lamps)
    assert len(set(look.lamp_colors)) > 1  # a mixed street
    night, _ = _pair(3, {"lamp_mix": 1.0}, darkness=0.3)
    n0, _ = _pair(3, darkness=0.3)
    assert (night != n0).any()
    _, d_mixed = _pair(3, {"lamp_mix": 1.0, "daylight_kelvin": (6000, 6000)})
    _, d_neutral = _pair(3, {"daylight_kelvin": (6000, 6000)})
    assert (d_mixed == d_neutral).all()  # lamps are dark by day
    bright, _ = _pair(3, {"lamp_gain": (2.0, 2.0)}, darkness=0.3)
    dim, _ = _pair(3, {"lamp_gain": (0.5, 0.5)}, darkness=0.3)
    assert bright.mean() > dim.mean() + 1


def test_glare_adds_smooth_light_and_keeps_the_energy() -> None:
    light = np.zeros((3, 64, 64), np.float32)
    light[:, 20, 30] = 100.0
    out = glare(light)
    assert out.shape == light.shape
    assert out.sum() == pytest.approx(light.sum(), rel=1e-3)
    assert out.max() < 1 and (out[:, 20, 40] > 0.1).all()  # spread wide
    base = {"daylight_kelvin": (6000, 6000)}  # the options' path with nothing on at night
    for index in SCENES:
        n0, _ = _pair(index, base, darkness=0.3)
        n1, _ = _pair(index, {**base, "glare": 1.0}, darkness=0.3)
        diff = n1 - n0
        assert diff.min() >= 0 and diff.mean() > 0.5
        assert np.abs(np.diff(diff, axis=1)).mean() < 0.5 * diff.mean()  # smooth


# -- sensor ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("demosaic", [False, True])
def test_sensor_noise_variance_follows_the_poisson_gaussian_model(demosaic: bool) -> None:
    shot, read, gains = 0.002, 0.002, (2.0, 1.0, 1.5)
    g = np.asarray(gains)
    for level in (0.05, 0.2, 0.8):  # bright enough that clipping at 0 does not bias the variance
        lin = np.full((3, 128, 128), level, np.float32)
        add_sensor_noise(
            lin, np.random.default_rng(1), shot=shot, read=read, gains=gains, demosaic=demosaic
        )
        var = lin.reshape(3, -1).var(1)
        expected = g * shot * level + (g * read) ** 2
        np.testing.assert_allclose(var, expected, rtol=0.08)


def test_demosaic_correlates_neighbours_and_channels() -> None:
    def noise(demosaic: bool) -> np.ndarray:
        lin = np.full((3, 128, 128), 0.1, np.float32)
        add_sensor_noise(lin, np.random.default_rng(2), shot=0.01, read=0.0, demosaic=demosaic)
        return lin - 0.1

    def corr(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])

    plain, mosaic = noise(False), noise(True)
    assert abs(corr(plain[1, :, :-1], plain[1, :, 1:])) < 0.05
    assert corr(mosaic[1, :, :-1], mosaic[1, :, 1:]) == pytest.approx(0.5, abs=0.06)
    assert abs(corr(plain[0], plain[2])) < 0.05
    assert corr(mosaic[0], mosaic[2]) == pytest.approx(0.5, abs=0.06)


def test_chroma_noise_adds_low_frequency_colour() -> None:
    def blotches(chroma: float) -> float:
        lin = np.full((3, 128, 128), 0.1, np.float32)
        add_sensor_noise(lin, np.random.default_rng(3), shot=0.01, read=0.0, chroma=chroma)
        diff = lin[0] - lin[1]  # colour
        return float(diff.reshape(16, 8, 16, 8).mean(axis=(1, 3)).var())  # over 8 x 8 blocks

    assert blotches(1.0) > 10 * blotches(0.0)


def test_noise_gain_raises_the_high_frequency_energy_of_the_night() -> None:
    def hf(index: int, k: float) -> float:
        night, _ = _pair(index, {"noise_gain": (k, k)}, darkness=0.6)
        lap = 4 * night[1:-1, 1:-1] - night[:-2, 1:-1] - night[2:, 1:-1]
        lap -= night[1:-1, :-2] + night[1:-1, 2:]
        return float(lap.var())

    for index in SCENES:  # (the variance law itself is tested on flat fields above)
        low, mid, high = hf(index, 0.5), hf(index, 1.0), hf(index, 2.0)
        assert 1.1 * low < mid and 1.2 * mid < high


def test_jpeg_quantise_matches_a_real_codec() -> None:
    _, day = render_scene(5, height=96, width=80)
    chw = np.ascontiguousarray(day.transpose(2, 0, 1))
    errors = []
    for quality in (30, 90):
        ours = jpeg_quantise(chw, quality).transpose(1, 2, 0).astype(np.float64)
        buf = io.BytesIO()
        Image.fromarray(day).save(buf, format="JPEG", quality=quality)
        real = np.asarray(Image.open(buf)).astype(np.float64)
        err_ours, err_real = np.abs(ours - day).mean(), np.abs(real - day).mean()
        assert err_ours == pytest.approx(err_real, rel=0.35)
        assert np.abs(ours - real).mean() < err_real
        errors.append(err_ours)
    assert errors[0] > errors[1] > 0
    with pytest.raises(ValueError, match="quality must be an integer in"):
        jpeg_quantise(chw, 0)


# -- camera ---------------------------------------------------------------------------------------
def test_saturation_scales_colourfulness() -> None:
    img = np.random.default_rng(0).random((3, 8, 8)).astype(np.float32)
    grey = img.copy()
    saturate(grey, 0.0)
    assert np.allclose(grey[0], grey[1], atol=1e-6) and np.allclose(grey[1], grey[2], atol=1e-6)
    for index in SCENES:
        _, vivid = _pair(index, {"saturation": (1.5, 1.5)})
        _, dull = _pair(index, {"saturation": (0.6, 0.6)})
        _, d0 = _pair(index)
        assert dull.std(-1).mean() < d0.std(-1).mean() < vivid.std(-1).mean()


def test_tone_curve_is_monotonic_and_its_contrast_steepens_the_middle() -> None:
    x = np.linspace(0, 1, 257)
    np.testing.assert_allclose(tone_curve(x, 1.0, 0.0), x)
    for gamma, contrast in ((0.8, 0.5), (1.25, -0.5)):
        assert (np.diff(tone_curve(x, gamma, contrast)) >= 0).all()
    s = tone_curve(x, 1.0, 0.5)
    assert s[128] == pytest.approx(0.5) and s[160] - s[96] > x[160] - x[96]
    assert tone_curve(x, 0.8, 0.0)[64] > x[64]  # gamma < 1 lifts the shadows
    curves = set()
    for index in SCENES:  # the day is the plain day through the scene's curve
        look = draw_look(SceneOptions(tone=0.5), sample_scene(index))
        _, day = _pair(index, {"tone": 0.5})
        _, d0 = _pair(index)
        expected = 255 * tone_curve(d0 / 255, look.gamma, look.contrast)
        assert np.abs(day - expected).max() <= 2 and np.abs(day - expected).mean() < 0.6
        curves.add((look.gamma, look.contrast))
    assert len(curves) == len(SCENES)


# -- surfaces -------------------------------------------------------------------------------------
def test_texture_raises_the_day_local_variance_on_surfaces_only() -> None:
    for index in SCENES:
        _, d0 = _pair(index)
        _, tex = _pair(index, {"texture": 0.2})
        _, neutral = _pair(index, {"daylight_kelvin": (6000, 6000)})
        sky = np.isinf(render_depth(index, height=SIZE))
        assert (tex[sky] == neutral[sky]).all()  # the sky has no surface
        surface = ~sky[1:-1, 1:-1]
        assert np.median(_local_var(tex)[surface]) > 2 * np.median(_local_var(d0)[surface])


def test_fractal_noise_and_texture_windows() -> None:
    field = fractal_noise(64, 96, 4, np.random.default_rng(0))
    assert field.shape == (64, 96) and field.dtype == np.float32
    assert abs(float(field.mean())) < 1e-5 and float(field.std()) == pytest.approx(1.0, rel=1e-4)
    lum, col = surface_texture(32, 48, 12345)
    lum2, _ = surface_texture(32, 48, 12345)
    other, _ = surface_texture(32, 48, 54321)
    assert lum.shape == col.shape == (32, 48) and not lum.flags.writeable
    assert (lum == lum2).all() and not (lum == other).all()
    # the colour field is slower (coarser) than the brightness field
    assert np.abs(np.diff(col, axis=1)).mean() < np.abs(np.diff(lum, axis=1)).mean()


# -- config and errors ----------------------------------------------------------------------------
def test_config_round_trip_and_dataset() -> None:
    cfg = load_config(
        "night2day",
        ['data.scene_options={bundle="photo", jpeg_quality=[70, 95], texture=0.3}'],
    )
    assert cfg.data.scene_options == {"bundle": "photo", "jpeg_quality": [70, 95], "texture": 0.3}
    again = ExperimentConfig.from_dict(cfg.to_dict())
    assert again.data == cfg.data
    ds = build_dataset(again.data)
    assert isinstance(ds, NightDayScenes)
    assert ds.options == dataclasses.replace(
        SCENE_OPTION_BUNDLES["photo"], jpeg_quality=(70, 95), texture=0.3
    )
    assert load_config("night2day").data.scene_options == "default"
    assert build_dataset(load_config("night2day").data).options.is_default
    named = load_config("night2day", ["data.scene_options=photo"])
    assert build_dataset(named.data).options == SCENE_OPTION_BUNDLES["photo"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("phot", r"unknown scene options bundle 'phot' \(did you mean 'photo'\?\)"),
        ({"texure": 0.1}, r"unknown scene option 'texure' \(did you mean 'texture'\?\)"),
        ({"lamp_mix": 1.5}, r"lamp_mix must be a number in \[0, 1\]; got 1.5"),
        ({"saturation": [1.4, 0.8]}, r"saturation must be \(low, high\) with 0 <= low <= high"),
        ({"noise_gain": [0, 1]}, r"noise_gain must be \(low, high\) with 0 < low"),
        ({"jpeg_quality": [0, 90]}, r"jpeg_quality must be \(low, high\) integers with 1 <="),
        ({"raw_noise": "yes"}, r"raw_noise must be true or false; got 'yes'"),
        ({"daylight_kelvin": [800, 5000]}, r"daylight_kelvin must be \(low, high\) with 1500"),
        ({"bundle": 3}, r"bundle must be a bundle name; got 3"),
    ],
)
def test_bad_options_fail_clearly(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        scene_options(value)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="^data.scene_options: .*" + message):
        ExperimentConfig.from_dict({"data": {"scene_options": value}})


def test_bad_options_fail_in_the_renderer_and_the_dataset() -> None:
    with pytest.raises(ValueError, match="tone must be a number in"):
        render_scene(0, height=16, options={"tone": -1})
    with pytest.raises(ValueError, match="scene options must be a bundle name"):
        NightDayScenes(num_scenes=2, size=16, options=3)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"data\.scene_options must be str or a table; got 3"):
        ExperimentConfig.from_dict({"data": {"scene_options": 3}})
