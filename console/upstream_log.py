"""How the upstreams named on the command line are doing, told in the terminal too.

Someone who started `main.py --upstream agent=ws://…` and looks at the terminal learns that the agent
cannot be reached without opening the browser: the first failure, then the 2nd, 4th, 8th… attempt (a
dead upstream does not flood the terminal), and the recovery.
"""

from __future__ import annotations

import sys
from typing import TextIO

from console.connection import LIVE, LinkStatus
from console.plain import with_detail
from console.session import Change, ConnectionChanged


class LinkReporter:
    """Subscribed to one session's conversation: one line per failure worth telling."""

    def __init__(self, label: str, out: TextIO | None = None) -> None:
        self.label = label
        self.out = out
        self.failing = False
        self.told_attempt = 0

    def __call__(self, change: Change) -> None:
        if isinstance(change, ConnectionChanged):
            line = self.line(change.status)
            if line:
                print(line, file=self.out or sys.stderr, flush=True)

    def line(self, status: LinkStatus) -> str | None:
        if status.state in LIVE:
            if not self.failing:
                return None
            self.failing, self.told_attempt = False, 0
            return f"{self.label}: connected again"
        attempt = status.attempt
        if not status.detail or attempt <= self.told_attempt or attempt & (attempt - 1):
            return None  # told already, or not a power of two
        self.failing, self.told_attempt = True, attempt
        return f"{self.label}: cannot connect (attempt {attempt}): {with_detail(status.detail)}; still trying"
