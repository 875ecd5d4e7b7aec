"""pix2pix: the conditional objective, test-time modes, aligned scene pairs, and the model
through the Trainer, checkpoints, load, translation and export."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
import torch

import cyclegan_ms as cms
from cyclegan_ms.data import ScenePairs
from cyclegan_ms.inference import Translator, export
from cyclegan_ms.models import Pix2Pix, build_model
from cyclegan_ms.training import TrainConfig, Trainer, find_latest, load_checkpoint, load_config
from cyclegan_ms.training.experiment import build_trainer

pytestmark = pytest.mark.usefixtures("fp32_translation")

TINY = {
    "name": "pix2pix",
    "generator": {"name": "resnet_6blocks", "ngf": 4, "output": "sigmoid"},
    "discriminator": {"name": "patchgan", "ndf": 4, "n_layers": 2},
}


def test_discriminator_sees_input_beside_output() -> None:
    torch.manual_seed(0)
    m = build_model(TINY)
    assert isinstance(m, Pix2Pix) and m.paired and m.pooled_domains() == ()
    assert cms.config_of(m.D)["in_channels"] == 6
    assert build_model(m.config()).config() == m.config()
    a, b = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)
    out = m.generator_objective(a, b)
    L = out.losses
    torch.testing.assert_close(L["l1"], (out.fake_b - b).abs().mean())
    torch.testing.assert_close(L["total"], L["adv_b"] + 100.0 * L["l1"] + L["reg"])
    L["total"].backward()
    assert all(p.grad is None for p in m.D.parameters())
    d = m.discriminator_objective(a, b, out.fakes)
    torch.testing.assert_close(d["total"], 0.5 * d["d_b"])
    # the verdict depends on the input the output is judged beside
    other = m.discriminator_objective(a.flip(0), b, out.fakes)
    assert not torch.allclose(other["d_b"], d["d_b"])
    with pytest.raises(ValueError, match="in_channels must be 6"):
        build_model({**TINY, "discriminator": {"name": "patchgan", "in_channels": 3}})


def test_translate_in_eval_mode_or_with_batch_statistics() -> None:
    torch.manual_seed(0)
    m = Pix2Pix({"name": "unet_128", "ngf": 4, "norm": "batch", "use_dropout": True}, "patchgan")
    x = torch.rand(2, 3, 128, 128)
    m.train()
    for _ in range(2):  # running statistics away from their initial values
        m.G(torch.rand(2, 3, 128, 128) * 2)
    m.eval()
    with torch.no_grad():
        expected_eval = m.G(x)
    torch.testing.assert_close(m.translate(x), expected_eval)
    assert not m.G.training
    torch.manual_seed(1)
    with_batch = m.translate(x, batch_statistics=True)
    assert not m.G.training, "the generator's mode is restored"
    m.G.train()
    torch.manual_seed(1)
    with torch.no_grad():
        expected_train = m.G(x)
    m.G.eval()
    torch.testing.assert_close(with_batch, expected_train)
    assert not torch.allclose(with_batch, expected_eval)
    with pytest.raises(ValueError, match="only 'a2b'"):
        m.translate(x, "b2a")


def test_scene_pairs_are_aligned() -> None:
    pairs = ScenePairs(3, size=32)
    item = pairs[2]
    assert len(pairs) == 3 and item["A"].shape == item["B"].shape == (3, 32, 32)
    assert item["A"].mean() < item["B"].mean()  # night is darker than day
    night, day = next(cms.data.pairs.train_scene_pairs([2], size=32))
    assert torch.equal(item["A"], night) and torch.equal(item["B"], day)
    with pytest.raises(IndexError, match="3 items"):
        pairs[3]


def _trainer(run_dir: Path, **train: Any) -> Trainer:
    torch.manual_seed(0)
    cfg: dict[str, Any] = {
        "steps": 4,
        "batch_size": 2,
        "log_every": 1,
        "progress": False,
        "checkpoint_every": 0,
        "ema_decay": 0.9,
        "pool_size": 0,
        "sample_every": 0,
    }
    cfg.update(train)
    return Trainer(
        build_model(TINY), ScenePairs(6, size=32), run_dir=run_dir, train=TrainConfig(**cfg)
    )


def _losses(run_dir: Path) -> list[dict[str, float]]:
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if k != "time"} for r in records if "event" not in r]


def test_pix2pix_trains_resumes_exactly_loads_translates_and_exports(tmp_path: Path) -> None:
    full, half = tmp_path / "full", tmp_path / "half"
    t = _trainer(full)
    before = {k: v.clone() for k, v in t.model.state_dict().items()}
    result = t.fit()
    records = _losses(full)
    assert [r["step"] for r in records] == [1, 2, 3, 4]
    assert all(math.isfinite(v) for r in records for v in r.values())
    assert {"g_adv_b", "g_l1", "d_d_b"} <= set(records[0])
    changed = {
        k.split(".")[0] for k, v in t.model.state_dict().items() if not torch.equal(v, before[k])
    }
    assert {"G", "D"} <= changed and t.ema is not None and set(t.ema) == {"G"}

    _trainer(half).fit(steps=2)
    resumed = _trainer(half)
    assert resumed.resume(half) == 2
    resumed.fit()
    assert _losses(half) == records
    sa = load_checkpoint(find_latest(full))  # type: ignore[arg-type]
    sb = load_checkpoint(find_latest(half))  # type: ignore[arg-type]
    assert all(torch.equal(v, sb["model"][k]) for k, v in sa["model"].items())
    assert not any(k.startswith("pool_") for k in sa)

    model = cms.load(result.checkpoint)  # type: ignore[arg-type]
    assert isinstance(model, Pix2Pix) and model.checkpoint_step == 4
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        expected = t.ema["G"].module.eval()(x)
    torch.testing.assert_close(Translator(full, tile=None, border=0).tensor(x), expected)
    torch.testing.assert_close(model.translate(x), expected)
    pytest.importorskip("onnxruntime", reason="the 'export' extra is not installed")
    path = export(full, tmp_path / "g.onnx")
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (y,) = session.run(None, {"image": x.numpy()})
    torch.testing.assert_close(torch.from_numpy(y), expected, atol=1e-5, rtol=1e-4)


def test_the_preset_trains_on_aligned_scene_pairs(tmp_path: Path) -> None:
    cfg = load_config(
        "night2day_pix2pix",
        [
            "train.steps=1",
            "train.progress=false",
            "train.precision='fp32'",
            "data.image_size=32",
            "data.num_scenes=4",
            "model.generator.base_width=4",
        ],
    )
    trainer = build_trainer(cfg, tmp_path)
    assert isinstance(trainer.model, Pix2Pix) and isinstance(trainer.dataset, ScenePairs)
    a, b = trainer.sample_batch()
    assert a.mean() < b.mean()  # held-out night inputs beside their day truth
    assert trainer.fit().step == 1


def test_without_the_gan_term_the_discriminator_is_neither_run_nor_stepped(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = build_model({**TINY, "adversarial_weight": 0.0})
    assert isinstance(model, Pix2Pix) and model.discriminators() == []
    d_before = {k: v.clone() for k, v in model.D.state_dict().items()}
    calls: list[int] = []
    model.D.register_forward_hook(lambda *_: calls.append(1))
    cfg = TrainConfig(
        steps=3,
        batch_size=2,
        log_every=1,
        progress=False,
        checkpoint_every=0,
        pool_size=0,
        sample_every=0,
    )
    Trainer(model, ScenePairs(6, size=32), run_dir=tmp_path, train=cfg).fit()
    records = _losses(tmp_path)
    assert [r["step"] for r in records] == [1, 2, 3]
    assert "g_adv_b" not in records[0] and not any(k.startswith("d_") for k in records[0])
    assert calls == []
    assert all(torch.equal(v, d_before[k]) for k, v in model.D.state_dict().items())
