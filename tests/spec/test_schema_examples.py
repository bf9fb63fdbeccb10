"""``streamrec schema`` says what ``validate`` says: on value syntax, and on every shipped example.

The schema is read by a real JSON Schema validator (``jsonschema``, draft 2020-12) with format
checking on, the way an editor's YAML language server reads it; ``validate``'s verdict is
:func:`~streamrec.spec.loading.load_config` on a directory holding the YAML text.

YAML blocks in README.md and docs/*.md fenced as ```` ```yaml ```` are streamrec config files; a
YAML block that deliberately is not one is fenced ```` ```yaml NOT_A_CONFIG ```` (as a folder under
examples/ that holds no streamrec config carries a ``NOT_A_CONFIG`` file).
"""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from streamrec.errors import ConfigError
from streamrec.spec import syntax
from streamrec.spec.loading import load_config
from streamrec.spec.schema import config_schema
from streamrec.spec.yamlio import read_documents

ROOT = Path(__file__).resolve().parents[2]
VALIDATOR = Draft202012Validator(
    config_schema(), format_checker=Draft202012Validator.FORMAT_CHECKER
)


def schema_errors(document: Any) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in VALIDATOR.iter_errors(document)
    ]


def validate_accepts(directory: Path, text: str) -> bool:
    (directory / "config.yaml").write_text(text, encoding="utf-8")
    try:
        load_config(directory, {})
    except ConfigError:
        return False
    return True


CHANNEL = "channels:\n  c:\n    url: https://example.com/live.m3u8\n"
FIELDS: dict[str, tuple[str, Any]] = {
    # field -> (YAML of a config with the value at {v}, the same as a JSON document builder)
    "at": (
        CHANNEL + "    schedule:\n      - {{at: {v}, duration: 1h}}\n",
        lambda v: {
            "channels": {"c": {"url": "https://x/y", "schedule": [{"at": v, "duration": "1h"}]}}
        },
    ),
    "duration": (
        CHANNEL + "    stall_timeout: {v}\n",
        lambda v: {"channels": {"c": {"url": "https://x/y", "stall_timeout": v}}},
    ),
    "optional duration": (
        CHANNEL + "    padding: {{before: {v}}}\n",
        lambda v: {"channels": {"c": {"url": "https://x/y", "padding": {"before": v}}}},
    ),
    "segment": (
        CHANNEL + "    segment: {v}\n",
        lambda v: {"channels": {"c": {"url": "https://x/y", "segment": v}}},
    ),
    "size": (
        "settings:\n  min_free_space: {v}\n",
        lambda v: {"settings": {"min_free_space": v}},
    ),
    "time of day": (
        CHANNEL + "    schedule:\n      - {{start: {v}, end: '{end}'}}\n",
        lambda v: {
            "channels": {"c": {"url": "https://x/y", "schedule": [{"start": v, "end": "23:59"}]}}
        },
    ),
    "days": (
        CHANNEL + "    schedule:\n      - {{days: {v}, start: '10:00', end: '11:00'}}\n",
        lambda v: {
            "channels": {
                "c": {
                    "url": "https://x/y",
                    "schedule": [{"days": v, "start": "10:00", "end": "11:00"}],
                }
            }
        },
    ),
    "listen": (
        "settings:\n  http: {{listen: {v}}}\n",
        lambda v: {"settings": {"http": {"listen": v}}},
    ),
    "env value": (
        "tasks:\n  t: {{command: 'true', env: {{A: {v}}}}}\n",
        lambda v: {"tasks": {"t": {"command": "true", "env": {"A": v}}}},
    ),
    "channel name": (
        "channels:\n  {v}:\n    url: https://example.com/live.m3u8\n",
        lambda v: {"channels": {v: {"url": "https://x/y"}}},
    ),
    "category name": (
        "categories:\n  {v}: {{}}\n" + CHANNEL + "    category: {v}\n",
        lambda v: {"categories": {v: {}}, "channels": {"c": {"url": "https://x/y", "category": v}}},
    ),
}

