"""The simulated agent's Markdown reply: a short incident write-up with every block a chat renders.

Asked for by name ("show me a markdown sample", "format it as markdown"): headings, a list, inline
code and emphasis, a link, a fenced code block and a table, after one tool call, so the text before
the card and the Markdown after it are both seen. Seeded like every other script.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from console.jsonvalue import JsonObject

if TYPE_CHECKING:
    from console.sim.agent_steps import Builder


def _table(rng: random.Random) -> str:
    rows = [
        ("api-gateway", rng.randint(120, 180), rng.randint(2, 9)),
        ("checkout", rng.randint(240, 420), rng.randint(10, 40)),
        ("search", rng.randint(80, 140), rng.randint(0, 5)),
    ]
    lines = ["| Service | p95 latency (ms) | Errors per hour |", "| --- | --- | --- |"]
    lines += [f"| {name} | {p95} | {errors} |" for name, p95, errors in rows]
    return "\n".join(lines) + "\n\n"


def markdown_reply(b: Builder, prompt: str) -> None:
    rng = b.rng
    timeout = rng.choice((2, 3, 5))
    data: JsonObject = {
        "incident": f"INC-{rng.randint(1000, 9999)}",
        "services": ["api-gateway", "checkout", "search"],
    }
    if b.maybe(0.85):
        b.snapshot("ctx_incident", data)
    b.say("Let me pull the latest latency figures first. ")
    b.tool(
        "lookup_metric",
        {"metric": "p95_latency", "services": ["api-gateway", "checkout", "search"]},
        {"status": "ok", "window": "24h", "source": "metrics_dashboard"},
    )
    b.say(
        "## Incident summary\n\n"
        f"Checkout slowed down after the **connection pool** timeout was lowered to `{timeout}s`. "
        "What we know so far:\n\n"
        "- The slowdown started at *14:05 UTC* and affects checkout only\n"
        "- Retries doubled the load on the `payments` database\n"
        "- Search and the gateway stayed within their budgets\n\n"
    )
    if b.maybe(0.7):
        b.snapshot("ctx_incident", {**data, "status": "mitigating", "owner": "payments-oncall"})
    b.say(
        "### Latency by service\n\n" + _table(rng) + "### Proposed fix\n\n"
        "Raise the timeout again and cap the retries:\n\n"
        "```python\n"
        "POOL_TIMEOUT = 10  # seconds\n"
        "def fetch(order_id: str) -> dict:\n"
        "    return retry(lambda: db.get(order_id), attempts=2)\n"
        "```\n\n"
        "See the [runbook](https://example.com/runbooks/checkout) for the rollout steps."
    )
