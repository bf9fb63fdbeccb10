"""Hiding secrets in URLs, argument lists and text before anything is printed or logged.

Called wherever a channel URL or an ffmpeg command line leaves the process: ``recording.started``
events, ``streamrec channel command``, log lines and ffmpeg's own stderr. Pure.

:class:`Redactor` is the one redactor of every output: it holds the known secrets of a config and
its environment (:meth:`Redactor.of`) and has one method for text and one for any JSON-like value.
The CLI (``status``/``history`` in JSON and text, ``logs``, every log line), the HTTP API
(``Controller.redact``) and the task runner (output tails and reasons before they reach the state
log) all use it.

What is hidden (replaced by ``***``):

- the password of a URL's user-info (``rtmp://user:pw@host`` -> ``rtmp://user:***@host``), or the
  whole user-info when it has no password (``rtmp://KEY@host``: often a stream key);
- query values whose key looks secret: it contains token, key, sig, auth, pass, secret, session,
  credential, jwt or hmac (``?token=abc`` -> ``?token=***``);
- credentials in a channel's ffmpeg options: the values of ``Cookie``, ``Authorization``,
  ``Proxy-Authorization`` and secret-named headers in ``-headers``, and ``-cookies``
  (:func:`args_secrets`, part of :func:`config_secrets`);
- any known secret string (values interpolated from secret-looking variables, see
  ``LoadedConfig.secrets``): one of at least :data:`MIN_SUBSTRING_SECRET` (8) characters wherever
  it appears, e.g. an RTMP stream key inside a path; a shorter one only where it stands as a whole
  token, i.e. not next to a letter, digit, ``_``, ``-`` or ``.`` (the secret ``show`` is hidden in
  ``key=show`` and ``/live/show/``, not in ``evening-show`` or ``show.ts``), so that a short value
  cannot mask parts of names and paths. ``streamrec validate`` warns about such short secrets
  (:meth:`Redactor.short_secrets_warning`). Known values shorter than 3 characters are not
  masked (a URL password is still hidden by where it stands).

A :class:`Redactor` prepares its secrets once (the whole-token pattern of each short secret is
compiled when it is made) and passes over text that holds neither ``://`` nor a known secret
without copying it; :meth:`Redactor.definition` hides the secrets of one whole config object in
one walk, sharing every part that holds nothing to hide.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from streamrec.spec.secretnames import is_secret_variable

if TYPE_CHECKING:
    from streamrec.spec.model import Config

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
MIN_SUBSTRING_SECRET = 8
"""Secrets at least this long are masked wherever they appear, shorter ones only as whole tokens."""
_WORD = "A-Za-z0-9_.\\-"
"""The characters that make a short secret part of a longer name (letters, digits, ``_-.``)."""


def is_secret_name(key: str) -> bool:
    """Whether a query key or variable name looks like it holds a secret."""
    lowered = key.lower()
    return any(part in lowered for part in SECRET_KEY_PARTS)


def _whole_token(secret: str) -> re.Pattern[str]:
    """``secret`` where no letter, digit, ``_``, ``-`` or ``.`` touches it on either side."""
    return re.compile(f"(?<![{_WORD}]){re.escape(secret)}(?![{_WORD}])")


def _mask_known(text: str, secrets: Iterable[str]) -> str:
    for secret in sorted(set(secrets), key=len, reverse=True):
        if len(secret) >= MIN_SUBSTRING_SECRET:
            text = text.replace(secret, MASK)
        elif len(secret) >= _MIN_SECRET and secret in text:
            text = _whole_token(secret).sub(MASK, text)
    return text


def redact_url(url: str, secrets: Iterable[str] = ()) -> str:
    """``url`` with its password, secret-looking query values and known secrets hidden."""
    return _mask_known(_hide_url_parts(url), tuple(secrets))


def _hide_url_parts(url: str) -> str:
    """``url`` with its password (or lone user-info) and secret-looking query values hidden."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
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
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


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


TOKEN_VARIABLE = "STREAMREC_API_TOKEN"  # noqa: S105  # the variable's name, not a token


def url_secrets(url: str) -> set[str]:
    """The password (or lone user-info) and the secret-looking query values of ``url``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return set()
    found: set[str] = set()
    if "@" in parts.netloc:
        userinfo = parts.netloc.rpartition("@")[0]
        user, sep, password = userinfo.partition(":")
        found.add(password if sep else user)
    for piece in parts.query.split("&"):
        key, sep, value = piece.partition("=")
        if sep and value and is_secret_name(key):
            found.add(value)
    return found


CREDENTIAL_HEADERS = frozenset({"cookie", "authorization", "proxy-authorization"})
"""HTTP headers whose value is a credential (and any header with a secret-looking name)."""


def config_secrets(config: Config) -> set[str]:
    """Secrets written in a config itself: URL passwords and secret query values of channels,
    credential header values in the ffmpeg options of channels and ``settings.defaults``, and the
    values of secret-named variables in tasks' ``env``."""
    found: set[str] = args_secrets(config.settings.defaults.input_args)
    for channel in config.channels.values():
        found |= url_secrets(channel.url) | args_secrets(channel.input_args)
    for task in config.tasks.values():
        found |= env_secrets(task.env)
    return found


def args_secrets(args: Iterable[str]) -> set[str]:
    """The credentials in ffmpeg input options: the values of ``Cookie``, ``Authorization``,
    ``Proxy-Authorization`` and secret-named headers in a ``-headers`` value (lines ending in
    CRLF, as ``import m3u`` writes them), and a ``-cookies`` value."""
    found: set[str] = set()
    for flag, value in itertools.pairwise(args):
        if flag == "-cookies" and value.strip():
            found.add(value.strip())
        elif flag == "-headers":
            for line in value.splitlines():
                name, sep, given = line.partition(":")
                name = name.strip()
                if (
                    sep
                    and given.strip()
                    and (name.lower() in CREDENTIAL_HEADERS or is_secret_name(name))
                ):
                    found.add(given.strip())
    return found


