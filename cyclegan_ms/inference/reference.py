"""Import checkpoints of the reference CycleGAN / pix2pix implementation.

The reference (`junyanz/pytorch-CycleGAN-and-pix2pix
<https://github.com/junyanz/pytorch-CycleGAN-and-pix2pix>`_) saves each network as a plain
``state_dict`` (``latest_net_G_A.pth``, ``latest_net_G.pth``, ``latest_net_D.pth``). Its
``ResnetGenerator``, ``UnetGenerator``, ``NLayerDiscriminator`` and ``PixelDiscriminator``
are this library's ``resnet_9blocks``/``resnet_6blocks``, ``unet_256``/``unet_128``,
``patchgan`` and ``pixel``, layer for layer; :func:`import_reference` reads such a file
(``torch.load(weights_only=True)``: tensors only), works out or checks the architecture,
maps the keys, and returns the network with its card: data range ``(-1, 1)``, direction,
and where it came from. ``cyclegan-ms import`` writes the result as a generator file
(:func:`~cyclegan_ms.inference.save_generator`) that ``translate``, ``export``, ``eval`` and
video accept like any other; they also take the ``.pth`` itself
(:func:`~cyclegan_ms.inference.resolve_generator_card` imports it).

What real files contain, and what is done with it:

* the ``module.`` prefix of a network saved inside ``DataParallel``: removed;
* ``running_mean``/``running_var``/``num_batches_tracked`` on instance-norm layers (PyTorch
  0.4-era saves): dropped, as the reference itself does when it loads;
* convolutions without a bias (the reference drops the bias of every convolution followed by a
  norm unless the norm is instance norm, so also with ``--norm none``, and of the pixel
  discriminator's last one with those norms): a zero bias here, which computes the same;
* dropout has no weights: ``resnet_*`` files show it (it shifts the keys of the residual
  blocks), ``unet_*`` files do not; the reference's pix2pix default (dropout on) is assumed.

The reference tests a pix2pix model in train mode unless ``--eval`` is given, one image at a
time: batch norm then normalises each image with its own statistics and dropout stays on.
``test_mode="train"`` builds the network that does this whatever mode it is in (its batch norms
become affine instance norms with the same weights, its dropout
:class:`~cyclegan_ms.layers.AlwaysDropout`), recorded in its registry config; ``"eval"`` (the
default) is ``--eval``.
"""

from __future__ import annotations

import dataclasses
import os
import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Literal, TypeAlias, get_args

import torch
import torch.nn as nn
from torch import Tensor

from ..generators import card_of, set_card
from ..generators.card import Direction, check_direction
from ..layers import DropoutMode, NormSpec
from ..registry import build

__all__ = [
    "REFERENCE_ARCHS",
    "REFERENCE_VALUE_RANGE",
    "ReferenceArch",
    "ReferenceNorm",
    "ReferenceSpec",
    "TestMode",
    "convert_reference_state",
    "detect_reference",
    "import_reference",
    "read_reference_state",
]

#: The reference architectures, by this library's registry names (the reference's
#: ``--netD basic`` and ``n_layers`` are ``patchgan``).
ReferenceArch: TypeAlias = Literal[
    "resnet_9blocks", "resnet_6blocks", "unet_256", "unet_128", "patchgan", "pixel"
]
#: The reference's ``--norm``.
ReferenceNorm: TypeAlias = Literal["instance", "batch", "none"]
#: How the imported network runs: ``"eval"`` as the reference's ``test.py --eval``, ``"train"``
#: as its ``test.py`` without it (batch statistics and dropout).
TestMode: TypeAlias = Literal["eval", "train"]

REFERENCE_ARCHS: tuple[str, ...] = get_args(ReferenceArch)
_GENERATORS = ("resnet_9blocks", "resnet_6blocks", "unet_256", "unet_128")
_NORMS: tuple[str, ...] = get_args(ReferenceNorm)
_TEST_MODES: tuple[str, ...] = get_args(TestMode)
_RESNET_BLOCKS = {"resnet_9blocks": 9, "resnet_6blocks": 6}
_UNET_DOWNS = {"unet_256": 8, "unet_128": 7}
_STALE = ("running_mean", "running_var", "num_batches_tracked")

