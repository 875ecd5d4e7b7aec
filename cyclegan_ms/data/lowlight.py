"""A physical low-light model: turn a daylight photograph into a plausible night shot of it.

Used to test translators on real photographs with a ground truth (the original photo), and as a
data-augmentation for users who have day photos only. The model works in linear light:

1. sRGB → linear (the sRGB transfer function);
2. exposure: multiply by ``exposure`` (the scene is lit far less: 1/20 ... 1/100 of day);
3. a blue shift of what ambient light is left (moonlight/sky glow, ``ambient_tint``);
4. lamps: ``lamps`` warm Gaussian light pools at random places, added in linear light;
5. the sensor: Poisson shot noise at ``full_well`` electrons for white and Gaussian read noise;
6. linear → sRGB.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn as nn
from torch import Tensor

from .._checks import check_nonnegative, check_value_range
from ..registry import register

__all__ = ["RandomNight", "linear_to_srgb", "simulate_night", "srgb_to_linear"]


def srgb_to_linear(u: Tensor) -> Tensor:
    """The sRGB decoding function (IEC 61966-2-1), values in [0, 1]."""
    return torch.where(u <= 0.04045, u / 12.92, ((u + 0.055) / 1.055).pow(2.4))


def linear_to_srgb(v: Tensor) -> Tensor:
    """The sRGB encoding function, values in [0, 1]."""
    v = v.clamp(0.0, 1.0)
    return torch.where(v <= 0.0031308, v * 12.92, 1.055 * v.clamp_min(1e-12).pow(1 / 2.4) - 0.055)


def simulate_night(
    image: Tensor,
    *,
    exposure: float = 0.04,
    ambient_tint: tuple[float, float, float] = (0.75, 0.85, 1.2),
    lamps: int = 3,
    lamp_gain: float = 0.6,
    lamp_radius: float = 0.12,
    full_well: float = 300.0,
    read_noise: float = 0.004,
    seed: int = 0,
) -> Tensor:
    """Darken a day photograph with a physical low-light model (see the module docstring).

    Parameters
    ----------
    image
        ``(3, H, W)`` or ``(B, 3, H, W)`` sRGB in [0, 1].
    exposure
        Linear-light gain of the ambient light, in (0, 1].
    ambient_tint
        Per-channel gain of the ambient light (bluish moonlight by default).
    lamps
        Number of warm lamp light pools (0: none).
    lamp_gain, lamp_radius
        Peak linear intensity of a lamp pool and its Gaussian radius as a fraction of the
        image's smaller side.
    full_well
        Electrons a white pixel collects: shot noise has variance ``v / full_well``.
    read_noise
        Standard deviation of the Gaussian read noise (linear light).
    seed
        Seed of the lamp positions and the noise.

    Returns
    -------
    Tensor
        The night image, same shape, sRGB in [0, 1].

    Raises
    ------
    ValueError
        For an image that is not 3-channel or an argument out of range.
    """
    if image.ndim not in (3, 4) or image.shape[-3] != 3:
        raise ValueError(
            f"simulate_night needs (3, H, W) or (B, 3, H, W) RGB; got {tuple(image.shape)}"
        )
    if not 0.0 < exposure <= 1.0:
        raise ValueError(f"exposure must be in (0, 1]; got {exposure}")
    if lamps < 0 or full_well <= 0 or read_noise < 0 or lamp_radius <= 0:
        raise ValueError("lamps, read_noise must be >= 0 and full_well, lamp_radius > 0")
    x = image.float().clamp(0.0, 1.0)
    batched = x.ndim == 4
    if not batched:
        x = x.unsqueeze(0)
    b, _, h, w = x.shape
    gen = torch.Generator().manual_seed(int(seed))
    lin = srgb_to_linear(x) * exposure * torch.tensor(ambient_tint).view(1, 3, 1, 1)
    if lamps:
        rng = np.random.default_rng(seed)
        yy = torch.arange(h, dtype=torch.float32).view(h, 1)
        xx = torch.arange(w, dtype=torch.float32).view(1, w)
        warm = torch.tensor([1.0, 0.75, 0.4]).view(3, 1, 1)
        for i in range(b):
            for _ in range(lamps):
                cy, cx = rng.uniform(0.1, 0.7) * h, rng.uniform(0.05, 0.95) * w
                r = lamp_radius * min(h, w) * rng.uniform(0.6, 1.4)
                pool = torch.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r * r))
                # the lamp lights the scene: its light is reflected by the day image's albedo
                lin[i] += lamp_gain * rng.uniform(0.5, 1.0) * warm * pool * srgb_to_linear(x[i])
    electrons = torch.poisson((lin * full_well).clamp_min(0.0), generator=gen)
    noisy = electrons / full_well + read_noise * torch.randn(lin.shape, generator=gen)
    out = linear_to_srgb(noisy)
    return out if batched else out[0]


@register("degradation", "lowlight")
class RandomNight(nn.Module):
    """:func:`simulate_night` with parameters drawn anew for every image: a source of synthetic
    (night, day) pairs from day images alone.

    ``CycleGAN(synthetic_pairs="lowlight")`` trains the night → day generator to undo it on the
    day batch (``weights.synthetic``), a supervised signal beside the unpaired game. Each image
    draws its exposure log-uniformly in ``exposure``, a blue-shifted tint jittered by
    ``tint_jitter``, 0 to ``max_lamps`` lamps, a full well log-uniformly in ``full_well`` and a
    read noise uniformly in ``read_noise``; seeds come from torch's global generator, so a
    seeded run draws the same nights.

    Parameters
    ----------
    exposure
        ``(low, high)`` linear-light gain of the ambient light, ``0 < low <= high <= 1``.
    tint_jitter
        Relative spread of each channel's tint around the default moonlight tint (``>= 0``).
    max_lamps
        Most lamps per image (``>= 0``).
    full_well
        ``(low, high)`` electrons for white (shot noise), ``0 < low <= high``.
    read_noise
        ``(low, high)`` Gaussian read noise in linear light, ``0 <= low <= high``.
    value_range
        Data range of the images in and out (``(0, 1)`` for ``value_range = "unit"``,
        ``(-1, 1)`` for ``"symmetric"``).

    Shape
    -----
    ``(B, 3, H, W) -> (B, 3, H, W)``, no gradient (a data transform).
    """

    def __init__(
        self,
        *,
        exposure: tuple[float, float] = (0.02, 0.08),
        tint_jitter: float = 0.1,
        max_lamps: int = 4,
        full_well: tuple[float, float] = (100.0, 1000.0),
        read_noise: tuple[float, float] = (0.002, 0.01),
        value_range: tuple[float, float] = (0.0, 1.0),
    ) -> None:
        super().__init__()
        self.exposure = _interval(exposure, "exposure", positive=True)
        if self.exposure[1] > 1.0:
            raise ValueError(f"exposure must lie in (0, 1]; got {exposure}")
        self.tint_jitter = check_nonnegative(tint_jitter, "tint_jitter")
        if isinstance(max_lamps, bool) or not isinstance(max_lamps, int) or max_lamps < 0:
            raise ValueError(f"max_lamps must be an int >= 0; got {max_lamps!r}")
        self.max_lamps = max_lamps
        self.full_well = _interval(full_well, "full_well", positive=True)
        self.read_noise = _interval(read_noise, "read_noise", positive=False)
        self.value_range = check_value_range(value_range)

    @torch.no_grad()
    def forward(self, day: Tensor) -> Tensor:
        """Night versions of a day batch, see the class docstring."""
        if day.ndim != 4 or day.shape[1] != 3:
            raise ValueError(f"RandomNight needs (B, 3, H, W) RGB; got {tuple(day.shape)}")
        lo, hi = self.value_range
        unit = ((day.float() - lo) / (hi - lo)).clamp(0.0, 1.0).cpu()
        draws = torch.rand(unit.shape[0], 8)
        seeds = torch.randint(0, 2**31 - 1, (unit.shape[0],))
        base = torch.tensor([0.75, 0.85, 1.2])
        nights = []
        for i in range(unit.shape[0]):
            u = draws[i].tolist()
            exposure = _log_uniform(self.exposure, u[0])
            tint = base * (1.0 + self.tint_jitter * (2.0 * torch.tensor(u[1:4]) - 1.0))
            night = simulate_night(
                unit[i],
                exposure=exposure,
                ambient_tint=(float(tint[0]), float(tint[1]), float(tint[2])),
                lamps=min(int(u[4] * (self.max_lamps + 1)), self.max_lamps),
                full_well=_log_uniform(self.full_well, u[5]),
                read_noise=self.read_noise[0] + u[6] * (self.read_noise[1] - self.read_noise[0]),
                seed=int(seeds[i]),
            )
            nights.append(night)
        out = torch.stack(nights) * (hi - lo) + lo
        return out.to(device=day.device, dtype=day.dtype)

    def extra_repr(self) -> str:
        return (
            f"exposure={self.exposure}, tint_jitter={self.tint_jitter}, "
            f"max_lamps={self.max_lamps}, full_well={self.full_well}, "
            f"read_noise={self.read_noise}, value_range={self.value_range}"
        )


def _log_uniform(interval: tuple[float, float], u: float) -> float:
    lo, hi = interval
    return math.exp(math.log(lo) + u * (math.log(hi) - math.log(lo)))


def _interval(value: object, name: str, *, positive: bool) -> tuple[float, float]:
    """A ``(low, high)`` pair of finite numbers with ``low <= high`` and ``low > 0`` if
    ``positive``, else ``low >= 0``."""
    pair: list[float] = []
    if isinstance(value, (tuple, list)) and len(value) == 2:
        pair = [float(v) for v in value if isinstance(v, (int, float)) and not isinstance(v, bool)]
    ok = len(pair) == 2 and all(math.isfinite(v) for v in pair)
    if ok:
        lo, hi = pair
        ok = lo <= hi and (lo > 0 if positive else lo >= 0)
    if not ok:
        need = "0 < low" if positive else "0 <= low"
        raise ValueError(
            f"{name} must be a (low, high) pair of finite numbers with {need} <= high; "
            f"got {value!r}"
        )
    return pair[0], pair[1]
