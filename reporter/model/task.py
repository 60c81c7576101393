"""The modular-addition task: tokens, all p² inputs, the train/test split.

Sequence ``[a, "+", b, "="]``; ``a`` and ``b`` are ids in [0, p), ``"+"`` is p,
``"="`` is p + 1. The answer ``(a + b) mod p`` is read at the ``=`` position.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

POSITIONS = ("a", "+", "b", "=")  # what each of the 4 positions holds
POSITION_KEYS = ("a", "plus", "b", "equals")  # the same, as JSON-safe keys
TOKEN_OF = dict(zip(POSITION_KEYS, POSITIONS, strict=True))  # position key -> its token: "plus" -> "+"
EQUALS_POS = 3  # the query position every statistic reads from
B_POS = POSITIONS.index("b")  # the first position that sees b: those before it depend on a alone


@dataclass(frozen=True)
class Task:
    """a + b mod p, for one modulus p."""

    modulus: int

    @property
    def plus(self) -> int:
        return self.modulus

    @property
    def equals(self) -> int:
        return self.modulus + 1

    @property
    def d_vocab(self) -> int:
        return self.modulus + 2

    @property
    def d_vocab_out(self) -> int:
        return self.modulus

    @property
    def n_inputs(self) -> int:
        return self.modulus**2

    def to_json(self) -> dict:
        """The ``task`` block of a checkpoint's config.json (contract 2)."""
        return {
            "modulus": self.modulus,
            "tokens": {"plus": self.plus, "equals": self.equals},
            "sequence": list(POSITIONS),
        }


def head_name(layer: int, head: int) -> str:
    """The name every page, figure and file uses for a head: "L1H3"."""
    return f"L{layer}H{head}"


def tokens_for(task: Task, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Token ids for the pairs (a[i], b[i]). Returns [batch, 4] int64."""
    plus = torch.full_like(a, task.plus)
    equals = torch.full_like(a, task.equals)
    return torch.stack([a, plus, b, equals], dim=1)


def all_pairs(
    task: Task, start: int = 0, stop: int | None = None, device: torch.device | str | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """(a, b) for input indices [start, stop) of the p² inputs, index = a * p + b, on ``device`` (default: CPU)."""
    stop = task.n_inputs if stop is None else min(stop, task.n_inputs)
    index = torch.arange(start, stop, dtype=torch.int64, device=device)  # [batch]
    return index // task.modulus, index % task.modulus


def all_inputs(task: Task, device: torch.device | str | None = None) -> torch.Tensor:
    """Every input, row a * p + b, on ``device`` (default: CPU). Returns [p², 4] int64."""
    return tokens_for(task, *all_pairs(task, device=device))


def answers(task: Task, tokens: torch.Tensor) -> torch.Tensor:
    """The correct answer (a + b) mod p for each row of [batch, 4] tokens."""
    return (tokens[:, 0] + tokens[:, 2]) % task.modulus


def split_indices(task: Task, train_fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A seeded random split of the p² input indices into (train, test), both sorted, on the CPU (whose generator
    makes the split the same on every device)."""
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(task.n_inputs, generator=generator, device="cpu")
    n_train = round(train_fraction * task.n_inputs)
    return order[:n_train].sort().values, order[n_train:].sort().values
