"""Finding, checking and loading image files as users really have them.

Real folders hold upper-case extensions, nested sub-folders, hidden files (``.DS_Store``,
``._IMG_0001.jpg``), phone photos whose pixels are stored sideways with an EXIF orientation tag,
palette PNGs with transparency, CMYK JPEGs, 16-bit PNGs/TIFFs, zero-byte files left by an
interrupted copy, truncated downloads and text files with an image extension. This module turns all
of them into 8-bit RGB (or single-channel) :class:`PIL.Image.Image` objects, or reports them by name.

    >>> IMAGE_EXTENSIONS
    ('.bmp', '.jpeg', '.jpg', '.png', '.tif', '.tiff', '.webp')
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeAlias

import numpy as np
from PIL import Image, ImageOps

__all__ = [
    "IMAGE_EXTENSIONS",
    "BadFile",
    "BadImageWarning",
    "ScanResult",
    "VerifyMode",
    "check_image",
    "find_images",
    "load_image",
    "scan_images",
    "to_channels",
    "warn_bad_files",
]

#: Accepted file extensions (matched case-insensitively).
IMAGE_EXTENSIONS: tuple[str, ...] = (".bmp", ".jpeg", ".jpg", ".png", ".tif", ".tiff", ".webp")

#: How thoroughly :func:`scan_images` checks each file, see :func:`check_image`.
VerifyMode: TypeAlias = Literal["none", "quick", "full"]

_VERIFY_MODES = ("none", "quick", "full")
_ALPHA_MODES = ("RGBA", "RGBa", "LA", "La", "PA")


class BadImageWarning(UserWarning):
    """Warning category for image files that were skipped or substituted."""


@dataclass(frozen=True)
class BadFile:
    """An image file that could not be used.

    Attributes
    ----------
    path
        The file.
    reason
        Why it was rejected (the decoder's message, or ``"empty file"``).
    stage
        ``"scan"`` when found while listing the folder, ``"load"`` when it broke while loading.
    """

    path: Path
    reason: str
    stage: Literal["scan", "load"] = "scan"

    def __str__(self) -> str:
        return f"{self.path} ({self.reason})"


@dataclass(frozen=True)
class ScanResult:
    """The usable images of a folder and the files that were skipped.

    Attributes
    ----------
    files
        Usable image files, sorted by their path relative to the folder.
    bad
        Files with an image extension that could not be used, with the reason.
    """

    files: list[Path]
    bad: list[BadFile]


def _is_hidden(name: str) -> bool:
    return name.startswith(".")


def find_images(folder: str | os.PathLike[str], *, recursive: bool = True) -> list[Path]:
    """List the image files under ``folder`` without opening them.

    Extensions are matched case-insensitively against :data:`IMAGE_EXTENSIONS`. Hidden files and
    hidden folders (names starting with ``"."``, e.g. ``.DS_Store``, ``._IMG_1.jpg`` from macOS,
    ``.ipynb_checkpoints``) are ignored. Symbolic links to folders are followed once (loops are
    cut).

    Parameters
    ----------
    folder
        The folder to search.
    recursive
        Search sub-folders too.

    Returns
    -------
    list[Path]
        Sorted by path relative to ``folder`` (so the order does not depend on the file system).

    Raises
    ------
    FileNotFoundError
        If ``folder`` does not exist or is not a folder (one line naming it).
    """
    root = Path(folder)
    if not root.is_dir():
        what = "is not a folder" if root.exists() else "not found"
        raise FileNotFoundError(
            f"image folder {what}: {root} (expected a folder of {_ext_list()} images)"
        )
    found: list[Path] = []
    seen: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in seen:  # a symlink loop
            dirnames[:] = []
            continue
        seen.add(real)
        dirnames[:] = sorted(d for d in dirnames if not _is_hidden(d)) if recursive else []
        for name in filenames:
            if _is_hidden(name) or os.path.splitext(name)[1].lower() not in IMAGE_EXTENSIONS:
                continue
            found.append(Path(dirpath) / name)
    found.sort(key=lambda p: p.relative_to(root).as_posix())
    return found


def _ext_list() -> str:
    return "/".join(e.lstrip(".") for e in IMAGE_EXTENSIONS)


def error_reason(exc: BaseException) -> str:
    """``"ExceptionType: first line of its message"`` (the type alone for an empty message)."""
    text = str(exc).strip().splitlines()
    msg = text[0] if text else ""
    return f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__


def _ends_cleanly(path: Path, fmt: str | None) -> bool | None:
    """Cheap truncation check: does a JPEG/PNG end with its end marker? ``None``: can't tell."""
    if fmt not in ("JPEG", "PNG"):
        return None
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        f.seek(max(0, size - 64))
        tail = f.read()
    if fmt == "PNG":
        return tail.endswith(b"IEND\xaeB`\x82")
    return tail.rstrip(b"\x00").endswith(b"\xff\xd9")


def check_image(path: str | os.PathLike[str], *, verify: VerifyMode = "quick") -> str | None:
    """Check that ``path`` is a usable image; return ``None`` if so, else the reason.

    Parameters
    ----------
    path
        The file to check.
    verify
        ``"none"``: only reject empty files. ``"quick"`` (default): also parse the header (rejects
        non-images and unknown formats) and, for JPEG and PNG, check the end marker; a file
        without one is fully decoded to confirm (so trailing bytes after a valid image are not
        rejected, while truncated files are). Other formats' truncation is caught when loading.
        ``"full"``: decode every file (slow on large folders, catches everything up front).

    Returns
    -------
    str or None
        ``None`` for a usable image, otherwise a one-line reason.

    Raises
    ------
    ValueError
        If ``verify`` is not one of ``"none"``, ``"quick"``, ``"full"``.
    """
    if verify not in _VERIFY_MODES:
        raise ValueError(f"verify must be one of {', '.join(_VERIFY_MODES)}; got {verify!r}")
    p = Path(path)
    try:
        if p.stat().st_size == 0:
            return "empty file"
        if verify == "none":
            return None
        with Image.open(p) as im:
            fmt = im.format
            if im.width < 1 or im.height < 1:
                return f"image has no pixels ({im.width}x{im.height})"
            if verify == "full" or _ends_cleanly(p, fmt) is False:
                im.load()
    except Exception as exc:  # any decoder error makes the file unusable, never a crash
        return error_reason(exc)
    return None


def scan_images(
    folder: str | os.PathLike[str], *, recursive: bool = True, verify: VerifyMode = "quick"
) -> ScanResult:
    """Find the images under ``folder`` and check each one.

    Parameters
    ----------
    folder
        The folder to search (see :func:`find_images` for what is found).
    recursive
        Search sub-folders too.
    verify
        How thoroughly to check each file (see :func:`check_image`).

    Returns
    -------
    ScanResult
        The usable files and the skipped ones with reasons. Nothing is warned here: see
        :func:`warn_bad_files`.

    Raises
    ------
    FileNotFoundError
        If ``folder`` does not exist.
    ValueError
        If ``verify`` is unknown.
    """
    if verify not in _VERIFY_MODES:
        raise ValueError(f"verify must be one of {', '.join(_VERIFY_MODES)}; got {verify!r}")
    files: list[Path] = []
    bad: list[BadFile] = []
    for p in find_images(folder, recursive=recursive):
        reason = check_image(p, verify=verify)
        if reason is None:
            files.append(p)
        else:
            bad.append(BadFile(p, reason, "scan"))
    return ScanResult(files, bad)


def warn_bad_files(bad: Sequence[BadFile], *, where: str, show: int = 5) -> None:
    """Emit ONE :class:`BadImageWarning` summarising ``bad`` (nothing if it is empty).

    Parameters
    ----------
    bad
        The skipped files.
    where
        Where the full list can be read, e.g. ``"dataset.bad_files"``.
    show
        How many files to name in the message.
    """
    if not bad:
        return
    named = "; ".join(str(b) for b in bad[:show])
    more = f"; and {len(bad) - show} more" if len(bad) > show else ""
    warnings.warn(
        f"skipped {len(bad)} unusable image file(s): {named}{more} (full list: {where})",
        BadImageWarning,
        stacklevel=3,
    )


def _scale_to_uint8(arr: np.ndarray, mode: str) -> np.ndarray:
    """Map a 16/32-bit integer or float single-channel array to uint8 without clipping detail."""
    if mode.startswith("I;16"):
        return ((arr.astype(np.float32) / 257.0) + 0.5).astype(np.uint8)
    a = arr.astype(np.float64)
    a = np.nan_to_num(a, nan=0.0, posinf=0.0, neginf=0.0)
    lo, hi = (float(a.min()), float(a.max())) if a.size else (0.0, 0.0)
    if mode == "F" and lo >= 0.0 and hi <= 1.0:
        a = a * 255.0
    elif lo >= 0.0 and hi <= 255.0:
        pass
    elif mode == "I" and lo >= 0.0 and hi <= 65535.0:
        a = a / 257.0
    else:  # an arbitrary range: stretch it linearly
        a = (a - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(a)
    return np.clip(a + 0.5, 0, 255).astype(np.uint8)


def to_channels(
    im: Image.Image, *, channels: int = 3, background: tuple[int, int, int] = (255, 255, 255)
) -> Image.Image:
    """Convert an image of any Pillow mode to 8-bit ``"RGB"`` (3 channels) or ``"L"`` (1).

    - ``RGB``: unchanged. ``L``, ``1``, ``CMYK``, ``YCbCr``, ``LAB``, ``HSV``, ``P`` without
      transparency: Pillow's conversion.
    - With transparency (``RGBA``, ``LA``, ``PA``, ``P`` with a transparent index, premultiplied
      ``RGBa``/``La``): composited over ``background`` (white by default), not just dropped.
    - 16-bit ``I;16``/``I;16B``/``I;16L``: scaled by 255/65535 (rounded), never clipped at 255.
    - 32-bit ``I``: taken as 8-bit if it lies in [0, 255], as 16-bit if it lies in [0, 65535],
      else stretched linearly from its min..max.
    - float ``F``: taken as [0, 1] if it lies there, as [0, 255] if it lies there, else stretched.
    - RGB to one channel uses Pillow's ITU-R 601 luma.

    Parameters
    ----------
    im
        Any Pillow image.
    channels
        3 for ``"RGB"``, 1 for ``"L"``.
    background
        RGB colour under transparent pixels.

    Returns
    -------
    PIL.Image.Image
        Mode ``"RGB"`` or ``"L"``, same size.

    Raises
    ------
    ValueError
        If ``channels`` is not 1 or 3.
    """
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 (grayscale) or 3 (RGB); got {channels!r}")
    target = "RGB" if channels == 3 else "L"
    mode = im.mode
    if mode == target:
        return im
    if mode.startswith("I") or mode == "F":
        gray = Image.fromarray(_scale_to_uint8(np.asarray(im), mode), mode="L")
        return gray if target == "L" else gray.convert("RGB")
    if mode == "1":
        im = im.convert("L")
        return im if target == "L" else im.convert("RGB")
    if mode == "P":
        has_alpha = "transparency" in im.info or (
            im.palette is not None and im.palette.mode == "RGBA"
        )
        im = im.convert("RGBA" if has_alpha else "RGB")
        mode = im.mode
    if mode == "La":
        im, mode = im.convert("LA"), "LA"
    if mode in _ALPHA_MODES:
        rgba = im.convert("RGBA")
        base = Image.new("RGBA", rgba.size, (*background, 255))
        im = Image.alpha_composite(base, rgba).convert("RGB")
    elif mode != "RGB":
        im = im.convert("RGB")
    return im if target == "RGB" else im.convert("L")


def load_image(
    path: str | os.PathLike[str],
    *,
    channels: int = 3,
    draft_size: int | None = None,
    background: tuple[int, int, int] = (255, 255, 255),
) -> Image.Image:
    """Open an image file, apply its EXIF orientation and convert it to RGB or grayscale.

    Parameters
    ----------
    path
        The file.
    channels
        3 (``"RGB"``) or 1 (``"L"``); see :func:`to_channels` for how each mode is converted.
    draft_size
        If given and the file is a JPEG, let the decoder downscale by a power of two while both
        sides stay at least ``draft_size`` pixels (much faster for large photos that will be
        resized down anyway).
    background
        RGB colour under transparent pixels.

    Returns
    -------
    PIL.Image.Image
        A fully loaded image of mode ``"RGB"`` or ``"L"``, upright.

    Raises
    ------
    OSError, PIL.UnidentifiedImageError, ValueError
        Whatever the decoder raises for a broken file (callers such as the datasets catch these).
    """
    with Image.open(path) as im:
        if draft_size is not None and im.format == "JPEG":
            im.draft(None, (draft_size, draft_size))
        upright = ImageOps.exif_transpose(im)  # a loaded copy (raises here if truncated)
    return to_channels(upright, channels=channels, background=background)
