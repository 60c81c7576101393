"""Nothing from a checkpoint, a file name or an option reaches a page unescaped: injection payloads in
every string field that reaches a page stay inert text in the Markdown, in the HTML and in a browser."""

from __future__ import annotations

import json
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.conftest import invoke

FOLDER = "<img src=x onerror=alert(1)>"
THRESHOLDS = "<svg onload=alert(2)>.json"
RECIPE_VALUE = "<script>alert(3)</script>"
RECIPE_KEY = "<b onmouseover=alert(4)>"
LINK = "[click](javascript:alert(5))"
EMOJI = ":material-alert: {: onclick=alert(6) }"
DANGEROUS = ["<img", "<svg", "<script", "<b ", "javascript:", "onclick=", "](", "{:", ":material-alert:"]


@pytest.fixture(scope="module")
def injected(tiny_checkpoint, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("injected")
    checkpoint = root / FOLDER
    shutil.copytree(tiny_checkpoint, checkpoint)
    config = json.loads((checkpoint / "config.json").read_text())
    config["training"]["recipe"].update({"note": RECIPE_VALUE, RECIPE_KEY: LINK, "act_fn": EMOJI})
    config["training"]["split"]["rule"] = RECIPE_VALUE
    (checkpoint / "config.json").write_text(json.dumps(config))
    (root / THRESHOLDS).write_text('{"focus": 0.5}')
    result = invoke(
        "build",
        "--checkpoint",
        checkpoint,
        "--thresholds",
        root / THRESHOLDS,
        "--out",
        root / "site",
        "--html",
        root / "public",
        "--pairs",
        "1+2",
    )
    assert result.exit_code == 0, result.output
    return root


def test_payloads_are_inert_in_the_markdown(injected):
    for page in (injected / "site").glob("*.md"):
        text = page.read_text()
        for fragment in DANGEROUS:
            if fragment in ("](", "{:"):  # the pages' own links and attribute lists use these
                continue
            assert fragment not in text, (page.name, fragment)
    provenance = (injected / "site" / "provenance.md").read_text()
    assert "&#60;img src&#61;x onerror&#61;alert&#40;1&#41;&#62;" in provenance  # shown, as text
    assert "&#91;click&#93;&#40;javascript&#58;alert&#40;5&#41;&#41;" in provenance


class Elements(HTMLParser):
    """Every tag with its attributes, and the text inside <script> tags."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.scripts: list[str] = []
        self.in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self.in_script = tag == "script"

    def handle_endtag(self, tag):
        self.in_script = False

    def handle_data(self, data):
        if self.in_script:
            self.scripts.append(data)


def test_payloads_are_inert_in_the_html(injected):
    for page in (injected / "public").glob("*.html"):
        elements = Elements()
        elements.feed(page.read_text())
        for tag, attributes in elements.tags:
            for name, value in attributes.items():
                assert not (name.startswith("on") and "alert" in (value or "")), (page.name, tag, name)
                assert not (value or "").strip().lower().startswith("javascript:"), (page.name, tag, name)
        assert not any("alert(" in script for script in elements.scripts), page.name
    provenance = (injected / "public" / "provenance.html").read_text()
    assert "&lt;img src=x onerror=alert(1)&gt;" in provenance


def test_report_json_keeps_the_strings_as_they_were(injected):
    report = json.loads((injected / "site" / "report.json").read_text())
    assert report["provenance"]["checkpoint"] == FOLDER
    assert report["provenance"]["training_recipe"][RECIPE_KEY] == LINK
    assert report["provenance"]["command"].endswith(f"--thresholds {THRESHOLDS}")


@pytest.mark.slow
def test_no_payload_runs_in_a_browser(injected, browser):
    dialogs = []
    page = browser.new_page()
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    for name in ("provenance.html", "index.html"):
        page.goto((injected / "public" / name).as_uri(), wait_until="load")
        page.mouse.move(200, 400)
        for element in page.query_selector_all("td"):
            element.hover()
    page.close()
    assert dialogs == []
