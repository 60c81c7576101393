"""The original write-up's claims (contract 5), each checked against the data, and two claims of our own.

Where it can, a claim is judged twice: `by_position` (the tokens attention lands on) and `by_content`
(what those positions hold: from layer 1 on `+` holds `a`, and before layer 0 `+` and `=` hold a
constant). One rule says which reading decides (`judged`), for every claim: a claim about attention
(how much of it goes where, how broad or sharp it is) is decided by position; a claim about information
(what heads read, carry, route or do) is decided by content. `holds` is None only where a claim cannot
apply (no later layers). "Heads that matter" are those whose importance band is `matters` or `critical`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reporter.interpret.labels import SINGLE_INPUT, HeadLabel
from reporter.interpret.roles import MATTERING, Carries, HeadRole, LayerReading, Sufficiency, merged_weights
from reporter.interpret.stats import Stats
from reporter.interpret.thresholds import Thresholds
from reporter.model.task import POSITION_KEYS

POSITION, CONTENT = "position", "content"
HEADS, ATTENTION, LAYERS = "heads", "attention", "layers"  # what a claim is about: the pages group claims by it
ABOUT_ATTENTION, ABOUT_INFORMATION = "attention", "information"  # the kind of claim: it names its reading
DECIDES = {ABOUT_ATTENTION: POSITION, ABOUT_INFORMATION: CONTENT}  # the one rule: which reading decides a claim
REASONS = {ABOUT_ATTENTION: "attention_claim", ABOUT_INFORMATION: "information_claim"}  # why, as a code


@dataclass(frozen=True)
class Finding:
    """One claim checked against the data: its verdicts, which reading decides and a code for why, and the
    numbers the pages quote. The templates word it (one macro per id): no sentence is stored here."""

    id: str
    holds: bool | None  # the deciding reading's verdict; None where the claim cannot apply
    evidence: dict
    by_position: bool | None = None
    by_content: bool | None = None
    decided_by: str = POSITION  # which reading decides: "position" or "content" (DECIDES[about])
    reason: str | None = None  # why that reading decides, as a code the templates word; None with one reading
    scope: str = HEADS  # what the claim is about: "heads", "attention" or "layers"
    about: str = ABOUT_ATTENTION  # the kind of claim, "attention" or "information": it names the deciding reading
    note: str | None = None  # what the other reading shows, as a code the templates word; None with one reading


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


def judged(id_: str, about: str, position: bool, content: bool, evidence: dict, scope: str, note: str) -> Finding:
    """A claim judged by position and by content: the reading its kind names decides (DECIDES)."""
    holds = position if DECIDES[about] == POSITION else content
    return Finding(id_, holds, evidence, position, content, DECIDES[about], REASONS[about], scope, about, note)


def one_reading(id_: str, about: str, holds: bool | None, evidence: dict, scope: str) -> Finding:
    """A claim with one reading only: its verdict stands under the reading its kind names."""
    position, content = (holds, None) if DECIDES[about] == POSITION else (None, holds)
    return Finding(id_, holds, evidence, position, content, DECIDES[about], None, scope, about)


def heads_specialise(roles: list[HeadRole], t: Thresholds) -> Finding:
    """Heads divide the work: distinct niches by position, distinct roles (reads, carries) among heads that matter."""
    by_position = sorted({r.looks.kind.value for r in roles} - {HeadLabel.mixed.value})
    working = [r for r in roles if r.matters]
    role_of = [(r.reads.kind.value, r.carries.value) for r in working]
    by_content = sorted(set(role_of) - {(HeadLabel.mixed.value, Carries.mixed.value)})
    position, content = len(by_position) >= t.distinct_niches, len(by_content) >= t.distinct_niches
    evidence = {
        "niches_by_position": by_position,
        "roles_by_content": [list(r) for r in by_content],
        "heads_by_role": [role_of.count(r) for r in by_content],  # how many heads that matter take each role
        "heads_needed": len(working),  # heads that matter at `=`
        "threshold": t.distinct_niches,
    }
    return judged("heads_specialise", ABOUT_INFORMATION, position, content, evidence, HEADS, "niche_is_work")


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
    return judged("inputs_dominate", ABOUT_ATTENTION, position, content, evidence, ATTENTION, "plus_holds_a")


def not_applicable(id_: str, about: str) -> Finding:
    """A claim about later layers, on a model with a single layer."""
    return Finding(id_, None, {}, decided_by=DECIDES[about], scope=LAYERS, about=about)


def layer0_broad(stats: Stats) -> Finding:
    """Layer 0 has a higher mean entropy than every later layer."""
    if stats.n_layers < 2:
        return not_applicable("layer0_broad", ABOUT_ATTENTION)
    entropies = [layer.entropy for layer in stats.layers]
    later = max(entropies[1:])
    holds = entropies[0] > later
    evidence = {"entropy_by_layer": entropies, "later_max": later, "broadest_later": entropies.index(later, 1)}
    return one_reading("layer0_broad", ABOUT_ATTENTION, holds, evidence, LAYERS)


def later_layers_sharp(stats: Stats, roles: list[HeadRole], t: Thresholds) -> Finding:
    """Later layers are more sharply focused than layer 0 (each one's mean_max above layer 0's: a comparison, as
    the claim is one) and most of their heads read a single operand at a time."""
    if stats.n_layers < 2:
        return not_applicable("later_layers_sharp", ABOUT_INFORMATION)
    later = [r for r in roles if r.layer > 0]
    mean_max = [layer.mean_max for layer in stats.layers]
    sharpness = min(mean_max[1:])
    sharp = sharpness > mean_max[0]
    single_position = sum(r.looks.kind in SINGLE_INPUT for r in later)
    single_content = sum(r.reads.kind in SINGLE_INPUT for r in later)
    position = sharp and single_position / len(later) >= t.specialised_share
    content = sharp and single_content / len(later) >= t.specialised_share
    evidence = {
        "mean_max_by_layer": mean_max,
        "lowest_mean_max": sharpness,  # the least sharp later layer's
        "least_sharp_later": mean_max.index(sharpness, 1),
        "sharp": sharp,  # every later layer is sharper than layer 0
        "single_input_by_position": single_position,
        "single_input_by_content": single_content,
        "later_heads": len(later),
        "thresholds": {"specialised_share": t.specialised_share},
    }
    return judged("later_layers_sharp", ABOUT_INFORMATION, position, content, evidence, LAYERS, "switch_reads_operands")


def layer0_self(stats: Stats, readings: list[LayerReading], roles: list[HeadRole], t: Thresholds) -> Finding:
    """Layer 0 gives `=` a strong share of its attention; by content, only if `=` holds something there."""
    on_self = stats.layers[0].mean["equals"]
    position = on_self >= t.self_strong
    constant = readings[0].holds["equals"] is Carries.nothing
    sinks = [r.name for r in roles if r.layer == 0 and r.looks.kind is HeadLabel.self and r.carries is Carries.nothing]
    evidence = {"layer0_equals": on_self, "equals_constant": constant, "sinks": sinks, "threshold": t.self_strong}
    content = position and not constant  # attention to a constant moves no information
    return judged("layer0_self", ABOUT_ATTENTION, position, content, evidence, LAYERS, "equals_constant")


def plus_rises(stats: Stats, contents: list[dict], t: Thresholds) -> Finding:
    """Every later layer gives `+` at least `plus_rise` more attention than layer 0."""
    if stats.n_layers < 2:
        return not_applicable("plus_rises", ABOUT_ATTENTION)
    raw = [layer.mean["plus"] for layer in stats.layers]
    read = [layer["plus"] for layer in contents]
    position = all(x - raw[0] >= t.plus_rise for x in raw[1:])
    content = all(x - read[0] >= t.plus_rise for x in read[1:])
    evidence = {"plus_by_layer": raw, "plus_by_content": read, "threshold": t.plus_rise}
    return judged("plus_rises", ABOUT_ATTENTION, position, content, evidence, LAYERS, "plus_reads_a")


def routing_story(broad: Finding, stats: Stats, contents: list[dict], roles: list[HeadRole], t: Thresholds) -> Finding:
    """Layer 0 is broad and later layers route the operands: most of their attention, through heads that matter."""
    if stats.n_layers < 2:
        return not_applicable("routing_story", ABOUT_INFORMATION)
    later = [r for r in roles if r.layer > 0]
    mass = min(layer["a"] + layer["b"] for layer in contents[1:])
    routers = [r.name for r in later if r.reads.kind in SINGLE_INPUT and r.matters]
    raw_mass = min(layer.mean["a"] + layer.mean["b"] for layer in stats.layers[1:])
    position = bool(broad.holds) and raw_mass > t.inputs_mass and any(r.looks.kind in SINGLE_INPUT for r in later)
    content = bool(broad.holds) and mass > t.inputs_mass and bool(routers)
    evidence = {"layer0_broad": broad.holds, "operand_attention_by_later_layer": mass, "routers": routers}
    return judged("routing_story", ABOUT_INFORMATION, position, content, evidence, LAYERS, "routing_reads_content")


def sinks(roles: list[HeadRole], t: Thresholds) -> Finding:
    """Some heads write a constant at `=` (they carry nothing there), with where each looks and its ablation cost
    at `=` and at every position (a sink at `=` may be needed elsewhere)."""
    found = [r for r in roles if r.carries is Carries.nothing]
    evidence = {
        "sinks": [r.name for r in found],
        "looks": [r.looks.kind.value for r in found],  # where each sink looks, in order
        "delta_loss": [r.effects.ablation_equals.delta_loss for r in found],  # mean-ablating each at =, nats
        "delta_loss_anywhere": [r.effects.ablation_all.delta_loss for r in found],  # at every position, nats
        "importance_anywhere": [r.importance_anywhere.value for r in found],
        "needed_elsewhere": [r.importance_anywhere in MATTERING for r in found],
        "threshold": t.silent_spread,
    }
    return one_reading("sinks", ABOUT_INFORMATION, bool(found), evidence, HEADS)


def labels_causally_confirmed(roles: list[HeadRole], t: Thresholds) -> Finding:
    """Interventions bear out at least `confirmed_share` of the heads whose description can be tested."""
    checked = [r for r in roles if r.confirmed is not None]
    confirmed = [r for r in checked if r.confirmed]
    share = len(confirmed) / len(checked) if checked else 0.0
    patched = [r for r in checked if r.patching_agrees is not None]
    parted = [r for r in checked if r.parts_stand_in is not None]
    ruled = [r for r in checked if r.quoted_sufficiency is not Sufficiency.not_needed]
    evidence = {
        "confirmed": [r.name for r in confirmed],
        "not_confirmed": [r.name for r in checked if not r.confirmed],
        "checked": len(checked),  # heads whose description an intervention could test
        "share": share,
        "threshold": t.confirmed_share,
        "patched": len(patched),  # heads whose carries patching tested
        "patching_agrees": sum(bool(r.patching_agrees) for r in patched),
        "parts_tested": len(parted),  # a_and_b and answer heads: their write replaced by the parts the label names
        "parts_stand_in": sum(bool(r.parts_stand_in) for r in parted),
        "ruled": len(ruled),  # heads whose pattern matters, so the quoted rule was tested
        "rule_sufficient": sum(r.quoted_sufficiency is Sufficiency.sufficient for r in ruled),
    }
    holds = bool(checked) and share >= t.confirmed_share
    return one_reading("labels_causally_confirmed", ABOUT_INFORMATION, holds, evidence, HEADS)


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
