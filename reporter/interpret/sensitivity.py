"""How the labels and findings move when one threshold moves.

Each threshold that decides a label or a finding is moved, one at a time, down and up
(shares and losses by a factor, counts by whole steps; `Thresholds.moves`), and the
whole interpretation is re-run on the same measurements. A row lists, for each move, the
heads whose labels change and the findings whose verdict changes.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from reporter.interpret.thresholds import CARRIES, CAUSAL, FINDINGS, LABELS, Thresholds

SWEPT = (LABELS, CARRIES, CAUSAL, FINDINGS)  # the groups that decide labels and findings
VIEWS = ("looks", "reads", "carries", "importance")  # the labels a head gets, as report.json names them


@dataclass(frozen=True)
class Move:
    """One threshold at one moved value, and what changed."""

    step: str  # "× 0.8", "+1"
    value: float | None  # None: the move would leave the threshold's range
    labels_changed: list[dict]  # {"layer", "head", "name", "label", "from", "to"}
    findings_changed: list[dict]  # {"id", "from", "to"}


@dataclass(frozen=True)
class SensitivityRow:
    threshold: str
    value: float
    moves: list[Move]


def labels_of(reading) -> dict:
    """(head name, view) -> label value, for every head and view."""
    return {
        (r.name, view): getattr(r, view).value if view in ("carries", "importance") else getattr(r, view).kind.value
        for r in reading.roles
        for view in VIEWS
    }


def sensitivity(stats, measured, reading, t: Thresholds, interpret) -> list[SensitivityRow]:
    """For each threshold that decides labels or findings, its four moves; ``reading`` is the unmoved one and
    ``interpret(stats, measured, thresholds, memo)`` reads the same measurements under moved thresholds."""
    base_labels, base_findings = labels_of(reading), {f.id: f.holds for f in reading.findings}
    roles = {r.name: r for r in reading.roles}
    memo: dict = {}
    rows = []
    for name in (
        f.name for f in fields(Thresholds) if Thresholds.group_of(f.name) in SWEPT and Thresholds.swept(f.name)
    ):
        moves = []
        for step, value in t.moves(name):
            if value is None:
                moves.append(Move(step, None, [], []))
                continue
            moved = interpret(stats, measured, t.with_overrides({name: value}), memo)
            labels = labels_of(moved)
            moves.append(
                Move(
                    step,
                    value,
                    [
                        {
                            "layer": roles[head].layer,
                            "head": roles[head].head,
                            "name": head,
                            "label": view,
                            "from": base_labels[(head, view)],
                            "to": labels[(head, view)],
                        }
                        for head, view in labels
                        if labels[(head, view)] != base_labels[(head, view)]
                    ],
                    [
                        {"id": f.id, "from": base_findings[f.id], "to": f.holds}
                        for f in moved.findings
                        if f.holds != base_findings[f.id]
                    ],
                )
            )
        rows.append(SensitivityRow(name, getattr(t, name), moves))
    return rows


def unstable_heads(rows: list[SensitivityRow]) -> dict[str, list[str]]:
    """Head name -> the thresholds whose moves change any of its labels; a head absent here is stable."""
    moved: dict[str, list[str]] = {}
    for row in rows:
        for move in row.moves:
            for change in move.labels_changed:
                names = moved.setdefault(change["name"], [])
                if row.threshold not in names:
                    names.append(row.threshold)
    return moved
