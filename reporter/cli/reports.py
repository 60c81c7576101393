"""`modreport analyze`, `build`, `compare` and `serve`: the analysis, the site, the runs side by side."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import click

from reporter.cli import cli, invoked_as, one_sentence
from reporter.cli.options import (
    RECIPE,
    UserPath,
    analysis_options,
    cache_options,
    device_option,
    pages_option,
    site_options,
    threshold_options,
)
from reporter.cli.training import train_checkpoint
from reporter.resources import DEFAULT_CHECKPOINT, MKDOCS_CONFIG

# What `build` says at each stage the library reports (stage -> line); each run adds a bar (cli/progress.py).
BUILD_STAGES = {
    "analyse": "[2/5] measuring attention over all inputs, labelling heads, checking claims",
    "figures": "[3/5] drawing figures",
    "pages": "[4/5] filling templates",
    "html": "[5/5] building the HTML site",
}


@cli.command(short_help="Measure and label every head; write report.json.")
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
    from reporter.api import analyse
    from reporter.cli.progress import StageProgress
    from reporter.publish.outputs import check_report_path, write_report_file
    from reporter.publish.report import dumps, report_json, summary_lines

    to_stdout = json_path == "-"
    progress = StageProgress({})
    with one_sentence():
        if not to_stdout:
            check_report_path(Path(json_path), inputs)  # refuse a bad path before the work
        analysis = analyse(checkpoint, **options, cache=cache, progress=progress)
        progress.finish("Analysed")
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
    type=UserPath(),
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
    from reporter.api import analyse, build_site, site_targets
    from reporter.cli.progress import StageProgress
    from reporter.publish.outputs import holding
    from reporter.publish.render import terminal
    from reporter.publish.report import summary_lines

    site = None if no_html else html
    progress = StageProgress(BUILD_STAGES)
    with one_sentence(), ExitStack() as stack:
        site_targets(out, site, (*inputs, *runs, templates, MKDOCS_CONFIG), cache)  # refused before the work
        stack.enter_context(holding([out] if site is None else [out, site]))  # before the work, too
        ready_checkpoint(checkpoint, train_first, force, (templates, out, html), options["device"])
        analysis = analyse(checkpoint, **options, cache=cache, progress=progress)
        if train_first:
            train_missing(runs, (templates, out, html), options["device"])
        build_site(
            analysis,
            out,
            site,
            runs=runs or None,
            engine=engine,
            templates=templates,
            cache=cache,
            reads=inputs,
            progress=progress,
        )
    if no_html:
        click.echo("[5/5] skipping mkdocs (--no-html)", err=True)
    progress.finish("Built")
    click.echo(summary_lines(analysis)[0])
    if analysis.warning:
        click.echo(f"WARNING: {terminal('warning_of_report', analysis.warning)}")
    if no_html:
        click.echo(f"Markdown pages written to {out}. Preview them with: {invoked_as()} serve --out {out}")
    else:
        click.echo(f"Site built in {html}. Open it from disk, or run: {invoked_as()} serve --out {out}")
        click.echo((html.resolve() / "index.html").as_uri())


def ready_checkpoint(checkpoint: Path, train_first: bool, force: bool, outputs: tuple, device: str) -> None:
    """Train the checkpoint when asked; refuse a missing one (nothing is trained without --train)."""
    if train_first:
        if checkpoint == DEFAULT_CHECKPOINT:
            raise click.UsageError("--train needs --checkpoint DIR: the shipped checkpoint is part of modreport.")
        from reporter.publish.outputs import CHECKPOINT, check_folder

        check_folder(checkpoint, CHECKPOINT, outputs, force=force)  # refused before the line below
        click.echo(f"[1/5] training a model into {checkpoint} (default recipe)", err=True)
        train_checkpoint(RECIPE, checkpoint, force=force, inputs=outputs, device=device)
    elif not checkpoint.exists():
        hint = (
            "reinstall modreport, or pass --checkpoint DIR"
            if checkpoint == DEFAULT_CHECKPOINT
            else ("pass --train to train one there")
        )
        raise click.ClickException(f"checkpoint directory {checkpoint} does not exist; {hint}.")
    else:
        click.echo(f"[1/5] loading {checkpoint}", err=True)


def train_missing(runs: tuple[Path, ...], outputs: tuple, device: str) -> None:
    """With --train, each run named but missing is trained with the default recipe, its position among
    --runs as the seed."""
    from dataclasses import replace

    from reporter.publish.outputs import CHECKPOINT, check_folder

    for seed, run in enumerate(runs):
        if not run.exists():
            check_folder(run, CHECKPOINT, outputs)  # refused before the progress bar
            train_checkpoint(replace(RECIPE, seed=seed), run, inputs=outputs, device=device)


@cli.command(short_help="Compare runs: heads matched by what they do, findings counted.")
@click.argument("checkpoints", nargs=-1, type=UserPath())
@threshold_options
@cache_options
@click.option("--json", "json_path", default=None, help="Also write the comparison as JSON (- for stdout).")
@device_option
def compare(checkpoints: tuple[Path, ...], thresholds, thresholds_file, settings, cache, json_path, device) -> None:
    """Compare runs: heads matched within each layer by what they do, and in how many runs each finding holds."""
    from reporter.cli.progress import StageProgress
    from reporter.compare import analyse_runs, compare, compare_lines, comparison_json
    from reporter.publish.outputs import write_report_file
    from reporter.publish.report import dumps

    if len(checkpoints) < 2:
        raise click.UsageError("compare needs at least two checkpoints.")
    with one_sentence():
        progress = StageProgress({})
        runs = analyse_runs(
            checkpoints,
            thresholds,
            cache,
            lambda run: progress("compare", str(run), 0.0),
            device=device,
            progress=lambda run, stage: progress(stage, str(run), 0.0),
        )
        progress.finish("Analysed")
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
    from reporter.publish.site import check_address
    from reporter.publish.site import serve as serve_site

    if not (out / "index.md").is_file():
        raise click.ClickException(f"{out} holds no report; run {invoked_as()} build first.")
    with one_sentence():
        check_address(address)
    raise SystemExit(serve_site(MKDOCS_CONFIG, out, address))
