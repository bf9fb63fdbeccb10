"""Serving the API with uvicorn inside the daemon's event loop; the only module that knows uvicorn.

``daemon.serving`` starts one :class:`ApiServer` for the control socket and one for TCP when asked.
uvicorn normally takes over SIGINT/SIGTERM while it serves; the daemon owns those signals (it must
stop recorders before exiting), so :class:`_Server` leaves them alone.

The control socket is who may control the daemon, so it is bound here, not by uvicorn (which chmods
a socket it binds to 0666): its directory is made 0700, it is bound under umask 0177 and handed to
uvicorn as a socket object, and after uvicorn serves it its owner and mode (0600) are checked; a
socket that cannot be made 0600 is not served (:class:`SocketError`). Each connection's peer
credentials (``SO_PEERCRED``: pid, uid, gid) are read when it is accepted, and the uid is put in every
request's scope under ``web.routes.PEER_UID``, where ``web.access`` decides who may act.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import stat
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from streamrec.errors import StreamrecError
from streamrec.log import logger
from streamrec.web.routes import PEER_UID

SOCKET_MODE = 0o600
DIR_MODE = 0o700
_UCRED = struct.Struct("3i")
"""``struct ucred`` on Linux: pid, uid, gid."""


class SocketError(StreamrecError):
    """The control socket could not be made private; it is not served."""


def peer_uid(sock: socket.socket | None) -> int | None:
    """The uid of the process at the other end of a Unix socket; None when it cannot be told."""
    option = getattr(socket, "SO_PEERCRED", None)
    if sock is None or option is None or sock.family != socket.AF_UNIX:
        return None
    try:
        _pid, uid, _gid = _UCRED.unpack(sock.getsockopt(socket.SOL_SOCKET, option, _UCRED.size))
    except OSError:
        return None
    return int(uid)


class _WithPeer:
    """The app for one connection: every request's scope carries the peer's uid."""

    def __init__(self, app: ASGIApp, uid: int | None) -> None:
        self.app = app
        self.uid = uid

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope[PEER_UID] = self.uid
        await self.app(scope, receive, send)


class _PeerProtocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol, reading the peer's credentials when a connection is made."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]  # uvicorn narrows BaseTransport the same way
        super().connection_made(transport)
        self.app = _WithPeer(self.app, peer_uid(transport.get_extra_info("socket")))


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # the daemon handles signals itself


def bind_private(path: Path) -> socket.socket:
    """A listening Unix socket at ``path``, mode 0600, in a directory made 0700."""
    directory = path.parent
    directory.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    if stat.S_IMODE(directory.stat().st_mode) != DIR_MODE:
        directory.chmod(DIR_MODE)
    path.unlink(missing_ok=True)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_umask = os.umask(0o177)
    try:
        sock.bind(str(path))
    except OSError:
        sock.close()
        raise
    finally:
        os.umask(old_umask)
    sock.listen(128)
    sock.setblocking(False)
    return sock


def check_private(path: Path) -> None:
    """Make the bound socket 0600 if it is not; :class:`SocketError` when it is not ours or stays open."""
    found = path.lstat()
    if not stat.S_ISSOCK(found.st_mode) or found.st_uid != os.geteuid():
        raise SocketError(f"{path} is not a socket of uid {os.geteuid()}")
    if stat.S_IMODE(found.st_mode) != SOCKET_MODE:
        logger.warning(
            "control socket {} was mode {:o}; setting 0600", path, stat.S_IMODE(found.st_mode)
        )
        path.chmod(SOCKET_MODE)
        mode = stat.S_IMODE(path.lstat().st_mode)
        if mode != SOCKET_MODE:
            raise SocketError(f"{path} stays mode {mode:o}, not 0600")
    if stat.S_IMODE(path.parent.stat().st_mode) & 0o077:
        raise SocketError(f"{path.parent} is open to other users (it must be 0700)")


class ApiServer:
    """One uvicorn server on a Unix socket or a TCP address, started and stopped by the daemon."""

    def __init__(self, app: Starlette, *, uds: Path | None = None, listen: str | None = None):
        host, port = listen.rsplit(":", 1) if listen else ("127.0.0.1", "0")
        options: dict[str, Any] = (
            {"http": _PeerProtocol} if uds else {"host": host, "port": int(port)}
        )
        config = uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
            **options,
        )
        self.uds = uds
        self.where = str(uds) if uds else listen or ""
        self._server = _Server(config)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Serve; raises the bind error, or :class:`SocketError` (nothing served) for a socket
        that cannot be made private."""
        sockets = [bind_private(self.uds)] if self.uds is not None else None
        self._task = asyncio.create_task(self._server.serve(sockets), name=f"http {self.where}")
        while not self._server.started:
            if self._task.done():
                self._task.result()  # raises the bind error
            await asyncio.sleep(0.01)
        if self.uds is not None:
            try:
                check_private(self.uds)
            except (OSError, SocketError) as exc:
                await self.stop()
                raise SocketError(f"control socket not served: {exc}") from exc
        logger.info("API listening on {}", self.where)

    async def stop(self) -> None:
        self._server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._task, timeout=3)
        if self.uds is not None:
            self.uds.unlink(missing_ok=True)
