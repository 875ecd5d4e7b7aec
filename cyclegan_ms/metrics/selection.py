"""Choosing a checkpoint without ground truth: the unpaired selection score.

A user's own night photographs have no day truth, so the periodic evaluation of a run on them
cannot say PSNR or SSIM. :class:`UnpairedSelection` scores a translator on held-out domain-A
images against a held-out set of domain-B images (not matched to them) with three measures that
need no truth:

* **KID** of the translations against the held-out B images (Inception features,
  :mod:`~cyclegan_ms.metrics.fid`): how day-like the translations look as a set. It becomes the
  *realism* ``1 - KID / KID_input``, where ``KID_input`` is the untranslated inputs' KID to the
  same B images (computed once): 0 = no more day-like than the night itself, 1 = as close as KID
  can tell; clipped to ``[0, 1]``.
* **structure kept**: :func:`~cyclegan_ms.metrics.structure_ssim` of each input against its own
  translation (the input's luma shifted and scaled to the translation's global mean and standard
  deviation, then SSIM of the luma): what of the input's edges and shapes the translation keeps;
  a generator that paints a memorised scene over every input loses it. The input is matched to
  the translation (not the other way round) so that SSIM's constants work at the translation's
  day contrast: on the built-in scenes the day truth then keeps 0.34 of its night's structure
  and another scene's day 0.23 (0.27 and 0.17 the other way round: the dark input's small
  contrast drowns in the constants). Clipped to ``[0, 1]``.
* **cycle error** ``mean |G_ba(G_ab(a)) - a|`` on the [0, 1] scale, for models with both
  directions (CycleGAN). It becomes *cycle kept* ``s / (s + e)``, with ``s`` the inputs' own
  spread ``mean |a - mean(a)|`` (the error of rebuilding each input as a flat grey): 1 for a
  perfect round trip, ½ when the error is as large as a flat grey's. One-sided models (CUT,
  pix2pix, distilled students) have no way back: the factor is left out and the reason recorded.

The **selection score** (:func:`selection_score`) is their product::

    score = realism × structure_kept × cycle_kept          (cycle_kept left out when skipped)

Why a product: the terms are in different units (a kernel distance, an SSIM, an L1 error) and
without ground truth there is nothing to fit weights to. A product needs no weights: it ranks as
the sum of the logarithms, so each term's *relative* change counts the same whatever its scale.
And it is zero when either failure is complete: the do-nothing translator (the input itself keeps
all its structure and cycles perfectly, but its realism is 0) and a generator that paints the
same day scene over every input (realism high, structure kept near 0). A weighted sum is won by
the do-nothing translator (structure 1, cycle error 0) unless its weights are tuned per data set.
The weakness: structure kept rewards keeping the night's noise and darkness too, so the score
trades realism against it; how far its pick lies from the ground-truth-best checkpoint is
measured by ``benchmarks/selection.py`` on the built-in scenes.

:class:`~cyclegan_ms.training.callbacks.PeriodicEval` computes it every ``train.eval_every``
steps with ``train.eval_metric = "unpaired"`` and keeps ``best.safetensors`` by it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import torch
from torch import Tensor

from .evaluation import BatchTranslator
from .fid import InceptionFeatures, kernel_distance
from .image import psnr, ssim, structure_ssim, to_unit

__all__ = ["SELECTION_TERMS", "SelectionScores", "UnpairedSelection", "selection_score"]

#: The score and its terms as :meth:`SelectionScores.as_dict` names them (logged as
#: ``eval_<name>``), each with whether a higher value is better (``unpaired_kid_input``, the same
#: for every checkpoint, is not among them).
SELECTION_TERMS: Mapping[str, bool] = MappingProxyType(
    {
        "unpaired": True,
        "unpaired_kid": False,
        "unpaired_realism": True,
        "unpaired_structure": True,
        "unpaired_cycle": False,
        "unpaired_cycle_kept": True,
    }
)


def selection_score(realism: float, structure: float, cycle_kept: float | None = None) -> float:
    """The unpaired selection score: ``realism × structure × cycle_kept`` (see the module docs).

    Parameters
    ----------
    realism
        ``1 - KID / KID_input``; clipped to ``[0, 1]`` here.
    structure
        Mean structure SSIM of the inputs against their translations; clipped to ``[0, 1]``.
    cycle_kept
        ``s / (s + e)`` of the cycle error ``e`` and the inputs' spread ``s`` (in ``(0, 1]``);
        ``None`` for a model without the way back (the factor is left out).

    Returns
    -------
    float
        In ``[0, 1]``; higher is better. ``nan`` if a term is ``nan``.

    Shape
    -----
    No tensors: scalars only.

    Examples
    --------
    >>> selection_score(0.5, 0.8), selection_score(0.5, 0.8, 0.5), selection_score(-0.2, 0.9)
    (0.4, 0.2, 0.0)
    """
    terms = [realism, structure] + ([] if cycle_kept is None else [cycle_kept])
    if any(math.isnan(t) for t in terms):
        return math.nan
    return math.prod(min(1.0, max(0.0, t)) for t in terms)


@dataclass(frozen=True)
class SelectionScores:
    """What :meth:`UnpairedSelection.score` measured.

    Attributes
    ----------
    n
        Number of inputs translated.
    score
        :func:`selection_score` of the terms below (higher is better).
    kid, kid_input
        KID of the translations and of the untranslated inputs against the held-out B images.
    realism
        ``1 - kid / kid_input``, unclipped.
    structure
        Mean structure SSIM of each input against its translation.
    cycle, cycle_kept
        Mean cycle error ``|G_ba(G_ab(a)) - a|`` on [0, 1] and ``s / (s + cycle)``; ``None``
        when skipped.
    cycle_skipped
        Why there is no cycle error (``None`` when there is one).
    psnr, ssim
        Against ground truth, when it was given (``None`` otherwise).
    """

    n: int
    score: float
    kid: float
    kid_input: float
    realism: float
    structure: float
    cycle: float | None = None
    cycle_kept: float | None = None
    cycle_skipped: str | None = None
    psnr: float | None = None
    ssim: float | None = None

    def as_dict(self) -> dict[str, float | str]:
        """Flat record: ``unpaired`` (the score), ``unpaired_kid``, ``unpaired_kid_input``,
        ``unpaired_realism``, ``unpaired_structure``, ``unpaired_cycle`` and
        ``unpaired_cycle_kept`` or ``unpaired_cycle_skipped`` (the reason), and ``psnr``/``ssim``
        when ground truth was given.

        Shape
        -----
        No tensors: scalars and strings only.
        """
        out: dict[str, float | str] = {
            "unpaired": self.score,
            "unpaired_kid": self.kid,
            "unpaired_kid_input": self.kid_input,
            "unpaired_realism": self.realism,
            "unpaired_structure": self.structure,
        }
        if self.cycle is not None and self.cycle_kept is not None:
            out["unpaired_cycle"] = self.cycle
            out["unpaired_cycle_kept"] = self.cycle_kept
        if self.cycle_skipped is not None:
            out["unpaired_cycle_skipped"] = self.cycle_skipped
        if self.psnr is not None:
            out["psnr"] = self.psnr
        if self.ssim is not None:
            out["ssim"] = self.ssim
        return out


def _by_shape(images: Sequence[Tensor], batch_size: int) -> Iterator[list[int]]:
    """Indices of ``images`` in batches of one shape, at most ``batch_size`` each, in order."""
    batch: list[int] = []
    for i, x in enumerate(images):
        if batch and (x.shape != images[batch[0]].shape or len(batch) >= batch_size):
            yield batch
            batch = []
        batch.append(i)
    if batch:
        yield batch


class UnpairedSelection:
    """Score translators on held-out inputs against held-out domain-B images, without truth.

    The Inception features of the held-out B images and the inputs' own KID to them
    (``kid_input``) are computed once, here; each :meth:`score` translates the inputs and
    computes the terms of :func:`selection_score` (see the module docs).

    Parameters
    ----------
    inputs
        Held-out domain-A images, each ``(C, H, W)`` in ``data_range`` (sizes may differ), at
        least 2.
    references
        Held-out domain-B images, not matched to the inputs, each ``(3, H', W')`` in
        ``data_range`` (any sizes: Inception resizes them), at least 2.
    inception
        :class:`~cyclegan_ms.metrics.InceptionFeatures` or its TorchScript file (``None``: the
        environment's, :func:`~cyclegan_ms.metrics.find_inception_weights`).
    data_range
        ``(low, high)`` of the images.
    truths
        The ground truth of each input (same shapes), when there is one: :meth:`score` then also
        reports PSNR and SSIM against it.
    device
        Where Inception runs.
    batch_size
        Images per translation and Inception batch.
    kid_subsets
        KID subsets (each as large as the smaller set).

    Raises
    ------
    ValueError
        Fewer than 2 inputs or references (the message says KID needs held-out B images),
        truths that do not match the inputs, or inputs whose KID to the references is not
        positive (nothing for realism to measure).
    FileNotFoundError
        No Inception weights (the message says where to put them).
    ImportError
        Without torchmetrics (the ``metrics`` extra).

    Shape
    -----
    Inputs ``(C, H, W)`` each; references ``(3, H', W')`` each; features ``(N, D)`` inside.
    """

    def __init__(
        self,
        inputs: Sequence[Tensor],
        references: Sequence[Tensor],
        *,
        inception: InceptionFeatures | str | os.PathLike[str] | None = None,
        data_range: tuple[float, float] = (0.0, 1.0),
        truths: Sequence[Tensor] | None = None,
        device: str | torch.device = "cpu",
        batch_size: int = 8,
        kid_subsets: int = 100,
    ) -> None:
        if len(references) < 2:
            raise ValueError(
                "the unpaired selection score needs held-out domain-B images for its KID: got "
                f"{len(references)} (at least 2; more than 50 for a stable KID)"
            )
        if len(inputs) < 2:
            raise ValueError(
                f"the unpaired selection score needs at least 2 held-out inputs; got {len(inputs)}"
            )
        if truths is not None and (
            len(truths) != len(inputs)
            or any(t.shape != x.shape for t, x in zip(truths, inputs, strict=False))
        ):
            raise ValueError("truths must match the inputs one to one, in shape")
        if batch_size < 1 or kid_subsets < 1:
            raise ValueError(
                f"batch_size and kid_subsets must be >= 1; got {batch_size} and {kid_subsets}"
            )
        self.inputs = [x.detach().cpu() for x in inputs]
        self.truths = None if truths is None else [t.detach().cpu() for t in truths]
        self.data_range = (float(data_range[0]), float(data_range[1]))
        self.device = torch.device(device)
        self.batch_size = batch_size
        self.kid_subsets = kid_subsets
        self.net = (
            inception
            if isinstance(inception, InceptionFeatures)
            else InceptionFeatures(inception, device=self.device)
        )
        refs = [r.detach().cpu() for r in references]
        self.reference_features = self._features(refs)
        #: KID of the untranslated inputs to the references: realism's zero.
        self.kid_input = self._kid(self._features(self.inputs))
        if not self.kid_input > 0:
            raise ValueError(
                f"the held-out inputs' KID to the held-out B images is {self.kid_input:.3g} (not "
                "> 0): to Inception they already look alike on these sets, so the selection "
                "score cannot measure realism; use more, or more typical, held-out images"
            )
        unit = [to_unit(x, self.data_range)[0] for x in self.inputs]
        #: Mean ``|a - mean(a)|`` of the inputs on [0, 1]: the cycle error of a flat grey.
        self.spread = float(torch.stack([(u - u.mean()).abs().mean() for u in unit]).mean())

    @torch.no_grad()
    def _features(self, images: Sequence[Tensor]) -> Tensor:
        feats = []
        for idx in _by_shape(images, self.batch_size):
            x = to_unit(torch.stack([images[i] for i in idx]), self.data_range)
            feats.append(self.net(x.to(self.device)).cpu())
        return torch.cat(feats)

    def _kid(self, features: Tensor) -> float:
        return kernel_distance(features, self.reference_features, subsets=self.kid_subsets)[0]

    @torch.no_grad()
    def score(
        self,
        translator: BatchTranslator,
        back: BatchTranslator | None = None,
        *,
        cycle_skipped: str | None = None,
    ) -> SelectionScores:
        """Translate the inputs with ``translator`` and score the translations.

        Parameters
        ----------
        translator
            The A → B translator (e.g. an :class:`~cyclegan_ms.inference.Translator`), in this
            selection's data range.
        back
            The B → A translator for the cycle error; ``None``: no cycle term.
        cycle_skipped
            Why there is no ``back`` (recorded in the scores; default: "no B→A translator").

        Returns
        -------
        SelectionScores

        Shape
        -----
        Each input ``(C, H, W)`` → translation ``(C, H, W)`` inside; scalars out.
        """
        rng = self.data_range
        fake: list[Tensor] = []
        structure: list[Tensor] = []
        cycle: list[Tensor] = []
        truth_psnr: list[Tensor] = []
        truth_ssim: list[Tensor] = []
        for idx in _by_shape(self.inputs, self.batch_size):
            x = torch.stack([self.inputs[i] for i in idx])
            pred = translator.tensor(x.to(translator.device)).cpu().float()
            structure.append(structure_ssim(x, pred, data_range=rng))
            fake.append(self.net(to_unit(pred, rng).to(self.device)).cpu())
            if back is not None:
                rec = back.tensor(pred.to(back.device)).cpu().float()
                err = (to_unit(rec, rng) - to_unit(x, rng)).abs().flatten(1).mean(1)
                cycle.append(err)
            if self.truths is not None:
                y = torch.stack([self.truths[i] for i in idx])
                truth_psnr.append(psnr(pred, y, data_range=rng))
                truth_ssim.append(ssim(pred, y, data_range=rng))
        kid = self._kid(torch.cat(fake))
        realism = 1.0 - kid / self.kid_input
        kept = float(torch.cat(structure).mean())
        cyc = float(torch.cat(cycle).mean()) if cycle else None
        cyc_kept = None
        if cyc is not None:  # flat inputs rebuilt exactly: nothing lost
            cyc_kept = self.spread / (self.spread + cyc) if self.spread + cyc > 0 else 1.0
        return SelectionScores(
            n=len(self.inputs),
            score=selection_score(realism, kept, cyc_kept),
            kid=kid,
            kid_input=self.kid_input,
            realism=realism,
            structure=kept,
            cycle=cyc,
            cycle_kept=cyc_kept,
            cycle_skipped=None if back is not None else (cycle_skipped or "no B→A translator"),
            psnr=float(torch.cat(truth_psnr).mean()) if truth_psnr else None,
            ssim=float(torch.cat(truth_ssim).mean()) if truth_ssim else None,
        )
