"""Hypothesis strategies for the inputs the parts accept."""

from __future__ import annotations

from hypothesis import strategies as st

batch_sizes = st.integers(min_value=1, max_value=3)
channels = st.sampled_from([1, 3, 4])


def multiples_of(m: int, lo: int, hi: int) -> st.SearchStrategy[int]:
    """Integers in ``[lo, hi]`` that are multiples of ``m``."""
    return st.integers(min_value=max(1, -(-lo // m)), max_value=hi // m).map(lambda k: k * m)


# data: image sides (tiny to small, any aspect ratio) and crop sides
image_sides = st.integers(min_value=1, max_value=96)
crop_sides = st.integers(min_value=1, max_value=48)
