"""Hiding secrets in URLs and text, so that none reaches the terminal, the log or the API.

Pure functions, used wherever something is printed or logged: plans, status, events, ffmpeg command
lines. A secret is: the password (and, when there is one, the user) in a URL's user-info; the value of a
query parameter whose name looks secret (``token``, ``key``, ``sig``, ``auth``, ``password``, …); and
any string the config loader knows to be secret (values interpolated from variables such as
``${STREAM_KEY}``). Each is replaced by ``***``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"
_SECRET_PARAM = re.compile(
    r"token|key|sig|signature|auth|pass|pwd|secret|session|credential|hash|expires_sig|jwt",
    re.IGNORECASE,
)
_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>]+")


def _masked_netloc(netloc: str) -> str:
    userinfo, at, host = netloc.rpartition("@")
    if not at:
        return netloc
    user, colon, _password = userinfo.partition(":")
    return f"{user}:{MASK}@{host}" if colon else f"{MASK}@{host}"


def redact_url(url: str, secrets: Iterable[str] = ()) -> str:
    """``url`` with user-info passwords, secret-looking query values and known secrets masked."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact_text(url, secrets)
    netloc = _masked_netloc(parts.netloc)
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(_SECRET_PARAM.search(name) for name, _ in pairs):
            query = urlencode(
                [(n, MASK if _SECRET_PARAM.search(n) else v) for n, v in pairs], safe="*/:"
            )
    rebuilt = urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    return _mask_known(rebuilt, secrets)


def _mask_known(text: str, secrets: Iterable[str]) -> str:
    for secret in sorted((s for s in secrets if len(s) >= 3), key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Free text (a command line, an error message) with every URL in it redacted."""
    secrets = tuple(secrets)
    return _mask_known(_URL.sub(lambda m: redact_url(m.group(0), secrets), text), secrets)


def redact_value(value: Any, secrets: Iterable[str] = ()) -> Any:
    """A JSON value with every string in it redacted (URLs, known secrets)."""
    secrets = tuple(secrets)
    if isinstance(value, str):
        return redact_text(value, secrets)
    if isinstance(value, dict):
        return {k: redact_value(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_value(v, secrets) for v in value]
    return value


def redact_env(env: dict[str, str], secrets: Iterable[str] = ()) -> dict[str, str]:
    """Environment variables with the values of secret-looking names masked."""
    return {
        name: MASK if value and _SECRET_PARAM.search(name) else redact_text(value, secrets)
        for name, value in env.items()
    }


def redact_definition(kind: str, definition: dict[str, Any], secrets: Iterable[str] = ()) -> Any:
    """A normalized config object with its secrets masked (for plans, snapshots and status)."""
    secrets = tuple(secrets)
    result = redact_value(definition, secrets)
    if kind == "task" and isinstance(definition.get("env"), dict):
        result["env"] = redact_env(definition["env"], secrets)
    return result
