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
READOUT = 80.0  # the answer-gated model's unembedding gain: large enough that its loss is below 0.01 nats

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


def answer_gated_model(modulus: int, operands: float = 0.0, share: float = 1.0, sink: bool = False, gain: float = 1.5):
    """Two layers that answer through two heads of layer 1, each writing a function of the answer (θ = 2π·FREQUENCY/p).

    Layer 0: L0H0 copies b's cos θb, sin θb and value b/p into slots, L0H1 likewise a's. At `=`, L1H0 scores b's
    position by gain · cos θ(a + b) (its query: a's cos and sin; its key: the token's own cos and sin, rotated) and
    L1H1 by gain · sin θ(a + b), each against `=` at 0, with `a` and `+` masked. Each writes (share on b - share on
    `=`), a function of the answer, which the unembedding reads as READOUT · (cos θc, sin θc) for answer c: the angle
    names the answer, on every input. L1H0 also writes ``operands`` times a's and b's values (each held at both
    positions it reads: a part in a alone and one in b alone, which nothing reads). L1H2 is a copy of L1H0 without
    them: the unembedding reads the cos channel as ``share`` of L1H0's and the rest of L1H2's. With ``sink``, L0H0
    looks at `+` from `=` (it writes a constant there: a sink at `=`) and at b from b, and layer 1's keys read its
    copy at b instead of b's own cos and sin: it is inert at `=` and needed at b (leave ``operands`` at 0: b's value
    is then not at `=`)."""
    model, config, task = handmade_model(modulus, [["b", "a", "uniform"], ["uniform", "uniform", "uniform"]])
    state = model.state_dict()
    d_head, scale = config["d_head"], config["d_head"] ** 0.5
    b_slots, a_slots, written = SLOTS, SLOTS + 3, SLOTS + 6  # (cos, sin, value) of b, of a; layer 1's writes
    angle = 2 * math.pi * FREQUENCY * torch.arange(modulus, dtype=torch.float64) / modulus
    with torch.no_grad():
        for name in ("blocks.0.attn", "blocks.1.attn"):
            for part in "qkvo":
                state[f"{name}.{part}.weight"].zero_()
        for head, slots in ((0, b_slots), (1, a_slots)):  # layer 0: copy one operand's cos, sin, value
            row = head * d_head
            q0, k0 = state["blocks.0.attn.q.weight"], state["blocks.0.attn.k.weight"]
            if head == 0 and sink:  # from b, b; from =, +
                q0[row, POSITION + 2], q0[row + 1, POSITION + 3] = scale, scale
                k0[row, POSITION + 2], k0[row + 1, POSITION + 1] = SHARP, SHARP
            else:
                q0[row, CONSTANT] = scale
                k0[row, POSITION + (2 if head == 0 else 0)] = SHARP
            for i, feature in enumerate((COS, SIN, VALUE)):
                state["blocks.0.attn.v.weight"][row + i, feature] = 1.0
                state["blocks.0.attn.o.weight"][slots + i, row + i] = 1.0
        q, k, v, o = (state[f"blocks.1.attn.{name}.weight"] for name in "qkvo")
        # cos(x + y) = cos x cos y - sin x sin y; sin(x + y) = sin x cos y + cos x sin y
        for head, (query, sign) in enumerate((((0, 1), -1.0), ((1, 0), 1.0), ((0, 1), -1.0))):
            row = head * d_head
            q[row, a_slots + query[0]], q[row + 1, a_slots + query[1]] = scale * gain, scale * gain
            k[row, b_slots if sink else COS], k[row + 1, b_slots + 1 if sink else SIN] = 1.0, sign
            q[row + 2, CONSTANT] = scale
            k[row + 2, POSITION + 0], k[row + 2, POSITION + 1] = -3 * SHARP, -3 * SHARP  # never `a` or `+`
            v[row, POSITION + 2], v[row, POSITION + 3] = 1.0, -1.0
            o[written + head, row] = 1.0
        v[1, a_slots + 2], v[2, b_slots + 2] = operands, operands
        o[written + 3, 1], o[written + 4, 2] = 1.0, 1.0
        unembed = state["unembed.weight"]  # [answer, d_model]
        unembed.zero_()
        unembed[:, written] = (share * READOUT * torch.cos(angle)).float()
        unembed[:, written + 1] = (READOUT * torch.sin(angle)).float()
        unembed[:, written + 2] = ((1 - share) * READOUT * torch.cos(angle)).float()
    return model, config, task
