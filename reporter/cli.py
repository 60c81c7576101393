"""The `modreport` command line: parse, validate, call the stages, report progress.

Only this module prints or touches paths the user named (through `outputs`). Heavy packages
(torch, transformer_lens, matplotlib) are imported inside the commands so that
`modreport --help` answers at once.
"""

from __future__ import annotations

import signal
import sys
from contextlib import contextmanager
from pathlib import Path

import click

from reporter import __version__
from reporter.options import RECIPE, analysis_options, checkpoint_option, pages_option, recipe_options, site_options
from reporter.recipe import Recipe
from reporter.resources import DEFAULT_CHECKPOINT, MKDOCS_CONFIG


@contextmanager
def one_sentence():
    """Turn the stages' own errors (each a one-sentence ValueError or RuntimeError) into exit code 1."""
    from reporter.outputs import OptionConflict
    from reporter.stats import PairError

    try:
        yield
    except PairError as error:
        raise click.BadParameter(str(error), param_hint="--pairs") from None
    except OptionConflict as error:
        raise click.UsageError(str(error)) from None
    except (ValueError, RuntimeError) as error:
        raise click.ClickException(str(error)) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="modreport")
def cli() -> None:
    """Train or load a transformer on a + b mod p, find what each attention head
    does, and publish it as a website."""


@cli.command()
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Checkpoint directory to write.")
@recipe_options
@click.option("--force", is_flag=True, help="Replace a checkpoint already in --out (never any other folder).")
def train(out: Path, recipe: Recipe, force: bool) -> None:
    """Train a model on a + b mod p and write a checkpoint directory."""
    from reporter.outputs import CHECKPOINT, check_folder

    with one_sentence():
        out = check_folder(out, CHECKPOINT, force=force)
    result = train_checkpoint(recipe, out)
    final, first = result.config["training"]["final"], result.config["training"]["first_perfect_epoch"]
    seconds = result.history[-1]["wall_time"]
    reached = (
        f"held-out accuracy first reached 100% at epoch {first}" if first else "held-out accuracy never reached 100%"
    )
    click.echo(f"Trained {len(result.history)} epochs in {seconds:.1f} s; {reached}.")
    click.echo(f"Train accuracy {final['train_accuracy']:.2%}, held-out accuracy {final['test_accuracy']:.2%}.")
    if final["test_accuracy"] < 1:
        click.echo(
            f"Held-out accuracy ended below 100% ({final['test_accuracy']:.2%}): the checkpoint is valid, but "
            "its model has not fully learned the task; try another --seed or more --epochs."
        )
    click.echo(f"Checkpoint written to {out}")


def train_checkpoint(recipe: Recipe, directory: Path):
    """Train under a progress bar on stderr and write the checkpoint into ``directory`` (checked with
    `outputs.check_folder`), replacing it only once training succeeded."""
    from reporter.checkpoint import save_checkpoint
    from reporter.outputs import CHECKPOINT, replacing
    from reporter.train import train as train_model

    with one_sentence(), replacing(directory, CHECKPOINT) as staging:
        with click.progressbar(length=recipe.epochs, label="Training", file=sys.stderr, item_show_func=str) as bar:

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
    return result


