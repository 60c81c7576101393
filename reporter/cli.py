"""The `modreport` command line: parse, validate, call the stages, report progress.

Only this module prints or touches paths the user named. Heavy packages (torch,
transformer_lens, matplotlib) are imported inside the commands so that
`modreport --help` answers at once.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

import click

from reporter import __version__
from reporter.recipe import Recipe, validate

PROJECT = Path(__file__).resolve().parent.parent
DEFAULT_CHECKPOINT = PROJECT / "checkpoints" / "default"
TEMPLATES = PROJECT / "templates"
MKDOCS_CONFIG = PROJECT / "mkdocs.yml"


@contextmanager
def replacing(target: Path):
    """Yield a fresh temporary directory beside ``target``; on success it replaces ``target``.

    On any error the temporary directory is removed and ``target`` is left as it was.
    """
    target = target.resolve()
    if target.exists() and not target.is_dir():
        raise click.ClickException(f"{target} exists and is not a directory.")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    except OSError as error:
        raise click.ClickException(f"cannot write into {target.parent}: {error.strerror or error}.") from None
    try:
        yield staging
        os.chmod(staging, 0o755)
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
            target.rename(old / "previous")
            staging.rename(target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            staging.rename(target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="modreport")
def cli() -> None:
    """Train or load a transformer on a + b mod p, find what each attention head
    does, and publish it as a website."""


RECIPE = Recipe()
NORM_NAMES = {"none": None, "ln": "LN", "rms": "RMS", "lnpre": "LNPre", "rmspre": "RMSPre"}


@cli.command()
@click.option("--out", "out", type=click.Path(path_type=Path), required=True, help="Checkpoint directory to write.")
@click.option("--modulus", default=RECIPE.modulus, show_default=True, help="p, the modulus of a + b mod p.")
@click.option("--layers", default=RECIPE.n_layers, show_default=True, help="Transformer blocks.")
@click.option("--heads", default=RECIPE.n_heads, show_default=True, help="Attention heads per block.")
@click.option("--d-model", default=RECIPE.d_model, show_default=True, help="Width of the residual stream.")
@click.option("--d-mlp", default=RECIPE.d_mlp, show_default=True, help="Width of each MLP.")
@click.option("--act", "act_fn", default=RECIPE.act_fn, show_default=True, help="MLP activation: relu, gelu, gelu_new, silu, swish or solu.")
@click.option("--norm", "normalization", default=str(RECIPE.normalization_type), show_default=True,
              help="Normalisation: None, LN, RMS, LNPre or RMSPre.")
@click.option("--epochs", default=RECIPE.epochs, show_default=True, help="Most epochs to train; stops earlier once held-out accuracy holds at 100%.")
@click.option("--seed", default=RECIPE.seed, show_default=True, help="Seeds the init, the split and the batch order.")
@click.option("--train-fraction", default=RECIPE.train_fraction, show_default=True, help="Share of the p² inputs to train on.")
@click.option("--batch-size", default=RECIPE.batch_size, show_default=True, help="Inputs per step.")
@click.option("--lr", default=RECIPE.lr, show_default=True, help="Peak learning rate, the same for every parameter.")
@click.option("--force", is_flag=True, help="Overwrite a non-empty --out.")
def train(out: Path, modulus, layers, heads, d_model, d_mlp, act_fn, normalization, epochs, seed, train_fraction, batch_size, lr, force) -> None:
    """Train a model on a + b mod p and write a checkpoint directory."""
    from dataclasses import replace

    from reporter.model import CheckpointError

    if normalization.lower() not in NORM_NAMES:
        raise click.UsageError(f"unknown normalisation {normalization!r}; choose None, LN, RMS, LNPre or RMSPre.")
    recipe = replace(
        RECIPE,
        modulus=modulus, n_layers=layers, n_heads=heads, d_model=d_model, d_mlp=d_mlp, act_fn=act_fn,
        normalization_type=NORM_NAMES[normalization.lower()], epochs=epochs, seed=seed,
        train_fraction=train_fraction, batch_size=batch_size, lr=lr,
    )
    try:
        validate(recipe)
    except (ValueError, CheckpointError) as error:
        raise click.UsageError(str(error)) from None
    out = out.resolve()
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not force:
        raise click.ClickException(f"{out} already exists and is not empty; pass --force to overwrite it.")
    result = train_checkpoint(recipe, out)
    final = result.config["training"]["final"]
    click.echo(
        f"Trained {len(result.history)} epochs: train accuracy {final['train_accuracy']:.2%}, "
        f"held-out accuracy {final['test_accuracy']:.2%}. Checkpoint written to {out}"
    )


def train_checkpoint(recipe, directory: Path):
    """Train under a progress bar on stderr (epoch, loss, accuracy) and write the checkpoint
    into ``directory``, replacing it only once training succeeded."""
    from reporter.model import save_checkpoint
    from reporter.train import train as train_model

    with replacing(directory) as staging:
        with click.progressbar(length=recipe.epochs, label="Training", file=sys.stderr,
                               item_show_func=lambda text: text) as bar:
            def on_epoch(record: dict) -> None:
                bar.update(1, f"epoch {record['epoch']}  loss {record['train_loss']:.3f}  "
                              f"train {record['train_accuracy']:.1%}  test {record['test_accuracy']:.1%}")

            result = train_model(recipe, on_epoch)
            bar.update(recipe.epochs - len(result.history))
        if not sys.stderr.isatty():
            click.echo(f" {len(result.history)} epochs", err=True)
        save_checkpoint(result.model, result.config, staging)
    return result


def open_checkpoint(directory: Path):
    """Load a checkpoint; a problem becomes one sentence and exit code 1."""
    from reporter.model import CheckpointError, load_checkpoint

    try:
        return load_checkpoint(directory)
    except CheckpointError as error:
        raise click.ClickException(str(error)) from None


@cli.command()
@click.option("--checkpoint", type=click.Path(path_type=Path), default=DEFAULT_CHECKPOINT, show_default="the shipped model",
              help="Checkpoint directory to validate.")
def check(checkpoint: Path) -> None:
    """Validate a checkpoint and print its shape, task and accuracy on all p² inputs."""
    from reporter.task import all_inputs, answers
    from reporter.train import evaluate

    loaded = open_checkpoint(checkpoint)
    cfg, task = loaded.config["model"], loaded.task
    tokens = all_inputs(task)
    loss, accuracy = evaluate(loaded.model, tokens, answers(task, tokens))
    click.echo(f"{checkpoint}: {cfg['n_layers']} layers x {cfg['n_heads']} heads, d_model {cfg['d_model']}, "
               f"a + b mod {task.modulus}")
    click.echo(f"accuracy on all {task.n_inputs} inputs: {accuracy:.2%} (loss {loss:.4f})")
    click.echo(f"model.safetensors sha256 {loaded.sha256}")


def read_threshold_options(thresholds_file: Path | None, settings: tuple[str, ...]):
    """Thresholds from the defaults, then a JSON file, then --set name=value options."""
    from reporter.labels import Thresholds, read_thresholds

    try:
        table = read_thresholds(thresholds_file) if thresholds_file else Thresholds()
        overrides = {}
        for setting in settings:
            name, sep, value = setting.partition("=")
            if not sep:
                raise ValueError(f"--set {setting!r} is not of the form name=value.")
            try:
                overrides[name.strip()] = float(value)
            except ValueError:
                raise ValueError(f"--set {setting!r}: {value!r} is not a number.") from None
        return table.with_overrides(overrides)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--thresholds/--set") from None


def analyse(checkpoint: Path, pairs_text: str | None, thresholds, command: str):
    """Load, measure, label and check: the whole analysis of one checkpoint."""
    from importlib.metadata import version

    from reporter.findings import check_findings, sensitivity
    from reporter.labels import label_heads, layer_trends
    from reporter.render import Analysis
    from reporter.stats import PairError, attention_over_all_inputs, compute_stats, default_pairs, parse_pairs

    loaded = open_checkpoint(checkpoint)
    task = loaded.task
    try:
        pairs = parse_pairs(pairs_text, task.modulus) if pairs_text is not None else default_pairs(task.modulus)
    except PairError as error:
        raise click.BadParameter(str(error), param_hint="--pairs") from None
    training = loaded.config.get("training") or {}
    split = None
    if "split" in training and "seed" in training:
        split = (training["split"]["train_fraction"], training["seed"])
    stats = compute_stats(attention_over_all_inputs(loaded.model, task), pairs, split)
    labels = label_heads(stats.heads, thresholds)
    packages = ("modreport", "torch", "transformer-lens", "numpy", "safetensors", "matplotlib", "jinja2", "mkdocs", "mkdocs-material")
    provenance = {
        "checkpoint": checkpoint.name,
        "checkpoint_sha256": loaded.sha256,
        "command": command,
        "pairs": [f"{a}+{b}" for a, b in pairs],
        "versions": {name: version(name) for name in packages},
        "training_recipe": training.get("recipe"),
    }
    return Analysis(
        stats=stats,
        labels=labels,
        trends=layer_trends(stats.layers, labels),
        findings=check_findings(stats.layers, labels, thresholds),
        thresholds=thresholds,
        sensitivity=sensitivity(stats.heads, stats.layers, thresholds),
        config=loaded.config,
        provenance=provenance,
    )


def summary_lines(analysis) -> list[str]:
    """The short table `analyze` prints: one line per head, then the findings."""
    stats = analysis.stats
    lines = [f"a + b mod {stats.task.modulus}: {stats.n_layers} layers x {stats.n_heads} heads, "
             f"accuracy {stats.accuracy['all']:.2%} on all {stats.task.n_inputs} inputs"]
    if analysis.warning:
        lines.append(f"WARNING: {analysis.warning}")
    lines.append(f"{'head':<6} {'label':<13} {'score':>5}   {'a':>5} {'+':>5} {'b':>5} {'=':>5}   {'entropy':>7} {'mean_max':>8}")
    for h, label in zip(stats.heads, analysis.labels):
        means = " ".join(f"{h.mean[k]:5.2f}" for k in ("a", "plus", "b", "equals"))
        lines.append(f"L{h.layer}H{h.head:<3} {label.kind.value:<13} {label.score:5.2f}   {means}   {h.entropy:7.2f} {h.mean_max:8.2f}")
    lines.append("findings:")
    marks = {True: "holds", False: "does not hold", None: "n/a"}
    for finding in analysis.findings:
        lines.append(f"  {finding.id:<19} {marks[finding.holds]:<13} {finding.text}")
    return lines


PAIRS_HELP = 'Chosen pairs, e.g. "5+8,90+90,50+0" (default: the seed\'s pairs, scaled to p when they do not fit).'


@cli.command()
@click.option("--checkpoint", type=click.Path(path_type=Path), default=DEFAULT_CHECKPOINT, show_default="the shipped model",
              help="Checkpoint directory to analyse.")
@click.option("--pairs", "pairs_text", default=None, help=PAIRS_HELP)
@click.option("--json", "json_path", default="report.json", show_default=True, help="Where to write report.json; - for stdout.")
@click.option("--thresholds", "thresholds_file", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="JSON object of threshold overrides, e.g. {\"focus\": 0.6}.")
@click.option("--set", "settings", multiple=True, metavar="NAME=VALUE", help="Override one threshold (repeatable).")
def analyze(checkpoint: Path, pairs_text, json_path: str, thresholds_file, settings) -> None:
    """Measure attention from = over all p² inputs, label every head, check the seed's claims."""
    from reporter.render import dumps, report_json

    thresholds = read_threshold_options(thresholds_file, settings)
    command = "modreport analyze" + (f" --pairs {pairs_text!r}" if pairs_text else "")
    analysis = analyse(checkpoint, pairs_text, thresholds, command)
    text = dumps(report_json(analysis))
    to_stdout = json_path == "-"
    if not to_stdout:
        try:
            Path(json_path).write_text(text)
        except OSError as error:
            raise click.ClickException(f"cannot write {json_path}: {error.strerror or error}.") from None
    for line in summary_lines(analysis):
        click.echo(line, err=to_stdout)
    if to_stdout:
        click.echo(text, nl=False)
    else:
        click.echo(f"report.json written to {json_path}")


