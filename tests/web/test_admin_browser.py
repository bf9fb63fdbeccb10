"""The dashboard as the admin: its assets, its YAML reader, and its forms in headless Chromium.

The browser tests drive the system's Chromium (``webkit.chromium``) against real daemons
(``webkit.serve``) recording the local HLS source: a change made in a form or the YAML editor is
checked, reviewed and saved through ``/api/config/*``, and the test compares the config files byte
for byte before and after, and watches the daemon act on the change.
"""

from __future__ import annotations

import difflib
import io
import json
import random
import re
import subprocess
from collections.abc import Iterator
from datetime import datetime
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML
from webkit import TOKEN, Served, chromium, finish, screenshot_dir, serve, serve_run

from streamrec.runtime.testsource import HlsTestSource
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
    """yamlread.js gives the same values as the loader for the shipped configs and odd spellings,
    and for 600 drawn documents (with comments put in) the loader's values or a refusal."""
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
    drawn = drawn_documents(600, seed=5)
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
        got = page.evaluate(
            "(texts) => Object.fromEntries(Object.entries(texts).map(([k, t]) => {"
            " try { return [k, { value: readYaml(t) }]; } catch (e) {"
            " if (!(e instanceof YamlUnread)) throw e; return [k, { unread: e.message }]; } }))",
            drawn,
        )
    assert refused, "an anchor must be refused, not misread"
    for name, text in texts.items():
        documents, problems = read_documents(name, text)
        assert problems == [] and len(documents) == 1, name
        expected = json.loads(json.dumps(documents[0][0]))
        assert read[name] == expected, name
    # whatever ruamel writes is read as the loader reads it, or refused: never misread
    compared = 0
    for name, text in drawn.items():
        documents, problems = read_documents(name, text)
        if problems or len(documents) != 1:
            continue
        compared += 1
        if "value" in got[name]:
            assert got[name]["value"] == json.loads(json.dumps(documents[0][0])), text
    read_back = sum("value" in g for g in got.values())
    assert compared > 450 and read_back > 0.8 * compared, (compared, read_back)


ALPHABET = [*"abcXYZ019 _-.:#'\"{}[],&*!|>%@`?~=\\/\té", "\n", "  ", ": ", " #", "- "]
LOOKALIKES = ["10:00", "2026-12-02T15:00:00", "1h30m", "*/5 * * * *", "null", "yes", "0x1F", "1e3"]


def drawn_value(rnd: random.Random, depth: int = 0) -> Any:
    """A nested value of odd texts, numbers, booleans, nulls, mappings and lists."""
    pick = rnd.random()
    if depth > 3 or pick < 0.5:
        kind = rnd.random()
        if kind < 0.6:
            return "".join(rnd.choice(ALPHABET) for _ in range(rnd.randint(0, 12)))
        if kind < 0.7:
            return rnd.randint(-1000, 100_000)
        if kind < 0.8:
            return rnd.choice([True, False, None])
        if kind < 0.9:
            return rnd.choice(LOOKALIKES)
        return round(rnd.uniform(-100, 100), 3)
    if pick < 0.75:
        keys = ["url", "at", "days", "x y", "a:b", "#c", "'q'", "- d"]
        return {
            f"{rnd.choice(keys)}{i}": drawn_value(rnd, depth + 1) for i in range(rnd.randint(0, 4))
        }
    return [drawn_value(rnd, depth + 1) for _ in range(rnd.randint(0, 4))]


def commented(rnd: random.Random, text: str) -> str:
    """``text`` with comment and blank lines put in, a trailing comment, and maybe CRLF."""
    lines = text.split("\n")
    for _ in range(rnd.randint(1, 4)):
        filler = rnd.choice(["# a comment", "#", "", "   "])
        lines.insert(rnd.randint(0, len(lines)), " " * rnd.randint(0, 6) + filler)
    if rnd.random() < 0.5:
        at = rnd.randint(0, len(lines) - 1)
        lines[at] += rnd.choice([" # trailing", "  #x", " #: y"])
    joined = "\n".join(lines)
    return joined.replace("\n", "\r\n") if rnd.random() < 0.2 else joined


