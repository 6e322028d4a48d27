"""What the simulated agent says: one response script per prompt, pure and seeded.

A `Script` is the whole response decided up front: its stream id and a list of steps (tokens with the
delay before each, context snapshots, tool calls with their results and latencies, and, in chaos mode,
an ERROR frame or a malformed frame). `console.sim.agent` plays a script out on the wire; the ground
truth is derived from the same steps, so what the simulator "meant" never depends on delivery.

Everything here is a function of the prompt and a `random.Random`: the same seed gives the same
response, and so does a replay. Shapes mimic the recorded agent-server session
(`tests/fixtures/agent_server_normal_session.jsonl`): stream ids `s_1b099ba9`, call ids `tc_74edc748`,
context ids `ctx_report`, tokens of 1-3 words every 30-80 ms, tools that take 1-2 s, a ~200 ms pause
after a tool result, a snapshot at the start of most responses and an updated one mid-response.

Delays are in unscaled seconds; the server multiplies them by its `time_scale`.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from typing import Final

from console.sim.agent_chaos import ChaosRates, inject_chaos
from console.sim.agent_kinds import Kind, choose_kind
from console.sim.agent_longform import long_reply
from console.sim.agent_markdown import markdown_reply
from console.sim.agent_replies import greeting, multi_tool, single_tool, tool_first
from console.sim.agent_schema import large_context
from console.sim.agent_steps import Builder, Script, hex_id

BUILDERS: Final[Mapping[Kind, Callable[[Builder, str], None]]] = {
    "greeting": greeting,
    "single_tool": single_tool,
    "multi_tool": multi_tool,
    "tool_first": tool_first,
    "large_context": large_context,
    "long": long_reply,
    "markdown": markdown_reply,
}


def build_script(prompt: str, rng: random.Random, chaos: ChaosRates | None = None) -> Script:
    """The response to `prompt`. With `chaos`, generation-time chaos is injected after the script is
    built, so a chaos response says the same as the normal one with the same seed."""
    kind = choose_kind(prompt, rng)
    stream_id = f"s_{hex_id(rng)}"
    builder = Builder(rng)
    BUILDERS[kind](builder, prompt)
    script = Script(kind, stream_id, tuple(builder.steps))
    return script if chaos is None else inject_chaos(script, rng, chaos)
