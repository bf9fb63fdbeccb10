"""The control socket in-process: bound private, checked after serving, and the peer's uid in scope."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from streamrec.web.routes import PEER_UID
from streamrec.web.server import ApiServer, SocketError, bind_private, check_private


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_a_socket_left_open_is_made_0600(tmp_path: Path) -> None:
    """A bound socket found 0666 is set to 0600, and its directory is made 0700 on bind."""
    directory = tmp_path / "s"
    directory.mkdir(mode=0o755)
    directory.chmod(0o755)
    sock = bind_private(directory / "d.sock")
    try:
        assert mode(directory) == 0o700 and mode(directory / "d.sock") == 0o600
        (directory / "d.sock").chmod(0o666)
        check_private(directory / "d.sock")
        assert mode(directory / "d.sock") == 0o600
    finally:
        sock.close()


def test_an_open_directory_or_a_plain_file_is_refused(tmp_path: Path) -> None:
    """A socket in a directory others can enter, or a plain file in its place, is a SocketError."""
    sock = bind_private(tmp_path / "d.sock")
    try:
        tmp_path.chmod(0o755)
        with pytest.raises(SocketError, match="open to other users"):
            check_private(tmp_path / "d.sock")
    finally:
        sock.close()
    (tmp_path / "d.sock").unlink()
    (tmp_path / "d.sock").write_text("not a socket")
    with pytest.raises(SocketError, match="is not a socket"):
        check_private(tmp_path / "d.sock")


async def test_the_server_serves_0600_and_puts_the_peer_uid_in_the_scope(tmp_path: Path) -> None:
    """Under umask 0 the served socket is still 0600, and each request carries the peer's uid."""

    async def whoami(request: Request) -> JSONResponse:
        return JSONResponse({"uid": request.scope.get(PEER_UID)})

    path = tmp_path / "d.sock"
    server = ApiServer(Starlette(routes=[Route("/", whoami)]), uds=path)
    old = os.umask(0)
    try:
        await server.start()
    finally:
        os.umask(old)
    try:
        assert mode(path) == 0o600 and mode(tmp_path) == 0o700
        transport = httpx.AsyncHTTPTransport(uds=str(path))
        async with httpx.AsyncClient(transport=transport, base_url="http://x") as client:
            assert (await client.get("/")).json() == {"uid": os.geteuid()}
    finally:
        await server.stop()
    assert not path.exists()
