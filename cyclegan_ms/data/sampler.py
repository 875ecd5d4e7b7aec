"""Unpaired sampling: reproducible from a seed, per-worker safe, resumable mid-epoch, shardable.

A sample is named by a :class:`SampleKey` ``(index_a, index_b, seed)``: which A image, which B
image, and the seed of that item's augmentations. The :class:`UnpairedSampler` produces the keys
of an epoch from ``(seed, epoch)`` alone; the datasets turn a key into an item without any other
randomness. So an item does not depend on which worker loads it or how many workers there are, and
restoring a sampler's ``(epoch, position)`` reproduces the rest of the epoch exactly.

    >>> class Sizes:
    ...     len_a, len_b = 5, 3
    >>> s = UnpairedSampler(Sizes(), seed=0)
    >>> keys = list(s)
    >>> len(keys), sorted(k.index_a for k in keys)
    (5, [0, 1, 2, 3, 4])
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from typing import NamedTuple, Protocol

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import Sampler

from .._checks import check_int

__all__ = [
    "ResumableSampler",
    "SampleKey",
    "SizedIterable",
    "StatefulSampler",
    "SupportsUnpaired",
    "UnpairedSampler",
    "epoch_keys",
    "key_for_index",
    "seed_worker",
]

_SEED_MAX = 2**63 - 1


class SampleKey(NamedTuple):
    """What one unpaired item is made of.

    Attributes
    ----------
    index_a
        Index into domain A, in ``[0, len_a)``.
    index_b
        Index into domain B, in ``[0, len_b)``, drawn independently of ``index_a``.
    seed
        Seed (``0 <= seed < 2**63``) for this item's random augmentations.
    """

    index_a: int
    index_b: int
    seed: int


class SupportsUnpaired(Protocol):
    """Anything with the sizes of its two domains (both datasets of this package)."""

    @property
    def len_a(self) -> int:
        """Number of domain-A items."""
        ...

    @property
    def len_b(self) -> int:
        """Number of domain-B items."""
        ...


def _orders(rng: np.random.Generator, n: int, length: int) -> np.ndarray:
    """``length`` indices made of back-to-back random permutations of ``range(n)``."""
    reps = -(-length // n)
    return np.concatenate([rng.permutation(n) for _ in range(reps)])[:length]


def epoch_keys(
    len_a: int, len_b: int, *, seed: int, epoch: int, num_samples: int, shuffle: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The keys of one epoch, as three arrays ``(index_a, index_b, seed)``.

    A is visited as back-to-back random permutations (``shuffle``) or in order; B always as
    back-to-back random permutations from an independent stream, so B is independent of A and
    every B image is seen about equally often.

    Parameters
    ----------
    len_a, len_b
        Domain sizes (>= 1).
    seed, epoch
        Everything random is a function of ``(seed, epoch)``.
    num_samples
        Keys in the epoch.
    shuffle
        Shuffle A (B is always drawn at random).

    Returns
    -------
    tuple of numpy.ndarray
        Three ``int64`` arrays of length ``num_samples``.
    """
    streams = np.random.SeedSequence([seed, epoch]).spawn(3)
    ra, rb, rs = (np.random.default_rng(s) for s in streams)
    a = _orders(ra, len_a, num_samples) if shuffle else np.arange(num_samples) % len_a
    b = _orders(rb, len_b, num_samples)
    s = rs.integers(0, _SEED_MAX, size=num_samples, dtype=np.int64)
    return a.astype(np.int64), b.astype(np.int64), s


def key_for_index(index: int, *, len_a: int, len_b: int, seed: int, epoch: int) -> SampleKey:
    """The key a dataset uses for a plain integer index (when no :class:`UnpairedSampler` is used).

    ``index_a = index % len_a``; ``index_b`` and the augmentation seed are hashed from
    ``(seed, epoch, index)`` so B is unrelated to A, and varies with the epoch.

    Parameters
    ----------
    index
        Non-negative integer index.
    len_a, len_b
        Domain sizes.
    seed, epoch
        The dataset's seed and current epoch.

    Returns
    -------
    SampleKey
    """
    state = np.random.SeedSequence([seed, epoch, index]).generate_state(2, np.uint64)
    return SampleKey(index % len_a, int(state[0] % np.uint64(len_b)), int(state[1] >> np.uint64(1)))


