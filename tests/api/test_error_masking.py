"""Unexpected exceptions are masked as INTERNAL; our coded errors are kept as they are."""

from __future__ import annotations

import strawberry

from resolvers.errors import not_found
from schema.build import CodedMaskErrors, CodeEveryError


@strawberry.type
class _Query:
    @strawberry.field
    def crash(self) -> str:
        raise RuntimeError("database password is hunter2")

    @strawberry.field
    def missing(self) -> str:
        raise not_found("Request")


SCHEMA = strawberry.Schema(query=_Query, extensions=[CodeEveryError, CodedMaskErrors])


def test_unexpected_errors_are_masked_as_internal() -> None:
    result = SCHEMA.execute_sync("{ crash }")
    assert result.errors is not None
    error = result.errors[0]
    assert error.message == "Internal server error"
    assert error.extensions == {"code": "INTERNAL"}
    assert "hunter2" not in str(error.formatted)


def test_coded_errors_pass_through() -> None:
    result = SCHEMA.execute_sync("{ missing }")
    assert result.errors is not None
    assert result.errors[0].message == "Request not found"
    assert result.errors[0].extensions == {"code": "NOT_FOUND"}
