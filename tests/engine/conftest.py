"""Engine fixtures: the session server plus a worker, and a logged-in user."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import GraphQLClient, LiveWorker


@pytest.fixture
def token(gql: GraphQLClient, worker: LiveWorker) -> str:
    """A signed-in user, with the session worker running."""
    return gql.login("owner")


def in_seconds(seconds: float) -> str:
    """An ISO 8601 endtime `seconds` from now."""
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat(timespec="seconds")
