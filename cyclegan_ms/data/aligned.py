"""Aligned pairs from your own files, as the reference pix2pix users have them.

Two layouts (:data:`AlignedLayout`):

- ``"folders"``: two folders whose images are matched by file name (relative path and stem, any
  extension): ``root/trainA/x.jpg`` with ``root/trainB/x.png`` (and ``testA``/``testB``), or any
  two folders;
- ``"ab"``: the reference's side-by-side images (its ``--dataset_mode aligned``): one file per
  pair, A on the left half and B on the right, in ``root/train`` (and ``root/test``), what its
  ``datasets/combine_A_and_B.py`` writes.

:class:`AlignedImageFolder` is the training dataset (items ``{"A": input, "B": target, ...}``:
``direction="b2a"`` swaps them, the reference's ``--direction BtoA``); every random crop and flip
is the same for both images of a pair. :class:`AlignedSampler` is its data order (seeded,
shardable, resumable, a new augmentation each epoch); :func:`side_by_side_pairs` yields a folder
of AB images as ``(input, target)`` pairs for :func:`cyclegan_ms.metrics.evaluate`.

    >>> import tempfile, pathlib
    >>> from PIL import Image
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> (root / "train").mkdir()
    >>> Image.new("RGB", (64, 32), (200, 0, 0)).save(root / "train" / "1.png")
    >>> ds = AlignedImageFolder(root=root, layout="ab", transform="seed")
    >>> item = ds[0]
    >>> tuple(item["A"].shape), tuple(item["B"].shape), len(ds)
    ((3, 256, 256), (3, 256, 256), 1)
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator, Sized
from pathlib import Path
from typing import Literal, NamedTuple, TypeAlias, TypedDict

import numpy as np
from PIL import Image
from torch import Tensor
from torch.utils.data import Dataset

from .._checks import check_int
from .folder import folder_contents_hint
from .images import (
    BadFile,
    BadImageWarning,
    VerifyMode,
    check_image,
    error_reason,
    find_images,
    load_image,
    warn_bad_files,
)
from .sampler import SampleKey, UnpairedSampler
from .transforms import Pipeline, RecipeName, as_pipeline, to_tensor

__all__ = [
    "ALIGNED_LAYOUTS",
    "AlignedImageFolder",
    "AlignedItem",
    "AlignedLayout",
    "AlignedSampler",
    "PairDirection",
    "match_by_name",
    "side_by_side_pairs",
    "split_side_by_side",
]

#: How aligned pairs are stored: two folders matched by name, or one side-by-side AB image each.
AlignedLayout: TypeAlias = Literal["folders", "ab"]
ALIGNED_LAYOUTS: tuple[str, ...] = ("folders", "ab")
#: Which image of a pair is the input: ``"a2b"`` (A, the reference's ``--direction AtoB``) or
#: ``"b2a"`` (B, ``--direction BtoA``).
PairDirection: TypeAlias = Literal["a2b", "b2a"]
_DIRECTIONS = ("a2b", "b2a")
_SHOW = 5  # file names an error message lists


def _first(names: list[str]) -> str:
    more = f" and {len(names) - _SHOW} more" if len(names) > _SHOW else ""
    return ", ".join(names[:_SHOW]) + more


def _key(path: Path, root: Path) -> str:
    return path.relative_to(root).with_suffix("").as_posix()


def match_by_name(
    folder_a: str | os.PathLike[str], folder_b: str | os.PathLike[str], *, recursive: bool = True
) -> list[tuple[Path, Path]]:
    """Pair the images of two folders by relative path and stem (any image extension).

    ``a/x.jpg`` pairs with ``b/x.png``; ``a/sub/y.jpg`` with ``b/sub/y.jpg``.

    Parameters
    ----------
    folder_a, folder_b
        The two folders.
    recursive
        Search sub-folders too.

    Returns
    -------
    list[tuple[Path, Path]]
        ``(file_a, file_b)`` pairs, sorted by name.

    Raises
    ------
    FileNotFoundError
        A folder is missing.
    ValueError
        Some image has no partner of the same name in the other folder (the first few of each
        side are named), two files of one folder share a name (``x.jpg`` and ``x.png``), or a
        folder holds no image.
    """
    root_a, root_b = Path(folder_a), Path(folder_b)
    sides: list[dict[str, Path]] = []
    for root in (root_a, root_b):
        by_key: dict[str, Path] = {}
        for p in find_images(root, recursive=recursive):
            k = _key(p, root)
            if k in by_key:
                raise ValueError(
                    f"two images in {root} share the name {k!r} ({by_key[k].name}, {p.name}): "
                    "aligned pairs are matched by name, which must be unique"
                )
            by_key[k] = p
        if not by_key:
            raise ValueError(f"no images found in {root}")
        sides.append(by_key)
    a, b = sides
    only_a, only_b = sorted(a.keys() - b.keys()), sorted(b.keys() - a.keys())
    if only_a or only_b:
        parts = []
        if only_a:
            parts.append(f"{len(only_a)} in {root_a} have no partner in {root_b}: {_first(only_a)}")
        if only_b:
            parts.append(f"{len(only_b)} in {root_b} have no partner in {root_a}: {_first(only_b)}")
        raise ValueError(
            f"aligned folders must hold the same image names (any extension); {'; '.join(parts)}"
        )
    return [(a[k], b[k]) for k in sorted(a)]


def _upright_size(path: Path) -> tuple[int, int]:
    """``(width, height)`` of a file as loaded (EXIF orientation applied), from its header."""
    with Image.open(path) as im:
        w, h = im.size
        if im.getexif().get(0x0112, 1) in (5, 6, 7, 8):  # rotated by 90 degrees
            w, h = h, w
    return w, h


def split_side_by_side(img: Image.Image) -> tuple[Image.Image, Image.Image]:
    """Split a side-by-side AB image into its left (A) and right (B) halves.

    Raises
    ------
    ValueError
        For an odd width (the halves would differ by a pixel).
    """
    w, h = img.size
    if w % 2:
        raise ValueError(
            f"an AB image must have an even width (A on the left half, B on the right); got {w}x{h}"
        )
    return img.crop((0, 0, w // 2, h)), img.crop((w // 2, 0, w, h))


def side_by_side_pairs(
    folder: str | os.PathLike[str],
    *,
    direction: PairDirection = "a2b",
    value_range: tuple[float, float] = (0.0, 1.0),
    channels: Literal[1, 3] = 3,
) -> Iterator[tuple[Tensor, Tensor]]:
    """A folder of side-by-side AB images as aligned ``(input, target)`` pairs, for evaluation.

    Parameters
    ----------
    folder
        The images (e.g. ``root/test``), found recursively in name order.
    direction
        ``"a2b"``: the left half is the input; ``"b2a"``: the right half.
    value_range
        Range of the yielded tensors.
    channels
        1 or 3.

    Yields
    ------
    tuple[Tensor, Tensor]
        ``(input, target)``, each ``(C, H, W/2)`` float32, ``(H, W)`` the file's size.

    Raises
    ------
    FileNotFoundError
        The folder is missing.
    ValueError
        An unknown direction, or an image of odd width (named).

    Shape
    -----
    ``(C, H, W/2)`` each.
    """
    if direction not in _DIRECTIONS:
        raise ValueError(f"direction must be 'a2b' or 'b2a'; got {direction!r}")
    for p in find_images(folder):
        try:
            a, b = split_side_by_side(load_image(p, channels=channels))
        except ValueError as err:
            raise ValueError(f"{p}: {err}") from None
        x, y = (a, b) if direction == "a2b" else (b, a)
        yield to_tensor(x, value_range=value_range), to_tensor(y, value_range=value_range)


class AlignedItem(TypedDict):
    """An :class:`AlignedImageFolder` item.

    Attributes
    ----------
    A, B
        The input and its target, ``(C, H, W)`` float in the transform's value range (with
        ``direction="b2a"``, ``A`` holds the B image).
    index
        Which pair they are (a substitute's index if the requested pair's file broke).
    path_A, path_B
        Their files (the same AB file twice in the ``"ab"`` layout).
    skipped
        Files that broke while loading this item, one a line (empty: none).
    """

    A: Tensor
    B: Tensor
    index: int
    path_A: str
    path_B: str
    skipped: str


class AlignedImageFolder(Dataset[AlignedItem]):
    """Aligned (input, target) pairs from image files: two folders matched by name, or AB images.

    Give ``root`` and ``split`` (``layout="folders"``: ``root/{split}A`` and ``root/{split}B``,
    the CycleGAN layout with the same names on both sides; ``layout="ab"``: ``root/{split}``,
    the reference pix2pix layout), or, for ``"folders"``, any two folders ``a`` and ``b``.

    The transform runs on both images of a pair with the same random draws, so a random crop
    cuts the same window of both and a flip mirrors both. A B image whose size differs from its
    A image is first resized to it (bicubic). Files found unreadable when scanning drop their
    pair (ONE :class:`~.images.BadImageWarning`, listed in :attr:`bad_files`); a file that breaks
    while loading is replaced by the next loadable pair, named in the item's ``"skipped"``.

    Index it with :class:`~.sampler.SampleKey` s of :class:`AlignedSampler` (``index_a`` is
    the pair, ``seed`` its augmentation; ``index_b`` must equal ``index_a``) or with plain ints
    (the augmentation seed then hashed from ``(seed, index)``: the same every time).

    Parameters
    ----------
    root
        Dataset root (exclusive with ``a``/``b``).
    split
        With ``root``: ``"train"``, ``"test"`` or another folder-name prefix.
    a, b
        Explicit folders (``layout="folders"`` only, both, without ``root``).
    layout
        ``"folders"`` or ``"ab"``.
    direction
        ``"a2b"``: ``item["A"]`` is the A image; ``"b2a"``: the B image (the reference's
        ``--direction BtoA``).
    transform
        A recipe name (``"paper"``: resize 286, random crop 256, flip, [-1, 1], the reference
        pix2pix's; ``"seed"``: resize 256, [0, 1]) or a :class:`~.transforms.Pipeline`.
    channels
        3 (RGB) or 1 (grayscale).
    recursive
        Search sub-folders.
    verify
        How to check files when scanning (see :func:`~.images.check_image`).
    seed
        Seed of plain-int indexing.

    Attributes
    ----------
    pairs : list[tuple[Path, Path]]
        The usable ``(file_a, file_b)`` pairs, by name (``(f, f)`` for AB files).
    bad_files : list[BadFile]
        The skipped files with their reason.

    Shape
    -----
    ``item["A"]``, ``item["B"]``: ``(C, H, W)``, ``C = channels``, ``(H, W)`` set by the
    transform. After default collation: ``(N, C, H, W)``.

    Raises
    ------
    FileNotFoundError
        A missing folder (one line, with what ``root`` holds).
    ValueError
        Bad arguments; unmatched names (the first few listed); AB images of odd width (the first
        few listed); no usable pair.
    """

    def __init__(
        self,
        *,
        root: str | os.PathLike[str] | None = None,
        split: str = "train",
        a: str | os.PathLike[str] | None = None,
        b: str | os.PathLike[str] | None = None,
        layout: AlignedLayout = "folders",
        direction: PairDirection = "a2b",
        transform: RecipeName | Pipeline = "paper",
        channels: int = 3,
        recursive: bool = True,
        verify: VerifyMode = "quick",
        seed: int = 0,
    ) -> None:
        if layout not in ALIGNED_LAYOUTS:
            raise ValueError(f"layout must be 'folders' or 'ab'; got {layout!r}")
        if direction not in _DIRECTIONS:
            raise ValueError(f"direction must be 'a2b' or 'b2a'; got {direction!r}")
        if channels not in (1, 3):
            raise ValueError(f"channels must be 1 (grayscale) or 3 (RGB); got {channels!r}")
        transform = as_pipeline(transform)
        if not split or "/" in split or os.sep in split:
            raise ValueError(
                f"split must be a folder name such as 'train' or 'test'; got {split!r}"
            )
        self.layout, self.direction = layout, direction
        self.transform, self.channels = transform, channels
        self.seed = check_int(seed, "seed")
        self.bad_files: list[BadFile] = []
        if layout == "ab":
            if root is None or a is not None or b is not None:
                raise ValueError(
                    "layout='ab' takes root (a folder with train/ and test/ of side-by-side AB "
                    "images), not the folders a and b"
                )
            self.folders = [Path(root) / split]
            self._check_folders(root)
            found = find_images(self.folders[0], recursive=recursive)
            candidates = [(p, p) for p in found]
        else:
            if root is not None and (a is not None or b is not None):
                raise ValueError("give either root (with trainA/trainB) or the folders a and b")
            if root is not None:
                self.folders = [Path(root) / f"{split}A", Path(root) / f"{split}B"]
            elif a is not None and b is not None:
                self.folders = [Path(a), Path(b)]
            else:
                raise ValueError(
                    "give root (with trainA/trainB, testA/testB) or both folders a and b"
                )
            self._check_folders(root)
            candidates = match_by_name(*self.folders, recursive=recursive)
        self.pairs = self._usable(candidates, verify)
        if layout == "ab":
            self._check_even_widths()
        if not self.pairs:
            raise ValueError(
                f"no usable image pairs in {', '.join(map(str, self.folders))} (all "
                f"{len(candidates)} unreadable, e.g. {self.bad_files[0] if self.bad_files else '-'})"
            )
        self._broken: set[Path] = set()
        warn_bad_files(self.bad_files, where="dataset.bad_files")

    def _check_folders(self, root: str | os.PathLike[str] | None) -> None:
        for folder in self.folders:
            if folder.is_dir():
                continue
            hint = folder_contents_hint(root)
            if (
                self.layout == "ab"
                and root is not None
                and Path(root).is_dir()
                and find_images(root, recursive=False)
            ):
                hint += (
                    f" (it holds images itself: give its parent as root, the reference's "
                    f"--dataroot with {folder.name}/ inside)"
                )
            raise FileNotFoundError(f"aligned {self.layout} folder not found: {folder}{hint}")

    def _usable(
        self, candidates: list[tuple[Path, Path]], verify: VerifyMode
    ) -> list[tuple[Path, Path]]:
        usable = []
        for pa, pb in candidates:
            bad = [
                BadFile(p, reason)
                for p in dict.fromkeys((pa, pb))
                if (reason := check_image(p, verify=verify)) is not None
            ]
            self.bad_files.extend(bad)
            if not bad:
                usable.append((pa, pb))
        return usable

    def _check_even_widths(self) -> None:
        odd = []
        for p, _ in self.pairs:
            w, h = _upright_size(p)
            if w % 2:
                odd.append(f"{p.name} ({w}x{h})")
        if odd:
            raise ValueError(
                f"AB images hold A on the left half and B on the right, so their width must be "
                f"even; {len(odd)} in {self.folders[0]} are odd: {_first(odd)}"
            )

    def __len__(self) -> int:
        return len(self.pairs)

    def load_pair(self, index: int) -> tuple[Image.Image, Image.Image, int, list[Path]]:
        """Load pair ``index`` as (input, target) images, substituting the next loadable pair if
        a file breaks.

        Returns
        -------
        tuple
            The input and target images (same size; mode ``"RGB"`` or ``"L"``), the index
            actually loaded, and the files that broke on the way.

        Raises
        ------
        RuntimeError
            If no pair can be loaded any more.
        """
        n = len(self.pairs)
        broke: list[Path] = []
        for step in range(n):
            j = (index + step) % n
            pa, pb = self.pairs[j]
            if pa in self._broken or pb in self._broken:
                continue
            if pa == pb:  # one AB file (no draft decoding: each half is half as wide)
                ab = self._try_load(pa, None, broke)
                if ab is None:
                    continue
                img_a, img_b = split_side_by_side(ab)
            else:
                draft = self.transform.draft_size
                loaded_a = self._try_load(pa, draft, broke)
                loaded_b = None if loaded_a is None else self._try_load(pb, draft, broke)
                if loaded_a is None or loaded_b is None:
                    continue
                img_a, img_b = loaded_a, loaded_b
            if img_b.size != img_a.size:
                img_b = img_b.resize(img_a.size, Image.Resampling.BICUBIC)
            if broke:
                warnings.warn(
                    f"could not load {', '.join(map(str, broke))} ({self.bad_files[-1].reason}); "
                    f"using pair {pa.name} instead (see item['skipped'] and dataset.bad_files)",
                    BadImageWarning,
                    stacklevel=3,
                )
            if self.direction == "b2a":
                img_a, img_b = img_b, img_a
            return img_a, img_b, j, broke
        raise RuntimeError(
            f"no loadable pair left in {', '.join(map(str, self.folders))}: all {n} failed to "
            "load (see dataset.bad_files)"
        )

    def _try_load(self, path: Path, draft: int | None, broke: list[Path]) -> Image.Image | None:
        try:
            return load_image(path, channels=self.channels, draft_size=draft)
        except Exception as exc:  # any decoder error: skip the pair, never crash training
            self._broken.add(path)
            self.bad_files.append(BadFile(path, error_reason(exc), "load"))
            broke.append(path)
            return None

    def get(self, index: int, seed: int) -> AlignedItem:
        """Pair ``index`` with the augmentation of ``seed`` (the same draws for both images)."""
        img_a, img_b, j, broke = self.load_pair(index)
        x = self.transform(img_a, np.random.default_rng(seed))
        y = self.transform(img_b, np.random.default_rng(seed))
        pa, pb = self.pairs[j]
        if self.direction == "b2a":
            pa, pb = pb, pa
        return {
            "A": x,
            "B": y,
            "index": j,
            "path_A": str(pa),
            "path_B": str(pb),
            "skipped": "\n".join(map(str, broke)),
        }

    def __getitem__(self, key: int | SampleKey) -> AlignedItem:
        if isinstance(key, SampleKey):
            if key.index_a != key.index_b:
                raise ValueError(
                    f"aligned pairs are addressed by one index: a SampleKey's index_a and index_b "
                    f"must agree (use AlignedSampler); got {tuple(key)}"
                )
            index, seed = key.index_a, key.seed
        elif isinstance(key, (int, np.integer)) and not isinstance(key, bool):
            index, seed = int(key), -1
        else:
            raise TypeError(f"index with an int or a SampleKey; got {type(key).__name__}")
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"index {index} out of range for {n} aligned pairs")
        index %= n
        if seed < 0:  # a plain int: the same augmentation every time
            seed = int(np.random.SeedSequence([self.seed, index]).generate_state(1)[0])
        return self.get(index, seed)

    def __repr__(self) -> str:
        return (
            f"AlignedImageFolder({', '.join(map(str, self.folders))} [{len(self)} pairs], "
            f"layout={self.layout!r}, direction={self.direction!r}, transform={self.transform!r}, "
            f"channels={self.channels}, skipped={len(self.bad_files)})"
        )


class _Sizes(NamedTuple):
    len_a: int
    len_b: int


class AlignedSampler(UnpairedSampler):
    """The data order of aligned pairs: :class:`~.sampler.UnpairedSampler` with ``index_b`` =
    ``index_a`` (a pair is one index).

    Every epoch visits each pair once in a random order, with a new augmentation seed per item
    (both from ``(seed, epoch)``); shardable over ranks and resumable mid-epoch like its parent.

    Parameters
    ----------
    data_source
        The pairs (anything with a length, e.g. an :class:`AlignedImageFolder`).
    seed, shuffle, num_replicas, rank, drop_last
        As :class:`~.sampler.UnpairedSampler`'s.

    Examples
    --------
    >>> keys = list(AlignedSampler(range(4), seed=0))
    >>> sorted(k.index_a for k in keys), all(k.index_a == k.index_b for k in keys)
    ([0, 1, 2, 3], True)
    """

    def __init__(
        self,
        data_source: Sized,
        *,
        seed: int = 0,
        shuffle: bool = True,
        num_replicas: int | None = None,
        rank: int | None = None,
        drop_last: bool = False,
    ) -> None:
        n = len(data_source)
        super().__init__(
            _Sizes(n, n),
            seed=seed,
            shuffle=shuffle,
            num_replicas=num_replicas,
            rank=rank,
            drop_last=drop_last,
        )

    def shard_keys(self, epoch: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """This rank's keys of ``epoch`` as arrays ``(index, index, seed)``, in order."""
        a, _, s = super().shard_keys(epoch)
        return a, a, s
