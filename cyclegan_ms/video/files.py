"""Translate video files frame by frame, streaming, without flicker.

.. code-block:: python

    translate_video("runs/night_to_day", "dashcam_night.mp4", "dashcam_day.mp4")

What users translating clips can rely on:

* **Any common file** that FFmpeg reads (mp4, mov, mkv, avi, webm, ...) through PyAV (the
  ``video`` extra: ``pip install 'cyclegan-ms[video]'``). The output's container follows its
  suffix; its video codec is H.264 (``.mp4``, ``.mov``, ``.mkv``, ``.m4v``), VP9 (``.webm``) or
  MPEG-4 Part 2 (``.avi``) unless ``codec`` says otherwise.
* **Streaming**: frames are decoded, translated and encoded one at a time, so memory does not
  grow with the clip's length.
* **Same frame rate, size and timing**: every output frame keeps its input frame's time, on the
  grid of the clip's average frame rate (exact for constant-rate clips, as dash cams record).
* **Audio is copied** packet by packet (no re-encoding) when the input has an audio stream.
* **The same options as images** (a :class:`~cyclegan_ms.inference.TranslateOptions`: tiling,
  normalisation statistics, device...) plus :class:`~cyclegan_ms.video.TemporalOptions` against
  flicker (see :mod:`~cyclegan_ms.video.temporal`).
* **Atomic output**: the clip is written to a temporary file beside ``dst`` and renamed to
  ``dst`` only when complete; an error or an interruption leaves no file under the final name.
* **One-line errors** (:class:`VideoError`, a ``ValueError``) for a file that is not a readable
  video or cannot be written in the requested format; a disk that refuses the clip (full, over
  quota, read-only) raises :class:`~cyclegan_ms.utils.files.WriteError` naming the clip and
  the space it needs (estimated from the part written), and leaves no partial file.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
from typing_extensions import Unpack

from ..inference.options import EvalTranslateKwargs, TranslateOptions
from ..inference.source import Direction, ModelSource
from ..inference.translate import Translator, as_translator
from ..utils.files import WriteError, as_write_error, atomic_path
from .temporal import FrameTranslator, TemporalOptions

__all__ = [
    "VIDEO_EXTENSIONS",
    "VideoError",
    "VideoInfo",
    "is_video_path",
    "probe_video",
    "read_frames",
    "translate_video",
    "write_frames",
]

#: File suffixes treated as video by ``cyclegan-ms translate``.
VIDEO_EXTENSIONS: tuple[str, ...] = (".mp4", ".m4v", ".mov", ".mkv", ".avi", ".webm")
#: Default video codec by output suffix (first available of each list).
DEFAULT_CODECS: dict[str, tuple[str, ...]] = {
    ".mp4": ("libx264", "h264", "mpeg4"),
    ".m4v": ("libx264", "h264", "mpeg4"),
    ".mov": ("libx264", "h264", "mpeg4"),
    ".mkv": ("libx264", "h264", "mpeg4"),
    ".webm": ("libvpx-vp9", "libvpx"),
    ".avi": ("mpeg4",),
}
#: Constant rate factor for codecs that take one (lower is better; 18 is near-transparent).
DEFAULT_CRF = 18
_INSTALL = "reading and writing video needs PyAV: pip install 'cyclegan-ms[video]'"


class VideoError(ValueError):
    """A file that is not a readable video, or a video that cannot be written as asked."""


def _av() -> ModuleType:
    try:
        import av
    except ImportError:
        raise ImportError(_INSTALL) from None
    return av


def is_video_path(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` has a video suffix (:data:`VIDEO_EXTENSIONS`, any case)."""
    return Path(path).suffix.lower() in VIDEO_EXTENSIONS


@dataclass(frozen=True)
class VideoInfo:
    """What a video file holds (its first video stream).

    Attributes
    ----------
    path
        The file.
    width, height
        Frame size in pixels.
    fps
        Average frame rate (frames per second, exact).
    frames
        Number of frames (counted when written here; from the container's header when probed,
        0 if it does not say).
    audio
        Whether there is an audio stream (the first is the one copied).
    codec
        The video codec's name.
    """

    path: Path
    width: int
    height: int
    fps: Fraction
    frames: int
    audio: bool
    codec: str


def _one_line(err: BaseException) -> str:
    text = getattr(err, "strerror", None) or str(err) or type(err).__name__
    return " ".join(str(text).split())


