"""Build the model from its config, and save, load and validate checkpoints.

A checkpoint is a directory (contract 2 of DESIGN.md): ``config.json`` with the
blocks ``model`` (TransformerBridgeConfig fields, passed to
``TransformerBridge.boot_native`` unchanged), ``task`` and optionally
``training``, and ``model.safetensors`` holding the bridge's ``state_dict()``.
Loading never unpickles: JSON and safetensors only.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reporter.task import POSITIONS, Task

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
ACTIVATIONS = ("relu", "gelu", "gelu_new", "silu", "swish", "solu")
NORMALIZATIONS = ("LN", "RMS", "LNPre", "RMSPre", None)


class CheckpointError(ValueError):
    """A checkpoint or model config that cannot be used; the message is one sentence for the user."""


@dataclass(frozen=True)
class Checkpoint:
    """A loaded checkpoint: the model, its task, and what config.json said."""

    model: Any  # TransformerBridge, in eval mode
    task: Task
    config: dict
    sha256: str  # of model.safetensors, for provenance


def model_config(
    task: Task,
    *,
    n_layers: int,
    n_heads: int,
    d_model: int,
    d_mlp: int,
    act_fn: str = "relu",
    normalization_type: str | None = "LN",
    seed: int = 0,
    initializer_range: float = -1.0,
) -> dict:
    """The ``model`` block of config.json for this task and shape."""
    if d_model % n_heads:
        raise CheckpointError(f"d_model {d_model} is not divisible by {n_heads} heads.")
    if act_fn not in ACTIVATIONS:
        raise CheckpointError(f"unknown activation {act_fn!r}; choose one of {', '.join(ACTIVATIONS)}.")
    if normalization_type not in NORMALIZATIONS:
        names = ", ".join(str(n) for n in NORMALIZATIONS)
        raise CheckpointError(f"unknown normalisation {normalization_type!r}; choose one of {names}.")
    return {
        "n_layers": n_layers,
        "n_heads": n_heads,
        "d_model": d_model,
        "d_head": d_model // n_heads,
        "d_mlp": d_mlp,
        "act_fn": act_fn,
        "normalization_type": normalization_type,
        "d_vocab": task.d_vocab,
        "d_vocab_out": task.d_vocab_out,
        "n_ctx": len(POSITIONS),
        "seed": seed,
        "init_mode": "gpt2",
        "initializer_range": initializer_range,
    }


def known_config_keys() -> set[str]:
    """Every key ``boot_native`` reads; any other key would be dropped without a word."""
    from transformer_lens.config import TransformerBridgeConfig

    keys: set[str] = set()
    for cls in TransformerBridgeConfig.__mro__:
        try:
            keys.update(inspect.signature(cls).parameters)
        except (TypeError, ValueError):
            continue
    return keys - {"self", "args", "kwargs"}


def build_model(config: dict):
    """A fresh TransformerBridge (seeded init) from the ``model`` block of config.json."""
    from transformer_lens.model_bridge import TransformerBridge

    unknown = sorted(set(config) - known_config_keys())
    if unknown:
        raise CheckpointError(
            f"model config key {unknown[0]!r} is not a TransformerBridgeConfig field "
            "(TransformerLens would silently ignore it)."
        )
    try:
        return TransformerBridge.boot_native(dict(config))
    except (ValueError, TypeError, NotImplementedError, AssertionError) as error:
        raise CheckpointError(f"TransformerLens cannot build this model config: {error}") from None


def weights_bytes(model) -> bytes:
    """The model.safetensors content of a model: its state_dict, serialised."""
    from safetensors.torch import save

    return save({name: tensor.detach().contiguous().clone() for name, tensor in model.state_dict().items()})


def save_checkpoint(model, config: dict, directory: Path) -> None:
    """Write config.json and model.safetensors into ``directory`` (which must exist)."""

    (directory / WEIGHTS_FILE).write_bytes(weights_bytes(model))
    text = json.dumps(config, indent=2, sort_keys=True, allow_nan=False)
    (directory / CONFIG_FILE).write_text(text + "\n")


def read_config(directory: Path) -> tuple[dict, Task]:
    """config.json of a checkpoint and its task, with the ``model`` and ``task`` blocks checked."""
    if not directory.is_dir():
        raise CheckpointError(f"checkpoint directory {directory} does not exist.")
    path = directory / CONFIG_FILE
    if not path.is_file():
        raise CheckpointError(f"{path} is missing.")
    try:
        config = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CheckpointError(f"{path} is not valid JSON ({error}).") from None
    if not isinstance(config, dict) or not isinstance(config.get("model"), dict):
        raise CheckpointError(f"{path} has no \"model\" object.")
    if not isinstance(config.get("task"), dict):
        raise CheckpointError(f"{path} has no \"task\" object.")
    return config, task_from_config(config, path)


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


def read_weights(path: Path) -> dict:
    """The tensors of a safetensors file, refused with one sentence when it is unreadable."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    if not path.is_file():
        raise CheckpointError(f"{path} is missing.")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise CheckpointError(f"{path} is not a readable safetensors file ({reason}).") from None


def check_weights(weights: dict, reference: dict, path: Path) -> None:
    """Refuse weights whose names, shapes or dtypes differ from the config's model, or that are not finite."""
    import torch

    missing = sorted(set(reference) - set(weights))
    extra = sorted(set(weights) - set(reference))
    if missing:
        raise CheckpointError(f"{path} lacks tensor {missing[0]!r} that the config's model needs.")
    if extra:
        raise CheckpointError(f"{path} has tensor {extra[0]!r} that the config's model does not have.")
    for name, expected in reference.items():
        found = weights[name]
        if tuple(found.shape) != tuple(expected.shape):
            raise CheckpointError(
                f"{path}: tensor {name!r} has shape {list(found.shape)}, the config needs {list(expected.shape)}."
            )
        if found.dtype != expected.dtype:
            raise CheckpointError(f"{path}: tensor {name!r} is {found.dtype}, the config needs {expected.dtype}.")
        if not bool(torch.isfinite(found).all()):
            raise CheckpointError(f"{path}: tensor {name!r} contains NaN or infinite values.")


def load_checkpoint(directory: Path) -> Checkpoint:
    """Load and validate a checkpoint directory; any problem is one CheckpointError sentence."""
    directory = Path(directory)
    config, task = read_config(directory)
    weights_path = directory / WEIGHTS_FILE
    weights = read_weights(weights_path)
    model = build_model(config["model"])
    check_weights(weights, model.state_dict(), weights_path)
    model.load_state_dict(weights, strict=True)
    model.eval()
    digest = hashlib.sha256(weights_path.read_bytes()).hexdigest()
    return Checkpoint(model=model, task=task, config=config, sha256=digest)

