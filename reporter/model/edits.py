"""Interventions as small typed objects, each written once, that both engines apply at the same hook point.

An edit names where it acts (a block and one of `keys.SITES`) and how: ``value(rows, clean)`` gets the
input rows [rows] (row a * p + b) and the clean activation there, and returns its replacement. `apply`
works on the activation as TransformerLens' hook sees it, whose last position is `=`: the replay in
engine.py (which may compute the `=` column alone) and `run_with_hooks` call the same `apply`. Several
edits run together (a pair of heads is two edits).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

import torch

from reporter.model import keys

Value = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (rows [rows], clean) -> replacement
Hook = tuple[str, Callable]


class Edit(ABC):
    """What every edit has: the block it acts in, its site there, whether it acts at every position, and whether
    its value is the same for every input (a mean over them: the replay may then run the positions before `b`,
    which see only `a`, once per value of `a`)."""

    layer: int
    site: str
    everywhere: bool = False
    uniform: bool = False

    @abstractmethod
    def apply(self, rows: torch.Tensor, activation: torch.Tensor) -> torch.Tensor:
        """The activation at this edit's site [rows, ...] (hook layout, `=` last) with the edit made."""

    def hooks(self, rows: torch.Tensor) -> list[Hook]:
        """(hook name, hook) pairs that make the edit through TransformerLens' run_with_hooks."""
        return [(keys.hook(self.layer, self.site), lambda activation, hook: self.apply(rows, activation))]


@dataclass(frozen=True)
class HeadOutput(Edit):
    """Replace one head's z (what it reads, before W_O) at `=`, or at every position."""

    layer: int
    head: int
    value: Value  # z [rows, d_head] at `=`, or [rows, pos, d_head] at every position (the last pos positions)
    everywhere: bool = False
    uniform: bool = False
    site = keys.Z

    def apply(self, rows: torch.Tensor, z: torch.Tensor) -> torch.Tensor:  # z [rows, pos, head, d_head]
        z = z.clone()
        at = (slice(None), slice(None), self.head) if self.everywhere else (slice(None), -1, self.head)
        z[at] = self.value(rows, z[at])
        return z


@dataclass(frozen=True)
class HeadPattern(Edit):
    """Replace one head's attention pattern from `=` (a distribution over the key positions)."""

    layer: int
    head: int
    value: Value  # pattern [rows, key]
    site = keys.PATTERN

    def apply(self, rows: torch.Tensor, pattern: torch.Tensor) -> torch.Tensor:  # [rows, head, query, key]
        pattern = pattern.clone()
        pattern[:, self.head, -1] = self.value(rows, pattern[:, self.head, -1])
        return pattern


BLOCKS = {"attn": keys.ATTN_OUT, "mlp": keys.MLP_OUT}


@dataclass(frozen=True)
class BlockOutput(Edit):
    """Replace an attention block's output (all its heads and b_O) or an MLP's output, at `=` or everywhere."""

    layer: int
    block: str  # "attn" or "mlp"
    value: Value  # output [rows, d_model] at `=`, or [rows, pos, d_model] at every position (the last pos ones)
    everywhere: bool = False
    uniform: bool = False

    def __post_init__(self):
        if self.block not in BLOCKS:
            raise ValueError(f"a block output is 'attn' or 'mlp', not {self.block!r}.")

    @property
    def site(self) -> str:
        return BLOCKS[self.block]

    def apply(self, rows: torch.Tensor, out: torch.Tensor) -> torch.Tensor:  # [rows, pos, d_model]
        out = out.clone()
        at = slice(None) if self.everywhere else -1
        out[:, at] = self.value(rows, out[:, at])
        return out


STAGE = re.compile(r"embed|(attn|mlp)([0-9]+)")
AFTER = {None: keys.RESID_PRE, "attn": keys.RESID_MID, "mlp": keys.RESID_POST}  # stage -> the site after it


@dataclass(frozen=True)
class ResidualEdit(Edit):
    """Replace or change the residual at `=` after a stage: "embed", "attnL" or "mlpL" (e.g. to remove a
    Fourier component from it)."""

    after: str
    value: Value  # residual [rows, d_model] at `=`

    def __post_init__(self):
        if not STAGE.fullmatch(self.after):
            raise ValueError(f"a residual is edited after 'embed', 'attnL' or 'mlpL', not {self.after!r}.")

    @property
    def layer(self) -> int:
        match = STAGE.fullmatch(self.after)
        return int(match[2]) if match[2] else 0

    @property
    def site(self) -> str:
        return AFTER[STAGE.fullmatch(self.after)[1]]

    def apply(self, rows: torch.Tensor, resid: torch.Tensor) -> torch.Tensor:  # [rows, pos, d_model]
        resid = resid.clone()
        resid[:, -1] = self.value(rows, resid[:, -1])
        return resid

    def hooks(self, rows: torch.Tensor) -> list[Hook]:
        """After attention, through hook_attn_out: the bridge's hook_resid_mid is the second norm's input, and
        replacing it would change the MLP's input but not the residual that goes on."""
        if self.site != keys.RESID_MID:
            return super().hooks(rows)
        block_input: list[torch.Tensor] = []

        def keep(resid: torch.Tensor, hook) -> None:  # [rows, pos, d_model]
            block_input.append(resid)

        def shift(out: torch.Tensor, hook) -> torch.Tensor:  # [rows, pos, d_model]
            before = block_input[-1][:, -1]
            out = out.clone()
            out[:, -1] = self.value(rows, before + out[:, -1]) - before
            return out

        return [(keys.hook(self.layer, keys.RESID_PRE), keep), (keys.hook(self.layer, keys.ATTN_OUT), shift)]