# PyAV's containers and streams are left untyped here: its annotations change between the
# versions the ``video`` extra accepts (av>=12), and its streams and frames are unions that each
# use would have to narrow.
def _open_input(path: Path) -> Any:
    av = _av()
    if not path.is_file():
        raise FileNotFoundError(f"video {path} not found")
    try:
        container = av.open(str(path), "r")
    except (av.error.FFmpegError, OSError, ValueError) as err:
        raise VideoError(f"cannot read video {path}: {_one_line(err)}") from None
    if not container.streams.video:
        container.close()
        raise VideoError(f"{path} has no video stream")
    return container


def probe_video(path: str | os.PathLike[str]) -> VideoInfo:
    """Read a video's size, frame rate, frame count and streams without decoding it.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    VideoError
        If it is not a readable video.
    ImportError
        Without PyAV (the message says what to install).
    """
    p = Path(path)
    with _open_input(p) as container:
        v = container.streams.video[0]
        rate = v.average_rate or v.guessed_rate or v.base_rate or Fraction(0)
        return VideoInfo(
            path=p,
            width=int(v.codec_context.width),
            height=int(v.codec_context.height),
            fps=Fraction(rate),
            frames=int(v.frames or 0),
            audio=bool(container.streams.audio),
            codec=str(v.codec_context.name),
        )


def read_frames(path: str | os.PathLike[str]) -> Iterator[np.ndarray]:
    """Decode a video's frames one at a time.

    Yields
    ------
    numpy.ndarray
        ``uint8`` RGB frames of shape ``(H, W, 3)``, in presentation order.

    Raises
    ------
    FileNotFoundError, VideoError, ImportError
        As :func:`probe_video`; :class:`VideoError` also for a file broken part-way.

    Shape
    -----
    ``(H, W, 3)`` per frame.
    """
    av = _av()
    p = Path(path)
    with _open_input(p) as container:
        stream = container.streams.video[0]
        try:
            for frame in container.decode(stream):
                yield frame.to_ndarray(format="rgb24")
        except av.error.FFmpegError as err:
            raise VideoError(f"cannot read video {p}: {_one_line(err)}") from None


def _temporary_beside(dst: Path) -> contextlib.AbstractContextManager[Path]:
    """A temporary path beside ``dst`` with its suffix (so the container is chosen by it),
    renamed to ``dst`` when the block succeeds and removed when it fails or is interrupted (a
    disk or folder that refuses it: :class:`~cyclegan_ms.utils.files.WriteError`)."""
    return atomic_path(dst, durable=False, suffix=f".part{dst.suffix}")


def _refused(
    err: BaseException, dst: Path, tmp: Path, done: int, total: int, like: Path | None = None
) -> WriteError | None:
    """A write the disk or folder refused (``ENOSPC``, ``EDQUOT``, read-only: PyAV raises them
    as ``OSError`` s) as a :class:`~cyclegan_ms.utils.files.WriteError` about ``dst``, with the
    clip's size estimated from the part written (or, before the encoder wrote anything, from
    the size of the input clip ``like``); ``None`` for any other error."""
    needed = None
    with contextlib.suppress(OSError):
        written = tmp.stat().st_size
        if written > 0 and total > done > 0:
            needed = int(written * total / done)
        elif like is not None:
            needed = like.stat().st_size or None
    converted = as_write_error(err, dst, needed)
    if not isinstance(converted, WriteError):
        return None
    if needed is not None:
        converted = WriteError(dst, int(converted.errno or 0), needed, estimated=True)
    return converted


def _codec_name(av: ModuleType, dst: Path, codec: str | None) -> str:
    suffix = dst.suffix.lower()
    candidates = (codec,) if codec else DEFAULT_CODECS.get(suffix, ())
    if not candidates:
        raise VideoError(
            f"cannot write video with suffix {dst.suffix!r}; use one of {', '.join(VIDEO_EXTENSIONS)}"
        )
    for name in candidates:
        try:
            av.codec.Codec(name, "w")
        except Exception:  # unknown or not built into this FFmpeg
            continue
        return name
    raise VideoError(f"no encoder {' or '.join(candidates)} in this PyAV build for {dst.suffix}")


