"""The CycleGAN image pool: pass-through, fill phase, statistics, ownership, resume."""

from __future__ import annotations

import io
import random

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from strategies import batch_sizes
from torch import Tensor

from cyclegan_ms.pool import ImagePool

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def tagged(start: int, n: int, device: str = "cpu") -> Tensor:
    """``n`` tiny images whose every pixel holds its tag ``start + i``."""
    tags = torch.arange(start, start + n, dtype=torch.float32, device=device)
    return tags.view(n, 1, 1, 1).expand(n, 3, 4, 4).clone()


def tags_of(batch: Tensor) -> list[int]:
    return [int(t) for t in batch[:, 0, 0, 0].tolist()]


def test_size_zero_passes_through() -> None:
    pool = ImagePool(0, seed=0)
    x = torch.rand(3, 3, 8, 8, requires_grad=True)
    state = torch.get_rng_state()
    out = pool.query(x)
    assert torch.equal(out, x) and out.data_ptr() == x.data_ptr()  # the input itself
    assert not out.requires_grad
    assert len(pool) == 0
    assert torch.equal(torch.get_rng_state(), state)


def test_fill_phase_returns_inputs_and_stores_them() -> None:
    pool = ImagePool(5, seed=0)
    first = tagged(0, 3)
    assert tags_of(pool.query(first)) == [0, 1, 2]
    assert len(pool) == 3
    # the batch that fills the pool: the first two images fill it, the last two may draw history
    out = tags_of(pool.query(tagged(3, 4)))
    assert out[:2] == [3, 4]
    assert len(pool) == 5
    stored = set(range(5))
    for new, got in zip((5, 6), out[2:], strict=True):
        if got != new:
            assert got in stored
            stored = (stored - {got}) | {new}
    assert sorted(tags_of(pool.state_dict()["images"])) == sorted(stored)


@given(sizes=st.lists(batch_sizes, min_size=1, max_size=12), size=st.integers(1, 6))
def test_never_exceeds_size_and_keeps_batch_shape(sizes: list[int], size: int) -> None:
    pool = ImagePool(size, seed=1)
    seen = 0
    for b in sizes:
        out = pool.query(tagged(seen, b))
        assert out.shape == (b, 3, 4, 4)
        # every returned image is the new one or one inserted earlier
        assert all(t < seen + b for t in tags_of(out))
        seen += b
        assert len(pool) == min(size, seen)


@pytest.mark.parametrize("p", [0.5, 0.2])
def test_returns_history_with_probability_p(p: float) -> None:
    size, n = 8, 2000
    pool = ImagePool(size, seed=123, p=p)
    pool.query(tagged(0, size))
    stored = set(range(size))
    history = 0
    for k in range(size, size + n):
        (tag,) = tags_of(pool.query(tagged(k, 1)))
        if tag == k:
            # the new image is returned and the pool is unchanged
            assert sorted(tags_of(pool.state_dict()["images"])) == sorted(stored)
        else:
            history += 1
            # a stored image came back and the new one took its place
            assert tag in stored
            stored = (stored - {tag}) | {k}
            assert sorted(tags_of(pool.state_dict()["images"])) == sorted(stored)
        assert len(pool) == size
    # binomial(2000, p): standard deviation <= 0.0112; allow about 4.5 of them
    assert abs(history / n - p) < 0.05


def test_p_zero_and_one() -> None:
    never = ImagePool(4, seed=0, p=0.0)
    always = ImagePool(4, seed=0, p=1.0)
    for pool in (never, always):
        pool.query(tagged(0, 4))
    for k in range(4, 40):
        assert tags_of(never.query(tagged(k, 1))) == [k]
        assert tags_of(always.query(tagged(k, 1)))[0] < k


@pytest.mark.parametrize("device", DEVICES)
def test_stored_images_are_detached_clones_on_the_input_device(device: str) -> None:
    pool = ImagePool(4, seed=0, p=1.0)
    x = tagged(0, 4, device).requires_grad_(True)
    out = pool.query(x * 1.0)
    assert out.device.type == device and out.dtype == x.dtype and not out.requires_grad
    source = tagged(10, 4, device)
    pool.query(source)  # p=1: every image of ``source`` replaces a stored one
    source.fill_(-1.0)  # later in-place ops on the input cannot alter the pool
    stored = pool.state_dict()["images"]
    assert stored.device.type == device
    tags = tags_of(stored)
    assert -1 not in tags and set(tags) <= {0, 1, 2, 3, 10, 11, 12, 13}
    assert 13 in tags  # the last insertion is still there
    returned = pool.query(tagged(20, 1, device))
    returned.fill_(-5.0)  # nor can in-place ops on what it returned
    assert -5 not in tags_of(pool.state_dict()["images"])


