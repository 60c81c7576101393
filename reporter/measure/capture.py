"""One pass of the model over all p² inputs through TransformerLens hooks, keeping what the stages read.

`hooked_pass` is the one hook-driven forward. `capture` keeps what the measuring stages read: content
reads each layer's input at every position and each head's output at `=`; causal re-runs the model
from any layer with edits (model/engine.py), reusing the clean activations kept here; everything is
float64 (the model runs in float64 for the analysis). `attention_over_all_inputs` keeps only the
attention from `=` and the answers (what stats reads), `attention_from_equals` one batch of it (what
training tracks).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from reporter.limits import batch_for
from reporter.model import keys
from reporter.model.device import device_of
from reporter.model.task import EQUALS_POS, Task, all_pairs, answers, tokens_for


@dataclass(frozen=True)
class Capture:
    """Clean activations over all inputs (row a * p + b), as TransformerLens' hooks report them."""

    task: Task
    resid_pre: torch.Tensor  # [input, layer, pos, d_model] each layer's input at every position
    resid_final: torch.Tensor  # [input, pos, d_model] the input of the final norm
    keys: torch.Tensor  # [input, layer, pos, head, d_head] hook_k
    values: torch.Tensor  # [input, layer, pos, head, d_head] hook_v
    queries: torch.Tensor  # [input, layer, head, d_head] hook_q at `=`
    z: torch.Tensor  # [input, layer, head, d_head] hook_z at `=`: what each head's attention reads
    z_mean: torch.Tensor  # [layer, pos, head, d_head] hook_z at every position, averaged over all inputs
    attn_out_mean: torch.Tensor  # [layer, pos, d_model] hook_attn_out, averaged over all inputs
    mlp_out_mean: torch.Tensor  # [layer, pos, d_model] hook_mlp_out, averaged over all inputs (0: no MLPs)
    pattern: torch.Tensor  # [input, layer, head, key] hook_pattern from `=`
    logits: torch.Tensor  # [input, d_vocab_out] at `=`
    targets: torch.Tensor  # [input] the right answer (a + b) mod p

    @property
    def loss(self) -> torch.Tensor:
        """[input] cross-entropy at `=` in nats."""
        return F.cross_entropy(self.logits, self.targets, reduction="none")

    @property
    def correct(self) -> np.ndarray:
        """[input] bool: the largest logit is the right answer."""
        return (self.logits.argmax(-1) == self.targets).cpu().numpy()

    @property
    def weights(self) -> np.ndarray:
        """[input, layer, head, key] the attention from `=` as numpy."""
        return self.pattern.cpu().numpy()


class NonFiniteLogits(ValueError):
    """The model's logits are not finite on some input: nothing can be measured."""


@dataclass(frozen=True)
class Attention:
    """Attention from `=` on every input, and the model's answers."""

    task: Task
    weights: np.ndarray  # [input, layer, head, key] float64, input index a * p + b
    correct: np.ndarray  # [input] bool, argmax logit at `=` equals (a + b) mod p

    @property
    def n_layers(self) -> int:
        return self.weights.shape[1]

    @property
    def n_heads(self) -> int:
        return self.weights.shape[2]


def hooked_pass(model, tokens: torch.Tensor, names: list[str]) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """One forward of ``tokens`` [batch, pos] through TransformerLens hooks: each named hook's activation as
    it saw it, and the logits at `=` [batch, d_vocab_out]."""
    seen: dict[str, torch.Tensor] = {}

    def keep(name: str):  # by the name asked for: hook.name is the bridge's own, not its alias
        def hook(activation: torch.Tensor, hook) -> None:
            seen[name] = activation.detach().clone()

        return hook

    logits = model.run_with_hooks(tokens, fwd_hooks=[(name, keep(name)) for name in names])[:, EQUALS_POS, :]
    return seen, logits


def batches(model, task: Task, names: list[str]):
    """(tokens [batch, 4], activations, logits at `=`) of each batch of all p² inputs, in order, through
    ``hooked_pass``, on the model's device; logits that are not finite are refused."""
    cfg, device = model.cfg, device_of(model)
    batch = batch_for(cfg.d_model, cfg.d_mlp or 0, cfg.d_vocab_out)
    with torch.inference_mode():
        for start in range(0, task.n_inputs, batch):
            tokens = tokens_for(task, *all_pairs(task, start, start + batch, device))  # [batch, 4]
            seen, logits = hooked_pass(model, tokens, names)
            if not bool(torch.isfinite(logits).all()):
                raise NonFiniteLogits("the weights give NaN or infinite logits on some inputs.")
            yield tokens, seen, logits


