"""Each head gets the label its hand-set weights force on it."""

from __future__ import annotations

import pytest

from reporter.interpret.labels import HeadLabel, label_heads
from reporter.interpret.thresholds import Thresholds

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


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_head_is_labelled_by_where_it_must_look(handmade, kind):
    label = handmade(13, [[kind, "uniform"]]).label(0, 0)
    assert label.kind is EXPECTED[kind]
    assert label.score >= Thresholds().most_inputs


def test_single_target_labels_name_their_position(handmade):
    measured = handmade(13, [["a", "plus", "equals", "larger"]])
    assert [l.target for l in measured.labels] == ["a", "plus", "equals", None]


def test_switching_and_splitting_heads_have_the_same_mean_but_different_labels(handmade):
    measured = handmade(13, [["larger", "both"]])
    switching, splitting = measured.stats.heads
    assert abs(switching.mean["a"] - splitting.mean["a"]) < 0.05
    assert abs(switching.mean["b"] - splitting.mean["b"]) < 0.05
    assert measured.label(0, 0).kind is HeadLabel.switches_ab
    assert measured.label(0, 1).kind is HeadLabel.splits_ab
    assert switching.mean_max > 0.9 > 0.6 > splitting.mean_max


def test_switching_head_reports_the_rule_that_decides_it(handmade):
    label = handmade(13, [["larger"]]).label(0, 0)
    rule = label.evidence["rule"]
    assert rule["rule"] == "a > b" and rule["decides"] and rule["constant"] is None
    assert rule["agreement"] == 1.0  # ties a = b split evenly, which "a > b" also calls "not a"
    assert label.evidence["a_share_above"] + label.evidence["a_share_below"] > 0.9


def test_head_that_never_settles_on_one_position_is_mixed_with_its_closest_label(handmade):
    # Sharp on every input, on a for a > p/2 and on + otherwise: no label's condition holds on most inputs.
    measured = handmade(13, [["a_or_plus"]])
    label = measured.label(0, 0)
    assert label.kind is HeadLabel.mixed
    assert label.evidence["closest"] == "attends_plus"  # + for a in 0..6, a for a in 7..12
    assert label.score == pytest.approx(7 / 13)
    assert label.evidence["sharp"] and label.evidence["focus_share"]["a"] == pytest.approx(6 / 13)


def test_raising_a_threshold_relabels_a_head_that_sat_near_it(handmade):
    # 0.55 on a and 0.45 on +: "mostly on a" while focus is 0.5, no position holds it at 0.6.
    measured = handmade(13, [["a_over_plus"]])
    assert measured.label(0, 0).kind is HeadLabel.attends_a
    moved = label_heads(measured.stats.heads, Thresholds().with_overrides({"focus": 0.6}))
    assert moved[0].kind is HeadLabel.mixed
