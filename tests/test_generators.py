"""Family-specific facts about the generators (the registry-wide checks live elsewhere)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from strategies import batch_sizes, channels, multiples_of
from torch import Tensor

import cyclegan_ms as cms
from cyclegan_ms.generators import (
    ConvBottleneck,
    DecoderStep,
    DenseBottleneck,
    Generator,
    ResnetGenerator,
    SeedUNet,
    UnetGenerator,
)
from cyclegan_ms.layers import KerasSameConvTranspose2d, SubsampleConv1x1


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


# --------------------------------------------------------------------------------------------
# Parameter counts
# --------------------------------------------------------------------------------------------


def seed_unet_count(
    c_in: int = 3, c_out: int = 3, f: int = 16, depth: int = 5, size: int = 256, latent: int = 128
) -> int:
    """The seed generator's count, from DESIGN.md §1 (Keras layers all have biases)."""

    def block(i: int, w: int) -> int:  # 3 × (5×5 conv + GN) and a 1×1 branch + GN
        return (i * w * 25 + w) + 2 * (w * w * 25 + w) + (i * w + w) + 4 * 2 * w

    widths = [f * 2**i for i in range(depth)]
    total, c = 0, c_in
    for w in widths:  # encoder: block + 1×1 stride-2 conv
        total += block(c, w) + w * w + w
        c = w
    flat = c * (size // 2**depth) ** 2
    total += flat * latent + latent + latent * flat + flat  # dense bottleneck
    for w in reversed(widths):  # decoder: 5×5 transposed conv + block
        total += c * w * 25 + w + block(w, w)
        c = w
    total += widths[-1] * f * 25 + f + 2 * f  # fusion transposed conv + GroupNorm
    return total + 2 * f * c_out * 25 + c_out  # head


def reference_unet_count(num_downs: int, ngf: int = 64, c_in: int = 3, c_out: int = 3) -> int:
    """pix2pix ``UnetGenerator`` with non-affine instance norm (so every conv has a bias).

    Levels from the outside in: outermost ``(c_in -> ngf, 2ngf -> c_out)``, then
    ``(ngf, 2ngf)``, ``(2ngf, 4ngf)``, ``(4ngf, 8ngf)``, ``num_downs - 5`` levels ``(8ngf, 8ngf)``
    whose up conv sees the concat ``16ngf``, and the innermost ``(8ngf, 8ngf)`` without concat.
    Every conv is 4×4.
    """
    k = 16
    total = (c_in * ngf * k + ngf) + (2 * ngf * c_out * k + c_out)
    for outer, inner in [(ngf, 2 * ngf), (2 * ngf, 4 * ngf), (4 * ngf, 8 * ngf)]:
        total += (outer * inner * k + inner) + (2 * inner * outer * k + outer)
    g8 = 8 * ngf
    total += (num_downs - 5) * ((g8 * g8 * k + g8) + (2 * g8 * g8 * k + g8))
    return total + (g8 * g8 * k + g8) + (g8 * g8 * k + g8)


def test_seed_unet_has_the_seed_parameter_count() -> None:
    G = cms.build("generator", "seed_unet")
    assert n_params(G) == 19_274_323 == seed_unet_count()
    assert n_params(G.bottleneck) == 4_210_816
    assert G.fixed_size == 256 and G.size_multiple == 32


def test_resnet_parameter_counts() -> None:
    assert n_params(cms.build("generator", "resnet_9blocks")) == 11_378_179
    assert n_params(cms.build("generator", "resnet_6blocks")) == 7_837_699


def test_unet_parameter_counts() -> None:
    assert reference_unet_count(7) == 41_825_667
    assert reference_unet_count(8) == 54_409_603
    assert n_params(cms.build("generator", "unet_128")) == 41_825_667
    assert n_params(cms.build("generator", "unet_256")) == 54_409_603
    # pix2pix's default (batch norm, bias-free convs before it) prints "54.414 M".
    assert n_params(cms.build("generator", "unet_256", norm="batch")) == 54_413_955


def test_conv_bottleneck_is_smaller_and_size_free() -> None:
    G = SeedUNet(bottleneck="conv")
    assert G.fixed_size is None and G.size_multiple == 32
    assert n_params(G) == 19_274_323 - 4_210_816 + n_params(G.bottleneck)
    assert n_params(G.bottleneck) < 1_000_000


# --------------------------------------------------------------------------------------------
# Shapes (hypothesis)
# --------------------------------------------------------------------------------------------


@given(
    depth=st.sampled_from([2, 3, 5]),
    data=st.data(),
    batch=batch_sizes,
    c_in=channels,
    c_out=channels,
)
def test_seed_unet_conv_any_multiple(
    depth: int, data: st.DataObject, batch: int, c_in: int, c_out: int
) -> None:
    m = 2**depth
    h = data.draw(multiples_of(m, m, 64), label="h")
    w = data.draw(multiples_of(m, m, 64), label="w")
    G = SeedUNet(
        in_channels=c_in,
        out_channels=c_out,
        base_width=4,
        depth=depth,
        bottleneck="conv",
        latent_dim=8,
        image_size=64,
    )
    assert G.size_multiple == m
    assert G.fusion[0].stride == (2 ** (depth - 1),) * 2
    with torch.no_grad():
        y = G(torch.rand(batch, c_in, h, w))
    assert y.shape == (batch, c_out, h, w)
    assert float(y.min()) >= 0.0 and float(y.max()) <= 1.0


@given(
    size=st.sampled_from([32, 64]),
    batch=batch_sizes,
    c_in=channels,
    c_out=channels,
)
def test_seed_unet_dense_at_its_size(size: int, batch: int, c_in: int, c_out: int) -> None:
    G = SeedUNet(in_channels=c_in, out_channels=c_out, base_width=4, image_size=size, latent_dim=8)
    assert G.fixed_size == size
    assert G(torch.rand(batch, c_in, size, size)).shape == (batch, c_out, size, size)


@given(
    data=st.data(),
    batch=batch_sizes,
    c_in=channels,
    c_out=channels,
    padding=st.sampled_from(["reflect", "replicate", "zero"]),
    n_blocks=st.integers(0, 2),
)
def test_resnet_shapes(
    data: st.DataObject, batch: int, c_in: int, c_out: int, padding: Any, n_blocks: int
) -> None:
    h = data.draw(multiples_of(4, 8, 64), label="h")
    w = data.draw(multiples_of(4, 8, 64), label="w")
    G = ResnetGenerator(
        in_channels=c_in, out_channels=c_out, ngf=4, n_blocks=n_blocks, padding_type=padding
    )
    with torch.no_grad():
        y = G(torch.randn(batch, c_in, h, w))
    assert y.shape == (batch, c_out, h, w)
    assert float(y.abs().max()) <= 1.0


@given(data=st.data(), batch=batch_sizes, c_in=channels, c_out=channels)
def test_unet_shapes(data: st.DataObject, batch: int, c_in: int, c_out: int) -> None:
    h = data.draw(multiples_of(32, 32, 64), label="h")
    w = data.draw(multiples_of(32, 32, 64), label="w")
    G = UnetGenerator(in_channels=c_in, out_channels=c_out, num_downs=5, ngf=2)
    assert G.size_multiple == 32
    with torch.no_grad():
        y = G(torch.randn(batch, c_in, h, w))
    assert y.shape == (batch, c_out, h, w)
    assert float(y.abs().max()) <= 1.0


def test_unet_registered_sizes() -> None:
    G = cms.build("generator", "unet_128", ngf=2)
    assert G.size_multiple == 128
    assert G(torch.randn(1, 3, 128, 128)).shape == (1, 3, 128, 128)
    assert cms.build("generator", "unet_256", ngf=2).size_multiple == 256


# --------------------------------------------------------------------------------------------
# Output activation
# --------------------------------------------------------------------------------------------


_SMALL: dict[str, Callable[..., Generator]] = {
    "seed": lambda **kw: SeedUNet(base_width=4, latent_dim=8, bottleneck="conv", **kw),
    "resnet": lambda **kw: ResnetGenerator(ngf=4, n_blocks=1, **kw),
    "unet": lambda **kw: UnetGenerator(num_downs=5, ngf=2, **kw),
}


@pytest.mark.parametrize("family", sorted(_SMALL))
@pytest.mark.parametrize("output", ["sigmoid", "tanh"])
def test_output_activation_is_applied_last(family: str, output: Any) -> None:
    raw = _SMALL[family](output="none").eval()
    act = _SMALL[family](output=output).eval()
    last = [m for m in raw.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))][-1]
    with torch.no_grad():  # scale the last layer so pre-activations go well past ±1
        last.weight.mul_(50)
        if last.bias is not None:
            last.bias.mul_(50)
    act.load_state_dict(raw.state_dict())  # activations have no parameters
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        pre, y = raw(x), act(x)
    fn = torch.sigmoid if output == "sigmoid" else torch.tanh
    torch.testing.assert_close(y, fn(pre))
    assert float(pre.abs().max()) > 1.0  # the raw output really leaves the activation's range
    lo = 0.0 if output == "sigmoid" else -1.0
    assert float(y.min()) >= lo and float(y.max()) <= 1.0


