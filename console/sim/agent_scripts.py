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
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final, Literal, TypeAlias

from console import jsonvalue
from console.frozen import frozen
from console.jsonvalue import JsonObject, JsonValue
from console.sim.agent_markdown import markdown_reply

Kind: TypeAlias = Literal[
    "greeting", "single_tool", "multi_tool", "tool_first", "large_context", "long", "markdown"
]
KINDS: Final[tuple[Kind, ...]] = (
    "greeting",
    "single_tool",
    "multi_tool",
    "tool_first",
    "large_context",
    "long",
    "markdown",  # asked for by name only: never a fallback
)

# One prompt per kind that `classify` maps to it (the prompts of the recorded session, mostly).
EXAMPLE_PROMPTS: Final[Mapping[Kind, str]] = {
    "greeting": "hello",
    "single_tool": "summarize the q3 report",
    "multi_tool": "analyze and compare the regions",
    "tool_first": "lookup churn definition",
    "large_context": "show the database schema",
    "long": "write a long detailed document",
    "markdown": "show me a markdown sample",
}

# Checked in this order: the first kind with a matching keyword wins.
_KEYWORDS: Final[tuple[tuple[Kind, re.Pattern[str]], ...]] = (
    ("markdown", re.compile(r"\bmarkdown\b")),
    ("large_context", re.compile(r"\b(schema|database|tables?|large context|big context|oversized)\b")),
    ("long", re.compile(r"\b(long|detailed|document|essay|write[- ]?up|in[- ]depth)\b")),
    ("tool_first", re.compile(r"\b(search|look ?up|find|sla|policy|definition|define)\b")),
    ("multi_tool", re.compile(r"\b(analy[sz]e|analysis|compare|comparison|correlat\w*|regions?|trends?)\b")),
    ("single_tool", re.compile(r"\b(summari[sz]e|summary|report|q[1-4]|revenue|metrics?|can you|help)\b")),
    ("greeting", re.compile(r"\b(hello|hi|hey|greetings|good (morning|afternoon|evening)|thanks?)\b")),
)

# When no keyword matches: a seeded choice, weighted towards the everyday kinds.
_FALLBACK_WEIGHTS: Final[tuple[tuple[Kind, int], ...]] = (
    ("greeting", 2),
    ("single_tool", 4),
    ("multi_tool", 3),
    ("tool_first", 3),
    ("large_context", 1),
    ("long", 1),
)

TOKEN_DELAY: Final = (0.030, 0.080)
TOOL_LATENCY: Final = (1.0, 2.0)
PAUSE_AFTER_RESULT: Final = 0.2
SPIKE: Final = (2.0, 8.0)
OVERSIZED_BYTES: Final = 520_000  # a "500 KB+" snapshot, with margin
LONG_MIN_WORDS: Final = 2050


@dataclass(frozen=True, slots=True)
class ChaosRates:
    """Probabilities of each chaos behaviour (chaos mode only).

    Units: `drop` and `spike` per TOKEN frame, at most one of each per response; `reorder` and
    `duplicate` per sequenced frame; `rapid_tools` per tool call (it gains a companion call sent
    before either result); `empty_ping` per PING; `oversized`, `error` and `malformed` per response.
    A rate of 1.0 forces the behaviour, 0.0 disables it.
    """

    drop: float = 0.02
    spike: float = 0.01
    reorder: float = 0.05
    duplicate: float = 0.04
    rapid_tools: float = 0.3
    empty_ping: float = 0.2
    oversized: float = 0.15
    error: float = 0.1
    malformed: float = 0.1

    @classmethod
    def none(cls) -> ChaosRates:
        return cls(0, 0, 0, 0, 0, 0, 0, 0, 0)

    @classmethod
    def only(cls, **rates: float) -> ChaosRates:
        """All behaviours off but the named ones, e.g. `ChaosRates.only(drop=1.0)`."""
        values = {name: 0.0 for name in CHAOS_BEHAVIOURS}
        for name, rate in rates.items():
            if name not in values:
                raise ValueError(f"unknown chaos behaviour {name!r}")
            values[name] = rate
        return cls(**values)


CHAOS_BEHAVIOURS: Final[tuple[str, ...]] = (
    "drop",
    "spike",
    "reorder",
    "duplicate",
    "rapid_tools",
    "empty_ping",
    "oversized",
    "error",
    "malformed",
)


# -- steps ------------------------------------------------------------------------------------------


@frozen
class Token:
    text: str
    delay: float  # before this token


@frozen
class Snapshot:
    context_id: str
    data: JsonObject
    delay: float


@frozen
class Tool:
    call_id: str
    tool_name: str
    args: JsonObject
    result: JsonObject
    latency: float  # after the ACK (or the ACK deadline), before the result


@frozen
class ToolCalls:
    """One tool call, or (chaos "rapid tool calls") several sent back to back before any result."""

    calls: tuple[Tool, ...]
    gap: float  # between consecutive TOOL_CALLs, and between consecutive TOOL_RESULTs
    pause_after: float  # after the last result, before the text resumes
    delay: float  # before the first TOOL_CALL


@frozen
class ErrorFrame:
    code: str
    message: str
    delay: float


@frozen
class Malformed:
    """A frame that is not a protocol frame (invalid JSON, or an unknown type): it takes no seq."""

    text: str
    delay: float


Step: TypeAlias = Token | Snapshot | ToolCalls | ErrorFrame | Malformed


@dataclass(frozen=True, slots=True)
class Script:
    kind: Kind
    stream_id: str
    steps: tuple[Step, ...]
    chaos: tuple[str, ...] = ()  # generation-time chaos behaviours it carries (rapid_tools, ...)

    @property
    def text(self) -> str:
        return "".join(s.text for s in self.steps if isinstance(s, Token))

    @property
    def word_count(self) -> int:
        return len(self.text.split())

    def tools(self) -> list[Tool]:
        return [call for s in self.steps if isinstance(s, ToolCalls) for call in s.calls]

    def snapshots(self) -> list[Snapshot]:
        return [s for s in self.steps if isinstance(s, Snapshot)]

    def blocks(self) -> list[JsonValue]:
        """The finished message's blocks, as the console transcript has them."""
        blocks: list[JsonValue] = []
        text: list[str] = []
        for step in self.steps:
            if isinstance(step, Token):
                text.append(step.text)
            elif isinstance(step, ToolCalls):
                if text:
                    blocks.append({"kind": "text", "text": "".join(text)})
                    text = []
                blocks.extend(tool_block(call, done=True) for call in step.calls)
        if text:
            blocks.append({"kind": "text", "text": "".join(text)})
        return blocks


