"""Field permissions, declared on the schema."""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission
from strawberry.types import Info

from resolvers.context import Context


class IsAuthenticated(BasePermission):
    """The operation carries a valid bearer token (HTTP header or connection_init payload)."""

    message = "Sign in first: send `Authorization: Bearer <token>`"
    error_extensions = {"code": "UNAUTHENTICATED"}

    def has_permission(self, source: Any, info: Info[Context, Any], **kwargs: Any) -> bool:
        return info.context.user is not None


AUTH: list[type[BasePermission]] = [IsAuthenticated]
"""The permission list of every field that needs a signed-in user."""
