"""Reads by primary key made at the same moment share one query, against the real store."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import pytest_asyncio
from beanie import PydanticObjectId, init_beanie
from pymongo import AsyncMongoClient, monitoring
from pymongo.uri_parser import parse_uri

from core.time import utcnow
from documents import ALERT_DOCUMENTS, ALL_DOCUMENTS, Session, User, get_by_id
from documents.init import DEFAULT_DATABASE


class Finds(monitoring.CommandListener):
    """The `find` commands the client sent, by collection."""

    def __init__(self) -> None:
        self.collections: list[str] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name == "find":
            self.collections.append(str(event.command["find"]))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


@pytest_asyncio.fixture
async def finds(mongo_url: str) -> AsyncIterator[Finds]:
    """Beanie on the real store, with every `find` it sends counted."""
    listener = Finds()
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(mongo_url, tz_aware=True, event_listeners=[listener])
    database = client[parse_uri(mongo_url).get("database") or DEFAULT_DATABASE]
    await init_beanie(database=database, document_models=[*ALL_DOCUMENTS, *ALERT_DOCUMENTS], skip_indexes=True)
    yield listener
    await client.close()


async def _users(count: int) -> list[User]:
    users = [User(username=f"reader{i}", password_hash="x") for i in range(count)]
    for user in users:
        await user.insert()
    return users


@pytest.mark.asyncio
async def test_concurrent_reads_of_many_keys_go_out_as_one_query_per_collection(finds: Finds) -> None:
    # given twenty users, and a session for the first
    users = await _users(20)
    now = utcnow()
    session = Session(id="d" * 64, token_hash="d" * 64, user_id=users[0].id, expires_at=now + timedelta(hours=1))
    await session.insert()
    finds.collections.clear()
    # when sixty reads (each user three times) and one session read are made at the same moment
    keys = [user.id for user in users] * 3
    found, signed = await asyncio.gather(
        asyncio.gather(*(get_by_id(User, key) for key in keys)), get_by_id(Session, "d" * 64)
    )
    # then each read got its own user, and the store answered one query per collection
    assert [user.id if user else None for user in found] == keys
    assert signed is not None and signed.user_id == users[0].id
    assert sorted(finds.collections) == ["sessions", "users"]


@pytest.mark.asyncio
async def test_a_missing_key_reads_as_none_beside_the_keys_that_exist(finds: Finds) -> None:
    # given one user
    (user,) = await _users(1)
    # when it and a key that names nothing are read together
    present, missing = await asyncio.gather(get_by_id(User, user.id), get_by_id(User, PydanticObjectId()))
    # then the one is found and the other is None
    assert present is not None and present.username == "reader0"
    assert missing is None


@pytest.mark.asyncio
async def test_callers_of_one_batch_get_copies_one_cannot_change_for_the_other(finds: Finds) -> None:
    # given one user read twice at the same moment
    (user,) = await _users(1)
    first, second = await asyncio.gather(get_by_id(User, user.id), get_by_id(User, user.id))
    assert first is not None and second is not None
    # when one caller changes its copy
    first.username = "changed"
    # then the other's is as stored
    assert second.username == "reader0"
