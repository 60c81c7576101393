"""Checkpoints (contract 2): save, load and validate, never trusting a file.

A checkpoint is a directory: ``config.json`` with the blocks ``model``, ``task`` and
optionally ``training``, and ``model.safetensors`` holding the bridge's ``state_dict()``.
Loading never unpickles (JSON and safetensors only) and checks every size before it
allocates: the safetensors header is read and compared with the shapes the config
implies (built on the ``meta`` device, which allocates nothing) before the model exists.

Each file is read and hashed once per build: `read_checkpoint` holds the bytes, their sha256 and the parsed
config, which everything downstream reads. (`build` and `training_record` are imported in the functions.)
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reporter.limits import FileShapeError, check_fits, read_bounded
from reporter.model.task import POSITIONS, Task

if TYPE_CHECKING:
    from reporter.model.training_record import TrainingRecord

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
MAX_CONFIG_BYTES = 16 * 2**20  # a config with a long training history is about 100 KB
MAX_HEADER_BYTES = 16 * 2**20  # the safetensors header of a model with thousands of tensors
DTYPES = {"F32": 4, "F64": 8, "F16": 2, "BF16": 2}  # safetensors dtype -> bytes per element


class CheckpointError(ValueError):
    """A checkpoint or model config that cannot be used; the message is one sentence for the user."""


@dataclass(frozen=True)
class CheckpointFiles:
    """A checkpoint's two files, read once: their bytes and sha256, the parsed config and the weights'
    checked header. Handed down so that one build reads and hashes each file once."""

    directory: Path
    config_bytes: bytes  # config.json as read
    weights: bytes  # model.safetensors as read
    config_sha256: str
    weights_sha256: str
    config: dict
    task: Task
    training: TrainingRecord | None
    header: dict  # tensor name -> dtype, shape, offsets, checked against the file's size

    @property
    def weights_path(self) -> Path:
        return self.directory / WEIGHTS_FILE


@dataclass(frozen=True)
class Checkpoint:
    """A loaded checkpoint: the model, its task, and what config.json said."""

    model: Any  # TransformerBridge, in eval mode
    task: Task
    config: dict  # config.json as read
    training: TrainingRecord | None  # the typed "training" block, None when absent
    sha256: str  # of model.safetensors, for provenance


def save_checkpoint(model, config: dict, directory: Path) -> None:
    """Write config.json and model.safetensors into ``directory`` (which must exist)."""
    from reporter.model.build import weights_bytes

    (directory / WEIGHTS_FILE).write_bytes(weights_bytes(model))
    text = json.dumps(config, indent=2, sort_keys=True, allow_nan=False)
    (directory / CONFIG_FILE).write_text(text + "\n")


def read_file(path: Path, limit: int, what: str, folder: int) -> bytes:
    """``path``'s bytes, read once with a bound (the file may have changed since it was checked), inside the
    checkpoint folder opened as ``folder``."""
    try:
        return read_bounded(path.name, limit, what, folder=folder)
    except FileShapeError as error:
        raise CheckpointError(str(error)) from None
    except OSError as error:
        raise CheckpointError(f"{path} cannot be read: {error.strerror or error}.") from None


def read_checkpoint(directory: Path) -> CheckpointFiles:
    """Read a checkpoint's two files once and check what needs no TransformerLens: the config's blocks and
    sizes, and the weights' header against the file's size (`load_checkpoint` checks the rest). Both files are
    read from the one folder opened first: a checkpoint swapped in meanwhile (`train --force`) is never read
    half old, half new."""
    directory = Path(directory)
    if not directory.is_dir():
        raise CheckpointError(f"checkpoint directory {directory} does not exist.")
    try:
        folder = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as error:
        raise CheckpointError(f"checkpoint directory {directory} cannot be opened: {error.strerror}.") from None
    try:
        return read_files(directory, folder)
    finally:
        os.close(folder)


def read_files(directory: Path, folder: int) -> CheckpointFiles:
    from reporter.model.build import check_model_config
    from reporter.model.training_record import training_record

    path = directory / CONFIG_FILE
    if not path.is_file():
        raise CheckpointError(f"{path} is missing." if not path.exists() else f"{path} is not a regular file.")
    if path.stat().st_size > MAX_CONFIG_BYTES:
        raise CheckpointError(
            f"{path} is {path.stat().st_size} bytes, more than a config can need ({MAX_CONFIG_BYTES})."
        )
    config_bytes = read_file(path, MAX_CONFIG_BYTES, "a checkpoint's config", folder)
    try:
        config = json.loads(config_bytes.decode("utf-8"), parse_constant=refuse_constant)
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError, RecursionError) as error:
        raise CheckpointError(f"{path} is not valid JSON ({error}).") from None
    if not isinstance(config, dict) or not isinstance(config.get("model"), dict):
        raise CheckpointError(f'{path} has no "model" object.')
    if not isinstance(config.get("task"), dict):
        raise CheckpointError(f'{path} has no "task" object.')
    check_model_config(config["model"], str(path), check_keys=False)  # the keys: in load_checkpoint
    task = task_from_config(config, path)
    training = training_record(config.get("training"), path)
    weights_path = directory / WEIGHTS_FILE
    if not weights_path.is_file():
        raise CheckpointError(
            f"{weights_path} is missing." if not weights_path.exists() else f"{weights_path} is not a regular file."
        )
    size = os.stat(WEIGHTS_FILE, dir_fd=folder).st_size
    check_fits(size, f"reading {weights_path}")
    weights = read_file(weights_path, size, "a checkpoint's weights", folder)
    return CheckpointFiles(
        directory=directory,
        config_bytes=config_bytes,
        weights=weights,
        config_sha256=hashlib.sha256(config_bytes).hexdigest(),
        weights_sha256=hashlib.sha256(weights).hexdigest(),
        config=config,
        task=task,
        training=training,
        header=parse_header(weights, weights_path),
    )


def refuse_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def task_from_config(config: dict, path: Path) -> Task:
    """The task of a config, refused when it does not match the model's vocabulary."""
    block, model = config["task"], config["model"]
    p = block.get("modulus")
    if not isinstance(p, int) or isinstance(p, bool) or p < 2:
        raise CheckpointError(f"{path}: task modulus must be an integer of at least 2, not {p!r}.")
    task = Task(p)
    expected = {"d_vocab": task.d_vocab, "d_vocab_out": task.d_vocab_out, "n_ctx": len(POSITIONS)}
    for key, value in expected.items():
        if model.get(key) != value:
            raise CheckpointError(
                f"{path}: task modulus {p} needs model {key} = {value}, but the model has {model.get(key)!r}."
            )
    tokens = block.get("tokens", task.to_json()["tokens"])
    if tokens != task.to_json()["tokens"]:
        raise CheckpointError(f"{path}: task tokens {tokens} do not match modulus {p} (plus = p, equals = p + 1).")
    return task


