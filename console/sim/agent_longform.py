"""The long response (2,000 words and more) and the document sections it, and the oversized retrieval
chunks, are written from."""

from __future__ import annotations

import random
from typing import Final

from console.jsonvalue import JsonObject
from console.sim.agent_steps import LONG_MIN_WORDS, Builder, evolve

# -- a long response ---------------------------------------------------------------------------------------------

SECTIONS: Final[tuple[tuple[str, str, tuple[str, str]], ...]] = (
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
    for name, topic, specific in rng.sample(SECTIONS, count):
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


def long_reply(b: Builder, prompt: str) -> None:
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
    all_sections = _long_sections(rng, len(SECTIONS), 2)
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