def test_default_output_ranges() -> None:
    assert isinstance(SeedUNet(base_width=4, image_size=32).output, nn.Sigmoid)
    assert isinstance(cms.build("generator", "resnet_6blocks", ngf=4).model[-1], nn.Tanh)
    assert isinstance(cms.build("generator", "unet_128", ngf=2).model.model[-1], nn.Tanh)


# --------------------------------------------------------------------------------------------
# Keras 'same' transposed convolution, against TensorFlow's definition
# --------------------------------------------------------------------------------------------


def tf_conv2d_transpose_same(x: Tensor, weight: Tensor, bias: Tensor, stride: int) -> Tensor:
    """TF's ``conv2d_transpose(padding='SAME')``: the adjoint of a 'SAME' strided conv.

    TF's 'SAME' conv of an ``N = n·s`` input pads ``max(k - s, 0)`` in total, the smaller half
    first. The transposed conv is that conv's vector-Jacobian product, plus the bias.
    """
    b, _, h, w = x.shape
    k = weight.shape[-1]
    big_h, big_w = h * stride, w * stride
    total = max(k - stride, 0)
    before, after = total // 2, total - total // 2
    u = torch.zeros(b, weight.shape[1], big_h, big_w, dtype=x.dtype, requires_grad=True)
    y = F.conv2d(F.pad(u, (before, after, before, after)), weight, stride=stride)
    assert y.shape[-2:] == (h, w)
    (grad,) = torch.autograd.grad(y, u, grad_outputs=x)
    return grad + bias.view(1, -1, 1, 1)


