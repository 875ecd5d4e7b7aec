"""The CycleGAN image pool: a history buffer of generated images for the discriminator update.

Shrivastava et al. (2017) and the CycleGAN paper update the discriminators on a mix of the newest
generated images and older ones, which damps oscillation. :class:`ImagePool` keeps up to ``size``
past images; ``size=0`` disables it (the seed's behaviour: the discriminator sees the newest
batch).

    >>> import torch
    >>> pool = ImagePool(4, seed=0)
    >>> out = pool.query(torch.rand(2, 3, 8, 8))
    >>> out.shape, len(pool)
    (torch.Size([2, 3, 8, 8]), 2)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

__all__ = ["ImagePool"]


class ImagePool:
    """History buffer of generated images (CycleGAN's ``ImagePool``), seedable and resumable.

    For each image of a queried batch, in order: while the pool holds fewer than ``size``
    images, the image is stored and returned; once full, with probability ``p`` a uniformly
    chosen stored image is returned and replaced by the new one, otherwise the new image is
    returned (and the pool is unchanged).

    Randomness comes from the pool's own CPU ``torch.Generator`` (never Python's ``random`` nor
    torch's global stream): seeded with ``seed``, or, when ``seed`` is None, with a seed drawn
    once from torch's global RNG at construction (so ``torch.manual_seed`` makes a run
    reproducible). Stored images are detached clones kept on the device of the batch that was
    last queried (later in-place changes to the input cannot alter the pool), and
    :meth:`state_dict` / :meth:`load_state_dict` carry the stored images and the generator state,
    so a resumed run continues with the same pool contents and the same random stream.

    In distributed training give each rank its own pool and its own ``seed``.

    Parameters
    ----------
    size
        Maximum number of stored images (50 in the CycleGAN paper); 0 disables the pool.
    seed
        Seed of the pool's generator, an int in ``[0, 2**63)``, or None.
    p
        Probability of returning (and replacing) a stored image once the pool is full.

    Raises
    ------
    ValueError
        Negative or non-integer ``size``, ``p`` outside ``[0, 1]``, or a bad ``seed``.

    Shape
    -----
    :meth:`query`: ``(B, C, H, W) -> (B, C, H, W)``.
    """

    def __init__(self, size: int = 50, *, seed: int | None = None, p: float = 0.5) -> None:
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ValueError(f"size must be an int >= 0 (0 disables the pool); got {size!r}")
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not math.isfinite(p):
            raise ValueError(f"p must be a probability in [0, 1]; got {p!r}")
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p must be a probability in [0, 1]; got {p!r}")
        if seed is not None and (
            isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63
        ):
            raise ValueError(f"seed must be an int in [0, 2**63) or None; got {seed!r}")
        self.size = size
        self.p = float(p)
        self.generator = torch.Generator()
        if seed is None:
            seed = int(torch.randint(0, 2**62, ()).item())
        self.generator.manual_seed(seed)
        self._images: list[Tensor] = []

    def __len__(self) -> int:
        """Number of stored images (``<= size``)."""
        return len(self._images)

    def __repr__(self) -> str:
        return f"ImagePool(size={self.size}, p={self.p}, stored={len(self._images)})"

    def reset(self) -> None:
        """Empty the pool (the generator state is kept)."""
        self._images = []

    def _check_batch(self, images: Tensor) -> None:
        if not isinstance(images, Tensor):
            raise TypeError(f"images must be a Tensor (B, C, H, W); got {type(images).__name__}")
        if images.dim() != 4:
            raise ValueError(f"images must have shape (B, C, H, W); got {tuple(images.shape)}")
        if self._images and images.shape[1:] != self._images[0].shape:
            raise ValueError(
                f"the pool holds images of shape {tuple(self._images[0].shape)}; got a batch of "
                f"{tuple(images.shape[1:])} per image (reset() the pool to change size)"
            )

    def query(self, images: Tensor) -> Tensor:
        """Return a batch mixing ``images`` with stored history, updating the pool.

        Parameters
        ----------
        images
            The newest generated batch.

        Returns
        -------
        Tensor
            A new detached batch of the same shape, device and dtype (for ``size=0``:
            ``images.detach()``, the input itself).

        Raises
        ------
        ValueError
            Not a 4-D batch, or a per-image shape that differs from the stored images.

        Shape
        -----
        ``images``: ``(B, C, H, W)``; output ``(B, C, H, W)``.
        """
        self._check_batch(images)
        if self.size == 0:
            return images.detach()
        if images.shape[0] == 0:
            return images.detach().clone()
        batch = images.detach()
        if self._images and self._images[0].device != batch.device:
            self._images = [t.to(batch.device) for t in self._images]
        out: list[Tensor] = []
        for image in batch:
            if len(self._images) < self.size:
                self._images.append(image.clone())
                out.append(image)
            elif float(torch.rand((), generator=self.generator)) < self.p:
                idx = int(torch.randint(0, self.size, (), generator=self.generator))
                out.append(self._images[idx].to(batch.dtype))
                self._images[idx] = image.clone()
            else:
                out.append(image)
        return torch.stack(out)

    def snapshot(self) -> tuple[list[Tensor], Tensor]:
        """A cheap copy of the pool's contents and random state, to :meth:`rollback` to.

        The stored images are not copied (a query replaces list entries, it never writes into a
        stored tensor), so this costs a list of references and the generator state.
        """
        return list(self._images), self.generator.get_state()

    def rollback(self, snapshot: tuple[list[Tensor], Tensor]) -> None:
        """Undo every :meth:`query` since ``snapshot`` was taken (e.g. for a skipped step)."""
        images, gen_state = snapshot
        self._images = list(images)
        self.generator.set_state(gen_state)

    def state_dict(self) -> dict[str, int | float | Tensor]:
        """The pool's state: settings, stored images and generator state.

        Returns
        -------
        dict
            ``{"size": int, "p": float, "images": Tensor (N, C, H, W) (N=0: shape (0,)),
            "generator_state": uint8 Tensor}``; the tensors are copies.
        """
        images = torch.stack(self._images) if self._images else torch.empty(0)
        return {
            "size": self.size,
            "p": self.p,
            "images": images,
            "generator_state": self.generator.get_state(),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a state saved by :meth:`state_dict`.

        Parameters
        ----------
        state
            A mapping with the keys of :meth:`state_dict`.

        Raises
        ------
        ValueError
            Missing keys, a ``size`` or ``p`` that differs from this pool's, more images than
            ``size``, or a malformed generator state.
        """
        keys = {"size", "p", "images", "generator_state"}
        if not isinstance(state, Mapping) or not keys <= set(state):
            got = sorted(state) if isinstance(state, Mapping) else type(state).__name__
            raise ValueError(f"an ImagePool state needs the keys {sorted(keys)}; got {got}")
        if state["size"] != self.size or float(state["p"]) != self.p:
            raise ValueError(
                f"state is for ImagePool(size={state['size']}, p={state['p']}); this pool has "
                f"size={self.size}, p={self.p}"
            )
        images = state["images"]
        if not isinstance(images, Tensor):
            raise ValueError(f"state['images'] must be a Tensor; got {type(images).__name__}")
        if images.numel() == 0:
            stored: list[Tensor] = []
        elif images.dim() != 4:
            raise ValueError(
                f"state['images'] must have shape (N, C, H, W); got {tuple(images.shape)}"
            )
        else:
            stored = [t.clone() for t in images]
        if len(stored) > self.size:
            raise ValueError(f"state holds {len(stored)} images but the pool size is {self.size}")
        gen_state = state["generator_state"]
        if not isinstance(gen_state, Tensor) or gen_state.dtype != torch.uint8:
            raise ValueError(
                "state['generator_state'] must be a uint8 Tensor (Generator.get_state())"
            )
        self.generator.set_state(gen_state.cpu())
        self._images = stored
