"""Bad input, row by row: one clear sentence, a non-zero exit, no traceback, and every file that existed
before (the previous site, the HTML, the checkpoint, the user's own folders) byte-identical afterwards.

Each row runs the real command in a sandbox folder that holds a user's home with their own files, a
checkpoint, a previous build (pages and HTML), a copy of the templates and a thresholds file.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
from pathlib import Path

import pytest
from safetensors.torch import load_file, save_file

from reporter.resources import TEMPLATES
from tests.conftest import TINY_TRAIN, invoke

TINY = dict(zip(TINY_TRAIN[::2], TINY_TRAIN[1::2], strict=True))
SMALL_TRAIN = ["--modulus", "11", "--layers", "1", "--heads", "2", "--d-model", "64", "--d-mlp", "128", "--epochs", "2"]


@pytest.fixture
def sandbox(tmp_path, built, tiny_checkpoint, monkeypatch):
    """A folder as a user would have it; the command runs with it as the current folder and HOME inside."""
    root = tmp_path / "work"
    (root / "home" / "project").mkdir(parents=True)
    (root / "home" / "notes.txt").write_text("my notes")
    (root / "home" / "project" / "data.csv").write_text("a,b\n1,2\n")
    (root / "mine").mkdir()
    (root / "mine" / "thesis.tex").write_text("\\documentclass{article}")
    (root / "notes.txt").write_text("not a report")
    (root / "file.txt").write_text("a file")
    (root / "data").mkdir()
    shutil.copytree(tiny_checkpoint, root / "data" / "ckpt")
    shutil.copytree(tiny_checkpoint, root / "ckpt")
    shutil.copytree(built / "site", root / "site")
    shutil.copytree(built / "public", root / "public")
    shutil.copytree(TEMPLATES, root / "templates")
    (root / "thresholds.json").write_text('{"focus": 0.6}')
    (root / "link").symlink_to(root / "mine")
    monkeypatch.chdir(root)
    monkeypatch.setenv("HOME", str(root / "home"))
    return root


def snapshot(root: Path) -> dict[str, bytes | str]:
    """Every entry below ``root``: files with their bytes, folders and links by kind."""
    entries: dict[str, bytes | str] = {}
    for path in sorted(root.rglob("*")):
        name = str(path.relative_to(root))
        if path.is_symlink():
            entries[name] = f"link -> {os.readlink(path)}"
        elif path.is_dir():
            entries[name] = "folder"
        elif not path.is_file():  # a FIFO or a device: its kind, never its contents
            entries[name] = f"special {path.stat().st_mode:o}"
        elif path.stat().st_size > 2**26:  # a sparse file of gigabytes: its size and time, not its bytes
            entries[name] = f"large {path.stat().st_size} {path.stat().st_mtime_ns}"
        else:
            entries[name] = path.read_bytes()
    return entries


def edit_config(change):
    def damage(root: Path) -> None:
        path = root / "ckpt" / "config.json"
        config = json.loads(path.read_text())
        change(config)
        path.write_text(json.dumps(config))

    return damage


def scale_weights(root: Path) -> None:
    path = root / "ckpt" / "model.safetensors"
    weights = load_file(str(path))
    for name in weights:
        if name.endswith("weight"):
            weights[name] = weights[name] * 1e18  # finite, but the logits overflow
    save_file(weights, str(path))


def huge_header(root: Path) -> None:
    path = root / "ckpt" / "model.safetensors"
    path.write_bytes(struct.pack("<Q", 10**15) + path.read_bytes()[8:])


def raising_template(root: Path) -> None:
    with (root / "templates" / "layers.md.j2").open("a") as page:
        page.write("{{ 1 // 0 }}\n")


def template_running(expression: str):
    """A page template that tries ``expression``: a shell command or a file read through Python's internals."""

    def setup(root: Path) -> None:
        with (root / "templates" / "index.md.j2").open("a") as page:
            page.write("{{ " + expression + " }}\n")

    return setup


def linked_template(root: Path) -> None:
    outside = root / "home" / "secret.md.j2"
    outside.write_text("secret")
    (root / "templates" / "layers.md.j2").unlink()
    (root / "templates" / "layers.md.j2").symlink_to(outside)


