"""report.json follows report.schema.json (JSON Schema, draft 2020-12), which ships in the package and
beside every report.json in the site."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from reporter.interpret.thresholds import Thresholds
from reporter.publish.render import SCHEMA
from tests.conftest import invoke

ROOT = Path(__file__).resolve().parent.parent
VALIDATOR = Draft202012Validator(json.loads(SCHEMA.read_text()))


def problems(report: dict) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in VALIDATOR.iter_errors(report)]


def test_the_schema_is_a_valid_schema():
    Draft202012Validator.check_schema(json.loads(SCHEMA.read_text()))


def test_the_schema_names_every_group_of_the_threshold_table():
    groups = {f.metadata["group"] for f in fields(Thresholds)}
    schema = json.loads(SCHEMA.read_text())
    threshold = schema["properties"]["thresholds"]["additionalProperties"]["properties"]["group"]["enum"]
    assert set(threshold) == groups


def test_the_committed_report_follows_the_schema_and_ships_it_beside():
    assert problems(json.loads((ROOT / "site" / "report.json").read_text())) == []
    assert (ROOT / "site" / "report.schema.json").read_bytes() == SCHEMA.read_bytes()


def test_the_reports_the_tests_build_follow_the_schema(built, handmade_checkpoint, tmp_path):
    assert problems(json.loads((built / "site" / "report.json").read_text())) == []
    assert (built / "site" / "report.schema.json").is_file()
    one_layer = handmade_checkpoint(13, [["a:copy", "larger:copy", "equals:constant"]])
    result = invoke("analyze", "--checkpoint", one_layer, "--json", tmp_path / "r.json")
    assert result.exit_code == 0, result.output
    assert problems(json.loads((tmp_path / "r.json").read_text())) == []


def test_a_report_that_breaks_the_contract_is_caught():
    report = json.loads((ROOT / "site" / "report.json").read_text())
    report["heads"][0]["carries"]["label"] = "everything"
    del report["fourier"]
    found = problems(report)
    assert any("heads/0/carries/label" in p for p in found) and any("fourier" in p for p in found)


@pytest.mark.parametrize("field", ["schema_version", "heads", "findings", "positions"])
def test_every_top_level_key_is_required(field):
    report = json.loads((ROOT / "site" / "report.json").read_text())
    del report[field]
    assert problems(report)
