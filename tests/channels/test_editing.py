"""Editing YAML in place leaves every byte it does not have to change, and never writes a bad config."""

from __future__ import annotations

import difflib
import os
import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamrec.errors import ConfigError
from streamrec.spec.editing import ConfigEdit, EditError, Remove, Upsert, edit_text
from streamrec.spec.limits import MIB, Limits
from streamrec.spec.loading import load_config

DATA = Path(__file__).parent / "data"
HAIRY = (DATA / "hairy.yaml").read_text(encoding="utf-8")
FLOW = (DATA / "flow.yaml").read_text(encoding="utf-8")


def changed_lines(before: str, after: str) -> tuple[list[str], list[str]]:
    """The lines removed and the lines added, asserting that everything else is kept in order."""
    removed: list[str] = []
    added: list[str] = []
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(
        None, old, new, autojunk=False
    ).get_opcodes():
        if tag in {"replace", "delete"}:
            removed += old[i1:i2]
        if tag in {"replace", "insert"}:
            added += new[j1:j2]
    return removed, added


def test_adding_a_channel_to_a_commented_file_only_inserts_its_lines():
    """Comments, odd spacing, flow mappings and anchors stay; the entry follows the 4-space style."""
    after = edit_text(
        HAIRY, [Upsert("channels", "new-one", {"url": "http://h/a", "category": "news"})]
    )
    # after the commented-out entry inside the mapping, before the next section's comment
    anchor = "    #   url: http://old\n"
    new = "\n    new-one:\n        url: http://h/a\n        category: news\n"
    assert after == HAIRY.replace(anchor, anchor + new)


def test_updating_a_value_keeps_its_quotes_and_trailing_comment():
    """Only the changed line differs, with the value's single quotes and the comment after it."""
    after = edit_text(HAIRY, [Upsert("channels", "trt-haber", {"url": "https://new.example/x"})])
    removed, added = changed_lines(HAIRY, after)
    assert removed == [
        "        url:    'https://example.com/trt/playlist.m3u8'   # single quotes kept\n"
    ]
    assert added == ["        url:    'https://new.example/x'   # single quotes kept\n"]


def test_a_new_field_is_added_after_the_entry_at_its_indentation():
    """Setting a field the entry lacks inserts one line at the indentation of its siblings."""
    after = edit_text(HAIRY, [Upsert("channels", "evening-show", {"enabled": False})])
    assert changed_lines(HAIRY, after) == ([], ["        enabled: false\n"])
    assert after.index("enabled: false") > after.index("on_segment: remux")


def test_removing_a_channel_removes_exactly_its_lines():
    """The entry's lines go; the comments before and after it and every other line stay."""
    after = edit_text(HAIRY, [Remove("channels", "evening-show")])
    removed, added = changed_lines(HAIRY, after)
    assert added == []
    assert "".join(removed) == (
        "    evening-show:\n"
        '        url: "rtmp://live.example.com/app/${SHOW_KEY:-show}"\n'
        "        category:   sports\n"
        "        schedule:\n"
        '          - {days: [mon, tue], start: "20:00", end: "22:00"}\n'
        "        retention: *ret\n"
        "        on_segment: remux   # a name, not a list\n"
    )


def test_add_then_remove_gives_back_the_same_bytes_with_blank_line_separators():
    """In a mapping whose entries are separated by blank lines, add + remove is the identity."""
    text = "channels:\n  a:\n    url: http://h/a\n\n  b:\n    url: http://h/b\n\n# end\n"
    added = edit_text(text, [Upsert("channels", "c", {"url": "http://h/c"})])
    assert "    url: http://h/b\n\n  c:\n    url: http://h/c\n\n# end\n" in added
    assert edit_text(added, [Remove("channels", "c")]) == text


