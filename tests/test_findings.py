"""The seed's claims are checked against the data, and a contradicted claim is reported as such."""

from __future__ import annotations

from reporter.findings import check_findings, sensitivity
from reporter.labels import Thresholds, label_heads
from reporter.stats import attention_over_all_inputs, compute_stats
from tests.handmade import handmade_model


def findings_of(modulus, heads, thresholds=Thresholds()):
    model, _, task = handmade_model(modulus, heads)
    stats = compute_stats(attention_over_all_inputs(model, task), [])
    labels = label_heads(stats.heads, thresholds)
    return {f.id: f for f in check_findings(stats.layers, labels, thresholds)}, stats


# Layer 0 broad and on = itself; later layers sharp on a or b, and one head on + each.
SEED_STORY = [["ab_equals", "ab_equals", "equals", "ab_equals"], ["a", "b", "larger", "plus"], ["b", "a", "larger", "plus"]]


def test_seed_story_holds_on_a_model_built_to_tell_it():
    findings, _ = findings_of(13, SEED_STORY)
    for id_ in ("heads_specialise", "layer0_broad", "later_layers_sharp", "layer0_self", "plus_rises", "routing_story"):
        assert findings[id_].holds is True, (id_, findings[id_].text)


def test_reversed_layer_story_is_reported_as_not_holding():
    # Sharp layer 0, broad last layer.
    findings, stats = findings_of(13, [["a", "b", "larger"], ["uniform", "uniform", "ab_plus"]])
    broad = findings["layer0_broad"]
    assert broad.holds is False
    assert broad.text.startswith("Layer 0 is not the broadest")
    assert broad.evidence["entropy_by_layer"][0] < broad.evidence["entropy_by_layer"][1]
    assert findings["routing_story"].holds is False
    assert findings["later_layers_sharp"].holds is False


def test_both_seed_statements_about_plus_are_checked_separately():
    # + gets little overall, yet later layers attend to it more than layer 0.
    findings, _ = findings_of(13, [["a", "b", "a", "b"], ["a", "b", "larger", "plus"]])
    assert findings["plus_rises"].holds is True
    dominate = findings["inputs_dominate"]
    assert dominate.evidence["plus_little"] is False or dominate.evidence["attention"]["plus"] < 0.1
    findings, _ = findings_of(13, [["a", "b", "a", "b"], ["a", "b", "larger", "b"]])
    assert findings["inputs_dominate"].holds is True and findings["plus_rises"].holds is False


def test_single_layer_model_cannot_compare_layers():
    findings, _ = findings_of(11, [["a", "b"]])
    assert findings["layer0_broad"].holds is None
    assert "single layer" in findings["layer0_broad"].text


def test_sensitivity_lists_label_changes_when_a_threshold_moves():
    model, _, task = handmade_model(13, [["ab_plus", "a"]])
    stats = compute_stats(attention_over_all_inputs(model, task), [])
    rows = {r["threshold"]: r for r in sensitivity(stats.heads, stats.layers, Thresholds())}
    # ab_plus gives 1/3 to each of a, + and b: spread. A focus of 0.8 x 0.5 = 0.4 still exceeds 1/3,
    # but a `most_inputs` share moved anywhere in 0.6..0.9 keeps both labels: nothing changes there.
    assert all(not m["labels_changed"] for m in rows["most_inputs"]["moves"])
    # A spread floor of 1.2 x 0.15 = 0.18 keeps 1/3 in; the split floor is not reached by 1/3 + 1/3 < 0.75 mass.
    assert all(not m["labels_changed"] for m in rows["spread_floor"]["moves"])
    # The findings' own thresholds never relabel a head, but can flip a finding.
    assert all(not m["labels_changed"] for m in rows["distinct_niches"]["moves"])


def test_sensitivity_shows_a_label_that_flips_near_its_threshold():
    # 0.55 on a and 0.45 on +: "mostly on a" at focus 0.5, no longer at focus 0.6.
    model, _, task = handmade_model(13, [["a_over_plus", "b"]])
    stats = compute_stats(attention_over_all_inputs(model, task), [])
    rows = {r["threshold"]: r for r in sensitivity(stats.heads, stats.layers, Thresholds())}
    moves = {m["factor"]: m for m in rows["focus"]["moves"]}
    assert moves[0.8]["labels_changed"] == []
    assert moves[1.2]["labels_changed"] == [{"layer": 0, "head": 0, "from": "attends_a", "to": "mixed"}]