#: Data range of every reference network: images normalised to [-1, 1], tanh outputs.
REFERENCE_VALUE_RANGE = (-1.0, 1.0)


@dataclasses.dataclass(frozen=True)
class ReferenceSpec:
    """What a reference checkpoint holds, as far as its tensors tell.

    Parameters
    ----------
    arch
        Registry name of the matching network (:data:`ReferenceArch`).
    norm
        The reference's ``--norm``.
    in_channels, out_channels
        Image channels in and out (``out_channels`` is 1 for a discriminator).
    width
        ``ngf`` of a generator, ``ndf`` of a discriminator.
    use_dropout
        Whether the generator has dropout (``False`` for discriminators).
    n_layers
        ``patchgan`` only: its stride-2 convolutions (the reference's ``--n_layers_D``).
    """

    arch: str
    norm: str
    in_channels: int
    out_channels: int
    width: int
    use_dropout: bool = False
    n_layers: int | None = None

    @property
    def is_generator(self) -> bool:
        """Whether it is one of the generators (else a discriminator)."""
        return self.arch in _GENERATORS

    def describe(self) -> str:
        """One line, e.g. ``resnet_9blocks (norm=instance, ngf=64, 3 -> 3 channels)``."""
        if self.is_generator:
            drop = ", dropout" if self.use_dropout else ""
            return (
                f"{self.arch} (norm={self.norm}, ngf={self.width}{drop}, "
                f"{self.in_channels} -> {self.out_channels} channels)"
            )
        layers = f", n_layers={self.n_layers}" if self.n_layers is not None else ""
        return (
            f"{self.arch} (norm={self.norm}, ndf={self.width}{layers}, {self.in_channels} channels)"
        )


