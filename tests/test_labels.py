"""Each head gets the label its hand-set weights force on it."""

from __future__ import annotations

import pytest

from reporter.labels import HeadLabel, Thresholds, label_heads
from reporter.stats import attention_over_all_inputs, compute_stats
from tests.handmade import handmade_model

EXPECTED = {
    "a": HeadLabel.attends_a,
    "b": HeadLabel.attends_b,
    "plus": HeadLabel.attends_plus,
    "equals": HeadLabel.self,
    "both": HeadLabel.splits_ab,
    "larger": HeadLabel.switches_ab,
    "uniform": HeadLabel.spread,
    "ab_plus": HeadLabel.spread,
}


def labels_of(modulus, heads, thresholds=Thresholds()):
    model, _, task = handmade_model(modulus, heads)
    stats = compute_stats(attention_over_all_inputs(model, task), [])
    return stats, {(l.layer, l.head): l for l in label_heads(stats.heads, thresholds)}


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_head_is_labelled_by_where_it_must_look(kind):
    _, labels = labels_of(13, [[kind, "uniform"]])
    label = labels[(0, 0)]
    assert label.kind is EXPECTED[kind]
    assert label.score >= Thresholds().most_inputs


def test_switching_and_splitting_heads_have_the_same_mean_but_different_labels():
    stats, labels = labels_of(13, [["larger", "both"]])
    switching, splitting = stats.heads
    assert abs(switching.mean["a"] - splitting.mean["a"]) < 0.05
    assert abs(switching.mean["b"] - splitting.mean["b"]) < 0.05
    assert labels[(0, 0)].kind is HeadLabel.switches_ab
    assert labels[(0, 1)].kind is HeadLabel.splits_ab
    assert switching.mean_max > 0.9 > 0.6 > splitting.mean_max


def test_switching_head_reports_the_rule_that_decides_it():
    stats, labels = labels_of(13, [["larger"]])
    rule = labels[(0, 0)].evidence["rule"]
    assert rule["rule"] == "a > b"
    assert rule["agreement"] > 0.9  # wrong only on ties a = b (1 in 13)
    assert stats.heads[0].a_share_above_09 + stats.heads[0].a_share_below_01 > 0.9


def test_head_with_no_majority_behaviour_is_mixed_with_its_closest_label():
    # Sharp on a, but half the inputs only: lowering `most_inputs` above 1 forbids every label.
    _, labels = labels_of(13, [["a"]], Thresholds().with_overrides({"most_inputs": 1.01}))
    assert labels[(0, 0)].kind is HeadLabel.mixed
    assert labels[(0, 0)].evidence["closest"] == "attends_a"


def test_unknown_threshold_is_refused():
    with pytest.raises(ValueError, match="unknown threshold 'focal'"):
        Thresholds().with_overrides({"focal": 0.3})


def test_every_threshold_has_a_reason():
    for name, reason in Thresholds.reasons():
        assert len(reason) > 20, name
