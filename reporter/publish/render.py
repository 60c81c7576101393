"""Fill the Jinja templates into the Markdown site: pages, figures, style sheets and report.json.

Templates choose wording and layout; everything they say is decided by the stages and the
page model (pages.py) and handed over here. One set of filters formats every number and token,
and `terminal` words a code for the CLI with the pages' own macro. Strings that are not ours
(a checkpoint's folder name and recipe, the command line) are escaped for Markdown and HTML
before any template sees them.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from reporter.analysis import Analysis
from reporter.interpret.sensitivity import unstable_heads
from reporter.interpret.threshold_kinds import SWEEP_FACTORS, SWEEP_STEPS
from reporter.model.task import TOKEN_OF
from reporter.publish.pages import page_model
from reporter.publish.report import dumps, report_json, rounded
from reporter.resources import TEMPLATES

PAGES = (
    "index.md",
    "algorithm.md",
    "heads.md",
    "layers.md",
    "fourier.md",
    "across.md",
    "pairs.md",
    "training.md",
    "methodology.md",
    "provenance.md",
    "404.md",  # what a server shows for an address the site lacks (not in the navigation)
)
FIGURE_DIR = "figures"
SCHEMA = Path(__file__).resolve().parent.parent / "report.schema.json"  # describes report.json; published beside it
COMPARISON_SCHEMA = SCHEMA.with_name("comparison.schema.json")  # describes comparison.json; likewise
PLAIN = set(" .,-+/_")  # characters of a foreign string that Markdown and HTML read as plain text (or, for _, as
#                        harmless emphasis at worst)


class TemplateError(ValueError):
    """A template that is missing or cannot be rendered; the message is one sentence."""


def percent(value: float | None, digits: int = 0) -> str:
    """0.1234 -> "12%" (or "12.3%" with digits=1); None -> "n/a"."""
    return "n/a" if value is None else f"{100 * value:.{digits}f}%"


def number(value: float | None, digits: int = 2, signed: bool = False) -> str:
    """0.1234 -> "0.12" (or "+0.12" when ``signed``); a value that rounds to zero is "0.00", never "-0.00"."""
    if value is None:
        return "n/a"
    return f"{round(value, digits) + 0.0:{'+' if signed else ''}.{digits}f}"


def value(x: float) -> str:
    """A threshold as people write it: 0.5, 3, 0.5556."""
    return f"{x:.4g}"


def sentence(text: str) -> str:
    """Text that opens a sentence: its first letter upper-case, the rest as it is (Jinja's `capitalize` lowers
    the rest: "MLP 1" would read "Mlp 1")."""
    text = str(text)
    return text[:1].upper() + text[1:]


def token(key: str) -> str:
    """A position key as the token it holds: "plus" -> "+", "equals" -> "="."""
    return TOKEN_OF[key]


MARKUP = set("&<>[]\\`*")  # what Markdown or HTML could read as syntax in a figure's alt text


def inert_text(text: str) -> str:
    """Text of ours that may have come back from the cache (a figure's alt text), made inert where Markdown or
    HTML could read it as syntax; every other character is kept, so that our own text reads as it is."""
    return "".join(f"&#{ord(c)};" if c in MARKUP else c for c in text)


def foreign(value):
    """A string that is not ours, made inert for Markdown and HTML: every character that either could
    read as syntax becomes a numeric character reference. Applied recursively to lists and to the keys
    and values of dicts."""
    if isinstance(value, dict):
        return {foreign(k): foreign(v) for k, v in value.items()}
    if isinstance(value, list):
        return [foreign(v) for v in value]
    if isinstance(value, str):
        return "".join(c if c.isalnum() or c in PLAIN else f"&#{ord(c)};" for c in value)
    return value


def page_context(
    analysis: Analysis, report: dict, figures: list, comparison: dict | None = None, runs_missing: tuple[str, ...] = ()
) -> dict:
    """What the templates read: report.json (foreign strings escaped), the figures' files, alt texts and data,
    the training record, and what the stages decided for the pages to say."""
    pages_report = {
        **report,
        "model": {k: foreign(v) for k, v in report["model"].items()},
        "provenance": {k: foreign(v) for k, v in report["provenance"].items()},
    }
    training = rounded(asdict(analysis.training)) if analysis.training else None
    if training:
        training["recipe"] = foreign(training["recipe"])
    pages = page_model(analysis, report)
    return {
        "report": pages_report,
        "figures": {
            f.name: {"path": f"{FIGURE_DIR}/{f.name}", "alt": inert_text(f.alt), "data": f"{FIGURE_DIR}/{f.csv_name}"}
            for f in figures
        },
        "training": training,
        "unstable": unstable_heads(analysis.sensitivity),
        "findings": pages.findings,
        "trends": pages.trends,
        "plus_statements": rounded(pages.plus_statements),
        "heads": pages.heads,
        "position_holds": pages.position_holds,
        "warning": pages.warning,
        "threshold_groups": pages.threshold_groups,
        "chance": pages.chance,
        "a_share_low": pages.a_share_low,
        "label_counts": pages.label_counts,
        "untrained_marks": pages.untrained_marks,
        "start_unembed_scale": pages.start_unembed_scale,
        "record": pages.record,
        "parts": pages.parts,
        "stage_tops": pages.stage_tops,
        "neuron_tops": pages.neuron_tops,
        "channel_frequencies": pages.channel_frequencies,
        "redundant_pairs": pages.redundant_pairs,
        "neurons_fire": pages.neurons_fire,
        "comparison": comparison,
        "across": {f["id"]: f for f in comparison["findings"]} if comparison else {},
        "runs_missing": list(runs_missing),
        "sweep": {
            "share": max(abs(f - 1) for f in SWEEP_FACTORS),
            "count": max(abs(s) for s in SWEEP_STEPS),
            "factors": list(SWEEP_FACTORS),
            "steps": [f"{s:+d}" for s in SWEEP_STEPS],
        },
    }


def environment(template_dir: Path):
    """Jinja's sandbox over the templates folder: a template reads the data it is given and formats it; it cannot
    reach Python's internals (`lipsum.__globals__`, a method's `__init__`), call a mutating method, or run code."""
    import jinja2
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class InsideLoader(jinja2.FileSystemLoader):
        """Loads only real files of the templates folder: an included template that is a link out of it is
        refused as the pages' own templates are."""

        def get_source(self, environment, template):
            path = Path(template_dir) / template
            if path.exists() and not inside(path, Path(template_dir)):
                raise TemplateError(
                    f"template {template} is a link to a file outside {template_dir}; copy it in instead."
                )
            return super().get_source(environment, template)

    env = ImmutableSandboxedEnvironment(
        loader=InsideLoader(str(template_dir), followlinks=False),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters.update(percent=percent, number=number, value=value, token=token, foreign=foreign, sentence=sentence)
    return env


def render_pages(context: dict, template_dir: Path) -> dict[str, str]:
    """Fill every page template; a missing or broken template is one TemplateError sentence."""
    import jinja2
    from jinja2.sandbox import SecurityError

    env = environment(template_dir)
    for path in sorted(Path(template_dir).glob("*.j2")):
        if not inside(path, Path(template_dir)):
            raise TemplateError(f"template {path.name} is a link to a file outside {template_dir}; copy it in instead.")
    pages = {}
    for page in PAGES:
        name = f"{page}.j2"
        try:
            pages[page] = env.get_template(name).render(**context)
        except TemplateError:
            raise
        except jinja2.TemplateNotFound:
            raise TemplateError(f"template {name} is missing from {template_dir}.") from None
        except SecurityError:
            raise TemplateError(
                f"template {name} reaches for Python internals or runs code, which templates may not do; "
                "a template may only read and format the report's data."
            ) from None
        except jinja2.TemplateError as error:
            raise TemplateError(f"template {name} cannot be rendered: {error}.") from None
        except Exception as error:  # a template's own expression failed (a division by zero, a bad filter argument)
            raise TemplateError(f"template {name} cannot be rendered: {type(error).__name__}: {error}.") from None
    return pages


def terminal(macro: str, value, template_dir: Path = TEMPLATES, module: str = "_macros.j2") -> str:
    """A code worded for the terminal by the pages' own macro in ``module`` ("warning_of_report", "note"; in
    _circuit.j2 "step_feature"), so that the pages and the terminal say the same sentence."""
    return getattr(environment(template_dir).get_template(module).module, macro)(value).strip()


def inside(path: Path, root: Path) -> bool:
    """Whether ``path`` is a real file of the folder ``root``: no symbolic link on the way out of it."""
    return not path.is_symlink() and root.resolve() in path.resolve().parents


def static_files(template_dir: Path) -> dict[str, bytes]:
    """Files in the templates folder's subfolders (style sheets) that the site uses as they are.
    A symbolic link, or anything that leads outside the templates folder, is never published."""
    root = Path(template_dir)
    files = {}
    for path in sorted(root.glob("*/**/*")):
        if path.is_file() and path.suffix != ".j2" and inside(path, root):
            files[path.relative_to(root).as_posix()] = path.read_bytes()
    return files


def site_files(
    analysis: Analysis,
    figures: list,
    template_dir: Path,
    comparison: dict | None = None,
    runs_missing: tuple[str, ...] = (),
) -> dict[str, bytes]:
    """Every file of the Markdown site (relative path -> bytes): pages, figures, report.json and its schema,
    and, when runs were compared, comparison.json."""
    report = report_json(analysis)
    context = page_context(analysis, report, figures, comparison, runs_missing)
    files = {name: text.encode() for name, text in render_pages(context, template_dir).items()}
    files.update(static_files(template_dir))
    files.update({f"{FIGURE_DIR}/{f.name}": f.png for f in figures})
    files.update({f"{FIGURE_DIR}/{f.csv_name}": f.csv.encode() for f in figures})
    files["report.json"] = dumps(report).encode()
    files["report.schema.json"] = SCHEMA.read_bytes()
    if comparison:
        files["comparison.json"] = dumps(comparison).encode()
        files["comparison.schema.json"] = COMPARISON_SCHEMA.read_bytes()
    return files
