"""The daemon's HTTP API (Starlette): health, metrics, status, events, recordings, actions, dashboard.

``daemon.serving`` serves :func:`create_app` on the control socket (``state/daemon.sock``, mode 0600
in a 0700 directory) and, when configured, on TCP. The app knows nothing of the daemon's insides: it
talks to two protocols, :class:`Actions` (``daemon.actions``: what to do, and the live view) and
:class:`Reads` (``daemon.webapi``: the read side); a test's fake may be both (:class:`Controller`). Who may
read and act is decided by ``web.access`` (its docstring has the rules) through one guard
(:data:`Guard`): each route names the least role it needs (viewer for reads, operator for runs,
stops and reconcile, admin for shutdown), the guard answers 401/403 or puts the
:class:`~streamrec.web.access.Actor` in the scope under ``access.ACTOR`` and calls the handler. On
the socket the daemon's own user and root act as ``local`` (the peer's uid, read by ``web.server``
from ``SO_PEERCRED``, arrives in the scope under :data:`PEER_UID`). ``config_routes`` (the config
API) adds its routes through the same guard. On TCP every request must carry a ``Host`` naming the
listener (421 otherwise). Every JSON answer passes through ``Reads.redact`` on its way out, so no
secret (URL credentials, secret query values, values of secret-looking variables, the API tokens)
leaves in a response.

Routes: always open: ``/`` and ``/static/*`` (the dashboard, ``web.dashboard``), ``/healthz``,
``/readyz``, ``/api/whoami`` (the presented token's role, label and rights); reads: ``/metrics``
(``web.metrics``), ``GET /api/status`` (every declared object with its state),
``/api/live`` (the daemon's own view: recorders, timers), ``/api/events?since=SEQ&limit=N``,
``/api/recordings[?channel=NAME]``, ``/api/recordings/download?file=PATH`` (only regular files the
state log lists, opened without following links, ``web.downloads``; one byte ``Range`` honoured),
``/api/recordings/play?file=PATH`` (the same files, remuxed to fragmented MP4 for the browser,
``web.playback``), ``/api/channels/{name}/play`` (the file the channel writes now, followed as
it grows), ``/api/channels/{name}/thumbnail``, ``/api/tasks/{name}/log?stream=stdout|stderr``;
operator: ``POST /api/reconcile``, ``/api/tasks/{name}/run[?with_deps=1]``,
``/api/tasks/{name}/stop``, ``/api/queues/{name}/start``, ``/api/queues/{name}/stop``, ``/api/channels/{name}/record``
(``{"minutes": N}``, 0 < N <= 1440, records the channel from now whatever its windows say;
``{"minutes": 0}`` cancels); admin:
``POST /api/shutdown``; then whatever ``config_routes`` adds.
"""

from __future__ import annotations

import asyncio
import mimetypes
import os
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from streamrec.errors import StreamrecError, TaskError
from streamrec.web import access, dashboard
from streamrec.web.downloads import Download, Unsatisfiable, byte_range
from streamrec.web.metrics import CONTENT_TYPE, MetricsInput, render
from streamrec.web.playback import Source, remuxed

PEER_UID = "streamrec.peer_uid"
"""The scope key under which ``web.server`` puts the socket peer's uid (absent on TCP)."""
READS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="streamrec-reads")
"""The threads of ``/api/status`` and ``/metrics`` (built, redacted, encoded): their own, so that
probes and other blocking work in the default executor never queue them."""
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


class Actions(Protocol):
    """What the HTTP API asks the daemon to do, and its live view (``daemon.actions``)."""

    async def reconcile(self, reason: str, allow_empty: bool = False) -> dict[str, Any]: ...
    async def task_run(self, name: str, with_deps: bool) -> dict[str, Any]: ...
    async def task_stop(self, name: str) -> dict[str, Any]: ...
    async def queue_start(self, name: str) -> dict[str, Any]: ...
    async def queue_stop(self, name: str) -> dict[str, Any]: ...
    async def record_now(
        self, channel: str, minutes: float, actor: access.Actor
    ) -> dict[str, Any] | None: ...
    def status(self) -> dict[str, Any]: ...
    def ready(self) -> bool: ...
    def not_ready(self) -> str | None: ...
    def request_shutdown(self, reason: str) -> None: ...