def read_reference_state(path: str | os.PathLike[str]) -> dict[str, Tensor]:
    """Read a reference checkpoint: a ``state_dict`` of tensors, nothing else.

    Loads with ``torch.load(weights_only=True)`` on the CPU and removes the ``module.`` prefix of
    a ``DataParallel`` save.

    Parameters
    ----------
    path
        The ``.pth`` file.

    Returns
    -------
    dict[str, Tensor]
        Key to tensor, in the file's order.

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    ValueError
        If the file holds anything but a flat mapping of names to tensors (one line saying what).
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"no reference checkpoint at {p}")
    try:
        obj = torch.load(p, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, AttributeError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(
            f"{p} is not a file of tensors that torch.load(weights_only=True) accepts ({first}); "
            "a reference checkpoint is a plain state_dict"
        ) from None
    return _tensors_only(obj, str(p))


def _tensors_only(obj: object, where: str) -> dict[str, Tensor]:
    if not isinstance(obj, Mapping):
        raise ValueError(
            f"{where} holds a {type(obj).__name__}, not a state_dict (a mapping of names to "
            "tensors)"
        )
    state: dict[str, Tensor] = {}
    for key, value in obj.items():
        if not isinstance(key, str) or not isinstance(value, Tensor):
            raise ValueError(
                f"{where} holds more than tensors: entry {key!r} is of type {type(value).__name__}; a "
                "reference checkpoint is a plain state_dict of tensors"
            )
        state[key] = value
    if not state:
        raise ValueError(f"{where} holds no tensors")
    if all(k.startswith("module.") for k in state):  # saved from inside DataParallel
        state = {k[len("module.") :]: v for k, v in state.items()}
    return state


# --------------------------------------------------------------------------- keys
def _patchgan_key(key: str) -> str:
    # reference: model.0 conv, model.1 LeakyReLU, then (conv, norm, LeakyReLU) per block at
    # 3n-1, 3n, 3n+1 for n = 1..n_layers, and the head conv at 3 n_layers + 2
    head, _, rest = key.partition(".")
    idx, _, leaf = rest.partition(".")
    if head != "model" or not idx.isdigit():
        return key
    i = int(idx)
    if i == 0:
        return f"blocks.0.0.{leaf}"
    n, r = divmod(i + 1, 3)
    if r == 0:
        return f"blocks.{n}.0.{leaf}"
    if r == 1:
        return f"blocks.{n}.1.{leaf}"
    return f"model.{i}.{leaf}"  # a layer without weights: keep it so it fails as unexpected


_PIXEL = {"net.0": "first.0", "net.2": "second.0", "net.3": "second.1", "net.5": "head"}


def _pixel_key(key: str) -> str:
    module, _, leaf = key.rpartition(".")
    return f"{_PIXEL[module]}.{leaf}" if module in _PIXEL else key


def _is_head_key(key: str, spec: ReferenceSpec) -> bool:
    return spec.arch == "patchgan" and key.startswith(f"model.{3 * (spec.n_layers or 0) + 2}.")


def _reference_key(key: str, spec: ReferenceSpec) -> str:
    if spec.arch == "pixel":
        return _pixel_key(key)
    if spec.arch == "patchgan":
        if _is_head_key(key, spec):
            return "head." + key.rpartition(".")[2]
        return _patchgan_key(key)
    return key  # the generators have the reference's keys


# --------------------------------------------------------------------------- detection
class _Mismatch(ValueError):
    """The first key or shape of a file that does not fit an architecture."""


def _weight(state: Mapping[str, Tensor], key: str, ndim: int = 4) -> Tensor:
    t = state.get(key)
    if t is None:
        raise _Mismatch(f"it has no key {key!r}")
    if t.ndim != ndim:
        raise _Mismatch(f"{key!r} has shape {tuple(t.shape)}, not a {ndim}-d convolution weight")
    return t


def _index(key: str) -> int | None:
    """``i`` of a key ``model.<i>.…`` (a layer of a reference ``nn.Sequential``), else ``None``."""
    parts = key.split(".")
    return int(parts[1]) if len(parts) > 2 and parts[0] == "model" and parts[1].isdigit() else None


def _unet_depth(key: str) -> int:
    """The U-Net level a key of the outermost level's submodule is in (2 for that submodule)."""
    # a level's submodule is ``model.3`` inside it (the innermost level's ``model.3`` is its
    # transposed convolution: a leaf follows it directly)
    parts = key.split(".")
    return 2 + sum(1 for i in range(len(parts) - 3) if parts[i : i + 2] == ["model", "3"])


def _infer(
    state: Mapping[str, Tensor], arch: str, norm: str, use_dropout: bool | None
) -> ReferenceSpec:
    """The spec of ``arch`` whose sizes the file's tensors give (``_Mismatch`` when they do not)."""
    if arch in _RESNET_BLOCKS:
        first = _weight(state, "model.1.weight")
        blocks = {_index(k) for k in state if ".conv_block." in k} - {None}
        if len(blocks) != _RESNET_BLOCKS[arch]:
            raise _Mismatch(
                f"it has {len(blocks)} residual blocks, {arch} has {_RESNET_BLOCKS[arch]}"
            )
        last = _weight(state, f"model.{_RESNET_BLOCKS[arch] + 17}.weight")
        if use_dropout is None:  # dropout shifts the second convolution of every block
            use_dropout = any(
                k.endswith(".conv_block.6.weight") and v.ndim == 4 for k, v in state.items()
            )
        return ReferenceSpec(arch, norm, first.shape[1], last.shape[0], first.shape[0], use_dropout)
    if arch in _UNET_DOWNS:
        first = _weight(state, "model.model.0.weight")
        last = _weight(state, "model.model.3.weight")
        depth = max((_unet_depth(k) for k in state if k.startswith("model.model.1.")), default=1)
        if depth != _UNET_DOWNS[arch]:
            raise _Mismatch(f"it has {depth} U-Net levels, {arch} has {_UNET_DOWNS[arch]}")
        drop = True if use_dropout is None else use_dropout
        return ReferenceSpec(arch, norm, first.shape[1], last.shape[1], first.shape[0], drop)
    if arch == "patchgan":
        first = _weight(state, "model.0.weight")
        convs = sorted(
            i
            for k, v in state.items()
            if (i := _index(k)) is not None and k.endswith(".weight") and v.ndim == 4
        )
        n_layers = (convs[-1] - 2) // 3
        if n_layers < 1 or convs[-1] != 3 * n_layers + 2:
            raise _Mismatch(f"its last convolution is model.{convs[-1]}, not a PatchGAN head")
        return ReferenceSpec(arch, norm, first.shape[1], 1, first.shape[0], n_layers=n_layers)
    if arch == "pixel":
        first = _weight(state, "net.0.weight")
        return ReferenceSpec(arch, norm, first.shape[1], 1, first.shape[0])
    raise ValueError(f"unknown reference arch {arch!r}; accepted: {', '.join(REFERENCE_ARCHS)}")


