"""Names from titles keep every script's letters, drop decorations, and are safe file names."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from streamrec.core.filenames import WINDOWS_RESERVED, safe_component
from streamrec.core.slugs import MAX_BYTES, MAX_CHARS, is_slug, name_and_tags, slugify, split_tags
from streamrec.spec.sources import name_problem

REAL_WORLD = {
    # titles from public playlists -> the name each must get
    "Беларусь 1": "беларусь-1",
    "Беларусь 5 Интернет": "беларусь-5-интернет",
    "BS朝日": "bs朝日",
    "ΕΡΤ 1": "ερτ-1",
    "כאן 11": "כאן-11",
    "CCTV5+ 体育赛事1": "cctv5-plus-体育赛事1",
    "CCTV5 体育赛事1": "cctv5-体育赛事1",
    "AXN (720p) [Not 24/7]": "axn",
    "Arte Belgique Ⓖ": "arte-belgique",
    "TRT Haber HD": "trt-haber",
    "Canal+": "canal-plus",
    "ＢＳ１": "bs1",
    "हिन्दी समाचार": "हिन्दी-समाचार",
    "ข่าวไทย": "ข่าวไทย",
    "الجزيرة مباشر": "الجزيرة-مباشر",
    "KBS 1TV 한국": "kbs-1tv-한국",
    "Spor Smart, Canlı": "spor-smart-canli",
    "Straße 1": "strasse-1",
    "İstanbul Ægypt": "istanbul-aegypt",
    "😀 Fun 🇬🇧 ★": "fun",
    "CON": "con-channel",
    "Nul (1080p)": "nul-channel",
    "!!!": "channel",
}


@pytest.mark.parametrize(("title", "name"), REAL_WORLD.items())
def test_real_world_titles_keep_their_script(title, name):
    """Cyrillic, CJK, Greek, Hebrew, Devanagari, Thai, Arabic, Hangul stay; Latin loses accents."""
    assert name_and_tags(title)[0] == name


def test_names_of_different_titles_in_one_script_differ():
    """What the ASCII-only slugs merged (``1``, ``1``, ``5-2``) stays apart."""
    titles = ["Беларусь 1", "ΕΡΤ 1", "Беларусь 5", "Беларусь 5 Интернет", "CCTV5+ 体育赛事1"]
    titles += ["CCTV5 体育赛事1"]
    names = [name_and_tags(title)[0] for title in titles]
    assert len(set(names)) == len(names)


def test_quality_and_status_become_tags_not_name():
    """The same channel at another quality or with another status note has the same name."""
    assert name_and_tags("AXN (720p) [Not 24/7]") == ("axn", ("720p", "Not 24/7"))
    assert name_and_tags("AXN (1080p)") == ("axn", ("1080p",))
    assert name_and_tags("CNN International [Geo-blocked]") == (
        "cnn-international",
        ("Geo-blocked",),
    )
    assert name_and_tags("Fox 4K UHD") == ("fox", ("4K", "UHD"))
    assert name_and_tags("Kanal D FHD (backup)") == ("kanal-d", ("FHD", "backup"))
    assert split_tags("Arte Belgique Ⓖ") == ("Arte Belgique", ("Ⓖ",))
    assert name_and_tags("BBC (UK)") == ("bbc-uk", ())  # not a decoration: part of the name
    assert name_and_tags("HD") == ("hd", ())  # nothing else to name it by
    assert name_and_tags("HDTV News") == ("hdtv-news", ())  # only whole words are tags


def test_slugify_keeps_tags_in_and_folds_latin():
    """``slugify`` (used for categories and playlist names) drops symbols only."""
    assert slugify("Şov TV  HD!") == "sov-tv-hd"
    assert slugify("Первый канал") == "первый-канал"
    assert slugify("Movies ★ (720p)") == "movies-720p"


def test_long_names_are_cut_between_characters_within_both_limits():
    """64 characters at most, and at most MAX_BYTES of UTF-8: never half a character or a mark."""
    assert slugify("x" * 100) == "x" * MAX_CHARS
    cjk = slugify("中" * 100)
    assert cjk == "中" * (MAX_BYTES // 3)
    hindi = slugify("कि" * 60)  # a letter and its vowel sign, 6 bytes a pair
    assert len(hindi.encode()) <= MAX_BYTES and hindi.endswith("कि")
    assert not slugify("a-" * 40).endswith("-")


def test_windows_device_names_never_become_file_names():
    """Slugs avoid them; a channel named so by hand is renamed in its file names only."""
    assert all(slugify(name) != name for name in WINDOWS_RESERVED)
    assert safe_component("con").startswith("con-") and safe_component("con") != "con"
    assert safe_component("LPT1.txt").split(".")[0].casefold() not in WINDOWS_RESERVED
    assert safe_component("console") == "console" and safe_component("com10") == "com10"


def _file_safe(name: str) -> bool:
    return (
        name not in ("", ".", "..")
        and not any(char in name for char in '/\\:*?"<>|')
        and all(unicodedata.category(char)[0] not in "CZ" for char in name)
        and not name.endswith((".", " "))
        and name.casefold() not in WINDOWS_RESERVED
    )


@settings(max_examples=300)
@given(st.text(max_size=120))
@example("a\u0301" * 70)
@example("ß" * 70)
@example("ǅ İ ﬃ ŉ")
@example("\u0345")
@example("ᾈ ΐ")
def test_every_slug_is_a_safe_stable_name(text):
    """Whatever the title, its name is non-empty, file-safe, within limits, NFC, its own slug,
    kept as it is by the file name renderer and accepted as a channel name by ``validate``."""
    for name in (slugify(text), name_and_tags(text)[0]):
        assert _file_safe(name), name
        assert len(name) <= MAX_CHARS and len(name.encode()) <= MAX_BYTES
        assert unicodedata.normalize("NFC", name) == name
        assert is_slug(name) and slugify(name) == name
        assert safe_component(name) == name
        assert name_problem("channel", name) is None


@given(st.text(alphabet=st.characters(categories=["L", "N"]), min_size=1, max_size=20))
def test_letters_and_digits_of_any_script_survive(word):
    """A title made of letters and digits only is never emptied to the fallback."""
    assert slugify(word, fallback="") != "" or not any(ch.isalnum() for ch in word)
