"""The long response (2,000 words and more), written from the corpus's document sections."""

from __future__ import annotations

import random

from console.jsonvalue import JsonObject
from console.sim.agent_corpus import GENERIC_SENTENCES, SECTIONS
from console.sim.agent_steps import LONG_MIN_WORDS, Builder, evolve


def _long_sections(rng: random.Random, count: int, extra: int) -> list[str]:
    paragraphs: list[str] = []
    for name, topic, specific in rng.sample(SECTIONS, count):
        generic = rng.sample(GENERIC_SENTENCES, 3 + extra)
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
