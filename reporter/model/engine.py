"""One forward over the bridge's own weights: from any block, at `=` only or at every position, with edits.

`Forward.run` is the model written once (norm, attention, MLP, in the bridge's operations), with each
edit of edits.py applied at its hook point. Three uses:

- training and `train.evaluate`: from the tokens, logits at `=` only (the last block's output projection
  and MLP, the final norm and the unembedding run at `=` alone: most of the work). The logits are the
  bridge's bit for bit in float32 (tests/test_forward.py): the norms are the bridge's hooked form, not
  F.layer_norm, and the last block's attention runs at every position (a one-row query takes another
  matrix kernel, which rounds differently). Gradients reach the bridge's own parameters.
- `Replay`, in float64 on the clean activations of a `Capture`: an edit at `=` changes nothing at the
  other positions (`=` is the last one), so only the `=` column is recomputed from the edit's block on,
  with the clean keys and values of the other positions; an edit at every position recomputes them all
  (with edits whose values are means, those before `b` once per value of `a`: they see only `a`).
- `HookedRun`: the same edits through TransformerLens' `run_with_hooks`, the check of the replay on every
  run (measure/causal.py) and its stand-in for an architecture the replay does not reproduce.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from reporter.model import keys
from reporter.model.device import device_of
from reporter.model.edits import Edit
from reporter.model.keys import ACTIVATIONS, NORMALIZATIONS
from reporter.model.task import B_POS, EQUALS_POS, Task, all_pairs, tokens_for

FUNCTIONS = dict(  # the activation of each name in keys.ACTIVATIONS, as the bridge computes it
    zip(
        ACTIVATIONS,
        (F.relu, F.gelu, lambda x: F.gelu(x, approximate="tanh"), F.silu, F.silu, lambda x: x * F.softmax(x, dim=-1)),
        strict=True,
    )
)


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
    """Whether `Forward` reproduces this architecture (checked again against TransformerLens on every run)."""
    return (
        (getattr(cfg, "positional_embedding_type", "standard") or "standard") == "standard"
        and not getattr(cfg, "gated_mlp", False)
        and (cfg.n_key_value_heads in (None, cfg.n_heads))
        and float(getattr(cfg, "attn_scores_soft_cap", -1) or -1) <= 0
        and float(getattr(cfg, "output_logits_soft_cap", -1) or -1) <= 0
        and not getattr(cfg, "final_rms", False)
        and cfg.normalization_type in NORMALIZATIONS
        and (cfg.attn_only or cfg.act_fn in FUNCTIONS)
    )


def score_scale(cfg) -> float:
    """What the attention scores q·k are divided by: attn_scale where the config sets one, else sqrt(d_head)."""
    return cfg.attn_scale if cfg.use_attn_scale and cfg.attn_scale > 0 else math.sqrt(cfg.d_head)


Past = Callable[[int], tuple[torch.Tensor, torch.Tensor]]  # block -> clean k, v [rows, head, key, d_head]


class Forward:
    """The model's forward over a bridge's parameters: ``forward(tokens [batch, pos])`` gives the logits at
    `=` [batch, d_vocab_out]; `run` starts from any block's input, with edits. ``dtype`` None runs on the
    bridge's own parameters (gradients reach them); a dtype runs on detached copies in that type."""

    def __init__(self, model, dtype: torch.dtype | None = None):
        cfg = model.cfg
        self.cfg = cfg
        state = model.state_dict(keep_vars=dtype is None)
        self.weights = dict(state) if dtype is None else {name: t.to(dtype) for name, t in state.items()}
        self.scale = score_scale(cfg)
        self.act = None if cfg.attn_only else FUNCTIONS[cfg.act_fn]
        self.device = state[keys.EMBED].device  # every tensor made here follows the model's
        self.mask = torch.ones(cfg.n_ctx, cfg.n_ctx, dtype=torch.bool, device=self.device).triu(1)  # [query, key]
        # a copy for the analysis (float64) takes F.layer_norm's one pass, which differs from the hooked form in
        # the last bits only; the training forward keeps the bridge's own form, bit for bit in float32
        self.fused_norm = dtype is not None and (cfg.normalization_type or "").upper().startswith("LN")

    def norm(self, x: torch.Tensor, prefix: str) -> torch.Tensor:
        w = self.weights
        weight, bias = w.get(keys.weight(prefix)), w.get(keys.bias(prefix))
        if self.fused_norm:
            return F.layer_norm(x, x.shape[-1:], weight, bias, self.cfg.eps)
        return norm(x, self.cfg.normalization_type, weight, bias, self.cfg.eps)

    def linear(self, x: torch.Tensor, prefix: str) -> torch.Tensor:
        return F.linear(x, self.weights[keys.weight(prefix)], self.weights.get(keys.bias(prefix)))

    def pre_activation(self, x: torch.Tensor, layer: int) -> torch.Tensor:
        """The MLP's pre-activation [..., d_mlp] (hook mlp.in.hook_out) from its block's residual after attention."""
        return self.linear(self.norm(x, keys.ln(layer, 2)), keys.mlp(layer, "in"))

    def mlp(self, x: torch.Tensor, layer: int) -> torch.Tensor:
        """The MLP's output [..., d_model] from its block's residual after attention [..., d_model]."""
        pre = self.pre_activation(x, layer)  # a fresh tensor: ReLU may act on it in place
        return self.linear(pre.relu_() if self.act is F.relu else self.act(pre), keys.mlp(layer, "out"))

    def heads(self, x: torch.Tensor) -> torch.Tensor:
        """[rows, pos, head · d_head] -> [rows, head, pos, d_head]."""
        return x.view(*x.shape[:2], self.cfg.n_heads, self.cfg.d_head).transpose(1, 2)

    def attention(
        self,
        x: torch.Tensor,
        layer: int,
        past: Past | None,
        edits: Sequence[Edit],
        rows: torch.Tensor | None,
        keep: list | None = None,
    ) -> torch.Tensor:
        """z [rows, pos, head, d_head] of the positions in ``x`` [rows, pos, d], over the keys and values of the
        positions before them (``past``) and their own; ``keep`` gets this block's keys and values."""
        h = self.norm(x, keys.ln(layer, 1))  # [rows, pos, d]
        q, k, v = (self.heads(self.linear(h, keys.attn(layer, name))) for name in "qkv")  # [rows, head, pos, dh]
        if keep is not None:
            keep.append((k, v))
        if past is not None and q.shape[2] == 1:  # `=` alone: its own key and value beside the past ones, no copy
            k_past, v_past = past(layer)  # [rows, head, key before, d_head]; products, not thousands of tiny bmm
            scores = torch.cat([(q * k_past).sum(-1), (q * k).sum(-1)], -1).unsqueeze(2) / self.scale
            pattern = edited(F.softmax(scores, dim=-1), layer, keys.PATTERN, edits, rows)  # [rows, head, 1, key]
            before = k_past.shape[2]
            z = (pattern[..., :before].transpose(-2, -1) * v_past).sum(2, keepdim=True) + pattern[..., before:] * v
            return z.transpose(1, 2)  # [rows, 1, head, d_head]
        if past is not None:
            k_past, v_past = past(layer)
            k, v = torch.cat([k_past, k], 2), torch.cat([v_past, v], 2)  # [rows, head, key, d_head]
        n_query, n_key = q.shape[2], k.shape[2]
        scores = (q @ k.transpose(-2, -1)) / self.scale  # [rows, head, query, key]
        pattern = F.softmax(scores.masked_fill(self.mask[n_key - n_query : n_key, :n_key], -math.inf), dim=-1)
        pattern = edited(pattern, layer, keys.PATTERN, edits, rows)
        return (pattern @ v).transpose(1, 2)  # [rows, pos, head, d_head]

    def run(
        self,
        x: torch.Tensor,
        start: int = 0,
        past: Past | None = None,
        edits: Sequence[Edit] = (),
        rows: torch.Tensor | None = None,
        clean_z: torch.Tensor | None = None,
        keep: list | None = None,
    ) -> torch.Tensor:
        """Logits at `=` [rows, vocab] from ``x`` [rows, pos, d], block ``start``'s input at its last positions
        (`=` last; ``past`` gives the keys and values of the others). ``clean_z`` [rows, pos, head, d_head]
        stands for block ``start``'s attention when no edit changes its inputs; ``keep`` gets each block's keys
        and values [rows, head, pos, d_head], in order. Past the last block's attention only `=` is computed
        (unless an edit there acts at every position)."""
        last = self.cfg.n_layers - 1
        for layer in range(start, self.cfg.n_layers):
            x = edited(x, layer, keys.RESID_PRE, edits, rows)
            z = clean_z if layer == start and clean_z is not None else self.attention(x, layer, past, edits, rows, keep)
            z = edited(z, layer, keys.Z, edits, rows)
            if layer == last and not any(edit.everywhere for edit in edits if edit.layer == last):
                x, z = x[:, -1:], z[:, -1:]  # only `=` is read from here on
            out = edited(self.linear(z.flatten(2), keys.attn(layer, "o")), layer, keys.ATTN_OUT, edits, rows)
            x = edited(x + out, layer, keys.RESID_MID, edits, rows)
            if self.act is not None:
                x = x + edited(self.mlp(x, layer), layer, keys.MLP_OUT, edits, rows)
            x = edited(x, layer, keys.RESID_POST, edits, rows)
        return self.linear(self.norm(x[:, -1], keys.LN_FINAL), keys.UNEMBED)  # [rows, vocab]

    def __call__(self, tokens: torch.Tensor) -> torch.Tensor:
        """The training forward: tokens [batch, pos] -> logits at `=` [batch, d_vocab_out]."""
        x = F.embedding(tokens, self.weights[keys.EMBED]) + self.weights[keys.POS_EMBED][: tokens.shape[1]]
        return self.run(x)  # x: [batch, pos, d]


