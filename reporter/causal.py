"""What breaks without each head: interventions on all p² inputs, measured as Δloss in nats at `=`.

Every intervention changes one head's activation at one TransformerLens hook point (`hook_z` or
`hook_pattern`) and runs the rest of the model. An intervention at `=` changes nothing at the other
positions (`=` is the last one), so their keys and values are reused from the clean pass, and only
the `=` column is recomputed from the head's layer on (`Replay`). Each run checks that this replay
agrees with TransformerLens itself: replaying without an intervention gives the clean logits, and a
sample of interventions run through `run_with_hooks` gives the same losses. A model the replay does
not cover (rotary positions, gated MLPs, soft caps, ...) runs every intervention through
`run_with_hooks` instead: slower, the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from reporter.capture import Capture
from reporter.limits import batch_for
from reporter.task import EQUALS_POS, all_pairs, tokens_for

CHECK_ROWS = 256  # inputs at each end of the grid on which every kind of intervention is also run through TL
TOLERANCE = 1e-8  # nats (float64): how far the replay may differ from TransformerLens


@dataclass(frozen=True)
class Edit:
    """One intervention: at `layer`, head `head`, replace `what` ("z" at `=`, "z_all" at every position,
    "pattern" from `=`) by `value(rows, clean)`, which returns the replacement for those input rows."""

    layer: int
    head: int
    what: str
    value: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class Effect:
    """What an intervention did, over all inputs."""

    delta_loss: float  # mean cross-entropy at `=` after it, minus before (nats)
    accuracy: float  # share of inputs still answered correctly


ACTIVATIONS = {
    "relu": F.relu,
    "gelu": F.gelu,
    "gelu_new": lambda x: F.gelu(x, approximate="tanh"),
    "silu": F.silu,
    "swish": F.silu,
    "solu": lambda x: x * F.softmax(x, dim=-1),
}


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
        kind, eps = self.cfg.normalization_type, self.cfg.eps
        if kind is None:
            return x
        if kind == "LN":
            return F.layer_norm(x, (x.shape[-1],), self.norm_weight[prefix], self.bias[prefix], eps)
        x32 = x.float()  # the Pre and RMS norms compute in float32 whatever the model's dtype (as TL's do)
        if kind.startswith("LN"):
            x32 = x32 - x32.mean(-1, keepdim=True)
            out = (x32 / (x32.pow(2).mean(-1, keepdim=True) + eps).sqrt()).to(x.dtype)
        else:
            out = (x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + eps)).to(x.dtype)
        return out * self.norm_weight[prefix] if kind == "RMS" else out

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


@dataclass(frozen=True)
class Checks:
    """How the replay was checked against TransformerLens on this run."""

    replay: bool  # the fast replay was used (else every intervention ran through run_with_hooks)
    noop_delta_loss: float  # largest |Δloss| of replaying from each layer with no intervention (should be 0)
    hooks_max_difference: float  # largest per-input loss difference, replay vs run_with_hooks, on the sample
    pattern_max_difference: float  # largest |softmax(q·k / scale) - hook_pattern| at `=`


class Interventions:
    """Runs edits over all inputs and turns logits into effects."""

    def __init__(self, model, capture: Capture):
        self.capture = capture
        self.clean_loss = capture.loss  # [input]
        self.hooked = HookedRun(model, capture)
        self.chunk = 4 * batch_for(model.cfg.d_model, model.cfg.d_mlp or 0, model.cfg.d_vocab_out)
        self.replay = Replay(model, capture) if replayable(model.cfg) else None
        self.checks = self.check() if self.replay else Checks(False, 0.0, 0.0, pattern_difference(model, capture))
        if self.replay and (self.checks.noop_delta_loss > TOLERANCE or self.checks.hooks_max_difference > TOLERANCE):
            self.replay = None  # it does not reproduce this model: every intervention goes through the hooks
            self.checks = Checks(
                False, self.checks.noop_delta_loss, self.checks.hooks_max_difference, self.checks.pattern_max_difference
            )

    def logits(self, rows: torch.Tensor, edit: Edit | None) -> torch.Tensor:
        if self.replay is None:
            return self.hooked(rows, edit)
        if edit is not None and edit.what == "z_all":
            return self.replay.everywhere(rows, edit)
        return self.replay.column(rows, edit, edit.layer if edit else 0)

    def losses(self, edit: Edit | None, rows: slice | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-input loss and correctness [rows] after ``edit``, computed in chunks of consecutive rows."""
        rows = rows or slice(0, self.capture.task.n_inputs)
        losses, correct = [], []
        with torch.inference_mode():
            for start in range(rows.start, rows.stop, self.chunk):
                chunk = slice(start, min(start + self.chunk, rows.stop))
                logits = self.logits(chunk, edit)
                target = self.capture.targets[chunk]
                losses.append(F.cross_entropy(logits, target, reduction="none"))
                correct.append(logits.argmax(-1) == target)
        return torch.cat(losses), torch.cat(correct)

    def effect(self, edit: Edit) -> Effect:
        loss, correct = self.losses(edit)
        return Effect(float(loss.mean() - self.clean_loss.mean()), float(correct.double().mean()))

    def check(self) -> Checks:
        """Replay against the clean pass and against run_with_hooks on a sample of inputs."""
        c = self.capture
        noop = 0.0
        for layer in range(c.resid_pre.shape[1]):
            loss, _ = self.losses(None) if layer == 0 else self.losses(Edit(layer, 0, "z", lambda rows, z: z))
            noop = max(noop, float((loss - self.clean_loss).abs().max()))
        n = c.task.n_inputs
        samples = [slice(0, min(CHECK_ROWS, n)), slice(max(0, n - CHECK_ROWS), n)]
        worst = 0.0
        for layer in range(c.resid_pre.shape[1]):
            for edit in (
                mean_ablation(c, layer, 0, "z"),
                mean_ablation(c, layer, 0, "z_all"),
                Edit(layer, 0, "pattern", lambda rows, w: torch.full_like(w, 0.25)),
            ):
                for sample in samples:
                    replayed, _ = self.losses(edit, sample)
                    hooked = F.cross_entropy(self.hooked(sample, edit), c.targets[sample], reduction="none")
                    worst = max(worst, float((replayed - hooked).abs().max()))
        return Checks(True, noop, worst, pattern_difference(None, c, self.replay))


