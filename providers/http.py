"""A tiny HTTP client for metadata services and intensity APIs: stdlib only, every byte under the
caller's deadline.

Metadata services answer in a millisecond when they exist and never when they do not, so the
client must give up at the deadline rather than at some library default, and must not trust
what it reads (a body is capped, decoding errors are typed). The deadline is total: a socket
timeout alone restarts at every byte, so a server sending one byte a second would hold the caller
for ever; a watchdog shuts the socket down when the deadline passes, whatever it is waiting for
(the status line, a header, the body). Name resolution is the one step it cannot cut short.
Nothing here logs headers, because IMDSv2 tokens travel in them.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import SplitResult, urlsplit

from carbon.providers.base import Deadline

from carbon.errors import NetworkError

if TYPE_CHECKING:
    from http.client import HTTPConnection

MAX_BODY_BYTES = 256 * 1024


class MetadataError(NetworkError):
    """A metadata request failed; subclasses say how. Messages never contain header values;
    `reason` is the cause alone (no method or URL), for callers that name the URL themselves."""

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason or message


class MetadataUnreachable(MetadataError):
    """Nothing listens there (connection refused, no route, unknown host)."""


class MetadataTimeout(MetadataError):
    """The service did not answer before the deadline."""


class MetadataBadResponse(MetadataError):
    """The service answered with something that is not usable HTTP or not the expected body."""


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]  # lower-cased names
    body: bytes

    def text(self) -> str:
        try:
            return self.body.decode("utf-8")
        except UnicodeDecodeError:
            raise MetadataBadResponse("response body is not UTF-8 text") from None

    def json(self) -> object:
        import json

        try:
            return json.loads(self.text())
        except ValueError:
            raise MetadataBadResponse("response body is not JSON") from None


def request(
    method: str,
    url: str,
    *,
    deadline: Deadline,
    headers: Mapping[str, str] | None = None,
    timeout_s: float | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
) -> Response:
    """One request that ends by `deadline` (and by `timeout_s` from now, when given), all of it."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise MetadataError(f"not an http(s) URL: {url}")
    limit = deadline if timeout_s is None else deadline.within(timeout_s)
    if limit.expired:
        raise MetadataTimeout(f"no time left for {method} {_where(parts)}")
    import http.client  # here, not at the top: every provider module imports this one, few requests are made

    connection_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = connection_class(parts.hostname, parts.port, timeout=limit.remaining())
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    watchdog = _Watchdog(connection, limit.remaining())
    try:
        connection.request(method, path, headers=dict(headers or {}))
        if connection.sock is not None:
            connection.sock.settimeout(max(limit.remaining(), 0.001))
        response = connection.getresponse()
        body = bytearray()
        while True:
            if limit.expired or watchdog.fired:
                raise MetadataTimeout(f"{method} {_where(parts)}: body not received before the deadline", "timeout")
            if connection.sock is not None:
                connection.sock.settimeout(max(limit.remaining(), 0.001))
            chunk = response.read1(65536) if hasattr(response, "read1") else response.read(65536)
            if not chunk:
                break
            body += chunk
            if len(body) > max_body_bytes:
                raise MetadataBadResponse(
                    f"{method} {_where(parts)}: body larger than {max_body_bytes} bytes", "body too large"
                )
        if watchdog.fired:  # the socket was cut: what was read may be a truncated body
            raise MetadataTimeout(f"{method} {_where(parts)}: no complete answer before the deadline", "timeout")
        return Response(response.status, {k.lower(): v for k, v in response.getheaders()}, bytes(body))
    except MetadataError:
        raise
    except (TimeoutError, http.client.HTTPException, ValueError, OSError) as error:
        if watchdog.fired or isinstance(error, TimeoutError):
            raise MetadataTimeout(f"{method} {_where(parts)}: no answer before the deadline", "timeout") from None
        if isinstance(error, (http.client.HTTPException, ValueError)):
            raise MetadataBadResponse(
                f"{method} {_where(parts)}: not a valid HTTP response ({type(error).__name__})",
                f"not a valid HTTP response ({type(error).__name__})",
            ) from None
        cause = error.strerror or type(error).__name__
        raise MetadataUnreachable(f"{method} {_where(parts)}: {cause}", cause) from None
    finally:
        watchdog.cancel()
        connection.close()


class _Watchdog:
    """Shuts the connection's socket down at the deadline, which ends any read in progress."""

    def __init__(self, connection: HTTPConnection, seconds: float) -> None:
        self.connection = connection
        self.fired = False
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self) -> None:
        self.fired = True
        sock = self.connection.sock
        if sock is not None:
            import socket  # here: only a request that hangs gets this far (the import costs ~2 ms per start)

            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cancel(self) -> None:
        self._timer.cancel()


def _where(parts: SplitResult) -> str:
    """host:port/path for messages; the query is kept, headers never are."""
    return f"{parts.netloc}{parts.path}"
