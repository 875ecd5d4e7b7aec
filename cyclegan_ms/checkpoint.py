"""Safe, atomic, self-describing checkpoints, and the schema of the trainer's state in them.

Below both training (which writes them) and inference (:func:`cyclegan_ms.load` reads them).

A checkpoint is ONE ``.safetensors`` file: every tensor of the training state (model weights,
optimiser moments, RNG states, image pools, ...) is stored as a named tensor, and everything else
(the config, step counters, python/numpy RNG states, optimiser hyper-parameters) as JSON in the
file's metadata. Loading therefore never unpickles anything: a crafted pickle is refused.

Writes are atomic: the file is written to a temporary name in the same folder, flushed and
``fsync``-ed, then renamed over the final name (and the folder ``fsync``-ed), so a crash or
``SIGKILL`` at any moment leaves either the previous checkpoint or the new one, never a torn file.

The state a :class:`~cyclegan_ms.training.Trainer` stores is a plain dict whose ``format`` is
:data:`TRAINER_FORMAT`; :func:`upgrade_trainer_state` brings an older one up to date, and
:func:`ema_weights` reads a generator's weights out of its ``ema`` entry.
"""

from __future__ import annotations

import json
import os
import random
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from .utils.files import atomic_write_bytes

__all__ = [
    "OLD_TRAINER_FORMATS",
    "TRAINER_FORMAT",
    "CheckpointError",
    "checkpoint_name",
    "ema_weights",
    "find_latest",
    "list_checkpoints",
    "load_checkpoint",
    "load_rng_state",
    "pack",
    "prune",
    "rng_state",
    "save_checkpoint",
    "unpack",
    "upgrade_trainer_state",
]

_META_KEY = "cyclegan_ms"
_FORMAT_VERSION = 1
_NAME = re.compile(r"^step_(\d{8,})\.safetensors$")

#: ``format`` of the state a :class:`~cyclegan_ms.training.Trainer` writes (its ``sampler``
#: entry is the position in the data).
TRAINER_FORMAT = "cyclegan_ms.trainer/2"
#: Older trainer formats that still load (``/1`` kept the position as ``epoch`` and
#: ``batch_in_epoch``).
OLD_TRAINER_FORMATS = ("cyclegan_ms.trainer/1",)
#: Prefix of the weights in an EMA entry (``torch.optim.swa_utils.AveragedModel`` keys).
_EMA_PREFIX = "module."


class CheckpointError(ValueError):
    """A file is not a valid cyclegan_ms checkpoint."""


# --------------------------------------------------------------------------- pack / unpack
def pack(obj: Any) -> tuple[dict[str, torch.Tensor], Any]:
    """Split a nested structure into named tensors and a JSON-able skeleton.

    Supported leaves: tensors, ``None``, bool, int, float, str. Containers: dict (any
    JSON-scalar keys), list, tuple. numpy arrays are stored as tensors.
    """
    tensors: dict[str, torch.Tensor] = {}

    def walk(value: Any, path: str) -> Any:
        if isinstance(value, torch.Tensor):
            key = path or "_"
            t = value.detach().to("cpu")
            tensors[key] = t.contiguous().clone() if t.numel() else t.contiguous()
            return {"__tensor__": key}
        try:
            import numpy as np

            if isinstance(value, np.ndarray):
                tensors[path] = torch.from_numpy(value.copy())
                return {"__ndarray__": path, "dtype": str(value.dtype)}
            if isinstance(value, np.generic):
                return value.item()
        except ImportError:  # pragma: no cover
            pass
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, Mapping):
            items = list(value.items())
            if all(isinstance(k, str) for k, _ in items) and "__tensor__" not in value:
                return {k: walk(v, f"{path}/{k}") for k, v in items}
            return {"__items__": [[k, walk(v, f"{path}/{k}")] for k, v in items]}
        if isinstance(value, tuple):
            return {"__tuple__": [walk(v, f"{path}/{i}") for i, v in enumerate(value)]}
        if isinstance(value, list):
            return [walk(v, f"{path}/{i}") for i, v in enumerate(value)]
        raise TypeError(f"cannot store {type(value).__name__} at {path!r} in a checkpoint")

    skeleton = walk(obj, "")
    return tensors, skeleton


