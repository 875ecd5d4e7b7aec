"""Photos at their own size: no bands along the borders, no seams below 4 MP."""

from __future__ import annotations

import argparse

import pytest
import torch
import torch.nn as nn

from cyclegan_ms.inference import AUTO_TILE_PIXELS, TranslateOptions, Translator
from cyclegan_ms.inference_cli import add_option_flags, options_from_args


class ZeroPadBlur(nn.Module):
    """A 5×5 box blur with zero padding: on a constant image it darkens a 2-pixel frame, as a
    network trained on small crops paints bands along a large photo's borders."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 5, padding=2, bias=False)
        with torch.no_grad():
            self.conv.weight.zero_()
            for c in range(3):
                self.conv.weight[c, c] = 1.0 / 25.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


def test_border_context_removes_the_band_that_zero_padding_paints() -> None:
    x = torch.full((1, 3, 20, 30), 0.5)
    plain = Translator(ZeroPadBlur(), border=0).tensor(x)
    assert float(plain[..., 0, :].mean()) < 0.45  # the band the zero padding paints
    out = Translator(ZeroPadBlur()).tensor(x)  # border="auto": twice the size multiple (1)
    torch.testing.assert_close(out, x)
    torch.testing.assert_close(Translator(ZeroPadBlur(), border=5).tensor(x), x)


def test_border_is_cropped_away_and_keeps_the_size() -> None:
    x = torch.rand(2, 3, 17, 23)
    out = Translator(ZeroPadBlur(), border=7).tensor(x)
    assert out.shape == x.shape
    # interior pixels (beyond the blur's radius from every edge) do not depend on the border
    inner = Translator(ZeroPadBlur(), border=0).tensor(x)
    torch.testing.assert_close(out[..., 2:-2, 2:-2], inner[..., 2:-2, 2:-2])


def test_photos_up_to_4_megapixels_translate_in_one_pass() -> None:
    t = Translator(ZeroPadBlur())
    assert AUTO_TILE_PIXELS == 2560 * 1600
    assert t.plan(1200, 1920) == "whole"  # a 1920×1200 photo: no tile seams
    assert t.plan(1600, 2560) == "whole"
    assert t.plan(2160, 3840) == "tiled"  # 4K UHD: tiled


def test_border_argument_is_checked() -> None:
    with pytest.raises(ValueError, match="border"):
        TranslateOptions(border=-1)
    with pytest.raises(ValueError, match="border"):
        TranslateOptions(border="wide")  # type: ignore[arg-type]
    p = argparse.ArgumentParser()
    add_option_flags(p, ("border",))
    assert options_from_args(p.parse_args(["--border", "12"])).border == 12
    assert options_from_args(p.parse_args([])).border == "auto"
    with pytest.raises(SystemExit):
        p.parse_args(["--border", "-3"])
