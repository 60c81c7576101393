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


@dataclass(frozen=True)
class Finding:
    id: str
    claim: str  # the claim, as the original write-up put it (or ours)
    holds: bool | None  # the deciding reading's verdict
    text: str  # what the data say, worded by the verdicts
    evidence: dict
    by_position: bool | None = None
    by_content: bool | None = None
    decided_by: str = POSITION  # which reading decides: "position" or "content"
    why: str = ""  # why that reading decides, when there are two


def pct(x: float) -> str:
    return f"{100 * x:.0f}%"


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


def two_readings(id_: str, claim: str, position: bool, content: bool, text: str, why: str, evidence: dict) -> Finding:
    return Finding(id_, claim, content, text, evidence, position, content, CONTENT, why)


def heads_specialise(roles: list[HeadRole], t: Thresholds) -> Finding:
    claim = "heads divide the work: several distinct niches"
    by_position = sorted({r.looks.kind.value for r in roles} - {HeadLabel.mixed.value})
    working = [r for r in roles if r.importance is not Importance.inert]
    roles_read = {(r.reads.kind.value, r.carries.value) for r in working}
    by_content = sorted(roles_read - {(HeadLabel.mixed.value, Carries.mixed.value)})
    position, content = len(by_position) >= t.distinct_niches, len(by_content) >= t.distinct_niches
    role_of = [(r.reads.kind.value, r.carries.value) for r in working]
    listed = "; ".join(f"{kind} carrying {carried} ({role_of.count((kind, carried))})" for kind, carried in by_content)
    listed = listed or "none"
    text = (
        f"Of the {len(working)} heads the model needs, {'they divide the work into' if content else 'there are only'} "
        f"{len(by_content)} distinct role(s) by what they read and carry: {listed}. By position alone there are "
        f"{len(by_position)} niche(s) ({', '.join(by_position) or 'none'})."
    )
    why = (
        "A niche is work done: heads that reach the same operands through different positions, or that write a "
        "constant nothing needs, do not add one."
    )
    return two_readings(
        "heads_specialise",
        claim,
        position,
        content,
        text,
        why,
        {
            "niches_by_position": by_position,
            "roles_by_content": [list(r) for r in by_content],
            "heads_needed": len(working),
            "threshold": t.distinct_niches,
        },
    )


def inputs_dominate(stats: Stats, contents: list[dict], t: Thresholds) -> Finding:
    claim = "most of ='s attention goes to a and b; + gets little"
    raw = {k: float(np.mean([layer.mean[k] for layer in stats.layers])) for k in stats.layers[0].mean}
    read = {k: float(np.mean([layer[k] for layer in contents])) for k in contents[0]}
    position = raw["a"] + raw["b"] > t.inputs_mass and raw["plus"] < t.plus_little
    content = read["a"] + read["b"] > t.inputs_mass and read["plus"] < t.plus_little
    text = (
        f"By position, `a` and `b` get {pct(raw['a'] + raw['b'])} of all attention from `=` and `+` gets "
        f"{pct(raw['plus'])}. By content, positions that hold an operand get {pct(read['a'] + read['b'])}, and "
        f"`+` as anything but `a` gets {pct(read['plus'])}; the rest goes to `=` ({pct(read['equals'])})."
    )
    why = "From layer 1 on `+` holds `a`, so attention to `+` there is attention to `a`."
    return two_readings(
        "inputs_dominate",
        claim,
        position,
        content,
        text,
        why,
        {
            "attention": raw,
            "attention_by_content": read,
            "thresholds": {"inputs_mass": t.inputs_mass, "plus_little": t.plus_little},
        },
    )


def not_applicable(id_: str, claim: str) -> Finding:
    return Finding(id_, claim, None, "The model has a single layer, so there are no later layers to compare.", {})


def layer0_broad(stats: Stats) -> Finding:
    claim = "layer 0 is broader (higher entropy) than every later layer"
    if stats.n_layers < 2:
        return not_applicable("layer0_broad", claim)
    entropies = [layer.entropy for layer in stats.layers]
    later = max(entropies[1:])
    holds = entropies[0] > later
    text = (
        f"Layer 0 is the broadest: its mean entropy {entropies[0]:.2f} exceeds every later layer's (at most "
        f"{later:.2f})."
        if holds
        else f"Layer 0 is not the broadest: its mean entropy {entropies[0]:.2f} does "
        f"not exceed the {later:.2f} of layer {entropies.index(later, 1)}."
    )
    return Finding("layer0_broad", claim, holds, text, {"entropy_by_layer": entropies}, holds, None)


