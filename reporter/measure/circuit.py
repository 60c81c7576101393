"""The circuit stage: how the model computes the answer, measured on all p² inputs (contract 7).

Composed from one module per question, all reading the clean capture and the `=`-column replay that causal
checks against TransformerLens:

    components   every attention block and MLP mean-ablated; each layer's heads together and in pairs
    stages       the residual at `=` after every stage: what it holds, and where the answer becomes readable
    products     where the answer's products form: attention with mean patterns, MLPs with additive input
    neurons      each MLP neuron's 2-D spectrum; the embedding's sparsity
    attribution  each component's direct share of the correct logit and of each frequency's logit term
    channels     each candidate frequency removed where each MLP reads it and at the end
    head_groups  how often two heads of a layer pick the same operand

Numbers only: every cut-off (which together-effect is `redundant`, which frequency is internal, which writes
carry a channel, which heads form a group) is applied in interpret/circuit.py from the threshold table.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from reporter.measure.attribution import Attribution, logit_attribution
from reporter.measure.capture import Capture
from reporter.measure.causal import Interventions
from reporter.measure.channels import Channel, candidates, channels, write_spectra
from reporter.measure.components import Components, components
from reporter.measure.head_groups import Agreement, agreement
from reporter.measure.neurons import EmbeddingSparsity, NeuronLayer, embedding_sparsity, neurons
from reporter.measure.products import Product, products
from reporter.measure.stages import Stage, stages, stream
from reporter.model.engine import Forward


@dataclass(frozen=True)
class Circuit:
    """Everything the circuit stage measured on one model."""

    components: Components
    stages: list[Stage]
    products: list[Product]
    neurons: list[NeuronLayer]
    embedding: EmbeddingSparsity
    attribution: list[Attribution]  # over ``frequencies``
    frequencies: list[int]  # the candidate frequencies, in the order first met along the forward
    channels: list[Channel]  # each candidate removed at each place
    write_spectra: dict[str, dict[int, float]]  # head or MLP -> its write's answer part's amplitude at each k
    agreement: Agreement

    @property
    def neurons_fire(self) -> bool:
        """Some MLP neuron's pre-activation varies with the input (a model without MLPs, or with silent ones, has
        no neurons to show)."""
        return any(layer.by_frequency for layer in self.neurons)


def measure_circuit(
    model,
    capture: Capture,
    interventions: Interventions,
    key_frequencies: list[int],
    singles: dict[tuple[int, int], float],
    split: tuple[float, int] | None,
) -> Circuit:
    """The whole stage on one model. ``singles``: each head's Δloss of mean-ablation at `=` (causal's), so
    that no single ablation runs twice; ``split``: (train fraction, seed) for the linear read-out."""
    forward = Forward(model, torch.float64)
    p = capture.task.modulus
    found = stream(forward, capture)
    table = stages(forward, capture, split)
    layers = neurons(forward, found.residuals, p)
    frequencies = candidates(table, layers, key_frequencies)
    return Circuit(
        components=components(interventions, singles),
        stages=table,
        products=products(forward, capture, found),
        neurons=layers,
        embedding=embedding_sparsity(forward, p),
        attribution=logit_attribution(forward, capture, found, frequencies),
        frequencies=frequencies,
        channels=channels(forward, interventions, found, frequencies),
        write_spectra=write_spectra(forward, interventions, found),
        agreement=agreement(capture),
    )
