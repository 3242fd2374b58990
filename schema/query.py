"""The Query root: one-line calls into resolvers."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from resolvers import alerts, history
from resolvers.auth import require_user
from resolvers.context import Context
from schema.alerts import AlertGQL, AlertRuleGQL, WebhookGQL
from schema.permissions import AUTH
from schema.types import BriefingGQL, BriefingRequestGQL, CameraGQL, UserGQL


@strawberry.type
class Query:
    """Read the signed-in user's account, instructions and history."""

    @strawberry.field(permission_classes=AUTH, description="The signed-in user.")
    def me(self, info: Info[Context, None]) -> UserGQL:
        return UserGQL.from_doc(require_user(info.context))

    @strawberry.field(permission_classes=AUTH, description="The user's caption style instructions.")
    def custom(self, info: Info[Context, None]) -> list[str]:
        return list(require_user(info.context).custom)

    @strawberry.field(permission_classes=AUTH, description="The user's briefing requests, newest first.")
    async def requests(self, info: Info[Context, None]) -> list[BriefingRequestGQL]:
        return [BriefingRequestGQL.from_doc(r) for r in await history.list_requests(user=require_user(info.context))]

    @strawberry.field(permission_classes=AUTH, description="All briefings of one request, oldest first.")
    async def briefings(self, info: Info[Context, None], request_id: strawberry.ID) -> list[BriefingGQL]:
        docs = await history.list_briefings(user=require_user(info.context), request_id=str(request_id))
        return [BriefingGQL.from_doc(b) for b in docs]

    @strawberry.field(permission_classes=AUTH, description="The cameras the operator configured (ids and names only).")
    def cameras(self, info: Info[Context, None]) -> list[CameraGQL]:
        return [CameraGQL(id=strawberry.ID(c.id), name=c.name) for c in info.context.services.cameras.all()]

    @strawberry.field(permission_classes=AUTH, description="The user's alert rules, oldest first.")
    async def alert_rules(self, info: Info[Context, None]) -> list[AlertRuleGQL]:
        return [AlertRuleGQL.from_doc(r) for r in await alerts.list_rules(user=require_user(info.context))]

    @strawberry.field(permission_classes=AUTH, description="The alerts of one request, newest first (limit 1-200).")
    async def alerts(
        self, info: Info[Context, None], request_id: strawberry.ID, limit: int | None = 50
    ) -> list[AlertGQL]:
        docs = await alerts.list_alerts(user=require_user(info.context), request_id=str(request_id), limit=limit)
        return [AlertGQL.from_doc(a) for a in docs]

    @strawberry.field(permission_classes=AUTH, description="The user's webhook (its secret is never shown again).")
    async def webhook(self, info: Info[Context, None]) -> WebhookGQL | None:
        found = await alerts.get_webhook(user=require_user(info.context))
        return None if found is None else WebhookGQL.from_doc(found)
