"""What the circuit stage's numbers say under the threshold table: bands, kinds, channels, groups.

measure/circuit.py hands over numbers only. Here each block gets its importance band (the heads' bands,
from its mean-ablation at `=` and at every position), each set of heads ablated together is `redundant`,
`additive` or `overlapping` against the sum of its single ablations, the internal frequencies are chosen and
their harmonics named, each channel gets its band and its writers, and the switching heads of each layer are
grouped by how often they pick the same operand. algorithm.py composes the steps from this.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from reporter.interpret.roles import HeadRole, Importance, importance
from reporter.interpret.thresholds import Thresholds
from reporter.measure.causal import Effect
from reporter.measure.channels import fold
from reporter.measure.circuit import Circuit
from reporter.measure.head_groups import Agreement
from reporter.measure.neurons import NeuronLayer
from reporter.measure.stages import Stage


def together_kind(delta_loss: float, sum_of_singles: float, t: Thresholds) -> str:
    """`redundant`, `additive` or `overlapping`: an ablation of several heads together against the sum of their
    single ablations (nats); below the minor band's bound, together and alone, no claim: `additive`."""
    if max(delta_loss, sum_of_singles) < t.importance_minor:
        return "additive"
    if delta_loss >= t.together_redundant * max(sum_of_singles, 0.0):
        return "redundant"
    if delta_loss <= t.together_overlapping * sum_of_singles:
        return "overlapping"
    return "additive"


@dataclass(frozen=True)
class BlockReading:
    """One attention block or MLP: how much the model needs it (contract 7 `importance`)."""

    name: str
    kind: str  # "attention" | "mlp"
    layer: int
    importance: Importance  # from its mean-ablation at `=`
    importance_anywhere: Importance  # at every position
    together: str | None  # attention: its heads ablated together against the sum of their singles
    forms_products: bool  # it multiplies: see forms_products
    holds_answer: bool  # the answer is at least `internal_answer` of what its output at `=` varies by


@dataclass(frozen=True)
class ChannelReading:
    """One internal or key frequency: where removing it costs what, and who writes it."""

    frequency: int
    harmonic_of: int | None  # the internal frequency it is a small multiple of
    importance: dict[str, Importance]  # removed at ("mlp1", "final") -> the band of its Δloss
    written_by: list[str]  # heads and MLPs, largest first


@dataclass(frozen=True)
class HeadGroup:
    """Switching heads of one layer that pick the same operand on most inputs."""

    layer: int
    heads: tuple[str, ...]
    frequency: int  # the frequency of most of its heads' preference rules
    phase: float  # radians: the circular mean of its heads' rule phases
    agreement: float  # mean share of inputs on which two of its heads pick the same side (1 for one head)
    opposite: tuple[str, ...]  # the layer's group that picks the other side on most inputs


@dataclass(frozen=True)
class CircuitReading:
    blocks: list[BlockReading]
    pairs: dict[tuple[str, str], str]  # two heads -> their together kind
    readable_at: str | None  # the first stage where the model's own read-out answers `readable` of the inputs
    decodable_at: str | None  # the first where a linear read-out does, on held-out inputs
    internal: list[int]  # the internal frequencies, in the order met along the forward
    harmonics: dict[int, int]  # k' -> the internal k it is a multiple of
    channels: list[ChannelReading]  # the internal and key frequencies
    groups: list[HeadGroup]


def forms_products(kind: str, real: float, altered: float | None, t: Thresholds) -> bool:
    """Whether a block multiplies: its output holds an answer (`internal_answer` of what varies) and
    - attention: the answer falls to at most `product_drop` of it with mean patterns (where a head looks, by the
      other operand, is what multiplies);
    - an MLP: the answer keeps more than `product_drop` of it when its input is only its additive part (it makes
      the products from `a` and `b` held apart, rather than passing on products formed before it)."""
    if altered is None or real < t.internal_answer:
        return False
    return altered <= t.product_drop * real if kind == "attention" else altered > t.product_drop * real


def internal_frequencies(stages: Sequence[Stage], neurons: Sequence[NeuronLayer], t: Thresholds) -> list[int]:
    """Each stage's strongest answer frequency where the answer holds `internal_answer` of it, and each MLP's
    most common neuron frequency, in the order first met along the forward."""
    found = [
        max(s.answer_frequencies, key=s.answer_frequencies.get)
        for s in stages
        if s.shares.answer >= t.internal_answer and s.answer_frequencies
    ]
    found += [next(iter(layer.by_frequency)) for layer in neurons if layer.by_frequency]
    return list(dict.fromkeys(found))


def harmonics(frequencies: Sequence[int], bases: Sequence[int], modulus: int, t: Thresholds) -> dict[int, int]:
    """k' -> the base k it is n·k mod p of (folded, 2 ≤ n ≤ harmonic_multiple), for each k' that is not itself
    a base; the base with the smallest such n wins."""
    found = {}
    for k_prime in frequencies:
        if k_prime in bases:
            continue
        multiples = [
            (n, k) for k in bases for n in range(2, t.harmonic_multiple + 1) if fold(n * k, modulus) == k_prime
        ]
        if multiples:
            found[k_prime] = min(multiples)[1]
    return found


