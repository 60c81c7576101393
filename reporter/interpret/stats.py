"""Attention statistics from the `=` position, over all p² inputs and on chosen pairs.

Numbers only: the attention from `=` to the four positions and the model's answers come from the
one hook pass of measure/capture.py (`Attention`), and everything here is arithmetic on that array.
Statistics are computed once; labels and findings only read them. Nothing is rounded here:
report.json and the pages round.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np
import torch

from reporter.measure.capture import Attention
from reporter.model.task import POSITION_KEYS, Task, all_pairs, head_name, split_indices

A, PLUS, B, EQUALS = range(4)  # key positions
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


class PairError(ValueError):
    """A --pairs value that cannot be read; the message names the bad pair."""


MAX_PAIRS = 12  # pairs drawn in full; more would make the pairs figure unreadable
MAX_DIGITS = 9  # an operand has at most this many digits: no modulus that fits in memory is larger
PAIR = re.compile(rf"\s*([0-9]{{1,{MAX_DIGITS}}})\s*\+\s*([0-9]{{1,{MAX_DIGITS}}})\s*", re.ASCII)


def parse_pairs(text: str, modulus: int | None = None) -> list[tuple[int, int]]:
    """Read "5+8, 90+90" into [(5, 8), (90, 90)]; with ``modulus``, each a and b must lie in [0, p)."""
    items = text.split(",")
    if len(items) > MAX_PAIRS:
        raise PairError(f"{len(items)} pairs are too many to draw; give at most {MAX_PAIRS}.")
    pairs: list[tuple[int, int]] = []
    for item in items:
        match = PAIR.fullmatch(item)
        if not match:
            raise PairError(
                f"pair {item.strip()[:40]!r} is not of the form a+b with whole numbers a and b of at most "
                f"{MAX_DIGITS} digits (e.g. 5+8)."
            )
        a, b = int(match[1]), int(match[2])
        if modulus is not None and (a >= modulus or b >= modulus):
            raise PairError(f"pair {item.strip()!r} is out of range: a and b must lie in [0, {modulus}).")
        if (a, b) in pairs:
            raise PairError(f"pair {item.strip()!r} is given twice.")
        pairs.append((a, b))
    return pairs


SEED_PAIRS = ((5, 8), (90, 90), (50, 0))  # the pairs the original write-up looked at, for p = 113


def default_pairs(modulus: int) -> list[tuple[int, int]]:
    """The original write-up's pairs, each scaled from p = 113 to this modulus when it does not fit."""
    pairs = []
    for a, b in SEED_PAIRS:
        if max(a, b) >= modulus:
            a, b = (min(modulus - 1, round(x * modulus / 113)) for x in (a, b))
        if (a, b) not in pairs:
            pairs.append((a, b))
    return pairs


def normalised_entropy(weights: np.ndarray | torch.Tensor):
    """Entropy over the last axis (the key positions) divided by log(n_keys): 0 = one position, 1 = uniform."""
    log = np.log(np.maximum(weights, 1e-12)) if isinstance(weights, np.ndarray) else weights.clamp_min(1e-12).log()
    return -(weights * log).sum(-1) / math.log(weights.shape[-1])


@dataclass(frozen=True)
class SwitchRule:
    """What decides whether a head prefers `a` or `b` on an input."""

    rule: str  # the best simple rule for "prefers a", e.g. "a > b"
    agreement: float  # share of inputs on which the rule predicts the preference
    explained_by_a: float  # share of the a-share's variance explained by a alone (R²)
    explained_by_b: float  # likewise by b alone
    explained_by_sum: float  # likewise by (a + b) mod p, the answer
    additive_agreement: float  # share of inputs whose preference the additive fit mean + f(a) + g(b) predicts


@dataclass(frozen=True)
class HeadStats:
    """Where one head's attention from `=` goes, over all inputs. Weights are in [0, 1]."""

    layer: int
    head: int
    mean: dict  # position key -> mean weight over inputs
    std: dict  # position key -> standard deviation over inputs
    quantiles: dict  # position key -> weights at QUANTILES
    argmax_share: dict  # position key -> share of inputs on which it gets the most attention
    entropy: float  # mean over inputs of entropy / log(4): 0 = one position, 1 = uniform
    mean_max: float  # mean over inputs of the largest weight: 1 = perfectly sharp, 0.25 = uniform
    a_share_mean: float  # mean over inputs of a / (a + b)
    a_share_std: float
    bimodality: float  # Sarle's coefficient of the a-share: > 5/9 suggests two modes
    switch: SwitchRule
    weights: np.ndarray = field(repr=False, compare=False)  # [input, key]: the per-input distribution labels read
    a_share: np.ndarray = field(repr=False, compare=False)  # [input] a / (a + b)

    @property
    def name(self) -> str:
        return head_name(self.layer, self.head)


@dataclass(frozen=True)
class LayerStats:
    """Averages over one layer's heads (each head weighted equally)."""

    layer: int
    mean: dict  # position key -> mean weight
    entropy: float
    mean_max: float


@dataclass(frozen=True)
class Stats:
    """Everything the labels, findings, figures and pages read."""

    task: Task
    n_layers: int
    n_heads: int
    accuracy: dict  # "all", "train", "test" (train/test only when the split is known)
    heads: list[HeadStats]
    layers: list[LayerStats]
    pairs: list[dict]  # {"pair": "5+8", "a": 5, "b": 8, "correct": bool, "heads": [{layer, head, attention}]}
    a_share_grid: np.ndarray  # [layer, head, a, b] a / (a + b), for heat maps


def by_position(values) -> dict:
    return {key: float(v) for key, v in zip(POSITION_KEYS, values, strict=True)}


