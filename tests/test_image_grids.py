"""Sample grids (``cyclegan_ms.utils.images``): written by ``save_grid``, read back by ``read_grid``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from cyclegan_ms.utils.images import from_uint8, read_grid, save_grid, to_uint8


def test_read_grid_gives_back_the_images_of_save_grid(tmp_path: Path) -> None:
    torch.manual_seed(0)
    rgb = [torch.rand(3, 6, 10) for _ in range(5)]
    gray = torch.rand(1, 6, 10)
    rows = [rgb[:3], [rgb[3], gray, rgb[4]]]
    path = save_grid(rows, tmp_path / "grid.png")
    back = read_grid(path, (6, 10))
    assert [len(r) for r in back] == [3, 3]
    for row, images in zip(back, rows, strict=True):
        for tile, x in zip(row, images, strict=True):
            expected = to_uint8(x)
            assert np.array_equal(tile, np.repeat(expected, 3 // expected.shape[2], axis=2))
    torch.testing.assert_close(from_uint8(back[0][1]), rgb[1], atol=1 / 255, rtol=0)
    with pytest.raises(ValueError, match="not a grid of 7×10 images"):
        read_grid(path, (7, 10))
    wide = save_grid([[gray.expand(3, -1, -1)]], tmp_path / "one.png", pad=0)
    assert len(read_grid(wide, (6, 10), pad=0)) == 1
