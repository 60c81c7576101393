"""The analysis cache: a repeated analysis with the same checkpoint runs no model; a change of checkpoint,
of the one threshold measuring reads, or of a version measures again; any other threshold or the pairs
re-interpret from the cached measurements; a figure is drawn again only when what it draws changed;
nothing in the cache is ever unpickled or trusted."""

from __future__ import annotations

import json

import pytest

from reporter.analysis import Options, analyse
from reporter.cache import Cache, CacheError
from reporter.interpret.thresholds import Thresholds
from reporter.publish.report import dumps, report_json
from tests.conftest import invoke


def test_a_repeated_analysis_runs_no_model_and_gives_the_same_report(checkpoint, tmp_path, counted):
    cache = Cache(tmp_path / "cache")
    first = dumps(report_json(analyse(checkpoint, Options(), cache)))
    second = dumps(report_json(analyse(checkpoint, Options(), cache)))
    uncached = dumps(report_json(analyse(checkpoint, Options(), None)))
    assert len(counted) == 2  # the first analysis and the uncached one
    assert first == second == uncached


@pytest.mark.parametrize("change", ["weights", "config", "key_frequency", "version"])
def test_any_change_of_checkpoint_measured_option_or_version_measures_again(
    checkpoint, tmp_path, counted, monkeypatch, change
):
    cache = Cache(tmp_path / "cache")
    analyse(checkpoint, Options(), cache)
    options = Options()
    if change == "weights":
        data = bytearray((checkpoint / "model.safetensors").read_bytes())
        data[-4:] = b"\x00\x00\x80\x3f"  # the last weight becomes 1.0
        (checkpoint / "model.safetensors").write_bytes(bytes(data))
    elif change == "config":
        config = json.loads((checkpoint / "config.json").read_text())
        config["training"] = {"seed": 7}
        (checkpoint / "config.json").write_text(json.dumps(config))
    elif change == "key_frequency":
        options = Options(thresholds=Thresholds().with_overrides({"key_frequency": 0.5}))
    else:
        monkeypatch.setattr("reporter.cache.version", lambda name: "99" if name == "modreport" else "1")
    analyse(checkpoint, options, cache)
    assert len(counted) == 2


@pytest.mark.parametrize(
    "options",
    [Options(thresholds=Thresholds().with_overrides({"focus": 0.6})), Options(pairs=((1, 2),))],
    ids=["focus", "pairs"],
)
def test_a_threshold_or_pairs_change_reinterprets_the_cached_measurements(checkpoint, tmp_path, counted, options):
    cache = Cache(tmp_path / "cache")
    analyse(checkpoint, Options(), cache)
    cached = dumps(report_json(analyse(checkpoint, options, cache)))
    assert len(counted) == 1  # measured once, for the first analysis
    assert cached == dumps(report_json(analyse(checkpoint, options, None)))
    assert cached != dumps(report_json(analyse(checkpoint, Options(), None)))


def test_a_damaged_entry_is_measured_again_not_trusted(checkpoint, tmp_path, counted):
    cache = Cache(tmp_path / "cache")
    analyse(checkpoint, Options(), cache)
    entries = [p for p in (tmp_path / "cache").iterdir() if p.is_dir() and not p.name.startswith(".")]
    assert len(entries) == 2  # the measurements, and the untrained baseline beside them
    for entry in entries:
        (entry / "values.json").write_text("{not json")
    analyse(checkpoint, Options(), cache)
    assert len(counted) == 2


def test_a_folder_of_someone_elses_files_is_not_used_as_a_cache(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    with pytest.raises(CacheError, match="holds files modreport did not write"):
        Cache(mine)
    result = invoke("analyze", "--checkpoint", "nowhere", "--cache", mine, "--json", "-")
    assert result.exit_code == 2 and "choose another --cache folder" in result.output


def test_no_cache_writes_nothing(checkpoint, tmp_path, monkeypatch):
    monkeypatch.setenv("MODREPORT_CACHE", str(tmp_path / "cache"))
    result = invoke("analyze", "--checkpoint", checkpoint, "--no-cache", "--json", tmp_path / "r.json")
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "cache").exists()


@pytest.mark.slow
def test_a_figure_is_drawn_again_only_when_what_it_draws_changed(checkpoint, tmp_path):
    from reporter.publish.figures import draw, draw_all, figure_plans

    cache, drawn = Cache(tmp_path / "cache"), []

    def counting(plan):
        figure = draw(plan)
        drawn.append(figure.name)
        return figure

    analysis = analyse(checkpoint, Options(), cache)
    first = cache.figures(figure_plans(analysis), counting)
    assert len(drawn) == len(first)
    assert cache.figures(figure_plans(analysis), counting) == first == draw_all(analysis)
    assert len(drawn) == len(first)  # the second time, every figure came from the cache
    moved = analyse(checkpoint, Options(thresholds=Thresholds().with_overrides({"focus": 0.6})), cache)
    again = cache.figures(figure_plans(moved), counting)
    assert again == draw_all(moved)
    redrawn = drawn[len(first) :]
    assert "heads.png" in redrawn  # it prints the thresholds
    assert "mean_attention.png" not in redrawn and "pairs.png" not in redrawn
    # A head's own figure and the Fourier figure show no label score that focus moves: drawn again, they
    # would be the same bytes, so they are not drawn again.
    before, after = {f.name: f.png for f in first}, {f.name: f.png for f in again}
    needless = [name for name in redrawn if name != "heads.png" and after[name] == before[name]]
    assert not needless


@pytest.mark.slow
def test_a_run_only_compared_reuses_a_full_analysis_and_compares_as_if_measured_alone(
    checkpoint, handmade_checkpoint, tmp_path, counted
):
    from reporter.compare import analyse_runs, compare, comparison_json

    other = handmade_checkpoint(13, [["b:copy", "a:copy"], ["plus", "larger:copy"]])
    cache = Cache(tmp_path / "cache")
    for run in (checkpoint, other):  # what each job of the sweep workflow leaves in its cache: `modreport analyze`
        analyse(run, Options(), cache)
    measured = len(counted)
    reused = comparison_json(compare(analyse_runs([checkpoint, other], Thresholds(), cache)))
    assert len(counted) == measured  # the sweep's build measures no run again
    fresh = comparison_json(compare(analyse_runs([checkpoint, other], Thresholds(), None)))
    assert dumps(reused) == dumps(fresh)
