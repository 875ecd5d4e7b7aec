"""The ``cyclegan-ms`` command line.

    cyclegan-ms train CONFIG [--set key=value ...] [--run-dir DIR] [--resume RUN_DIR] [--overwrite]
    cyclegan-ms translate --checkpoint CKPT INPUT... --out DIR [--direction] [--tile N]
    cyclegan-ms export --checkpoint CKPT --format onnx|torchscript|safetensors --out FILE
    cyclegan-ms eval --checkpoint CKPT [--scenes N | --inputs DIR --targets DIR]
    cyclegan-ms list [KIND] [--pattern GLOB]
    cyclegan-ms presets

CONFIG is a TOML file or a built-in preset name (``seed``, ``cyclegan_paper``). Bad input gives
one line on stderr naming the key and what is accepted, and exit status 2; so does a refused run
folder (it holds another run, or another process trains into it), which is left unchanged. An
output the disk refuses (full, over quota, read-only) gives one line naming the file, the space
needed and how to continue, and exit status 1.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .utils.files import WriteError

__all__ = ["COMMAND_MODULES", "CommandError", "SubCommand", "build_parser", "main"]

#: Modules that add sub-commands, in the order they are listed; each has a ``COMMANDS`` tuple of
#: :class:`SubCommand`. A module that is not installed is left out.
COMMAND_MODULES: tuple[str, ...] = ("cyclegan_ms.cli", "cyclegan_ms.inference_cli")


@dataclass(frozen=True)
class SubCommand:
    """One ``cyclegan-ms`` sub-command.

    Parameters
    ----------
    name
        What the user types (``translate``).
    help
        One line for ``cyclegan-ms --help``.
    configure
        Adds the sub-command's arguments (and description) to its parser.
    run
        Runs it on the parsed arguments; returns the exit status.
    """

    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def _cmd_list(args: argparse.Namespace) -> int:
    from . import registry

    kinds = [args.kind] if args.kind else list(registry.kinds())
    for kind in kinds:
        names = registry.available(kind, args.pattern)
        print(f"{kind}:")
        for name in names:
            factory = registry.get(kind, name)
            doc = (factory.__doc__ or "").strip().splitlines()
            summary = doc[0] if doc else ""
            print(f"  {name:<22} {summary}")
    return 0


def _cmd_presets(args: argparse.Namespace) -> int:
    from .training.config import presets

    for name in presets():
        print(name)
    return 0


class CommandError(Exception):
    """A sub-command failed in a way it explains in one line: ``main`` prints
    ``cyclegan-ms COMMAND: error: MESSAGE`` on stderr and returns ``status``.

    Parameters
    ----------
    message
        The line (without the ``cyclegan-ms COMMAND: error:`` prefix).
    status
        The exit status.
    """

    def __init__(self, message: str, status: int = 2) -> None:
        super().__init__(message)
        self.status = status


def _refusal(err: Exception, run_dir: Path) -> str:
    """The one line of a refused run folder, in the command's words."""
    from .training.run_folder import RunExistsError, RunLockedError

    if isinstance(err, RunExistsError):
        info = err.info
        aside = (
            f"`--overwrite` (moves it aside to {run_dir}.old-N; add `--delete-old` to delete it)"
        )
        if info.step is None:
            return (
                f"{run_dir} already holds a run ({info.describe()}) with nothing to resume: "
                f"replace it with {aside}, or pick another --run-dir"
            )
        return (
            f"{run_dir} already holds a run ({info.describe()}): continue it with "
            f"`--resume {run_dir}`, replace it with {aside}, or pick another --run-dir"
        )
    if isinstance(err, RunLockedError):
        return (
            f"{run_dir} is being trained by {err.holder.describe()}: wait for it to finish (or "
            "stop it), or pick another --run-dir"
        )
    return str(err)