def drawn_documents(count: int, seed: int) -> dict[str, str]:
    """``count`` YAML documents as ruamel writes them, in block, flow and mixed styles, half of
    them with comments and blank lines put in."""
    rnd = random.Random(seed)
    documents = {}
    for i in range(count):
        yaml = YAML()
        yaml.width = 4096  # long texts on one line (a folded plain scalar is not read, by design)
        yaml.default_flow_style = rnd.choice([False, None, True])
        if rnd.random() < 0.5:
            yaml.indent(mapping=2, sequence=4, offset=2)
        out = io.StringIO()
        yaml.dump({"channels": drawn_value(rnd), "tasks": drawn_value(rnd)}, out)
        text = out.getvalue()
        documents[f"drawn{i}"] = commented(rnd, text) if i % 2 else text
    return documents


# --- the forms and the editor against real daemons ------------------------------------------

VIEWER = "view-5d1e8a90c4"
OPERATOR = "oper-7c2b61f0ae"
TOKEN_KEY = "streamrec-token"

CONFIG = """\
# the config of the admin tests: every byte outside an edit must stay
categories:
  news: {description: "News"}   # kept as written
channels:
  later:
    url: "URL"
    segment: 2s
    schedule:
      - {at: "2030-01-01T00:00", duration: 1m}
  standby:
    url: "URL"
    segment: 2s
    schedule: [{days: [mon], start: "03:00", end: "03:01"}]
  private:
    url: "http://rec:SECRET@127.0.0.1:9/private.m3u8"
    enabled: false
tasks:
  hello: {command: 'echo hello'}
"""
SECRET = "pw-9f3c1a7e"


def config_bytes(served: Served) -> dict[str, bytes]:
    return {
        str(p.relative_to(served.daemon.config)): p.read_bytes()
        for p in sorted(served.daemon.config.rglob("*"))
        if p.is_file()
    }


def inserted_only(before: bytes, after: bytes) -> list[str]:
    """The lines ``after`` adds to ``before``; fails when any byte of ``before`` changed."""
    old, new = before.decode().splitlines(True), after.decode().splitlines(True)
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    added: list[str] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        assert tag in ("equal", "insert"), f"{tag} of {old[i1:i2]!r} -> {new[j1:j2]!r}"
        if tag == "insert":
            added += new[j1:j2]
    return added