@pytest.mark.parametrize(("k", "s"), [(5, 2), (5, 16)])
def test_keras_same_transposed_conv_matches_tf(k: int, s: int) -> None:
    layer = KerasSameConvTranspose2d(3, 2, k, s).double()
    with torch.no_grad():
        layer.bias.normal_()
    x = torch.randn(2, 3, 3, 4, dtype=torch.float64)
    y = layer(x)
    assert y.shape == (2, 2, 3 * s, 4 * s)
    torch.testing.assert_close(y, tf_conv2d_transpose_same(x, layer.weight, layer.bias, s))


@given(k=st.integers(1, 7), s=st.integers(1, 5), h=st.integers(1, 5), w=st.integers(1, 5))
def test_keras_same_transposed_conv_any_kernel_stride(k: int, s: int, h: int, w: int) -> None:
    layer = KerasSameConvTranspose2d(2, 3, k, s).double()
    x = torch.randn(1, 2, h, w, dtype=torch.float64)
    torch.testing.assert_close(layer(x), tf_conv2d_transpose_same(x, layer.weight, layer.bias, s))


def test_keras_same_matches_design_recipes() -> None:
    """DESIGN.md's PyTorch equivalents: (k5, s2, padding=1) minus the last row/column, and
    (k5, s16, padding=0, output_padding=11)."""
    x = torch.randn(1, 4, 5, 6, dtype=torch.float64)
    ours = KerasSameConvTranspose2d(4, 3, 5, 2).double()
    y = F.conv_transpose2d(x, ours.weight, ours.bias, stride=2, padding=1)[..., :-1, :-1]
    torch.testing.assert_close(ours(x), y)
    ours16 = KerasSameConvTranspose2d(4, 3, 5, 16).double()
    y16 = F.conv_transpose2d(x, ours16.weight, ours16.bias, stride=16, output_padding=11)
    torch.testing.assert_close(ours16(x), y16)
    # and the tempting `padding=2, output_padding=1` is a pixel off
    off = F.conv_transpose2d(x, ours.weight, ours.bias, stride=2, padding=2, output_padding=1)
    assert off.shape == ours(x).shape and not torch.allclose(off, ours(x))