def _norm_spec(norm: str, test_mode: str) -> NormSpec:
    if norm == "batch" and test_mode == "train":
        # batch norm in train mode on test.py's batches of one image: the statistics of each
        # image, with batch norm's affine (the same weights); so in any mode, batch size and tiling
        return ("instance", {"affine": True})
    return norm


def _build(spec: ReferenceSpec, test_mode: str) -> nn.Module:
    norm = _norm_spec(spec.norm, test_mode)
    if spec.is_generator:
        dropout: DropoutMode = spec.use_dropout
        if dropout and test_mode == "train":
            dropout = "always"
        return build(
            "generator",
            spec.arch,
            in_channels=spec.in_channels,
            out_channels=spec.out_channels,
            ngf=spec.width,
            norm=norm,
            use_dropout=dropout,
        )
    kwargs: dict[str, object] = {"in_channels": spec.in_channels, "ndf": spec.width, "norm": norm}
    if spec.n_layers is not None:
        kwargs["n_layers"] = spec.n_layers
    return build("discriminator", spec.arch, **kwargs)


def convert_reference_state(
    state: Mapping[str, Tensor], spec: ReferenceSpec, target: nn.Module
) -> dict[str, Tensor]:
    """The reference ``state`` as a state dict for ``target`` (built from ``spec``).

    Parameters
    ----------
    state
        The reference checkpoint (``module.`` prefix already removed).
    spec
        What it holds.
    target
        This library's network for it.

    Returns
    -------
    dict[str, Tensor]
        Exactly ``target``'s keys and shapes: keys renamed, stale running statistics of
        instance-norm layers (and of batch norm built without them) dropped, missing
        convolution biases of ``norm="batch"``/``"none"`` files set to zero.

    Raises
    ------
    ValueError
        Naming the first key or shape that does not fit.
    """
    modules = dict(target.named_modules())
    expected = target.state_dict()
    out: dict[str, Tensor] = {}
    for key, value in state.items():
        mine = _reference_key(key, spec)
        owner, _, leaf = mine.rpartition(".")
        module = modules.get(owner)
        if (
            mine not in expected
            and leaf in _STALE
            and isinstance(module, nn.modules.batchnorm._NormBase)
            and not module.track_running_stats
        ):
            continue  # the reference deletes these too (InstanceNorm saved by PyTorch 0.4)
        if mine not in expected:
            raise _Mismatch(f"unexpected key {key!r}")
        if tuple(value.shape) != tuple(expected[mine].shape):
            raise _Mismatch(
                f"{key!r} has shape {tuple(value.shape)}, {spec.arch} needs "
                f"{tuple(expected[mine].shape)}"
            )
        out[mine] = value.to(expected[mine].dtype)
    for mine, value in expected.items():
        if mine in out:
            continue
        owner = mine.rpartition(".")[0]
        module = modules.get(owner)
        if (
            mine.endswith(".bias")
            and spec.norm != "instance"
            and isinstance(module, nn.modules.conv._ConvNd)
            and f"{owner}.weight" in out
        ):
            out[mine] = torch.zeros_like(value)  # the reference built this layer without a bias
            continue
        raise _Mismatch(f"it has no key {_reference_name(mine, spec)!r}")
    return out


