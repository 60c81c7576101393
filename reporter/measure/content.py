"""What a residual or a head's write carries: a two-way analysis of variance over the p × p grid.

Any vector-valued function X(a, b) over all inputs splits, exactly and orthogonally, into

    X(a, b) = mean + A(a) + B(b) + I(a, b)

(the part that is a function of `a` alone, of `b` alone, and the interaction). Within the
interaction, the part that is a function of the answer (a + b) mod p is its mean over each
anti-diagonal {a + b = c mod p}. The shares below are of the input-dependent variance
(summed over d_model); `spread` is its root, `rms` the root of the whole mean square.

Where attention goes (stats) and what it reads there (this module) are different questions:
before layer 0, `+` and `=` hold the same vector on every input; from layer 1 on, `+` can
only hold what it read from `a` (causal masking).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from reporter.measure.capture import Capture
from reporter.model import keys
from reporter.model.task import POSITION_KEYS


@dataclass(frozen=True)
class Shares:
    """What one vector-valued function of (a, b) is made of."""

    a: float  # share of the input-dependent variance that is a function of a alone
    b: float  # likewise of b alone
    interaction: float  # the rest: depends on a and b jointly (1 - a - b)
    answer: float  # the part of the interaction that is a function of (a + b) mod p
    spread: float  # root of the input-dependent variance: how much it varies with the input
    rms: float  # root mean square of the whole vector, constant part included


def anova(x: torch.Tensor, modulus: int) -> Shares:
    """Shares of ``x`` [p², d] (row a * p + b) over the p × p grid."""
    p = modulus
    grid = x.reshape(p, p, -1).double()  # [a, b, d]
    centred = grid - grid.mean((0, 1))
    variance = float(centred.pow(2).sum(-1).mean())
    rms = float(grid.pow(2).sum(-1).mean().sqrt())
    if variance <= 1e-24:
        return Shares(0.0, 0.0, 0.0, 0.0, 0.0, rms)
    by_a = centred.mean(1)  # [a, d]
    by_b = centred.mean(0)  # [b, d]
    interaction = centred - by_a[:, None] - by_b[None]  # [a, b, d]
    values = torch.arange(p, device=grid.device)
    answer = (values[:, None] + values[None]) % p  # [a, b]
    by_answer = grid.new_zeros(p, grid.shape[-1])
    by_answer.index_add_(0, answer.reshape(-1), interaction.reshape(p * p, -1))
    by_answer /= p  # each answer c has exactly p inputs
    share_a = float(by_a.pow(2).sum(-1).mean()) / variance
    share_b = float(by_b.pow(2).sum(-1).mean()) / variance
    return Shares(
        a=share_a,
        b=share_b,
        interaction=max(0.0, 1.0 - share_a - share_b),
        answer=float(by_answer.pow(2).sum(-1).mean()) / variance,
        spread=variance**0.5,
        rms=rms,
    )


@dataclass(frozen=True)
class PositionContent:
    """What the residual at one position holds at the input of one layer (layer n_layers: the final norm's)."""

    layer: int
    position: str  # position key: "a", "plus", "b", "equals"
    shares: Shares


@dataclass(frozen=True)
class HeadWrite:
    """What one head writes into the residual at `=`: its output W_O · z there, over all inputs."""

    layer: int
    head: int
    shares: Shares
    relative_spread: float  # its spread over the largest spread of a head in its layer (1 for that head)


def head_outputs(model, capture: Capture, layer: int) -> torch.Tensor:
    """[input, head, d_model]: each head's write at `=`, W_O · z (the output bias is shared, so left out)."""
    cfg = model.cfg
    weight = model.state_dict()[keys.weight(keys.attn(layer, "o"))].double()  # [d_model, head * d_head]
    per_head = weight.T.reshape(cfg.n_heads, cfg.d_head, cfg.d_model)  # [head, d_head, d_model]
    return torch.einsum("nhe,hed->nhd", capture.z[:, layer].double(), per_head)


def position_contents(capture: Capture) -> list[PositionContent]:
    """Every layer's input (and the final norm's) at every position."""
    p = capture.task.modulus
    n_layers = capture.resid_pre.shape[1]
    rows = []
    for layer in range(n_layers + 1):
        resid = capture.resid_pre[:, layer] if layer < n_layers else capture.resid_final  # [input, pos, d]
        for index, key in enumerate(POSITION_KEYS):
            rows.append(PositionContent(layer, key, anova(resid[:, index], p)))
    return rows


def head_writes(model, capture: Capture) -> list[HeadWrite]:
    """Every head's write at `=`, with its spread relative to the largest head of its layer."""
    p = capture.task.modulus
    rows = []
    for layer in range(model.cfg.n_layers):
        out = head_outputs(model, capture, layer)  # [input, head, d_model]
        shares = [anova(out[:, head], p) for head in range(out.shape[1])]
        largest = max(s.spread for s in shares)
        rows += [HeadWrite(layer, head, s, s.spread / largest if largest > 0 else 0.0) for head, s in enumerate(shares)]
    return rows


def shares_array(shares: Shares) -> np.ndarray:
    return np.array([shares.a, shares.b, shares.interaction, shares.answer])
