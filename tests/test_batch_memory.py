"""Freed memory handed back between the phases of a batch run (carbon.batch.memory)."""

from __future__ import annotations

import sys

import pytest

from carbon.batch.memory import _malloc_trim, release_freed_memory


def resident_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(not sys.platform.startswith("linux") or _malloc_trim() is None, reason="glibc only")
def test_freed_heap_memory_goes_back_to_the_system():
    # 1,500 blocks of 96 KiB (under glibc's 128 KiB mmap threshold: they come from the heap), all
    # freed but the last, which pins the heap's top so that free() alone cannot shrink it.
    blocks = [bytearray(96 * 1024) for _ in range(1500)]
    for block in blocks:
        block[::4096] = b"x" * len(block[::4096])  # touch every page: resident
    last = blocks[-1]
    del blocks
    held = resident_mb()
    release_freed_memory()
    assert held - resident_mb() > 70  # of the ~140 MB freed
    assert last[0] == ord("x")


def test_release_is_harmless_anywhere():
    release_freed_memory()  # a no-op where there is no malloc_trim (macOS, musl)


def test_a_batch_run_allocates_arrow_buffers_from_a_returning_pool():
    """`carbon batch` makes Arrow's jemalloc pool (freed pages returned at once) the default, where
    this pyarrow has jemalloc; elsewhere the default pool stays as it was."""
    import pyarrow as pa

    from carbon.batch.memory import use_returning_pool

    before = pa.default_memory_pool()
    try:
        use_returning_pool()
        try:
            pa.jemalloc_memory_pool()
        except NotImplementedError:
            assert pa.default_memory_pool().backend_name == before.backend_name
        else:
            assert pa.default_memory_pool().backend_name == "jemalloc"
            assert pa.array(["a text"] * 1000).to_pylist()[-1] == "a text"  # allocates from it
    finally:
        pa.set_memory_pool(before)
