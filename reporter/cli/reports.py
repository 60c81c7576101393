"""`modreport analyze`, `build`, `compare` and `serve`: the analysis, the site, the runs side by side."""

from __future__ import annotations

from pathlib import Path

import click

from reporter.cli import cli, one_sentence
from reporter.cli.options import RECIPE, analysis_options, cache_options, pages_option, site_options, threshold_options
from reporter.cli.training import train_checkpoint
from reporter.resources import DEFAULT_CHECKPOINT, MKDOCS_CONFIG


@cli.command()
@analysis_options
@click.option(
    "--json",
    "json_path",
    default="report.json",
    show_default=True,
    help="Where to write report.json (a new file, or one modreport wrote); - for stdout.",
)
def analyze(checkpoint: Path, options, inputs, cache, json_path: str) -> None:
    """Measure attention from = over all p² inputs, label every head, check the original write-up's claims."""
    from reporter.analysis import analyse
    from reporter.publish.outputs import check_report_path, write_report_file
    from reporter.publish.report import dumps, report_json, summary_lines

    to_stdout = json_path == "-"
    with one_sentence():
        if not to_stdout:
            check_report_path(Path(json_path), inputs)  # refuse a bad path before the work
        analysis = analyse(checkpoint, options, cache)
        text = dumps(report_json(analysis))
        if not to_stdout:
            write_report_file(Path(json_path), text.encode(), inputs)
    for line in summary_lines(analysis):
        click.echo(line, err=to_stdout)
    click.echo(text if to_stdout else f"report.json written to {json_path}", nl=not to_stdout)


@cli.command()
@analysis_options
@click.option(
    "--train",
    "train_first",
    is_flag=True,
    help="Train the checkpoint (and missing --runs) first, with the default recipe.",
)
@click.option("--force", is_flag=True, help="With --train: replace a checkpoint already in --checkpoint.")
@click.option(
    "--runs",
    multiple=True,
    type=click.Path(path_type=Path),
    help="A run to compare on the Across runs page (repeatable; default: the shipped runs, when the "
    "checkpoint is the shipped one).",
)
@site_options
def build(
    checkpoint: Path,
    options,
    inputs,
    cache,
    train_first: bool,
    force: bool,
    runs: tuple[Path, ...],
    out: Path,
    html: Path,
    no_html: bool,
    engine: str,
    templates: Path,
) -> None:
    """Analyse a checkpoint and publish the report as a website."""
    from reporter.analysis import analyse
    from reporter.publish.figures import draw_all
    from reporter.publish.figures.runs import niches_figure
    from reporter.publish.outputs import HTML, PAGES, check_apart, check_folder, replacing_all, write_files
    from reporter.publish.render import site_files, terminal
    from reporter.publish.report import summary_lines
    from reporter.publish.site import build_html

    with one_sentence():
        if not no_html:
            check_apart(out, html)
        reads = (*inputs, *runs, templates, MKDOCS_CONFIG)
        targets = [(check_folder(out, PAGES, reads), PAGES)]
        targets += [] if no_html else [(check_folder(html, HTML, (*reads, out)), HTML)]
        ready_checkpoint(checkpoint, train_first, force, (templates, out, html))
        click.echo("[2/5] measuring attention over all inputs, labelling heads, checking claims", err=True)
        analysis = analyse(checkpoint, options, cache)
        comparison, missing = across_runs(
            checkpoint, analysis, runs, options, cache, train_first, (templates, out, html)
        )
        click.echo("[3/5] drawing figures", err=True)
        figures = cache.figures(checkpoint, options, lambda: draw_all(analysis)) if cache else draw_all(analysis)
        figures = [*figures, niches_figure(comparison)] if comparison else figures
        click.echo("[4/5] filling templates", err=True)
        files = site_files(analysis, figures, templates, comparison, tuple(missing))
        with replacing_all(targets) as folders:
            write_files(files, folders[0])
            click.echo("[5/5] skipping mkdocs (--no-html)" if no_html else "[5/5] building the HTML site", err=True)
            if not no_html:
                build_html(MKDOCS_CONFIG, folders[0], folders[1], engine)
    click.echo(summary_lines(analysis)[0])
    if analysis.warning:
        click.echo(f"WARNING: {terminal('warning_text', analysis.warning)}")
    if no_html:
        click.echo(f"Markdown pages written to {out}. Preview them with: modreport serve --out {out}")
    else:
        click.echo(f"Site built in {html}. Open it from disk, or run: modreport serve --out {out}")
        click.echo((html.resolve() / "index.html").as_uri())