def admin_page(context: Any, served: Served, token: str) -> Any:
    """A page of the dashboard with ``token`` in its sessionStorage, its Admin lists drawn."""
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    page.on(  # the strict Content-Security-Policy holds for the editor too
        "console",
        lambda m: page.errors.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.add_init_script(f"sessionStorage.setItem({json.dumps(TOKEN_KEY)}, {json.dumps(token)})")
    page.goto(served.base + "/")
    page.wait_for_selector("#admin-panel:not([hidden]) .admin-section", timeout=20_000)
    return page


def check_and_confirm(page: Any, message: str = "") -> dict[str, Any]:
    """Press the open form's Check, wait for a valid review, confirm it; the review as shown."""
    page.click("form.admin-form button.check")
    page.wait_for_selector('#admin-review[data-state="ok"]', timeout=20_000)
    if message:
        page.fill("#review-message", message)
    shown = {
        "diff": page.locator("#review-changes pre.diff").all_inner_texts(),
        "plan": page.locator("#review-plan li").all_inner_texts(),
    }
    page.click("#review-confirm")
    page.wait_for_selector("#admin-outcome:not([hidden])", timeout=30_000)
    shown["saved_to"] = page.get_attribute("#admin-outcome", "data-saved-to")
    shown["outcome"] = page.inner_text("#outcome-text")
    return shown


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory, module_hls: HlsTestSource) -> Iterator[Served]:
    """A daemon with admin, operator and viewer tokens over a directory config."""
    root = tmp_path_factory.mktemp("admin")
    served = serve(
        root / "d",
        CONFIG.replace("URL", module_hls.url).replace("SECRET", SECRET),
        token=TOKEN,
        STREAMREC_VIEWER_TOKEN=VIEWER,
        STREAMREC_OPERATOR_TOKEN=OPERATOR,
    )
    served.http.headers["Authorization"] = f"Bearer {TOKEN}"
    yield served
    finish(served)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium((1280, 900)) as context:
        yield context


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_a_channel_added_in_the_form_is_one_new_entry_and_records(
    browser: Any, shared: Served, module_hls: HlsTestSource, tmp_path: Path
) -> None:
    """The form's channel lands as exactly its lines in the file, and the daemon records it."""
    before = config_bytes(shared)
    page = admin_page(browser, shared, TOKEN)
    assert page.get_attribute("#access", "data-role") == "admin"
    page.click("#admin-body button.add")
    form = page.locator("form.admin-form")
    form.locator('[data-field="name"] input').fill("gamma")
    form.locator('[data-field="url"] input').fill(module_hls.url)
    form.locator('[data-field="category"] select').select_option("news")
    shown = check_and_confirm(page)
    assert any("+  gamma:" in d for d in shown["diff"]), shown
    assert any("channel/gamma" in line for line in shown["plan"]), shown
    assert shown["saved_to"] == "directory", shown
    after = config_bytes(shared)
    assert after.keys() == before.keys()
    added = inserted_only(before["config.yaml"], after["config.yaml"])
    assert [line.strip() for line in added] == [
        "gamma:",
        f'url: "{module_hls.url}"',
        "category: news",
    ] or [line.split(":")[0].strip() for line in added] == ["gamma", "url", "category"], added
    shared.daemon.wait_for(
        lambda e: e["type"] == "recording.started" and e["channel"] == "gamma", timeout=30
    )
    page.wait_for_selector('[data-channel="gamma"] .pill.recording', timeout=20_000)
    changed = shared.daemon.wait_for(lambda e: e["type"] == "config.changed")
    assert changed["role"] == "admin" and changed["saved_to"] == "directory"
    page.select_option("#event-filter", "config.")
    item = page.locator(f'#events li[data-seq="{changed["seq"]}"]')
    item.wait_for(timeout=10_000)
    assert "+  gamma:" in item.locator("pre.diff").inner_text()
    assert item.locator("pre.diff b, pre.diff span").count() == 0  # the diff is text only
    page.screenshot(path=str(screenshot_dir(tmp_path) / "admin-added.png"), full_page=True)
    assert page.errors == []


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_a_one_off_window_from_the_form_records_on_time_and_stops(
    browser: Any, shared: Served
) -> None:
    """A one-off 10 s window a few seconds ahead: the channel records in it, then stops."""
    page = admin_page(browser, shared, TOKEN)
    page.click('#admin-body tr[data-entry="later"] button.edit')
    form = page.locator('form.admin-form[data-name="later"]')
    assert form.locator(".windows li[data-window]").count() == 1
    start = page.evaluate(
        """() => { const d = new Date(Date.now() + 12000); const p = (n) => String(n).padStart(2, "0");
        return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`; }"""
    )
    form.locator("input.at").fill(start)
    form.locator("input.duration").fill("10s")
    form.locator("button.add-at").click()
    assert form.locator(".windows li[data-window]").count() == 2
    shown = check_and_confirm(page)
    assert shown["saved_to"] == "directory", shown
    diff = "".join(shown["diff"])
    changed = [line for line in diff.splitlines()[2:] if line[:1] in "+-"]
    assert [line[:1] for line in changed] == ["-", "-", "+"], diff  # the schedule, nothing else
    assert "2030-01-01T00:00" in changed[-1] and "10s" in changed[-1], diff
    assert any("channel/later" in line for line in shown["plan"]), shown
    started = shared.daemon.wait_for(
        lambda e: e["type"] == "recording.started" and e["channel"] == "later", timeout=40
    )
    stopped = shared.daemon.wait_for(
        lambda e: e["type"] == "recording.stopped" and e["channel"] == "later",
        after=started["seq"],
        timeout=40,
    )
    began = datetime.fromisoformat(started["ts"].replace("Z", "+00:00")).timestamp()
    ended = datetime.fromisoformat(stopped["ts"].replace("Z", "+00:00")).timestamp()
    opens = datetime.fromisoformat(start).timestamp()  # the browser's zone is the machine's
    assert opens - 1.5 <= began <= opens + 15, (start, started)
    assert opens + 10 - 1.5 <= ended <= opens + 10 + 15, (start, stopped)  # at the window's end
    files = [
        e
        for e in shared.daemon.events()
        if e["type"] == "recording.segment" and e["channel"] == "later"
    ]
    assert files and all(Path(e["file"]).is_file() for e in files)
    assert page.errors == []


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_a_bad_edit_in_the_yaml_editor_is_refused_where_it_is(
    browser: Any, shared: Served, tmp_path: Path
) -> None:
    """A bad value typed in the editor: its file:line shows in the gutter and the list, and
    nothing is written; made valid, the file is saved exactly as the editor holds it."""
    before = config_bytes(shared)
    page = admin_page(browser, shared, TOKEN)
    page.click('#admin-tabs [data-tab="files"]')
    page.wait_for_selector('#editor-host[data-editor="codemirror"] .CodeMirror', timeout=20_000)
    page.select_option("#editor-file", "config.yaml")
    text = before["config.yaml"].decode()
    bad = text.replace("segment: 2s", "segment: 2 parsecs", 1)
    line = bad.splitlines().index("    segment: 2 parsecs") + 1
    page.evaluate("(t) => document.querySelector('.CodeMirror').CodeMirror.setValue(t)", bad)
    page.click("#editor-check")
    problem = page.locator(
        f'#review-problems li.problem[data-file="config.yaml"][data-line="{line}"]'
    )
    problem.wait_for(timeout=20_000)
    assert problem.inner_text().startswith(f"config.yaml:{line}:")
    assert "segment" in problem.inner_text()
    assert page.get_attribute("#admin-review", "data-state") == "refused"
    assert page.locator("#review-confirm").is_hidden()
    marked = page.evaluate(
        """() => { const cm = document.querySelector('.CodeMirror').CodeMirror; const out = [];
        cm.eachLine((h) => { if (h.gutterMarkers && h.gutterMarkers.problems) out.push(cm.getLineNumber(h) + 1); });
        return out; }"""
    )
    assert marked == [line]
    assert page.locator(".CodeMirror .problem-line").count() >= 1
    page.locator("#admin-panel").screenshot(path=str(screenshot_dir(tmp_path) / "admin-editor.png"))
    # a save forced from the page with the same text is refused as well, and writes nothing
    status = page.evaluate(
        """async ([t, token]) => (await fetch('/api/config/save', { method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ files: { 'config.yaml': t } }) })).status""",
        [bad, TOKEN],
    )
    assert status == 422
    # the keys the schema allows are completed where the cursor is
    page.evaluate(
        """() => { const cm = document.querySelector('.CodeMirror').CodeMirror;
        const at = cm.getValue().split('\\n').findIndex((l) => l.startsWith('    segment:'));
        cm.replaceRange('    stall_t\\n', { line: at, ch: 0 }); cm.setCursor({ line: at, ch: 11 }); cm.focus(); }"""
    )
    page.keyboard.press("Control+Space")
    page.wait_for_selector(".CodeMirror-hints li", timeout=5_000)
    assert "stall_timeout" in page.locator(".CodeMirror-hints").inner_text()
    page.keyboard.press("Escape")
    assert config_bytes(shared) == before
    # the same file made valid (and a comment added) is saved as it is in the editor
    good = text.replace("segment: 2s", "segment: 4s  # longer files", 1)
    page.evaluate("(t) => document.querySelector('.CodeMirror').CodeMirror.setValue(t)", good)
    page.click("#editor-check")
    page.wait_for_selector('#admin-review[data-state="ok"]', timeout=20_000)
    assert page.locator(".CodeMirror .problem-marker, .CodeMirror .problem-line").count() == 0
    assert "+    segment: 4s  # longer files" in page.inner_text("#review-changes")
    page.click("#review-confirm")
    page.wait_for_selector('#admin-outcome[data-saved-to="directory"]', timeout=20_000)
    assert (shared.daemon.config / "config.yaml").read_text() == good
    # a change made elsewhere shows in the editor, and is not taken for an edit of the page's
    theirs = good.replace("segment: 4s", "segment: 6s", 1)
    shared.daemon.write("config.yaml", theirs)
    page.wait_for_function(  # as the page has it: with the secret redacted
        "() => document.querySelector('.CodeMirror').CodeMirror.getValue().includes('segment: 6s')",
        timeout=20_000,
    )
    page.click("#editor-check")
    page.wait_for_function(
        "() => document.getElementById('toast').textContent === 'no file was changed'"
    )
    assert page.locator("#admin-review").is_hidden()
    assert page.errors == []


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_a_viewer_sees_no_forms_and_is_refused_a_forced_change(
    browser: Any, shared: Served
) -> None:
    """With a viewer token the page offers no change, and a POST made from it anyway is 403."""
    before = config_bytes(shared)
    page = admin_page(browser, shared, VIEWER)
    assert page.get_attribute("#access", "data-role") == "viewer"
    page.wait_for_selector('[data-channel="later"]', timeout=20_000)
    assert page.locator("#admin-body tr[data-entry]").count() >= 1
    for selector in (
        "#admin-body button.edit",
        "#admin-body button.add",
        "#admin-body button.remove",
    ):
        assert page.locator(selector).count() == 0, selector
    assert "viewer" in page.inner_text("#admin-note")
    assert page.locator('[data-channel="later"] form.record-now').is_hidden()
    assert page.locator("#reconcile-button").is_hidden()
    page.click('#admin-tabs [data-tab="files"]')
    page.wait_for_selector('#editor-host[data-editor="codemirror"] .CodeMirror', timeout=20_000)
    assert page.locator("#editor-check").count() == 0
    assert page.evaluate("document.querySelector('.CodeMirror').CodeMirror.getOption('readOnly')")
    forced = page.evaluate(
        """async (token) => {
        const post = async (path, body) => (await fetch(path, { method: 'POST',
          headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
          body: JSON.stringify(body) })).status;
        const ops = [{ op: 'remove', section: 'channels', name: 'later' }];
        return [await post('/api/config/save', { ops }), await post('/api/config/check', { ops }),
                await post('/api/channels/later/record', { minutes: 5 })]; }""",
        VIEWER,
    )
    assert forced == [403, 403, 403]
    assert config_bytes(shared) == before
    assert page.errors == []


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.email=t@t", "-c", "user.name=t", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


