"""The comparison of several runs, and the document `modreport compare --json` writes (contract 6).

A run whose model has not fully learned the task is shown with its warning and left out of the counts.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from reporter.compare.heads import Group, match_heads, niche_counts
from reporter.compare.recurrence import finding_recurrence, step_recurrence
from reporter.compare.runs import CompareError, Run
from reporter.interpret.thresholds import Thresholds


@dataclass(frozen=True)
class Comparison:
    runs: list[Run]
    groups: list[Group]
    unmatched: dict[str, list[str]]  # run -> its heads that are no reference head's counterpart
    niches: list[dict]
    findings: list[dict]
    steps: list[dict]  # the features of the Algorithm steps, each with the runs it is found in and where
    notes: list[dict]  # what was chosen where the runs differ, each a code with its numbers (the templates word it)


def compare(runs: list[Run], t: Thresholds | None = None) -> Comparison:
    """Compare at least two runs of one task (``t``: the table, by default the first run's)."""
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
    groups, unmatched = match_heads(runs, t or runs[0].analysis.thresholds)
    return Comparison(
        runs, groups, unmatched, niche_counts(runs), finding_recurrence(runs), step_recurrence(runs), notes
    )


def run_row(run: Run) -> dict:
    """One run: its accuracy, where the work happens (contract 7 `components`), its frequencies, its steps."""
    from reporter.publish.circuit_report import components

    a = run.analysis
    circuit = a.circuit
    return {
        "checkpoint": run.name,
        "seed": run.seed,
        "accuracy": a.stats.accuracy,
        "first_perfect_epoch": a.training.first_perfect_epoch if a.training else None,
        "warning": asdict(a.warning) if a.warning else None,
        "counted": run.counted,
        "components": components(a) if circuit else [],
        "internal_frequencies": list(circuit.internal) if circuit else [],
        "key_frequencies": list(a.measured.logits.key_frequencies),
        "steps": [{"step": s.step, "kind": s.kind, "components": list(s.components)} for s in a.algorithm],
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
            for r in a.roles
        ],
    }


def by_run(g: Group, run: str) -> dict | None:
    """A group's member in ``run``: its head, role and band; None where the run has no counterpart."""
    i = next((i for i, (name, _) in enumerate(g.members) if name == run), None)
    return None if i is None else {"head": g.members[i][1], "role": list(g.roles[i]), "band": g.bands[i]}


def comparison_json(comparison: Comparison) -> dict:
    """The document `modreport compare --json` writes (contract 6; comparison.schema.json)."""
    from reporter.publish.report import rounded

    return rounded(
        {
            "runs": [run_row(run) for run in comparison.runs],
            "groups": [
                {
                    "layer": g.layer,
                    "members": [list(m) for m in g.members],
                    "roles": [list(k) for k in g.roles],
                    "bands": g.bands,
                    "costs": g.costs,
                    "unmatched": g.unmatched,
                    "role": list(g.role),
                    "stable": g.stable,
                    "untrained": g.untrained,
                    "unstable": g.unstable,
                    "by_run": [by_run(g, run.name) for run in comparison.runs],
                    "agreement": g.agreement,
                }
                for g in comparison.groups
            ],
            "unmatched": comparison.unmatched,
            "niches": comparison.niches,
            "findings": comparison.findings,
            "steps": comparison.steps,
            "notes": comparison.notes,
        }
    )


def compare_lines(comparison: Comparison) -> list[str]:
    """What `modreport compare` prints: the runs, what recurs, the matched heads layer by layer."""
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
    counted = sum(run.counted for run in comparison.runs)
    lines.append(f"steps of the algorithm, in how many of the {counted} counted runs they recur, and where:")
    for row in comparison.steps:
        where = "; ".join(f"{run} {', '.join(places)}" for run, places in row["runs"].items())
        lines.append(
            f"  {terminal('step_feature', row, module='_circuit.j2')}: {row['holds_in']} of {row['of']}  ({where})"
        )
    lines.append("heads matched within each layer (role: where it reads by content · what it carries):")
    for group in comparison.groups:
        members = ", ".join(f"{run}:{head}" for run, head in group.members)
        alone = f"; no counterpart in {', '.join(group.unmatched)}" if group.unmatched else ""
        mark = "stable" if group.stable else f"{100 * group.agreement:.0f}% agree"
        lines.append(f"  layer {group.layer}  {group.role[0]} · {group.role[1]:<8} {mark:<10} {members}{alone}")
    lines.append(f"findings, in how many of the {counted} counted runs they hold:")
    for row in comparison.findings:
        readings = (
            f"  (by position {row['by_position_in']}, by content {row['by_content_in']})"
            if row["by_position_in"] is not None
            else ""
        )
        lines.append(f"  {row['id']:<25} {row['holds_in']} of {row['of']}{readings}")
    return lines
