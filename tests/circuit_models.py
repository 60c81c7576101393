"""Hand-made models for the circuit stage, whose answer is known by construction.

`lookup_model`: layer-0 heads copy the one-hot of `a` (a-head) and of `b` (two b-heads, half each) to `=`;
layer 1's heads write nothing and its MLP is a lookup table: neuron (i, j) reads one-hot(a)[i] + one-hot(b)[j]
- 1.5, fires only on the input (i, j), and writes the one-hot of (i + j) mod p, which the unembedding reads.
So the answer forms in MLP1 alone and is readable only after it; either b-head alone leaves the neuron above
zero (minor), both together silence it (critical): a redundant pair.

`frequency_model`: layer-0 heads copy cos and sin of 2π k x / p of `a` and of `b`; each MLP-0 neuron reads
cos(2π k a / p + φ) + cos(2π k b / p + φ): its pre-activation lives at frequency k alone, in a-only and
b-only terms. With ``switch`` a third head attends to whichever operand has the larger cos(2π·3·x/p + 0.7)
(tests/handmade.py's frequency head) and copies its value: the attention itself multiplies.
"""

from __future__ import annotations

import math

import torch

from reporter.model.build import build_model, model_config
from reporter.model.task import Task

SHARP = 40.0  # score margin: > 99.9% of a sharp head's attention on its target
POS, CONST, TOKEN = 0, 4, 5  # one-hot position (0-3), a constant 1, then the token's own features


def blank(modulus: int, n_layers: int, n_heads: int, d_model: int, d_mlp: int, d_head: int = 8):
    """A model with every weight zero: (model, its state_dict to fill in, task)."""
    task = Task(modulus)
    config = model_config(task, n_layers=n_layers, n_heads=1, d_model=d_model, d_mlp=d_mlp, normalization_type=None)
    config["n_heads"], config["d_head"] = n_heads, d_head
    model = build_model(config)
    model.checkpoint_config = config  # what save_checkpoint writes as its "model" block (tests/test_algorithm.py)
    state = model.state_dict()
    with torch.no_grad():
        for tensor in state.values():
            tensor.zero_()
        state["pos_embed.weight"][:, POS : POS + 4] = torch.eye(4)
        state["pos_embed.weight"][:, CONST] = 1.0
    return model, state, task


def head_reads(state: dict, layer: int, head: int, position: int, d_head: int = 8) -> int:
    """Make ``head`` attend sharply to ``position`` (0 a, 2 b); returns its first row in q, k, v."""
    row = head * d_head
    state[f"blocks.{layer}.attn.q.weight"][row, CONST] = d_head**0.5
    state[f"blocks.{layer}.attn.k.weight"][row, POS + position] = SHARP
    return row


def finish(model, task: Task):
    model.eval()
    model.to(torch.float64, print_details=False)
    return model, task


def lookup_model(
    modulus: int = 7, scale: float = 100.0, answer_frequency: int | None = None, route: int = 0, n_layers: int = 2
):
    """Heads L0H0 (a), L0H1 and L0H2 (b, half each); MLP1 a lookup table of the answer (see the module doc).
    With ``answer_frequency`` k, MLP1 writes cos and sin of 2π k (a + b) / p instead of the answer's one-hot,
    and the unembedding reads cos(2π k (a + b - c) / p): the answer reaches the logits at frequency k alone.
    ``route`` moves the heads to that layer and the lookup MLP to the next (``n_layers`` at least route + 2);
    the other blocks write nothing: the same computation, in other layers."""
    p = modulus
    a_dims, b_dims, answer_dims = TOKEN + p, TOKEN + 2 * p, TOKEN + 3 * p
    d_model = 8 * math.ceil((TOKEN + 4 * p) / 8)
    model, state, task = blank(p, n_layers=n_layers, n_heads=3, d_model=d_model, d_mlp=p * p)
    lookup = route + 1
    with torch.no_grad():
        state["embed.weight"][:p, TOKEN : TOKEN + p] = torch.eye(p)
        for head, (position, dims, weight) in enumerate(((0, a_dims, 1.0), (2, b_dims, 0.5), (2, b_dims, 0.5))):
            row = head_reads(state, route, head, position)
            for i in range(p):
                state[f"blocks.{route}.attn.v.weight"][row + i, TOKEN + i] = 1.0
                state[f"blocks.{route}.attn.o.weight"][dims + i, row + i] = weight
        for i in range(p):
            for j in range(p):
                neuron = i * p + j
                state[f"blocks.{lookup}.mlp.in.weight"][neuron, a_dims + i] = 1.0
                state[f"blocks.{lookup}.mlp.in.weight"][neuron, b_dims + j] = 1.0
                state[f"blocks.{lookup}.mlp.in.bias"][neuron] = -1.5
                if answer_frequency is None:
                    state[f"blocks.{lookup}.mlp.out.weight"][answer_dims + (i + j) % p, neuron] = scale
                else:
                    angle = 2 * math.pi * answer_frequency * (i + j) / p
                    state[f"blocks.{lookup}.mlp.out.weight"][answer_dims, neuron] = scale * math.cos(angle)
                    state[f"blocks.{lookup}.mlp.out.weight"][answer_dims + 1, neuron] = scale * math.sin(angle)
        if answer_frequency is None:
            state["unembed.weight"][:, answer_dims : answer_dims + p] = torch.eye(p)
        else:
            angles = 2 * math.pi * answer_frequency * torch.arange(p, dtype=torch.float64) / p
            state["unembed.weight"][:, answer_dims] = torch.cos(angles).float()
            state["unembed.weight"][:, answer_dims + 1] = torch.sin(angles).float()
    return finish(model, task)


