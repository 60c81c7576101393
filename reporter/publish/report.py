"""report.json (contract 3) and the short table `analyze` prints: the analysis as data a reader keeps.

Numbers are rounded here, once, when they leave the analysis; the stages keep full precision.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict

import numpy as np

from reporter.analysis import Analysis
from reporter.interpret.roles import frequency_test
from reporter.interpret.thresholds import Thresholds
from reporter.publish.circuit_report import circuit_record, fourier_circuit

SCHEMA_VERSION = 4  # 2: what heads carry, causal effects, positions, Fourier, baseline; 3: data, not prose;
# 4: the circuit (contract 7)
#                    (findings lose text, why and claim and gain reason and scope; warning is a code)
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
        return round(float(value), digits) + 0.0  # + 0.0: never "-0.0" for a value that rounds to zero
    if isinstance(value, np.integer):
        return int(value)
    return value


def effect(e) -> dict:
    return {"delta_loss": e.delta_loss, "accuracy": e.accuracy}


def shares(s) -> dict:
    return {"a": s.a, "b": s.b, "interaction": s.interaction, "answer": s.answer}


def rule_record(role, role_thresholds) -> dict | None:
    """How the head's choice is decided, when a rule decides it (contract 3 "rule"): for a head that switches
    between a and b, the one-frequency preference or a simple comparison (a > b, ...), whichever is right on
    more inputs; for a head whose pattern follows the answer, that."""
    e = role.effects
    simple = role.looks.evidence.get("rule")
    simple_accuracy = simple["agreement"] if simple and not simple["constant"] else -1.0
    if role.preference is not None and role.preference.accuracy > simple_accuracy:
        r = role.preference
        return {
            "kind": "operand_preference",
            "frequencies": list(r.frequencies),
            "phase_degrees": math.degrees(r.phase),
            "phases_degrees": [math.degrees(phase) for phase in r.phases],
            "weights": list(r.weights),
            "bias": r.bias,
            "accuracy": r.accuracy,
            "strongest_accuracy": r.strongest_accuracy,
            "additive_accuracy": r.additive_accuracy,
            "explained": r.explained,
            "decides": r.accuracy >= role_thresholds.rule_decides,
            "lean": ("a" if r.bias > 0 else "b") if abs(r.bias) >= role_thresholds.rule_lean else None,
            "tested_frequency": role.tested_frequencies[0],
            "tested_frequencies": list(role.tested_frequencies),
            "pattern": effect(frequency_test(role.preference, e)),
            "sufficiency": role.frequency_sufficiency.value,
            "sufficient": role.frequency_sufficiency.value == "sufficient",
        }
    if simple_accuracy >= 0:
        return {
            "kind": "simple",
            "frequencies": [],
            "rule": simple["rule"],
            "accuracy": simple_accuracy,
            "additive_accuracy": simple["additive_agreement"],
        }
    if e.rule == "answer" and role.sufficiency.value == "sufficient":
        return {
            "kind": "answer",
            "frequencies": [e.gating_frequency],
            "error": e.rule_error,
            "gating_share": e.gating_share,
        }
    return None


def head_record(h, role, t) -> dict:
    label, e, write = role.looks, role.effects, role.write
    evidence = label.evidence
    return {
        "layer": h.layer,
        "head": h.head,
        "name": h.name,
        "label": label.kind.value,
        "target": label.target,
        "score": label.score,
        "reads": {"label": role.reads.kind.value, "score": role.reads.score, "target": role.reads.target},
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
        "carries": {
            "label": role.carries.value,
            "shares": shares(write.shares),
            "rms": write.shares.rms,
            "spread": write.shares.spread,
            "relative_spread": write.relative_spread,
        },
        "causal": {
            "ablation": {"equals": effect(e.ablation_equals), "all_positions": effect(e.ablation_all)},
            "zero_ablation": {"equals": effect(e.zero_equals)},
            "importance": role.importance.value,
            "importance_anywhere": role.importance_anywhere.value,
            "patching": {"a": effect(e.patch_a), "b": effect(e.patch_b), "agrees": role.patching_agrees},
            "pattern": {
                "mean": effect(e.pattern_mean),
                "rule": effect(e.pattern_rule),
                "rule_kind": e.rule,
                "rule_error": e.rule_error,
                "frequency_rule": {"frequency": e.frequency, **effect(e.pattern_frequency)},
                "two_frequency_rule": {"frequencies": list(e.two_frequencies), **effect(e.pattern_two_frequencies)},
                "gating": {"frequency": e.gating_frequency, "share": e.gating_share},
                "sufficient": role.sufficiency.value == "sufficient",
                "sufficiency": role.sufficiency.value,
            },
            "parts": {
                "additive": effect(e.parts_additive),
                "answer": effect(e.parts_answer),
                "stand_in": role.parts_stand_in,
            },
            "carries_confirmed": role.carries_confirmed,
            "confirmed": role.confirmed,
        },
        "rule": rule_record(role, t),
    }


def keys_carry(logits, accuracy: float) -> str:
    """Whether the key frequencies carry the answer: "all" (alone they answer whatever the model answers, and
    the loss rises without them), "partly" (only the second), or "no"."""
    if logits.excluded_loss <= logits.restricted_loss:
        return "no"
    return "all" if logits.restricted_accuracy >= accuracy else "partly"


def fourier_record(measured, accuracy: float) -> dict:
    logits = measured.logits
    return {
        "key_frequencies": logits.key_frequencies,
        "logits": {
            "power": {str(k): share for k, share in logits.diagonal.top(len(logits.diagonal.shares))},
            "diagonal_share": logits.diagonal_share,
            "restricted_loss": logits.restricted_loss,
            "restricted_accuracy": logits.restricted_accuracy,
            "excluded_loss": logits.excluded_loss,
            "excluded_accuracy": logits.excluded_accuracy,
            "clean_loss": logits.clean_loss,
        },
        "keys_carry": keys_carry(logits, accuracy),
        "embedding": {"top": [list(pair) for pair in measured.embedding.top()]},
        "unembedding": {"top": [list(pair) for pair in measured.unembedding.top()]},
    }


def report_json(analysis: Analysis) -> dict:
    """The contract-3 document; keys keep their meaning across versions."""
    stats, t, measured = analysis.stats, analysis.thresholds, analysis.measured
    model = analysis.model_config
    reading = analysis.reading
    return rounded(
        {
            "schema_version": SCHEMA_VERSION,
            "model": {k: model[k] for k in MODEL_KEYS if k in model},
            "task": {**stats.task.to_json(), "n_inputs": stats.task.n_inputs},
            "accuracy": stats.accuracy,
            "warning": asdict(analysis.warning) if analysis.warning else None,
            "heads": [
                head_record(h, role, analysis.thresholds) for h, role in zip(stats.heads, analysis.roles, strict=True)
            ],
            "positions": [
                {
                    "layer": row.layer,
                    "position": row.position,
                    "carries": reading.readings[row.layer].holds[row.position].value,
                    "shares": shares(row.shares),
                    "rms": row.shares.rms,
                    "spread": row.shares.spread,
                }
                for row in measured.contents
            ],
            "layers": [
                {
                    "layer": trend.layer,
                    "mean_entropy": trend.entropy,
                    "mean_max": trend.mean_max,
                    "attention": trend.mean,
                    "label_counts": trend.label_counts,
                }
                for trend in reading.trends
            ],
            "fourier": fourier_circuit(analysis, fourier_record(measured, stats.accuracy["all"])),
            "pairs": stats.pairs,
            "findings": [asdict(f) for f in analysis.findings],
            "baseline": asdict(analysis.baseline) if analysis.baseline else None,
            "causal_checks": asdict(measured.checks),
            "thresholds": {
                name: {"value": getattr(t, name), "reason": reason, "group": Thresholds.group_of(name)}
                for name, reason in Thresholds.reasons()
            },
            "sensitivity": [asdict(row) for row in analysis.sensitivity],
            "provenance": analysis.provenance,
            **circuit_record(analysis),
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
        from reporter.publish.render import terminal  # the pages' own wording (render imports this module)

        lines.append(f"WARNING: {terminal('warning_of_report', analysis.warning)}")
    lines.append(
        f"{'head':<6} {'looks at':<13} {'reads':<13} {'carries':<8} {'matters':<8} {'Δloss':>6}   "
        f"{'a':>4} {'+':>4} {'b':>4} {'=':>4}"
    )
    for h, role in zip(stats.heads, analysis.roles, strict=True):
        means = " ".join(f"{h.mean[k]:4.2f}" for k in ("a", "plus", "b", "equals"))
        lines.append(
            f"{h.name:<6} {role.looks.kind.value:<13} {role.reads.kind.value:<13} {role.carries.value:<8} "
            f"{role.importance.value:<8} {role.effects.ablation_equals.delta_loss:6.3f}   {means}"
        )
    lines.append("findings (the pages say what the data show):")
    marks = {True: "holds", False: "does not hold", None: "n/a"}
    for f in analysis.findings:
        line = f"  {f.id:<25} {marks[f.holds]}"
        if f.reason is not None:  # judged by position and by content: say which decides
            by = f"by position {marks[f.by_position]}, by content {marks[f.by_content]}; {f.decided_by} decides"
            line = f"{line:<41} ({by})"
        lines.append(line)
    return lines