def _video_stream(
    av: ModuleType,
    out: Any,
    name: str,
    rate: Fraction,
    width: int,
    height: int,
    time_base: Fraction | None,
    crf: int | None,
) -> Any:
    options: dict[str, str] = {}
    if name in ("libx264", "libx265", "libvpx-vp9"):
        options["crf"] = str(DEFAULT_CRF if crf is None else crf)
        if name == "libvpx-vp9":
            options["b"] = "0"
    stream = out.add_stream(name, rate=rate, options=options)
    stream.width, stream.height = width, height
    even = width % 2 == 0 and height % 2 == 0
    formats = [f.name for f in (stream.codec_context.codec.video_formats or ())]
    if even and (not formats or "yuv420p" in formats):
        stream.pix_fmt = "yuv420p"
    elif "yuv444p" in formats:
        stream.pix_fmt = "yuv444p"  # 4:2:0 needs even sizes: keep odd ones exactly
    elif formats:
        stream.pix_fmt = formats[0]
    if time_base is not None:
        stream.time_base = time_base
        stream.codec_context.time_base = time_base
    if "crf" not in options:
        stream.bit_rate = max(200_000, int(width * height * float(rate or 25) * 0.25))
    return stream


def _copy_stream(out: Any, template: Any) -> Any:
    add = getattr(out, "add_stream_from_template", None)
    if add is not None:
        return add(template)
    return out.add_stream(template=template)  # pragma: no cover - PyAV < 13


def write_frames(
    path: str | os.PathLike[str],
    frames: Iterable[np.ndarray],
    *,
    fps: float | Fraction = 10,
    codec: str | None = None,
    crf: int | None = None,
) -> Path:
    """Encode ``uint8`` RGB frames into a video file (atomically), one frame at a time.

    Parameters
    ----------
    path
        Output file; its suffix picks the container (see :data:`DEFAULT_CODECS`).
    frames
        ``(H, W, 3)`` ``uint8`` arrays of one size.
    fps
        Frame rate.
    codec, crf
        Video codec (default by suffix) and its constant rate factor.

    Returns
    -------
    Path

    Raises
    ------
    VideoError
        For an unknown suffix or codec, or frames of different sizes.
    ValueError
        For no frames.

    Shape
    -----
    ``(H, W, 3)`` per frame.
    """
    av = _av()
    dst = Path(path)
    name = _codec_name(av, dst, codec)
    rate = Fraction(fps).limit_denominator(1001000)
    count = 0
    with _temporary_beside(dst) as tmp:
        try:
            with av.open(str(tmp), "w") as out:
                stream = None
                for arr in frames:
                    if arr.ndim != 3 or arr.shape[2] != 3 or arr.dtype != np.uint8:
                        raise VideoError(
                            f"frames must be (H, W, 3) uint8; got {arr.shape} {arr.dtype}"
                        )
                    h, w = arr.shape[:2]
                    if stream is None:
                        stream = _video_stream(av, out, name, rate, w, h, None, crf)
                    elif (w, h) != (stream.width, stream.height):
                        raise VideoError(
                            f"frame {count} is {w}×{h}, not {stream.width}×{stream.height}"
                        )
                    frame = av.VideoFrame.from_ndarray(arr, format="rgb24")
                    frame.pts = count
                    frame.time_base = 1 / rate
                    out.mux(stream.encode(frame))
                    count += 1
                if stream is None:
                    raise ValueError("no frames to write")
                out.mux(stream.encode(None))
        except av.error.FFmpegError as err:
            refused = _refused(err, dst, tmp, 0, 0)
            if refused is not None:
                raise refused from None
            raise VideoError(f"cannot write video {dst}: {_one_line(err)}") from None
    return dst