def write_files(files: dict[str, bytes], directory: Path) -> None:
    for name, content in sorted(files.items()):
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


def build_command(pairs_text, thresholds_file, settings) -> str:
    """The canonical command line for provenance: options only, no paths that differ between machines."""
    parts = ["modreport build"]
    if pairs_text:
        parts.append(f"--pairs {pairs_text!r}")
    if thresholds_file:
        parts.append(f"--thresholds {Path(thresholds_file).name}")
    parts += [f"--set {s}" for s in settings]
    return " ".join(parts)


@cli.command()
@click.option("--checkpoint", type=click.Path(path_type=Path), default=DEFAULT_CHECKPOINT, show_default="the shipped model",
              help="Checkpoint directory to load (or to train into with --train).")
@click.option("--train", "train_first", is_flag=True, help="Train a checkpoint first with the default recipe, even if one exists.")
@click.option("--pairs", "pairs_text", default=None, help=PAIRS_HELP)
@click.option("--out", type=click.Path(path_type=Path), default=Path("site"), show_default=True,
              help="Folder for the Markdown pages, figures and report.json (the mkdocs docs_dir).")
@click.option("--html", type=click.Path(path_type=Path), default=Path("public"), show_default=True, help="Folder for the built HTML site.")
@click.option("--no-html", is_flag=True, help="Write the Markdown pages only; skip mkdocs.")
@click.option("--thresholds", "thresholds_file", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="JSON object of threshold overrides.")
@click.option("--set", "settings", multiple=True, metavar="NAME=VALUE", help="Override one threshold (repeatable).")
@click.option("--templates", type=click.Path(path_type=Path), default=TEMPLATES, show_default="the project's templates/",
              help="Folder of the Jinja page templates.")