def env_secrets(env: Mapping[str, str]) -> set[str]:
    """The values of the secret-looking names of an ``env:`` mapping."""
    return {value for name, value in env.items() if value and is_secret_name(name)}


def _plain(value: Any) -> Any:
    """A str, dict or list subclass (or a tuple) as the plain type, for :meth:`Redactor._strings`."""
    if isinstance(value, str):
        return str(value)
    if isinstance(value, dict):
        return dict(value)
    return list(value)


@dataclass(frozen=True)
class Redactor:
    """The known secrets of one config and environment, and how to hide them in any output."""

    secrets: tuple[str, ...] = ()
    """Longest first, each at least a few characters long."""
    _masks: tuple[tuple[str, re.Pattern[str] | None], ...] = field(
        init=False, repr=False, compare=False
    )
    """Each secret, longest first, with the whole-token pattern of a short one (None: long)."""

    def __post_init__(self) -> None:
        masks = tuple(
            (s, None if len(s) >= MIN_SUBSTRING_SECRET else _whole_token(s))
            for s in self.secrets
            if len(s) >= _MIN_SECRET
        )
        object.__setattr__(self, "_masks", masks)

    @classmethod
    def of(
        cls,
        secrets: Iterable[str] = (),
        environ: Mapping[str, str] | None = None,
        config: Config | None = None,
    ) -> Redactor:
        """A redactor for ``secrets`` (e.g. ``LoadedConfig.secrets``), the values of the
        secret-named variables of ``environ`` (the API token among them) and what ``config`` holds.
        """
        known = set(secrets)
        if environ is not None:
            known |= {v for k, v in environ.items() if is_secret_variable(k) or k == TOKEN_VARIABLE}
        if config is not None:
            known |= config_secrets(config)
        usable = {s for s in known if len(s) >= _MIN_SECRET}
        return cls(tuple(sorted(usable, key=lambda s: (-len(s), s))))

    @property
    def short_secrets(self) -> tuple[str, ...]:
        """The known secrets shorter than :data:`MIN_SUBSTRING_SECRET`: masked as whole tokens only."""
        return tuple(s for s in self.secrets if len(s) < MIN_SUBSTRING_SECRET)

    def short_secrets_warning(self) -> str | None:
        """One line saying that some secrets are redacted only as whole words (None when none is
        short); it names no secret and no length beyond the minimum."""
        count = len(self.short_secrets)
        if not count:
            return None
        which = "a secret is" if count == 1 else f"{count} secrets are"
        return (
            f"{which} shorter than {MIN_SUBSTRING_SECRET} characters: redacted only where it "
            "stands as a whole word, not inside names or paths; use a longer secret to have it "
            "hidden everywhere"
        )

    def with_secrets(self, secrets: Iterable[str]) -> Redactor:
        """This redactor knowing ``secrets`` too."""
        return Redactor.of((*self.secrets, *secrets))

    def text(self, text: str) -> str:
        """``text`` with every URL in it redacted and every known secret hidden."""
        if "://" not in text and not any(s in text for s in self.secrets):
            return text  # the common case: nothing to hide, nothing to copy
        return self._mask(_URL.sub(lambda m: self._mask(_hide_url_parts(m.group(0))), text))

    def _mask(self, text: str) -> str:
        """``text`` with every known secret hidden (see the module docstring for short ones)."""
        for secret, token in self._masks:
            if secret in text:
                text = text.replace(secret, MASK) if token is None else token.sub(MASK, text)
        return text

    def definition(self, kind: str, definition: dict[str, Any]) -> dict[str, Any]:
        """A normalized config object with its secrets hidden, in one walk: every string as by
        :meth:`text` (keys stay), a task's ``env`` value masked outright when its name looks
        secret. What holds nothing to hide is shared with ``definition``, not copied."""
        result = self._strings(definition)
        env = result.get("env") if kind == "task" else None
        if isinstance(env, dict) and env:
            masked = {k: MASK if v and is_secret_name(k) else v for k, v in env.items()}
            result = {**result, "env": masked}
        return result  # type: ignore[no-any-return]

    def _strings(self, value: Any) -> Any:
        """``value`` with every string in it (not the keys) redacted; unchanged parts shared.

        The common string (no ``://``, no known secret) is tested in place, without a call;
        values are told apart by exact type, as ``model_dump(mode="json")`` gives them."""
        kind = type(value)
        if kind is str:
            return self.text(value)
        secrets = self.secrets
        if kind is dict:
            out: dict[Any, Any] | None = None
            for key, item in value.items():
                kind = type(item)
                if kind is str:
                    if "://" not in item and not (secrets and any(s in item for s in secrets)):
                        continue
                    new = self.text(item)
                elif kind is dict or kind is list:
                    new = self._strings(item)
                else:
                    continue
                if new is not item:
                    out = dict(value) if out is None else out
                    out[key] = new
            return value if out is None else out
        if kind is list:
            items = [self._strings(v) for v in value]
            return value if all(a is b for a, b in zip(items, value, strict=True)) else items
        if isinstance(value, str | dict | list | tuple):  # a subclass, or a tuple: the slow way
            return self._strings(_plain(value))
        return value

    def value(self, value: Any) -> Any:
        """A JSON-like value (dicts, lists, tuples, strings, numbers) with every string redacted,
        keys included."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.value(k): self.value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(v) for v in value]
        return value
