"""The Subscription root: one-line calls into resolvers, events mapped to GraphQL types."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry
from strawberry.types import Info

from documents import Alert, Briefing
from inference.cameras import DEMO_CAMERA_ID
from resolvers import alerts, briefings
from resolvers.auth import require_user
from resolvers.context import Context
from schema.alerts import AlertGQL
from schema.fanout import shared_value
from schema.permissions import AUTH
from schema.types import BriefingEndedGQL, BriefingEvent, BriefingGQL, BriefingRequestGQL, BriefingStartedGQL

DEMO_CAMERA = strawberry.ID(DEMO_CAMERA_ID)


def to_gql(event: briefings.Event) -> BriefingEvent:
    """Map a resolver event to its GraphQL type.

    A `Briefing` maps through `shared_value`: the subscribers of a live event hold the same document,
    so they yield the same value, executed and serialised once for all of them (`schema.fanout`)."""
    if isinstance(event, Briefing):
        return shared_value(event, BriefingGQL.from_doc)
    if isinstance(event, Alert):
        return shared_value(event, AlertGQL.from_doc)
    if isinstance(event, briefings.Started):
        return BriefingStartedGQL(request=BriefingRequestGQL.from_doc(event.request))
    return BriefingEndedGQL(request=BriefingRequestGQL.from_doc(event.request), reason=event.reason)


@strawberry.type
class Subscription:
    """Live briefings and alerts."""

    @strawberry.subscription(
        permission_classes=AUTH,
        description="Start a briefing (ending the running one) and stream it: "
        "BriefingStarted, every Briefing, BriefingEnded.",
    )
    async def briefing(
        self,
        info: Info[Context, None],
        interval: int,
        endtime: str,
        camera_id: strawberry.ID | None = DEMO_CAMERA,
    ) -> AsyncGenerator[BriefingEvent, None]:
        ctx, user = info.context, require_user(info.context)
        async for event in briefings.start_and_follow(
            ctx=ctx,
            user=user,
            interval=interval,
            endtime=endtime,
            camera_id=DEMO_CAMERA_ID if camera_id is None else str(camera_id),
        ):
            yield to_gql(event)

    @strawberry.subscription(
        permission_classes=AUTH,
        description="Follow the latest request: stored briefings with seq > after, live ones, then BriefingEnded.",
    )
    async def reload_briefing(
        self, info: Info[Context, None], after: int | None = None
    ) -> AsyncGenerator[BriefingEvent, None]:
        ctx, user = info.context, require_user(info.context)
        request = await briefings.latest_request(user=user)
        async for event in briefings.follow_request(
            ctx=ctx, user=user, request=request, after=after or 0, started=False
        ):
            yield to_gql(event)

    @strawberry.subscription(
        permission_classes=AUTH,
        description="The user's alerts as they fire, on any of their briefings (stored ones: `alerts(requestId)`).",
    )
    async def alerts(self, info: Info[Context, None]) -> AsyncGenerator[AlertGQL, None]:
        ctx, user = info.context, require_user(info.context)
        async for alert in alerts.follow_alerts(ctx=ctx, user=user):
            yield shared_value(alert, AlertGQL.from_doc)
