"""The seed's claims are checked against the data, and a contradicted claim is reported as such."""

from __future__ import annotations

import pytest

from reporter.findings import plus_statements

# Layer 0 broad and on = itself; later layers sharp on a or b, and one head on + each.
SEED_STORY = [
    ["ab_equals", "ab_equals", "equals", "ab_equals"],
    ["a", "b", "larger", "plus"],
    ["b", "a", "larger", "plus"],
]


def findings_of(handmade, modulus, heads):
    return {f.id: f for f in handmade(modulus, heads).findings}


def test_seed_story_holds_on_a_model_built_to_tell_it(handmade):
    findings = findings_of(handmade, 13, SEED_STORY)
    for id_ in ("heads_specialise", "layer0_broad", "later_layers_sharp", "layer0_self", "plus_rises", "routing_story"):
        assert findings[id_].holds is True, (id_, findings[id_].text)


def test_reversed_layer_story_is_reported_as_not_holding(handmade):
    # Sharp layer 0, broad last layer.
    findings = findings_of(handmade, 13, [["a", "b", "larger"], ["uniform", "uniform", "ab_plus"]])
    broad = findings["layer0_broad"]
    assert broad.holds is False
    assert broad.text.startswith("Layer 0 is not the broadest")
    assert broad.evidence["entropy_by_layer"][0] < broad.evidence["entropy_by_layer"][1]
    assert findings["routing_story"].holds is False
    assert findings["later_layers_sharp"].holds is False


def test_both_seed_statements_about_plus_are_checked_separately(handmade):
    # One head of eight on +: + gets 12.5% of all attention (not little), yet later layers attend to it more.
    measured = handmade(13, [["a", "b", "a", "b"], ["a", "b", "larger", "plus"]])
    findings = {f.id: f for f in measured.findings}
    assert findings["plus_rises"].holds is True
    dominate = findings["inputs_dominate"]
    assert dominate.evidence["attention"]["plus"] == pytest.approx(1 / 8, abs=1e-3)
    assert dominate.evidence["plus_little"] is False and dominate.holds is False
    assert plus_statements(measured.findings)["case"] == "second"
    # No head on +: + gets nothing (little), and later layers do not attend to it more.
    measured = handmade(13, [["a", "b", "a", "b"], ["a", "b", "larger", "b"]])
    findings = {f.id: f for f in measured.findings}
    assert findings["inputs_dominate"].holds is True and findings["plus_rises"].holds is False
    assert plus_statements(measured.findings)["case"] == "first"


def test_single_layer_model_cannot_compare_layers(handmade):
    findings = findings_of(handmade, 11, [["a", "b"]])
    assert findings["layer0_broad"].holds is None
    assert "single layer" in findings["layer0_broad"].text
