"""The training forward: the logits at `=` only, computed from the bridge's own parameters.

The loss reads one position, so the last layer's output projection and MLP, the final norm and the
unembedding run at `=` only (the MLPs and the unembedding are most of the work); everything before is
computed as TransformerLens does, in the same operations, so the logits agree to float rounding. (The
last layer's attention runs at every position: a single query row takes another matrix kernel, whose
rounding differs at the 1e-5 level.) The parameters are the bridge's (autograd
flows into them), so the checkpoint is the bridge's `state_dict()` and loads with `boot_native` alone;
tests/test_forward.py checks these logits against TransformerLens' forward on all inputs.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from reporter.replay import ACTIVATIONS, replayable, score_scale
from reporter.task import EQUALS_POS


def supports(model) -> bool:
    """Whether this forward reproduces the model's architecture (else the bridge's own forward is used)."""
    return replayable(model.cfg)


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


class EqualsForward:
    """``forward(tokens [batch, pos]) -> logits at `=` [batch, d_vocab_out]`` over a bridge's parameters."""

    def __init__(self, model):
        cfg = model.cfg
        self.cfg = cfg
        self.p = dict(model.state_dict(keep_vars=True))  # name -> the bridge's own Parameter
        self.kind = cfg.normalization_type
        self.scale = score_scale(cfg)
        self.act = None if cfg.attn_only else ACTIVATIONS[cfg.act_fn]
        n_ctx = cfg.n_ctx
        self.mask = torch.triu(torch.ones(n_ctx, n_ctx, dtype=torch.bool), diagonal=1)

    def ln(self, x: torch.Tensor, prefix: str) -> torch.Tensor:
        return norm(x, self.kind, self.p.get(f"{prefix}.weight"), self.p.get(f"{prefix}.bias"), self.cfg.eps)

    def linear(self, x: torch.Tensor, prefix: str) -> torch.Tensor:
        return F.linear(x, self.p[f"{prefix}.weight"], self.p.get(f"{prefix}.bias"))

    def mlp(self, x: torch.Tensor, layer: int) -> torch.Tensor:
        """x plus the block's MLP on it; x [..., d]."""
        if self.act is None:
            return x
        hidden = self.act(self.linear(self.ln(x, f"blocks.{layer}.ln2"), f"blocks.{layer}.mlp.in"))
        return x + self.linear(hidden, f"blocks.{layer}.mlp.out")

    def __call__(self, tokens: torch.Tensor) -> torch.Tensor:
        cfg, p = self.cfg, self.p
        batch, seq = tokens.shape
        heads, d_head = cfg.n_heads, cfg.d_head
        x = F.embedding(tokens, p["embed.weight"]) + p["pos_embed.weight"][:seq]  # [batch, pos, d]
        last = cfg.n_layers - 1
        for layer in range(cfg.n_layers):
            attn = f"blocks.{layer}.attn"
            h = self.ln(x, f"blocks.{layer}.ln1")  # [batch, pos, d]
            q, k, v = (
                self.linear(h, f"{attn}.{w}").view(batch, seq, heads, d_head).transpose(1, 2)  # [batch, head, pos, dh]
                for w in "qkv"
            )
            scores = (q @ k.transpose(-2, -1)) / self.scale  # [batch, head, query, key]
            pattern = F.softmax(scores.masked_fill(self.mask[:seq, :seq], -math.inf), dim=-1)
            z = (pattern @ v).transpose(1, 2).reshape(batch, seq, heads * d_head)  # [batch, pos, head·dh]
            if layer == last:  # only `=` is read from here on: [batch, d]
                x, z = x[:, EQUALS_POS], z[:, EQUALS_POS]
            x = self.mlp(x + self.linear(z, f"{attn}.o"), layer)
        return F.linear(self.ln(x, "ln_final"), p["unembed.weight"], p.get("unembed.bias"))  # [batch, vocab]
