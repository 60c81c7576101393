"""The seed report's claims (contract 5), each checked against the statistics and labels.

A finding carries `holds` (computed; None only where the claim cannot apply,
e.g. "later layers" of a one-layer model), the numbers that decided it, and a
sentence whose wording follows `holds`.
"""

from __future__ import annotations

from dataclasses import dataclass

from reporter.labels import HeadLabel, Label, LayerTrend
from reporter.stats import LayerStats
from reporter.thresholds import Thresholds


@dataclass(frozen=True)
class Finding:
    id: str
    claim: str  # the seed's claim, as the seed put it
    holds: bool | None
    text: str  # what the data say, worded by `holds`
    evidence: dict


def pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def heads_specialise(labels: list[Label], t: Thresholds) -> Finding:
    counts: dict[str, int] = {}
    for label in labels:
        counts[label.kind.value] = counts.get(label.kind.value, 0) + 1
    niches = sorted(k for k in counts if k != HeadLabel.mixed.value)
    holds = len(niches) >= t.distinct_niches
    listed = ", ".join(f"{k} ({counts[k]})" for k in niches) or "none"
    mixed = counts.get(HeadLabel.mixed.value, 0)
    rest = f"; {mixed} head(s) fit no niche (mixed)" if mixed else ""
    text = (
        f"Heads divide the work: {len(niches)} distinct niches among {len(labels)} heads: {listed}{rest}."
        if holds
        else f"Heads do not divide the work into several niches: only {len(niches)} distinct niche(s) among "
        f"{len(labels)} heads ({listed}){rest}."
    )
    return Finding(
        "heads_specialise",
        "heads divide the work: several distinct niches",
        holds,
        text,
        {"label_counts": counts, "distinct_niches": len(niches), "threshold": t.distinct_niches},
    )


def overall(layers: list[LayerStats]) -> dict:
    """Mean attention from = per position over all heads (each layer has the same number of heads)."""
    return {k: sum(l.mean[k] for l in layers) / len(layers) for k in layers[0].mean}


def inputs_dominate(layers: list[LayerStats], t: Thresholds) -> Finding:
    share = overall(layers)
    mass = share["a"] + share["b"]
    dominate, little = mass > t.inputs_mass, share["plus"] < t.plus_little
    holds = dominate and little
    first = f"a and b receive {pct(mass)} of all attention from =" + (
        " (most of it)" if dominate else ", not most of it"
    )
    second = f"+ receives {pct(share['plus'])}" + (", little" if little else ", not little")
    return Finding(
        "inputs_dominate",
        "most of ='s attention goes to a and b; + gets little",
        holds,
        f"{first}; {second}.",
        {
            "attention": share,
            "a_plus_b": mass,
            "inputs_dominate": dominate,
            "plus_little": little,
            "thresholds": {"inputs_mass": t.inputs_mass, "plus_little": t.plus_little},
        },
    )


def not_applicable(id_: str, claim: str) -> Finding:
    return Finding(id_, claim, None, "The model has a single layer, so there are no later layers to compare.", {})


def layer0_broad(layers: list[LayerStats]) -> Finding:
    claim = "layer 0 is broader (higher entropy) than every later layer"
    if len(layers) < 2:
        return not_applicable("layer0_broad", claim)
    entropies = [l.entropy for l in layers]
    later_max = max(entropies[1:])
    holds = entropies[0] > later_max
    text = (
        f"Layer 0 is the broadest: its mean entropy {entropies[0]:.2f} exceeds every later layer's (at most "
        f"{later_max:.2f})."
        if holds
        else f"Layer 0 is not the broadest: its mean entropy {entropies[0]:.2f} does not exceed the "
        f"{later_max:.2f} of layer {entropies.index(later_max, 1)}."
    )
    return Finding("layer0_broad", claim, holds, text, {"entropy_by_layer": entropies})


