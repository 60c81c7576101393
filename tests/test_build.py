"""`modreport build`: pages, figures and report.json, an HTML site, byte-identical rebuilds,
and bad input that leaves the previous site untouched."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from reporter.interpret.findings import Finding
from reporter.publish.site import ENGINES
from reporter.resources import TEMPLATES
from tests.conftest import PAGES, REPORT_PAGES, invoke
from tests.handmade import said, write_handmade


@pytest.fixture(scope="module")
def unlearned_checkpoint(tmp_path_factory):
    """A hand-made checkpoint (p = 31, two layers of three heads, one a switch) whose model has not learned the task."""
    heads = [["ab_equals", "equals", "uniform"], ["a", "larger", "plus"]]
    return write_handmade(tmp_path_factory.mktemp("hm") / "ckpt", 31, heads)


def tree(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def test_build_writes_pages_figures_report_and_html(built):
    files = tree(built / "site")
    assert sorted(name for name in files if name.endswith(".md")) == PAGES
    assert "report.json" in files and "figures/heads.png" in files and "figures/training.png" in files
    assert "figures/head_L0H0.png" in files and "figures/head_L0H1.png" in files
    report = json.loads(files["report.json"])
    assert report["accuracy"]["all"] == 1.0


@pytest.mark.parametrize("engine", ENGINES)
def test_each_engine_builds_every_page_from_the_same_markdown(build_with, engine):
    root = build_with(engine)
    assert tree(root / "site") == tree(build_with("mkdocs") / "site")
    for page in PAGES:
        html = (root / "public" / page.replace(".md", ".html")).read_text()
        assert "</html>" in html and 'alt=""' not in html
    assert (root / "public" / "figures" / "heads.png").read_bytes() == (
        root / "site" / "figures" / "heads.png"
    ).read_bytes()


def test_pages_speak_from_the_data(built):
    index = (built / "site" / "index.md").read_text()
    report = json.loads((built / "site" / "report.json").read_text())
    for head in report["heads"]:
        assert f"| {head['label']} |" in index
    for finding in report["findings"]:
        assert said(Finding(**finding)) in index
    assert "has not learned the task" not in index
    assert "not applicable" in index  # a one-layer model has no later layers


def test_every_image_has_alt_text(built):
    for page in PAGES:
        text = (built / "site" / page).read_text()
        assert "![](" not in text
    html = (built / "public" / "heads.html").read_text()
    assert 'alt=""' not in html


@pytest.mark.parametrize("engine", ENGINES)
def test_rebuild_is_byte_identical(build_with, tiny_checkpoint, tmp_path, engine):
    built = build_with(engine)
    result = invoke(
        "build",
        "--checkpoint",
        tiny_checkpoint,
        "--out",
        tmp_path / "site",
        "--html",
        tmp_path / "public",
        "--engine",
        engine,
    )
    assert result.exit_code == 0, result.output
    assert tree(tmp_path / "site") == tree(built / "site")
    assert tree(tmp_path / "public") == tree(built / "public")


def test_last_line_says_where_the_site_is(built, tiny_checkpoint, tmp_path):
    result = invoke("build", "--checkpoint", tiny_checkpoint, "--out", tmp_path / "site", "--no-html")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines()[-1].startswith(f"Markdown pages written to {tmp_path / 'site'}")
    assert "[5/5] skipping mkdocs" in result.stderr


@pytest.mark.slow
def test_untrained_model_gets_a_warning_on_every_page(unlearned_checkpoint, tmp_path):
    result = invoke("build", "--checkpoint", unlearned_checkpoint, "--out", tmp_path / "site", "--no-html")
    assert result.exit_code == 0, result.output
    for page in REPORT_PAGES:
        assert '!!! danger "This model has not learned the task"' in (tmp_path / "site" / page).read_text()
    assert "carries no training history" in (tmp_path / "site" / "training.md").read_text()
    assert "WARNING: The model answers only" in result.stdout  # the terminal says it too, not only the pages


def previous_site(tmp_path: Path) -> tuple[Path, Path]:
    """A previous build's two folders, as modreport marks them, each with a file to recognise."""
    site, public = tmp_path / "site", tmp_path / "public"
    for folder, kind in ((site, "pages"), (public, "html")):
        folder.mkdir()
        (folder / "keep.txt").write_text("previous")
        (folder / ".modreport").write_text(f'{{"written_by": "modreport", "kind": "{kind}"}}\n')
    return site, public


def assert_untouched(site: Path, public: Path, tmp_path: Path) -> None:
    for folder in (site, public):
        assert sorted(p.name for p in folder.iterdir()) == [".modreport", "keep.txt"]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no staging left behind


def test_unknown_checkpoint_is_refused_and_site_untouched(tmp_path):
    site, public = previous_site(tmp_path)
    result = invoke("build", "--checkpoint", tmp_path / "nope", "--out", site, "--html", public)
    assert result.exit_code == 1
    assert "does not exist; pass --train" in result.output
    assert_untouched(site, public, tmp_path)


