"""Inference on an accelerator (issue 30, item 8), checked on the CPU.

The ``meta`` device stands for the GPU: a meta tensor has no data, so any read of a device value
on the host (``.item()``, ``bool()``, a copy back) raises, and running a path on it proves that the
path never waits for the device. :class:`Transfers` records what would be pinned, copied without
blocking and copied back (no pinned-memory allocator exists without an accelerator, so it
allocates pinned buffers as ordinary ones). ``benchmarks/gpu_check.py`` runs the same paths on a
real GPU.
"""

from __future__ import annotations

import inspect
import re
import warnings
from pathlib import Path

import pytest
import torch
import torch.nn as nn
from torch import Tensor
from torch.overrides import TorchFunctionMode

from cyclegan_ms import CycleGAN, available, build, from_config
from cyclegan_ms.inference import (
    Translator,
    blend_window,
    export,
    pad_to_multiple,
    tile_spans,
    tiled_forward,
)
from cyclegan_ms.inference.devices import concrete_device, on_device, pins_memory, upload
from cyclegan_ms.registry import get
from cyclegan_ms.training.config import load_preset, presets

META = torch.device("meta")
CPU = torch.device("cpu")


class Transfers(TorchFunctionMode):
    """Records pinned allocations (made as ordinary ones here), copies from the host to ``meta``
    (with their ``non_blocking`` flag and whether the source was pinned), and copies from
    ``meta`` back to the host (counted, not done: there is no data)."""

    def __init__(self) -> None:
        super().__init__()
        self.pinned: set[int] = set()
        self.uploads: list[tuple[bool, bool]] = []  # (non_blocking, from a pinned buffer)
        self.copies_back = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        kwargs = dict(kwargs or {})
        if func is torch.empty and kwargs.get("pin_memory"):
            kwargs["pin_memory"] = False
            staged = func(*args, **kwargs)
            self.pinned.add(staged.data_ptr())
            return staged
        if func is torch.Tensor.copy_ and args[1].is_meta and not args[0].is_meta:
            self.copies_back += 1
            return args[0]
        result = func(*args, **kwargs)
        if func is torch.Tensor.to and args[0].device == CPU and result.is_meta:
            nb = bool(kwargs.get("non_blocking", False))
            self.uploads.append((nb, args[0].data_ptr() in self.pinned))
        return result


# ----------------------------------------------------------------------------- helpers
def test_upload_pins_host_data_for_cuda_only() -> None:
    assert pins_memory(CPU, torch.device("cuda"))
    assert not pins_memory(CPU, CPU)
    assert not pins_memory(torch.device("cuda"), torch.device("cuda"))
    assert not pins_memory(CPU, META)
    a, b = torch.rand(2, 3, 4, 5), torch.rand(1, 3, 8, 10)[..., ::2, 1::2]  # a strided view
    with Transfers() as t:
        got = upload([a, b], CPU, pin=True)
    assert torch.equal(got, torch.cat([a, b])) and got.is_contiguous()
    assert len(t.pinned) == 1
    with Transfers() as t:
        moved = upload([a, b], META, pin=True)
    assert moved.is_meta and moved.shape == (3, 3, 4, 5)
    assert t.uploads == [(True, True)]  # from the pinned buffer, without blocking
    with Transfers() as t:
        upload([a], META)  # pin=None: meta is no CUDA device
    assert t.uploads == [(False, False)] and not t.pinned


def test_device_helpers() -> None:
    assert concrete_device("cpu") == CPU and concrete_device(META) == META
    lin = nn.Linear(2, 2)
    assert on_device(lin, "cpu") and not on_device(lin, META)
    assert on_device(nn.ReLU(), META)  # nothing to move


