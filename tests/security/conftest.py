"""Fixtures of the security tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from console.security.policy import current, set_current


@pytest.fixture
def policy() -> Iterator[None]:
    """The security policy a test sets is undone after it."""
    before = current()
    yield
    set_current(before)