def test_flow_sections_are_edited_inside_their_braces():
    """Entries are added to and removed from flow mappings in place; the other document is untouched."""
    after = edit_text(
        FLOW,
        [
            Upsert("categories", "docs", {}),
            Upsert("channels", "c", {"url": "http://h:1/c", "category": "docs"}),
        ],
    )
    removed, added = changed_lines(FLOW, after)
    assert removed == [
        'categories: {news: {}, sports: {description: "Sport"}}\n',
        "           b: {url: 'http://127.0.0.1:9/b'}}   # two lines of flow\n",
    ]
    assert added == [
        'categories: {news: {}, sports: {description: "Sport"}, docs: {}}\n',
        "           b: {url: 'http://127.0.0.1:9/b'}, c: {url: 'http://h:1/c', category: docs}}"
        "   # two lines of flow\n",
    ]
    gone = edit_text(FLOW, [Remove("channels", "a")])
    assert "channels: {b: {url: 'http://127.0.0.1:9/b'}}   # two lines of flow\n" in gone
    assert gone.startswith("--- # a first document with settings only\nsettings: {timezone: UTC}\n")


def test_crlf_line_ends_and_a_byte_order_mark_are_kept():
    """A Windows-edited file keeps its BOM and CRLF everywhere, new lines included."""
    text = "\ufeff# from Windows\r\nchannels:\r\n  a: {url: 'http://h/a'}\r\n"
    after = edit_text(text, [Upsert("channels", "b", {"url": "http://h/b"})])
    assert after == text + "  b: {url: 'http://h/b'}\r\n"


def test_a_missing_section_is_appended_and_an_empty_one_is_filled():
    """A file without `channels` gets the section at its end; `channels:` with nothing gets entries."""
    text = "# settings only\nsettings:\n  timezone: UTC\n"
    after = edit_text(text, [Upsert("channels", "a", {"url": "http://h/a"})])
    assert after == text + "\nchannels:\n  a:\n    url: http://h/a\n"
    empty = "channels:   # none yet\ntasks: {t: {command: 'true'}}\n"
    filled = edit_text(empty, [Upsert("channels", "a", {"url": "http://h/a"})])
    assert (
        filled
        == "channels:   # none yet\n  a:\n    url: http://h/a\ntasks: {t: {command: 'true'}}\n"
    )


def test_an_entry_reached_through_an_alias_is_changed_by_a_round_trip_and_checked():
    """When no splice can express the edit, ruamel's round trip makes it and keeps the comments."""
    text = "base: &b {url: 'http://h/a'}\nchannels:\n  a: *b   # shared\n  # end\n"
    after = edit_text(text, [Upsert("channels", "z", {"url": "http://h/z"})])
    assert "a: *b   # shared" in after and "z:" in after


def test_removing_an_anchored_entry_keeps_the_value_of_its_aliases():
    """The anchor moves to the alias in a round trip, so the other entry keeps its value."""
    text = "channels:\n  a: &x {url: 'http://h/a'}\n  b: *x\n"
    after = edit_text(text, [Remove("channels", "a")])
    assert load_channels(after) == {"b": {"url": "http://h/a"}}


def test_an_edit_of_a_section_that_is_not_a_mapping_is_refused():
    """A `channels` list cannot take an entry: EditError saying to fix the file first."""
    with pytest.raises(EditError, match="channels is not a mapping; fix the file first"):
        edit_text("channels: [a, b]\n", [Upsert("channels", "c", {"url": "http://h/c"})])


def load_channels(text: str) -> dict[str, object]:
    from streamrec.spec.yamlio import read_documents

    documents, problems = read_documents("x", text)
    assert not problems
    return dict(documents[0][0]["channels"])


names = st.text(alphabet=string.ascii_lowercase + string.digits + "-_", min_size=1, max_size=12)
values = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs", "Cc"), blacklist_characters="\x85\u2028\u2029"
    ),
    max_size=30,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    base=st.sampled_from([HAIRY, FLOW, "", "settings: {timezone: UTC}\n"]), name=names, url=values
)
def test_any_added_channel_reads_back_as_written_and_removing_it_restores_the_bytes(
    base, name, url
):
    """For any name and value the file means exactly what was asked, and add + remove is identity."""
    if name in {"trt-haber", "evening-show", "a", "b"}:
        return
    after = edit_text(base, [Upsert("channels", name, {"url": url, "category": "news"})])
    assert edit_text(after, [Remove("channels", name)]).replace("channels: {}\n", "") in {
        base,
        base + "\nchannels:\n",
        base + "channels:\n",
    }