def _write_failure(err: WriteError, run_dir: Path) -> str:
    """The one line of an output the disk refused: the file, the space, how to go on."""
    from .training import find_latest
    from .training.run_folder import describe_run

    cure = "free space" if err.no_room else "make it writable"
    latest = find_latest(run_dir)
    if latest is not None:
        step = latest.stem.split("_")[-1].lstrip("0") or "0"
        return (
            f"{err}; the newest complete checkpoint is step {step} ({latest}): {cure}, then "
            f"continue with `cyclegan-ms train --resume {run_dir}`"
        )
    again = " with --overwrite" if describe_run(run_dir) is not None else ""
    return f"{err}; no checkpoint was written: {cure}, then run the command again{again}"


def _cmd_train(args: argparse.Namespace) -> int:
    from .training.experiment import default_run_dir, run_experiment
    from .training.run_folder import Overwrite, RunFolderError
    from .utils.files import WriteError

    if args.delete_old and not args.overwrite:
        raise CommandError("--delete-old goes with --overwrite (it deletes the run replaced)")
    overwrite: Overwrite = "delete" if args.delete_old else bool(args.overwrite)
    if args.config is None and args.resume is None:
        raise CommandError("give a CONFIG (TOML file or preset name) or --resume RUN_DIR")
    run_dir = Path(args.run_dir) if args.run_dir else default_run_dir(args.config, args.resume)
    try:
        result = run_experiment(
            args.config,
            overrides=args.set,
            run_dir=run_dir,
            resume=args.resume,
            overwrite=overwrite,
        )
    except RunFolderError as err:
        raise CommandError(_refusal(err, run_dir), 2) from err
    except WriteError as err:
        raise CommandError(_write_failure(err, run_dir), 1) from err
    state = "interrupted, checkpoint saved" if result.interrupted else "done"
    if result.stopped_on_nan:
        state = "stopped on non-finite losses"
    print(f"{state}: step {result.step}, checkpoint {result.checkpoint}")
    return 0 if not result.stopped_on_nan else 1


def _configure_train(p: argparse.ArgumentParser) -> None:
    p.description = (
        "Train from CONFIG, a TOML file whose tables map onto registry builds "
        "([model], [model.generator], [model.discriminator], [model.weights], [data], "
        "[train], [optim.generator], [optim.discriminator]) or a preset name "
        "(see `cyclegan-ms presets`)."
    )
    p.add_argument(
        "config",
        nargs="?",
        default=None,
        help="TOML file or preset name (seed, cyclegan_paper); may be left out with --resume",
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value, e.g. --set train.steps=100 --set data.image_size=128 "
        "(values parsed as TOML; repeatable)",
    )
    p.add_argument("--run-dir", default=None, help="output folder (default: runs/<config name>)")
    p.add_argument(
        "--resume",
        default=None,
        metavar="RUN_DIR",
        help="continue from the newest checkpoint of RUN_DIR (or a checkpoint file); without "
        "CONFIG the run's stored config is used",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="train a new run into a run folder that holds another one: the old run is moved "
        "aside to RUN_DIR.old-N (without this flag such a folder is refused, unchanged)",
    )
    p.add_argument(
        "--delete-old",
        action="store_true",
        help="with --overwrite: delete the old run instead of moving it aside",
    )


def _configure_list(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "kind", nargs="?", default=None, help="only this kind (generator, discriminator, ...)"
    )
    p.add_argument("--pattern", default="*", help="fnmatch pattern, e.g. 'resnet_*'")


def _configure_presets(p: argparse.ArgumentParser) -> None:
    pass


# --------------------------------------------------------------------------- distill
def _configure_distill(p: argparse.ArgumentParser) -> None:
    p.description = (
        "Distil a trained generator (the teacher) into a smaller, faster one (the student) "
        "trained to reproduce the teacher's output, through the same Trainer; writes "
        "RUN_DIR/student.safetensors, a generator file for translate, export and eval."
    )
    p.add_argument(
        "--teacher",
        required=True,
        metavar="RUN",
        help="teacher run folder, checkpoint or generator file",
    )
    p.add_argument(
        "--student",
        default=None,
        metavar="NAME_OR_TOML",
        help="student generator: a registry name or a TOML generator table (default: the "
        "teacher's architecture at --width)",
    )
    p.add_argument(
        "--width",
        type=int,
        default=None,
        help="student base_width/ngf (default: a quarter of the teacher's, 16x fewer FLOPs)",
    )
    p.add_argument(
        "--night",
        default=None,
        metavar="DIR",
        help="folder of night images to train on (default: the teacher's own training data)",
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value, e.g. --set train.steps=2000 --set train.max_minutes=3 "
        "--set train.budget_clock=cpu --set train.eval_every=500 (repeatable)",
    )
    p.add_argument(
        "--run-dir", default=None, help="output folder (default: runs/<teacher name>_student)"
    )
    p.add_argument("--resume", default=None, metavar="RUN_DIR", help="continue a distillation")
    p.add_argument(
        "--overwrite", action="store_true", help="move a run RUN_DIR holds aside to RUN_DIR.old-N"
    )