def _reference_name(mine: str, spec: ReferenceSpec) -> str:
    """The reference's name for this library's key ``mine`` (for error messages)."""
    leaf = mine.rpartition(".")[2]
    if spec.arch == "pixel":
        candidates = [f"{ref}.{leaf}" for ref in _PIXEL]
    elif spec.arch == "patchgan":
        candidates = [f"model.{i}.{leaf}" for i in range(3 * (spec.n_layers or 0) + 3)]
    else:
        candidates = [mine]
    return next((c for c in candidates if _reference_key(c, spec) == mine), mine)


def _fits(
    state: Mapping[str, Tensor],
    arch: str,
    norm: str,
    use_dropout: bool | None,
    test_mode: str,
) -> tuple[ReferenceSpec, nn.Module, dict[str, Tensor]]:
    spec = _infer(state, arch, norm, use_dropout)
    target = _build(spec, test_mode)
    return spec, target, convert_reference_state(state, spec, target)


def _looks_like(state: Mapping[str, Tensor]) -> ReferenceSpec | None:
    for arch in REFERENCE_ARCHS:
        for norm in _NORMS:
            try:
                return _fits(state, arch, norm, None, "eval")[0]
            except _Mismatch:
                continue
    return None


def detect_reference(state: Mapping[str, Tensor]) -> ReferenceSpec:
    """The reference architecture and norm a state dict fits.

    Tries every :data:`ReferenceArch` with instance, batch and no norm, in that order; the
    first whose keys and shapes all fit wins. Reliable for every reference network: the norm
    shows in the keys (batch norm has weights, instance norm none, and without a norm the
    convolutions have no bias), the widths in the shapes. Whether a ``unet_*`` has dropout does
    not show (assumed, as in the reference's pix2pix).

    Parameters
    ----------
    state
        A reference ``state_dict`` (see :func:`read_reference_state`).

    Returns
    -------
    ReferenceSpec
        What it holds.

    Raises
    ------
    ValueError
        If it fits none of them.
    """
    spec = _looks_like(state)
    if spec is None:
        first = next(iter(state), "")
        raise ValueError(
            f"the tensors (first key {first!r}) fit no reference network "
            f"({', '.join(REFERENCE_ARCHS)}); pass arch= to see the first key that does not fit"
        )
    return spec


def _default_direction(path: Path | None) -> Direction:
    """``b2a`` for the reference's ``*_net_G_B.pth``, else ``a2b`` (``G_A`` and pix2pix's ``G``)."""
    if path is not None and path.stem.upper().endswith("G_B"):
        return "b2a"
    return "a2b"


