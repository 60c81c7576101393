"""Heads matched across runs within each layer by what they do: an optimal assignment on their profiles, where a
head whose best match lies further than `match_cost` has no counterpart in that run (never forced into a group).

A group is stable only when its counted members share their role (where they read by content, what they carry)
and their importance band; a role that the untrained model, as training starts from it, already earns in that
layer does not count as a recurring role.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np

from reporter.assignment import assignment
from reporter.compare.runs import Run
from reporter.interpret.roles import HeadRole, merged_weights
from reporter.interpret.thresholds import Thresholds
from reporter.model.task import POSITION_KEYS


def role_key(role: HeadRole) -> tuple[str, str]:
    """What a head does, as the comparison names it: where it reads by content, and what it carries."""
    return role.reads.kind.value, role.carries.value


def profile(run: Run, role: HeadRole) -> np.ndarray:
    """A head's profile: its attention by content (a side, +, b side, =), the shares of what it carries,
    and how much it matters (log of 1 + Δloss, so a critical head is not a thousand times anything else)."""
    stats = run.analysis.stats
    reading = run.analysis.reading.readings[role.layer]
    h = stats.heads[role.layer * stats.n_heads + role.head]
    attention = merged_weights(np.array([[h.mean[k] for k in POSITION_KEYS]]), reading)[0]
    s = role.write.shares
    carried = np.array([s.a, s.b, s.interaction, s.answer]) * (0.0 if role.carries.value == "nothing" else 1.0)
    return np.concatenate([attention, carried, [math.log1p(max(0.0, role.effects.ablation_equals.delta_loss))]])


def untrained_roles(run: Run, layer: int) -> set[tuple[str, str]]:
    """The roles (reads, carries) the run's untrained model earns in ``layer`` (none when it was not measured)."""
    baseline = run.analysis.baseline
    if baseline is None:
        return set()
    n = run.analysis.stats.n_heads  # the baseline's heads are in layer-then-head order
    return {(h["reads"], h["carries"]) for h in baseline.heads[layer * n : (layer + 1) * n]}


@dataclass(frozen=True)
class Group:
    """One head of a reference run and, within its layer, its counterpart in each other run, if any."""

    layer: int
    members: list[tuple[str, str]]  # (run, head name) of each run where it has a counterpart
    roles: list[tuple[str, str]]  # each member's role key
    bands: list[str]  # each member's importance band
    costs: list[float]  # each member's profile distance to the reference head (0 for the reference itself)
    unmatched: list[str]  # the runs in which it has no counterpart
    stable: bool  # every counted member has the same role and band, and the untrained model does not earn it
    untrained: bool  # the untrained model of some member's run earns the group's role in this layer
    unstable: str | None  # why it is not stable: "unmatched", "untrained", "bands" or "roles" (None: stable)
    agreement: float  # share of counted members with the most common role
    role: tuple[str, str]  # the most common role among counted members


def layer_roles(run: Run, layer: int) -> list[HeadRole]:
    return [role for role in run.analysis.roles if role.layer == layer]


def group(layer, reference: Run, runs: list[Run], matched: dict, unmatched: list[str]) -> Group:
    """The group of one reference head: ``matched`` maps a run's name to (its head's role, the cost)."""
    members, keys, bands, costs, counted = [], [], [], [], []
    for run in runs:
        if run.name not in matched:
            continue
        role, cost = matched[run.name]
        members.append((run.name, role.name))
        keys.append(role_key(role))
        bands.append(role.importance.value)
        costs.append(cost)
        if run.counted:
            counted.append((role_key(role), role.importance.value))
    common, n = Counter(key for key, _ in counted or zip(keys, bands, strict=True)).most_common(1)[0]
    untrained = any(common in untrained_roles(run, layer) for run in runs if run.name in matched)
    roles_agree = len({key for key, _ in counted}) <= 1
    unstable = next(
        (
            code
            for code, fails in (
                ("unmatched", unmatched),
                ("roles", not roles_agree),
                ("bands", len(set(counted)) > 1),
                ("untrained", untrained),
            )
            if fails
        ),
        None,
    )
    share = n / max(1, len(counted or keys))
    return Group(layer, members, keys, bands, costs, unmatched, unstable is None, untrained, unstable, share, common)


def match_heads(runs: list[Run], t: Thresholds) -> tuple[list[Group], dict[str, list[str]]]:
    """Groups of heads, one per head of the first counted run and layer, matched across runs by profile; and,
    for each run, its heads that are no reference head's counterpart."""
    reference = next((r for r in runs if r.counted), runs[0])
    n_layers = min(r.analysis.stats.n_layers for r in runs)
    groups: list[Group] = []
    alone: dict[str, list[str]] = {run.name: [] for run in runs if run is not reference}
    for layer in range(n_layers):
        ref_roles = layer_roles(reference, layer)
        matched = [{reference.name: (role, 0.0)} for role in ref_roles]
        missing: list[list[str]] = [[] for _ in ref_roles]
        for run in runs:
            if run is reference:
                continue
            roles = layer_roles(run, layer)
            size = max(len(ref_roles), len(roles))
            cost = np.full((size, size), 1e6)
            for i, a in enumerate(ref_roles):
                for j, b in enumerate(roles):
                    cost[i, j] = float(np.linalg.norm(profile(reference, a) - profile(run, b)))
            columns = assignment(cost)
            taken = set()
            for i in range(len(ref_roles)):
                j = columns[i]
                if j < len(roles) and cost[i, j] <= t.match_cost:
                    matched[i][run.name] = (roles[j], float(cost[i, j]))
                    taken.add(j)
                else:
                    missing[i].append(run.name)
            alone[run.name] += [role.name for j, role in enumerate(roles) if j not in taken]
        groups += [group(layer, reference, runs, matched[i], missing[i]) for i in range(len(ref_roles))]
    return groups, alone


def niche_counts(runs: list[Run]) -> list[dict]:
    """Per layer, how many heads of each run have each role (by content)."""
    n_layers = max(r.analysis.stats.n_layers for r in runs)
    return [
        {
            "layer": layer,
            "counts": {
                run.name: dict(
                    sorted(Counter(f"{k[0]} · {k[1]}" for k in map(role_key, layer_roles(run, layer))).items())
                )
                for run in runs
            },
        }
        for layer in range(n_layers)
    ]
