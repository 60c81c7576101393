"""The sensitivity sweep: which labels and findings move when one threshold moves."""

from __future__ import annotations

from reporter.sensitivity import sensitivity, unstable_heads
from reporter.thresholds import Thresholds


def rows_of(measured):
    t = Thresholds()
    rows = sensitivity(measured.stats.heads, measured.stats.layers, measured.labels, measured.findings, t)
    return {row.threshold: row for row in rows}


def test_labels_that_sit_far_from_every_threshold_do_not_move(handmade):
    rows = rows_of(handmade(13, [["ab_plus", "a"]]))
    # ab_plus gives 1/3 to each of a, + and b: spread. Even a focus of 0.8 x 0.5 = 0.4 is above 1/3, so no
    # position ever holds an input, and a `most_inputs` share anywhere in 0.6..0.9 keeps both labels.
    assert all(not m.labels_changed for m in rows["focus"].moves)
    assert all(not m.labels_changed for m in rows["most_inputs"].moves)
    # A spread floor of 1.2 x 0.15 = 0.18 still lets 1/3 in.
    assert all(not m.labels_changed for m in rows["spread_floor"].moves)
    # The findings' own thresholds never relabel a head, but can flip a finding.
    assert all(not m.labels_changed for m in rows["distinct_niches"].moves)


def test_a_label_that_sits_near_its_threshold_flips(handmade):
    # 0.55 on a and 0.45 on +: "mostly on a" at focus 0.5 and 0.45, no longer at focus 0.6.
    measured = handmade(13, [["a_over_plus", "b"]])
    moves = {m.step: m for m in rows_of(measured)["focus"].moves}
    assert moves["× 0.9"].labels_changed == []
    assert moves["× 1.2"].labels_changed == [
        {"layer": 0, "head": 0, "name": "L0H0", "from": "attends_a", "to": "mixed"}
    ]
    rows = sensitivity(measured.stats.heads, measured.stats.layers, measured.labels, measured.findings, Thresholds())
    assert unstable_heads(rows)["L0H0"] == ["focus"]
    assert "L0H1" not in unstable_heads(rows)


def test_counts_move_by_whole_steps_and_never_below_one(handmade):
    row = rows_of(handmade(13, [["a", "b"]]))["distinct_niches"]
    assert [(m.step, m.value) for m in row.moves] == [("-2", 1), ("-1", 2), ("+1", 4), ("+2", 5)]
    # Two niches (attends_a, attends_b): the claim holds once at most 2 are asked for.
    assert [bool(m.findings_changed) for m in row.moves] == [True, True, False, False]


def test_page_thresholds_are_not_swept(handmade):
    rows = rows_of(handmade(13, [["a", "b"]]))
    assert "low_accuracy" not in rows and "meaningful_ab" not in rows and "focus" in rows
