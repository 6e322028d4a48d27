"""The everyday responses of the simulated agent: a greeting, a report from one tool, an analysis over
several tools, a search answered before any text."""

from __future__ import annotations

import re

from console.jsonvalue import JsonObject, JsonValue
from console.sim.agent_corpus import SEARCH_TOPICS
from console.sim.agent_steps import Builder, evolve, pct

# -- greeting -------------------------------------------------------------------------------------------------


def greeting(b: Builder, prompt: str) -> None:
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


def single_tool(b: Builder, prompt: str) -> None:
    if re.search(r"\b(report|q[1-4]|revenue|summar\w*|metrics?)\b", prompt.lower()) or b.maybe(0.5):
        _report(b, prompt)
    else:
        _intent(b)


def _report(b: Builder, prompt: str) -> None:
    rng = b.rng
    match = re.search(r"\bq([1-4])\b", prompt.lower())
    q = int(match.group(1)) if match else rng.randint(1, 4)
    quarter = f"Q{q}-2025"
    growth = pct(rng, 8, 31)
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


def _intent(b: Builder) -> None:
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


def multi_tool(b: Builder, prompt: str) -> None:
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
    shares = sorted((pct(rng, 4, 29) for _ in range(4)), reverse=True)
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


def tool_first(b: Builder, prompt: str) -> None:
    rng = b.rng
    lowered = prompt.lower()
    topic = next((t for t in SEARCH_TOPICS if t[0] in lowered), None) or rng.choice(SEARCH_TOPICS)
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