def tool_block(call: Tool, *, done: bool) -> JsonObject:
    return {
        "kind": "tool",
        "call_id": call.call_id,
        "tool_name": call.tool_name,
        "args": call.args,
        "result": call.result if done else None,
        "status": "done" if done else "waiting",
    }


# -- choosing the kind --------------------------------------------------------------------------------


def classify(prompt: str) -> Kind | None:
    """The kind a prompt asks for by keyword, or None."""
    lowered = prompt.lower()
    for kind, pattern in _KEYWORDS:
        if pattern.search(lowered):
            return kind
    return None


def choose_kind(prompt: str, rng: random.Random) -> Kind:
    kind = classify(prompt)
    if kind is not None:
        return kind
    kinds = [k for k, _ in _FALLBACK_WEIGHTS]
    weights = [w for _, w in _FALLBACK_WEIGHTS]
    return rng.choices(kinds, weights)[0]


# -- building -------------------------------------------------------------------------------------------


def hex_id(rng: random.Random) -> str:
    return f"{rng.getrandbits(32):08x}"


_WORD = re.compile(r"\S+\s*")


def chunk_words(text: str, rng: random.Random) -> list[str]:
    """Split text into tokens of 1-3 words, each keeping its trailing whitespace (joins back exactly)."""
    words = _WORD.findall(text)
    if not words:
        return [text] if text else []
    lead = text[: len(text) - len(text.lstrip())]
    words[0] = lead + words[0]
    chunks: list[str] = []
    i = 0
    while i < len(words):
        n = rng.choice((1, 2, 2, 2, 3, 3))
        chunks.append("".join(words[i : i + n]))
        i += n
    return chunks


class _Builder:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.steps: list[Step] = []

    def _gap(self) -> float:
        # The first frame of a response goes out at once, like the real server's.
        return round(self.rng.uniform(*TOKEN_DELAY), 3) if self.steps else 0.0

    def say(self, text: str) -> None:
        for chunk in chunk_words(text, self.rng):
            self.steps.append(Token(chunk, self._gap()))

    def snapshot(self, context_id: str, data: JsonObject) -> None:
        self.steps.append(Snapshot(context_id, data, self._gap()))

    def tool(self, tool_name: str, args: JsonObject, result: JsonObject) -> Tool:
        call = Tool(
            call_id=f"tc_{hex_id(self.rng)}",
            tool_name=tool_name,
            args=args,
            result=result,
            latency=round(self.rng.uniform(*TOOL_LATENCY), 3),
        )
        self.steps.append(ToolCalls((call,), gap=0.0, pause_after=PAUSE_AFTER_RESULT, delay=self._gap()))
        return call

    def maybe(self, p: float) -> bool:
        return self.rng.random() < p


def copy_json(data: JsonObject) -> JsonObject:
    copied = jsonvalue.loads(jsonvalue.dumps(data))
    assert isinstance(copied, dict)
    return copied


def evolve(
    data: JsonObject,
    *,
    set_: JsonObject | None = None,
    remove: tuple[str, ...] = (),
    insert: tuple[tuple[str, int, JsonValue], ...] = (),
) -> JsonObject:
    """A changed copy of `data`: top-level keys set (added or changed), removed, list items inserted."""
    new = copy_json(data)
    for key, value in (set_ or {}).items():
        new[key] = value
    for key in remove:
        new.pop(key, None)
    for key, index, item in insert:
        target = new.get(key)
        if isinstance(target, list):
            target.insert(min(index, len(target)), item)
    return new


def _pct(rng: random.Random, lo: float, hi: float) -> float:
    return round(rng.uniform(lo, hi), 1)


# -- greeting -------------------------------------------------------------------------------------------------


def _greeting(b: _Builder, prompt: str) -> None:
    rng = b.rng
    data: JsonObject = {
        "session_type": "conversational",
        "capabilities": ["search", "analyze", "compute", "summarize"],
        "model_version": "alchemyst-agent-v3.1",
    }
    if b.maybe(0.85):
        b.snapshot("ctx_session", data)
    opening = rng.choice(
        (
            "Hello! I'm the Alchemyst Agent. ",
            "Hi there! I'm the Alchemyst Agent, your context-aware assistant. ",
            "Hey! Good to see you. I'm the Alchemyst Agent. ",
        )
    )
    middle = rng.choice(
        (
            "I can help you analyze data, look up metrics, retrieve context, and generate reports "
            "from your connected data sources. ",
            "I can search your knowledge base, compute metrics across your dashboards, and draft "
            "documents grounded in your organization's context. ",
            "I work across your documents, metrics dashboards and recent conversations, so I can "
            "answer questions with sources attached. ",
        )
    )
    closing = rng.choice(
        (
            "What would you like to explore today?",
            "Where would you like to start?",
            "What can I dig into for you?",
        )
    )
    b.say(opening + middle)
    if b.maybe(0.7):
        b.snapshot(
            "ctx_session",
            evolve(
                data,
                set_={
                    "session_type": "onboarding",
                    "active_sources": ["knowledge_base", "metrics_dashboard", "recent_docs"],
                },
                remove=("model_version",),
                insert=(("capabilities", 2, "report"),),
            ),
        )
    b.say(closing)


# -- single tool --------------------------------------------------------------------------------------------------


def _single_tool(b: _Builder, prompt: str) -> None:
    if re.search(r"\b(report|q[1-4]|revenue|summar\w*|metrics?)\b", prompt.lower()) or b.maybe(0.5):
        _report(b, prompt)
    else:
        _intent(b)


