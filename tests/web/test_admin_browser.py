"""The dashboard as the admin: its assets, its YAML reader, and its forms in headless Chromium.

The browser tests drive the system's Chromium (``webkit.chromium``) against real daemons
(``webkit.serve``) recording the local HLS source: a change made in a form or the YAML editor is
checked, reviewed and saved through ``/api/config/*``, and the test compares the config files byte
for byte before and after, and watches the daemon act on the change.
"""

from __future__ import annotations

import json
import re
from fnmatch import fnmatch
from pathlib import Path

import pytest
from webkit import chromium

from streamrec.spec.yamlio import read_documents
from streamrec.web import dashboard

REPO = Path(__file__).resolve().parents[2]
STATIC = REPO / "streamrec" / "web" / "static"


def test_every_asset_is_package_data_and_served_with_its_type() -> None:
    """Each dashboard file (the vendored CodeMirror ones too) ships in the wheel and is served."""
    pyproject = (REPO / "pyproject.toml").read_text()
    line = re.search(r"^\[tool\.setuptools\.package-data\]\nstreamrec = \[(.*)\]$", pyproject, re.M)
    assert line, "no package-data line for streamrec in pyproject.toml"
    globs = re.findall(r'"([^"]+)"', line.group(1))
    kinds = {
        ".js": "text/javascript",
        ".css": "text/css",
        ".html": "text/html",
        ".txt": "text/plain",
    }
    for name, media_type in dashboard.ASSETS.items():
        assert (STATIC / name).is_file(), name
        assert any(fnmatch(f"web/static/{name}", glob) for glob in globs), (
            f"{name} is no package data"
        )
        found = dashboard.asset(name)
        assert found is not None and found.body == (STATIC / name).read_bytes()
        suffix = Path(name).suffix
        if suffix in kinds:
            assert media_type.startswith(kinds[suffix]), (name, media_type)
    for name in dashboard.VENDORED:
        assert name in dashboard.ASSETS, name
    license_text = (STATIC / "cm-LICENSE.txt").read_text()
    assert "MIT License" in license_text and "Marijn Haverbeke" in license_text
    assert dashboard.CODEMIRROR_VERSION in (STATIC / "cm-codemirror.js").read_text()[-2000:]
    assert dashboard.asset("../pyproject.toml") is None


def test_the_page_keeps_no_token_in_local_storage_and_no_cookie() -> None:
    """The token lives in sessionStorage only; localStorage is only ever cleared."""
    for script in STATIC.glob("*.js"):
        if script.name.startswith("cm-"):
            continue
        text = script.read_text(encoding="utf-8")
        assert "document.cookie" not in text, script.name
        for line in text.splitlines():
            if "localStorage" in line:
                assert "localStorage.removeItem" in line or line.strip().startswith("//"), line


CONFIGS = sorted(
    p
    for folder in ("config", "examples/iptv", "examples/nightly-queue", "examples/post-processing")
    for p in (REPO / folder).glob("*.yaml")
)


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_the_yaml_reader_of_the_forms_reads_what_the_loader_reads() -> None:
    """yamlread.js gives the same values as the loader for the shipped configs and odd spellings."""
    odd = (
        "# a comment\n"
        "channels:\n"
        "  'quoted name':   # a comment after a key\n"
        '    url: "http://x/a#b"\n'
        "    schedule:\n"
        "    - {days: [mon, tue], start: '10:00', end: '11:00'}\n"
        "    - at: 2026-12-02T15:00:00\n"
        "      duration: 30m\n"
        "    enabled: false\n"
        "tasks:\n"
        "  t:\n"
        "    command: |\n"
        "      echo one\n"
        "      echo 'two # not a comment'\n"
        "    depends_on: [a,\n"
        "      b]\n"
        "    retries: {limit: 3, backoff: 1.5}\n"
        '  u: {command: "say \\"hi\\"", schedule: {every: 6h}}\n'
    )
    texts = {str(p.relative_to(REPO)): p.read_text() for p in CONFIGS}
    texts["odd.yaml"] = odd
    with chromium((800, 600)) as context:
        page = context.new_page()
        page.set_content("<html><body></body></html>")
        page.add_script_tag(content=(STATIC / "yamlread.js").read_text())
        read = page.evaluate(
            "(texts) => Object.fromEntries(Object.entries(texts).map(([k, t]) => {"
            " try { return [k, readYaml(t)]; } catch (e) { return [k, 'unread: ' + e.message]; } }))",
            texts,
        )
        refused = page.evaluate(
            "() => { try { readYaml('a: &x {b: 1}\\nc: *x\\n'); return false; }"
            " catch (e) { return e instanceof YamlUnread; } }"
        )
    assert refused, "an anchor must be refused, not misread"
    for name, text in texts.items():
        documents, problems = read_documents(name, text)
        assert problems == [] and len(documents) == 1, name
        expected = json.loads(json.dumps(documents[0][0]))
        assert read[name] == expected, name
