"""What a drawn figure is, without matplotlib: the cache reads figures back and the pages name them, and
neither needs matplotlib imported (half a second of a build read from the cache)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    """A figure ready to write: its file name, PNG bytes, alt text, and the CSV of what it draws."""

    name: str
    png: bytes
    alt: str
    csv: str

    @property
    def csv_name(self) -> str:
        return self.name.removesuffix(".png") + ".csv"