def later_layers_sharp(stats: Stats, roles: list[HeadRole], t: Thresholds) -> Finding:
    claim = "later layers are sharp, specialised on single inputs"
    if stats.n_layers < 2:
        return not_applicable("later_layers_sharp", claim)
    later = [r for r in roles if r.layer > 0]
    sharpness = min(layer.mean_max for layer in stats.layers[1:])
    sharp = sharpness >= t.sharp_mean_max
    single_position = sum(r.looks.kind in SINGLE_INPUT for r in later)
    single_content = sum(r.reads.kind in SINGLE_INPUT for r in later)
    position = sharp and single_position / len(later) >= t.specialised_share
    content = sharp and single_content / len(later) >= t.specialised_share
    text = (
        f"Later layers' mean largest weight is {sharpness:.2f} at the lowest ({'sharp' if sharp else 'not sharp'}). "
        f"{single_content} of their {len(later)} heads read a single operand at a time (on `a`, on `b`, or "
        f"switching between them) once `+` is read as `a`; by position alone, "
        f"{single_position} {'does' if single_position == 1 else 'do'}."
    )
    why = "A head that looks at `+` for some inputs and at `b` for others switches between the operands."
    return two_readings(
        "later_layers_sharp",
        claim,
        position,
        content,
        text,
        why,
        {
            "lowest_mean_max": sharpness,
            "single_input_by_position": single_position,
            "single_input_by_content": single_content,
            "later_heads": len(later),
            "thresholds": {"sharp_mean_max": t.sharp_mean_max, "specialised_share": t.specialised_share},
        },
    )


def layer0_self(stats: Stats, readings: list[LayerReading], roles: list[HeadRole], t: Thresholds) -> Finding:
    claim = "layer 0 attends strongly to = itself"
    on_self = stats.layers[0].mean["equals"]
    position = on_self >= t.self_strong
    constant = readings[0].holds["equals"] is Carries.nothing
    content = position and not constant
    sinks = [r.name for r in roles if r.layer == 0 and r.looks.kind is HeadLabel.self and r.carries is Carries.nothing]
    text = (
        f"Layer 0 gives {pct(on_self)} of its attention from `=` to `=` itself"
        f"{', strongly' if position else ', not strongly'}. "
        + (
            f"But before layer 0 `=` holds the same vector on every input: a head there reads a constant "
            f"({', '.join(sinks) or 'no head'} write nothing that varies)."
            if constant
            else "`=` already holds something that varies with the input there."
        )
    )
    why = "Attention to a position that holds a constant moves no information."
    return Finding(
        "layer0_self",
        claim,
        position,
        text,
        {"layer0_equals": on_self, "equals_constant": constant, "threshold": t.self_strong},
        position,
        content,
        POSITION,
        why + " The claim is about attention, "
        "so position decides; the content reading says what that attention is worth.",
    )


def plus_rises(stats: Stats, contents: list[dict], t: Thresholds) -> Finding:
    claim = "later layers attend to + more than layer 0"
    if stats.n_layers < 2:
        return not_applicable("plus_rises", claim)
    raw = [layer.mean["plus"] for layer in stats.layers]
    read = [layer["plus"] for layer in contents]
    position = all(x - raw[0] >= t.plus_rise for x in raw[1:])
    content = all(x - read[0] >= t.plus_rise for x in read[1:])
    by_layer = ", ".join(f"layer {i}: {pct(x)}" for i, x in enumerate(raw))
    text = (
        f"Attention to `+` by layer: {by_layer}. By content, attention to `+` as anything but `a`: "
        + ", ".join(f"layer {i}: {pct(x)}" for i, x in enumerate(read))
        + "."
    )
    why = "From layer 1 on `+` holds `a` (it can only read `a`): more attention to `+` is more attention to `a`."
    return two_readings(
        "plus_rises",
        claim,
        position,
        content,
        text,
        why,
        {"plus_by_layer": raw, "plus_by_content": read, "threshold": t.plus_rise},
    )


