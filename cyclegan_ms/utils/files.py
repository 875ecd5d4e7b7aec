"""Atomic file writes: a reader (or a crash) never sees a half-written file, and a write that
fails for want of room or permission says so in one line (:class:`WriteError`)."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "WriteError",
    "append_text",
    "as_write_error",
    "atomic_path",
    "atomic_write_bytes",
    "format_bytes",
    "make_folder",
]

#: The errors of a write that the disk or the folder refused, and how :class:`WriteError` names
#: them. ``EDQUOT`` is missing on some platforms.
_REFUSALS: dict[int, str] = {
    errno.ENOSPC: "no space left on device",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EFBIG: "file too large",
}
#: Of those, the ones that more free space cures (the message then gives the space needed).
_NO_ROOM = {errno.ENOSPC}
if hasattr(errno, "EDQUOT"):
    _REFUSALS[errno.EDQUOT] = "disk quota exceeded"
    _NO_ROOM.add(errno.EDQUOT)


def format_bytes(n: int) -> str:
    """``n`` bytes for a message: ``"512 B"``, ``"3.2 kB"``, ``"12.4 MB"``, ``"1.3 GB"``."""
    if n < 1000:
        return f"{n} B"
    value = float(n)
    for unit in ("kB", "MB", "GB", "TB"):
        value /= 1000.0
        if value < 1000.0 or unit == "TB":
            break
    return f"{value:.1f} {unit}"


def _free_bytes(path: Path) -> int | None:
    """Free bytes on the file system of ``path`` (its nearest existing folder), or None."""
    for folder in (path, *path.parents):
        if folder.exists():
            try:
                return int(shutil.disk_usage(folder).free)
            except OSError:
                return None
    return None


class WriteError(OSError):
    """Writing an output file failed because the disk or the folder refused it: no space left
    (``ENOSPC``), a quota (``EDQUOT``), a read-only or unwritable folder (``EROFS``, ``EACCES``,
    ``EPERM``), a file-size limit (``EFBIG``).

    ``str()`` is one line naming the file and, when space would cure it, the space needed and
    free. The partial file was removed and the previous version of the file, if any, is intact.

    Parameters
    ----------
    path
        The file that could not be written.
    code
        The ``errno`` of the refusal.
    needed
        Bytes the write needed (``None``: unknown).
    estimated
        ``needed`` is an estimate (the message says "about").

    Attributes
    ----------
    path, needed, estimated
        As given.
    free
        Free bytes on that file system when the write failed (``None``: unknown).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        code: int,
        needed: int | None = None,
        *,
        estimated: bool = False,
    ) -> None:
        self.path = Path(path)
        self.needed = needed
        self.estimated = estimated
        self.free = _free_bytes(self.path.parent)
        reason = _REFUSALS.get(code, os.strerror(code))
        detail = ""
        if code in _NO_ROOM:
            parts = []
            if needed is not None:
                parts.append(f"needs {'about ' if estimated else ''}{format_bytes(needed)}")
            if self.free is not None:
                parts.append(f"{format_bytes(self.free)} free")
            if parts:
                detail = f" ({', '.join(parts)})"
        elif code in (errno.EROFS, errno.EACCES, errno.EPERM):
            detail = f" (the folder {self.path.parent} is not writable)"
        super().__init__(code, f"{reason}: could not write {self.path}{detail}")

    def __str__(self) -> str:
        return str(self.strerror)

    @property
    def no_room(self) -> bool:
        """Whether free space would cure it (``ENOSPC``, ``EDQUOT``), not a writable folder."""
        return self.errno in _NO_ROOM

    def __reduce__(self) -> tuple[object, ...]:  # picklable across processes like any OSError
        return (_rebuild_write_error, (self.path, self.errno, self.needed, self.estimated))