@pytest.fixture(scope="module")
def git_served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, Path, Path]]:
    """A ``run --git`` daemon on a local bare repository, and a clone of it to push from."""
    root = tmp_path_factory.mktemp("git")
    bare, work = root / "config.git", root / "work"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    subprocess.run(["git", "clone", "-q", str(bare), str(work)], check=True, capture_output=True)
    (work / "tasks.yaml").write_text(
        "# tasks, kept as written\ntasks:\n  hello: {command: 'true'}\n"
    )
    git(work, "checkout", "-q", "-b", "main")
    git(work, "add", "-A")
    git(work, "commit", "-qm", "first")
    git(work, "push", "-q", "origin", "HEAD:main")
    served = serve_run(
        root / "d",
        None,
        "--git",
        f"file://{bare}",
        "--branch",
        "main",
        "--interval",
        "1h",  # the daemon fetches at start and after its own pushes only
        token=TOKEN,
    )
    served.daemon.wait_for(lambda e: e["type"] == "config.applied", timeout=30)
    yield served, bare, work
    finish(served)


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_a_change_in_git_mode_is_a_commit_on_the_bare_repository_and_applied(
    browser: Any, git_served: tuple[Served, Path, Path]
) -> None:
    """``run --git``: the form's task becomes a commit on the tracked branch, which the daemon runs."""
    served, bare, _ = git_served
    first = git(bare, "rev-parse", "main")
    page = admin_page(browser, served, TOKEN)
    assert page.get_attribute("#admin-mode", "data-mode") == "git"
    page.click('#admin-tabs [data-tab="tasks"]')
    page.click("#admin-body button.add")
    form = page.locator("form.admin-form")
    form.locator('[data-field="name"] input').fill("greet")
    form.locator('[data-field="command"] input').fill("echo greetings")
    form.locator('[data-field="depends_on"] input').fill("hello")
    shown = check_and_confirm(page, "a greeting task")
    assert shown["saved_to"] == "git", shown
    head = git(bare, "rev-parse", "main")
    assert head != first and head[:12] in shown["outcome"]
    show = git(bare, "show", "--format=%P%n%an%n%B", head)
    parent, author = show.splitlines()[:2]
    assert parent == first and "admin" in author and "a greeting task" in show, show
    assert "+  greet:" in show, show
    tasks = git(bare, "show", f"{head}:tasks.yaml")
    assert tasks.startswith("# tasks, kept as written\ntasks:\n  hello: {command: 'true'}\n")
    applied = served.daemon.wait_for(
        lambda e: e["type"] == "config.applied" and (e.get("git") or {}).get("commit") == head,
        timeout=30,
    )
    assert "task/greet" in applied["diff"]["added"]
    changed = served.daemon.wait_for(lambda e: e["type"] == "config.changed")
    assert changed["saved_to"] == "git" and changed["commit"] == head
    assert page.errors == []


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_a_git_push_in_the_way_keeps_the_change_as_a_patch(
    browser: Any, git_served: tuple[Served, Path, Path]
) -> None:
    """Someone pushes to the same line between the check and the confirm: nothing is pushed,
    the page says where the conflict is and shows the change's patch."""
    served, bare, work = git_served
    page = admin_page(browser, served, TOKEN)
    page.click('#admin-tabs [data-tab="tasks"]')
    page.click('#admin-body tr[data-entry="hello"] button.edit')
    page.fill('form.admin-form [data-field="command"] input', "echo mine")
    page.click("form.admin-form button.check")
    page.wait_for_selector('#admin-review[data-state="ok"]', timeout=20_000)
    git(work, "pull", "-q", "--rebase", "origin", "main")
    text = (
        (work / "tasks.yaml").read_text().replace("{command: 'true'}", "{command: 'echo theirs'}")
    )
    (work / "tasks.yaml").write_text(text)
    git(work, "commit", "-qam", "theirs")
    git(work, "push", "-q", "origin", "HEAD:main")
    theirs = git(work, "rev-parse", "HEAD")
    page.click("#review-confirm")
    page.wait_for_selector('#admin-outcome[data-saved-to="conflict"]', timeout=30_000)
    outcome = page.inner_text("#outcome-text")
    assert "Nothing was pushed" in outcome and "tasks.yaml" in outcome, outcome
    assert "echo mine" in page.input_value("#outcome-patch")
    assert page.locator("#outcome-copy").is_visible()
    assert git(bare, "rev-parse", "main") == theirs
    assert page.errors == []


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_a_read_only_config_offers_a_patch_and_writes_nothing(
    browser: Any, tmp_path: Path, module_hls: HlsTestSource
) -> None:
    """With STREAMREC_CONFIG_READ_ONLY=1 a confirmed change shows its patch to copy; no write."""
    served = serve(
        tmp_path / "d",
        CONFIG.replace("URL", module_hls.url),
        token=TOKEN,
        STREAMREC_CONFIG_READ_ONLY="1",
    )
    try:
        before = config_bytes(served)
        page = admin_page(browser, served, TOKEN)
        assert page.get_attribute("#admin-mode", "data-mode") == "read-only"
        assert "patch" in page.inner_text("#admin-mode")
        page.click('#admin-body tr[data-entry="later"] button.toggle-enabled')
        page.wait_for_selector('#admin-review[data-state="ok"]', timeout=20_000)
        page.click("#review-confirm")
        page.wait_for_selector('#admin-outcome[data-saved-to="patch"]', timeout=20_000)
        assert "Nothing was written" in page.inner_text("#outcome-text")
        patch = page.input_value("#outcome-patch")
        assert "+    enabled: false" in patch and patch.startswith("---")
        assert page.get_attribute("#outcome-patch", "readonly") is not None
        assert page.locator("#outcome-copy").is_visible()
        page.click("#outcome-copy")
        page.wait_for_selector("#toast:not([hidden])")
        assert config_bytes(served) == before
        offered = served.daemon.wait_for(lambda e: e["type"] == "config.changed")
        assert offered["saved_to"] == "patch"
        assert page.errors == []
    finally:
        finish(served)


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_the_admin_fits_a_phone_screen(browser: Any, shared: Served, tmp_path: Path) -> None:
    """At 390 px an open form and the YAML editor make the page no wider than the screen."""
    page = admin_page(browser, shared, TOKEN)
    page.set_viewport_size({"width": 390, "height": 844})
    width = page.evaluate("innerWidth")
    assert width == 390
    page.click('#admin-body tr[data-entry="later"] button.edit')
    page.wait_for_selector('form.admin-form[data-name="later"] input.at')
    assert page.evaluate("document.scrollingElement.scrollWidth") <= width
    page.locator("form.admin-form").screenshot(
        path=str(screenshot_dir(tmp_path) / "phone-admin-form.png")
    )
    page.click('#admin-tabs [data-tab="files"]')
    page.wait_for_selector('#editor-host[data-editor="codemirror"] .CodeMirror')
    assert page.evaluate("document.scrollingElement.scrollWidth") <= width
    outside = page.evaluate(
        """(width) => Array.from(document.querySelectorAll('#admin-panel button, #admin-panel input'))
        .filter((b) => b.offsetParent !== null).map((b) => b.getBoundingClientRect())
        .filter((r) => r.left < 0 || r.right > width + 0.5).length""",
        width,
    )
    assert outside == 0
    assert page.errors == []


