"""Connects Beanie to the configured MongoDB and makes sure every declared index exists."""

from __future__ import annotations

from collections.abc import Sequence

from beanie import Document, init_beanie
from pymongo import AsyncMongoClient, IndexModel
from pymongo.monitoring import CommandListener
from pymongo.uri_parser import parse_uri

from documents.alerts import ALERT_DOCUMENTS
from documents.models import ALL_DOCUMENTS
from documents.slowlog import SlowCommands

DEFAULT_DATABASE = "briefing"


async def connect_documents(
    *, mongodb_uri: str, slow_query_ms: float = 0, listeners: Sequence[CommandListener] = ()
) -> AsyncMongoClient[dict[str, object]]:
    """Open a client, initialise every document class, create missing indexes, return the client.

    With `slow_query_ms` above 0, commands slower than that are logged (`documents.slowlog`);
    `listeners` also see every command of the client."""
    listeners = [*listeners, *([SlowCommands(threshold_ms=slow_query_ms)] if slow_query_ms > 0 else [])]
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(
        mongodb_uri, tz_aware=True, serverSelectionTimeoutMS=5000, event_listeners=listeners
    )
    database_name = parse_uri(mongodb_uri).get("database") or DEFAULT_DATABASE
    # Beanie's own index sync re-sends existing indexes in one createIndexes call, which FerretDB
    # 1.24 answers by dropping the connection; creating the missing ones one by one works everywhere.
    documents = [*ALL_DOCUMENTS, *ALERT_DOCUMENTS]
    await init_beanie(database=client[database_name], document_models=documents, skip_indexes=True)
    for document in documents:
        await _ensure_indexes(document)
    return client


async def _ensure_indexes(document: type[Document]) -> None:
    collection = document.get_pymongo_collection()
    existing = {index["name"] async for index in await collection.list_indexes()}
    declared: list[IndexModel] = list(getattr(document.Settings, "indexes", []))
    for model in declared:
        if model.document["name"] not in existing:
            await collection.create_indexes([model])