def _report(b: _Builder, prompt: str) -> None:
    rng = b.rng
    match = re.search(r"\bq([1-4])\b", prompt.lower())
    q = int(match.group(1)) if match else rng.randint(1, 4)
    quarter = f"Q{q}-2025"
    growth = _pct(rng, 8, 31)
    amount = rng.randint(180, 620) * 10_000 + rng.randint(0, 9) * 1000
    top10 = rng.randint(52, 78)
    margin = rng.randint(26, 41)
    prev_margin = margin - rng.randint(2, 8)
    lo = rng.randint(6, 16)
    hi = lo + rng.randint(2, 5)
    data: JsonObject = {
        "report": f"{quarter}-Financial",
        "pages": rng.randint(31, 64),
        "sections": ["revenue", "operations", "forecast", "risks"],
        "last_updated": f"2025-{3 * q + 1:02d}-15T09:30:00Z",
        "source": "internal-docs/finance/quarterly",
        "access_level": "confidential",
    }
    if b.maybe(0.85):
        b.snapshot("ctx_report", data)
    b.say(
        f"Based on the Q{q} financial report, the overall performance shows "
        f"{rng.choice(('strong growth', 'steady growth', 'solid momentum'))} across key metrics. "
        "Revenue grew "
    )
    b.tool(
        "lookup_metric",
        {"metric": "revenue_yoy", "quarter": quarter},
        {"value": f"{growth}%", "period": "YoY", "raw_amount": amount, "currency": "USD"},
    )
    b.say(
        f"{growth}% year-over-year, reaching ${amount / 1e6:.2f}M for the quarter. "
        "This growth was primarily driven by enterprise client expansion, with the top 10 accounts "
        f"contributing {top10}% of new ARR. "
    )
    b.snapshot(
        "ctx_report",
        evolve(
            data,
            set_={
                "current_focus": "operations",
                "extracted_metrics": {
                    "revenue_yoy": f"{growth}%",
                    "operating_margin": f"{margin}%",
                    "prev_operating_margin": f"{prev_margin}%",
                },
                "pages": 48 if data["pages"] != 48 else 49,
            },
            remove=("access_level",),
            insert=(("sections", 2, "guidance"),),
        ),
    )
    b.say(
        f"Operating margins improved to {margin}%, up from {prev_margin}% in Q{q - 1 if q > 1 else 4}, "
        "largely due to infrastructure cost optimization and the migration to spot instances for "
        "non-critical workloads. The forecast section indicates continued momentum, with "
        f"Q{q % 4 + 1} projections suggesting a potential {lo}-{hi}% sequential increase."
    )


def _intent(b: _Builder) -> None:
    rng = b.rng
    confidence = round(rng.uniform(0.71, 0.97), 2)
    data: JsonObject = {
        "session_type": "general",
        "capabilities": ["search", "analyze", "compute", "summarize"],
        "active_sources": ["knowledge_base", "metrics_dashboard", "recent_docs"],
    }
    if b.maybe(0.85):
        b.snapshot("ctx_session", data)
    b.say("I've reviewed your request. ")
    b.tool(
        "classify_intent",
        {"text": "user_query", "confidence_threshold": 0.7},
        {
            "intent": "general_query",
            "confidence": confidence,
            "suggested_tools": ["search_knowledge_base"],
            "category": "information_retrieval",
        },
    )
    b.say(
        "Based on my analysis, this falls into an information retrieval category. I can search our "
        "knowledge base, analyze data patterns, or compute metrics for you. "
    )
    b.snapshot(
        "ctx_session",
        evolve(
            data,
            set_={"session_type": "information_retrieval", "intent_confidence": confidence},
            insert=(("active_sources", 1, "communication_logs"),),
        ),
    )
    b.say(
        "The context engine currently has access to your organization's documentation, metrics "
        "dashboards, and recent communication logs. What specific aspect would you like me to dig into?"
    )


# -- several sequential tools ----------------------------------------------------------------------------------


def _multi_tool(b: _Builder, prompt: str) -> None:
    rng = b.rng
    records = rng.randint(1800, 4200)
    growth = round(rng.uniform(0.06, 0.18), 2)
    delta = rng.randint(150, 520)
    corr = round(rng.uniform(0.61, 0.93), 2)
    lag = rng.randint(1, 3)
    data: JsonObject = {
        "analysis_type": "correlation",
        "datasets": ["user_growth", "revenue", "churn"],
        "timeframe": "2024-01 to 2025-09",
        "requested_by": "product-team",
    }
    if b.maybe(0.85):
        b.snapshot("ctx_analysis", data)
    b.say("Let me analyze the relationship between your key metrics. ")
    b.tool(
        "fetch_dataset",
        {"dataset": "user_growth", "timeframe": "2024-01:2025-09", "granularity": "monthly"},
        {
            "total_records": records,
            "growth_rate": growth,
            "trend": "accelerating",
            "last_month_delta": delta,
        },
    )
    b.say(
        f"User growth data shows {records:,} new accounts over the period with a {round(growth * 100)}% "
        "compound monthly growth rate. The trend is accelerating, particularly in the last quarter. "
    )
    b.snapshot(
        "ctx_analysis",
        evolve(
            data,
            set_={
                "datasets_loaded": ["user_growth"],
                "intermediate_results": {"user_growth": {"records": records, "growth_rate": growth}},
            },
            remove=("requested_by",),
            insert=(("datasets", 1, "regional_revenue"),),
        ),
    )
    b.say("Now let me check how this correlates with revenue. ")
    b.tool(
        "compute_correlation",
        {"metrics": ["user_growth", "revenue"], "method": "pearson"},
        {
            "correlation": corr,
            "p_value": 0.001,
            "lag_months": lag,
            "confidence": "high" if corr > 0.75 else "moderate",
            "sample_size": 21,
        },
    )
    months = {1: "one-month", 2: "two-month", 3: "three-month"}[lag]
    b.say(
        f"The Pearson correlation between user growth and revenue is {corr} with "
        f"{'high' if corr > 0.75 else 'moderate'} confidence (p < 0.001), but with a notable {lag}-month "
        "lag. This suggests that user acquisition translates to revenue with approximately a "
        f"{months} conversion cycle. "
    )
    regions: list[JsonValue] = []
    shares = sorted((_pct(rng, 4, 29) for _ in range(4)), reverse=True)
    names = ["APAC", "North America", "EMEA", "LATAM"]
    rng.shuffle(names)
    for name, share in zip(names, shares, strict=True):
        regions.append({"region": name, "revenue_growth_pct": share, "accounts": rng.randint(120, 900)})
    b.say("Finally, let me break this down by region. ")
    b.tool(
        "compare_segments",
        {"dimension": "region", "metric": "revenue_growth", "period": "2025-Q3"},
        {"segments": regions, "leader": names[0], "spread_pct": round(shares[0] - shares[-1], 1)},
    )
    b.say(
        f"{names[0]} leads with {shares[0]}% revenue growth, followed by {names[1]} at {shares[1]}% and "
        f"{names[2]} at {shares[2]}%, while {names[3]} trails at {shares[3]}%. The "
        f"{round(shares[0] - shares[-1], 1)}-point spread between the leading and trailing regions is "
        "mostly explained by enterprise deal volume, so the acquisition-to-revenue lag is shortest "
        f"where the sales team is largest. I'd recommend prioritizing {names[1]} for the next "
        "expansion push, since its growth is strong but its account base is still underpenetrated."
    )


