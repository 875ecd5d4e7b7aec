"""The shared argument checks of ``cyclegan_ms._checks``: what they accept and their messages."""

from __future__ import annotations

import math
import re
from contextlib import AbstractContextManager
from typing import Any

import numpy as np
import pytest

from cyclegan_ms._checks import (
    check_finite,
    check_int,
    check_nonnegative,
    check_probability,
    check_seed,
    check_value_range,
    check_weights,
)


def _raises(message: str) -> AbstractContextManager[Any]:
    """``pytest.raises(ValueError)`` matching ``message`` whole and literally."""
    return pytest.raises(ValueError, match=f"^{re.escape(message)}$")


def test_check_int_accepts_python_and_numpy_integers_as_int() -> None:
    for value in (0, 7, np.int64(7), np.int32(7), np.uint8(7)):
        out = check_int(value, "n")
        assert out == int(value) and type(out) is int
    assert check_int(3, "batch_size", 3) == 3


@pytest.mark.parametrize("value", [-1, True, False, 2.0, "3", None, np.float64(1.0)])
def test_check_int_rejects_with_name_value_and_bound(value: object) -> None:
    with _raises(f"len_b must be an integer >= 0; got {value!r}"):
        check_int(value, "len_b")


def test_check_int_lower_bound() -> None:
    with _raises("batch_size must be an integer >= 1; got 0"):
        check_int(0, "batch_size", 1)
    with _raises("rank must be an integer >= 0; got np.int64(-2)"):
        check_int(np.int64(-2), "rank")


def test_check_int_prefixes_the_part() -> None:
    assert check_int(4, "ndf", 1, part="pixel") == 4
    assert check_int(0, "pad", 0, part="x") == 0
    out = check_int(np.int64(3), "num_scales", 2, part="pyramid")
    assert out == 3 and type(out) is int
    with _raises("pixel: ndf must be an integer >= 1; got 0"):
        check_int(0, "ndf", 1, part="pixel")
    with _raises("patchgan: n_layers must be an integer >= 1; got True"):
        check_int(True, "n_layers", 1, part="patchgan")
    with _raises("pyramid: num_scales must be an integer >= 2; got np.int64(1)"):
        check_int(np.int64(1), "num_scales", 2, part="pyramid")


def test_check_finite() -> None:
    assert check_finite(1, "real_label") == 1.0
    assert type(check_finite(1, "real_label")) is float
    assert check_finite(-2.5, "real_label") == -2.5
    for bad in (math.nan, math.inf, -math.inf, True, "1", None):
        with _raises(f"real_label must be a finite number; got {bad!r}"):
            check_finite(bad, "real_label")


def test_check_nonnegative_messages_and_hint() -> None:
    assert check_nonnegative(0, "weight") == 0.0
    assert check_nonnegative(2, "weight") == 2.0 and type(check_nonnegative(2, "w")) is float
    with _raises("weight must be >= 0; got -1"):
        check_nonnegative(-1, "weight")
    with _raises("beta must be >= 0 (0 gives plain L1); got -0.5"):
        check_nonnegative(-0.5, "beta", " (0 gives plain L1)")
    for bad in (math.nan, math.inf, False, "2"):
        with _raises(f"gamma must be a finite number >= 0; got {bad!r}"):
            check_nonnegative(bad, "gamma")


def test_check_probability_bounds_hint_and_non_numbers() -> None:
    assert check_probability(0, "p") == 0.0
    assert check_probability(1, "p") == 1.0 and type(check_probability(1, "p")) is float
    assert check_probability(0.25, "p") == 0.25
    for bad in (-0.1, 1.5, math.nan, True, "0.5", None):
        with _raises(f"flip probability p must be in [0, 1]; got {bad!r}"):
            check_probability(bad, "flip probability p")
    with _raises("real_label must be in [0, 1] (a BCE target probability); got 2"):
        check_probability(2, "real_label", " (a BCE target probability)")


def test_check_seed_range_and_none() -> None:
    assert check_seed(None) is None
    assert check_seed(0) == 0
    assert check_seed(2**63 - 1) == 2**63 - 1
    for bad in (-1, 2**63, True, 1.0, "1"):
        with _raises(f"seed must be an int in [0, 2**63) or None; got {bad!r}"):
            check_seed(bad)
    with _raises("noise_seed must be an int in [0, 2**63) or None; got -3"):
        check_seed(-3, "noise_seed")


def test_check_weights() -> None:
    assert check_weights(None, "scale_weights") is None
    out = check_weights([1, 0.5, 0], "scale_weights")
    assert out == (1.0, 0.5, 0.0) and all(type(w) is float for w in out)
    with _raises("scale_weights must be a tuple of floats (one per scale) or None; got '12'"):
        check_weights("12", "scale_weights", " (one per scale)")  # type: ignore[arg-type]
    with _raises("layer_weights must hold at least one weight; got an empty sequence"):
        check_weights((), "layer_weights")
    with _raises("layer_weights[1] must be a number; got True"):
        check_weights((1.0, True), "layer_weights")
    with _raises("layer_weights[0] must be finite and >= 0; got -1.0"):
        check_weights((-1.0,), "layer_weights")
    with _raises("layer_weights[0] must be finite and >= 0; got nan"):
        check_weights((math.nan,), "layer_weights")


def test_check_value_range_accepts_two_finite_numbers_low_first() -> None:
    for value in ((0, 1), [-1.0, 1.0], (np.float32(0.0), np.int64(255))):
        out = check_value_range(value)
        assert out == (float(value[0]), float(value[1])) and all(type(v) is float for v in out)


@pytest.mark.parametrize(
    "value",
    [(1, 0), (0, 0), (0,), (0, 1, 2), "01", None, (False, True), (0, math.inf), (math.nan, 1)],
)
def test_check_value_range_rejects_with_name_and_value(value: object) -> None:
    with _raises(
        "range must be (low, high) with low < high, e.g. (0, 1) for a sigmoid generator or "
        f"(-1, 1) for tanh; got {value!r}"
    ):
        check_value_range(value, "range")
