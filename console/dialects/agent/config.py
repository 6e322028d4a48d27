"""The agent engine's timing rules and frame size limit (`engine.py` says what each rule does)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from console.dialects.agent import protocol as proto


@dataclass(frozen=True, slots=True)
class EngineConfig:
    # Longest silence of a reply still alive on a server: a TOOL_CALL held until the 5 s ack timeout,
    # 0.8-2 s to the result, and a 2-8 s pause before it (15 s), plus a second of margin.
    gap_timeout: float = 16.0
    max_gap_resumes: int = 3
    ack_deadline: float = 1.5
    stall_timeout: float = 10.0
    idle_timeout: float = 60.0
    resume_quiet: float = 1.0
    max_frame: int = proto.DEFAULT_MAX_FRAME


# One for every engine that uses the defaults (frozen): read at every read, and warm when shared.
DEFAULT_CONFIG: Final = EngineConfig()
