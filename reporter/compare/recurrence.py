"""What recurs across the runs whose models have learned the task: each finding, and each step of the
algorithm, counted "k of n".

A step recurs by what it does, not where: each Algorithm step (interpret/algorithm.py) is cut into features,
each a code with the codes that must agree (a critical head that switches between the operands by one
frequency; an MLP that multiplies; the answer readable only after an MLP; ...) and the place it sits in this
run (a head, a block), so two runs that do the same in different layers share the feature, each at its place.
"""

from __future__ import annotations

from dataclasses import dataclass

from reporter.analysis import Analysis
from reporter.compare.runs import Run

NEEDED = ("matters", "critical")


def recurs(holds_in: int, of: int) -> str:
    """ "all", "none" or "some" of the counted runs ("none" also when no run counts)."""
    return "all" if of and holds_in == of else "none" if holds_in == 0 else "some"


def finding_recurrence(runs: list[Run]) -> list[dict]:
    """For each finding, in how many of the counted runs it holds, and by each reading where it has two (None
    where it has one: the pages print "—", not 0)."""
    counted = [r for r in runs if r.counted]
    rows = []
    for index, finding in enumerate(runs[0].analysis.findings):
        verdicts = {run.name: run.analysis.findings[index] for run in runs}
        two = any(verdicts[r.name].reason is not None for r in counted)
        holds_in = sum(verdicts[r.name].holds is True for r in counted)
        rows.append(
            {
                "id": finding.id,
                "holds_in": holds_in,
                "by_position_in": sum(verdicts[r.name].by_position is True for r in counted) if two else None,
                "by_content_in": sum(verdicts[r.name].by_content is True for r in counted) if two else None,
                "applies_in": sum(verdicts[r.name].holds is not None for r in counted),
                "of": len(counted),
                "recurs": recurs(holds_in, len(counted)),
                "runs": {name: f.holds for name, f in verdicts.items()},
            }
        )
    return rows


@dataclass(frozen=True)
class Feature:
    """One thing a step says about a model, apart from where it happens."""

    code: str  # what it is: "route_head", "route_shared", "attention_multiplies", "mlp", "groups", ...
    codes: tuple[str, ...]  # what must agree for two runs to share it (a band, a label, a count)
    where: str  # where it sits in this run: a head's or a block's name


def route_features(step) -> list[Feature]:
    block = f"attn{step.numbers['layer']}"
    found = [
        Feature("route_head", (h["importance"], h["reads"], str(len(h["frequencies"]))), h["name"])
        for h in step.items
        if "name" in h and h["importance"] in NEEDED
    ]
    if step.codes["shared"]:
        found.append(Feature("route_shared", (step.codes["importance"],), block))
    if step.codes["products"]:
        found.append(Feature("attention_multiplies", (), block))
    if any(g.get("opposite") for g in step.items if "heads" in g):
        found.append(Feature("opposite_groups", (), block))
    return found


def features(analysis: Analysis) -> list[Feature]:
    """Every feature of a run's Algorithm steps, in step order."""
    kinds = {b.name: b.kind for b in analysis.circuit.blocks} if analysis.circuit else {}
    found: list[Feature] = []
    for step in analysis.algorithm:
        if step.kind == "route":
            found += route_features(step)
        elif step.kind == "mlp":
            c = step.codes
            does = "multiplies" if c["products"] else "on_products" if c["holds_answer"] else "needed"
            found.append(Feature("mlp", (does, c["importance"]), step.components[0]))
        elif step.kind == "frequencies" and any(item["harmonic_of"] for item in step.items):
            found.append(Feature("harmonics", (), ", ".join(str(k) for k in step.numbers["internal"])))
        elif step.kind == "readable":
            at = step.codes["at"]
            found.append(Feature("readable", (kinds.get(at, "embedding") if at else "never",), at or "—"))
        elif step.kind == "redundant":
            found += [Feature("redundant_pair", (), " + ".join(item["heads"])) for item in step.items]
            found += [Feature("redundant_layer", (), name) for name in step.components]
        elif step.kind == "idle":
            found += [Feature("idle", (kinds.get(name, "attention"),), name) for name in step.components]
    return found


def step_recurrence(runs: list[Run]) -> list[dict]:
    """Each feature of the counted runs' steps, with the runs it is found in and where, those in most runs
    first (then in the order of the first run's steps); "recurs": "all", "some", or "one" (one run's own)."""
    counted = [r for r in runs if r.counted]
    rows: dict[tuple, dict] = {}
    for run in counted:
        for feature in features(run.analysis):
            key = (feature.code, feature.codes)
            row = rows.setdefault(key, {"code": feature.code, "codes": list(feature.codes), "runs": {}})
            row["runs"].setdefault(run.name, []).append(feature.where)
    ordered = sorted(rows.values(), key=lambda row: -len(row["runs"]))  # stable: first seen first among equals
    for row in ordered:
        found = recurs(len(row["runs"]), len(counted))
        row.update(
            holds_in=len(row["runs"]),
            of=len(counted),
            recurs="one" if found == "some" and len(row["runs"]) == 1 else found,
        )
    return ordered
