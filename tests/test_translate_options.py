"""One frozen TranslateOptions behind Translator, translate(), as_translator() and the CLI flags."""

from __future__ import annotations

import argparse
import dataclasses

import numpy as np
import pytest
import torch

from cyclegan_ms import CycleGAN
from cyclegan_ms.cli import COMMAND_MODULES, SubCommand, build_parser
from cyclegan_ms.data.pairs import scene_pairs
from cyclegan_ms.inference import TranslateOptions, Translator, as_translator, translate
from cyclegan_ms.inference_cli import _FLAGS, add_option_flags, options_from_args
from cyclegan_ms.metrics import evaluate

TINY_G = {"name": "resnet_6blocks", "ngf": 4}
TINY_D = {"name": "patchgan", "ndf": 4, "n_layers": 2}


@pytest.fixture(scope="module")
def model() -> CycleGAN:
    torch.manual_seed(0)
    return CycleGAN(G_ab=TINY_G, G_ba=TINY_G, D_a=TINY_D, D_b=TINY_D).eval()


def test_options_are_frozen_and_validated() -> None:
    opts = TranslateOptions()
    with pytest.raises(dataclasses.FrozenInstanceError):
        opts.tile = 64  # type: ignore[misc]
    for bad, match in [
        ({"tile": 0}, "tile must be 'auto', None or a positive integer"),
        ({"overlap": -1}, "overlap must be an integer >= 0"),
        ({"norm_stats": "image"}, "'global' or 'tile'"),
        ({"batch_size": 0}, "batch_size must be an integer >= 1"),
        ({"margin": 0.7}, r"margin must be in \[0, 0.5\]"),
        ({"fixed_size_mode": "crop"}, "'resize' or 'tile'"),
        ({"direction": "day2night"}, "'a2b' or 'b2a'"),
        ({"value_range": (1, 0)}, "low < high"),
    ]:
        with pytest.raises(ValueError, match=match):
            TranslateOptions(**bad)
    assert TranslateOptions(value_range=(-1, 1)).value_range == (-1.0, 1.0)
    with pytest.raises(TypeError, match="did you mean 'overlap'"):
        opts.replace(overlapp=3)


def test_translator_takes_options_and_keyword_overrides(model: CycleGAN) -> None:
    opts = TranslateOptions(tile=16, overlap=4, direction="b2a")
    t = Translator(model, opts)
    assert t.options == opts and (t.tile, t.overlap, t.direction) == (16, 4, "b2a")
    t2 = Translator(model, opts, overlap=2, direction="a2b")
    assert t2.options == opts.replace(overlap=2, direction="a2b")
    assert Translator(model, tile=16, overlap=4, direction="b2a").options == opts
    with pytest.raises(TypeError, match="did you mean 'tile'"):
        Translator(model, tiles=16)  # type: ignore[call-arg]
    # checks that need the generator stay in the Translator
    with pytest.raises(ValueError, match="multiple of the generator's size multiple 4"):
        Translator(model, opts.replace(tile=30))


def test_translate_keywords_positional_direction_and_options_agree(model: CycleGAN) -> None:
    x = np.random.default_rng(0).integers(0, 256, (40, 40, 3), dtype=np.uint8)
    by_keywords = translate(model, x, "b2a", tile=16, overlap=4)
    by_options = translate(model, x, options=TranslateOptions(direction="b2a", tile=16, overlap=4))
    np.testing.assert_array_equal(by_keywords, by_options)
    other = translate(model, x, "a2b", tile=16, overlap=4)
    assert not np.array_equal(by_keywords, other)


def test_as_translator_refuses_translate_options_with_a_ready_translator(model: CycleGAN) -> None:
    t = Translator(model, tile=None, direction="b2a")
    pairs = list(scene_pairs(2, size=32, direction="b2a"))
    with pytest.raises(TypeError, match=r"ready Translator and translate options \(tile\)"):
        as_translator(t, tile=16)
    with pytest.raises(TypeError, match="options"):
        as_translator(t, options=TranslateOptions())
    with pytest.raises(TypeError, match="direction='a2b'"):
        as_translator(t, direction="a2b")
    with pytest.raises(TypeError, match=r"^evaluate\(\) got a ready Translator"):
        as_translator(t, owner="evaluate()", tile=16)
    assert as_translator(t, direction="b2a") is t
    assert evaluate(as_translator(t, direction="b2a"), pairs).n == 2


def test_as_translator_applies_options_to_a_model(model: CycleGAN) -> None:
    pairs = list(scene_pairs(2, size=32, direction="b2a"))
    opts = TranslateOptions(direction="b2a", tile=None)
    via_options = evaluate(as_translator(model, opts), pairs)
    via_translator = evaluate(Translator(model, opts), pairs)
    via_keywords = evaluate(as_translator(model, direction="b2a", tile=None), pairs)
    assert via_options.psnr == via_translator.psnr == via_keywords.psnr
    a2b = evaluate(as_translator(model, tile=None), pairs).psnr
    assert via_options.psnr != a2b  # a2b translates otherwise


def test_cli_flags_are_the_options_fields_with_their_defaults() -> None:
    fields = {f.name: f.default for f in dataclasses.fields(TranslateOptions)}
    assert set(_FLAGS) <= set(fields)
    parser = argparse.ArgumentParser()
    add_option_flags(parser, (*_FLAGS, "ema"))
    args = parser.parse_args(["--device", "cpu"])
    opts = options_from_args(args)
    assert opts == TranslateOptions(device="cpu")
    args = parser.parse_args(
        [
            "--tile",
            "none",
            "--overlap",
            "8",
            "--norm-stats",
            "tile",
            "--no-ema",
            "--direction",
            "b2a",
            "--batch-size",
            "2",
            "--device",
            "cpu",
        ]
    )
    assert options_from_args(args, progress=True) == TranslateOptions(
        tile=None,
        overlap=8,
        norm_stats="tile",
        ema=False,
        direction="b2a",
        batch_size=2,
        device="cpu",
        progress=True,
    )
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1"):
        options_from_args(parser.parse_args(["--batch-size", "0", "--device", "cpu"]))


def test_cli_is_built_from_the_listed_command_modules() -> None:
    import importlib

    listed = []
    for name in COMMAND_MODULES:
        commands = importlib.import_module(name).COMMANDS
        assert all(isinstance(c, SubCommand) for c in commands)
        listed += [c.name for c in commands]
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert (
        list(sub.choices)
        == listed
        == ["train", "distill", "list", "presets", "translate", "export", "eval", "import"]
    )
    import cyclegan_ms.cli

    assert not hasattr(cyclegan_ms.cli, "EXTRA_COMMANDS")
