"""Unpaired sampling: reproducible, B independent of A, resumable, sharded, per-worker seeding."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch.utils.data import DataLoader, Dataset, get_worker_info

from cyclegan_ms.data import NightDayScenes, make_loader
from cyclegan_ms.data.base import UnpairedDataset
from cyclegan_ms.data.sampler import SampleKey, UnpairedSampler, key_for_index, seed_worker


class Sizes:
    def __init__(self, len_a: int, len_b: int) -> None:
        self.len_a, self.len_b = len_a, len_b


class KeyEcho(UnpairedDataset):
    """Returns its key and a number drawn from the item's seed: a cheap stand-in dataset."""

    def __init__(self, len_a: int, len_b: int) -> None:
        self._a, self._b = len_a, len_b

    @property
    def len_a(self) -> int:
        return self._a

    @property
    def len_b(self) -> int:
        return self._b

    def get(self, key: SampleKey) -> dict[str, Any]:
        draw = np.random.default_rng(key.seed).random()
        return {"index_A": key.index_a, "index_B": key.index_b, "draw": draw}


def _keys(sampler: UnpairedSampler) -> list[tuple[int, int, int]]:
    return [tuple(k) for k in sampler]


def test_epoch_is_reproducible_from_the_seed_and_differs_between_seeds_and_epochs() -> None:
    a = _keys(UnpairedSampler(Sizes(20, 7), seed=5))
    b = _keys(UnpairedSampler(Sizes(20, 7), seed=5))
    c = _keys(UnpairedSampler(Sizes(20, 7), seed=6))
    s = UnpairedSampler(Sizes(20, 7), seed=5)
    first, second = _keys(s), _keys(s)  # advances to epoch 1 by itself
    assert a == b == first
    assert a != c and first != second
    assert len(a) == 20  # max(len_a, len_b)
    assert sorted(k[0] for k in a) == list(range(20))  # every A image once per epoch
    assert set(Counter(k[1] for k in a).values()) <= {2, 3}  # B images evenly, 20 over 7


def test_b_is_independent_of_a() -> None:
    n = 10
    s = UnpairedSampler(Sizes(n, n), seed=0)
    pairs = [k[:2] for _ in range(60) for k in s]
    same = sum(a == b for a, b in pairs) / len(pairs)
    assert abs(same - 1 / n) < 0.04  # chance level, not tied
    partners = {a: {b for a2, b in pairs if a2 == a} for a in range(n)}
    assert all(len(v) == n for v in partners.values())  # every A meets every B
    # joint counts look like the product of the marginals (chi-square, 81 dof)
    counts = Counter(pairs)
    expected = len(pairs) / n**2
    chi2 = sum((counts[(a, b)] - expected) ** 2 / expected for a in range(n) for b in range(n))
    assert chi2 < 150


def test_shuffle_false_visits_a_in_order_but_b_still_random() -> None:
    keys = _keys(UnpairedSampler(Sizes(6, 6), seed=1, shuffle=False))
    assert [k[0] for k in keys] == list(range(6))
    assert [k[1] for k in keys] != list(range(6))


def test_resume_mid_epoch_reproduces_the_rest() -> None:
    s = UnpairedSampler(Sizes(13, 9), seed=3)
    _keys(s)  # one full epoch first
    it = iter(s)
    head = [tuple(next(it)) for _ in range(5)]
    state = s.state_dict()
    assert state["epoch"] == 1 and state["position"] == 5
    tail = [tuple(k) for k in it]
    t = UnpairedSampler(Sizes(13, 9), seed=3)
    t.load_state_dict(state)
    assert len(t) == 8
    assert _keys(t) == tail and len(head + tail) == 13
    assert t.state_dict()["epoch"] == 2 and t.state_dict()["position"] == 0
    # a fresh sampler at epoch 2 gives the same as the resumed one's next epoch
    u = UnpairedSampler(Sizes(13, 9), seed=3)
    u.set_epoch(2)
    v = UnpairedSampler(Sizes(13, 9), seed=3)
    v.load_state_dict(state)
    _keys(v)
    assert _keys(u) == _keys(v)


@given(stop=st.integers(0, 11))
def test_resume_at_any_position(stop: int) -> None:
    s = UnpairedSampler(Sizes(11, 4), seed=9)
    full = _keys(UnpairedSampler(Sizes(11, 4), seed=9))
    it = iter(s)
    for _ in range(stop):
        next(it)
    t = UnpairedSampler(Sizes(11, 4), seed=9)
    t.load_state_dict(s.state_dict())
    rest = _keys(t)
    if stop < 11:
        assert rest == full[stop:]
    else:  # a finished epoch resumes at the start of the next one
        nxt = UnpairedSampler(Sizes(11, 4), seed=9)
        nxt.set_epoch(1)
        assert rest == _keys(nxt) and rest != full


