"""The model's frequency channels: which frequencies carry the answer inside it, and where each starts.

The internal frequencies are those that dominate the answer part of the residual at `=` at some stage, or
most neurons of some MLP; a frequency k' = n·k mod p (folded, small n) of another is named its harmonic. A
channel is tested by removal: the answer component at k (the residual's part that is a function of
(a + b) mod p at frequency k, its Fourier projection over a + b) is taken out of the residual at `=` where
each MLP reads it, and out of the final residual (a `ResidualEdit`): accuracy and Δloss say whether the
model needs it there. Its writers are the heads and MLPs whose own writes at `=` carry most of it.
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


@dataclass(frozen=True)
class ChannelCutoffs:
    """Which frequencies count as internal, which are harmonics, and who writes a channel."""

    answer_share: float = 0.1  # a stage names its top answer frequency only where the answer holds ≥ 10% of it
    max_multiple: int = 6  # k' = n·k for n ≤ 6: low harmonics (a ReLU of a cosine puts little power above)
    writer_share: float = 0.25  # a writer's amplitude at k is at least 1/4 of the largest writer's
    writer_floor: float = 1e-4  # no writers where the largest is below 1e-4 of any write's largest: float32 rounding


def fold(k: int, modulus: int) -> int:
    """k folded to 1..p // 2 (k and p - k are one frequency; 0 stays 0)."""
    k %= modulus
    return min(k, modulus - k)


def internal_frequencies(
    stages: Sequence[Stage], neuron_layers: Sequence[NeuronLayer], cutoffs: ChannelCutoffs
) -> list[int]:
    """The frequency at the top of the answer part of each stage that holds an answer, and of the neurons of
    each MLP, in the order first met along the forward."""
    found: list[int] = []
    for stage in stages:
        if stage.shares.answer >= cutoffs.answer_share and stage.answer_frequencies:
            found.append(max(stage.answer_frequencies, key=stage.answer_frequencies.get))
    found += [next(iter(layer.by_frequency)) for layer in neuron_layers if layer.by_frequency]
    return list(dict.fromkeys(found))


def harmonics(
    frequencies: Sequence[int], bases: Sequence[int], modulus: int, cutoffs: ChannelCutoffs
) -> dict[int, int]:
    """k' -> the base k it is n·k mod p of (folded, 2 ≤ n ≤ max_multiple), for each k' in ``frequencies`` that is
    not itself a base; the base with the smallest such n wins."""
    found = {}
    for k_prime in frequencies:
        if k_prime in bases:
            continue
        multiples = [
            (n, k) for k in bases for n in range(2, cutoffs.max_multiple + 1) if fold(n * k, modulus) == k_prime
        ]
        if multiples:
            found[k_prime] = min(multiples)[1]
    return found


def frequency_component(x: torch.Tensor, modulus: int, frequency: int) -> torch.Tensor:
    """[p, d] the answer part of ``x`` [p², d] at the folded ``frequency`` alone, by answer (a + b) mod p."""
    spectrum = torch.fft.fft(answer_part(x, modulus), dim=0)  # [k, d]
    keep = torch.zeros(modulus, 1, dtype=torch.bool)
    keep[frequency % modulus] = keep[-frequency % modulus] = True
    return torch.fft.ifft(spectrum * keep, dim=0).real


@dataclass(frozen=True)
class Channel:
    """One frequency removed at one place (contract 7 `channels`)."""

    frequency: int
    removed_at: str  # "mlpL": from the residual at `=` that MLP L reads; "final": from the final norm's input
    accuracy: float
    delta_loss: float  # nats
    written_by: list[str]  # heads ("L0H3") and MLPs ("mlp1") whose writes at `=` carry it, largest first


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


def writers(spectra: dict[str, dict[int, float]], frequency: int, cutoffs: ChannelCutoffs) -> list[str]:
    """The writes whose answer part at ``frequency`` is at least writer_share of the largest there, largest first;
    none where that largest is below writer_floor of the writes' largest amplitude at any frequency."""
    amplitude = {name: spectrum[frequency] for name, spectrum in spectra.items()}
    largest = max(amplitude.values(), default=0.0)
    anywhere = max((max(spectrum.values(), default=0.0) for spectrum in spectra.values()), default=0.0)
    if largest <= cutoffs.writer_floor * anywhere or largest == 0.0:
        return []
    kept = [name for name, value in amplitude.items() if value >= cutoffs.writer_share * largest]
    return sorted(kept, key=lambda name: -amplitude[name])


def channels(
    forward: Forward,
    interventions: Interventions,
    stream: Stream,
    frequencies: Sequence[int],
    cutoffs: ChannelCutoffs | None = None,
) -> list[Channel]:
    """Each frequency's answer component removed from the residual at `=` before each MLP and at the end."""
    cutoffs = cutoffs or ChannelCutoffs()
    c = interventions.capture
    p, n_layers = c.task.modulus, forward.cfg.n_layers
    places = {f"mlp{layer}": f"attn{layer}" for layer in range(n_layers)} if forward.act is not None else {}
    places["final"] = list(stream.residuals)[-1]  # the residual after the last stage: the final norm's input
    spectra = {  # write -> its answer part's amplitude at each frequency
        name: frequency_amplitudes(answer_part(x, p), p) for name, x in writes(forward, interventions, stream).items()
    }
    rows = []
    for k in frequencies:
        by = writers(spectra, k, cutoffs)
        for removed_at, after in places.items():
            part = frequency_component(stream.residuals[after], p, k)  # [answer, d_model]
            edit = ResidualEdit(after, lambda rows, x, part=part: x - part[c.targets[rows]])
            effect = interventions.effect(edit)
            rows.append(Channel(k, removed_at, effect.accuracy, effect.delta_loss, by))
    return rows
