"""How this model adds, as numbered steps: data composed from the circuit reading, worded by the template.

One step per block the model needs, in forward order (`route` for an attention block, `mlp` for an MLP), then
the frequencies the answer runs on (`frequencies`), where the answer becomes readable (`readable`), which
components write the correct logit (`readout`), the work several heads share (`redundant`) and what the model
does not need (`idle`). A step names only components whose ablation matters, or says that several share the
work. Nothing assumes a number of layers, heads, a modulus or a frequency (contract 7 `algorithm`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from reporter.interpret.circuit import CircuitReading
from reporter.interpret.roles import HeadRole, Importance
from reporter.measure.circuit import Circuit

NEEDED = (Importance.matters, Importance.critical)


@dataclass(frozen=True)
class Step:
    """One step of the account: its kind, the components it names, its numbers and codes, and per-item rows."""

    step: int
    kind: str  # "route" | "mlp" | "frequencies" | "readable" | "readout" | "redundant" | "idle"
    components: list[str]
    numbers: dict = field(default_factory=dict)  # name -> number, every one quoted by the page
    codes: dict = field(default_factory=dict)  # name -> a code the template words (a band, a label, a kind)
    items: list[dict] = field(default_factory=list)  # per head, channel or component: its codes and numbers


def head_item(role: HeadRole, groups: dict[str, int]) -> dict:
    return {
        "name": role.name,
        "reads": role.reads.kind.value,
        "carries": role.carries.value,
        "importance": role.importance.value,
        "delta_loss": role.effects.ablation_equals.delta_loss,
        "frequencies": list(role.preference.frequencies) if role.preference is not None else [],
        "group": groups.get(role.name),
    }


def route_step(block, circuit: Circuit, reading: CircuitReading, roles: Sequence[HeadRole]) -> dict:
    """An attention block the model needs: the heads of its layer that matter alone, or all of them sharing it."""
    component = next(c for c in circuit.components.components if c.name == block.name)
    made = next(p for p in circuit.products if p.component == block.name)
    layer_roles = [r for r in roles if r.layer == block.layer]
    needed = [r for r in layer_roles if r.importance in NEEDED]
    groups = []  # the layer's groups of two or more heads; a pair of opposite groups is named once
    for g in reading.groups:
        if g.layer == block.layer and len(g.heads) > 1 and not any(o.heads == g.opposite for o in groups):
            groups.append(g)
    group_of = {name: i for i, g in enumerate(groups) for name in g.heads}
    return {
        "kind": "route",
        "components": [r.name for r in needed] or [r.name for r in layer_roles],
        "numbers": {
            "layer": block.layer,
            "delta_loss": component.ablation.equals.delta_loss,
            "together": component.heads_together.delta_loss,
            "sum_of_singles": component.heads_together.sum_of_singles,
            "largest_single": max(r.effects.ablation_equals.delta_loss for r in layer_roles),
            "answer_share": made.answer_share,
            "answer_share_mean_patterns": made.answer_share_mean_patterns,
        },
        "codes": {
            "importance": block.importance.value,
            "together": block.together,
            "shared": not needed,
            "products": block.forms_products,
        },
        "items": [head_item(r, group_of) for r in needed]
        + [
            {"group": i, "heads": list(g.heads), "opposite": list(g.opposite), "frequency": g.frequency}
            for i, g in enumerate(groups)
        ],
    }


def mlp_step(block, circuit: Circuit, reading: CircuitReading) -> dict:
    component = next(c for c in circuit.components.components if c.name == block.name)
    made = next(p for p in circuit.products if p.component == block.name)
    layer = next(n for n in circuit.neurons if n.layer == block.layer)
    top = next(iter(layer.by_frequency), None)
    return {
        "kind": "mlp",
        "components": [block.name],
        "numbers": {
            "layer": block.layer,
            "delta_loss": component.ablation.equals.delta_loss,
            "answer_share": made.answer_share,
            "answer_share_additive_input": made.answer_share_additive_input,
            "frequency": top,
            "neurons_at_frequency": layer.by_frequency.get(top, 0),
            "neurons": len(layer.frequency),
            "sum_terms": layer.terms["sum"],
            "difference_terms": layer.terms["difference"],
        },
        "codes": {
            "importance": block.importance.value,
            "products": block.forms_products,
            "holds_answer": block.holds_answer,
            "readable_after": reading.readable_at == block.name,
        },
    }


def frequencies_step(circuit: Circuit, reading: CircuitReading, key_frequencies: Sequence[int]) -> dict | None:
    """The internal frequencies, their harmonics among the read-out ones, and each needed channel."""
    if not reading.channels:
        return None
    items = []
    for ch in reading.channels:
        places = {place: band for place, band in ch.importance.items() if band in NEEDED}
        worst = max(
            (c for c in circuit.channels if c.frequency == ch.frequency and c.removed_at in places),
            key=lambda c: c.delta_loss,
            default=None,
        )
        items.append(
            {
                "frequency": ch.frequency,
                "internal": ch.frequency in reading.internal,
                "key": ch.frequency in key_frequencies,
                "harmonic_of": ch.harmonic_of,
                "needed_at": [place for place in ch.importance if place in places],
                "removed_at": worst.removed_at if worst else None,
                "delta_loss": worst.delta_loss if worst else None,
                "accuracy": worst.accuracy if worst else None,
                "written_by": ch.written_by,
            }
        )
    return {
        "kind": "frequencies",
        "components": list(dict.fromkeys(name for item in items if item["needed_at"] for name in item["written_by"])),
        "numbers": {"internal": list(reading.internal), "key": list(key_frequencies)},
        "items": items,
    }


def readable_step(circuit: Circuit, reading: CircuitReading) -> dict:
    """Where the model's own read-out first answers, and where a linear read-out could already."""
    by_stage = {s.after: s for s in circuit.stages}
    at = by_stage.get(reading.readable_at) if reading.readable_at else None
    before = None
    if at is not None and circuit.stages.index(at) > 0:
        before = circuit.stages[circuit.stages.index(at) - 1]
    last = circuit.stages[-1]
    decodable = by_stage.get(reading.decodable_at) if reading.decodable_at else None
    return {
        "kind": "readable",
        "components": [reading.readable_at] if reading.readable_at else [],
        "numbers": {
            "readout_accuracy": at.readout_accuracy if at else last.readout_accuracy,
            "answer_share": at.shares.answer if at else last.shares.answer,
            "readout_before": before.readout_accuracy if before else None,
            "decodable": decodable.decodable if decodable else None,
        },
        "codes": {
            "at": reading.readable_at,
            "before": before.after if before else None,
            "decodable_at": reading.decodable_at,
            "decodable_earlier": reading.decodable_at is not None
            and reading.readable_at is not None
            and list(by_stage).index(reading.decodable_at) < list(by_stage).index(reading.readable_at),
        },
    }


