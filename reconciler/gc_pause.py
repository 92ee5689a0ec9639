"""Pausing Python's cyclic garbage collector around big loads and saves.

Loading a desired state or an emulator tenant allocates millions of small acyclic objects;
the collector would rescan the whole heap again and again (half the time of a 100k-user
load) and free nothing.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def without_gc() -> Iterator[None]:
    """The collector paused inside, restored to what it was after."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
