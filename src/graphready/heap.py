"""Giving freed memory back to the operating system after a large load.

Loading a graph or a model allocates and frees a great deal at once (decoded rows, a model's
bytes while onnxruntime builds its session). glibc's allocator keeps what was freed for reuse,
so the process's resident memory stays near the peak of the load; ``malloc_trim`` returns the
free pages. On a C library without it (macOS, musl) this does nothing.
"""

from __future__ import annotations

import ctypes


def release_free_memory() -> bool:
    """Return the C heap's free pages to the system (a few milliseconds; no garbage collection:
    what a load frees is freed by reference counting); False where the C library cannot."""
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return False
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    trim(0)
    return True
