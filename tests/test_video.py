"""Video files: streaming translation with PyAV, audio copy, atomic output, one-line errors."""

from __future__ import annotations

import sys
import tracemalloc
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn

import cyclegan_ms as cms
from cyclegan_ms.cli import main
from cyclegan_ms.inference import export
from cyclegan_ms.video import (
    FrameTranslator,
    TemporalOptions,
    VideoError,
    is_video_path,
    probe_video,
    read_frames,
    translate_video,
    write_frames,
)

av = pytest.importorskip("av")


def make_clip(
    path: Path,
    *,
    frames: int = 12,
    width: int = 48,
    height: int = 32,
    fps: int = 15,
    audio: bool = False,
) -> Path:
    """A small H.264 clip of changing gray levels (and a 440 Hz AAC tone)."""
    with av.open(str(path), "w") as out:
        v = out.add_stream("libx264", rate=fps)
        v.width, v.height, v.pix_fmt = width, height, "yuv420p"
        a = out.add_stream("aac", rate=16000) if audio else None
        if a is not None:
            a.layout = "mono"
        for i in range(frames):
            arr = np.full((height, width, 3), (i * 17) % 256, np.uint8)
            arr[: height // 2, : width // 2] = 200
            out.mux(v.encode(av.VideoFrame.from_ndarray(arr, format="rgb24")))
        out.mux(v.encode(None))
        if a is not None:
            samples = 16000 * frames // fps
            tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(samples) / 16000)).astype(np.float32)
            for s0 in range(0, samples, 1024):
                f = av.AudioFrame.from_ndarray(
                    tone[None, s0 : s0 + 1024], format="fltp", layout="mono"
                )
                f.sample_rate, f.pts = 16000, s0
                out.mux(a.encode(f))
            out.mux(a.encode(None))
    return path


def audio_packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as c:
        return [bytes(p) for p in c.demux(c.streams.audio[0]) if p.size]


@pytest.fixture(scope="module")
def G() -> nn.Module:
    torch.manual_seed(0)
    return cms.build("generator", "resnet_6blocks", ngf=4, output="sigmoid")


def test_round_trip_keeps_size_rate_and_frame_count(tmp_path: Path, G: nn.Module) -> None:
    src = make_clip(tmp_path / "clip.mp4", frames=12, width=48, height=32, fps=15)
    info = translate_video(G, src, tmp_path / "day.mp4", progress=False)
    assert (info.frames, info.width, info.height, info.fps) == (12, 48, 32, Fraction(15))
    out = probe_video(tmp_path / "day.mp4")
    assert (out.width, out.height, out.fps, out.frames) == (48, 32, Fraction(15), 12)
    frames = list(read_frames(tmp_path / "day.mp4"))
    assert len(frames) == 12 and frames[0].shape == (32, 48, 3)


def test_odd_size_and_other_containers(tmp_path: Path, G: nn.Module) -> None:
    src = write_frames(
        tmp_path / "odd.mp4", (np.full((31, 45, 3), i * 9, np.uint8) for i in range(5)), fps=12
    )
    for suffix in (".mkv", ".avi", ".webm"):
        translate_video(G, src, tmp_path / f"day{suffix}", progress=False)
        frames = list(read_frames(tmp_path / f"day{suffix}"))
        assert len(frames) == 5 and frames[0].shape == (31, 45, 3), suffix
        assert probe_video(tmp_path / f"day{suffix}").fps == 12


def test_audio_is_copied_packet_for_packet(tmp_path: Path, G: nn.Module) -> None:
    src = make_clip(tmp_path / "clip.mp4", audio=True)
    info = translate_video(G, src, tmp_path / "day.mp4", progress=False)
    assert info.audio and probe_video(tmp_path / "day.mp4").audio
    before, after = audio_packets(src), audio_packets(tmp_path / "day.mp4")
    assert len(before) > 3 and after == before  # remuxed, not re-encoded
    translate_video(G, src, tmp_path / "mute.mp4", audio=False, progress=False)
    assert not probe_video(tmp_path / "mute.mp4").audio


@pytest.mark.filterwarnings("ignore:Conv2d declares:DeprecationWarning")  # a bare conv as generator
def test_streaming_memory_is_bounded(tmp_path: Path) -> None:
    frames, side = 240, 96
    net = nn.Conv2d(3, 3, 1)  # cheap: this test is about the plumbing
    src = write_frames(
        tmp_path / "long.mp4",
        (np.full((side, side, 3), i % 256, np.uint8) for i in range(frames)),
        fps=30,
    )
    raw = frames * side * side * 3  # bytes of the decoded clip
    tracemalloc.start()
    try:
        info = translate_video(net, src, tmp_path / "long_day.mp4", progress=False)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info.frames == frames
    assert peak < raw / 4, f"peak {peak} bytes while streaming a {raw}-byte clip"


