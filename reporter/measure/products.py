"""Where the products form: the answer (a + b) mod p cannot come from `a` and `b` separately.

Something multiplies. An attention block can: a head whose choice between `a` and `b` depends on the other
operand writes a joint function of both. So each block's output at `=` is compared with the same block whose
every head's pattern is replaced by its mean over inputs (the values stay the inputs' own): what the answer
share loses is what the patterns made. An MLP can: its output is compared with the output it gives when its
input is replaced by its additive part, mean + A(a) + B(b): what it makes from that is its own product.
All from the clean capture (no new forward); shares as content.anova's, of the output at `=`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from reporter.measure.capture import Capture
from reporter.measure.content import anova
from reporter.measure.stages import Stream
from reporter.model import keys
from reporter.model.engine import Forward


@dataclass(frozen=True)
class Product:
    """How much of the answer one block's output at `=` carries, and how much without its own multiplication
    (contract 7 `products`)."""

    component: str  # "attn1", "mlp1"
    answer_share: float  # answer share of its output at `=` (of its input-dependent variance)
    answer_share_mean_patterns: float | None  # attention: every head's pattern from `=` replaced by its mean
    answer_share_additive_input: float | None  # MLP: its input replaced by mean + A(a) + B(b)


def additive_part(x: torch.Tensor, modulus: int) -> torch.Tensor:
    """[p², d] the best fit mean + A(a) + B(b) of ``x`` [p², d] (row a * p + b) over the p × p grid."""
    p = modulus
    grid = x.reshape(p, p, -1)  # [a, b, d]
    fit = grid.mean(1, keepdim=True) + grid.mean(0, keepdim=True) - grid.mean((0, 1), keepdim=True)
    return fit.reshape(p * p, -1)


def mean_pattern_output(forward: Forward, capture: Capture, layer: int) -> torch.Tensor:
    """[input, d_model] the attention block's output at `=` with every head's pattern from `=` replaced by its
    mean over inputs, over each input's own values."""
    mean = capture.pattern[:, layer].double().mean(0)  # [head, key]
    values = capture.values[:, layer].double()  # [input, key, head, d_head]
    z = torch.einsum("hk,nkhd->nhd", mean, values)  # [input, head, d_head]
    return forward.linear(z.flatten(1), keys.attn(layer, "o"))


def products(forward: Forward, capture: Capture, stream: Stream) -> list[Product]:
    """For every attention block and MLP, the answer share of its output at `=` with and without its own
    multiplication."""
    p = capture.task.modulus
    rows = []
    for layer in range(capture.resid_pre.shape[1]):
        name = f"attn{layer}"
        mean_patterns = anova(mean_pattern_output(forward, capture, layer), p).answer
        rows.append(Product(name, anova(stream.outputs[name], p).answer, mean_patterns, None))
        if forward.act is not None:
            mlp_input = stream.residuals[name]  # [input, d_model] the residual after attention
            additive = anova(forward.mlp(additive_part(mlp_input, p), layer), p).answer
            rows.append(Product(f"mlp{layer}", anova(stream.outputs[f"mlp{layer}"], p).answer, None, additive))
    return rows
