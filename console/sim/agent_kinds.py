"""Which kind of response a prompt asks for: keywords first, then a seeded, weighted choice."""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from typing import Final, Literal, TypeAlias

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