def seed_worker(worker_id: int) -> None:
    """``worker_init_fn`` for :class:`torch.utils.data.DataLoader`: seed ``random`` and numpy.

    Inside a worker, ``torch.initial_seed()`` is ``base_seed + worker_id``, where ``base_seed`` is
    drawn from the loader's ``generator``. Seeding Python's and numpy's global generators from it
    makes them differ between workers (the classic bug is every worker drawing the same numbers)
    and repeat across runs that pass the same ``generator`` seed. The datasets of this package do
    not need it (their randomness comes from the sample key); it protects user transforms that use
    the global generators.

    Parameters
    ----------
    worker_id
        The worker's index (unused: the torch seed already includes it).
    """
    s = torch.initial_seed() % 2**32
    np.random.seed(s)
    random.seed(s)


class UnpairedSampler(Sampler[SampleKey]):
    """Yields :class:`SampleKey` s for an unpaired dataset; reproducible, shardable, resumable.

    An epoch has ``num_samples`` keys (default ``max(len_a, len_b)``, as the CycleGAN reference),
    from :func:`epoch_keys` of ``(seed, epoch)``. With ``num_replicas > 1`` (e.g. one per
    ``torch.distributed`` rank) the epoch's keys are dealt round-robin: rank ``r`` gets positions
    ``r, r + R, r + 2R, ...``, so the shards are disjoint; without ``drop_last`` the epoch is
    padded by wrapping around to a multiple of ``R`` (as :class:`~torch.utils.data.DistributedSampler`).

    The sampler advances to the next epoch by itself when an iteration completes (or use
    :meth:`set_epoch`). Its position can be saved and restored mid-epoch with :meth:`state_dict`
    / :meth:`load_state_dict`. Note that a ``DataLoader`` pulls keys ahead of the training loop
    (``prefetch_factor * num_workers`` batches): for an exact resume, pass the number of samples
    the loop actually consumed in this iteration, ``state_dict(consumed=steps * batch_size)``.

    Parameters
    ----------
    data_source
        Anything with ``len_a`` and ``len_b`` (both datasets of this package).
    seed
        Seed of every epoch's order, ``0 <= seed < 2**63``.
    shuffle
        Shuffle domain A each epoch (B is always drawn at random, independently of A).
    num_samples
        Keys per epoch over all replicas; default ``max(len_a, len_b)``.
    num_replicas, rank
        Shard count and this shard's index; default: the ``torch.distributed`` world size and rank
        when a process group is initialised, else 1 and 0.
    drop_last
        Drop the tail that does not divide evenly among replicas instead of padding.

    Raises
    ------
    ValueError
        For negative seeds, an empty domain, ``rank`` outside ``[0, num_replicas)``, or a shard
        that would be empty.

    Examples
    --------
    >>> class Sizes:
    ...     len_a, len_b = 10, 4
    >>> s = UnpairedSampler(Sizes(), seed=1)
    >>> it = iter(s); first = [next(it) for _ in range(3)]
    >>> state = s.state_dict(); rest = list(it)
    >>> t = UnpairedSampler(Sizes(), seed=1); t.load_state_dict(state)
    >>> list(t) == rest
    True
    """

    def __init__(
        self,
        data_source: SupportsUnpaired,
        *,
        seed: int = 0,
        shuffle: bool = True,
        num_samples: int | None = None,
        num_replicas: int | None = None,
        rank: int | None = None,
        drop_last: bool = False,
    ) -> None:
        self.len_a = check_int(data_source.len_a, "len_a", 1)
        self.len_b = check_int(data_source.len_b, "len_b", 1)
        self.seed = check_int(seed, "seed")
        if self.seed > _SEED_MAX:
            raise ValueError(f"seed must be < 2**63; got {seed}")
        self.shuffle = bool(shuffle)
        self.num_samples = (
            max(self.len_a, self.len_b)
            if num_samples is None
            else check_int(num_samples, "num_samples", 1)
        )
        distributed = dist.is_available() and dist.is_initialized()
        if num_replicas is None:
            num_replicas = dist.get_world_size() if distributed else 1
        if rank is None:
            rank = dist.get_rank() if distributed else 0
        self.num_replicas = check_int(num_replicas, "num_replicas", 1)
        self.rank = check_int(rank, "rank")
        if self.rank >= self.num_replicas:
            raise ValueError(f"rank must be in [0, num_replicas={self.num_replicas}); got {rank}")
        self.drop_last = bool(drop_last)
        n, r = self.num_samples, self.num_replicas
        self.total_size = (n // r) * r if self.drop_last else -(-n // r) * r
        self.shard_size = self.total_size // r
        if self.shard_size == 0:
            raise ValueError(
                f"{n} samples per epoch cannot be split among {r} replicas with drop_last=True"
            )
        self.epoch = 0
        self.position = 0
        self._reset_iteration()

    def _reset_iteration(self) -> None:
        # the latest iteration: its epoch, start position, keys yielded, and whether it is running
        self._iter_epoch, self._iter_start, self._yielded, self._active = (
            self.epoch,
            self.position,
            0,
            False,
        )

    def shard_keys(self, epoch: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """This rank's keys of ``epoch`` as arrays ``(index_a, index_b, seed)``, in order."""
        a, b, s = epoch_keys(
            self.len_a,
            self.len_b,
            seed=self.seed,
            epoch=epoch,
            num_samples=self.num_samples,
            shuffle=self.shuffle,
        )
        pos = (np.arange(self.total_size) % self.num_samples)[self.rank :: self.num_replicas]
        return a[pos], b[pos], s[pos]

    def __iter__(self) -> Iterator[SampleKey]:
        """Yield the keys of the current epoch from the current position, then advance the epoch."""
        epoch, start = self.epoch, self.position
        a, b, s = self.shard_keys(epoch)
        self._iter_epoch, self._iter_start, self._yielded, self._active = epoch, start, 0, True
        for j in range(start, self.shard_size):
            self._yielded += 1
            yield SampleKey(int(a[j]), int(b[j]), int(s[j]))
        self.epoch, self.position, self._active = epoch + 1, 0, False

    def __len__(self) -> int:
        """Keys the next iteration yields (the shard size, less the resume position)."""
        return self.shard_size - self.position

    def set_epoch(self, epoch: int) -> None:
        """Start ``epoch`` from its beginning at the next iteration."""
        self.epoch = check_int(epoch, "epoch")
        self.position = 0
        self._reset_iteration()

    def state_dict(self, *, consumed: int | None = None) -> dict[str, int | bool]:
        """The sampler's position, to save in a checkpoint.

        Parameters
        ----------
        consumed
            Samples of the latest iteration the training loop actually consumed (on this rank).
            Default: the keys the iteration has yielded, which is exact when iterating the sampler
            directly or with ``num_workers=0``, but ahead of the loop with worker prefetching.
            Once a loop over the ``DataLoader`` has run to its end, call it without
            ``consumed``: the state is then the start of the next epoch (a last partial batch
            dropped by ``drop_last`` is not replayed).

        Returns
        -------
        dict
            ``epoch`` and ``position`` (within this rank's shard) plus the settings a resume must
            match (``seed``, ``len_a``, ``len_b``, ``num_samples``, ``num_replicas``,
            ``shuffle``, ``drop_last``) and ``rank`` for information.

        Raises
        ------
        ValueError
            If ``consumed`` is negative or more than the iteration can have yielded.
        """
        if consumed is None:
            if self._active:
                epoch, position = self._iter_epoch, self._iter_start + self._yielded
            else:
                epoch, position = self.epoch, self.position
        else:
            consumed = check_int(consumed, "consumed")
            if self._iter_start + consumed > self.shard_size:
                raise ValueError(
                    f"consumed={consumed} exceeds the {self.shard_size - self._iter_start} samples "
                    f"left in the iteration"
                )
            epoch, position = self._iter_epoch, self._iter_start + consumed
        if position == self.shard_size:
            epoch, position = epoch + 1, 0
        return {
            "epoch": epoch,
            "position": position,
            "seed": self.seed,
            "len_a": self.len_a,
            "len_b": self.len_b,
            "num_samples": self.num_samples,
            "num_replicas": self.num_replicas,
            "shuffle": self.shuffle,
            "drop_last": self.drop_last,
            "rank": self.rank,
        }

    def load_state_dict(self, state: Mapping[str, object]) -> None:
        """Resume from :meth:`state_dict`: the next iteration continues where that one stopped.

        Raises
        ------
        ValueError
            If the state was saved with different settings or dataset sizes (the order would not
            be the same), or its position is outside the shard.
        """
        for name in (
            "seed",
            "len_a",
            "len_b",
            "num_samples",
            "num_replicas",
            "shuffle",
            "drop_last",
        ):
            if name in state and state[name] != getattr(self, name):
                raise ValueError(
                    f"cannot resume: the sampler state has {name}={state[name]!r} but this sampler "
                    f"has {name}={getattr(self, name)!r}"
                )
        epoch = check_int(state.get("epoch"), "epoch")
        position = check_int(state.get("position"), "position")
        if position > self.shard_size:
            raise ValueError(
                f"position must be <= the shard size {self.shard_size}; got {position}"
            )
        self.epoch, self.position = (
            (epoch + 1, 0) if position == self.shard_size else (epoch, position)
        )
        self._reset_iteration()


class SizedIterable(Protocol):
    """What :class:`ResumableSampler` wraps: iterable, with a length."""

    def __iter__(self) -> Iterator[object]: ...

    def __len__(self) -> int: ...


class StatefulSampler(SizedIterable, Protocol):
    """A sampler whose state is its position in the data, as :class:`UnpairedSampler` and
    :class:`ResumableSampler`: what :class:`~cyclegan_ms.data.loader.BatchStream` draws from."""

    def set_epoch(self, epoch: int) -> None: ...

    def state_dict(self, *, consumed: int | None = None) -> Mapping[str, int | bool]: ...

    def load_state_dict(self, state: Mapping[str, object]) -> None: ...


class ResumableSampler(Sampler[object]):
    """Any sampler made resumable mid-epoch, with the state protocol of :class:`UnpairedSampler`.

    Wraps a sampler over dataset indices (anything iterable with ``len``; a ``set_epoch`` is
    called at the start of every epoch when it has one, as on
    :class:`~torch.utils.data.DistributedSampler`). An epoch is one iteration of the wrapped
    sampler; :meth:`state_dict` ``(consumed=...)`` / :meth:`load_state_dict` save and restore
    ``(epoch, position)``, and a resumed iteration skips the first ``position`` indices of that
    epoch. The wrapped sampler must be deterministic given its epoch for the resume to be exact.

    Parameters
    ----------
    sampler
        The sampler to wrap.

    Examples
    --------
    >>> s = ResumableSampler(range(5))
    >>> it = iter(s); first = [next(it) for _ in range(2)]
    >>> t = ResumableSampler(range(5)); t.load_state_dict(s.state_dict())
    >>> list(t)
    [2, 3, 4]
    """

    def __init__(self, sampler: SizedIterable) -> None:
        if not hasattr(sampler, "__iter__") or not hasattr(sampler, "__len__"):
            raise TypeError(
                f"sampler must be iterable and have a len(); got {type(sampler).__name__}"
            )
        self.sampler = sampler
        self.epoch = 0
        self.position = 0
        self._iter_epoch, self._iter_start, self._yielded, self._active = 0, 0, 0, False

    def __len__(self) -> int:
        """Indices the next iteration yields (an epoch, less the resume position)."""
        return max(0, len(self.sampler) - self.position)

    def set_epoch(self, epoch: int) -> None:
        """Start ``epoch`` from its beginning at the next iteration."""
        self.epoch = check_int(epoch, "epoch")
        self.position = 0
        self._active = False

    def __iter__(self) -> Iterator[object]:
        """Yield the current epoch's indices from the current position, then advance the epoch."""
        epoch, start = self.epoch, self.position
        set_epoch = getattr(self.sampler, "set_epoch", None)
        if set_epoch is not None:
            set_epoch(epoch)
        self._iter_epoch, self._iter_start, self._yielded, self._active = epoch, start, 0, True
        for j, index in enumerate(self.sampler):
            if j < start:
                continue
            self._yielded += 1
            yield index
        self.epoch, self.position, self._active = epoch + 1, 0, False

    def state_dict(self, *, consumed: int | None = None) -> dict[str, int]:
        """``{"epoch", "position", "length"}``; ``consumed`` as in :meth:`UnpairedSampler.state_dict`.

        Raises
        ------
        ValueError
            If ``consumed`` is negative or more than the iteration can have yielded.
        """
        size = len(self.sampler)
        if consumed is None:
            epoch, position = (
                (self._iter_epoch, self._iter_start + self._yielded)
                if self._active
                else (self.epoch, self.position)
            )
        else:
            consumed = check_int(consumed, "consumed")
            if self._iter_start + consumed > size:
                raise ValueError(
                    f"consumed={consumed} exceeds the {size - self._iter_start} samples left in the iteration"
                )
            epoch, position = self._iter_epoch, self._iter_start + consumed
        if position >= size:
            epoch, position = epoch + 1, 0
        return {"epoch": epoch, "position": position, "length": size}

    def load_state_dict(self, state: Mapping[str, object]) -> None:
        """Resume from :meth:`state_dict`: the next iteration continues where that one stopped.

        Raises
        ------
        ValueError
            If the epoch length differs from the saved one (the order would not be the same) or
            the position is outside the epoch.
        """
        size = len(self.sampler)
        if "length" in state and state["length"] != size:
            raise ValueError(
                f"cannot resume: the sampler state has length={state['length']!r} but this sampler "
                f"has length={size}"
            )
        epoch = check_int(state.get("epoch"), "epoch")
        position = check_int(state.get("position"), "position")
        if position > size:
            raise ValueError(f"position must be <= the epoch length {size}; got {position}")
        self.epoch, self.position = (epoch + 1, 0) if position == size else (epoch, position)
        self._active = False
