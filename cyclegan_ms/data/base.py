"""The contract shared by the unpaired datasets.

An :class:`UnpairedDataset` is indexed by a :class:`~.sampler.SampleKey` (what
:class:`~.sampler.UnpairedSampler` yields) or by a plain ``int`` (then B and the augmentation seed
are hashed from ``(seed, epoch, index)``, see :func:`~.sampler.key_for_index`). Every item is a
dict with at least::

    {"A": Tensor (C, H, W), "B": Tensor (C, H, W), "index_A": int, "index_B": int}

and, after the default collate of a ``DataLoader``, ``"A"``/``"B"`` are ``(N, C, H, W)`` and the
ints ``(N,)`` int64 tensors.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import TypedDict

import numpy as np
from torch import Tensor
from torch.utils.data import Dataset

from .._checks import check_int
from .sampler import SampleKey, key_for_index

__all__ = ["UnpairedDataset", "UnpairedItem", "item_rngs"]


def item_rngs(seed: int) -> tuple[np.random.Generator, np.random.Generator]:
    """Two independent generators (for A and for B) from an item's seed."""
    a, b = np.random.SeedSequence(seed).spawn(2)
    return np.random.default_rng(a), np.random.default_rng(b)


class UnpairedItem(TypedDict):
    """What every unpaired dataset's item holds (a dataset may add keys: a ``TypedDict``
    deriving from this one).

    Attributes
    ----------
    A, B
        The two images, ``(C, H, W)`` float in the dataset's value range.
    index_A, index_B
        Which item of each domain they are.
    """

    A: Tensor
    B: Tensor
    index_A: int
    index_B: int


class UnpairedDataset(Dataset[UnpairedItem]):
    """Base class: two domains, items addressed by :class:`~.sampler.SampleKey` or ``int``.

    Subclasses set ``self.seed`` and ``self.epoch``, and implement :attr:`len_a`, :attr:`len_b`
    and :meth:`get`. ``len(dataset)`` is ``max(len_a, len_b)``, the CycleGAN epoch length.
    """

    seed: int = 0
    epoch: int = 0

    @property
    @abstractmethod
    def len_a(self) -> int:
        """Number of domain-A items."""

    @property
    @abstractmethod
    def len_b(self) -> int:
        """Number of domain-B items."""

    @abstractmethod
    def get(self, key: SampleKey) -> UnpairedItem:
        """The item for ``key`` (a pure function of the key)."""

    def __len__(self) -> int:
        return max(self.len_a, self.len_b)

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch used to hash plain ``int`` indices (the sampler path ignores it)."""
        self.epoch = check_int(epoch, "epoch")

    def resolve(self, key: int | SampleKey) -> SampleKey:
        """Turn an ``int`` index or a key into a validated :class:`~.sampler.SampleKey`.

        Raises
        ------
        IndexError
            For an out-of-range index.
        TypeError
            For anything that is not an int or a ``SampleKey``.
        """
        if isinstance(key, SampleKey):
            if not (0 <= key.index_a < self.len_a and 0 <= key.index_b < self.len_b):
                raise IndexError(
                    f"sample key {tuple(key)} out of range for domains of sizes "
                    f"A={self.len_a}, B={self.len_b}"
                )
            return key
        if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
            n = len(self)
            i = int(key)
            if not -n <= i < n:
                raise IndexError(f"index {i} out of range for a dataset of length {n}")
            return key_for_index(
                i % n, len_a=self.len_a, len_b=self.len_b, seed=self.seed, epoch=self.epoch
            )
        raise TypeError(f"index with an int or a SampleKey; got {type(key).__name__}")

    def __getitem__(self, key: int | SampleKey) -> UnpairedItem:
        return self.get(self.resolve(key))