def linked_include(root: Path) -> None:
    """A template in a subfolder, included by a page, that is a link to a file of the user's."""
    (root / "home" / "secret.j2").write_text("secret")
    (root / "templates" / "parts").mkdir()
    (root / "templates" / "parts" / "x.j2").symlink_to(root / "home" / "secret.j2")
    with (root / "templates" / "layers.md.j2").open("a") as page:
        page.write('{% include "parts/x.j2" %}\n')


def linked_style_sheet(root: Path) -> None:
    (root / "home" / "id_rsa").write_text("PRIVATE KEY")
    (root / "templates" / "stylesheets" / "leak.css").symlink_to(root / "home" / "id_rsa")


def narrow_model_of_a_huge_modulus(root: Path) -> None:
    """A 1-wide model of p = 100000: its weights file is small (about 1.6 MB), its p² inputs are not."""
    from reporter.model.build import build_model, model_config
    from reporter.model.checkpoint import save_checkpoint
    from reporter.model.task import Task

    task = Task(100_000)
    config = {"model": model_config(task, n_layers=1, n_heads=1, d_model=1, d_mlp=1), "task": task.to_json()}
    for name in ("config.json", "model.safetensors"):
        (root / "ckpt" / name).unlink()
    save_checkpoint(build_model(config["model"]), config, root / "ckpt")


def deep_thresholds(root: Path) -> None:
    (root / "deep.json").write_text("[" * 100_000 + "]" * 100_000)


def weights_from_dev_zero(root: Path) -> None:
    (root / "ckpt" / "model.safetensors").unlink()
    (root / "ckpt" / "model.safetensors").symlink_to("/dev/zero")


def config_a_fifo(root: Path) -> None:
    (root / "ckpt" / "config.json").unlink()
    os.mkfifo(root / "ckpt" / "config.json")


def sparse_config(root: Path) -> None:
    with (root / "ckpt" / "config.json").open("r+b") as file:  # 5 GB on paper, nothing on disk
        file.truncate(5 * 2**30)


def big_config(root: Path) -> None:
    (root / "ckpt" / "config.json").write_text(" " * (17 * 2**20) + "{}")


BUILD = ["build", "--checkpoint", "ckpt"]
ANALYZE = ["analyze", "--checkpoint", "ckpt", "--json", "-"]

