"""Online mode: download the public raw files into a folder laid out like ../shared/datasets.

Each dataset's upstream base URL (sources.DATASETS) can be replaced with its environment
variable (e.g. CARBON_URL_EMBER, upstream layout), or every dataset pointed at one mirror laid out
like the raw folder with CARBON_DATASETS_MIRROR. Every request has a timeout; any failure is a
FetchError naming the URL, and the caller then writes nothing.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import TextIO
from urllib.parse import quote

from carbon.errors import NetworkError

from .sources import DATASETS, Dataset

MIRROR_ENV = "CARBON_DATASETS_MIRROR"
CHUNK = 1 << 16
USER_AGENT = "carbon-intensity-updater/1 (+https://github.com/carbon/carbon)"


class FetchError(NetworkError):
    """A raw file could not be downloaded."""


class NotPublished(FetchError):
    """HTTP 404: the file does not exist upstream (yet)."""


def url_for(dataset: Dataset, name: str) -> str:
    """The dataset's own variable wins, then the mirror, then the published upstream URL."""
    base = os.environ.get(dataset.env)
    if base:
        return f"{base.rstrip('/')}/{quote(name)}"
    mirror = os.environ.get(MIRROR_ENV)
    if mirror:
        return f"{mirror.rstrip('/')}/{quote(f'{dataset.folder}/{dataset.prefix}{name}')}"
    return f"{dataset.base_url.rstrip('/')}/{quote(name)}"


def _download(url: str, target: Path, timeout_s: float, progress: _Progress) -> None:
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            if response.status != 200:
                raise FetchError(f"{url}: HTTP {response.status}")
            total = int(response.headers.get("Content-Length") or 0)
            target.parent.mkdir(parents=True, exist_ok=True)
            with target.open("wb") as handle:
                while True:
                    block = response.read(CHUNK)
                    if not block:
                        break
                    handle.write(block)
                    progress.advance(len(block), total)
    except urllib.error.HTTPError as error:
        kind = NotPublished if error.code == 404 else FetchError
        raise kind(f"{url}: HTTP {error.code} {error.reason}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise FetchError(f"{url}: {reason}") from None


class _Progress:
    """A one-line progress bar on stderr: files done, bytes of the current file."""

    def __init__(self, files: int, stream: TextIO):
        self.files, self.done, self.stream, self.name, self.bytes = files, 0, stream, "", 0

    def start(self, name: str) -> None:
        self.name, self.bytes = name, 0
        self._draw(0)

    def advance(self, count: int, total: int) -> None:
        self.bytes += count
        self._draw(total)

    def finish(self) -> None:
        self.done += 1
        self._draw(0)

    def _draw(self, total: int) -> None:
        width = 24
        filled = int(width * self.done / self.files) if self.files else width
        size = f"{self.bytes / 1e6:.1f}" + (f"/{total / 1e6:.1f}" if total else "") + " MB"
        self.stream.write(
            f"\r[{'#' * filled}{' ' * (width - filled)}] {self.done}/{self.files} {size} {self.name[-50:]:50}"
        )
        if self.done == self.files:
            self.stream.write("\n")
        self.stream.flush()


def download_all(dest: Path, timeout_s: float = 60.0, stream: TextIO | None = None) -> list[Path]:
    jobs = [(d, name, False) for d in DATASETS for name in d.files]
    jobs += [(d, name, True) for d in DATASETS for name in d.optional]
    progress = _Progress(len(jobs), stream or sys.stderr)
    written = []
    for dataset, name, optional in jobs:
        local = dest / dataset.folder / f"{dataset.prefix}{name}"
        progress.start(f"{dataset.folder}/{name}")
        try:
            _download(url_for(dataset, name), local, timeout_s, progress)
            written.append(local)
        except NotPublished:
            if not optional:
                raise
        progress.finish()
    return written
