"""Sessions against the embedded simulator, watched by an exporter, for the OpenTelemetry tests."""

from __future__ import annotations

from console.clients import Target
from console.dialects.agent.client import AgentClient
from console.dialects.agent.engine import AgentEngine, EngineConfig
from console.sessions import SessionEntry
from console.sim.agent import AgentSimulator
from console.supervisor import Supervisor


def open_session(hub: Supervisor, sim: AgentSimulator, name: str = "otel") -> SessionEntry:
    engine = AgentEngine(config=EngineConfig(gap_timeout=0.5, stall_timeout=20))
    client = AgentClient(f"{sim.url}?session={name}", engine)
    return hub.add(Target("agent", client.url), name=name, client=client)
