"""What a real camera adds to a scene: surface texture, glare, sensor noise, colour, tone, JPEG.

The image operations behind :class:`~.options.SceneOptions`, used by
:mod:`~cyclegan_ms.data.scenes.render` when an option is on. Each works on channel-first float32
buffers (``uint8`` for :func:`jpeg_quantise`), costs a small fraction of a render (matrix
products with cached matrices, windows of the fixed bank of normal samples, lookup tables) and is
a pure function of its arguments and the generator it is given.

- :func:`surface_texture`: windows of fixed sheets of multi-octave value noise
  (:func:`fractal_noise`) over the image;
- :func:`glare`: a wide, energy-preserving glow of the lights (veiling glare);
- :func:`add_sensor_noise`: signal-dependent (Poisson-Gaussian) noise in linear light, amplified
  per channel by the sensor's white-balance gains, optionally correlated as demosaicing makes
  it, with optional low-frequency colour blotches;
- :func:`saturate`: colours scaled away from their luma;
- :func:`tone_curve`: a camera response, a gamma and an S-curve;
- :func:`jpeg_quantise`: 8 x 8 DCT quantisation with the IJG tables at a quality, 4:2:0 chroma.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from .camera import F32
from .drawing import interp_matrix, noise_bank, rgb

__all__ = [
    "add_sensor_noise",
    "fractal_noise",
    "glare",
    "jpeg_quantise",
    "saturate",
    "surface_texture",
    "tone_curve",
]

LUMA = (0.299, 0.587, 0.114)  # ITU-R 601 luma weights (as JPEG's YCbCr)

# -- texture --------------------------------------------------------------------------------------
TEXTURE_CELLS = 8  # the coarsest octave has this many cells down the image ...
TEXTURE_MIN_CELL_PX = 2  # ... and octaves double until a cell is this many pixels
TEXTURE_PERSISTENCE = 1.4  # each octave's amplitude is this times the previous (coarser) one's
COLOR_OCTAVES = 2  # the colour variation uses the coarsest this many octaves
TEXTURE_SEED = 2718  # seed of the fixed texture sheets

# -- glare ----------------------------------------------------------------------------------------
GLARE_CELL_FRACTION = 1 / 12  # glare is blurred over cells of this fraction of the image height

# -- noise ----------------------------------------------------------------------------------------
DEMOSAIC_CHANNEL_CORRELATION = 0.5  # correlation of the noise between channels (``demosaic``)
CHROMA_CELL_PX = 8  # colour blotches are about this many pixels across

# -- JPEG -----------------------------------------------------------------------------------------
JPEG_LUMA_TABLE = (
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
)  # fmt: skip  # the IJG (JPEG Annex K) luminance table at quality 50
JPEG_CHROMA_TABLE = (
    17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99,
    24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99,
    *(99,) * 32,
)  # fmt: skip  # ... and chrominance table
RGB_TO_YCBCR = (
    (0.299, 0.587, 0.114),
    (-0.168736, -0.331264, 0.5),
    (0.5, -0.418688, -0.081312),
)  # JFIF; Cb and Cr are offset by 128
YCBCR_TO_RGB = ((1.0, 0.0, 1.402), (1.0, -0.344136, -0.714136), (1.0, 1.772, 0.0))


def bank_window(start: int, n: int, rng: np.random.Generator | None = None) -> np.ndarray:
    """``n`` standard normal float32 samples: the fixed bank's window at ``start`` (wrapped into
    range), or fresh draws from ``rng`` when ``n`` exceeds the bank."""
    bank = noise_bank()
    if n > bank.size:
        gen = rng if rng is not None else np.random.default_rng(start)
        return gen.standard_normal(n, dtype=F32)
    s = start % (bank.size - n + 1)
    return bank[s : s + n]


def fractal_noise(
    height: int, width: int, cells: int, rng: np.random.Generator, octaves: int | None = None
) -> np.ndarray:
    """Multi-octave value noise, float32 ``(height, width)``, mean 0 and deviation 1.

    The first octave has ``cells`` cells down the image; each next one twice as many, and
    ``TEXTURE_PERSISTENCE`` times the amplitude, until a cell would be smaller than
    ``TEXTURE_MIN_CELL_PX`` pixels (or after ``octaves`` octaves). Cells are smoothly
    interpolated (:func:`~.drawing.interp_matrix`).
    """
    out = np.zeros((height, width), F32)
    n, amp, k = cells, 1.0, 0
    while (octaves is None or k < octaves) and height / n >= TEXTURE_MIN_CELL_PX:
        m = max(2, round(n * width / height))
        g = rng.standard_normal((n, m)).astype(F32) * F32(amp)
        out += interp_matrix(height, n) @ g @ interp_matrix(width, m).T
        n, amp, k = 2 * n, amp * TEXTURE_PERSISTENCE, k + 1
    out -= out.mean()
    out /= max(float(out.std()), 1e-12)
    return out


@lru_cache(maxsize=8)
def _texture_sheets(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Fixed brightness and colour sheets twice the image's size (scenes take windows)."""
    rng = np.random.default_rng(TEXTURE_SEED)
    h, w = 2 * height, 2 * width
    lum = fractal_noise(h, w, 2 * TEXTURE_CELLS, rng)
    col = fractal_noise(h, w, 2 * TEXTURE_CELLS, rng, octaves=COLOR_OCTAVES)
    lum.setflags(write=False)
    col.setflags(write=False)
    return lum, col


