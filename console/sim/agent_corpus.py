"""What the simulated agent knows to say: the document sections its long answers and oversized
retrieval chunks are written from, the sentences that fill them out, and the knowledge-base topics its
searches find. Data only; the replies (`agent_replies`, `agent_longform`) decide how it is used."""

from __future__ import annotations

from typing import Final

# -- document sections: (name, topic, two specific sentences) -------------------------------------------------

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

GENERIC_SENTENCES: Final[tuple[str, ...]] = (
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


# -- knowledge-base topics: (key, subject, document, snippet, answer with a {section} slot) ----------------------

SEARCH_TOPICS: Final[tuple[tuple[str, str, str, str, str], ...]] = (
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
