"""The Mutation root: one-line calls into resolvers."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from resolvers import alerts, auth, briefings, customs, legacy, summaries
from resolvers.context import Context
from schema.alerts import AlertRuleGQL, AlertRuleInputGQL, WebhookResultGQL
from schema.permissions import AUTH
from schema.summary import SummaryGQL
from schema.types import LoginResultGQL, MessageResultGQL, UserGQL


@strawberry.type
class Mutation:
    """Sign in, sign out and change the user's settings."""

    @strawberry.mutation(description='Sign up (message "signup") or sign in (message "login"); returns a bearer token.')
    async def login(self, info: Info[Context, None], username: str, password: str) -> LoginResultGQL:
        outcome = await auth.login(ctx=info.context, username=username, password=password)
        return LoginResultGQL(message=outcome.message, user_id=strawberry.ID(outcome.user_id), token=outcome.token)

    @strawberry.mutation(permission_classes=AUTH, description="Revoke the token this request was made with.")
    async def logout(self, info: Info[Context, None]) -> bool:
        return await auth.logout(ctx=info.context)

    @strawberry.mutation(permission_classes=AUTH, description="Replace the caption style instructions.")
    async def update_custom(self, info: Info[Context, None], custom: list[str]) -> MessageResultGQL:
        return MessageResultGQL(
            message=await customs.update_custom(user=auth.require_user(info.context), custom=custom)
        )

    @strawberry.mutation(
        permission_classes=AUTH,
        description="The AI summary of one of the user's requests, served from the store until a new briefing "
        "arrives; `refresh` writes it anew.",
    )
    async def ai_summary(
        self, info: Info[Context, None], request_id: strawberry.ID, refresh: bool | None = False
    ) -> SummaryGQL:
        result = await summaries.ai_summary(ctx=info.context, request_id=str(request_id), refresh=bool(refresh))
        return SummaryGQL.from_doc(result.doc, cached=result.cached)

    @strawberry.mutation(permission_classes=AUTH, description='Stop the running briefing ("브리핑 성공적으로 종료").')
    async def end_briefing(self, info: Info[Context, None]) -> MessageResultGQL:
        ctx = info.context
        return MessageResultGQL(message=await briefings.end_briefing(ctx=ctx, user=auth.require_user(ctx)))

    @strawberry.mutation(
        permission_classes=AUTH,
        description="Let the original phone app's routes (BRIEFING_LEGACY_API) reach this account, or stop them.",
    )
    async def set_legacy_access(self, info: Info[Context, None], enabled: bool) -> UserGQL:
        return UserGQL.from_doc(await legacy.set_legacy_access(user=auth.require_user(info.context), enabled=enabled))

    @strawberry.mutation(
        permission_classes=AUTH, description="Create an alert rule, or change one (input.id); at most 20 per user."
    )
    async def set_alert_rule(self, info: Info[Context, None], input: AlertRuleInputGQL) -> AlertRuleGQL:
        ctx = info.context
        rule = await alerts.set_rule(ctx=ctx, user=auth.require_user(ctx), rule=input.to_input())
        return AlertRuleGQL.from_doc(rule)

    @strawberry.mutation(permission_classes=AUTH, description="Delete one of the user's alert rules.")
    async def delete_alert_rule(self, info: Info[Context, None], id: strawberry.ID) -> bool:
        return await alerts.delete_rule(user=auth.require_user(info.context), rule_id=str(id))

    @strawberry.mutation(
        permission_classes=AUTH,
        description="Set the webhook alerts are POSTed to (http or https) with a new signing secret, returned this "
        "once; null removes it.",
    )
    async def set_webhook(self, info: Info[Context, None], url: str | None) -> WebhookResultGQL:
        return WebhookResultGQL.of(await alerts.set_webhook(user=auth.require_user(info.context), url=url))
