"""A real Pydantic AI agent served over AG-UI on loopback, its model scripted (no network, no key).

The FunctionModel answers by the last prompt: `list ...` adds items to a shopping list through a tool
with streamed arguments that returns a STATE_DELTA; `reset` replaces the state with a STATE_SNAPSHOT;
`delete X` calls a tool that needs the user's approval; `slow` streams slowly (to cut it mid-way);
anything else is streamed text that also says how many prompts the history sent back holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass

import uvicorn
from ag_ui.core import StateDeltaEvent, StateSnapshotEvent
from pydantic import BaseModel
from pydantic_ai import Agent, DeferredToolRequests, RunContext
from pydantic_ai.messages import ModelMessage, ModelRequest, ToolReturnPart, UserPromptPart
from pydantic_ai.models.function import AgentInfo, DeltaToolCall, DeltaToolCalls, FunctionModel
from pydantic_ai.ui import StateDeps
from pydantic_ai.ui.ag_ui import AGUIAdapter
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


class Shopping(BaseModel):
    items: list[str] = []
    done: bool = False


def _prompts(messages: list[ModelMessage]) -> list[str]:
    return [
        part.content
        for message in messages
        if isinstance(message, ModelRequest)
        for part in message.parts
        if isinstance(part, UserPromptPart) and isinstance(part.content, str)
    ]


async def _script(messages: list[ModelMessage], info: AgentInfo) -> AsyncIterator[str | DeltaToolCalls]:
    last = messages[-1]
    if isinstance(last, ModelRequest) and any(isinstance(p, ToolReturnPart) for p in last.parts):
        for word in ("Done", " as", " asked."):
            yield word
        return
    prompt = _prompts(messages)[-1]
    words = prompt.split()
    if words[0] == "list":
        for index, item in enumerate(words[1:]):
            call = f"call_add_{len(messages)}_{index}"
            yield {index: DeltaToolCall(name="add_item", json_args='{"na', tool_call_id=call)}
            yield {index: DeltaToolCall(json_args=f'me": "{item}"}}')}
        return
    if words[0] == "reset":
        yield {
            0: DeltaToolCall(name="reset_list", json_args="{}", tool_call_id=f"call_reset_{len(messages)}")
        }
        return
    if words[0] == "delete":
        args = f'{{"name": "{words[1]}"}}'
        yield {0: DeltaToolCall(name="delete_item", json_args=args, tool_call_id=f"call_del_{len(messages)}")}
        return
    if words[0] == "slow":
        for index in range(200):
            yield f"word{index} "
            await asyncio.sleep(0.02)
        return
    for word in ("Hello", " there,", " I", " have", f" {len(_prompts(messages))}", " prompts."):
        yield word


def make_agent() -> Agent[StateDeps[Shopping], str | DeferredToolRequests]:
    agent = Agent(
        FunctionModel(stream_function=_script),
        deps_type=StateDeps[Shopping],
        output_type=[str, DeferredToolRequests],  # a tool that needs approval ends the run asking
    )

    @agent.tool
    async def add_item(ctx: RunContext[StateDeps[Shopping]], name: str) -> StateDeltaEvent:
        """Add an item to the shopping list."""
        ctx.deps.state.items.append(name)
        return StateDeltaEvent.model_validate({"delta": [{"op": "add", "path": "/items/-", "value": name}]})

    @agent.tool
    async def reset_list(ctx: RunContext[StateDeps[Shopping]]) -> StateSnapshotEvent:
        """Empty the list."""
        ctx.deps.state = Shopping(done=True)
        return StateSnapshotEvent(snapshot=ctx.deps.state.model_dump())

    @agent.tool(requires_approval=True)
    async def delete_item(ctx: RunContext[StateDeps[Shopping]], name: str) -> str:
        """Delete an item (asks the user first)."""
        return f"deleted {name}"

    return agent


def make_app() -> Starlette:
    agent = make_agent()

    async def run(request: Request) -> Response:
        return await AGUIAdapter.dispatch_request(request, agent=agent, deps=StateDeps(Shopping()))

    async def broken(request: Request) -> Response:
        return Response("the model provider is down\n", status_code=503, media_type="text/plain")

    return Starlette(
        routes=[Route("/agent", run, methods=["POST"]), Route("/broken", broken, methods=["POST"])]
    )


@dataclass
class Served:
    url: str
    server: uvicorn.Server
    task: asyncio.Task[None]

    async def stop(self) -> None:
        self.server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(self.task, 5)


async def serve() -> Served:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(make_app(), log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    return Served(f"http://127.0.0.1:{port}/agent", server, task)
