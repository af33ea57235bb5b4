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


def page_faults() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


@pytest.mark.skipif(not sys.platform.startswith("linux") or _malloc_trim() is None, reason="glibc only")
def test_freed_blocks_are_reused_within_a_run_priced_in_parts():
    """Four 8 MiB arrays allocated, filled and freed three times over, as a run's parts do: glibc
    by default maps the first round afresh, then trims the heap's top (32 MiB free, over twice
    the 8 MiB threshold) and faults every page in again; kept, the last two rounds fault nothing."""
    from carbon.batch.memory import reusing_freed_memory

    pages = 4 * 8 * 1024 * 1024 // 4096
    with reusing_freed_memory():
        faults = []
        for _ in range(3):
            before = page_faults()
            blocks = [bytearray(8 * 1024 * 1024) for _ in range(4)]  # zero-filled: every page touched
            faults.append(page_faults() - before)
            del blocks
    assert faults[0] > pages / 2  # the first round's pages are new
    assert faults[1] + faults[2] < pages / 10


def test_arrow_buffers_come_from_the_heap_within_a_run_priced_in_parts():
    import pyarrow as pa

    from carbon.batch.memory import reusing_freed_memory

    before = pa.default_memory_pool().backend_name
    with reusing_freed_memory():
        assert pa.default_memory_pool().backend_name == "system"
        kept = pa.array([1.5] * 1000)
    assert pa.default_memory_pool().backend_name == before
    assert kept.sum().as_py() == 1500.0  # a buffer from the pool of the run, still whole