NAMES = [
    # names that import m3u proposes for real-world titles (core.slugs): every script is a name
    "беларусь-1",
    "беларусь-5-интернет",
    "bs朝日",
    "ερτ-1",
    "כאן-11",
    "cctv5-plus-体育赛事1",
    "हिन्दी-समाचार",
    "ข่าวไทย",
    "الجزيرة-مباشر",
    "kbs-1tv-한국",
    "axn",
    "con-channel",
]
CANDIDATES: dict[str, list[Any]] = {
    "channel name": NAMES,
    "category name": NAMES,
    "at": [
        "2026-12-31T23:00",
        "2026-12-31 23:00",
        "2026-12-31T23:00:00",
        "2026-12-31T23:00:00Z",
        "2026-12-31T23:00Z",
        "2026-12-31T23:00+03:00",
        "2026-12-31T23:00:00-05:30",
        "2026-12-31T23:00:00.123456",
        "2026-12-31T23:00:00.1234567890Z",
        "2026-12-31",
        "2024-02-29T10:00",
        "2000-02-29T10:00",
        "1900-02-29T10:00",
        "2026-02-29T10:00",
        "2026-02-30T10:00",
        "2026-04-31T10:00",
        "2026-13-01T10:00",
        "2026-00-10T10:00",
        "0000-01-01T00:00",
        "0001-01-01T00:00",
        "9999-12-31T23:59",
        "2026-12-31T24:00",
        "2026-12-31T23:60",
        "2026-12-31T23:00:60",
        "2026-12-31T23",
        "2026-12-31T23:00:00.",
        "2026-12-31T23:00:00+24:00",
        "2026-12-31T23:00:00+03",
        "2026-12-31T23:00:00+0300",
        "2026-12-31t23:00",
        "2026-12-31T23:00z",
        "2026-12-31_23:00",
        "2026-12-31T23:00:00,5",
        "20261231T2300",
        "2026-1-1T1:00",
        " 2026-12-31T23:00",
        "2026-12-31T23:00\n",
        "now",
        "1767222000",
        1767222000,
        1767222000.5,
        True,
        "",
        "2026-12-31T23:00:00 Z",
    ],
    "duration": [
        "90s",
        "30m",
        "1h30m",
        "7d",
        "250ms",
        "1.5h",
        "1h 30m",
        " 2h ",
        "1 h",
        "0s",
        "0m0s",
        "0.0h",
        "0.001ms",
        "1h\t30m",
        "1H",
        "1hr",
        "90",
        "-5s",
        "s",
        "",
        "1.s",
        ".5s",
        "1m s",
        "1e3s",
        "1h30",
        "1h\n",
        "١٢s",
        90,
        0,
        0.5,
        -1,
        True,
        "1d2h3m4s5ms",
        "9" * 18 + "d",
    ],
    "optional duration": ["0s", "0", 0, "0ms", "1m", " 0s", "00s", "0 .5s", "-0s", -0.5, False],
    "segment": ["none", "None", " NONE ", "nope", "30m", "0s", None, "null", 60, 0],
    "size": [
        "5GB",
        "200MiB",
        "512 kb",
        "1000000",
        "1.5GB",
        "5 GiB",
        "5GIB",
        "5gb",
        "5B",
        "5b",
        "0",
        "5 G",
        "5GBs",
        "-5GB",
        "GB",
        "",
        " 5GB ",
        "5\tGB",
        "1e9",
        "5KB",
        5000,
        0,
        -1,
        5.0,
        5.5,
        True,
        "\u0665GB",
        "5\u212aB",
    ],
    "time of day": [
        "07:30",
        "7:30",
        "23:59",
        "00:00",
        "24:00",
        "23:60",
        "7:5",
        "07:30:00",
        "0730",
        " 7:30 ",
        "٠٧:٣٠",
        "-1:30",
        "7.30",
        "",
        730,
        "7:30\n",
    ],
    "days": [
        "mon",
        ["mon", "fri"],
        "Monday",
        ["SAT", "sunday"],
        " tue ",
        [],
        "mo",
        ["mon", "xyz"],
        "monkey",
        "\u00a0mon",
        ["FRİ"],
        1,
        [1],
        None,
        "",
        ["wed\n"],
    ],
    "listen": [
        "127.0.0.1:8080",
        ":8080",
        "0.0.0.0:80",
        "[::1]:8080",
        "localhost",
        "host:0",
        "host:65535",
        "host:65536",
        "host:08080",
        "host:",
        "host:80\n",
        "host:٨٠",
        "a:b:1",
        None,
        8080,
        "host: 80",
    ],
    "env value": ["text", 1, 1.5, True, None, "", [1, 2], {"a": 1}],
}


