"""Importing checkpoints of the reference CycleGAN/pix2pix implementation.

The fixtures under ``tests/fixtures/reference/`` were written by the reference's own
``models/networks.py`` (see the README there): small random state dicts and the reference
networks' outputs on a deterministic input, in eval and in train mode.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torch.nn as nn
from safetensors import safe_open
from safetensors.torch import load_file

import cyclegan_ms
from cyclegan_ms import build, config_of
from cyclegan_ms.cli import main
from cyclegan_ms.generators import card_of
from cyclegan_ms.inference import (
    import_reference,
    load_generator,
    resolve_generator_card,
    save_generator,
    translate,
)
from cyclegan_ms.inference.reference import (
    REFERENCE_VALUE_RANGE,
    detect_reference,
    read_reference_state,
)
from cyclegan_ms.layers import AlwaysDropout, check_dropout_mode, make_dropout

FIXTURES = Path(__file__).parent / "fixtures" / "reference"
CASES = sorted(p.stem for p in FIXTURES.glob("*.safetensors"))
GENERATOR_CASES = [c for c in CASES if c.startswith(("resnet", "unet"))]
TOL = 1e-5
#: the reference's --netD names and this library's
_D_ARCH = {"basic": "patchgan", "n_layers": "patchgan", "pixel": "pixel"}


def reference_input(shape: list[int]) -> torch.Tensor:
    """The fixture script's input: integer arithmetic and one correctly rounded division."""
    n = shape[0] * shape[1] * shape[2] * shape[3]
    idx = torch.arange(n, dtype=torch.int64)
    v = (idx * idx * 31 + idx * 7919 + 17) % 2053
    return (v.to(torch.float32) / 1026.0 - 1.0).reshape(shape)


def load_case(name: str) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor], dict]:
    """``(reference state_dict in float32, expected outputs, metadata)`` of one fixture."""
    path = FIXTURES / f"{name}.safetensors"
    with safe_open(str(path), framework="pt") as f:
        meta = json.loads(f.metadata()["case"])
    tensors = load_file(str(path))
    state = {
        k.removeprefix("state/"): v.float() if v.is_floating_point() else v
        for k, v in tensors.items()
        if k.startswith("state/")
    }
    expected = {k: tensors[k] for k in ("eval", "train", "test") if k in tensors}
    return state, expected, meta


def run(net: nn.Module, meta: dict, *, train: bool, one_by_one: bool = False) -> torch.Tensor:
    """The network's output on the fixture input, as the fixture stored it (``one_by_one``: each
    image on its own, as the reference's ``test.py`` runs them)."""
    x = reference_input(meta["input"])
    net.train(train)
    with torch.no_grad():
        torch.manual_seed(meta["seed"])
        y = torch.cat([net(x[i : i + 1]) for i in range(len(x))]) if one_by_one else net(x)
    if isinstance(y, list):  # a discriminator: its one score map
        (y,) = y
    s = meta["stride"]
    return y[..., ::s, ::s] if meta["kind"] == "G" else y


def save_pth(state: dict[str, torch.Tensor], path: Path) -> Path:
    torch.save(state, path)
    return path


# --------------------------------------------------------------------------- exactness
@pytest.mark.parametrize("case", CASES)
def test_matches_the_reference_in_eval_and_train_mode(case: str, tmp_path: Path) -> None:
    state, expected, meta = load_case(case)
    path = save_pth(state, tmp_path / "latest_net_G_A.pth")
    net = import_reference(path)
    assert (run(net, meta, train=False) - expected["eval"]).abs().max() <= TOL
    net = import_reference(path)  # fresh: train mode moves the batch-norm statistics
    assert (run(net, meta, train=True) - expected["train"]).abs().max() <= TOL


@pytest.mark.parametrize("case", GENERATOR_CASES)
def test_test_mode_train_is_the_reference_test_without_eval(case: str) -> None:
    """Imported with ``test_mode="train"``, the network in eval mode (as inference runs it)
    computes what the reference's ``test.py`` without ``--eval`` computes: train mode, one image
    at a time; and, its norms being per image, the same on the whole batch at once."""
    state, expected, meta = load_case(case)
    net = import_reference(state, test_mode="train")
    assert not net.training
    assert (run(net, meta, train=False, one_by_one=True) - expected["test"]).abs().max() <= TOL
    if not meta["args"]["use_dropout"]:  # (dropout draws in another order on a whole batch)
        assert (run(net, meta, train=False) - expected["test"]).abs().max() <= TOL


