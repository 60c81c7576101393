"""Read-out attribution: how much each component writes, directly, into the logits at `=`.

The final residual at `=` is the embedding plus every block's output (stages.Stream). With the final norm's
scale frozen at its clean value on each input, the norm and the unembedding are linear in that residual,
so each component's direct contribution to the logits is exact and they sum, with the norm's shift and the
unembedding's bias (`bias`), to the logits themselves. Two readings of each contribution: its mean value at
the correct answer, and its coefficient on each key frequency's cos(2πk(a + b - c)/p) over all (a, b, c),
the direction in which Nanda et al.'s model writes the answer.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from reporter.measure.capture import Capture
from reporter.measure.stages import Stream
from reporter.model import keys
from reporter.model.engine import Forward

BIAS = "bias"  # the final norm's shift and the unembedding's bias: the part of the logits no component writes


@dataclass(frozen=True)
class Attribution:
    """One component's direct contribution to the logits at `=` (contract 7 `logit_attribution`)."""

    component: str  # "embed", "attn0", "mlp0", ..., or "bias"
    correct_logit: float  # its mean contribution to the correct answer's logit (logit units)
    frequencies: dict[int, float]  # key k -> its coefficient on cos(2πk(a + b - c)/p) in the logits


def frozen_scale(forward: Forward, final: torch.Tensor) -> torch.Tensor:
    """[input, 1] what the final norm divides its (centred) input ``final`` [input, d_model] by, on each input."""
    kind = forward.cfg.normalization_type
    if kind is None:
        return torch.ones(len(final), 1, dtype=final.dtype, device=final.device)
    if kind.upper().startswith("LN"):
        final = final - final.mean(-1, keepdim=True)
    return (final.pow(2).mean(-1, keepdim=True) + forward.cfg.eps).sqrt()


def direct_logits(forward: Forward, part: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """[input, vocab] the logits that ``part`` [input, d_model] of the final residual makes through the final
    norm at the frozen ``scale`` and the unembedding, without any bias."""
    kind = forward.cfg.normalization_type
    if kind is not None and kind.upper().startswith("LN"):
        part = part - part.mean(-1, keepdim=True)
    weight = forward.weights.get(keys.weight(keys.LN_FINAL))
    part = part / scale * (weight if weight is not None else 1.0)
    return part @ forward.weights[keys.weight(keys.UNEMBED)].T


def bias_logits(forward: Forward, n_inputs: int) -> torch.Tensor:
    """[input, vocab] the logits from the final norm's shift (LN only) and the unembedding's bias."""
    w = forward.weights
    kind = forward.cfg.normalization_type
    shift = w.get(keys.bias(keys.LN_FINAL)) if kind is not None and kind.upper().startswith("LN") else None
    out = torch.zeros(forward.cfg.d_vocab_out, dtype=w[keys.weight(keys.UNEMBED)].dtype, device=forward.device)
    if shift is not None:
        out = out + w[keys.weight(keys.UNEMBED)] @ shift
    if w.get(keys.bias(keys.UNEMBED)) is not None:
        out = out + w[keys.bias(keys.UNEMBED)]
    return out.expand(n_inputs, -1)


def cosine_coefficient(logits: torch.Tensor, modulus: int, frequency: int) -> float:
    """The least-squares coefficient of cos(2πk(a + b - c)/p) in ``logits`` [p², p] over all (a, b, c)."""
    p = modulus
    values = torch.arange(p, device=logits.device)
    a, b = values.repeat_interleave(p), values.repeat(p)
    by_sum = logits.new_zeros(p, p).index_add_(0, (a + b) % p, logits)  # [a + b mod p, c]
    s, c = values[:, None], values[None, :]
    wave = torch.cos(2 * math.pi * frequency * (s - c).to(logits.dtype) / p)  # [s, c]
    return float((by_sum * wave).sum() / (p * (wave**2).sum()))


def logit_attribution(
    forward: Forward, capture: Capture, stream: Stream, frequencies: Sequence[int]
) -> list[Attribution]:
    """Every component's direct contribution to the logits at `=`: they sum, with `bias`, to the clean logits."""
    p = capture.task.modulus
    final = list(stream.residuals.values())[-1]  # [input, d_model] the final norm's input at `=`
    scale = frozen_scale(forward, final)
    parts = {"embed": stream.embedding, **stream.outputs}
    rows = []
    for name, part in [*parts.items(), (BIAS, None)]:
        logits = bias_logits(forward, len(final)) if part is None else direct_logits(forward, part, scale)
        correct = logits.gather(1, capture.targets[:, None])  # [input, 1]
        rows.append(
            Attribution(name, float(correct.mean()), {k: cosine_coefficient(logits, p, k) for k in frequencies})
        )
    return rows
