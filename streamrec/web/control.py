"""The daemon's HTTP API (Starlette): health, metrics, status, events, recordings, actions, dashboard.

``daemon.service`` serves :func:`create_app` on the control socket (``state/daemon.sock``, whose file
permissions are the access control) and, when configured, on TCP. The app knows nothing of the daemon's
insides: it talks to a :class:`Controller` (``daemon.service.Daemon`` with its ``daemon.webapi``
mixin). On TCP, anything that changes state needs the token in ``STREAMREC_API_TOKEN``
(``Authorization: Bearer …``); without a token configured, TCP is read-only. Every JSON answer passes
through ``Controller.redact`` on its way out, so no secret (URL credentials, secret query values,
values of secret-looking variables, the API token) leaves in a response.

Routes: ``/`` and ``/static/*`` (the dashboard, ``web.dashboard``); ``/healthz``, ``/readyz``,
``/metrics`` (``web.metrics``); ``GET /api/status`` (every declared object with its state),
``/api/live`` (the daemon's own view: recorders, timers), ``/api/events?since=SEQ&limit=N``,
``/api/recordings[?channel=NAME]``, ``/api/recordings/download?file=PATH`` (only files the state
log lists), ``/api/channels/{name}/thumbnail``, ``/api/tasks/{name}/log?stream=stdout|stderr``;
``POST /api/reconcile``, ``/api/tasks/{name}/run[?with_deps=1]``, ``/api/tasks/{name}/stop``,
``/api/queues/{name}/start``, ``/api/queues/{name}/stop``, ``/api/shutdown``.
"""

from __future__ import annotations

import asyncio
import hmac
import mimetypes
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from streamrec.errors import StreamrecError, TaskError
from streamrec.web import dashboard
from streamrec.web.metrics import CONTENT_TYPE, MetricsInput, render

MAX_EVENTS = 1000
"""The most events one ``/api/events`` answer holds."""
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class Controller(Protocol):
    """What the HTTP API asks of the daemon."""

    async def reconcile(self, reason: str, allow_empty: bool = False) -> dict[str, Any]: ...
    async def task_run(self, name: str, with_deps: bool) -> dict[str, Any]: ...
    async def task_stop(self, name: str) -> dict[str, Any]: ...
    async def queue_start(self, name: str) -> dict[str, Any]: ...
    async def queue_stop(self, name: str) -> dict[str, Any]: ...
    def status(self) -> dict[str, Any]: ...
    async def full_status(self) -> dict[str, Any]: ...
    def events(self, since: int | None, limit: int) -> dict[str, Any]: ...
    def recordings(self, channel: str | None) -> dict[str, Any]: ...
    def recording_file(self, file: str) -> Path | None: ...
    async def thumbnail(self, channel: str) -> Path | None: ...
    def task_log(self, name: str, stream: str) -> dict[str, Any] | None: ...
    def metrics_input(self) -> MetricsInput: ...
    def redact(self, value: Any) -> Any: ...
    def ready(self) -> bool: ...
    def request_shutdown(self, reason: str) -> None: ...


Handler = Callable[[Request], Awaitable[Response]]


def _int_param(request: Request, name: str, default: int | None) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return max(0, int(raw))
    except ValueError:
        raise StreamrecError(f"{name} must be a whole number, not {raw!r}") from None


