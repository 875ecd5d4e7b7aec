"""CUT / FastCUT: PatchNCE, the patch sampler, generator feature taps, and the model through the
Trainer, checkpoints, load, translation and export."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import cyclegan_ms as cms
from cyclegan_ms.cli import main
from cyclegan_ms.inference import Translator, export
from cyclegan_ms.losses import PatchNCELoss, PatchSampler, patch_nce_loss
from cyclegan_ms.models import CUT, build_model
from cyclegan_ms.training import TrainConfig, Trainer, find_latest, load_checkpoint

sys.path.insert(0, str(Path(__file__).parent))
from _train_script import Pairs

pytestmark = pytest.mark.usefixtures("fp32_translation")

TINY_G = {"name": "resnet_6blocks", "ngf": 4}
TINY_D = {"name": "patchgan", "ndf": 4, "n_layers": 2}
TINY = {"generator": TINY_G, "discriminator": TINY_D, "nce_layers": [0, 4, 8], "num_patches": 16}


def _unit(x: torch.Tensor) -> torch.Tensor:
    return F.normalize(x, dim=-1)


# ------------------------------------------------------------------------------ PatchNCE
def test_patch_nce_matches_a_hand_computation() -> None:
    # one image, two patches, 2-d embeddings: q0 = (1, 0), q1 = (0, 1); k0 = (.6, .8), k1 = (1, 0)
    q = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])
    k = torch.tensor([[[0.6, 0.8], [1.0, 0.0]]])
    tau = 0.5
    # patch 0: positive q0.k0 = 0.6, negative q0.k1 = 1.0, own position -10
    # patch 1: positive q1.k1 = 0.0, negative q1.k0 = 0.8, own position -10
    rows = [[0.6, -10.0, 1.0], [0.0, 0.8, -10.0]]
    expected = sum(-r[0] / tau + math.log(sum(math.exp(v / tau) for v in r)) for r in rows) / len(
        rows
    )
    got = patch_nce_loss(q, k, temperature=tau)
    assert got.item() == pytest.approx(expected, rel=1e-6)
    assert PatchNCELoss(temperature=tau)(q, k).item() == pytest.approx(expected, rel=1e-6)


def test_patch_nce_batch_negatives_match_a_hand_computation() -> None:
    q = torch.tensor([[[1.0, 0.0]], [[0.0, 1.0]]])  # two images, one patch each
    k = torch.tensor([[[0.6, 0.8]], [[1.0, 0.0]]])
    tau = 0.5
    # "image": no negatives besides the masked own position (weight e^(-10/tau)): loss ~ 0
    assert patch_nce_loss(q, k, temperature=tau).item() == pytest.approx(0.0, abs=1e-6)
    # "batch": the other image's patch is a negative
    rows = [[0.6, -10.0, 1.0], [0.0, 0.8, -10.0]]
    expected = sum(-r[0] / tau + math.log(sum(math.exp(v / tau) for v in r)) for r in rows) / 2
    got = patch_nce_loss(q, k, temperature=tau, negatives="batch")
    assert got.item() == pytest.approx(expected, rel=1e-6)


def test_patch_nce_is_minimised_by_identical_features() -> None:
    torch.manual_seed(0)
    q = _unit(torch.randn(2, 32, 16))
    same = patch_nce_loss(q, q)
    for other in (
        _unit(torch.randn(2, 32, 16)),
        q.roll(1, dims=1),
        _unit(q + 0.3 * torch.randn_like(q)),
    ):
        assert same < patch_nce_loss(q, other)
    # and descending the loss makes each query nearest to its own key
    k = _unit(torch.randn(1, 8, 4))
    x = torch.randn(1, 8, 4, requires_grad=True)
    opt = torch.optim.SGD([x], lr=0.5)
    first = None
    for _ in range(200):
        loss = patch_nce_loss(_unit(x), k)
        first = loss.item() if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.05 * first
    nearest = (_unit(x.detach()) @ k.transpose(1, 2)).argmax(-1)
    assert torch.equal(nearest, torch.arange(8)[None])


def test_patch_nce_keys_get_no_gradient_and_bad_input_is_refused() -> None:
    q = torch.randn(1, 4, 3, requires_grad=True)
    k = torch.randn(1, 4, 3, requires_grad=True)
    patch_nce_loss(_unit(q), _unit(k)).backward()
    assert q.grad is not None and k.grad is None
    with pytest.raises(ValueError, match="same shape"):
        patch_nce_loss(torch.zeros(1, 4, 3), torch.zeros(1, 5, 3))
    with pytest.raises(ValueError, match="temperature must be > 0"):
        PatchNCELoss(temperature=0.0)
    with pytest.raises(ValueError, match="accepted: image, batch"):
        PatchNCELoss(negatives="all")  # type: ignore[arg-type]
    assert "patchnce" in cms.available("contrastive_loss")


def test_patch_sampler_reuses_positions_and_checks_channels() -> None:
    torch.manual_seed(0)
    s = PatchSampler([3, 8], dim=16, num_patches=5)
    feats = [torch.rand(2, 3, 4, 4), torch.rand(2, 8, 2, 2)]
    out, ids = s(feats)
    assert [tuple(o.shape) for o in out] == [(2, 5, 16), (2, 4, 16)]
    torch.testing.assert_close(out[0].norm(dim=-1), torch.ones(2, 5), atol=1e-3, rtol=0)
    again, ids2 = s(feats, ids)
    assert all(torch.equal(a, b) for a, b in zip(ids, ids2, strict=True))
    assert all(torch.equal(a, b) for a, b in zip(out, again, strict=True))
    # a patch embeds its own position's feature vector: position ids[0][0] of image 1
    i = int(ids[0][0])
    vec = feats[0][1].flatten(1)[:, i]
    emb = s.heads[0](vec)
    torch.testing.assert_close(out[0][1, 0], emb / (emb.norm() + 1e-7))
    with pytest.raises(ValueError, match="takes 3 channels"):
        s([torch.rand(2, 4, 4, 4), feats[1]])
    with pytest.raises(ValueError, match="has 2 heads"):
        s(feats[:1])


# ------------------------------------------------------------------------------ feature taps
def test_resnet_features_are_its_forward_pass_prefix() -> None:
    torch.manual_seed(0)
    g = cms.build("generator", "resnet_6blocks", ngf=4)
    assert len(g.feature_channels()) == 16 and g.feature_channels()[4] == 8
    x = torch.rand(2, 3, 32, 32)
    feats = g.encode(x, [12, 0, 4])
    h = x
    for i, module in enumerate(g.model):
        h = module(h)
        if i == 12:
            torch.testing.assert_close(feats[0], h)
            break
    assert feats[1].shape == (2, 3, 38, 38) and feats[2].shape == (2, 8, 16, 16)
    assert [f.shape[1] for f in feats] == [g.feature_channels()[i] for i in (12, 0, 4)]
    with pytest.raises(ValueError, match="feature layers 0 to 15; got 16"):
        g.encode(x, [16])
    with pytest.raises(ValueError, match="repeat"):
        g.encode(x, [1, 1])


def test_seed_unet_features() -> None:
    g = cms.build("generator", "seed_unet", base_width=4, bottleneck="conv")
    x = torch.rand(1, 3, 64, 64)
    feats = g.encode(x, [0, 1, 3, 6])
    assert g.feature_channels() == (3, 4, 8, 16, 32, 64, 64)
    assert torch.equal(feats[0], x)
    assert [tuple(f.shape[1:]) for f in feats[1:]] == [(4, 64, 64), (16, 16, 16), (64, 2, 2)]
    skip, _ = g.encoder[0](x)
    torch.testing.assert_close(feats[1], skip)


# ------------------------------------------------------------------------------ the model
def test_cut_options_config_and_errors() -> None:
    m = build_model({"name": "cut", **TINY})
    assert isinstance(m, CUT) and m.nce_idt and m.nce_weight == 1.0
    assert build_model(m.config()).config() == m.config()
    fast = build_model({"name": "fastcut", **TINY})
    assert isinstance(fast, CUT)
    assert (fast.nce_weight, fast.nce_idt, fast.flip_equivariance) == (10.0, False, True)
    assert fast.config()["name"] == "cut"
    # the heads are built with the model, from the generator's channels
    assert [h[0].in_features for h in m.sampler.heads] == [3, 8, 16]
    assert m.generators() == [m.G, m.sampler] and m.discriminators() == [m.D]
    with pytest.raises(TypeError, match="exposes its encoder features"):
        build_model({**TINY, "name": "cut", "generator": {"name": "unet_128", "ngf": 4}})
    with pytest.raises(ValueError, match="feature layers 0 to 15; got 40"):
        build_model({**TINY, "name": "cut", "nce_layers": [0, 40]})
    with pytest.raises(TypeError, match="unexpected argument 'nce_wieght'"):
        build_model({**TINY, "name": "cut", "nce_wieght": 2.0})


def test_cut_objective_terms() -> None:
    torch.manual_seed(0)
    m = build_model({"name": "cut", **TINY})
    a, b = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)
    out = m.generator_objective(a, b)
    L = out.losses
    torch.testing.assert_close(L["total"], L["adv_b"] + 0.5 * (L["nce"] + L["nce_idt"]) + L["reg"])
    L["total"].backward()
    assert all(p.grad is None for p in m.D.parameters())
    assert all(p.grad is not None for p in m.sampler.parameters())
    d = m.discriminator_objective(a, b, out.fakes)
    torch.testing.assert_close(d["total"], 0.5 * d["d_b"])
    m.zero_grad()
    d["total"].backward()
    assert all(p.grad is None for p in m.G.parameters())
    assert set(m.translators()) == {"a2b"} and m.pooled_domains() == ("b",)
    fast = build_model({"name": "fastcut", **TINY})
    L = fast.generator_objective(a, b).losses
    assert "nce_idt" not in L
    torch.testing.assert_close(L["total"], L["adv_b"] + 10.0 * L["nce"] + L["reg"])


def _trainer(run_dir: Path, name: str = "cut", **train: Any) -> Trainer:
    torch.manual_seed(0)
    cfg: dict[str, Any] = {
        "steps": 4,
        "batch_size": 2,
        "log_every": 1,
        "progress": False,
        "checkpoint_every": 0,
        "ema_decay": 0.9,
        "pool_size": 0,
        "sample_every": 2,
    }
    cfg.update(train)
    return Trainer(
        build_model({"name": name, **TINY}), Pairs(), run_dir=run_dir, train=TrainConfig(**cfg)
    )


def _losses(run_dir: Path) -> list[dict[str, float]]:
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if k != "time"} for r in records if "event" not in r]


@pytest.mark.parametrize("name", ["cut", "fastcut"])
def test_cut_trains_resumes_exactly_loads_and_translates(tmp_path: Path, name: str) -> None:
    full, half = tmp_path / "full", tmp_path / "half"
    t = _trainer(full, name)
    g0 = {k: v.clone() for k, v in t.model.state_dict().items()}
    result = t.fit()
    records = _losses(full)
    assert [r["step"] for r in records] == [1, 2, 3, 4]
    assert all(math.isfinite(v) for r in records for v in r.values())
    assert {"g_adv_b", "g_nce", "g_total", "d_d_b", "d_total"} <= set(records[0])
    changed = [k for k, v in t.model.state_dict().items() if not torch.equal(v, g0[k])]
    assert any(k.startswith("G.") for k in changed) and any(k.startswith("D.") for k in changed)
    assert any(k.startswith("sampler.") for k in changed), "the MLP heads train"
    assert t.ema is not None and set(t.ema) == {"G"}
    assert (full / "samples" / "step_00000004.png").is_file()

    _trainer(half, name).fit(steps=2)
    resumed = _trainer(half, name)
    assert resumed.resume(half) == 2
    resumed.fit()
    assert _losses(half) == records, "a resumed CUT run must log the uninterrupted run's losses"
    sa = load_checkpoint(find_latest(full))  # type: ignore[arg-type]
    sb = load_checkpoint(find_latest(half))  # type: ignore[arg-type]
    for k, v in sa["model"].items():
        assert torch.equal(v, sb["model"][k]), k
    assert set(sa["ema"]) == {"G"} and "pool_b" in sa and "pool_a" not in sa

    model = cms.load(result.checkpoint)  # type: ignore[arg-type]
    assert isinstance(model, CUT) and model.checkpoint_step == 4 and not model.training
    ema_g = t.ema["G"].module
    for k, v in ema_g.state_dict().items():
        assert torch.equal(model.G.state_dict()[k], v), "load uses the EMA weights"
    raw = cms.load(result.checkpoint, ema=False)  # type: ignore[arg-type]
    assert not all(torch.equal(v, raw.G.state_dict()[k]) for k, v in ema_g.state_dict().items())
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        expected = ema_g.eval()(x)
    y = Translator(full, tile=None, border=0).tensor(x)
    torch.testing.assert_close(y, expected)
    with pytest.raises(ValueError, match="translates only a2b"):
        Translator(model, direction="b2a")


def test_cut_checkpoint_translates_and_exports_from_the_command_line(tmp_path: Path) -> None:
    ort = pytest.importorskip("onnxruntime", reason="the 'export' extra is not installed")
    from PIL import Image

    run = tmp_path / "run"
    _trainer(run, steps=1, sample_every=0).fit()
    src = tmp_path / "night.png"
    pixels = (np.random.default_rng(0).random((32, 32, 3)) * 255).astype(np.uint8)
    Image.fromarray(pixels).save(src)
    out = tmp_path / "out"
    code = main(
        ["translate", "--checkpoint", str(run), str(src), "--out", str(out), "--no-progress"]
    )
    assert code == 0
    written = np.asarray(Image.open(out / "night.png"))
    np.testing.assert_array_equal(written, Translator(run, tile=None).__call__(pixels))
    onnx_path = export(run, tmp_path / "g.onnx")
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    x = torch.rand(1, 3, 32, 32)
    (y,) = session.run(None, {"image": x.numpy()})
    torch.testing.assert_close(torch.from_numpy(y), cms.load(run).G(x), atol=1e-5, rtol=1e-4)
