"""The whole analysis of one checkpoint: the stages composed, in pipeline order.

    measure (the model, through TransformerLens hooks):  capture -> content -> causal -> fourier
    interpret (numbers only):  stats -> labels -> roles -> findings -> sensitivity

`measure` is the only part that runs the model; its result is cached (cache.py) by the checkpoint's bytes
and `key_frequency`, the one threshold it reads, so a rebuild with the same checkpoint runs no model at
all, whatever the other thresholds and the pairs. `interpret` is cheap and pure, so the sensitivity
sweep re-runs it for every moved threshold.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from importlib.metadata import version
from pathlib import Path

import numpy as np

from reporter.interpret.algorithm import Step, algorithm
from reporter.interpret.circuit import CircuitReading, read_circuit
from reporter.interpret.findings import Finding, check_findings
from reporter.interpret.labels import LayerTrend, layer_trends
from reporter.interpret.roles import HeadRole, LayerReading, head_carries, head_roles, importance, layer_readings
from reporter.interpret.sensitivity import SensitivityRow, sensitivity
from reporter.interpret.stats import Attention, PairError, Stats, compute_stats, default_pairs
from reporter.interpret.thresholds import Thresholds
from reporter.limits import analysis_bytes, check_fits
from reporter.measure.causal import Effect
from reporter.measure.content import HeadWrite, PositionContent
from reporter.measurement import Measurements, measure
from reporter.model.training_record import TrainingRecord
from reporter.resources import PACKAGES


@dataclass(frozen=True)
class Options:
    """What the user chose: the pairs drawn in full (None: the original write-up's), the thresholds, the
    command line, and whether to sweep the thresholds (a run that is only compared needs no sweep)."""

    pairs: tuple[tuple[int, int], ...] | None = None
    thresholds: Thresholds = field(default_factory=Thresholds)
    command: str = "modreport build"
    sweep: bool = True
    baseline: bool = True  # measure the untrained model of the same config (a run that is only compared needs none)
    circuit: bool = True  # measure how it computes (contract 7; a run that is only compared needs none)
    device: str = "cpu"  # the torch device the model runs on (model/device.py); the results come back to the CPU


@dataclass(frozen=True)
class Baseline:
    """The untrained model of the same config and seed, measured the same way (no patching or pattern tests)."""

    weights: np.ndarray
    correct: np.ndarray
    contents: list[PositionContent]
    writes: list[HeadWrite]
    ablations: list[Effect]  # mean-ablation at `=` of every head


def measure_baseline(config: dict, task, training: TrainingRecord | None = None, device: str = "cpu") -> Baseline:
    """The trained model's start point (the same config and seed, and the recorded recipe's initial unembedding
    scale), untrained, measured on ``device``: which labels a model that has learned nothing would also earn."""
    import torch

    from reporter.measure.capture import capture
    from reporter.measure.causal import Interventions, mean_ablation
    from reporter.measure.content import head_writes, position_contents
    from reporter.model.recipe import initial_unembed_scale
    from reporter.model.train import initial_model

    model = initial_model(config, initial_unembed_scale(training.recipe if training else None))
    model.eval()
    model.to(device, torch.float64, print_details=False)  # built on the CPU: the same init on every device
    clean = capture(model, task)
    interventions = Interventions(model, clean)
    n_layers, n_heads = model.cfg.n_layers, model.cfg.n_heads
    return Baseline(
        weights=clean.weights,
        correct=clean.correct,
        contents=position_contents(clean),
        writes=head_writes(model, clean),
        ablations=[
            interventions.effect(mean_ablation(clean, layer, head))
            for layer in range(n_layers)
            for head in range(n_heads)
        ],
    )


@dataclass(frozen=True)
class Reading:
    """What the numbers say under one threshold table: the part `sensitivity` re-runs."""

    readings: list[LayerReading]
    roles: list[HeadRole]
    trends: list[LayerTrend]
    findings: list[Finding]


def interpret(stats: Stats, measured: Measurements, t: Thresholds, memo: dict | None = None) -> Reading:
    """Labels, roles, trends and findings from the statistics and the measurements (``memo``: see head_roles)."""
    readings = layer_readings(measured.contents, stats.n_layers + 1, t)  # the last: the unembedding's input
    roles = head_roles(stats, readings, measured.writes, measured.effects, t, memo)
    trends = layer_trends(stats.layers, [role.looks for role in roles])
    return Reading(readings, roles, trends, check_findings(stats, readings, roles, t))


@dataclass(frozen=True)
class BaselineSummary:
    """The labels the untrained model (the training start point) earns: how many of each, and head by head."""

    accuracy: float
    looks: dict  # label -> heads
    reads: dict
    carries: dict
    importance: dict
    heads: list[dict]  # per head, in layer-then-head order: {"name", "looks", "reads", "carries", "importance"}


def summarise_baseline(baseline: Baseline, task, t: Thresholds) -> BaselineSummary:
    from collections import Counter

    from reporter.interpret.labels import head_label
    from reporter.interpret.roles import merged_weights

    stats = compute_stats(Attention(task, baseline.weights, baseline.correct), [])
    readings = layer_readings(baseline.contents, stats.n_layers + 1, t)
    heads = [
        {
            "name": h.name,
            "looks": head_label(h, t).kind.value,
            "reads": head_label(h, t, merged_weights(h.weights, readings[h.layer])).kind.value,
            "carries": head_carries(write, t).value,
            "importance": importance(ablation, t).value,
        }
        for h, write, ablation in zip(stats.heads, baseline.writes, baseline.ablations, strict=True)
    ]
    counts = {view: dict(Counter(head[view] for head in heads)) for view in ("looks", "reads", "carries", "importance")}
    return BaselineSummary(accuracy=float(baseline.correct.mean()), **counts, heads=heads)


@dataclass(frozen=True)
class Analysis:
    """Everything one run of the analysis produced, ready to draw and render."""

    stats: Stats
    measured: Measurements
    reading: Reading
    thresholds: Thresholds
    sensitivity: list[SensitivityRow]
    baseline: BaselineSummary | None  # None for a run that is only compared
    model_config: dict  # the checkpoint's "model" block
    training: TrainingRecord | None
    provenance: dict
    circuit: CircuitReading | None  # the circuit stage's numbers read under the thresholds (None: not measured)
    algorithm: list[Step]  # how this model adds, step by step (contract 7)
    checkpoint: Path | None = None  # the folder analysed: `build_site` compares the runs beside it

    @property
    def roles(self) -> list[HeadRole]:
        return self.reading.roles

    @property
    def findings(self) -> list[Finding]:
        return self.reading.findings

    @property
    def labels(self):
        return [role.looks for role in self.reading.roles]

    @property
    def warning(self) -> LearningWarning | None:
        """Said on every page when the model has not fully learned the task; None when it has."""
        accuracy, floor = self.stats.accuracy, self.thresholds.low_accuracy
        held_out = accuracy.get("test")
        if accuracy["all"] < floor:
            return LearningWarning("unlearned", accuracy["all"], held_out, floor)
        if held_out is not None and held_out < 1:
            return LearningWarning("held_out_fails", accuracy["all"], held_out, floor)
        return None


@dataclass(frozen=True)
class LearningWarning:
    """Why the pages warn, as a code the templates word: "unlearned" (below ``floor`` on all inputs) or
    "held_out_fails" (some input it never trained on is wrong). Accuracies are shares of inputs."""

    code: str
    accuracy: float  # on all inputs
    held_out: float | None  # on the inputs it never trained on; None without a split
    floor: float  # the low_accuracy threshold


def check_pairs(pairs, modulus: int) -> list[tuple[int, int]]:
    """The chosen pairs, or the original write-up's scaled to p; a pair outside [0, p) is one PairError sentence."""
    if pairs is None:
        return default_pairs(modulus)
    for a, b in pairs:
        if a >= modulus or b >= modulus:
            raise PairError(f"pair '{a}+{b}' is out of range: a and b must lie in [0, {modulus}).")
    return list(pairs)