def edited(
    activation: torch.Tensor, layer: int, site: str, edits: Sequence[Edit], rows: torch.Tensor | None
) -> torch.Tensor:
    """``activation`` with every edit at (``layer``, ``site``) made, in their order."""
    for edit in edits:
        if edit.layer == layer and edit.site == site:
            activation = edit.apply(rows, activation)
    return activation


def check_sites(cfg, edits: Sequence[Edit]) -> None:
    """Refuse an edit of a block the model does not have (an MLP in an attention-only model)."""
    for edit in edits:
        if not 0 <= edit.layer < cfg.n_layers or (cfg.attn_only and edit.site == keys.MLP_OUT):
            raise ValueError(
                f"{type(edit).__name__} acts at {edit.site} of block {edit.layer}, which this model lacks."
            )


class Replay(Forward):
    """`Forward` in float64 on the clean activations of a `Capture`, from the first edited block on.

    Input rows are contiguous ranges (``rows`` is a slice); an edit's value gets their indices."""

    def __init__(self, model, capture):
        super().__init__(model, torch.float64)
        self.capture = capture
        # the clean keys and values before `=`, per block: [input, head, key, d_head]
        self.past = [
            tuple(t[:, layer, :EQUALS_POS].transpose(1, 2).contiguous() for t in (capture.keys, capture.values))
            for layer in range(self.cfg.n_layers)
        ]

    def logits(self, rows: slice, edits: Sequence[Edit] = ()) -> torch.Tensor:
        """Logits at `=` [rows, vocab] with ``edits`` made: the `=` column alone unless an edit acts at every
        position. Where every edit of the first block acts at or after z, its attention is the clean one."""
        check_sites(self.cfg, edits)
        index = torch.arange(rows.start, rows.stop, device=self.device)
        last = self.cfg.n_layers - 1
        if edits and all(edit.layer == last and edit.site == keys.RESID_POST for edit in edits):
            final = edited(self.capture.resid_final[rows, -1:], last, keys.RESID_POST, edits, index)  # [rows, 1, d]
            return self.linear(self.norm(final[:, -1], keys.LN_FINAL), keys.UNEMBED)  # the final norm's input, edited
        start = min((edit.layer for edit in edits), default=0)
        resid = self.capture.resid_pre[rows, start]  # [rows, pos, d]
        if any(edit.everywhere for edit in edits):
            if all(edit.uniform for edit in edits if edit.everywhere):
                return self.everywhere(rows, index, start, edits)
            return self.run(resid, start, None, edits, index)
        first = [keys.SITES.index(edit.site) for edit in edits if edit.layer == start]
        clean = first and min(first) >= keys.SITES.index(keys.Z)
        return self.run(
            resid[:, EQUALS_POS:],
            start,
            lambda layer: (self.past[layer][0][rows], self.past[layer][1][rows]),
            edits,
            index,
            self.capture.z[rows, start, None] if clean else None,  # [rows, 1, head, d_head]
        )

    def everywhere(self, rows: slice, index: torch.Tensor, start: int, edits: Sequence[Edit]) -> torch.Tensor:
        """Logits at `=` [rows, vocab] with edits at every position whose values are the same for every input.
        The positions before `b` see only `a`, so with such edits they too depend on `a` alone: they run once per
        value of `a` in the chunk (on its first row, at every position, keeping each block's keys and values),
        and `b` and `=` run on every row over those keys and values: about half the work of all positions."""
        p = self.capture.task.modulus
        first, last = rows.start // p, (rows.stop - 1) // p
        one_per_a = torch.tensor([max(a * p, rows.start) for a in range(first, last + 1)], device=self.device)
        kept: list[tuple[torch.Tensor, torch.Tensor]] = []  # per block from start: [a, head, pos, d_head]
        self.run(self.capture.resid_pre[one_per_a, start], start, None, edits, one_per_a, keep=kept)
        which = index // p - first  # each row's value of a, as an index into one_per_a
        before = [(k[which, :, :B_POS], v[which, :, :B_POS]) for k, v in kept]  # [rows, head, B_POS, d_head]
        resid = self.capture.resid_pre[rows, start, B_POS:]  # [rows, pos from b, d]
        return self.run(resid, start, lambda layer: before[layer - start], edits, index)


class HookedRun:
    """The same edits through TransformerLens' `run_with_hooks` on the whole model."""

    def __init__(self, model, task: Task):
        self.model, self.task = model, task

    def logits(self, rows: slice, edits: Sequence[Edit] = ()) -> torch.Tensor:
        """Logits at `=` [rows, vocab] with ``edits`` made by hooks."""
        check_sites(self.model.cfg, edits)
        device = device_of(self.model)
        index = torch.arange(rows.start, rows.stop, device=device)
        tokens = tokens_for(self.task, *all_pairs(self.task, rows.start, rows.stop, device))  # [rows, 4]
        hooks = [hook for edit in edits for hook in edit.hooks(index)]
        with torch.inference_mode():
            return self.model.run_with_hooks(tokens, fwd_hooks=hooks)[:, EQUALS_POS]
