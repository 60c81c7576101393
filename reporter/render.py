"""Turn the analysis into what readers get: report.json (contract 3) and, later, the Markdown pages."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from reporter.findings import Finding
from reporter.labels import Label, LayerTrend, Thresholds
from reporter.stats import Stats

SCHEMA_VERSION = 1
LOW_ACCURACY = 0.99  # below this on all inputs, every page carries a warning


@dataclass(frozen=True)
class Analysis:
    """Everything one run of the analysis produced, ready to render."""

    stats: Stats
    labels: list[Label]
    trends: list[LayerTrend]
    findings: list[Finding]
    thresholds: Thresholds
    sensitivity: list[dict]
    config: dict  # the checkpoint's config.json
    provenance: dict

    @property
    def warning(self) -> str | None:
        accuracy = self.stats.accuracy["all"]
        if accuracy >= LOW_ACCURACY:
            return None
        return (f"The model answers only {accuracy:.1%} of all inputs correctly (below {LOW_ACCURACY:.0%}): "
                "these findings describe a model that has not learned the task.")


def head_record(stats, label: Label) -> dict:
    h = next(x for x in stats.heads if (x.layer, x.head) == (label.layer, label.head))
    return {
        "layer": h.layer,
        "head": h.head,
        "name": f"L{h.layer}H{h.head}",
        "label": label.kind.value,
        "score": label.score,
        "attention": h.mean,
        "attention_std": h.std,
        "attention_quantiles": h.quantiles,
        "argmax_share": h.argmax_share,
        "entropy": h.entropy,
        "mean_max": h.mean_max,
        "a_share": {"mean": h.a_share_mean, "std": h.a_share_std, "above_0.9": h.a_share_above_09,
                    "below_0.1": h.a_share_below_01, "bimodality": h.bimodality},
        "switch_rule": asdict(h.switch),
        "evidence": label.evidence,
    }


def report_json(analysis: Analysis) -> dict:
    """The contract-3 document; keys keep their meaning across versions."""
    stats, config = analysis.stats, analysis.config
    model = config["model"]
    return {
        "schema_version": SCHEMA_VERSION,
        "model": {k: model[k] for k in ("n_layers", "n_heads", "d_model", "d_head", "d_mlp", "act_fn",
                                        "normalization_type", "d_vocab", "d_vocab_out", "n_ctx") if k in model},
        "task": {**config["task"], "n_inputs": stats.task.n_inputs},
        "accuracy": stats.accuracy,
        "warning": analysis.warning,
        "heads": [head_record(stats, label) for label in analysis.labels],
        "layers": [
            {"layer": t.layer, "mean_entropy": t.entropy, "mean_max": t.mean_max, "attention": t.mean,
             "label_counts": t.label_counts}
            for t in analysis.trends
        ],
        "pairs": stats.pairs,
        "findings": [asdict(f) for f in analysis.findings],
        "thresholds": {name: {"value": getattr(analysis.thresholds, name), "reason": reason}
                       for name, reason in Thresholds.reasons()},
        "sensitivity": analysis.sensitivity,
        "provenance": analysis.provenance,
    }


def dumps(document: dict) -> str:
    """Stable JSON text: sorted keys, two-space indent, a final newline."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"
