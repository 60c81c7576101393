"""Python decides, templates word: no module that reads findings or verdicts builds an English sentence.

A sentence built in Python is an f-string, a concatenation or a choice between two literals whose text is
prose (three words or more). Error messages (inside a raise) are sentences by contract and the terminal's
tables (`summary_lines`, `compare_lines`) may word their lines; everything else leaves wording to the
templates and the filters of `publish/render.py`.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REPORTER = ROOT / "reporter"
# The modules that decide what the pages say: the stages that check claims, compose or compare analyses,
# and the page model and report.json that carry their verdicts.
DECIDING = sorted(
    [
        *(REPORTER / "interpret").glob("*.py"),
        REPORTER / "analysis.py",
        *(REPORTER / "compare").glob("*.py"),
        REPORTER / "publish" / "report.py",
        REPORTER / "publish" / "pages.py",
    ]
)
TERMINAL = {"summary_lines", "compare_lines"}  # what the CLI prints as its table: Python-worded by design
REFUSING = {"check_fits"}  # calls that raise their message as a one-sentence error
PROSE = re.compile(r"[A-Za-z]+[,:;]? [A-Za-z`'()]+[,:;]? [A-Za-z`'()]+")  # three words in a row


def prose(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and bool(PROSE.search(node.value))


def exempt(tree: ast.AST) -> set[int]:
    """The nodes inside an error message or a terminal table."""
    skipped = set()
    for node in ast.walk(tree):
        refusing = isinstance(node, ast.Call) and getattr(node.func, "id", None) in REFUSING
        terminal = isinstance(node, ast.FunctionDef) and node.name in TERMINAL
        if isinstance(node, ast.Raise) or refusing or terminal:
            skipped |= {id(n) for n in ast.walk(node)}
    return skipped


def sentences_built(source: str) -> list[tuple[int, str]]:
    """(line, how) for every English sentence the source builds from values."""
    tree = ast.parse(source)
    skipped = exempt(tree)
    found = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.JoinedStr) and any(prose(v) for v in node.values):
            found.append((node.lineno, "f-string"))
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add) and (prose(node.left) or prose(node.right)):
            found.append((node.lineno, "concatenation"))
        elif isinstance(node, ast.IfExp) and (prose(node.body) or prose(node.orelse)):
            found.append((node.lineno, "choice of wording"))
    return sorted(found)


@pytest.mark.parametrize("module", DECIDING, ids=lambda p: p.relative_to(REPORTER).as_posix())
def test_no_module_that_decides_builds_a_sentence(module):
    assert sentences_built(module.read_text()) == [], f"{module.name} words what a template should"


def test_the_check_catches_a_sentence_built_from_a_finding():
    # The way findings.py worded its verdicts before the page model, in miniature.
    old = (
        "def layer0_broad(entropies, holds):\n"
        "    text = (\n"
        "        f'Layer 0 is the broadest: its mean entropy {entropies[0]:.2f} exceeds every later layer'\n"
        "        if holds else 'Layer 0 is not the broadest layer'\n"
        "    )\n"
        "    why = 'Routing is about ' + 'information.'\n"
        "    return text + ' ' + why\n"
    )
    assert {how for _, how in sentences_built(old)} == {"f-string", "choice of wording", "concatenation"}


def test_an_error_message_and_a_docstring_are_not_page_wording():
    source = (
        "def check(p):\n"
        '    """Refuse a modulus below two: it has no task."""\n'
        "    if p < 2:\n"
        "        raise ValueError(f'the modulus {p} is below two: there is nothing to add.')\n"
    )
    assert sentences_built(source) == []
