"""Video: translate clips frame by frame without flicker, and read and write video files.

* :func:`translate_video` (:mod:`~cyclegan_ms.video.files`): video files in, video files out,
  streamed frame by frame with the audio copied; :func:`read_frames`, :func:`write_frames` and
  :func:`probe_video` for the files themselves (PyAV, the ``video`` extra).
* :class:`FrameTranslator` and :class:`TemporalOptions` (:mod:`~cyclegan_ms.video.temporal`):
  keep consecutive frames consistent (normalisation statistics averaged over frames, a
  difference-guided temporal filter).

This package sits above :mod:`cyclegan_ms.inference` (a :class:`FrameTranslator` translates
every frame with an :class:`~cyclegan_ms.inference.Translator`) and :mod:`cyclegan_ms.metrics`,
whose :func:`~cyclegan_ms.metrics.temporal_error` and :func:`~cyclegan_ms.metrics.evaluate_drives`
measure the flicker that is left.
"""

from __future__ import annotations

from .files import (
    VIDEO_EXTENSIONS,
    VideoError,
    VideoInfo,
    is_video_path,
    probe_video,
    read_frames,
    translate_video,
    write_frames,
)
from .temporal import FrameTranslator, TemporalOptions, blend_norm_stats

__all__ = [
    "VIDEO_EXTENSIONS",
    "FrameTranslator",
    "TemporalOptions",
    "VideoError",
    "VideoInfo",
    "blend_norm_stats",
    "is_video_path",
    "probe_video",
    "read_frames",
    "translate_video",
    "write_frames",
]