def ready_checkpoint(checkpoint: Path, train_first: bool, force: bool, outputs: tuple) -> None:
    """Train the checkpoint when asked; refuse a missing one (nothing is trained without --train)."""
    from reporter.publish.outputs import CHECKPOINT, check_folder

    if train_first:
        if checkpoint == DEFAULT_CHECKPOINT:
            raise click.UsageError("--train needs --checkpoint DIR: the shipped checkpoint is part of modreport.")
        folder = check_folder(checkpoint, CHECKPOINT, outputs, force=force)
        click.echo(f"[1/5] training a model into {checkpoint} (default recipe)", err=True)
        train_checkpoint(RECIPE, folder)
    elif not checkpoint.exists():
        hint = (
            "reinstall modreport, or pass --checkpoint DIR"
            if checkpoint == DEFAULT_CHECKPOINT
            else ("pass --train to train one there")
        )
        raise click.ClickException(f"checkpoint directory {checkpoint} does not exist; {hint}.")
    else:
        click.echo(f"[1/5] loading {checkpoint}", err=True)


def across_runs(
    checkpoint: Path, analysis, runs: tuple[Path, ...], options, cache, train_first: bool, outputs: tuple
) -> tuple[dict | None, list[str]]:
    """The comparison for the Across runs page (None for one run), and the runs named but missing. A missing
    run is trained (default recipe, its position among --runs as the seed) only with --train."""
    from dataclasses import replace

    from reporter.compare import analyse_runs, compare, comparison_json
    from reporter.publish.outputs import CHECKPOINT, check_folder
    from reporter.resources import CHECKPOINTS, shipped_runs

    if not runs and checkpoint.resolve().parent == CHECKPOINTS.resolve():
        runs = tuple(shipped_runs())
    found, missing = [], []
    for seed, run in enumerate(runs):
        if run.exists():
            found.append(run)
        elif train_first:
            train_checkpoint(replace(RECIPE, seed=seed), check_folder(run, CHECKPOINT, outputs))
            found.append(run)
        else:
            missing.append(str(run))
    if not [run for run in found if run.resolve() != checkpoint.resolve()]:
        return None, missing
    found = [checkpoint, *(run for run in found if run.resolve() != checkpoint.resolve())]
    compared = analyse_runs(
        found,
        options.thresholds,
        cache,
        lambda run: click.echo(f"      comparing {run}", err=True),
        known={checkpoint.resolve(): analysis},
    )
    return comparison_json(compare(compared)), missing


@cli.command()
@click.argument("checkpoints", nargs=-1, type=click.Path(path_type=Path))
@threshold_options
@cache_options
@click.option("--json", "json_path", default=None, help="Also write the comparison as JSON (- for stdout).")
def compare(checkpoints: tuple[Path, ...], thresholds, thresholds_file, settings, cache, json_path) -> None:
    """Compare runs: heads matched within each layer by what they do, and in how many runs each finding holds."""
    from reporter.compare import analyse_runs, compare, compare_lines, comparison_json
    from reporter.publish.outputs import write_report_file
    from reporter.publish.report import dumps

    if len(checkpoints) < 2:
        raise click.UsageError("compare needs at least two checkpoints.")
    with one_sentence():
        runs = analyse_runs(checkpoints, thresholds, cache, lambda run: click.echo(f"analysing {run}", err=True))
        comparison = compare(runs)
        text = dumps(comparison_json(comparison))
        if json_path and json_path != "-":
            write_report_file(Path(json_path), text.encode(), (*checkpoints, thresholds_file or checkpoints[0]))
    for line in compare_lines(comparison):
        click.echo(line, err=json_path == "-")
    if json_path == "-":
        click.echo(text, nl=False)


@cli.command()
@pages_option("Folder of the Markdown pages.")
@click.option("--address", default="127.0.0.1:8000", show_default=True, help="Address to serve on.")
def serve(out: Path, address: str) -> None:
    """Preview the site with live reload (mkdocs serve)."""
    from reporter.publish.site import serve as serve_site

    if not (out / "index.md").is_file():
        raise click.ClickException(f"{out} holds no report; run modreport build first.")
    raise SystemExit(serve_site(MKDOCS_CONFIG, out, address))
