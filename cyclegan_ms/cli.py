"""The ``cyclegan-ms`` command line.

Usage::

    cyclegan-ms train CONFIG [--set key=value ...] [--run-dir DIR] [--resume RUN_DIR] [--overwrite]
                         [--init-from RUN_OR_CKPT]
    cyclegan-ms translate --checkpoint CKPT INPUT... --out DIR [--direction] [--tile N]
    cyclegan-ms export --checkpoint CKPT --format onnx|torchscript|safetensors --out FILE
    cyclegan-ms eval --checkpoint CKPT [--scenes N | --inputs DIR --targets DIR]
    cyclegan-ms list [KIND] [--pattern GLOB]
    cyclegan-ms presets

CONFIG is a TOML file or a built-in preset name (``cyclegan-ms presets`` lists them). Every
sub-command takes ``--import MODULE_OR_FILE`` (repeatable): modules that register parts of your
own. Bad input gives one line on stderr naming the key and what is accepted, and exit status 2;
so does a refused run folder (it holds another run, or another process trains into it), which is
left unchanged. An output the disk refuses (full, over quota, read-only) gives one line naming
the file, the space needed and how to continue, and exit status 1.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .utils.files import WriteError

__all__ = [
    "COMMAND_MODULES",
    "CommandError",
    "SubCommand",
    "add_import_flag",
    "build_parser",
    "main",
    "state_dict_error",
    "summary_line",
    "unknown_part_hint",
]

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


_ROLE = re.compile(r":[a-z]+:`~?(?:[^`<]*<)?([^`>]+)>?`")


def summary_line(doc: str | None) -> str:
    """The first sentence of a docstring, as plain text for a terminal.

    reST roles become their target's last name (``:class:`~cyclegan_ms.X``` → ``X``), double
    back-quotes are dropped, and the sentence is whole, however many lines it spans.

    >>> summary_line(":class:`~cyclegan_ms.generators.Generator` for ``(B, C, H, W)`` images. More.")
    'Generator for (B, C, H, W) images.'
    """
    paragraph = " ".join((doc or "").strip().split("\n\n", 1)[0].split())
    paragraph = _ROLE.sub(lambda m: m.group(1).rsplit(".", 1)[-1], paragraph)
    paragraph = paragraph.replace("``", "")
    match = re.search(r"\.(\s+)(?=[A-Z(])", paragraph)
    return paragraph[: match.start() + 1] if match else paragraph


def _cmd_list(args: argparse.Namespace) -> int:
    from . import registry

    kinds = [args.kind] if args.kind else list(registry.kinds())
    shown = 0
    for kind in kinds:
        names = registry.available(kind, args.pattern)
        if not names and (args.pattern != "*" or not args.kind):
            continue  # only the kinds that have a match
        print(f"{kind}:")
        for name in names:
            print(f"  {name:<22} {summary_line(registry.get(kind, name).__doc__)}")
        shown += len(names)
    if not shown:
        where = f"{args.kind} " if args.kind else ""
        print(f"no registered {where}part matches {args.pattern!r}", file=sys.stderr)
        return 1
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
    if args.init_from is not None and args.resume is not None:
        raise CommandError(
            "--init-from starts a new run from another run's weights and --resume continues a "
            "run: give one of them"
        )
    if args.config is None and args.resume is None and args.init_from is None:
        raise CommandError(
            "give a CONFIG (TOML file or preset name), --resume RUN_DIR or --init-from RUN_DIR"
        )
    if args.config is None and args.init_from is not None and args.run_dir is None:
        raise CommandError(
            "--init-from without CONFIG reuses the source run's config: give the new run's "
            "folder with --run-dir"
        )
    run_dir = Path(args.run_dir) if args.run_dir else default_run_dir(args.config, args.resume)
    try:
        result = run_experiment(
            args.config,
            overrides=args.set,
            run_dir=run_dir,
            resume=args.resume,
            overwrite=overwrite,
            init_from=args.init_from,
        )
    except RunFolderError as err:
        raise CommandError(_refusal(err, run_dir), 2) from err
    except WriteError as err:
        raise CommandError(_write_failure(err, run_dir), 1) from err
    state = "interrupted, checkpoint saved" if result.interrupted else "done"
    if result.stopped_on_nan:
        state = "stopped on non-finite losses"
    elif not result.last_losses and not result.interrupted:  # not one step was taken
        print(
            f"nothing to do: the run is already at step {result.step} and train.steps is the "
            f"run's total; to train on, raise it (e.g. --set train.steps={2 * result.step})"
        )
    print(f"{state}: step {result.step}, checkpoint {result.checkpoint}")
    return 0 if not result.stopped_on_nan else 1


def _configure_train(p: argparse.ArgumentParser) -> None:
    from .training.config import presets

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
        help=f"TOML file or preset name ({', '.join(presets())}); may be left out with "
        "--resume or --init-from",
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
        "--init-from",
        default=None,
        metavar="RUN_OR_CKPT",
        help="fine-tune: start a NEW run from the weights of RUN_OR_CKPT (a run folder or "
        "checkpoint file): generators and discriminators (train.init_parts), EMA from the "
        "source's (train.init_ema); fresh optimisers, step and data order. Without CONFIG the "
        "source's config is used (give --run-dir)",
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
        add_import_flag(p)
        p.set_defaults(func=command.run)
    return parser


def add_import_flag(parser: argparse.ArgumentParser) -> None:
    """Add ``--import MODULE_OR_FILE`` (repeatable) to a sub-command: :func:`main` imports those
    modules (and the installed plugins) before the command runs, so parts they register work."""
    parser.add_argument(
        "--import",
        dest="imports",
        action="append",
        default=[],
        metavar="MODULE_OR_FILE",
        help="import a module (by name, from the installed packages or the current folder) or "
        "a .py file that registers parts of your own, before running (repeatable); a run "
        "records them, so --resume, translate, export and eval of its folder import them again",
    )


def unknown_part_hint(err: BaseException) -> str:
    """What to add to an error caused by an unknown registry name: how to import one's parts
    (empty for other errors)."""
    from .registry import UnknownPartError

    seen: BaseException | None = err
    while seen is not None and not isinstance(seen, UnknownPartError):
        seen = seen.__cause__ or seen.__context__
    if seen is None:
        return ""
    return (
        f"; if {seen.name!r} is a {seen.kind} of your own, import the module that registers it: "
        "--import MODULE_OR_FILE (or plugins = [...] in the config)"
    )


def state_dict_error(err: BaseException) -> str | None:
    """One line for ``load_state_dict``'s many-line error (a checkpoint that does not fit the
    model its config builds: the first difference), or ``None`` for another error."""
    text = str(err)
    if not isinstance(err, RuntimeError) or not text.startswith("Error(s) in loading state_dict"):
        return None
    details = [line.strip() for line in text.splitlines()[1:] if line.strip()]
    first = details[0] if details else text.splitlines()[0]
    extra = " (and more)" if len(details) > 1 else ""
    return (
        f"the checkpoint's weights do not fit the model its config builds: {first.rstrip('.')}"
        f"{extra}; were the parts it names changed since it was trained (a plugin's defaults)?"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``cyclegan-ms`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Any = args.func
    try:
        from .registry import PluginError, import_plugins, load_entry_points

        load_entry_points()
        import_plugins(args.imports)
    except PluginError as err:
        if os.environ.get("CYCLEGAN_MS_DEBUG"):
            raise
        print(f"cyclegan-ms {args.command}: error: {err}", file=sys.stderr)
        return 2
    import warnings

    def one_line(message: Warning | str, category: type[Warning], *_: object, **__: object) -> str:
        # a warning to a terminal user: what happened, not the library's source line
        return f"cyclegan-ms {args.command}: warning: {message}\n"

    formatwarning = warnings.formatwarning
    warnings.formatwarning = one_line
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
    except (ValueError, TypeError, FileNotFoundError, ImportError) as err:
        # One line naming what was wrong: configuration and input errors are not crashes.
        # CYCLEGAN_MS_DEBUG=1 shows the full traceback instead.
        if os.environ.get("CYCLEGAN_MS_DEBUG") or (
            isinstance(err, ImportError) and not isinstance(err, PluginError)
        ):
            raise
        print(f"cyclegan-ms {args.command}: error: {err}{unknown_part_hint(err)}", file=sys.stderr)
        return 2
    except RuntimeError as err:
        line = state_dict_error(err)
        if line is None or os.environ.get("CYCLEGAN_MS_DEBUG"):
            raise
        print(f"cyclegan-ms {args.command}: error: {line}", file=sys.stderr)
        return 2
    except OSError as err:
        # an output the disk or folder refused (no space, quota, read-only): one line, status 1
        from .utils.files import WriteError

        if not isinstance(err, WriteError) or os.environ.get("CYCLEGAN_MS_DEBUG"):
            raise
        print(f"cyclegan-ms {args.command}: error: {err}", file=sys.stderr)
        return 1
    finally:
        warnings.formatwarning = formatwarning


if __name__ == "__main__":  # pragma: no cover
    # run the package's module, not this __main__ copy, so that its classes (CommandError, which
    # the sub-commands raise) are the ones main() catches
    from cyclegan_ms.cli import main as _main

    sys.exit(_main())
