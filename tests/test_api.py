"""The library API: `from reporter import load, analyse, build_site` does what `modreport build` does, with
the same safety, reporting progress to a callback and printing nothing; the README's example runs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from reporter import analyse, build_site, load
from reporter.publish.outputs import OutputError
from tests.conftest import invoke

ROOT = Path(__file__).resolve().parent.parent
HEADS = [["a:copy", "larger:copy"], ["plus", "b:copy"]]


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def checkpoint(handmade_checkpoint):
    return handmade_checkpoint(13, HEADS)


@pytest.mark.slow
def test_the_readme_example_runs_on_a_handmade_checkpoint(checkpoint, tmp_path, monkeypatch, capsys):
    readme = (ROOT / "README.md").read_text()
    (block,) = re.findall(r"## From Python\n.*?```python\n(.*?)```", readme, re.S)
    assert '"checkpoints/default"' in block
    monkeypatch.chdir(tmp_path)
    exec(block.replace('"checkpoints/default"', repr(str(checkpoint))), {})
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "2 layers, a + b mod 13"
    assert [line.split()[0] for line in printed[1:5]] == ["L0H0", "L0H1", "L1H0", "L1H1"]
    assert [line.strip() for line in printed[5:]] == ["figures", "pages", "html"]
    assert (tmp_path / "my-site" / "index.md").is_file() and (tmp_path / "my-public" / "index.html").is_file()


def test_build_site_writes_what_modreport_build_writes(checkpoint, tmp_path):
    result = invoke("build", "--checkpoint", checkpoint, "--out", tmp_path / "cli", "--no-html")
    assert result.exit_code == 0, result.output
    analysis = analyse(checkpoint, command=f"modreport build --checkpoint {str(checkpoint)!r}")
    site = build_site(analysis, out=tmp_path / "api", html=None)
    assert site.pages == tmp_path / "api" and site.html is None
    assert tree(tmp_path / "api") == tree(tmp_path / "cli")


@pytest.mark.slow
def test_progress_reaches_the_callback_in_pipeline_order_and_nothing_is_printed(checkpoint, tmp_path, capfd):
    seen = []

    def progress(stage, run, seconds):
        seen.append((stage, run, seconds))

    analysis = analyse(checkpoint, pairs="1+2,3+4", cache=False, progress=progress)
    build_site(analysis, out=tmp_path / "site", html=None, cache=False, progress=progress)
    stages = ("capture", "causal", "fourier", "content", "circuit", "baseline", "interpret")
    assert [(stage, run) for stage, run, _ in seen] == [
        ("analyse", str(checkpoint)),
        *((stage, str(checkpoint)) for stage in stages),
        ("figures", None),
        ("pages", None),
    ]
    assert all(seconds >= 0 for *_, seconds in seen)
    assert analysis.provenance["pairs"] == ["1+2", "3+4"]
    assert capfd.readouterr() == ("", "")


def test_build_site_compares_the_runs_named_and_names_those_missing(checkpoint, handmade_checkpoint, tmp_path):
    other = handmade_checkpoint(13, [["b:copy", "a:copy"], ["plus", "larger:copy"]])
    seen = []
    site = build_site(
        analyse(checkpoint),
        out=tmp_path / "site",
        html=None,
        runs=[other, tmp_path / "nowhere"],
        progress=lambda stage, run, seconds: seen.append((stage, run)),
    )
    assert ("compare", str(other)) in seen
    assert site.runs_missing == (str(tmp_path / "nowhere"),)
    assert (tmp_path / "site" / "comparison.json").is_file()
    assert "nowhere" in (tmp_path / "site" / "across.md").read_text()


def test_build_site_refuses_a_folder_it_did_not_write_and_leaves_it_as_it_was(checkpoint, tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    with pytest.raises(OutputError, match="files modreport did not write"):
        build_site(analyse(checkpoint), out=mine, html=None)
    assert tree(mine) == {"notes.txt": b"mine"}
    with pytest.raises(OutputError, match="an input of this command"):
        build_site(analyse(checkpoint), out=checkpoint.parent, html=None)


def test_a_cache_folder_named_by_path_is_used(checkpoint, tmp_path):
    analyse(checkpoint, cache=tmp_path / "cache")
    assert any(p.is_dir() and len(p.name) == 32 for p in (tmp_path / "cache").iterdir())


def test_load_gives_the_validated_model_and_its_task(checkpoint):
    loaded = load(checkpoint)
    assert loaded.task.modulus == 13 and loaded.model.cfg.n_layers == 2
    assert loaded.config["task"]["modulus"] == 13


def test_import_reporter_loads_no_heavy_package():
    code = (
        "import sys, reporter; from reporter import analyse, build_site, load, train; "
        "print(sorted(m for m in ('torch', 'transformer_lens', 'matplotlib', 'numpy') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert result.stdout.strip() == "[]"
