"""Who writes the chat simulator's replies: a model behind an OpenAI-compatible endpoint, or a scripted
responder, deterministic for a seed, with its phrases and topics."""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
from collections.abc import AsyncGenerator, Sequence
from typing import Protocol

from console.sim.llm import ChatTurn, LlmClient
from console.sim.structured import Piece, StructuredParser, Tag, parse


class Responder(Protocol):
    def reply(
        self, chat_id: str, history: Sequence[ChatTurn], message: str
    ) -> AsyncGenerator[Piece, None]: ...


class LlmResponder:
    def __init__(self, client: LlmClient, system_prompt: str) -> None:
        self.client = client
        self.system_prompt = system_prompt

    async def reply(
        self, chat_id: str, history: Sequence[ChatTurn], message: str
    ) -> AsyncGenerator[Piece, None]:
        turns = [ChatTurn("system", self.system_prompt), *history, ChatTurn("user", message)]
        parser = StructuredParser()
        stream = self.client.stream(turns)
        async with contextlib.aclosing(stream):
            async for text in stream:
                for piece in parser.feed(text):
                    yield piece
        for piece in parser.close():
            yield piece


_TOPICS: tuple[tuple[tuple[str, ...], str, tuple[str, ...]], ...] = (
    (
        ("cat", "kitten"),
        "cat names",
        ("Whiskers", "Fluffy", "Mochi", "Pumpkin", "Shadow", "Luna", "Biscuit", "Tofu", "Pepper"),
    ),
    (
        ("dog", "puppy"),
        "dog names",
        ("Ranger", "Maple", "Scout", "Juniper", "Bolt", "Hazel", "Waffles", "Otis"),
    ),
    (
        ("dinner", "recipe", "meal", "cook", "food", "lunch"),
        "dinner ideas",
        (
            "Lemon garlic pasta",
            "Chickpea curry",
            "Sheet-pan salmon with greens",
            "Mushroom risotto",
            "Black bean tacos",
            "Miso soup with tofu",
        ),
    ),
    (
        ("trip", "travel", "vacation", "holiday", "weekend"),
        "trip ideas",
        ("Lisbon", "Kyoto", "Vancouver Island", "The Dolomites", "Oaxaca", "Edinburgh", "The Faroe Islands"),
    ),
    (
        ("book", "read", "novel"),
        "books",
        (
            "The Left Hand of Darkness",
            "Piranesi",
            "Project Hail Mary",
            "The Remains of the Day",
            "Station Eleven",
            "A Psalm for the Wild-Built",
        ),
    ),
    (
        ("gift", "present", "birthday"),
        "gift ideas",
        (
            "A handmade photo book",
            "A pottery class for two",
            "A plant subscription",
            "A good chef's knife",
            "Tickets to a live show",
        ),
    ),
    (
        ("websocket", "protocol", "stream", "real-time", "realtime", "transport"),
        "real-time transports",
        ("WebSockets", "HTTP + SSE", "Long polling", "WebTransport", "gRPC streaming"),
    ),
    (
        ("project", "app", "startup", "product", "name"),
        "project names",
        ("Lighthouse", "Paper Crane", "Northwind", "Quill", "Tandem", "Orbit", "Fieldnotes"),
    ),
)

