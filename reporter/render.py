"""Turn the analysis into what readers get: report.json (contract 3) and, later, the Markdown pages."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from reporter.findings import Finding
from reporter.labels import Label, LayerTrend, Thresholds
from reporter.stats import Stats

SCHEMA_VERSION = 1
LOW_ACCURACY = 0.99  # below this on all inputs, every page carries a warning


@dataclass(frozen=True)
class Analysis:
    """Everything one run of the analysis produced, ready to render."""

    stats: Stats
    labels: list[Label]
    trends: list[LayerTrend]
    findings: list[Finding]
    thresholds: Thresholds
    sensitivity: list[dict]
    config: dict  # the checkpoint's config.json
    provenance: dict

    @property
    def warning(self) -> str | None:
        accuracy = self.stats.accuracy["all"]
        if accuracy >= LOW_ACCURACY:
            return None
        return (f"The model answers only {accuracy:.1%} of all inputs correctly (below {LOW_ACCURACY:.0%}): "
                "these findings describe a model that has not learned the task.")


def head_record(h, label: Label) -> dict:
    return {
        "layer": h.layer,
        "head": h.head,
        "name": f"L{h.layer}H{h.head}",
        "label": label.kind.value,
        "score": label.score,
        "attention": h.mean,
        "attention_std": h.std,
        "attention_quantiles": h.quantiles,
        "argmax_share": h.argmax_share,
        "entropy": h.entropy,
        "mean_max": h.mean_max,
        "a_share": {"mean": h.a_share_mean, "std": h.a_share_std, "above_0.9": h.a_share_above_09,
                    "below_0.1": h.a_share_below_01, "bimodality": h.bimodality},
        "switch_rule": asdict(h.switch),
        "evidence": label.evidence,
    }


def report_json(analysis: Analysis) -> dict:
    """The contract-3 document; keys keep their meaning across versions."""
    stats, config = analysis.stats, analysis.config
    model = config["model"]
    return {
        "schema_version": SCHEMA_VERSION,
        "model": {k: model[k] for k in ("n_layers", "n_heads", "d_model", "d_head", "d_mlp", "act_fn",
                                        "normalization_type", "d_vocab", "d_vocab_out", "n_ctx") if k in model},
        "task": {**config["task"], "n_inputs": stats.task.n_inputs},
        "accuracy": stats.accuracy,
        "warning": analysis.warning,
        "heads": [head_record(h, label) for h, label in zip(stats.heads, analysis.labels)],
        "layers": [
            {"layer": t.layer, "mean_entropy": t.entropy, "mean_max": t.mean_max, "attention": t.mean,
             "label_counts": t.label_counts}
            for t in analysis.trends
        ],
        "pairs": stats.pairs,
        "findings": [asdict(f) for f in analysis.findings],
        "thresholds": {name: {"value": getattr(analysis.thresholds, name), "reason": reason}
                       for name, reason in Thresholds.reasons()},
        "sensitivity": analysis.sensitivity,
        "provenance": analysis.provenance,
    }


def dumps(document: dict) -> str:
    """Stable JSON text: sorted keys, two-space indent, a final newline."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"


PAGES = ("index.md", "heads.md", "layers.md", "pairs.md", "training.md", "methodology.md", "provenance.md")
FIGURE_DIR = "figures"


class TemplateError(ValueError):
    """A template that is missing or cannot be rendered; the message is one sentence."""


def percent(value: float | None, digits: int = 0) -> str:
    """0.1234 -> "12%" (or "12.3%" with digits=1); None -> "n/a"."""
    return "n/a" if value is None else f"{100 * value:.{digits}f}%"


def number(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def stability(sensitivity: list[dict]) -> dict:
    """Head name -> the thresholds whose ±10% or ±20% move changes its label (empty: stable)."""
    moved: dict[str, list[str]] = {}
    for row in sensitivity:
        for move in row["moves"]:
            for change in move["labels_changed"]:
                names = moved.setdefault(f"L{change['layer']}H{change['head']}", [])
                if row["threshold"] not in names:
                    names.append(row["threshold"])
    return moved


def page_context(report: dict, figures: dict, config: dict) -> dict:
    """What the templates read: report.json, the figures' files and alt texts, and the training history."""
    training = config.get("training") or {}
    return {
        "report": report,
        "figures": {name: {"path": f"{FIGURE_DIR}/{name}", "alt": alt} for name, alt in figures.items()},
        "training": training,
        "history": training.get("history") or [],
        "unstable": stability(report["sensitivity"]),
        "findings": {f["id"]: f for f in report["findings"]},
    }


def render_pages(context: dict, template_dir) -> dict[str, str]:
    """Fill every page template; a missing or broken template is one TemplateError sentence."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters.update(percent=percent, number=number)
    pages = {}
    for page in PAGES:
        name = f"{page}.j2"
        try:
            pages[page] = env.get_template(name).render(**context)
        except jinja2.TemplateNotFound:
            raise TemplateError(f"template {name} is missing from {template_dir}.") from None
        except jinja2.TemplateError as error:
            raise TemplateError(f"template {name} cannot be rendered: {error}.") from None
    return pages


def static_files(template_dir) -> dict[str, bytes]:
    """Files beside the templates that the site uses as they are (style sheets)."""
    from pathlib import Path

    root = Path(template_dir)
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.suffix != ".j2"}


def site_files(analysis: Analysis, figures: list, template_dir) -> dict[str, bytes]:
    """Every file of the Markdown site (relative path -> bytes): pages, figures and report.json."""
    report = report_json(analysis)
    context = page_context(report, {f.name: f.alt for f in figures}, analysis.config)
    files = {name: text.encode() for name, text in render_pages(context, template_dir).items()}
    files.update(static_files(template_dir))
    files.update({f"{FIGURE_DIR}/{f.name}": f.png for f in figures})
    files["report.json"] = dumps(report).encode()
    return files
