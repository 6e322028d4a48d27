"""The console process: embedded simulators, sessions, pages, and `ui.run`."""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass, field
from typing import Literal

from nicegui import app, ui

from console.clients import Target
from console.sessions import SessionHub
from console.sim.agent import AgentSimulator, SimConfig
from console.ui import page

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DashboardConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    upstreams: tuple[Target, ...] = ()
    demo: Literal["normal", "chaos"] | None = None
    streams: int = 0
    native: bool = False
    show: bool = True
    sim_seed: int = 0
    sim_time_scale: float = 1.0


@dataclass(slots=True)
class Embedded:
    """Simulators served by this process, so the console works with nothing else running."""

    agent: AgentSimulator | None = None
    targets: list[Target] = field(default_factory=list)

    async def start(self, mode: Literal["normal", "chaos"], seed: int, time_scale: float) -> None:
        self.agent = AgentSimulator(SimConfig(mode=mode, seed=seed, time_scale=time_scale))
        await self.agent.start("127.0.0.1", 0)
        self.targets.append(Target("agent", self.agent.url))

    def describe(self) -> dict[str, dict[str, str]]:
        if self.agent is None:
            return {}
        return {"agent": {"ws": self.agent.url, "http": self.agent.http_url}}

    async def stop(self) -> None:
        if self.agent is not None:
            await self.agent.stop()


def native_problem() -> str | None:
    """Why a native window cannot open here, or None."""
    if importlib.util.find_spec("webview") is None:
        return (
            "the native window needs pywebview: pip install -e '.[native]' "
            "(on Linux also a GTK or Qt webview); or run without --native and open the browser"
        )
    return None


def build(config: DashboardConfig, hub: SessionHub | None = None) -> SessionHub:
    """Register pages and lifecycle hooks; `ui.run` (or a test harness) then serves them."""
    hub = hub or SessionHub()
    embedded = Embedded()
    page.register(hub)

    async def startup() -> None:
        use_simulator = not config.upstreams or config.demo is not None
        if use_simulator:
            await embedded.start(config.demo or "normal", config.sim_seed, config.sim_time_scale)
            for target in embedded.targets:
                hub.add(target, name=target.dialect)
        for target in config.upstreams:
            hub.add(target, name=target.dialect)

    async def shutdown() -> None:
        await hub.close()
        await embedded.stop()

    @app.get("/api/simulators")
    def simulators() -> dict[str, dict[str, str]]:
        """Where the embedded simulators listen (their /health, /log and /truth are there)."""
        return embedded.describe()

    app.on_startup(startup)
    app.on_shutdown(shutdown)
    return hub


def run(config: DashboardConfig) -> None:
    build(config)
    ui.run(
        host=config.host,
        port=config.port,
        title="Agent Console",
        show=config.show,
        native=config.native,
        reload=False,
        favicon="🛰️",
    )
