"""Built-in night/day road scenes: determinism, shared geometry, darkness, any size, dataset."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from cyclegan_ms.data import EVAL_OFFSET, NightDayScenes, SampleKey, make_loader
from cyclegan_ms.data.scenes import render_day, render_night, render_scene, sample_scene


def _lum(x: np.ndarray) -> np.ndarray:
    return x.astype(np.float32).mean(-1)


def _grad(x: np.ndarray) -> np.ndarray:
    lum = _lum(x)
    return np.hypot(np.diff(lum, axis=0)[:, :-1], np.diff(lum, axis=1)[:-1])


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))


def test_render_is_deterministic_per_index_and_seed() -> None:
    n1, d1 = render_scene(7, height=32, width=48)
    n2, d2 = render_scene(7, height=32, width=48)
    assert n1.shape == d1.shape == (32, 48, 3) and n1.dtype == np.uint8
    assert (n1 == n2).all() and (d1 == d2).all()  # sensor noise included
    assert not (render_day(8, height=32, width=48) == d1).all()
    assert not (render_day(7, height=32, width=48, seed=1) == d1).all()
    assert sample_scene(7) == sample_scene(7) and sample_scene(7) != sample_scene(7, seed=1)


def test_day_and_night_of_a_scene_share_geometry() -> None:
    same, other, ratios = [], [], []
    for i in range(8):
        night, day = render_scene(i, height=64, darkness=0.3)
        elsewhere = render_day(i + 100, height=64)
        same.append(_corr(_grad(night), _grad(day)))
        other.append(_corr(_grad(night), _grad(elsewhere)))
        ratios.append(render_night(i, height=64, darkness=0.5).mean() / day.mean())
    # edges line up with the same scene's day image, not with another scene's
    assert all(s > o for s, o in zip(same, other, strict=True))
    assert np.mean(same) > np.mean(other) + 0.2
    # and night (here at middle darkness) is much darker on average
    assert max(ratios) < 0.7 and np.mean(ratios) < 0.5


def test_darkness_goes_down_to_extreme() -> None:
    means, medians = [], []
    for d in (0.0, 0.5, 1.0):
        imgs = [render_night(i, height=48, darkness=d) for i in range(6)]
        means.append(np.mean([x.mean() for x in imgs]))
        medians.append(np.mean([np.median(x) for x in imgs]))
    assert means[0] > means[1] > means[2]
    assert medians[2] < 25  # extreme: most pixels near black
    lit = render_night(4, height=64, darkness=1.0)
    assert lit.max() > 200  # ...but lights still shine
    # the scene's own darkness is drawn inside the requested range
    spec = sample_scene(3)
    a = render_night(spec, height=32, darkness_range=(0.9, 0.9))
    assert (a == render_night(spec, height=32, darkness=0.9)).all()
    with pytest.raises(
        ValueError, match=r"darkness must be in \[0, 1\] \(0 dusk, 1 extreme\); got 1.5"
    ):
        render_night(0, height=8, darkness=1.5)
    with pytest.raises(ValueError, match="darkness range must be"):
        render_night(0, height=8, darkness_range=(0.8, 0.2))


def test_night_has_sensor_noise_and_lights() -> None:
    night = render_night(2, height=64, darkness=0.8).astype(np.int16)
    # noise: neighbouring pixels of the flat sky differ
    sky = night[:8, :, :]
    assert np.abs(np.diff(sky, axis=1)).mean() > 0.3
    # headlights / tail-lights / lamps: some saturated, warm or white pixels
    assert (night.max(-1) > 230).sum() > 3


@given(h=st.integers(1, 40), w=st.integers(1, 40))
def test_any_resolution(h: int, w: int) -> None:
    night, day = render_scene(5, height=h, width=w)
    assert night.shape == day.shape == (h, w, 3)


def test_same_scene_at_two_resolutions() -> None:
    big = render_day(3, height=128)
    small = render_day(3, height=64).astype(np.float32)
    down = np.asarray(Image.fromarray(big).resize((64, 64), Image.Resampling.BOX)).astype(
        np.float32
    )
    other = render_day(4, height=64).astype(np.float32)
    assert np.abs(down - small).mean() < 0.4 * np.abs(other - small).mean()


def test_scene_content_near_and_far() -> None:
    specs = [sample_scene(i) for i in range(40)]
    near = [any(c.z < 20 for c in s.cars) for s in specs]
    far = [any(c.z > 50 for c in s.cars) for s in specs]
    assert np.mean(near) > 0.8 and np.mean(far) > 0.8  # large and small cars
    assert np.mean([len(s.buildings) > 0 for s in specs]) > 0.5
    assert np.mean([len(s.trees) > 0 for s in specs]) > 0.5
    assert all(len(s.lamps) > 0 for s in specs)
    assert {c.kind for s in specs for c in s.cars} >= {"car", "suv", "van", "truck"}
    assert any(c.oncoming for s in specs for c in s.cars)
    with pytest.raises(ValueError, match="index must be an integer >= 0; got -1"):
        sample_scene(-1)


def test_train_items_are_unpaired_night_and_day() -> None:
    ds = NightDayScenes(num_scenes=20, size=32)
    assert len(ds) == ds.len_a == ds.len_b == 20
    item = ds[SampleKey(3, 3, 0)]
    assert item["index_A"] == 6 and item["index_B"] == 7  # never the same scene
    assert item["A"].shape == (3, 32, 32) and item["B"].shape == (3, 32, 32)
    assert item["A"].dtype == torch.float32 and item["A"].min() >= 0 and item["B"].max() <= 1
    assert item["A"].mean() < item["B"].mean()  # A night, B day
    assert 0.0 <= item["darkness"] <= 1.0
    night = render_night(6, height=32, darkness=item["darkness"])
    assert torch.allclose(
        item["A"] * 255, torch.from_numpy(night).permute(2, 0, 1).float(), atol=1e-3
    )
    day = render_day(7, height=32)
    assert torch.allclose(
        item["B"] * 255, torch.from_numpy(day).permute(2, 0, 1).float(), atol=1e-3
    )
    ids_a = {ds.scene_ids(SampleKey(i, 0, 0))[0] for i in range(20)}
    ids_b = {ds.scene_ids(SampleKey(0, i, 0))[1] for i in range(20)}
    assert not ids_a & ids_b


def test_eval_items_are_aligned_held_out_pairs() -> None:
    ev = NightDayScenes(split="eval", num_scenes=4, size=(24, 40), value_range=(-1, 1))
    for k in range(4):
        item = ev[k]
        assert item["index_A"] == item["index_B"] == EVAL_OFFSET + k
        assert item["A"].shape == (3, 24, 40) and item["A"].min() >= -1
        night, day = render_scene(EVAL_OFFSET + k, height=24, width=40, darkness=item["darkness"])
        assert torch.allclose(
            (item["A"] + 1) * 127.5, torch.from_numpy(night).permute(2, 0, 1).float(), atol=1e-3
        )
        assert torch.allclose(
            (item["B"] + 1) * 127.5, torch.from_numpy(day).permute(2, 0, 1).float(), atol=1e-3
        )
    train = NightDayScenes(num_scenes=EVAL_OFFSET // 2, size=8)
    last = train.scene_ids(SampleKey(train.len_a - 1, train.len_b - 1, 0))
    assert max(last) < EVAL_OFFSET  # the splits never overlap


def test_item_options() -> None:
    gray = NightDayScenes(num_scenes=3, size=16, channels=1)[0]
    assert gray["A"].shape == (1, 16, 16)
    rgb = NightDayScenes(num_scenes=3, size=16)[0]
    luma = rgb["B"][0] * 0.299 + rgb["B"][1] * 0.587 + rgb["B"][2] * 0.114
    assert torch.allclose(gray["B"][0], luma, atol=1 / 255 + 1e-6)
    dark = NightDayScenes(num_scenes=5, size=8, darkness=(0.9, 1.0))
    assert all(0.9 <= dark[i]["darkness"] <= 1.0 for i in range(5))
    flip = NightDayScenes(num_scenes=3, size=16, flip=True)
    plain = NightDayScenes(num_scenes=3, size=16)
    flipped = [
        torch.equal(flip[SampleKey(0, 0, s)]["A"], plain[SampleKey(0, 0, s)]["A"].flip(-1))
        for s in range(12)
    ]
    assert any(flipped) and not all(flipped)
    assert torch.equal(flip[SampleKey(1, 2, 3)]["A"], flip[SampleKey(1, 2, 3)]["A"])


def test_dataset_argument_errors() -> None:
    with pytest.raises(ValueError, match="split must be 'train' or 'eval'; got 'test'"):
        NightDayScenes(split="test")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="num_scenes must be <= 500000000 for train"):
        NightDayScenes(num_scenes=EVAL_OFFSET)
    with pytest.raises(ValueError, match=r"size must be an int or \(height, width\)"):
        NightDayScenes(size=(1, 2, 3))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="channels must be 1"):
        NightDayScenes(channels=4)
    with pytest.raises(ValueError, match="value_range must be"):
        NightDayScenes(value_range=(1.0, -1.0))


def test_loader_over_scenes() -> None:
    ds = NightDayScenes(num_scenes=8, size=16)
    batches = list(make_loader(ds, batch_size=4, seed=0))
    assert len(batches) == 2
    b = batches[0]
    assert b["A"].shape == (4, 3, 16, 16) and b["index_A"].dtype == torch.int64
    assert b["darkness"].shape == (4,)
    assert (b["index_A"] % 2 == 0).all() and (b["index_B"] % 2 == 1).all()


def test_tune_allocator_is_opt_in_and_once_per_process() -> None:
    # in a fresh interpreter: changing glibc's thresholds inside the test process, after other
    # tests loaded native libraries with allocators of their own (ONNX Runtime), crashed it
    import subprocess
    import sys

    script = (
        "import os, json\n"
        "from cyclegan_ms.data import _alloc\n"
        "off = _alloc.tune_allocator()\n"
        "_alloc._STATE.clear()\n"
        "os.environ['CYCLEGAN_MS_TUNE_MALLOC'] = '1'\n"
        "first = _alloc.tune_allocator()\n"
        "print(json.dumps([off, first, _alloc.tune_allocator(), list(_alloc._STATE) == [os.getpid()]]))\n"
    )
    env = {k: v for k, v in __import__("os").environ.items() if k != "CYCLEGAN_MS_TUNE_MALLOC"}
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True
    )
    off, first, again, one_pid = __import__("json").loads(out.stdout.strip().splitlines()[-1])
    assert off is False  # off by default
    assert isinstance(first, bool) and again is first
    assert one_pid
