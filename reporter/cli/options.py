"""The options commands share, parsed and checked into the stages' own types before any work starts.

`recipe_options` hands a command a `Recipe`; `analysis_options` hands it the checkpoint folder and
the keyword arguments of `api.analyse` (pairs, thresholds, the device, the command line for provenance).
"""

from __future__ import annotations

import functools
import json
from dataclasses import replace
from pathlib import Path

import click

from reporter.interpret.threshold_kinds import parse_setting
from reporter.interpret.thresholds import Thresholds
from reporter.limits import read_bounded
from reporter.model.device import DEVICES
from reporter.model.keys import ACTIVATIONS, NORMALIZATIONS
from reporter.model.recipe import MAX_SEED, Recipe
from reporter.publish.site import ENGINES
from reporter.resources import DEFAULT_CHECKPOINT, TEMPLATES

RECIPE = Recipe()
NORMS = {str(kind).lower(): kind for kind in sorted(NORMALIZATIONS, key=lambda kind: kind is not None)}  # None first
MAX_THRESHOLDS_FILE = 2**20  # a file of threshold overrides is a few hundred bytes

# option, Recipe field, help
RECIPE_FIELDS = (
    ("--modulus", "modulus", "p, the modulus of a + b mod p."),
    ("--layers", "n_layers", "Transformer blocks."),
    ("--heads", "n_heads", "Attention heads per block."),
    ("--d-model", "d_model", "Width of the residual stream."),
    ("--d-mlp", "d_mlp", "Width of each MLP."),
    ("--epochs", "epochs", "Most epochs to train; stops earlier once held-out accuracy holds at 100%."),
    ("--seed", "seed", "Seeds the init, the split and the batch order."),
    ("--train-fraction", "train_fraction", "Share of the p² inputs to train on."),
    ("--batch-size", "batch_size", "Inputs per step."),
    ("--lr", "lr", "Peak learning rate, the same for every parameter."),
)


class UserPath(click.Path):
    """A path option or argument (always a `Path`); one the file system cannot hold (a name over 255 bytes, a
    path over 4,095) is refused at the option in one sentence, before anything reads or writes it."""

    def __init__(self, **kwargs):
        super().__init__(path_type=Path, **kwargs)

    def convert(self, value, param, ctx):
        from reporter.limits import path_problem

        path = super().convert(value, param, ctx)
        if problem := path_problem(path):
            self.fail(f"{str(path)[:60]}… {problem}.", param, ctx)
        return path


def recipe_options(command):
    """The training recipe's options; they reach the command as one checked `Recipe` named ``recipe``."""

    @functools.wraps(command)
    def wrapped(act_fn: str, norm: str, **kwargs):
        from reporter.model.checkpoint import CheckpointError
        from reporter.model.recipe import validate

        fields = {field: kwargs.pop(field) for _, field, _ in RECIPE_FIELDS}
        recipe = replace(RECIPE, act_fn=act_fn, normalization_type=NORMS[norm.lower()], **fields)
        try:
            validate(recipe)
        except (ValueError, CheckpointError) as error:
            raise click.UsageError(str(error)) from None
        return command(recipe=recipe, **kwargs)

    for option, field, text in reversed(RECIPE_FIELDS):
        kind = {"seed": click.IntRange(0, MAX_SEED)}.get(field)  # refused at the option, before any work
        wrapped = click.option(option, field, type=kind, default=getattr(RECIPE, field), show_default=True, help=text)(
            wrapped
        )
    wrapped = click.option(
        "--act",
        "act_fn",
        type=click.Choice(ACTIVATIONS),
        default=RECIPE.act_fn,
        show_default=True,
        help="MLP activation.",
    )(wrapped)
    choices = click.Choice([str(kind) for kind in NORMS.values()], case_sensitive=False)
    return click.option(
        "--norm", "norm", type=choices, default=str(RECIPE.normalization_type), show_default=True, help="Normalisation."
    )(wrapped)


def checked_device(ctx, param, value: str) -> str:
    """The torch device for --device, refused at the option (before any work) where this machine has none."""
    from reporter.model.device import DeviceError, resolve_device

    try:
        return resolve_device(value)
    except DeviceError as error:
        raise click.BadParameter(str(error), ctx, param) from None


def device_option(command):
    """--device cpu|cuda|auto; it reaches the command as ``device``, the torch device ("cpu" or "cuda")."""
    return click.option(
        "--device",
        type=click.Choice(DEVICES),
        default="cpu",
        show_default=True,
        callback=checked_device,
        help="Where the model runs; auto: CUDA when torch sees a GPU, else the CPU. The default is the CPU because "
        "the shipped report was measured there: float64 on another device may differ in the last digits.",
    )(command)


def checkpoint_option(help_text: str):
    return click.option(
        "--checkpoint",
        type=UserPath(),
        default=DEFAULT_CHECKPOINT,
        show_default="the shipped model",
        help=help_text,
    )


def pages_option(help_text: str):
    return click.option("--out", type=UserPath(), default=Path("site"), show_default=True, help=help_text)