def test_the_fixtures_tell_the_modes_and_dropout_apart() -> None:
    """The comparisons above could fail: eval and train outputs differ, and so do outputs with
    the wrong dropout."""
    state, expected, meta = load_case("unet_256-batch")
    assert (expected["eval"] - expected["test"]).abs().max() > 1e-2
    assert (expected["train"] - expected["test"]).abs().max() > 1e-2  # batch of 2 vs 1 by 1
    net = import_reference(state, test_mode="eval")
    assert (run(net, meta, train=False, one_by_one=True) - expected["test"]).abs().max() > 1e-2
    state, expected, meta = load_case("unet_256-instance")
    net = import_reference(state, use_dropout=False)
    assert (run(net, meta, train=True) - expected["train"]).abs().max() > 1e-3


@pytest.mark.parametrize("case", CASES)
def test_detects_arch_norm_and_sizes(case: str) -> None:
    state, _, meta = load_case(case)
    spec = detect_reference(state)
    args = meta["args"]
    assert spec.norm == args["norm"]
    if meta["kind"] == "G":
        assert spec.arch == meta["net"]
        assert spec.width == args["ngf"]
        assert (spec.in_channels, spec.out_channels) == (
            args.get("input_nc", 3),
            args.get("output_nc", 3),
        )
        if spec.arch.startswith("resnet"):  # dropout shows in a ResNet's keys only
            assert spec.use_dropout == args["use_dropout"]
    else:
        assert spec.arch == _D_ARCH[meta["net"]]
        assert spec.width == args["ndf"]
        if spec.arch == "patchgan":
            assert spec.n_layers == args.get("n_layers_D", 3)


# --------------------------------------------------------------------------- real files
def test_dataparallel_prefix_is_removed(tmp_path: Path) -> None:
    state, expected, meta = load_case("resnet_9blocks-batch")
    path = save_pth({f"module.{k}": v for k, v in state.items()}, tmp_path / "g.pth")
    assert set(read_reference_state(path)) == set(state)
    net = import_reference(path)
    assert (run(net, meta, train=False) - expected["eval"]).abs().max() <= TOL


@pytest.mark.parametrize("case", ["resnet_6blocks-instance", "unet_256-instance"])
def test_stale_instance_norm_statistics_are_dropped(case: str, tmp_path: Path) -> None:
    """PyTorch 0.4-era saves have running statistics on (non-tracking) instance-norm layers."""
    state, expected, meta = load_case(case)
    fresh = import_reference(state)
    names = [n for n, m in fresh.named_modules() if isinstance(m, nn.InstanceNorm2d)]
    assert names  # the generators' keys are the reference's
    stale = dict(state)
    for name in names:
        c = fresh.get_submodule(name).num_features
        stale[f"{name}.running_mean"] = torch.zeros(c)
        stale[f"{name}.running_var"] = torch.ones(c)
        stale[f"{name}.num_batches_tracked"] = torch.tensor(7)
    net = import_reference(save_pth(stale, tmp_path / "old.pth"))
    assert (run(net, meta, train=False) - expected["eval"]).abs().max() <= TOL


def test_only_tensors_are_accepted(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"more than tensors: entry 'epoch'") as err:
        import_reference(save_pth({"epoch": 3}, tmp_path / "a.pth"))  # type: ignore[dict-item]
    assert "\n" not in str(err.value)
    with pytest.raises(ValueError, match=r"not a state_dict") as err:
        import_reference(save_pth([torch.zeros(1)], tmp_path / "b.pth"))  # type: ignore[arg-type]
    assert "\n" not in str(err.value)


class _Opt:  # what weights_only refuses: an arbitrary object in the pickle
    lr = 0.0002


