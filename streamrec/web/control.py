"""The daemon's HTTP API (Starlette): health, status, and the actions the CLI asks for.

``daemon.service`` serves :func:`create_app` on the control socket (``state/daemon.sock``, whose file
permissions are the access control) and, when configured, on TCP. The app knows nothing of the daemon's
insides: it talks to a :class:`Controller`. On TCP, anything that changes state needs the token in
``STREAMREC_API_TOKEN`` (``Authorization: Bearer …``); without a token configured, TCP is read-only.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from streamrec.errors import StreamrecError, TaskError


class Controller(Protocol):
    """What the HTTP API asks of the daemon."""

    async def reconcile(self, reason: str, allow_empty: bool = False) -> dict[str, Any]: ...
    async def task_run(self, name: str, with_deps: bool) -> dict[str, Any]: ...
    async def task_stop(self, name: str) -> dict[str, Any]: ...
    async def queue_start(self, name: str) -> dict[str, Any]: ...
    async def queue_stop(self, name: str) -> dict[str, Any]: ...
    def status(self) -> dict[str, Any]: ...
    def ready(self) -> bool: ...
    def request_shutdown(self, reason: str) -> None: ...


Handler = Callable[[Request], Awaitable[Response]]


def create_app(controller: Controller, *, token: str | None, local: bool) -> Starlette:
    """The API for one listener; ``local`` (the Unix socket) may change state without a token."""

    def guarded(handler: Handler) -> Handler:
        async def check(request: Request) -> Response:
            if not local:
                if not token:
                    return JSONResponse(
                        {"error": "read-only: set STREAMREC_API_TOKEN to allow actions over TCP"},
                        status_code=403,
                    )
                given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
                if not hmac.compare_digest(given.encode(), token.encode()):
                    return JSONResponse(
                        {"error": "a valid bearer token is needed"}, status_code=401
                    )
            try:
                return await handler(request)
            except TaskError as exc:
                return JSONResponse({"error": str(exc)}, status_code=409)
            except StreamrecError as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)

        return check

    async def healthz(_: Request) -> Response:
        return JSONResponse({"ok": True})

    async def readyz(_: Request) -> Response:
        ok = controller.ready()
        return JSONResponse({"ready": ok}, status_code=200 if ok else 503)

    async def status(_: Request) -> Response:
        return JSONResponse(controller.status())

    async def reconcile(request: Request) -> Response:
        allow = request.query_params.get("allow_empty") in {"1", "true"}
        return JSONResponse(
            await controller.reconcile("asked by streamrec apply", allow_empty=allow)
        )

    async def task_run(request: Request) -> Response:
        deps = request.query_params.get("with_deps") in {"1", "true"}
        return JSONResponse(await controller.task_run(request.path_params["name"], deps))

    async def task_stop(request: Request) -> Response:
        return JSONResponse(await controller.task_stop(request.path_params["name"]))

    async def queue_start(request: Request) -> Response:
        return JSONResponse(await controller.queue_start(request.path_params["name"]))

    async def queue_stop(request: Request) -> Response:
        return JSONResponse(await controller.queue_stop(request.path_params["name"]))

    async def shutdown(_: Request) -> Response:
        controller.request_shutdown("asked over the API (streamrec stop)")
        return JSONResponse({"stopping": True})

    routes = [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/api/status", status),
        Route("/api/reconcile", guarded(reconcile), methods=["POST"]),
        Route("/api/tasks/{name:path}/run", guarded(task_run), methods=["POST"]),
        Route("/api/tasks/{name:path}/stop", guarded(task_stop), methods=["POST"]),
        Route("/api/queues/{name:path}/start", guarded(queue_start), methods=["POST"]),
        Route("/api/queues/{name:path}/stop", guarded(queue_stop), methods=["POST"]),
        Route("/api/shutdown", guarded(shutdown), methods=["POST"]),
    ]
    return Starlette(routes=routes)