class Reads(Protocol):
    """What the HTTP API reads from the daemon (``daemon.webapi``), and how it redacts."""

    async def full_status(self) -> dict[str, Any]: ...
    def events(self, since: int | None, limit: int) -> dict[str, Any]: ...
    def recordings(self, channel: str | None) -> dict[str, Any]: ...
    def recording_file(self, file: str) -> Download | None: ...
    async def live_source(self, channel: str) -> Source | None: ...
    def ffmpeg_path(self) -> str: ...
    async def thumbnail(self, channel: str) -> Path | None: ...
    def task_log(self, name: str, stream: str) -> dict[str, Any] | None: ...
    def metrics_input(self) -> MetricsInput: ...
    def redact(self, value: Any) -> Any: ...


class Controller(Actions, Reads, Protocol):
    """Both sides in one object (a fake in tests may be both)."""


Handler = Callable[[Request], Awaitable[Response]]
Guard = Callable[[Handler, access.Role], Handler]
"""Wraps a handler so that it runs only for a request of at least that role (``web.access.admit``),
with the :class:`~streamrec.web.access.Actor` under ``request.scope[access.ACTOR]``; a
``TaskError`` it raises is answered 409, any other ``StreamrecError`` 400. ``Role.VIEWER`` is the
rule of reads (open while no viewer token is configured)."""
ConfigRoutes = Callable[[Guard], Sequence[BaseRoute]]
"""Extra routes of the app (the config API), each handler wrapped by the guard it is given."""


def actor_of(request: Request) -> access.Actor:
    """Who a guarded request acts as (set by the guard before the handler runs)."""
    found = request.scope.get(access.ACTOR)
    if not isinstance(found, access.Actor):
        raise RuntimeError("actor_of is for handlers wrapped by the guard")
    return found


def _int_param(request: Request, name: str, default: int | None) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return max(0, int(raw))
    except ValueError:
        raise StreamrecError(f"{name} must be a whole number, not {raw!r}") from None


