"""Several runs side by side: heads matched by what they do, never by index, and findings counted over
the runs whose models have learned the task."""

from __future__ import annotations

import json

import numpy as np
import pytest

from reporter.analysis import Options, analyse
from reporter.assignment import assignment, hungarian
from reporter.compare import CompareError, Run, compare, comparison_json
from reporter.interpret.thresholds import Thresholds
from reporter.publish.render import terminal
from tests.conftest import invoke

# Hand-made models answer nothing: counted here by a warning threshold of 0, except where a test says so.
COUNTED = Options(thresholds=Thresholds().with_overrides({"low_accuracy": 0.0}), sweep=False)
FIRST = [["a:copy", "b:copy", "equals"], ["larger:copy", "equals", "frequency:copy"]]
SHUFFLED = [["equals", "a:copy", "b:copy"], ["frequency:copy", "larger:copy", "equals"]]  # same roles, other order
OTHER = [["a:copy", "a:copy", "b:copy"], ["larger:copy", "b:copy", "frequency:copy"]]  # no sink, other niches


def run(handmade_checkpoint, name, heads, options=COUNTED):
    return Run(name, analyse(handmade_checkpoint(13, heads), options))


def test_the_same_roles_in_another_order_are_matched_role_to_role(handmade_checkpoint):
    comparison = compare([run(handmade_checkpoint, "first", FIRST), run(handmade_checkpoint, "shuffled", SHUFFLED)])
    pairs = {(g.layer, g.members[0][1]): g.members[1][1] for g in comparison.groups}
    assert pairs == {
        (0, "L0H0"): "L0H1",
        (0, "L0H1"): "L0H2",
        (0, "L0H2"): "L0H0",
        (1, "L1H0"): "L1H1",
        (1, "L1H1"): "L1H2",
        (1, "L1H2"): "L1H0",
    }
    assert all(g.stable for g in comparison.groups)
    assert all(row["holds_in"] in (0, 2) for row in comparison.findings)  # the same model, heads renamed


def test_runs_with_different_niches_differ_and_a_finding_of_one_run_counts_one_of_two(handmade_checkpoint):
    comparison = compare([run(handmade_checkpoint, "first", FIRST), run(handmade_checkpoint, "other", OTHER)])
    assert not all(g.stable for g in comparison.groups)
    sinks = next(row for row in comparison.findings if row["id"] == "sinks")
    assert (sinks["holds_in"], sinks["of"], sinks["recurs"]) == (1, 2, "some")
    assert sinks["runs"] == {"first": True, "other": False}


def test_a_run_that_has_not_learned_the_task_is_shown_but_not_counted(handmade_checkpoint):
    untrained = run(handmade_checkpoint, "untrained", OTHER, Options(sweep=False))  # the default warning applies
    comparison = compare(
        [run(handmade_checkpoint, "first", FIRST), run(handmade_checkpoint, "shuffled", SHUFFLED), untrained]
    )
    assert not untrained.counted and "has not learned the task" in terminal("warning_text", untrained.analysis.warning)
    assert all(row["of"] == 2 for row in comparison.findings)
    document = comparison_json(comparison)
    shown = {r["checkpoint"]: r for r in document["runs"]}
    assert shown["untrained"]["counted"] is False and shown["untrained"]["warning"]["code"] == "unlearned"
    assert {"runs", "groups", "findings"} <= set(document)


def test_runs_of_different_moduli_are_refused_and_different_shapes_said(handmade_checkpoint):
    a = run(handmade_checkpoint, "a", FIRST)
    b = Run("b", analyse(handmade_checkpoint(11, FIRST), COUNTED))
    with pytest.raises(CompareError, match="different tasks"):
        compare([a, b])
    smaller = Run("small", analyse(handmade_checkpoint(13, [["a:copy", "b:copy"]]), COUNTED))
    comparison = compare([a, smaller])
    assert comparison.notes[0]["code"] == "shapes_differ" and "differ in shape" in terminal("note", comparison.notes[0])
    assert {g.layer for g in comparison.groups} == {0}


@pytest.mark.parametrize("size", [3, 5, 9, 12])
def test_the_assignment_is_optimal(size):
    rng = np.random.default_rng(size)
    cost = rng.random((size, size))
    found = hungarian(cost)
    assert sorted(found) == list(range(size))
    if size <= 8:
        assert sum(cost[i, found[i]] for i in range(size)) == pytest.approx(
            sum(cost[i, j] for i, j in enumerate(assignment(cost)))
        )


def test_compare_on_the_command_line(handmade_checkpoint, tmp_path):
    first, shuffled = handmade_checkpoint(13, FIRST), handmade_checkpoint(13, SHUFFLED)
    result = invoke("compare", first, shuffled, "--set", "low_accuracy=0", "--json", tmp_path / "c.json")
    assert result.exit_code == 0, result.output
    document = json.loads((tmp_path / "c.json").read_text())
    assert len(document["runs"]) == 2 and document["groups"][0]["stable"] is True
    assert "heads matched within each layer" in result.output
    one = invoke("compare", first)
    assert one.exit_code == 2 and "compare needs at least two checkpoints" in one.output
    missing = invoke("compare", first, tmp_path / "nowhere")
    assert missing.exit_code == 1 and "does not exist" in missing.output and "Traceback" not in missing.output
    other_task = invoke("compare", first, handmade_checkpoint(11, FIRST))
    assert other_task.exit_code == 1 and "different tasks" in other_task.output
