"""Take the README's screenshot: the overview page of an already built site, opened from disk.

    .venv/bin/modreport build && .venv/bin/python scripts/screenshot.py

It builds nothing itself. It opens public/index.html (or --html DIR) from file:// in chromium through
Playwright (Debian's chromium, or the one MODREPORT_CHROMIUM names; no browser download) and writes the
top of the page, as a reader first sees it, to docs/overview.png (or --out PNG).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VIEWPORT = {"width": 1280, "height": 800}


def chromium() -> str | None:
    return os.environ.get("MODREPORT_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def screenshot(index: Path, png: Path, browser_path: str) -> None:
    """Open ``index`` from disk and save the visible top of the page to ``png``."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=browser_path)
        try:
            page = browser.new_page(viewport=VIEWPORT, device_scale_factor=1, color_scheme="light")
            page.goto(index.resolve().as_uri(), wait_until="load")
            page.evaluate("document.fonts.ready")
            png.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(png), animations="disabled", caret="hide")
        finally:
            browser.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--html", type=Path, default=Path("public"), help="the built site (default: public)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "overview.png", help="the PNG to write")
    arguments = parser.parse_args(argv)
    index = arguments.html / "index.html"
    if not index.is_file():
        print(f"{index} does not exist: build the site first (.venv/bin/modreport build).", file=sys.stderr)
        return 1
    browser_path = chromium()
    if browser_path is None:
        print("no chromium found: install Debian's chromium or set MODREPORT_CHROMIUM.", file=sys.stderr)
        return 1
    screenshot(index, arguments.out, browser_path)
    print(f"{arguments.out} written from {index}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
