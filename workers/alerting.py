"""Alert rules evaluated on every watched frame (the camera watcher's `on_frame` hook).

For each watched camera this reads, at most every `REFRESH_SECONDS`, the requests running on it and
their owners' enabled rules; each frame becomes one `Sample` evaluated against each owner's rules,
with one `AlertState` per owner kept in the watcher's checkpoint (so a worker taking the camera over
neither fires twice nor forgets a condition that had started to hold). Firings are stored, announced
and handed to the webhook job by `fire_alert` in a task of their own: a frame never waits on them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from arq.connections import ArqRedis
from beanie import PydanticObjectId
from pymongo.errors import PyMongoError

from briefings.alerts import AlertState, RuleSpec, Sample, evaluate, fire_alert, rules_for
from briefings.watch import WatchState
from documents import AlertRule, BriefingRequest, RequestStatus, doc_id
from inference.cameras import CameraConfig

log = logging.getLogger("briefing.alerts")
REFRESH_SECONDS = 5.0


@dataclass
class _Running:
    request_id: PydanticObjectId
    owner_id: PydanticObjectId
    rules: list[AlertRule]


@dataclass
class _CameraRules:
    read_at: float = 0.0
    running: list[_Running] = field(default_factory=list)


class WatchAlerts:
    """The watcher's alert hook: one per worker, shared by its watched cameras."""

    def __init__(self, *, arq: ArqRedis) -> None:
        self._arq = arq
        self._cameras: dict[str, _CameraRules] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def on_frame(self, camera: CameraConfig, state: WatchState, extra: dict[str, Any]) -> dict[str, Any]:
        """Evaluate the camera's rules on one frame; returns the alert states to checkpoint."""
        running = await self._running(camera.id)
        if not running:
            return extra
        states: dict[str, str] = dict(extra.get("alerts") or {})
        sample = Sample.of_watch(state, zones=[zone.id for zone in camera.zones])
        for run in running:
            key = str(run.owner_id)
            previous = AlertState.loads(states[key]) if key in states else AlertState()
            outcome = evaluate(rules=[RuleSpec.of(rule) for rule in run.rules], samples=[sample], state=previous)
            states[key] = outcome.state.dumps()
            by_id = {str(rule.id): rule for rule in run.rules}
            for firing in outcome.firings:
                rule = by_id.get(firing.rule_id)
                if rule is not None:
                    self._spawn(rule=rule, run=run, camera_id=camera.id, firing=firing)
        return {**extra, "alerts": states}

    async def aclose(self) -> None:
        """Let the firings in flight finish."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _running(self, camera_id: str) -> list[_Running]:
        cached = self._cameras.setdefault(camera_id, _CameraRules())
        if time.monotonic() - cached.read_at < REFRESH_SECONDS:
            return cached.running
        try:
            requests = await BriefingRequest.find(
                BriefingRequest.status == RequestStatus.ACTIVE, BriefingRequest.camera_id == camera_id
            ).to_list()
            cached.running = [
                _Running(request_id=doc_id(r), owner_id=r.owner_id, rules=rules)
                for r in requests
                if (rules := await rules_for(owner_id=r.owner_id, camera_id=camera_id))
            ]
        except PyMongoError as error:
            log.warning("camera %s: alert rules unreadable (%s); keeping the last ones", camera_id, error)
        cached.read_at = time.monotonic()
        return cached.running

    def _spawn(self, *, rule: AlertRule, run: _Running, camera_id: str, firing: Any) -> None:
        async def fire() -> None:
            for attempt in range(3):
                try:
                    alert = await fire_alert(
                        arq=self._arq, rule=rule, request_id=run.request_id, camera_id=camera_id, firing=firing
                    )
                    log.info("camera %s: alert %s fired (%s)", camera_id, alert.id, rule.kind)
                    return
                except Exception:  # a store or Redis failure: fire_alert is idempotent, so try again
                    log.exception("camera %s: alert of rule %s not delivered (try %d)", camera_id, rule.id, attempt + 1)
                    await asyncio.sleep(1.0 + attempt)

        task = asyncio.create_task(fire())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
