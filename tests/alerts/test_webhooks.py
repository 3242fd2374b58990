"""fire_alert's bookkeeping and the webhook job's outcomes, run in this process against the real
FerretDB, Redis and an HTTP receiver (the worker's retry loop itself is covered by test_delivery)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
import pytest_asyncio
from arq import Retry, create_pool
from arq.connections import ArqRedis, RedisSettings
from arq.constants import default_queue_name
from beanie import PydanticObjectId
from pymongo import AsyncMongoClient

from briefings.alerts import Firing, fire_alert, webhook_job_id
from core.time import utcnow
from devtools.services import free_port
from documents import Alert, AlertKind, AlertRule, BriefingRequest, User, Webhook, connect_documents
from tests.alerts.conftest import Receiver
from workers.webhooks import deliver_webhook, retry_delay


@pytest_asyncio.fixture
async def arq(mongo_url: str, redis_url: str) -> AsyncIterator[ArqRedis]:
    """An arq pool on a Redis database of its own (no session worker takes these jobs), with Beanie
    initialised on the test store."""
    mongo: AsyncMongoClient[dict[str, object]] = await connect_documents(mongodb_uri=mongo_url)
    settings = RedisSettings.from_dsn(redis_url)
    settings.database = 1
    pool = await create_pool(settings)
    await pool.flushdb()
    yield pool
    await pool.aclose()
    await mongo.close()


@dataclass
class Scene:
    owner: User
    rule: AlertRule
    request: BriefingRequest


async def _scene() -> Scene:
    owner = User(username="hooked", password_hash="-")
    await owner.insert()
    assert owner.id is not None
    rule = AlertRule(owner_id=owner.id, kind=AlertKind.OCCUPANCY, threshold=2, seconds=5)
    await rule.insert()
    now = utcnow()
    request = BriefingRequest(
        owner_id=owner.id,
        name="r",
        interval=60,
        endtime="23:59",
        starts_at=now,
        ends_at=now + timedelta(hours=1),
        camera_id="demo",
    )
    await request.insert()
    return Scene(owner=owner, rule=rule, request=request)


FIRED_AT = utcnow().replace(microsecond=0)


async def _fire(arq: ArqRedis, scene: Scene, *, later: int = 0) -> Alert:
    """Fire the scene's rule: the same firing unless `later` (seconds) makes it a new one."""
    at = FIRED_AT + timedelta(seconds=later)
    firing = Firing(
        rule_id=str(scene.rule.id), kind=AlertKind.OCCUPANCY, since=at - timedelta(seconds=5), at=at, observed=3
    )
    assert scene.request.id is not None
    return await fire_alert(arq=arq, rule=scene.rule, request_id=scene.request.id, camera_id="demo", firing=firing)


async def _hook(scene: Scene, url: str) -> None:
    await Webhook(id=PydanticObjectId(scene.owner.id), url=url, secret="whsec_test").save()


async def _queued(arq: ArqRedis) -> list[str]:
    return [job.decode() for job in await arq.zrange(default_queue_name, 0, -1)]


@pytest.mark.asyncio
async def test_firing_the_same_alert_twice_stores_it_once_and_queues_one_delivery(
    arq: ArqRedis, receiver: Receiver
) -> None:
    # given an owner with a webhook
    scene = await _scene()
    await _hook(scene, receiver.url)
    # when the same firing is fired twice
    first, second = await _fire(arq, scene), await _fire(arq, scene)
    # then one alert is stored, announced, with one delivery job queued
    assert first.id == second.id
    assert await Alert.find(Alert.owner_id == scene.owner.id).count() == 1
    assert second.announced
    assert await _queued(arq) == [webhook_job_id(alert_id=str(first.id))]


@pytest.mark.asyncio
async def test_an_owner_without_a_webhook_gets_no_delivery_job(arq: ArqRedis) -> None:
    # given an owner without a webhook / when a rule of theirs fires
    scene = await _scene()
    alert = await _fire(arq, scene)
    # then the alert is stored and announced, and nothing is queued
    assert alert.announced
    assert await _queued(arq) == []


