"""Test-suite wide settings."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Browser tests last: the fast layers report first, and no browser loop precedes asyncio tests."""
    items.sort(key=lambda item: "/e2e/" in str(item.path))
