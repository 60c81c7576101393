"""The logits at `=` only, computed from the bridge's own parameters, and the norms as the bridge computes them.

The loss and the accuracy read one position, so the last layer's output projection and MLP, the final
norm and the unembedding run at `=` only (the MLPs and the unembedding are most of the work); everything
before runs in the same operations as the bridge, so the logits are the bridge's bit for bit
(tests/test_forward.py, on all inputs of the shipped model). Two details make that so: the norms are the
bridge's hooked form, not F.layer_norm, and the last layer's attention runs at every position (a one-row
query takes another matrix kernel, which rounds differently). `train.evaluate` uses it; training through
it (``train(lean=True)``) gives gradients that differ by float rounding. It and `replay` share one `norm`.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from reporter.model.replay import ACTIVATIONS, norm, replayable, score_scale
from reporter.model.task import EQUALS_POS


def supports(model) -> bool:
    """Whether this forward reproduces the model's architecture (else the bridge's own forward is used)."""
    return replayable(model.cfg)


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
