"""`modreport analyze`: report.json (contract 3), the printed table, pairs, thresholds."""

from __future__ import annotations

import json

import pytest

from tests.conftest import invoke
from tests.handmade import write_handmade


@pytest.fixture(scope="module")
def handmade_97(tmp_path_factory):
    """2 layers x 3 heads at p = 97: nothing may assume 3 x 4 or 113."""
    return write_handmade(
        tmp_path_factory.mktemp("hm") / "ckpt", 97, [["a", "larger", "equals"], ["b", "both", "uniform"]]
    )


def run_analyze(checkpoint, tmp_path, *options):
    out = tmp_path / "report.json"
    result = invoke("analyze", "--checkpoint", checkpoint, "--json", out, *options)
    return result, (json.loads(out.read_text()) if out.exists() else None)


@pytest.mark.slow
def test_other_shape_and_modulus_is_analysed_and_labelled(handmade_97, tmp_path):
    result, report = run_analyze(handmade_97, tmp_path)
    assert result.exit_code == 0, result.output
    assert report["task"]["modulus"] == 97 and report["task"]["n_inputs"] == 97 * 97
    assert (report["model"]["n_layers"], report["model"]["n_heads"]) == (2, 3)
    labels = [(h["name"], h["label"]) for h in report["heads"]]
    assert labels == [
        ("L0H0", "attends_a"),
        ("L0H1", "switches_ab"),
        ("L0H2", "self"),
        ("L1H0", "attends_b"),
        ("L1H1", "splits_ab"),
        ("L1H2", "spread"),
    ]
    assert [line.split()[:2] for line in result.output.splitlines() if line.startswith("L1H")] == [
        ["L1H0", "attends_b"],
        ["L1H1", "splits_ab"],
        ["L1H2", "spread"],
    ]


def test_report_keeps_contract_3(handmade_97, tmp_path):
    _, report = run_analyze(handmade_97, tmp_path)
    assert report["schema_version"] == 4
    for finding in report["findings"]:  # data, not prose: the templates word each finding by its id
        assert {"id", "holds", "by_position", "by_content", "decided_by", "reason", "evidence"} <= set(finding)
        assert not {"text", "why", "claim"} & set(finding)
    head = report["heads"][0]
    assert {"label", "reads", "carries", "causal", "rule"} <= set(head)
    assert set(head["causal"]["ablation"]) == {"equals", "all_positions"}
    assert head["causal"]["importance"] in ("inert", "minor", "matters", "critical")
    assert {"key_frequencies", "logits", "embedding", "unembedding"} <= set(report["fourier"])
    assert {row["position"] for row in report["positions"]} == {"a", "plus", "b", "equals"}
    assert set(head["attention"]) == {"a", "plus", "b", "equals"}
    assert abs(sum(head["attention"].values()) - 1) < 1e-4
    assert 0.25 <= head["mean_max"] <= 1 and 0 <= head["entropy"] <= 1
    assert [layer["layer"] for layer in report["layers"]] == [0, 1]
    assert [f["id"] for f in report["findings"]] == [
        "heads_specialise",
        "inputs_dominate",
        "layer0_broad",
        "later_layers_sharp",
        "layer0_self",
        "plus_rises",
        "routing_story",
        "sinks",
        "labels_causally_confirmed",
    ]
    assert all({"holds", "by_position", "by_content"} <= set(f) for f in report["findings"])
    assert len(report["provenance"]["checkpoint_sha256"]) == 64
    assert {"value", "reason"} <= set(report["thresholds"]["focus"])


def test_default_pairs_fit_the_modulus(handmade_97, tmp_path):
    _, report = run_analyze(handmade_97, tmp_path)
    assert [p["pair"] for p in report["pairs"]] == ["5+8", "90+90", "50+0"]
    _, report = run_analyze(handmade_97, tmp_path, "--pairs", " 3 + 4 ,96+0")
    pair = report["pairs"][0]
    assert (pair["pair"], pair["a"], pair["b"], pair["answer"]) == ("3+4", 3, 4, 7)
    by_head = {(h["layer"], h["head"]): h["attention"] for h in pair["heads"]}
    assert by_head[(0, 0)]["a"] > 0.99 and by_head[(0, 1)]["b"] > 0.99  # b = 4 is the larger


@pytest.mark.parametrize(
    "pairs, message",
    [
        ("5+8,90-90", "pair '90-90' is not of the form a+b"),
        ("5+8,", "pair '' is not of the form a+b"),
        ("5+x", "pair '5+x' is not of the form a+b"),
        ("-1+3", "pair '-1+3' is not of the form a+b"),
        ("97+0", "pair '97+0' is out of range: a and b must lie in [0, 97)"),
        ("5+8+1", "pair '5+8+1' is not of the form a+b"),
    ],
)
def test_bad_pairs_are_refused_with_the_bad_pair_named(handmade_97, tmp_path, pairs, message):
    result, report = run_analyze(handmade_97, tmp_path, "--pairs", pairs)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output and report is None


def test_untrained_model_report_carries_a_warning(handmade_97, tmp_path):
    result, report = run_analyze(handmade_97, tmp_path)
    assert report["accuracy"]["all"] < 0.99
    assert report["warning"]["code"] == "unlearned"
    assert "WARNING:" in result.output and "has not learned the task" in result.output


def test_trained_model_has_no_warning_and_knows_its_split(tiny_checkpoint, tmp_path):
    result, report = run_analyze(tiny_checkpoint, tmp_path)
    assert report["warning"] is None and "WARNING" not in result.output
    assert report["accuracy"]["train"] == 1.0 and report["accuracy"]["test"] == 1.0


def test_json_to_stdout_is_the_whole_report(handmade_97):
    result = invoke("analyze", "--checkpoint", handmade_97, "--json", "-")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["schema_version"] == 4


def test_threshold_overrides_change_labels_and_are_recorded(handmade_97, tmp_path):
    _, report = run_analyze(handmade_97, tmp_path, "--set", "split_floor=0.6")
    labels = {h["name"]: h["label"] for h in report["heads"]}
    assert labels["L1H1"] != "splits_ab"  # it gives a and b half each: not a split once each side needs 0.6
    assert labels["L0H0"] == "attends_a"
    assert report["thresholds"]["split_floor"]["value"] == 0.6
    assert (
        report["provenance"]["command"] == f"modreport analyze --checkpoint {str(handmade_97)!r} --set split_floor=0.6"
    )
    path = tmp_path / "t.json"
    path.write_text('{"focal": 1}')
    result, _ = run_analyze(handmade_97, tmp_path, "--thresholds", path)
    assert result.exit_code == 2 and "unknown threshold 'focal'" in result.output
    result, _ = run_analyze(handmade_97, tmp_path, "--set", "most_inputs=1.01")
    assert result.exit_code == 2 and "threshold 'most_inputs' is a share: it must lie in [0, 1]" in result.output


def test_same_checkpoint_gives_byte_identical_report(handmade_97, tmp_path):
    invoke("analyze", "--checkpoint", handmade_97, "--json", tmp_path / "one.json")
    invoke("analyze", "--checkpoint", handmade_97, "--json", tmp_path / "two.json")
    assert (tmp_path / "one.json").read_bytes() == (tmp_path / "two.json").read_bytes()
