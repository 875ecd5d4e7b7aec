"""The evaluation loop: translate the inputs of aligned pairs and score them against the targets.

:func:`evaluate` reports PSNR/SSIM of the translations (:mod:`~cyclegan_ms.inference.image_metrics`)
and, as a reference, of the untranslated inputs, plus FID/KID of the translations against the
targets when an Inception network is given (:mod:`~cyclegan_ms.inference.fid`). Pairs come from
:func:`~cyclegan_ms.data.pairs.scene_pairs` (the built-in night scenes with their day renders) or
:func:`~cyclegan_ms.data.pairs.folder_pairs` (aligned folders).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field

import torch
from torch import Tensor
from typing_extensions import Unpack

from .fid import InceptionFeatures, _fid_kid_from_features
from .image_metrics import _check_pair, _unit, psnr, ssim
from .options import EvalTranslateKwargs, TranslateOptions
from .source import Direction, ModelSource
from .translate import Translator

__all__ = ["METRICS", "EvalResult", "evaluate"]

#: Metric names accepted by :func:`evaluate`.
METRICS: tuple[str, ...] = ("psnr", "ssim", "fid", "kid")


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


def _translator(
    model: ModelSource | Translator,
    direction: Direction | None,
    options: TranslateOptions | None,
    changes: EvalTranslateKwargs,
) -> Translator:
    """The Translator ``evaluate`` uses; translate options with a ready one are an error."""
    if not isinstance(model, Translator):
        return Translator(model, options, direction=direction, **changes)
    given = sorted(changes) + (["options"] if options is not None else [])
    if direction is not None and direction != model.direction:
        given.insert(0, f"direction={direction!r} (the Translator's is {model.direction!r})")
    if given:
        raise TypeError(
            f"evaluate() got a ready Translator and translate options ({', '.join(given)}), which "
            "it would ignore; build the Translator with them (Translator(model, tile=...)) or "
            "pass the model instead"
        )
    return model


@torch.no_grad()
def evaluate(
    model: ModelSource | Translator,
    pairs: Iterable[tuple[Tensor, Tensor]],
    *,
    direction: Direction | None = None,
    metrics: Sequence[str] = ("psnr", "ssim"),
    inception: InceptionFeatures | str | os.PathLike[str] | None = None,
    batch_size: int = 8,
    kid_subset_size: int = 1000,
    kid_subsets: int = 100,
    progress: bool = False,
    options: TranslateOptions | None = None,
    **translate_options: Unpack[EvalTranslateKwargs],
) -> EvalResult:
    """Translate the inputs of aligned pairs and score them against the targets.

    Parameters
    ----------
    model
        Model, generator, checkpoint path or a ready
        :class:`~cyclegan_ms.inference.Translator` (then no translate options may be given:
        they are the Translator's own).
    pairs
        Iterable of ``(input, target)`` tensors, ``(C, H, W)`` or ``(B, C, H, W)``, in the
        model's data range (e.g. :func:`scene_pairs`, :func:`folder_pairs`).
    direction
        ``"a2b"`` or ``"b2a"``; ``None``: the options' (default ``"a2b"``), or the Translator's.
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
    options
        How to translate (a :class:`~cyclegan_ms.inference.TranslateOptions`), for a model
        that is not a ready Translator. Its ``batch_size`` is the tiles per forward pass.
    **translate_options
        Fields of :class:`~cyclegan_ms.inference.TranslateOptions` (``tile``, ``overlap``,
        ``norm_stats``, ``device``...) replacing those of ``options``.

    Returns
    -------
    EvalResult

    Raises
    ------
    TypeError
        Translate options (``options``, ``tile=...``, or another ``direction``) given with a
        ready Translator, which would ignore them; or an unknown option.
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
    t = _translator(model, direction, options, translate_options)
    rng = t.value_range
    net: InceptionFeatures | None = None
    if wanted & {"fid", "kid"}:
        net = (
            inception
            if isinstance(inception, InceptionFeatures)
            else InceptionFeatures(inception, device=t.device)
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