# -- a tool call before any token -----------------------------------------------------------------------------------

_SEARCH_TOPICS: Final[tuple[tuple[str, str, str, str, str], ...]] = (
    (
        "sla",
        "deployment SLA requirements",
        "SLA-Framework-v3",
        "Production deployments require 99.95% uptime...",
        "Based on the knowledge base, the current deployment SLA requirements are defined in the SLA "
        "Framework v3, section {section}. Production deployments require 99.95% uptime with a maximum "
        "planned downtime of 4.38 hours per year. Critical path services have a stricter requirement of "
        "99.99% availability. Incident response times are tiered: P0 incidents require acknowledgment "
        "within 5 minutes, P1 within 15 minutes, and P2 within one hour.",
    ),
    (
        "churn",
        "churn definition",
        "Metrics-Glossary-v2",
        "Churn is the share of paying accounts that cancel or fail to renew...",
        "According to the Metrics Glossary v2, section {section}, churn is the share of paying accounts "
        "that cancel or fail to renew within a billing period, measured on the first day of the "
        "following month. Downgrades are tracked separately as contraction and do not count as churn. "
        "Accounts paused for less than 30 days are excluded, and reactivations within the same quarter "
        "are netted out. Gross churn ignores expansion revenue, while net revenue churn subtracts it.",
    ),
    (
        "policy",
        "data retention policy",
        "Data-Governance-Handbook",
        "Customer content is retained for 90 days after account closure...",
        "The Data Governance Handbook, section {section}, sets the retention policy: customer content is "
        "retained for 90 days after account closure and then hard-deleted from primary storage. Backups "
        "age out after a further 35 days. Audit logs are kept for seven years to meet compliance "
        "requirements, and any legal hold overrides the schedule until it is explicitly released.",
    ),
)


