"""`modreport train` and `modreport check`: write and validate checkpoints."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from reporter.cli import cli, one_sentence
from reporter.cli.options import UserPath, checkpoint_option, device_option, recipe_options
from reporter.model.recipe import Recipe


@cli.command()
@click.option("--out", type=UserPath(), required=True, help="Checkpoint directory to write.")
@recipe_options
@click.option("--force", is_flag=True, help="Replace a checkpoint already in --out (never any other folder).")
@device_option
def train(out: Path, recipe: Recipe, force: bool, device: str) -> None:
    """Train a model on a + b mod p and write a checkpoint directory."""
    from reporter.publish.outputs import CHECKPOINT, check_folder

    with one_sentence():
        out = check_folder(out, CHECKPOINT, force=force)  # refused before the progress bar
    result = train_checkpoint(recipe, out, force=force, device=device)
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
            "its model has not fully learned the task; try another --seed (more --epochs rarely helps: "
            "see benchmarks/README.md)."
        )
    click.echo(f"Checkpoint written to {out}")


def train_checkpoint(recipe: Recipe, directory: Path, force: bool = False, inputs: tuple = (), device: str = "cpu"):
    """`api.train` on ``device`` under a progress bar on stderr: the checkpoint is written into ``directory``
    only once training succeeded."""
    from reporter.api import train

    with one_sentence():
        with click.progressbar(length=recipe.epochs, label="Training", file=sys.stderr, item_show_func=str) as bar:

            def on_epoch(record: dict) -> None:
                bar.update(
                    1,
                    f"epoch {record['epoch']}  loss {record['train_loss']:.3f}  "
                    f"train {record['train_accuracy']:.1%}  test {record['test_accuracy']:.1%}",
                )

            result = train(directory, recipe, force=force, inputs=inputs, on_epoch=on_epoch, device=device)
            bar.update(recipe.epochs - len(result.history))
        if not sys.stderr.isatty():
            click.echo(f" {len(result.history)} epochs", err=True)
    return result


@cli.command(short_help="Validate a checkpoint and print its accuracy on all inputs.")
@checkpoint_option("Checkpoint directory to validate.")
def check(checkpoint: Path) -> None:
    """Validate a checkpoint and print its shape, task and accuracy on all p² inputs."""
    import torch

    from reporter.api import load
    from reporter.limits import check_bytes, check_fits
    from reporter.model.task import all_inputs, answers
    from reporter.model.train import evaluate

    with one_sentence():
        loaded = load(checkpoint, dtype=torch.float64)
        cfg, task = loaded.config["model"], loaded.task
        check_fits(check_bytes(task.modulus, cfg["d_model"]), f"checking all {task.n_inputs} inputs")
    tokens = all_inputs(task)
    loss, accuracy = evaluate(loaded.model, tokens, answers(task, tokens))
    click.echo(
        f"{checkpoint}: {cfg['n_layers']} layers x {cfg['n_heads']} heads, d_model {cfg['d_model']}, "
        f"a + b mod {task.modulus}"
    )
    click.echo(f"accuracy on all {task.n_inputs} inputs: {accuracy:.2%} (loss {loss:.4f})")
    click.echo(f"model.safetensors sha256 {loaded.sha256}")
