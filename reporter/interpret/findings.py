"""The original write-up's claims (contract 5), each checked against the data, and two claims of our own.

A claim about where attention goes is judged by position. A claim about information (who reads `a`
and `b`) is judged twice: `by_position` (token positions) and `by_content` (what those positions
hold: from layer 1 on `+` holds `a`, and before layer 0 `+` and `=` hold a constant), and the
content reading decides. `holds` is None only where a claim cannot apply (no later layers).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reporter.interpret.labels import SINGLE_INPUT, HeadLabel
from reporter.interpret.roles import Carries, HeadRole, Importance, LayerReading, Sufficiency, merged_weights
from reporter.interpret.stats import Stats
from reporter.interpret.thresholds import Thresholds
from reporter.model.task import POSITION_KEYS

POSITION, CONTENT = "position", "content"
HEADS, ATTENTION, LAYERS = "heads", "attention", "layers"  # what a claim is about: the pages group claims by it


@dataclass(frozen=True)
class Finding:
    """One claim checked against the data: its verdicts, which reading decides and a code for why, and the
    numbers the pages quote. The templates word it (one macro per id): no sentence is stored here."""

    id: str
    holds: bool | None  # the deciding reading's verdict; None where the claim cannot apply
    evidence: dict
    by_position: bool | None = None
    by_content: bool | None = None
    decided_by: str = POSITION  # which reading decides: "position" or "content"
    reason: str | None = None  # why that reading decides, as a code the templates word; None with one reading
    scope: str = HEADS  # what the claim is about: "heads", "attention" or "layers"


def content_attention(stats: Stats, readings: list[LayerReading]) -> list[dict]:
    """Per layer, the mean attention from `=` to what positions hold: both operands' sides, and `+` and `=`
    where they hold something else."""
    rows = []
    for layer in range(stats.n_layers):
        # merging positions is linear, so merging the layer's mean attention [1, key] is the mean of the merged
        merged = merged_weights(np.array([[stats.layers[layer].mean[k] for k in POSITION_KEYS]]), readings[layer])[0]
        rows.append(
            {"a": float(merged[0]), "plus": float(merged[1]), "b": float(merged[2]), "equals": float(merged[3])}
        )
    return rows


def two_readings(id_: str, position: bool, content: bool, reason: str, evidence: dict, scope: str) -> Finding:
    """A claim about information: judged by position and by content, and the content reading decides."""
    return Finding(id_, content, evidence, position, content, CONTENT, reason, scope)


def heads_specialise(roles: list[HeadRole], t: Thresholds) -> Finding:
    """Heads divide the work: distinct niches by position, distinct roles (reads, carries) among needed heads."""
    by_position = sorted({r.looks.kind.value for r in roles} - {HeadLabel.mixed.value})
    working = [r for r in roles if r.importance is not Importance.inert]
    role_of = [(r.reads.kind.value, r.carries.value) for r in working]
    by_content = sorted(set(role_of) - {(HeadLabel.mixed.value, Carries.mixed.value)})
    position, content = len(by_position) >= t.distinct_niches, len(by_content) >= t.distinct_niches
    evidence = {
        "niches_by_position": by_position,
        "roles_by_content": [list(r) for r in by_content],
        "heads_by_role": [role_of.count(r) for r in by_content],  # how many needed heads take each role, in order
        "heads_needed": len(working),
        "threshold": t.distinct_niches,
    }
    return two_readings("heads_specialise", position, content, "niche_is_work", evidence, HEADS)


def inputs_dominate(stats: Stats, contents: list[dict], t: Thresholds) -> Finding:
    """Most of `=`'s attention goes to `a` and `b` and `+` gets little: shares of all attention, both readings."""
    raw = {k: float(np.mean([layer.mean[k] for layer in stats.layers])) for k in stats.layers[0].mean}
    read = {k: float(np.mean([layer[k] for layer in contents])) for k in contents[0]}
    position = raw["a"] + raw["b"] > t.inputs_mass and raw["plus"] < t.plus_little
    content = read["a"] + read["b"] > t.inputs_mass and read["plus"] < t.plus_little
    evidence = {
        "attention": raw,
        "attention_by_content": read,
        "operands": raw["a"] + raw["b"],  # share of all attention from = on a and b
        "operands_by_content": read["a"] + read["b"],  # on the positions that hold an operand
        "thresholds": {"inputs_mass": t.inputs_mass, "plus_little": t.plus_little},
    }
    return two_readings("inputs_dominate", position, content, "plus_holds_a", evidence, ATTENTION)


def not_applicable(id_: str) -> Finding:
    """A claim about later layers, on a model with a single layer."""
    return Finding(id_, None, {}, scope=LAYERS)


def layer0_broad(stats: Stats) -> Finding:
    """Layer 0 has a higher mean entropy than every later layer."""
    if stats.n_layers < 2:
        return not_applicable("layer0_broad")
    entropies = [layer.entropy for layer in stats.layers]
    later = max(entropies[1:])
    holds = entropies[0] > later
    evidence = {"entropy_by_layer": entropies, "later_max": later, "broadest_later": entropies.index(later, 1)}
    return Finding("layer0_broad", holds, evidence, holds, None, scope=LAYERS)


