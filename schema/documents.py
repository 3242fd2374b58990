"""Parsed and validated documents, shared by every operation that sends the same text.

Clients send a handful of distinct documents (a thousand `reloadBriefing` subscribers send the
same one), yet Strawberry parses and validates each operation's text anew: at subscribe time that
is most of the CPU, and every subscription keeps its own syntax tree for as long as it runs. The
`SharedDocuments` extension remembers the documents that parsed and validated without error: an
operation with the same text (and parse options) gets the very same `DocumentNode` and skips
validation. The rules of a schema are fixed when it is built (depth, aliases, tokens,
introspection), so a document valid once is valid again. Documents with errors are never kept, so
every error is reported exactly as without the cache. The memory is bounded: at most `size`
documents, each of at most `max_text` characters, least recently used dropped first.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from typing import Final

from graphql import DocumentNode
from strawberry.extensions import SchemaExtension

DEFAULT_SIZE: Final = 256
DEFAULT_MAX_TEXT: Final = 16_384

DocumentKey = tuple[str, tuple[tuple[str, object], ...]]
"""(document text, parse options)."""


class DocumentCache:
    """The valid documents of one schema, least recently used first."""

    def __init__(self, *, size: int = DEFAULT_SIZE, max_text: int = DEFAULT_MAX_TEXT) -> None:
        self.size = size
        self.max_text = max_text
        self._documents: OrderedDict[DocumentKey, DocumentNode] = OrderedDict()

    def get(self, key: DocumentKey) -> DocumentNode | None:
        """The document kept for `key`, if any (it becomes the most recently used)."""
        document = self._documents.get(key)
        if document is not None:
            self._documents.move_to_end(key)
        return document

    def keep(self, key: DocumentKey, document: DocumentNode) -> None:
        """Remember a document that parsed and validated without error."""
        if len(key[0]) > self.max_text:
            return
        self._documents[key] = document
        self._documents.move_to_end(key)
        while len(self._documents) > self.size:
            self._documents.popitem(last=False)

    def __len__(self) -> int:
        return len(self._documents)


class SharedDocuments(SchemaExtension):
    """Serves an operation's document from the cache and skips its validation when it was valid before."""

    def __init__(self, cache: DocumentCache) -> None:
        self.cache = cache
        self._key: DocumentKey | None = None
        self._hit = False

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.query is not None and context.graphql_document is None:
            key: DocumentKey = (context.query, tuple(sorted(context.parse_options.items())))
            try:
                document = self.cache.get(key)
            except TypeError:  # an unhashable parse option: no caching
                document = None
            else:
                self._key = key
            if document is not None:
                context.graphql_document = document
                self._hit = True
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if self._hit and context.pre_execution_errors is None:
            context.pre_execution_errors = []  # Strawberry skips validation that has already run
        yield
        valid = context.pre_execution_errors == []
        if valid and not self._hit and self._key is not None and context.graphql_document is not None:
            self.cache.keep(self._key, context.graphql_document)