def test_a_pickled_object_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "c.pth"
    torch.save({"opt": _Opt(), "w": torch.zeros(1)}, path)
    with pytest.raises(ValueError, match=r"weights_only=True") as err:
        import_reference(path)
    assert "\n" not in str(err.value)
    assert err.value.__suppress_context__  # raised from None: no chained traceback


def test_missing_file() -> None:
    with pytest.raises(FileNotFoundError, match="no reference checkpoint"):
        import_reference("/nonexistent/latest_net_G.pth")


# --------------------------------------------------------------------------- mismatches
def test_wrong_arch_names_the_first_key_and_what_it_looks_like() -> None:
    state, _, _ = load_case("resnet_9blocks-instance")
    with pytest.raises(ValueError, match=r"does not fit unet_256: it has no key 'model\.model\.0"):
        import_reference(state, arch="unet_256")
    with pytest.raises(ValueError, match=r"it looks like resnet_9blocks \(norm=instance, ngf=1"):
        import_reference(state, arch="resnet_6blocks")


def test_wrong_norm_names_the_missing_key() -> None:
    state, _, _ = load_case("resnet_9blocks-none")  # no norm: the reference's convs have no bias
    with pytest.raises(ValueError, match=r"norm=instance: it has no key 'model\.1\.bias'"):
        import_reference(state, norm="instance")
    state, _, _ = load_case("basic-batch")
    with pytest.raises(
        ValueError, match=r"unexpected key 'model\.3\.(weight|bias)'.*looks like patchgan"
    ):
        import_reference(state, arch="patchgan", norm="instance")


def test_wrong_shape_names_key_and_shapes() -> None:
    state, _, _ = load_case("unet_128-batch")
    key = "model.model.1.model.1.weight"
    state[key] = torch.zeros(5, *state[key].shape[1:])
    with pytest.raises(ValueError, match=rf"'{key}' has shape \(5, 1, 4, 4\), unet_128 needs"):
        import_reference(state, arch="unet_128")


def test_unknown_state_dict_fits_nothing() -> None:
    with pytest.raises(ValueError, match="fit no reference network"):
        detect_reference({"fc.weight": torch.zeros(2, 2)})
    with pytest.raises(ValueError, match="fits no reference network"):
        import_reference({"fc.weight": torch.zeros(2, 2)})


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"arch": "resnet_12blocks"}, "unknown reference arch 'resnet_12blocks'; accepted"),
        ({"norm": "group"}, "unknown reference norm 'group'; accepted: instance, batch, none"),
        ({"test_mode": "test"}, "unknown test_mode 'test'; accepted: eval, train"),
        ({"direction": "AtoB"}, "direction must be 'a2b' or 'b2a'"),
        ({"use_dropout": "yes"}, "use_dropout must be True, False or None"),
    ],
)
def test_bad_arguments(kwargs: dict, match: str) -> None:
    state, _, _ = load_case("pixel-none")
    with pytest.raises(ValueError, match=match):
        import_reference(state, **kwargs)


def test_test_mode_train_is_for_generators() -> None:
    state, _, _ = load_case("basic-instance")
    with pytest.raises(ValueError, match="patchgan discriminator; test_mode='train' is for"):
        import_reference(state, test_mode="train")


# --------------------------------------------------------------------------- card and files
def test_card_records_range_direction_and_source(tmp_path: Path) -> None:
    state, _, _ = load_case("resnet_6blocks-instance")
    g_a = import_reference(save_pth(state, tmp_path / "latest_net_G_A.pth"))
    card = card_of(g_a)
    assert card.value_range == REFERENCE_VALUE_RANGE == (-1.0, 1.0)
    assert card.direction == "a2b"
    assert card.source is not None and "latest_net_G_A.pth" in card.source
    assert "resnet_6blocks (norm=instance" in card.source and "test_mode=eval" in card.source
    g_b = import_reference(save_pth(state, tmp_path / "latest_net_G_B.pth"))
    assert card_of(g_b).direction == "b2a"
    assert card_of(import_reference(state, direction="b2a")).direction == "b2a"
    d = import_reference(load_case("pixel-batch")[0])
    assert config_of(d)["name"] == "pixel" and not d.training


