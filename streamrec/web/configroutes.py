"""The config API's routes: read, check and save the config directory over HTTP.

``daemon.service`` hands ``web.routes.create_app`` (through ``daemon.serving``) the function
``lambda guard: config_routes(admin, guard)``, where ``admin`` is the daemon's
``app.configadmin.ConfigAdmin``; this module needs only the :class:`ConfigService` protocol it
fulfils, so ``web`` still knows nothing of the daemon.

- ``GET /api/config`` (viewer): the mode (``directory``, ``git``, ``read-only`` and why), every
  config file's text with secrets redacted, the followed git branch;
- ``GET /api/config/schema`` (viewer): the JSON Schema ``streamrec schema`` prints;
- ``POST /api/config/check`` (admin): a change's located problems, diffs and plan; writes nothing;
- ``POST /api/config/save`` (admin): the same, then saved (see ``app.configadmin``).

A body is read strictly before anything else happens: at most :data:`MAX_BODY` bytes, UTF-8,
one JSON object without duplicate keys, ``NaN`` or ``Infinity``, in the shape
``app.configrequest`` describes; anything else is 400 with a message saying what is wrong.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from streamrec.app.configadmin import Answer
from streamrec.app.configrequest import BadRequest, ConfigRequest, parse_request
from streamrec.web.access import Role
from streamrec.web.routes import Guard, actor_of

MAX_BODY = 1024 * 1024
"""The most bytes a check or save body may have (the whole new texts of the files in it)."""


class ConfigService(Protocol):
    """What the config routes ask of the daemon (``app.configadmin.ConfigAdmin``)."""

    async def read(self) -> dict[str, Any]: ...
    async def check(self, request: ConfigRequest) -> Answer: ...
    async def save(self, request: ConfigRequest, role: str, who: str | None) -> Answer: ...


@functools.cache
def _schema() -> dict[str, Any]:
    from streamrec.spec.schema import config_schema

    return config_schema()


def _duplicates_refused(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise BadRequest(f"the key {key!r} appears twice in one object")
        found[key] = value
    return found


def _no_constant(name: str) -> Any:
    raise BadRequest(f"{name} is not a JSON number")


async def read_body(request: Request) -> ConfigRequest:
    """The :class:`ConfigRequest` of a request's body; :class:`BadRequest` saying what is wrong."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise BadRequest(f"the body is over {MAX_BODY // 1024} KiB (the limit of a config change)")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise BadRequest(
                f"the body is over {MAX_BODY // 1024} KiB (the limit of a config change)"
            )
        chunks.append(chunk)
    try:
        text = b"".join(chunks).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"the body is not UTF-8 (byte {exc.start})") from None
    if not text.strip():
        raise BadRequest("the body is empty: send a JSON object with 'files' or 'ops'")
    try:
        data = json.loads(text, object_pairs_hook=_duplicates_refused, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise BadRequest(
            f"the body is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    return parse_request(data)


def _bad(exc: BadRequest) -> JSONResponse:
    return JSONResponse({"error": str(exc)}, status_code=400)


def config_routes(service: ConfigService, guard: Guard) -> Sequence[BaseRoute]:
    """The config API's routes, each handler wrapped by ``guard`` with the role it needs."""

    async def read(_: Request) -> Response:
        return JSONResponse(await service.read())

    async def schema(_: Request) -> Response:
        return JSONResponse(_schema())

    async def check(request: Request) -> Response:
        try:
            body = await read_body(request)
        except BadRequest as exc:
            return _bad(exc)
        answer = await service.check(body)
        return JSONResponse(answer.body, status_code=answer.status)

    async def save(request: Request) -> Response:
        try:
            body = await read_body(request)
        except BadRequest as exc:
            return _bad(exc)
        actor = actor_of(request)
        answer = await service.save(body, actor.role, actor.who)
        return JSONResponse(answer.body, status_code=answer.status)

    return [
        Route("/api/config", guard(read, Role.VIEWER)),
        Route("/api/config/schema", guard(schema, Role.VIEWER)),
        Route("/api/config/check", guard(check, Role.ADMIN), methods=["POST"]),
        Route("/api/config/save", guard(save, Role.ADMIN), methods=["POST"]),
    ]