def later_layers_sharp(trends: list[LayerTrend], t: Thresholds) -> Finding:
    claim = "later layers are sharp, specialised on single inputs"
    if len(trends) < 2:
        return not_applicable("later_layers_sharp", claim)
    later = trends[1:]
    sharpness = [l.mean_max for l in later]
    single = sum(l.single_input_heads for l in later)
    total = sum(l.n_heads for l in later)
    sharp, specialised = min(sharpness) >= t.sharp_mean_max, single / total >= t.specialised_share
    holds = sharp and specialised
    first = f"later layers' mean largest weight is {min(sharpness):.2f} at the lowest" + (
        " (sharp)" if sharp else " (not sharp)"
    )
    second = f"{single} of their {total} heads hold a, b or switch between them" + (
        " (specialised)" if specialised else " (not specialised on single inputs)"
    )
    return Finding(
        "later_layers_sharp",
        claim,
        holds,
        f"{first[0].upper()}{first[1:]}; {second}.",
        {
            "mean_max_by_later_layer": sharpness,
            "single_input_heads": single,
            "later_heads": total,
            "sharp": sharp,
            "specialised": specialised,
            "thresholds": {"sharp_mean_max": t.sharp_mean_max, "specialised_share": t.specialised_share},
        },
    )


def layer0_self(layers: list[LayerStats], t: Thresholds) -> Finding:
    on_self = layers[0].mean["equals"]
    holds = on_self >= t.self_strong
    text = f"Layer 0 gives {pct(on_self)} of its attention from = to = itself" + (
        ", strongly." if holds else ", not strongly."
    )
    return Finding(
        "layer0_self",
        "layer 0 attends strongly to = itself",
        holds,
        text,
        {"layer0_equals": on_self, "threshold": t.self_strong},
    )


def plus_rises(layers: list[LayerStats], t: Thresholds) -> Finding:
    claim = "later layers attend to + more than layer 0"
    if len(layers) < 2:
        return not_applicable("plus_rises", claim)
    plus = [l.mean["plus"] for l in layers]
    rises = [p - plus[0] >= t.plus_rise for p in plus[1:]]
    holds = all(rises)
    by_layer = ", ".join(f"layer {i}: {pct(p)}" for i, p in enumerate(plus))
    verdict = (
        "every later layer attends to + more than layer 0"
        if holds
        else (
            "some later layers attend to + more than layer 0, not all"
            if any(rises)
            else "no later layer attends to + more than layer 0"
        )
    )
    return Finding(
        "plus_rises",
        claim,
        holds,
        f"Attention to + by layer: {by_layer}; {verdict}.",
        {"plus_by_layer": plus, "threshold": t.plus_rise},
    )


def routing_story(broad: Finding, trends: list[LayerTrend], t: Thresholds) -> Finding:
    claim = "layer 0 gathers broadly, later layers route a and b"
    if len(trends) < 2:
        return not_applicable("routing_story", claim)
    later = trends[1:]
    mass = [l.mean["a"] + l.mean["b"] for l in later]
    routers = sum(l.single_input_heads for l in later)
    routes = min(mass) > t.inputs_mass and routers > 0
    holds = bool(broad.holds) and routes
    parts = [
        "layer 0 is the broadest layer" if broad.holds else "layer 0 is not the broadest layer",
        f"later layers give a and b {pct(min(mass))} or more of their attention with {routers} head(s) "
        "holding a, b or switching"
        if routes
        else f"later layers do not route a and b (as little as {pct(min(mass))} of their attention, "
        f"{routers} head(s) holding a, b or switching)",
    ]
    text = ("The story holds: " if holds else "The story does not hold as told: ") + "; ".join(parts) + "."
    return Finding(
        "routing_story",
        claim,
        holds,
        text,
        {"layer0_broad": broad.holds, "a_plus_b_by_later_layer": mass, "single_input_heads": routers},
    )


def check_findings(
    layers: list[LayerStats], labels: list[Label], trends: list[LayerTrend], t: Thresholds
) -> list[Finding]:
    """All seven claims of contract 5, in its order."""
    broad = layer0_broad(layers)
    return [
        heads_specialise(labels, t),
        inputs_dominate(layers, t),
        broad,
        later_layers_sharp(trends, t),
        layer0_self(layers, t),
        plus_rises(layers, t),
        routing_story(broad, trends, t),
    ]


def plus_statements(findings: list[Finding]) -> dict:
    """The seed said both that + gets little attention and that later layers attend to it more:
    which of the two hold here ("both", "first", "second" or "neither"), and the share + gets."""
    by_id = {f.id: f for f in findings}
    little, rises = by_id["inputs_dominate"].evidence["plus_little"], bool(by_id["plus_rises"].holds)
    case = {(True, True): "both", (True, False): "first", (False, True): "second", (False, False): "neither"}
    return {"case": case[(little, rises)], "plus": by_id["inputs_dominate"].evidence["attention"]["plus"]}
