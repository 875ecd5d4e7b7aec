"""Fault probe of run folders and outputs: a forgotten ``--resume``, two trainings at once,
``kill -9`` of a training, and a disk that refuses a checkpoint, a sample grid, a log line, the
config, a translated image or clip, or an export.

Each case drives the ``cyclegan-ms train`` command the way a user would (a tiny model on 32×32
built-in scenes, a few steps each) and checks three things:

* **refused cleanly**: a refusal or failure is one line on stderr, with exit status 2 (refused)
  or 1 (the disk refused an output), naming the run, the process or the file;
* **nothing changed**: a refused command leaves every file of the run folder as it was (names,
  bytes and modification times), and a failed write leaves no temporary file;
* **nothing lost**: the newest complete checkpoint still loads, ``--resume`` continues from it
  once the fault is gone, and the log ends up with every step exactly once.

Disk faults are injected (a write that fails half-way with ``ENOSPC``, ``EDQUOT`` or ``EROFS``,
by wrapping ``Path.write_bytes`` and ``os.write``, and PyAV's output containers for video; the
log case reads ``/proc/self/fd`` and is skipped where there is none, the video case without
PyAV). The ``kill -9`` case runs the training in a second process.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/fault_probe.py          # about a minute on a CPU
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/fault_probe.py --case disk_full_checkpoint

The test suite runs the same cases (``tests/test_fault_probe.py``).
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import fnmatch
import hashlib
import io
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

TINY = """
[model.generator]
name = "resnet_6blocks"
ngf = 4

[model.discriminator]
name = "patchgan"
ndf = 4
n_layers = 2

[data]
source = "scenes"
image_size = 32
num_scenes = 8
value_range = "symmetric"
recipe = "paper"
load_size = 36

