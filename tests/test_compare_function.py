"""Runs compared by what they compute. Known by construction: `lookup_model` routes `a` and `b` to `=` in one
layer and looks the answer up in the next MLP, so the same computation can be put in layers 0-1 or 1-2; the
hand-made heads of tests/handmade.py earn known roles."""

from __future__ import annotations

from dataclasses import replace

import pytest

from reporter.analysis import BaselineSummary, Options, analyse
from reporter.compare import Run, compare, comparison_json
from reporter.interpret.thresholds import Thresholds
from tests.circuit_models import lookup_model
from tests.test_algorithm import saved

QUIET = Options(sweep=False)
COUNTED = Options(thresholds=Thresholds().with_overrides({"low_accuracy": 0.0}), sweep=False)
FIRST = [["a:copy", "b:copy", "equals"], ["larger:copy", "equals", "frequency:copy"]]
SHUFFLED = [["equals", "a:copy", "b:copy"], ["frequency:copy", "larger:copy", "equals"]]


@pytest.fixture(scope="module")
def layers_apart(tmp_path_factory):
    """The comparison of two three-layer lookup models: one computes in layers 0-1, the other in layers 1-2."""
    root = tmp_path_factory.mktemp("apart")
    runs = []
    for name, route in (("early", 0), ("late", 1)):
        model, task = lookup_model(7, route=route, n_layers=3)
        runs.append(Run(name, analyse(saved(root / name, model, model.checkpoint_config, task), QUIET)))
    assert all(run.counted for run in runs)  # both answer every input
    return compare(runs)


def test_the_same_computation_in_other_layers_recurs_with_its_place_in_each_run(layers_apart):
    steps = {(row["code"], tuple(row["codes"])): row for row in layers_apart.steps}
    lookup = steps[("mlp", ("multiplies", "critical"))]
    assert (lookup["holds_in"], lookup["of"], lookup["recurs"]) == (2, 2, "all")
    assert lookup["runs"] == {"early": ["mlp1"], "late": ["mlp2"]}
    route = steps[("route_head", ("critical", "attends_a", "0"))]
    assert route["runs"] == {"early": ["L0H0"], "late": ["L1H0"]}
    readable = steps[("readable", ("mlp",))]
    assert readable["runs"] == {"early": ["mlp1"], "late": ["mlp2"]}
    assert layers_apart.steps[0]["recurs"] == "all"  # what recurs comes first
    document = comparison_json(layers_apart)
    work = {run["checkpoint"]: {c["name"]: c["importance"] for c in run["components"]} for run in document["runs"]}
    assert work["early"]["mlp1"] == "critical" and work["early"]["mlp2"] in ("inert", "minor")
    assert work["late"]["mlp2"] == "critical" and work["late"]["mlp1"] in ("inert", "minor")


def test_a_head_with_no_good_counterpart_is_unmatched_not_forced_into_a_group(layers_apart):
    groups = {(g.layer, g.members[0][1]): g for g in layers_apart.groups}
    critical = groups[(0, "L0H0")]  # early's a-head: late's layer 0 writes nothing
    assert critical.unmatched == ["late"] and [m[0] for m in critical.members] == ["early"]
    assert not critical.stable and critical.unstable == "unmatched"
    assert set(layers_apart.unmatched["late"]) >= {"L0H0", "L0H1", "L0H2"}
    cell = comparison_json(layers_apart)["groups"][0]["by_run"]
    assert cell[1] is None and cell[0]["head"] == "L0H0"


def test_heads_that_do_the_same_with_the_same_band_match_and_are_stable(handmade_checkpoint):
    runs = [Run(n, analyse(handmade_checkpoint(13, h), COUNTED)) for n, h in (("a", FIRST), ("b", SHUFFLED))]
    comparison = compare(runs)
    assert all(not g.unmatched for g in comparison.groups) and all(g.stable for g in comparison.groups)


def test_a_role_the_untrained_model_earns_too_does_not_count_as_recurring(handmade_checkpoint):
    runs = [Run(n, analyse(handmade_checkpoint(13, h), COUNTED)) for n, h in (("a", FIRST), ("b", SHUFFLED))]
    first = next(g for g in compare(runs).groups if g.layer == 0 and g.members[0][1] == "L0H0")
    reads, carries = first.role
    untrained = BaselineSummary(
        accuracy=0.0,
        looks={},
        reads={},
        carries={},
        importance={},
        heads=[
            {
                "name": f"L{layer}H{head}",
                "looks": "spread",
                "reads": reads if layer == 0 else "spread",
                "carries": carries if layer == 0 else "mixed",
                "importance": "inert",
            }
            for layer in range(2)
            for head in range(3)
        ],
    )
    runs[1] = Run("b", replace(runs[1].analysis, baseline=untrained))
    groups = {(g.layer, g.members[0][1]): g for g in compare(runs).groups}
    assert groups[(0, "L0H0")].untrained and groups[(0, "L0H0")].unstable == "untrained"
    assert all(g.stable for key, g in groups.items() if key[0] == 1)  # the untrained model earns nothing there


def test_a_claim_with_one_reading_has_no_count_by_position_or_content(layers_apart):
    for row in layers_apart.findings:
        two = row["by_position_in"] is not None
        assert two == (row["by_content_in"] is not None)
    assert any(row["by_position_in"] is None for row in layers_apart.findings)


def test_comparison_json_follows_its_schema_which_ships_beside_it(layers_apart, tmp_path):
    import json

    from jsonschema import Draft202012Validator

    from reporter.publish.render import COMPARISON_SCHEMA

    schema = json.loads(COMPARISON_SCHEMA.read_text())
    Draft202012Validator.check_schema(schema)
    document = json.loads(json.dumps(comparison_json(layers_apart)))
    assert [e.message for e in Draft202012Validator(schema).iter_errors(document)] == []
    broken = {**document, "steps": [{**document["steps"][0], "recurs": "often"}]}
    assert list(Draft202012Validator(schema).iter_errors(broken))  # the schema can fail