_GREETINGS = (
    "Hi! I can suggest ideas (dinner, a trip, a gift, names for a project), make lists, and save the "
    "ones you like. What shall we start with?",
    "Hello! Ask me for suggestions and I can save the good ones as ideas.",
    "Hey there! I can brainstorm, make lists, and keep ideas for you.",
)
_SAVED = ("Saved them!", "Done, they're in your ideas.", "Okay, I've saved them!", "Got it, all saved.")
_NOTHING_TO_SAVE = (
    "There's nothing to save yet. Ask me for some suggestions first, then tell me to save them.",
    "I don't have anything to save yet: ask me to list or suggest something first.",
)
_ALREADY_SAVED = (
    "Those are saved already: {items}. You'll find them in your ideas.",
    "Already done: {items} are in your ideas list.",
)
_WHICH_TOPIC = (
    "Happy to! Ideas about what? For example: dinner, a weekend trip, a gift, or names for a project.",
    "Sure. What should the ideas be about? A trip, a recipe, a book to read, a project name…",
)
_SUGGESTED = (
    "Here are a few {topic}. I've saved them as ideas so you can come back to them.",
    "Some {topic} to consider; each one is saved as an idea.",
    "How about these {topic}? They're saved as ideas.",
)
_LISTED = (
    "Here are some {topic}:\n\n{items}\n\nWant me to save them?",
    'Sure! A few {topic}:\n\n{items}\n\nSay "save them" and I\'ll keep them as ideas.',
    "Here you go:\n\n{items}\n\nI can save any of these for you.",
)
_ANSWERS = (
    "Good question. The short answer: it depends on {topic}, but start with the simplest thing that "
    "could work, measure it, and only then add complexity.",
    "I'd look at {topic} from two angles: what it costs you today, and what it will cost you to change "
    "later. Pick the option that keeps the second one small.",
    "Here's how I'd think about {topic}:\n\n1. Write down what \"done\" looks like.\n2. Find the one "
    "step that gets you closest to it.\n3. Do that step today.",
)
_REMARKS = (
    "Got it. Tell me more about {topic}: what would a great outcome look like?",
    "Interesting! If you want, I can suggest a few ideas about {topic} and save them for you.",
    "Noted. I can make a list, brainstorm ideas, or just think it through with you, whichever helps.",
    "That makes sense. One thing worth trying with {topic}: start small, and keep what works.",
)
_LONG = (
    "Let me take this slowly.\n\n**Where it starts.** Most questions about {topic} begin with a "
    "constraint nobody wrote down. Naming it is half of the work: once it is on paper, people argue "
    "about the constraint instead of about each other.\n\n**What usually goes wrong.** The first plan "
    "is too big. It tries to solve next year's problem with this week's information, and it stalls "
    "the moment reality disagrees with it.\n\n**What works better.** Small steps that each leave "
    "something useful behind: a note, a prototype, a decision with its reason. Each one makes the next "
    "cheaper.\n\n**So, in practice:**\n\n- decide what you will not do,\n- do the smallest useful "
    "thing,\n- look at what happened, and\n- repeat.\n\nThat's the whole trick, and it is harder than "
    "it sounds."
)

_SAVE_WORDS = re.compile(r"\b(save|keep|remember|bookmark|store)\b")
_SUGGEST_WORDS = re.compile(r"\b(suggest\w*|ideas?|brainstorm\w*|recommend\w*|propos\w*|inspir\w*)\b")
_LIST_WORDS = re.compile(r"\b(list|names?|give me|some|options|examples?|top \d+)\b")
_LONG_WORDS = re.compile(r"\b(long|story|essay|explain|detail\w*|in depth|elaborate)\b")
_GREETING_WORDS = re.compile(r"^\s*(hi|hello|hey|good (morning|afternoon|evening))\b")
_TOPIC_AFTER = re.compile(r"\b(?:about|for|on|of|with|regarding)\s+([^.?!,;:\n]{2,60})")
_LIST_ITEM = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+(.+?)\s*$", re.MULTILINE)
_QUOTED = re.compile(r"\"([^\"]{1,80})\"|'([^']{1,80})'")


