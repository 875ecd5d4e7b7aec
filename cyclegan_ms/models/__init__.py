"""The models: networks and objectives, no loop.

Each is registered under the ``"model"`` kind and named by a ``[model]`` table's ``name``
(:func:`build_model`; ``"cyclegan"`` when absent). All of them give the
:class:`~cyclegan_ms.training.Trainer`, checkpoints, :func:`cyclegan_ms.load` and inference
the calls of :class:`~cyclegan_ms.protocols.TranslationModelProtocol`.

===============  =======================================  ============  ==============
``name``         model                                    directions    data
===============  =======================================  ============  ==============
``cyclegan``     :class:`CycleGAN` (Zhu et al. 2017)      a2b, b2a      unpaired
``cut``          :class:`CUT` (Park et al. 2020)          a2b           unpaired
``fastcut``      :class:`CUT` with FastCUT's defaults     a2b           unpaired
``pix2pix``      :class:`Pix2Pix` (Isola et al. 2017)     a2b           aligned pairs
===============  =======================================  ============  ==============
"""

from __future__ import annotations

from .base import DEFAULT_MODEL, PartSpec, as_translation_model, build_model, frozen, per_sample
from .cut import CUT, CUTOutput, cut, fastcut
from .cyclegan import CycleGAN, GeneratorOutput, LossWeights, cyclegan
from .pix2pix import Pix2Pix, Pix2PixOutput, pix2pix

__all__ = [
    "CUT",
    "DEFAULT_MODEL",
    "CUTOutput",
    "CycleGAN",
    "GeneratorOutput",
    "LossWeights",
    "PartSpec",
    "Pix2Pix",
    "Pix2PixOutput",
    "as_translation_model",
    "build_model",
    "cut",
    "cyclegan",
    "fastcut",
    "frozen",
    "per_sample",
    "pix2pix",
]
