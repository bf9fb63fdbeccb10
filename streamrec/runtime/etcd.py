"""The one module that talks to etcd: leases, keys created only if absent, deletes that compare.

``daemon.cluster`` holds one :class:`Etcd` and calls its coroutines; each runs one blocking request
in a worker thread (``asyncio.to_thread``) with a short timeout, so a slow or absent etcd never
stalls the event loop and a failed request is an :class:`EtcdUnavailable` to retry on the next
poll.

The client is ``etcd3gw``, a client of etcd's v3 JSON gateway (``/v3/...`` over HTTP, served by
every etcd 3.4 and later on its client port): it is plain ``requests`` underneath (no gRPC wheels
to build or match to a Python version), installs cleanly on Python 3.10-3.13, is kept by OpenStack
and is typed. Its calls are synchronous, which suits one request per poll from a worker thread; an
asyncio gRPC client (``aetcd``) would bring ``grpcio`` and protobuf versions to keep in step for
no gain at one request a second. Only this module imports it (an import-linter contract in
``pyproject.toml``).
"""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass
from typing import Any

from etcd3gw.client import Etcd3Client
from etcd3gw.exceptions import Etcd3Exception


def _encode(text: str) -> str:
    """Keys and values as the gateway takes them: base64 of UTF-8 (channel names of any script)."""
    return base64.b64encode(text.encode()).decode()


def _decode(text: str) -> str:
    return base64.b64decode(text).decode(errors="replace")


class EtcdUnavailable(ConnectionError):
    """etcd did not answer (or refused a request); the caller retries at its next poll (and a
    member that cannot renew its lease in time fences itself)."""


@dataclass(frozen=True)
class KeyValue:
    """One key read back: its value and the lease it lives under (0: none)."""

    key: str
    value: str
    lease: int


class Etcd:
    """A small async face of etcd's v3 gateway at ``host:port`` (module docstring)."""

    def __init__(self, host: str, port: int, timeout: float = 2.0) -> None:
        self._client = Etcd3Client(host=host, port=port, timeout=timeout, api_path="/v3/")

    async def _call(self, what: str, fn: Any, *args: Any) -> Any:
        try:
            return await asyncio.to_thread(fn, *args)
        except (Etcd3Exception, OSError, ValueError, KeyError) as exc:
            raise EtcdUnavailable(f"etcd {what}: {type(exc).__name__}: {exc}") from None

    def _txn(self, txn: dict[str, Any]) -> dict[str, Any]:
        return dict(self._client.post(self._client.get_url("/kv/txn"), json=txn))

    async def grant(self, ttl: int) -> int:
        """A new lease of ``ttl`` seconds; its id."""
        return int(await self._call("grant", lambda: self._client.lease(ttl).id))

    async def keepalive(self, lease: int) -> int:
        """Renew ``lease``; its remaining TTL, or -1 when it has expired already."""

        def renew() -> int:
            result = self._client.post(self._client.get_url("/lease/keepalive"), json={"ID": lease})
            return int((result.get("result") or {}).get("TTL", -1))

        return int(await self._call("keepalive", renew))

    async def revoke(self, lease: int) -> None:
        """End ``lease`` now: every key under it goes at once."""
        await self._call(
            "revoke",
            lambda: self._client.post(self._client.get_url("/kv/lease/revoke"), json={"ID": lease}),
        )

    async def put(self, key: str, value: str, lease: int) -> None:
        """Write ``key`` under ``lease``."""
        body = {"key": _encode(key), "value": _encode(value), "lease": lease}
        await self._call(
            "put", lambda: self._client.post(self._client.get_url("/kv/put"), json=body)
        )

    async def create(self, key: str, value: str, lease: int) -> bool:
        """Write ``key`` under ``lease`` only if it does not exist (one transaction); whether it
        was written."""
        encoded = _encode(key)
        txn = {
            "compare": [
                {"key": encoded, "result": "EQUAL", "target": "CREATE", "create_revision": 0}
            ],
            "success": [{"request_put": {"key": encoded, "value": _encode(value), "lease": lease}}],
            "failure": [],
        }
        result = await self._call("create", self._txn, txn)
        return bool(result.get("succeeded", False))

    async def delete_if(self, key: str, value: str) -> bool:
        """Delete ``key`` only while it still holds ``value`` (one transaction)."""
        encoded = _encode(key)
        txn = {
            "compare": [
                {"key": encoded, "result": "EQUAL", "target": "VALUE", "value": _encode(value)}
            ],
            "success": [{"request_delete_range": {"key": encoded}}],
            "failure": [],
        }
        result = await self._call("delete", self._txn, txn)
        return bool(result.get("succeeded", False))

    async def scan(self, prefix: str) -> list[KeyValue]:
        """Every key under ``prefix`` (one linearizable range read)."""
        raw = prefix.encode()
        end = raw[:-1] + bytes([raw[-1] + 1])
        body = {"key": _encode(prefix), "range_end": base64.b64encode(end).decode()}

        def read() -> list[KeyValue]:
            result = self._client.post(self._client.get_url("/kv/range"), json=body)
            return [
                KeyValue(
                    _decode(item["key"]), _decode(item.get("value", "")), int(item.get("lease", 0))
                )
                for item in result.get("kvs") or ()
            ]

        return list(await self._call("read", read))

    def close(self) -> None:
        """Close the HTTP session."""
        self._client.session.close()
