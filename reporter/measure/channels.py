"""The model's frequency channels, measured: which frequencies the answer runs on inside it, and where.

The candidates are the frequency at the top of the answer part of the residual at `=` at each stage, the one
that dominates most neurons of each MLP, and the logits' key frequencies (interpret/circuit.py keeps the
internal ones and names the harmonics). A channel is tested by removal: the answer component at k (the
residual's part that is a function of (a + b) mod p at frequency k, its Fourier projection over a + b) is
taken out of the residual at `=` where each MLP reads it, and out of the final residual (a `ResidualEdit`):
accuracy and Δloss say whether the model needs it there. Every head's and MLP's write at `=` has its answer
part's spectrum kept, so that the interpretation can name a channel's writers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from reporter.measure.causal import Interventions
from reporter.measure.neurons import NeuronLayer
from reporter.measure.stages import Stage, Stream, answer_part, frequency_amplitudes
from reporter.model import keys
from reporter.model.edits import ResidualEdit
from reporter.model.engine import Forward
from reporter.model.task import head_name


def fold(k: int, modulus: int) -> int:
    """k folded to 1..p // 2 (k and p - k are one frequency; 0 stays 0)."""
    k %= modulus
    return min(k, modulus - k)


def candidates(
    stages: Sequence[Stage], neuron_layers: Sequence[NeuronLayer], key_frequencies: Sequence[int]
) -> list[int]:
    """The frequency at the top of each stage's answer part and of each MLP's neurons, then the logits' key
    frequencies, in the order first met along the forward: every frequency the interpretation may call a channel."""
    found = [max(s.answer_frequencies, key=s.answer_frequencies.get) for s in stages if s.answer_frequencies]
    found += [next(iter(layer.by_frequency)) for layer in neuron_layers if layer.by_frequency]
    return list(dict.fromkeys([*found, *key_frequencies]))


def frequency_component(x: torch.Tensor, modulus: int, frequency: int) -> torch.Tensor:
    """[p, d] the answer part of ``x`` [p², d] at the folded ``frequency`` alone, by answer (a + b) mod p."""
    spectrum = torch.fft.fft(answer_part(x, modulus), dim=0)  # [k, d]
    keep = torch.zeros(modulus, 1, dtype=torch.bool, device=spectrum.device)
    keep[frequency % modulus] = keep[-frequency % modulus] = True
    return torch.fft.ifft(spectrum * keep, dim=0).real


@dataclass(frozen=True)
class Channel:
    """One frequency removed at one place (contract 7 `channels`)."""

    frequency: int
    removed_at: str  # "mlpL": from the residual at `=` that MLP L reads; "final": from the final norm's input
    accuracy: float
    delta_loss: float  # nats


def writes(forward: Forward, interventions: Interventions, stream: Stream) -> dict[str, torch.Tensor]:
    """Every head's write W_O · z and every MLP's output at `=` [input, d_model], by name."""
    c = interventions.capture
    cfg = forward.cfg
    found = {}
    for layer in range(cfg.n_layers):
        weight = forward.weights[keys.weight(keys.attn(layer, "o"))]  # [d_model, head * d_head]
        per_head = weight.T.reshape(cfg.n_heads, cfg.d_head, cfg.d_model)  # [head, d_head, d_model]
        z = c.z[:, layer].double()  # [input, head, d_head]
        for head in range(cfg.n_heads):
            found[head_name(layer, head)] = z[:, head] @ per_head[head]
        if f"mlp{layer}" in stream.outputs:
            found[f"mlp{layer}"] = stream.outputs[f"mlp{layer}"]
    return found


def write_spectra(forward: Forward, interventions: Interventions, stream: Stream) -> dict[str, dict[int, float]]:
    """Every head's and MLP's write at `=`: its answer part's amplitude at each folded frequency."""
    p = interventions.capture.task.modulus
    return {
        name: frequency_amplitudes(answer_part(x, p), p) for name, x in writes(forward, interventions, stream).items()
    }


def channels(
    forward: Forward,
    interventions: Interventions,
    stream: Stream,
    frequencies: Sequence[int],
) -> list[Channel]:
    """Each frequency's answer component removed from the residual at `=` before each MLP and at the end."""
    c = interventions.capture
    p, n_layers = c.task.modulus, forward.cfg.n_layers
    places = {f"mlp{layer}": f"attn{layer}" for layer in range(n_layers)} if forward.act is not None else {}
    places["final"] = list(stream.residuals)[-1]  # the residual after the last stage: the final norm's input
    rows = []
    for k in frequencies:
        for removed_at, after in places.items():
            part = frequency_component(stream.residuals[after], p, k)  # [answer, d_model]
            edit = ResidualEdit(after, lambda rows, x, part=part: x - part[c.targets[rows]])
            effect = interventions.effect(edit)
            rows.append(Channel(k, removed_at, effect.accuracy, effect.delta_loss))
    return rows