def _concerns(err: OSError, target: Path) -> bool:
    """Whether ``err`` is about writing ``target`` (not, say, reading some input on the way)."""
    if err.filename is None:
        return True  # a write(2) or fsync(2) on an open file names no file
    try:
        named = Path(os.fsdecode(err.filename)).resolve()
        where = target.resolve()
    except (OSError, ValueError, TypeError):  # pragma: no cover - unresolvable names
        return False
    return named == where or named.parent == where.parent or named in where.parents


def _rebuild_write_error(path: Path, code: int, needed: int | None, estimated: bool) -> WriteError:
    return WriteError(path, code, needed, estimated=estimated)


def as_write_error(
    err: BaseException, path: str | os.PathLike[str], needed: int | None = None
) -> BaseException:
    """``err`` as a :class:`WriteError` about writing ``path`` when it is a refusal of the disk
    or the folder (and about that file, not some other one); otherwise ``err`` itself.

    Parameters
    ----------
    err
        An exception raised while writing ``path``.
    path
        The file being written.
    needed
        Bytes the write needed, when known.

    Returns
    -------
    BaseException
        The exception to raise.
    """
    if isinstance(err, WriteError) or not isinstance(err, OSError):
        return err
    target = Path(path)
    if err.errno in _REFUSALS and _concerns(err, target):
        return WriteError(target, int(err.errno), needed)
    return err


def make_folder(path: str | os.PathLike[str]) -> Path:
    """``mkdir -p path``, a refusal of the disk or the parent raised as a :class:`WriteError`.

    Returns
    -------
    Path
        ``path``.
    """
    folder = Path(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        converted = as_write_error(err, folder)
        if converted is err:
            raise
        raise converted from err
    return folder


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync(path: Path, *, directory: bool = False) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some filesystems refuse fsync on directories
        if not directory:
            raise
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(
    path: str | os.PathLike[str],
    *,
    durable: bool = True,
    needed: int | None = None,
    suffix: str = ".tmp",
) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; when the block succeeds, rename it over ``path``.

    The temporary file lives in the same folder (so the rename is atomic) and gets the
    permissions a normal ``open`` would give (``0o666 & ~umask``). With ``durable`` the file is
    ``fsync``-ed before the rename and the folder after it, so a power loss or ``SIGKILL`` leaves
    either the old file or the new one. On error the temporary file is removed and ``path`` is
    untouched; a refusal of the disk or the folder (no space, quota, read-only) is raised as a
    :class:`WriteError` naming ``path`` (and ``needed`` bytes, when given). The temporary file
    is named ``.NAME.XXXXXXXX`` + ``suffix`` (a writer that picks the format by the suffix
    wants the final one, e.g. ``suffix=".part.mp4"``).
    """
    target = Path(path)
    tmp: Path | None = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix, dir=target.parent)
        os.close(fd)
        tmp = Path(name)
        yield tmp
        if durable:
            _fsync(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException as err:
        if tmp is not None:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
        converted = as_write_error(err, target, needed)
        if converted is err:
            raise
        raise converted from err
    if durable:
        _fsync(target.parent, directory=True)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, *, durable: bool = True) -> Path:
    """Write ``data`` to ``path`` atomically (and durably, see :func:`atomic_path`).

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    WriteError
        The disk or the folder refused the write (nothing was changed).
    """
    with atomic_path(path, durable=durable, needed=len(data)) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def append_text(path: str | os.PathLike[str], text: str) -> None:
    """Append ``text`` to ``path`` (created if missing) all or nothing.

    A write the disk refuses half-way is cut off again, so the file ends where it ended
    before (a log never gets a torn last line from a full disk).

    Raises
    ------
    WriteError
        The disk or the folder refused the write.
    """
    target = Path(path)
    data = text.encode()
    try:
        fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        try:
            start = os.lseek(fd, 0, os.SEEK_END)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
            except BaseException:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, start)
                raise
        finally:
            os.close(fd)
    except OSError as err:
        converted = as_write_error(err, target, len(data))
        if converted is err:
            raise
        raise converted from err