def mean_ablation(capture: Capture, layer: int, head: int, what: str) -> Edit:
    """The head's z replaced by its mean over all inputs: at `=` ("z") or at every position ("z_all")."""
    if what == "z":
        mean = capture.z[:, layer, head].mean(0)  # [d_head]
        return Edit(layer, head, "z", lambda rows, z: mean.expand_as(z))
    means = capture.z_mean[layer, :, head]  # [pos, d_head]
    return Edit(layer, head, "z_all", lambda rows, z: means.expand_as(z))


def attention_scores(capture: Capture, scale: float) -> torch.Tensor:
    """[input, layer, head, key] the scores from `=` before the softmax, from hook_q and hook_k."""
    keys = capture.keys  # [input, layer, pos, kv_head, d_head]
    repeat = capture.queries.shape[2] // keys.shape[3]
    if repeat > 1:  # grouped-query attention: each key head serves several query heads
        keys = keys.repeat_interleave(repeat, dim=3)
    return torch.einsum("nlhd,nlkhd->nlhk", capture.queries, keys) / scale


def pattern_difference(model, capture: Capture, replay: Replay | None = None) -> float:
    """Largest |softmax(scores) - hook_pattern| at `=`: the scores behind the pattern are the right ones."""
    scale = replay.scale if replay else score_scale(model.cfg)
    return float((attention_scores(capture, scale).softmax(-1) - capture.pattern).abs().max())


def score_scale(cfg) -> float:
    return cfg.attn_scale if cfg.use_attn_scale and cfg.attn_scale > 0 else math.sqrt(cfg.d_head)


def derangement(modulus: int, seed: int = 0) -> torch.Tensor:
    """A fixed random permutation of [0, p) with no fixed point: the donor of each operand value."""
    generator = torch.Generator().manual_seed(seed)
    while True:
        order = torch.randperm(modulus, generator=generator)
        if not bool((order == torch.arange(modulus)).any()):
            return order


def donors(modulus: int, operand: str) -> torch.Tensor:
    """[input] for each input (a, b), the row of the input with only ``operand`` changed."""
    a, b = (x.reshape(-1) for x in torch.meshgrid(torch.arange(modulus), torch.arange(modulus), indexing="ij"))
    other = derangement(modulus, seed=1 if operand == "a" else 2)
    return other[a] * modulus + b if operand == "a" else a * modulus + other[b]