def routing_story(broad: Finding, stats: Stats, contents: list[dict], roles: list[HeadRole], t: Thresholds) -> Finding:
    claim = "layer 0 gathers broadly, later layers route a and b"
    if stats.n_layers < 2:
        return not_applicable("routing_story", claim)
    later = [r for r in roles if r.layer > 0]
    mass = min(layer["a"] + layer["b"] for layer in contents[1:])
    routers = [r.name for r in later if r.reads.kind in SINGLE_INPUT and r.importance is not Importance.inert]
    routes = mass > t.inputs_mass and bool(routers)
    raw_mass = min(layer.mean["a"] + layer.mean["b"] for layer in stats.layers[1:])
    position = bool(broad.holds) and raw_mass > t.inputs_mass and any(r.looks.kind in SINGLE_INPUT for r in later)
    content = bool(broad.holds) and routes
    parts = [
        "layer 0 is the broadest layer" if broad.holds else "layer 0 is not the broadest layer",
        f"later layers give the operands {pct(mass)} or more of their attention (by content)"
        + (
            f", and {len(routers)} head(s) that matter route them ({', '.join(routers)})"
            if routers
            else ", but no head that matters routes them"
        ),
    ]
    text = ("The story holds: " if content else "The story does not hold as told: ") + "; ".join(parts) + "."
    return two_readings(
        "routing_story",
        claim,
        position,
        content,
        text,
        "Routing is about information.",
        {"layer0_broad": broad.holds, "operand_attention_by_later_layer": mass, "routers": routers},
    )


def sinks(roles: list[HeadRole], t: Thresholds) -> Finding:
    claim = "some heads look somewhere but write a constant at = (sinks)"
    found = [r for r in roles if r.carries is Carries.nothing]
    described = "; ".join(
        f"{r.name} looks {r.looks.kind.value} and mean-ablating it at `=` changes the loss by "
        f"{round(r.effects.ablation_equals.delta_loss, 3) + 0.0:+.3f} nats"
        for r in found
    )
    text = (
        f"{len(found)} head(s) write nearly the same vector on every input at `=` (each varies less than "
        f"{pct(t.silent_spread)} as much as the busiest head of its layer): {described}."
        if found
        else "Every head's write at `=` varies with the input: there is no sink."
    )
    return Finding("sinks", claim, bool(found), text, {"sinks": [r.name for r in found]})


def labels_causally_confirmed(roles: list[HeadRole], t: Thresholds) -> Finding:
    claim = "interventions bear out what the report says each head does"
    checked = [r for r in roles if r.confirmed is not None]
    confirmed = [r for r in checked if r.confirmed]
    share = len(confirmed) / len(checked) if checked else 0.0
    holds = bool(checked) and share >= t.confirmed_share
    failed = [r.name for r in checked if not r.confirmed]
    patched = [r for r in checked if r.patching_agrees is not None]
    ruled = [r for r in checked if r.quoted_sufficiency is not Sufficiency.not_needed]
    text = (
        f"For {len(confirmed)} of the {len(checked)} heads whose description can be tested ({pct(share)}), "
        "interventions bear it out" + (f"; not for {', '.join(failed)}" if failed else "") + ". "
        f"What a head carries was tested by patching on {len(patched)} heads "
        f"({sum(bool(r.patching_agrees) for r in patched)} borne out); the rule quoted for where it looks, by "
        f"putting the rule's pattern in its place, on the {len(ruled)} heads whose pattern matters "
        f"({sum(r.quoted_sufficiency is Sufficiency.sufficient for r in ruled)} sufficient)."
    )
    return Finding(
        "labels_causally_confirmed",
        claim,
        holds,
        text,
        {
            "confirmed": [r.name for r in confirmed],
            "not_confirmed": failed,
            "share": share,
            "threshold": t.confirmed_share,
        },
    )


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


def plus_statements(findings: list[Finding]) -> dict:
    """The original write-up said both that + gets little attention and that later layers attend to it more:
    which of the two hold by position ("both", "first", "second" or "neither"), and the share + gets."""
    by_id = {f.id: f for f in findings}
    evidence = by_id["inputs_dominate"].evidence
    cut = evidence["thresholds"]["plus_little"]
    case = {(True, True): "both", (True, False): "first", (False, True): "second", (False, False): "neither"}
    return {
        "case": case[(evidence["attention"]["plus"] < cut, bool(by_id["plus_rises"].by_position))],
        "content_case": case[(evidence["attention_by_content"]["plus"] < cut, bool(by_id["plus_rises"].by_content))],
        "plus": evidence["attention"]["plus"],
    }
