"""The library API: what the `modreport` commands do, called from Python as a notebook calls it.

    from reporter import analyse, build_site
    analysis = analyse("checkpoints/default", thresholds={"focus": 0.6})
    build_site(analysis, out="site", html="public")

The command line is a thin layer on these functions: it parses and checks its options, calls them, and
echoes their progress. They print nothing: progress reaches a callback as (stage, run, seconds since the
call began). Writes go through `publish.outputs`, with its checks and atomic swaps. Heavy packages are
imported inside the functions, so that `import reporter` and `modreport --help` stay quick.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from reporter.resources import CHECKPOINTS, DEFAULT_CHECKPOINT, MKDOCS_CONFIG, TEMPLATES

if TYPE_CHECKING:
    from reporter.analysis import Analysis
    from reporter.cache import Cache
    from reporter.interpret.thresholds import Thresholds
    from reporter.model.checkpoint import Checkpoint
    from reporter.model.recipe import Recipe
    from reporter.model.train import TrainResult

Progress = Callable[[str, "str | None", float], None]  # stage, the run it concerns (or None), seconds elapsed
# What `analyse` and `build_site` report, in order: "analyse" or "compare" as a run's analysis starts, then
# each of its stages (analysis.STAGES, those not read from the cache) with the same run, then the site's.
STAGES = ("analyse", "compare", "figures", "pages", "html")


@dataclass(frozen=True)
class Site:
    """What `build_site` wrote: the Markdown folder, the HTML folder (None without HTML), and the runs it was
    asked to compare that do not exist (the Across runs page names them)."""

    pages: Path
    html: Path | None
    runs_missing: tuple[str, ...]


def clock(progress: Progress | None) -> Callable[[str, str | None], None]:
    """``progress`` with the seconds since now filled in (a no-op without a callback)."""
    start = time.perf_counter()

    def report(stage: str, run: str | None = None) -> None:
        if progress is not None:
            progress(stage, run, time.perf_counter() - start)

    return report


def open_cache(cache: Cache | str | Path | bool | None) -> Cache | None:
    """True: the default folder ($MODREPORT_CACHE or ~/.cache/modreport); a path: that folder; False or
    None: no cache. Raises CacheError for a folder modreport must not use."""
    from reporter.cache import Cache, default_folder

    if cache is None or cache is False:
        return None
    if cache is True:
        return Cache(default_folder())
    return cache if isinstance(cache, Cache) else Cache(Path(cache))


def threshold_table(thresholds: Thresholds | Mapping[str, float] | None) -> Thresholds:
    """The default table, a table given, or the defaults with some overrides, e.g. {"focus": 0.6}."""
    from reporter.interpret.thresholds import Thresholds

    if thresholds is None:
        return Thresholds()
    return thresholds if isinstance(thresholds, Thresholds) else Thresholds().with_overrides(dict(thresholds))


def load(checkpoint: str | Path = DEFAULT_CHECKPOINT, *, dtype=None) -> Checkpoint:
    """A checkpoint loaded and validated: its TransformerBridge (in eval mode; ``dtype`` e.g. torch.float64),
    task, config and training record. Raises CheckpointError."""
    from reporter.model.checkpoint import load_checkpoint

    return load_checkpoint(Path(checkpoint), dtype=dtype)


def analyse(
    checkpoint: str | Path = DEFAULT_CHECKPOINT,
    *,
    pairs: str | Sequence[tuple[int, int]] | None = None,
    thresholds: Thresholds | Mapping[str, float] | None = None,
    cache: Cache | str | Path | bool | None = True,
    command: str | None = None,
    sweep: bool = True,
    baseline: bool = True,
    device: str = "cpu",
    progress: Progress | None = None,
) -> Analysis:
    """The whole analysis of one checkpoint: every head's stats, labels, role and effects, the findings and
    the threshold sweep. ``pairs``: "5+8,90+90" or [(5, 8), ...] (default: the original write-up's);
    ``command``: the line the provenance page records; ``device``: cpu, cuda or auto (CUDA when torch sees
    one). Raises CheckpointError, PairError, CacheError or DeviceError."""
    from reporter.analysis import Options
    from reporter.analysis import analyse as analyse_checkpoint
    from reporter.interpret.stats import parse_pairs
    from reporter.model.device import resolve_device

    report = clock(progress)
    if isinstance(pairs, str):
        pairs = parse_pairs(pairs)
    chosen = tuple((int(a), int(b)) for a, b in pairs) if pairs is not None else None
    on = resolve_device(device)
    options = Options(pairs=chosen, thresholds=threshold_table(thresholds), sweep=sweep, baseline=baseline, device=on)
    options = options if command is None else replace(options, command=command)
    report("analyse", str(checkpoint))
    return analyse_checkpoint(
        Path(checkpoint), options, open_cache(cache), lambda stage: report(stage, str(checkpoint))
    )


def train(
    out: str | Path,
    recipe: Recipe | None = None,
    *,
    force: bool = False,
    inputs: Iterable[Path] = (),
    on_epoch: Callable[[dict], None] | None = None,
    device: str = "cpu",
) -> TrainResult:
    """Train ``recipe`` (default: the shipped one) on ``device`` (cpu, cuda or auto) and write the checkpoint
    into ``out``, a new or empty folder, or a checkpoint with ``force``; ``out`` is replaced only once training
    succeeded, and never when it is or holds one of ``inputs``. ``on_epoch`` receives each epoch's record."""
    from reporter.model.checkpoint import save_checkpoint
    from reporter.model.device import resolve_device
    from reporter.model.recipe import Recipe
    from reporter.model.train import train as train_model
    from reporter.publish.outputs import CHECKPOINT, check_folder, replacing

    on = resolve_device(device)  # refused before the folder is touched
    folder = check_folder(Path(out), CHECKPOINT, inputs, force=force)
    with replacing(folder, CHECKPOINT) as staging:
        result = train_model(recipe or Recipe(), on_epoch, device=on)
        save_checkpoint(result.model, result.config, staging)
    return result


def site_targets(
    out: Path, html: Path | None, reads: Iterable[Path], cache: Cache | None = None
) -> list[tuple[Path, str]]:
    """The folders a build replaces, each checked to be safe to replace (never one of ``reads``, nor a folder
    that holds the cache or lies inside it: a swap would delete it)."""
    from reporter.publish.outputs import HTML, PAGES, check_apart, check_folder

    reads = tuple(reads)
    if html is not None:
        check_apart(out, html)
    targets = [(check_folder(out, PAGES, reads), PAGES)]
    targets += [] if html is None else [(check_folder(html, HTML, (*reads, out)), HTML)]
    if cache is not None:
        cache.check_apart([out] if html is None else [out, html])
    return targets


def site_reads(analysis: Analysis, runs: Iterable[Path], templates: Path, reads: Iterable[Path]) -> tuple[Path, ...]:
    """Every path a build reads: no output may be or hold one of them."""
    source = () if analysis.checkpoint is None else (analysis.checkpoint,)
    return (*source, *reads, *runs, templates, MKDOCS_CONFIG)


def runs_beside(analysis: Analysis, runs: Sequence[str | Path] | None) -> tuple[Path, ...]:
    """The runs to compare: those named, else every shipped run when the analysis is of a shipped one."""
    if runs is not None:
        return tuple(Path(run) for run in runs)
    shipped = analysis.checkpoint is not None and analysis.checkpoint.resolve().parent == CHECKPOINTS.resolve()
    if not shipped:
        return ()
    from reporter.resources import shipped_runs

    return tuple(shipped_runs())


def compare_runs(analysis: Analysis, runs: tuple[Path, ...], cache, report) -> dict | None:
    """The comparison of the Across runs page: the analysis and every other run that exists (None when
    none does), heads matched within each layer."""
    from reporter.compare import analyse_runs, compare, comparison_json

    if analysis.checkpoint is None:  # an analysis made by hand: nothing to compare it with
        return None
    here = analysis.checkpoint.resolve()
    others = [run for run in runs if run.exists() and run.resolve() != here]
    if not others:
        return None
    compared = analyse_runs(
        [analysis.checkpoint, *others],
        analysis.thresholds,
        cache,
        lambda run: report("compare", str(run)),
        known={here: analysis},
        device=analysis.provenance.get("device", "cpu"),  # the runs beside it are measured where it was
        progress=lambda run, stage: report(stage, str(run)),
    )
    return comparison_json(compare(compared))


def build_site(
    analysis: Analysis,
    out: str | Path = "site",
    html: str | Path | None = "public",
    *,
    runs: Sequence[str | Path] | None = None,
    engine: str = "mkdocs",
    templates: str | Path = TEMPLATES,
    cache: Cache | str | Path | bool | None = True,
    reads: Iterable[Path] = (),
    progress: Progress | None = None,
) -> Site:
    """Publish an analysis: Markdown pages, figures and report.json into ``out``, then the HTML site into
    ``html`` (None: Markdown only) built by ``engine`` (mkdocs or zensical). Each folder is replaced in one
    atomic step only when everything succeeded, and only when it is new, empty or one modreport wrote.
    ``runs``: checkpoints for the Across runs page (default: the shipped runs, for a shipped checkpoint;
    a run that does not exist is named there); ``reads``: other paths no output may touch."""
    from reporter.publish.figures import draw, figure_plans
    from reporter.publish.outputs import replacing_all, write_files
    from reporter.publish.render import site_files
    from reporter.publish.site import build_html

    report = clock(progress)
    out, templates = Path(out), Path(templates)
    html = None if html is None else Path(html)
    chosen = runs_beside(analysis, runs)
    cache = open_cache(cache)
    targets = site_targets(out, html, site_reads(analysis, chosen, templates, reads), cache)
    comparison = compare_runs(analysis, chosen, cache, report)
    missing = tuple(str(run) for run in chosen if not run.exists())
    report("figures")
    plans = figure_plans(analysis, comparison)
    figures = cache.figures(plans, draw) if cache else [draw(plan) for plan in plans]
    report("pages")
    files = site_files(analysis, figures, templates, comparison, missing)
    with replacing_all(targets) as folders:
        write_files(files, folders[0])
        if html is not None:
            report("html")
            build_html(MKDOCS_CONFIG, folders[0], folders[1], engine)
        unchanged(analysis)  # the last moment before the swap
    return Site(pages=out, html=html, runs_missing=missing)


def unchanged(analysis: Analysis) -> None:
    """Refuse to publish a report whose checkpoint was replaced while it was built (`train --force` into it):
    the report describes the bytes that were measured, which are no longer there."""
    from reporter.model.checkpoint import CheckpointError, read_checkpoint

    if analysis.checkpoint is None:
        return
    if read_checkpoint(analysis.checkpoint).weights_sha256 != analysis.provenance["checkpoint_sha256"]:
        raise CheckpointError(
            f"{analysis.checkpoint} changed while its report was being built; nothing was replaced: build again."
        )
