"""The seed's claims are checked against the data, by position and by content, and a contradicted
claim is reported as such."""

from __future__ import annotations

import pytest

from reporter.publish.pages import plus_statements
from tests.handmade import analysed, findings_by_id, said

# Layer 0 broad and on = itself; later layers sharp on a or b, and one head on + each.
SEED_STORY = [
    ["ab_equals", "ab_equals", "equals", "ab_equals"],
    ["a", "b", "larger", "plus"],
    ["b", "a", "larger", "plus"],
]


def findings_of(modulus, heads, readout=False):
    *_, reading = analysed(modulus, heads, readout)
    return findings_by_id(reading.findings)


def test_seed_story_holds_by_position_on_a_model_built_to_tell_it():
    findings = findings_of(13, SEED_STORY)
    for id_ in ("heads_specialise", "layer0_broad", "later_layers_sharp", "layer0_self", "plus_rises", "routing_story"):
        assert findings[id_].by_position is True, (id_, said(findings[id_]))


def test_reversed_layer_story_is_reported_as_not_holding():
    # Sharp layer 0, broad last layer.
    findings = findings_of(13, [["a", "b", "larger"], ["uniform", "uniform", "ab_plus"]])
    broad = findings["layer0_broad"]
    assert broad.holds is False and broad.by_position is False
    assert said(broad).startswith("Layer 0 is not the broadest")
    assert broad.evidence["entropy_by_layer"][0] < broad.evidence["entropy_by_layer"][1]
    assert findings["routing_story"].holds is False
    assert findings["later_layers_sharp"].holds is False


def test_both_seed_statements_about_plus_are_checked_separately():
    # One head of eight on +: + gets 12.5% of all attention (not little), yet later layers attend to it more.
    *_, reading = analysed(13, [["a", "b", "a", "b"], ["a", "b", "larger", "plus"]])
    findings = findings_by_id(reading.findings)
    assert findings["plus_rises"].by_position is True
    dominate = findings["inputs_dominate"]
    assert dominate.evidence["attention"]["plus"] == pytest.approx(1 / 8, abs=1e-3)
    assert dominate.by_position is False
    assert plus_statements(reading.findings)["case"] == "second"
    # No head on +: + gets nothing (little), and later layers do not attend to it more.
    *_, reading = analysed(13, [["a", "b", "a", "b"], ["a", "b", "larger", "b"]])
    findings = findings_by_id(reading.findings)
    assert findings["inputs_dominate"].by_position is True and findings["plus_rises"].by_position is False
    assert plus_statements(reading.findings)["case"] == "first"


def test_attention_to_plus_that_holds_a_is_attention_to_a_by_content_and_position_decides_an_attention_claim():
    # Layer 0 copies a into every later position; layer 1 looks at + for half its heads.
    findings = findings_of(13, [["a:copy", "equals"], ["plus", "b"]])
    rises, dominate = findings["plus_rises"], findings["inputs_dominate"]
    assert rises.by_position is True and rises.by_content is False
    assert rises.about == "attention" and rises.decided_by == "position" and rises.holds is True
    assert "holds `a`" in said(rises, "note") and "position decides" in said(rises, "why")
    assert dominate.evidence["attention_by_content"]["plus"] == pytest.approx(0, abs=1e-9)


def test_one_rule_decides_every_claim_attention_by_position_information_by_content():
    findings = findings_of(13, [["a:copy", "equals"], ["plus", "b"]])
    for f in findings.values():
        assert f.decided_by == {"attention": "position", "information": "content"}[f.about], f.id
        assert f.holds == (f.by_position if f.decided_by == "position" else f.by_content), f.id
    # The same kind of sentence, "attention goes to X": claims 2 and 5 are decided alike.
    assert findings["inputs_dominate"].decided_by == findings["layer0_self"].decided_by == "position"
    # Here + gets a quarter of all attention (not little) although by content it gets none: by position, it fails.
    dominate = findings["inputs_dominate"]
    assert dominate.by_position is False and dominate.by_content is True and dominate.holds is False
    assert findings["routing_story"].decided_by == findings["heads_specialise"].decided_by == "content"


def test_later_layers_are_judged_sharper_against_layer_0_not_against_a_fixed_bar():
    # Every layer is sharp (mean_max far above 0.6) and later heads each read one operand, but layer 0 is the
    # sharpest: "later layers are sharper than layer 0" does not hold.
    findings = findings_of(13, [["a", "b", "a", "b"], ["a", "b", "a_over_plus", "b"]])
    sharp = findings["later_layers_sharp"]
    mean_max = sharp.evidence["mean_max_by_layer"]
    assert min(mean_max) > 0.6 and mean_max[0] > mean_max[1]
    assert sharp.evidence["single_input_by_content"] == 4
    assert sharp.holds is False and sharp.by_position is False and sharp.by_content is False
    assert "layer 1" in said(sharp) and "is not sharper than layer 0" in said(sharp)
    # The model built to tell the seed's story: layer 0 three-way, later layers sharp.
    assert findings_of(13, SEED_STORY)["later_layers_sharp"].evidence["sharp"] is True


def test_a_minor_head_is_not_among_the_heads_that_matter():
    *_, reading = analysed(13, [["a:copy", "b:copy"], ["b:copy", "a:copy"]], readout=True)
    roles = {r.name: r for r in reading.roles}
    assert roles["L1H1"].importance.value == "minor" and roles["L1H1"].reads.kind.value == "attends_a"
    findings = findings_by_id(reading.findings)
    assert findings["routing_story"].evidence["routers"] == []  # not L1H1: a minor head does not route
    assert "no head that matters routes them" in said(findings["routing_story"])
    assert findings["heads_specialise"].evidence["heads_needed"] == 0  # L0H0 is minor too


def test_layer0_on_a_constant_equals_holds_by_position_but_not_by_content():
    findings = findings_of(13, [["equals", "equals:constant"], ["a", "b"]])
    on_self = findings["layer0_self"]
    assert on_self.holds is True and on_self.by_position is True and on_self.by_content is False
    assert "holds the same vector on every input" in said(on_self)


def test_a_head_that_writes_a_constant_is_a_sink():
    findings = findings_of(13, [["a:copy", "equals:constant"]], readout=True)
    assert findings["sinks"].holds is True and findings["sinks"].evidence["sinks"] == ["L0H1"]
    assert "L0H1 looks self" in said(findings["sinks"])


def test_single_layer_model_cannot_compare_layers():
    findings = findings_of(11, [["a", "b"]])
    assert findings["layer0_broad"].holds is None
    assert "single layer" in said(findings["layer0_broad"])
