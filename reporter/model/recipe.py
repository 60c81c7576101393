"""The training recipe: every choice of the training run in one table, with its reason.

Kept free of torch so that the command line can show the defaults at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from reporter.limits import check_fits, parameter_count, training_bytes

PLATEAU = 0.5  # training is on the plateau while more than half of the final `=` residual is input-independent
MAX_SEED = 2**63 - 1  # the largest seed that torch's generators and a checkpoint's training block both hold


@dataclass(frozen=True)
class Recipe:
    """How to train; the defaults are the shipped checkpoint's recipe (see benchmarks/README.md)."""

    modulus: int = 113  # p of a + b mod p
    n_layers: int = 3
    n_heads: int = 4
    d_model: int = 128
    d_mlp: int = 512
    act_fn: str = "relu"
    normalization_type: str | None = "LN"
    seed: int = 0  # seeds the init, the split and the batch order
    train_fraction: float = 0.9  # share of the p² inputs used for training; the rest is held out
    epochs: int = 50  # the most epochs to run
    batch_size: int = 256
    lr: float = 1e-3  # peak learning rate, the same for every parameter
    warmup_epochs: float = 1.0  # linear warm-up, then constant until the decay
    decay_start: float = 0.3  # cosine decay to 5% over the last 70% of `epochs`: the late phase is noise-limited
    weight_decay: float = 0.1
    decay_on_exit: float | None = None  # the weight decay from the epoch after the plateau is left (PLATEAU)
    decay_scores: bool = True  # False: the queries and keys never decay, so that decay leaves attention sharp
    beta1: float = 0.9
    beta2: float = 0.95  # a shorter second-moment memory than 0.98 steadied the slow seed (1) in our sweeps
    init_scale: float = 2.0  # initializer_range as a multiple of TL's default 0.8 / sqrt(d_model)
    unembed_scale: float = 0.1  # initial unembedding x 0.1: random initial logits cost 100x less, so the
    #                             optimiser has less reason to erase the inputs from the = residual
    patience: int = 2  # stop after this many consecutive epochs at 100% held-out accuracy
    tracking_size: int = 512  # inputs on which each layer's attention is measured after every epoch

    def model_config(self) -> dict:
        """The config.json ``model`` block this recipe trains."""
        from reporter.model.build import model_config
        from reporter.model.task import Task

        return model_config(
            Task(self.modulus),
            n_layers=self.n_layers,
            n_heads=self.n_heads,
            d_model=self.d_model,
            d_mlp=self.d_mlp,
            act_fn=self.act_fn,
            normalization_type=self.normalization_type,
            seed=self.seed,
            initializer_range=self.init_scale * 0.8 / math.sqrt(self.d_model),
        )


def validate(recipe: Recipe) -> None:
    """Refuse a recipe that cannot train, with one sentence."""
    if not 0 <= recipe.seed <= MAX_SEED:
        raise ValueError(f"the seed must be a whole number from 0 to {MAX_SEED}, not {recipe.seed}.")
    if not all(math.isfinite(x) for x in (recipe.lr, recipe.train_fraction)):
        raise ValueError("the learning rate and the train fraction must be finite numbers.")
    for name, value in (
        ("layers", recipe.n_layers),
        ("heads", recipe.n_heads),
        ("d_model", recipe.d_model),
        ("d_mlp", recipe.d_mlp),
    ):
        if value < 1:
            raise ValueError(f"the number of {name} must be at least 1, not {value}.")
    if recipe.modulus < 2:
        raise ValueError(f"the modulus must be at least 2, not {recipe.modulus}.")
    if not 0 < recipe.train_fraction < 1:
        raise ValueError(f"the train fraction must lie strictly between 0 and 1, not {recipe.train_fraction}.")
    n_train = round(recipe.train_fraction * recipe.modulus**2)
    if n_train < 1 or n_train >= recipe.modulus**2:
        raise ValueError(
            f"a train fraction of {recipe.train_fraction} leaves no train or no test input at p = {recipe.modulus}."
        )
    if recipe.epochs < 1 or recipe.batch_size < 1:
        raise ValueError("epochs and batch size must be at least 1.")
    if recipe.decay_on_exit is not None and not 0 <= recipe.decay_on_exit < 1e3:
        raise ValueError(f"the weight decay after the plateau must lie from 0 to 1000, not {recipe.decay_on_exit}.")
    if not 0 < recipe.lr < 1:
        raise ValueError(f"the learning rate must lie strictly between 0 and 1, not {recipe.lr}.")
    config = recipe.model_config()  # refuses unknown activations and norms, and sizes below 1
    shape = {
        key: config[key]
        for key in ("n_layers", "d_model", "n_heads", "d_head", "d_mlp", "d_vocab", "d_vocab_out", "n_ctx")
    }
    needed = training_bytes(
        recipe.modulus, parameter_count(**shape), recipe.batch_size, recipe.n_layers, recipe.d_model, recipe.d_mlp
    )
    check_fits(needed, f"training at p = {recipe.modulus} ({recipe.modulus**2} inputs) with this shape")


def initial_unembed_scale(recipe: dict | None) -> float:
    """The scale the trainer gave the initial unembedding, as a checkpoint's recorded recipe says; 1 (TransformerLens'
    own init) for a checkpoint with no such record, which this trainer did not start."""
    value = (recipe or {}).get("unembed_scale")
    return 1.0 if value is None else float(value)