def create_app(controller: Controller, *, token: str | None, local: bool) -> Starlette:
    """The API for one listener; ``local`` (the Unix socket) may change state without a token."""
    access = "open" if local else ("token" if token else "read-only")

    def reply(data: Any, status_code: int = 200) -> JSONResponse:
        return JSONResponse(controller.redact(data), status_code=status_code)

    async def reply_large(data: Any) -> JSONResponse:
        """Redacted and encoded in a worker thread: large answers do not stall the event loop."""
        return await asyncio.to_thread(reply, data)

    def not_found(what: str) -> JSONResponse:
        return reply({"error": f"{what} not found"}, 404)

    def errors(handler: Handler) -> Handler:
        async def run(request: Request) -> Response:
            try:
                return await handler(request)
            except TaskError as exc:
                return reply({"error": str(exc)}, 409)
            except StreamrecError as exc:
                return reply({"error": str(exc)}, 400)

        return run

    def guarded(handler: Handler) -> Handler:
        async def check(request: Request) -> Response:
            if not local:
                if not token:
                    message = "read-only: set STREAMREC_API_TOKEN to allow actions over TCP"
                    return reply({"error": message}, 403)
                given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
                if not hmac.compare_digest(given.encode(), token.encode()):
                    return reply({"error": "a valid bearer token is needed"}, 401)
            return await handler(request)

        return errors(check)

    # --- dashboard and health ----------------------------------------------------------------

    async def static(request: Request) -> Response:
        found = dashboard.asset(request.path_params.get("name", "index.html"))
        if found is None:
            return not_found("file")
        headers = {**SECURITY_HEADERS, "ETag": found.etag, "Cache-Control": "no-cache"}
        if request.headers.get("if-none-match") == found.etag:
            return Response(status_code=304, headers=headers)
        return Response(found.body, media_type=found.media_type, headers=headers)

    async def healthz(_: Request) -> Response:
        return reply({"ok": True})

    async def readyz(_: Request) -> Response:
        ok = controller.ready()
        return reply({"ready": ok}, 200 if ok else 503)

    async def metrics_text(_: Request) -> Response:
        body = await asyncio.to_thread(render, controller.metrics_input())
        return Response(body, media_type=CONTENT_TYPE)

    # --- reading -----------------------------------------------------------------------------

    async def status(_: Request) -> Response:
        return await reply_large({**await controller.full_status(), "api": {"actions": access}})

    async def live(_: Request) -> Response:
        return await reply_large(controller.status())

    async def events(request: Request) -> Response:
        limit = min(MAX_EVENTS, _int_param(request, "limit", 100) or 1)
        return await reply_large(controller.events(_int_param(request, "since", None), limit))

    async def recordings(request: Request) -> Response:
        return await reply_large(controller.recordings(request.query_params.get("channel") or None))

    async def download(request: Request) -> Response:
        path = controller.recording_file(request.query_params.get("file", ""))
        if path is None:
            return not_found("recording (only files the state log lists can be downloaded)")
        media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if path.suffix == ".ts":
            media_type = "video/mp2t"
        return FileResponse(path, media_type=media_type, filename=path.name)

    async def thumbnail(request: Request) -> Response:
        path = await controller.thumbnail(request.path_params["name"])
        if path is None:
            return not_found("thumbnail (no finished segment yet?)")
        cache = "private, max-age=600" if request.query_params.get("v") else "no-cache"
        return FileResponse(path, media_type="image/jpeg", headers={"Cache-Control": cache})

    async def task_log(request: Request) -> Response:
        stream = request.query_params.get("stream", "stdout")
        if stream not in {"stdout", "stderr"}:
            raise StreamrecError(f"stream must be stdout or stderr, not {stream!r}")
        found = controller.task_log(request.path_params["name"], stream)
        return not_found("task") if found is None else reply(found)

    # --- actions -----------------------------------------------------------------------------

    async def reconcile(request: Request) -> Response:
        allow = request.query_params.get("allow_empty") in {"1", "true"}
        reason = "asked by streamrec apply" if local else "asked over the HTTP API"
        return reply(await controller.reconcile(reason, allow_empty=allow))

    async def task_run(request: Request) -> Response:
        deps = request.query_params.get("with_deps") in {"1", "true"}
        return reply(await controller.task_run(request.path_params["name"], deps))

    async def task_stop(request: Request) -> Response:
        return reply(await controller.task_stop(request.path_params["name"]))

    async def queue_start(request: Request) -> Response:
        return reply(await controller.queue_start(request.path_params["name"]))

    async def queue_stop(request: Request) -> Response:
        return reply(await controller.queue_stop(request.path_params["name"]))

    async def shutdown(_: Request) -> Response:
        controller.request_shutdown("asked over the API (streamrec stop)")
        return reply({"stopping": True})

    routes = [
        Route("/", static),
        Route("/static/{name}", static),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics_text),
        Route("/api/status", status),
        Route("/api/live", live),
        Route("/api/events", errors(events)),
        Route("/api/recordings", recordings),
        Route("/api/recordings/download", download),
        Route("/api/channels/{name:path}/thumbnail", thumbnail),
        Route("/api/tasks/{name:path}/log", errors(task_log)),
        Route("/api/reconcile", guarded(reconcile), methods=["POST"]),
        Route("/api/tasks/{name:path}/run", guarded(task_run), methods=["POST"]),
        Route("/api/tasks/{name:path}/stop", guarded(task_stop), methods=["POST"]),
        Route("/api/queues/{name:path}/start", guarded(queue_start), methods=["POST"]),
        Route("/api/queues/{name:path}/stop", guarded(queue_stop), methods=["POST"]),
        Route("/api/shutdown", guarded(shutdown), methods=["POST"]),
    ]
    return Starlette(routes=routes)