class ScriptedResponder:
    """Deterministic replies: the same seed, chat, turn and message always give the same answer."""

    def __init__(self, seed: int, token_delay: float, think_delay: float) -> None:
        self.seed = seed
        self.token_delay = token_delay
        self.think_delay = think_delay

    async def reply(
        self, chat_id: str, history: Sequence[ChatTurn], message: str
    ) -> AsyncGenerator[Piece, None]:
        entries = self.compose(chat_id, history, message)
        if self.think_delay:
            await asyncio.sleep(self.think_delay)
        for tag, text in entries:
            tokens = re.findall(r"\s*\S+|\s+", text) or [""]
            for index, token in enumerate(tokens):
                yield Piece(tag, token, index == len(tokens) - 1)
                if self.token_delay:
                    await asyncio.sleep(self.token_delay)

    def compose(self, chat_id: str, history: Sequence[ChatTurn], message: str) -> list[tuple[Tag, str]]:
        # A string seed is hashed with SHA-512 by `random`: stable across runs and processes.
        rng = random.Random(f"{self.seed}|{chat_id}|{len(history)}|{message}")
        lowered = message.lower()
        topic_words, topic, items = _topic(lowered)
        if _SAVE_WORDS.search(lowered):
            saved, kept = _items_to_save(history, message)
            if saved:
                return [*(("idea", item) for item in saved), ("message", rng.choice(_SAVED))]
            if kept:  # what the user means is in the ideas list already
                return [("message", rng.choice(_ALREADY_SAVED).format(items=_spoken(kept)))]
            return [("message", rng.choice(_NOTHING_TO_SAVE))]
        if _SUGGEST_WORDS.search(lowered) and not topic_words and _subject(message) == "this":
            return [("message", rng.choice(_WHICH_TOPIC))]
        if _SUGGEST_WORDS.search(lowered):
            picked = rng.sample(items, k=min(len(items), rng.randint(2, 4)))
            return [
                *(("idea", item) for item in picked),
                ("message", rng.choice(_SUGGESTED).format(topic=topic)),
            ]
        if _LIST_WORDS.search(lowered) and topic_words:
            picked = rng.sample(items, k=min(len(items), rng.randint(3, 5)))
            listed = "\n".join(f"- {item}" for item in picked)
            return [("message", rng.choice(_LISTED).format(topic=topic, items=listed))]
        if _LONG_WORDS.search(lowered):
            return [("message", _LONG.format(topic=_subject(message)))]
        if _GREETING_WORDS.search(lowered) and len(lowered) < 40:
            return [("message", rng.choice(_GREETINGS))]
        templates = _ANSWERS if message.rstrip().endswith("?") else _REMARKS
        return [("message", rng.choice(templates).format(topic=_subject(message)))]


def _topic(lowered: str) -> tuple[bool, str, tuple[str, ...]]:
    """(whether a known topic matched, how to call it, its items)."""
    for words, name, items in _TOPICS:
        if any(word in lowered for word in words):
            return True, name, items
    subject = _subject(lowered)
    generic = (
        f"Sketch a one-page plan for {subject}",
        f"Collect three examples of {subject} you like, and say why",
        f"Ask someone who has done {subject} what they would do differently",
        f"Block one evening this week for {subject}",
        f"Write down the one question about {subject} you most want answered",
    )
    return False, f"ideas about {subject}", generic


def _subject(message: str) -> str:
    match = _TOPIC_AFTER.search(message)
    if match is None:
        return "this"
    words = match.group(1).strip().split()[:5]
    return " ".join(words) or "this"


def _items_to_save(history: Sequence[ChatTurn], message: str) -> tuple[list[str], list[str]]:
    """What "save them" refers to, and what is saved already: quoted text in the request, else the
    items of the latest list; if the latest reply with items saved them as ideas, those (kept)."""
    quoted = [a or b for a, b in _QUOTED.findall(message)]
    if quoted:
        return quoted, []
    for turn in reversed(history):
        if turn.role != "assistant":
            continue
        entries = parse(turn.content)
        ideas = [value for tag, value in entries if tag == "idea"]
        if ideas:
            return [], ideas
        text = "\n".join(value for tag, value in entries if tag == "message")
        listed = [item.strip("*_ ") for item in _LIST_ITEM.findall(text)]
        if listed:
            return listed, []
    return [], []


def _spoken(items: list[str]) -> str:
    """'A', 'A and B', 'A, B and C'."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"
