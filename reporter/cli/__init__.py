"""The `modreport` command line: parse, validate, call the stages, report progress.

Only the command line prints or touches paths the user named (through `outputs`). Heavy packages
(torch, transformer_lens, matplotlib) are imported inside the commands so that `modreport --help`
answers at once. `training` holds train and check; `reports` holds analyze, build, compare and serve.
"""

from __future__ import annotations

import signal
import sys
from contextlib import contextmanager

import click

from reporter import __version__


@contextmanager
def one_sentence():
    """Turn the stages' own errors (each a one-sentence ValueError or RuntimeError) into exit code 1."""
    from reporter.interpret.stats import PairError
    from reporter.publish.outputs import OptionConflict

    try:
        yield
    except PairError as error:
        raise click.BadParameter(str(error), param_hint="--pairs") from None
    except OptionConflict as error:
        raise click.UsageError(str(error)) from None
    except (ValueError, RuntimeError) as error:
        raise click.ClickException(str(error)) from None


def invoked_as() -> str:
    """How the user runs modreport from here, for the commands the output suggests: ``modreport`` when their
    shell finds this executable by that name, else its path as they typed it (``.venv/bin/modreport`` from
    a virtual environment that is not activated)."""
    import shlex
    import shutil
    from pathlib import Path

    typed = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if typed is None or typed.name != "modreport":  # run another way (python -c, a test runner)
        return "modreport"
    found = shutil.which("modreport")
    if found and Path(found).resolve() == typed.resolve():
        return "modreport"
    return shlex.quote(str(typed))


START_HERE = """modreport finds out what each attention head of a small transformer trained on a + b mod p
does, and publishes it as a website.

Start here:
  modreport build                       report on the shipped model, into site/ and public/
  then open public/index.html           (from disk; or: modreport serve)
  modreport train --out my-model        train your own (add --seed N, --modulus P, ...)
  modreport build --checkpoint my-model report on it
  modreport compare CKPT CKPT ...       which findings recur across runs

Every command: modreport COMMAND --help. All of them: modreport --help."""


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, invoke_without_command=True)
@click.version_option(__version__, prog_name="modreport")
@click.pass_context
def cli(context: click.Context) -> None:
    """Train or load a transformer on a + b mod p, find what each attention head
    does, and publish it as a website."""
    if context.invoked_subcommand is None:
        click.echo(START_HERE)


def stop_on_terminate(signum, frame) -> None:
    """SIGTERM unwinds like Ctrl-C, so that staging folders are removed and child processes stopped."""
    raise KeyboardInterrupt


def main() -> None:
    import os

    try:
        os.getcwd()
    except FileNotFoundError:  # every relative path, and some libraries' imports, would fail on it
        raise SystemExit("Error: the current folder no longer exists; change into a folder that does.") from None
    signal.signal(signal.SIGTERM, stop_on_terminate)
    cli()


from reporter.cli import reports, training  # noqa: E402  (the commands register themselves on `cli`)

__all__ = ["cli", "invoked_as", "main", "one_sentence", "reports", "training"]