class _HostCheck:
    """ASGI middleware: a request whose ``Host`` does not name the listener is 421, unanswered."""

    def __init__(self, app: ASGIApp, allowed: frozenset[tuple[str, int | None]]) -> None:
        self.app = app
        self.allowed = allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            host = next((v for k, v in scope["headers"] if k == b"host"), b"")
            if not access.host_allowed(host.decode("latin-1"), self.allowed):
                error = {"error": "misdirected request: this Host is not served here"}
                await JSONResponse(error, status_code=421)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def create_app(
    actions: Actions,
    reads: Reads,
    *,
    token: str | None = None,
    tokens: access.Tokens | None = None,
    local: bool,
    listen: str | None = None,
    allowed_hosts: tuple[str, ...] = (),
    daemon_uid: int | None = None,
    config_routes: ConfigRoutes | None = None,
) -> Starlette:
    """The API for one listener: the control socket (``local``) or TCP on ``listen``.

    ``tokens`` are the role tokens (``daemon.tokens``); without them ``token`` alone is taken as
    the admin token (``STREAMREC_API_TOKEN``). On the socket the peer whose uid is ``daemon_uid``
    (default: this process's) or root acts without a token. On TCP, only ``Host`` values naming
    ``listen`` or in ``allowed_hosts`` are answered (no check when ``listen`` is None, as for an app
    driven in-process). ``config_routes`` adds the routes it returns (before the static ones),
    handing it the guard.
    """
    owner = os.geteuid() if daemon_uid is None else daemon_uid
    known = tokens if tokens is not None else access.Tokens.of_api_token(token)

    def presented(request: Request) -> access.Presented:
        uid = request.scope.get(PEER_UID) if local else None
        return access.Presented(
            local=local,
            peer_uid=uid if isinstance(uid, int) else None,
            daemon_uid=owner,
            authorization=request.headers.get("authorization"),
        )

    def reply(data: Any, status_code: int = 200) -> JSONResponse:
        return JSONResponse(reads.redact(data), status_code=status_code)

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

    def guarded(handler: Handler, needed: access.Role) -> Handler:
        async def check(request: Request) -> Response:
            decided = access.admit(needed, presented(request), known)
            if isinstance(decided, access.Refusal):
                return reply({"error": decided.message}, decided.status)
            request.scope[access.ACTOR] = decided
            return await handler(request)

        return errors(check)

    def reading(handler: Handler) -> Handler:
        return guarded(handler, access.Role.VIEWER)

    def operating(handler: Handler) -> Handler:
        return guarded(handler, access.Role.OPERATOR)

    def editing(handler: Handler) -> Handler:
        return guarded(handler, access.Role.ADMIN)

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
        ok = actions.ready()
        why = None if ok else actions.not_ready()
        return reply({"ready": ok, **({"reason": why} if why else {})}, 200 if ok else 503)

    async def metrics_text(_: Request) -> Response:
        body = await asyncio.get_running_loop().run_in_executor(
            READS, render, reads.metrics_input()
        )
        return Response(body, media_type=CONTENT_TYPE)

    # --- reading -----------------------------------------------------------------------------

    async def status(request: Request) -> Response:
        label = access.actions_label(presented(request), known)
        data = {**await reads.full_status(), "api": {"actions": label}}
        return await asyncio.get_running_loop().run_in_executor(READS, reply, data)

    async def whoami(request: Request) -> Response:
        return reply(access.whoami(presented(request), known))

    async def live(_: Request) -> Response:
        return await reply_large(actions.status())

    async def events(request: Request) -> Response:
        limit = min(MAX_EVENTS, _int_param(request, "limit", 100) or 1)
        return await reply_large(reads.events(_int_param(request, "since", None), limit))

    async def recordings(request: Request) -> Response:
        return await reply_large(reads.recordings(request.query_params.get("channel") or None))

    async def download(request: Request) -> Response:
        found = reads.recording_file(request.query_params.get("file", ""))
        if found is None:
            return not_found("recording (only files the state log lists can be downloaded)")
        return _stream(found, request.headers.get("range"))

    async def play_recording(request: Request) -> Response:
        found = reads.recording_file(request.query_params.get("file", ""))
        if found is None:
            return not_found("recording (only files the state log lists can be played)")
        return _play(reads.ffmpeg_path(), Source(found))

    async def play_channel(request: Request) -> Response:
        source = await reads.live_source(request.path_params["name"])
        if source is None:
            return not_found("live recording (the channel is not writing a file now)")
        return _play(reads.ffmpeg_path(), source)

    async def thumbnail(request: Request) -> Response:
        path = await reads.thumbnail(request.path_params["name"])
        if path is None:
            return not_found("thumbnail (no finished segment yet?)")
        cache = "private, max-age=600" if request.query_params.get("v") else "no-cache"
        return FileResponse(path, media_type="image/jpeg", headers={"Cache-Control": cache})

    async def task_log(request: Request) -> Response:
        stream = request.query_params.get("stream", "stdout")
        if stream not in {"stdout", "stderr"}:
            raise StreamrecError(f"stream must be stdout or stderr, not {stream!r}")
        found = reads.task_log(request.path_params["name"], stream)
        return not_found("task") if found is None else reply(found)

    # --- actions -----------------------------------------------------------------------------

    async def reconcile(request: Request) -> Response:
        allow = request.query_params.get("allow_empty") in {"1", "true"}
        reason = "asked by streamrec apply" if local else "asked over the HTTP API"
        return reply(await actions.reconcile(reason, allow_empty=allow))

    async def task_run(request: Request) -> Response:
        deps = request.query_params.get("with_deps") in {"1", "true"}
        return reply(await actions.task_run(request.path_params["name"], deps))

    async def task_stop(request: Request) -> Response:
        return reply(await actions.task_stop(request.path_params["name"]))

    async def queue_start(request: Request) -> Response:
        return reply(await actions.queue_start(request.path_params["name"]))

    async def queue_stop(request: Request) -> Response:
        return reply(await actions.queue_stop(request.path_params["name"]))

    async def record_now(request: Request) -> Response:
        name, minutes = request.path_params["name"], await _minutes(request)
        done = await actions.record_now(name, minutes, actor_of(request))
        return not_found("channel") if done is None else reply(done)

    async def shutdown(_: Request) -> Response:
        actions.request_shutdown("asked over the API (streamrec stop)")
        return reply({"stopping": True})

    middleware = []
    if not local and listen is not None:
        middleware.append(Middleware(_HostCheck, access.allowed_hosts(listen, allowed_hosts)))
    routes: list[BaseRoute] = [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", reading(metrics_text)),
        Route("/api/whoami", whoami),
        Route("/api/status", reading(status)),
        Route("/api/live", reading(live)),
        Route("/api/events", reading(events)),
        Route("/api/recordings", reading(recordings)),
        Route("/api/recordings/download", reading(download)),
        Route("/api/recordings/play", reading(play_recording)),
        Route("/api/channels/{name:path}/play", reading(play_channel)),
        Route("/api/channels/{name:path}/thumbnail", reading(thumbnail)),
        Route("/api/channels/{name:path}/record", operating(record_now), methods=["POST"]),
        Route("/api/tasks/{name:path}/log", reading(task_log)),
        Route("/api/reconcile", operating(reconcile), methods=["POST"]),
        Route("/api/tasks/{name:path}/run", operating(task_run), methods=["POST"]),
        Route("/api/tasks/{name:path}/stop", operating(task_stop), methods=["POST"]),
        Route("/api/queues/{name:path}/start", operating(queue_start), methods=["POST"]),
        Route("/api/queues/{name:path}/stop", operating(queue_stop), methods=["POST"]),
        Route("/api/shutdown", editing(shutdown), methods=["POST"]),
    ]
    if config_routes is not None:
        routes.extend(config_routes(guarded))
    routes += [Route("/", static), Route("/static/{name}", static)]
    return Starlette(routes=routes, middleware=middleware)


