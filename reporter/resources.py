"""Where modreport's own files are: the page templates, the mkdocs configuration and the shipped runs.

They ship inside the package (pyproject.toml maps the repository's templates/ and checkpoints/ to
reporter/templates and reporter/checkpoints in the wheel), so an installed modreport finds them from
any folder; a checkout, or an editable install of one, reads them where they are in the repository.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def data_folder(name: str) -> Path:
    """reporter/NAME in an installed wheel, else NAME at the top of the repository."""
    installed = PACKAGE / name
    return installed if installed.is_dir() else PACKAGE.parent / name


TEMPLATES = data_folder("templates")
MKDOCS_CONFIG = TEMPLATES / "mkdocs.yml"
CHECKPOINTS = data_folder("checkpoints")
DEFAULT_CHECKPOINT = CHECKPOINTS / "default"


def shipped_runs() -> list[Path]:
    """Every shipped checkpoint (the headline run and the further seeds), by folder name."""
    return sorted(p for p in CHECKPOINTS.iterdir() if (p / "config.json").is_file())


# Every package whose version a report records on its provenance page; the cache keys its entries by
# the same versions, so that an upgrade of any of them measures and draws again.
PACKAGES = (
    "modreport",
    "torch",
    "transformer-lens",
    "numpy",
    "safetensors",
    "matplotlib",
    "jinja2",
    "mkdocs",
    "mkdocs-material",
    "mkdocs-glightbox",
    "zensical",
)