def parse_header(data: bytes, path: Path) -> dict[str, dict]:
    """The tensors a safetensors file's bytes declare (name -> dtype, shape, offsets), checked against its
    size. Nothing the file declares is allocated."""
    size = len(data)
    if size < 8:
        raise CheckpointError(f"{path} is not a readable safetensors file (it is only {size} bytes).")
    (length,) = struct.unpack("<Q", data[:8])
    if length > min(MAX_HEADER_BYTES, size - 8):
        raise CheckpointError(f"{path} is not a readable safetensors file (its header claims {length} bytes).")
    raw = data[8 : 8 + length]
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise CheckpointError(f"{path} is not a readable safetensors file (its header is not JSON).") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{path} is not a readable safetensors file (its header is not an object).")
    header.pop("__metadata__", None)
    end = 0
    for name, entry in header.items():
        try:
            dtype, shape, (start, stop) = entry["dtype"], entry["shape"], entry["data_offsets"]
            n = 1
            for dim in shape:
                if isinstance(dim, bool) or not isinstance(dim, int) or dim < 0:
                    raise TypeError
                n *= dim
            if dtype not in DTYPES or not 0 <= start <= stop or stop - start != n * DTYPES[dtype]:
                raise TypeError
        except (TypeError, KeyError, ValueError):
            raise CheckpointError(
                f"{path} is not a readable safetensors file (tensor {name!r} is declared wrongly)."
            ) from None
        end = max(end, stop)
    if 8 + length + end != size:
        raise CheckpointError(
            f"{path} is not a readable safetensors file (it is {size} bytes, its header describes "
            f"{8 + length + end}: truncated or padded)."
        )
    return header