def test_config_edit_checks_the_whole_directory_and_writes_nothing_when_invalid(write_config):
    """An edit that breaks the config raises located problems naming the real file; bytes unchanged."""
    directory = write_config({"channels.yaml": HAIRY})
    path = directory / "channels.yaml"
    before = path.read_bytes()
    edit = ConfigEdit(directory, {})
    edit.add(path, Upsert("channels", "bad", {"url": "no scheme here", "category": "news"}))
    with pytest.raises(ConfigError) as caught:
        edit.commit()
    (problem,) = caught.value.problems
    assert problem.path.endswith("config/channels.yaml") and problem.line == 32
    assert "expected a URL like" in problem.message
    assert path.read_bytes() == before
    assert sorted(p.name for p in directory.iterdir()) == ["channels.yaml"]


def test_config_edit_writes_through_a_symlink_and_keeps_the_file_mode(write_config, tmp_path):
    """A linked config file is edited where it lives; the link and the mode stay."""
    real = tmp_path / "elsewhere.yaml"
    real.write_text("channels:\n  a: {url: 'http://h/a'}\n", encoding="utf-8")
    real.chmod(0o640)
    directory = write_config({"settings.yaml": "settings: {timezone: UTC}\n"})
    (directory / "linked.yaml").symlink_to(real)
    edit = ConfigEdit(directory, {})
    path, where = edit.declared("channels", "a")  # type: ignore[misc]
    assert where.endswith("linked.yaml:2:3")
    edit.add(path, Upsert("channels", "b", {"url": "http://h/b"}))
    edit.commit()
    assert (directory / "linked.yaml").is_symlink()
    assert "b: {url: 'http://h/b'}" in real.read_text(encoding="utf-8")
    assert real.stat().st_mode & 0o777 == 0o640
    assert set(load_config(directory, {}).config.channels) == {"a", "b"}


def test_config_edit_creates_a_missing_directory_and_file(tmp_path):
    """Adding to a directory that does not exist yet creates it with channels.yaml."""
    directory = tmp_path / "fresh"
    edit = ConfigEdit(directory, {})
    edit.add(edit.target(None), Upsert("channels", "a", {"url": "http://h/a"}))
    (change,) = edit.commit()
    assert change.before is None
    assert (directory / "channels.yaml").read_text() == "channels:\n  a:\n    url: http://h/a\n"
    mode = (directory / "channels.yaml").stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask


def test_targets_must_be_config_files_inside_the_directory(tmp_path):
    """--file outside the directory, without .yaml, or a dot-name is refused."""
    edit = ConfigEdit(tmp_path, {})
    assert edit.target("sub/news.yaml") == tmp_path / "sub" / "news.yaml"
    for bad in ["/etc/x.yaml", "notes.txt", ".hidden.yaml"]:
        with pytest.raises(EditError):
            edit.target(bad)


CHANNEL = "channels:\n  ok:\n    url: 'http://127.0.0.1:9/live.m3u8'\n"
SMALL = Limits(file_bytes=200, total_bytes=300)


def make_fifo(directory: Path) -> None:
    os.mkfifo(directory / "zz.yaml")


def make_huge(directory: Path) -> None:
    with (directory / "zz.yaml").open("wb") as big:
        big.truncate(8 * MIB + 1)


def make_past_the_total(directory: Path) -> None:
    """Two files that each fit SMALL's file limit and together cross its total."""
    for name in ["b.yaml", "c.yaml"]:
        (directory / name).write_text(f"# {'x' * 100}\ncategories: {{{name[0]}: {{}}}}\n")


UNREADABLE = {
    "a FIFO beside the edited file": (make_fifo, None, None),
    "a FIFO named by --file": (make_fifo, "zz.yaml", None),
    "a file over the size limit beside the edited file": (make_huge, None, None),
    "a file over the size limit named by --file": (make_huge, "zz.yaml", None),
    "files past the directory's total": (make_past_the_total, None, SMALL),
}


