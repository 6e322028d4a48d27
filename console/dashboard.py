"""The console process: embedded simulators, sessions, pages, and `ui.run`."""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
from dataclasses import dataclass, field
from typing import Literal

from nicegui import app, ui
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from components import load_plugins as load_component_types
from console import heap, metrics, session_api
from console.autopilot import STREAM_WINDOW, open_streams
from console.clients import Target
from console.http_front import FRONT
from console.otel import receive as otel_receive
from console.otel import status as otel_status
from console.otel.exporter import otel_export
from console.runtime import server_tick
from console.security.install import install as install_security
from console.security.policy import SecurityPolicy
from console.sim import agui as agui_sim
from console.sim import sse as sse_sim
from console.sim.agent import AgentSimulator, SimConfig
from console.sim.agent_truth import TruthWindow
from console.sim.chat import ChatSimConfig, ChatSimulator
from console.sim.process import SimulatorFleet, processes_for
from console.store.startup import Durable
from console.supervisor import Supervisor
from console.ui import page
from console.upstream_log import LinkReporter

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
    sim_processes: int | None = None  # agent simulator processes for `streams`; None: processes_for
    store: str | None = None  # where sessions are journaled (a path, or redis://…); None: memory only
    follow: str | None = None  # redis://… of another console's journal, shown read-only
    security: SecurityPolicy = field(default_factory=SecurityPolicy)
    otlp: str | None = None  # OTLP/HTTP endpoint; None: the standard variables decide


@dataclass(slots=True)
class Embedded:
    """Simulators served by this process, so the console works with nothing else running."""

    agent: AgentSimulator | SimulatorFleet | None = None
    sse: sse_sim.SSESimulator | None = None
    chat: ChatSimulator | None = None
    agui: agui_sim.AguiSimulator | None = None
    targets: list[Target] = field(default_factory=list)

    async def start(
        self,
        mode: Literal["normal", "chaos"],
        seed: int,
        time_scale: float,
        streams: int = 0,
        processes: int | None = None,
    ) -> None:
        # Described (`/api/simulators`) once it listens, not before.
        agent: AgentSimulator | SimulatorFleet
        truth = TruthWindow()
        if streams:  # its ground truth keeps what the sessions watching it keep (sim/agent_truth.py)
            w = STREAM_WINDOW
            truth = TruthWindow(w.messages, w.context_versions, w.snapshot_bytes)
        if processes is None or not streams:
            processes = processes_for(streams)
        if processes:
            # Hundreds of agents streaming: the simulator runs in processes of its own, the sessions
            # split between them (console/sim/process.py).
            agent = SimulatorFleet(processes)
            await agent.start(mode, seed, time_scale, truth)
        else:
            agent = AgentSimulator(SimConfig(mode=mode, seed=seed, time_scale=time_scale, truth=truth))
            await agent.start("127.0.0.1", 0)
        self.agent = agent
        self.targets.append(Target("agent", self.agent.url))
        speed = 1 / time_scale if time_scale > 0 else 1.0
        self.sse = sse_sim.SSESimulator(sse_sim.SimConfig(chaos=mode == "chaos", seed=seed, speed=speed))
        await self.sse.start()
        self.targets.append(Target("sse", self.sse.url))
        pace = ChatSimConfig(seed=seed, token_delay=0.015 * time_scale, think_delay=0.15 * time_scale)
        self.chat = ChatSimulator(pace)
        await self.chat.start("127.0.0.1", 0)
        self.targets.append(Target("chat", self.chat.url))
        self.agui = agui_sim.AguiSimulator(agui_sim.SimConfig(mode=mode, seed=seed, time_scale=time_scale))
        await self.agui.start()
        self.targets.append(Target("agui", self.agui.url))

    @property
    def agent_urls(self) -> list[str]:
        """Where the agent simulator listens: one URL, or one per process of a fleet."""
        agent = self.agent
        return [] if agent is None else agent.urls if isinstance(agent, SimulatorFleet) else [agent.url]

    def served(self) -> list[Target]:
        """Every upstream these simulators serve, each process of a fleet included."""
        return self.targets + [Target("agent", url) for url in self.agent_urls[1:]]

    def describe(self) -> dict[str, dict[str, str]]:
        described: dict[str, dict[str, str]] = {}
        if isinstance(self.agent, SimulatorFleet):  # "agent", then "agent.2", "agent.3"…
            for i, process in enumerate(self.agent.processes):
                described["agent" if i == 0 else f"agent.{i + 1}"] = {
                    "ws": process.url,
                    "http": process.http_url,
                }
        elif self.agent is not None:
            described["agent"] = {"ws": self.agent.url, "http": self.agent.http_url}
        if self.sse is not None:
            described["sse"] = {"url": self.sse.url}
        if self.chat is not None:
            described["chat"] = {"ws": self.chat.url}
        if self.agui is not None:
            described["agui"] = {"url": self.agui.url}
        return described

    async def stop(self) -> None:
        if self.agent is not None:
            await self.agent.stop()
        if self.sse is not None:
            await self.sse.stop()
        if self.chat is not None:
            await self.chat.stop()
        if self.agui is not None:
            await self.agui.stop()