def translate_video(
    model: ModelSource | Translator | FrameTranslator,
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    direction: Direction | None = None,
    *,
    options: TranslateOptions | None = None,
    temporal: TemporalOptions | None = None,
    codec: str | None = None,
    crf: int | None = None,
    audio: bool = True,
    progress: bool = True,
    **overrides: Unpack[EvalTranslateKwargs],
) -> VideoInfo:
    """Translate a video file into another, frame by frame, streaming.

    Parameters
    ----------
    model
        A model, generator or checkpoint path, a :class:`~cyclegan_ms.inference.Translator`, or
        a :class:`~cyclegan_ms.video.FrameTranslator` (used as it is, reset first).
    src
        The input video (any format FFmpeg reads).
    dst
        The output file; its suffix picks the container (:data:`VIDEO_EXTENSIONS`). Written to a
        temporary file beside it and renamed when complete.
    direction
        ``"a2b"`` or ``"b2a"``; ``None``: the options' (default ``"a2b"``).
    options
        How to translate each frame (:class:`~cyclegan_ms.inference.TranslateOptions`).
    temporal
        Against flicker (default :class:`~cyclegan_ms.video.TemporalOptions()`;
        ``TemporalOptions.off()`` translates every frame on its own).
    codec
        Video encoder (default by suffix: H.264, VP9 for ``.webm``, MPEG-4 for ``.avi``).
    crf
        Constant rate factor of H.264/H.265/VP9 (default :data:`DEFAULT_CRF`).
    audio
        Copy the first audio stream, when there is one (packets are remuxed, not re-encoded).
    progress
        A tqdm bar over the frames.
    **overrides
        Fields of :class:`~cyclegan_ms.inference.TranslateOptions` (``tile``, ``device``...).

    Returns
    -------
    VideoInfo
        Of the written file (``frames``: the number of frames written).

    Raises
    ------
    FileNotFoundError
        If ``src`` does not exist.
    VideoError
        If ``src`` is not a readable video (or breaks part-way), ``dst`` has no video suffix,
        would overwrite ``src``, or cannot hold the audio stream. Nothing is left at ``dst``.
    ImportError
        Without PyAV (the message says ``pip install 'cyclegan-ms[video]'``).
    TypeError
        Translate or temporal options given with a ready Translator or FrameTranslator, which
        would ignore them; or an unknown option.

    Shape
    -----
    Frames ``(H, W, 3) -> (H, W, 3)``: the output keeps the input's size and frame rate.
    """
    av = _av()
    src_p, dst_p = Path(src), Path(dst)
    if isinstance(model, FrameTranslator):
        if options is not None or temporal is not None or overrides or direction is not None:
            raise TypeError(
                "translate_video() got a ready FrameTranslator and options, which it would ignore"
            )
        frames = model
        frames.reset()
    else:
        translator = as_translator(
            model, options, direction=direction, owner="translate_video()", **overrides
        )
        frames = FrameTranslator(translator, temporal=temporal)
    name = _codec_name(av, dst_p, codec)
    if dst_p.exists() and src_p.exists() and dst_p.resolve() == src_p.resolve():
        raise VideoError(f"writing {dst_p} would overwrite its input; choose another output")
    container = _open_input(src_p)
    bar = None
    count = 0
    try:
        vin = container.streams.video[0]
        vin.thread_type = "AUTO"
        ain = container.streams.audio[0] if audio and container.streams.audio else None
        rate = Fraction(vin.average_rate or vin.guessed_rate or vin.base_rate or 25)
        width, height = int(vin.codec_context.width), int(vin.codec_context.height)
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=int(vin.frames) or None, desc=src_p.name, unit="frame")
        with _temporary_beside(dst_p) as tmp:
            try:
                with av.open(str(tmp), "w") as out:
                    tb = 1 / rate
                    vout = _video_stream(av, out, name, rate, width, height, tb, crf)
                    aout = _copy_stream(out, ain) if ain is not None else None
                    last_pts: int | None = None
                    streams = [vin] + ([ain] if ain is not None else [])
                    for packet in container.demux(*streams):
                        if packet.stream.type == "audio":
                            if packet.dts is None:  # demuxer's flush packet
                                continue
                            packet.stream = aout
                            out.mux(packet)
                            continue
                        for frame in packet.decode():
                            day = frames(frame.to_ndarray(format="rgb24"))
                            if day.ndim == 3 and day.shape[2] == 1:  # one-channel generator
                                day = day[:, :, 0]
                            new = av.VideoFrame.from_ndarray(
                                day, format="gray" if day.ndim == 2 else "rgb24"
                            )
                            # on the output's 1/fps grid; exact for constant-rate clips
                            pts = round(frame.time * rate) if frame.time is not None else count
                            if last_pts is not None and pts <= last_pts:
                                pts = last_pts + 1
                            new.pts, new.time_base = pts, tb
                            last_pts = pts
                            out.mux(vout.encode(new))
                            count += 1
                            if bar is not None:
                                bar.update(1)
                    out.mux(vout.encode(None))
                    if count == 0:
                        raise VideoError(f"{src_p} has no decodable video frames")
            except av.error.FFmpegError as err:
                refused = _refused(err, dst_p, tmp, count, int(vin.frames or 0), src_p)
                if refused is not None:
                    raise refused from None
                raise VideoError(
                    f"cannot translate video {src_p} into {dst_p}: {_one_line(err)}"
                ) from None
    finally:
        container.close()
        if bar is not None:
            bar.close()
    return VideoInfo(
        path=dst_p,
        width=width,
        height=height,
        fps=rate,
        frames=count,
        audio=ain is not None,
        codec=name,
    )
