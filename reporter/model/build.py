"""Build the model from the ``model`` block of a checkpoint's config.json.

The block holds TransformerBridgeConfig fields, passed to
``TransformerBridge.boot_native`` unchanged (contract 2). boot_native drops keys it
does not know without a word, so unknown keys are refused here; sizes are checked to
be positive whole numbers before anything is built.
"""

from __future__ import annotations

import inspect

from reporter.model.checkpoint import CheckpointError
from reporter.model.keys import ACTIVATIONS, NORMALIZATIONS
from reporter.model.task import POSITIONS, Task

SIZES = ("n_layers", "n_heads", "d_model", "d_head", "d_mlp", "d_vocab", "d_vocab_out", "n_ctx")


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
    for name, value in (("layers", n_layers), ("heads", n_heads), ("d_model", d_model), ("d_mlp", d_mlp)):
        if value < 1:
            raise CheckpointError(f"the number of {name} must be at least 1, not {value}.")
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


def check_model_config(config: dict, where: str, check_keys: bool = True) -> None:
    """Refuse unknown keys and sizes that are not positive whole numbers, before anything is built."""
    unknown = sorted(set(config) - known_config_keys()) if check_keys else []
    if unknown:
        raise CheckpointError(
            f"{where}: model config key {unknown[0]!r} is not a TransformerBridgeConfig field "
            "(TransformerLens would silently ignore it)."
        )
    norm = config.get("normalization_type")
    if norm is not None and (not isinstance(norm, str) or norm.upper() not in {n.upper() for n in NORMALIZATIONS if n}):
        names = ", ".join(str(n) for n in NORMALIZATIONS)
        raise CheckpointError(f"{where}: model normalization_type must be one of {names}, not {norm!r}.")
    act = config.get("act_fn")
    if not config.get("attn_only") and act is not None and (not isinstance(act, str) or act.lower() not in ACTIVATIONS):
        raise CheckpointError(f"{where}: model act_fn must be one of {', '.join(ACTIVATIONS)}, not {act!r}.")
    for key in SIZES:
        value = config.get(key)
        if key == "d_mlp" and (value is None or config.get("attn_only")):
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise CheckpointError(f"{where}: model {key} must be a whole number of at least 1, not {value!r}.")


def build_model(config: dict, *, device: str | None = None, dtype=None):
    """A fresh TransformerBridge (seeded init) from the ``model`` block of config.json. Inside
    ``with torch.device("meta")`` it builds the shapes only and allocates nothing."""
    from transformer_lens.model_bridge import TransformerBridge

    check_model_config(config, "config.json")
    try:
        return TransformerBridge.boot_native(dict(config), device=device, dtype=dtype)
    except (ValueError, TypeError, NotImplementedError, AssertionError, RuntimeError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise CheckpointError(f"TransformerLens cannot build this model config: {reason}") from None


def weights_bytes(model) -> bytes:
    """The model.safetensors content of a model: its state_dict, serialised."""
    from safetensors.torch import save

    return save({name: tensor.detach().contiguous().clone() for name, tensor in model.state_dict().items()})