# ----------------------------------------------------------------------------- tiling
def _blend_reference(
    fn: nn.Module, x: Tensor, *, tile: int, overlap: int, multiple: int, margin: float
) -> Tensor:
    """Tiled translation written plainly: each tile alone, weighted into a full-size buffer in
    the order the strips are swept, normalised by the summed windows (the arithmetic of
    ``tiled_forward`` before it blended on the generator's device)."""
    b, _, h, w = x.shape
    ys = tile_spans(h, tile, overlap, multiple=multiple)
    xs = tile_spans(w, tile, overlap, multiple=multiple)
    acc: Tensor | None = None
    sum_y = torch.zeros(h, dtype=torch.float64)
    sum_x = torch.zeros(w, dtype=torch.float64)
    for s in ys:
        sum_y[s.start : s.stop] += blend_window(s, margin=margin)
    for s in xs:
        sum_x[s.start : s.stop] += blend_window(s, margin=margin)
    for sy in ys:
        for sx in xs:
            crop = x[:, :, sy.start : sy.stop, sx.start : sx.stop].float()
            padded, (top, left) = pad_to_multiple(crop, multiple)
            y = fn(padded)[:, :, top : top + sy.size, left : left + sx.size].float()
            if acc is None:
                acc = torch.zeros(b, y.shape[1], h, w)
            win = blend_window(sy, margin=margin)[:, None] * blend_window(sx, margin=margin)
            acc[:, :, sy.start : sy.stop, sx.start : sx.stop] += y * win.to(torch.float32)
    assert acc is not None
    return acc / (sum_y[:, None] * sum_x[None, :]).to(torch.float32)


@pytest.mark.parametrize("margin", [0.0, 0.25])
def test_tiled_forward_on_the_cpu_is_the_plain_blend_bit_for_bit(margin: float) -> None:
    torch.manual_seed(0)
    G = build("generator", "resnet_6blocks", ngf=4).eval()
    x = torch.rand(2, 3, 61, 83)
    with Transfers() as t:
        got = tiled_forward(
            G, x, tile=32, overlap=8, multiple=4, batch_size=2, margin=margin
        )  # batch_size 2 for 2 images: one tile per call, as in the reference
    want = _blend_reference(G, x, tile=32, overlap=8, multiple=4, margin=margin)
    assert torch.equal(got, want)
    assert not t.pinned and not t.uploads  # nothing pinned or copied on the CPU


