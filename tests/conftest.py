"""Test-suite wide settings and fixtures."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.helpers import OPENED


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Browser tests last: the fast layers report first, and no browser loop precedes asyncio tests."""
    items.sort(key=lambda item: "/e2e/" in str(item.path))


@pytest.fixture
async def close_sessions() -> AsyncIterator[None]:
    """Close, newest first, what the test put in `tests.helpers.OPENED` (modules use it autouse)."""
    yield
    while OPENED:
        await OPENED.pop().close()
