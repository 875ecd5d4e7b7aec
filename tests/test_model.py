"""The CycleGAN objectives: finite, complete, and reaching exactly the right networks."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import torch

import cyclegan_ms
import cyclegan_ms as cms
from cyclegan_ms import CycleGAN, LossWeights
from cyclegan_ms.models import per_sample
from cyclegan_ms.training.config import load_config

TINY_G: dict[str, Any] = {"name": "resnet_6blocks", "ngf": 4}
TINY_D: dict[str, Any] = {"name": "patchgan", "ndf": 4, "n_layers": 2}


def tiny(**kwargs: Any) -> CycleGAN:
    return CycleGAN(TINY_G, TINY_G, TINY_D, TINY_D, **kwargs)


def _grads(modules: list[torch.nn.Module]) -> list[torch.Tensor | None]:
    return [p.grad for m in modules for p in m.parameters()]


def test_generator_objective_reaches_only_generators() -> None:
    m = tiny(weights={"feature_matching": 1.0})
    a, b = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)
    out = m.generator_objective(a, b)
    expected = {
        "adv_a",
        "adv_b",
        "cycle_a",
        "cycle_b",
        "idt_a",
        "idt_b",
        "fm_a",
        "fm_b",
        "reg",
        "total",
    }
    assert set(out.losses) == expected
    assert all(v.ndim == 0 and torch.isfinite(v) for v in out.losses.values())
    out.losses["total"].backward()
    assert all(g is None for g in _grads(m.discriminators())), "G loss must not reach D"
    assert all(g is not None for g in _grads(m.generators()))
    # discriminators still trainable afterwards (requires_grad restored)
    assert all(p.requires_grad for d in m.discriminators() for p in d.parameters())


def test_discriminator_objective_reaches_only_discriminators() -> None:
    m = tiny()
    a, b = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)
    out = m.generator_objective(a, b)
    d = m.discriminator_objective(a, b, out.fakes)
    for p in m.parameters():
        p.grad = None
    d["total"].backward()
    assert all(g is None for g in _grads(m.generators())), "D loss must not reach G"
    assert all(g is not None for g in _grads(m.discriminators()))
    assert set(d) == {"d_a", "d_b", "total"}


def test_total_is_weighted_sum() -> None:
    w = LossWeights(adversarial=2.0, cycle=3.0, identity=0.25, regularization=1.0)
    m = tiny(weights=w)
    out = m.generator_objective(torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32))
    L = out.losses
    expected = (
        2.0 * (L["adv_a"] + L["adv_b"])
        + 3.0 * (L["cycle_a"] + L["cycle_b"])
        + 0.25 * (L["idt_a"] + L["idt_b"])
        + L["reg"]
    )
    torch.testing.assert_close(L["total"], expected)


def test_moments_term_is_weighted_and_pulls_tone_towards_the_target_domain() -> None:
    m = tiny(weights={"moments": 4.0})
    a, b = torch.rand(2, 3, 32, 32) * 0.2, 0.5 + torch.rand(2, 3, 32, 32) * 0.5
    out = m.generator_objective(a, b)
    L = out.losses
    torch.testing.assert_close(L["mom_b"], cms.losses.colour_moment_loss(out.fake_b, b))
    torch.testing.assert_close(L["mom_a"], cms.losses.colour_moment_loss(out.fake_a, a))
    without = L["total"] - 4.0 * (L["mom_a"] + L["mom_b"])
    expected = (
        L["adv_a"]
        + L["adv_b"]
        + 10.0 * (L["cycle_a"] + L["cycle_b"])
        + 0.5 * (L["idt_a"] + L["idt_b"])
        + L["reg"]
    )
    torch.testing.assert_close(without, expected)
    assert "mom_a" not in tiny().generator_objective(a, b).losses  # 0 (default): no term


def test_identity_zero_skips_identity_passes() -> None:
    m = tiny(weights={"identity": 0.0})
    calls = {"n": 0}
    m.G_ab.register_forward_hook(lambda *_: calls.__setitem__("n", calls["n"] + 1))
    out = m.generator_objective(torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32))
    assert "idt_a" not in out.losses
    assert calls["n"] == 2  # fake_b and rec_b only


def test_penalty_is_added() -> None:
    m = tiny(penalty={"name": "r1", "gamma": 1.0})
    a, b = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)
    out = m.generator_objective(a, b)
    d = m.discriminator_objective(a, b, out.fakes)
    torch.testing.assert_close(d["total"], d["d_a"] + d["d_b"] + d["penalty_a"] + d["penalty_b"])
    assert d["penalty_a"] > 0


def test_seed_regularization_enters_generator_loss() -> None:
    g = {"name": "seed_unet", "base_width": 4, "image_size": 64}
    d = {"name": "seed_multiscale", "base_width": 4}
    m = CycleGAN(g, g, d, d)
    out = m.generator_objective(torch.rand(1, 3, 64, 64), torch.rand(1, 3, 64, 64))
    expected = m.G_ab.regularization() + m.G_ba.regularization()
    torch.testing.assert_close(out.losses["reg"], expected)
    assert out.losses["reg"] > 0


def test_config_round_trip_rebuilds_equal_model() -> None:
    m = tiny(adversarial="hinge", weights={"cycle": 7.0})
    cfg = m.config()
    m2 = CycleGAN.from_config(cfg)
    assert m2.config() == cfg
    m2.load_state_dict(m.state_dict())
    x = torch.rand(1, 3, 32, 32)
    m.eval(), m2.eval()
    torch.testing.assert_close(m.translate(x), m2.translate(x))


def test_bad_config_rejected() -> None:
    with pytest.raises(ValueError, match=r"unknown model key\(s\) generatr"):
        CycleGAN.from_config({"generatr": TINY_G, "discriminator": TINY_D})
    with pytest.raises(ValueError, match="needs a 'discriminator'"):
        CycleGAN.from_config({"generator": TINY_G})
    with pytest.raises(ValueError, match=r"unknown loss weight\(s\) cycel"):
        tiny(weights={"cycel": 1.0})
    with pytest.raises(ValueError, match="must be >= 0"):
        LossWeights(cycle=-1)
    with pytest.raises(ValueError, match="direction must be"):
        tiny().translate(torch.rand(1, 3, 32, 32), "a2c")  # type: ignore[arg-type]


def test_user_adversarial_module_without_methods_rejected() -> None:
    with pytest.raises(TypeError, match="generator"):
        tiny(adversarial=torch.nn.MSELoss())


def test_plain_modules_fit_the_protocols() -> None:
    """Plain modules work as parts; a discriminator returning one tensor counts as one map."""
    torch.manual_seed(0)
    conv = lambda c: torch.nn.Conv2d(3, c, 3, padding=1)  # noqa: E731
    fused = CycleGAN(conv(3), conv(3), conv(1), conv(1))
    unfused = copy.deepcopy(fused)
    unfused.fuse_passes = False
    a, b = torch.rand(2, 3, 8, 8), torch.rand(2, 3, 8, 8)
    for m in (fused, unfused):
        g = m.generator_objective(a, b)
        d = m.discriminator_objective(a, b, g.fakes)
        assert torch.isfinite(g.losses["total"]) and torch.isfinite(d["total"])
    torch.testing.assert_close(
        fused.discriminator_objective(a, b, {"a": a.flip(0), "b": b.flip(0)})["total"],
        unfused.discriminator_objective(a, b, {"a": a.flip(0), "b": b.flip(0)})["total"],
    )
    fused.weights.feature_matching = 1.0
    with pytest.raises(TypeError, match=r"feature matching .* Conv2d has none"):
        fused.generator_objective(a, b)


def test_seed_preset_builds_the_seed_system() -> None:
    cfg = load_config("seed")
    m = CycleGAN.from_config(cfg.model)
    n = lambda mod: sum(p.numel() for p in mod.parameters())  # noqa: E731
    assert n(m.G_ab) == n(m.G_ba) == 19_274_323
    assert n(m.D_a) == n(m.D_b) == 5_598_547
    assert cms.config_of(m.adversarial)["name"] == "lsgan"
    assert cms.config_of(m.reconstruction)["name"] == "l1"
    assert (m.weights.adversarial, m.weights.cycle, m.weights.identity) == (1.0, 10.0, 0.5)
    assert cfg.train.pool_size == 0 and cfg.train.batch_size == 4
    assert cfg.optim_g.lr == 5e-5 and cfg.optim_d.lr == 1e-4
    assert cfg.optim_g.betas == (0.9, 0.999) == cfg.optim_d.betas
    assert cfg.data.image_size == 256 and cfg.data.value_range == "unit"
    assert cfg.train.schedule == "constant"


def test_paper_preset_builds_the_classic_system() -> None:
    cfg = load_config("cyclegan_paper")
    m = CycleGAN.from_config(cfg.model)
    n = lambda mod: sum(p.numel() for p in mod.parameters())  # noqa: E731
    assert n(m.G_ab) == 11_378_179
    assert n(m.D_a) == 2_764_737
    assert cfg.train.pool_size == 50
    assert cfg.optim_g.lr == cfg.optim_d.lr == 2e-4
    assert cfg.optim_g.betas == (0.5, 0.999)
    assert m.weights.identity == 5.0 and m.weights.discriminator == 0.5
    assert cfg.data.value_range == "symmetric"


# --------------------------------------------------------------------------------------------
# Fused passes: one network pass over two stacked batches where the objective has two
# --------------------------------------------------------------------------------------------


def _fused_and_unfused(g: dict, d: dict, identity: float = 0.5) -> tuple[CycleGAN, CycleGAN]:
    torch.manual_seed(0)
    fused = CycleGAN(g, g, d, d, weights={"identity": identity}).double()
    unfused = copy.deepcopy(fused)
    unfused.fuse_passes = False
    return fused, unfused


def _calls(net: torch.nn.Module) -> list[int]:
    seen: list[int] = []
    net.register_forward_hook(lambda m, inp, out: seen.append(inp[0].shape[0]))
    return seen


@pytest.mark.parametrize(
    ("g", "d"),
    [
        (
            {"name": "seed_unet", "base_width": 4, "image_size": 32},
            {"name": "seed_multiscale", "base_width": 4},
        ),
        ({"name": "resnet_6blocks", "ngf": 4}, {"name": "patchgan", "ndf": 4}),
        (
            {"name": "resnet_6blocks", "ngf": 4, "norm": "layer"},
            {
                "name": "pyramid",
                "num_scales": 2,
                "discriminator": {"name": "patchgan", "ndf": 4, "n_layers": 2},
            },
        ),
    ],
)
def test_fused_passes_give_the_same_losses_and_gradients(g: dict, d: dict) -> None:
    fused, unfused = _fused_and_unfused(g, d)
    gen_calls, disc_calls = _calls(fused.G_ab), _calls(fused.D_a)
    a = torch.rand(2, 3, 32, 32, dtype=torch.float64)
    b = torch.rand(2, 3, 32, 32, dtype=torch.float64)
    totals = []
    for m in (fused, unfused):
        out = m.generator_objective(a, b)
        d_out = m.discriminator_objective(
            a, b, {"a": out.fake_a, "b": out.fake_b[:1]}
        )  # a pool may return fewer
        (out.losses["total"] + d_out["total"]).backward()
        totals.append((out.losses, d_out))
    for k, v in totals[1][0].items():
        torch.testing.assert_close(totals[0][0][k], v, msg=k)
    for k, v in totals[1][1].items():
        torch.testing.assert_close(totals[0][1][k], v, msg=k)
    for (name, p), q in zip(fused.named_parameters(), unfused.parameters(), strict=True):
        torch.testing.assert_close(p.grad, q.grad, msg=name)
    assert gen_calls == [4, 2]  # translation + identity in one pass, then the cycle
    assert disc_calls == [2, 4]  # the fake in the generator's loss; real + fake in one pass


def test_batch_coupled_networks_are_not_fused() -> None:
    fused, _ = _fused_and_unfused(
        {"name": "resnet_6blocks", "ngf": 4, "norm": "batch"},
        {"name": "patchgan", "ndf": 4, "norm": "batch"},
    )
    assert not per_sample(fused.G_ab) and not per_sample(fused.D_a)
    calls = _calls(fused.G_ab)
    a = torch.rand(2, 3, 32, 32, dtype=torch.float64)
    fused.generator_objective(a, a.flip(0))
    assert calls == [2, 2, 2]  # one pass per batch: batch statistics stay per batch


def test_per_sample_sees_spectral_norm_and_marked_layers() -> None:
    d = cyclegan_ms.from_config("discriminator", {"name": "patchgan", "ndf": 4})
    assert per_sample(d)
    torch.nn.utils.parametrizations.spectral_norm(d.head)
    assert not per_sample(d)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 3, 1))
    assert per_sample(net)
    net[0].batch_coupled = True  # type: ignore[assignment]
    assert not per_sample(net)


def test_fuse_passes_must_be_a_bool() -> None:
    with pytest.raises(TypeError, match="fuse_passes must be a bool"):
        CycleGAN("resnet_6blocks", "resnet_6blocks", "patchgan", "patchgan", fuse_passes=1)  # type: ignore[arg-type]


def test_discriminator_pass_is_fused_for_bf16_fakes_beside_fp32_reals() -> None:
    """Under autocast the classic generator returns bf16 fakes; the real and fake batches are
    still scored in one pass, with the same losses as two passes."""
    fused, unfused = _fused_and_unfused(
        {"name": "resnet_6blocks", "ngf": 4}, {"name": "patchgan", "ndf": 4}
    )
    fused, unfused = fused.float(), unfused.float()
    calls = _calls(fused.D_a)
    a, b = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)
    fake_a = torch.rand(2, 3, 32, 32).bfloat16()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        d1 = fused.discriminator_objective(a, b, {"a": fake_a, "b": b.bfloat16()})
        d2 = unfused.discriminator_objective(a, b, {"a": fake_a, "b": b.bfloat16()})
    assert calls == [4]
    for k in d2:
        torch.testing.assert_close(d1[k], d2[k], rtol=0.02, atol=1e-3, msg=k)