def test_half_precision_queries_get_their_own_dtype() -> None:
    pool = ImagePool(2, seed=0, p=1.0)
    pool.query(tagged(0, 2))
    out = pool.query(tagged(2, 2).half())
    assert out.dtype == torch.float16


def test_same_seed_same_stream_and_no_global_randomness_used() -> None:
    a, b = ImagePool(3, seed=42), ImagePool(3, seed=42)
    torch_state, py_state = torch.get_rng_state(), random.getstate()
    outs_a = [tags_of(a.query(tagged(4 * k, 4))) for k in range(10)]
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert random.getstate() == py_state
    outs_b = [tags_of(b.query(tagged(4 * k, 4))) for k in range(10)]
    assert outs_a == outs_b
    c = ImagePool(3, seed=43)
    assert [tags_of(c.query(tagged(4 * k, 4))) for k in range(10)] != outs_a
    torch.manual_seed(9)
    d = ImagePool(3)
    torch.manual_seed(9)
    e = ImagePool(3)  # seed=None is drawn from torch's global RNG once, at construction
    assert [tags_of(d.query(tagged(4 * k, 4))) for k in range(6)] == [
        tags_of(e.query(tagged(4 * k, 4))) for k in range(6)
    ]


@pytest.mark.parametrize("warmup", [0, 2, 30])
def test_state_dict_round_trip_continues_identically(warmup: int) -> None:
    pool = ImagePool(6, seed=5)
    for k in range(warmup):
        pool.query(tagged(3 * k, 3))
    buffer = io.BytesIO()
    torch.save(pool.state_dict(), buffer)
    buffer.seek(0)
    resumed = ImagePool(6, seed=777)
    resumed.load_state_dict(torch.load(buffer, weights_only=True))
    assert len(resumed) == len(pool)
    for k in range(warmup, warmup + 20):
        x = tagged(3 * k, 3)
        assert torch.equal(pool.query(x), resumed.query(x))


def test_reset_and_shape_change() -> None:
    pool = ImagePool(3, seed=0)
    pool.query(tagged(0, 2))
    with pytest.raises(ValueError, match=r"holds images of shape \(3, 4, 4\); got .*\(3, 8, 8\)"):
        pool.query(torch.zeros(1, 3, 8, 8))
    pool.reset()
    assert len(pool) == 0
    assert pool.query(torch.zeros(1, 3, 8, 8)).shape == (1, 3, 8, 8)
    assert pool.query(torch.zeros(0, 3, 8, 8)).shape == (0, 3, 8, 8)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"size": -1}, "size must be an int >= 0"),
        ({"size": 2.5}, "size must be an int >= 0"),
        ({"size": True}, "size must be an int >= 0"),
        ({"p": 1.5}, r"p must be a probability in \[0, 1\]"),
        ({"p": float("nan")}, "p must be a probability"),
        ({"seed": -3}, r"seed must be an int in \[0, 2\*\*63\)"),
        ({"seed": "0"}, "seed must be an int"),
    ],
)
def test_bad_arguments_raise(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        ImagePool(**kwargs)  # type: ignore[arg-type]


def test_bad_queries_and_states_raise() -> None:
    pool = ImagePool(2, seed=0)
    with pytest.raises(ValueError, match=r"shape \(B, C, H, W\); got \(3, 4, 4\)"):
        pool.query(torch.zeros(3, 4, 4))
    with pytest.raises(TypeError, match="must be a Tensor"):
        pool.query([torch.zeros(3, 4, 4)])  # type: ignore[arg-type]
    state = pool.state_dict()
    with pytest.raises(
        ValueError, match=r"state is for ImagePool\(size=2, p=0.5\); this pool has size=3"
    ):
        ImagePool(3).load_state_dict(state)
    with pytest.raises(ValueError, match="needs the keys"):
        pool.load_state_dict({"size": 2})
    too_many = dict(state, images=torch.zeros(3, 3, 4, 4))
    with pytest.raises(ValueError, match="state holds 3 images but the pool size is 2"):
        pool.load_state_dict(too_many)
    with pytest.raises(ValueError, match="uint8"):
        pool.load_state_dict(dict(state, generator_state=torch.zeros(3)))
