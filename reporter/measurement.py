"""What needs the model, measured once over all p² inputs: the capture, content, causal, Fourier and circuit
stages in one place, so that `analysis` caches their result by the checkpoint's bytes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from reporter.measure.causal import Checks, HeadEffects
from reporter.measure.circuit import Circuit
from reporter.measure.content import HeadWrite, PositionContent
from reporter.measure.fourier import LogitSpectrum, Spectrum


@dataclass(frozen=True)
class Measurements:
    """Everything that needs the model, measured once over all p² inputs."""

    weights: np.ndarray  # [input, layer, head, key] attention from `=`
    correct: np.ndarray  # [input] bool
    contents: list[PositionContent]  # every layer's input at every position
    writes: list[HeadWrite]  # every head's write at `=`
    effects: list[HeadEffects]  # every intervention on every head
    checks: Checks
    logits: LogitSpectrum
    embedding: Spectrum
    unembedding: Spectrum
    circuit: Circuit | None  # how the model computes the answer (contract 7); None: not measured


def measure(
    model,
    task,
    key_share: float,
    split: tuple[float, int] | bool | None = None,
    progress: Callable[[str], None] | None = None,
) -> Measurements:
    """Run the model once through TransformerLens hooks and every intervention the report reads. ``split``:
    the training split (train fraction, seed) for the circuit's linear read-out, None without one, or False
    for no circuit stage at all (a run that is only compared). ``progress`` hears each stage's name as it
    starts: capture, causal, fourier, content, circuit."""
    report = progress or (lambda stage: None)
    from reporter.measure.capture import capture
    from reporter.measure.causal import Interventions, head_effects, score_scale
    from reporter.measure.circuit import measure_circuit
    from reporter.measure.content import head_writes, position_contents
    from reporter.measure.fourier import logit_spectrum, spectrum
    from reporter.measure.rules import rules
    from reporter.model import keys

    report("capture")
    clean = capture(model, task)
    report("causal")
    interventions = Interventions(model, clean)
    state = model.state_dict()
    effects = head_effects(interventions, rules(clean, score_scale(model.cfg)))
    report("fourier")
    logits = logit_spectrum(clean, key_share)
    singles = {(e.layer, e.head): e.ablation_equals.delta_loss for e in effects}
    report("content")
    contents, writes = position_contents(clean), head_writes(model, clean)
    if split is not False:
        report("circuit")
    return Measurements(
        weights=clean.weights,
        correct=clean.correct,
        contents=contents,
        writes=writes,
        effects=effects,
        checks=interventions.checks,
        logits=logits,
        embedding=spectrum(state[keys.EMBED][: task.modulus], task.modulus),
        unembedding=spectrum(state[keys.weight(keys.UNEMBED)], task.modulus),
        circuit=None
        if split is False
        else measure_circuit(model, clean, interventions, logits.key_frequencies, singles, split),
    )
