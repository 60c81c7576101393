"""What a learner reads: no internal names or half phrases on the pages, counts that say what they count, the work
this report reproduces cited, every page of an under-trained model's report warned, and a terminal that says what
it means."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import REPORT_PAGES, TINY_TRAIN, invoke

WARNED = '!!! danger "This model has not learned the task"'
PAPER = "https://arxiv.org/abs/2301.05217"  # Nanda et al. 2023, the known solution of this task


@pytest.fixture(scope="module")
def undertrained(tmp_path_factory) -> Path:
    """The tests' tiny recipe stopped after 5 of its 300 epochs: a model that has not learned the task."""
    folder = tmp_path_factory.mktemp("undertrained") / "undertrained"
    recipe = list(TINY_TRAIN)
    recipe[recipe.index("--epochs") + 1] = "5"
    result = invoke("train", "--out", folder, *recipe)
    assert result.exit_code == 0, result.output
    return folder


@pytest.fixture(scope="module")
def undertrained_build(undertrained, tmp_path_factory):
    """(the Markdown folder, what `build` printed) for the under-trained model's report."""
    out = tmp_path_factory.mktemp("undertrained-site") / "site"
    result = invoke("build", "--checkpoint", undertrained, "--out", out, "--no-html")
    assert result.exit_code == 0, result.output
    return out, result.stdout


def test_every_page_of_an_under_trained_models_report_warns(undertrained_build):
    out, _ = undertrained_build
    assert sorted(p.name for p in out.glob("*.md")) == sorted([*REPORT_PAGES, "404.md"])
    for page in REPORT_PAGES:
        assert WARNED in (out / page).read_text(), page
    assert WARNED not in (out / "404.md").read_text()  # the page for a missing address is not the report


def test_the_terminal_warning_speaks_of_the_report_not_of_what_follows(undertrained_build):
    _, printed = undertrained_build
    warning = next(line for line in printed.splitlines() if line.startswith("WARNING: "))
    assert "the report describes a model that" in warning and "what follows" not in printed
    assert printed.splitlines().index(warning) < len(printed.splitlines()) - 1  # the report's place follows it


def test_the_overview_says_which_runs_its_across_runs_count_leaves_out_and_why(tiny_checkpoint, undertrained, tmp_path):
    result = invoke("build", "--checkpoint", tiny_checkpoint, "--runs", undertrained, "--out", tmp_path, "--no-html")
    assert result.exit_code == 0, result.output
    comparison = json.loads((tmp_path / "comparison.json").read_text())
    assert [run["counted"] for run in comparison["runs"]] == [True, False]
    index = (tmp_path / "index.md").read_text()
    assert "| 1 of 1 |" in index or "| 0 of 1 |" in index  # the column counts the one run that counts: this one
    said = " ".join(index.split())
    assert (
        "**Across runs** is in how many of the 1 counted runs the claim holds: 2 runs were compared, this one "
        f"(`{tiny_checkpoint.name}`) among them, and `undertrained` is left out of the counts: its model has not "
        "fully learned the task." in said
    )
    across = (tmp_path / "across.md").read_text()
    assert "its findings here describe a model" in across and "what follows" not in across


def test_the_sensitivity_table_words_a_claim_and_its_verdict(tiny_checkpoint):
    """A claim whose verdict moves with a threshold is named by its words and its verdict by holds / does not hold,
    never by its id and Python's True and False."""
    from reporter.analysis import Options, analyse
    from reporter.publish.render import environment, page_context
    from reporter.publish.report import report_json
    from reporter.resources import TEMPLATES

    analysis = analyse(tiny_checkpoint, Options())
    report = report_json(analysis)
    row = report["sensitivity"][0]
    row["moves"][0] = {**row["moves"][0], "findings_changed": [{"id": "heads_specialise", "from": False, "to": True}]}
    context = page_context(analysis, report, [])
    page = environment(TEMPLATES).get_template("methodology.md.j2").render(**context)
    sweep = page[page.index("## How the labels move with the thresholds") :]
    line = next(line for line in sweep.splitlines() if line.startswith(f"| `{row['threshold']}` |"))
    assert "*heads divide the work: several distinct niches*: does not hold → holds" in line
    assert "heads_specialise" not in line and "True" not in line and "False" not in line


def test_a_head_with_no_rule_whose_pattern_needs_no_deciding_lists_no_rule_rows(handmade_checkpoint, tmp_path):
    """On the Heads page the rows that put a rule's pattern in a head's place are left out for a head that has no
    rule and whose mean pattern stands in for it (a sink's); every row that is there says what replaces the pattern."""
    checkpoint = handmade_checkpoint(31, [["ab_equals", "equals", "uniform"], ["a", "larger", "plus"]])
    result = invoke("build", "--checkpoint", checkpoint, "--out", tmp_path, "--no-html")
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "report.json").read_text())
    heads = (tmp_path / "heads.md").read_text()
    sections = dict(re.findall(r"^## (L\dH\d)\n(.*?)(?=^## |\Z)", heads, flags=re.M | re.S))
    needs_none = {
        h["name"] for h in report["heads"] if not h["rule"] and h["causal"]["pattern"]["sufficiency"] == "not_needed"
    }
    assert needs_none and needs_none != set(sections)  # both kinds of head are on the page
    for name, section in sections.items():
        listed = "its pattern replaced by the pattern of its" in section
        assert listed == (name not in needs_none), name
    assert "rule's |" not in heads  # no possessive left without its noun


def test_the_overview_and_the_methodology_cite_the_work_they_reproduce(built):
    for page in ("index.md", "methodology.md"):
        text = (built / "site" / page).read_text()
        assert text.count(PAPER) >= 1 and "Nanda et al. (2023)" in text, page
        assert "original write-up" in text and "nothing to link" in text, page
