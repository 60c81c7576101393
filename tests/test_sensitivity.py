"""The sensitivity sweep: which labels and findings move when one threshold moves."""

from __future__ import annotations

from reporter.analysis import interpret
from reporter.interpret.sensitivity import sensitivity, unstable_heads
from reporter.interpret.thresholds import Thresholds
from tests.handmade import analysed


def rows_of(heads, readout=False):
    _, _, measured, stats, reading = analysed(13, heads, readout)
    return {row.threshold: row for row in sensitivity(stats, measured, reading, Thresholds(), interpret)}


def looks_changed(move) -> list[dict]:
    return [c for c in move.labels_changed if c["label"] == "looks"]


def test_labels_that_sit_far_from_every_threshold_do_not_move():
    rows = rows_of([["ab_plus", "a"]])
    # ab_plus gives 1/3 to each of a, + and b: spread. Even a focus of 0.8 x 0.5 = 0.4 is above 1/3, so no
    # position ever holds an input, and a `most_inputs` share anywhere in 0.6..0.9 keeps both labels.
    assert all(not looks_changed(m) for m in rows["focus"].moves)
    assert all(not looks_changed(m) for m in rows["most_inputs"].moves)
    # A spread floor of 1.2 x 0.15 = 0.18 still lets 1/3 in.
    assert all(not looks_changed(m) for m in rows["spread_floor"].moves)
    # The findings' own thresholds never relabel a head, but can flip a finding.
    assert all(not m.labels_changed for m in rows["distinct_niches"].moves)


def test_a_label_that_sits_near_its_threshold_flips():
    # 0.55 on a and 0.45 on +: "mostly on a" at focus 0.5 and 0.45, no longer at focus 0.6.
    rows = rows_of([["a_over_plus", "b"]])
    moves = {m.step: m for m in rows["focus"].moves}
    assert looks_changed(moves["× 0.9"]) == []
    assert {"layer": 0, "head": 0, "name": "L0H0", "label": "looks", "from": "attends_a", "to": "mixed"} in (
        moves["× 1.2"].labels_changed
    )
    unstable = unstable_heads(list(rows.values()))
    assert "focus" in unstable["L0H0"]
    assert "L0H1" not in unstable


def test_counts_move_by_whole_steps_and_never_below_one():
    row = rows_of([["a", "b"]])["distinct_niches"]
    assert [(m.step, m.value) for m in row.moves] == [("-2", 1), ("-1", 2), ("+1", 4), ("+2", 5)]
    # Two niches by position, none by content (neither head writes anything): the claim holds at no move.
    assert [m.findings_changed for m in row.moves] == [[], [], [], []]


def test_losses_move_by_factors_without_an_upper_bound():
    row = rows_of([["a", "b"]])["importance_critical"]
    assert [m.value for m in row.moves] == [0.8, 0.9, 1.1, 1.2]


def test_page_and_fourier_thresholds_are_not_swept():
    rows = rows_of([["a", "b"]])
    assert "low_accuracy" not in rows and "meaningful_ab" not in rows and "key_frequency" not in rows
    assert "focus" in rows and "carries_single" in rows and "importance_minor" in rows