def test_resume_through_a_dataloader_with_workers_prefetching() -> None:
    ds = KeyEcho(40, 15)
    loader = make_loader(ds, batch_size=4, num_workers=2, seed=1)
    batches = []
    state = None
    for step, batch in enumerate(loader):
        batches.append(batch)
        if step == 2:  # checkpoint after 3 steps; the workers have prefetched more
            assert loader.sampler.state_dict()["position"] > 12  # type: ignore[attr-defined]
            state = loader.sampler.state_dict(consumed=3 * 4)  # type: ignore[attr-defined]
    assert state is not None and state["position"] == 12
    resumed = make_loader(KeyEcho(40, 15), batch_size=4, num_workers=0, seed=1)
    resumed.sampler.load_state_dict(state)  # type: ignore[attr-defined]
    rest = list(resumed)
    assert len(rest) == len(batches) - 3
    for x, y in zip(rest, batches[3:], strict=True):
        for k in ("index_A", "index_B", "draw"):
            assert torch.equal(x[k], y[k])


def test_items_do_not_depend_on_the_number_of_workers() -> None:
    ds = NightDayScenes(num_scenes=6, size=16, flip=True)
    one = list(make_loader(ds, batch_size=2, num_workers=0, seed=4))
    two = list(make_loader(ds, batch_size=2, num_workers=2, seed=4))
    assert len(one) == len(two) == 3
    for x, y in zip(one, two, strict=True):
        assert torch.equal(x["A"], y["A"]) and torch.equal(x["B"], y["B"])


def test_distributed_shards_are_disjoint_and_cover_the_epoch() -> None:
    n, r = 23, 4
    full = _keys(UnpairedSampler(Sizes(n, 5), seed=2))
    shards = [_keys(UnpairedSampler(Sizes(n, 5), seed=2, num_replicas=r, rank=k)) for k in range(r)]
    assert {len(s) for s in shards} == {6}  # padded to 24 = 4 x 6
    positions = [list(range(k, 24, r)) for k in range(r)]
    for shard, pos in zip(shards, positions, strict=True):
        assert shard == [full[p % n] for p in pos]
    covered = {p for pos in positions for p in pos if p < n}
    assert covered == set(range(n))
    dropped = [
        _keys(UnpairedSampler(Sizes(n, 5), seed=2, num_replicas=r, rank=k, drop_last=True))
        for k in range(r)
    ]
    assert {len(s) for s in dropped} == {5}
    assert len({k for s in dropped for k in s}) == 20  # disjoint


def test_each_rank_resumes_its_own_shard() -> None:
    s = UnpairedSampler(Sizes(30, 30), seed=0, num_replicas=3, rank=1)
    it = iter(s)
    next(it), next(it)
    rest = [tuple(k) for k in it]
    t = UnpairedSampler(Sizes(30, 30), seed=0, num_replicas=3, rank=1)
    t.load_state_dict(s.state_dict(consumed=2))
    assert _keys(t) == rest


def test_state_mismatch_and_argument_errors() -> None:
    state = UnpairedSampler(Sizes(10, 10), seed=1).state_dict()
    with pytest.raises(
        ValueError,
        match=r"cannot resume: the sampler state has len_a=10 but this sampler has len_a=11",
    ):
        UnpairedSampler(Sizes(11, 10), seed=1).load_state_dict(state)
    with pytest.raises(ValueError, match=r"cannot resume: .* num_replicas=1 .* num_replicas=2"):
        UnpairedSampler(Sizes(10, 10), seed=1, num_replicas=2, rank=0).load_state_dict(state)
    with pytest.raises(ValueError, match=r"rank must be in \[0, num_replicas=2\); got 2"):
        UnpairedSampler(Sizes(10, 10), num_replicas=2, rank=2)
    with pytest.raises(ValueError, match="len_b must be an integer >= 1; got 0"):
        UnpairedSampler(Sizes(10, 0))
    with pytest.raises(ValueError, match="seed must be an integer >= 0"):
        UnpairedSampler(Sizes(3, 3), seed=-1)
    with pytest.raises(ValueError, match="cannot be split among 5 replicas with drop_last=True"):
        UnpairedSampler(Sizes(3, 3), num_replicas=5, rank=0, drop_last=True)
    s = UnpairedSampler(Sizes(4, 4))
    iter(s).__next__()
    with pytest.raises(ValueError, match="consumed=9 exceeds the 4 samples left"):
        s.state_dict(consumed=9)


def test_int_indexing_without_the_sampler() -> None:
    ds = KeyEcho(5, 50)
    keys = [ds.resolve(i) for i in range(5)]
    assert [k.index_a for k in keys] == list(range(5))
    assert len({k.index_b for k in keys}) > 2  # B hashed, not tied to A
    assert ds.resolve(3) == key_for_index(3, len_a=5, len_b=50, seed=0, epoch=0)
    ds.set_epoch(1)
    assert ds.resolve(3) != keys[3]  # a new pairing each epoch
    assert ds.resolve(-1).index_a == 4 % 5
    with pytest.raises(IndexError, match="index 50 out of range for a dataset of length 50"):
        ds[50]
    with pytest.raises(IndexError, match=r"sample key \(5, 0, 1\) out of range"):
        ds[SampleKey(5, 0, 1)]
    with pytest.raises(TypeError, match="index with an int or a SampleKey; got str"):
        ds["0"]  # type: ignore[index]


