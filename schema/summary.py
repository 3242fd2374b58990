"""The `Summary` GraphQL type: the AI summary of one briefing request."""

from __future__ import annotations

from datetime import datetime

import strawberry

from documents import Summary as SummaryDoc
from schema.types import CaptionSourceGQL


@strawberry.type(name="Summary")
class SummaryGQL:
    """The AI summary of a request, with business advice."""

    request_id: strawberry.ID
    text: str
    source: CaptionSourceGQL = strawberry.field(  # type: ignore[valid-type]
        description="LLM when a model wrote it; TEMPLATE without an LLM or when the LLM failed."
    )
    model: str | None = strawberry.field(description="The model that wrote it; null for the template.")
    created_at: datetime = strawberry.field(description="When this summary was written.")
    cached: bool = strawberry.field(description="True when served from the store; false when written by this call.")

    @classmethod
    def from_doc(cls, doc: SummaryDoc, *, cached: bool) -> SummaryGQL:
        """Expose a stored summary."""
        return cls(
            request_id=strawberry.ID(str(doc.request_id)),
            text=doc.text,
            source=doc.source,
            model=doc.model,
            created_at=doc.created_at,
            cached=cached,
        )
