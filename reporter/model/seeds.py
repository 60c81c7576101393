"""Many training runs of one recipe in one batched computation: the parameters of every run stacked along a
leading run axis, one forward (the lean one of engine.py, written over that axis), one hand-written AdamW.

Each run is what `train.train(recipe, lean=True)` makes of its seed: the same init, split and batch order, and
the same arithmetic up to float rounding (tests/test_seeds.py checks the logits after an epoch). `Levers` holds
the training-time choices the recipe search tries (benchmarks/search.py); a run stops when it is done (100%
held-out for `patience` epochs) or when a `give_up` rule says it is far behind, and is taken out of the stack.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace

import torch
import torch.nn.functional as F

from reporter.model import keys
from reporter.model.engine import FUNCTIONS, norm, score_scale
from reporter.model.recipe import PLATEAU, Recipe, validate
from reporter.model.task import Task, all_inputs, answers, split_indices
from reporter.model.train import initial_model, lr_factor


@dataclass(frozen=True)
class Levers:
    """Training-time choices beyond the recipe; the defaults change nothing."""

    decay_held: bool = False  # shrink weights by lr_peak·wd a step, not lr_t·wd (the anneal keeps the decay)
    embed_lr: float = 1.0  # the embeddings' learning rate as a multiple of the others'
    decay_embed_norms: bool = True  # False: no weight decay on the embeddings and the norms
    dropout: float = 0.0  # on every attention and MLP output while training
    blend: float = 0.0  # layer 0's attention from `=` mixed this much towards uniform at the start...
    blend_epochs: float = 10.0  # ...fading linearly to none by this epoch
    float64_loss: bool = False  # log-softmax of the loss in float64
    unembed_norm: bool = False  # the unembedding rescaled to its initial norm after every step
    stablemax: bool = False  # the loss's probabilities s(z)/Σs, s(x) = x + 1 (x >= 0), 1/(1 - x) below
    orthogonal: bool = False  # ⊥AdamW: no weight decay; each gradient's part along its weight removed, norm kept
    give_up: tuple[tuple[int, float], ...] = ()  # (epoch, held-out accuracy): below it at that epoch, stop


@dataclass
class Run:
    """One seed's run: its outcome and per-epoch history (held-out and train accuracy, the constant share of the
    final `=` residual on train.train's tracking sample, the share of training rows whose float32 softmax had
    collapsed to one)."""

    seed: int
    history: list[dict] = field(default_factory=list)
    outcome: str = "running"  # "trained", "gave up", "ran out" (epochs) or "diverged"
    first_perfect: int | None = None
    left_plateau: int | None = None
    final: dict = field(default_factory=dict)  # accuracies and attention statistics over all p² inputs
    state: dict = field(default_factory=dict)  # the trained parameters (CPU), by state_dict key
    seconds: float = 0.0


def linear(x: torch.Tensor, w: dict, prefix: str) -> torch.Tensor:
    """x [run, rows, ..., in] -> [run, rows, ..., out] through each run's own nn.Linear weights."""
    flat = x.reshape(x.shape[0], -1, x.shape[-1])
    out = torch.baddbmm(w[keys.bias(prefix)].unsqueeze(1), flat, w[keys.weight(prefix)].transpose(1, 2))
    return out.view(*x.shape[:-1], out.shape[-1])


def normed(x: torch.Tensor, w: dict, prefix: str, cfg) -> torch.Tensor:
    shape = (x.shape[0],) + (1,) * (x.dim() - 2) + (x.shape[-1],)
    weight, bias = w.get(keys.weight(prefix)), w.get(keys.bias(prefix))
    return norm(
        x,
        cfg.normalization_type,
        None if weight is None else weight.view(shape),
        None if bias is None else bias.view(shape),
        cfg.eps,
    )


