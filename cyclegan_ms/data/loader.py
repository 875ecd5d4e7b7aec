"""A ``DataLoader`` wired for unpaired data: seeded sampler, per-worker seeding, sharding."""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader

from .._checks import check_int
from .base import UnpairedDataset
from .sampler import UnpairedSampler, seed_worker

__all__ = ["make_loader"]


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