@dataclass(frozen=True)
class Rule:
    """A head's pattern from `=` as a rule predicts it, input by input."""

    kind: str  # "additive": softmax of scores fitted as f(a) + g(b); "answer": the mean pattern of its answer
    pattern: torch.Tensor  # [input, key]
    error: float  # mean over inputs of the total variation between the rule's pattern and the real one


def additive_fit(grid: torch.Tensor) -> torch.Tensor:
    """The best fit f(a) + g(b) (least squares) of ``grid`` [a, b, ...] over the p × p grid."""
    return grid.mean(1, keepdim=True) + grid.mean(0, keepdim=True) - grid.mean((0, 1), keepdim=True)


def rules(capture: Capture, scale: float) -> dict[tuple[int, int], Rule]:
    """For every head, the better of two rules for its pattern from `=`: additive scores, or the answer."""
    p = capture.task.modulus
    scores = attention_scores(capture, scale)  # [input, layer, head, key]
    answer = capture.targets  # [input]
    found = {}
    for layer in range(scores.shape[1]):
        for head in range(scores.shape[2]):
            real = capture.pattern[:, layer, head]  # [input, key]
            fitted = additive_fit(scores[:, layer, head].reshape(p, p, -1)).reshape(p * p, -1).softmax(-1)
            by_answer = torch.zeros(p, real.shape[-1], dtype=real.dtype).index_add_(0, answer, real) / p
            candidates = {"additive": fitted, "answer": by_answer[answer]}
            errors = {kind: float((pattern - real).abs().sum(-1).mean() / 2) for kind, pattern in candidates.items()}
            kind = min(errors, key=lambda k: (errors[k], k))
            found[(layer, head)] = Rule(kind, candidates[kind], errors[kind])
    return found


@dataclass(frozen=True)
class HeadEffects:
    """Every intervention on one head, over all inputs."""

    layer: int
    head: int
    ablation_equals: Effect  # z at `=` replaced by its mean over inputs
    ablation_all: Effect  # z at every position replaced by its mean there
    zero_equals: Effect  # z at `=` set to 0 (a contrast only: it also deletes the constant later layers expect)
    patch_a: Effect  # z at `=` taken from the input with only a changed
    patch_b: Effect  # likewise b
    pattern_mean: Effect  # the pattern from `=` replaced by its mean over inputs
    pattern_rule: Effect  # the pattern from `=` replaced by the one its rule predicts
    rule: str  # which rule: "additive" or "answer"
    rule_error: float  # how far the rule's pattern is from the real one (total variation, mean over inputs)


def head_effects(interventions: Interventions, found_rules: dict) -> list[HeadEffects]:
    """Seven interventions for every head (the ablation at every position equals the one at `=` in the last
    layer, whose other positions feed nothing, and is not run twice there)."""
    c = interventions.capture
    p, n_layers, n_heads = c.task.modulus, c.z.shape[1], c.z.shape[2]
    donor_a, donor_b = donors(p, "a"), donors(p, "b")
    rows = []
    for layer in range(n_layers):
        for head in range(n_heads):
            run = interventions.effect
            at_equals = run(mean_ablation(c, layer, head, "z"))
            mean_pattern = c.pattern[:, layer, head].mean(0)  # [key]
            rule = found_rules[(layer, head)]
            rows.append(
                HeadEffects(
                    layer=layer,
                    head=head,
                    ablation_equals=at_equals,
                    ablation_all=at_equals if layer == n_layers - 1 else run(mean_ablation(c, layer, head, "z_all")),
                    zero_equals=run(Edit(layer, head, "z", lambda rows, z: torch.zeros_like(z))),
                    patch_a=run(Edit(layer, head, "z", lambda rows, z, l=layer, h=head: c.z[donor_a[rows], l, h])),
                    patch_b=run(Edit(layer, head, "z", lambda rows, z, l=layer, h=head: c.z[donor_b[rows], l, h])),
                    pattern_mean=run(Edit(layer, head, "pattern", lambda rows, w, m=mean_pattern: m.expand_as(w))),
                    pattern_rule=run(Edit(layer, head, "pattern", lambda rows, w, r=rule.pattern: r[rows])),
                    rule=rule.kind,
                    rule_error=rule.error,
                )
            )
    return rows
