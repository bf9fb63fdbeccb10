"""The README's YAML, config/ and every examples/ folder are valid configs.

A README block fenced ```` ```yaml ```` is a config file; one that deliberately is not is fenced
```` ```yaml NOT_A_CONFIG ```` and skipped, as is an examples/ folder holding a ``NOT_A_CONFIG`` file.
tests/spec/test_schema_examples.py checks the same blocks and files against the JSON Schema.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest

from streamrec.spec.loading import load_config
from streamrec.spec.schema import config_schema
from streamrec.spec.yamlio import read_documents

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


def readme_yaml_blocks() -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)


def test_readme_first_screen_has_the_two_commands():
    """The first lines of the README show how to run the main job and the whole test suite."""
    first_screen = "\n".join(README.read_text(encoding="utf-8").splitlines()[:15])
    assert "python3 dev.py demo" in first_screen
    assert "python3 dev.py test" in first_screen
    assert "python3 dev.py test" in (ROOT / ".ci" / "run").read_text()


def test_readme_yaml_snippets_together_are_a_valid_config(tmp_path):
    """Every YAML block of the README, each as its own file, merges into a valid config."""
    blocks = readme_yaml_blocks()
    assert len(blocks) >= 3
    for index, block in enumerate(blocks):
        (tmp_path / f"{index:02d}.yaml").write_text(block, encoding="utf-8")
    loaded = load_config(tmp_path, {})
    assert loaded.config.channels and loaded.config.tasks and loaded.config.queues


@pytest.mark.parametrize(
    "directory",
    [ROOT / "config", *sorted(p for p in (ROOT / "examples").iterdir() if p.is_dir())],
    ids=lambda p: p.name,
)
def test_bundled_configs_are_valid_and_match_the_json_schema(directory):
    """config/ and each examples/ folder validate, and each file passes the editor schema."""
    if not any(directory.rglob("*.yaml")) or (directory / "NOT_A_CONFIG").exists():
        pytest.skip("no streamrec YAML in this example (it holds other files)")
    load_config(directory, {})
    schema = config_schema()
    for file in sorted(directory.rglob("*.yaml")):
        documents, problems = read_documents(str(file), file.read_text(encoding="utf-8"))
        assert not problems
        for document, _ in documents:
            jsonschema.validate(json.loads(json.dumps(document, default=str)), schema)


def test_readme_python_example_runs(tmp_path, monkeypatch):
    """The README's Python API example runs as written and its tasks complete."""
    (block,) = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    exec(compile(block, "README.md", "exec"), namespace)
    index = namespace["index"]
    assert index.status == "completed"  # type: ignore[attr-defined]
    assert index.stdout.strip() == "6"  # type: ignore[attr-defined]  # "<tv/>\n"
    assert (tmp_path / "epg.xml").read_text() == "<tv/>\n"
