"""``cyclegan-ms translate``, ``export``, ``eval`` and ``import`` (listed in :data:`cyclegan_ms.cli.COMMAND_MODULES`).

Usage::

    cyclegan-ms translate --checkpoint CKPT INPUT... --out DIR [--direction a2b|b2a]
                          [--tile N|auto|none] [--overlap N] [--norm-stats global|tile]
    cyclegan-ms translate --checkpoint CKPT clip.mp4 --out clip_day.mp4
                          [--filter-strength S] [--stats-decay D] [--no-temporal]
    cyclegan-ms export --checkpoint CKPT --format onnx|torchscript|safetensors --out FILE
    cyclegan-ms eval --checkpoint CKPT [--scenes N | --inputs DIR --targets DIR | --drives N]
                     [--inception PATH] [--json FILE]
    cyclegan-ms import REF.pth --out FILE [--arch A] [--norm N] [--direction a2b|b2a]
                       [--test-mode eval|train]

``translate`` takes files and folders (searched recursively; hidden files ignored), keeps each
file's name (and its path relative to an input folder) under ``--out``, writes every output
atomically (a temporary file renamed into place), skips unreadable inputs and lists them at the
end; the exit status is 1 when any input was skipped, else 0. Video files (by suffix, see
:data:`~cyclegan_ms.video.VIDEO_EXTENSIONS`) are translated frame by frame into a video of the
same name under ``--out``, or into ``--out`` itself when it has a video suffix and the input is
one clip (:func:`~cyclegan_ms.video.translate_video`, with the temporal flags of
:class:`~cyclegan_ms.video.TemporalOptions`); a single clip that cannot be read is a one-line
error. ``eval`` scores with :mod:`cyclegan_ms.metrics` (its ``--metrics`` are the names of
:data:`~cyclegan_ms.metrics.METRICS`).

The translation flags (``--direction``, ``--ema``, ``--tile``, ``--overlap``, ``--norm-stats``,
``--fixed-size-mode``, ``--batch-size``, ``--device``) are fields of
:class:`~cyclegan_ms.inference.TranslateOptions`: :func:`add_option_flags` declares them with the
fields' defaults and :func:`options_from_args` turns the parsed flags back into options.

This module is the command line of the package's top layer: besides
:mod:`~cyclegan_ms.inference`, it uses :mod:`cyclegan_ms.video` and :mod:`cyclegan_ms.metrics`
(imported when a command runs).
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict, get_args

from .cli import CommandError, SubCommand
from .generators.card import Direction
from .inference.engines import ENGINE_CHOICES
from .inference.options import FIELDS, FixedSizeMode, NormStatsMode, TranslateOptions
from .metrics.names import INCEPTION_METRICS, METRICS
from .utils.files import WriteError, atomic_path, atomic_write_bytes

if TYPE_CHECKING:  # imported when a command runs
    from PIL import Image

    from .inference.translate import Translator
    from .video.temporal import FrameTranslator, TemporalOptions

__all__ = [
    "COMMANDS",
    "add_option_flags",
    "import_recorded_plugins",
    "options_from_args",
    "plan_outputs",
]


#: "fid and kid": the metrics ``--inception`` adds.
_INCEPTION_NAMES = " and ".join(m for m in METRICS if m in INCEPTION_METRICS)


def _tile_arg(text: str) -> int | str | None:
    low = text.strip().lower()
    if low == "auto":
        return "auto"
    if low in ("none", "0", "off"):
        return None
    try:
        value = int(low)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--tile must be a number of pixels, 'auto' or 'none'; got {text!r}"
        ) from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"--tile must be >= 0; got {value}")
    return value


def _border_arg(text: str) -> int | str:
    if text.strip().lower() == "auto":
        return "auto"
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--border must be a number of pixels or 'auto'; got {text!r}"
        ) from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"--border must be >= 0; got {value}")
    return value


class FlagSpec(TypedDict, total=False):
    """The ``argparse`` arguments of one option's flag (its default is the field's)."""

    choices: tuple[str, ...]
    type: Callable[[str], object]
    metavar: str
    help: str


#: How each :class:`TranslateOptions` field appears on the command line (the default comes from
#: the field). ``ema`` is the pair ``--ema``/``--no-ema``; fields not listed have no flag.
_FLAGS: dict[str, FlagSpec] = {
    "direction": {
        "choices": get_args(Direction),
        "help": "a2b (default; night→day for the seed) or b2a",
    },
    "tile": {
        "type": _tile_arg,
        "metavar": "N|auto|none",
        "help": "tile side in pixels for large images; 'auto' (default) tiles images over 4 MP (2560x1600) with 1024-pixel tiles",
    },
    "overlap": {
        "type": int,
        "metavar": "N",
        "help": "overlap of neighbouring tiles in pixels (default: 32, at most a quarter tile)",
    },
    "border": {
        "type": _border_arg,
        "metavar": "N|auto",
        "help": "pixels of reflected context around an image translated in one pass, cropped away after (default auto: twice the generator's size multiple; 0: none)",
    },
    "norm_stats": {
        "choices": get_args(NormStatsMode),
        "help": "tiles normalised with whole-image statistics (global, default) or their own (tile)",
    },
    "fixed_size_mode": {
        "choices": get_args(FixedSizeMode),
        "help": "for fixed-size generators (exact seed_unet): resize to its size (default) or tile",
    },
    "batch_size": {"type": int, "help": "images or tiles per forward pass (default %(default)s)"},
    "device": {"help": "cpu, cuda, cuda:1, ... (default: cuda when available)"},
    "engine": {
        "choices": ENGINE_CHOICES,
        "help": "how the generator runs: eager (default): PyTorch in --precision; auto measures the engines here once, keeps the fastest whose output is within 40 dB PSNR of fp32 PyTorch and caches the choice; or one by name (onnx_int8 trades a stated loss for speed)",
    },
    "precision": {
        "choices": ("auto", "fp32", "bf16"),
        "help": "arithmetic of the forward pass (default %(default)s: bf16 on CPUs with native bf16, else fp32)",
    },
    "work_size": {
        "type": int,
        "metavar": "N",
        "help": "translate images longer than N pixels at a working resolution of at most N (the scale a model trained on small crops knows; far fewer FLOPs) and bring the result back to full size with --upsample (default: every image at its own resolution)",
    },
    "upsample": {
        "choices": ("guided", "bilinear"),
        "help": "with --work-size: guided (default: the model's colours on the photo's own full-resolution detail, a fast guided filter) or bilinear (the small output resized)",
    },
}


def add_option_flags(parser: argparse.ArgumentParser, names: tuple[str, ...]) -> None:
    """Add the flags of the :class:`~cyclegan_ms.inference.TranslateOptions` fields ``names``.

    Parameters
    ----------
    parser
        The sub-command's parser.
    names
        Field names, in the order the flags are listed (``"ema"`` adds ``--ema``/``--no-ema``).

    Raises
    ------
    KeyError
        For a field that has no flag.
    """
    defaults = {f.name: f.default for f in dataclasses.fields(TranslateOptions)}
    for name in names:
        if name == "ema":
            g = parser.add_mutually_exclusive_group()
            g.add_argument(
                "--ema",
                dest="ema",
                action="store_true",
                default=defaults["ema"],
                help="use EMA weights (error if absent)",
            )
            g.add_argument(
                "--no-ema",
                dest="ema",
                action="store_false",
                help="use the raw weights even if EMA ones exist",
            )
            continue
        parser.add_argument(f"--{name.replace('_', '-')}", default=defaults[name], **_FLAGS[name])


def options_from_args(args: argparse.Namespace, *, progress: bool = False) -> TranslateOptions:
    """The :class:`~cyclegan_ms.inference.TranslateOptions` the parsed flags describe.

    ``--device`` left out means ``cuda`` when available, else ``cpu``.

    Raises
    ------
    ValueError
        For a value out of range (e.g. ``--batch-size 0``).
    """
    given = {name: value for name, value in vars(args).items() if name in FIELDS}
    given["device"] = _device(given.get("device"))
    return TranslateOptions(**given, progress=progress)


def _common(p: argparse.ArgumentParser, *, direction: bool = True) -> None:
    p.add_argument(
        "--checkpoint",
        required=True,
        metavar="CKPT",
        help="run folder (newest checkpoint), trainer checkpoint or generator file (.safetensors), "
        "or, for translate and eval, an exported .onnx (run by ONNX Runtime) or TorchScript "
        ".pt/.ts file",
    )
    add_option_flags(p, ("direction", "ema") if direction else ("ema",))


def _tiling(p: argparse.ArgumentParser) -> None:
    add_option_flags(
        p,
        (
            "tile",
            "overlap",
            "border",
            "norm_stats",
            "fixed_size_mode",
            "batch_size",
            "device",
            "precision",
            "work_size",
            "upsample",
        ),
    )


def _temporal(p: argparse.ArgumentParser) -> None:
    from .video.temporal import TemporalOptions

    d = TemporalOptions()
    g = p.add_argument_group("video: temporal stability (see cyclegan_ms.video.temporal)")
    g.add_argument(
        "--stats-decay",
        type=float,
        default=d.stats_decay,
        metavar="D",
        help="moving average of normalisation statistics over frames, weight of the past in [0, 1) (default %(default)s: off)",
    )
    g.add_argument(
        "--filter-strength",
        type=float,
        default=d.filter_strength,
        metavar="S",
        help="temporal filter: largest weight of the previous output where the input barely changed, in [0, 1) (default %(default)s; 0: off)",
    )
    g.add_argument(
        "--filter-threshold",
        type=float,
        default=d.filter_threshold,
        metavar="T",
        help="input change (0..1) from which the new output passes unfiltered (default %(default)s)",
    )
    g.add_argument(
        "--no-temporal",
        action="store_true",
        help="translate every frame on its own (no average, no filter)",
    )


def _temporal_from_args(args: argparse.Namespace) -> TemporalOptions:
    from .video.temporal import TemporalOptions

    if args.no_temporal:
        return TemporalOptions.off()
    return TemporalOptions(
        stats_decay=args.stats_decay,
        filter_strength=args.filter_strength,
        filter_threshold=args.filter_threshold,
    )


def _device(arg: str | None) -> str:
    if arg:
        return arg
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def import_recorded_plugins(
    checkpoint: str | os.PathLike[str], *, given: bool = False
) -> list[str]:
    """Import the plugins a run recorded (``plugins`` of its ``config.json``): the modules of
    its own parts, so ``translate``/``export``/``eval`` of its folder need no ``--import``.

    Parameters
    ----------
    checkpoint
        A run folder or one of its checkpoint files (anything else records nothing).
    given
        The user gave ``--import``: a recorded plugin that cannot be imported is then left out
        (the modules given may register the same parts) instead of an error.

    Returns
    -------
    list[str]
        The modules imported.

    Raises
    ------
    CommandError
        A recorded plugin cannot be imported here (status 2; the line names the run and how to
        give the module).
    """
    from .registry import PluginError, import_plugins
    from .training.run_folder import run_folder_of

    path = Path(checkpoint)
    if not path.exists():
        return []
    config = run_folder_of(path) / "config.json"
    try:
        recorded = json.loads(config.read_text()).get("plugins") or []
    except (OSError, ValueError, AttributeError):
        return []
    imported: list[str] = []
    for spec in recorded:
        try:
            imported += import_plugins([str(spec)])
        except PluginError as err:
            if given:
                continue
            raise CommandError(
                f"{err} (recorded in {config}: the run's own parts are registered there); run "
                "the command where that module can be imported, or give it with --import "
                "MODULE_OR_FILE"
            ) from err
    return imported


#: What ``--checkpoint`` accepts, for the line that refuses anything else.
_ACCEPTED = (
    "a run folder, a trainer checkpoint or generator file (.safetensors), or an exported "
    "ONNX (.onnx) or TorchScript (.pt, .ts) file"
)


def _translator(args: argparse.Namespace, progress: bool) -> Translator:
    from .inference.export import EXPORTED_SUFFIXES, ExportedGenerator
    from .inference.translate import Translator

    path = Path(args.checkpoint)
    options = options_from_args(args, progress=progress)
    if path.is_file() and path.suffix.lower() in EXPORTED_SUFFIXES:
        if args.ema is True:
            raise CommandError(f"--ema: {path} is an exported file; it holds one set of weights")
        return Translator(ExportedGenerator(path, direction=args.direction), options)
    if path.is_file() and path.suffix.lower() != ".safetensors":
        raise CommandError(f"--checkpoint {path}: not a file translate reads; give {_ACCEPTED}")
    import_recorded_plugins(args.checkpoint, given=bool(args.imports))
    return Translator(args.checkpoint, options)


# --------------------------------------------------------------------------- translate
def plan_outputs(
    inputs: list[str],
    out: str | os.PathLike[str],
    *,
    recursive: bool = True,
    ext: str | None = None,
) -> tuple[list[tuple[Path, Path]], list[str]]:
    """Map input files and folders to output files, keeping names.

    Parameters
    ----------
    inputs
        Files and folders.
    out
        Output folder.
    recursive
        Search folders recursively (relative paths are kept under ``out``).
    ext
        Replace every output's extension (e.g. ``".png"``); ``None`` keeps it.

    Returns
    -------
    tuple
        ``[(input file, output file), ...]`` and ``["path (reason)", ...]`` for inputs that do
        not exist.

    Raises
    ------
    ValueError
        If ``out`` is an existing file, two inputs would be written to the same output, or an
        output would overwrite its input.
    """
    from .data.images import IMAGE_EXTENSIONS, find_images

    root = Path(out)
    if root.exists() and not root.is_dir():
        raise ValueError(
            f"--out {root} is a file; --out names the folder the translations are written into"
        )
    jobs: list[tuple[Path, Path]] = []
    missing: list[str] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            for f in find_images(p, recursive=recursive):
                jobs.append((f, root / f.relative_to(p)))
        elif p.is_file():
            jobs.append((p, root / p.name))
        else:
            missing.append(f"{p} (not found)")
    if ext is not None:
        suffix = ext if ext.startswith(".") else f".{ext}"
        if suffix.lower() not in IMAGE_EXTENSIONS:
            raise ValueError(f"--ext must be one of {', '.join(IMAGE_EXTENSIONS)}; got {ext!r}")
        jobs = [(src, dst.with_suffix(suffix)) for src, dst in jobs]
    seen: dict[Path, Path] = {}
    for src, dst in jobs:
        key = dst.resolve()
        if key == src.resolve():
            raise ValueError(
                f"writing {dst} would overwrite its input; choose another --out folder"
            )
        if key in seen:
            raise ValueError(
                f"{seen[key]} and {src} would both be written to {dst}; translate them into "
                "separate --out folders"
            )
        seen[key] = src
    return jobs, missing


def _save_atomic(image: Image.Image, path: Path) -> None:
    from PIL import Image

    fmt = Image.registered_extensions().get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"cannot write images with extension {path.suffix!r}")
    options: dict[str, int] = {"quality": 95} if fmt in ("JPEG", "WEBP") else {}
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    atomic_write_bytes(path, buffer.getvalue())  # a refusal of the disk: WriteError, with the size


def _configure_translate(p: argparse.ArgumentParser) -> None:
    p.description = (
        "Translate image files and folders with a trained generator. Output files keep their "
        "names (and sub-folders) under --out; unreadable inputs are skipped and listed; exit "
        "status 1 if any was skipped."
    )
    p.add_argument(
        "inputs", nargs="+", metavar="INPUT", help="image files or folders, or video files"
    )
    p.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help="output folder (or, for one video, the output video file)",
    )
    _common(p)
    _tiling(p)
    _engine_flag(p)
    _temporal(p)
    p.add_argument(
        "--codec",
        default=None,
        help="video encoder (default by the output's suffix: libx264, libvpx-vp9 for .webm, mpeg4 for .avi)",
    )
    p.add_argument(
        "--crf",
        type=int,
        default=None,
        help="constant rate factor of libx264/libvpx-vp9 (default 18)",
    )
    p.add_argument("--no-audio", action="store_true", help="do not copy the audio stream of videos")
    p.add_argument(
        "--ext", default=None, help="write this format instead of each input's (e.g. png)"
    )
    p.add_argument("--skip-existing", action="store_true", help="leave outputs that already exist")
    p.add_argument("--no-recursive", action="store_true", help="do not search sub-folders")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _engine_flag(p: argparse.ArgumentParser) -> None:
    """``--engine`` (default ``eager``, as in Python: ``auto`` loads every runtime installed,
    ONNX Runtime and OpenVINO among them, into the process and measures them; a process that
    forks afterwards (data-loader workers) crashed with OpenVINO loaded), and its choice said
    on stderr when it is made."""
    add_option_flags(p, ("engine",))


def _say_engine_choice() -> None:
    """Print the engine choice of :mod:`~cyclegan_ms.inference.engines` (logged at INFO) to
    stderr, once per process."""
    import logging

    log = logging.getLogger("cyclegan_ms.inference.engines")
    if not any(getattr(h, "cyclegan_ms_cli", False) for h in log.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler.cyclegan_ms_cli = True  # type: ignore[attr-defined]
        log.addHandler(handler)
        log.setLevel(logging.INFO)


def _video_jobs(args: argparse.Namespace) -> tuple[list[tuple[Path, Path]], list[str]]:
    """Split the inputs into video jobs ``[(clip, output clip)]`` and the other inputs."""
    from .video.files import is_video_path

    videos = [Path(p) for p in args.inputs if is_video_path(p) and Path(p).is_file()]
    others = [p for p in args.inputs if not (is_video_path(p) and Path(p).is_file())]
    if is_video_path(args.out):
        if len(videos) != 1 or others:
            raise ValueError(
                f"--out {args.out} is a video file: give exactly one input video (or a folder as "
                "--out for several inputs)"
            )
        return [(videos[0], Path(args.out))], []
    return [(v, Path(args.out) / v.name) for v in videos], others


def _run_videos(
    args: argparse.Namespace,
    jobs: list[tuple[Path, Path]],
    translator: Translator,
    skipped: list[str],
) -> int:
    from .video.files import VideoError, translate_video
    from .video.temporal import FrameTranslator

    frames = FrameTranslator(translator, temporal=_temporal_from_args(args))
    done = 0
    for src, dst in jobs:
        if args.skip_existing and dst.exists():
            continue
        try:
            info = translate_video(
                frames,
                src,
                dst,
                codec=args.codec,
                crf=args.crf,
                audio=not args.no_audio,
                progress=not args.no_progress,
            )
        except (VideoError, FileNotFoundError) as err:
            if len(jobs) == 1 and len(args.inputs) == 1:
                raise  # one clip: a one-line error
            skipped.append(f"{src} ({err})")
            continue
        except WriteError as err:  # the disk is full: the next clips would fail the same way
            raise CommandError(_stopped(err, done, len(jobs), "clip"), 1) from err
        done += 1
        audio = ", audio copied" if info.audio else ""
        print(
            f"wrote {dst}: {info.frames} frames, {info.width}×{info.height} at {float(info.fps):g} fps{audio}"
        )
    return done


def _stopped(err: WriteError, done: int, total: int, what: str) -> str:
    """The one line of a translation the disk stopped: the file, the space, how to go on."""
    cure = "free space" if err.no_room else "make it writable"
    kept = f"the {done} of {total} {what}(s) written before it are complete; " if done else ""
    again = " with --skip-existing" if total > 1 else ""
    return f"{err}; {kept}no partial file is left: {cure}, then run the command again{again}"


def _run_translate(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from .data.images import load_image

    video_jobs, image_inputs = _video_jobs(args)
    skipped: list[str] = []
    _say_engine_choice()
    translator = _translator(args, progress=not args.no_progress)
    if video_jobs:
        _run_videos(args, video_jobs, translator, skipped)
    if not image_inputs:
        if skipped:
            print(f"skipped {len(skipped)} input(s):", file=sys.stderr)
            for line in skipped:
                print(f"  {line}", file=sys.stderr)
            return 1
        return 0
    jobs, missing = plan_outputs(
        image_inputs, args.out, recursive=not args.no_recursive, ext=args.ext
    )
    skipped += missing
    channels = 1 if translator.in_channels == 1 else 3
    done = 0
    bar = tqdm(jobs, desc="translate", unit="img", disable=True if args.no_progress else None)
    for src, dst in bar:
        if args.skip_existing and dst.exists():
            continue
        try:
            image = load_image(src, channels=channels)
        except Exception as err:  # unreadable: report and go on
            skipped.append(f"{src} ({type(err).__name__}: {err})")
            continue
        try:
            result = translator(image)
            _save_atomic(result, dst)
        except WriteError as err:  # the disk is full: the next images would fail the same way
            raise CommandError(_stopped(err, done, len(jobs), "image"), 1) from err
        except (RuntimeError, ValueError, OSError) as err:
            skipped.append(f"{src} ({type(err).__name__}: {err})")
            continue
        done += 1
    print(f"translated {done} image(s) into {args.out}")
    if skipped:
        print(f"skipped {len(skipped)} input(s):", file=sys.stderr)
        for line in skipped:
            print(f"  {line}", file=sys.stderr)
        return 1
    return 0


# --------------------------------------------------------------------------- export
def _configure_export(p: argparse.ArgumentParser) -> None:
    p.description = (
        "Export one generator with dynamic batch, height and width (inputs in the model's data "
        "range, recorded in the file)."
    )
    _common(p)
    p.add_argument(
        "--format",
        choices=("onnx", "torchscript", "safetensors"),
        default=None,
        help="default: from --out's suffix (.onnx, .pt, .safetensors)",
    )
    p.add_argument("--out", required=True, metavar="FILE", help="output file")
    p.add_argument("--opset", type=int, default=None, help="ONNX opset (default: the exporter's)")
    p.add_argument(
        "--no-verify",
        action="store_true",
        help="do not check the exported network against the PyTorch fp32 forward (by default it "
        "is run on a random odd-sized input and its largest difference held to 1e-3 of the data "
        "range: pass, or FAIL and exit status 1)",
    )


def _run_export(args: argparse.Namespace) -> int:
    from .inference.export import EXPORTED_SUFFIXES, check_export, export

    source = Path(args.checkpoint)
    if source.is_file() and source.suffix.lower() in EXPORTED_SUFFIXES:
        raise CommandError(
            f"--checkpoint {source} is already an exported network; export reads a run folder, "
            "a trainer checkpoint or a generator file (.safetensors)"
        )
    import_recorded_plugins(args.checkpoint, given=bool(args.imports))
    path = export(
        args.checkpoint,
        args.out,
        format=args.format,
        direction=args.direction,
        ema=args.ema,
        opset=args.opset,
    )
    print(f"wrote {path}")
    if args.no_verify:
        return 0
    check = check_export(path, args.checkpoint, direction=args.direction, ema=args.ema)
    if check is None:
        print("not checked (onnxruntime is not installed: pip install 'cyclegan-ms[export]')")
        return 0
    print(check.describe())
    if not check.passed:
        print(
            f"cyclegan-ms export: error: {path} does not compute what the PyTorch generator "
            "computes (see the check above); the file was written, but do not use it",
            file=sys.stderr,
        )
        return 1
    return 0


# --------------------------------------------------------------------------- eval
def _configure_eval(p: argparse.ArgumentParser) -> None:
    p.description = (
        "Score translations against ground truth: PSNR/SSIM (and FID/KID with --inception) on the "
        "built-in night/day scenes' held-out pairs (default) or on aligned folders; with --drives, "
        "PSNR/SSIM and the temporal error of translated clips (built-in drives)."
    )
    _common(p)
    src = p.add_argument_group("data (default: the built-in scenes)")
    src.add_argument(
        "--scenes",
        type=int,
        default=100,
        metavar="N",
        help="number of held-out scene pairs (default 100)",
    )
    src.add_argument("--size", type=int, default=256, help="scene side in pixels (default 256)")
    src.add_argument(
        "--inputs",
        default=None,
        metavar="DIR",
        help="folder of inputs (aligned with --targets by name)",
    )
    src.add_argument(
        "--targets", default=None, metavar="DIR", help="folder of ground-truth outputs"
    )
    src.add_argument(
        "--drives",
        type=int,
        default=None,
        metavar="N",
        help="score N built-in drives (clips) instead: PSNR/SSIM per frame and the temporal error",
    )
    src.add_argument(
        "--frames", type=int, default=16, metavar="F", help="frames per drive (default 16)"
    )
    p.add_argument(
        "--metrics",
        default="psnr,ssim",
        help=f"comma-separated: {', '.join(METRICS)} ({_INCEPTION_NAMES} are added with --inception)",
    )
    p.add_argument(
        "--inception",
        default=None,
        metavar="PATH",
        help="TorchScript InceptionV3 for FID/KID (or set CYCLEGAN_MS_INCEPTION); nothing is downloaded",
    )
    p.add_argument("--json", default=None, metavar="FILE", help="also write the results as JSON")
    _tiling(p)
    _temporal(p)
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _run_eval_drives(args: argparse.Namespace) -> int:
    from .data.scenes.drives import drive_pairs
    from .metrics.drives import evaluate_drives

    if args.inputs is not None or args.targets is not None:
        raise ValueError("--drives scores the built-in drives; it does not take --inputs/--targets")
    translator = _translator(args, progress=False)
    temporal = _temporal_from_args(args)
    clips = drive_pairs(
        args.drives,
        frames=args.frames,
        size=args.size,
        direction=args.direction,
        value_range=translator.value_range,
    )
    result = evaluate_drives(_frames(translator, temporal), clips, progress=not args.no_progress)
    summary = result.summary()
    source = f"{args.drives} built-in drives of {args.frames} frames at {args.size}px"
    print(f"{args.direction} on {source}:")
    for key, value in summary.items():
        print(f"  {key:<21} {value:.4f}" if isinstance(value, float) else f"  {key:<21} {value}")
    if args.json:
        payload = {
            "direction": args.direction,
            "source": source,
            "temporal": dataclasses.asdict(temporal),
            **summary,
        }
        with atomic_path(args.json) as tmp:
            tmp.write_text(json.dumps(payload, indent=2) + "\n")
    return 0


def _frames(translator: Translator, temporal: TemporalOptions) -> FrameTranslator:
    from .video.temporal import FrameTranslator

    return FrameTranslator(translator, temporal=temporal)


def _run_eval(args: argparse.Namespace) -> int:
    from .data.pairs import folder_pairs, scene_pairs
    from .metrics.evaluation import evaluate
    from .metrics.fid import find_inception_weights

    if args.drives is not None:
        return _run_eval_drives(args)
    metrics = [m.strip() for m in args.metrics.split(",") if m.strip()]
    translator = _translator(args, progress=False)
    skipped: list[str] = []
    if (args.inputs is None) != (args.targets is None):
        raise ValueError(
            "--inputs and --targets go together (aligned folders matched by file name)"
        )
    if args.inputs is not None:
        pairs = folder_pairs(
            args.inputs,
            args.targets,
            value_range=translator.value_range,
            channels=1 if translator.in_channels == 1 else 3,
            skipped=skipped,
        )
        source = f"{args.inputs} vs {args.targets}"
    else:
        pairs = scene_pairs(
            args.scenes,
            size=args.size,
            direction=args.direction,
            value_range=translator.value_range,
        )
        source = f"{args.scenes} built-in scene pairs at {args.size}px"
    inception = args.inception
    if inception is None and INCEPTION_METRICS & set(metrics):
        inception = find_inception_weights()  # the environment's, or an error saying where
    result = evaluate(
        translator,
        pairs,
        metrics=metrics,
        inception=inception,
        batch_size=args.batch_size,
        progress=not args.no_progress,
    )
    summary = result.summary()
    print(f"{args.direction} on {source}:")
    for key, value in summary.items():
        print(f"  {key:<11} {value:.4f}" if isinstance(value, float) else f"  {key:<11} {value}")
    if args.json:
        payload = {"direction": args.direction, "source": source, **summary, "skipped": skipped}
        with atomic_path(args.json) as tmp:
            tmp.write_text(json.dumps(payload, indent=2) + "\n")
    if skipped:
        print(f"skipped {len(skipped)} input(s):", file=sys.stderr)
        for line in skipped:
            print(f"  {line}", file=sys.stderr)
    return 0


# --------------------------------------------------------------------------- import
def _configure_import(p: argparse.ArgumentParser) -> None:
    p.description = (
        "Turn a generator checkpoint of the reference CycleGAN/pix2pix implementation "
        "(junyanz/pytorch-CycleGAN-and-pix2pix: latest_net_G_A.pth, latest_net_G.pth, ...) into a "
        "generator file that translate, export and eval take. The architecture and norm are "
        "detected from the tensors unless given; data range (-1, 1)."
    )
    p.add_argument("reference", metavar="REF.pth", help="the reference's saved state_dict")
    p.add_argument("--out", required=True, metavar="FILE", help="the generator file to write")
    p.add_argument(
        "--arch",
        choices=("resnet_9blocks", "resnet_6blocks", "unet_256", "unet_128"),
        default=None,
        help="the reference's --netG (default: detected)",
    )
    p.add_argument(
        "--norm",
        choices=("instance", "batch", "none"),
        default=None,
        help="the reference's --norm (default: detected)",
    )
    p.add_argument(
        "--dropout",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="trained with dropout (the reference without --no_dropout); default: detected for "
        "resnet_*, on for unet_* (pix2pix); matters only with --test-mode train",
    )
    p.add_argument(
        "--direction",
        choices=("a2b", "b2a"),
        default=None,
        help="what it translates (default: b2a for *G_B.pth, else a2b)",
    )
    p.add_argument(
        "--test-mode",
        choices=("eval", "train"),
        default="eval",
        help="eval: as the reference's test.py --eval; train: as test.py without --eval, the "
        "pix2pix default (each image normalised with its own statistics, dropout on)",
    )


def _run_import(args: argparse.Namespace) -> int:
    from .generators import card_of
    from .inference.reference import detect_reference, import_reference, read_reference_state
    from .inference.source import save_generator

    spec = None if args.arch is not None else detect_reference(read_reference_state(args.reference))
    if spec is not None and not spec.is_generator:
        raise ValueError(
            f"{args.reference} holds a {spec.arch} discriminator; "
            "cyclegan-ms import writes generator files (import discriminators in Python with "
            "cyclegan_ms.import_reference)"
        )
    generator = import_reference(
        args.reference,
        arch=args.arch,
        norm=args.norm,
        use_dropout=args.dropout,
        direction=args.direction,
        test_mode=args.test_mode,
    )
    card = card_of(generator)
    path = save_generator(
        generator,
        args.out,
        value_range=card.value_range,
        direction=card.direction,
        source=card.source,
    )
    print(f"{card.source}; {card.direction}")
    print(f"wrote {path}")
    return 0


def _one_line_import_errors(
    run: Callable[[argparse.Namespace], int],
) -> Callable[[argparse.Namespace], int]:
    """A missing optional extra (onnx, torchmetrics) is a usage error: one line, status 2."""

    def wrapped(args: argparse.Namespace) -> int:
        try:
            return int(run(args))
        except ImportError as err:
            print(f"cyclegan-ms {args.command}: error: {err}", file=sys.stderr)
            return 2

    return wrapped


#: The sub-commands of this module, added by :func:`cyclegan_ms.cli.build_parser`.
COMMANDS: tuple[SubCommand, ...] = (
    SubCommand(
        "translate",
        "translate images, folders and videos with a trained generator",
        _configure_translate,
        _one_line_import_errors(_run_translate),
    ),
    SubCommand(
        "export",
        "export a generator to ONNX, TorchScript or safetensors",
        _configure_export,
        _one_line_import_errors(_run_export),
    ),
    SubCommand(
        "eval",
        "PSNR/SSIM (and FID/KID) against ground truth",
        _configure_eval,
        _one_line_import_errors(_run_eval),
    ),
    SubCommand(
        "import",
        "turn a checkpoint of the reference CycleGAN/pix2pix code into a generator file",
        _configure_import,
        _run_import,
    ),
)