# id: (setup, arguments, exit code, what the one sentence says)
ROWS = {
    # Never lose a user's files.
    "out is the current folder": (None, [*BUILD, "--out", ".", "--no-html"], 1, "it is the current folder"),
    "out is the root": (None, [*BUILD, "--out", "/", "--no-html"], 1, "it is the root of the file system"),
    "out is the home folder": (None, [*BUILD, "--out", "{root}/home"], 1, "it is your home folder"),
    "out holds the home folder": (None, [*BUILD, "--out", "{root}/..", "--no-html"], 1, "it holds your home folder"),
    "out is the checkpoint": (None, [*BUILD, "--out", "ckpt"], 1, "an input of this command"),
    "out holds the checkpoint": (
        None,
        ["build", "--checkpoint", "data/ckpt", "--out", "data"],
        1,
        "holds {root}/data/ckpt, an input of this command",
    ),
    "out is the templates": (None, [*BUILD, "--templates", "templates", "--out", "templates"], 1, "an input"),
    "out is inside the checkpoint": (None, [*BUILD, "--out", "ckpt/site"], 1, "lies inside {root}/ckpt"),
    "out holds the user's files": (None, [*BUILD, "--out", "mine"], 1, "holds files modreport did not write"),
    "html holds the user's files": (None, [*BUILD, "--html", "mine"], 1, "holds files modreport did not write"),
    "html is the home folder": (None, [*BUILD, "--html", "home"], 1, "it is your home folder"),
    "out is the html folder": (None, [*BUILD, "--out", "public", "--no-html"], 1, "holds modreport's html output"),
    "out is a symbolic link": (None, [*BUILD, "--out", "link"], 1, "is a symbolic link"),
    "out is a file": (None, [*BUILD, "--out", "file.txt"], 1, "exists and is not a folder"),
    "html inside out": (None, [*BUILD, "--html", "site/public"], 2, "must be separate folders"),
    "train into the user's folder": (
        None,
        ["train", "--out", "mine", "--force", *SMALL_TRAIN],
        1,
        "holds files modreport did not write",
    ),
    "train over a checkpoint": (None, ["train", "--out", "ckpt", *SMALL_TRAIN], 1, "pass --force to replace it"),
    "train into the home folder": (None, ["train", "--out", "{root}/home", *SMALL_TRAIN], 1, "your home folder"),
    "build --train into the user's folder": (
        None,
        ["build", "--train", "--force", "--checkpoint", "mine"],
        1,
        "holds files modreport did not write",
    ),
    "build --train over a checkpoint": (None, ["build", "--train", "--checkpoint", "ckpt"], 1, "pass --force"),
    "build --train into the shipped one": (None, ["build", "--train"], 2, "--train needs --checkpoint DIR"),
    "json onto the checkpoint's config": (
        None,
        ["analyze", "--checkpoint", "ckpt", "--json", "ckpt/config.json"],
        1,
        "lies inside {root}/ckpt",
    ),
    "json onto the thresholds file": (
        None,
        [*ANALYZE[:3], "--thresholds", "thresholds.json", "--json", "thresholds.json"],
        1,
        "an input of this command",
    ),
    "json onto the user's file": (None, [*ANALYZE[:3], "--json", "notes.txt"], 1, "is not a report modreport wrote"),
    "json onto a folder": (None, [*ANALYZE[:3], "--json", "mine"], 1, "is not a plain file"),
    "missing checkpoint": (None, ["build", "--checkpoint", "nowhere"], 1, "does not exist; pass --train"),
    "checkpoint is a file": (None, ["check", "--checkpoint", "file.txt"], 1, "does not exist"),
    # Never trust a checkpoint's sizes.
    "10000 layers": (
        edit_config(lambda c: c["model"].update(n_layers=10000)),
        ["check", "--checkpoint", "ckpt"],
        1,
        "the config asks for 10000 layers, the file holds tensors for 1",
    ),
    "d_vocab 10^9": (
        edit_config(
            lambda c: (
                c["model"].update(d_vocab=10**9 + 2, d_vocab_out=10**9),
                c["task"].update(modulus=10**9, tokens={"plus": 10**9, "equals": 10**9 + 1}),
            )
        ),
        ["check", "--checkpoint", "ckpt"],
        1,
        "tensor 'embed.weight' has shape [13, 64], the config needs",
    ),
    "d_mlp 10^10": (
        edit_config(lambda c: c["model"].update(d_mlp=10**10)),
        ["check", "--checkpoint", "ckpt"],
        1,
        "the config needs [10000000000, 64]",
    ),
    "analysis too large": (
        edit_config(
            lambda c: (
                c["model"].update(d_vocab=10**6 + 2, d_vocab_out=10**6),
                c["task"].update(modulus=10**6, tokens={"plus": 10**6, "equals": 10**6 + 1}),
            )
        ),
        ANALYZE,
        1,
        "modreport allows itself",
    ),
    "n_layers 0": (
        edit_config(lambda c: c["model"].update(n_layers=0)),
        ["check", "--checkpoint", "ckpt"],
        1,
        "model n_layers must be a whole number of at least 1, not 0",
    ),
    "script as normalization_type": (
        edit_config(lambda c: c["model"].update(normalization_type="<script>alert(1)</script>")),
        BUILD,
        1,
        "model normalization_type must be one of",
    ),
    "unknown act_fn": (edit_config(lambda c: c["model"].update(act_fn="tanh")), ANALYZE, 1, "model act_fn must be"),
    "n_heads 0": (edit_config(lambda c: c["model"].update(n_heads=0)), ANALYZE, 1, "model n_heads must be a whole"),
    "negative d_model": (edit_config(lambda c: c["model"].update(d_model=-64)), BUILD, 1, "not -64"),
    "fractional d_head": (edit_config(lambda c: c["model"].update(d_head=2.5)), BUILD, 1, "not 2.5"),
    "config larger than a config can be": (big_config, BUILD, 1, "more than a config can need"),
    "weights linked to /dev/zero": (weights_from_dev_zero, BUILD, 1, "model.safetensors is not a regular file"),
    "weights linked to /dev/zero, check": (
        weights_from_dev_zero,
        ["check", "--checkpoint", "ckpt"],
        1,
        "model.safetensors is not a regular file",
    ),
    "config a FIFO": (config_a_fifo, BUILD, 1, "config.json is not a regular file"),
    "config a FIFO, no cache": (config_a_fifo, [*BUILD, "--no-cache"], 1, "config.json is not a regular file"),
    "config a sparse 5 GB file": (sparse_config, BUILD, 1, "more than a config can need"),
    "NaN in config.json": (
        lambda r: (r / "ckpt" / "config.json").write_text('{"model": {"d_model": NaN}}'),
        ["check", "--checkpoint", "ckpt"],
        1,
        "is not valid JSON",
    ),
    "small weights, too many inputs to check": (
        narrow_model_of_a_huge_modulus,
        ["check", "--checkpoint", "ckpt"],
        1,
        "modreport allows itself",
    ),
    "small weights, too many inputs to analyse": (narrow_model_of_a_huge_modulus, ANALYZE, 1, "modreport allows"),
    "header larger than the file": (huge_header, ["check", "--checkpoint", "ckpt"], 1, "its header claims"),
    "finite weights, infinite logits": (
        scale_weights,
        ["check", "--checkpoint", "ckpt"],
        1,
        "the weights are finite but give NaN or infinite logits",
    ),
    # A training block that check and build read the same way.
    "history not a list": (
        edit_config(lambda c: c["training"].update(history="x")),
        ["check", "--checkpoint", "ckpt"],
        1,
        "training.history must be a list",
    ),
    "accuracy not a number": (
        edit_config(lambda c: c["training"]["history"][0].update(test_accuracy="high")),
        BUILD,
        1,
        "training.history[0].test_accuracy must be a number in [0, 1]",
    ),
    "seed not a number": (
        edit_config(lambda c: c["training"].update(seed="zero")),
        ["check", "--checkpoint", "ckpt"],
        1,
        "training.seed must be a whole number",
    ),
    "recipe with an object": (
        edit_config(lambda c: c["training"]["recipe"].update(lr={"a": 1})),
        BUILD,
        1,
        "training.recipe must be an object of plain values",
    ),
    "recipe unembedding scale not a number": (  # the untrained baseline starts from it
        edit_config(lambda c: c["training"]["recipe"].update(unembed_scale="small")),
        BUILD,
        1,
        "training.recipe.unembed_scale must be a number",
    ),
    # Training options.
    "train modulus too large": (None, ["train", "--out", "new", "--modulus", "100000"], 2, "modreport allows itself"),
    "train 0 layers": (None, ["train", "--out", "new", "--layers", "0"], 2, "the number of layers must be at least 1"),
    "train 0 heads": (None, ["train", "--out", "new", "--heads", "0"], 2, "the number of heads must be at least 1"),
    "train negative width": (
        None,
        ["train", "--out", "new", "--d-model", "-4"],
        2,
        "number of d_model must be at least 1",
    ),
    "train NaN learning rate": (None, ["train", "--out", "new", "--lr", "nan"], 2, "must be finite numbers"),
    "train zero learning rate": (None, ["train", "--out", "new", "--lr", "0"], 2, "strictly between 0 and 1"),
    "train zero batch": (None, ["train", "--out", "new", "--batch-size", "0"], 2, "batch size must be at least 1"),
    # Thresholds.
    "threshold NaN": (None, [*ANALYZE, "--set", "focus=nan"], 2, "must be a finite number"),
    "threshold above 1": (None, [*ANALYZE, "--set", "focus=2"], 2, "it must lie in [0, 1], not 2"),
    "threshold negative": (None, [*ANALYZE, "--set", "most_inputs=-1"], 2, "it must lie in [0, 1]"),
    "count not whole": (None, [*ANALYZE, "--set", "distinct_niches=1.5"], 2, "must be a whole number"),
    "setting without a value": (None, [*ANALYZE, "--set", "focus"], 2, "is not of the form name=value"),
    "thresholds file missing": (None, [*ANALYZE, "--thresholds", "none.json"], 2, "cannot read thresholds"),
    "thresholds file a list": (
        lambda r: (r / "t.json").write_text("[1, 2]"),
        [*ANALYZE, "--thresholds", "t.json"],
        2,
        "must hold a JSON object",
    ),
    "thresholds file with a word": (
        lambda r: (r / "t.json").write_text('{"focus": "high"}'),
        [*ANALYZE, "--thresholds", "t.json"],
        2,
        "must be a finite number",
    ),
    # Pairs.
    "pair twice": (None, [*ANALYZE, "--pairs", "1+2,1+2"], 2, "pair '1+2' is given twice"),
    "pair in other digits": (None, [*ANALYZE, "--pairs", "١+2"], 2, "is not of the form a+b"),
    "too many pairs": (
        None,
        [*ANALYZE, "--pairs", ",".join(f"{i}+0" for i in range(11)) + ",0+1,0+2"],
        2,
        "13 pairs are too many to draw",
    ),
    "pair out of range": (None, [*ANALYZE, "--pairs", "11+0"], 2, "a and b must lie in [0, 11)"),
    "pair with a 5000-digit operand": (None, [*ANALYZE, "--pairs", "1" * 5000 + "+0"], 2, "of at most 9 digits"),
    # Templates.
    "template raises": (
        raising_template,
        [*BUILD, "--templates", "templates"],
        1,
        "template layers.md.j2 cannot be rendered: ZeroDivisionError",
    ),
    "template runs a shell command": (
        template_running('lipsum.__globals__["os"].popen("touch home/owned").read()'),
        [*BUILD, "--templates", "templates"],
        1,
        "template index.md.j2 reaches for Python internals or runs code",
    ),
    "template reads a file through a method's globals": (
        template_running('cycler.__init__.__globals__.os.popen("cat home/notes.txt").read()'),
        [*BUILD, "--templates", "templates"],
        1,
        "template index.md.j2 reaches for Python internals or runs code",
    ),
    "template mutates the data it is given": (
        template_running("report.heads.append(1)"),
        [*BUILD, "--templates", "templates"],
        1,
        "template index.md.j2 reaches for Python internals or runs code",
    ),
    "template linked from outside": (
        linked_template,
        [*BUILD, "--templates", "templates"],
        1,
        "template layers.md.j2 is a link to a file outside",
    ),
    "included template linked from outside": (
        linked_include,
        [*BUILD, "--templates", "templates"],
        1,
        "template parts/x.j2 is a link to a file outside",
    ),
    "serve without a report": (None, ["serve", "--out", "mine"], 1, "holds no report"),
    "out with a 256-byte name": (None, [*BUILD, "--out", "a" * 256, "--no-html"], 2, "has a name of 256 bytes"),
    "out 4,400 bytes long": (None, [*BUILD, "--out", "a/" * 2200, "--no-html"], 2, "bytes long once made absolute"),
    "json with a 256-byte name": (
        None,
        ["analyze", "--checkpoint", "ckpt", "--json", "é" * 128],
        1,
        "has a name of 256 bytes",
    ),
    "compare one run twice": (None, ["compare", "ckpt", "./ckpt"], 1, "ckpt is named twice; name each run once"),
    "compare a run and its copy": (None, ["compare", "ckpt", "data/ckpt"], 1, "holds the same weights as ckpt"),
    "build beside a copy of itself": (
        None,
        [*BUILD, "--runs", "data/ckpt", "--no-html"],
        1,
        "data/ckpt holds the same weights as ckpt",
    ),
    "serve on a port out of range": (None, ["serve", "--address", "127.0.0.1:99999"], 1, "a port from 1 to 65535"),
    "serve on a negative port": (None, ["serve", "--address", "127.0.0.1:-1"], 1, "a port from 1 to 65535"),
    "serve on no port": (None, ["serve", "--address", "localhost"], 1, "must be HOST:PORT"),
    "thresholds from a device": (None, [*ANALYZE, "--thresholds", "/dev/zero"], 2, "is not a regular file"),
    "thresholds nested too deeply": (deep_thresholds, [*ANALYZE, "--thresholds", "deep.json"], 2, "too deeply"),
    "train with a negative seed": (None, ["train", "--out", "new", "--seed", "-1"], 2, "-1 is not in the range"),
    "train with a seed of 2^64": (
        None,
        ["train", "--out", "new", "--seed", str(2**64)],
        2,
        "18446744073709551616 is not in the range",
    ),
    "training split of no inputs": (
        edit_config(lambda c: c["training"]["split"].update(train_fraction=0)),
        BUILD,
        1,
        "training.split.train_fraction must be a number strictly between 0 and 1",
    ),
    "training seed beyond 2^63": (
        edit_config(lambda c: c["training"].update(seed=2**64)),
        ["check", "--checkpoint", "ckpt"],
        1,
        "training.seed must be a whole number from 0 to",
    ),
}