SWITCH_FREQUENCY, SWITCH_PHASE = 3, 0.7


def frequency_model(modulus: int, frequency: int, n_neurons: int = 8, switch: bool = False):
    """Heads copy cos/sin(2π k x / p) of a (L0H0) and of b (L0H1); MLP-0 neurons read them at phases φ_n.
    With ``switch``, L0H2 attends to the operand with the larger cos(2π·3·x/p + 0.7) and copies x / p."""
    p = modulus
    x = torch.arange(p, dtype=torch.float64)
    cos, sin, value, cos3, sin3 = TOKEN, TOKEN + 1, TOKEN + 2, TOKEN + 3, TOKEN + 4
    a_dims, b_dims, switched = TOKEN + 5, TOKEN + 7, TOKEN + 9
    model, state, task = blank(p, n_layers=1, n_heads=3, d_model=24, d_mlp=n_neurons)
    with torch.no_grad():
        embed = state["embed.weight"]  # [d_vocab, d_model]
        embed[:p, cos] = torch.cos(2 * math.pi * frequency * x / p).float()
        embed[:p, sin] = torch.sin(2 * math.pi * frequency * x / p).float()
        embed[:p, value] = (x / p).float()
        embed[:p, cos3] = torch.cos(2 * math.pi * SWITCH_FREQUENCY * x / p).float()
        embed[:p, sin3] = torch.sin(2 * math.pi * SWITCH_FREQUENCY * x / p).float()
        v, o = state["blocks.0.attn.v.weight"], state["blocks.0.attn.o.weight"]
        for head, (position, dims) in enumerate(((0, a_dims), (2, b_dims))):
            row = head_reads(state, 0, head, position)
            v[row, cos], v[row + 1, sin] = 1.0, 1.0
            o[dims, row], o[dims + 1, row + 1] = 1.0, 1.0
        if switch:
            row = 2 * 8
            state["blocks.0.attn.q.weight"][row, CONST] = 8**0.5
            k = state["blocks.0.attn.k.weight"]
            k[row, cos3], k[row, sin3] = SHARP * math.cos(SWITCH_PHASE), -SHARP * math.sin(SWITCH_PHASE)
            k[row, POS + 1] = k[row, POS + 3] = -SHARP
            v[row, value] = 1.0
            o[switched, row] = 1.0
        w_in = state["blocks.0.mlp.in.weight"]  # [d_mlp, d_model]
        for neuron in range(n_neurons):
            phase = 2 * math.pi * neuron / n_neurons
            for dims in (a_dims, b_dims):
                w_in[neuron, dims], w_in[neuron, dims + 1] = math.cos(phase), -math.sin(phase)
            w_in[neuron, switched] = 1.0 if switch else 0.0
        state["blocks.0.mlp.out.weight"][TOKEN + 11 : TOKEN + 11 + n_neurons, :] = torch.eye(n_neurons)
    return finish(model, task)
