"""How the cache turns the stages' values into JSON and arrays and back, checking every value on the way back
(the cache is an input: cache.py), and the digest that keys a figure by the values it draws."""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
import math
import types
import typing
from pathlib import Path

import numpy as np


class Damaged(ValueError):
    """A cache entry that fails a check: it is measured again (the message names the check)."""


def encode(value, arrays: dict):
    """A JSON-able copy of ``value``; arrays go into ``arrays`` and are referred to by name."""
    if dataclasses.is_dataclass(value):
        return {f.name: encode(getattr(value, f.name), arrays) for f in dataclasses.fields(value)}
    if isinstance(value, np.ndarray):
        name = f"array{len(arrays)}"
        arrays[name] = value
        return {"array": name}
    if isinstance(value, (list, tuple)):
        return [encode(v, arrays) for v in value]
    if isinstance(value, dict):
        return {key: encode(v, arrays) for key, v in value.items()}
    if isinstance(value, (np.floating, np.integer, np.bool_)):
        return value.item()
    return value


def decode(kind, data, arrays: dict):
    """The value of type ``kind`` that `encode` turned into ``data``, checked as it is built: a dataclass has
    exactly its fields, a number is a finite number, an array is a numeric one whose values are finite, a
    string is a string. Anything else raises Damaged."""
    origin = typing.get_origin(kind)
    if origin in (types.UnionType, typing.Union):
        options = [k for k in typing.get_args(kind) if k is not type(None)]
        return None if data is None else decode(options[0], data, arrays)
    if dataclasses.is_dataclass(kind):
        names = [f.name for f in dataclasses.fields(kind)]
        if not isinstance(data, dict) or sorted(data) != sorted(names):
            raise Damaged(f"{kind.__name__} does not have its fields")
        hints = typing.get_type_hints(kind)
        return kind(**{name: decode(hints[name], data[name], arrays) for name in names})
    if kind is np.ndarray:
        array = arrays.get(data.get("array")) if isinstance(data, dict) else None
        if array is None or array.dtype.kind not in "biuf" or not np.isfinite(array).all():
            raise Damaged("an array is missing, not numeric or not finite")
        return array
    if origin in (list, tuple):
        args = typing.get_args(kind)
        if not isinstance(data, list):
            raise Damaged("a list is not a list")
        if origin is tuple and Ellipsis not in args:  # a fixed tuple: one type per place
            if len(data) != len(args):
                raise Damaged("a tuple does not have its length")
            return tuple(decode(item, v, arrays) for item, v in zip(args, data, strict=True))
        return [decode(args[0], v, arrays) for v in data]
    if origin is dict or kind is dict:
        if not isinstance(data, dict):
            raise Damaged("a table is not a table")
        if not typing.get_args(kind):
            return {key: checked_plain(v) for key, v in data.items()}
        key_kind, value_kind = typing.get_args(kind)
        return {decoded_key(key_kind, key): decode(value_kind, v, arrays) for key, v in data.items()}
    if kind is float:
        if isinstance(data, bool) or not isinstance(data, (int, float)) or not math.isfinite(data):
            raise Damaged("a number is not a finite number")
        return float(data)
    if kind is int or kind is bool or kind is str:
        if type(data) is not kind:
            raise Damaged(f"a {kind.__name__} is not one")
        return data
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        try:
            return kind(data)
        except ValueError:
            raise Damaged(f"{data!r:.40} is not a {kind.__name__}") from None
    raise Damaged(f"a value of type {kind} cannot come from the cache")


def decoded_key(kind, key: str):
    """A typed table's key as JSON wrote it (a string): an int key back to an int, a str key as it is."""
    if kind is int and isinstance(key, str) and key.lstrip("-").isdigit() and len(key) <= 20:
        return int(key)
    if kind is str and isinstance(key, str):
        return key
    raise Damaged(f"a table's key {key!r:.40} is not a {getattr(kind, '__name__', kind)}")


def checked_plain(value):
    """A JSON value of a free-form table: finite numbers, strings, booleans, None, lists and tables of them."""
    if isinstance(value, dict):
        return {key: checked_plain(v) for key, v in value.items()}
    if isinstance(value, list):
        return [checked_plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        raise Damaged("a number is not finite")
    return value


def not_finite(constant: str):
    raise Damaged(f"it holds {constant}, not a finite number")


def digest(value) -> str:
    """sha256 of a value made of dataclasses, arrays, lists, dicts, enums and plain numbers and strings: two
    values with the same digest draw the same figure. Anything else is a TypeError, never a guess."""
    arrays: dict = {}
    text = json.dumps(plain(encode(value, arrays)), sort_keys=True, allow_nan=True)
    hashed = hashlib.sha256(text.encode())
    for name in sorted(arrays, key=lambda n: int(n.removeprefix("array"))):
        array = np.ascontiguousarray(arrays[name])
        hashed.update(f"{name}{array.dtype.str}{array.shape}".encode())
        hashed.update(array.tobytes())
    return hashed.hexdigest()


def plain(value):
    """``value`` (as `encode` left it) with enums as their values; refuses what JSON would only stringify."""
    if isinstance(value, dict):
        return {str(key): plain(v) for key, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, enum.Enum):
        return [type(value).__name__, plain(value.value)]
    if isinstance(value, Path):
        return str(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"cannot key a figure by a {type(value).__name__}")


def fits_checkpoint(values: tuple, n_inputs: int, n_layers: int, n_heads: int, n_ctx: int = 4) -> None:
    """Raise Damaged unless cached measurements (or a baseline) have the shapes of this checkpoint's: the
    attention from `=` [input, layer, head, key] a distribution, the correctness [input] booleans, a content
    row per layer input and position, a write (and an intervention) per head."""
    for value in values:
        weights, correct = value.weights, value.correct
        if weights.shape != (n_inputs, n_layers, n_heads, n_ctx) or weights.min() < 0 or weights.max() > 1:
            raise Damaged("its attention does not have this checkpoint's shape")
        if correct.shape != (n_inputs,) or correct.dtype != np.bool_:
            raise Damaged("its correctness does not have this checkpoint's shape")
        if not np.allclose(weights.sum(-1), 1, atol=1e-6):
            raise Damaged("its attention is not a distribution over the positions")
        if len(value.contents) != (n_layers + 1) * n_ctx or len(value.writes) != n_layers * n_heads:
            raise Damaged("it does not describe every position and head of this checkpoint")
        heads = getattr(value, "effects", None) or getattr(value, "ablations", None) or []
        if len(heads) != n_layers * n_heads:
            raise Damaged("it does not hold an intervention on every head of this checkpoint")
        circuit = getattr(value, "circuit", None)
        if circuit is not None and not circuit_fits(circuit, n_layers, n_heads):
            raise Damaged("its circuit does not describe every block and head of this checkpoint")


def circuit_fits(circuit, n_layers: int, n_heads: int) -> bool:
    """Cached circuit measurements name this checkpoint's heads and blocks, one stage after each block."""
    names = [f"L{layer}H{head}" for layer in range(n_layers) for head in range(n_heads)]
    blocks = len(circuit.components.components)
    return (
        circuit.agreement.heads == names
        and circuit.agreement.matrix.shape == (len(names), len(names))
        and blocks in (n_layers, 2 * n_layers)
        and len(circuit.stages) == blocks + 1
        and len(circuit.neurons) in (0, n_layers)
        and set(circuit.components.single_heads) == set(names)
    )