def config_text(field: str, value: Any) -> str:
    """The YAML config of ``FIELDS[field]`` holding ``value`` as a flow scalar of its type (JSON is
    YAML); a window's end differs from its start (an empty window is a cross-field error)."""
    end = "00:00" if re.sub(r"[^0-9]", "", str(value)) == "2359" else "23:59"
    return FIELDS[field][0].format(v=json.dumps(value), end=end)


CASES = [(field, value) for field, values in CANDIDATES.items() for value in values]


@pytest.mark.parametrize(("field", "value"), CASES, ids=[f"{f}={v!r}" for f, v in CASES])
def test_the_schema_accepts_exactly_what_validate_accepts(tmp_path, field, value):
    """For each candidate value, the JSON Schema verdict equals ``validate``'s."""
    document = FIELDS[field][1]
    accepted = validate_accepts(tmp_path, config_text(field, value))
    assert VALIDATOR.is_valid(document(value)) == accepted, schema_errors(document(value))


@pytest.mark.parametrize("field", ["channel name", "category name"])
def test_names_in_every_script_are_valid_names(tmp_path, field):
    """The names ``import m3u`` makes of Cyrillic, CJK, Greek, Hebrew, ... titles validate."""
    for name in NAMES:
        assert validate_accepts(tmp_path, config_text(field, name)), name
        assert VALIDATOR.is_valid(FIELDS[field][1](name)), name


REFERENCED = {
    # field -> a valid value, written as the default of a variable that is not set
    "at": "2026-12-31T23:00",
    "duration": "30s",
    "optional duration": "0s",
    "segment": "none",
    "size": "5GB",
    "time of day": "07:30",
    "days": "mon",
    "listen": "127.0.0.1:8080",
}


@pytest.mark.parametrize("field", sorted(REFERENCED))
def test_a_variable_reference_is_accepted_where_a_value_is(tmp_path, field):
    """``${NAME:-default}`` is read before validation, so the schema admits it anywhere; its
    escaped form ``$${NAME}`` is literal text, which neither admits."""
    document = FIELDS[field][1]
    reference = f"${{UNSET_IN_THIS_TEST:-{REFERENCED[field]}}}"
    assert validate_accepts(tmp_path, config_text(field, reference))
    assert VALIDATOR.is_valid(document(reference)), schema_errors(document(reference))
    literal = "$" + reference
    assert not validate_accepts(tmp_path, config_text(field, literal))
    assert not VALIDATOR.is_valid(document(literal))


def test_every_typed_scalar_admits_a_reference():
    """Numbers, booleans and enums too: ``max_parallel_tasks: ${N}``, ``enabled: ${ON}``."""
    for document in (
        {"settings": {"max_parallel_tasks": "${N}", "on_low_space": "${POLICY:-stop}"}},
        {"channels": {"c": {"url": "x", "enabled": "${ON}", "format": "${FORMAT:-ts}"}}},
    ):
        assert VALIDATOR.is_valid(document), schema_errors(document)
    assert not VALIDATOR.is_valid({"settings": {"max_parallel_tasks": "N"}})