def attention_from_equals(model, tokens: torch.Tensor, keep_resid: bool = False):
    """One forward pass: attention from `=` [batch, layer, head, key], the logits at `=` [batch, d_vocab_out],
    and (with ``keep_resid``) the `=` residual after each layer [batch, layer, d_model]."""
    layers = range(model.cfg.n_layers)
    names = [keys.hook(layer, keys.PATTERN) for layer in layers]
    names += [keys.hook(layer, keys.RESID_POST) for layer in layers] if keep_resid else []
    seen, logits = hooked_pass(model, tokens, names)
    pattern = torch.stack([seen[keys.hook(l, keys.PATTERN)][:, :, EQUALS_POS, :] for l in layers], dim=1)
    if not keep_resid:
        return pattern, None, logits
    return pattern, torch.stack([seen[keys.hook(l, keys.RESID_POST)][:, EQUALS_POS, :] for l in layers], dim=1), logits


def attention_over_all_inputs(model, task: Task) -> Attention:
    """Run the model once over all p² inputs, keeping only attention from `=` and correctness."""
    weights = np.empty((task.n_inputs, model.cfg.n_layers, model.cfg.n_heads, 4), dtype=np.float64)
    correct = np.empty(task.n_inputs, dtype=bool)
    names = [keys.hook(layer, keys.PATTERN) for layer in range(model.cfg.n_layers)]
    start = 0
    for tokens, seen, logits in batches(model, task, names):
        pattern = torch.stack([seen[name][:, :, EQUALS_POS, :] for name in names], dim=1)  # [batch, layer, head, key]
        weights[start : start + len(tokens)] = pattern.double().cpu().numpy()
        correct[start : start + len(tokens)] = (logits.argmax(-1) == answers(task, tokens)).cpu().numpy()
        start += len(tokens)
    return Attention(task=task, weights=weights, correct=correct)


KEPT = {  # hook site -> what the capture keeps of it, per layer
    keys.RESID_PRE: lambda x: x,  # [batch, pos, d_model]
    keys.K: lambda x: x,  # [batch, pos, head, d_head]
    keys.V: lambda x: x,
    keys.Q: lambda x: x[:, EQUALS_POS],  # [batch, head, d_head]
    keys.Z: lambda x: x[:, EQUALS_POS],
    keys.PATTERN: lambda x: x[:, :, EQUALS_POS, :],  # [batch, head, query, key] -> [batch, head, key]
}
SUMMED = (keys.Z, keys.ATTN_OUT, keys.MLP_OUT)  # hook sites whose mean over all inputs the capture keeps


def capture(model, task: Task) -> Capture:
    """Run the model over every input once (in batches), through TransformerLens hooks."""
    cfg, device = model.cfg, device_of(model)
    layers = range(cfg.n_layers)
    summed = [site for site in SUMMED if not (cfg.attn_only and site == keys.MLP_OUT)]
    sites = list(dict.fromkeys([*KEPT, *summed]))
    names = [keys.hook(layer, site) for layer in layers for site in sites] + [keys.FINAL_IN]
    sums = {  # site -> the sum over inputs at every position, per layer
        keys.Z: torch.zeros(cfg.n_layers, 4, cfg.n_heads, cfg.d_head, dtype=torch.float64, device=device),
        keys.ATTN_OUT: torch.zeros(cfg.n_layers, 4, cfg.d_model, dtype=torch.float64, device=device),
        keys.MLP_OUT: torch.zeros(cfg.n_layers, 4, cfg.d_model, dtype=torch.float64, device=device),
    }
    kept: dict[str, torch.Tensor] = {}  # site -> [input, layer, ...], filled batch by batch (no copies to stack)
    final, logits = None, None
    start = 0
    for _, seen, out in batches(model, task, names):
        rows = slice(start, start + len(out))
        for layer in layers:
            for site, select in KEPT.items():
                part = select(seen[keys.hook(layer, site)])
                if site not in kept:
                    kept[site] = part.new_empty((task.n_inputs, cfg.n_layers, *part.shape[1:]))
                kept[site][rows, layer] = part
            for site in summed:
                sums[site][layer] += seen[keys.hook(layer, site)].double().sum(0)
        if final is None:
            final = seen[keys.FINAL_IN].new_empty((task.n_inputs, *seen[keys.FINAL_IN].shape[1:]))
            logits = out.new_empty((task.n_inputs, *out.shape[1:]))
        final[rows], logits[rows] = seen[keys.FINAL_IN], out
        start = rows.stop

    n = task.n_inputs
    tokens = tokens_for(task, *all_pairs(task, device=device))
    return Capture(
        task=task,
        resid_pre=kept[keys.RESID_PRE],
        resid_final=final,
        keys=kept[keys.K],
        values=kept[keys.V],
        queries=kept[keys.Q],
        z=kept[keys.Z],
        z_mean=sums[keys.Z] / n,
        attn_out_mean=sums[keys.ATTN_OUT] / n,
        mlp_out_mean=sums[keys.MLP_OUT] / n,
        pattern=kept[keys.PATTERN],
        logits=logits,
        targets=answers(task, tokens),
    )
