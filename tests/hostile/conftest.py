"""Fixtures of the hostile-upstream tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.helpers import Closable, starting
from tests.hostile.servers import RawHTTPServer, StartHttp


@pytest.fixture
async def clients() -> AsyncIterator[list[Closable]]:
    """The clients a test made, closed after it."""
    made: list[Closable] = []
    yield made
    for client in made:
        await client.close()


@pytest.fixture
async def http_servers() -> AsyncIterator[StartHttp]:
    """Starts raw HTTP servers running a script each; stops them after the test."""
    async with starting(RawHTTPServer) as start:
        yield start