ALPHABETS = {
    "listen": "0123456789:.h ",
    "at": "0123456789-:T Z+.",
    "duration": "0123456789.dhms ",
    "optional duration": "0123456789.dhms ",
    "size": "0123456789.KMGTibB ",
    "time of day": "0123456789: ",
}


@pytest.mark.parametrize("field", sorted(ALPHABETS))
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_random_text_gets_the_same_verdict_from_schema_and_validate(tmp_path, field, data):
    """Text over each value's characters: the schema and ``validate`` agree on all of it."""
    alphabet = ALPHABETS[field]
    value = data.draw(st.text(alphabet=alphabet, max_size=22), label="value")
    document = FIELDS[field][1]
    accepted = validate_accepts(tmp_path, config_text(field, value))
    assert VALIDATOR.is_valid(document(value)) == accepted, schema_errors(document(value))


SYNTAXES = {
    "at": syntax.DATE_TIME,
    "optional duration": syntax.OPTIONAL_DURATION,
    "size": syntax.SIZE,
    "time of day": syntax.TIME_OF_DAY,
}


def drawable(pattern: str) -> str:
    """``pattern`` without its final lookahead (Hypothesis cannot draw from one) and with each
    repetition bounded (drawing from ``*`` nested in ``*`` is slow): a part of the same language."""
    pattern = pattern.removesuffix("(?!\\n)")
    pattern = re.sub(r"(?<=[\])])\+", "{1,4}", pattern)  # a quantifier, not the + of [+-]
    return re.sub(r"(?<=[\]) ])\*", "{0,3}", pattern)


@pytest.mark.parametrize("field", sorted(SYNTAXES))
@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_whatever_a_pattern_matches_validate_accepts(tmp_path, field, data):
    """Strings drawn from each published pattern are valid configs: no pattern is looser."""
    value = data.draw(st.from_regex(drawable(SYNTAXES[field]), fullmatch=True), label="value")
    assert validate_accepts(tmp_path, config_text(field, value)), value


PATTERNS = {
    name: getattr(syntax, name)
    for name in (
        "DURATION",
        "OPTIONAL_DURATION",
        "SIZE",
        "TIME_OF_DAY",
        "DATE_TIME",
        "NO_SEGMENTS",
        "WEEKDAY",
        "LISTEN",
        "REFERENCE",
    )
}
NODE_MATCHER = """
const {patterns, texts} = JSON.parse(require("fs").readFileSync(0, "utf8"));
const verdicts = {};
for (const [name, pattern] of Object.entries(patterns)) {
  const re = new RegExp(pattern, "u");  // as JSON Schema says: ECMA-262, Unicode mode
  verdicts[name] = texts.map((text) => re.test(text));
}
process.stdout.write(JSON.stringify(verdicts));
"""


