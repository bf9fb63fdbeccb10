"""Talking to a running daemon over its control socket (the one module that imports httpx).

``apply``, ``stop``, ``status`` and the task commands use :func:`daemon_client`: when a daemon owns
the state directory they ask it (so the daemon and the CLI never run the same thing twice), else they
do the work themselves. httpx is imported only when there is a daemon to ask (its info file and
socket exist), so a command finding none does not load it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from streamrec.errors import DaemonError


class DaemonClient:
    """Requests to one daemon's API over its Unix socket."""

    def __init__(self, socket: Path, info: dict[str, Any]) -> None:
        import httpx

        self.socket = socket
        self.info = info
        self._client = httpx.Client(
            transport=httpx.HTTPTransport(uds=str(socket)),
            base_url="http://streamrec",
            timeout=httpx.Timeout(10.0, read=None),  # a task run through the daemon may be long
        )

    def request(self, method: str, path: str, **params: Any) -> dict[str, Any]:
        """One call; DaemonError with the daemon's own message when it refuses."""
        import httpx

        try:
            response = self._client.request(method, path, params=params or None)
        except httpx.HTTPError as exc:
            raise DaemonError(f"the daemon at {self.socket} did not answer: {exc}") from exc
        try:
            data: dict[str, Any] = response.json()
        except ValueError:
            data = {"error": response.text}
        if response.status_code >= 400:
            raise DaemonError(str(data.get("error") or data))
        return data

    def close(self) -> None:
        self._client.close()


def daemon_client(state_root: Path) -> DaemonClient | None:
    """A client for the daemon of ``state_root``, or None when no daemon answers there."""
    from streamrec.app.statedir import info_path, socket_path

    info_file = info_path(state_root)
    socket = socket_path(state_root)
    if not info_file.exists() or not socket.exists():
        return None
    try:
        info = json.loads(info_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    client = DaemonClient(socket, info)
    try:
        client.request("GET", "/healthz")
    except DaemonError:
        client.close()
        return None
    return client