@pytest.mark.asyncio
async def test_a_failed_delivery_is_retried_with_exponential_backoff(arq: ArqRedis, receiver: Receiver) -> None:
    # given a webhook that answers 503
    receiver.statuses = [503]
    scene = await _scene()
    await _hook(scene, receiver.url)
    alert = await _fire(arq, scene)
    # when the job runs its first and third tries
    for job_try in (1, 3):
        with pytest.raises(Retry) as retry:
            await deliver_webhook({"job_try": job_try}, str(alert.id))
        # then each asks arq to retry after 2 s, then 8 s
        assert retry.value.defer_score == int(retry_delay(job_try) * 1000)
    assert [retry_delay(n) for n in (1, 2, 3, 4)] == [2.0, 4.0, 8.0, 16.0]
    stored = await Alert.get(str(alert.id))
    assert stored is not None
    assert (stored.webhook_attempts, stored.webhook_error, stored.webhook_delivered_at) == (3, "HTTP 503", None)


@pytest.mark.asyncio
async def test_the_last_try_gives_up_without_raising(arq: ArqRedis, receiver: Receiver) -> None:
    # given a webhook that keeps answering 500
    receiver.statuses = [500]
    scene = await _scene()
    await _hook(scene, receiver.url)
    alert = await _fire(arq, scene)
    # when the fifth try fails too / then the job ends quietly
    assert await deliver_webhook({"job_try": 5}, str(alert.id)) == "failed"


@pytest.mark.asyncio
async def test_a_client_error_answer_is_final(arq: ArqRedis, receiver: Receiver) -> None:
    # given a webhook that answers 410 Gone
    receiver.statuses = [410]
    scene = await _scene()
    await _hook(scene, receiver.url)
    alert = await _fire(arq, scene)
    # when the job runs / then it does not retry
    assert await deliver_webhook({"job_try": 1}, str(alert.id)) == "failed"
    assert receiver.answered == [410]


@pytest.mark.asyncio
async def test_an_unreachable_receiver_is_retried(arq: ArqRedis) -> None:
    # given a webhook on a port nobody listens on
    scene = await _scene()
    await _hook(scene, f"http://127.0.0.1:{free_port()}/hook")
    alert = await _fire(arq, scene)
    # when the job runs / then it asks for a retry, recording why
    with pytest.raises(Retry):
        await deliver_webhook({"job_try": 1}, str(alert.id))
    stored = await Alert.get(str(alert.id))
    assert stored is not None and stored.webhook_error == "ConnectError"


@pytest.mark.asyncio
async def test_the_logs_name_the_webhooks_host_only(
    arq: ArqRedis, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    # given a webhook whose path and query carry tokens, answering 500
    receiver.statuses = [500]
    scene = await _scene()
    await _hook(scene, f"{receiver.url}/s3cr3t-path?token=s3cr3t-query")
    alert = await _fire(arq, scene)
    # when the job runs with every logger at INFO (httpx logs each request there)
    with caplog.at_level(logging.INFO), pytest.raises(Retry):
        await deliver_webhook({"job_try": 1}, str(alert.id))
    # then the logs name the host, never the path or query
    assert receiver.answered == [500]
    assert "127.0.0.1" in caplog.text and "HTTP Request" in caplog.text
    assert "s3cr3t" not in caplog.text


@pytest.mark.asyncio
async def test_a_delivered_or_unhooked_alert_is_not_posted_again(arq: ArqRedis, receiver: Receiver) -> None:
    # given an alert delivered once
    scene = await _scene()
    await _hook(scene, receiver.url)
    alert = await _fire(arq, scene)
    assert await deliver_webhook({"job_try": 1}, str(alert.id)) == "delivered"
    # when the job runs again (jobs run at least once) / then nothing is posted
    assert await deliver_webhook({"job_try": 1}, str(alert.id)) == "gone"
    assert len(receiver.received) == 1
    # and a webhook removed before the delivery of a later alert means no delivery
    later = await _fire(arq, scene, later=60)
    await Webhook.find_one(Webhook.id == scene.owner.id).delete()
    assert await deliver_webhook({"job_try": 1}, str(later.id)) == "gone"
    assert await deliver_webhook({"job_try": 1}, "no-such-alert") == "gone"
    assert len(receiver.received) == 1