[train]
steps = 4
batch_size = 2
log_every = 1
progress = false
checkpoint_every = 1
sample_every = 2
keep_last = 2
"""


# ------------------------------------------------------------------------------------ report
@dataclass
class Outcome:
    """What one case found: ``checks`` maps each promise to whether it held."""

    name: str
    checks: dict[str, bool] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    skipped: str | None = None

    @property
    def ok(self) -> bool:
        return self.skipped is not None or all(self.checks.values())

    def check(self, what: str, held: bool, detail: str = "") -> bool:
        self.checks[what] = bool(held)
        if not held and detail:
            self.notes.append(f"{what}: {detail}")
        return bool(held)

    def said(self, ran: Ran) -> None:
        """Keep what a command said on stderr, for the report."""
        self.lines += [f"$ ... -> status {ran.status}: {x}" for x in ran.err.strip().splitlines()]

    def report(self) -> str:
        if self.skipped is not None:
            return f"SKIP {self.name}: {self.skipped}"
        lines = [f"{'ok  ' if self.ok else 'FAIL'} {self.name}"]
        lines += [f"       [{'x' if held else ' '}] {what}" for what, held in self.checks.items()]
        lines += [f"       {line}" for line in self.lines]
        lines += [f"       {note}" for note in self.notes]
        return "\n".join(lines)


@dataclass
class Ran:
    """One ``cyclegan-ms`` command: exit status and output."""

    status: int
    out: str
    err: str

    @property
    def one_line(self) -> bool:
        lines = [x for x in self.err.strip().splitlines() if x.strip()]
        return len(lines) == 1 and "Traceback" not in self.err


def cli(*argv: str) -> Ran:
    """Run ``cyclegan-ms ARGV`` in this process and capture what it prints."""
    from cyclegan_ms.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(list(argv))
    return Ran(status, out.getvalue(), err.getvalue())


def snapshot(folder: Path) -> dict[str, tuple[int, str, int]]:
    """Every file under ``folder``: size, SHA-256 and modification time (ns)."""
    found: dict[str, tuple[int, str, int]] = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            st = path.stat()
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            found[str(path.relative_to(folder))] = (st.st_size, digest, st.st_mtime_ns)
    return found


def temp_files(folder: Path) -> list[str]:
    return [str(p.relative_to(folder)) for p in folder.rglob("*.tmp")]


def logged_steps(run: Path) -> list[int] | None:
    """The steps of the loss records in ``run/metrics.jsonl`` (``None``: a line is torn)."""
    steps = []
    for line in (run / "metrics.jsonl").read_text().splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            return None
        if "event" not in record:
            steps.append(int(record["step"]))
    return steps


def newest_loads(run: Path) -> int | None:
    """The step of ``cyclegan_ms.load(run)`` (``None``: it does not load)."""
    import cyclegan_ms

    try:
        return int(cyclegan_ms.load(run).checkpoint_step)
    except Exception:
        return None


# ------------------------------------------------------------------------------------ faults
@contextlib.contextmanager
def disk_refuses(pattern: str, code: int, *, after: int = 0) -> Iterator[None]:
    """Writes to files whose name matches ``pattern`` fail half-way with ``code``, from the
    ``after + 1``-th such write on (``Path.write_bytes`` and ``os.write``)."""
    seen = {"n": 0}
    real_write_bytes = pathlib.Path.write_bytes
    real_write = os.write

    def hit(name: str) -> bool:
        if not fnmatch.fnmatch(name, pattern):
            return False
        seen["n"] += 1
        return seen["n"] > after

    def write_bytes(self: pathlib.Path, data: bytes) -> int:
        if hit(self.name):
            with self.open("wb") as fh:
                fh.write(bytes(data)[: len(data) // 2])
            raise OSError(code, os.strerror(code))
        return real_write_bytes(self, data)

    def write(fd: int, data: bytes) -> int:
        try:
            name = os.path.basename(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:
            name = ""
        if name and hit(name):
            real_write(fd, bytes(data)[: len(data) // 2])
            raise OSError(code, os.strerror(code))
        return real_write(fd, data)

    pathlib.Path.write_bytes = write_bytes  # type: ignore[method-assign]
    os.write = write
    try:
        yield
    finally:
        pathlib.Path.write_bytes = real_write_bytes  # type: ignore[method-assign]
        os.write = real_write


# ------------------------------------------------------------------------------------ cases
def forgotten_resume(work: Path) -> Outcome:
    """Train 6 steps, then the same command with 3 steps and no ``--resume``."""
    o = Outcome("forgotten --resume")
    cfg, run = _config(work), work / "x"
    first = cli("train", str(cfg), "--run-dir", str(run), "--set", "train.steps=6")
    o.check("first run trains", first.status == 0, first.err)
    before = snapshot(run)
    again = cli("train", str(cfg), "--run-dir", str(run), "--set", "train.steps=3")
    o.said(again)
    o.check("second run refused (status 2)", again.status == 2, f"status {again.status}")
    o.check("refusal is one line", again.one_line, again.err)
    o.check("it names the run (config, step)", "(probe, step 6)" in again.err, again.err)
    o.check(
        "it names --resume and --overwrite",
        f"--resume {run}" in again.err and "--overwrite" in again.err,
        again.err,
    )
    o.check("nothing in the folder changed", snapshot(run) == before)
    o.check("load() still gives the first run", newest_loads(run) == 6)
    replaced = cli(
        "train", str(cfg), "--run-dir", str(run), "--set", "train.steps=3", "--overwrite"
    )
    o.check("--overwrite trains a new run", replaced.status == 0, replaced.err)
    final = replaced.out.strip().rsplit("checkpoint ", 1)[-1]
    o.check("the final line names a file that exists", Path(final).is_file(), final)
    aside = run.with_name("x.old-1")
    kept = {k: v for k, v in before.items() if k != ".train.lock"}
    o.check(
        "the old run is intact in x.old-1",
        {k: v for k, v in snapshot(aside).items() if k in kept} == kept,
    )
    o.check("load() gives the new run", newest_loads(run) == 3)
    o.check("the new log is the new run's alone", logged_steps(run) == [1, 2, 3])
    gone = cli(
        "train",
        str(cfg),
        "--run-dir",
        str(run),
        "--set",
        "train.steps=2",
        "--overwrite",
        "--delete-old",
    )
    o.check(
        "--overwrite --delete-old replaces it",
        gone.status == 0 and newest_loads(run) == 2 and not run.with_name("x.old-2").exists(),
        gone.err,
    )
    return o


def two_trainings_and_kill(work: Path) -> Outcome:
    """A training runs in another process; a second train, resume and overwrite are refused;
    readers still work; then ``kill -9`` and ``--resume`` continues at once."""
    import torch

    import cyclegan_ms

    o = Outcome("two trainings at once, then kill -9 of the lock holder")
    cfg, run = _config(work), work / "busy"
    command = [sys.executable, "-m", "cyclegan_ms.cli", "train", str(cfg), "--run-dir", str(run)]
    command += ["--set", "train.steps=1000000", "--set", "train.sample_every=0"]
    proc = subprocess.Popen(
        command,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 180
        while not list((run / "checkpoints").glob("step_*.safetensors")):
            if proc.poll() is not None or time.monotonic() > deadline:
                out = proc.stdout.read().decode() if proc.stdout else ""
                o.check("the first training started", False, out[-500:])
                return o
            time.sleep(0.05)
        pid = str(proc.pid)
        for what, extra in (
            ("a second train", ["train", str(cfg), "--run-dir", str(run)]),
            ("a --resume", ["train", "--resume", str(run)]),
            ("an --overwrite", ["train", str(cfg), "--run-dir", str(run), "--overwrite"]),
        ):
            ran = cli(*extra)
            o.said(ran)
            o.check(
                f"{what} is refused in one line naming pid {pid}",
                ran.status == 2 and ran.one_line and f"process {pid}" in ran.err,
                ran.err.strip(),
            )
        o.check("load() of the folder works meanwhile", newest_loads(run) is not None)
        model = cyclegan_ms.load(run)
        with torch.no_grad():
            y = model.translate(torch.zeros(1, 3, 32, 32))
        o.check("translating with it works", tuple(y.shape) == (1, 3, 32, 32))
        o.check("the training is still running", proc.poll() is None)
    finally:
        proc.kill()  # SIGKILL: no handler runs, the lock dies with the process
        proc.wait()
    step = newest_loads(run)
    o.check("after kill -9 the newest checkpoint loads", step is not None)
    resumed = cli("train", "--resume", str(run), "--set", f"train.steps={(step or 0) + 2}")
    o.check(
        "--resume continues at once (no stale lock)",
        resumed.status == 0 and newest_loads(run) == (step or 0) + 2,
        resumed.err.strip(),
    )
    steps = logged_steps(run)
    o.check(
        "the log has every step once",
        steps is not None and steps == list(range(1, (step or 0) + 3)),
        str(steps[-5:] if steps else steps),
    )
    return o


def _disk_case(
    name: str, pattern: str, code: int, after: int, *, file: str, expect_step: int | None
) -> Callable[[Path], Outcome]:
    def case(work: Path) -> Outcome:
        o = Outcome(name)
        if pattern == "metrics.jsonl" and not Path("/proc/self/fd").is_dir():
            o.skipped = "needs /proc/self/fd to see which file os.write writes"
            return o
        cfg, run = _config(work), work / "full"
        with disk_refuses(pattern, code, after=after):
            failed = cli("train", str(cfg), "--run-dir", str(run), "--set", "train.steps=6")
        o.said(failed)
        o.check("exit status 1", failed.status == 1, f"status {failed.status}: {failed.err}")
        o.check("one line", failed.one_line, failed.err)
        o.check(
            "it names the file",
            f"could not write {run / file}" in failed.err,
            failed.err.strip(),
        )
        if code == errno.ENOSPC or code == getattr(errno, "EDQUOT", None):
            o.check("it gives the space needed", "needs " in failed.err, failed.err.strip())
        o.check("no temporary file is left", not temp_files(run), str(temp_files(run)))
        steps = logged_steps(run) if (run / "metrics.jsonl").exists() else []
        o.check("the log has no torn line", steps is not None)
        o.check("the newest complete checkpoint loads", newest_loads(run) == expect_step)
        if expect_step is None:
            again = cli("train", str(cfg), "--run-dir", str(run), "--set", "train.steps=6")
        else:
            o.check(
                "it says how to resume",
                f"--resume {run}" in failed.err,
                failed.err.strip(),
            )
            again = cli("train", "--resume", str(run))
        o.check("once the disk has room the run completes", again.status == 0, again.err)
        o.check("the run reaches step 6", newest_loads(run) == 6)
        o.check("the log has every step once", logged_steps(run) == [1, 2, 3, 4, 5, 6])
        return o

    case.__name__ = name.replace(" ", "_")
    case.__doc__ = name
    return case


disk_full_checkpoint = _disk_case(
    "disk full while writing a checkpoint (ENOSPC)",
    ".step_*.safetensors.*.tmp",
    errno.ENOSPC,
    after=3,
    file="checkpoints/step_00000004.safetensors",
    expect_step=3,
)
quota_sample_grid = _disk_case(
    "quota exceeded while writing a sample grid (EDQUOT)",
    ".step_*.png.*.tmp",
    getattr(errno, "EDQUOT", errno.ENOSPC),
    after=1,
    file="samples/step_00000004.png",
    expect_step=4,
)
read_only_log = _disk_case(
    "read-only folder while appending to the log (EROFS)",
    "metrics.jsonl",
    errno.EROFS,
    after=4,
    file="metrics.jsonl",
    expect_step=4,
)
disk_full_config = _disk_case(
    "disk full before the first checkpoint (config.json)",
    ".config.json.*.tmp",
    errno.ENOSPC,
    after=0,
    file="config.json",
    expect_step=None,
)


def _generator_file(work: Path) -> Path:
    """A tiny generator file (``export`` of an untrained generator) to translate with."""
    import torch

    import cyclegan_ms
    from cyclegan_ms.inference import export

    path = work / "g.safetensors"
    if not path.exists():
        torch.manual_seed(0)
        g = cyclegan_ms.build("generator", "resnet_6blocks", ngf=4, output="sigmoid")
        export(g, path)
    return path


def disk_full_translate_images(work: Path) -> Outcome:
    """``translate`` of three images; the disk fills while writing the second."""
    import numpy as np
    from PIL import Image

    o = Outcome("disk full while translating images (ENOSPC)")
    gen, src, out = _generator_file(work), work / "photos", work / "day"
    src.mkdir(exist_ok=True)
    for i, name in enumerate(("a", "b", "c")):
        pixels = np.full((32, 48, 3), 40 * (i + 1), np.uint8)
        Image.fromarray(pixels).save(src / f"{name}.png")
    argv = ["translate", "--checkpoint", str(gen), str(src), "--out", str(out)]
    argv += ["--no-progress", "--device", "cpu"]
    with disk_refuses(".b.png.*.tmp", errno.ENOSPC):
        failed = cli(*argv)
    o.said(failed)
    o.check("exit status 1", failed.status == 1, f"status {failed.status}: {failed.err}")
    o.check("one line", failed.one_line, failed.err)
    o.check(
        "it names the file and the space needed",
        f"could not write {out / 'b.png'} (needs " in failed.err,
        failed.err.strip(),
    )
    o.check("it stops there (c is not tried)", not (out / "c.png").exists())
    o.check("no temporary file is left", not temp_files(out), str(temp_files(out)))
    before = snapshot(out)
    o.check("the image written before is complete", list(before) == ["a.png"], str(list(before)))
    again = cli(*argv, "--skip-existing")
    o.check(
        "once the disk has room, --skip-existing finishes the rest",
        again.status == 0 and sorted(p.name for p in out.iterdir()) == ["a.png", "b.png", "c.png"],
        again.err,
    )
    o.check("and leaves a.png as it was", snapshot(out)["a.png"] == before["a.png"])
    return o


@contextlib.contextmanager
def video_disk_refuses(code: int, *, after: int) -> Iterator[None]:
    """Output containers PyAV opens for writing fail with ``code`` after ``after`` packets, as
    FFmpeg reports a full disk (an ``av.error.OSError``)."""
    import av

    real_open = av.open

    class Full:
        def __init__(self, container: object, name: str) -> None:
            self._c, self._name, self._n = container, name, 0

        def __getattr__(self, key: str) -> object:
            return getattr(self._c, key)

        def __enter__(self) -> Full:
            return self

        def __exit__(self, *exc: object) -> None:
            self._c.close()  # type: ignore[attr-defined]

        def mux(self, packets: object) -> None:
            self._n += 1
            if self._n > after:
                raise av.error.OSError(code, os.strerror(code), self._name)
            self._c.mux(packets)  # type: ignore[attr-defined]

    def opener(file: object, mode: str = "r", *args: object, **kwargs: object) -> object:
        container = real_open(file, mode, *args, **kwargs)
        return Full(container, str(file)) if mode == "w" else container

    av.open = opener
    try:
        yield
    finally:
        av.open = real_open


def disk_full_translate_video(work: Path) -> Outcome:
    """``translate`` of a clip; the disk fills half-way through the output clip."""
    o = Outcome("disk full while translating a video (ENOSPC)")
    try:
        import av
        import numpy as np
    except ImportError:
        o.skipped = "needs PyAV (the video extra)"
        return o
    clip, out = work / "night.mp4", work / "day.mp4"
    with av.open(str(clip), "w") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 48, 32, "yuv420p"
        for i in range(12):
            frame = np.full((32, 48, 3), 20 * i, np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode(None))
    argv = ["translate", "--checkpoint", str(_generator_file(work)), str(clip), "--out", str(out)]
    argv += ["--no-progress", "--device", "cpu"]
    with video_disk_refuses(errno.ENOSPC, after=3):
        failed = cli(*argv)
    o.said(failed)
    o.check("exit status 1", failed.status == 1, f"status {failed.status}: {failed.err}")
    o.check("one line", failed.one_line, failed.err)
    o.check(
        "it names the clip and the space needed",
        f"could not write {out} (needs " in failed.err,
        failed.err.strip(),
    )
    o.check(
        "no partial clip is left", sorted(p.name for p in work.iterdir() if "day" in p.name) == []
    )
    again = cli(*argv)
    o.check(
        "once the disk has room the clip is written", again.status == 0 and out.is_file(), again.err
    )
    return o


def disk_full_export(work: Path) -> Outcome:
    """``export`` over an earlier export; the disk fills while writing."""
    o = Outcome("disk full while exporting (ENOSPC, EDQUOT)")
    cfg, run = _config(work), work / "model"
    trained = cli("train", str(cfg), "--run-dir", str(run), "--set", "train.steps=1")
    o.check("a model to export", trained.status == 0, trained.err)
    for fmt, code in (
        ("safetensors", errno.ENOSPC),
        ("pt", getattr(errno, "EDQUOT", errno.ENOSPC)),
    ):
        dst = work / f"g_export.{fmt}"
        argv = ["export", "--checkpoint", str(run), "--out", str(dst), "--no-verify"]
        first = cli(*argv)
        o.check(f"{fmt}: a first export", first.status == 0 and dst.is_file(), first.err)
        before = snapshot(work)[dst.name]
        with disk_refuses(f".{dst.name}.*.tmp", code):
            failed = cli(*argv)
        o.said(failed)
        o.check(
            f"{fmt}: one line, status 1, naming the file and the space needed",
            failed.status == 1
            and failed.one_line
            and f"could not write {dst} (needs " in failed.err,
            failed.err.strip(),
        )
        o.check(f"{fmt}: the earlier export is intact", snapshot(work)[dst.name] == before)
        o.check(f"{fmt}: no temporary file is left", not temp_files(work), str(temp_files(work)))
    return o


CASES: tuple[Callable[[Path], Outcome], ...] = (
    forgotten_resume,
    two_trainings_and_kill,
    disk_full_checkpoint,
    quota_sample_grid,
    read_only_log,
    disk_full_config,
    disk_full_translate_images,
    disk_full_translate_video,
    disk_full_export,
)


def _config(work: Path) -> Path:
    path = work / "probe.toml"
    if not path.exists():
        path.write_text(TINY)
    return path


def _env() -> dict[str, str]:
    import cyclegan_ms

    env = dict(os.environ)
    root = str(Path(cyclegan_ms.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join([root, env.get("PYTHONPATH", "")])
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def run_case(case: Callable[[Path], Outcome], work: Path) -> Outcome:
    """Run one case in its own folder under ``work`` (from inside it: relative paths stay
    short in the messages)."""
    folder = work / case.__name__
    folder.mkdir(parents=True, exist_ok=True)
    cwd = Path.cwd()
    os.chdir(folder)
    try:
        return case(Path("."))
    finally:
        os.chdir(cwd)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    names = [c.__name__ for c in CASES]
    p.add_argument("--case", action="append", choices=names, help="run only this case")
    p.add_argument("--keep", default=None, help="work in this folder and keep it")
    args = p.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    chosen = [c for c in CASES if not args.case or c.__name__ in args.case]
    with contextlib.ExitStack() as stack:
        work = (
            Path(args.keep)
            if args.keep
            else Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="fault_probe_")))
        )
        outcomes = []
        for case in chosen:
            t0 = time.perf_counter()
            outcome = run_case(case, work.resolve())
            outcomes.append(outcome)
            print(outcome.report() + f"   ({time.perf_counter() - t0:.0f} s)", flush=True)
    failed = [o.name for o in outcomes if not o.ok]
    print(
        f"\n{len(outcomes) - len(failed)}/{len(outcomes)} cases: refusals clean, nothing "
        "changed, nothing lost" + (f"; FAILED: {', '.join(failed)}" if failed else "")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
