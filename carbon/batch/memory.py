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
"""

from __future__ import annotations

import logging
import sys
from typing import Any

log = logging.getLogger(__name__)


def release_freed_memory() -> None:
    """Return the freed blocks of Arrow's pool and of the C heap (glibc's malloc_trim) to the system."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def _malloc_trim() -> Any:
    """glibc's malloc_trim, or None elsewhere (macOS, musl) where there is none to call."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:  # the symbols already loaded into the process, libc's among them: no library search
        return ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError) as error:
        log.debug("no malloc_trim: %s", error)
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