def unpack(tensors: Mapping[str, torch.Tensor], skeleton: Any) -> Any:
    """Inverse of :func:`pack`."""

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            if "__tensor__" in value:
                return tensors[value["__tensor__"]]
            if "__ndarray__" in value:
                return tensors[value["__ndarray__"]].numpy().astype(value["dtype"], copy=False)
            if "__tuple__" in value:
                return tuple(walk(v) for v in value["__tuple__"])
            if "__items__" in value:
                return {k: walk(v) for k, v in value["__items__"]}
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    return walk(skeleton)


# --------------------------------------------------------------------------- files
def save_checkpoint(path: str | os.PathLike[str], state: Mapping[str, Any]) -> Path:
    """Atomically write ``state`` (nested dicts of tensors and plain data) to ``path``.

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    cyclegan_ms.utils.files.WriteError
        The disk or the folder refused the file (no space, quota, read-only): one line naming it
        and the space needed; no temporary file is left and an older file at ``path`` is intact.
    """
    tensors, skeleton = pack(dict(state))
    meta = {_META_KEY: json.dumps({"format": _FORMAT_VERSION, "state": skeleton})}
    data = st_save(tensors, metadata=meta)
    return atomic_write_bytes(path, data)


def _looks_like_safetensors(data: bytes) -> bool:
    """An 8-byte little-endian header length that fits the file, then the JSON header's ``{``."""
    if len(data) < 9:
        return False
    n = int.from_bytes(data[:8], "little")
    return 0 < n <= len(data) - 8 and data[8:9] == b"{"


def _looks_like_pickle(data: bytes) -> bool:
    # pickle protocol 2+ starts with 0x80; torch.save zip archives start with "PK". A
    # safetensors file whose header length ends in the byte 0x80 (one in 32 of them: headers
    # are padded to 8 bytes) starts with 0x80 too, so a file that parses as safetensors is not
    # taken for a pickle.
    if _looks_like_safetensors(data):
        return False
    return data[:1] == b"\x80" or data[:2] == b"PK"


