"""The exponential moving average of a generator's weights, updated without a host sync.

:class:`EMA` is a ``torch.optim.swa_utils.AveragedModel`` (same ``state_dict`` keys: the
averaged network under ``module.`` and ``n_averaged``, so checkpoints and
:func:`~cyclegan_ms.checkpoint.ema_weights` read it as before) whose update never waits for the
device: torch's own update reads ``n_averaged`` on the host (a blocking device-to-host read when
the counter lives on the GPU, a blocking host-to-device copy at every update when it lives on the
CPU, as it does by default). Here the counter lives with the weights and a host-side copy of it
decides whether an update copies or averages.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import chain
from typing import Any

import torch
import torch.nn as nn
from torch import Tensor
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

__all__ = ["EMA"]


class EMA(AveragedModel):
    """Exponential moving average of ``model``'s parameters and buffers.

    The first update copies the weights; every later one does
    ``w_ema = decay * w_ema + (1 - decay) * w`` (one fused ``lerp`` per device and dtype for
    floating-point tensors; integer buffers are copied).

    Parameters
    ----------
    model
        The network to average (deep-copied; the copy stays on ``model``'s device).
    decay
        EMA decay in ``[0, 1]``.

    Raises
    ------
    ValueError
        ``decay`` outside ``[0, 1]``.

    Examples
    --------
    >>> net = nn.Linear(2, 2)
    >>> ema = EMA(net, decay=0.5)
    >>> ema.update_parameters(net)
    >>> torch.equal(ema.module.weight, net.weight), int(ema.n_averaged)
    (True, 1)
    """

    def __init__(self, model: nn.Module, *, decay: float) -> None:
        if isinstance(decay, bool) or not isinstance(decay, (int, float)):
            raise ValueError(f"EMA decay must be a number in [0, 1]; got {decay!r}")
        if not 0.0 <= decay <= 1.0:
            raise ValueError(f"EMA decay must be in [0, 1]; got {decay!r}")
        super().__init__(model, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)
        first = next(chain(model.parameters(), model.buffers()), None)
        if first is not None:
            self.n_averaged = self.n_averaged.to(first.device)
        self.decay = float(decay)
        #: ``n_averaged`` as a host int (the counter itself stays on the device).
        self.host_count = 0

    @torch.no_grad()
    def update_parameters(self, model: nn.Module) -> None:
        """Average ``model``'s current weights in (a copy at the first update); no host sync."""
        mine = [t.detach() for t in chain(self.module.parameters(), self.module.buffers())]
        theirs = [t.detach() for t in chain(model.parameters(), model.buffers())]
        if len(mine) != len(theirs):
            raise ValueError(
                f"EMA.update_parameters: the model has {len(theirs)} parameters and buffers, "
                f"the average {len(mine)}; pass the network the EMA was built from"
            )
        if self.host_count == 0:
            torch._foreach_copy_(mine, theirs)
        else:
            groups: dict[tuple[torch.device, torch.dtype], tuple[list[Tensor], list[Tensor]]] = {}
            for a, b in zip(mine, theirs, strict=True):
                pair = groups.setdefault((a.device, a.dtype), ([], []))
                pair[0].append(a)
                pair[1].append(b.to(a.device))
            for a_list, b_list in groups.values():
                self.multi_avg_fn(a_list, b_list, self.n_averaged)  # type: ignore[misc]
        self.n_averaged.add_(1)
        self.host_count += 1

    def load_state_dict(
        self, state_dict: Mapping[str, Any], strict: bool = True, assign: bool = False
    ) -> Any:
        """Load a state (``module.*`` and ``n_averaged``, from any device); the counter keeps
        living on the weights' device."""
        device = self.n_averaged.device
        out = super().load_state_dict(state_dict, strict=strict, assign=assign)
        self.n_averaged = self.n_averaged.to(device)
        self.host_count = int(state_dict["n_averaged"]) if "n_averaged" in state_dict else 0
        return out