def surface_texture(height: int, width: int, start: int) -> tuple[np.ndarray, np.ndarray]:
    """A scene's fractal texture: a brightness field and a slower colour field.

    Windows at ``start`` (position and one of four flips) of two fixed sheets of
    :func:`fractal_noise` twice the image's size: octaves from ``TEXTURE_CELLS`` cells down the
    image to cells of ``TEXTURE_MIN_CELL_PX`` pixels, and for the colour the coarsest
    ``COLOR_OCTAVES`` of them. A window costs nothing to take, so texture adds little to a render.

    Returns
    -------
    tuple of numpy.ndarray
        ``(brightness, color)``, read-only float32 ``(height, width)`` views, each of mean about
        0 and deviation about 1.
    """
    lum, col = _texture_sheets(height, width)
    oy = start % (height + 1)
    ox = (start // (height + 1)) % (width + 1)
    flip = (start // ((height + 1) * (width + 1))) % 4
    sy = slice(None, None, -1) if flip & 1 else slice(None)
    sx = slice(None, None, -1) if flip & 2 else slice(None)
    win = (slice(oy, oy + height), slice(ox, ox + width))
    return lum[win][sy, sx], col[win][sy, sx]


@lru_cache(maxsize=8)
def _blur_matrices(n: int) -> tuple[np.ndarray, np.ndarray]:
    """``(down (c, n), up (n, c))``: cell averages, and smooth interpolation back that returns
    each cell's total, over ``c`` cells."""
    c = max(2, round(n * GLARE_CELL_FRACTION))
    cell = np.minimum((np.arange(n) * c) // n, c - 1)
    down = np.zeros((c, n), F32)
    down[cell, np.arange(n)] = 1
    sizes = down.sum(1)
    down /= sizes[:, None]
    up = interp_matrix(n, c)
    up *= sizes / up.sum(0)  # each cell's light is spread back whole: the energy is kept
    return down, up


def glare(light: np.ndarray) -> np.ndarray:
    """A wide glow of ``light`` ``(3, H, W)`` that keeps its total energy (veiling glare).

    The light is averaged over cells of ``GLARE_CELL_FRACTION`` of the image and interpolated
    back smoothly: about as wide as a lens' veiling glare, at any resolution.

    Returns
    -------
    numpy.ndarray
        float32 ``(3, H, W)``.
    """
    _, h, w = light.shape
    dh, uh = _blur_matrices(h)
    dw, uw = _blur_matrices(w)
    out: np.ndarray = uh @ (dh @ light @ dw.T) @ uw.T
    return out


@lru_cache(maxsize=8)
def _blotch_matrices(height: int, width: int) -> tuple[np.ndarray, np.ndarray, float]:
    rows, cols = max(2, round(height / CHROMA_CELL_PX)), max(2, round(width / CHROMA_CELL_PX))
    a, b = interp_matrix(height, rows), interp_matrix(width, cols)
    var = float((a * a).sum(1).mean() * (b * b).sum(1).mean())
    return a, np.ascontiguousarray(b.T), 1 / math.sqrt(var * 2 / 3)  # 2/3: the mean is removed


def add_sensor_noise(
    lin: np.ndarray,
    rng: np.random.Generator,
    *,
    shot: float,
    read: float,
    gains: tuple[float, float, float] = (1.0, 1.0, 1.0),
    demosaic: bool = False,
    chroma: float = 0.0,
) -> None:
    """Add a camera's noise to linear light ``lin`` ``(3, H, W)`` in place (clamped at 0).

    A pixel of value ``x`` in channel ``c`` gets noise of variance
    ``g_c * shot * x + (g_c * read) ** 2``: Poisson-Gaussian noise added to the raw signal
    ``x / g_c`` (shot noise of variance ``shot`` per unit signal, read noise of deviation
    ``read``), then amplified by the sensor's white-balance gain ``g_c`` (``gains``).

    Parameters
    ----------
    rng
        Picks the window of the fixed normal bank (fresh draws for images larger than it).
    demosaic
        Correlate the noise over 2 x 2 pixels and between channels
        (``DEMOSAIC_CHANNEL_CORRELATION``), as demosaicing does; each pixel keeps its variance.
    chroma
        Add colour blotches of about ``CHROMA_CELL_PX`` pixels (zero mean over the channels)
        with this deviation relative to the pixel noise.
    """
    _, h, w = lin.shape
    if demosaic:
        win = bank_window(int(rng.integers(1 << 40)), 4 * (h + 1) * (w + 1), rng)
        win = win.reshape(4, h + 1, w + 1)
        box = win[:, :-1, :-1] + win[:, 1:, :-1]
        box += win[:, :-1, 1:]
        box += win[:, 1:, 1:]  # variance 4
        rho = DEMOSAIC_CHANNEL_CORRELATION
        noise = box[:3] * F32(math.sqrt(1 - rho) / 2)
        noise += box[3] * F32(math.sqrt(rho) / 2)
    else:
        noise = bank_window(int(rng.integers(1 << 40)), 3 * h * w, rng).reshape(3, h, w)
    if chroma > 0:
        a, bt, scale = _blotch_matrices(h, w)
        n_r, n_c = a.shape[1], bt.shape[0]
        g = bank_window(int(rng.integers(1 << 40)), 3 * n_r * n_c, rng).reshape(3, n_r, n_c)
        blot = a @ g @ bt
        blot -= blot.mean(0)
        noise = noise + blot * F32(chroma * scale)
    g = rgb(gains)
    np.maximum(lin, 0, out=lin)
    std = lin * (F32(shot) * g)
    std += F32(read * read) * g * g
    np.sqrt(std, out=std)
    std *= noise
    lin += std
    np.maximum(lin, 0, out=lin)


def saturate(img: np.ndarray, factor: float) -> None:
    """Scale the colours of ``img`` ``(3, H, W)`` away from their luma by ``factor``, in place
    (1: unchanged, 0: grey); values are not clipped."""
    y = img[0] * F32(LUMA[0])
    y += img[1] * F32(LUMA[1])
    y += img[2] * F32(LUMA[2])
    img *= F32(factor)
    img += y * F32(1 - factor)


def tone_curve(x: np.ndarray, gamma: float, contrast: float) -> np.ndarray:
    """A camera response on values in [0, 1]: ``y = x ** gamma``, then the S-curve
    ``y - contrast * sin(2 pi y) / (2 pi)`` (more contrast for ``contrast > 0``; monotonic for
    ``|contrast| < 1``)."""
    y = np.clip(x, 0.0, 1.0) ** gamma
    return np.asarray(y - contrast * np.sin(2 * np.pi * y) / (2 * np.pi))


@lru_cache(maxsize=4)
def _dct_kron() -> np.ndarray:
    """``(64, 64)`` matrix of the 2-D DCT-II of a flattened 8 x 8 block (orthonormal)."""
    k = np.arange(8)
    d = np.cos(np.pi * (2 * k[None, :] + 1) * k[:, None] / 16) * np.sqrt(2 / 8)
    d[0] /= np.sqrt(2)
    return np.kron(d, d).astype(F32)


@lru_cache(maxsize=128)
def _quant_tables(quality: int) -> tuple[np.ndarray, np.ndarray]:
    """IJG quantisation tables (luma, chroma) at ``quality``, flattened ``(64,)``."""
    scale = 5000 / quality if quality < 50 else 200 - 2 * quality
    out = []
    for table in (JPEG_LUMA_TABLE, JPEG_CHROMA_TABLE):
        q = np.floor((np.asarray(table, np.float64) * scale + 50) / 100)
        out.append(np.clip(q, 1, 255).astype(F32))
    return out[0], out[1]


def _to_blocks(planes: np.ndarray) -> np.ndarray:
    """``(c, h, w)`` planes (``h``, ``w`` multiples of 8) -> ``(c * h * w / 64, 64)`` blocks."""
    c, h, w = planes.shape
    return planes.reshape(c, h // 8, 8, w // 8, 8).transpose(0, 1, 3, 2, 4).reshape(-1, 64)


def _from_blocks(blocks: np.ndarray, c: int, h: int, w: int) -> np.ndarray:
    return blocks.reshape(c, h // 8, w // 8, 8, 8).transpose(0, 1, 3, 2, 4).reshape(c, h, w)


def jpeg_quantise(img: np.ndarray, quality: int) -> np.ndarray:
    """JPEG's lossy steps on ``img`` ``uint8 (3, H, W)``: YCbCr, 4:2:0 chroma, 8 x 8 DCT
    quantisation with the IJG tables at ``quality`` (1..100), and back.

    Returns
    -------
    numpy.ndarray
        ``uint8 (3, H, W)``.

    Raises
    ------
    ValueError
        For a quality outside [1, 100].
    """
    if isinstance(quality, bool) or not isinstance(quality, int) or not 1 <= quality <= 100:
        raise ValueError(f"quality must be an integer in [1, 100]; got {quality!r}")
    _, h, w = img.shape
    ph, pw = -h % 16, -w % 16
    x = img.astype(F32)
    if ph or pw:
        x = np.pad(x, ((0, 0), (0, ph), (0, pw)), mode="edge")
    hh, ww = h + ph, w + pw
    ycc = (np.asarray(RGB_TO_YCBCR, F32) @ x.reshape(3, -1)).reshape(3, hh, ww)
    ycc[0] -= F32(128)
    c = ycc[1:, 0::2, 0::2] + ycc[1:, 1::2, 0::2]  # 4:2:0 chroma: means of 2 x 2 pixels
    c += ycc[1:, 0::2, 1::2]
    c += ycc[1:, 1::2, 1::2]
    c *= F32(0.25)
    n_luma = hh * ww // 64
    blocks = np.concatenate([_to_blocks(ycc[:1]), _to_blocks(c)])
    k = _dct_kron()
    coef = blocks @ k.T
    q_luma, q_chroma = _quant_tables(quality)
    coef[:n_luma] /= q_luma
    coef[n_luma:] /= q_chroma
    np.rint(coef, out=coef)
    coef[:n_luma] *= q_luma
    coef[n_luma:] *= q_chroma
    back = coef @ k
    y = _from_blocks(back[:n_luma], 1, hh, ww)
    chroma = _from_blocks(back[n_luma:], 2, hh // 2, ww // 2).repeat(2, axis=1).repeat(2, axis=2)
    out = (np.asarray(YCBCR_TO_RGB, F32)[:, 1:] @ chroma.reshape(2, -1)).reshape(3, hh, ww)
    out += y
    out = out[:, :h, :w]
    out += F32(128.5)
    np.clip(out, 0, 255, out=out)
    return out.astype(np.uint8)
