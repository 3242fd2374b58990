"""The one LLM client: an ``AsyncOpenAI`` wrapper with deadlines and a per-user hourly budget.

Built once per process (worker ``on_startup``, server lifespan) with :func:`build_llm_client` and
shared by every caption and summary. It talks to OpenAI or to any OpenAI-compatible server
(Ollama, vLLM, LM Studio …) through ``OPENAI_BASE_URL``.

Every failure — budget spent, timeout, 429, 5xx, connection error, empty answer — surfaces as
:class:`LLMUnavailable` with a short ``reason``; callers turn it into the template text.

Budget: one counter per user per clock hour in Redis (``briefing:llm-calls:<user>:<hour>``),
shared by every worker. A call is counted once however many HTTP retries the SDK makes. Captions
may use ``llm_calls_per_hour`` calls; a summary, which the owner asks for explicitly, may go
:data:`SUMMARY_HEADROOM` calls beyond that, so a long briefing's captions never starve it.
Refused calls are not counted. If Redis cannot be reached the call is refused (fail closed).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import openai
from openai import AsyncOpenAI
from openai.types.chat import ChatCompletionMessageParam
from redis.asyncio import Redis
from redis.exceptions import RedisError

from core import metrics
from core.settings import Settings

__all__ = [
    "DEFAULT_BASE_URL",
    "SUMMARY_HEADROOM",
    "ChatMessage",
    "LLMClient",
    "LLMReply",
    "LLMUnavailable",
    "Purpose",
    "build_llm_client",
]

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.openai.com/v1"
SUMMARY_HEADROOM = 10
"""Extra calls per hour a summary may use once captions have spent the hourly budget."""

Purpose = Literal["caption", "summary"]
Reason = Literal["budget", "timeout", "rate_limited", "server_error", "error", "empty"]

_BUDGET_KEY_TTL_SECONDS = 2 * 3600
# Count the call only while under the limit, so refused calls do not eat the headroom.
_SPEND_SCRIPT = """
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if used >= tonumber(ARGV[1]) then
  return -1
end
used = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return used
"""


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One chat message: ``role`` is ``system`` or ``user``."""

    role: Literal["system", "user"]
    content: str


@dataclass(frozen=True, slots=True)
class LLMReply:
    """The model's answer text and the model that wrote it."""

    text: str
    model: str


class LLMUnavailable(Exception):
    """The LLM gave no usable answer; ``reason`` says why (budget, timeout, rate_limited …)."""

    def __init__(self, reason: Reason, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason: Reason = reason


class LLMClient:
    """Chat completions with a deadline per purpose and a shared per-user hourly budget."""

    def __init__(
        self,
        *,
        openai_client: AsyncOpenAI,
        redis: Redis,
        caption_model: str,
        summary_model: str,
        caption_timeout_seconds: float,
        summary_timeout_seconds: float,
        calls_per_hour: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._openai = openai_client
        self._redis = redis
        self._models: dict[Purpose, str] = {"caption": caption_model, "summary": summary_model}
        self._timeouts: dict[Purpose, float] = {
            "caption": caption_timeout_seconds,
            "summary": summary_timeout_seconds,
        }
        self._calls_per_hour = calls_per_hour
        self._clock = clock
        self._spend = redis.register_script(_SPEND_SCRIPT)

    def _budget_key(self, *, user_id: str) -> str:
        hour = int(self._clock() // 3600)
        return f"briefing:llm-calls:{user_id}:{hour}"

    def _limit(self, *, purpose: Purpose) -> int:
        if self._calls_per_hour <= 0:
            return 0
        extra = SUMMARY_HEADROOM if purpose == "summary" else 0
        return self._calls_per_hour + extra

    async def try_spend(self, *, user_id: str, purpose: Purpose) -> bool:
        """Count one call against the user's hourly budget; False (and nothing counted) if spent."""
        limit = self._limit(purpose=purpose)
        if limit <= 0:
            return False
        key = self._budget_key(user_id=user_id)
        try:
            used = await self._spend(keys=[key], args=[limit, _BUDGET_KEY_TTL_SECONDS])
        except RedisError as exc:
            log.warning("LLM budget unavailable (Redis): %s; using the template", exc)
            return False
        return int(used) > 0

    @metrics.counts_llm_calls  # by result: success, or the LLMUnavailable reason
    async def chat(
        self,
        *,
        purpose: Purpose,
        messages: Sequence[ChatMessage],
        user_id: str,
        temperature: float,
        top_p: float | None = None,
        max_tokens: int,
    ) -> LLMReply:
        """One chat completion within the purpose's deadline, retries included.

        Raises :class:`LLMUnavailable` for every way the LLM can fail; never anything else from
        the network.
        """
        if not await self.try_spend(user_id=user_id, purpose=purpose):
            raise LLMUnavailable("budget", f"user {user_id} spent {self._calls_per_hour}/hour")
        deadline = self._timeouts[purpose]
        try:
            async with asyncio.timeout(deadline):
                return await self._complete(
                    purpose=purpose,
                    messages=messages,
                    temperature=temperature,
                    top_p=top_p,
                    max_tokens=max_tokens,
                )
        except TimeoutError as exc:
            raise LLMUnavailable("timeout", f"no answer within {deadline:g}s") from exc
        except openai.APITimeoutError as exc:
            raise LLMUnavailable("timeout", str(exc)) from exc
        except openai.RateLimitError as exc:
            raise LLMUnavailable("rate_limited", str(exc)) from exc
        except openai.InternalServerError as exc:
            raise LLMUnavailable("server_error", str(exc)) from exc
        except openai.OpenAIError as exc:
            raise LLMUnavailable("error", f"{type(exc).__name__}: {exc}") from exc

    async def _complete(
        self,
        *,
        purpose: Purpose,
        messages: Sequence[ChatMessage],
        temperature: float,
        top_p: float | None,
        max_tokens: int,
    ) -> LLMReply:
        payload: list[ChatCompletionMessageParam] = [
            {"role": "system", "content": m.content} if m.role == "system" else {"role": "user", "content": m.content}
            for m in messages
        ]
        response = await self._openai.chat.completions.create(
            model=self._models[purpose],
            messages=payload,
            temperature=temperature,
            top_p=top_p if top_p is not None else openai.omit,
            max_tokens=max_tokens,
            timeout=self._timeouts[purpose],
        )
        text = response.choices[0].message.content if response.choices else None
        if not text or not text.strip():
            raise LLMUnavailable("empty", "the model answered with no text")
        return LLMReply(text=text.strip(), model=response.model or self._models[purpose])

    async def aclose(self) -> None:
        """Close the HTTP connections (the Redis client belongs to the caller)."""
        await self._openai.close()


def build_llm_client(settings: Settings, redis: Redis) -> LLMClient | None:
    """The process's LLM client, or None when no API key is configured (template-only mode)."""
    if not settings.llm_enabled:
        return None
    openai_client = AsyncOpenAI(
        api_key=settings.openai_api_key,
        base_url=settings.openai_base_url or DEFAULT_BASE_URL,
        timeout=settings.summary_timeout_seconds,
        max_retries=settings.llm_max_retries,
    )
    return LLMClient(
        openai_client=openai_client,
        redis=redis,
        caption_model=settings.caption_model,
        summary_model=settings.summary_model,
        caption_timeout_seconds=settings.caption_timeout_seconds,
        summary_timeout_seconds=settings.summary_timeout_seconds,
        calls_per_hour=settings.llm_calls_per_hour,
    )
