"""The evaluation loop: translate the inputs of aligned pairs and score them against the targets.

:func:`evaluate` reports PSNR/SSIM of the translations (:mod:`~cyclegan_ms.metrics.image`) and,
as a reference, of the untranslated inputs, plus FID/KID of the translations against the targets
when an Inception network is given (:mod:`~cyclegan_ms.metrics.fid`). Pairs come from
:func:`~cyclegan_ms.data.pairs.scene_pairs` (the built-in night scenes with their day renders) or
:func:`~cyclegan_ms.data.pairs.folder_pairs` (aligned folders).

**Layering.** :mod:`cyclegan_ms.metrics` sits below :mod:`cyclegan_ms.training` (whose evaluation
callbacks use it) and below :mod:`cyclegan_ms.inference` (which loads checkpoints, so it sits
above training), so it does not build translators: :func:`evaluate` takes a ready one, anything
with the :class:`BatchTranslator` interface, in practice an
:class:`~cyclegan_ms.inference.Translator`. Turning a model, checkpoint or Translator plus
translate options into one is :func:`cyclegan_ms.inference.as_translator`'s job::

    evaluate(as_translator(model, tile=512), scene_pairs(100))
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Protocol

import torch
from torch import Tensor

from .fid import InceptionFeatures, fid_kid_from_features
from .image import check_same_shape, psnr, ssim, to_unit
from .names import INCEPTION_METRICS, METRICS

__all__ = ["BatchTranslator", "EvalResult", "evaluate"]


class BatchTranslator(Protocol):
    """What :func:`evaluate` needs of a translator: an
    :class:`~cyclegan_ms.inference.Translator` has it.

    Attributes
    ----------
    value_range
        The data range of its input and output tensors.
    device
        Where it translates (inputs are moved there, and Inception runs there).

    Shape
    -----
    ``tensor``: ``(B, C, H, W) -> (B, C_out, H, W)``.
    """

    value_range: tuple[float, float]
    device: torch.device

    def tensor(self, x: Tensor) -> Tensor:
        """Translate a float batch in :attr:`value_range`."""
        ...


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
    translator: BatchTranslator,
    pairs: Iterable[tuple[Tensor, Tensor]],
    *,
    metrics: Sequence[str] = ("psnr", "ssim"),
    inception: InceptionFeatures | str | os.PathLike[str] | None = None,
    batch_size: int = 8,
    kid_subset_size: int = 1000,
    kid_subsets: int = 100,
    progress: bool = False,
) -> EvalResult:
    """Translate the inputs of aligned pairs and score them against the targets.

    Parameters
    ----------
    translator
        A ready translator, e.g. an :class:`~cyclegan_ms.inference.Translator`
        (:func:`~cyclegan_ms.inference.as_translator` builds one from a model, checkpoint or
        translate options). Its ``batch_size`` is the tiles per forward pass.
    pairs
        Iterable of ``(input, target)`` tensors, ``(C, H, W)`` or ``(B, C, H, W)``, in the
        translator's data range (e.g. :func:`~cyclegan_ms.data.pairs.scene_pairs`,
        :func:`~cyclegan_ms.data.pairs.folder_pairs`).
    metrics
        Names of :data:`~cyclegan_ms.metrics.names.METRICS` (``"psnr"``, ``"ssim"``, ``"fid"``,
        ``"kid"``). FID/KID are added automatically when ``inception`` is given.
    inception
        Inception features or their TorchScript file, for FID/KID (``None``: the environment
        variable :data:`~cyclegan_ms.metrics.fid.INCEPTION_ENV`, read only if FID/KID are
        requested).
    batch_size
        Images per translation batch.
    kid_subset_size, kid_subsets
        KID subsets.
    progress
        Show a tqdm bar over the batches.

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
        wanted |= INCEPTION_METRICS
    rng = translator.value_range
    net: InceptionFeatures | None = None
    if wanted & INCEPTION_METRICS:
        net = (
            inception
            if isinstance(inception, InceptionFeatures)
            else InceptionFeatures(inception, device=translator.device)
        )
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
        pred = translator.tensor(x.to(translator.device)).cpu()
        y = y.cpu()
        check_same_shape(pred, y)
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
            dev = translator.device
            feats_fake.append(net(to_unit(pred, rng).to(dev)).cpu())
            feats_real.append(net(to_unit(y, rng).to(dev)).cpu())
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
        scores = fid_kid_from_features(
            torch.cat(feats_fake),
            torch.cat(feats_real),
            kid_subset_size=kid_subset_size,
            kid_subsets=kid_subsets,
        )
        if "fid" in wanted:
            result.fid = scores["fid"]
        if "kid" in wanted:
            result.kid, result.kid_std = scores["kid"], scores["kid_std"]
    return result
