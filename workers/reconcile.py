"""The reconciler loop: restore lost ticks at worker start and then periodically."""

from __future__ import annotations

import asyncio
import logging

from arq.connections import ArqRedis

from briefings.reconcile import reconcile

log = logging.getLogger("briefing.reconcile")


async def reconcile_forever(*, arq: ArqRedis, every: float) -> None:
    """Reconcile now and then every `every` seconds, surviving Redis and MongoDB outages."""
    while True:
        try:
            await reconcile(arq=arq)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # keep the loop alive whatever failed (Redis, MongoDB, a bug)
            log.warning("reconcile failed: %s", error)
        await asyncio.sleep(every)
