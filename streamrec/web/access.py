"""Who may act on the HTTP API, and which ``Host`` the TCP API answers: pure decisions.

``web.routes`` asks these functions about every request; nothing here reads a clock, a socket or
the environment (the peer's uid and the daemon's uid are arguments).

- **Acting** (the ``POST`` routes): on the control socket, the daemon's own user and root act
  without a token (the peer's uid comes from ``SO_PEERCRED``, read by ``web.server``). Anyone else,
  and every TCP client, needs ``Authorization: Bearer <token>`` when a token is configured, and may
  only read when none is. Only the ``Bearer`` scheme is accepted; the token is compared in constant
  time.
- **Host**: a TCP listener answers only a ``Host`` naming it (its listen address; ``localhost`` and
  ``127.0.0.1`` with its port when it listens on loopback or every address) or one of
  ``settings.http.allowed_hosts``. A page that rebinds its own DNS name to 127.0.0.1 sends its own
  name, and is refused (421).
"""

from __future__ import annotations

import enum
import hmac
from dataclasses import dataclass

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", "0.0.0.0", "::"})  # noqa: S104 (compared, not bound)
"""Listen hosts for which ``localhost`` and ``127.0.0.1`` (with the port) name the listener."""
ROOT_UID = 0
ACTOR = "streamrec.actor"
"""The scope key under which a guarded route finds the :class:`Actor` it was let in as."""


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


@dataclass(frozen=True)
class Actor:
    """Who a request acts as: a role, and the token's label when it has one."""

    role: str
    """``viewer``, ``operator``, ``admin``, or ``local`` (the daemon's own user on the socket)."""
    who: str | None = None


@dataclass(frozen=True)
class Refusal:
    """Why a request is not carried out: the HTTP status and a message for the client."""

    status: int
    message: str


def bearer_matches(authorization: str | None, token: str) -> bool:
    """True when the header is ``Bearer <token>`` (scheme in any case) with exactly ``token``."""
    scheme, _, given = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())


def trusted_peer(peer_uid: int | None, daemon_uid: int) -> bool:
    """The socket peer is the daemon's own user or root (``None``: the uid is not known)."""
    return peer_uid is not None and peer_uid in {daemon_uid, ROOT_UID}


def may_act(
    *,
    local: bool,
    peer_uid: int | None,
    daemon_uid: int,
    token: str | None,
    authorization: str | None,
) -> Refusal | None:
    """``None`` when the request may change state; else why not (403 read-only, 401 bad token)."""
    if local and trusted_peer(peer_uid, daemon_uid):
        return None
    if not token:
        if local:
            who = "an unknown user" if peer_uid is None else f"uid {peer_uid}"
            message = f"read-only for {who}: only the daemon's user or root may act on the socket"
        else:
            message = "read-only: set STREAMREC_API_TOKEN to allow actions over TCP"
        return Refusal(403, message)
    if not bearer_matches(authorization, token):
        return Refusal(401, "a valid token is needed: send 'Authorization: Bearer <token>'")
    return None


def actions_label(*, local: bool, peer_uid: int | None, daemon_uid: int, token: str | None) -> str:
    """What ``/api/status`` reports under ``api.actions``: ``open``, ``token`` or ``read-only``."""
    if local and trusted_peer(peer_uid, daemon_uid):
        return "open"
    return "token" if token else "read-only"


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