# --------------------------------------------------------------------------------------------
# Seed U-Net structure
# --------------------------------------------------------------------------------------------


def test_seed_unet_layers_are_the_seeds() -> None:
    G = SeedUNet(base_width=4, image_size=32)
    gns = [m for m in G.modules() if isinstance(m, nn.GroupNorm)]
    assert gns and all(m.num_groups == 1 and m.eps == 1e-3 for m in gns)
    assert not any(isinstance(m, (nn.InstanceNorm2d, nn.BatchNorm2d)) for m in G.modules())
    enc_acts = [m for m in G.encoder.modules() if isinstance(m, (nn.ReLU, nn.LeakyReLU))]
    assert enc_acts and all(
        isinstance(m, nn.LeakyReLU) and m.negative_slope == 0.3 for m in enc_acts
    )
    rest = [*G.decoder.modules(), *G.fusion.modules()]
    assert not any(isinstance(m, nn.LeakyReLU) for m in rest)
    assert sum(isinstance(m, nn.ReLU) for m in rest) == 5 * 5 + 1  # up + 4 in each block; fusion
    for step in G.encoder:
        down = step.down[0]  # a 1x1 stride-2 conv, computed as subsample + 1x1 conv
        assert isinstance(down, SubsampleConv1x1) and down.kernel_size == (1, 1)
    for step in G.decoder:
        up = step.up[0]
        assert isinstance(up, KerasSameConvTranspose2d)
        assert up.kernel_size == (5, 5) and up.stride == (2, 2)
    assert G.fusion[0].kernel_size == (5, 5) and G.fusion[0].stride == (16, 16)
    assert G.fusion[0].out_channels == 4 and isinstance(G.fusion[2], nn.GroupNorm)
    assert G.head.kernel_size == (5, 5) and G.head.in_channels == 8


def test_seed_unet_glorot_init() -> None:
    G = SeedUNet(base_width=4, image_size=32)
    for m in G.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            fan_in, fan_out = nn.init._calculate_fan_in_and_fan_out(m.weight)
            bound = math.sqrt(6.0 / (fan_in + fan_out))
            largest = float(m.weight.detach().abs().max())
            assert 0.5 * bound < largest <= bound
            assert m.bias is not None and not m.bias.any()


def test_seed_unet_wiring_skips_added_fusion_concatenated() -> None:
    G = SeedUNet(base_width=4, image_size=64, latent_dim=8).eval()
    seen: dict[str, Any] = {}
    G.encoder[-1].block.register_forward_hook(lambda m, i, o: seen.__setitem__("skip_last", o))
    G.decoder[0].up.register_forward_hook(lambda m, i, o: seen.__setitem__("up0", o))
    G.decoder[0].block.register_forward_hook(lambda m, i, o: seen.update(block0_in=i[0], dec0=o))
    G.decoder[-1].register_forward_hook(lambda m, i, o: seen.__setitem__("dec_last", o))
    G.fusion.register_forward_hook(lambda m, i, o: seen.update(fusion_in=i[0], fusion=o))
    G.head.register_forward_hook(lambda m, i, o: seen.__setitem__("head_in", i[0]))
    G(torch.rand(1, 3, 64, 64))
    torch.testing.assert_close(seen["block0_in"], seen["up0"] + seen["skip_last"])  # ADDED
    assert seen["fusion_in"] is seen["dec0"]  # coarsest decoder output feeds the fusion
    assert seen["fusion"].shape == (1, 4, 64, 64)
    torch.testing.assert_close(seen["head_in"], torch.cat([seen["dec_last"], seen["fusion"]], 1))


def test_decoder_step_adds_skip() -> None:
    step = DecoderStep(6, 4)
    x, skip = torch.randn(1, 6, 4, 4), torch.randn(1, 4, 8, 8)
    torch.testing.assert_close(step(x, skip), step.block(step.up(x) + skip))