@pytest.mark.parametrize("test_mode", ["eval", "train"])
def test_generator_file_round_trip(test_mode: str, tmp_path: Path) -> None:
    """What ``cyclegan-ms import`` writes loads back (test mode included) and translates."""
    state, expected, meta = load_case("resnet_9blocks-batch")
    net = import_reference(state, test_mode=test_mode)  # type: ignore[arg-type]
    card = card_of(net)
    out = save_generator(
        net,
        tmp_path / "g.safetensors",
        value_range=card.value_range,
        direction="a2b",
        source=card.source,
    )
    _, loaded = resolve_generator_card(out, "a2b")
    assert loaded.value_range == (-1.0, 1.0) and loaded.source == card.source
    assert loaded.config == json.loads(json.dumps(config_of(net)))  # tuples become lists
    y = run(load_generator(out), meta, train=False, one_by_one=True)  # inference: eval mode
    assert (y - expected["eval" if test_mode == "eval" else "test"]).abs().max() <= TOL


def test_translate_takes_a_reference_file_directly(tmp_path: Path) -> None:
    """A ``.pth`` of the reference runs through inference unchanged, as its import does."""
    state, expected, meta = load_case("resnet_6blocks-batch")
    ref = save_pth(state, tmp_path / "latest_net_G_B.pth")
    generator, card = resolve_generator_card(ref, "a2b")  # the user says what it translates
    assert card.value_range == (-1.0, 1.0) and card.direction == "a2b"
    assert card.source is not None and "latest_net_G_B.pth" in card.source
    assert (run(generator, meta, train=False) - expected["eval"]).abs().max() <= TOL
    image = torch.rand(1, 3, 20, 28) * 2 - 1
    assert torch.equal(translate(str(ref), image), translate(import_reference(ref), image))


def test_top_level_export() -> None:
    assert cyclegan_ms.import_reference is import_reference
    assert "import_reference" in cyclegan_ms.__all__


# --------------------------------------------------------------------------- command line
def test_cli_import_writes_a_generator_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state, expected, meta = load_case("unet_256-batch")
    ref = save_pth({f"module.{k}": v for k, v in state.items()}, tmp_path / "latest_net_G.pth")
    out = tmp_path / "g.safetensors"
    assert main(["import", str(ref), "--out", str(out), "--test-mode", "train"]) == 0
    printed = capsys.readouterr().out
    assert "unet_256 (norm=batch, ngf=1, dropout" in printed and f"wrote {out}" in printed
    g = load_generator(out)
    assert card_of(g).direction == "a2b" and card_of(g).value_range == (-1.0, 1.0)
    assert (run(g, meta, train=False, one_by_one=True) - expected["test"]).abs().max() <= TOL


def test_cli_import_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    disc = save_pth(load_case("basic-none")[0], tmp_path / "latest_net_D.pth")
    gen = save_pth(load_case("unet_128-batch")[0], tmp_path / "latest_net_G.pth")
    for argv, match in [
        ([str(disc)], "holds a patchgan discriminator; cyclegan-ms import writes generator"),
        ([str(gen), "--arch", "unet_256"], "does not fit unet_256: it has 7 U-Net levels"),
    ]:
        assert main(["import", *argv, "--out", str(tmp_path / "x.safetensors")]) == 2
        err = capsys.readouterr().err.strip()
        assert match in err and "\n" not in err
    assert not (tmp_path / "x.safetensors").exists()


# --------------------------------------------------------------------------- dropout modes
def test_always_dropout_stays_on_in_eval_mode() -> None:
    (layer,) = make_dropout("always")
    assert isinstance(layer, AlwaysDropout)
    layer.eval()
    y = layer(torch.ones(1000))
    assert (y == 0).any() and (y == 2).any()
    (plain,) = make_dropout(True)
    assert torch.equal(plain.eval()(torch.ones(10)), torch.ones(10))
    assert make_dropout(False) == []


def test_dropout_mode_is_checked() -> None:
    assert check_dropout_mode("always") == "always"
    with pytest.raises(ValueError, match="use_dropout must be False, True"):
        check_dropout_mode("sometimes")
    g = build("generator", "resnet_6blocks", ngf=2, use_dropout="always")
    assert any(isinstance(m, AlwaysDropout) for m in g.modules())
