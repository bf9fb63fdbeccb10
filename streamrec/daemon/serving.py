"""The daemon's API listeners: the control socket, TCP when configured, and ``daemon.json``.

``daemon.service`` makes one :class:`Listeners` after start-up recovery and calls
:meth:`Listeners.start` (serve, then write ``daemon.json``, how ``streamrec`` commands find the
daemon: ``app.statedir``), :meth:`Listeners.write_info` and :meth:`Listeners.rebind_socket` from the
state keeper when the state directory was recreated, and :meth:`Listeners.stop` at shutdown (which
removes ``daemon.json``). Both listeners serve ``web.routes.create_app`` over the same two
collaborators: the control side (``daemon.actions``) and the read model (``daemon.webapi``), with
the same role tokens (``web.access.Tokens``; by default only ``STREAMREC_API_TOKEN``, as an admin
token) and the same extra routes (``config_routes``: the config API).

A socket that cannot be made private is not served (the daemon runs on without it and says how to
stop it); a TCP address that cannot be bound is logged and the socket API still runs.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from starlette.applications import Starlette

from streamrec.app.statedir import info_path, socket_path
from streamrec.core.timestamps import format_epoch
from streamrec.log import logger
from streamrec.spec.model import Http, Settings
from streamrec.state.private import write_private
from streamrec.version import __version__
from streamrec.web.access import Tokens
from streamrec.web.routes import Actions, ConfigRoutes, Reads, create_app
from streamrec.web.server import ApiServer, SocketError

MAX_SOCKET_PATH = 100
"""Bytes a Unix socket path may have (108 on Linux, with room to spare)."""


class Listeners:
    """The API servers of one daemon (module docstring)."""

    def __init__(
        self,
        root: Path,
        *,
        actions: Actions,
        reads: Reads,
        environ: Mapping[str, str],
        config_dir: Path,
        started_at: float,
        tokens: Tokens | None = None,
        config_routes: ConfigRoutes | None = None,
    ) -> None:
        self._root = root
        self._actions = actions
        self._reads = reads
        self._tokens = tokens or Tokens.of_api_token(environ.get("STREAMREC_API_TOKEN"))
        self._config_routes = config_routes
        self._listen_env = environ.get("STREAMREC_HTTP_LISTEN")
        self._config_dir = config_dir
        self._started_at = started_at
        self._servers: list[ApiServer] = []
        self._socket_app: Starlette | None = None
        self._info: dict[str, Any] = {}

    async def start(self, settings: Settings | None) -> None:
        """Serve the socket, and TCP when ``STREAMREC_HTTP_LISTEN`` or ``settings.http`` say so."""
        sock = socket_path(self._root)
        if len(str(sock).encode()) > MAX_SOCKET_PATH:
            logger.warning("state dir path too long for a Unix socket; control API disabled")
            return
        app = self._socket_app = create_app(
            self._actions,
            self._reads,
            tokens=self._tokens,
            local=True,
            config_routes=self._config_routes,
        )
        server = ApiServer(app, uds=sock)
        try:
            await server.start()
        except SocketError as exc:  # fail closed: no socket is better than one others can use
            logger.error("{}; the daemon runs without it (stop it with SIGTERM)", exc)
        else:
            self._servers.append(server)
        info = {
            "pid": os.getpid(),
            "version": __version__,
            "socket": str(sock),
            "config": str(self._config_dir.resolve()),
            "started_at": format_epoch(self._started_at),
        }
        listen = self._listen_env or (settings.http.listen if settings else None)
        wanted = listen and listen.lower() not in {"off", "none", "no"}
        allowed = settings.http.allowed_hosts if settings else ()
        if listen and wanted and await self._start_tcp(listen, allowed):
            info["listen"] = listen
        self._info = info
        self.write_info()

    async def _start_tcp(self, listen: str, allowed: tuple[str, ...]) -> bool:
        where = Http(listen=listen).listen or listen
        tcp_app = create_app(
            self._actions,
            self._reads,
            tokens=self._tokens,
            local=False,
            listen=where,
            allowed_hosts=allowed,
            config_routes=self._config_routes,
        )
        tcp = ApiServer(tcp_app, listen=where)
        try:
            await tcp.start()
        except (OSError, SystemExit) as exc:  # uvicorn exits on a bind error
            logger.error("HTTP on {} not available ({}); the socket API still runs", listen, exc)
            return False
        self._servers.append(tcp)
        return True

    def write_info(self) -> None:
        """``daemon.json``: how ``streamrec`` commands find this daemon (written again if lost)."""
        if self._info:
            write_private(info_path(self._root), json.dumps(self._info).encode())

    async def rebind_socket(self) -> None:
        """Serve the control socket again: the state dir was recreated and the old one is gone."""
        for index, server in enumerate(self._servers):
            if server.uds is not None and self._socket_app is not None:
                await server.stop()
                del self._servers[index]
                fresh = ApiServer(self._socket_app, uds=server.uds)
                try:
                    await fresh.start()
                except SocketError as exc:  # fail closed, as at start
                    logger.error("{}; the daemon runs without its socket (SIGTERM stops it)", exc)
                else:
                    self._servers.insert(index, fresh)
                return

    async def stop(self) -> None:
        """Stop serving (every listener at once) and remove ``daemon.json``."""
        await asyncio.gather(*(server.stop() for server in self._servers))
        info_path(self._root).unlink(missing_ok=True)
