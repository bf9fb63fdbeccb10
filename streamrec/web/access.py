"""Who may read and act on the HTTP API, and which ``Host`` the TCP API answers: pure decisions.

``web.routes`` asks these functions about every request; nothing here reads a clock, a socket, a
file or the environment (the peer's uid, the daemon's uid and the configured :class:`Tokens` are
arguments; ``daemon.tokens`` reads the tokens from the environment and ``STREAMREC_TOKENS_FILE``).

- **Roles**: a token has one :class:`Role`: ``viewer`` (read), ``operator`` (also run and stop
  tasks and queues, reconcile, record a channel now) or ``admin`` (also change the config and stop
  the daemon). ``STREAMREC_API_TOKEN`` is an admin token. A token is presented as
  ``Authorization: Bearer <token>`` (only that scheme) and compared in constant time with every
  configured token (:meth:`Tokens.find`).
- **The socket**: the daemon's own user and root (the peer's uid comes from ``SO_PEERCRED``, read
  by ``web.server``) act as ``Actor("local")`` with every right and no token. Any other peer is
  treated like a TCP client.
- **Open routes**: ``/``, ``/static/*``, ``/healthz``, ``/readyz`` and ``/api/whoami``
  (:func:`whoami`: what the presented token may do) are always answered.
- **Reads** (``GET /api/*``, ``/metrics``): open, as ``Actor("viewer")`` unless a valid token says
  more, while no viewer token is configured; once one is, a token of at least the viewer role is
  needed (401 without one).
- **Actions** (the ``POST`` routes): each needs a minimum role (:func:`admit`). With no operator
  or admin token configured, the API is read-only (403). A missing or unknown token is 401; a valid token
  of a lower role is 403 naming both roles.
- **Host**: a TCP listener answers only a ``Host`` naming it (its listen address; ``localhost`` and
  ``127.0.0.1`` with its port when it listens on loopback or every address) or one of
  ``settings.http.allowed_hosts``. A page that rebinds its own DNS name to 127.0.0.1 sends its own
  name, and is refused (421).
"""

from __future__ import annotations

import enum
import hmac
from dataclasses import dataclass, field

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", "0.0.0.0", "::"})  # noqa: S104 (compared, not bound)
"""Listen hosts for which ``localhost`` and ``127.0.0.1`` (with the port) name the listener."""
ROOT_UID = 0
ACTOR = "streamrec.actor"
"""The scope key under which a guarded route finds the :class:`Actor` it was let in as."""
LOCAL = "local"
"""The role name of the daemon's own user (and root) on the control socket."""


class Role(enum.IntEnum):
    """What a token may do; each role may do what the ones below it may."""

    VIEWER = 1
    """Read status, events, recordings and the config."""
    OPERATOR = 2
    """Also run and stop tasks and queues, and record a channel now."""
    ADMIN = 3
    """Also change the config."""

    @property
    def label(self) -> str:
        """The role's name as events and answers show it (``viewer``, ``operator``, ``admin``)."""
        return self.name.lower()

    @classmethod
    def named(cls, name: str) -> Role | None:
        """The role called ``name`` (any case), or None."""
        return next((role for role in cls if role.label == name.strip().lower()), None)


@dataclass(frozen=True)
class Actor:
    """Who a request acts as: a role, and the token's label when it has one."""

    role: str
    """``viewer``, ``operator``, ``admin``, or ``local`` (the daemon's own user on the socket)."""
    who: str | None = None

    def may(self, needed: Role) -> bool:
        """Whether this actor has at least the ``needed`` role (``local`` has every role)."""
        if self.role == LOCAL:
            return True
        role = Role.named(self.role)
        return role is not None and role >= needed


LOCAL_ACTOR = Actor(LOCAL)


@dataclass(frozen=True)
class Token:
    """One configured token: its role, the secret itself and an optional label (who holds it)."""

    role: Role
    secret: str = field(repr=False)
    label: str | None = None

    @property
    def actor(self) -> Actor:
        return Actor(self.role.label, self.label)


@dataclass(frozen=True)
class Tokens:
    """Every configured token (``daemon.tokens`` builds it from the environment and a file)."""

    entries: tuple[Token, ...] = ()

    @classmethod
    def of_api_token(cls, token: str | None) -> Tokens:
        """Only ``STREAMREC_API_TOKEN`` (an admin token), as before roles existed."""
        return cls((Token(Role.ADMIN, token),) if token else ())

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every token's value, for the redactor (never shown)."""
        return tuple(entry.secret for entry in self.entries)

    @property
    def reads_need_token(self) -> bool:
        """A viewer token is configured, so reading needs a token too."""
        return any(entry.role is Role.VIEWER for entry in self.entries)

    @property
    def may_act(self) -> bool:
        """Some token may act (operator or admin): else the API is read-only off the socket."""
        return any(entry.role >= Role.OPERATOR for entry in self.entries)

    def find(self, authorization: str | None) -> Token | None:
        """The token a ``Bearer`` header presents, compared in constant time with every one."""
        given = bearer(authorization)
        if given is None:
            return None
        found = None
        for entry in self.entries:  # no early exit: the time does not tell which one matched
            if hmac.compare_digest(given.encode(), entry.secret.encode()):
                found = entry
        return found