def native_problem() -> str | None:
    """Why a native window cannot open here, or None."""
    fallback = "or run without --native and open the console in a browser"
    if importlib.util.find_spec("webview") is None:
        return f"the native window needs pywebview: pip install -e '.[native]' (see the README); {fallback}"
    if sys.platform.startswith("linux"):
        if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            return f"no display (neither DISPLAY nor WAYLAND_DISPLAY is set); {fallback}"
        if not any(importlib.util.find_spec(name) for name in ("gi", "qtpy")):
            return (
                "pywebview has no GUI backend: install GTK's (python3-gi, gir1.2-webkit2-4.1) or Qt's "
                f"(pip install 'pywebview[qt]'); {fallback}"
            )
    return None


def build(config: DashboardConfig) -> Supervisor:
    """Register pages and lifecycle hooks; `ui.run` (or a test harness) then serves them."""
    embedded = Embedded()
    supervisor = Supervisor()  # the one owner of the sessions, handed to everything that shows them
    durable = Durable(config.store, config.follow)
    session_api.register(supervisor, durable.history)
    otel = otel_export(supervisor, config.otlp)
    page.register(supervisor, otel)
    otel_receive.register(app, supervisor)  # POST /v1/traces: instrumented agents send their spans here

    # `--streams N` runs against the first agent upstream if there is one (an agent server, or a
    # simulator in a process of its own), else against the embedded simulator.
    streams_to = next((t for t in config.upstreams if t.dialect == "agent"), None) if config.streams else None

    async def startup() -> None:
        # Before anything is served or connected: the full collection that precedes the freeze
        # takes 100-300 ms, a stall no session or page may have to wait out.
        # Component types too (built in and plugins: pydantic models, the entry-point scan; some
        # 30 ms), imported on the first card they were: in one turn of the loop, under whatever
        # flood brought that first component; now their objects are frozen with the rest.
        load_component_types()
        FRONT.install(app)
        heap.freeze_startup()
        metrics.LOOP_LAG.start()
        supervisor.start()
        if otel is not None:
            otel.start()
        use_simulator = not config.follow and (
            not config.upstreams or config.demo is not None or (config.streams > 0 and streams_to is None)
        )
        if use_simulator:
            streams = config.streams if streams_to is None else 0
            mode, seed, scale = config.demo or "normal", config.sim_seed, config.sim_time_scale
            await embedded.start(mode, seed, scale, streams, config.sim_processes)
        reopened = await durable.restore(supervisor, embedded.served())
        streams_urls = [streams_to.url] if streams_to else embedded.agent_urls
        if config.streams > 0 and streams_urls and not any(reopened.has(u) for u in streams_urls):
            # The operations view's load: N autopiloted sessions instead of one per dialect.
            open_streams(
                supervisor,
                streams_urls,
                config.streams,
                seed=config.sim_seed,
                time_scale=config.sim_time_scale,
            )
        elif use_simulator:
            for target in embedded.targets:
                supervisor.add(target, name=target.dialect)
        for target in config.upstreams:
            if target is not streams_to and not reopened.has(target.url):
                entry = supervisor.add(target, name=target.dialect)
                entry.client.conversation.subscribe(LinkReporter(f"upstream {target}"), deltas=False)
        heap.FREEZE_SURVIVORS.start()

    async def shutdown() -> None:
        await supervisor.close()
        await durable.close()
        if otel is not None:
            await otel.close()
        await metrics.LOOP_LAG.stop()
        heap.FREEZE_SURVIVORS.stop()
        await embedded.stop()

    async def prometheus(scope: Scope, receive: Receive, send: Send) -> None:
        """Per-session and aggregate counters and the event-loop lag, for Prometheus and the like."""
        text = await metrics.scrape(supervisor, metrics.LOOP_LAG)
        if otel is not None:
            text += otel_status.metrics(otel.stats())
        body, headers = await metrics.encode(text, Headers(scope=scope).get("accept-encoding", ""))
        await Response(body, media_type=metrics.CONTENT_TYPE, headers=headers)(scope, receive, send)

    FRONT.answer("/metrics", prometheus)  # in front of the framework's middleware: see http_front

    @ui.page("/overview")
    def overview() -> None:
        page.session_index(supervisor, otel)

    @app.get("/api/simulators")
    def simulators() -> dict[str, dict[str, str]]:
        """Where the embedded simulators listen (their /health, /log and /truth are there)."""
        return embedded.describe()

    app.on_startup(startup)
    app.on_shutdown(shutdown)
    return supervisor


def run(config: DashboardConfig) -> None:
    install_security(config.security)
    build(config)
    serve(config)


def serve(config: DashboardConfig) -> None:
    """Serve what `build` registered (and whatever else the caller added), as the console ships."""
    server_tick.install()  # uvicorn's own loop wakes once a second, not ten times
    ui.run(
        host=config.host,
        port=config.port,
        title="Agent Console",
        language="en-US",  # the lang attribute of every page
        show=config.show,
        native=config.native,
        reload=False,
        favicon="🛰️",
        # The pages bring their Tailwind utilities prebuilt (see page.register): NiceGUI's in-browser
        # compiler would rescan the whole page on every change and restyle all of it on a new class.
        tailwind=False,
    )
