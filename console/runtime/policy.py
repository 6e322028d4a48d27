"""What to do after a failure: try again, or stop (and why). Its own module, so that the sans-I/O engines
can name it without importing the I/O stack (`console/runtime/reconnect.py` decides it)."""

from __future__ import annotations

from enum import StrEnum


class Policy(StrEnum):
    RETRY = "retry"  # transient: try again after the next delay
    AUTH = "auth"  # the upstream refuses our credentials: retrying cannot help until they change
    GIVE_UP = "give up"  # the address or the request is wrong: the same attempt fails the same way
