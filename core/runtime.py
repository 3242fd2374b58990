"""The garbage collector of our long-running processes (the API and the worker).

Every live event allocates short-lived objects in every subscriber's stream, so a fan-out to a
thousand subscribers triggers many young collections, each scanning what the subscriptions hold at
that moment, and promotes enough of it that full collections follow, which scan every object of
the process: a pause of hundreds of milliseconds in the middle of a fan-out. A worker holds even
more from start-up (PyTorch, the detector, the tracker's libraries: some 325 000 objects), and one
full collection of it took 230 ms on a 2-core machine, long enough to make the ticks due meanwhile
late. Two settings cut it:

* what start-up built (modules, the schema, the services) is frozen after start-up, so no later
  collection scans it again;
* the young generation's threshold is raised from 700 to `YOUNG_THRESHOLD` allocations, so that the
  objects of one fan-out mostly die before a collection sees them.
"""

from __future__ import annotations

import gc
from typing import Final

YOUNG_THRESHOLD: Final = 20_000


def tune_garbage_collector() -> None:
    """Freeze the objects built so far and raise the young generation's threshold (older ones unchanged)."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
