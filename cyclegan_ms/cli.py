"""The ``cyclegan-ms`` command line.

    cyclegan-ms train CONFIG [--set key=value ...] [--run-dir DIR] [--resume RUN_DIR]
    cyclegan-ms translate --checkpoint CKPT INPUT... --out DIR [--direction] [--tile N]
    cyclegan-ms export --checkpoint CKPT --format onnx|torchscript|safetensors --out FILE
    cyclegan-ms eval --checkpoint CKPT [--scenes N | --inputs DIR --targets DIR]
    cyclegan-ms list [KIND] [--pattern GLOB]
    cyclegan-ms presets

CONFIG is a TOML file or a built-in preset name (``seed``, ``cyclegan_paper``). Bad input gives
one line on stderr naming the key and what is accepted, and exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["COMMAND_MODULES", "SubCommand", "build_parser", "main"]

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


def _cmd_train(args: argparse.Namespace) -> int:
    from .training.experiment import run_experiment

    result = run_experiment(
        args.config,
        overrides=args.set,
        run_dir=args.run_dir,
        resume=args.resume,
    )
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


def _configure_list(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "kind", nargs="?", default=None, help="only this kind (generator, discriminator, ...)"
    )
    p.add_argument("--pattern", default="*", help="fnmatch pattern, e.g. 'resnet_*'")


def _configure_presets(p: argparse.ArgumentParser) -> None:
    pass


#: The sub-commands of this module.
COMMANDS: tuple[SubCommand, ...] = (
    SubCommand(
        "train", "train a CycleGAN from a TOML config or preset", _configure_train, _cmd_train
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
    except (ValueError, TypeError, FileNotFoundError) as err:
        # One line naming what was wrong: configuration and input errors are not crashes.
        # CYCLEGAN_MS_DEBUG=1 shows the full traceback instead.
        if os.environ.get("CYCLEGAN_MS_DEBUG"):
            raise
        print(f"cyclegan-ms {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
