"""Which operand each head picks, input by input, and how often two heads of a layer pick the same one.

A head attends, input by input, to the `a` side (`a` or `+`, which from layer 1 on holds `a`) or to `b`. Two
heads agree on an input when they pick the same side. The agreement of every pair of heads of a layer is
measured here; interpret/circuit.py groups the switching heads by it (on the headline model two layer-1
groups in opposite phase: at each input one reads `a` and the other `b`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reporter.measure.capture import Capture
from reporter.model.task import head_name


@dataclass(frozen=True)
class Agreement:
    """The share of inputs on which two heads pick the same side, for every pair of heads of each layer."""

    heads: list[str]  # the rows and columns of ``matrix``, layer by layer
    matrix: np.ndarray  # [head, head]; heads of different layers: 0 (never compared)


def picks_a(capture: Capture, layer: int, head: int) -> np.ndarray:
    """[input] bool: the head's attention from `=` on the `a` side (`a` and `+`) exceeds that on `b`."""
    weights = capture.pattern[:, layer, head].double().cpu().numpy()  # [input, key]
    return weights[:, 0] + weights[:, 1] > weights[:, 2]


def agreement(capture: Capture) -> Agreement:
    """How often every two heads of one layer pick the same side, over all inputs."""
    n_layers, n_heads = capture.pattern.shape[1], capture.pattern.shape[2]
    every = [(layer, head) for layer in range(n_layers) for head in range(n_heads)]
    choices = np.stack([picks_a(capture, *key) for key in every])  # [head, input]
    matrix = (choices[:, None, :] == choices[None, :, :]).mean(-1)  # [head, head]
    layer_of = np.array([layer for layer, _ in every])
    matrix[layer_of[:, None] != layer_of[None, :]] = 0.0
    return Agreement([head_name(*key) for key in every], matrix)