class GlobalRandom(Dataset[dict[str, Any]]):
    """Uses the GLOBAL generators, as careless user transforms do."""

    def __len__(self) -> int:
        return 16

    def __getitem__(self, i: int) -> dict[str, Any]:
        info = get_worker_info()
        return {
            "worker": -1 if info is None else info.id,
            "np": float(np.random.random()),
            "py": random.random(),
            "torch": float(torch.rand(())),
        }


def _run_workers(seed: int) -> list[dict[str, Any]]:
    g = torch.Generator()
    g.manual_seed(seed)
    loader = DataLoader(
        GlobalRandom(), batch_size=None, num_workers=2, worker_init_fn=seed_worker, generator=g
    )
    return list(loader)


def test_seed_worker_makes_workers_differ_and_runs_repeat() -> None:
    run1, run2, other = _run_workers(7), _run_workers(7), _run_workers(8)
    by_worker = {w: [r for r in run1 if r["worker"] == w] for w in (0, 1)}
    assert all(len(v) == 8 for v in by_worker.values())
    for key in ("np", "py", "torch"):
        first0, first1 = by_worker[0][0][key], by_worker[1][0][key]
        assert first0 != first1, key  # the workers do not draw the same numbers
        assert [r[key] for r in run1] == [r[key] for r in run2], key  # the run repeats
        assert [r[key] for r in run1] != [r[key] for r in other], key  # another seed differs


def test_seed_worker_seeds_from_torch_initial_seed() -> None:
    torch.manual_seed(1234)
    seed_worker(0)
    a = (np.random.random(), random.random())
    torch.manual_seed(1234)
    seed_worker(5)
    assert (np.random.random(), random.random()) == a


def test_resumable_sampler_wraps_any_sampler_and_resumes_mid_epoch() -> None:
    from torch.utils.data import DistributedSampler

    from cyclegan_ms.data.sampler import ResumableSampler

    def make() -> ResumableSampler:
        return ResumableSampler(
            DistributedSampler(range(10), num_replicas=1, rank=0, shuffle=True, seed=3)
        )

    full = make()
    epochs = [list(full), list(full)]
    assert epochs[0] != epochs[1] and sorted(epochs[0]) == list(
        range(10)
    )  # set_epoch reaches the inner sampler
    s = make()
    it = iter(s)
    head = [next(it) for _ in range(4)]
    assert head == epochs[0][:4]
    state = s.state_dict(consumed=3)  # the loop used 3 of the 4 pulled
    assert state == {"epoch": 0, "position": 3, "length": 10}
    t = make()
    t.load_state_dict(state)
    assert len(t) == 7 and list(t) == epochs[0][3:] and list(t) == epochs[1]
    end = make()
    end.load_state_dict({"epoch": 0, "position": 10, "length": 10})
    assert list(end) == epochs[1]  # a finished epoch resumes at the next one
    with pytest.raises(ValueError, match="length=10 but this sampler has length=9"):
        ResumableSampler(range(9)).load_state_dict(state)
    with pytest.raises(ValueError, match="consumed=11 exceeds"):
        make().state_dict(consumed=11)
    with pytest.raises(TypeError, match="iterable and have a len"):
        ResumableSampler(5)


def test_sampler_arguments_use_the_shared_integer_check() -> None:
    with pytest.raises(ValueError, match=r"^num_samples must be an integer >= 1; got 0$"):
        UnpairedSampler(Sizes(3, 3), num_samples=0)
    with pytest.raises(ValueError, match=r"^epoch must be an integer >= 0; got -1$"):
        UnpairedSampler(Sizes(3, 3)).set_epoch(-1)
    assert UnpairedSampler(Sizes(3, 3), seed=np.int64(5)).seed == 5


def test_batch_stream_position_and_resume(caplog: pytest.LogCaptureFixture) -> None:
    from cyclegan_ms.data.loader import BatchStream

    def stream(num_replicas: int = 1) -> BatchStream:
        return BatchStream(KeyEcho(6, 4), batch_size=2, seed=3, num_replicas=num_replicas)

    with pytest.raises(ValueError, match="fewer than one global batch"):
        BatchStream(KeyEcho(3, 3), batch_size=2, num_replicas=2)
    first = stream()
    it = iter(first)
    batches = [next(it) for _ in range(5)]  # one epoch of 3 batches, then 2 of the next
    saved = first.state_dict()
    assert (saved["epoch"], saved["position"]) == (1, 4)
    again = stream()
    again.load_state_dict(saved)
    assert torch.equal(next(iter(again))["draw"], next(it)["draw"])
    other = stream()
    with caplog.at_level("WARNING", logger="cyclegan_ms.data"):
        other.load_state_dict(saved, num_replicas=2)
    assert "written with 2 processes" in caplog.text
    assert torch.equal(next(iter(other))["draw"], batches[3]["draw"])  # the epoch's start
