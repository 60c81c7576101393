"""What breaks without each head: interventions on all p² inputs, measured as Δloss in nats at `=`.

Every intervention is a typed edit (model/edits.py: a head's z or pattern here) made at its
TransformerLens hook point while the rest of the model runs (model/engine.py). An intervention at `=`
changes nothing at the other positions (`=` is the last one), so their keys and values are reused
from the clean pass, and only the `=` column is recomputed from the head's layer on (`Replay`).
Each run checks that this replay agrees with TransformerLens itself: replaying without an
intervention gives the clean logits, and a sample of every kind of edit run through `run_with_hooks`
gives the same losses. A model the replay does not cover (rotary positions, gated MLPs, soft caps,
...) runs every intervention through `run_with_hooks` instead: slower, the same numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F

from reporter.limits import batch_for
from reporter.measure.capture import Capture
from reporter.measure.rules import attention_scores
from reporter.model.edits import BlockOutput, Edit, HeadOutput, HeadPattern, ResidualEdit
from reporter.model.engine import HookedRun, Replay, replayable, score_scale

CHECK_ROWS = 256  # inputs at each end of the grid on which every kind of intervention is also run through TL
REPLAY_ROWS = 1024  # inputs per replay chunk: its activations stay in the CPU's cache
TOLERANCE = 1e-8  # nats (float64): how far the replay may differ from TransformerLens


@dataclass(frozen=True)
class Effect:
    """What an intervention did, over all inputs."""

    delta_loss: float  # mean cross-entropy at `=` after it, minus before (nats)
    accuracy: float  # share of inputs still answered correctly


@dataclass(frozen=True)
class Checks:
    """How the replay was checked against TransformerLens on this run."""

    replay: bool  # the fast replay was used (else every intervention ran through run_with_hooks)
    noop_delta_loss: float  # largest |Δloss| of replaying from each layer with no intervention (should be 0)
    hooks_max_difference: float  # largest per-input loss difference, replay vs run_with_hooks, on the sample
    pattern_max_difference: float  # largest |softmax(q·k / scale) - hook_pattern| at `=`
    checked_inputs: int = 0  # inputs on which the replay was run against run_with_hooks (0: no replay)


class Interventions:
    """Runs edits over all inputs, through the replay where it reproduces TransformerLens (else through the
    hooks), and turns logits into effects."""

    def __init__(self, model, capture: Capture):
        self.capture = capture
        self.clean_loss = capture.loss  # [input]
        self.hooked = HookedRun(model, capture.task)
        self.attn_only = bool(model.cfg.attn_only)
        self.replay = Replay(model, capture) if replayable(model.cfg) else None
        self.chunk = self.rows_per_chunk(model.cfg)
        self.checks = self.check() if self.replay else Checks(False, 0.0, 0.0, pattern_difference(model, capture))
        if self.replay and (self.checks.noop_delta_loss > TOLERANCE or self.checks.hooks_max_difference > TOLERANCE):
            self.replay = None  # it does not reproduce this model: every intervention goes through the hooks
            self.chunk = self.rows_per_chunk(model.cfg)
            self.checks = replace(self.checks, replay=False)

    def rows_per_chunk(self, cfg) -> int:
        """The replay in small chunks (a whole-grid chunk makes tens of MB per operation, which the CPU's cache does
        not hold: moving them costs more than the arithmetic); run_with_hooks in large ones (each call pays
        TransformerLens' overhead)."""
        return REPLAY_ROWS if self.replay else 4 * batch_for(cfg.d_model, cfg.d_mlp or 0, cfg.d_vocab_out)

    def losses(self, edits: Sequence[Edit], rows: slice | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-input loss and correctness [rows] after ``edits``, computed in chunks of consecutive rows."""
        rows = rows or slice(0, self.capture.task.n_inputs)
        engine = self.replay or self.hooked
        losses, correct = [], []
        with torch.inference_mode():
            for start in range(rows.start, rows.stop, self.chunk):
                chunk = slice(start, min(start + self.chunk, rows.stop))
                logits = engine.logits(chunk, edits)
                target = self.capture.targets[chunk]
                losses.append(F.cross_entropy(logits, target, reduction="none"))
                correct.append(logits.argmax(-1) == target)
        return torch.cat(losses), torch.cat(correct)

    def effect(self, *edits: Edit) -> Effect:
        """What ``edits``, made together, do over all inputs."""
        loss, correct = self.losses(edits)
        return Effect(float(loss.mean() - self.clean_loss.mean()), float(correct.double().mean()))

    def check(self) -> Checks:
        """Replay against the clean pass and against run_with_hooks on a sample of inputs, for every kind of
        edit in every layer."""
        c = self.capture
        noop = 0.0
        for layer in range(c.resid_pre.shape[1]):
            loss, _ = self.losses(() if layer == 0 else (HeadOutput(layer, 0, lambda rows, z: z),))
            noop = max(noop, float((loss - self.clean_loss).abs().max()))
        n = c.task.n_inputs
        samples = [slice(0, min(CHECK_ROWS, n)), slice(max(0, n - CHECK_ROWS), n)]
        worst = 0.0
        for layer in range(c.resid_pre.shape[1]):
            for edit in (
                mean_ablation(c, layer, 0),
                mean_ablation(c, layer, 0, everywhere=True),
                HeadPattern(layer, 0, lambda rows, w: torch.full_like(w, 0.25)),
                *(
                    block_mean_ablation(c, layer, block, everywhere)
                    for block in ("attn", "mlp")[: 1 if self.attn_only else 2]
                    for everywhere in (False, True)
                ),
                ResidualEdit(f"attn{layer}", lambda rows, x: 0.5 * x),
            ):
                for sample in samples:
                    replayed, _ = self.losses((edit,), sample)
                    hooked = F.cross_entropy(self.hooked.logits(sample, (edit,)), c.targets[sample], reduction="none")
                    worst = max(worst, float((replayed - hooked).abs().max()))
        checked = len(set(range(n)[samples[0]]) | set(range(n)[samples[1]]))
        return Checks(True, noop, worst, pattern_difference(None, c, self.replay), checked)


def mean_ablation(capture: Capture, layer: int, head: int, everywhere: bool = False) -> HeadOutput:
    """The head's z replaced by its mean over all inputs: at `=`, or at every position (its mean there)."""
    if not everywhere:
        mean = capture.z[:, layer, head].mean(0)  # [d_head]
        return HeadOutput(layer, head, lambda rows, z: mean.expand_as(z), uniform=True)
    means = capture.z_mean[layer, :, head]  # [pos, d_head]; the replay may pass the last positions alone
    return HeadOutput(layer, head, lambda rows, z: means[-z.shape[1] :].expand_as(z), everywhere=True, uniform=True)


def block_mean_ablation(capture: Capture, layer: int, block: str, everywhere: bool = False) -> BlockOutput:
    """An attention block's ("attn") or an MLP's ("mlp") output replaced by its mean over all inputs, at `=` or
    at every position."""
    means = (capture.attn_out_mean if block == "attn" else capture.mlp_out_mean)[layer]  # [pos, d_model]
    if not everywhere:
        return BlockOutput(layer, block, lambda rows, out: means[-1].expand_as(out), uniform=True)
    return BlockOutput(layer, block, lambda rows, out: means[-out.shape[1] :].expand_as(out), True, uniform=True)


def pattern_difference(model, capture: Capture, replay: Replay | None = None) -> float:
    """Largest |softmax(scores) - hook_pattern| at `=`: the scores behind the pattern are the right ones."""
    scale = replay.scale if replay else score_scale(model.cfg)
    return float((attention_scores(capture, scale).softmax(-1) - capture.pattern).abs().max())


def derangement(modulus: int, seed: int = 0) -> torch.Tensor:
    """A fixed random permutation of [0, p) with no fixed point: the donor of each operand value (on the CPU,
    whose generator makes it, on every device)."""
    generator = torch.Generator().manual_seed(seed)
    while True:
        order = torch.randperm(modulus, generator=generator, device="cpu")
        if not bool((order == torch.arange(modulus, device="cpu")).any()):
            return order


def donors(modulus: int, operand: str) -> torch.Tensor:
    """[input] for each input (a, b), the row of the input with only ``operand`` changed."""
    values = torch.arange(modulus, device="cpu")
    a, b = (x.reshape(-1) for x in torch.meshgrid(values, values, indexing="ij"))
    other = derangement(modulus, seed=1 if operand == "a" else 2)
    return other[a] * modulus + b if operand == "a" else a * modulus + other[b]


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
    pattern_frequency: Effect  # the pattern from `=` replaced by its one-frequency rule's
    frequency: int  # that rule's k
    pattern_two_frequencies: Effect  # the pattern from `=` replaced by its two-frequency rule's
    two_frequencies: tuple[int, ...]  # that rule's frequencies, strongest first
    gating_frequency: int  # the frequency over the answer that holds most of its by-answer pattern's variance
    gating_share: float  # the share of that variance it holds
    parts_additive: Effect  # z at `=` replaced by its parts in a and b alone: mean + A(a) + B(b) (content.py)
    parts_answer: Effect  # z at `=` replaced by its mean + its part that is a function of (a + b) mod p
    clean_loss: float  # the clean model's mean loss at `=` (nats): what every Δloss here is judged against


def write_parts(z: torch.Tensor, targets: torch.Tensor, modulus: int) -> tuple[torch.Tensor, torch.Tensor]:
    """[input, d_head] each two stand-ins for one head's z at `=` over the p × p grid (the analysis of variance
    of content.py): mean + A(a) + B(b), its parts in each operand alone; and mean + the part of the interaction
    that is a function of the answer (a function of (a + b) mod p alone has no part in a or b alone)."""
    p = modulus
    grid = z.reshape(p, p, -1)  # [a, b, d_head]
    mean = grid.mean((0, 1))  # [d_head]
    by_a, by_b = grid.mean(1) - mean, grid.mean(0) - mean  # [a, d_head], [b, d_head]
    additive = mean + by_a[:, None] + by_b[None]  # [a, b, d_head]
    interaction = (grid - additive).reshape(p * p, -1)  # [input, d_head]
    by_answer = z.new_zeros(p, z.shape[-1]).index_add_(0, targets, interaction) / p  # [answer, d_head]
    return additive.reshape(p * p, -1), mean + by_answer[targets]


def head_effects(interventions: Interventions, found_rules: dict) -> list[HeadEffects]:
    """Eleven interventions for every head (the ablation at every position equals the one at `=` in the last
    layer, whose other positions feed nothing, and is not run twice there)."""
    c = interventions.capture
    p, n_layers, n_heads = c.task.modulus, c.z.shape[1], c.z.shape[2]
    donor_a, donor_b = (donors(p, operand).to(c.z.device) for operand in "ab")  # made on the CPU, as ever
    rows = []
    for layer in range(n_layers):
        for head in range(n_heads):
            run = interventions.effect
            at_equals = run(mean_ablation(c, layer, head))
            mean_pattern = c.pattern[:, layer, head].mean(0)  # [key]
            rule = found_rules[(layer, head)]
            additive, by_answer = write_parts(c.z[:, layer, head], c.targets, p)  # [input, d_head] each
            rows.append(
                HeadEffects(
                    layer=layer,
                    head=head,
                    ablation_equals=at_equals,
                    ablation_all=at_equals if layer == n_layers - 1 else run(mean_ablation(c, layer, head, True)),
                    zero_equals=run(HeadOutput(layer, head, lambda rows, z: torch.zeros_like(z))),
                    patch_a=run(HeadOutput(layer, head, lambda rows, z, l=layer, h=head: c.z[donor_a[rows], l, h])),
                    patch_b=run(HeadOutput(layer, head, lambda rows, z, l=layer, h=head: c.z[donor_b[rows], l, h])),
                    pattern_mean=run(HeadPattern(layer, head, lambda rows, w, m=mean_pattern: m.expand_as(w))),
                    pattern_rule=run(HeadPattern(layer, head, lambda rows, w, r=rule.pattern: r[rows])),
                    rule=rule.kind,
                    rule_error=rule.error,
                    pattern_frequency=run(HeadPattern(layer, head, lambda rows, w, r=rule.frequency_pattern: r[rows])),
                    frequency=rule.frequency,
                    pattern_two_frequencies=run(
                        HeadPattern(layer, head, lambda rows, w, r=rule.two_frequency_pattern: r[rows])
                    ),
                    two_frequencies=rule.two_frequencies,
                    gating_frequency=rule.gating_frequency,
                    gating_share=rule.gating_share,
                    parts_additive=run(HeadOutput(layer, head, lambda rows, z, x=additive: x[rows])),
                    parts_answer=run(HeadOutput(layer, head, lambda rows, z, x=by_answer: x[rows])),
                    clean_loss=float(interventions.clean_loss.mean()),
                )
            )
    return rows