@pytest.mark.parametrize("case", list(ROWS))
def test_bad_input_gets_one_sentence_and_changes_nothing(sandbox, case):
    setup, arguments, code, message = ROWS[case]
    if setup:
        setup(sandbox)
    before = snapshot(sandbox)
    result = invoke(*[a.format(root=sandbox) for a in arguments])
    assert result.exit_code == code, result.output
    assert message.format(root=sandbox) in result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error")]
    assert len(errors) == 1 and result.output.rstrip().endswith(errors[0]), result.output
    assert snapshot(sandbox) == before


def test_a_folder_named_with_an_emoji_builds(sandbox):
    result = invoke(*BUILD, "--out", "pages-😀", "--html", "site-😀")
    assert result.exit_code == 0, result.output
    assert (sandbox / "site-😀" / "index.html").is_file()


def test_a_command_run_from_a_deleted_folder_is_one_sentence(tmp_path):
    import os
    import subprocess
    import sys

    gone = tmp_path / "gone"
    gone.mkdir()
    root = Path(__file__).resolve().parent.parent
    command = (
        f'cd "{gone}" && rmdir "{gone}" && exec "{sys.executable}" -c "from reporter.cli import main; main()" build'
    )
    result = subprocess.run(
        ["sh", "-c", command], capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(root)}
    )
    assert result.returncode == 1
    assert result.stderr.strip() == "Error: the current folder no longer exists; change into a folder that does."


