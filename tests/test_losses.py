"""Adversarial losses, reconstruction losses, feature matching and gradient penalties."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from strategies import batch_sizes, channels
from torch import Tensor
from torch.func import functional_call

import cyclegan_ms as cms
import cyclegan_ms.losses as L
from cyclegan_ms import registry

NAMES = ("lsgan", "bce", "hinge", "wgan")
MODULES: dict[str, type[L.AdversarialLoss]] = {
    "lsgan": L.LSGANLoss,
    "bce": L.BCEGANLoss,
    "hinge": L.HingeGANLoss,
    "wgan": L.WGANLoss,
}
G_FNS: dict[str, Callable[..., Tensor]] = {
    "lsgan": L.lsgan_generator_loss,
    "bce": L.bce_generator_loss,
    "hinge": L.hinge_generator_loss,
    "wgan": L.wgan_generator_loss,
}
D_FNS: dict[str, Callable[..., Tensor]] = {
    "lsgan": L.lsgan_discriminator_loss,
    "bce": L.bce_discriminator_loss,
    "hinge": L.hinge_discriminator_loss,
    "wgan": L.wgan_discriminator_loss,
}


# ------------------------------------------------------------------------------------------
# strategies
# ------------------------------------------------------------------------------------------


@st.composite
def score_lists(draw: st.DrawFn, n_scales: int | None = None) -> list[Tensor]:
    """1-3 score maps ``(B, 1, h, w)`` of random float64 scores (same batch size)."""
    n = n_scales if n_scales is not None else draw(st.integers(1, 3))
    b = draw(batch_sizes)
    seed = draw(st.integers(0, 2**31 - 1))
    spread = draw(st.sampled_from([0.5, 1.0, 3.0]))
    gen = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n):
        h, w = draw(st.integers(1, 4)), draw(st.integers(1, 4))
        out.append(torch.randn(b, 1, h, w, generator=gen, dtype=torch.float64) * spread)
    return out


weights_st = st.floats(0.0, 3.0, allow_nan=False, allow_infinity=False)


def _leaf(scores: list[Tensor]) -> list[Tensor]:
    return [s.detach().clone().requires_grad_(True) for s in scores]


# ------------------------------------------------------------------------------------------
# registry and module/function agreement
# ------------------------------------------------------------------------------------------


def test_parts_are_registered() -> None:
    assert set(NAMES) <= set(cms.available("adversarial_loss"))
    assert {"l1", "l2", "smooth_l1"} <= set(cms.available("reconstruction_loss"))
    assert {"wgan_gp", "r1"} <= set(cms.available("penalty"))
    for name, cls in MODULES.items():
        loss = cms.build("adversarial_loss", name, scale_weights=[1.0, 0.5])
        assert type(loss) is cls
        assert loss.scale_weights == (1.0, 0.5)
        assert cms.config_of(loss) == {"name": name, "scale_weights": [1.0, 0.5]}
        assert list(loss.parameters()) == []


@pytest.mark.parametrize("name", NAMES)
@given(data=st.data())
def test_module_matches_functions(name: str, data: st.DataObject) -> None:
    fake = data.draw(score_lists())
    real = data.draw(score_lists(n_scales=len(fake)))
    weights = tuple(data.draw(st.lists(weights_st, min_size=len(fake), max_size=len(fake))))
    module = MODULES[name](scale_weights=weights)
    torch.testing.assert_close(
        module.generator(fake), G_FNS[name](fake, scale_weights=weights), rtol=0, atol=0
    )
    torch.testing.assert_close(
        module.discriminator(real, fake),
        D_FNS[name](real, fake, scale_weights=weights),
        rtol=0,
        atol=0,
    )


def test_module_matches_functions_with_labels() -> None:
    real, fake = [torch.randn(2, 1, 4, 4)], [torch.randn(2, 1, 4, 4)]
    ls = L.LSGANLoss(real_label=0.9, fake_label=0.2)
    assert torch.equal(ls.generator(fake), L.lsgan_generator_loss(fake, real_label=0.9))
    assert torch.equal(
        ls.discriminator(real, fake),
        L.lsgan_discriminator_loss(real, fake, real_label=0.9, fake_label=0.2),
    )
    bce = L.BCEGANLoss(real_label=0.9, fake_label=0.1)
    assert torch.equal(bce.generator(fake), L.bce_generator_loss(fake, real_label=0.9))
    assert torch.equal(
        bce.discriminator(real, fake),
        L.bce_discriminator_loss(real, fake, real_label=0.9, fake_label=0.1),
    )


@pytest.mark.parametrize("name", sorted(cms.available("adversarial_loss")))
def test_every_registered_adversarial_loss_reduces_a_list(name: str) -> None:
    loss = cms.build("adversarial_loss", name)
    real = _leaf([torch.randn(2, 1, 8, 8), torch.randn(2, 1, 4, 4)])
    fake = _leaf([torch.randn(2, 1, 8, 8), torch.randn(2, 1, 4, 4)])
    g, d = loss.generator(fake), loss.discriminator(real, fake)
    for value in (g, d):
        assert value.shape == () and torch.isfinite(value)
    assert all(gr.abs().sum() > 0 for gr in torch.autograd.grad(g, fake))
    assert all(gr.abs().sum() > 0 for gr in torch.autograd.grad(d, real + fake))


# ------------------------------------------------------------------------------------------
# scales and weights
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
@given(data=st.data())
def test_multi_scale_is_weighted_sum_of_single_scales(name: str, data: st.DataObject) -> None:
    fake = data.draw(score_lists())
    real = data.draw(score_lists(n_scales=len(fake)))
    weights = data.draw(st.lists(weights_st, min_size=len(fake), max_size=len(fake)))
    g = G_FNS[name](fake, scale_weights=weights)
    d = D_FNS[name](real, fake, scale_weights=weights)
    g_ref = sum(w * G_FNS[name]([f]) for w, f in zip(weights, fake, strict=True))
    d_ref = sum(w * D_FNS[name]([r], [f]) for w, r, f in zip(weights, real, fake, strict=True))
    torch.testing.assert_close(g, torch.as_tensor(g_ref, dtype=g.dtype))
    torch.testing.assert_close(d, torch.as_tensor(d_ref, dtype=d.dtype))
    # default weights are 1 per scale (the seed)
    torch.testing.assert_close(
        G_FNS[name](fake), G_FNS[name](fake, scale_weights=[1.0] * len(fake))
    )


def test_each_scale_contributes_its_own_mean() -> None:
    # a pooled mean over all elements would give (1024 * 1 + 64 * 0) / 1088 ~ 0.94, not 1
    fake = [torch.zeros(1, 1, 32, 32), torch.ones(1, 1, 8, 8)]
    assert float(L.lsgan_generator_loss(fake)) == pytest.approx(1.0)
    assert float(L.lsgan_generator_loss(fake, scale_weights=(0.5, 2.0))) == pytest.approx(0.5)


@pytest.mark.parametrize("name", NAMES)
def test_a_tensor_is_a_single_scale(name: str) -> None:
    real, fake = torch.randn(2, 1, 4, 4), torch.randn(2, 1, 4, 4)
    assert torch.equal(G_FNS[name](fake), G_FNS[name]([fake]))
    assert torch.equal(D_FNS[name](real, fake), D_FNS[name]([real], [fake]))


@pytest.mark.parametrize("name", NAMES)
def test_scale_weight_length_mismatch_raises(name: str) -> None:
    scores = [torch.randn(1, 1, 4, 4), torch.randn(1, 1, 2, 2), torch.randn(1, 1, 1, 1)]
    loss = MODULES[name](scale_weights=(1.0, 1.0))
    with pytest.raises(ValueError, match=r"scale_weights has 2 weight\(s\) but .* has 3 score"):
        loss.generator(scores)
    with pytest.raises(ValueError, match=r"scale_weights has 2 weight\(s\)"):
        loss.discriminator(scores, scores)
    with pytest.raises(ValueError, match=r"real_scores has 3 score map\(s\) but fake_scores has 2"):
        MODULES[name]().discriminator(scores, scores[:2])
    with pytest.raises(ValueError, match="empty list"):
        MODULES[name]().generator([])


@pytest.mark.parametrize(
    ("weights", "match"),
    [
        ((1.0, -1.0), r"scale_weights\[1\] must be finite and >= 0"),
        ((float("nan"),), r"scale_weights\[0\] must be finite"),
        ((), "at least one weight"),
        (("a",), r"scale_weights\[0\] must be a number"),
        ("11", "tuple of floats"),
    ],
)
def test_bad_scale_weights_raise(weights: object, match: str) -> None:
    for cls in MODULES.values():
        with pytest.raises(ValueError, match=match):
            cls(scale_weights=weights)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=match):
        L.lsgan_generator_loss([torch.zeros(1, 1, 2, 2)], scale_weights=weights)  # type: ignore[arg-type]


def test_bad_scores_and_labels_raise() -> None:
    with pytest.raises(TypeError, match="list of score maps"):
        L.lsgan_generator_loss({"a": torch.zeros(1)})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"fake_scores\[1\] must be a Tensor"):
        L.hinge_generator_loss([torch.zeros(1, 1, 2, 2), 3.0])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="floating-point"):
        L.wgan_generator_loss([torch.zeros(1, 1, 2, 2, dtype=torch.long)])
    with pytest.raises(ValueError, match="must differ"):
        L.LSGANLoss(real_label=0.5, fake_label=0.5)
    with pytest.raises(ValueError, match="finite"):
        L.LSGANLoss(real_label=float("inf"))
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        L.BCEGANLoss(real_label=1.5)
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        L.bce_discriminator_loss([torch.zeros(1)], [torch.zeros(1)], fake_label=-0.1)
    with pytest.raises(TypeError, match="unexpected argument 'scale_weight'"):
        cms.build("adversarial_loss", "lsgan", scale_weight=(1.0,))


def test_half_precision_scores_are_upcast() -> None:
    fake = [torch.randn(2, 1, 4, 4).to(torch.bfloat16)]
    real = [torch.randn(2, 1, 4, 4).to(torch.float16)]
    for name in NAMES:
        assert G_FNS[name](fake).dtype == torch.float32
        d = D_FNS[name](real, fake)
        assert d.dtype == torch.float32 and torch.isfinite(d)


# ------------------------------------------------------------------------------------------
# least squares (the seed's)
# ------------------------------------------------------------------------------------------


def test_lsgan_zero_at_targets_and_discriminator_terms_are_summed() -> None:
    ones = [torch.ones(2, 1, 8, 8), torch.ones(2, 1, 4, 4), torch.ones(2, 1, 2, 2)]
    zeros = [torch.zeros_like(s) for s in ones]
    assert float(L.lsgan_generator_loss(ones)) == 0.0
    assert float(L.lsgan_discriminator_loss(ones, zeros)) == 0.0
    # real scored 0 and fake scored 1: each term is 1, summed (not halved), 3 scales of weight 1
    assert float(L.lsgan_discriminator_loss(zeros, ones)) == pytest.approx(6.0)
    assert float(L.lsgan_generator_loss(zeros)) == pytest.approx(3.0)
    custom = L.LSGANLoss(real_label=0.9, fake_label=-0.5)
    real = [torch.full((1, 1, 4, 4), 0.9)]
    fake = [torch.full((1, 1, 4, 4), -0.5)]
    assert float(custom.discriminator(real, fake)) == pytest.approx(0.0, abs=1e-12)
    assert float(custom.generator(real)) == pytest.approx(0.0, abs=1e-12)
    torch.testing.assert_close(
        L.lsgan_discriminator_loss(
            [torch.full((1, 1, 2, 2), 0.5)], [torch.full((1, 1, 2, 2), 0.25)]
        ),
        torch.tensor(0.25 + 0.0625),
    )


@given(
    real=score_lists(n_scales=2),
    fake=score_lists(n_scales=2),
    t=st.floats(0.05, 1.0),
)
def test_lsgan_discriminator_loss_decreases_as_scores_move_to_targets(
    real: list[Tensor], fake: list[Tensor], t: float
) -> None:
    base = L.lsgan_discriminator_loss(real, fake)
    closer_real = [r + t * (1.0 - r) for r in real]
    closer_fake = [f + t * (0.0 - f) for f in fake]
    assert L.lsgan_discriminator_loss(closer_real, fake) < base
    assert L.lsgan_discriminator_loss(real, closer_fake) < base
    assert L.lsgan_generator_loss([f + t * (1.0 - f) for f in fake]) < L.lsgan_generator_loss(fake)


def _grads(loss: Tensor, scores: list[Tensor]) -> list[Tensor]:
    return list(torch.autograd.grad(loss, scores))


@given(fake=score_lists(), real=score_lists())
def test_generator_gradients_push_fake_scores_toward_real(
    fake: list[Tensor], real: list[Tensor]
) -> None:
    fake = _leaf(fake)
    # lsgan: descent moves every score toward the real label 1
    for f, g in zip(fake, _grads(L.lsgan_generator_loss(fake), fake), strict=True):
        step = -g
        assert torch.all(step * (1.0 - f) >= 0)
        assert torch.all((step != 0) | (f == 1.0))
    # bce, hinge, wgan: descent raises every fake score
    for name in ("bce", "hinge", "wgan"):
        for g in _grads(G_FNS[name](fake), fake):
            assert torch.all(-g > 0), name


@given(real=score_lists(n_scales=1), fake=score_lists(n_scales=1))
def test_discriminator_gradients_separate_real_from_fake(
    real: list[Tensor], fake: list[Tensor]
) -> None:
    real, fake = _leaf(real), _leaf(fake)
    r, f = real[0], fake[0]
    gr, gf = _grads(L.lsgan_discriminator_loss(real, fake), [r, f])
    assert torch.all(-gr * (1.0 - r) >= 0) and torch.all(-gf * (0.0 - f) >= 0)
    gr, gf = _grads(L.bce_discriminator_loss(real, fake), [r, f])
    assert torch.all(-gr > 0) and torch.all(-gf < 0)
    gr, gf = _grads(L.wgan_discriminator_loss(real, fake), [r, f])
    assert torch.all(-gr > 0) and torch.all(-gf < 0)
    gr, gf = _grads(L.hinge_discriminator_loss(real, fake), [r, f])
    assert torch.all(-gr[r < 1] > 0) and torch.all(gr[r > 1] == 0)
    assert torch.all(-gf[f > -1] < 0) and torch.all(gf[f < -1] == 0)


# ------------------------------------------------------------------------------------------
# bce, hinge, wgan values
# ------------------------------------------------------------------------------------------


@given(real=score_lists(n_scales=1), fake=score_lists(n_scales=1))
def test_bce_matches_softplus_form(real: list[Tensor], fake: list[Tensor]) -> None:
    torch.testing.assert_close(L.bce_generator_loss(fake), F.softplus(-fake[0]).mean())
    torch.testing.assert_close(
        L.bce_discriminator_loss(real, fake),
        F.softplus(-real[0]).mean() + F.softplus(fake[0]).mean(),
    )


def test_bce_minimal_when_confident_and_log2_at_zero() -> None:
    big = [torch.full((2, 1, 4, 4), 40.0, dtype=torch.float64)]
    small = [torch.full((2, 1, 4, 4), -40.0, dtype=torch.float64)]
    assert float(L.bce_discriminator_loss(big, small)) < 1e-15
    assert float(L.bce_generator_loss(big)) < 1e-15
    zero = [torch.zeros(1, 1, 2, 2)]
    assert float(L.bce_discriminator_loss(zero, zero)) == pytest.approx(2 * math.log(2))
    smoothed = L.BCEGANLoss(real_label=0.9)
    # with label smoothing the minimum over the real logit is at logit(0.9), not at +inf
    at_opt = smoothed.discriminator([torch.full((1, 1, 1, 1), math.log(9.0))], small)
    beyond = smoothed.discriminator([torch.full((1, 1, 1, 1), 10.0)], small)
    assert at_opt < beyond


def test_hinge_zero_beyond_margins_and_nonnegative() -> None:
    real = [torch.tensor([1.0, 2.0, 5.0]).view(3, 1, 1, 1)]
    fake = [torch.tensor([-1.0, -3.0, -7.0]).view(3, 1, 1, 1)]
    assert float(L.hinge_discriminator_loss(real, fake)) == 0.0
    assert float(L.hinge_discriminator_loss(fake, real)) == pytest.approx(
        (2 + 4 + 8) / 3 + (2 + 3 + 6) / 3
    )
    assert float(L.hinge_generator_loss(fake)) == pytest.approx(11 / 3)


@given(real=score_lists(n_scales=2), fake=score_lists(n_scales=2))
def test_wgan_is_antisymmetric_difference_of_means(real: list[Tensor], fake: list[Tensor]) -> None:
    d = L.wgan_discriminator_loss(real, fake)
    torch.testing.assert_close(d, -L.wgan_discriminator_loss(fake, real))
    torch.testing.assert_close(d, sum(f.mean() - r.mean() for r, f in zip(real, fake, strict=True)))
    torch.testing.assert_close(L.wgan_generator_loss(fake), -(fake[0].mean() + fake[1].mean()))
    assert float(L.hinge_discriminator_loss(real, fake)) >= 0.0


# ------------------------------------------------------------------------------------------
# reconstruction
# ------------------------------------------------------------------------------------------

REC_FNS: dict[str, Callable[..., Tensor]] = {
    "l1": L.l1_loss,
    "l2": L.l2_loss,
    "smooth_l1": L.smooth_l1_loss,
}


@pytest.mark.parametrize("name", sorted(REC_FNS))
@given(b=batch_sizes, c=channels, seed=st.integers(0, 2**31 - 1))
def test_reconstruction_module_matches_function_and_is_zero_on_equal(
    name: str, b: int, c: int, seed: int
) -> None:
    gen = torch.Generator().manual_seed(seed)
    out = torch.rand(b, c, 8, 8, generator=gen)
    target = torch.rand(b, c, 8, 8, generator=gen)
    for reduction in ("mean", "sum", "none"):
        module = cms.build("reconstruction_loss", name, reduction=reduction)
        value = module(out, target)
        assert torch.equal(value, REC_FNS[name](out, target, reduction=reduction))
        assert value.shape == (() if reduction != "none" else out.shape)
        assert torch.all(module(out, out.clone()) == 0)
    assert float(REC_FNS[name](out, target)) > 0


def test_reconstruction_values() -> None:
    out, target = torch.zeros(1, 1, 1, 4), torch.tensor([[[[0.5, -1.0, 2.0, 0.0]]]])
    assert float(L.l1_loss(out, target)) == pytest.approx(3.5 / 4)
    assert float(L.l1_loss(out, target, reduction="sum")) == pytest.approx(3.5)
    assert float(L.l2_loss(out, target)) == pytest.approx((0.25 + 1 + 4) / 4)
    # quadratic below beta (0.5 d^2 / beta), linear above (|d| - 0.5 beta)
    expected = (0.5 * 0.25 / 1.0 + 0.5 * 1.0 + (2.0 - 0.5) + 0.0) / 4
    assert float(L.smooth_l1_loss(out, target)) == pytest.approx(expected)
    assert float(L.smooth_l1_loss(out, target, beta=0.0)) == pytest.approx(3.5 / 4)
    # half precision is upcast
    assert L.l1_loss(out.half(), target.half()).dtype == torch.float32


def test_reconstruction_errors() -> None:
    x = torch.zeros(1, 3, 4, 4)
    with pytest.raises(
        ValueError, match="unknown reduction 'avg'; accepted: 'mean', 'sum', 'none'"
    ):
        L.l1_loss(x, x, reduction="avg")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown reduction"):
        L.L2Loss(reduction="batchmean")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"same shape \(no broadcasting\)"):
        L.l2_loss(x, torch.zeros(1, 1, 4, 4))
    with pytest.raises(ValueError, match="beta must be >= 0"):
        L.SmoothL1Loss(beta=-1.0)
    with pytest.raises(TypeError, match="floating-point"):
        L.l1_loss(x.long(), x.long())


def test_user_registered_reconstruction_loss_is_built_the_same() -> None:
    name = "test_user_charbonnier"

    @cms.register("reconstruction_loss", name)
    class Charbonnier(nn.Module):
        def __init__(self, *, eps: float = 1e-3) -> None:
            super().__init__()
            self.eps = eps

        def forward(self, output: Tensor, target: Tensor) -> Tensor:
            return torch.sqrt((output - target) ** 2 + self.eps**2).mean()

    try:
        loss = cms.build("reconstruction_loss", name, eps=0.5)
        x = torch.zeros(2, 3, 4, 4)
        assert float(loss(x, x)) == pytest.approx(0.5)
        assert cms.config_of(loss) == {"name": name, "eps": 0.5}
    finally:
        registry._REGISTRY["reconstruction_loss"].pop(name)


def test_feature_matching() -> None:
    real = [
        torch.randn(2, 4, 8, 8, requires_grad=True),
        torch.randn(2, 8, 4, 4, requires_grad=True),
    ]
    fake = [
        torch.randn(2, 4, 8, 8, requires_grad=True),
        torch.randn(2, 8, 4, 4, requires_grad=True),
    ]
    assert float(L.feature_matching_loss(real, [r.detach().clone() for r in real])) == 0.0
    value = L.feature_matching_loss(real, fake)
    expected = sum((f - r).abs().mean() for r, f in zip(real, fake, strict=True)) / 2
    torch.testing.assert_close(value, expected)
    torch.testing.assert_close(L.FeatureMatchingLoss()(real, fake), value)
    weighted = L.feature_matching_loss(real, fake, layer_weights=(1.0, 0.0))
    torch.testing.assert_close(weighted, (fake[0] - real[0]).abs().mean())
    value.backward()
    assert all(r.grad is None for r in real)  # real features are detached
    assert all(f.grad is not None and f.grad.abs().sum() > 0 for f in fake)


def test_feature_matching_errors() -> None:
    a = [torch.zeros(1, 2, 4, 4)]
    with pytest.raises(ValueError, match=r"real_features has 1 layer\(s\) but fake_features has 2"):
        L.feature_matching_loss(a, a + a)
    with pytest.raises(ValueError, match="feature layer 0: real has shape"):
        L.feature_matching_loss(a, [torch.zeros(1, 2, 2, 2)])
    with pytest.raises(ValueError, match="is empty"):
        L.feature_matching_loss([], [])
    with pytest.raises(ValueError, match=r"layer_weights has 2 weight\(s\) but there are 1"):
        L.feature_matching_loss(a, a, layer_weights=(1.0, 1.0))
    with pytest.raises(ValueError, match="finite and >= 0"):
        L.FeatureMatchingLoss(layer_weights=(-1.0,))


# ------------------------------------------------------------------------------------------
# penalties
# ------------------------------------------------------------------------------------------


class LinearD(nn.Module):
    """``D(x) = <w, x> + b`` per sample: its input gradient is ``w`` everywhere."""

    def __init__(self, shape: tuple[int, int, int], scale: float) -> None:
        super().__init__()
        self.conv = nn.Conv2d(shape[0], 1, kernel_size=shape[1:], bias=True).double()
        with torch.no_grad():
            self.conv.weight.normal_().mul_(scale)

    def forward(self, x: Tensor) -> list[Tensor]:
        return [self.conv(x)]


class TinyD(nn.Module):
    """Two-scale nonlinear discriminator (float64)."""

    def __init__(self) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(1, 3, 3, padding=1).double()
        self.c2 = nn.Conv2d(3, 1, 3, padding=1).double()
        self.c3 = nn.Conv2d(3, 1, 2, stride=2).double()

    def forward(self, x: Tensor) -> list[Tensor]:
        h = torch.tanh(self.c1(x))
        return [self.c2(h) ** 2, torch.sin(self.c3(h))]


def _fd_grad_norms(d: nn.Module, x: Tensor, scale: int, eps: float = 1e-6) -> Tensor:
    """Per-sample norm of d sum(D_s(x_i)) / d x_i by central finite differences."""
    grads = torch.zeros_like(x)
    flat = grads.view(-1)
    with torch.no_grad():
        for k in range(x.numel()):
            xp, xm = x.clone(), x.clone()
            xp.view(-1)[k] += eps
            xm.view(-1)[k] -= eps
            sp, sm = d(xp)[scale], d(xm)[scale]
            i = k // x[0].numel()
            flat[k] = (sp[i].sum() - sm[i].sum()) / (2 * eps)
    return grads.flatten(1).norm(dim=1)


def test_gradient_penalty_exact_on_linear_discriminator() -> None:
    d = LinearD((2, 4, 4), scale=0.3)
    real = torch.rand(3, 2, 4, 4, dtype=torch.float64)
    fake = torch.rand(3, 2, 4, 4, dtype=torch.float64)
    wnorm = float(d.conv.weight.detach().norm())
    gp = L.gradient_penalty(d, real, fake, weight=10.0)
    assert float(gp.detach()) == pytest.approx(10.0 * (wnorm - 1.0) ** 2, rel=1e-12)
    gp0 = L.gradient_penalty(d, real, fake, weight=2.0, target_norm=0.0)
    assert float(gp0.detach()) == pytest.approx(2.0 * wnorm**2, rel=1e-12)
    with torch.no_grad():
        d.conv.weight.div_(wnorm)  # a unit-norm gradient: no penalty
    assert float(L.gradient_penalty(d, real, fake).detach()) == pytest.approx(0.0, abs=1e-20)
    assert float(L.r1_penalty(d, real, gamma=1.0).detach()) == pytest.approx(0.5, rel=1e-12)


def test_gradient_and_r1_penalties_match_finite_differences() -> None:
    d = TinyD()
    x = torch.randn(2, 1, 4, 4, dtype=torch.float64)
    norms = [_fd_grad_norms(d, x, s) for s in (0, 1)]
    # real == fake: the interpolate is x whatever the random coefficient
    gp = L.gradient_penalty(d, x, x.clone(), weight=3.0, scale_weights=(1.0, 0.25))
    expected = 3.0 * ((norms[0] - 1).square().mean() + 0.25 * (norms[1] - 1).square().mean())
    torch.testing.assert_close(gp, expected, rtol=1e-7, atol=1e-10)
    r1 = L.r1_penalty(d, x, gamma=4.0, scale_weights=(0.5, 1.0))
    expected_r1 = 2.0 * (0.5 * norms[0].square().mean() + norms[1].square().mean())
    torch.testing.assert_close(r1, expected_r1, rtol=1e-7, atol=1e-10)


def test_gradient_penalty_interpolates_per_sample() -> None:
    class Quadratic(nn.Module):
        def forward(self, x: Tensor) -> list[Tensor]:
            return [0.5 * x.square().sum(dim=(1, 2, 3), keepdim=True)]  # grad = x

    real = torch.ones(4, 1, 2, 2, dtype=torch.float64)  # ||real_i|| = 2
    fake = torch.zeros_like(real)
    gp = L.gradient_penalty(
        Quadratic(), real, fake, weight=1.0, generator=torch.Generator().manual_seed(7)
    )
    alpha = torch.rand(4, generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    torch.testing.assert_close(gp, (2.0 * alpha - 1.0).square().mean())
    again = L.gradient_penalty(Quadratic(), real, fake, generator=torch.Generator().manual_seed(7))
    other = L.gradient_penalty(Quadratic(), real, fake, generator=torch.Generator().manual_seed(8))
    assert torch.equal(again, 10.0 * gp) and not torch.equal(again, other)


def test_penalties_double_backward() -> None:
    d = TinyD()
    x = torch.randn(2, 1, 4, 4, dtype=torch.float64)
    y = torch.randn(2, 1, 4, 4, dtype=torch.float64)
    w = d.c1.weight.detach().clone().requires_grad_(True)

    def with_weight(weight: Tensor) -> Callable[[Tensor], list[Tensor]]:
        return lambda inp: functional_call(d, {"c1.weight": weight}, (inp,))

    def gp_of(weight: Tensor) -> Tensor:
        gen = torch.Generator().manual_seed(0)
        return L.gradient_penalty(with_weight(weight), x, y, generator=gen)

    def r1_of(weight: Tensor) -> Tensor:
        return L.r1_penalty(with_weight(weight), x)

    # the penalties' gradients w.r.t. D's parameters (double backward) match finite differences
    assert torch.autograd.gradcheck(gp_of, (w,), eps=1e-6, atol=1e-5)
    assert torch.autograd.gradcheck(r1_of, (w,), eps=1e-6, atol=1e-5)
    # through an ordinary module the penalty's gradient reaches every parameter of D
    for penalty in (L.GradientPenalty(seed=0), L.R1Penalty()):
        d.zero_grad()
        penalty(d, x, y).backward()
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in d.parameters())


def test_penalties_sum_over_scales() -> None:
    d = TinyD()
    x = torch.randn(2, 1, 4, 4, dtype=torch.float64)
    y = torch.randn(2, 1, 4, 4, dtype=torch.float64)

    def scale(s: int) -> Callable[[Tensor], list[Tensor]]:
        return lambda inp: [d(inp)[s]]

    def gen() -> torch.Generator:
        return torch.Generator().manual_seed(3)

    both = L.gradient_penalty(d, x, y, scale_weights=(2.0, 0.5), generator=gen())
    parts = 2.0 * L.gradient_penalty(scale(0), x, y, generator=gen()) + 0.5 * L.gradient_penalty(
        scale(1), x, y, generator=gen()
    )
    torch.testing.assert_close(both, parts)
    torch.testing.assert_close(
        L.r1_penalty(d, x), L.r1_penalty(scale(0), x) + L.r1_penalty(scale(1), x)
    )
    with pytest.raises(ValueError, match=r"scale_weights has 1 weight\(s\) but the discriminator"):
        L.r1_penalty(d, x, scale_weights=(1.0,))


def test_penalties_train_only_the_discriminator() -> None:
    d = TinyD()
    g = nn.Conv2d(1, 1, 3, padding=1).double()
    real = torch.randn(2, 1, 4, 4, dtype=torch.float64)
    fake = g(torch.randn(2, 1, 4, 4, dtype=torch.float64))  # not detached by the caller
    (L.gradient_penalty(d, real, fake) + L.r1_penalty(d, fake)).backward()
    assert all(p.grad is None for p in g.parameters())
    assert all(p.grad is not None for p in d.parameters())


def test_penalty_modules_match_functions_and_resume_the_random_stream() -> None:
    d = TinyD()
    x = torch.randn(3, 1, 4, 4, dtype=torch.float64)
    y = torch.randn(3, 1, 4, 4, dtype=torch.float64)
    module = cms.build("penalty", "wgan_gp", weight=2.0, scale_weights=[1.0, 3.0], seed=11)
    value = module(d, x, y)
    expected = L.gradient_penalty(
        d, x, y, weight=2.0, scale_weights=(1.0, 3.0), generator=torch.Generator().manual_seed(11)
    )
    torch.testing.assert_close(value, expected, rtol=0, atol=0)
    torch.testing.assert_close(
        cms.build("penalty", "r1", gamma=3.0)(d, x, y), L.r1_penalty(d, x, gamma=3.0)
    )

    state = module.state_dict()
    resumed = L.GradientPenalty(weight=2.0, scale_weights=(1.0, 3.0), seed=999)
    assert not torch.equal(resumed(d, x, y), module(d, x, y))  # different streams...
    resumed.load_state_dict(state)
    module.load_state_dict(state)
    for _ in range(3):  # ...until the saved state is loaded
        assert torch.equal(resumed(d, x, y), module(d, x, y))

    torch.manual_seed(5)
    a = L.GradientPenalty()
    torch.manual_seed(5)
    b = L.GradientPenalty()
    assert torch.equal(a(d, x, y), b(d, x, y))  # seed=None follows torch.manual_seed


def test_penalty_errors() -> None:
    d = TinyD()
    x = torch.randn(2, 1, 4, 4, dtype=torch.float64)
    with pytest.raises(ValueError, match="real and fake must have the same shape"):
        L.gradient_penalty(d, x, torch.randn(2, 1, 8, 8, dtype=torch.float64))
    with pytest.raises(ValueError, match="weight must be >= 0"):
        L.GradientPenalty(weight=-1.0)
    with pytest.raises(ValueError, match="target_norm must be a finite number"):
        L.gradient_penalty(d, x, x, target_norm=float("nan"))
    with pytest.raises(ValueError, match="gamma must be >= 0"):
        L.R1Penalty(gamma=-0.1)
    with pytest.raises(ValueError, match=r"seed must be an int in \[0, 2\*\*63\)"):
        L.GradientPenalty(seed=-1)
    with pytest.raises(ValueError, match="non-empty batch"):
        L.r1_penalty(d, torch.zeros(0, 1, 4, 4))
    with pytest.raises(TypeError, match="list of score maps"):
        L.r1_penalty(lambda inp: {"s": inp}, x)  # type: ignore[arg-type,return-value]


def test_wgan_generator_loss_is_the_hinge_generator_loss() -> None:
    fake = [torch.randn(2, 1, 8, 8), torch.randn(2, 1, 4, 4)]
    for weights in (None, (0.3, 2.0)):
        assert torch.equal(
            L.wgan_generator_loss(fake, scale_weights=weights),
            L.hinge_generator_loss(fake, scale_weights=weights),
        )


def test_loss_module_reprs() -> None:
    assert repr(L.LSGANLoss()) == "LSGANLoss(scale_weights=None, real_label=1.0, fake_label=0.0)"
    assert (
        repr(L.BCEGANLoss(scale_weights=(1, 2), real_label=0.9))
        == "BCEGANLoss(scale_weights=(1.0, 2.0), real_label=0.9, fake_label=0.0)"
    )
    assert repr(L.HingeGANLoss()) == "HingeGANLoss(scale_weights=None)"
    assert repr(L.WGANLoss(scale_weights=[0.5])) == "WGANLoss(scale_weights=(0.5,))"
    assert repr(L.L2Loss(reduction="sum")) == "L2Loss(reduction='sum')"
    assert repr(L.SmoothL1Loss(beta=2)) == "SmoothL1Loss(beta=2.0, reduction='mean')"
    assert repr(L.R1Penalty(gamma=1)) == "R1Penalty(gamma=1.0, scale_weights=None)"


def test_argument_messages_of_the_losses() -> None:
    with pytest.raises(
        ValueError, match=r"^real_label must be in \[0, 1\] \(a BCE target probability\); got 2$"
    ):
        L.BCEGANLoss(real_label=2)
    with pytest.raises(ValueError, match=r"^fake_label must be a finite number; got nan$"):
        L.lsgan_discriminator_loss([torch.ones(1)], [torch.ones(1)], fake_label=float("nan"))
    with pytest.raises(ValueError, match=r"^real_label must be a finite number; got True$"):
        L.LSGANLoss(real_label=True)
    with pytest.raises(ValueError, match=r"^beta must be >= 0 \(0 gives plain L1\); got -1$"):
        L.SmoothL1Loss(beta=-1)
    with pytest.raises(ValueError, match=r"^beta must be a finite number >= 0; got inf$"):
        L.smooth_l1_loss(torch.ones(2), torch.ones(2), beta=float("inf"))
    with pytest.raises(ValueError, match=r"^unknown reduction 'x'"):
        L.SmoothL1Loss(beta=1, reduction="x")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^gamma must be a finite number >= 0; got 'a'$"):
        L.r1_penalty(TinyD(), torch.randn(2, 1, 4, 4), gamma="a")  # type: ignore[arg-type]
    with pytest.raises(
        ValueError, match=r"^seed must be an int in \[0, 2\*\*63\) or None; got 2\.0$"
    ):
        L.GradientPenalty(seed=2.0)  # type: ignore[arg-type]


# ------------------------------------------------------------------ colour moments
def test_colour_moment_loss_is_zero_for_equal_statistics_and_ignores_layout() -> None:
    from cyclegan_ms.losses import colour_moment_loss

    x = torch.rand(3, 3, 8, 8)
    shuffled = (
        x.flatten(2)[:, :, torch.randperm(64)].view_as(x).flip(0)
    )  # same values, other places
    assert float(colour_moment_loss(shuffled, x)) == pytest.approx(0.0, abs=1e-6)


def test_colour_moment_loss_values_and_gradient_direction() -> None:
    from cyclegan_ms.losses import channel_moments, colour_moment_loss

    real = torch.rand(5, 3, 6, 6)  # another batch size and size than the fake
    fake = (torch.rand(2, 3, 8, 8) * 0.1).requires_grad_(True)
    mf, sf = channel_moments(fake.detach())
    mr, sr = channel_moments(real)
    expected = (mf - mr).abs().mean() + (sf - sr).abs().mean()
    loss = colour_moment_loss(fake, real)
    torch.testing.assert_close(loss, expected)
    loss.backward()
    assert fake.grad is not None and float(fake.grad.sum()) < 0  # too dark: descent brightens
    assert float(mf.mean()) < float(mr.mean())


def test_colour_moment_loss_rejects_mismatched_shapes() -> None:
    from cyclegan_ms.losses import colour_moment_loss

    with pytest.raises(ValueError, match="same channel count"):
        colour_moment_loss(torch.rand(1, 3, 4, 4), torch.rand(1, 1, 4, 4))
    with pytest.raises(ValueError, match="B, C, H, W"):
        colour_moment_loss(torch.rand(3, 4, 4), torch.rand(1, 3, 4, 4))