def test_dense_bottleneck_flattens_channels_last_like_keras() -> None:
    bn = DenseBottleneck(channels=5, spatial=2, latent_dim=3)
    x = torch.randn(2, 5, 2, 2)
    nhwc = x.permute(0, 2, 3, 1).reshape(2, -1)  # Keras Flatten on an NHWC tensor
    z = nhwc @ bn.encode.weight.T + bn.encode.bias
    out = (z @ bn.decode.weight.T + bn.decode.bias).reshape(2, 2, 2, 5).permute(0, 3, 1, 2)
    torch.testing.assert_close(bn(x), out)


def test_conv_bottleneck_carries_global_context() -> None:
    bn = ConvBottleneck(channels=4, latent_dim=2)
    x = torch.zeros(1, 4, 8, 8)
    y0 = bn(x)
    x[..., 0, 0] = 10.0  # a change in one corner reaches the far corner only via the context
    y1 = bn(x)
    assert not torch.allclose(y0[..., -1, -1], y1[..., -1, -1])


def test_every_seed_parameter_gets_a_gradient() -> None:
    G = SeedUNet(base_width=4, image_size=32, latent_dim=8)
    (G(torch.rand(2, 3, 32, 32)).mean() + G.regularization()).backward()
    missing = [n for n, p in G.named_parameters() if p.grad is None or not p.grad.any()]
    assert not missing


# --------------------------------------------------------------------------------------------
# Regularization
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bottleneck", ["dense", "conv"])
def test_regularization_is_keras_l2(bottleneck: Any) -> None:
    G = SeedUNet(base_width=4, image_size=64, latent_dim=8, bottleneck=bottleneck, l2=0.25)
    bn = G.bottleneck
    weights = (
        [bn.encode.weight, bn.decode.weight]
        if bottleneck == "dense"
        else [bn.squeeze.weight, bn.expand.weight, bn.context.weight]
    )
    expected = 0.25 * sum(float((w.detach().double() ** 2).sum()) for w in weights)
    reg = G.regularization()
    assert reg.shape == () and reg.requires_grad
    assert math.isclose(reg.detach().item(), expected, rel_tol=1e-5)
    reg.backward()
    for w in weights:
        assert w.grad is not None
        torch.testing.assert_close(w.grad, 2 * 0.25 * w.detach())
    assert G.head.weight.grad is None  # biases and other layers are not penalised
    assert all(p.grad is None for n, p in G.named_parameters() if n.endswith("bias"))


def test_seed_regularization_default_l2() -> None:
    G = SeedUNet()
    w1, w2 = G.bottleneck.encode.weight, G.bottleneck.decode.weight
    with torch.no_grad():
        expected = 1e-3 * float((w1.double() ** 2).sum() + (w2.double() ** 2).sum())
    assert math.isclose(G.regularization().detach().item(), expected, rel_tol=1e-5)


@pytest.mark.parametrize("family", ["resnet", "unet"])
def test_classic_generators_have_zero_regularization(family: str) -> None:
    G = _SMALL[family]()
    reg = G.regularization()
    assert reg.shape == () and reg.item() == 0.0
    p = next(G.parameters())
    assert reg.device == p.device and reg.dtype == p.dtype
    G.double()
    assert G.regularization().dtype == torch.float64


# --------------------------------------------------------------------------------------------
# Rejected inputs and arguments
# --------------------------------------------------------------------------------------------


def test_dense_seed_rejects_other_sizes() -> None:
    G = SeedUNet(base_width=4, image_size=64, latent_dim=8)
    with pytest.raises(
        ValueError,
        match=r"built for 64×64 inputs \(dense bottleneck\); got 96×64"
        r".*bottleneck='conv'",
    ):
        G(torch.rand(1, 3, 96, 64))


def test_conv_seed_rejects_non_multiples() -> None:
    G = SeedUNet(base_width=4, bottleneck="conv", latent_dim=8)
    with pytest.raises(
        ValueError,
        match=r"bottleneck='conv' needs H and W divisible by 32; "
        r"got 48×64",
    ):
        G(torch.rand(1, 3, 48, 64))
    with pytest.raises(ValueError, match=r"3 input channels; got 1"):
        G(torch.rand(1, 1, 32, 32))
    with pytest.raises(ValueError, match=r"\(B, C, H, W\) batch"):
        G(torch.rand(3, 32, 32))


