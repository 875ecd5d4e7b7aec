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

import numpy as np
import torch
from torch import Tensor

__all__ = ["linear_to_srgb", "simulate_night", "srgb_to_linear"]


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