@cli.command()
@checkpoint_option("Checkpoint directory to validate.")
def check(checkpoint: Path) -> None:
    """Validate a checkpoint and print its shape, task and accuracy on all p² inputs."""
    import torch

    from reporter.checkpoint import load_checkpoint
    from reporter.task import all_inputs, answers
    from reporter.train import evaluate

    with one_sentence():
        loaded = load_checkpoint(checkpoint, dtype=torch.float64)
    cfg, task = loaded.config["model"], loaded.task
    tokens = all_inputs(task)
    loss, accuracy = evaluate(loaded.model, tokens, answers(task, tokens))
    click.echo(
        f"{checkpoint}: {cfg['n_layers']} layers x {cfg['n_heads']} heads, d_model {cfg['d_model']}, "
        f"a + b mod {task.modulus}"
    )
    click.echo(f"accuracy on all {task.n_inputs} inputs: {accuracy:.2%} (loss {loss:.4f})")
    click.echo(f"model.safetensors sha256 {loaded.sha256}")


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
    """Measure attention from = over all p² inputs, label every head, check the seed's claims."""
    from reporter.analysis import analyse
    from reporter.outputs import check_report_path, write_report_file
    from reporter.report import dumps, report_json, summary_lines

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
@click.option("--train", "train_first", is_flag=True, help="Train the checkpoint first with the default recipe.")
@click.option("--force", is_flag=True, help="With --train: replace a checkpoint already in --checkpoint.")
@site_options
def build(
    checkpoint: Path,
    options,
    inputs,
    cache,
    train_first: bool,
    force: bool,
    out: Path,
    html: Path,
    no_html: bool,
    engine: str,
    templates: Path,
) -> None:
    """Analyse a checkpoint and publish the report as a website."""
    from reporter.analysis import analyse
    from reporter.figures import draw_all
    from reporter.outputs import CHECKPOINT, HTML, PAGES, check_apart, check_folder, replacing_all, write_files
    from reporter.render import site_files
    from reporter.report import summary_lines
    from reporter.site import build_html

    with one_sentence():
        if not no_html:
            check_apart(out, html)
        reads = (*inputs, templates, MKDOCS_CONFIG)
        targets = [(check_folder(out, PAGES, reads), PAGES)]
        targets += [] if no_html else [(check_folder(html, HTML, (*reads, out)), HTML)]
        if train_first:
            if checkpoint == DEFAULT_CHECKPOINT:
                raise click.UsageError("--train needs --checkpoint DIR: the shipped checkpoint is part of modreport.")
            folder = check_folder(checkpoint, CHECKPOINT, (templates, out, html), force=force)
            click.echo(f"[1/5] training a model into {checkpoint} (default recipe)", err=True)
            train_checkpoint(RECIPE, folder)
        elif not checkpoint.exists():
            hint = (
                "reinstall modreport, or pass --checkpoint DIR"
                if checkpoint == DEFAULT_CHECKPOINT
                else "pass --train to train one there"
            )
            raise click.ClickException(f"checkpoint directory {checkpoint} does not exist; {hint}.")
        else:
            click.echo(f"[1/5] loading {checkpoint}", err=True)
        click.echo("[2/5] measuring attention over all inputs, labelling heads, checking claims", err=True)
        analysis = analyse(checkpoint, options, cache)
        click.echo("[3/5] drawing figures", err=True)
        figures = (cache and cache.load_figures(checkpoint, options)) or draw_all(analysis)
        if cache:
            cache.store_figures(checkpoint, options, figures)
        click.echo("[4/5] filling templates", err=True)
        files = site_files(analysis, figures, templates)
        with replacing_all(targets) as folders:
            write_files(files, folders[0])
            click.echo("[5/5] skipping mkdocs (--no-html)" if no_html else "[5/5] building the HTML site", err=True)
            if not no_html:
                build_html(MKDOCS_CONFIG, folders[0], folders[1], engine)
    click.echo(summary_lines(analysis)[0])
    if no_html:
        click.echo(f"Markdown pages written to {out}. Preview them with: modreport serve --out {out}")
    else:
        click.echo(
            f"Site built in {html}. Open {html / 'index.html'} in a browser, or run: modreport serve --out {out}"
        )


@cli.command()
@pages_option("Folder of the Markdown pages.")
@click.option("--address", default="127.0.0.1:8000", show_default=True, help="Address to serve on.")
def serve(out: Path, address: str) -> None:
    """Preview the site with live reload (mkdocs serve)."""
    from reporter.site import serve as serve_site

    if not (out / "index.md").is_file():
        raise click.ClickException(f"{out} holds no report; run modreport build first.")
    raise SystemExit(serve_site(MKDOCS_CONFIG, out, address))


def stop_on_terminate(signum, frame) -> None:
    """SIGTERM unwinds like Ctrl-C, so that staging folders are removed and child processes stopped."""
    raise KeyboardInterrupt


def main() -> None:
    signal.signal(signal.SIGTERM, stop_on_terminate)
    cli()
