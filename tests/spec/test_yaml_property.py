"""The YAML reader gives values or located problems for any input, never an exception."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from streamrec.errors import ConfigError, Problem
from streamrec.spec.limits import Limits
from streamrec.spec.loading import load_config
from streamrec.spec.yamlio import read_documents

YAML_ALPHABET = "[]{}&*!|>-:?,#%@`'\" \n\t\\abxy01.~<=\x00\x85\u202e\ufeff"
"""Characters that drive the scanner into most of its states, and some it must refuse."""

text_chars = st.characters(
    blacklist_categories=("Cs", "Cc", "Cf", "Co", "Cn", "Zl", "Zp"), max_codepoint=0x2FFF
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.text(text_chars, max_size=12),
)
trees = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.text(text_chars, max_size=6).filter(lambda k: k != "<<"), inner, max_size=4
        ),
    ),
    max_leaves=30,
)


def emit(value: Any, draw: Any, anchors: list[tuple[str, Any]]) -> tuple[str, Any]:
    """``value`` as flow YAML, some nodes anchored and some replaced by aliases; the value read back
    must equal the second item."""
    if anchors and draw(st.integers(0, 5)) == 0:
        name, anchored = anchors[draw(st.integers(0, len(anchors) - 1))]
        return f"*{name}", anchored
    expected: Any
    if isinstance(value, dict):
        parts, expected = [], {}
        for key, item in value.items():
            text, expected[key] = emit(item, draw, anchors)
            parts.append(f"{json.dumps(key, ensure_ascii=False)}: {text}")
        text = "{" + ", ".join(parts) + "}"
    elif isinstance(value, list):
        parts, expected = [], []
        for item in value:
            text, read = emit(item, draw, anchors)
            parts.append(text)
            expected.append(read)
        text = "[" + ", ".join(parts) + "]"
    else:
        text, expected = json.dumps(value, ensure_ascii=False), value
    if draw(st.booleans()):
        name = f"n{len(anchors)}"
        anchors.append((name, expected))
        text = f"&{name} {text}"
    return text, expected


def only_located(problems: list[Problem], path: str) -> None:
    for problem in problems:
        assert isinstance(problem, Problem) and problem.path == path
        assert problem.line >= 0 and problem.col >= 0 and problem.message


@settings(max_examples=150, deadline=None)
@given(st.data(), trees)
def test_any_nested_structure_with_anchors_and_aliases_reads_back_equal(data, tree):
    """A tree dumped as YAML with anchors and aliases reads back as the same values."""
    text, expected = emit(tree, data.draw, [])
    documents, problems = read_documents("t.yaml", f"doc: {text}\n")
    assert problems == []
    assert documents == [({"doc": expected}, (1, 1))]


@settings(max_examples=200, deadline=None)
@given(st.text(YAML_ALPHABET, max_size=80))
def test_any_yaml_like_text_gives_values_or_located_problems(text):
    """Text made of YAML's special characters never raises out of the reader."""
    documents, problems = read_documents("t.yaml", text)
    only_located(problems, "t.yaml")
    assert isinstance(documents, list)


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 200), st.integers(1, 12))
def test_deep_or_wide_aliases_stop_at_the_limits(depth, width):
    """Nesting and alias expansion past small limits are one located problem, never an error."""
    nested = "[" * depth + "]" * depth
    bomb = "a0: &a0 [x]\n" + "".join(
        f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]\n" for i in range(1, 8)
    )
    limits = Limits(depth=20, alias_nodes=500)
    for text in (f"k: {nested}\n", bomb):
        documents, problems = read_documents("t.yaml", text, limits)
        only_located(problems, "t.yaml")
        assert documents or problems


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_in_a_config_file_load_or_give_located_problems(content):
    """Whatever bytes a file holds, load_config returns a config or raises located problems."""
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        (directory / "a.yaml").write_bytes(content)
        try:
            load_config(directory, {})
        except ConfigError as exc:
            assert exc.problems
            for problem in exc.problems:
                assert isinstance(problem, Problem) and problem.message
