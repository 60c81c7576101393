"""Models whose attention is known by construction: weights set by hand.

The residual stream holds, in its first six dimensions, a one-hot position
(0–3), the number a token stands for divided by p (4), and a constant 1 (5).
Attention and MLP outputs are zero, so every layer reads that same residual
and each head's attention from `=` follows from its own W_Q and W_K alone:
the query is the constant dimension, and the key picks what the head wants.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch

from reporter.checkpoint import save_checkpoint
from reporter.findings import Finding, check_findings
from reporter.labels import Label, LayerTrend, label_heads, layer_trends
from reporter.model import build_model, model_config
from reporter.stats import Stats, attention_over_all_inputs, compute_stats
from reporter.task import Task
from reporter.thresholds import Thresholds

POSITION, VALUE, CONSTANT = 0, 4, 5
SHARP = 40.0  # score margin that makes a "sharp" head put > 99.9% on its target

# What each kind of head rewards: key feature -> score weight.
KEYS = {
    "a": {POSITION + 0: SHARP},
    "b": {POSITION + 2: SHARP},
    "plus": {POSITION + 1: SHARP},
    "equals": {POSITION + 3: SHARP},
    "both": {POSITION + 0: SHARP, POSITION + 2: SHARP},  # a and b tie on every input
    "larger": {VALUE: 12.0 * SHARP, POSITION + 1: -SHARP, POSITION + 3: -SHARP},  # the larger of a and b
    "uniform": {},  # all scores equal
    "ab_plus": {POSITION + 0: 0.5 * SHARP, POSITION + 1: 0.5 * SHARP, POSITION + 2: 0.5 * SHARP},  # a, + and b tie
    "a_over_plus": {POSITION + 0: SHARP + math.log(0.55), POSITION + 1: SHARP + math.log(0.45)},  # 0.55 a, 0.45 +
    "ab_equals": {POSITION + 0: 0.5 * SHARP, POSITION + 2: 0.5 * SHARP, POSITION + 3: 0.5 * SHARP},  # a, b and = tie
    # sharp on every input, on a when a > p/2 and on + otherwise: it never settles on one position
    "a_or_plus": {
        VALUE: 12.0 * SHARP,
        POSITION + 1: 6.0 * SHARP,
        POSITION + 2: -12.0 * SHARP,
        POSITION + 3: -12.0 * SHARP,
    },
}


def handmade_model(modulus: int, heads: list[list[str]]):
    """A TransformerBridge where head h of layer l attends as ``heads[l][h]`` says (a key of KEYS)."""
    task = Task(modulus)
    n_layers, n_heads = len(heads), len(heads[0])
    d_head = 8
    config = model_config(
        task, n_layers=n_layers, n_heads=n_heads, d_model=d_head * n_heads, d_mlp=4, normalization_type=None, seed=0
    )
    model = build_model(config)
    state = model.state_dict()
    with torch.no_grad():
        for tensor in state.values():
            tensor.zero_()
        embed = state["embed.weight"]  # [d_vocab, d_model]
        embed[:modulus, VALUE] = torch.arange(modulus) / modulus
        pos = state["pos_embed.weight"]  # [n_ctx, d_model]
        pos[:, POSITION : POSITION + 4] = torch.eye(4)
        pos[:, CONSTANT] = 1.0
        for layer, kinds in enumerate(heads):
            q = state[f"blocks.{layer}.attn.q.weight"]  # [n_heads * d_head, d_model]
            k = state[f"blocks.{layer}.attn.k.weight"]
            for head, kind in enumerate(kinds):
                row = head * d_head
                q[row, CONSTANT] = d_head**0.5  # query = (sqrt(d_head), 0, ...) from the constant
                for feature, weight in KEYS[kind].items():
                    k[row, feature] = weight  # score = weight * feature of the key position
    model.eval()
    model.to(torch.float64, print_details=False)  # as the analysis runs it
    return model, config, task


@dataclass(frozen=True)
class Measured:
    """A hand-made model and every stage's output on it, with the default thresholds unless given."""

    model: object
    task: Task
    stats: Stats
    labels: list[Label]
    trends: list[LayerTrend]
    findings: list[Finding]

    def label(self, layer: int, head: int) -> Label:
        return next(l for l in self.labels if (l.layer, l.head) == (layer, head))


def measure(modulus: int, heads: list[list[str]], thresholds: Thresholds | None = None, pairs=()) -> Measured:
    """Build a hand-made model and run stats, labels, trends and findings on it (default thresholds unless given)."""
    thresholds = thresholds or Thresholds()
    model, _, task = handmade_model(modulus, heads)
    stats = compute_stats(attention_over_all_inputs(model, task), list(pairs))
    labels = label_heads(stats.heads, thresholds)
    trends = layer_trends(stats.layers, labels)
    return Measured(model, task, stats, labels, trends, check_findings(stats.layers, labels, trends, thresholds))


def write_handmade(directory: Path, modulus: int, heads: list[list[str]]) -> Path:
    """Save a hand-made model as a checkpoint directory (contract 2)."""
    model, config, task = handmade_model(modulus, heads)
    model.to(torch.float32, print_details=False)
    directory.mkdir(parents=True, exist_ok=True)
    save_checkpoint(model, {"model": config, "task": task.to_json()}, directory)
    return directory