@dataclass(frozen=True)
class Refusal:
    """Why a request is not carried out: the HTTP status and a message for the client."""

    status: int
    message: str


@dataclass(frozen=True)
class Presented:
    """What one request brings: where it comes from and its ``Authorization`` header."""

    local: bool
    peer_uid: int | None
    daemon_uid: int
    authorization: str | None

    @property
    def trusted(self) -> bool:
        """The daemon's own user or root on the socket."""
        return self.local and trusted_peer(self.peer_uid, self.daemon_uid)


def bearer(authorization: str | None) -> str | None:
    """The token of a ``Bearer <token>`` header (scheme in any case), or None."""
    scheme, _, given = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return None
    return given.strip()


def bearer_matches(authorization: str | None, token: str) -> bool:
    """True when the header is ``Bearer <token>`` (scheme in any case) with exactly ``token``."""
    given = bearer(authorization)
    return given is not None and hmac.compare_digest(given.encode(), token.encode())


def trusted_peer(peer_uid: int | None, daemon_uid: int) -> bool:
    """The socket peer is the daemon's own user or root (``None``: the uid is not known)."""
    return peer_uid is not None and peer_uid in {daemon_uid, ROOT_UID}


def _read_only(request: Presented) -> Refusal:
    if request.local:
        who = "an unknown user" if request.peer_uid is None else f"uid {request.peer_uid}"
        message = f"read-only for {who}: only the daemon's user or root may act on the socket"
    else:
        message = (
            "read-only: set STREAMREC_OPERATOR_TOKEN, STREAMREC_ADMIN_TOKEN (or "
            "STREAMREC_API_TOKEN) or STREAMREC_TOKENS_FILE to allow actions over TCP"
        )
    return Refusal(403, message)


UNAUTHORIZED = Refusal(401, "a valid token is needed: send 'Authorization: Bearer <token>'")


def admit(needed: Role, request: Presented, tokens: Tokens) -> Actor | Refusal:
    """Whom a request acts as on a route that needs ``needed``, or why it is refused.

    ``Role.VIEWER`` is the rule of reads: open (as a viewer, or as the valid token presented) while
    no viewer token is configured. A higher role is the rule of actions (module docstring).
    """
    if request.trusted:
        return LOCAL_ACTOR
    found = tokens.find(request.authorization)
    if needed is Role.VIEWER:
        if found is not None:
            return found.actor
        return UNAUTHORIZED if tokens.reads_need_token else Actor(Role.VIEWER.label)
    if not tokens.may_act:
        return _read_only(request)
    if found is None:
        return UNAUTHORIZED
    if found.role < needed:
        return Refusal(
            403, f"needs the {needed.label} role; this token has the {found.role.label} role"
        )
    return found.actor


def whoami(request: Presented, tokens: Tokens) -> dict[str, object]:
    """``/api/whoami``: the presented token's role and label, and what it may do (never refused)."""
    if request.trusted:
        actor: Actor | None = LOCAL_ACTOR
    else:
        found = tokens.find(request.authorization)
        actor = found.actor if found is not None else None
    may_read = actor is not None or not tokens.reads_need_token
    return {
        "role": actor.role if actor else None,
        "who": actor.who if actor else None,
        "may": {
            "read": may_read,
            "operate": actor is not None and actor.may(Role.OPERATOR),
            "edit": actor is not None and actor.may(Role.ADMIN),
        },
    }


def actions_label(request: Presented, tokens: Tokens) -> str:
    """What ``/api/status`` reports under ``api.actions``: ``open``, ``token`` or ``read-only``."""
    if request.trusted:
        return "open"
    return "token" if tokens.may_act else "read-only"


def split_host(value: str) -> tuple[str, int | None]:
    """``host[:port]`` (``[v6]:port`` too) as a lower-case host and a port (None when absent)."""
    value = value.strip().lower()
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        port = rest.removeprefix(":")
    elif value.count(":") == 1:
        host, _, port = value.partition(":")
    else:
        host, port = value, ""
    host = host.rstrip(".")
    return host, int(port) if port.isdigit() else None


def allowed_hosts(listen: str, extra: tuple[str, ...] = ()) -> frozenset[tuple[str, int | None]]:
    """The ``(host, port)`` pairs a listener on ``listen`` answers; a port of None: any port."""
    raw_host, _, raw_port = listen.rpartition(":")  # the listen form is HOST:PORT, HOST may be v6
    host = raw_host.strip("[]").lower()
    port = int(raw_port) if raw_port.isdigit() else None
    names = {host} | ({"localhost", "127.0.0.1"} if host in LOOPBACK else set())
    pairs: set[tuple[str, int | None]] = {(name, port) for name in names}
    pairs.update(split_host(value) for value in extra)
    return frozenset(pairs)


def host_allowed(header: str | None, allowed: frozenset[tuple[str, int | None]]) -> bool:
    """Whether a request's ``Host`` header names the listener (no port in it means port 80)."""
    if not header:
        return False
    host, port = split_host(header)
    return (host, port or 80) in allowed or (host, None) in allowed
