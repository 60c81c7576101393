"""Re-running the model from any layer with one head's activation changed, two ways.

`Replay` recomputes only what an intervention can change, on the clean activations of a `Capture`: an
intervention at `=` changes nothing at the other positions (`=` is the last one), so only the `=` column
is recomputed from the head's layer on, with the clean keys and values of the other positions.
`HookedRun` runs the same intervention through TransformerLens' `run_with_hooks` on the whole model;
causal.py checks the one against the other on every run.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from reporter.measure.capture import Capture
from reporter.model.task import EQUALS_POS, all_pairs, tokens_for


@dataclass(frozen=True)
class Edit:
    """One intervention: at `layer`, head `head`, replace `what` ("z" at `=`, "z_all" at every position,
    "pattern" from `=`) by `value(rows, clean)`, which returns the replacement for those input rows."""

    layer: int
    head: int
    what: str
    value: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


ACTIVATIONS = {
    "relu": F.relu,
    "gelu": F.gelu,
    "gelu_new": lambda x: F.gelu(x, approximate="tanh"),
    "silu": F.silu,
    "swish": F.silu,
    "solu": lambda x: x * F.softmax(x, dim=-1),
}


def norm(x: torch.Tensor, kind: str | None, weight, bias, eps: float) -> torch.Tensor:
    """The block's normalisation as the bridge computes it (its hooked form, not F.layer_norm, whose
    rounding differs): centre (LN), divide by sqrt(mean square + eps), then the scale and shift if any."""
    if kind is None:
        return x
    if kind.upper().startswith("LN"):
        x = x - x.mean(-1, keepdim=True)
    x = x / (x.pow(2).mean(-1, keepdim=True) + eps).sqrt()
    if weight is not None:
        x = x * weight
    return x + bias if bias is not None and kind.upper().startswith("LN") else x


def replayable(cfg) -> bool:
    """Whether `Replay` reproduces this architecture (checked again against TransformerLens on every run)."""
    norm = cfg.normalization_type
    return (
        (getattr(cfg, "positional_embedding_type", "standard") or "standard") == "standard"
        and not getattr(cfg, "gated_mlp", False)
        and (cfg.n_key_value_heads in (None, cfg.n_heads))
        and float(getattr(cfg, "attn_scores_soft_cap", -1) or -1) <= 0
        and float(getattr(cfg, "output_logits_soft_cap", -1) or -1) <= 0
        and not getattr(cfg, "final_rms", False)
        and norm in (None, "LN", "LNPre", "RMS", "RMSPre")
        and (cfg.attn_only or cfg.act_fn in ACTIVATIONS)
    )


def score_scale(cfg) -> float:
    return cfg.attn_scale if cfg.use_attn_scale and cfg.attn_scale > 0 else math.sqrt(cfg.d_head)


class Replay:
    """The model's forward pass from any layer, on the clean activations of a `Capture`, with one edit.

    Input rows are contiguous ranges (``rows`` is a slice); an edit's value gets their indices."""

    def __init__(self, model, capture: Capture):
        cfg = model.cfg
        self.cfg, self.capture = cfg, capture
        state = {name: tensor.double() for name, tensor in model.state_dict().items()}
        self.bias = {name[: -len(".bias")]: t for name, t in state.items() if name.endswith(".bias")}
        self.norm_weight = {name[: -len(".weight")]: t for name, t in state.items() if t.dim() == 1}
        self.matrix = {name[: -len(".weight")]: t.T.contiguous() for name, t in state.items() if t.dim() == 2}
        self.scale = score_scale(cfg)
        self.act = None if cfg.attn_only else ACTIVATIONS[cfg.act_fn]
        # the clean keys [input, head, d_head, key] and values [input, head, key, d_head] before `=`, per layer
        self.keys = [
            capture.keys[:, layer, :EQUALS_POS].permute(0, 2, 3, 1).contiguous() for layer in range(cfg.n_layers)
        ]
        self.values = [
            capture.values[:, layer, :EQUALS_POS].permute(0, 2, 1, 3).contiguous() for layer in range(cfg.n_layers)
        ]

    def norm(self, x: torch.Tensor, prefix: str) -> torch.Tensor:
        return norm(x, self.cfg.normalization_type, self.norm_weight.get(prefix), self.bias.get(prefix), self.cfg.eps)

    def linear(self, x: torch.Tensor, prefix: str) -> torch.Tensor:
        """x [rows, in] -> [rows, out], the bias added inside the matrix product."""
        bias = self.bias.get(prefix)
        return x @ self.matrix[prefix] if bias is None else torch.addmm(bias, x, self.matrix[prefix])

    def after_attention(self, x: torch.Tensor, z: torch.Tensor, layer: int) -> torch.Tensor:
        """The residual after a block, from its input ``x`` [rows, d] and its heads' ``z`` [rows, head, d_head]."""
        x = x + self.linear(z.flatten(1), f"blocks.{layer}.attn.o")
        if self.act is None:
            return x
        hidden = self.act(self.linear(self.norm(x, f"blocks.{layer}.ln2"), f"blocks.{layer}.mlp.in"))
        return x + self.linear(hidden, f"blocks.{layer}.mlp.out")

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(self.norm(x, "ln_final"), "unembed")

    def column(self, rows: slice, edit: Edit | None, start: int) -> torch.Tensor:
        """Logits at `=` [rows, vocab], recomputing only the `=` column from layer ``start``. An edit of z at the
        start layer starts from the clean z of the capture (hook_z), the attention before it being unchanged."""
        heads, d_head = self.cfg.n_heads, self.cfg.d_head
        index = torch.arange(rows.start, rows.stop)
        x = self.capture.resid_pre[rows, start, EQUALS_POS]  # [rows, d]
        for layer in range(start, self.cfg.n_layers):
            if edit and edit.what == "z" and edit.layer == layer == start:
                z = self.capture.z[rows, layer].clone()  # [rows, head, d_head]
            else:
                h = self.norm(x, f"blocks.{layer}.ln1")
                here = f"blocks.{layer}.attn"
                q = self.linear(h, f"{here}.q").view(-1, heads, 1, d_head)
                k = self.linear(h, f"{here}.k").view(-1, heads, d_head, 1)
                v = self.linear(h, f"{here}.v").view(-1, heads, 1, d_head)
                scores = torch.cat([q @ self.keys[layer][rows], q @ k], -1)  # [rows, head, 1, key]
                pattern = scores.div_(self.scale).softmax(-1)
                if edit and edit.layer == layer and edit.what == "pattern":
                    pattern[:, edit.head, 0] = edit.value(index, pattern[:, edit.head, 0])
                z = (pattern[..., :EQUALS_POS] @ self.values[layer][rows]).addcmul_(pattern[..., EQUALS_POS:], v)
                z = z.view(-1, heads, d_head)  # [rows, head, d_head]
            if edit and edit.layer == layer and edit.what == "z":
                z[:, edit.head] = edit.value(index, z[:, edit.head])
            x = self.after_attention(x, z, layer)
        return self.logits(x)

    def attend(self, x: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, layer: int, first: int):
        """Attention of the positions in ``x`` [rows, pos, d] (from position ``first`` on) over ``keys`` and
        ``values`` [rows, head, key, d_head] of every position up to theirs: z [rows, pos, head, d_head]."""
        rows, n_pos, _ = x.shape
        heads, d_head = self.cfg.n_heads, self.cfg.d_head
        q = self.linear(self.norm(x, f"blocks.{layer}.ln1").flatten(0, 1), f"blocks.{layer}.attn.q")
        q = q.view(rows, n_pos, heads, d_head).transpose(1, 2)  # [rows, head, pos, d_head]
        mask = torch.ones(n_pos, keys.shape[2], dtype=torch.bool).triu(first + 1)
        scores = (q @ keys.transpose(-1, -2)).div_(self.scale).masked_fill_(mask, float("-inf"))
        return (scores.softmax(-1) @ values).transpose(1, 2).contiguous()

    def keys_values(self, x: torch.Tensor, layer: int) -> tuple[torch.Tensor, torch.Tensor]:
        """k, v [rows, head, pos, d_head] of the positions in ``x`` [rows, pos, d]."""
        rows, n_pos, _ = x.shape
        h = self.norm(x, f"blocks.{layer}.ln1").flatten(0, 1)
        return tuple(
            self.linear(h, f"blocks.{layer}.attn.{name}")
            .view(rows, n_pos, self.cfg.n_heads, self.cfg.d_head)
            .transpose(1, 2)
            for name in "kv"
        )

    def everywhere(self, rows: slice, edit: Edit) -> torch.Tensor:
        """Logits at `=` [rows, vocab], recomputing every position from the edit's layer on (z at all positions).

        Positions `a` and `+` see only `a` (causal masking), so they are computed once per value of a (the
        rows with b = 0) and shared by every input with that a; `b` and `=` are computed for every input."""
        p, layer0 = self.capture.task.modulus, edit.layer
        index = torch.arange(rows.start, rows.stop)
        prefix_index, share = torch.unique(index // p, return_inverse=True)  # a values, and each row's
        prefix = self.capture.resid_pre[prefix_index * p, layer0, :2]  # [a values, 2, d]: positions a and +
        rest = self.capture.resid_pre[rows, layer0, 2:]  # [rows, 2, d]: positions b and =
        for layer in range(layer0, self.cfg.n_layers):
            k_prefix, v_prefix = self.keys_values(prefix, layer)
            k_rest, v_rest = self.keys_values(rest, layer)
            keys = torch.cat([k_prefix[share], k_rest], 2)  # [rows, head, 4, d_head]
            values = torch.cat([v_prefix[share], v_rest], 2)
            z_prefix = self.attend(prefix, k_prefix, v_prefix, layer, 0)  # [a values, 2, head, d_head]
            z_rest = self.attend(rest, keys, values, layer, 2)  # [rows, 2, head, d_head]
            if layer == layer0:
                z = edit.value(index, torch.cat([z_prefix[share], z_rest], 1)[:, :, edit.head])  # [rows, pos, d]
                z_prefix[:, :, edit.head] = z[torch.searchsorted(index // p, prefix_index), :2]  # first row of each a
                z_rest[:, :, edit.head] = z[:, 2:]
            prefix = self.after_attention(prefix.flatten(0, 1), z_prefix.flatten(0, 1), layer).view(prefix.shape)
            rest = self.after_attention(rest.flatten(0, 1), z_rest.flatten(0, 1), layer).view(rest.shape)
        return self.logits(rest[:, 1])


class HookedRun:
    """The same interventions through TransformerLens' `run_with_hooks` on the full model."""

    def __init__(self, model, capture: Capture):
        self.model, self.capture = model, capture

    def __call__(self, rows: slice, edit: Edit | None) -> torch.Tensor:
        task = self.capture.task
        index = torch.arange(rows.start, rows.stop)
        tokens = tokens_for(task, *all_pairs(task, rows.start, rows.stop))

        def z_hook(z, hook):  # [rows, pos, head, d_head]
            z = z.clone()
            if edit.what == "z":
                z[:, EQUALS_POS, edit.head] = edit.value(index, z[:, EQUALS_POS, edit.head])
            else:
                z[:, :, edit.head] = edit.value(index, z[:, :, edit.head])
            return z

        def pattern_hook(pattern, hook):  # [rows, head, query, key]
            pattern = pattern.clone()
            pattern[:, edit.head, EQUALS_POS] = edit.value(index, pattern[:, edit.head, EQUALS_POS])
            return pattern

        hooks = []
        if edit is not None:
            point = "hook_pattern" if edit.what == "pattern" else "hook_z"
            hooks = [(f"blocks.{edit.layer}.attn.{point}", pattern_hook if edit.what == "pattern" else z_hook)]
        with torch.inference_mode():
            return self.model.run_with_hooks(tokens, fwd_hooks=hooks)[:, EQUALS_POS]
