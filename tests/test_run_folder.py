"""A run folder holds one run: the lock, the refusals, overwrite, rotation, and writes the disk
refuses (one line, no temporary file, the old file intact)."""

from __future__ import annotations

import errno
import json
import os
import pathlib
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from cyclegan_ms import load
from cyclegan_ms.checkpoint import prune, save_checkpoint
from cyclegan_ms.cli import main
from cyclegan_ms.training import (
    ConfigError,
    TrainConfig,
    Trainer,
    find_latest,
    load_checkpoint,
    load_config,
)
from cyclegan_ms.training.run_folder import (
    LOCK_NAME,
    RunExistsError,
    RunFolderError,
    RunLock,
    RunLockedError,
    check_run_folder,
    claim_run_folder,
    describe_run,
    trim_log,
)
from cyclegan_ms.utils.files import (
    WriteError,
    append_text,
    as_write_error,
    atomic_write_bytes,
    format_bytes,
)

sys.path.insert(0, str(Path(__file__).parent))
from _train_script import Pairs, tiny_model


def _trainer(run_dir: Path, **kwargs: Any) -> Trainer:
    overwrite = kwargs.pop("overwrite", False)
    cfg: dict[str, Any] = {"steps": 2, "batch_size": 2, "log_every": 1, "progress": False}
    cfg.update(kwargs)
    torch.manual_seed(0)
    return Trainer(
        tiny_model(), Pairs(), run_dir=run_dir, train=TrainConfig(**cfg), overwrite=overwrite
    )