def check_shapes(header: dict[str, dict], config: dict, path: Path) -> None:
    """Refuse a file whose tensors differ from those the config's model has, before the model is built."""
    layers_held = {int(m[1]) for name in header if (m := re.match(r"blocks\.(\d+)\.", name))}
    if config["n_layers"] > len(layers_held):
        raise CheckpointError(
            f"{path}: the config asks for {config['n_layers']} layers, the file holds tensors for {len(layers_held)}."
        )
    import torch

    from reporter.model.build import build_model

    with torch.device("meta"):  # shapes only: nothing is allocated
        reference = dict(build_model(config).state_dict())
    missing = sorted(set(reference) - set(header))
    extra = sorted(set(header) - set(reference))
    if missing:
        raise CheckpointError(f"{path} lacks tensor {missing[0]!r} that the config's model needs.")
    if extra:
        raise CheckpointError(f"{path} has tensor {extra[0]!r} that the config's model does not have.")
    for name, expected in reference.items():
        found = header[name]
        if list(found["shape"]) != list(expected.shape):
            raise CheckpointError(
                f"{path}: tensor {name!r} has shape {found['shape']}, the config needs {list(expected.shape)}."
            )
        if found["dtype"] != "F32":
            raise CheckpointError(f"{path}: tensor {name!r} is {found['dtype']}, the config needs F32 (float32).")


def read_weights(data: bytes, path: Path) -> dict:
    """The tensors of a checked safetensors file's bytes; any value that is not finite is refused."""
    import torch
    from safetensors import SafetensorError
    from safetensors.torch import load

    try:
        weights = load(data)
    except (SafetensorError, OSError, ValueError, RuntimeError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise CheckpointError(f"{path} is not a readable safetensors file ({reason}).") from None
    for name, tensor in weights.items():
        if not bool(torch.isfinite(tensor).all()):
            raise CheckpointError(f"{path}: tensor {name!r} contains NaN or infinite values.")
    return weights


def load_checkpoint(checkpoint: Path | CheckpointFiles, dtype=None) -> Checkpoint:
    """Load and validate a checkpoint (a directory, or its files already read); any problem is one
    CheckpointError sentence.

    ``dtype=torch.float64`` runs the model in double precision (the analysis does: its
    numbers then do not depend on the CPU's float32 summation order)."""
    from reporter.model.build import build_model, check_model_config

    files = checkpoint if isinstance(checkpoint, CheckpointFiles) else read_checkpoint(checkpoint)
    config, task = files.config, files.task
    check_model_config(config["model"], str(files.directory / CONFIG_FILE))  # the keys, against TransformerLens
    check_shapes(files.header, config["model"], files.weights_path)
    m = config["model"]
    check_fits(  # the first p inputs' activations at every position, in float32, while the logits are checked
        task.modulus * 4 * (task.modulus + 4 * m["d_model"] + (m.get("d_mlp") or 0)) * 4 * 2,
        f"checking the logits of this model (p = {task.modulus})",
    )
    weights = read_weights(files.weights, files.weights_path)
    model = build_model(config["model"])
    model.load_state_dict(weights, strict=True)
    model.eval()
    check_logits(model, task, files.weights_path)  # in float32, the precision the weights were made for
    if dtype is not None:
        model.to(dtype, print_details=False)
    return Checkpoint(model=model, task=task, config=config, training=files.training, sha256=files.weights_sha256)


def check_logits(model, task: Task, path: Path) -> None:
    """Refuse weights that are finite but give NaN or infinite logits (checked on the first p inputs)."""
    import torch

    from reporter.model.task import all_pairs, tokens_for

    with torch.inference_mode():
        logits = model(tokens_for(task, *all_pairs(task, 0, task.modulus)))
    if not bool(torch.isfinite(logits).all()):
        raise CheckpointError(f"{path}: the weights are finite but give NaN or infinite logits.")
