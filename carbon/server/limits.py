"""Limits every request meets before any route: body size, and no NUL character in the URL.

A pure ASGI middleware. A declared Content-Length over the limit is answered 413 at once; a
chunked body is counted as it arrives and cut off with 413 when it passes the limit. A NUL in
the path or the query is answered 400: no name or id the service stores can hold one
(PostgreSQL text cannot), so such a request can only be a probe or a mistake.
"""

from __future__ import annotations

from typing import Any

import orjson

from carbon.errors import UserInputError


class RequestLimits:
    def __init__(self, app: Any, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def _refuse(self, send: Any, status: int = 413, detail: str = "") -> None:
        detail = detail or f"request body larger than {self.max_body_bytes} bytes; send it in parts"
        body = orjson.dumps({"detail": detail})
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query = scope.get("query_string", b"")
        if "\x00" in scope.get("path", "") or b"%00" in query or b"\x00" in query:
            await self._refuse(send, 400, "NUL character in the request URL")
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.max_body_bytes:
                    await self._refuse(send)
                    return
        received = 0
        started = False

        async def counted_receive() -> dict[str, Any]:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise _TooLarge
            return message

        async def tracking_send(message: dict[str, Any]) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._refuse(send)


class _TooLarge(UserInputError):
    """A request body over the size limit (answered 413)."""
