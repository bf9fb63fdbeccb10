"""The daemon's API tokens: read from the environment and ``STREAMREC_TOKENS_FILE`` at start.

``daemon.service`` calls :func:`read_tokens` once, before it takes the state directory, and hands
the :class:`~streamrec.web.access.Tokens` to the listeners (``daemon.serving``, who decide with
them in ``web.access``) and to the read model (whose redaction hides every token). The sources:

- ``STREAMREC_API_TOKEN``: an admin token, as before roles existed (any length, as before);
- ``STREAMREC_ADMIN_TOKEN``, ``STREAMREC_OPERATOR_TOKEN``, ``STREAMREC_VIEWER_TOKEN``: one token
  of that role each;
- ``STREAMREC_TOKENS_FILE``: a file of lines ``ROLE TOKEN [LABEL]`` (``#`` starts a comment line,
  blank lines are skipped; the label, the rest of the line, is who holds the token and shows in
  ``/api/whoami`` and in events). The file must be private (no read or write bits for group or
  others): a token file others can read is a leaked token.

A problem stops the daemon before it starts (:class:`~streamrec.errors.DaemonError`) with what to
fix: ``FILE:LINE: ...`` for a bad line, the ``chmod`` for a file others can read (naming the
variable, ``"$STREAMREC_TOKENS_FILE"``: its value, a path, is masked like that of any variable whose
name says ``TOKEN``). No message shows a token. A new token (any source but ``STREAMREC_API_TOKEN``) needs at least
:data:`MIN_TOKEN_LENGTH` characters, so that redaction hides it wherever it appears
(``core.redact``), and one token has one role. :func:`parse_tokens` is the pure part.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path

from streamrec.core.redact import MIN_SUBSTRING_SECRET
from streamrec.errors import DaemonError
from streamrec.web.access import Role, Token, Tokens

API_TOKEN_VARIABLE = "STREAMREC_API_TOKEN"  # noqa: S105 (a variable's name)
ROLE_VARIABLES = {
    "STREAMREC_ADMIN_TOKEN": Role.ADMIN,
    "STREAMREC_OPERATOR_TOKEN": Role.OPERATOR,
    "STREAMREC_VIEWER_TOKEN": Role.VIEWER,
}
"""Each variable that holds one token of a role."""
FILE_VARIABLE = "STREAMREC_TOKENS_FILE"
MIN_TOKEN_LENGTH = MIN_SUBSTRING_SECRET
"""Characters a new token needs at least: shorter ones would be masked only as whole words."""
MAX_FILE_BYTES = 1 << 20
"""A tokens file larger than this is refused (it is not one)."""


def parse_tokens(text: str, where: str) -> tuple[list[Token], list[str]]:
    """The tokens of a tokens file's ``text`` and its problems (``where:LINE: ...``). Pure."""
    tokens: list[Token] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        words = line.split(None, 2)
        role = Role.named(words[0])
        at = f"{where}:{number}"
        if role is None:
            problems.append(f"{at}: unknown role (viewer, operator or admin come first on a line)")
            continue
        if len(words) < 2:
            problems.append(f"{at}: no token after the role (a line is ROLE TOKEN [LABEL])")
            continue
        secret = words[1]
        if len(secret) < MIN_TOKEN_LENGTH:
            problems.append(
                f"{at}: the token is too short (at least {MIN_TOKEN_LENGTH} characters)"
            )
            continue
        if secret in seen:
            problems.append(f"{at}: the same token as line {seen[secret]} (one token, one role)")
            continue
        seen[secret] = number
        label = words[2].strip() if len(words) > 2 else None
        tokens.append(Token(role, secret, label or None))
    return tokens, problems


def read_tokens(environ: Mapping[str, str]) -> Tokens:
    """Every configured token (module docstring); :class:`DaemonError` saying what to fix."""
    entries: list[Token] = []
    problems: list[str] = []
    api = environ.get(API_TOKEN_VARIABLE)
    if api:
        entries.append(Token(Role.ADMIN, api, None))
    for variable, role in ROLE_VARIABLES.items():
        value = environ.get(variable)
        if not value:
            continue
        if len(value) < MIN_TOKEN_LENGTH:
            problems.append(
                f"{variable}: the token is too short (at least {MIN_TOKEN_LENGTH} characters)"
            )
        else:
            entries.append(Token(role, value, None))
    file = environ.get(FILE_VARIABLE)
    if file:
        found, bad = parse_tokens(_read_private(Path(file)), file)
        entries += found
        problems += bad
    roles: dict[str, Role] = {}
    for entry in entries:
        if roles.setdefault(entry.secret, entry.role) is not entry.role:
            problems.append(
                f"one token is given with two roles ({roles[entry.secret].label} and "
                f"{entry.role.label}) across {API_TOKEN_VARIABLE}, {', '.join(ROLE_VARIABLES)} "
                f"and {FILE_VARIABLE}: give each token one role"
            )
            break
    if problems:
        raise DaemonError(
            f"the API tokens ({', '.join([API_TOKEN_VARIABLE, *ROLE_VARIABLES, FILE_VARIABLE])}) "
            "cannot be used; the daemon does not start:\n" + "\n".join(problems)
        )
    unique = {(entry.secret, entry.role): entry for entry in entries}
    return Tokens(tuple(unique.values()))


def _read_private(path: Path) -> str:
    """The text of the tokens file, refused unless only its owner may read and write it."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOCTTY)
    except OSError as exc:
        raise DaemonError(
            f"{FILE_VARIABLE}={path} cannot be opened ({exc.strerror}); the daemon does not start"
        ) from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise DaemonError(f"{path}: the tokens file is not a regular file")
        mode = stat.S_IMODE(info.st_mode)
        if mode & 0o066:
            raise DaemonError(
                f"{path}: the tokens file ({FILE_VARIABLE}) may be read or written by group or "
                f"others (mode {mode:04o}); make it private with 'chmod 600 \"${FILE_VARIABLE}\"' "
                "and start again"
            )
        data = handle.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise DaemonError(f"{path}: the tokens file is larger than {MAX_FILE_BYTES} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise DaemonError(f"{path}: the tokens file is not UTF-8 text") from None