@pytest.mark.parametrize(
    ("G", "shape", "message"),
    [
        (ResnetGenerator(ngf=4, n_blocks=1), (1, 3, 30, 32), r"divisible by 4; got 30×32"),
        (ResnetGenerator(ngf=4, n_blocks=1), (1, 3, 4, 32), r"at least 8 .*; got 4×32"),
        (UnetGenerator(num_downs=5, ngf=2), (1, 3, 32, 48), r"divisible by 32; got 32×48"),
        (UnetGenerator(num_downs=5, ngf=2), (1, 4, 32, 32), r"3 input channels; got 4"),
    ],
)
def test_classic_generators_reject_bad_inputs(
    G: Generator, shape: tuple[int, ...], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        G(torch.rand(shape))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"image_size": 100}, r"image_size must be a multiple of 2\*\*depth = 32; got 100"),
        ({"depth": 3, "image_size": 20}, r"multiple of 2\*\*depth = 8; got 20"),
        ({"bottleneck": "pooled"}, r"unknown bottleneck 'pooled'; accepted: 'dense'"),
        ({"l2": -1.0}, r"l2 must be a finite number >= 0; got -1.0"),
        ({"l2": float("nan")}, r"l2 must be a finite number"),
        ({"base_width": 0}, r"base_width must be an integer >= 1; got 0"),
        ({"depth": 1}, r"depth must be an integer >= 2; got 1"),
        ({"latent_dim": True}, r"latent_dim must be an integer >= 1; got True"),
        ({"output": "relu"}, r"unknown output activation 'relu'"),
    ],
)
def test_seed_unet_rejects_bad_arguments(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SeedUNet(**kwargs)


@pytest.mark.parametrize(
    ("name", "kwargs", "message"),
    [
        ("resnet_6blocks", {"padding_type": "circular"}, r"unknown padding_type 'circular'"),
        ("resnet_6blocks", {"norm": "weird"}, r"unknown norm 'weird'"),
        ("resnet_9blocks", {"init": "he"}, r"unknown init 'he'; accepted: normal"),
        ("resnet_9blocks", {"init_gain": 0.0}, r"init_gain must be a finite number > 0"),
        ("unet_128", {"ngf": 0}, r"ngf must be an integer >= 1; got 0"),
        ("unet_256", {"output": "softmax"}, r"unknown output activation 'softmax'"),
    ],
)
def test_classic_factories_reject_bad_arguments(
    name: str, kwargs: dict[str, Any], message: str
) -> None:
    factory = cms.get("generator", name)
    with pytest.raises(ValueError, match=message):
        factory(**kwargs)


def test_unet_rejects_too_few_downsamplings() -> None:
    with pytest.raises(ValueError, match=r"num_downs must be an integer >= 5; got 4"):
        UnetGenerator(num_downs=4)


# --------------------------------------------------------------------------------------------
# Determinism and dropout
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("family", sorted(_SMALL))
def test_eval_is_deterministic(family: str) -> None:
    kw = {} if family == "seed" else {"use_dropout": True}
    G = _SMALL[family](**kw).eval()
    x = torch.rand(2, 3, 32, 32)
    torch.testing.assert_close(G(x), G(x), rtol=0, atol=0)


def test_dropout_is_active_in_training() -> None:
    G = ResnetGenerator(ngf=4, n_blocks=1, use_dropout=True).train()
    assert sum(isinstance(m, nn.Dropout) and m.p == 0.5 for m in G.modules()) == 1
    x = torch.rand(1, 3, 16, 16)
    assert not torch.equal(G(x), G(x))
    U = UnetGenerator(num_downs=7, ngf=2, use_dropout=True)
    assert sum(isinstance(m, nn.Dropout) for m in U.modules()) == 2  # num_downs - 5


# --------------------------------------------------------------------------------------------
# Classic generators against a functional re-derivation of the reference networks
# --------------------------------------------------------------------------------------------


def _inorm(x: Tensor) -> Tensor:
    return F.instance_norm(x, eps=1e-5)


def functional_resnet(sd: dict[str, Tensor], x: Tensor, n_blocks: int, pad: str) -> Tensor:
    """ResnetGenerator of the reference, written with ``torch.nn.functional`` and the
    reference's ``state_dict`` keys."""

    def conv(h: Tensor, key: str, **kw: Any) -> Tensor:
        return F.conv2d(h, sd[f"{key}.weight"], sd[f"{key}.bias"], **kw)

    h = F.relu(_inorm(conv(F.pad(x, (3,) * 4, mode="reflect"), "model.1")))
    h = F.relu(_inorm(conv(h, "model.4", stride=2, padding=1)))
    h = F.relu(_inorm(conv(h, "model.7", stride=2, padding=1)))
    mode = {"reflect": "reflect", "replicate": "replicate"}.get(pad)
    first = 1 if mode else 0
    second = first + 3 + (1 if mode else 0)
    for i in range(n_blocks):
        key = f"model.{10 + i}.conv_block"

        def padded(t: Tensor) -> Tensor:
            return F.pad(t, (1,) * 4, mode=mode) if mode else F.pad(t, (1,) * 4)

        r = F.relu(_inorm(conv(padded(h), f"{key}.{first}")))
        h = h + _inorm(conv(padded(r), f"{key}.{second}"))
    j = 10 + n_blocks
    for key in (f"model.{j}", f"model.{j + 3}"):
        h = F.conv_transpose2d(
            h, sd[f"{key}.weight"], sd[f"{key}.bias"], stride=2, padding=1, output_padding=1
        )
        h = F.relu(_inorm(h))
    return torch.tanh(conv(F.pad(h, (3,) * 4, mode="reflect"), f"model.{j + 7}"))


def functional_unet(sd: dict[str, Tensor], x: Tensor, num_downs: int) -> Tensor:
    """UnetGenerator of the reference, written with ``torch.nn.functional``."""

    def down(h: Tensor, key: str) -> Tensor:
        return F.conv2d(h, sd[f"{key}.weight"], sd[f"{key}.bias"], stride=2, padding=1)

    def up(h: Tensor, key: str) -> Tensor:
        return F.conv_transpose2d(h, sd[f"{key}.weight"], sd[f"{key}.bias"], stride=2, padding=1)

    def level(h: Tensor, prefix: str, depth: int) -> Tensor:
        if depth == num_downs - 1:  # innermost: leaky, down, relu, up, norm
            inner = _inorm(up(F.relu(down(F.leaky_relu(h, 0.2), f"{prefix}1")), f"{prefix}3"))
        else:
            d = _inorm(down(F.leaky_relu(h, 0.2), f"{prefix}1"))
            inner = _inorm(up(F.relu(level(d, f"{prefix}3.model.", depth + 1)), f"{prefix}5"))
        return torch.cat([h, inner], 1)

    p = "model.model."
    return torch.tanh(up(F.relu(level(down(x, f"{p}0"), f"{p}1.model.", 1)), f"{p}3"))


@pytest.mark.parametrize("padding", ["reflect", "replicate", "zero"])
def test_resnet_matches_reference_layer_for_layer(padding: Any) -> None:
    G = ResnetGenerator(ngf=4, n_blocks=2, padding_type=padding).eval()
    x = torch.randn(2, 3, 16, 20)
    torch.testing.assert_close(G(x), functional_resnet(G.state_dict(), x, 2, padding))


def test_unet_matches_reference_layer_for_layer() -> None:
    G = UnetGenerator(num_downs=6, ngf=2).eval()
    x = torch.randn(2, 3, 64, 64)
    torch.testing.assert_close(G(x), functional_unet(G.state_dict(), x, 6))


def test_classic_init_is_normal_002() -> None:
    G = cms.build("generator", "resnet_6blocks")
    w = torch.cat([m.weight.detach().flatten() for m in G.modules() if isinstance(m, nn.Conv2d)])
    assert abs(float(w.std()) - 0.02) < 1e-3 and abs(float(w.mean())) < 1e-3
    assert all(
        not m.bias.detach().any()
        for m in G.modules()
        if isinstance(m, nn.Conv2d) and m.bias is not None
    )
    assert all(
        isinstance(m, nn.InstanceNorm2d) and not m.affine
        for m in G.modules()
        if "Norm" in type(m).__name__
    )
    B = cms.build("generator", "resnet_6blocks", ngf=4, norm="batch")
    assert all(m.bias is None for m in B.modules() if isinstance(m, nn.ConvTranspose2d))
