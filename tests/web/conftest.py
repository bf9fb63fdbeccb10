"""Fixtures for the HTTP API and dashboard tests (the helpers are in ``webkit``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from webkit import FFMPEG

from streamrec.runtime.testsource import HlsTestSource


@pytest.fixture(scope="module")
def module_hls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HlsTestSource]:
    """A live HLS source (1 s segments) on 127.0.0.1, shared by a module's tests."""
    source = HlsTestSource(FFMPEG, tmp_path_factory.mktemp("source"))
    source.start()
    yield source
    source.close()
