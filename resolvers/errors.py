"""The coded errors the API returns: every one carries `extensions.code`."""

from __future__ import annotations

from enum import StrEnum

from graphql import GraphQLError


class ErrorCode(StrEnum):
    """Public error codes (stable API)."""

    UNAUTHENTICATED = "UNAUTHENTICATED"
    NOT_FOUND = "NOT_FOUND"
    BAD_USER_INPUT = "BAD_USER_INPUT"
    RATE_LIMITED = "RATE_LIMITED"
    FORBIDDEN = "FORBIDDEN"
    PASSWORD_NOT_SET = "PASSWORD_NOT_SET"  # noqa: S105 - an error code, not a password
    INTERNAL = "INTERNAL"


class CodedError(GraphQLError):
    """A GraphQL error whose message is meant for the client and is never masked."""

    def __init__(self, message: str, *, code: ErrorCode, **extensions: object) -> None:
        super().__init__(message, extensions={"code": code.value, **extensions})
        self.code = code


def bad_input(message: str, *, field: str | None = None) -> CodedError:
    """A rejection of what the client sent."""
    return CodedError(message, code=ErrorCode.BAD_USER_INPUT, **({"field": field} if field else {}))


def not_found(what: str) -> CodedError:
    """The thing does not exist, or belongs to someone else (the two are indistinguishable)."""
    return CodedError(f"{what} not found", code=ErrorCode.NOT_FOUND)


def unauthenticated(message: str = "Sign in first: send `Authorization: Bearer <token>`") -> CodedError:
    """No valid token came with the request."""
    return CodedError(message, code=ErrorCode.UNAUTHENTICATED)


def rate_limited(message: str, *, retry_after: int) -> CodedError:
    """Too many attempts; the client may retry after the given number of seconds."""
    return CodedError(message, code=ErrorCode.RATE_LIMITED, retryAfter=retry_after)


def is_coded(error: GraphQLError) -> bool:
    """Whether an error (or what it wraps) was raised on purpose with a code, safe to show as it is."""
    original = error.original_error
    if original is None:
        return bool((error.extensions or {}).get("code"))
    return isinstance(original, GraphQLError) and bool((original.extensions or {}).get("code"))
