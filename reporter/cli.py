"""The `modreport` command line: parse, validate, call the stages, report progress.

Only this module prints or touches paths the user named. Heavy packages (torch,
transformer_lens, matplotlib) are imported inside the commands so that
`modreport --help` answers at once.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from reporter import __version__
from reporter.options import RECIPE, analysis_options, recipe_options
from reporter.recipe import Recipe
from reporter.resources import DEFAULT_CHECKPOINT, MKDOCS_CONFIG, TEMPLATES


def fail(error: Exception) -> click.ClickException:
    """A domain error (one sentence) as the CLI's error: exit code 1, no traceback."""
    return click.ClickException(str(error))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="modreport")
def cli() -> None:
    """Train or load a transformer on a + b mod p, find what each attention head
    does, and publish it as a website."""


@cli.command()
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Checkpoint directory to write.")
@recipe_options
@click.option("--force", is_flag=True, help="Overwrite a non-empty --out.")
def train(out: Path, recipe: Recipe, force: bool) -> None:
    """Train a model on a + b mod p and write a checkpoint directory."""
    out = out.resolve()
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not force:
        raise click.ClickException(f"{out} already exists and is not empty; pass --force to overwrite it.")
    result = train_checkpoint(recipe, out)
    final = result.config["training"]["final"]
    click.echo(
        f"Trained {len(result.history)} epochs: train accuracy {final['train_accuracy']:.2%}, "
        f"held-out accuracy {final['test_accuracy']:.2%}. Checkpoint written to {out}"
    )


def train_checkpoint(recipe: Recipe, directory: Path):
    """Train under a progress bar on stderr and write the checkpoint into ``directory``, replacing it
    only once training succeeded."""
    from reporter.checkpoint import save_checkpoint
    from reporter.outputs import OutputError, replacing
    from reporter.train import train as train_model

    try:
        with replacing(directory) as staging:
            with click.progressbar(
                length=recipe.epochs, label="Training", file=sys.stderr, item_show_func=lambda text: text
            ) as bar:

                def on_epoch(record: dict) -> None:
                    bar.update(
                        1,
                        f"epoch {record['epoch']}  loss {record['train_loss']:.3f}  "
                        f"train {record['train_accuracy']:.1%}  test {record['test_accuracy']:.1%}",
                    )

                result = train_model(recipe, on_epoch)
                bar.update(recipe.epochs - len(result.history))
            if not sys.stderr.isatty():
                click.echo(f" {len(result.history)} epochs", err=True)
            save_checkpoint(result.model, result.config, staging)
    except OutputError as error:
        raise fail(error) from None
    return result


@cli.command()
@click.option(
    "--checkpoint",
    type=click.Path(path_type=Path),
    default=DEFAULT_CHECKPOINT,
    show_default="the shipped model",
    help="Checkpoint directory to validate.",
)
def check(checkpoint: Path) -> None:
    """Validate a checkpoint and print its shape, task and accuracy on all p² inputs."""
    import torch

    from reporter.checkpoint import load_checkpoint
    from reporter.model import CheckpointError
    from reporter.task import all_inputs, answers
    from reporter.train import evaluate

    try:
        loaded = load_checkpoint(checkpoint, dtype=torch.float64)
    except CheckpointError as error:
        raise fail(error) from None
    cfg, task = loaded.config["model"], loaded.task
    tokens = all_inputs(task)
    loss, accuracy = evaluate(loaded.model, tokens, answers(task, tokens))
    click.echo(
        f"{checkpoint}: {cfg['n_layers']} layers x {cfg['n_heads']} heads, d_model {cfg['d_model']}, "
        f"a + b mod {task.modulus}"
    )
    click.echo(f"accuracy on all {task.n_inputs} inputs: {accuracy:.2%} (loss {loss:.4f})")
    click.echo(f"model.safetensors sha256 {loaded.sha256}")


def run_analysis(checkpoint: Path, options):
    from reporter.analysis import analyse
    from reporter.model import CheckpointError
    from reporter.stats import PairError

    try:
        return analyse(checkpoint, options)
    except CheckpointError as error:
        raise fail(error) from None
    except PairError as error:
        raise click.BadParameter(str(error), param_hint="--pairs") from None


