"""Drives: one scene filmed while the camera drives forward, by night and by day."""

from __future__ import annotations

import numpy as np
import pytest

from cyclegan_ms.data.scenes import drive_specs, render_drive, render_scene, sample_scene


def test_first_frame_is_the_scene_and_later_frames_move() -> None:
    night, day = render_drive(5, frames=3, height=40, width=56)
    assert night.shape == day.shape == (3, 40, 56, 3)
    first_night, first_day = render_scene(5, height=40, width=56)
    np.testing.assert_array_equal(night[0], first_night)
    np.testing.assert_array_equal(day[0], first_day)
    assert np.abs(day[2].astype(int) - day[0]).mean() > 0.5  # the world moved
    assert not np.array_equal(night[1], night[0])


def test_drive_is_deterministic() -> None:
    a = render_drive(2, frames=2, height=24)
    b = render_drive(2, frames=2, height=24)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_objects_come_closer_and_oncoming_cars_faster() -> None:
    specs = drive_specs(7, frames=3, fps=10.0, speed=10.0)
    base = sample_scene(7)
    assert len(specs) == 3
    assert specs[0].lamps == base.lamps
    # static objects move 1 m per frame toward the camera, lane dashes with them
    assert specs[2].lamps[0].z == pytest.approx(base.lamps[0].z - 2.0)
    assert specs[2].dash_phase == pytest.approx(base.dash_phase + 2.0)
    for before, after in zip(
        sorted(base.cars, key=lambda c: (c.x, c.z)),
        sorted(specs[1].cars, key=lambda c: (c.x, c.z)),
        strict=True,
    ):
        step = after.z - before.z
        if before.oncoming:
            assert step < -1.0  # its own speed plus the camera's
        else:
            assert step <= 0.2  # parked (-1 m) or driving about as fast as the camera
    # every frame has its own sensor noise
    assert len({s.noise_seed for s in specs}) == 3


def test_parked_camera_keeps_the_static_scene() -> None:
    specs = drive_specs(4, frames=2, speed=0.0)
    assert specs[1].buildings == specs[0].buildings
    assert specs[1].trees == specs[0].trees


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"frames": 0}, "frames"),
        ({"fps": 0}, "fps"),
        ({"speed": -1.0}, "speed"),
        ({"fps": float("nan")}, "fps"),
    ],
)
def test_bad_arguments(kwargs: dict[str, float], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        drive_specs(1, **kwargs)  # type: ignore[arg-type]


def test_bad_darkness() -> None:
    with pytest.raises(ValueError, match="darkness"):
        render_drive(1, frames=1, height=8, darkness=2.0)