def test_missing_template_is_refused_and_site_untouched(unlearned_checkpoint, tmp_path):
    site, public = previous_site(tmp_path)
    templates = tmp_path / "templates_copy"
    shutil.copytree(TEMPLATES, templates)
    (templates / "layers.md.j2").unlink()
    result = invoke(
        "build", "--checkpoint", unlearned_checkpoint, "--out", site, "--html", public, "--templates", templates
    )
    assert result.exit_code == 1
    assert "template layers.md.j2 is missing" in result.output
    shutil.rmtree(templates)
    assert_untouched(site, public, tmp_path)


@pytest.mark.parametrize("engine", ENGINES)
def test_failing_site_build_is_refused_and_site_untouched(unlearned_checkpoint, tmp_path, engine):
    site, public = previous_site(tmp_path)
    templates = tmp_path / "templates_copy"
    shutil.copytree(TEMPLATES, templates)
    with (templates / "pairs.md.j2").open("a") as page:
        page.write("\nSee [a page that does not exist](nowhere.md).\n")
    result = invoke(
        "build",
        *("--checkpoint", unlearned_checkpoint, "--out", site, "--html", public, "--templates", templates),
        *("--engine", engine),
    )
    assert result.exit_code == 1
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith(f"Error: {engine} build failed:") and "nowhere.md" in error
    assert "Traceback" not in result.output
    shutil.rmtree(templates)
    assert_untouched(site, public, tmp_path)


@pytest.mark.parametrize("engine", ENGINES)
def test_an_engine_that_succeeds_without_the_pages_is_refused_and_site_untouched(
    unlearned_checkpoint, tmp_path, monkeypatch, engine
):
    # Zensical has been seen to exit 0 with an empty site after a template error: here a stand-in engine
    # does just that, found first on the engine process's path.
    stand_in = tmp_path / "engines" / engine
    stand_in.mkdir(parents=True)
    (stand_in / "__init__.py").write_text("")
    (stand_in / "__main__.py").write_text("raise SystemExit(0)\n")
    monkeypatch.setenv("PYTHONPATH", str(stand_in.parent))
    site, public = previous_site(tmp_path)
    result = invoke("build", "--checkpoint", unlearned_checkpoint, "--out", site, "--html", public, "--engine", engine)
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines()[-1] == (
        f"Error: {engine} reported success but its site lacks index.html and 10 more of the 11 pages; "
        "nothing was replaced."
    )
    assert_untouched(site, public, tmp_path)


def test_unwritable_out_is_refused(unlearned_checkpoint, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    result = invoke("build", "--checkpoint", unlearned_checkpoint, "--out", blocker / "site", "--no-html")
    assert result.exit_code == 1
    assert f"cannot write into {blocker}" in result.output


def test_serve_refuses_a_folder_without_a_report(tmp_path):
    result = invoke("serve", "--out", tmp_path)
    assert result.exit_code == 1
    assert "holds no report; run modreport build first" in result.output


def test_switching_head_page_names_the_rule_that_decides_it(unlearned_checkpoint, tmp_path):
    # L1H1 of the hand-made model attends to the larger of a and b.
    result = invoke("build", "--checkpoint", unlearned_checkpoint, "--out", tmp_path / "site", "--no-html")
    assert result.exit_code == 0, result.output
    section = (tmp_path / "site" / "heads.md").read_text().split("## L1H1")[1].split("## ")[0]
    assert "**Looks at:** `switches_ab`" in section
    assert "prefers `a` when **a > b**" in section


def test_html_inside_out_is_refused(unlearned_checkpoint, tmp_path):
    result = invoke(
        "build",
        "--checkpoint",
        unlearned_checkpoint,
        "--out",
        tmp_path / "site",
        "--html",
        tmp_path / "site" / "public",
    )
    assert result.exit_code == 2
    assert "--out and --html must be separate folders" in result.output
    assert not (tmp_path / "site").exists()


def test_a_training_record_the_weights_do_not_bear_out_is_flagged_on_the_training_page(
    built, tiny_checkpoint, tmp_path
):
    """A record claiming what the model does not do (here: 0% where it answers every input) is shown beside
    the accuracies measured on the same split, with a warning; a true record gets no warning."""
    import json
    import shutil

    assert "This record does not match the model" not in (built / "site" / "training.md").read_text()
    claimed = tmp_path / "ckpt"
    shutil.copytree(tiny_checkpoint, claimed)
    config = json.loads((claimed / "config.json").read_text())
    config["training"]["final"].update(train_accuracy=0.0, test_accuracy=0.0)
    (claimed / "config.json").write_text(json.dumps(config))
    result = invoke("build", "--checkpoint", claimed, "--out", tmp_path / "site", "--no-html")
    assert result.exit_code == 0, result.output
    page = (tmp_path / "site" / "training.md").read_text()
    assert "This record does not match the model" in page
    assert "says train accuracy 0.0% and held-out accuracy 0.0%" in page and "give 100.0% and 100.0%" in page
