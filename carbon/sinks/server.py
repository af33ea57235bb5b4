"""Sending runs and batch results to a carbon server (`carbon serve`), with the run log as the spool.

The tracker never waits for the network: `ServerSink.interval` only wakes a background thread.
That thread reads the run log (written and flushed by JsonlSink before this sink is called) from
the last acknowledged byte offset, posts the complete lines as JSON lines, and records the new
offset in `<run>.jsonl.uploaded` (written to a temporary file and renamed, so it is always whole).
When the server is down the lines simply wait in the log; the thread retries with backoff and
sends everything once the server answers. The server stores each (run, seq) once, so a line
sent twice (acknowledgement lost in a crash) is harmless.

At the end of the run the summary is written beside the log as `<run>.jsonl.summary.json`, then
sent and deleted; `close` waits at most `flush_timeout_s` for the last lines and the summary, and
whatever is left is sent later by `carbon upload` (which reads the same offset and summary files).
No error of the upload ever reaches the tracked program: it is noted (once per kind) and kept.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from carbon.errors import NetworkError, UserInputError

log = logging.getLogger(__name__)

SUMMARY_SCHEMA = "carbon.run-summary/1"
MAX_LINES = 1000
MAX_BYTES = 4 * 1024 * 1024


class UploadError(NetworkError):
    """The server could not be reached or answered with an error; `permanent` when retrying cannot help."""

    def __init__(self, message: str, permanent: bool = False, status: int | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.status = status


def check_server(url: str | None, token: str | None) -> tuple[str, str]:
    """The base URL and token, checked before any work starts."""
    if not url:
        raise UserInputError("no server URL: give --server URL or set CARBON_SERVER_URL")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UserInputError(f"server URL must be http(s)://host[:port], got {url!r}")
    if not token:
        raise UserInputError("uploading needs an API token: set CARBON_SERVER_TOKEN (carbon serve admin create-token)")
    return url.rstrip("/"), token


class ServerClient:
    """The collection routes of a carbon server, with explicit timeouts and typed errors."""

    def __init__(self, url: str, token: str, timeout_s: float = 10.0, project: str | None = None) -> None:
        self.url, self.token = check_server(url, token)
        self.timeout_s = timeout_s
        self.project = project
        self._session: Any = None

    def _request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        content_type: str = "",
        params: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        import requests

        if self._session is None:
            self._session = requests.Session()
        headers = {"Authorization": f"Bearer {self.token}"}
        if content_type:
            headers["Content-Type"] = content_type
        query = dict(params or {})
        if self.project:
            query["project"] = self.project
        try:
            response = self._session.request(
                method,
                self.url + path,
                data=body,
                headers=headers,
                params=query,
                timeout=(min(3.05, self.timeout_s), self.timeout_s),
            )
        except requests.RequestException as error:
            raise UploadError(f"server {self.url} unreachable ({type(error).__name__})") from None
        if response.status_code == 200:
            return response.json()
        try:
            detail = response.json().get("detail", "")
        except ValueError:
            detail = response.text[:200]
        permanent = 400 <= response.status_code < 500 and response.status_code not in (408, 429)
        raise UploadError(
            f"server answered {response.status_code}: {detail}", permanent=permanent, status=response.status_code
        )

    def post_runs(self, lines: bytes) -> dict[str, Any]:
        return self._request("POST", "/v1/ingest/runs", body=lines, content_type="application/x-ndjson")

    def post_batch(self, rows: Iterable[dict[str, Any]], source: str | None = None) -> dict[str, Any]:
        body = "\n".join(json.dumps(row, default=str, allow_nan=False) for row in rows).encode()
        params = {"source": source} if source else None
        return self._request("POST", "/v1/ingest/batch", body=body, content_type="application/x-ndjson", params=params)

    def run_state(self, run_id: str) -> dict[str, Any] | None:
        try:
            return self._request("GET", f"/v1/ingest/runs/{run_id}")
        except UploadError as error:
            if error.status == 404:
                return None
            raise

    def batch_state(self, source: str) -> dict[str, Any] | None:
        try:
            return self._request("GET", "/v1/ingest/batch", params={"source": source})
        except UploadError as error:
            if error.status == 404:
                return None
            raise


# --- the spool: the run log, its acknowledged offset and its pending summary --------------------------


def offset_path(log_path: str | os.PathLike[str]) -> Path:
    return Path(f"{os.fspath(log_path)}.uploaded")


def summary_path(log_path: str | os.PathLike[str]) -> Path:
    return Path(f"{os.fspath(log_path)}.summary.json")


def acknowledged(log_path: str | os.PathLike[str]) -> int:
    """Bytes of the log the server has acknowledged (0 when none or the file is unreadable)."""
    try:
        return max(0, int(offset_path(log_path).read_text().strip() or 0))
    except (OSError, ValueError):
        return 0


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


def acknowledge(log_path: str | os.PathLike[str], offset: int) -> None:
    _write_atomically(offset_path(log_path), f"{offset}\n")


def read_lines(log_path: str | os.PathLike[str], offset: int, max_lines: int = MAX_LINES) -> tuple[bytes, int]:
    """Complete lines from `offset` (at most `max_lines`, about MAX_BYTES): (their bytes, the offset after them).
    A last line still being written (no newline yet) is left for the next call."""
    with open(log_path, "rb") as handle:
        handle.seek(offset)
        data = handle.read(MAX_BYTES)
    end = 0
    for _ in range(max_lines):
        newline = data.find(b"\n", end)
        if newline < 0:
            break
        end = newline + 1
    if end == 0 and len(data) == MAX_BYTES:  # one line longer than MAX_BYTES: send it alone
        with open(log_path, "rb") as handle:
            handle.seek(offset)
            line = handle.readline()
        return (line, offset + len(line)) if line.endswith(b"\n") else (b"", offset)
    return data[:end], offset + end


@dataclass
class Sent:
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    skipped: int = 0

    def add(self, answer: dict[str, Any]) -> None:
        self.accepted += int(answer.get("accepted", 0))
        self.duplicates += int(answer.get("duplicates", 0))
        self.rejected += len(answer.get("rejected", ()))


def send_pending(client: ServerClient, log_path: str | os.PathLike[str], sent: Sent, max_lines: int = MAX_LINES) -> int:
    """Send every complete line after the acknowledged offset, acknowledging as the server answers.
    Returns the lines per request that worked (smaller after a 413). Raises UploadError."""
    offset = acknowledged(log_path)
    while True:
        chunk, after = read_lines(log_path, offset, max_lines)
        if not chunk:
            return max_lines
        try:
            sent.add(client.post_runs(chunk))
        except UploadError as error:
            if error.status == 413 and max_lines > 1:
                max_lines = max(1, max_lines // 4)
                continue
            raise
        offset = after
        acknowledge(log_path, offset)


def send_summary(client: ServerClient, log_path: str | os.PathLike[str], sent: Sent) -> bool:
    """Send the pending summary beside the log, if any, and delete it once the server has it."""
    path = summary_path(log_path)
    try:
        body = path.read_bytes()
    except FileNotFoundError:
        return False
    summary = json.loads(body)
    sent.add(client.post_runs(json.dumps(summary, default=str).encode()))
    path.unlink(missing_ok=True)
    return True


def skip_known(client: ServerClient, log_path: str | os.PathLike[str], sent: Sent) -> None:
    """Before a first upload of a log: when the server already holds seqs 0..n of the run, move the
    acknowledged offset past them so that they are not sent again."""
    offset = acknowledged(log_path)
    if offset:  # acknowledged before: those lines are on the server
        with open(log_path, "rb") as handle:
            sent.skipped += handle.read(offset).count(b"\n")
        return
    from carbon.sinks.jsonl import iter_run_log

    first = next(iter_run_log(log_path), None)
    if first is None or not isinstance(first.get("run_id"), str):
        return
    state = client.run_state(first["run_id"])
    if not state or state.get("max_seq") is None or state["records"] != state["max_seq"] + 1:
        return
    offset = 0
    with open(log_path, "rb") as handle:
        for line in handle:
            if not line.endswith(b"\n"):
                break
            try:
                seq = json.loads(line).get("seq")
            except (ValueError, AttributeError):
                break
            if not isinstance(seq, int) or seq > state["max_seq"]:
                break
            offset += len(line)
            sent.skipped += 1
    if offset:
        acknowledge(log_path, offset)


# --- the sink -------------------------------------------------------------------------------------


class ServerSink:
    """Uploads a run's intervals from its run log in a background thread; see the module docstring."""

    def __init__(
        self,
        url: str,
        token: str,
        spool: Any,
        *,
        on_note: Callable[[str], None] | None = None,
        flush_timeout_s: float = 10.0,
        retry_max_s: float = 30.0,
        timeout_s: float = 10.0,
    ) -> None:
        self.client = ServerClient(url, token, timeout_s=timeout_s)
        self.spool = spool  # the JsonlSink writing the run log (opened before this sink)
        self.on_note = on_note or (lambda text: log.warning("%s", text))
        self.flush_timeout_s = flush_timeout_s
        self.retry_max_s = retry_max_s
        self.sent = Sent()
        self._wake = threading.Event()
        self._closing = threading.Event()
        self._give_up = threading.Event()
        self._done = threading.Event()
        self._noted: set[str] = set()
        self._noted_lock = threading.Lock()  # the upload thread and close() both note
        self._thread: threading.Thread | None = None

    @property
    def log_path(self) -> Path:
        if self.spool.path is None:
            raise RuntimeError("the run log is not open")
        return Path(self.spool.path)

    def open(self, run: dict[str, Any]) -> None:
        self.log_path  # noqa: B018  (the spool must be open: fail at start, not at the end)
        if self._thread is not None and self._thread.is_alive():
            return  # opened already: one upload thread per run, or each would say every note
        self._thread = threading.Thread(target=self._main, name="carbon-upload", daemon=True)
        self._thread.start()

    def interval(self, record: dict[str, Any]) -> None:
        self._wake.set()

    def close(self, summary: dict[str, Any]) -> None:
        try:
            _write_atomically(
                summary_path(self.log_path), json.dumps({"schema": SUMMARY_SCHEMA, **summary}, default=str)
            )
        except OSError as error:
            self._note("summary", f"run summary not kept for upload ({error})")
        self._closing.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(self.flush_timeout_s)
            if self._thread.is_alive():
                self._give_up.set()
                self._wake.set()
                self._thread.join(2.0)
        if not self._done.is_set():
            self.on_note(
                f"not everything reached {self.client.url}; it stays in {self.log_path} and "
                f"`carbon upload {self.log_path}` sends the rest"
            )

    def _note(self, kind: str, text: str) -> None:
        with self._noted_lock:
            if kind in self._noted:
                return
            self._noted.add(kind)
        self.on_note(text)

    def _main(self) -> None:
        delay_s = 0.5
        max_lines = MAX_LINES
        while not self._give_up.is_set():
            closing = self._closing.is_set()
            try:
                max_lines = send_pending(self.client, self.log_path, self.sent, max_lines)
                if closing:
                    send_summary(self.client, self.log_path, self.sent)
                    self._done.set()
                    return
                if "down" in self._noted:
                    with self._noted_lock:
                        self._noted.discard("down")
                    self.on_note(f"server {self.client.url} reachable again; the waiting records were sent")
                delay_s = 0.5
                self._wake.wait()
                self._wake.clear()
                continue
            except UploadError as error:
                if error.permanent:
                    self._note("refused", f"upload to {self.client.url} refused ({error}); the run log keeps it all")
                    return
                self._note("down", f"{error}; records wait in the run log and are sent when it answers")
            except Exception as error:  # never let the upload thread die silently or touch the run
                log.exception("upload failed")
                self._note("bug", f"upload stopped ({type(error).__name__}: {error}); the run log keeps it all")
                return
            if self._closing.is_set():  # the run is over: retry often until close gives up
                self._give_up.wait(min(delay_s, 1.0))
            else:  # back off, but start the final flush as soon as the run ends
                self._closing.wait(delay_s)
            delay_s = min(self.retry_max_s, delay_s * 2)
