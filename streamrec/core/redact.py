"""Hiding secrets in URLs, argument lists and text before anything is printed or logged.

Called wherever a channel URL or an ffmpeg command line leaves the process: ``recording.started``
events, ``streamrec channel command``, log lines and ffmpeg's own stderr. Pure.

What is hidden (replaced by ``***``):

- the password of a URL's user-info (``rtmp://user:pw@host`` -> ``rtmp://user:***@host``), or the
  whole user-info when it has no password (``rtmp://KEY@host``: often a stream key);
- query values whose key looks secret: it contains token, key, sig, auth, pass, secret, session,
  credential, jwt or hmac (``?token=abc`` -> ``?token=***``);
- any known secret string (values interpolated from secret-looking variables, see
  ``LoadedConfig.secrets``), wherever it appears, e.g. an RTMP stream key in a path.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

MASK = "***"
SECRET_KEY_PARTS = (
    "token",
    "key",
    "sig",
    "auth",
    "pass",
    "secret",
    "session",
    "credential",
    "jwt",
    "hmac",
)
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"<>]+")
_MIN_SECRET = 3  # shorter "secrets" would mask ordinary text everywhere


def is_secret_name(key: str) -> bool:
    """Whether a query key or variable name looks like it holds a secret."""
    lowered = key.lower()
    return any(part in lowered for part in SECRET_KEY_PARTS)


def _mask_known(text: str, secrets: Iterable[str]) -> str:
    for secret in sorted(set(secrets), key=len, reverse=True):
        if len(secret) >= _MIN_SECRET:
            text = text.replace(secret, MASK)
    return text


def redact_url(url: str, secrets: Iterable[str] = ()) -> str:
    """``url`` with its password, secret-looking query values and known secrets hidden."""
    secrets = tuple(secrets)
    try:
        parts = urlsplit(url)
    except ValueError:
        return _mask_known(url, secrets)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        user, sep, _password = userinfo.partition(":")
        netloc = f"{user}:{MASK}@{host}" if sep else f"{MASK}@{host}"
    query = parts.query
    if query:
        pieces = []
        for piece in query.split("&"):
            key, sep, value = piece.partition("=")
            pieces.append(f"{key}={MASK}" if sep and value and is_secret_name(key) else piece)
        query = "&".join(pieces)
    rebuilt = urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    return _mask_known(rebuilt, secrets)


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every URL in it redacted and every known secret hidden."""
    secrets = tuple(secrets)
    return _mask_known(_URL.sub(lambda m: redact_url(m.group(0), secrets), text), secrets)


def redact_argv(argv: Iterable[str], secrets: Iterable[str] = ()) -> list[str]:
    """Each argument of a command line redacted (URLs, ``-headers`` values with tokens, secrets)."""
    secrets = tuple(secrets)
    return [redact_text(arg, secrets) for arg in argv]


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
        name: MASK if value and is_secret_name(name) else redact_text(value, secrets)
        for name, value in env.items()
    }
