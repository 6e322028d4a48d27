"""Fixtures of the hostile-upstream tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.helpers import Closable


@pytest.fixture
async def clients() -> AsyncIterator[list[Closable]]:
    """The clients a test made, closed after it."""
    made: list[Closable] = []
    yield made
    for client in made:
        await client.close()
