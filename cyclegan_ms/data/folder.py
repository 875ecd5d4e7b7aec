"""Unpaired image folders: the CycleGAN layout or any two folders, robust to real-world files."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Literal

from PIL import Image

from .._checks import check_int
from .base import UnpairedDataset, UnpairedItem, item_rngs
from .images import (
    IMAGE_EXTENSIONS,
    BadFile,
    BadImageWarning,
    VerifyMode,
    error_reason,
    load_image,
    scan_images,
    warn_bad_files,
)
from .sampler import SampleKey
from .transforms import Pipeline, RecipeName, as_pipeline

__all__ = ["Domain", "FolderItem", "UnpairedImageFolder", "cyclegan_layout", "folder_contents_hint"]

Domain = Literal["A", "B"]
_SPLITS = ("train", "test")


def _accepted() -> str:
    return ", ".join(IMAGE_EXTENSIONS)


def cyclegan_layout(root: str | os.PathLike[str], split: str = "train") -> tuple[Path, Path]:
    """The two domain folders of the CycleGAN layout: ``root/{split}A`` and ``root/{split}B``.

    Parameters
    ----------
    root
        Dataset root (e.g. ``datasets/night2day``).
    split
        ``"train"`` or ``"test"`` (any other name ``x`` means ``root/xA``, ``root/xB``).

    Returns
    -------
    tuple of Path
        ``(folder_a, folder_b)``; not checked for existence.

    Raises
    ------
    ValueError
        If ``split`` is empty or contains a path separator.
    """
    if not split or "/" in split or os.sep in split:
        raise ValueError(
            f"split must be a folder-name prefix such as 'train' or 'test'; got {split!r}"
        )
    r = Path(root)
    return r / f"{split}A", r / f"{split}B"


class FolderItem(UnpairedItem):
    """An :class:`UnpairedImageFolder` item: the images' files and the files skipped on the way.

    Attributes
    ----------
    path_A, path_B
        The files of ``A`` and ``B``.
    skipped
        The unreadable files passed over to reach them, one a line (empty: none).
    """

    path_A: str
    path_B: str
    skipped: str


def folder_contents_hint(root: str | os.PathLike[str] | None) -> str:
    """``"; ROOT contains: a, b"`` (its visible sub-folders), for a missing-folder message;
    ``""`` when ``root`` is ``None`` or not a folder."""
    if root is None or not Path(root).is_dir():
        return ""
    subs = sorted(p.name for p in Path(root).iterdir() if p.is_dir() and not p.name.startswith("."))
    return f"; {root} contains: {', '.join(subs) if subs else 'no folders'}"


class UnpairedImageFolder(UnpairedDataset):
    """Unpaired images from two folders: domain A (e.g. night) and domain B (e.g. day).

    Give either ``root`` (the CycleGAN layout: ``root/trainA``, ``root/trainB``, ``root/testA``,
    ``root/testB``, chosen by ``split``) or both ``a`` and ``b`` (any two folders).

    Images are found recursively (extensions :data:`~.images.IMAGE_EXTENSIONS`, any case; hidden
    files and folders ignored), upright per their EXIF orientation, converted from any mode to RGB
    or grayscale (see :func:`~.images.to_channels`). Unusable files are skipped: those found when
    scanning are listed in :attr:`bad_files` and summarised in ONE :class:`~.images.BadImageWarning`;
    a file that breaks when loaded is replaced by the next loadable file of its domain, warned
    about, added to :attr:`bad_files` (of the process that loaded it: a worker's copy) and named in
    the item's ``"skipped"`` entry, which survives worker processes.

    Index it with the keys of :class:`~.sampler.UnpairedSampler` (reproducible, resumable), or
    with plain ints (``index_A = i % len_a``; B hashed from ``(seed, epoch, i)``).

    Parameters
    ----------
    root
        Dataset root in the CycleGAN layout (exclusive with ``a``/``b``).
    split
        With ``root``: ``"train"`` or ``"test"``.
    a, b
        Explicit domain folders (both, without ``root``).
    transform
        A recipe name (``"seed"``: resize 256, [0, 1]; ``"paper"``: load 286, crop 256, flip,
        [-1, 1]; see :func:`~.transforms.recipe`) or a :class:`~.transforms.Pipeline`.
    channels
        3 (RGB) or 1 (grayscale models).
    recursive
        Search sub-folders.
    verify
        How to check files when scanning (see :func:`~.images.check_image`).
    seed
        Seed for plain-int indexing (the sampler has its own).

    Attributes
    ----------
    files_a, files_b : list[Path]
        The usable files of each domain, sorted by relative path.
    bad_files : list[BadFile]
        Every skipped file with its reason and stage (``"scan"`` or ``"load"``).

    Item format
    -----------
    ``dataset[key]`` returns a dict:

    - ``"A"``, ``"B"``: float32 tensors ``(C, H, W)`` in the transform's value range;
    - ``"index_A"``, ``"index_B"``: ``int``, indices into ``files_a``/``files_b`` of the images
      actually used (a substitute's index if the requested file broke);
    - ``"path_A"``, ``"path_B"``: ``str``, those files;
    - ``"skipped"``: ``str``, ``""`` normally, else the files that broke while loading this item
      (one per line).

    Shape
    -----
    - ``item["A"]``, ``item["B"]``: ``(C, H, W)``, ``C`` = ``channels``; ``(H, W)`` set by the
      transform (256 x 256 for both recipes). After default collation: ``(N, C, H, W)``.

    Raises
    ------
    FileNotFoundError
        One line naming a missing domain folder and the accepted extensions.
    ValueError
        One line naming a domain folder with no usable image and the accepted extensions; or bad
        arguments (e.g. both ``root`` and ``a``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from PIL import Image
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> for d in ("trainA", "trainB"):
    ...     (root / d).mkdir()
    ...     Image.new("RGB", (40, 30)).save(root / d / "x.JPG")
    >>> ds = UnpairedImageFolder(root=root, transform="seed")
    >>> item = ds[0]
    >>> tuple(item["A"].shape), item["path_A"].endswith("x.JPG"), item["skipped"]
    ((3, 256, 256), True, '')
    """

    def __init__(
        self,
        *,
        root: str | os.PathLike[str] | None = None,
        split: str = "train",
        a: str | os.PathLike[str] | None = None,
        b: str | os.PathLike[str] | None = None,
        transform: RecipeName | Pipeline = "seed",
        channels: int = 3,
        recursive: bool = True,
        verify: VerifyMode = "quick",
        seed: int = 0,
    ) -> None:
        if root is not None and (a is not None or b is not None):
            raise ValueError("give either root (CycleGAN layout) or the folders a and b, not both")
        if root is not None:
            folder_a, folder_b = cyclegan_layout(root, split)
        elif a is not None and b is not None:
            folder_a, folder_b = Path(a), Path(b)
        else:
            raise ValueError(
                "give root (a folder with trainA/trainB/testA/testB) or both folders a and b"
            )
        if channels not in (1, 3):
            raise ValueError(f"channels must be 1 (grayscale) or 3 (RGB); got {channels!r}")
        transform = as_pipeline(transform)
        self.seed = check_int(seed, "seed")
        self.epoch = 0
        self.transform = transform
        self.channels = channels
        self.folders: dict[Domain, Path] = {"A": folder_a, "B": folder_b}
        self.bad_files: list[BadFile] = []
        files: dict[Domain, list[Path]] = {}
        for domain, folder in self.folders.items():  # both exist? (before any slow scan)
            if not folder.is_dir():
                raise FileNotFoundError(self._missing_message(domain, folder, root))
        for domain, folder in self.folders.items():
            result = scan_images(folder, recursive=recursive, verify=verify)
            self.bad_files.extend(result.bad)
            if not result.files:
                raise ValueError(self._empty_message(domain, folder, result.bad))
            files[domain] = result.files
        self.files_a, self.files_b = files["A"], files["B"]
        self._broken: set[Path] = set()
        warn_bad_files(self.bad_files, where="dataset.bad_files")

    @staticmethod
    def _missing_message(domain: str, folder: Path, root: str | os.PathLike[str] | None) -> str:
        what = "is not a folder" if folder.exists() else "not found"
        hint = folder_contents_hint(root)
        return (
            f"domain {domain} folder {what}: {folder} (expected a folder of images with "
            f"extensions {_accepted()}){hint}"
        )

    @staticmethod
    def _empty_message(domain: str, folder: Path, bad: list[BadFile]) -> str:
        unusable = [x for x in bad if x.path.is_relative_to(folder)]
        if unusable:
            return (
                f"no usable images in domain {domain} folder {folder}: all {len(unusable)} image "
                f"files are unreadable, e.g. {unusable[0]}"
            )
        return (
            f"no images found in domain {domain} folder {folder} (accepted extensions, any case: "
            f"{_accepted()}; hidden files are ignored)"
        )

    @property
    def len_a(self) -> int:
        """Number of usable domain-A images."""
        return len(self.files_a)

    @property
    def len_b(self) -> int:
        """Number of usable domain-B images."""
        return len(self.files_b)

    def _files(self, domain: Domain) -> list[Path]:
        return self.files_a if domain == "A" else self.files_b

    def load(self, domain: Domain, index: int) -> tuple[Image.Image, int, list[Path]]:
        """Load image ``index`` of ``domain``, substituting the next loadable one if it breaks.

        Parameters
        ----------
        domain
            ``"A"`` or ``"B"``.
        index
            Index into ``files_a`` or ``files_b``.

        Returns
        -------
        tuple
            The image (mode ``"RGB"`` or ``"L"``), the index actually loaded, and the files that
            broke on the way (usually empty).

        Raises
        ------
        RuntimeError
            If no file of the domain can be loaded any more.
        """
        files = self._files(domain)
        n = len(files)
        broke: list[Path] = []
        for step in range(n):
            j = (index + step) % n
            path = files[j]
            if path in self._broken:
                continue
            try:
                img = load_image(path, channels=self.channels, draft_size=self.transform.draft_size)
            except Exception as exc:  # any decoder error: skip the file, never crash training
                self._broken.add(path)
                self.bad_files.append(BadFile(path, error_reason(exc), "load"))
                broke.append(path)
                continue
            if broke:
                warnings.warn(
                    f"could not load {', '.join(map(str, broke))} ({self.bad_files[-1].reason}); "
                    f"using {path} instead (see item['skipped'] and dataset.bad_files)",
                    BadImageWarning,
                    stacklevel=3,
                )
            return img, j, broke
        raise RuntimeError(
            f"no loadable image left in domain {domain} folder {self.folders[domain]}: all {n} "
            f"files failed to load (see dataset.bad_files)"
        )

    def get(self, key: SampleKey) -> FolderItem:
        """The item for ``key``; see the class docstring for its format."""
        rng_a, rng_b = item_rngs(key.seed)
        img_a, ia, broke_a = self.load("A", key.index_a)
        img_b, ib, broke_b = self.load("B", key.index_b)
        return {
            "A": self.transform(img_a, rng_a),
            "B": self.transform(img_b, rng_b),
            "index_A": ia,
            "index_B": ib,
            "path_A": str(self.files_a[ia]),
            "path_B": str(self.files_b[ib]),
            "skipped": "\n".join(str(p) for p in broke_a + broke_b),
        }

    def __repr__(self) -> str:
        return (
            f"UnpairedImageFolder(A={self.folders['A']} [{self.len_a}], "
            f"B={self.folders['B']} [{self.len_b}], transform={self.transform!r}, "
            f"channels={self.channels}, skipped={len(self.bad_files)})"
        )