@pytest.mark.parametrize("out_on_device", [False, True])
def test_tiled_forward_on_a_device_copies_in_pinned_and_blends_there(
    out_on_device: bool,
) -> None:
    torch.manual_seed(0)
    G = build("generator", "resnet_6blocks", ngf=4).eval().to(META)
    seen: list[torch.device] = []

    def fn(v: Tensor) -> Tensor:
        seen.append(v.device)
        return G(v)

    h, w, b = 50, 70, 1
    x = (torch.rand(b, 3, h, w) * 255).to(torch.uint8)  # host pixels, e.g. a numpy image
    out = torch.empty(b, 3, h, w, dtype=torch.uint8, device=META if out_on_device else CPU)
    with Transfers() as t:
        got = tiled_forward(
            fn,
            x,
            tile=32,
            overlap=8,
            multiple=4,
            batch_size=4,
            out=out,
            encode=lambda v: v.float() / 255,
            decode=lambda v: (v * 255).round_().to(torch.uint8),
            device=META,
            pin_memory=True,  # what a CUDA device gets by default
        )
    assert got is out
    ys, xs = tile_spans(h, 32, 8, multiple=4), tile_spans(w, 32, 8, multiple=4)
    calls = len(ys) * -(-len(xs) // 4)
    assert seen == [META] * calls
    # every crop batch, tile window and row normaliser: from pinned memory, without blocking
    assert len(t.uploads) == calls + len(ys) * len(xs) + len(ys)
    assert all(nb and pinned for nb, pinned in t.uploads), t.uploads
    # blended on the device (a meta tensor cannot be read on the host, so no tile came back
    # and nothing waited per tile); the finished image comes back once
    assert t.copies_back == (0 if out_on_device else 1)


def test_tiled_forward_pins_by_default_for_cuda_only() -> None:
    x = torch.rand(1, 3, 40, 40)
    with Transfers() as t:
        tiled_forward(lambda v: v * 2, x, tile=32, overlap=8, device=META, out=x.to(META))
    assert t.uploads and not any(nb for nb, _ in t.uploads) and not t.pinned


# ----------------------------------------------------------------------------- export
DEVICE_CONSTANT = re.compile(r'Device = prim::Constant\[value="[^"]*"\]')


def _small(config: dict[str, object]) -> dict[str, object]:
    """The config with its width shrunk (fast to trace; the graph's operators are the same)."""
    params = inspect.signature(get("generator", str(config["name"]))).parameters
    width = {"ngf": 4} if "ngf" in params else {"base_width": 4} if "base_width" in params else {}
    return {**config, **width}


def _generator_configs() -> list[tuple[str, dict[str, object]]]:
    configs: list[tuple[str, dict[str, object]]] = [
        (name, {"name": name}) for name in available("generator")
    ]
    for preset in presets():
        model = load_preset(preset)["model"]
        assert isinstance(model, dict)
        for key, value in model.items():
            if "generator" in key and isinstance(value, dict) and "name" in value:
                configs.append((f"{preset}.{key}", dict(value)))
    return configs


CONFIGS = _generator_configs()


def _traced(G: nn.Module, side: int) -> torch.jit.ScriptModule:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # deprecation, and TracerWarnings of the size checks
        return torch.jit.trace(G, torch.rand(1, G.in_channels, side, side), check_trace=False)


@pytest.mark.parametrize(("tag", "config"), CONFIGS, ids=[tag for tag, _ in CONFIGS])
def test_traced_generators_hold_no_device(tag: str, config: dict[str, object]) -> None:
    G = from_config("generator", _small(config)).eval()
    graph = str(_traced(G, G.fixed_size or 2 * G.size_multiple).inlined_graph)
    found = DEVICE_CONSTANT.findall(graph)
    assert not found, f"{tag}: the traced graph creates tensors on a fixed device: {found}"


def test_torchscript_file_holds_no_device_and_runs_where_it_is_loaded(tmp_path: Path) -> None:
    config = dict(load_preset("night2day")["model"]["generator"])  # type: ignore[index]
    assert config["residual_smooth"]  # the option whose blur baked the tracing device in
    G = from_config("generator", _small(config)).eval()
    path = export(G, tmp_path / "g.pt")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        loaded = torch.jit.load(str(path), map_location="cpu")
    assert not DEVICE_CONSTANT.findall(str(loaded.inlined_graph))
    assert "torch.device(" not in loaded.generator.code
    x = torch.rand(1, 3, 64, 96)
    torch.testing.assert_close(loaded(x), G(x), atol=1e-5, rtol=1e-4)


def test_a_traced_generator_moves_with_its_module() -> None:
    config = dict(load_preset("night2day")["model"]["generator"])  # type: ignore[index]
    G = from_config("generator", _small(config)).eval()
    traced = _traced(G, 64)
    traced.to(META)
    assert all(p.is_meta for p in traced.parameters())
    y = traced(torch.rand(1, 3, 96, 64, device=META))
    assert y.is_meta and y.shape == (1, 3, 96, 64)


# ----------------------------------------------------------------------------- Translator
def _state(module: nn.Module) -> dict[str, Tensor]:
    return {k: v.clone() for k, v in module.state_dict().items()}


def test_translator_leaves_the_callers_module_where_it_is() -> None:
    G = build("generator", "resnet_6blocks", ngf=4)
    before = _state(G)
    t = Translator(G, device=META, precision="bf16")
    assert t.generator is not G and t.device == META
    assert all(p.is_meta for p in t.generator.parameters())
    assert all(p.device == CPU and p.dtype == torch.float32 for p in G.parameters())
    assert all(torch.equal(v, before[k]) for k, v in G.state_dict().items())

    model = CycleGAN(
        {"name": "resnet_6blocks", "ngf": 4},
        {"name": "resnet_6blocks", "ngf": 4},
        {"name": "patchgan", "ndf": 4, "n_layers": 1},
        {"name": "patchgan", "ndf": 4, "n_layers": 1},
    )
    Translator(model, device=META)
    assert all(p.device == CPU for p in model.parameters())  # its G_ab was not moved

    half = build("generator", "resnet_6blocks", ngf=4).to(torch.bfloat16)
    th = Translator(half, device=META)
    assert th.dtype == torch.bfloat16
    assert all(p.device == CPU and p.dtype == torch.bfloat16 for p in half.parameters())


def test_translator_uses_a_module_already_on_its_device() -> None:
    G = build("generator", "resnet_6blocks", ngf=4)
    assert Translator(G, device="cpu").generator is G
    assert Translator(G).generator is G
    assert Translator(G, precision="fp32", device="cpu").dtype == torch.float32