MAX_RECORD_MINUTES = 1440
"""The longest "record now" request: a day."""


async def _minutes(request: Request) -> float:
    """The ``minutes`` of a record-now body: 0 < N <= 1440, or 0 to cancel a request."""
    try:
        body = await request.json()
    except ValueError:
        raise StreamrecError('the body must be JSON like {"minutes": 30}') from None
    minutes = body.get("minutes") if isinstance(body, dict) else None
    if isinstance(minutes, bool) or not isinstance(minutes, int | float):
        raise StreamrecError('the body must be JSON like {"minutes": 30} (0 cancels a request)')
    if not 0 <= minutes <= MAX_RECORD_MINUTES:
        raise StreamrecError(
            f"minutes must be from 0 (cancel) to {MAX_RECORD_MINUTES}, not {minutes}"
        )
    return float(minutes)


def _stream(found: Download, range_header: str | None = None) -> Response:
    """The opened recording as an attachment, read from its descriptor in a worker thread; one
    byte range when asked (206, or 416 past the end: ``web.downloads.byte_range``)."""
    media_type = mimetypes.guess_type(found.name)[0] or "application/octet-stream"
    if found.name.endswith(".ts"):
        media_type = "video/mp2t"
    quoted = quote(found.name)
    disposition = (
        f'attachment; filename="{found.name}"'
        if quoted == found.name
        else f"attachment; filename*=utf-8''{quoted}"
    )
    headers = {"Accept-Ranges": "bytes", "Content-Disposition": disposition}
    try:
        wanted = byte_range(range_header, found.size)
    except Unsatisfiable:
        found.close()
        headers["Content-Range"] = f"bytes */{found.size}"
        return Response(status_code=416, headers=headers)
    start, stop = wanted or (0, found.size)
    headers["Content-Length"] = str(stop - start)
    if wanted is not None:
        headers["Content-Range"] = f"bytes {start}-{stop - 1}/{found.size}"
    return StreamingResponse(
        found.chunks(start, stop),
        status_code=206 if wanted is not None else 200,
        media_type=media_type,
        headers=headers,
        background=BackgroundTask(found.close),
    )


def _play(ffmpeg: str, source: Source) -> Response:
    """A recording remuxed to fragmented MP4 as it is read (``web.playback``); not cached."""
    return StreamingResponse(
        remuxed(ffmpeg, source),
        media_type="video/mp4",
        headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
    )
