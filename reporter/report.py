"""report.json (contract 3) and the short table `analyze` prints: the analysis as data a reader keeps.

Numbers are rounded here, once, when they leave the analysis; the stages keep full precision.
"""

from __future__ import annotations

import json
from dataclasses import asdict

import numpy as np

from reporter.analysis import Analysis
from reporter.thresholds import Thresholds

SCHEMA_VERSION = 1
DIGITS = 6  # decimals kept in report.json
MODEL_KEYS = (
    "n_layers",
    "n_heads",
    "d_model",
    "d_head",
    "d_mlp",
    "act_fn",
    "normalization_type",
    "d_vocab",
    "d_vocab_out",
    "n_ctx",
)


def rounded(value, digits: int = DIGITS):
    """``value`` with every float (numpy's too) rounded to ``digits`` decimals, recursively."""
    if isinstance(value, dict):
        return {key: rounded(v, digits) for key, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [rounded(v, digits) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (float, np.floating)):
        return round(float(value), digits)
    if isinstance(value, np.integer):
        return int(value)
    return value


def head_record(h, label) -> dict:
    evidence = label.evidence
    return {
        "layer": h.layer,
        "head": h.head,
        "name": h.name,
        "label": label.kind.value,
        "target": label.target,
        "score": label.score,
        "attention": h.mean,
        "attention_std": h.std,
        "attention_quantiles": h.quantiles,
        "argmax_share": h.argmax_share,
        "entropy": h.entropy,
        "mean_max": h.mean_max,
        "a_share": {
            "mean": h.a_share_mean,
            "std": h.a_share_std,
            "above_cutoff": evidence["a_share_above"],
            "below_cutoff": evidence["a_share_below"],
            "bimodality": h.bimodality,
        },
        "switch_rule": asdict(h.switch),
        "evidence": evidence,
    }


def report_json(analysis: Analysis) -> dict:
    """The contract-3 document; keys keep their meaning across versions."""
    stats, t = analysis.stats, analysis.thresholds
    model = analysis.model_config
    return rounded(
        {
            "schema_version": SCHEMA_VERSION,
            "model": {k: model[k] for k in MODEL_KEYS if k in model},
            "task": {**stats.task.to_json(), "n_inputs": stats.task.n_inputs},
            "accuracy": stats.accuracy,
            "warning": analysis.warning,
            "heads": [head_record(h, label) for h, label in zip(stats.heads, analysis.labels, strict=True)],
            "layers": [
                {
                    "layer": trend.layer,
                    "mean_entropy": trend.entropy,
                    "mean_max": trend.mean_max,
                    "attention": trend.mean,
                    "label_counts": trend.label_counts,
                }
                for trend in analysis.trends
            ],
            "pairs": stats.pairs,
            "findings": [asdict(f) for f in analysis.findings],
            "thresholds": {
                name: {"value": getattr(t, name), "reason": reason, "group": Thresholds.group_of(name)}
                for name, reason in Thresholds.reasons()
            },
            "sensitivity": [asdict(row) for row in analysis.sensitivity],
            "provenance": analysis.provenance,
        }
    )


def dumps(document: dict) -> str:
    """Stable JSON text: sorted keys, two-space indent, a final newline."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"


def summary_lines(analysis: Analysis) -> list[str]:
    """The short table `analyze` prints: one line per head, then the findings."""
    stats = analysis.stats
    lines = [
        f"a + b mod {stats.task.modulus}: {stats.n_layers} layers x {stats.n_heads} heads, "
        f"accuracy {100 * stats.accuracy['all']:.2f}% on all {stats.task.n_inputs} inputs"
    ]
    if analysis.warning:
        lines.append(f"WARNING: {analysis.warning}")
    lines.append(
        f"{'head':<6} {'label':<13} {'score':>5}   {'a':>5} {'+':>5} {'b':>5} {'=':>5}   {'entropy':>7} {'mean_max':>8}"
    )
    for h, label in zip(stats.heads, analysis.labels, strict=True):
        means = " ".join(f"{h.mean[k]:5.2f}" for k in ("a", "plus", "b", "equals"))
        lines.append(
            f"{h.name:<6} {label.kind.value:<13} {label.score:5.2f}   {means}   {h.entropy:7.2f} {h.mean_max:8.2f}"
        )
    lines.append("findings:")
    marks = {True: "holds", False: "does not hold", None: "n/a"}
    for finding in analysis.findings:
        lines.append(f"  {finding.id:<19} {marks[finding.holds]:<13} {finding.text}")
    return lines
