"""Models whose behaviour is known by construction: weights set by hand.

The residual stream holds a one-hot position (dimensions 0–3), the number a token stands for
divided by p (4), a constant 1 (5), and cos and sin of 2π·FREQUENCY·x/p for a number x (6, 7).
Each head gets a slot of its own from dimension 8 on, where it may write. The MLPs are zero.
The query of every head is the constant dimension, and its key picks what it wants (KEYS), so
each head's attention follows from its own W_Q and W_K alone, at every layer.

A head spec is "attention kind" or "attention kind:write", where write is
"copy" (it writes the number x/p of the token it attends to into its slot) or "constant"
(it writes 1, the attention-weighted constant, into its slot); without a write W_O is zero.
With ``readout`` the unembedding reads every slot with weights that differ by answer, so that
what a head writes changes the logits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch

from reporter.interpret.findings import Finding
from reporter.interpret.labels import Label, LayerTrend, label_heads, layer_trends
from reporter.interpret.stats import Stats, compute_stats
from reporter.interpret.thresholds import Thresholds
from reporter.measure.capture import attention_over_all_inputs
from reporter.model.build import build_model, model_config
from reporter.model.checkpoint import save_checkpoint
from reporter.model.task import Task

POSITION, VALUE, CONSTANT, COS, SIN, SLOTS = 0, 4, 5, 6, 7, 8
SHARP = 40.0  # score margin that makes a "sharp" head put > 99.9% on its target
FREQUENCY, PHASE = 3, 0.7  # the frequency head's preference: cos(2π·3·x/p + 0.7)

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
    # the operand with the larger cos(2π·FREQUENCY·x/p + PHASE), never + or =
    "frequency": {
        COS: SHARP * math.cos(PHASE),
        SIN: -SHARP * math.sin(PHASE),
        POSITION + 1: -SHARP,
        POSITION + 3: -SHARP,
    },
}


def handmade_model(modulus: int, heads: list[list[str]], readout: bool = False):
    """A TransformerBridge where head h of layer l behaves as ``heads[l][h]`` says (see the module doc)."""
    task = Task(modulus)
    n_layers, n_heads = len(heads), len(heads[0])
    d_head = 8
    d_model = d_head * max(n_heads, math.ceil((SLOTS + n_layers * n_heads) / d_head))
    config = model_config(
        task, n_layers=n_layers, n_heads=max(n_heads, 1), d_model=d_model, d_mlp=4, normalization_type=None, seed=0
    )
    config["n_heads"], config["d_head"] = n_heads, d_head
    model = build_model(config)
    state = model.state_dict()
    numbers = torch.arange(modulus, dtype=torch.float64)
    with torch.no_grad():
        for tensor in state.values():
            tensor.zero_()
        embed = state["embed.weight"]  # [d_vocab, d_model]
        embed[:modulus, VALUE] = (numbers / modulus).float()
        embed[:modulus, COS] = torch.cos(2 * math.pi * FREQUENCY * numbers / modulus).float()
        embed[:modulus, SIN] = torch.sin(2 * math.pi * FREQUENCY * numbers / modulus).float()
        pos = state["pos_embed.weight"]  # [n_ctx, d_model]
        pos[:, POSITION : POSITION + 4] = torch.eye(4)
        pos[:, CONSTANT] = 1.0
        for layer, specs in enumerate(heads):
            q, k, v = (state[f"blocks.{layer}.attn.{name}.weight"] for name in "qkv")  # [head * d_head, d_model]
            o = state[f"blocks.{layer}.attn.o.weight"]  # [d_model, head * d_head]
            for head, spec in enumerate(specs):
                kind, _, write = spec.partition(":")
                row = head * d_head
                q[row, CONSTANT] = d_head**0.5  # query = (sqrt(d_head), 0, ...) from the constant
                for feature, weight in KEYS[kind].items():
                    k[row, feature] = weight  # score = weight * feature of the key position
                if write:
                    v[row, VALUE if write == "copy" else CONSTANT] = 1.0
                    o[SLOTS + layer * n_heads + head, row] = 1.0
        if readout:
            answers = torch.arange(modulus, dtype=torch.float32)
            for slot in range(n_layers * n_heads):
                state["unembed.weight"][:, SLOTS + slot] = torch.cos(answers + slot)  # differs by answer
    model.eval()
    model.to(torch.float64, print_details=False)  # as the analysis runs it
    return model, config, task


@dataclass(frozen=True)
class Measured:
    """A hand-made model and the attention stages' output on it, with the default thresholds unless given."""

    model: object
    task: Task
    stats: Stats
    labels: list[Label]
    trends: list[LayerTrend]

    def label(self, layer: int, head: int) -> Label:
        return next(l for l in self.labels if (l.layer, l.head) == (layer, head))


def measure(modulus: int, heads: list[list[str]], thresholds: Thresholds | None = None, pairs=()) -> Measured:
    """Build a hand-made model and run stats, labels and layer trends on it."""
    thresholds = thresholds or Thresholds()
    model, _, task = handmade_model(modulus, heads)
    stats = compute_stats(attention_over_all_inputs(model, task), list(pairs))
    labels = label_heads(stats.heads, thresholds)
    return Measured(model, task, stats, labels, layer_trends(stats.layers, labels))


def analysed(modulus: int, heads: list[list[str]], readout: bool = False, thresholds: Thresholds | None = None):
    """Build a hand-made model and run the whole analysis on it: (model, task, measurements, stats, reading)."""
    from reporter.analysis import interpret
    from reporter.analysis import measure as measure_model
    from reporter.interpret.stats import Attention

    thresholds = thresholds or Thresholds()
    model, _, task = handmade_model(modulus, heads, readout)
    measured = measure_model(model, task, thresholds.key_frequency)
    stats = compute_stats(Attention(task, measured.weights, measured.correct), [])
    return model, task, measured, stats, interpret(stats, measured, thresholds)


def findings_by_id(findings: list[Finding]) -> dict:
    return {f.id: f for f in findings}


def said(finding: Finding, macro: str | None = None) -> str:
    """What the pages say about a finding: its id's macro in the shipped `_findings.j2` (or ``macro``, e.g.
    "why" for the reason its deciding reading decides), as the index and layers pages render it."""
    from reporter.publish.render import environment
    from reporter.resources import TEMPLATES

    module = environment(TEMPLATES).get_template("_findings.j2").module
    return getattr(module, macro or finding.id)(finding)


def write_handmade(directory: Path, modulus: int, heads: list[list[str]], readout: bool = False) -> Path:
    """Save a hand-made model as a checkpoint directory (contract 2)."""
    model, config, task = handmade_model(modulus, heads, readout)
    model.to(torch.float32, print_details=False)
    directory.mkdir(parents=True, exist_ok=True)
    save_checkpoint(model, {"model": config, "task": task.to_json()}, directory)
    return directory
