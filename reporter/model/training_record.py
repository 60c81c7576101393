"""The ``training`` block of a checkpoint's config.json, read once and typed.

Every field is optional (a checkpoint written by anyone who follows contract 2 may
leave it out), but a field that is present must have its type: `check` and `build`
refuse the same blocks with the same sentence.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from reporter.model.checkpoint import CheckpointError
from reporter.model.recipe import MAX_SEED

SCALARS = (str, int, float, bool, type(None))


@dataclass(frozen=True)
class LayerTrack:
    """One layer, measured after an epoch on a fixed sample of inputs."""

    entropy: float  # mean normalised entropy of attention from `=`
    mean_max: float  # mean largest attention weight from `=`
    constant_share: float  # share of the `=` residual's squared norm that is the same for every input


@dataclass(frozen=True)
class Epoch:
    epoch: int
    train_loss: float
    train_accuracy: float
    test_loss: float
    test_accuracy: float
    wall_time: float | None
    layers: tuple[LayerTrack, ...]


@dataclass(frozen=True)
class TrainingRecord:
    """How a checkpoint was trained, as far as its config says."""

    recipe: dict  # field -> scalar, as the trainer wrote it
    seed: int | None
    train_fraction: float | None
    n_train: int | None
    n_test: int | None
    epochs_run: int | None
    first_perfect_epoch: int | None  # first epoch at 100% held-out accuracy
    stopped_early: bool | None
    final: dict  # "train_loss", "train_accuracy", "test_loss", "test_accuracy" -> float (those present)
    tracked_inputs: int | None  # inputs the per-epoch layer measurements were taken on
    history: tuple[Epoch, ...]

    @property
    def split(self) -> tuple[float, int] | None:
        """(train_fraction, seed) when the split can be recovered, else None."""
        if self.train_fraction is None or self.seed is None:
            return None
        return self.train_fraction, self.seed


class Reader:
    """Typed reads from one JSON object; a wrong type is one CheckpointError naming the field."""

    def __init__(self, block, where: str, path: Path):
        if not isinstance(block, dict):
            raise CheckpointError(f"{path}: {where} must be an object, not {type(block).__name__}.")
        self.block, self.where, self.path = block, where, path

    def fail(self, key: str, wanted: str):
        raise CheckpointError(f"{self.path}: {self.where}.{key} must be {wanted}, not {self.block[key]!r:.60}.")

    def integer(self, key: str, low: int = 0, high: int | None = None) -> int | None:
        value = self.block.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < low):
            self.fail(key, f"a whole number of at least {low}")
        if value is not None and high is not None and value > high:
            self.fail(key, f"a whole number from {low} to {high}")
        return value

    def fraction(self, key: str) -> float | None:
        """A share that must leave inputs on both sides: strictly between 0 and 1."""
        value = self.number(key, share=True)
        if value is not None and not 0 < value < 1:
            self.fail(key, "a number strictly between 0 and 1")
        return value

    def number(self, key: str, share: bool = False) -> float | None:
        value = self.block.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (share and not 0 <= value <= 1):
            self.fail(key, "a number in [0, 1]" if share else "a number")
        return float(value)

    def flag(self, key: str) -> bool | None:
        value = self.block.get(key)
        if value is not None and not isinstance(value, bool):
            self.fail(key, "true or false")
        return value

    def child(self, key: str) -> Reader:
        return Reader(self.block.get(key) or {}, f"{self.where}.{key}", self.path)

    def items(self, key: str) -> list:
        value = self.block.get(key) or []
        if not isinstance(value, list):
            self.fail(key, "a list")
        return value


def epoch_record(block, where: str, path: Path) -> Epoch:
    read = Reader(block, where, path)
    values = {
        key: read.number(key, share="accuracy" in key)
        for key in ("train_loss", "train_accuracy", "test_loss", "test_accuracy")
    }
    if read.integer("epoch", 1) is None or any(v is None for v in values.values()):
        raise CheckpointError(f"{path}: {where} needs epoch, train_loss, train_accuracy, test_loss and test_accuracy.")
    layers = []
    for i, layer in enumerate(read.items("layers")):
        track = Reader(layer, f"{where}.layers[{i}]", path)
        numbers = [track.number(key, share=True) for key in ("entropy", "mean_max", "constant_share")]
        if any(n is None for n in numbers):
            raise CheckpointError(f"{path}: {where}.layers[{i}] needs entropy, mean_max and constant_share.")
        layers.append(LayerTrack(*numbers))
    return Epoch(epoch=block["epoch"], wall_time=read.number("wall_time"), layers=tuple(layers), **values)


def training_record(block, path: Path) -> TrainingRecord | None:
    """The typed training block of a config (None when there is none)."""
    if block is None:
        return None
    read = Reader(block, "training", path)
    recipe = read.block.get("recipe") or {}
    if not isinstance(recipe, dict) or not all(isinstance(v, SCALARS) for v in recipe.values()):
        raise CheckpointError(f"{path}: training.recipe must be an object of plain values.")
    Reader(recipe, "training.recipe", path).number("unembed_scale")  # the start point of the untrained baseline
    split, final, tracking = read.child("split"), read.child("final"), read.child("tracking")
    history = tuple(epoch_record(e, f"training.history[{i}]", path) for i, e in enumerate(read.items("history")))
    if len({len(e.layers) for e in history}) > 1:
        raise CheckpointError(f"{path}: training.history records different numbers of layers from epoch to epoch.")
    return TrainingRecord(
        recipe=recipe,
        seed=read.integer("seed", high=MAX_SEED),
        train_fraction=split.fraction("train_fraction"),
        n_train=split.integer("n_train"),
        n_test=split.integer("n_test"),
        epochs_run=read.integer("epochs_run"),
        first_perfect_epoch=read.integer("first_perfect_epoch", 1),
        stopped_early=read.flag("stopped_early"),
        final={
            key: value
            for key in ("train_loss", "train_accuracy", "test_loss", "test_accuracy")
            if (value := final.number(key, share="accuracy" in key)) is not None
        },
        tracked_inputs=tracking.integer("n_inputs"),
        history=history,
    )