# What `analyse` reports as each stage starts, in order; a stage read from the cache is not reported.
STAGES = ("capture", "causal", "fourier", "content", "circuit", "baseline", "interpret")


def analyse(directory: Path, options: Options, cache=None, progress=None) -> Analysis:
    """Load, measure (or read the cache), and interpret one checkpoint; ``progress(stage)`` hears each of
    STAGES as it starts. Raises CheckpointError or PairError."""
    import functools

    from reporter.cache_codec import fits_checkpoint
    from reporter.cache_keys import baseline_reads, measurements_reads
    from reporter.measure.capture import NonFiniteLogits
    from reporter.model.checkpoint import CheckpointError, load_checkpoint, read_checkpoint

    files = read_checkpoint(Path(directory))  # each file read and hashed once, for every stage below
    config, task, training = files.config, files.task, files.training
    pairs = check_pairs(options.pairs, task.modulus)  # refused before the model is built
    m, t = config["model"], options.thresholds
    check_fits(
        analysis_bytes(task.modulus, m["n_layers"], m["n_heads"], m["d_model"]),
        f"analysing all {task.n_inputs} inputs of this model (p = {task.modulus})",
    )
    # An entry exists only for these exact bytes, checked in full when it was made: a hit skips the check of
    # the config's keys against TransformerLens (and importing it).
    reads = measurements_reads(files, t.key_frequency, options.circuit, options.device)
    fits = functools.partial(fits_checkpoint, n_inputs=task.n_inputs, n_layers=m["n_layers"], n_heads=m["n_heads"])
    found = cache.load(reads, (Measurements,), fits) if cache else None
    if found is None and cache and not options.circuit:  # a full analysis's entry holds all a compared run reads
        full = cache.load(measurements_reads(files, t.key_frequency, True, options.device), (Measurements,), fits)
        found = None if full is None else (replace(full[0], circuit=None),)
    if found is None:
        import torch

        loaded = load_checkpoint(files, dtype=torch.float64)  # checked on the CPU, then measured on the device
        loaded.model.to(options.device, print_details=False)
        try:
            split = training.split if training else None
            found = (measure(loaded.model, task, t.key_frequency, split if options.circuit else False, progress),)
        except NonFiniteLogits as error:
            raise CheckpointError(f"{files.weights_path}: {error}") from None
        if cache:
            cache.store(reads, found)
    (measured,) = found
    baseline = None
    if options.baseline:  # the untrained model of the same config: only a headline report shows it
        cached = cache.load(baseline_reads(files, options.device), (Baseline,), fits) if cache else None
        if not cached and progress:
            progress("baseline")
        baseline = cached[0] if cached else measure_baseline(config["model"], task, training, options.device)
        if cache and not cached:
            cache.store(baseline_reads(files, options.device), (baseline,))
    split = training.split if training else None
    if progress:
        progress("interpret")
    stats = compute_stats(Attention(task, measured.weights, measured.correct), pairs, split)
    reading = interpret(stats, measured, t)
    keys = measured.logits.key_frequencies
    circuit = read_circuit(measured.circuit, reading.roles, keys, t, task.modulus) if measured.circuit else None
    provenance = {
        "checkpoint": Path(directory).name,
        "checkpoint_sha256": files.weights_sha256,
        "command": options.command,
        "device": options.device,
        "pairs": [f"{a}+{b}" for a, b in pairs],
        "versions": {name: version(name) for name in PACKAGES},
        "training_recipe": training.recipe if training and training.recipe else None,
    }
    return Analysis(
        stats=stats,
        measured=measured,
        reading=reading,
        thresholds=t,
        sensitivity=sensitivity(stats, measured, reading, t, interpret) if options.sweep else [],
        baseline=summarise_baseline(baseline, task, t) if baseline else None,
        model_config=m,
        training=training,
        provenance=provenance,
        circuit=circuit,
        algorithm=algorithm(measured.circuit, circuit, reading.roles, keys) if circuit else [],
        checkpoint=Path(directory),
    )