@cli.command()
@analysis_options
@click.option(
    "--json", "json_path", default="report.json", show_default=True, help="Where to write report.json; - for stdout."
)
def analyze(checkpoint: Path, options, json_path: str) -> None:
    """Measure attention from = over all p² inputs, label every head, check the seed's claims."""
    from reporter.outputs import OutputError, write_file
    from reporter.report import dumps, report_json, summary_lines

    analysis = run_analysis(checkpoint, options)
    text = dumps(report_json(analysis))
    to_stdout = json_path == "-"
    if not to_stdout:
        try:
            write_file(Path(json_path), text.encode())
        except OutputError as error:
            raise fail(error) from None
    for line in summary_lines(analysis):
        click.echo(line, err=to_stdout)
    if to_stdout:
        click.echo(text, nl=False)
    else:
        click.echo(f"report.json written to {json_path}")


@cli.command()
@analysis_options
@click.option(
    "--train", "train_first", is_flag=True, help="Train a checkpoint first with the default recipe, even if one exists."
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=Path("site"),
    show_default=True,
    help="Folder for the Markdown pages, figures and report.json (the mkdocs docs_dir).",
)
@click.option(
    "--html",
    type=click.Path(path_type=Path),
    default=Path("public"),
    show_default=True,
    help="Folder for the built HTML site.",
)
@click.option("--no-html", is_flag=True, help="Write the Markdown pages only; skip mkdocs.")
@click.option(
    "--templates",
    type=click.Path(path_type=Path),
    default=TEMPLATES,
    show_default="the project's templates/",
    help="Folder of the Jinja page templates.",
)
def build(checkpoint: Path, options, train_first: bool, out: Path, html: Path, no_html: bool, templates: Path) -> None:
    """Analyse a checkpoint and publish the report as a website."""
    from reporter.figures import draw_all
    from reporter.outputs import OutputError, replacing, write_files
    from reporter.render import TemplateError, site_files
    from reporter.report import summary_lines
    from reporter.site import SiteError, build_html

    pages_dir, html_dir = out.resolve(), html.resolve()
    if not no_html and (pages_dir == html_dir or pages_dir in html_dir.parents or html_dir in pages_dir.parents):
        raise click.BadParameter(
            "--out and --html must be separate folders, neither inside the other.", param_hint="--html"
        )
    if not checkpoint.exists() and not train_first and checkpoint != DEFAULT_CHECKPOINT:
        raise click.ClickException(
            f"checkpoint directory {checkpoint} does not exist; pass --train to train one there."
        )
    if train_first or not checkpoint.exists():
        click.echo(f"[1/5] training a model into {checkpoint} (default recipe)", err=True)
        train_checkpoint(RECIPE, checkpoint)
    else:
        click.echo(f"[1/5] loading {checkpoint}", err=True)
    click.echo("[2/5] measuring attention over all inputs, labelling heads, checking claims", err=True)
    analysis = run_analysis(checkpoint, options)
    click.echo("[3/5] drawing figures", err=True)
    figures = draw_all(analysis.stats, analysis.labels, analysis.training.history if analysis.training else ())
    click.echo("[4/5] filling templates", err=True)
    try:
        files = site_files(analysis, figures, templates)
        with replacing(out) as pages:
            write_files(files, pages)
            if no_html:
                click.echo("[5/5] skipping mkdocs (--no-html)", err=True)
            else:
                click.echo("[5/5] building the HTML site with mkdocs", err=True)
                with replacing(html) as site:
                    build_html(MKDOCS_CONFIG, pages, site)
    except (TemplateError, SiteError, OutputError) as error:
        raise fail(error) from None
    click.echo(summary_lines(analysis)[0])
    if no_html:
        click.echo(f"Markdown pages written to {out}. Preview them with: modreport serve --out {out}")
    else:
        click.echo(f"Site built in {html}. Open {html / 'index.html'} in a browser, or run: modreport serve")


@cli.command()
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=Path("site"),
    show_default=True,
    help="Folder of the Markdown pages.",
)
@click.option("--address", default="127.0.0.1:8000", show_default=True, help="Address to serve on.")
def serve(out: Path, address: str) -> None:
    """Preview the site with live reload (mkdocs serve)."""
    from reporter.site import serve as serve_site

    if not (out / "index.md").is_file():
        raise click.ClickException(f"{out} holds no report; run modreport build first.")
    raise SystemExit(serve_site(MKDOCS_CONFIG, out, address))


def main() -> None:
    cli()
