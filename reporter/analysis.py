"""The whole analysis of one checkpoint: the stages composed, in pipeline order.

    checkpoint -> stats -> labels -> layer trends -> findings -> sensitivity

`analyse` is the only place that knows the order; every stage stays a function from
data to data, and the result is one frozen `Analysis` that figures and pages read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path

from reporter.findings import Finding, check_findings
from reporter.labels import Label, LayerTrend, label_heads, layer_trends
from reporter.limits import analysis_bytes, check_fits
from reporter.sensitivity import SensitivityRow, sensitivity
from reporter.stats import PairError, Stats, default_pairs
from reporter.thresholds import Thresholds
from reporter.training_record import TrainingRecord

PACKAGES = (
    "modreport",
    "torch",
    "transformer-lens",
    "numpy",
    "safetensors",
    "matplotlib",
    "jinja2",
    "mkdocs",
    "mkdocs-material",
)


@dataclass(frozen=True)
class Options:
    """What the user chose: the pairs drawn in full (None: the seed's), the thresholds, and the command line."""

    pairs: tuple[tuple[int, int], ...] | None = None
    thresholds: Thresholds = field(default_factory=Thresholds)
    command: str = "modreport build"


@dataclass(frozen=True)
class Analysis:
    """Everything one run of the analysis produced, ready to draw and render."""

    stats: Stats
    labels: list[Label]
    trends: list[LayerTrend]
    findings: list[Finding]
    thresholds: Thresholds
    sensitivity: list[SensitivityRow]
    model_config: dict  # the checkpoint's "model" block
    training: TrainingRecord | None
    provenance: dict

    @property
    def warning(self) -> str | None:
        accuracy, floor = self.stats.accuracy["all"], self.thresholds.low_accuracy
        if accuracy >= floor:
            return None
        return (
            f"The model answers only {100 * accuracy:.1f}% of all inputs correctly (below {100 * floor:.0f}%): "
            "these findings describe a model that has not learned the task."
        )


def check_pairs(pairs, modulus: int) -> list[tuple[int, int]]:
    """The chosen pairs, or the seed's scaled to p; a pair outside [0, p) is one PairError sentence."""
    if pairs is None:
        return default_pairs(modulus)
    for a, b in pairs:
        if a >= modulus or b >= modulus:
            raise PairError(f"pair '{a}+{b}' is out of range: a and b must lie in [0, {modulus}).")
    return list(pairs)


def analyse(directory: Path, options: Options) -> Analysis:
    """Load, measure, label and check one checkpoint. Raises CheckpointError or PairError (one sentence each)."""
    import torch

    from reporter.checkpoint import load_checkpoint, read_config
    from reporter.model import CheckpointError
    from reporter.stats import NonFiniteLogits, attention_over_all_inputs, compute_stats

    config, task, _ = read_config(directory)
    pairs = check_pairs(options.pairs, task.modulus)  # refused before the model is built
    m = config["model"]
    needed = analysis_bytes(task.modulus, m["n_layers"], m["n_heads"], m["d_model"])
    check_fits(needed, f"analysing all {task.n_inputs} inputs of this model (p = {task.modulus})")
    loaded = load_checkpoint(directory, dtype=torch.float64)
    t = options.thresholds
    split = loaded.training.split if loaded.training else None
    try:
        attention = attention_over_all_inputs(loaded.model, task)
    except NonFiniteLogits as error:
        raise CheckpointError(f"{Path(directory) / 'model.safetensors'}: {error}") from None
    stats = compute_stats(attention, pairs, split)
    labels = label_heads(stats.heads, t)
    trends = layer_trends(stats.layers, labels)
    findings = check_findings(stats.layers, labels, trends, t)
    provenance = {
        "checkpoint": Path(directory).name,
        "checkpoint_sha256": loaded.sha256,
        "command": options.command,
        "pairs": [f"{a}+{b}" for a, b in pairs],
        "versions": {name: version(name) for name in PACKAGES},
        "training_recipe": loaded.training.recipe if loaded.training and loaded.training.recipe else None,
    }
    return Analysis(
        stats=stats,
        labels=labels,
        trends=trends,
        findings=findings,
        thresholds=t,
        sensitivity=sensitivity(stats.heads, stats.layers, labels, findings, t),
        model_config=loaded.config["model"],
        training=loaded.training,
        provenance=provenance,
    )