def _tool_first(b: _Builder, prompt: str) -> None:
    rng = b.rng
    lowered = prompt.lower()
    topic = next((t for t in _SEARCH_TOPICS if t[0] in lowered), None) or rng.choice(_SEARCH_TOPICS)
    _, query, document, preview, text = topic
    section = f"{rng.randint(2, 7)}.{rng.randint(1, 4)}"
    score = round(rng.uniform(0.82, 0.98), 2)
    b.tool(
        "search_knowledge_base",
        {"query": query, "top_k": 3},
        {
            "found": True,
            "document": document,
            "section": section,
            "relevance_score": score,
            "content_preview": preview,
        },
    )
    data: JsonObject = {
        "source_document": document,
        "section": section,
        "retrieval_method": "vector_search",
        "confidence": score,
    }
    b.snapshot("ctx_search", data)
    body = text.format(section=section)
    sentences = re.split(r"(?<=[.!?]) ", body)
    cut = max(1, len(sentences) // 2)
    b.say(" ".join(sentences[:cut]) + " ")
    if b.maybe(0.85):
        b.snapshot(
            "ctx_search",
            evolve(
                data,
                set_={
                    "confidence": round(min(0.99, score + 0.01), 2),
                    "related_sections": [f"{section}.1", f"{section}.3"],
                    "retrieval_method": "hybrid_search",
                },
            ),
        )
    b.say(" ".join(sentences[cut:]))


# -- a 500 KB+ snapshot --------------------------------------------------------------------------------------------

_DOMAINS: Final = ("user_management", "billing", "analytics", "agent_ops")
_COLUMNS: Final[tuple[tuple[str, str, str], ...]] = (
    ("id", "uuid", "primary key used for unique row identification across all foreign references"),
    ("name", "varchar(255)", "human-readable display name, indexed for full-text search with pg_trgm"),
    ("status", "varchar(32)", "lifecycle state machine value; transitions are enforced by a trigger"),
    ("created_at", "timestamptz", "creation time in UTC, set by the database default"),
    ("updated_at", "timestamptz", "last modification time, maintained by the audit trigger"),
    ("value", "numeric(12,2)", "monetary or metric value in the owning domain's base unit"),
    ("ref_id", "uuid", "foreign reference to the parent entity in a neighbouring domain"),
    ("metadata", "jsonb", "free-form attributes; keys are validated by the application layer"),
    ("tenant_id", "uuid", "owning tenant; every query is scoped by row-level security on it"),
    ("external_id", "varchar(128)", "identifier in the upstream system of record, unique per tenant"),
    ("priority", "smallint", "scheduling priority from 0 (lowest) to 9 (highest)"),
    ("score", "double precision", "model-computed relevance score, recomputed nightly"),
    ("tags", "text[]", "denormalized labels used by the search index and saved filters"),
    ("deleted_at", "timestamptz", "soft-delete marker; rows are purged 90 days after it is set"),
    ("region", "varchar(16)", "data residency region the row must stay in"),
    ("version", "integer", "optimistic concurrency counter incremented on every update"),
    ("owner_id", "uuid", "user that owns the row; drives notification routing"),
    ("checksum", "bytea", "content hash used to detect drift against the source of truth"),
)
_INDEX_TYPES: Final = ("btree", "hash", "gin", "brin")
_STATUSES: Final = ("active", "inactive", "pending", "archived")


def _letters(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(n))


def schema_snapshot(rng: random.Random, tables_per_domain: int = 16) -> JsonObject:
    """A realistic production schema (64 tables, ~600 KB of JSON), shaped like the recorded one."""
    tables: list[JsonValue] = []
    for d, domain in enumerate(_DOMAINS):
        for t in range(tables_per_domain):
            name = f"{domain}_table_{t}"
            n_cols = rng.randint(9, 18)
            columns: list[JsonValue] = []
            for c in range(n_cols):
                suffix, col_type, desc = _COLUMNS[c % len(_COLUMNS)]
                col = f"col_{c}_{suffix}"
                columns.append(
                    {
                        "name": col,
                        "type": col_type,
                        "nullable": c > 2 and rng.random() < 0.4,
                        "default_value": "now()" if col_type == "timestamptz" and c < 5 else None,
                        "indices": [
                            {
                                "name": f"idx_{name}_{suffix}",
                                "type": "btree" if c == 0 else rng.choice(_INDEX_TYPES),
                                "unique": c == 0,
                                "partial": None if rng.random() < 0.8 else "WHERE deleted_at IS NULL",
                                "size_mb": round(rng.uniform(0.5, 120.0), 2),
                            }
                        ],
                        "constraints": [{"type": "PRIMARY KEY"}, {"type": "NOT NULL"}]
                        if c == 0
                        else [{"type": "NOT NULL"}],
                        "statistics": {
                            "null_fraction": 0 if c < 3 else round(rng.uniform(0, 0.3), 3),
                            "avg_width_bytes": rng.choice((4, 8, 16, 40, 64, 128)),
                            "n_distinct": -1 if c == 0 else rng.randint(2, 90_000),
                            "most_common_vals": None if c != 2 else list(_STATUSES[:3]),
                            "correlation": round(rng.uniform(-1, 1), 3),
                        },
                        "description": (
                            f"{desc}. This column was introduced in migration 2023{d:02d}{c:02d} and is "
                            f"actively used by {rng.randint(1, 6)} downstream services. Average query "
                            f"frequency: {rng.randint(50, 5000)} reads/sec, {rng.randint(1, 400)} writes/sec."
                        ),
                    }
                )
            other = _DOMAINS[(d + 1 + rng.randint(0, 2)) % len(_DOMAINS)]
            samples: list[JsonValue] = [
                {
                    "col_0_id": f"{name}_{i}_{_letters(rng, 8)}",
                    "col_1_name": f"Sample {domain} record {i} with extended name for display",
                    "col_2_status": _STATUSES[i % len(_STATUSES)],
                    "col_3_created_at": f"2025-{i + 1:02d}-01T00:00:00.000Z",
                    "col_5_value": round(rng.uniform(1, 100), 2),
                    "col_7_metadata": {"source": domain, "version": i + 1, "tags": ["auto", "generated"]},
                }
                for i in range(3)
            ]
            tables.append(
                {
                    "name": name,
                    "schema": "public",
                    "domain": domain,
                    "columns": columns,
                    "relationships": [
                        {
                            "type": "has_many",
                            "target": f"{other}_table_{rng.randint(0, tables_per_domain - 1)}",
                            "through": None,
                            "cardinality": "one-to-many",
                            "avg_children": rng.randint(2, 40),
                        }
                    ],
                    "sample_data": samples,
                    "row_count_estimate": rng.randint(1, 5000) * 1000,
                    "dead_tuple_count": rng.randint(0, 20_000),
                    "avg_row_size_bytes": rng.choice((96, 128, 256, 512)),
                    "total_size_mb": round(rng.uniform(5, 900), 2),
                    "index_size_mb": round(rng.uniform(1, 200), 2),
                    "last_vacuum": f"2025-09-{rng.randint(1, 15):02d}T03:00:00Z",
                    "autovacuum_enabled": rng.random() < 0.9,
                    "has_rls": domain != "analytics",
                    "partitioned": rng.random() < 0.3,
                    "triggers": [
                        {
                            "name": f"trg_{name}_audit",
                            "timing": "AFTER",
                            "events": ["INSERT", "UPDATE", "DELETE"],
                            "function": f"fn_audit_{domain}",
                        }
                    ],
                    "description": (
                        f"Table {t} in the {domain} domain. Manages core entities and their lifecycle "
                        f"states for the {domain.replace('_', ' ')} subsystem."
                    ),
                }
            )
    return {
        "schema_version": "4.7.2",
        "database": "alchemyst_production",
        "engine": "PostgreSQL 16.1",
        "total_tables": len(tables),
        "total_size_gb": round(rng.uniform(150, 300), 1),
        "total_index_size_gb": round(rng.uniform(40, 90), 1),
        "active_connections": rng.randint(60, 220),
        "max_connections": 500,
        "domains": list(_DOMAINS),
        "extensions": ["pg_trgm", "uuid-ossp", "pgcrypto", "postgis", "pg_stat_statements", "hstore"],
        "replication": {"mode": "streaming", "replicas": 2, "lag_bytes": rng.randint(0, 4096)},
        "backup": {
            "last_full": "2025-09-14T02:00:00Z",
            "last_incremental": "2025-09-15T02:00:00Z",
            "retention_days": 30,
        },
        "tables": tables,
    }


def _schema_update(data: JsonObject, rng: random.Random, orphans: list[JsonValue]) -> JsonObject:
    """The mid-response schema snapshot: a few targeted changes deep inside, not a reshuffle."""
    new = evolve(
        data,
        set_={
            "analysis_complete": True,
            "flagged_issues": [
                {"table": orphan, "issue": "orphan_table", "severity": "low"} for orphan in orphans
            ],
            "active_connections": _int(data.get("active_connections"), 100) + rng.randint(1, 30),
        },
        remove=("backup",),
        insert=(("extensions", 3, "pg_partman"),),
    )
    tables = new["tables"]
    assert isinstance(tables, list)
    for index in rng.sample(range(len(tables)), 4):
        table = tables[index]
        if isinstance(table, dict):
            table["row_count_estimate"] = _int(table.get("row_count_estimate"), 0) + rng.randint(1, 999)
            table["last_analyze"] = "2025-09-15T11:42:00Z"
            table.pop("dead_tuple_count", None)
    tables.insert(
        rng.randint(1, len(tables) - 1),
        {
            "name": "legacy_logs",
            "schema": "archive",
            "domain": "agent_ops",
            "columns": [],
            "relationships": [],
            "row_count_estimate": 0,
            "description": "Orphan table found by analyze_schema: no inbound or outbound foreign keys.",
        },
    )
    new["total_tables"] = len(tables)
    return new


def _int(value: JsonValue, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _large_context(b: _Builder, prompt: str) -> None:
    rng = b.rng
    data = schema_snapshot(rng)
    b.snapshot("ctx_schema", data)
    b.say(
        "I've loaded the full database schema into context. The schema contains 64 tables across 4 "
        "primary domains: user management, billing, analytics, and agent operations. "
    )
    fks = rng.randint(55, 80)
    orphans: list[JsonValue] = ["legacy_logs", "temp_migrations"]
    b.tool(
        "analyze_schema",
        {"focus": "relationships", "depth": "full"},
        {
            "total_tables": 64,
            "total_columns": sum(
                len(t["columns"])
                for t in _list(data.get("tables"))
                if isinstance(t, dict) and isinstance(t["columns"], list)
            ),
            "foreign_keys": fks,
            "most_connected": "events",
            "orphan_tables": orphans,
        },
    )
    b.say(
        f"The most connected table is `events` with {rng.randint(8, 15)} foreign key relationships. "
        "I also found 2 orphan tables that may be candidates for cleanup: `legacy_logs` and "
        "`temp_migrations`. "
    )
    b.snapshot("ctx_schema", _schema_update(data, rng, orphans))
    b.say("Would you like me to focus on a specific domain or analyze the overall architecture?")


def _list(value: JsonValue) -> list[JsonValue]:
    return value if isinstance(value, list) else []


# -- a long response ---------------------------------------------------------------------------------------------

_SECTIONS: Final[tuple[tuple[str, str, tuple[str, str]], ...]] = (
    (
        "Ingestion",
        "document parsing",
        (
            "Connectors pull from wikis, ticketing systems, shared drives and chat exports, and every "
            "document is normalized into a common envelope before anything else touches it.",
            "Chunking is structure-aware: headings, tables and code blocks are kept intact, so a "
            "retrieved chunk reads like a coherent passage rather than an arbitrary window of text.",
        ),
    ),
    (
        "Entity extraction",
        "entity resolution",
        (
            "Named entities are resolved against the tenant's own directory, which is what lets the "
            "agent know that two spellings of a customer name are the same account.",
            "Each extracted entity carries a pointer back to the span it came from, so any claim built "
            "on it can be traced to a sentence in a source document.",
        ),
    ),
    (
        "Indexing",
        "index freshness",
        (
            "The indexing layer maintains both vector embeddings and structured metadata indices, "
            "updated incrementally as documents change instead of in nightly batches.",
            "Embeddings are versioned with the model that produced them, which makes a model upgrade a "
            "background re-index rather than a flag day.",
        ),
    ),
    (
        "Retrieval",
        "hybrid ranking",
        (
            "The retrieval layer performs hybrid search combining semantic similarity with keyword "
            "matching and graph traversal, then re-ranks candidates with a small cross-encoder.",
            "Relevance is scored against both the current query and the session history, so a "
            "follow-up question inherits the focus of the conversation that preceded it.",
        ),
    ),
    (
        "Memory",
        "memory decay",
        (
            "Persistent memory stores facts the user has confirmed, decisions that were made, and open "
            "questions, each with the conversation it came from.",
            "Memories decay unless they are reinforced, which keeps the working set small and stops "
            "stale preferences from leaking into new sessions.",
        ),
    ),
    (
        "Provenance",
        "citation granularity",
        (
            "Every node in the context graph carries provenance metadata: where it came from, when it "
            "was last verified, and who is allowed to see it.",
            "When the agent answers, the provenance of each supporting node travels with the response, "
            "so the interface can show sources without a second lookup.",
        ),
    ),
    (
        "Caching",
        "cache invalidation",
        (
            "The caching layer maintains a session-scoped LRU cache that reduces redundant retrievals "
            "by approximately 40% on typical multi-turn conversations.",
            "Cache entries are keyed by the normalized query and the permission set of the caller, "
            "which rules out an entire class of cross-tenant leaks by construction.",
        ),
    ),
    (
        "Security",
        "permission checks at query time",
        (
            "Access control is enforced at retrieval time rather than at ingestion time, because "
            "permissions change far more often than documents do.",
            "All tenant data is encrypted at rest with per-tenant keys, and key rotation is automated "
            "on a ninety-day schedule.",
        ),
    ),
    (
        "Observability",
        "trace sampling",
        (
            "Each request emits a trace that spans ingestion lookups, retrieval, re-ranking and "
            "generation, with the retrieved context attached for later inspection.",
            "Dashboards track retrieval hit rate, citation coverage and time to first token alongside "
            "the usual latency and error metrics.",
        ),
    ),
    (
        "Evaluation",
        "offline evaluation coverage",
        (
            "A fixed suite of several thousand graded questions runs against every release candidate, "
            "and a regression in grounded accuracy blocks the release.",
            "Production conversations are sampled, anonymized and reviewed weekly to find the failure "
            "modes that the offline suite does not yet cover.",
        ),
    ),
    (
        "Deployment",
        "regional isolation",
        (
            "The engine is deployed per region, and tenant data never leaves the region it was "
            "ingested in, which keeps data residency commitments simple to audit.",
            "Releases roll out through canary cells that serve internal tenants first, then a small "
            "share of external traffic, then everyone.",
        ),
    ),
    (
        "Scaling",
        "sharding strategy",
        (
            "Indices are sharded by tenant, with the largest tenants split further by document "
            "collection so that no single shard dominates a node.",
            "Query fan-out is bounded: a request touches at most a handful of shards, chosen by a "
            "routing table that is rebuilt as tenants grow.",
        ),
    ),
)

_GENERIC: Final[tuple[str, ...]] = (
    "The {c} layer exposes a narrow interface to its neighbours, which keeps the blast radius of a "
    "regression small and lets each team ship on its own cadence.",
    "In production, the {c} layer handles roughly {n:,} operations per minute at peak, with a p95 "
    "latency of {ms} ms.",
    "Every change to the {c} layer is gated behind a feature flag and rolled out to {pct}% of tenants "
    "before it becomes generally available.",
    "We instrument the {c} layer with structured traces, so an engineer can follow a single request "
    "from the API edge down to the storage tier without guessing.",
    "Failure handling in the {c} layer follows a simple rule: retry idempotent work with jittered "
    "backoff, and surface everything else to the caller with enough context to act on it.",
    "Capacity planning for the {c} layer is driven by a weekly review of saturation metrics rather "
    "than by static thresholds that nobody revisits.",
    "The main open question for the {c} layer is how far to push {topic} before the operational cost "
    "outweighs the benefit to answer quality.",
    "Compared with the previous generation, the {c} layer uses {x} times less memory per tenant while "
    "serving the same query mix.",
    "The {c} layer has its own error budget, and when it is spent the team shifts from feature work to "
    "reliability work until the budget recovers.",
)


def _long_sections(rng: random.Random, count: int, extra: int) -> list[str]:
    paragraphs: list[str] = []
    for name, topic, specific in rng.sample(_SECTIONS, count):
        generic = rng.sample(_GENERIC, 3 + extra)
        sentences = [*specific]
        for template in generic:
            sentences.append(
                template.format(
                    c=name.lower(),
                    n=rng.randint(20, 900) * 100,
                    ms=rng.randint(12, 180),
                    pct=rng.choice((1, 5, 10, 25)),
                    topic=topic,
                    x=rng.choice((2, 3, 4)),
                )
            )
        paragraphs.append(f"## {name}\n\n" + " ".join(sentences) + "\n\n")
    return paragraphs


def _long(b: _Builder, prompt: str) -> None:
    rng = b.rng
    qps = rng.randint(8, 16)
    p99 = rng.randint(140, 195)
    data: JsonObject = {
        "document_type": "technical_brief",
        "topic": "context_engine_architecture",
        "audience": "engineering_team",
    }
    if b.maybe(0.85):
        b.snapshot("ctx_doc", data)
    intro = (
        "The context engine architecture is built around three core principles: verifiable retrieval, "
        "persistent memory, and sub-200ms latency at the p99. At its foundation, the engine maintains a "
        "directed acyclic graph of context nodes, where each node represents a discrete unit of business "
        "knowledge with provenance metadata attached. When an agent requests context, the engine "
        "performs a weighted traversal of this graph, scoring relevance against the current query and "
        "session history.\n\n"
    )
    overview = (
        "The architecture consists of four layers. The ingestion layer handles document parsing, "
        "chunking, and entity extraction. The indexing layer maintains both vector embeddings and "
        "structured metadata indices. The retrieval layer performs hybrid search combining semantic "
        "similarity with keyword matching and graph traversal. Finally, the caching layer maintains a "
        f"session-scoped LRU cache. Current throughput sits at {qps},000 queries per second with a p99 "
        f"latency of {p99}ms, well within the sub-200ms target.\n\n"
    )
    all_sections = _long_sections(rng, len(_SECTIONS), 2)
    sections, rest = all_sections[:8], all_sections[8:]
    conclusion = (
        "## Summary\n\nTaken together, these choices trade a little peak throughput for answers that can "
        "be traced, audited and reproduced. The next milestones are streaming re-indexing for very large "
        "collections, finer-grained memory controls for end users, and a public evaluation report so "
        "that customers can check our accuracy claims against their own workloads."
    )
    words = sum(len(p.split()) for p in (intro, overview, *sections, *rest, conclusion))
    while words < LONG_MIN_WORDS + 100:  # the tool-derived paragraph adds ~60 words on top
        more = _long_sections(rng, 1, 4)[0]
        rest.append(more)
        words += len(more.split())
    b.say(intro)
    b.tool(
        "fetch_architecture_diagram",
        {"component": "context_engine", "format": "summary"},
        {
            "layers": ["ingestion", "indexing", "retrieval", "caching"],
            "throughput": f"{qps}k_queries_per_second",
            "p99_latency_ms": p99,
            "storage_backend": "hybrid_vector_kv",
        },
    )
    b.say(overview)
    for paragraph in sections[:4]:
        b.say(paragraph)
    b.snapshot(
        "ctx_doc",
        evolve(
            data,
            set_={
                "status": "drafting",
                "sections_written": ["overview", "ingestion", "indexing"],
                "audience": "engineering_and_product",
            },
        ),
    )
    for paragraph in sections[4:]:
        b.say(paragraph)
    b.say("## Benchmarks\n\nTo ground the numbers, here are the latest load test results. ")
    hit_rate = rng.randint(31, 48)
    b.tool(
        "query_benchmarks",
        {"suite": "context_engine_load", "window": "last_30_days"},
        {"p50_ms": rng.randint(35, 70), "p99_ms": p99, "cache_hit_rate": hit_rate / 100, "runs": 30},
    )
    b.say(
        f"Across 30 runs, the cache absorbed {hit_rate}% of retrievals and the p99 held at {p99}ms under "
        "sustained load, which leaves comfortable headroom against the latency target.\n\n"
    )
    for paragraph in rest:
        b.say(paragraph)
    b.say(conclusion)


_BUILDERS: Final[Mapping[Kind, Callable[[_Builder, str], None]]] = {
    "greeting": _greeting,
    "single_tool": _single_tool,
    "multi_tool": _multi_tool,
    "tool_first": _tool_first,
    "large_context": _large_context,
    "long": _long,
    "markdown": markdown_reply,
}


# -- chaos injected at generation time ---------------------------------------------------------------------------


def bulk_chunks(rng: random.Random, min_bytes: int = OVERSIZED_BYTES) -> list[JsonValue]:
    """Retrieved document chunks totalling at least `min_bytes` of JSON (the oversized snapshot)."""
    chunks: list[JsonValue] = []
    size = 0
    i = 0
    while size < min_bytes:
        name, topic, specific = _SECTIONS[i % len(_SECTIONS)]
        chunk: JsonObject = {
            "chunk_id": f"chk_{hex_id(rng)}",
            "source": f"internal-docs/{name.lower().replace(' ', '-')}/page-{rng.randint(1, 240)}",
            "section": f"{rng.randint(1, 12)}.{rng.randint(1, 9)}",
            "score": round(rng.uniform(0.4, 0.99), 4),
            "text": " ".join(specific) + f" This passage also discusses {topic}.",
            "metadata": {
                "author": rng.choice(("platform-team", "data-eng", "sre", "product")),
                "updated": f"2025-{rng.randint(1, 9):02d}-{rng.randint(1, 28):02d}",
                "tokens": rng.randint(80, 400),
                "lang": "en",
            },
            "embedding_preview": [round(rng.uniform(-1, 1), 5) for _ in range(12)],
        }
        chunks.append(chunk)
        size += len(jsonvalue.dumps(chunk)) + 1
        i += 1
    return chunks


def _inject_chaos(script: Script, rng: random.Random, rates: ChaosRates) -> Script:
    steps = list(script.steps)
    behaviours: list[str] = []

    # Rapid tool calls: a companion call goes out right after the scripted one, before either result.
    for i, step in enumerate(steps):
        if isinstance(step, ToolCalls) and rng.random() < rates.rapid_tools:
            first = step.calls[0]
            companion = Tool(
                call_id=f"tc_{hex_id(rng)}",
                tool_name="fetch_related_context",
                args={"related_to": first.tool_name, "limit": 5},
                result={
                    "related": [f"doc_{hex_id(rng)}" for _ in range(3)],
                    "count": 3,
                    "source": "context_graph",
                },
                latency=round(rng.uniform(*TOOL_LATENCY), 3),
            )
            steps[i] = ToolCalls(
                (*step.calls, companion),
                gap=round(rng.uniform(0.005, 0.03), 3),
                pause_after=step.pause_after,
                delay=step.delay,
            )
            behaviours.append("rapid_tools")

    # Oversized context: the response's context grows a 500 KB+ list of retrieved chunks.
    if rng.random() < rates.oversized:
        snapshots = [i for i, s in enumerate(steps) if isinstance(s, Snapshot)]
        if not snapshots:
            steps.insert(0, Snapshot("ctx_retrieval", {"purpose": "grounding"}, 0.0))
            snapshots = [0]
        first_snap = steps[snapshots[0]]
        assert isinstance(first_snap, Snapshot)
        bulk = bulk_chunks(rng)
        for i in snapshots:
            snap = steps[i]
            assert isinstance(snap, Snapshot)
            if snap.context_id == first_snap.context_id:
                steps[i] = Snapshot(snap.context_id, {**snap.data, "retrieved_chunks": bulk}, snap.delay)
        behaviours.append("oversized")

    if rng.random() < rates.error:
        at = rng.randint(1, len(steps))
        steps.insert(
            at,
            ErrorFrame(
                code=rng.choice(("RATE_LIMITED", "UPSTREAM_TIMEOUT", "CONTEXT_STALE")),
                message=rng.choice(
                    (
                        "Upstream model rate limit reached; continuing with reduced throughput.",
                        "A context source timed out; the response may omit some sources.",
                        "Context snapshot is older than the freshness target.",
                    )
                ),
                delay=round(rng.uniform(*TOKEN_DELAY), 3),
            ),
        )
        behaviours.append("error")

    if rng.random() < rates.malformed:
        at = rng.randint(1, len(steps))
        text = rng.choice(
            (
                '{"type": "TOKEN", "seq": ',
                '{"type":"TOKEN","text":"half a fra',
                "\x00\x01not json at all",
                jsonvalue.dumps({"type": "AGENT_DEBUG", "payload": {"note": "unknown frame type"}}),
                jsonvalue.dumps({"type": "HEARTBEAT_V2", "interval_ms": 5000}),
            )
        )
        steps.insert(at, Malformed(text, round(rng.uniform(*TOKEN_DELAY), 3)))
        behaviours.append("malformed")

    return Script(script.kind, script.stream_id, tuple(steps), tuple(behaviours))


def build_script(prompt: str, rng: random.Random, chaos: ChaosRates | None = None) -> Script:
    """The response to `prompt`. With `chaos`, generation-time chaos is injected after the script is
    built, so a chaos response says the same as the normal one with the same seed."""
    kind = choose_kind(prompt, rng)
    stream_id = f"s_{hex_id(rng)}"
    builder = _Builder(rng)
    _BUILDERS[kind](builder, prompt)
    script = Script(kind, stream_id, tuple(builder.steps))
    return script if chaos is None else _inject_chaos(script, rng, chaos)


# -- chaos decided per frame at delivery ---------------------------------------------------------------------------


@frozen
class Delivery:
    """How one frame is delivered the first time it is sent (replays are always clean)."""

    spike: float = 0.0  # pause (unscaled seconds) before sending it and what follows
    hold: int = 0  # send it after the next 1-2 frames instead (out of order)
    duplicate: bool = False  # send the same text twice
    drop_after: bool = False  # abort the connection right after sending it (no close frame)
    behaviours: tuple[str, ...] = field(default=())


CLEAN: Final = Delivery()


def plan_delivery(
    rng: random.Random,
    rates: ChaosRates,
    frame_type: str,
    *,
    may_drop: bool = True,
    may_spike: bool = True,
    may_hold: bool = True,
) -> Delivery:
    """The delivery chaos of one sequenced frame. Always draws the same number of randoms, so one
    frame's decision never shifts the next one's."""
    r_spike, r_hold, r_dup, r_drop, r_len, r_n = (rng.random() for _ in range(6))
    is_token = frame_type == "TOKEN"
    spike = 0.0
    if is_token and may_spike and r_spike < rates.spike:
        spike = round(SPIKE[0] + (SPIKE[1] - SPIKE[0]) * r_len, 3)
    drop = is_token and may_drop and r_drop < rates.drop
    hold = 0 if drop or not may_hold or r_hold >= rates.reorder else (1 if r_n < 0.5 else 2)
    duplicate = r_dup < rates.duplicate
    names = tuple(
        name
        for name, on in (
            ("spike", spike > 0),
            ("reorder", hold > 0),
            ("duplicate", duplicate),
            ("drop", drop),
        )
        if on
    )
    if not names:
        return CLEAN
    return Delivery(spike, hold, duplicate, drop, names)


def challenge(rng: random.Random, rates: ChaosRates | None) -> str:
    """A PING challenge: 8 hex digits, or (chaos "corrupt heartbeat") the empty string."""
    value = hex_id(rng)
    if rates is not None and rng.random() < rates.empty_ping:
        return ""
    return value
