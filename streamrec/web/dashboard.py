"""The dashboard: one HTML page with plain JavaScript and CSS, served from package data.

``web.routes`` serves ``/`` (``index.html``) and ``/static/<name>`` from :func:`asset`. The files
live in ``streamrec/web/static/`` and ship with the package (``[tool.setuptools.package-data]``);
there is no build step. The page polls ``/api/status`` and ``/api/events?since=`` and updates in
place (see ``static/app.js`` for what it shows and how); ``format.js`` formats values (one time
format for the whole page), ``events.js`` draws the event list with the per-file events grouped, and
``player.js`` plays recordings and live channels in a ``<video>`` element. The Admin section is
``admin.js`` (the lists, and the check / review / save of a change through ``/api/config/*``),
``adminforms.js`` (the forms, and the ops each builds), ``editor.js`` (a YAML editor per config
file) and ``yamlread.js`` (reads the config files far enough to fill the forms). The token is
kept in the tab's ``sessionStorage`` and sent as a bearer header; never a cookie.

The editor is CodeMirror 5, vendored from its npm package (MIT, ``cm-LICENSE.txt``) under flat
``cm-`` names: :data:`VENDORED` maps each to its path in the package. The files are as released
but for six comments, which named the numbers of CodeMirror's issue tracker and are cut. The page
loads them only when the editor is first opened.

Only the names in :data:`ASSETS` are served, read once and kept in memory, so a request can never
name another file.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from importlib import resources

ASSETS = {
    "index.html": "text/html; charset=utf-8",
    "format.js": "text/javascript; charset=utf-8",
    "events.js": "text/javascript; charset=utf-8",
    "player.js": "text/javascript; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
    "favicon.svg": "image/svg+xml",
    "yamlread.js": "text/javascript; charset=utf-8",
    "adminforms.js": "text/javascript; charset=utf-8",
    "admin.js": "text/javascript; charset=utf-8",
    "editor.js": "text/javascript; charset=utf-8",
    "cm-codemirror.js": "text/javascript; charset=utf-8",
    "cm-codemirror.css": "text/css; charset=utf-8",
    "cm-yaml.js": "text/javascript; charset=utf-8",
    "cm-show-hint.js": "text/javascript; charset=utf-8",
    "cm-show-hint.css": "text/css; charset=utf-8",
    "cm-LICENSE.txt": "text/plain; charset=utf-8",
}
"""The files of the dashboard and their media types."""

CODEMIRROR_VERSION = "5.65.19"
"""The CodeMirror release the ``cm-`` files are taken from."""

VENDORED = {
    "cm-codemirror.js": "lib/codemirror.js",
    "cm-codemirror.css": "lib/codemirror.css",
    "cm-yaml.js": "mode/yaml/yaml.js",
    "cm-show-hint.js": "addon/hint/show-hint.js",
    "cm-show-hint.css": "addon/hint/show-hint.css",
    "cm-LICENSE.txt": "LICENSE",
}
"""The vendored CodeMirror files: served name -> path in the ``codemirror`` npm package."""


@dataclass(frozen=True)
class Asset:
    """One file of the dashboard, ready to send."""

    body: bytes
    media_type: str
    etag: str


@cache
def asset(name: str) -> Asset | None:
    """The asset called ``name``, or None when there is no such asset."""
    media_type = ASSETS.get(name)
    if media_type is None:
        return None
    body = resources.files("streamrec.web").joinpath("static").joinpath(name).read_bytes()
    etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
    return Asset(body, media_type, etag)
