"""Regression checksums of the built-in scenes: a refactor of the renderer must not move a pixel.

Three scenes (urban and wet, rural and wet, a held-out dry one with sun shadows) are rendered at
64 x 64 by night, by day and as depth, and compared with stored SHA-256 digests of the arrays; the
layout of one scene is compared through the digest of its ``repr``.

Float32 ``exp``/``sin`` and small matrix products may round differently on another CPU or numpy
build. A *canary* digest of those operations tells: where it matches the stored one, the render
digests must match exactly; elsewhere the renders are compared through stored channel means and
depth statistics (tolerant to a few last-bit flips, not to a change of the scenes).
"""

from __future__ import annotations

import hashlib
import inspect

import numpy as np
import pytest

import cyclegan_ms.data as data
import cyclegan_ms.data.scenes as scenes
from cyclegan_ms.data.scenes import render_day, render_depth, render_night, sample_scene
from cyclegan_ms.data.scenes.drawing import interp_matrix

SIZE = 64

# scene: (sha256 night, day, depth)
DIGESTS = {
    0: (
        "3a1ad4538db58c90547e5f5058ac81b5bf52749b142a21ce38b59068fd94daa7",
        "67a776e8498a72f42a2ea919bb0ed61d4c3cfe6865433742025bd53e9597005d",
        "24ade72e202c4472ec4bfbc0c7437caa2c59357320d3e5cd663e1b4abc37bad1",
    ),
    2: (
        "107e8d0de6eb850a9dd27eb428f7776e777b5b2c48fcdad2aaf25e6318132783",
        "33aaafc8f93f2209b10b375085f424838f5a869d81a7124b476fb467191218a7",
        "2e5c186260a8fb42eebf97bf1d52224f1ce82d9462fa94b4b25060e804cef970",
    ),
    1_000_000_002: (
        "29a5a6e29ca1ce04ca01a38ae50b584e5598a4a1ee79b6f3cba0eacb096ac785",
        "eafc723c816bbb1ed8372d5d9a92c920f4ad64025186f2cf324968463e0d6a46",
        "89fb13ec70961fbd3128fb38335643f72cd09b0d84330f955c38d56df4687813",
    ),
}
# scene: (night RGB means, day RGB means, sky pixels, mean finite depth in m)
STATS = {
    0: ((24.006, 19.115, 17.42), (102.446, 103.015, 99.906), 567, 15.1573),
    2: ((46.71, 44.04, 39.651), (105.029, 110.028, 111.399), 546, 16.9685),
    1_000_000_002: ((51.567, 44.457, 39.056), (95.064, 98.077, 90.03), 472, 14.7305),
}
SPEC_DIGEST = "9a43276646a1c34c5cc5cf50c2904034df9dcfd7bc0901f79550babe5ae23b91"  # repr(scene 0)
CANARY_DIGEST = "d64ea1f4fb55009a37417f3f773a75df53be1977b174fdeaf7173aadb2a74087"


def _sha(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


def _canary() -> str:
    """Digest of the platform-dependent float32 operations the renderer relies on."""
    x = np.linspace(-20.0, 20.0, 4099, dtype=np.float32)
    clouds = np.random.default_rng(0).random((4, 14)).astype(np.float32)
    field = interp_matrix(37, 4) @ clouds @ interp_matrix(53, 14).T
    return _sha(np.concatenate([np.exp(x), np.sin(x * np.float32(3.7)), field.ravel()]))


EXACT = _canary() == CANARY_DIGEST


def test_layout_is_unchanged() -> None:
    assert hashlib.sha256(repr(sample_scene(0)).encode()).hexdigest() == SPEC_DIGEST


@pytest.mark.parametrize("index", sorted(DIGESTS))
def test_renders_are_unchanged(index: int) -> None:
    night = render_night(index, height=SIZE)
    day = render_day(index, height=SIZE)
    depth = render_depth(index, height=SIZE)
    assert night.shape == day.shape == (SIZE, SIZE, 3) and depth.shape == (SIZE, SIZE)
    if EXACT:
        assert (_sha(night), _sha(day), _sha(depth)) == DIGESTS[index]
        return
    night_mean, day_mean, sky, depth_mean = STATS[index]
    np.testing.assert_allclose(night.reshape(-1, 3).mean(0), night_mean, atol=0.05)
    np.testing.assert_allclose(day.reshape(-1, 3).mean(0), day_mean, atol=0.05)
    finite = np.isfinite(depth)
    assert int((~finite).sum()) == sky
    assert float(depth[finite].mean()) == pytest.approx(depth_mean, abs=1e-3)


def test_public_api_of_the_package() -> None:
    expected = {
        "EVAL_OFFSET", "Building", "Car", "Lamp", "NightDayScenes", "SceneSpec", "Tree",
        "render_day", "render_depth", "render_night", "render_scene", "sample_scene",
        "drive_pairs", "drive_specs", "render_drive",
    }  # fmt: skip
    assert set(scenes.__all__) == expected
    for name in expected:
        assert hasattr(scenes, name)
    for name in ("EVAL_OFFSET", "NightDayScenes", "SceneSpec", "render_scene", "sample_scene"):
        assert getattr(data, name) is getattr(scenes, name)
    assert scenes.EVAL_OFFSET == 1_000_000_000
    params = list(inspect.signature(scenes.render_night).parameters)
    assert params == ["index", "height", "width", "seed", "darkness", "darkness_range"]
