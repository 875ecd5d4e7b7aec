"""A run folder holds one run, and one process trains into it at a time.

A training claims its run folder before it writes anything (:func:`claim_run_folder`, which
:meth:`Trainer.fit <cyclegan_ms.training.Trainer.fit>` calls):

* it takes an exclusive OS-level lock on ``RUN_DIR/.train.lock`` (:class:`RunLock`: ``flock`` on
  POSIX, ``msvcrt.locking`` on Windows). The operating system drops the lock when the process
  ends, however it ends (``kill -9`` included), so a lock is never stale. A second training or
  resume of a locked folder is refused with :class:`RunLockedError`, which names the process.
  Readers (:func:`cyclegan_ms.load`, ``translate``, ``eval``) take no lock: they read finished
  checkpoints, which are written atomically.
* a new run refuses a folder that already holds a run (:func:`describe_run`: a ``config.json``,
  a ``metrics.jsonl`` or checkpoints) with :class:`RunExistsError`, unless it continues that run
  (a resume) or was told to replace it (``overwrite``: the old run is moved aside to the sibling
  folder ``RUN_DIR.old-N``, or deleted). A refusal changes nothing in the folder.
* a resume refuses a folder whose newest checkpoint is newer than the state it continues from
  (another process went on with the run, or the resume named an older checkpoint): its
  checkpoints would interleave with the newer ones and checkpoint rotation would delete them.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import re
import shutil
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeAlias

from ..checkpoint import find_latest
from ..utils.files import as_write_error, atomic_write_bytes, make_folder

__all__ = [
    "LOCK_NAME",
    "RUN_ENTRIES",
    "LockHolder",
    "Overwrite",
    "RunClaim",
    "RunExistsError",
    "RunFolderError",
    "RunInfo",
    "RunLock",
    "RunLockedError",
    "check_run_folder",
    "claim_run_folder",
    "describe_run",
    "run_folder_of",
    "trim_log",
]

logger = logging.getLogger("cyclegan_ms.training")

#: File name of the lock inside a run folder (kept between runs: removing a lock file that
#: another process may be opening would let two processes hold "the" lock).
LOCK_NAME = ".train.lock"

#: What to do with a run already in the folder of a new run: ``False`` refuse, ``True`` or
#: ``"move"`` move it aside to ``RUN_DIR.old-N``, ``"delete"`` delete it.
Overwrite: TypeAlias = bool | Literal["move", "delete"]

#: What a run writes into its folder; ``overwrite`` moves aside (or deletes) these and leaves
#: anything else (a user's own files) where it is.
RUN_ENTRIES: tuple[str, ...] = (
    "config.json",
    "metrics.jsonl",
    "checkpoints",
    "samples",
    "loss_curve.png",
    "tensorboard",
)

_STEP = re.compile(r"^step_(\d+)\.safetensors$")
_MARKERS = ("config.json", "metrics.jsonl")


# ------------------------------------------------------------------------------------ errors
class RunFolderError(RuntimeError):
    """A run folder cannot be trained into as asked; nothing in it was changed.

    Attributes
    ----------
    folder
        The run folder.
    """

    def __init__(self, folder: str | os.PathLike[str], message: str) -> None:
        super().__init__(message)
        self.folder = Path(folder)


@dataclass(frozen=True)
class RunInfo:
    """What a run folder holds (see :func:`describe_run`).

    Attributes
    ----------
    folder
        The run folder.
    name
        The experiment's ``name`` (its preset or TOML file) from ``config.json``, else its
        generator's name, else ``None``.
    step
        The step of the newest ``step_*.safetensors`` checkpoint (``None``: no checkpoint).
    checkpoint
        That checkpoint.
    """

    folder: Path
    name: str | None
    step: int | None
    checkpoint: Path | None

    def describe(self) -> str:
        """``"seed, step 6"``, ``"seed, no checkpoint yet"``, ``"step 6"``."""
        where = f"step {self.step}" if self.step is not None else "no checkpoint yet"
        return f"{self.name}, {where}" if self.name else where


class RunExistsError(RunFolderError):
    """A new run was asked to train into a folder that holds another run.

    Attributes
    ----------
    info
        The run the folder holds.
    """

    def __init__(self, info: RunInfo) -> None:
        self.info = info
        ways = "resume it, " if info.step is not None else ""
        super().__init__(
            info.folder,
            f"{info.folder} already holds a run ({info.describe()}): {ways}replace it with "
            "overwrite=True (moved aside) or overwrite='delete', or train into another folder",
        )


@dataclass(frozen=True)
class LockHolder:
    """The process that holds a run folder's lock, as it wrote itself into the lock file.

    Attributes
    ----------
    pid, host, since
        Its process id, host name and start time (``None``: not written yet).
    """

    pid: int | None
    host: str | None
    since: str | None

    def describe(self) -> str:
        """``"process 1234 on node7 (since 2025-01-02 10:11:12)"``."""
        if self.pid is None:
            return "another process"
        text = f"process {self.pid}"
        if self.host and self.host != socket.gethostname():
            text += f" on {self.host}"
        if self.since:
            text += f" (since {self.since})"
        return text


class RunLockedError(RunFolderError):
    """Another process is training into the run folder (it holds the folder's lock).

    Attributes
    ----------
    holder
        That process.
    """

    def __init__(self, folder: str | os.PathLike[str], holder: LockHolder) -> None:
        self.holder = holder
        super().__init__(
            folder,
            f"{folder} is being trained by {holder.describe()}: wait for it to finish or stop "
            "it, or train into another folder",
        )


# ------------------------------------------------------------------------------------ lock
if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    _WIN_BYTE = 1 << 30  # lock a byte past the contents, so others can still read the holder

    def _try_lock(fd: int) -> None:
        os.lseek(fd, _WIN_BYTE, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError as err:
            raise BlockingIOError(errno.EWOULDBLOCK, "locked") from err

    def _unlock(fd: int) -> None:
        os.lseek(fd, _WIN_BYTE, os.SEEK_SET)
        with contextlib.suppress(OSError):
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock(fd: int) -> None:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)


#: errnos of a file system that has no locks (some network file systems): train unlocked.
_NO_LOCKS = {errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL}


class RunLock:
    """The exclusive lock of one run folder (``RUN_DIR/.train.lock``).

    An operating-system lock on an open file (``flock``; ``msvcrt.locking`` on Windows): it
    belongs to this process and goes away with it, whatever ends it. Where the file system has
    no locks the run goes on unlocked, with a warning. Not re-entrant: a second
    :meth:`acquire` of the same folder, also from this process, is refused.

    Parameters
    ----------
    folder
        The run folder.
    """

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        self.path = self.folder / LOCK_NAME
        self._fd: int | None = None
        self._announced = False

    @property
    def held(self) -> bool:
        """Whether this object holds the lock (or holds the file where locks are unsupported)."""
        return self._fd is not None

    def acquire(self, *, create: bool = True) -> bool:
        """Take the lock without waiting.

        Parameters
        ----------
        create
            Create the lock file when it is missing (the folder must exist). With ``False`` a
            missing lock file means nobody holds it: nothing is created and ``False`` returned.

        Returns
        -------
        bool
            Whether the lock is now held.

        Raises
        ------
        RunLockedError
            Another process (or another :class:`RunLock` of this process) holds it.
        """
        if self._fd is not None:
            return True
        flags = os.O_RDWR | (os.O_CREAT if create else 0)
        try:
            fd = os.open(self.path, flags, 0o666)
        except FileNotFoundError:
            if create:
                raise
            return False
        except OSError as err:  # a read-only folder: the run could not write anything there
            converted = as_write_error(err, self.path)
            if converted is err:
                raise
            raise converted from err
        try:
            _try_lock(fd)
        except BlockingIOError:
            os.close(fd)
            raise RunLockedError(
                self.folder, self.holder() or LockHolder(None, None, None)
            ) from None
        except OSError as err:
            if err.errno not in _NO_LOCKS:
                os.close(fd)
                raise
            logger.warning(
                "%s: the file system has no file locks (%s); training without a lock, so "
                "nothing stops a second training of this folder",
                self.folder,
                os.strerror(err.errno or 0),
            )
        self._fd = fd
        return True

    def announce(self) -> None:
        """Write this process (pid, host, start time) into the held lock file (best effort: a
        full disk leaves it empty, and a refusal then says "another process")."""
        if self._fd is None:
            raise RuntimeError("announce() needs the lock: call acquire() first")
        record = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": time.strftime("%Y-%m-%d %H:%M:%S"),
        }
        data = (json.dumps(record) + "\n").encode()
        with contextlib.suppress(OSError):
            os.ftruncate(self._fd, 0)
            os.lseek(self._fd, 0, os.SEEK_SET)
            os.write(self._fd, data)
            self._announced = True

    def holder(self) -> LockHolder | None:
        """The process the lock file names (``None``: no lock file)."""
        try:
            text = self.path.read_text(errors="replace")[:4096]
        except FileNotFoundError:
            return None
        except OSError:
            return LockHolder(None, None, None)
        try:
            record: dict[str, Any] = json.loads(text) if text.strip() else {}
            pid = int(record["pid"]) if "pid" in record else None
        except (ValueError, TypeError):
            record, pid = {}, None
        host, since = record.get("host"), record.get("since")
        return LockHolder(pid, str(host) if host else None, str(since) if since else None)

    def probe(self) -> None:
        """Raise :class:`RunLockedError` if another process holds the lock; creates nothing.

        Raises
        ------
        RunLockedError
            The folder is locked.
        """
        if self._fd is not None:
            return
        if self.acquire(create=False):
            self.release()

    def release(self) -> None:
        """Drop the lock (the lock file stays, emptied if this process wrote itself into it)."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        if self._announced:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            self._announced = False
        _unlock(fd)
        os.close(fd)

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def __del__(self) -> None:  # an abandoned lock is released with its object
        with contextlib.suppress(Exception):
            self.release()


# ------------------------------------------------------------------------------------ folder
def run_folder_of(checkpoint_or_folder: str | os.PathLike[str]) -> Path:
    """The run folder a checkpoint file belongs to (``RUN/checkpoints/step_*.safetensors`` →
    ``RUN``), or the folder itself."""
    path = Path(checkpoint_or_folder)
    if path.is_dir():
        return path
    return path.parent.parent if path.parent.name == "checkpoints" else path.parent


def _checkpoint_step(path: Path) -> int | None:
    match = _STEP.match(path.name)
    return int(match.group(1)) if match else None


def describe_run(folder: str | os.PathLike[str]) -> RunInfo | None:
    """What run ``folder`` holds, or ``None`` when it holds none (missing, empty, or only a
    lock file and files a run does not write).

    A folder holds a run when it has a ``config.json``, a ``metrics.jsonl`` or a checkpoint
    (``checkpoints/*.safetensors``). Reads only small files; never changes anything.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return None
    ckpt_dir = folder / "checkpoints"
    has_checkpoints = ckpt_dir.is_dir() and any(ckpt_dir.glob("*.safetensors"))
    if not has_checkpoints and not any((folder / m).is_file() for m in _MARKERS):
        return None
    name: str | None = None
    with contextlib.suppress(OSError, ValueError, TypeError, AttributeError):
        config = json.loads((folder / "config.json").read_text())
        name = config.get("name") or config["model"]["generator"]["name"]
    latest = find_latest(folder)
    step = _checkpoint_step(latest) if latest is not None else None
    return RunInfo(folder, str(name) if name else None, step, latest)


def _check(
    info: RunInfo | None, folder: Path, *, continuing: bool, step: int | None, overwrite: Overwrite
) -> None:
    if continuing:
        if info is not None and info.step is not None and step is not None and info.step > step:
            raise RunFolderError(
                folder,
                f"{folder} has a newer checkpoint (step {info.step}) than the state being "
                f"continued (step {step}): resume from its newest checkpoint, or continue into "
                "another folder",
            )
    elif info is not None and overwrite is False:
        raise RunExistsError(info)


def check_run_folder(
    folder: str | os.PathLike[str],
    *,
    continuing: bool = False,
    step: int | None = None,
    overwrite: Overwrite = False,
) -> RunInfo | None:
    """Whether a training may go into ``folder``, without claiming it or changing anything
    (what :func:`claim_run_folder` would refuse, checked before a slow set-up).

    Parameters
    ----------
    folder
        The run folder.
    continuing
        The training continues the run in ``folder`` (a resume from it).
    step
        With ``continuing``: the step it continues from (``None``: its newest checkpoint).
    overwrite
        See :func:`claim_run_folder`.

    Returns
    -------
    RunInfo | None
        The run the folder holds.

    Raises
    ------
    RunLockedError, RunExistsError, RunFolderError
        As :func:`claim_run_folder`.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise RunFolderError(folder, f"{folder} is a file, not a run folder")
    RunLock(folder).probe()
    info = describe_run(folder)
    _check(info, folder, continuing=continuing, step=step, overwrite=overwrite)
    return info


@dataclass
class RunClaim:
    """A claimed run folder (see :func:`claim_run_folder`); :meth:`release` ends the claim.

    Attributes
    ----------
    folder
        The run folder.
    lock
        Its held :class:`RunLock`.
    previous
        The run the folder held when it was claimed (``None``: none).
    moved_to
        Where ``overwrite`` moved that run (``None``: not moved; deleted or continued).
    """

    folder: Path
    lock: RunLock
    previous: RunInfo | None = None
    moved_to: Path | None = None

    def release(self) -> None:
        """Drop the folder's lock."""
        self.lock.release()

    def __enter__(self) -> RunClaim:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _aside_name(folder: Path) -> Path:
    base = folder if folder.name not in ("", ".", "..") else folder.resolve()
    n = 1
    while (candidate := base.with_name(f"{base.name}.old-{n}")).exists():
        n += 1
    return candidate


def _run_entries(folder: Path) -> tuple[list[Path], list[Path]]:
    """The run's own entries of ``folder`` (:data:`RUN_ENTRIES`, and temporary files a killed
    write of one of them left), and the others (the lock file aside)."""
    ours, others = [], []
    for entry in sorted(folder.iterdir()):
        name = entry.name
        if name == LOCK_NAME:
            continue
        temporary = name.startswith(".") and name.endswith(".tmp")
        if name in RUN_ENTRIES or (temporary and name[1:].split(".tmp")[0].startswith(RUN_ENTRIES)):
            ours.append(entry)
        else:
            others.append(entry)
    return ours, others


def _clear(folder: Path, info: RunInfo, how: Literal["move", "delete"]) -> Path | None:
    """Move the run in ``folder`` aside (or delete it): its :data:`RUN_ENTRIES`, not the held
    lock file nor files the run did not write."""
    entries, others = _run_entries(folder)
    kept = f"; left {len(others)} other file(s) in place" if others else ""
    if how == "delete":
        for entry in entries:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        logger.warning(
            "%s held a run (%s): deleted it (overwrite)%s", folder, info.describe(), kept
        )
        return None
    dest = _aside_name(folder)
    if os.stat(folder).st_dev != os.stat(dest.parent).st_dev:
        raise RunFolderError(
            folder,
            f"{folder} is a mount point: its run ({info.describe()}) cannot be moved aside to "
            f"{dest}; delete it with overwrite='delete', or train into another folder",
        )
    dest.mkdir()
    for entry in entries:
        os.rename(entry, dest / entry.name)
    logger.warning(
        "%s held a run (%s): moved it to %s (overwrite)%s", folder, info.describe(), dest, kept
    )
    return dest


def claim_run_folder(
    folder: str | os.PathLike[str],
    *,
    continuing: bool = False,
    step: int | None = None,
    overwrite: Overwrite = False,
) -> RunClaim:
    """Lock ``folder`` for one training and make sure it may write there.

    Parameters
    ----------
    folder
        The run folder (created when missing).
    continuing
        The training continues the run in ``folder`` (a resume from it, or a second
        :meth:`~cyclegan_ms.training.Trainer.fit` of the same trainer).
    step
        With ``continuing``: the step it continues from; a folder with a newer checkpoint is
        refused. ``None``: not checked.
    overwrite
        For a new run (not ``continuing``) into a folder that holds a run: ``False`` refuse;
        ``True`` or ``"move"`` move the old run aside to the sibling folder ``RUN_DIR.old-N``;
        ``"delete"`` delete it. Either way only what a run writes (:data:`RUN_ENTRIES`) is
        moved or deleted; other files stay. Which was done is logged (a warning) and kept in
        :attr:`RunClaim.moved_to`.

    Returns
    -------
    RunClaim
        Holding the folder's lock until :meth:`RunClaim.release` (or the end of the process).

    Raises
    ------
    RunLockedError
        Another process trains into ``folder``.
    RunExistsError
        ``folder`` holds a run, and this is a new run without ``overwrite``.
    RunFolderError
        ``folder`` is a file; or a continued run's folder has a newer checkpoint; or the old
        run cannot be moved aside (a mount point).

    On every refusal nothing in the folder was changed (no lock file was created either).
    """
    if overwrite not in (False, True, "move", "delete"):
        raise ValueError(f"overwrite must be False, True, 'move' or 'delete'; got {overwrite!r}")
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise RunFolderError(folder, f"{folder} is a file, not a run folder")
    lock = RunLock(folder)
    if not lock.acquire(create=False):
        # no lock file, so nobody holds the lock: refuse before creating anything
        _check(describe_run(folder), folder, continuing=continuing, step=step, overwrite=overwrite)
        make_folder(folder)
        lock.acquire(create=True)
    try:
        info = describe_run(folder)  # again, under the lock
        _check(info, folder, continuing=continuing, step=step, overwrite=overwrite)
        claim = RunClaim(folder, lock, info)
        if info is not None and not continuing:
            how: Literal["move", "delete"] = "delete" if overwrite == "delete" else "move"
            claim.moved_to = _clear(folder, info, how)
        lock.announce()
    except BaseException:
        lock.release()
        raise
    return claim


def trim_log(path: str | os.PathLike[str], step: int) -> int:
    """Drop the records of steps after ``step`` from a ``metrics.jsonl`` (they describe steps a
    resumed run takes again), and a last line torn by a kill (no newline: the next record would
    be glued to it); returns how many lines were dropped. The file is rewritten atomically, and
    only when there is something to drop."""
    path = Path(path)
    if not path.is_file():
        return 0
    lines = path.read_text().splitlines(keepends=True)
    kept: list[str] = []
    for line in lines:
        if not line.endswith("\n"):
            continue  # torn by a kill mid-write (only the last line can be)
        try:
            record = json.loads(line)
            later = int(record.get("step", 0)) > step
        except (ValueError, TypeError, AttributeError):
            later = False  # a foreign line: leave it (readers skip it)
        if not later:
            kept.append(line)
    dropped = len(lines) - len(kept)
    if dropped:
        atomic_write_bytes(path, "".join(kept).encode())
    return dropped
