"""Where modreport's own files are: the page templates, the mkdocs configuration and the shipped runs."""

from __future__ import annotations

from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
TEMPLATES = PROJECT / "templates"
MKDOCS_CONFIG = PROJECT / "mkdocs.yml"
CHECKPOINTS = PROJECT / "checkpoints"
DEFAULT_CHECKPOINT = CHECKPOINTS / "default"