def _cmd_distill(args: argparse.Namespace) -> int:
    from .training.distillation import distill
    from .training.run_folder import RunFolderError

    teacher = Path(args.teacher)
    run_dir = Path(args.run_dir) if args.run_dir else Path("runs") / f"{teacher.stem}_student"
    try:
        result = distill(
            teacher,
            student=args.student,
            width=args.width,
            night=args.night,
            run_dir=run_dir,
            overrides=args.set,
            resume=args.resume,
            overwrite=bool(args.overwrite),
        )
    except RunFolderError as err:
        raise CommandError(_refusal(err, run_dir), 2) from err
    n = result.notes
    print(
        f"done: step {result.train.step}; wrote {result.student} (width {n['width']}, "
        f"{n['gflops_256']} GFLOP per 256² image; teacher {n['teacher_gflops_256']})"
    )
    return 0 if not result.train.stopped_on_nan else 1


#: The sub-commands of this module.
COMMANDS: tuple[SubCommand, ...] = (
    SubCommand(
        "train", "train a CycleGAN from a TOML config or preset", _configure_train, _cmd_train
    ),
    SubCommand(
        "distill",
        "distil a trained generator into a smaller, faster student",
        _configure_distill,
        _cmd_distill,
    ),
    SubCommand("list", "list registered parts", _configure_list, _cmd_list),
    SubCommand("presets", "list built-in experiment presets", _configure_presets, _cmd_presets),
)


def _commands() -> list[SubCommand]:
    """The sub-commands of every installed module of :data:`COMMAND_MODULES`, in order."""
    found: list[SubCommand] = []
    for name in COMMAND_MODULES:
        try:
            module = sys.modules[__name__] if name == __name__ else importlib.import_module(name)
        except ModuleNotFoundError as err:
            if err.name != name:
                raise
            continue
        found.extend(module.COMMANDS)
    return found


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for the docs and tests).

    Returns
    -------
    argparse.ArgumentParser
        With one sub-parser per :class:`SubCommand` of :data:`COMMAND_MODULES`.
    """
    parser = argparse.ArgumentParser(
        prog="cyclegan-ms",
        description="Composable CycleGAN parts: train, translate and inspect models.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in _commands():
        p = sub.add_parser(command.name, help=command.help)
        command.configure(p)
        p.set_defaults(func=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``cyclegan-ms`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Any = args.func
    try:
        return int(func(args))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except CommandError as err:
        if os.environ.get("CYCLEGAN_MS_DEBUG"):
            raise
        print(f"cyclegan-ms {args.command}: error: {err}", file=sys.stderr)
        return err.status
    except (ValueError, TypeError, FileNotFoundError) as err:
        # One line naming what was wrong: configuration and input errors are not crashes.
        # CYCLEGAN_MS_DEBUG=1 shows the full traceback instead.
        if os.environ.get("CYCLEGAN_MS_DEBUG"):
            raise
        print(f"cyclegan-ms {args.command}: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        # an output the disk or folder refused (no space, quota, read-only): one line, status 1
        from .utils.files import WriteError

        if not isinstance(err, WriteError) or os.environ.get("CYCLEGAN_MS_DEBUG"):
            raise
        print(f"cyclegan-ms {args.command}: error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    # run the package's module, not this __main__ copy, so that its classes (CommandError, which
    # the sub-commands raise) are the ones main() catches
    from cyclegan_ms.cli import main as _main

    sys.exit(_main())