def test_broken_file_is_a_one_line_error_and_leaves_nothing(
    tmp_path: Path, G: nn.Module, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 50)
    with pytest.raises(VideoError, match="cannot read video"):
        translate_video(G, bad, tmp_path / "out.mp4", progress=False)
    ckpt = export(G, tmp_path / "g.safetensors")
    code = main(
        [
            "translate",
            "--checkpoint",
            str(ckpt),
            str(bad),
            "--out",
            str(tmp_path / "out.mp4"),
            "--no-progress",
        ]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2 and "cannot read video" in err and "\n" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.mp4", "g.safetensors"]


def test_truncated_file_leaves_nothing(tmp_path: Path, G: nn.Module) -> None:
    src = make_clip(tmp_path / "clip.mp4", frames=30)
    data = src.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    try:
        translate_video(G, cut, tmp_path / "out.mp4", progress=False)
    except VideoError as err:
        assert "\n" not in str(err)
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert leftovers == []


class _Explodes(nn.Module):
    """Identity that raises KeyboardInterrupt on its ``after``-th call (an interrupted run)."""

    def __init__(self, after: int) -> None:
        super().__init__()
        self.calls, self.after = 0, after
        self.w = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        if self.calls >= self.after:
            raise KeyboardInterrupt
        return x + self.w


def test_interrupted_run_leaves_no_output(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "clip.mp4", frames=20)
    dst = tmp_path / "day.mp4"
    with pytest.raises(KeyboardInterrupt):
        translate_video(_Explodes(after=6), src, dst, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"]


def test_bad_output_suffix_and_overwrite(tmp_path: Path, G: nn.Module) -> None:
    src = make_clip(tmp_path / "clip.mp4", frames=3)
    with pytest.raises(VideoError, match="suffix"):
        translate_video(G, src, tmp_path / "day.txt", progress=False)
    with pytest.raises(VideoError, match="overwrite"):
        translate_video(G, src, src, progress=False)
    with pytest.raises(FileNotFoundError):
        translate_video(G, tmp_path / "missing.mp4", tmp_path / "x.mp4", progress=False)


def test_options_reach_the_frames(tmp_path: Path, G: nn.Module) -> None:
    src = make_clip(tmp_path / "clip.mp4", frames=3)
    with pytest.raises(TypeError, match="tilee"):
        translate_video(G, src, tmp_path / "a.mp4", tilee=32, progress=False)  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="stats_decay"):
        translate_video(
            G,
            src,
            tmp_path / "a.mp4",
            temporal=TemporalOptions(stats_decay=0.5),
            norm_stats="tile",
            progress=False,
        )
    info = translate_video(
        G,
        src,
        tmp_path / "a.mp4",
        tile=16,
        overlap=4,
        temporal=TemporalOptions.off(),
        progress=False,
    )
    assert info.frames == 3
    ft = FrameTranslator(G, temporal=TemporalOptions.off())
    translate_video(ft, src, tmp_path / "b.mp4", progress=False)
    assert ft.frames == 3


def test_cli_translates_a_clip_into_a_file_and_a_folder(
    tmp_path: Path, G: nn.Module, capsys: pytest.CaptureFixture[str]
) -> None:
    src = make_clip(tmp_path / "clip.mp4", frames=4, audio=True)
    ckpt = export(G, tmp_path / "g.safetensors")
    assert (
        main(
            [
                "translate",
                "--checkpoint",
                str(ckpt),
                str(src),
                "--out",
                str(tmp_path / "day.mp4"),
                "--no-progress",
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    assert "4 frames" in capsys.readouterr().out
    assert probe_video(tmp_path / "day.mp4").frames == 4
    folder = tmp_path / "out"
    assert (
        main(
            [
                "translate",
                "--checkpoint",
                str(ckpt),
                str(src),
                "--out",
                str(folder),
                "--no-progress",
                "--no-temporal",
                "--no-audio",
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    assert not probe_video(folder / "clip.mp4").audio
    two = tmp_path / "two.mp4"
    two.write_bytes(src.read_bytes())
    code = main(
        [
            "translate",
            "--checkpoint",
            str(ckpt),
            str(src),
            str(two),
            "--out",
            str(tmp_path / "x.mp4"),
        ]
    )
    assert code == 2 and "exactly one input video" in capsys.readouterr().err


def test_without_pyav_the_error_says_what_to_install(
    tmp_path: Path,
    G: nn.Module,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    src = make_clip(tmp_path / "clip.mp4", frames=2)
    ckpt = export(G, tmp_path / "g.safetensors")
    monkeypatch.setitem(sys.modules, "av", None)
    with pytest.raises(ImportError, match=r"pip install 'cyclegan-ms\[video\]'"):
        translate_video(G, src, tmp_path / "day.mp4", progress=False)
    code = main(
        [
            "translate",
            "--checkpoint",
            str(ckpt),
            str(src),
            "--out",
            str(tmp_path / "day.mp4"),
            "--no-progress",
        ]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2 and "cyclegan-ms[video]" in err and "\n" not in err


def test_is_video_path() -> None:
    assert is_video_path("a/B.MP4") and is_video_path("x.webm")
    assert not is_video_path("x.png")
