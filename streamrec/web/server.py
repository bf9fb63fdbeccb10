"""Serving the API with uvicorn inside the daemon's event loop.

uvicorn normally takes over SIGINT/SIGTERM while it serves; the daemon owns those signals (it must
stop recorders before exiting), so :class:`_Server` leaves them alone. The Unix socket is created
with mode 0600: who may write to it may control the daemon.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import uvicorn
from loguru import logger
from starlette.applications import Starlette


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # the daemon handles signals itself


class ApiServer:
    """One uvicorn server on a Unix socket or a TCP address, started and stopped by the daemon."""

    def __init__(self, app: Starlette, *, uds: Path | None = None, listen: str | None = None):
        host, port = listen.rsplit(":", 1) if listen else ("127.0.0.1", "0")
        config = uvicorn.Config(
            app,
            uds=str(uds) if uds else None,
            host=host,
            port=int(port),
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        self.uds = uds
        self.where = str(uds) if uds else listen or ""
        self._server = _Server(config)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self.uds is not None:
            self.uds.unlink(missing_ok=True)
        old_umask = os.umask(0o177)
        try:
            self._task = asyncio.create_task(self._server.serve(), name=f"http {self.where}")
            while not self._server.started:
                if self._task.done():
                    self._task.result()  # raises the bind error
                await asyncio.sleep(0.01)
        finally:
            os.umask(old_umask)
        logger.info("API listening on {}", self.where)

    async def stop(self) -> None:
        self._server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._task, timeout=3)
        if self.uds is not None:
            self.uds.unlink(missing_ok=True)
