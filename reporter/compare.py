"""Several runs side by side: heads matched within each layer by what they do, never by index, and for
each finding and each niche, in how many runs it recurs.

Which head takes which role is arbitrary from seed to seed (DESIGN.md), so heads are matched by an
optimal assignment on their profiles (attention by content, what they carry, how much they matter).
A run whose model has not fully learned the task is shown with its warning and left out of the counts.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import asdict, dataclass

import numpy as np

from reporter.analysis import Analysis
from reporter.assignment import assignment
from reporter.interpret.roles import HeadRole
from reporter.model.task import POSITION_KEYS


class CompareError(ValueError):
    """Runs that cannot be compared; the message is one sentence."""


@dataclass(frozen=True)
class Run:
    """One checkpoint's analysis, as the comparison sees it."""

    name: str
    analysis: Analysis

    @property
    def counted(self) -> bool:
        """Whether the run counts toward what recurs: its model has learned the task."""
        return self.analysis.warning is None

    @property
    def seed(self) -> int | None:
        training = self.analysis.training
        return training.seed if training else None


def analyse_runs(
    checkpoints, thresholds, cache=None, on_run=None, known: dict | None = None, device: str = "cpu", progress=None
) -> list[Run]:
    """Each checkpoint analysed on the torch ``device`` (from the cache where it can; ``known`` maps a resolved
    path to an analysis already made), named by its folder, or by its whole path where two folders share a name.
    ``on_run(checkpoint)`` hears each run as its analysis starts, ``progress(checkpoint, stage)`` each stage."""
    from pathlib import Path

    from reporter.analysis import Options, analyse

    folders: dict = {}
    for checkpoint in checkpoints:  # a run named twice would be counted twice
        first = folders.setdefault(Path(checkpoint).resolve(), checkpoint)
        if first is not checkpoint:
            raise CompareError(f"{first} is named twice; name each run once.")
    names = [Path(c).name for c in checkpoints]
    if len(set(names)) < len(names):
        names = [str(c) for c in checkpoints]
    runs, weights = [], {}
    for name, checkpoint in zip(names, checkpoints, strict=True):
        analysis = (known or {}).get(Path(checkpoint).resolve())
        if analysis is None:
            if on_run:
                on_run(checkpoint)
            analysis = analyse(
                Path(checkpoint),
                Options(thresholds=thresholds, sweep=False, baseline=False, circuit=False, device=device),
                cache,
                None if progress is None else lambda stage, run=checkpoint: progress(run, stage),
            )
        digest = analysis.provenance["checkpoint_sha256"]
        if digest in weights:
            raise CompareError(
                f"{checkpoint} holds the same weights as {weights[digest]} (sha256 {digest[:12]}); "
                "a copy of a run is the same run: name each run once."
            )
        weights[digest] = checkpoint
        runs.append(Run(name, analysis))
    return runs


def role_key(role: HeadRole) -> tuple[str, str]:
    """What a head does, as the comparison names it: where it reads by content, and what it carries."""
    return role.reads.kind.value, role.carries.value


def profile(run: Run, role: HeadRole) -> np.ndarray:
    """A head's profile: its attention by content (a side, +, b side, =), the shares of what it carries,
    and how much it matters (log of 1 + Δloss, so a critical head is not a thousand times anything else)."""
    stats = run.analysis.stats
    reading = run.analysis.reading.readings[role.layer]
    from reporter.interpret.roles import merged_weights

    h = stats.heads[role.layer * stats.n_heads + role.head]
    attention = merged_weights(np.array([[h.mean[k] for k in POSITION_KEYS]]), reading)[0]
    s = role.write.shares
    carried = np.array([s.a, s.b, s.interaction, s.answer]) * (0.0 if role.carries.value == "nothing" else 1.0)
    return np.concatenate([attention, carried, [math.log1p(max(0.0, role.effects.ablation_equals.delta_loss))]])


@dataclass(frozen=True)
class Group:
    """One head of each run, matched within a layer."""

    layer: int
    members: list[tuple[str, str]]  # (run, head name)
    roles: list[tuple[str, str]]  # each member's role key
    stable: bool  # every counted member does the same
    agreement: float  # share of counted members with the most common role
    role: tuple[str, str]  # the most common role among counted members


def match_heads(runs: list[Run]) -> list[Group]:
    """Groups of heads, one per head of the first counted run and layer, matched across runs by profile."""
    reference = next((r for r in runs if r.counted), runs[0])
    n_layers = min(r.analysis.stats.n_layers for r in runs)
    groups = []
    for layer in range(n_layers):
        ref_roles = [role for role in reference.analysis.roles if role.layer == layer]
        columns = {reference.name: list(range(len(ref_roles)))}
        for run in runs:
            if run is reference:
                continue
            roles = [role for role in run.analysis.roles if role.layer == layer]
            size = max(len(ref_roles), len(roles))
            cost = np.full((size, size), 1e6)
            for i, a in enumerate(ref_roles):
                for j, b in enumerate(roles):
                    cost[i, j] = float(np.linalg.norm(profile(reference, a) - profile(run, b)))
            columns[run.name] = assignment(cost)
        for i in range(len(ref_roles)):
            members, keys, counted = [], [], []
            for run in runs:
                roles = [role for role in run.analysis.roles if role.layer == layer]
                j = columns[run.name][i]
                if j < len(roles):
                    members.append((run.name, roles[j].name))
                    keys.append(role_key(roles[j]))
                    if run.counted:
                        counted.append(role_key(roles[j]))
            common, n = Counter(counted or keys).most_common(1)[0]
            groups.append(Group(layer, members, keys, len(set(counted)) <= 1, n / len(counted or keys), common))
    return groups