def later_layers_sharp(stats: Stats, roles: list[HeadRole], t: Thresholds) -> Finding:
    """Later layers are sharp (mean_max) and most of their heads read a single operand at a time."""
    if stats.n_layers < 2:
        return not_applicable("later_layers_sharp")
    later = [r for r in roles if r.layer > 0]
    sharpness = min(layer.mean_max for layer in stats.layers[1:])
    sharp = sharpness >= t.sharp_mean_max
    single_position = sum(r.looks.kind in SINGLE_INPUT for r in later)
    single_content = sum(r.reads.kind in SINGLE_INPUT for r in later)
    position = sharp and single_position / len(later) >= t.specialised_share
    content = sharp and single_content / len(later) >= t.specialised_share
    evidence = {
        "lowest_mean_max": sharpness,
        "sharp": sharp,
        "single_input_by_position": single_position,
        "single_input_by_content": single_content,
        "later_heads": len(later),
        "thresholds": {"sharp_mean_max": t.sharp_mean_max, "specialised_share": t.specialised_share},
    }
    return two_readings("later_layers_sharp", position, content, "switch_reads_operands", evidence, LAYERS)


def layer0_self(stats: Stats, readings: list[LayerReading], roles: list[HeadRole], t: Thresholds) -> Finding:
    """Layer 0 gives `=` a strong share of its attention; by content, only if `=` holds something there."""
    on_self = stats.layers[0].mean["equals"]
    position = on_self >= t.self_strong
    constant = readings[0].holds["equals"] is Carries.nothing
    sinks = [r.name for r in roles if r.layer == 0 and r.looks.kind is HeadLabel.self and r.carries is Carries.nothing]
    evidence = {"layer0_equals": on_self, "equals_constant": constant, "sinks": sinks, "threshold": t.self_strong}
    content = position and not constant
    # The claim is about attention, so position decides; the content reading says what that attention is worth.
    return Finding("layer0_self", position, evidence, position, content, POSITION, "attention_claim", LAYERS)


def plus_rises(stats: Stats, contents: list[dict], t: Thresholds) -> Finding:
    """Every later layer gives `+` at least `plus_rise` more attention than layer 0."""
    if stats.n_layers < 2:
        return not_applicable("plus_rises")
    raw = [layer.mean["plus"] for layer in stats.layers]
    read = [layer["plus"] for layer in contents]
    position = all(x - raw[0] >= t.plus_rise for x in raw[1:])
    content = all(x - read[0] >= t.plus_rise for x in read[1:])
    evidence = {"plus_by_layer": raw, "plus_by_content": read, "threshold": t.plus_rise}
    return two_readings("plus_rises", position, content, "plus_reads_a", evidence, LAYERS)


def routing_story(broad: Finding, stats: Stats, contents: list[dict], roles: list[HeadRole], t: Thresholds) -> Finding:
    """Layer 0 is broad and later layers route the operands: most of their attention, through heads that matter."""
    if stats.n_layers < 2:
        return not_applicable("routing_story")
    later = [r for r in roles if r.layer > 0]
    mass = min(layer["a"] + layer["b"] for layer in contents[1:])
    routers = [r.name for r in later if r.reads.kind in SINGLE_INPUT and r.importance is not Importance.inert]
    raw_mass = min(layer.mean["a"] + layer.mean["b"] for layer in stats.layers[1:])
    position = bool(broad.holds) and raw_mass > t.inputs_mass and any(r.looks.kind in SINGLE_INPUT for r in later)
    content = bool(broad.holds) and mass > t.inputs_mass and bool(routers)
    evidence = {"layer0_broad": broad.holds, "operand_attention_by_later_layer": mass, "routers": routers}
    return two_readings("routing_story", position, content, "routing_is_information", evidence, LAYERS)


def sinks(roles: list[HeadRole], t: Thresholds) -> Finding:
    """Some heads write a constant at `=` (they carry nothing), with where each looks and its ablation cost."""
    found = [r for r in roles if r.carries is Carries.nothing]
    evidence = {
        "sinks": [r.name for r in found],
        "looks": [r.looks.kind.value for r in found],  # where each sink looks, in order
        "delta_loss": [r.effects.ablation_equals.delta_loss for r in found],  # mean-ablating each at =, nats
        "threshold": t.silent_spread,
    }
    return Finding("sinks", bool(found), evidence)


def labels_causally_confirmed(roles: list[HeadRole], t: Thresholds) -> Finding:
    """Interventions bear out at least `confirmed_share` of the heads whose description can be tested."""
    checked = [r for r in roles if r.confirmed is not None]
    confirmed = [r for r in checked if r.confirmed]
    share = len(confirmed) / len(checked) if checked else 0.0
    patched = [r for r in checked if r.patching_agrees is not None]
    ruled = [r for r in checked if r.quoted_sufficiency is not Sufficiency.not_needed]
    evidence = {
        "confirmed": [r.name for r in confirmed],
        "not_confirmed": [r.name for r in checked if not r.confirmed],
        "checked": len(checked),  # heads whose description an intervention could test
        "share": share,
        "threshold": t.confirmed_share,
        "patched": len(patched),  # heads whose carries patching tested
        "patching_agrees": sum(bool(r.patching_agrees) for r in patched),
        "ruled": len(ruled),  # heads whose pattern matters, so the quoted rule was tested
        "rule_sufficient": sum(r.quoted_sufficiency is Sufficiency.sufficient for r in ruled),
    }
    return Finding("labels_causally_confirmed", bool(checked) and share >= t.confirmed_share, evidence)


def check_findings(stats: Stats, readings: list[LayerReading], roles: list[HeadRole], t: Thresholds) -> list[Finding]:
    """The seven claims of contract 5 in its order, then sinks and causal confirmation."""
    contents = content_attention(stats, readings)
    broad = layer0_broad(stats)
    return [
        heads_specialise(roles, t),
        inputs_dominate(stats, contents, t),
        broad,
        later_layers_sharp(stats, roles, t),
        layer0_self(stats, readings, roles, t),
        plus_rises(stats, contents, t),
        routing_story(broad, stats, contents, roles, t),
        sinks(roles, t),
        labels_causally_confirmed(roles, t),
    ]
