"""The evaluation metrics by name, and which way each one is better: the one table.

:func:`~cyclegan_ms.metrics.evaluate` computes these metrics; the training config
(``train.eval_metric``), the evaluation callbacks, ``cyclegan-ms eval --metrics`` and the
benchmarks accept the same names and read from here which way is better.

>>> METRICS
('psnr', 'ssim', 'fid', 'kid')
>>> is_better("fid", 10.0, 12.0), is_better("psnr", 20.0, 21.0)
(True, False)
>>> names_or(METRICS)
'psnr, ssim, fid or kid'

``train.eval_metric`` also accepts :data:`UNPAIRED`, the selection score of
:mod:`~cyclegan_ms.metrics.selection` that needs no ground truth (higher is better):

>>> EVAL_METRICS
('psnr', 'ssim', 'fid', 'kid', 'unpaired')
>>> is_better("unpaired", 0.3, 0.2), sorted(NO_TRUTH_METRICS)
(True, ['fid', 'kid', 'unpaired'])
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Literal, TypeAlias, get_args

__all__ = [
    "EVAL_METRICS",
    "HIGHER_IS_BETTER",
    "INCEPTION_METRICS",
    "METRICS",
    "NO_TRUTH_METRICS",
    "UNPAIRED",
    "EvalMetricName",
    "MetricName",
    "is_better",
    "names_or",
]

#: The name of a metric :func:`~cyclegan_ms.metrics.evaluate` computes (for type checkers; the
#: names and their order are those of :data:`HIGHER_IS_BETTER`).
MetricName: TypeAlias = Literal["psnr", "ssim", "fid", "kid"]

#: Every metric :func:`~cyclegan_ms.metrics.evaluate` computes, in order, and whether a higher
#: value is better (PSNR in dB and SSIM against ground truth: yes; FID and KID, distances between
#: the translations and the targets: no).
HIGHER_IS_BETTER: Mapping[str, bool] = MappingProxyType(
    {"psnr": True, "ssim": True, "fid": False, "kid": False}
)

#: The metric names, in the order of :data:`HIGHER_IS_BETTER`.
METRICS: tuple[str, ...] = tuple(HIGHER_IS_BETTER)

#: The metrics that need an InceptionV3 feature extractor (see :mod:`~cyclegan_ms.metrics.fid`).
INCEPTION_METRICS: frozenset[str] = frozenset({"fid", "kid"})

#: The ground-truth-free selection score (:class:`~cyclegan_ms.metrics.selection.UnpairedSelection`):
#: a value of ``train.eval_metric`` beside :data:`METRICS`; higher is better.
UNPAIRED = "unpaired"

#: A value of ``train.eval_metric``: a metric of :data:`METRICS` or :data:`UNPAIRED`.
EvalMetricName: TypeAlias = Literal["psnr", "ssim", "fid", "kid", "unpaired"]

#: Every score that can pick the best checkpoint (``train.eval_metric``), in order, and whether a
#: higher value is better: :data:`HIGHER_IS_BETTER` and the selection score :data:`UNPAIRED`.
_EVAL_HIGHER_IS_BETTER: Mapping[str, bool] = MappingProxyType({**HIGHER_IS_BETTER, UNPAIRED: True})

#: The names ``train.eval_metric`` accepts, in order.
EVAL_METRICS: tuple[str, ...] = tuple(_EVAL_HIGHER_IS_BETTER)

#: The scores that need no ground truth (FID, KID and the selection score): the ones an
#: evaluation on unpaired folders can compute.
NO_TRUTH_METRICS: frozenset[str] = INCEPTION_METRICS | {UNPAIRED}

if (
    set(get_args(MetricName)) != set(METRICS)
    or not set(METRICS) >= INCEPTION_METRICS
    or set(get_args(EvalMetricName)) != set(EVAL_METRICS)
):
    raise AssertionError("MetricName, EvalMetricName and the tables disagree")


def is_better(metric: str, value: float, best: float | None) -> bool:
    """Whether ``value`` of ``metric`` improves on ``best`` (any finite value beats ``None``).

    Parameters
    ----------
    metric
        A name of :data:`EVAL_METRICS` (a metric of :data:`METRICS` or :data:`UNPAIRED`).
    value
        The new score; a non-finite one is never better.
    best
        The best score so far, or ``None``.

    Returns
    -------
    bool

    Raises
    ------
    KeyError
        For a name that is not a metric.

    Shape
    -----
    No tensors: scalars only.
    """
    higher = _EVAL_HIGHER_IS_BETTER[metric]
    if not math.isfinite(value):
        return False
    if best is None:
        return True
    return value > best if higher else value < best


def names_or(names: Iterable[str]) -> str:
    """``"a, b, c or d"``: names for an error message.

    Shape
    -----
    No tensors: strings only.
    """
    items = list(names)
    if len(items) < 2:
        return "".join(items)
    return f"{', '.join(items[:-1])} or {items[-1]}"
