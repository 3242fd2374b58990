"""The Mutation root: one-line calls into resolvers."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from resolvers import auth, customs
from resolvers.context import Context
from schema.permissions import IsAuthenticated
from schema.types import LoginResultGQL, MessageResultGQL

AUTH = [IsAuthenticated]


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