def site_options(command):
    """Where `build` writes: the Markdown pages, the HTML site and its engine, and the templates it fills."""
    for option in reversed(
        (
            pages_option("Folder for the Markdown pages, figures and report.json (the mkdocs docs_dir)."),
            click.option(
                "--html",
                type=UserPath(),
                default=Path("public"),
                show_default=True,
                help="Folder for the built HTML site.",
            ),
            click.option("--no-html", is_flag=True, help="Write the Markdown pages only; build no HTML."),
            click.option(
                "--engine",
                type=click.Choice(ENGINES),
                default=ENGINES[0],
                show_default=True,
                help="Site generator for the HTML: mkdocs (mkdocs-material) or zensical (its successor).",
            ),
            click.option(
                "--templates",
                type=UserPath(),
                default=TEMPLATES,
                show_default="the shipped templates",
                help="Folder of the Jinja page templates.",
            ),
        )
    ):
        command = option(command)
    return command


def threshold_options(command):
    """--thresholds FILE and --set NAME=VALUE; they reach the command as ``thresholds`` (the table) and
    ``thresholds_file`` (the file named, an input no output may touch) and ``settings``."""

    @click.option(
        "--thresholds",
        "thresholds_file",
        type=UserPath(dir_okay=False),
        default=None,
        help='JSON object of threshold overrides, e.g. {"focus": 0.6}.',
    )
    @click.option("--set", "settings", multiple=True, metavar="NAME=VALUE", help="Override one threshold (repeatable).")
    @functools.wraps(command)
    def wrapped(thresholds_file, settings, **kwargs):
        thresholds = read_thresholds(thresholds_file, settings)
        return command(thresholds=thresholds, thresholds_file=thresholds_file, settings=settings, **kwargs)

    return wrapped


def cache_options(command):
    """--cache DIR and --no-cache; they reach the command as ``cache`` (a Cache, or None)."""

    @click.option(
        "--cache",
        "cache_folder",
        type=UserPath(),
        default=None,
        help="Folder of cached measurements and figures (default: $MODREPORT_CACHE or ~/.cache/modreport).",
    )
    @click.option("--no-cache", is_flag=True, help="Measure again, and keep nothing.")
    @functools.wraps(command)
    def wrapped(cache_folder, no_cache, **kwargs):
        cache = None
        if not no_cache:
            from reporter.cache import Cache, CacheError, default_folder

            try:
                cache = Cache(cache_folder or default_folder())
            except CacheError as error:
                raise click.BadParameter(str(error), param_hint="--cache") from None
        try:
            return command(cache=cache, **kwargs)
        finally:
            for line in cache_notes(cache):
                click.echo(line, err=True)

    return wrapped


def cache_notes(cache) -> list[str]:
    """One line for each cache entry refused (measured again and replaced), and one if the cache could not be
    written (it was then only read)."""
    if cache is None:
        return []
    notes = []
    for what, why in dict.fromkeys(cache.problems):
        if what == "write":
            notes.append(f"Note: {why}; it was only read, and nothing new was kept.")
        else:
            notes.append(f"Note: cache entry {what} was refused ({why}); it was measured again and replaced.")
    return notes


def analysis_options(command):
    """The options `analyze` and `build` share; they reach the command as ``checkpoint``, ``options`` (the
    keyword arguments of `api.analyse`), ``inputs`` (the paths the command reads, which no output may
    touch) and ``cache``."""

    @checkpoint_option("Checkpoint directory to analyse.")
    @click.option(
        "--pairs",
        "pairs_text",
        default=None,
        help='Pairs drawn in full, at most 12, e.g. "5+8,90+90,50+0" (default: the original write-up\'s, scaled to p).',
    )
    @threshold_options
    @cache_options
    @device_option
    @functools.wraps(command)
    def wrapped(checkpoint: Path, pairs_text, thresholds, thresholds_file, settings, device, **kwargs):
        from reporter.interpret.stats import PairError, parse_pairs

        try:
            pairs = tuple(parse_pairs(pairs_text)) if pairs_text is not None else None
        except PairError as error:
            raise click.BadParameter(str(error), param_hint="--pairs") from None
        line = ["modreport", command.__name__]
        line += [] if checkpoint == DEFAULT_CHECKPOINT else [f"--checkpoint {str(checkpoint)!r}"]
        line += [f"--pairs {pairs_text!r}"] if pairs_text else []
        line += [f"--thresholds {thresholds_file.name}"] if thresholds_file else []
        line += [f"--set {s}" for s in settings]
        line += [] if device == "cpu" else [f"--device {device}"]  # the CPU's report is the same with or without it
        options = {"pairs": pairs, "thresholds": thresholds, "command": " ".join(line), "device": device}
        inputs = (checkpoint, thresholds_file) if thresholds_file else (checkpoint,)
        return command(checkpoint=checkpoint, options=options, inputs=inputs, **kwargs)

    return wrapped


def read_thresholds(path: Path | None, settings: tuple[str, ...]) -> Thresholds:
    """The defaults, then a JSON file of overrides, then --set name=value options."""
    try:
        table = Thresholds()
        if path is not None:
            try:
                text = read_bounded(path, MAX_THRESHOLDS_FILE, "a file of threshold overrides").decode("utf-8")
                overrides = json.loads(text)
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
                raise ValueError(f"cannot read thresholds from {path}: {error}.") from None
            except RecursionError:
                raise ValueError(f"{path} nests its JSON too deeply for a file of threshold overrides.") from None
            if not isinstance(overrides, dict):
                raise ValueError(f"{path} must hold a JSON object of threshold names and numbers.")
            table = table.with_overrides(overrides)
        return table.with_overrides(dict(parse_setting(s) for s in settings))
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--thresholds/--set") from None