def import_reference(
    source: str | os.PathLike[str] | Mapping[str, Tensor],
    *,
    arch: ReferenceArch | None = None,
    norm: ReferenceNorm | None = None,
    use_dropout: bool | None = None,
    direction: Direction | None = None,
    test_mode: TestMode = "eval",
) -> nn.Module:
    """Rebuild a network of the reference CycleGAN/pix2pix implementation from its checkpoint.

    Parameters
    ----------
    source
        A reference ``.pth`` file (``latest_net_G_A.pth``, ``latest_net_G.pth``, ...) or its
        ``state_dict``. Files are read with ``torch.load(weights_only=True)``.
    arch
        ``resnet_9blocks``, ``resnet_6blocks``, ``unet_256``, ``unet_128`` (the reference's
        ``--netG``), ``patchgan`` (``--netD basic`` and ``n_layers``) or ``pixel``; ``None``
        detects it (:func:`detect_reference`).
    norm
        The reference's ``--norm`` (``instance`` for CycleGAN, ``batch`` for pix2pix); ``None``
        detects it.
    use_dropout
        Whether the generator was trained with dropout (``not --no_dropout``); ``None``: from
        the keys for ``resnet_*``, ``True`` for ``unet_*`` (pix2pix's default). It matters only
        in train mode or with ``test_mode="train"``.
    direction
        What the generator translates; ``None``: ``"b2a"`` for a file named ``*G_B.pth``, else
        ``"a2b"`` (the reference's ``G_A``, and pix2pix's ``G`` with ``--direction AtoB``).
    test_mode
        ``"eval"``: as the reference's ``test.py --eval`` (batch norm with its running
        statistics, no dropout) once the network is in eval mode, as inference puts it.
        ``"train"``: as ``test.py`` without ``--eval`` (the pix2pix default), which runs one
        image at a time in train mode: batch norm with each image's own statistics (an affine
        instance norm with the batch norm's weights) and dropout on, in any mode, batch size or
        tiling (recorded in the network's registry config, so generator files keep it). The
        same as ``"eval"`` for instance norm without dropout. Generators only.

    Returns
    -------
    nn.Module
        The network in eval mode. A generator carries its card
        (:func:`~cyclegan_ms.generators.card_of`): value range ``(-1, 1)``, ``direction``, and
        ``source`` naming the file, the architecture and the test mode; write it with
        :func:`~cyclegan_ms.inference.save_generator` (``cyclegan-ms import`` does).

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If the file holds anything but tensors, or does not fit ``arch``/``norm`` (naming the
        first key or shape that does not, and the network it looks like), or for a bad argument.

    Shape
    -----
    A generator ``(B, in_channels, H, W) -> (B, out_channels, H, W)`` in ``[-1, 1]``; a
    discriminator ``(B, in_channels, H, W) -> [(B, 1, H', W')]``.

    Examples
    --------
    >>> import cyclegan_ms as cms
    >>> G = cms.build("generator", "resnet_6blocks", ngf=4)
    >>> G2 = import_reference(G.state_dict())
    >>> cms.config_of(G2)["name"], card_of(G2).value_range
    ('resnet_6blocks', (-1.0, 1.0))
    """
    if arch is not None and arch not in REFERENCE_ARCHS:
        raise ValueError(f"unknown reference arch {arch!r}; accepted: {', '.join(REFERENCE_ARCHS)}")
    if norm is not None and norm not in _NORMS:
        raise ValueError(f"unknown reference norm {norm!r}; accepted: {', '.join(_NORMS)}")
    if test_mode not in _TEST_MODES:
        raise ValueError(f"unknown test_mode {test_mode!r}; accepted: {', '.join(_TEST_MODES)}")
    if use_dropout is not None and not isinstance(use_dropout, bool):
        raise ValueError(f"use_dropout must be True, False or None; got {use_dropout!r}")
    if direction is not None:
        direction = check_direction(direction)
    if isinstance(source, Mapping):
        path: Path | None = None
        state = _tensors_only(source, "the state_dict")
        where = "the state_dict"
    else:
        path = Path(source)
        state = read_reference_state(path)
        where = str(path)

    archs = REFERENCE_ARCHS if arch is None else (arch,)
    norms = _NORMS if norm is None else (norm,)
    first_problem: str | None = None
    found: tuple[ReferenceSpec, nn.Module, dict[str, Tensor]] | None = None
    for a in archs:
        for n in norms:
            try:
                found = _fits(state, a, n, use_dropout, test_mode)
                break
            except _Mismatch as err:
                first_problem = first_problem or str(err)
        if found is not None:
            break
    if found is None:
        looks = _looks_like(state)
        hint = f"it looks like {looks.describe()}" if looks else "it fits no reference network"
        wanted: str = arch if arch is not None else "any reference network"
        wanted += f" with norm={norm}" if norm is not None else ""
        raise ValueError(f"{where} does not fit {wanted}: {first_problem}; {hint}")
    spec, network, converted = found
    if test_mode == "train" and not spec.is_generator:
        raise ValueError(
            f"{where} holds a {spec.arch} discriminator; test_mode='train' is for generators"
        )
    network.load_state_dict(converted)
    network.eval()
    if spec.is_generator:
        name = path.name if path is not None else "a state_dict"
        card = dataclasses.replace(
            card_of(network),
            value_range=REFERENCE_VALUE_RANGE,
            direction=direction if direction is not None else _default_direction(path),
            source=(
                f"pytorch-CycleGAN-and-pix2pix {name}: {spec.describe()}, test_mode={test_mode}"
            ),
        )
        set_card(network, card)
    return network
