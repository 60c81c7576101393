"""report.json's circuit keys (contract 7): the circuit stage's numbers with the reading's codes beside them."""

from __future__ import annotations

from dataclasses import asdict

from reporter.analysis import Analysis


def effect(e) -> dict:
    return {"delta_loss": e.delta_loss, "accuracy": e.accuracy}


def by_frequency(values: dict) -> dict:
    """A table keyed by frequency, keyed by its decimal string (JSON's keys are strings)."""
    return {str(k): v for k, v in values.items()}


def components(analysis: Analysis) -> list[dict]:
    bands = {b.name: b for b in analysis.circuit.blocks}
    rows = []
    for c in analysis.measured.circuit.components.components:
        band = bands[c.name]
        row = {
            "name": c.name,
            "kind": c.kind,
            "layer": c.layer,
            "ablation": {"equals": effect(c.ablation.equals), "all_positions": effect(c.ablation.all_positions)},
            "importance": band.importance.value,
            "importance_anywhere": band.importance_anywhere.value,
            "forms_products": band.forms_products,
            "heads_together": None,  # an MLP has no heads
        }
        if c.heads_together is not None:
            together = c.heads_together
            row["heads_together"] = {
                "delta_loss": together.delta_loss,
                "sum_of_singles": together.sum_of_singles,
                "kind": band.together,
            }
        rows.append(row)
    return rows


def stage_rows(analysis: Analysis) -> list[dict]:
    reading = analysis.circuit
    return [
        {
            "after": s.after,
            "position": s.position,
            "shares": {"a": s.shares.a, "b": s.shares.b, "answer": s.shares.answer, "other": s.other},
            "answer_frequencies": by_frequency(s.answer_frequencies),
            "decodable": s.decodable,
            "readout_accuracy": s.readout_accuracy,
            "readable": s.after == reading.readable_at,
        }
        for s in analysis.measured.circuit.stages
    ]


def channel_rows(analysis: Analysis) -> list[dict]:
    readings = {ch.frequency: ch for ch in analysis.circuit.channels}
    return [
        {
            "frequency": ch.frequency,
            "removed_at": ch.removed_at,
            "accuracy": ch.accuracy,
            "delta_loss": ch.delta_loss,
            "importance": readings[ch.frequency].importance[ch.removed_at].value,
            "written_by": readings[ch.frequency].written_by,
        }
        for ch in analysis.measured.circuit.channels
        if ch.frequency in readings
    ]


def circuit_record(analysis: Analysis) -> dict:
    """The contract-7 keys of one report."""
    measured, reading = analysis.measured.circuit, analysis.circuit
    return {
        "components": components(analysis),
        "head_pairs": [
            {
                "heads": list(p.heads),
                "delta_loss": p.delta_loss,
                "sum_of_singles": p.sum_of_singles,
                "kind": reading.pairs[tuple(p.heads)],
            }
            for p in measured.components.head_pairs
        ],
        "stages": stage_rows(analysis),
        "products": [
            {
                "component": p.component,
                "answer_share": p.answer_share,
                **(
                    {"answer_share_mean_patterns": p.answer_share_mean_patterns}
                    if p.answer_share_additive_input is None
                    else {"answer_share_additive_input": p.answer_share_additive_input}
                ),
            }
            for p in measured.products
        ],
        "channels": channel_rows(analysis),
        "neurons": [
            {
                "layer": n.layer,
                "by_frequency": by_frequency(n.by_frequency),
                "terms": {
                    "single": n.terms["a"] + n.terms["b"],
                    "a": n.terms["a"],
                    "b": n.terms["b"],
                    "sum": n.terms["sum"],
                    "difference": n.terms["difference"],
                    "other": n.terms["other"],
                },
            }
            for n in measured.neurons
        ],
        "logit_attribution": [
            {"component": a.component, "correct_logit": a.correct_logit, "frequencies": by_frequency(a.frequencies)}
            for a in measured.attribution
        ],
        "head_groups": [
            {
                "layer": g.layer,
                "heads": list(g.heads),
                "frequency": g.frequency,
                "phase": g.phase,
                "agreement": g.agreement,
                "opposite": list(g.opposite),
            }
            for g in reading.groups
        ],
        "algorithm": [asdict(step) for step in analysis.algorithm],
    }


def fourier_circuit(analysis: Analysis, fourier: dict) -> dict:
    """report.json's `fourier` with the keys contract 7 adds: the internal frequencies, the harmonics, and the
    embedding's sparsity beside its top frequencies."""
    reading, embedding = analysis.circuit, analysis.measured.circuit.embedding
    sparsity = {
        "top5_share": embedding.top5_share,
        "frequencies_for_half": embedding.frequencies_for_half,
        "sparse": embedding.frequencies_for_half <= analysis.thresholds.sparse_frequencies,
    }
    return {
        **fourier,
        "internal_frequencies": list(reading.internal),
        "harmonics": by_frequency(reading.harmonics),
        "embedding": {**fourier["embedding"], **sparsity},
    }