def test_serve_on_a_port_in_use_is_one_sentence(sandbox):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = invoke("serve", "--address", f"127.0.0.1:{port}")
    assert result.exit_code == 1, result.output
    assert f"cannot serve on '127.0.0.1:{port}'" in result.output and "choose another --address" in result.output
    assert "Traceback" not in result.output


def test_there_are_enough_rows():
    assert len(ROWS) >= 40


def test_a_linked_style_sheet_is_never_published(sandbox):
    linked_style_sheet(sandbox)
    result = invoke(*BUILD, "--templates", "templates", "--out", "fresh", "--no-html")
    assert result.exit_code == 0, result.output
    assert not (sandbox / "fresh" / "stylesheets" / "leak.css").exists()
    assert (sandbox / "fresh" / "stylesheets" / "extra.css").exists()


def test_training_that_diverges_stops_with_a_sentence_and_writes_nothing(sandbox, monkeypatch):
    import torch

    import reporter.model.train

    real = reporter.model.train.F.cross_entropy
    monkeypatch.setattr(
        reporter.model.train.F, "cross_entropy", lambda *a, **k: real(*a, **k) * torch.tensor(float("nan"))
    )
    before = snapshot(sandbox)
    result = invoke("train", "--out", "new", *SMALL_TRAIN)
    assert result.exit_code == 1
    assert "the loss became nan at epoch 1, step 1: training diverged" in result.output
    assert snapshot(sandbox) == before