def _read_metadata(data: bytes) -> dict[str, str]:
    """The ``__metadata__`` table of a safetensors byte string (8-byte length + JSON header)."""
    if len(data) < 8:
        raise ValueError("file too short")
    n = int.from_bytes(data[:8], "little")
    if n <= 0 or 8 + n > len(data):
        raise ValueError("bad header length")
    header = json.loads(data[8 : 8 + n])
    meta = header.get("__metadata__") or {}
    return dict(meta)


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` without unpickling anything.

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    CheckpointError
        The file is a pickle / ``torch.save`` archive (refused), truncated, or not ours.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    data = path.read_bytes()
    if _looks_like_pickle(data):
        raise CheckpointError(
            f"{path} is a pickle/torch.save file; cyclegan_ms refuses to unpickle checkpoints "
            "(they can run arbitrary code). Expected a .safetensors checkpoint written by "
            "cyclegan_ms"
        )
    try:
        tensors = st_load(data)
        meta = _read_metadata(data)
    except (SafetensorError, ValueError, OSError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{path} is not a readable safetensors checkpoint: {err}") from None
    if _META_KEY not in meta:
        raise CheckpointError(
            f"{path} is a safetensors file but not a cyclegan_ms checkpoint (no "
            f"'{_META_KEY}' metadata)"
        )
    try:
        payload = json.loads(meta[_META_KEY])
        state = unpack(tensors, payload["state"])
    except (KeyError, json.JSONDecodeError, TypeError) as err:
        raise CheckpointError(f"{path}: corrupt checkpoint metadata ({err})") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: checkpoint state is not a table")
    return state


def checkpoint_name(step: int) -> str:
    """File name of the checkpoint for ``step``, e.g. ``step_00000100.safetensors``."""
    return f"step_{step:08d}.safetensors"


def list_checkpoints(folder: str | os.PathLike[str]) -> list[Path]:
    """Checkpoints in ``folder`` (``step_*.safetensors``), oldest step first."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _NAME.match(p.name))]
    return [p for _, p in sorted(found)]


def find_latest(folder: str | os.PathLike[str]) -> Path | None:
    """The newest checkpoint of a run folder (``folder`` or ``folder/checkpoints``), or None."""
    folder = Path(folder)
    for candidate in (folder / "checkpoints", folder):
        found = list_checkpoints(candidate)
        if found:
            return found[-1]
    return None


def prune(
    folder: str | os.PathLike[str],
    keep_last: int,
    *,
    keep: str | os.PathLike[str] | None = None,
) -> list[Path]:
    """Delete all but the ``keep_last`` newest checkpoints; returns the deleted paths.

    Parameters
    ----------
    folder
        A ``checkpoints`` folder.
    keep_last
        How many of the newest ``step_*.safetensors`` to keep.
    keep
        A checkpoint that is never deleted, whatever its step: the one a run has just written
        (so the file a run reports always exists, even beside checkpoints of higher steps).
    """
    if keep_last < 1:
        raise ValueError(f"keep_last must be >= 1; got {keep_last}")
    found = list_checkpoints(folder)
    spared = Path(keep).name if keep is not None else None
    doomed = [p for p in found[:-keep_last] if p.name != spared]
    for p in doomed:
        p.unlink(missing_ok=True)
    # temp files of writes that were killed half-way (never valid checkpoints)
    for tmp in Path(folder).glob(".step_*.safetensors.*.tmp"):
        tmp.unlink(missing_ok=True)
    return doomed


# --------------------------------------------------------------------------- trainer state
def upgrade_trainer_state(state: Mapping[str, Any], *, batch_size: int) -> dict[str, Any]:
    """A trainer state of any known format, in :data:`TRAINER_FORMAT`.

    Parameters
    ----------
    state
        A state as :func:`load_checkpoint` returns it.
    batch_size
        The per-process batch size of the run (a ``/1`` state counted batches, not samples).

    Returns
    -------
    dict[str, Any]
        A shallow copy of ``state``, with a ``sampler`` entry (``epoch``, ``position``) when it
        was ``/1``.

    Raises
    ------
    ValueError
        ``state`` is not a trainer state.
    """
    fmt = state.get("format")
    if fmt == TRAINER_FORMAT:
        return dict(state)
    if fmt not in OLD_TRAINER_FORMATS:
        raise ValueError(f"not a trainer checkpoint (format {fmt!r}, expected {TRAINER_FORMAT!r})")
    upgraded = dict(state)
    upgraded["format"] = TRAINER_FORMAT
    upgraded["sampler"] = {
        "epoch": int(state["epoch"]),
        "position": int(state["batch_in_epoch"]) * batch_size,
    }
    return upgraded


def ema_weights(ema_state: Mapping[str, Any]) -> dict[str, torch.Tensor]:
    """A generator's weights from its entry in a trainer state's ``ema`` table.

    The entry is a ``torch.optim.swa_utils.AveragedModel`` state: the averaged network's keys
    under ``"module."``, plus ``"n_averaged"``.

    Parameters
    ----------
    ema_state
        ``state["ema"]["G_ab"]`` or ``state["ema"]["G_ba"]``.

    Returns
    -------
    dict[str, torch.Tensor]
        A state dict for the generator.
    """
    n = len(_EMA_PREFIX)
    return {k[n:]: v for k, v in ema_state.items() if k.startswith(_EMA_PREFIX)}


def rng_state(device: torch.device | None = None) -> dict[str, Any]:
    """Every random stream of this process, as a trainer state's ``rng`` entry.

    Parameters
    ----------
    device
        The device this process trains on: for a CUDA device its generator's state is saved
        (only that one: the other GPUs belong to other processes, or to none).

    Returns
    -------
    dict[str, Any]
        ``python`` (``random.getstate()``), ``numpy`` (``np.random.get_state()``), ``torch``
        (the CPU generator) and, for a CUDA ``device``, ``cuda`` (its generator's state, a
        ``uint8`` tensor).
    """
    rng: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if device is not None and device.type == "cuda":
        rng["cuda"] = torch.cuda.get_rng_state(device)
    return rng


def load_rng_state(rng: Mapping[str, Any], device: torch.device | None = None) -> None:
    """Restore the random streams of an :func:`rng_state`.

    Parameters
    ----------
    rng
        An :func:`rng_state` entry. Its ``cuda`` entry goes to ``device`` when that is a CUDA
        device, and is ignored otherwise (a run resumed on the CPU). Checkpoints written before
        ``cuda`` held one state hold a list, one per GPU the writer saw: ``device``'s index
        picks the entry, and an index beyond the list (fewer GPUs saved than used now) leaves
        that device's generator as it is.
    device
        The device this process trains on.
    """
    random.setstate(rng["python"])
    np.random.set_state(rng["numpy"])
    torch.set_rng_state(rng["torch"])
    saved = rng.get("cuda")
    if saved is None or device is None or device.type != "cuda":
        return
    if isinstance(saved, torch.Tensor):
        torch.cuda.set_rng_state(saved, device)
        return
    index = device.index if device.index is not None else torch.cuda.current_device()
    if index < len(saved):
        torch.cuda.set_rng_state(saved[index], device)