def writers(spectra: dict[str, dict[int, float]], frequency: int, t: Thresholds) -> list[str]:
    """The writes whose answer part at ``frequency`` is at least `writer_share` of the largest there, largest
    first; none where that largest is below `writer_floor` of the largest amplitude of any write anywhere."""
    amplitude = {name: spectrum.get(frequency, 0.0) for name, spectrum in spectra.items()}
    largest = max(amplitude.values(), default=0.0)
    anywhere = max((max(s.values(), default=0.0) for s in spectra.values()), default=0.0)
    if largest == 0.0 or largest <= t.writer_floor * anywhere:
        return []
    return sorted((n for n, v in amplitude.items() if v >= t.writer_share * largest), key=lambda n: -amplitude[n])


def head_groups(agreement: Agreement, roles: Sequence[HeadRole], t: Thresholds) -> list[HeadGroup]:
    """The switching heads (those with a one-frequency preference rule) of each layer, grouped: a head joins the
    first group of its layer it agrees with on average (`group_agreement`), else starts one."""
    index = {name: i for i, name in enumerate(agreement.heads)}
    switching = [r for r in roles if r.preference is not None]

    def between(first: Sequence[HeadRole], second: Sequence[HeadRole]) -> float:
        return float(np.mean([agreement.matrix[index[a.name], index[b.name]] for a in first for b in second]))

    groups: list[list[HeadRole]] = []
    for role in switching:
        for group in groups:
            if group[0].layer == role.layer and between([role], group) >= t.group_agreement:
                group.append(role)
                break
        else:
            groups.append([role])
    found = []
    for group in groups:
        pairs = [(a, b) for i, a in enumerate(group) for b in group[i + 1 :]]
        within = float(np.mean([between([a], [b]) for a, b in pairs])) if pairs else 1.0
        frequencies = [r.preference.frequency for r in group]
        phases = [r.preference.phase for r in group]
        opposite = next(
            (
                o
                for o in groups
                if o is not group and o[0].layer == group[0].layer and between(group, o) <= 1 - t.group_agreement
            ),
            [],
        )
        found.append(
            HeadGroup(
                layer=group[0].layer,
                heads=tuple(r.name for r in group),
                frequency=max(set(frequencies), key=frequencies.count),
                phase=math.atan2(sum(math.sin(x) for x in phases), sum(math.cos(x) for x in phases)),
                agreement=within,
                opposite=tuple(r.name for r in opposite),
            )
        )
    return found


def read_circuit(
    circuit: Circuit, roles: Sequence[HeadRole], key_frequencies: Sequence[int], t: Thresholds, modulus: int
):
    """The circuit stage's numbers read under ``t``."""
    products = {p.component: p for p in circuit.products}
    blocks = []
    for c in circuit.components.components:
        made = products.get(c.name)
        without = None
        if made is not None:
            without = made.answer_share_mean_patterns if c.kind == "attention" else made.answer_share_additive_input
        together = c.heads_together
        blocks.append(
            BlockReading(
                c.name,
                c.kind,
                c.layer,
                importance(c.ablation.equals, t),
                importance(c.ablation.all_positions, t),
                together_kind(together.delta_loss, together.sum_of_singles, t) if together else None,
                made is not None and forms_products(c.kind, made.answer_share, without, t),
                made is not None and made.answer_share >= t.internal_answer,
            )
        )
    stages = circuit.stages
    readable = next((s.after for s in stages if s.readout_accuracy >= t.readable), None)
    decodable = next((s.after for s in stages if s.decodable is not None and s.decodable >= t.readable), None)
    internal = internal_frequencies(stages, circuit.neurons, t)
    named = list(dict.fromkeys([*internal, *key_frequencies]))
    found_harmonics = harmonics(named, internal, modulus, t)
    bands: dict[int, dict[str, Importance]] = {}
    for ch in circuit.channels:
        if ch.frequency in named:
            bands.setdefault(ch.frequency, {})[ch.removed_at] = importance(Effect(ch.delta_loss, ch.accuracy), t)
    channels = [
        ChannelReading(k, found_harmonics.get(k), bands.get(k, {}), writers(circuit.write_spectra, k, t)) for k in named
    ]
    pairs = {tuple(p.heads): together_kind(p.delta_loss, p.sum_of_singles, t) for p in circuit.components.head_pairs}
    return CircuitReading(
        blocks=blocks,
        pairs=pairs,
        readable_at=readable,
        decodable_at=decodable,
        internal=internal,
        harmonics=found_harmonics,
        channels=channels,
        groups=head_groups(circuit.agreement, roles, t),
    )