def test_the_patterns_mean_the_same_in_ecmascript():
    """Editors read the patterns as ECMAScript regular expressions: Node.js gives the verdict
    Python's ``re`` gives on every candidate and on random text over the values' characters."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (scripts/install-test-packages.sh installs nodejs)")
    rng = random.Random(7)
    extra = set("\t\n\u00a0\u0665\u212a${}:-_Ab")
    alphabet = "".join(sorted(set("".join(ALPHABETS.values())) | extra))
    flat = [v for values in CANDIDATES.values() for v in values]
    flat += [v for value in flat if isinstance(value, list) for v in value]
    texts = [v for v in flat if isinstance(v, str)]
    texts += ["".join(rng.choices(alphabet, k=rng.randint(0, 20))) for _ in range(3000)]
    result = subprocess.run(
        [node, "-e", NODE_MATCHER],
        input=json.dumps({"patterns": PATTERNS, "texts": texts}),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    ecmascript = json.loads(result.stdout)
    for name, pattern in PATTERNS.items():
        python = [syntax.matches(pattern, text) for text in texts]
        differ = [
            text for text, a, b in zip(texts, python, ecmascript[name], strict=True) if a != b
        ]
        assert differ == [], f"{name}: Python and ECMAScript disagree on {differ[:5]!r}"


def _string_formats(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [v for k, v in node.items() if k == "format" and isinstance(v, str)]
        values = [v for k, v in node.items() if k not in ("default", "examples", "const", "enum")]
        return found + [f for v in values for f in _string_formats(v)]
    if isinstance(node, list):
        return [f for v in node for f in _string_formats(v)]
    return []


def test_the_schema_uses_patterns_not_formats():
    """No ``format``: validators differ on what ``date-time`` or ``duration`` admit (and
    ``jsonschema`` checks some only with extra packages), so a pattern says it exactly."""
    assert _string_formats(config_schema()) == []


def test_the_schema_is_a_draft_2020_12_schema_titled_for_config_files():
    """The file's own title and dialect, not the model's (``Config``); the schema itself is valid."""
    schema = config_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == "streamrec config file" and "merged" in schema["description"]
    Draft202012Validator.check_schema(schema)


# -- every shipped example against the schema ---------------------------------------------------

FENCE = re.compile(r"^```(\S*)([^\n]*)\n(.*?)^```", re.DOTALL | re.MULTILINE)
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def yaml_blocks() -> list[tuple[str, str]]:
    """``(where, text)`` of every YAML block fenced as a streamrec config."""
    blocks = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for match in FENCE.finditer(text):
            language, info, body = match.group(1), match.group(2).split(), match.group(3)
            if language in ("yaml", "yml") and "NOT_A_CONFIG" not in info:
                line = text.count("\n", 0, match.start()) + 1
                blocks.append((f"{doc.relative_to(ROOT)}:{line}", body))
    return blocks


def config_files() -> list[Path]:
    """Every YAML file of config/ and of each examples/ folder not marked NOT_A_CONFIG."""
    folders = [ROOT / "config", *sorted(p for p in (ROOT / "examples").iterdir() if p.is_dir())]
    return [
        file
        for folder in folders
        if not (folder / "NOT_A_CONFIG").exists()
        for file in sorted([*folder.rglob("*.yaml"), *folder.rglob("*.yml")])
    ]


def assert_matches_schema(where: str, text: str) -> None:
    documents, problems = read_documents(where, text)
    assert not problems, problems
    assert documents, f"{where}: no YAML document"
    for document, _ in documents:
        assert schema_errors(json.loads(json.dumps(document))) == [], where


def test_the_docs_hold_yaml_config_blocks():
    """The selection finds the README's config blocks (so the test below checks something)."""
    assert sum(where.startswith("README.md") for where, _ in yaml_blocks()) >= 3


@pytest.mark.parametrize(("where", "text"), yaml_blocks(), ids=[w for w, _ in yaml_blocks()])
def test_each_docs_yaml_block_matches_the_schema(where, text):
    """Each config block of README.md and docs/*.md passes the editor schema."""
    assert_matches_schema(where, text)


@pytest.mark.parametrize("file", config_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_each_shipped_config_file_matches_the_schema(file):
    """Each file of config/ and examples/ passes the editor schema, formats checked."""
    assert_matches_schema(str(file.relative_to(ROOT)), file.read_text(encoding="utf-8"))


def test_the_configmaps_config_matches_the_schema():
    """The streamrec config inside the Kubernetes ConfigMap passes the editor schema too."""
    (configmap,) = [
        doc
        for doc, _ in read_documents(
            "configmap.yaml",
            (ROOT / "examples" / "kubernetes" / "configmap.yaml").read_text(encoding="utf-8"),
        )[0]
        if doc.get("kind") == "ConfigMap"
    ]
    for name, text in configmap["data"].items():
        assert_matches_schema(f"configmap.yaml:{name}", text)
