"""One GET for every live intensity API: a total deadline, and each failure as a typed error.

The fallback chain records *why* a live value was not used (no key, timeout, HTTP 429, 5xx, bad
body), so every way a request can fail ends here as a `FetchError` whose `reason` is that short
phrase. The request is the providers' stdlib client (carbon.providers.http): its deadline covers
the connection and every read together, so a server that trickles its answer a byte at a time
cannot hold a run or `carbon intensity` past `http_timeout_s`. To go through a proxy, point the
source's base URL (CARBON_<NAME>_URL) at it.
"""

from __future__ import annotations

import base64
import email.utils
import json
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from carbon.errors import NetworkError
from carbon.intensity.base import IntensityError

# A week of 5-minute points with their metadata is well under this; a larger body is not an answer.
MAX_BODY_BYTES = 32 * 1024 * 1024


class FetchError(IntensityError, NetworkError):
    """A live API gave no usable answer; `reason` is the short phrase recorded in the fallback detail."""

    def __init__(self, reason: str, url: str = "") -> None:
        super().__init__(f"{reason} ({url})" if url else reason)
        self.reason = reason


class NotConfigured(FetchError):
    """The source needs a key or a zone mapping that is not there; no request was made."""


class AuthFailed(FetchError):
    """HTTP 401/403: the key or password was refused."""


class RateLimited(FetchError):
    """HTTP 429; `retry_after_s` is the server's Retry-After (seconds), or None when it sent none."""

    def __init__(self, reason: str, url: str, retry_after_s: float | None) -> None:
        super().__init__(reason, url)
        self.retry_after_s = retry_after_s


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Retry-After is either delta-seconds or an HTTP-date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def get_json(
    url: str,
    *,
    timeout_s: float,
    params: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    auth: tuple[str, str] | None = None,
) -> Any:
    """GET `url` and decode its JSON body, or raise a FetchError naming what went wrong. Ends within
    `timeout_s` in all: connecting, the status line, the headers and the body together."""
    from carbon.providers.base import Deadline
    from carbon.providers.http import MetadataError, MetadataTimeout, request

    query = urlencode({k: v for k, v in (params or {}).items() if v is not None}, doseq=True)
    target = f"{url}{'&' if '?' in url else '?'}{query}" if query else url
    sent = {"Accept": "application/json", **dict(headers or {})}
    if auth is not None:
        sent["Authorization"] = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode("ascii")
    try:
        response = request(
            "GET", target, deadline=Deadline.after(timeout_s), headers=sent, max_body_bytes=MAX_BODY_BYTES
        )
    except MetadataTimeout:
        raise FetchError(f"timeout after {timeout_s:g} s", url) from None
    except MetadataError as error:
        raise FetchError(f"connection failed: {error.reason}", url) from None
    status = response.status
    if status in (401, 403):
        raise AuthFailed(f"HTTP {status}: credentials refused", url)
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        shown = f", Retry-After {retry_after:g} s" if retry_after is not None else ""
        raise RateLimited(f"HTTP 429 rate limited{shown}", url, retry_after)
    if status >= 500:
        raise FetchError(f"HTTP {status} server error", url)
    if status != 200:
        raise FetchError(f"HTTP {status}", url)
    try:
        return json.loads(response.body)
    except (ValueError, UnicodeDecodeError):
        raise FetchError("bad body: not JSON", url) from None


def require(body: Any, *path: str | int) -> Any:
    """body[path[0]][path[1]]...; a missing or mistyped field is a 'bad body' FetchError."""
    node = body
    for key in path:
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            shown = ".".join(str(p) for p in path)
            raise FetchError(f"bad body: no field {shown}") from None
    return node


def number(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise FetchError(f"bad body: {field} is not a number ({value!r})")
    return float(value)


def require_list(body: Any, *path: str | int) -> list[Any]:
    node = require(body, *path)
    if not isinstance(node, list):
        shown = ".".join(str(p) for p in path)
        raise FetchError(f"bad body: {shown} is not a list")
    return node