def _files(folder: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


# ------------------------------------------------------------------------------------ lock
def test_the_lock_is_exclusive_names_its_holder_and_is_released(tmp_path: Path) -> None:
    first = RunLock(tmp_path)
    assert first.acquire()
    first.announce()
    with pytest.raises(RunLockedError, match=rf"process {os.getpid()}") as caught:
        RunLock(tmp_path).acquire()
    assert caught.value.holder.pid == os.getpid()
    with pytest.raises(RunLockedError):
        check_run_folder(tmp_path)
    first.release()
    assert (tmp_path / LOCK_NAME).read_text() == "", "a released lock file names nobody"
    with RunLock(tmp_path) as again:
        assert again.held
    assert not again.held


def test_a_probe_or_refusal_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "never"
    RunLock(missing).probe()
    assert check_run_folder(missing) is None
    assert not missing.exists()
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    save_checkpoint(run / "checkpoints" / "step_00000004.safetensors", {"step": 4})
    (run / "config.json").write_text(json.dumps({"name": "seed", "model": {}}))
    before = _files(run)
    with pytest.raises(RunExistsError, match=r"already holds a run \(seed, step 4\)") as caught:
        claim_run_folder(run)
    assert caught.value.info.step == 4 and caught.value.info.name == "seed"
    assert _files(run) == before and not (run / LOCK_NAME).exists()


def test_describe_run(tmp_path: Path) -> None:
    assert describe_run(tmp_path / "missing") is None
    assert describe_run(tmp_path) is None
    (tmp_path / LOCK_NAME).write_text("")
    (tmp_path / "notes.txt").write_text("mine")
    assert describe_run(tmp_path) is None, "a lock file and foreign files are not a run"
    (tmp_path / "metrics.jsonl").write_text('{"step": 1}\n')
    info = describe_run(tmp_path)
    assert info is not None and info.step is None and info.describe() == "no checkpoint yet"
    (tmp_path / "config.json").write_text(json.dumps({"model": {"generator": {"name": "g"}}}))
    assert describe_run(tmp_path).describe() == "g, no checkpoint yet"  # type: ignore[union-attr]


# ------------------------------------------------------------------------------------ trainer
def test_a_trainer_refuses_a_folder_holding_another_run(tmp_path: Path) -> None:
    first = _trainer(tmp_path, steps=3, checkpoint_every=1, keep_last=2).fit()
    before = _files(tmp_path)
    with pytest.raises(RunExistsError, match=r"step 3\): resume it"):
        _trainer(tmp_path, steps=2).fit()
    assert _files(tmp_path) == before
    assert first.checkpoint is not None and first.checkpoint.is_file()
    # a second fit of the same trainer continues its own run
    again = _trainer(tmp_path / "twice", steps=2)
    again.fit(steps=1)
    assert again.fit().step == 2
    log = (tmp_path / "twice" / "metrics.jsonl").read_text().splitlines()
    steps = [json.loads(x)["step"] for x in log]
    assert steps == [1, 2]


def test_overwrite_moves_the_old_run_aside_or_deletes_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    run = tmp_path / "run"
    _trainer(run, steps=3).fit()
    old = _files(run)
    t = _trainer(run, steps=1, overwrite=True)
    result = t.fit()
    assert t.previous_run == tmp_path / "run.old-1"
    assert "moved it to" in caplog.text and "run.old-1" in caplog.text
    moved = _files(tmp_path / "run.old-1")
    assert {k: v for k, v in old.items() if k != LOCK_NAME} == moved
    assert load(tmp_path / "run.old-1").checkpoint_step == 3
    assert result.step == 1 and load(run).checkpoint_step == 1
    assert (run / "metrics.jsonl").read_text().count("\n") == 1
    _trainer(run, steps=2, overwrite="move").fit()
    assert (tmp_path / "run.old-2").is_dir()
    caplog.clear()
    (run / "notes.txt").write_text("the user's own")
    t = _trainer(run, steps=1, overwrite="delete")
    t.fit()
    assert t.previous_run is None and "deleted it" in caplog.text
    assert "left 1 other file(s) in place" in caplog.text
    assert (run / "notes.txt").read_text() == "the user's own", "only what a run writes goes"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run", "run.old-1", "run.old-2"]
    with pytest.raises(ValueError, match="overwrite must be"):
        _trainer(run, overwrite="yes")


def test_resume_continues_only_its_own_folder(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    _trainer(a, steps=4, checkpoint_every=1, keep_last=5).fit()
    # a resume from another folder starts a new run: refused where a run is, fine elsewhere
    _trainer(b, steps=1).fit()
    t = _trainer(b, steps=5)
    t.resume(a)
    with pytest.raises(RunExistsError):
        t.fit()
    t = _trainer(tmp_path / "c", steps=5)
    t.resume(a)
    assert t.fit().step == 5
    # resuming an older checkpoint of a folder with newer ones would interleave them
    t = _trainer(a, steps=6)
    t.resume(a / "checkpoints" / "step_00000002.safetensors")
    with pytest.raises(RunFolderError, match=r"newer checkpoint \(step 4\)"):
        t.fit()
    # overwrite and a resume of the same folder contradict each other
    t = _trainer(a, steps=6, overwrite=True)
    t.resume(a)
    with pytest.raises(RunFolderError, match="overwrite would remove the run"):
        t.fit()
    assert load(a).checkpoint_step == 4


def test_a_resume_drops_log_records_of_steps_taken_again(tmp_path: Path) -> None:
    _trainer(tmp_path, steps=3, checkpoint_every=0).fit()
    with (tmp_path / "metrics.jsonl").open("a") as fh:  # a killed run logged steps 4-5 and
        fh.write(json.dumps({"step": 4}) + "\n" + json.dumps({"step": 5}) + '\n{"st')  # tore 6
    t = _trainer(tmp_path, steps=5)
    assert t.resume(tmp_path) == 3
    t.fit()
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(x)["step"] for x in lines] == [1, 2, 3, 4, 5]
    assert trim_log(tmp_path / "metrics.jsonl", 5) == 0


def test_rotation_never_deletes_the_checkpoint_just_written(tmp_path: Path) -> None:
    ckpts = tmp_path / "checkpoints"
    ckpts.mkdir()
    for step in (5, 6, 3):
        save_checkpoint(ckpts / f"step_{step:08d}.safetensors", {"step": step})
    assert [p.name for p in prune(ckpts, 2, keep=ckpts / "step_00000003.safetensors")] == []
    assert len(list(ckpts.iterdir())) == 3
    t = _trainer(tmp_path, steps=1, keep_last=1)
    written = t.save()
    assert written is not None and written.is_file() and written.name == "step_00000000.safetensors"


def test_a_trainer_cannot_take_a_folder_another_trainer_holds(tmp_path: Path) -> None:
    claim = claim_run_folder(tmp_path)
    try:
        with pytest.raises(RunLockedError, match=f"process {os.getpid()}"):
            _trainer(tmp_path).fit()
    finally:
        claim.release()
    assert not list(tmp_path.glob("checkpoints/*")), "the refused trainer wrote nothing"
    assert _trainer(tmp_path).fit().step == 2


# ------------------------------------------------------------------------------------ disk
def _refuse(monkeypatch: pytest.MonkeyPatch, match: str, code: int) -> None:
    """``Path.write_bytes`` of files named ``match*`` writes half, then fails with ``code``."""
    real = pathlib.Path.write_bytes

    def write_bytes(self: pathlib.Path, data: Any) -> int:
        if self.name.startswith(match):
            with self.open("wb") as fh:
                fh.write(bytes(data)[: len(data) // 2])
            raise OSError(code, os.strerror(code))
        return real(self, data)

    monkeypatch.setattr(pathlib.Path, "write_bytes", write_bytes)


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES])
def test_a_refused_write_is_one_line_and_leaves_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    target = tmp_path / "f.bin"
    target.write_bytes(b"old")
    _refuse(monkeypatch, ".f.bin.", code)
    with pytest.raises(WriteError) as caught:
        atomic_write_bytes(target, b"x" * 3000)
    text = str(caught.value)
    assert "\n" not in text and f"could not write {target}" in text
    assert caught.value.errno == code and isinstance(caught.value, OSError)
    if code in (errno.ENOSPC, errno.EDQUOT):
        assert "needs 3.0 kB" in text and " free)" in text
    else:
        assert "is not writable" in text
    assert target.read_bytes() == b"old" and sorted(os.listdir(tmp_path)) == ["f.bin"]


def test_write_error_details() -> None:
    assert [format_bytes(n) for n in (512, 3_200, 12_400_000, 2 * 10**9)] == [
        "512 B",
        "3.2 kB",
        "12.4 MB",
        "2.0 GB",
    ]
    other = OSError(errno.ENOSPC, "No space", "/elsewhere/input.png")
    assert as_write_error(other, "/out/a.png") is other, "about another file: left as it is"
    busy = OSError(errno.EBUSY, "busy")
    assert as_write_error(busy, "/out/a.png") is busy
    import pickle

    err = WriteError("/out/a.png", errno.ENOSPC, 10)
    assert str(pickle.loads(pickle.dumps(err))) == str(err)


def test_append_text_is_all_or_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "metrics.jsonl"
    append_text(log, '{"step": 1}\n')
    real = os.write

    def write(fd: int, data: Any) -> int:
        real(fd, bytes(data)[:5])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", write)
    with pytest.raises(WriteError, match=r"no space left on device: could not write .*metrics"):
        append_text(log, '{"step": 2}\n')
    monkeypatch.undo()
    assert log.read_text() == '{"step": 1}\n'


def test_a_full_disk_stops_training_with_the_newest_checkpoint_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    t = _trainer(tmp_path, steps=4, checkpoint_every=1)
    t.fit(steps=2)
    _refuse(monkeypatch, ".step_00000003.safetensors.", errno.ENOSPC)
    with pytest.raises(WriteError, match=r"step_00000003.safetensors \(needs "):
        t.fit()
    monkeypatch.undo()
    assert not list(tmp_path.rglob("*.tmp"))
    assert load_checkpoint(find_latest(tmp_path))["step"] == 2  # type: ignore[arg-type]
    resumed = _trainer(tmp_path, steps=4, checkpoint_every=1)
    assert resumed.resume(tmp_path) == 2
    assert resumed.fit().step == 4
    claim_run_folder(tmp_path, continuing=True).release()  # the failed fit left no lock


# ------------------------------------------------------------------------------------ cli + config
def test_cli_flags(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "seed", "--delete-old", "--run-dir", str(tmp_path)]) == 2
    assert "--delete-old goes with --overwrite" in capsys.readouterr().err
    run = tmp_path / "r"
    (run / "checkpoints").mkdir(parents=True)
    save_checkpoint(run / "checkpoints" / "step_00000001.safetensors", {"step": 1})
    (run / "config.json").write_text(json.dumps(load_config("seed").to_dict()))
    assert main(["train", "--resume", str(run), "--overwrite"]) == 2
    err = capsys.readouterr().err
    assert "contradict" in err and len(err.strip().splitlines()) == 1


def test_the_config_names_its_experiment(tmp_path: Path) -> None:
    assert load_config("seed").name == "seed"
    path = tmp_path / "mine.toml"
    path.write_text('name = "night run"\n[train]\nsteps = 3\n')
    cfg = load_config(path)
    assert cfg.name == "night run" and cfg.to_dict()["name"] == "night run"
    assert load_config(cfg.to_dict()).name == "night run"
    path.write_text("[train]\nsteps = 3\n")
    assert load_config(path).name == "mine"
    assert load_config({"train": {"steps": 3}}).name is None
    assert "name" not in load_config({"train": {"steps": 3}}).to_dict()
    with pytest.raises(ConfigError, match="name must be a string"):
        load_config({"name": 3})