def readout_step(circuit: Circuit) -> dict:
    """The components that write most of the correct logit directly (the bias aside), largest first."""
    parts = sorted((a for a in circuit.attribution if a.component != "bias"), key=lambda a: -a.correct_logit)
    total = sum(a.correct_logit for a in circuit.attribution)
    top = [a for a in parts if a.correct_logit > 0][:2]
    return {
        "kind": "readout",
        "components": [a.component for a in top],
        "numbers": {"correct_logit": total},
        "items": [{"component": a.component, "correct_logit": a.correct_logit} for a in top],
    }


def algorithm(circuit: Circuit, reading: CircuitReading, roles: Sequence[HeadRole], key_frequencies) -> list[Step]:
    """The numbered account of one model."""
    steps: list[dict] = []
    for block in reading.blocks:
        if block.importance in NEEDED:
            steps.append(
                route_step(block, circuit, reading, roles)
                if block.kind == "attention"
                else mlp_step(block, circuit, reading)
            )
    found = frequencies_step(circuit, reading, key_frequencies)
    steps += [found] if found else []
    steps += [readable_step(circuit, reading), readout_step(circuit)]
    redundant = [{"heads": list(heads), "kind": kind} for heads, kind in reading.pairs.items() if kind == "redundant"]
    layers = [b for b in reading.blocks if b.together == "redundant"]
    if redundant or layers:
        pairs = {tuple(p.heads): p for p in circuit.components.head_pairs}
        for item in redundant:
            pair = pairs[tuple(item["heads"])]
            item.update(delta_loss=pair.delta_loss, sum_of_singles=pair.sum_of_singles)
        steps.append(
            {
                "kind": "redundant",
                "components": [b.name for b in layers],
                "items": redundant,
                "numbers": {
                    b.name: next(c for c in circuit.components.components if c.name == b.name).heads_together.delta_loss
                    for b in layers
                },
            }
        )
    idle = [b for b in reading.blocks if b.importance not in NEEDED]
    if idle:
        effects = {c.name: c.ablation.equals.delta_loss for c in circuit.components.components}
        steps.append(
            {
                "kind": "idle",
                "components": [b.name for b in idle],
                "items": [
                    {"component": b.name, "importance": b.importance.value, "delta_loss": effects[b.name]} for b in idle
                ],
            }
        )
    return [Step(step=i + 1, **s) for i, s in enumerate(steps)]