def forward(w: dict, tokens: torch.Tensor, cfg, levers: Levers = Levers(), blend: float = 0.0, train: bool = False):
    """tokens [run, rows, pos] -> (logits at `=` [run, rows, vocab], the final `=` residual [run, rows, d],
    attention from `=` [run, rows, layer, head, key]). Past the last block's attention only `=` is computed."""
    runs, rows, n_pos = tokens.shape
    which = torch.arange(runs, device=tokens.device).view(runs, 1, 1)
    x = w[keys.EMBED][which, tokens] + w[keys.POS_EMBED][:, None, :n_pos]  # [run, rows, pos, d]
    mask = torch.ones(n_pos, n_pos, dtype=torch.bool, device=tokens.device).triu(1)
    scale, drop = score_scale(cfg), levers.dropout if train else 0.0
    seen, last = [], cfg.n_layers - 1
    for layer in range(cfg.n_layers):
        h = normed(x, w, keys.ln(layer, 1), cfg)
        q, k, v = (
            linear(h, w, keys.attn(layer, name)).view(runs * rows, n_pos, cfg.n_heads, cfg.d_head).transpose(1, 2)
            for name in "qkv"
        )  # [run · rows, head, pos, d_head]
        pattern = F.softmax((q @ k.transpose(-2, -1) / scale).masked_fill(mask, -math.inf), dim=-1)
        if layer == 0 and blend > 0:  # `=`'s row only, towards uniform over its keys
            pattern = torch.cat([pattern[:, :, :-1], (1 - blend) * pattern[:, :, -1:] + blend / n_pos], 2)
        seen.append(pattern[:, :, -1].reshape(runs, rows, cfg.n_heads, n_pos))
        z = (pattern @ v).transpose(1, 2).reshape(runs, rows, n_pos, cfg.d_model)
        if layer == last:
            x, z = x[:, :, -1:], z[:, :, -1:]  # only `=` is read from here on
        x = x + F.dropout(linear(z, w, keys.attn(layer, "o")), drop, train)
        if not cfg.attn_only:
            pre = linear(normed(x, w, keys.ln(layer, 2), cfg), w, keys.mlp(layer, "in"))
            x = x + F.dropout(linear(FUNCTIONS[cfg.act_fn](pre), w, keys.mlp(layer, "out")), drop, train)
    logits = linear(normed(x[:, :, -1], w, keys.LN_FINAL, cfg), w, keys.UNEMBED)
    return logits, x[:, :, -1], torch.stack(seen, 2)


def stablemax_log_p(logits: torch.Tensor) -> torch.Tensor:
    """Log-probabilities of StableMax (Prieto et al. 2025): softmax's exp replaced by a function that grows linearly."""
    s = torch.where(logits >= 0, logits + 1, 1 / (1 - logits.clamp(max=0)))
    return s.log() - s.sum(-1, keepdim=True).log()


def orthogonalise_(params: dict) -> None:
    """Remove from each run's gradient its component along that run's weight, rescaled to the gradient's norm."""
    with torch.no_grad():
        for p in params.values():
            g, w = p.grad.flatten(1), p.detach().flatten(1)  # [run, n]
            along = (g * w).sum(1, keepdim=True) / w.pow(2).sum(1, keepdim=True).clamp(min=1e-30)
            perp = g - along * w
            perp *= g.norm(dim=1, keepdim=True) / perp.norm(dim=1, keepdim=True).clamp(min=1e-30)
            p.grad.copy_(perp.view_as(p.grad))


def constant_share(resid: torch.Tensor) -> torch.Tensor:
    """[run, rows, d] -> [run]: the share of the squared norm that is the same for every row (train.track_layers)."""
    return resid.mean(1).pow(2).sum(-1) / resid.pow(2).sum(-1).mean(1)


class AdamW:
    """torch.optim.AdamW's arithmetic on stacked parameters, with a learning rate and a weight decay per run."""

    def __init__(self, params: dict, recipe: Recipe):
        self.params, self.recipe, self.t = params, recipe, 0
        self.m = {name: torch.zeros_like(p) for name, p in params.items()}
        self.v = {name: torch.zeros_like(p) for name, p in params.items()}

    def step(self, lr: dict, shrink: dict) -> None:
        """``lr`` and ``shrink`` (the weight decay's share taken off a step) by parameter name, each [run]."""
        self.t += 1
        b1, b2 = self.recipe.beta1, self.recipe.beta2
        c1, c2 = 1 - b1**self.t, math.sqrt(1 - b2**self.t)
        with torch.no_grad():
            for name, p in self.params.items():
                g, m, v = p.grad, self.m[name], self.v[name]
                shape = (-1,) + (1,) * (p.dim() - 1)
                p.mul_(1 - shrink[name].view(shape))
                m.lerp_(g, 1 - b1)
                v.mul_(b2).addcmul_(g, g, value=1 - b2)
                p.sub_(lr[name].view(shape) / c1 * m / (v.sqrt() / c2 + 1e-8))
                p.grad = None

    def keep(self, index: torch.Tensor) -> None:
        """Keep only the runs at ``index``, in the parameters and the moments."""
        for store in (self.params, self.m, self.v):
            for name in store:
                kept = store[name].detach()[index].clone()
                store[name] = kept.requires_grad_() if store is self.params else kept


