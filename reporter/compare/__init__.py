"""Several runs side by side, by what they compute: where the work happens, which frequencies, which steps of
the algorithm recur, and heads matched within each layer by what they do, never by index.

runs.py analyses each run (the circuit stage included, and its untrained model); heads.py matches heads,
leaving a head without a counterpart where none is close; recurrence.py counts findings and algorithm steps
over the runs whose models have learned the task; document.py composes the comparison and its JSON.
"""

from reporter.compare.document import Comparison, compare, compare_lines, comparison_json
from reporter.compare.runs import CompareError, Run, analyse_runs

__all__ = ["CompareError", "Comparison", "Run", "analyse_runs", "compare", "compare_lines", "comparison_json"]