def r_squared(values: np.ndarray, groups: np.ndarray, n_groups: int) -> float:
    """Share of the variance of ``values`` explained by their group means (one-way ANOVA R²)."""
    total = values.var()
    if total < 1e-12:
        return 0.0
    counts = np.bincount(groups, minlength=n_groups)
    means = np.bincount(groups, weights=values, minlength=n_groups) / np.maximum(counts, 1)
    return float(((means[groups] - values.mean()) ** 2).mean() / total)


def switch_rule(a_share: np.ndarray, task: Task) -> SwitchRule:
    """Test simple rules for "prefers a over b" against the data; ``a_share`` is [input]."""
    a, b = (x.numpy() for x in all_pairs(task))
    p = task.modulus
    prefers_a = a_share > 0.5
    candidates = {
        "a > b": a > b,
        "a < b": a < b,
        "a + b ≥ p": a + b >= p,
        "a + b < p": a + b < p,
        "a ≥ p/2": 2 * a >= p,
        "a < p/2": 2 * a < p,
        "b ≥ p/2": 2 * b >= p,
        "b < p/2": 2 * b < p,
        "a = b": a == b,
        "always": np.ones_like(prefers_a),
        "never": np.zeros_like(prefers_a),
    }
    agreement = {rule: float((predicted == prefers_a).mean()) for rule, predicted in candidates.items()}
    grid = a_share.reshape(p, p)  # [a, b]
    additive = grid.mean(1, keepdims=True) + grid.mean(0, keepdims=True) - grid.mean()  # [a, b]
    best = max(agreement, key=lambda rule: (agreement[rule], -list(candidates).index(rule)))
    return SwitchRule(
        rule=best,
        agreement=agreement[best],
        explained_by_a=r_squared(a_share, a, p),
        explained_by_b=r_squared(a_share, b, p),
        explained_by_sum=r_squared(a_share, (a + b) % p, p),
        additive_agreement=float(((additive > 0.5) == (grid > 0.5)).mean()),
    )


def bimodality_coefficient(x: np.ndarray) -> float:
    """Sarle's bimodality coefficient (skew² + 1) / kurtosis; 5/9 for a uniform distribution."""
    centred = x - x.mean()
    var = (centred**2).mean()
    if var < 1e-12:
        return 0.0
    skew = (centred**3).mean() / var**1.5
    kurtosis = (centred**4).mean() / var**2
    return float((skew**2 + 1) / kurtosis)


def a_share_of(w: np.ndarray) -> np.ndarray:
    """a / (a + b) per input and head: [input, ...] from weights [input, ..., key]."""
    return w[..., A] / np.maximum(w[..., A] + w[..., B], 1e-12)


def head_stats(layer: int, head: int, w: np.ndarray, a_share: np.ndarray, task: Task) -> HeadStats:
    """Statistics of one head from its weights ``w`` [input, key] and a-share [input]."""
    argmax = np.bincount(w.argmax(-1), minlength=4) / len(w)
    return HeadStats(
        layer=layer,
        head=head,
        mean=by_position(w.mean(0)),
        std=by_position(w.std(0)),
        quantiles={
            k: [float(q) for q in qs] for k, qs in zip(POSITION_KEYS, np.quantile(w, QUANTILES, axis=0).T, strict=True)
        },
        argmax_share=by_position(argmax),
        entropy=float(normalised_entropy(w).mean()),
        mean_max=float(w.max(-1).mean()),
        a_share_mean=float(a_share.mean()),
        a_share_std=float(a_share.std()),
        bimodality=bimodality_coefficient(a_share),
        switch=switch_rule(a_share, task),
        weights=w,
        a_share=a_share,
    )


def compute_stats(attention: Attention, pairs: list[tuple[int, int]], split: tuple[float, int] | None = None) -> Stats:
    """All statistics from one pass's attention; ``split`` = (train_fraction, seed) recovers train/test."""
    task, w = attention.task, attention.weights  # w: [input, layer, head, key]
    p = task.modulus
    a_share = a_share_of(w).transpose(1, 2, 0)  # [layer, head, input]
    heads = [
        head_stats(layer, head, w[:, layer, head], a_share[layer, head], task)
        for layer in range(attention.n_layers)
        for head in range(attention.n_heads)
    ]
    layers = []
    for layer in range(attention.n_layers):
        members = [h for h in heads if h.layer == layer]
        layers.append(
            LayerStats(
                layer=layer,
                mean=by_position(w[:, layer].mean((0, 1))),
                entropy=float(np.mean([h.entropy for h in members])),
                mean_max=float(np.mean([h.mean_max for h in members])),
            )
        )
    accuracy = {"all": float(attention.correct.mean())}
    if split is not None:
        train_idx, test_idx = split_indices(task, *split)
        accuracy["train"] = float(attention.correct[train_idx.numpy()].mean())
        accuracy["test"] = float(attention.correct[test_idx.numpy()].mean())
    pair_rows = [
        {
            "pair": f"{a}+{b}",
            "a": a,
            "b": b,
            "answer": (a + b) % p,
            "correct": bool(attention.correct[a * p + b]),
            "heads": [
                {
                    "layer": layer,
                    "head": head,
                    "name": head_name(layer, head),
                    "attention": by_position(w[a * p + b, layer, head]),
                }
                for layer in range(attention.n_layers)
                for head in range(attention.n_heads)
            ],
        }
        for a, b in pairs
    ]
    return Stats(
        task=task,
        n_layers=attention.n_layers,
        n_heads=attention.n_heads,
        accuracy=accuracy,
        heads=heads,
        layers=layers,
        pairs=pair_rows,
        a_share_grid=a_share.reshape(attention.n_layers, attention.n_heads, p, p),
    )