def summary(w: dict, task: Task, cfg, train_idx: torch.Tensor, test_idx: torch.Tensor) -> dict:
    """One run's accuracies over all p² inputs and its attention from `=` per layer and head: mean_max (the mean
    largest weight) and on_equals (the mean weight on `=` itself)."""
    tokens = all_inputs(task)
    with torch.no_grad():
        logits, _, seen = forward(w, tokens[None], cfg)
    correct = (logits[0].argmax(-1) == answers(task, tokens)).double()
    pattern = seen[0].double()  # [input, layer, head, key]
    return {
        "accuracy": float(correct.mean()),
        "train_accuracy": float(correct[train_idx].mean()),
        "test_accuracy": float(correct[test_idx].mean()),
        "mean_max": pattern.amax(-1).mean(0).tolist(),
        "on_equals": pattern[..., -1].mean(0).tolist(),
    }


def train_seeds(recipe: Recipe, seeds: list[int], levers: Levers = Levers(), on_epoch=None) -> list[Run]:
    """Train ``recipe`` once per seed, all runs in one stack; ``on_epoch(epoch, runs)`` sees the active runs."""
    validate(recipe)
    task, runs = Task(recipe.modulus), [Run(seed) for seed in seeds]
    models, splits, orders, tracked = [], [], [], []
    for seed in seeds:  # what train.train does first, per seed
        torch.manual_seed(seed)
        models.append(initial_model(replace(recipe, seed=seed).model_config(), recipe.unembed_scale))
        splits.append(split_indices(task, recipe.train_fraction, seed))
        orders.append(torch.Generator().manual_seed(seed + 1))
        sample = torch.randperm(task.n_inputs, generator=orders[-1])  # train.train's tracking sample, drawn first
        tracked.append(sample[: recipe.tracking_size].sort().values)
    cfg, states = models[0].cfg, [m.state_dict(keep_vars=True) for m in models]
    trained = {id(p) for p in models[0].parameters()}
    names = [name for name, t in states[0].items() if id(t) in trained]  # unembed.bias is a buffer: it stays put
    stacked = {name: torch.stack([s[name].detach() for s in states]).clone() for name in states[0]}
    params = {name: stacked[name].requires_grad_() for name in names}
    fixed = {name: t for name, t in stacked.items() if name not in params}
    optimizer = AdamW(params, recipe)
    tokens, n_train = all_inputs(task), len(splits[0][0])
    targets = answers(task, tokens)
    steps = math.ceil(n_train / recipe.batch_size)
    embeddings, spared = {keys.EMBED, keys.POS_EMBED}, set() if recipe.decay_scores else keys.score_keys(cfg.n_layers)
    if not levers.decay_embed_norms:
        spared |= embeddings | keys.norm_keys(cfg.n_layers)
    lr_of = {name: levers.embed_lr if name in embeddings else 1.0 for name in names}
    decays = {name: name not in spared for name in names}
    decay = torch.full((len(seeds),), recipe.weight_decay)
    unembed = keys.weight(keys.UNEMBED)
    initial_norm = params[unembed].detach().flatten(1).norm(dim=1)
    perfect, active, started = [0] * len(seeds), list(range(len(seeds))), time.perf_counter()
    for epoch in range(1, recipe.epochs + 1):
        index = torch.tensor(active)
        train_idx = torch.stack([splits[r][0] for r in active])  # [run, n_train]
        order = torch.stack([train_idx[i][torch.randperm(n_train, generator=orders[r])] for i, r in enumerate(active)])
        loss_sum, correct, collapsed = (torch.zeros(len(active), dtype=torch.float64) for _ in range(3))
        for step in range(steps):
            progress = epoch - 1 + step / steps
            factor = lr_factor(recipe, progress)
            blend = levers.blend * max(0.0, 1 - progress / levers.blend_epochs)
            batch = order[:, step * recipe.batch_size : (step + 1) * recipe.batch_size]  # [run, rows]
            logits, _, _ = forward({**fixed, **optimizer.params}, tokens[batch], cfg, levers, blend, train=True)
            target = targets[batch]
            wide = logits.double() if levers.float64_loss else logits
            log_p = stablemax_log_p(wide) if levers.stablemax else F.log_softmax(wide, -1)
            loss = -log_p.gather(-1, target[..., None]).squeeze(-1)  # [run, rows]
            loss.mean(1).sum().backward()
            if levers.orthogonal:
                orthogonalise_(optimizer.params)
            held = recipe.lr * (factor if progress < recipe.warmup_epochs or not levers.decay_held else 1.0)
            lr = {name: torch.full((len(active),), recipe.lr * factor * lr_of[name]) for name in names}
            shrink = {name: held * decay[index] * (decays[name] and not levers.orthogonal) for name in names}
            optimizer.step(lr, shrink)
            if levers.unembed_norm:
                with torch.no_grad():
                    w_u = optimizer.params[unembed]
                    w_u.mul_((initial_norm[index] / w_u.flatten(1).norm(dim=1)).view(-1, 1, 1))
            with torch.no_grad():
                loss_sum += loss.detach().double().sum(1)
                correct += (logits.argmax(-1) == target).sum(1)
                collapsed += (F.softmax(logits.detach().float(), -1).amax(-1) == 1).sum(1)
        test_idx = torch.stack([splits[r][1] for r in active])
        with torch.no_grad():
            logits, _, _ = forward({**fixed, **optimizer.params}, tokens[test_idx], cfg)
            test_acc = (logits.argmax(-1) == targets[test_idx]).double().mean(1)
            _, resid, _ = forward({**fixed, **optimizer.params}, tokens[torch.stack([tracked[r] for r in active])], cfg)
            constant = constant_share(resid)
        finished = []
        for i, r in enumerate(active):
            run = runs[r]
            run.history.append(
                {
                    "epoch": epoch,
                    "train_loss": round(float(loss_sum[i]) / n_train, 6),
                    "train_accuracy": round(float(correct[i]) / n_train, 6),
                    "test_accuracy": round(float(test_acc[i]), 6),
                    "constant_share": round(float(constant[i]), 4),
                    "collapsed": round(float(collapsed[i]) / n_train, 6),
                }
            )
            if not math.isfinite(float(loss_sum[i])):
                run.outcome = "diverged"
            if run.left_plateau is None and float(constant[i]) < PLATEAU:
                run.left_plateau = epoch
                if recipe.decay_on_exit is not None:
                    decay[r] = recipe.decay_on_exit
            perfect[r] = perfect[r] + 1 if float(test_acc[i]) == 1.0 else 0
            if perfect[r] == 1 and run.first_perfect is None:
                run.first_perfect = epoch
            if perfect[r] >= recipe.patience:
                run.outcome = "trained"
            elif any(epoch == at and float(test_acc[i]) < floor for at, floor in levers.give_up):
                run.outcome = "gave up"
            elif epoch == recipe.epochs and run.outcome == "running":
                run.outcome = "ran out"
            if run.outcome != "running":
                finished.append(i)
        if on_epoch is not None:
            on_epoch(epoch, [runs[r] for r in active])
        for i in finished:
            run = runs[active[i]]
            own = {name: p.detach()[i : i + 1] for name, p in {**fixed, **optimizer.params}.items()}
            run.final = summary(own, task, cfg, *splits[active[i]])
            run.state = {name: t[0].clone() for name, t in own.items()}
            run.seconds = time.perf_counter() - started
        active = [r for i, r in enumerate(active) if i not in finished]
        if not active:
            break
        kept = torch.tensor([i for i in range(len(index)) if i not in finished])
        optimizer.keep(kept)
        fixed = {name: t[kept] for name, t in fixed.items()}
    return runs
