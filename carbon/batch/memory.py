"""Handing freed memory back to the system between the phases of a batch run (read, price, write).

A million-job run frees hundreds of MB between phases: the reader's raw fields, the engine's
temporaries. Neither allocator gives it back by itself: Arrow's pool caches freed blocks, and
glibc's malloc, once numpy has freed a few large arrays, raises its mmap threshold so that later
arrays of that size come from the heap, whose freed chunks it keeps. The next phase, which
allocates differently, cannot reuse them, so they add to the run's peak (about 200 MB at 1 M jobs)
until they are released here.

Arrow's own buffers (the reader's fields, the output's texts, the Parquet writer's pages) are
allocated, for a batch run, from Arrow's jemalloc pool set to return freed pages at once: its
default pool (mimalloc) keeps them for reuse, which at a million jobs held ~100 MB more at the
run's peak than the same run on jemalloc (carbon batch, 1 M jobs: 780 -> 670 MB from sacct text).

A Parquet log priced part by part (carbon.batch.run.estimate_parquet_columns) is the opposite
case: it allocates the same arrays again for every part, so there what is freed is kept for the
next part (reusing_freed_memory), numpy's and Arrow's alike, instead of handed back and faulted
in again.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

log = logging.getLogger(__name__)


def release_freed_memory() -> None:
    """Return the freed blocks of Arrow's pool and of the C heap (glibc's malloc_trim) to the system."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


# glibc's malloc.h: mallopt's parameters, and its thresholds' fixed defaults.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_DEFAULT_THRESHOLD = 128 * 1024


@contextmanager
def reusing_freed_memory() -> Iterator[None]:
    """Within: freed memory is kept for the next allocation. A run priced part by part frees and
    allocates the same arrays over and over, and each one handed back to the system and taken
    again costs a page fault per 4 KiB, zeroed.

    - glibc's malloc keeps freed blocks up to 32 MB. By default, blocks from 128 KiB (or the
      largest freed so far) to 32 MB are mapped afresh, and a heap top with more than twice that
      free is trimmed. Afterwards the thresholds are glibc's defaults again, fixed (glibc has no
      way back to its sliding ones): what the run freed goes back to the system with the next
      free() that leaves the heap's top over 128 KiB free.
    - Arrow's buffers come from that same heap (its system pool) instead of its default,
      mimalloc, which decommits freed pages within milliseconds: the Parquet reader's and
      writer's buffers were faulted in again for every part and column.

    Measured on a 1 M-job Parquet run (medians of 8 to 10, interleaved): the malloc thresholds
    took system CPU from 0.43 to 0.29 s, Arrow's system pool then from 0.65 to 0.41 s (all CPU
    2.20 -> 1.90 s, peak RSS ~550 -> ~485 MB). Process-wide, as allocators are; Arrow's default
    pool is set back afterwards (buffers still alive go back to the pool they came from); the
    malloc part is a no-op without glibc."""
    import pyarrow as pa

    arrow_pool = pa.default_memory_pool()
    pa.set_memory_pool(pa.system_memory_pool())
    mallopt = _libc("mallopt")
    if mallopt is not None:
        mallopt(_M_MMAP_THRESHOLD, 32 * 1024 * 1024)  # glibc's largest
        mallopt(_M_TRIM_THRESHOLD, 1024 * 1024 * 1024)
    try:
        yield
    finally:
        if mallopt is not None:
            mallopt(_M_TRIM_THRESHOLD, _DEFAULT_THRESHOLD)
            mallopt(_M_MMAP_THRESHOLD, _DEFAULT_THRESHOLD)
        pa.set_memory_pool(arrow_pool)


def _malloc_trim() -> Any:
    """glibc's malloc_trim, or None elsewhere (macOS, musl) where there is none to call."""
    return _libc("malloc_trim")


def _libc(name: str) -> Any:
    """A glibc function, or None elsewhere (macOS, musl)."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:  # the symbols already loaded into the process, libc's among them: no library search
        return getattr(ctypes.CDLL(None), name)
    except (OSError, AttributeError) as error:
        log.debug("no %s: %s", name, error)
        return None


def use_returning_pool() -> None:
    """Make Arrow's jemalloc pool, returning freed pages to the system at once, the process's
    default Arrow pool; where this pyarrow is built without jemalloc (Windows) the default stays.

    Process-wide, as Arrow's default pool is: buffers already allocated keep their own pool, and
    the decay setting applies only to Arrow's private jemalloc, never to the C heap."""
    import pyarrow as pa

    try:
        pool = pa.jemalloc_memory_pool()
        pa.jemalloc_set_decay_ms(0)
    except NotImplementedError as error:  # pyarrow.lib.ArrowNotImplementedError derives from it
        log.debug("no jemalloc pool: %s", error)
        return
    pa.set_memory_pool(pool)