def build(checkpoint: Path, train_first: bool, pairs_text, out: Path, html: Path, no_html: bool, thresholds_file, settings, templates: Path) -> None:
    """Analyse a checkpoint and publish the report as a website."""
    from reporter.figures import draw_all
    from reporter.render import TemplateError, site_files
    from reporter.site import SiteError, build_html

    thresholds = read_threshold_options(thresholds_file, settings)
    pages_dir, html_dir = out.resolve(), html.resolve()
    if not no_html and (pages_dir == html_dir or pages_dir in html_dir.parents or html_dir in pages_dir.parents):
        raise click.BadParameter("--out and --html must be separate folders, neither inside the other.", param_hint="--html")
    if not checkpoint.exists() and not train_first and checkpoint != DEFAULT_CHECKPOINT:
        raise click.ClickException(f"checkpoint directory {checkpoint} does not exist; pass --train to train one there.")
    if train_first or not checkpoint.exists():
        click.echo(f"[1/5] training a model into {checkpoint} (default recipe)", err=True)
        train_checkpoint(RECIPE, checkpoint)
    else:
        click.echo(f"[1/5] loading {checkpoint}", err=True)
    click.echo("[2/5] measuring attention over all inputs, labelling heads, checking claims", err=True)
    analysis = analyse(checkpoint, pairs_text, thresholds, build_command(pairs_text, thresholds_file, settings))
    click.echo("[3/5] drawing figures", err=True)
    figures = draw_all(analysis.stats, analysis.labels, (analysis.config.get("training") or {}).get("history") or [])
    click.echo("[4/5] filling templates", err=True)
    try:
        files = site_files(analysis, figures, templates)
    except TemplateError as error:
        raise click.ClickException(str(error)) from None
    with replacing(out) as pages:
        write_files(files, pages)
        if no_html:
            click.echo("[5/5] skipping mkdocs (--no-html)", err=True)
        else:
            click.echo("[5/5] building the HTML site with mkdocs", err=True)
            with replacing(html) as site:
                try:
                    build_html(MKDOCS_CONFIG, pages, site)
                except SiteError as error:
                    raise click.ClickException(str(error)) from None
    for line in summary_lines(analysis)[:1]:
        click.echo(line)
    if no_html:
        click.echo(f"Markdown pages written to {out}. Preview them with: modreport serve --out {out}")
    else:
        click.echo(f"Site built in {html}. Open {html / 'index.html'} in a browser, or run: modreport serve")


@cli.command()
@click.option("--out", type=click.Path(path_type=Path), default=Path("site"), show_default=True, help="Folder of the Markdown pages.")
@click.option("--address", default="127.0.0.1:8000", show_default=True, help="Address to serve on.")
def serve(out: Path, address: str) -> None:
    """Preview the site with live reload (mkdocs serve)."""
    from reporter.site import serve as serve_site

    if not (out / "index.md").is_file():
        raise click.ClickException(f"{out} holds no report; run modreport build first.")
    raise SystemExit(serve_site(MKDOCS_CONFIG, out, address))


def main() -> None:
    cli()