def sent(page: Any, press: str) -> dict[str, Any]:
    """The body of the check that clicking ``press`` sends, once its review is drawn."""
    with page.expect_request("**/api/config/check") as request:
        page.click(press)
    page.wait_for_selector('#admin-review[data-state="ok"]', timeout=20_000)
    body: dict[str, Any] = request.value.post_data_json
    page.click("#review-cancel")
    return body


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_the_forms_send_only_what_changed(browser: Any, shared: Served) -> None:
    """An edit sends the changed fields (a cleared one as unset), a new entry all it was given;
    a problem shows beside its field."""
    before = config_bytes(shared)
    page = admin_page(browser, shared, TOKEN)
    page.click('#admin-tabs [data-tab="categories"]')
    page.click('#admin-body tr[data-entry="news"] button.edit')
    page.fill('form.admin-form [data-field="description"] input', "")
    body = sent(page, "form.admin-form button.check")
    assert body == {
        "ops": [
            {
                "op": "upsert",
                "section": "categories",
                "name": "news",
                "value": {},
                "unset": ["description"],
            }
        ]
    }
    page.click('#admin-tabs [data-tab="channels"]')
    page.click('#admin-body tr[data-entry="standby"] button.edit')
    form = page.locator('form.admin-form[data-name="standby"]')
    for day in ("mon", "wed"):
        form.locator(f'label.day input[value="{day}"]').check()
    form.locator("input.start").fill("18:00")
    form.locator("input.end").fill("20:30")
    form.locator("button.add-weekly").click()
    form.locator('[data-field="description"] input').fill("the evening news")
    body = sent(page, "form.admin-form button.check")
    assert body["ops"] == [
        {
            "op": "upsert",
            "section": "channels",
            "name": "standby",
            "value": {
                "description": "the evening news",
                "schedule": [
                    {"days": ["mon"], "start": "03:00", "end": "03:01"},
                    {"days": ["mon", "wed"], "start": "18:00", "end": "20:30"},
                ],
            },
        }
    ]
    # the entry changed elsewhere while its form is open: the form says so
    text = (shared.daemon.config / "config.yaml").read_text()
    shared.daemon.write("config.yaml", text.replace('"03:01"}]', '"03:02"}]', 1))
    page.wait_for_selector("form.admin-form .form-problems .stale", timeout=20_000)
    assert "changed meanwhile" in page.inner_text("form.admin-form .form-problems")
    shared.daemon.write("config.yaml", text)
    page.click("form.admin-form button.close")
    before = config_bytes(shared)
    page.click('#admin-tabs [data-tab="queues"]')
    page.click("#admin-body button.add")
    form = page.locator("form.admin-form")
    form.locator('[data-field="name"] input').fill("nightly")
    form.locator('[data-field="tasks"] input').fill("hello")
    form.locator('[data-field="schedule"] input').fill("every 6h")
    body = sent(page, "form.admin-form button.check")
    assert body == {
        "ops": [
            {
                "op": "upsert",
                "section": "queues",
                "name": "nightly",
                "value": {"tasks": ["hello"], "schedule": {"every": "6h"}},
            }
        ],
        "file": "config.yaml",
    }
    # a remove is reviewed like any change
    page.click('#admin-tabs [data-tab="channels"]')
    page.click('#admin-body tr[data-entry="standby"] button.remove')
    page.wait_for_selector('#admin-review[data-state="ok"]', timeout=20_000)
    assert "- channel/standby" in page.locator("#review-plan").inner_text()
    assert "-  standby:" in page.inner_text("#review-changes")
    page.click("#review-cancel")
    assert page.locator("#admin-review").is_hidden()
    # a problem the check finds is shown beside the field it names, and nothing is confirmable
    page.click('#admin-tabs [data-tab="tasks"]')
    page.click('#admin-body tr[data-entry="hello"] button.edit')
    page.fill('form.admin-form [data-field="timeout"] input', "soon")
    page.click("form.admin-form button.check")
    page.wait_for_selector('#admin-review[data-state="refused"]', timeout=20_000)
    beside = page.locator('form.admin-form [data-field="timeout"] .field-problem')
    assert beside.is_visible() and "tasks.hello.timeout" in beside.inner_text()
    assert page.locator("#review-confirm").is_hidden()
    listed = page.locator("#review-problems li.problem").first.inner_text()
    assert listed.startswith("config.yaml:") and "timeout" in listed
    assert config_bytes(shared) == before
    assert page.errors == []


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_an_operator_records_a_channel_now_from_its_card(browser: Any, shared: Served) -> None:
    """An operator's card has "record now": the channel records outside its window, then stops."""
    page = admin_page(browser, shared, OPERATOR)
    assert page.get_attribute("#access", "data-role") == "operator"
    assert page.locator("#admin-body button.edit").count() == 0
    record = page.locator('[data-channel="standby"] form.record-now')
    record.wait_for(timeout=20_000)
    after = shared.daemon.last_seq()
    record.locator("input.minutes").fill("2")
    record.locator("button[type=submit]").click()
    asked = shared.daemon.wait_for(
        lambda e: e["type"] == "recording.requested" and e["channel"] == "standby", after=after
    )
    assert asked["role"] == "operator"
    shared.daemon.wait_for(
        lambda e: e["type"] == "recording.started" and e["channel"] == "standby",
        after=after,
        timeout=30,
    )
    page.wait_for_selector('[data-channel="standby"] .pill.recording', timeout=20_000)
    page.wait_for_selector('[data-channel="standby"] form.record-now button.cancel:not([hidden])')
    assert "requested until" in record.locator(".until").inner_text()
    record.locator("button.cancel").click()
    shared.daemon.wait_for(
        lambda e: e["type"] == "recording.stopped" and e["channel"] == "standby",
        after=after,
        timeout=30,
    )
    page.select_option("#event-filter", "recording.")
    item = page.locator(f'#events li[data-seq="{asked["seq"]}"]')
    item.wait_for(timeout=10_000)
    assert "asked by operator" in item.inner_text()
    assert page.errors == []


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_the_token_lives_in_the_tab_and_goes_as_a_bearer_header(
    browser: Any, shared: Served
) -> None:
    """Reads that need a token say so; the token given is kept in sessionStorage only, sent as
    Authorization with every request (no cookie), and an old localStorage token is cleared."""
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(shared.base + "/")
    page.wait_for_function(
        "() => document.getElementById('access').textContent === 'reading needs a token'",
        timeout=20_000,
    )
    page.evaluate("localStorage.setItem('streamrec-token', 'left by an older page')")
    page.reload()
    page.wait_for_selector("#token-button:not([hidden])", timeout=20_000)
    assert page.evaluate("localStorage.getItem('streamrec-token')") is None
    page.once("dialog", lambda dialog: dialog.accept(TOKEN))
    with page.expect_request("**/api/status") as polled:
        page.click("#token-button")
    assert polled.value.headers.get("authorization") == f"Bearer {TOKEN}"
    page.wait_for_selector('#access[data-role="admin"]', timeout=20_000)
    assert page.evaluate("sessionStorage.getItem('streamrec-token')") == TOKEN
    assert page.evaluate("localStorage.length") == 0
    assert page.evaluate("document.cookie") == ""
    assert browser.cookies() == []
    page.wait_for_selector("#admin-panel:not([hidden]) #admin-body button.add", timeout=20_000)
    assert errors == []
    page.close()


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_a_secret_in_the_config_never_reaches_the_page_and_an_edit_keeps_it(
    browser: Any, shared: Served
) -> None:
    """The page shows a URL's password redacted (lists, form, editor); a form edit of another
    field keeps it in the file, and the editor says to type secrets again."""
    page = admin_page(browser, shared, TOKEN)
    page.click('#admin-body tr[data-entry="private"] button.edit')
    form = page.locator('form.admin-form[data-name="private"]')
    shown_url = form.locator('[data-field="url"] input').input_value()
    assert SECRET not in shown_url and "127.0.0.1:9/private.m3u8" in shown_url
    form.locator('[data-field="description"] input').fill("kept private")
    shown = check_and_confirm(page)
    assert shown["saved_to"] == "directory", shown
    assert all(SECRET not in d for d in shown["diff"]), shown
    text = (shared.daemon.config / "config.yaml").read_text()
    assert f"rec:{SECRET}@" in text and "description: kept private" in text
    page.click('#admin-tabs [data-tab="files"]')
    page.wait_for_selector('#editor-host[data-editor="codemirror"] .CodeMirror', timeout=20_000)
    page.select_option("#editor-file", "config.yaml")
    assert "secrets" in page.inner_text("#editor-note")
    editor_text = page.evaluate("document.querySelector('.CodeMirror').CodeMirror.getValue()")
    assert SECRET not in editor_text and "private.m3u8" in editor_text
    page.select_option("#event-filter", "config.")
    page.wait_for_selector("#events pre.diff", timeout=10_000)
    assert SECRET not in page.content()
    assert page.errors == []
