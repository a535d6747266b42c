"""The cyclic garbage collector, paused while consolidation allocates in bulk.

A consolidation holds tens of thousands of live containers (a checked result per bundle, the
roster's entries, the summary's rows). CPython starts a full collection whenever the objects
that survived young collections grow by a quarter, and each walks everything alive: building
and signing a 10,000-row 附件4 spent 0.2–0.5 s in such walks, and a bundle check 0.14 ms. The
work done here leaves almost no cycles (none in 1,500 of the benchmark's bundles), so the
collector is switched off for the span; a caller that runs long collects the young generations
itself (`gc.collect(1)`), so memory stays bounded. The collector's own schedule resumes
afterwards if it was on.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