def niche_counts(runs: list[Run]) -> list[dict]:
    """Per layer, how many heads of each run have each role (by content)."""
    n_layers = max(r.analysis.stats.n_layers for r in runs)
    return [
        {
            "layer": layer,
            "counts": {
                run.name: dict(
                    sorted(
                        Counter(
                            f"{k[0]} · {k[1]}" for k in (role_key(r) for r in run.analysis.roles if r.layer == layer)
                        ).items()
                    )
                )
                for run in runs
            },
        }
        for layer in range(n_layers)
    ]


def recurs(holds_in: int, of: int) -> str:
    """ "all", "none" or "some" of the counted runs ("none" also when no run counts)."""
    return "all" if of and holds_in == of else "none" if holds_in == 0 else "some"


def finding_recurrence(runs: list[Run]) -> list[dict]:
    """For each finding, in how many of the counted runs it holds (and by each reading)."""
    counted = [r for r in runs if r.counted]
    rows = []
    for index, finding in enumerate(runs[0].analysis.findings):
        verdicts = {run.name: run.analysis.findings[index] for run in runs}
        rows.append(
            {
                "id": finding.id,
                "holds_in": sum(verdicts[r.name].holds is True for r in counted),
                "by_position_in": sum(verdicts[r.name].by_position is True for r in counted),
                "by_content_in": sum(verdicts[r.name].by_content is True for r in counted),
                "applies_in": sum(verdicts[r.name].holds is not None for r in counted),
                "of": len(counted),
                "recurs": recurs(sum(verdicts[r.name].holds is True for r in counted), len(counted)),
                "runs": {name: f.holds for name, f in verdicts.items()},
            }
        )
    return rows


@dataclass(frozen=True)
class Comparison:
    runs: list[Run]
    groups: list[Group]
    niches: list[dict]
    findings: list[dict]
    notes: list[dict]  # what was chosen where the runs differ, each a code with its numbers (the templates word it)


def compare(runs: list[Run]) -> Comparison:
    """Compare at least two runs of one task."""
    if len(runs) < 2:
        raise CompareError("compare needs at least two checkpoints.")
    moduli = sorted({r.analysis.stats.task.modulus for r in runs})
    if len(moduli) > 1:
        raise CompareError(
            f"the checkpoints solve different tasks (p = {', '.join(map(str, moduli))}); compare runs of one modulus."
        )
    notes = []
    shapes = {(r.analysis.stats.n_layers, r.analysis.stats.n_heads) for r in runs}
    if len(shapes) > 1:  # heads are matched within the layers all runs have, findings compared as they are
        notes.append({"code": "shapes_differ", "shapes": [list(shape) for shape in sorted(shapes)]})
    return Comparison(runs, match_heads(runs), niche_counts(runs), finding_recurrence(runs), notes)


def comparison_json(comparison: Comparison) -> dict:
    """The document `modreport compare --json` writes (contract 6)."""
    from reporter.publish.report import rounded

    return rounded(
        {
            "runs": [
                {
                    "checkpoint": run.name,
                    "seed": run.seed,
                    "accuracy": run.analysis.stats.accuracy,
                    "first_perfect_epoch": run.analysis.training.first_perfect_epoch if run.analysis.training else None,
                    "warning": asdict(run.analysis.warning) if run.analysis.warning else None,
                    "counted": run.counted,
                    "heads": [
                        {
                            "name": r.name,
                            "layer": r.layer,
                            "head": r.head,
                            "looks": r.looks.kind.value,
                            "reads": r.reads.kind.value,
                            "carries": r.carries.value,
                            "importance": r.importance.value,
                            "delta_loss": r.effects.ablation_equals.delta_loss,
                            "niche": r.niche,
                        }
                        for r in run.analysis.roles
                    ],
                }
                for run in comparison.runs
            ],
            "groups": [
                {
                    "layer": g.layer,
                    "members": [list(m) for m in g.members],
                    "roles": [list(k) for k in g.roles],
                    "role": list(g.role),
                    "stable": g.stable,
                    "agreement": g.agreement,
                }
                for g in comparison.groups
            ],
            "niches": comparison.niches,
            "findings": comparison.findings,
            "notes": comparison.notes,
        }
    )


def compare_lines(comparison: Comparison) -> list[str]:
    """What `modreport compare` prints: the runs, the matched heads layer by layer, and what recurs."""
    from reporter.publish.render import terminal

    lines = []
    for run in comparison.runs:
        a = run.analysis.stats.accuracy
        held = f", held-out {100 * a['test']:.1f}%" if "test" in a else ""
        lines.append(
            f"{run.name}: seed {run.seed}, accuracy {100 * a['all']:.1f}%{held}"
            + ("" if run.counted else "  (not counted: it has not fully learned the task)")
        )
    lines += [terminal("note", note) for note in comparison.notes]
    lines.append("heads matched within each layer (role: where it reads by content · what it carries):")
    for group in comparison.groups:
        members = ", ".join(f"{run}:{head}" for run, head in group.members)
        mark = "stable" if group.stable else f"{100 * group.agreement:.0f}% agree"
        lines.append(f"  layer {group.layer}  {group.role[0]} · {group.role[1]:<8} {mark:<10} {members}")
    counted = sum(run.counted for run in comparison.runs)
    lines.append(f"findings, in how many of the {counted} counted runs they hold:")
    for row in comparison.findings:
        lines.append(
            f"  {row['id']:<25} {row['holds_in']} of {row['of']}"
            f"  (by position {row['by_position_in']}, by content {row['by_content_in']})"
        )
    return lines
