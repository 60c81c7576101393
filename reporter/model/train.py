"""The training loop: a recipe in, a trained model and its per-epoch history out.

Every parameter trains at the same learning rate under one schedule; the weight decay may change once, when
the plateau is left, and may spare the queries and keys (Recipe). The only departure from TransformerLens'
init is a smaller unembedding.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F

from reporter.interpret.stats import normalised_entropy
from reporter.measure.capture import attention_from_equals
from reporter.model import keys
from reporter.model.build import build_model
from reporter.model.engine import Forward, replayable
from reporter.model.recipe import PLATEAU, Recipe, validate
from reporter.model.task import EQUALS_POS, Task, all_inputs, answers, split_indices


class TrainingError(RuntimeError):
    """Training that cannot go on (the loss became NaN or infinite); the message is one sentence."""


@dataclass
class TrainResult:
    """A trained model and what happened on the way."""

    model: object  # TransformerBridge
    task: Task
    config: dict  # config.json, with the "training" block
    history: list[dict] = field(default_factory=list)


def lr_factor(recipe: Recipe, progress: float) -> float:
    """The learning-rate multiplier at ``progress`` epochs into training."""
    if progress < recipe.warmup_epochs:
        return (progress + 1e-3) / recipe.warmup_epochs
    start = recipe.decay_start * recipe.epochs
    if progress < start or recipe.decay_start >= 1:
        return 1.0
    done = min(1.0, (progress - start) / (recipe.epochs - start))
    return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * done))


def track_layers(model, tokens: torch.Tensor) -> list[dict]:
    """Per layer: mean normalised entropy and mean_max of attention from `=`, and the
    share of the `=` residual's squared norm that is the same for every input."""
    pattern, resid, _ = attention_from_equals(
        model, tokens, keep_resid=True
    )  # [batch, layer, head, key], [batch, layer, d]
    layers = []
    for layer in range(pattern.shape[1]):
        w, r = pattern[:, layer], resid[:, layer]
        constant = r.mean(0).pow(2).sum() / r.pow(2).sum(-1).mean()  # scalar in [0, 1]
        layers.append(
            {
                "entropy": round(float(normalised_entropy(w).mean()), 4),
                "mean_max": round(float(w.max(-1).values.mean()), 4),
                "constant_share": round(float(constant), 4),
            }
        )
    return layers


def logits_at_equals(model, lean: bool = True) -> Callable[[torch.Tensor], torch.Tensor]:
    """tokens [batch, pos] -> logits at `=` [batch, p]: the lean forward where it covers the model (the same
    logits, computed at `=` only; reporter/model/engine.py), else the bridge's own."""
    if lean and replayable(model.cfg):
        return Forward(model)
    return lambda tokens: model(tokens)[:, EQUALS_POS, :]


def evaluate(model, tokens: torch.Tensor, targets: torch.Tensor, batch_size: int = 4096) -> tuple[float, float]:
    """Mean cross-entropy (nats) and accuracy of the answer read at `=`."""
    loss, correct = 0.0, 0
    forward = logits_at_equals(model)
    with torch.no_grad():
        for start in range(0, len(tokens), batch_size):
            logits = forward(tokens[start : start + batch_size])  # [batch, p]
            target = targets[start : start + batch_size]
            loss += float(F.cross_entropy(logits, target, reduction="sum"))
            correct += int((logits.argmax(-1) == target).sum())
    return loss / len(tokens), correct / len(tokens)


def initial_model(config_model: dict, unembed_scale: float):
    """The model training starts from: TransformerLens' seeded init of ``config_model`` (its seed, its
    initializer_range), with the unembedding scaled by ``unembed_scale`` (Recipe). The untrained baseline of
    the report is this model, so that it is the trained model's own start point."""
    model = build_model(config_model)
    with torch.no_grad():
        model.state_dict()[keys.weight(keys.UNEMBED)].mul_(unembed_scale)
    return model


def parameter_groups(model, recipe: Recipe) -> list:
    """What AdamW trains: every parameter alike, or two groups when the queries and keys are kept from decaying."""
    if recipe.decay_scores:
        return list(model.parameters())
    state = model.state_dict(keep_vars=True)
    scores = {id(state[name]) for name in keys.score_keys(recipe.n_layers)}
    params = list(model.parameters())
    return [
        {"params": [p for p in params if id(p) not in scores]},
        {"params": [p for p in params if id(p) in scores], "weight_decay": 0.0, "spared": True},
    ]


