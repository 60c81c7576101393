"""The page model: every verdict the pages word, decided here as a code with its numbers.

Python decides, templates word: a template looks a code up and formats numbers, and never chooses
between rules, compares labels or does arithmetic. Each code has its wording in one macro
(`_findings.j2` for the findings, `_macros.j2` for the rest).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from reporter.analysis import Analysis, LearningWarning
from reporter.interpret.findings import LAYERS, Finding
from reporter.interpret.thresholds import Thresholds
from reporter.model.recipe import initial_unembed_scale


@dataclass(frozen=True)
class HeadPage:
    """What the pages say about one head, as codes (its numbers are in report.json's head record)."""

    name: str
    looks: str  # what the "Looks at" line quotes: "target", "switch" (both operands), "mixed" or "score"
    reads_differ: bool  # its label by content differs from its label by position: the page gives both
    importance_differs: bool  # ablated at every position it falls in another band than at `=`
    rule: str  # what decides where it looks: "operand_preference", "two_frequency_preference" (one frequency
    # does not decide, two do), "simple", "answer", "not_needed" or "no_rule"
    sufficiency: str | None  # the pattern test quoted: "frequency_sufficient", "frequency_insufficient",
    #                           "sufficient" or "insufficient"; None where where it looks hardly matters
    rule_tested: bool  # its rules' patterns are worth listing as tested in its place: False where no rule was found
    #                   and nothing needs deciding (a sink's pattern: its mean stands in)
    switches: bool  # a one-frequency preference decides between `a` and `b` (the Fourier page lists it)
    parts: str | None  # the part of its write its carries label names, tested in its place: "additive" or "answer"
    untrained: dict  # kind of label (LABEL_OF) -> label, for the labels its untrained start point earns too


@dataclass(frozen=True)
class PositionHeld:
    """A position that holds something other than its own token at a layer's input."""

    layer: int
    position: str  # position key: "a", "plus", "b" or "equals"
    carries: str  # what the residual there is a function of (a Carries code)


@dataclass(frozen=True)
class Pages:
    """Everything the templates read besides report.json's numbers."""

    findings: list[Finding]  # every claim, in the order the analysis checked them
    trends: list[Finding]  # the claims about how layers differ (the Layers page)
    plus_statements: dict
    heads: dict[str, HeadPage]  # by head name
    position_holds: dict[int, list[PositionHeld]]  # by layer; layers where every position holds its own token absent
    warning: LearningWarning | None
    threshold_groups: list[str]  # the threshold table's groups, in table order
    chance: float  # the accuracy of a guess: 1 / p
    a_share_low: float  # the low end of the a-share cut: 1 - a_share_extreme
    label_counts: dict  # kind of label -> label -> number of heads (the baseline table)
    untrained_marks: bool  # some head earns a label its untrained start point earns too (the pages explain the mark)
    start_unembed_scale: float | None  # the recorded recipe's initial unembedding scale, which the baseline starts
    #                                    from; None without a recorded recipe (TransformerLens' own init)
    record: RecordCheck | None  # the training record's final accuracies beside the measured ones
    parts: dict  # every component's name ("attn1", "mlp1", "L1H0", "embed", "final", "bias") -> kind and layer
    stage_tops: dict  # stage -> its answer part's 3 strongest frequencies [(k, rms)]
    neuron_tops: dict  # MLP layer -> its 5 most common neuron frequencies [(k, neurons)]
    channel_frequencies: list[int]  # the frequencies tested as channels, in the order the circuit reading names them
    redundant_pairs: list[dict]  # report.json's head pairs whose kind is `redundant`
    neurons_fire: bool  # some MLP neuron varies with the input: the Fourier page shows the neurons


@dataclass(frozen=True)
class RecordCheck:
    """A training record's final accuracies (as the checkpoint says) and the same measured here, on the same
    split; ``differs`` when any pair is further apart than the record tolerance."""

    recorded: dict  # "train", "test" -> share
    measured: dict
    differs: bool


def record_check(analysis: Analysis) -> RecordCheck | None:
    """None without a record of the final accuracies or without the split to measure them on."""
    final = analysis.training.final if analysis.training else {}
    measured = analysis.stats.accuracy
    pairs = {
        kind: (final[f"{kind}_accuracy"], measured[kind])
        for kind in ("train", "test")
        if f"{kind}_accuracy" in final and kind in measured
    }
    if not pairs:
        return None
    tolerance = analysis.thresholds.record_tolerance
    return RecordCheck(
        recorded={kind: r for kind, (r, _) in pairs.items()},
        measured={kind: m for kind, (_, m) in pairs.items()},
        differs=any(abs(r - m) > tolerance for r, m in pairs.values()),
    )


def record_recipe(analysis: Analysis) -> dict | None:
    """The training recipe the checkpoint records; None without one."""
    return analysis.training.recipe if analysis.training and analysis.training.recipe else None


def looks_quoted(head: dict) -> str:
    """Which evidence the head's "Looks at" line quotes: its target's share, both operands' shares (a switch),
    the closest label (mixed), or the label's own score."""
    if head["target"]:
        return "target"
    return {"switches_ab": "switch", "mixed": "mixed"}.get(head["label"], "score")


def rule_decides(head: dict) -> str:
    """What decides where the head looks: its rule's kind where a rule was found (report.py's precedence),
    else whether it needs deciding at all."""
    rule = head["rule"]
    if rule:
        two = rule["kind"] == "operand_preference" and len(rule["frequencies"]) > 1
        return "two_frequency_preference" if two else rule["kind"]
    return "not_needed" if head["causal"]["pattern"]["sufficiency"] == "not_needed" else "no_rule"


def sufficiency_quoted(head: dict) -> str | None:
    """The pattern test the head's page quotes: the one-frequency rule's for a switching head, else its rule's;
    None where its pattern hardly matters."""
    pattern = head["causal"]["pattern"]
    if pattern["sufficiency"] == "not_needed":
        return None
    if head["rule"] and head["rule"]["kind"] == "operand_preference":
        return "frequency_sufficient" if head["rule"]["sufficiency"] == "sufficient" else "frequency_insufficient"
    return pattern["sufficiency"]


LABEL_OF = {
    "looks": lambda h: h["label"],
    "reads": lambda h: h["reads"]["label"],
    "carries": lambda h: h["carries"]["label"],
    "importance": lambda h: h["causal"]["importance"],
}  # each kind of label a head earns, read from its report.json record


def untrained_same(head: dict, start: dict | None) -> dict:
    """Kind of label -> label, for each label of the head that its untrained start point (its baseline record
    ``start``: the same head before training) earns too; in LABEL_OF's order."""
    return {kind: label(head) for kind, label in LABEL_OF.items() if start is not None and start[kind] == label(head)}


def head_page(head: dict, start: dict | None = None) -> HeadPage:
    """The codes of one head's sections, from its report.json record and its start point's labels."""
    return HeadPage(
        name=head["name"],
        looks=looks_quoted(head),
        reads_differ=head["reads"]["label"] != head["label"],
        importance_differs=head["causal"]["importance_anywhere"] != head["causal"]["importance"],
        rule=rule_decides(head),
        sufficiency=sufficiency_quoted(head),
        rule_tested=rule_decides(head) != "not_needed",
        switches=bool(head["rule"]) and head["rule"]["kind"] == "operand_preference",
        parts={"a_and_b": "additive", "answer": "answer"}.get(head["carries"]["label"]),
        untrained=untrained_same(head, start),
    )


def position_holds(report: dict) -> dict[int, list[PositionHeld]]:
    """Layer -> the positions that hold something other than their own token there."""
    held: dict[int, list[PositionHeld]] = {}
    for row in report["positions"]:
        if row["carries"] != {"a": "a", "b": "b"}.get(row["position"]):
            held.setdefault(row["layer"], []).append(PositionHeld(row["layer"], row["position"], row["carries"]))
    return held


def plus_statements(findings: list[Finding]) -> dict:
    """The original write-up said both that + gets little attention and that later layers attend to it more:
    which of the two hold by position ("both", "first", "second" or "neither"), and by content where that
    differs, and the share + gets."""
    by_id = {f.id: f for f in findings}
    evidence = by_id["inputs_dominate"].evidence
    cut = evidence["thresholds"]["plus_little"]
    case = {(True, True): "both", (True, False): "first", (False, True): "second", (False, False): "neither"}
    by_position = case[(evidence["attention"]["plus"] < cut, bool(by_id["plus_rises"].by_position))]
    by_content = case[(evidence["attention_by_content"]["plus"] < cut, bool(by_id["plus_rises"].by_content))]
    return {
        "case": by_position,
        "content_case": by_content,
        "content_differs": by_content != by_position,
        "plus": evidence["attention"]["plus"],
    }


def label_counts(report: dict) -> dict:
    """How many heads earn each label, by kind of label (sorted by label)."""
    return {kind: dict(sorted(Counter(get(h) for h in report["heads"]).items())) for kind, get in LABEL_OF.items()}


def circuit_parts(report: dict) -> dict:
    """What the circuit's names stand for, so that a template words a name by its kind and layer."""
    found = {"embed": {"kind": "embed", "layer": None}, "final": {"kind": "final", "layer": None}}
    found["bias"] = {"kind": "bias", "layer": None}
    found |= {c["name"]: {"kind": c["kind"], "layer": c["layer"]} for c in report["components"]}
    found |= {h["name"]: {"kind": "head", "layer": h["layer"]} for h in report["heads"]}
    return found


def threshold_groups() -> list[str]:
    """The groups of the threshold table, in the order their first threshold appears."""
    return list(dict.fromkeys(Thresholds.group_of(name) for name, _ in Thresholds.reasons()))


def page_model(analysis: Analysis, report: dict) -> Pages:
    """The page model of one analysis; ``report`` is its report.json document (the heads' records)."""
    findings = list(analysis.findings)
    start = {h["name"]: h for h in (report["baseline"] or {}).get("heads", [])}
    heads = {h["name"]: head_page(h, start.get(h["name"])) for h in report["heads"]}
    return Pages(
        findings=findings,
        trends=[f for f in findings if f.scope == LAYERS],
        plus_statements=plus_statements(findings),
        heads=heads,
        position_holds=position_holds(report),
        warning=analysis.warning,
        threshold_groups=threshold_groups(),
        chance=1 / analysis.stats.task.modulus,
        a_share_low=1 - analysis.thresholds.a_share_extreme,
        label_counts=label_counts(report),
        untrained_marks=any(page.untrained for page in heads.values()),
        start_unembed_scale=initial_unembed_scale(recipe) if (recipe := record_recipe(analysis)) else None,
        record=record_check(analysis),
        parts=circuit_parts(report),
        stage_tops={
            s["after"]: sorted(s["answer_frequencies"].items(), key=lambda kv: (-kv[1], int(kv[0])))[:3]
            for s in report["stages"]
        },
        neuron_tops={n["layer"]: list(n["by_frequency"].items())[:5] for n in report["neurons"]},
        channel_frequencies=[ch.frequency for ch in analysis.circuit.channels],
        redundant_pairs=[p for p in report["head_pairs"] if p["kind"] == "redundant"],
        neurons_fire=analysis.measured.circuit.neurons_fire,
    )
