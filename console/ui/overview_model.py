"""What an overview card says about a session, and where it goes: pure functions of its health."""

from __future__ import annotations

from console.connection import ConnectionState
from console.monitor import CRASHED, Health
from console.plain import explain
from console.ui.status import LABELS

S = ConnectionState


def passes(health: Health, filter_key: str, query: str) -> bool:
    if query and query not in health.name.lower() and query not in health.session_id:
        return False
    match filter_key:
        case "active":
            return health.state in (S.STREAMING, S.TOOL_CALL_PENDING)
        case "idle":
            return health.state == S.OPEN
        case "reconnecting":
            return health.reconnecting
        case "failing":
            return health.failing
    return True


def sort_key(health: Health, sort: str) -> tuple[float, str]:
    match sort:
        case "problems":
            rank = 0 if health.failing else 1 if health.reconnecting else 2
            return (rank, health.name)
        case "busiest":
            return (-health.events_per_s, health.name)
        case "errors":
            return (-(health.errors + health.crashes + health.interrupted), health.name)
    return (0, health.name)


def state_label(health: Health) -> str:
    if health.state == CRASHED:
        wait = health.restart_in or 0.0
        return f"Crashed — restart in {wait:.0f} s" if wait >= 0.5 else "Crashed — restarting"
    if health.state == S.CLOSED and health.detail:
        # The words the session's own page uses (e.g. "Conversation complete"): one name per state.
        return health.detail[:1].upper() + health.detail[1:]
    label = LABELS[S(health.state)]
    if health.attempt and health.state in (S.RECONNECTING, S.CONNECTING):
        label = f"{label} attempt {health.attempt}"
    if health.state == S.OPEN and health.driver == "paused":
        label = f"{label} · autopilot paused"
    return label


def counters(health: Health) -> str:
    parts = [
        f"{health.reconnects} reconn" if health.reconnects else "",
        f"{health.errors} err" if health.errors else "",
        f"{health.interrupted} intr" if health.interrupted else "",
        f"{health.crashes} crash" if health.crashes else "",
        f"{health.pending_tools} tool" if health.pending_tools else "",
        f"{health.seq.held} held" if health.seq and health.seq.held else "",
    ]
    if health.attempt and health.state in (S.RECONNECTING, S.CONNECTING) and health.detail:
        # Not "no errors" beside "attempt 43": why the attempts fail, in words.
        parts.insert(0, f"{health.attempt} failed: {explain(health.detail)}")
    quiet = health.since_last_event
    if quiet is not None and quiet >= 5:
        parts.append(f"quiet {quiet:.0f} s")
    return " · ".join(p for p in parts if p) or "no errors"


def spark(history: tuple[float, ...], points: int = 30) -> tuple[int, ...]:
    """The last `points` rates scaled to 0..100 against their own peak."""
    recent = history[-points:]
    peak = max(recent, default=0.0)
    if peak <= 0:
        return tuple(0 for _ in recent)
    return tuple(round(100 * v / peak) for v in recent)