def train(
    recipe: Recipe, on_epoch: Callable[[dict], None] | None = None, lean: bool = False, device: str = "cpu"
) -> TrainResult:
    """Train a model on a + b mod p with ``recipe`` on the torch ``device``; ``on_epoch`` sees each history record.
    The init, the split and the batch order are made on the CPU, so they are the same on every device; the
    model comes back to the CPU.

    The steps run through the bridge's own forward, whose runs are the shipped ones. ``lean=True`` runs
    them through the lean forward instead: the same logits, gradients that differ by float rounding, about
    1.2x faster a step (benchmarks/train.py uses it as a perturbation that should not matter)."""
    validate(recipe)
    task = Task(recipe.modulus)
    config_model = recipe.model_config()
    torch.manual_seed(recipe.seed)
    model = initial_model(config_model, recipe.unembed_scale)
    model.to(device, print_details=False)
    model.train()

    tokens = all_inputs(task, device)  # [p², 4]
    targets = answers(task, tokens)  # [p²]
    train_idx, test_idx = split_indices(task, recipe.train_fraction, recipe.seed)
    generator = torch.Generator().manual_seed(recipe.seed + 1)
    tracked_idx = torch.randperm(task.n_inputs, generator=generator, device="cpu")[: recipe.tracking_size].sort().values

    optimizer = torch.optim.AdamW(
        parameter_groups(model, recipe),
        lr=recipe.lr,
        betas=(recipe.beta1, recipe.beta2),
        weight_decay=recipe.weight_decay,
    )
    left_plateau = None
    forward = logits_at_equals(model, lean)
    steps_per_epoch = math.ceil(len(train_idx) / recipe.batch_size)
    history: list[dict] = []
    perfect_epochs = 0
    started = time.perf_counter()
    for epoch in range(1, recipe.epochs + 1):
        order = train_idx[torch.randperm(len(train_idx), generator=generator, device="cpu")]
        loss_sum, correct = 0.0, 0
        for step in range(steps_per_epoch):
            batch = order[step * recipe.batch_size : (step + 1) * recipe.batch_size]
            for group in optimizer.param_groups:
                group["lr"] = recipe.lr * lr_factor(recipe, epoch - 1 + step / steps_per_epoch)
            logits = forward(tokens[batch])  # [batch, p]
            loss = F.cross_entropy(logits, targets[batch])
            if not torch.isfinite(loss):
                raise TrainingError(
                    f"the loss became {loss.item()} at epoch {epoch}, step {step + 1}: training diverged; "
                    "lower --lr or change --seed. Nothing was written."
                )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += loss.item() * len(batch)
            correct += int((logits.argmax(-1) == targets[batch]).sum())
        model.eval()
        test_loss, test_acc = evaluate(model, tokens[test_idx], targets[test_idx])
        with torch.no_grad():
            layers = track_layers(model, tokens[tracked_idx])
        model.train()
        record = {
            "epoch": epoch,
            "train_loss": round(loss_sum / len(train_idx), 6),
            "train_accuracy": round(correct / len(train_idx), 6),
            "test_loss": round(test_loss, 6),
            "test_accuracy": round(test_acc, 6),
            "wall_time": round(time.perf_counter() - started, 3),
            "layers": layers,
        }
        history.append(record)
        if left_plateau is None and layers[-1]["constant_share"] < PLATEAU:
            left_plateau = epoch
            for group in optimizer.param_groups:
                if recipe.decay_on_exit is not None and not group.get("spared"):
                    group["weight_decay"] = recipe.decay_on_exit
        if on_epoch is not None:
            on_epoch(record)
        perfect_epochs = perfect_epochs + 1 if test_acc == 1.0 else 0
        if perfect_epochs >= recipe.patience:
            break

    model.eval()
    train_loss, train_acc = evaluate(model, tokens[train_idx], targets[train_idx])
    test_loss, test_acc = evaluate(model, tokens[test_idx], targets[test_idx])
    model.to("cpu", print_details=False)  # what is written is always the CPU's
    first_perfect = next((r["epoch"] for r in history if r["test_accuracy"] == 1.0), None)
    config = {
        "model": config_model,
        "task": task.to_json(),
        "training": {
            "recipe": asdict(recipe),
            **({"forward": "lean (reporter/model/engine.py)"} if isinstance(forward, Forward) else {}),
            **({"device": device} if device != "cpu" else {}),  # the shipped runs were trained on the CPU
            "seed": recipe.seed,
            "split": {
                "train_fraction": recipe.train_fraction,
                "n_train": len(train_idx),
                "n_test": len(test_idx),
                "rule": "torch.randperm(p*p, generator=manual_seed(seed)); "
                "the first round(fraction*p*p) indices a*p+b train",
            },
            "epochs_run": len(history),
            "first_perfect_epoch": first_perfect,
            "plateau_left_epoch": left_plateau,
            "stopped_early": len(history) < recipe.epochs,
            "final": {
                "train_loss": round(train_loss, 6),
                "train_accuracy": train_acc,
                "test_loss": round(test_loss, 6),
                "test_accuracy": test_acc,
            },
            "tracking": {
                "n_inputs": len(tracked_idx),
                "rule": "first tracking_size of torch.randperm(p*p, generator=manual_seed(seed + 1)), sorted",
            },
            "history": history,
        },
    }
    return TrainResult(model=model, task=task, config=config, history=history)
