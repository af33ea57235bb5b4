"""A tiny HTTP client for metadata services: stdlib only, every byte under the caller's deadline.

Metadata services answer in a millisecond when they exist and never when they do not, so the
client must give up at the deadline rather than at some library default, and must not trust
what it reads (a body is capped, decoding errors are typed). Nothing here logs headers, because
IMDSv2 tokens travel in them.
"""

from __future__ import annotations

import http.client
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from carbon.providers.base import Deadline

from carbon.errors import NetworkError

MAX_BODY_BYTES = 256 * 1024


class MetadataError(NetworkError):
    """A metadata request failed; subclasses say how. Messages never contain header values."""


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
) -> Response:
    """One request that ends by `deadline` (and by `timeout_s` from now, when given)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise MetadataError(f"not an http(s) URL: {url}")
    limit = deadline if timeout_s is None else deadline.within(timeout_s)
    if limit.expired:
        raise MetadataTimeout(f"no time left for {method} {_where(parts)}")
    connection_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = connection_class(parts.hostname, parts.port, timeout=limit.remaining())
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request(method, path, headers=dict(headers or {}))
        if connection.sock is not None:
            connection.sock.settimeout(max(limit.remaining(), 0.001))
        response = connection.getresponse()
        body = bytearray()
        while True:
            if limit.expired:
                raise MetadataTimeout(f"{method} {_where(parts)}: body not received before the deadline")
            if connection.sock is not None:
                connection.sock.settimeout(max(limit.remaining(), 0.001))
            chunk = response.read1(65536) if hasattr(response, "read1") else response.read(65536)
            if not chunk:
                break
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                raise MetadataBadResponse(f"{method} {_where(parts)}: body larger than {MAX_BODY_BYTES} bytes")
        return Response(response.status, {k.lower(): v for k, v in response.getheaders()}, bytes(body))
    except TimeoutError:
        raise MetadataTimeout(f"{method} {_where(parts)}: no answer before the deadline") from None
    except (http.client.HTTPException, ValueError) as error:
        raise MetadataBadResponse(
            f"{method} {_where(parts)}: not a valid HTTP response ({type(error).__name__})"
        ) from None
    except OSError as error:
        raise MetadataUnreachable(f"{method} {_where(parts)}: {error.strerror or type(error).__name__}") from None
    finally:
        connection.close()


def _where(parts: SplitResult) -> str:
    """host:port/path for messages; the query is kept, headers never are."""
    return f"{parts.netloc}{parts.path}"
