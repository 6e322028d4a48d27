"""The OpenTelemetry semantic conventions this package follows, pinned.

GenAI conventions of semantic-conventions 1.44.0 (their schema URL below), through the constants of
`opentelemetry-semantic-conventions` (the incubating GenAI attributes): the `gen_ai.*` names are not
typed out here, so a rename upstream shows as an import error, not as silently wrong telemetry.

What the conventions do not name (the console's own observations: protocol incidents, context
snapshots, the outcome of a reply in the console's words) goes under `agent_console.*`.
"""

from __future__ import annotations

from typing import Final

from opentelemetry.semconv._incubating.attributes import error_attributes as err
from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as gen_ai
from opentelemetry.semconv.schemas import Schemas

from console.trace_kinds import TraceKind

SCHEMA_URL: Final = Schemas.V1_44_0.value
SCOPE: Final = "agent-console"
SERVICE: Final = "agent-console"

OPERATION: Final = gen_ai.GEN_AI_OPERATION_NAME
INVOKE_AGENT: Final = gen_ai.GenAiOperationNameValues.INVOKE_AGENT.value
CHAT: Final = gen_ai.GenAiOperationNameValues.CHAT.value
EXECUTE_TOOL: Final = gen_ai.GenAiOperationNameValues.EXECUTE_TOOL.value

CONVERSATION_ID: Final = gen_ai.GEN_AI_CONVERSATION_ID
PROVIDER: Final = gen_ai.GEN_AI_PROVIDER_NAME
AGENT_NAME: Final = gen_ai.GEN_AI_AGENT_NAME
AGENT_ID: Final = gen_ai.GEN_AI_AGENT_ID
INPUT_MESSAGES: Final = gen_ai.GEN_AI_INPUT_MESSAGES
OUTPUT_MESSAGES: Final = gen_ai.GEN_AI_OUTPUT_MESSAGES
FINISH_REASONS: Final = gen_ai.GEN_AI_RESPONSE_FINISH_REASONS
TIME_TO_FIRST_CHUNK: Final = gen_ai.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK
TOOL_CALL_ID: Final = gen_ai.GEN_AI_TOOL_CALL_ID
TOOL_NAME: Final = gen_ai.GEN_AI_TOOL_NAME
TOOL_TYPE: Final = gen_ai.GEN_AI_TOOL_TYPE
TOOL_ARGUMENTS: Final = gen_ai.GEN_AI_TOOL_CALL_ARGUMENTS
TOOL_RESULT: Final = gen_ai.GEN_AI_TOOL_CALL_RESULT
ERROR_TYPE: Final = err.ERROR_TYPE

# Pydantic AI keeps a run's whole message list here (same message shape as gen_ai.*.messages).
PYDANTIC_AI_MESSAGES: Final = "pydantic_ai.all_messages"

# OpenInference (Arize Phoenix and its instrumentors), read when a span has no GenAI attributes.
OI_KIND: Final = "openinference.span.kind"
OI_OPERATIONS: Final = {"AGENT": INVOKE_AGENT, "LLM": CHAT, "TOOL": EXECUTE_TOOL}
OI_INPUT: Final = "input.value"
OI_OUTPUT: Final = "output.value"
OI_TOOL_NAME: Final = "tool.name"
OI_TOOL_CALL_ID: Final = "tool_call.id"

# The console's own.
MESSAGE_ID: Final = "agent_console.message.id"
MESSAGE_STATUS: Final = "agent_console.message.status"  # done, interrupted, error, streaming
SUMMARY: Final = "agent_console.summary"
SEQ: Final = "agent_console.seq"
CONTEXT_ID: Final = "agent_console.context.id"
CONTEXT_SIZE: Final = "agent_console.context.size"
CONTEXT_CHANGES: Final = "agent_console.context.changes"
CONTEXT_DIFF: Final = "agent_console.context.diff"
INCIDENT_PREFIX: Final = "agent_console."  # + the trace kind in lower case: agent_console.duplicate
CONTEXT_EVENT: Final = "agent_console.context_snapshot"
CONNECTION_SPAN: Final = "agent_console.connection"

# Trace rows that are protocol incidents: drops, resumptions, gaps, duplicates, bad frames, stalls.
# (Not HELD: a frame waiting behind a gap is the normal course of reordering, and a chaos reply has
# dozens; the gap itself shows when it costs something, as GAP_RESUME or GAP_SKIPPED.)
INCIDENT_KINDS: Final[frozenset[TraceKind]] = frozenset(
    {
        "DISCONNECTED",
        "CONNECT_FAILED",
        "RESUME",
        "REPLAY",
        "GAP_RESUME",
        "GAP_SKIPPED",
        "DUPLICATE",
        "EARLY_ACK",
        "SEQ_RESTART",
        "PROTOCOL_ERROR",
        "STALLED",
        "ERROR",
    }
)