@pytest.mark.timeout(10)
@pytest.mark.parametrize("case", list(UNREADABLE))
def test_an_unreadable_config_file_is_the_same_located_error_as_in_load_config(write_config, case):
    """The editor reads as the loader reads: no hang, no traceback, the same problems, no write."""
    make, file, limits = UNREADABLE[case]
    directory = write_config({"a.yaml": CHANNEL})
    make(directory)
    with pytest.raises(ConfigError) as loading:
        load_config(directory, {}, limits=limits or Limits())
    edit = ConfigEdit(directory, {}, limits=limits or Limits())
    edit.add(edit.target(file), Upsert("channels", "new", {"url": "http://h/new"}))
    with pytest.raises(ConfigError) as editing:
        edit.commit()
    assert editing.value.problems == loading.value.problems
    assert not (directory / "channels.yaml").exists()
    assert (directory / "a.yaml").read_text() == CHANNEL


@pytest.mark.timeout(20)
@pytest.mark.parametrize("file", [None, "zz.yaml"])
def test_channel_add_prints_the_fifo_problem_that_validate_prints(write_config, cli_for, file):
    """`channel add` next to (or into) a FIFO exits 1 with the line `validate` prints for it."""
    directory = write_config({"a.yaml": CHANNEL})
    make_fifo(directory)
    cli = cli_for(directory)
    code, _, validated = cli("validate")
    assert code == 1
    (problem,) = [line for line in validated.splitlines() if "zz.yaml" in line]
    assert problem.startswith("config/zz.yaml: the path is a FIFO (named pipe)")
    args = ["channel", "add", "new", "--url", "http://h/new", *(["-f", file] if file else [])]
    code, out, err = cli(*args)
    assert (code, out) == (1, "")
    assert problem in err.splitlines()
    assert "nothing was changed" in err
    assert not (directory / "channels.yaml").exists()


UNSET_BLOCK = """\
channels:
  # the news
  news:
    url: http://h/news
    resolver: streamlink   # a page
    input_args: ['-user_agent', X]
    enabled: false

  sport: {url: 'http://h/sport', resolver: streamlink, category: s}
"""


def test_unset_takes_a_field_off_in_block_and_flow_style_and_keeps_the_rest():
    """Only the lines of the fields taken off go; a flow mapping loses just its pairs."""
    after = edit_text(
        UNSET_BLOCK,
        [
            Upsert("channels", "news", {"url": "http://h/news2"}, unset=("resolver", "input_args")),
            Upsert("channels", "sport", {}, unset=("resolver", "absent")),
        ],
    )
    assert after == (
        "channels:\n  # the news\n  news:\n    url: http://h/news2\n    enabled: false\n\n"
        "  sport: {url: 'http://h/sport', category: s}\n"
    )
    last = edit_text(UNSET_BLOCK, [Upsert("channels", "news", {}, unset=("enabled",))])
    assert "enabled" not in last and "\n\n  sport:" in last  # the blank line between entries stays


def test_unset_on_an_entry_behind_an_alias_leaves_the_anchor_alone():
    """The aliased entry gets its own value without the field; what the anchor names is kept."""
    text = "x: &base {url: 'http://h/a', resolver: streamlink}\nchannels:\n  a: *base\n"
    after = edit_text(text, [Upsert("channels", "a", {"url": "http://h/b"}, unset=("resolver",))])
    assert after.startswith("x: &base {url: 'http://h/a', resolver: streamlink}\n")
    assert "resolver" not in after.split("channels:")[1] and "http://h/b" in after


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["url", "category", "description", "import_key", "enabled"]),
        st.one_of(
            st.booleans(),
            st.integers(-5, 5),
            st.text(alphabet="abcNYny019 ._/:()+,=&?%~@!*'-#[]{}\"", min_size=0, max_size=12),
        ),
        min_size=1,
    )
)
def test_a_new_flat_entry_is_written_as_the_dumper_writes_it(fields):
    """The shortcut for flat entries of plain scalars gives the dumper's bytes, or leaves it to it."""
    from ruamel.yaml.comments import CommentedMap

    from streamrec.spec.editing.roundtrip import _commented, _dump, block_entry

    expected = _dump(CommentedMap([("news", _commented(fields, False))]), 4)
    assert block_entry("news", fields, 2, 4, None) == "".join(
        f"  {line}\n" for line in expected.splitlines()
    )
