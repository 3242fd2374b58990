"""The webhook job: POST one alert to its owner's webhook, signed, retried with backoff by arq.

`deliver_webhook(ctx, alert_id)` re-reads the alert and the owner's webhook (the URL and secret
current at delivery time), POSTs the alert's JSON with

    X-Briefing-Timestamp: <Unix seconds>
    X-Briefing-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>." + body, keyed with the secret>
    X-Briefing-Alert: <alert id>   (the same on every retry: receivers de-duplicate by it)

and records the outcome on the alert. A connection error, a timeout, a 408, a 429 or a 5xx answer
is retried by arq (`Retry`) after 2, 4, 8 and 16 seconds, five tries in all; any other answer is
final. The job never raises anything but `Retry`: it runs apart from ticks and the watcher, and a
receiver that is down costs only its own deliveries. Redirects are not followed. Logs show the
webhook as `scheme://host[:port]` only.
"""

from __future__ import annotations

import logging
import time
from contextvars import ContextVar
from typing import Any

import httpx
from arq import Retry, func

from briefings.alerts import (
    ALERT_ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WEBHOOK_FUNCTION,
    WebhookUrlError,
    check_webhook_url,
    redacted_url,
    webhook_body,
    webhook_signature,
)
from core.time import utcnow
from documents import Alert, Webhook

log = logging.getLogger("briefing.webhooks")

MAX_TRIES = 5
FIRST_RETRY_SECONDS = 2.0
TIMEOUT_SECONDS = 5.0
_RETRYABLE_STATUS = frozenset({408, 429})
_USER_AGENT = "bangguseok-briefing-webhook/1"
_POSTING: ContextVar[bool] = ContextVar("webhook_posting", default=False)


class _RedactWebhookUrls(logging.Filter):
    """httpx logs every request's full URL at INFO; while a webhook is posted, only its host is logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _POSTING.get() and isinstance(record.args, tuple):
            record.args = tuple(redacted_url(str(a)) if isinstance(a, httpx.URL) else a for a in record.args)
        return True


logging.getLogger("httpx").addFilter(_RedactWebhookUrls())


def retry_delay(job_try: int) -> float:
    """Seconds before try `job_try + 1`: 2, 4, 8, 16 …"""
    return FIRST_RETRY_SECONDS * float(2 ** (job_try - 1))


async def deliver_webhook(ctx: dict[str, Any], alert_id: str) -> str:
    """arq job: deliver one alert; returns what happened ("delivered", "gone", "refused", "failed")."""
    job_try = int(ctx.get("job_try", 1))
    try:
        return await _deliver(alert_id=alert_id, job_try=job_try, transport=ctx.get("webhook_transport"))
    except Retry:
        raise
    except Exception as error:  # a bug or a store outage: logged, never raised into the worker
        log.warning("webhook delivery of alert %s failed: %s", alert_id, type(error).__name__)
        return "failed"


async def _deliver(*, alert_id: str, job_try: int, transport: httpx.AsyncBaseTransport | None) -> str:
    alert = await Alert.get(alert_id)
    if alert is None or alert.webhook_delivered_at is not None:
        return "gone"
    webhook = await Webhook.get(alert.owner_id)
    if webhook is None:
        return "gone"  # removed since the alert fired
    try:
        url = check_webhook_url(webhook.url)
    except WebhookUrlError as refused:
        await _record(alert_id=alert_id, attempts=job_try, error=str(refused))
        return "refused"
    problem = await _post(url=url, secret=webhook.secret, alert=alert, transport=transport)
    if problem is None:
        await _record(alert_id=alert_id, attempts=job_try, error=None)
        log.info("alert %s delivered to %s", alert_id, redacted_url(url))
        return "delivered"
    error, retryable = problem
    await _record(alert_id=alert_id, attempts=job_try, error=error)
    if retryable and job_try < MAX_TRIES:
        log.info("alert %s to %s: %s; retrying (try %d)", alert_id, redacted_url(url), error, job_try)
        raise Retry(defer=retry_delay(job_try))
    log.warning("alert %s to %s: %s; giving up after %d tries", alert_id, redacted_url(url), error, job_try)
    return "failed"


async def _post(
    *, url: str, secret: str, alert: Alert, transport: httpx.AsyncBaseTransport | None
) -> tuple[str, bool] | None:
    """POST the signed alert; None when the receiver took it, else (what went wrong, whether to retry)."""
    body = webhook_body(alert)
    timestamp = int(time.time())
    headers = {
        "content-type": "application/json",
        "user-agent": _USER_AGENT,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: webhook_signature(secret=secret, timestamp=timestamp, body=body),
        ALERT_ID_HEADER: str(alert.id),
    }
    posting = _POSTING.set(True)
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS, follow_redirects=False, transport=transport) as client:
            response = await client.post(url, content=body, headers=headers)
    except httpx.HTTPError as error:
        return type(error).__name__, True  # the exception text may quote the URL
    finally:
        _POSTING.reset(posting)
    if 200 <= response.status_code < 300:
        return None
    retryable = response.status_code >= 500 or response.status_code in _RETRYABLE_STATUS
    return f"HTTP {response.status_code}", retryable


async def _record(*, alert_id: str, attempts: int, error: str | None) -> None:
    changes: dict[str, object] = {"webhook_attempts": attempts, "webhook_error": error}
    if error is None:
        changes["webhook_delivered_at"] = utcnow()
    await Alert.find_one(Alert.id == alert_id).update({"$set": changes})


# arq leases every job for the longest timeout of the worker's functions (+10 s): were this job the
# longest, a dead worker's ticks would wait for it before they run again. One POST is bounded by
# TIMEOUT_SECONDS, so a second more is enough, and stays below any tick timeout in use.
WEBHOOK_JOB = func(deliver_webhook, name=WEBHOOK_FUNCTION, timeout=TIMEOUT_SECONDS + 1, max_tries=MAX_TRIES)
"""The job as the worker registers it."""
