"""``DataLoader`` s wired for unpaired data: seeded sampler, per-worker seeding, sharding.

:func:`make_loader` builds one loader; :class:`BatchStream` is the data order of a training
run: batches in a resumable sampler's order, epoch after epoch, whose state is the position in
the data (:func:`training_sampler` picks the sampler). :func:`auto_num_workers` is the default
number of its worker processes.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from typing import TypeGuard

import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from .._checks import check_int
from .aligned import AlignedImageFolder, AlignedSampler
from .base import UnpairedDataset
from .sampler import (
    ResumableSampler,
    SizedIterable,
    StatefulSampler,
    UnpairedSampler,
    seed_worker,
)

__all__ = ["BatchStream", "auto_num_workers", "make_loader", "rank_seed", "training_sampler"]

#: Most workers :func:`auto_num_workers` gives one training process.
MAX_AUTO_WORKERS = 8
#: Stride between the seeds of successive ranks (a prime far above any seed offset in use).
RANK_STRIDE = 1_000_003


def rank_seed(seed: int, rank: int) -> int:
    """This rank's seed for a random stream seeded with ``seed``: ``seed`` itself on rank 0 (so
    a single process draws exactly what it always drew), a different seed on every other rank
    (so the ranks of a ``torch.distributed`` job draw different dropout masks, pool choices and
    worker seeds).

    Examples
    --------
    >>> rank_seed(7, 0), rank_seed(7, 1) != rank_seed(7, 0)
    (7, True)
    """
    return (seed + rank * RANK_STRIDE) % 2**63


logger = logging.getLogger("cyclegan_ms.data")


def make_loader(
    dataset: UnpairedDataset,
    *,
    batch_size: int = 1,
    num_workers: int = 0,
    seed: int = 0,
    shuffle: bool = True,
    drop_last: bool = True,
    num_samples: int | None = None,
    num_replicas: int | None = None,
    rank: int | None = None,
    pin_memory: bool = False,
    persistent_workers: bool = False,
    prefetch_factor: int | None = None,
) -> DataLoader:
    """Build a ``DataLoader`` over an unpaired dataset that is reproducible and resumable.

    The loader draws keys from an :class:`~.sampler.UnpairedSampler` (``loader.sampler``; save
    ``loader.sampler.state_dict(consumed=steps * batch_size)`` in a checkpoint and
    ``load_state_dict`` it to resume mid-epoch), seeds each worker through
    :func:`~.sampler.seed_worker` and a ``torch.Generator`` seeded with ``seed``. Items do not
    depend on ``num_workers``.

    Parameters
    ----------
    dataset
        An :class:`~.folder.UnpairedImageFolder`, :class:`~.scenes.NightDayScenes` or any
        :class:`~.base.UnpairedDataset`.
    batch_size
        Items per batch.
    num_workers
        Worker processes (0 loads in the main process).
    seed
        Seed of the sampling order and of the workers' base seed.
    shuffle
        Shuffle domain A each epoch (B is always drawn at random).
    drop_last
        Drop the last incomplete batch (the CycleGAN default keeps batches equal).
    num_samples
        Samples per epoch over all ranks (default ``len(dataset)``).
    num_replicas, rank
        For ``torch.distributed``: number of shards and this process's shard (default: from the
        initialised process group, else 1 and 0). Each rank gets a disjoint shard.
    pin_memory, persistent_workers, prefetch_factor
        Passed to ``DataLoader``.

    Returns
    -------
    torch.utils.data.DataLoader
        Batches are dicts (the dataset's item format, collated).

    Shape
    -----
    - ``batch["A"]``, ``batch["B"]``: ``(N, C, H, W)`` with ``N = batch_size``.
    - ``batch["index_A"]``, ``batch["index_B"]``: ``(N,)`` int64.

    Raises
    ------
    ValueError
        For a non-positive ``batch_size`` or negative ``num_workers`` (and see
        :class:`~.sampler.UnpairedSampler`).
    """
    batch_size = check_int(batch_size, "batch_size", 1)
    num_workers = check_int(num_workers, "num_workers")
    sampler = UnpairedSampler(
        dataset,
        seed=seed,
        shuffle=shuffle,
        num_samples=num_samples,
        num_replicas=num_replicas,
        rank=rank,
    )
    generator = torch.Generator()
    generator.manual_seed(seed)
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        num_workers=num_workers,
        drop_last=drop_last,
        worker_init_fn=seed_worker if num_workers > 0 else None,
        generator=generator,
        pin_memory=pin_memory,
        persistent_workers=persistent_workers and num_workers > 0,
        prefetch_factor=prefetch_factor if num_workers > 0 else None,
    )


def auto_num_workers(device: torch.device | str) -> int:
    """Data-loading workers for a training process on ``device``.

    On CUDA the batches are made by worker processes while the GPU computes (the built-in scenes
    take 50-80 ms a batch to draw, longer than a GPU step): the CPUs this process may use,
    shared among the GPUs of the node and one left for the main process, at least 2 and at most
    :data:`MAX_AUTO_WORKERS`. Elsewhere 0: on a CPU the workers would take the cores the
    training itself uses.

    Examples
    --------
    >>> auto_num_workers("cpu")
    0
    """
    if torch.device(device).type != "cuda":
        return 0
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        cpus = os.cpu_count() or 1
    gpus = max(1, torch.cuda.device_count())
    return max(2, min(MAX_AUTO_WORKERS, cpus // gpus - 1))


def is_stateful(sampler: object) -> TypeGuard[StatefulSampler]:
    """Whether ``sampler`` has the state of a :class:`~.sampler.StatefulSampler`
    (``state_dict`` and ``load_state_dict``)."""
    return callable(getattr(sampler, "state_dict", None)) and callable(
        getattr(sampler, "load_state_dict", None)
    )


def training_sampler(
    dataset: Dataset[object],
    sampler: SizedIterable | None = None,
    *,
    seed: int = 0,
    num_replicas: int = 1,
    rank: int = 0,
) -> StatefulSampler:
    """A sampler whose state is the position in the data (``state_dict(consumed=...)`` /
    ``load_state_dict``), for :class:`BatchStream`.

    Parameters
    ----------
    dataset
        The map-style training dataset.
    sampler
        ``None``: an :class:`~.sampler.UnpairedSampler` for datasets with ``len_a``/``len_b``, an
        :class:`~.aligned.AlignedSampler` for an :class:`~.aligned.AlignedImageFolder` (a new
        augmentation of each pair every epoch), else a seeded, shuffled ``DistributedSampler``
        (``drop_last``); all shard over ``num_replicas``. A sampler with that state is used as
        is; any other is wrapped in a :class:`~.sampler.ResumableSampler` (it must then be
        deterministic given its epoch for an exact resume).
    seed
        Seed of the default samplers.
    num_replicas, rank
        Number of processes and this one's rank (the default samplers' shards).

    Returns
    -------
    StatefulSampler
        The sampler.
    """
    if sampler is None:
        if hasattr(dataset, "len_a") and hasattr(dataset, "len_b"):
            return UnpairedSampler(dataset, seed=seed, num_replicas=num_replicas, rank=rank)
        if isinstance(dataset, AlignedImageFolder):
            return AlignedSampler(dataset, seed=seed, num_replicas=num_replicas, rank=rank)
        sampler = DistributedSampler(
            dataset, num_replicas=num_replicas, rank=rank, shuffle=True, seed=seed, drop_last=True
        )
    if is_stateful(sampler):
        return sampler
    return ResumableSampler(sampler)


class BatchStream:
    """Batches in a resumable sampler's order, forever: the data order of a training run.

    One ``DataLoader`` serves every pass of the sampler; with workers they are started once and
    kept for the whole run (``persistent_workers``), not started again each epoch. Each pass
    reseeds the loader's generator with ``seed * 7919 + epoch`` (offset by the rank, see
    :func:`rank_seed`), the base seed of the workers (seeded by :func:`~.sampler.seed_worker`
    when they start). The package's datasets draw their randomness from the sample key, so their
    batches depend only on the sampler's state, not on ``num_workers`` or on where a run was
    resumed; a user transform that draws from the global generators differs after a resume
    when workers are used.

    Parameters
    ----------
    dataset
        Map-style dataset of dict items.
    sampler
        The order: see :func:`training_sampler` (``None``: the default for ``dataset``).
    batch_size
        Items per batch and process (incomplete batches are dropped).
    seed
        Seed of the default samplers and base seed of the loaders' generators.
    num_replicas, rank
        Number of processes and this one's rank.
    num_workers
        Data-loading worker processes (persistent).
    pin_memory
        Passed to ``DataLoader`` (for CUDA training: batches in page-locked memory, so that the
        copy to the GPU can be asynchronous).

    Attributes
    ----------
    sampler
        The sampler (with its position).
    consumed
        Samples of the sampler's current pass that iteration has handed out.

    Raises
    ------
    ValueError
        ``dataset`` has fewer items than one batch of every process.
    """

    def __init__(
        self,
        dataset: Dataset[object],
        sampler: SizedIterable | None = None,
        *,
        batch_size: int,
        seed: int = 0,
        num_replicas: int = 1,
        rank: int = 0,
        num_workers: int = 0,
        pin_memory: bool = False,
    ) -> None:
        n = len(dataset)  # type: ignore[arg-type]
        if n < batch_size * num_replicas:
            raise ValueError(
                f"dataset has {n} items, fewer than one global batch "
                f"({batch_size} x {num_replicas} processes)"
            )
        self.dataset, self.batch_size, self.seed = dataset, batch_size, seed
        self.sampler = training_sampler(
            dataset, sampler, seed=seed, num_replicas=num_replicas, rank=rank
        )
        self.num_replicas = num_replicas
        self.num_workers, self.pin_memory = num_workers, pin_memory
        self.rank = rank
        self.consumed = 0
        self._generator = torch.Generator()
        self._loader: DataLoader[object] | None = None

    def loader(self) -> DataLoader[object]:
        """The one ``DataLoader`` of the stream (built at the first call)."""
        if self._loader is None:
            self._loader = DataLoader(
                self.dataset,
                batch_size=self.batch_size,
                sampler=self.sampler,
                drop_last=True,
                num_workers=self.num_workers,
                worker_init_fn=seed_worker if self.num_workers else None,
                generator=self._generator,
                pin_memory=self.pin_memory,
                persistent_workers=self.num_workers > 0,
            )
        return self._loader

    def __iter__(self) -> Iterator[dict[str, object]]:
        """Batches from the position in the data on, forever (a new iteration, e.g. a second
        :meth:`~cyclegan_ms.training.Trainer.fit`, continues after the last batch handed out)."""
        bs = self.batch_size
        self.load_state_dict(self.state_dict())  # not the sampler's own position: prefetching
        while True:
            epoch = int(self.sampler.state_dict()["epoch"])
            loader = self.loader()
            self._generator.manual_seed(rank_seed(self.seed * 7919 + epoch, self.rank))
            self.consumed = 0
            got = 0
            for batch in loader:
                self.consumed += bs
                got += 1
                yield batch
            if (
                got == 0
                and self.sampler.state_dict()["epoch"] == epoch + 1
                and len(self.sampler) < bs
            ):
                raise ValueError(
                    f"the sampler yields {len(self.sampler)} indices, fewer than a batch of {bs}"
                )

    def state_dict(self) -> Mapping[str, int | bool]:
        """The position in the data: the sampler's state, counting the samples handed out."""
        if self.consumed:
            return self.sampler.state_dict(consumed=self.consumed)
        return self.sampler.state_dict()

    def load_state_dict(
        self, state: Mapping[str, object], *, num_replicas: int | None = None
    ) -> None:
        """Continue from a :meth:`state_dict` (the next iteration starts there).

        Parameters
        ----------
        state
            A :meth:`state_dict`.
        num_replicas
            The number of processes of the job that wrote it (default: this job's). When it
            differs, the shards differ too: the stream starts at the beginning of the saved epoch
            instead, and a warning says the order after the resume differs.
        """
        saved = dict(state)
        if num_replicas is not None and num_replicas != self.num_replicas:
            logger.warning(
                "checkpoint was written with %s processes, resuming with %s; the data order after "
                "resume will differ",
                num_replicas,
                self.num_replicas,
            )
            self.sampler.set_epoch(check_int(saved["epoch"], "epoch"))
        else:
            self.sampler.load_state_dict(saved)
        self.consumed = 0
