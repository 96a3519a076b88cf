"""Process tuning: what a worker process does once, as it starts, to use less memory and
less time, each behind a switch in configuration (app.config.Settings). Neither changes
what a page shows (tests/test_speed_switches.py renders the pages with both off).

- BATON_MALLOC_ARENAS (default 2; 0 leaves the C library's default): see
  limit_malloc_arenas.
- BATON_MALLOC_RELEASE_KIB (default 128; 0 leaves the C library's default): see
  release_freed_memory.
- BATON_FREEZE_GC (default on): see freeze_imported_objects.
"""

import ctypes
import gc
from collections.abc import Iterator
from contextlib import contextmanager

from app.config import Settings

# From glibc's malloc.h.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8


def _mallopt(*settings: tuple[int, int]) -> None:
    """glibc's mallopt; elsewhere than glibc, nothing to do."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        for parameter, value in settings:
            libc.mallopt(parameter, value)
    except (OSError, AttributeError):
        pass


def limit_malloc_arenas(arenas: int) -> None:
    """glibc gives each thread that allocates under contention an arena of its own (up
    to eight per core) and keeps what it frees there: the thread pool's threads, each
    rendering a 100 KB page, held 20-25 MiB more at peak than two arenas do, at the
    same throughput (bench/RESULTS.md). Elsewhere than glibc, nothing to do.

    Invariant: it only decides where freed memory waits to be used again, never what
    any allocation holds; and it is set before the first request, while the thread
    pool's threads have made no arenas of their own (an arena once made stays)."""
    _mallopt((_M_ARENA_MAX, arenas))


def release_freed_memory(kib: int) -> None:
    """glibc keeps what a process frees for its next allocations, and raises the sizes
    from which it hands memory back (mmap and trim thresholds) each time a large block is
    freed: after a few hundred pages a worker held 24 MiB more than it used (114 MiB
    against 99 after malloc_trim, bench/memory.py). Fixed at `kib`, blocks that large
    come from mmap and go back when freed, and a heap's free top is trimmed.

    Invariant: like the arenas, it decides only when freed memory is returned to the
    system, never what any allocation holds."""
    size = kib * 1024
    _mallopt((_M_MMAP_THRESHOLD, size), (_M_TRIM_THRESHOLD, size))


def freeze_imported_objects() -> None:
    """Everything imported so far lives as long as the process: moved out of the garbage
    collector's sight, a full collection no longer walks it (pauses of tens of ms).

    Invariant: a frozen object is never collected, so this runs once, at start-up,
    before the first request and after a full collection (nothing already garbage is
    frozen); what requests make later is collected as usual. unfreeze_objects undoes it
    when the process ends."""
    gc.collect()
    gc.freeze()


def unfreeze_objects() -> None:
    gc.unfreeze()


@contextmanager
def tuned_process(settings: Settings) -> Iterator[None]:
    """The process's life, tuned as its settings say (the application's lifespan)."""
    if settings.malloc_arenas > 0:
        limit_malloc_arenas(settings.malloc_arenas)
    if settings.malloc_release_kib > 0:
        release_freed_memory(settings.malloc_release_kib)
    if settings.freeze_gc:
        freeze_imported_objects()
    try:
        yield
    finally:
        if settings.freeze_gc:
            unfreeze_objects()
